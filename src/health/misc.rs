//! MISC_CHECK: a program the box runs, whose exit status is the verdict.
//!
//! Owns: [`MiscSpec`] (a `MISC_CHECK` resolved: argv, identity, security),
//! [`judge`], keepalived's exit-status rule as a pure function, and
//! [`run`], which runs the program through the notify runner
//! (`notify::script::run`: no shell, stdin null, bounded output, its
//! process group killed at `misc_timeout`, `script_user` /
//! `enable_script_security`) and judges what came back.
//! Must not: decide up/down over time or retry (the scheduler does), log
//! per check (the runner logs changes), or pass the program arguments of
//! its own: it gets exactly the argv `misc_path` wrote.
//!
//! The rule (keepalived.conf(5) and keepalived's `check_misc.c`):
//! - exit 0: up; the weight stays as it is (with `misc_dynamic`, the last
//!   weight a dynamic exit set; else the configured one);
//! - without `misc_dynamic`, any other exit: down;
//! - with `misc_dynamic`: exit 1 is down, exit 2..=255 is up with the real
//!   server's weight set to `status - 2` (0..=253);
//! - killed by a signal, or past `misc_timeout` (killed then): down;
//! - not run at all (no such program, an unresolved `user`, a path
//!   `enable_script_security` refuses): down.
//! - not started for a reason of this box (EMFILE, ENFILE, ENOMEM, the
//!   process limit's EAGAIN): a local error (`Failure::Local`), which
//!   leaves the server's state alone.

use crate::health::local::LocalError;
use std::time::Duration;

use super::outcome::{Failure, Outcome};
use crate::notify::script::{self, LookupError, RunAs, RunPolicy};
use crate::track::task::resolve_program;

/// Bytes of the program's stdout and stderr kept for the debug log, each.
const OUTPUT_CAP: usize = 1024;

/// One MISC_CHECK, resolved from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscSpec {
    /// The program and its arguments, as written; a bare program name is
    /// looked up in the standard PATH at each run (as a `vrrp_script`).
    pub argv: Vec<String>,
    /// `misc_dynamic`.
    pub dynamic: bool,
    /// The checker's `user`, else `script_user`; `Err`: it did not
    /// resolve, and the program is never run (a failure each time).
    pub run_as: Result<Option<RunAs>, LookupError>,
    /// `enable_script_security`.
    pub security: bool,
}

/// What one run concluded: the outcome, and with `misc_dynamic` the
/// weight an exit of 2..=255 set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub weight: Option<u32>,
}

/// keepalived's exit-status rule (see the header). `code` is the exit
/// status of a program that exited, `signal` the one that killed it.
pub fn judge(code: Option<i32>, signal: Option<i32>, dynamic: bool) -> Verdict {
    let down = |f| Verdict {
        outcome: Err(f),
        weight: None,
    };
    match (code, signal) {
        (Some(0), _) => Verdict {
            outcome: Ok(()),
            weight: None,
        },
        (Some(c @ 2..=255), _) if dynamic => Verdict {
            outcome: Ok(()),
            weight: Some(c as u32 - 2),
        },
        (Some(c), _) => down(Failure::Exit {
            code: u8::try_from(c).unwrap_or(u8::MAX),
        }),
        (None, Some(s)) => down(Failure::Signal { signal: s }),
        (None, None) => down(Failure::NotRun),
    }
}

/// Runs the program once, bounded by `timeout`, and judges it.
pub async fn run(spec: &MiscSpec, timeout: Duration) -> Verdict {
    use std::os::unix::process::ExitStatusExt as _;
    let policy = RunPolicy {
        timeout,
        output_cap: OUTPUT_CAP,
        run_as: spec.run_as.clone(),
        security: spec.security,
        // Run every delay_loop: results go to debug; the runner logs changes.
        quiet: true,
    };
    let Some(program) = resolve_program(&spec.argv[0]) else {
        tracing::debug!(program = %spec.argv[0], "MISC_CHECK program not found in PATH");
        return judge(None, None, spec.dynamic);
    };
    let mut argv = spec.argv.clone();
    argv[0] = program.to_string_lossy().into_owned();
    match script::run(&argv, &policy).await {
        script::Outcome::Exited(status) => judge(status.code(), status.signal(), spec.dynamic),
        script::Outcome::TimedOut => Verdict {
            outcome: Err(Failure::ScriptTimeout),
            weight: None,
        },
        script::Outcome::NotRun => judge(None, None, spec.dynamic),
        script::Outcome::NoResources(e) => match LocalError::of_spawn(&e) {
            Some(l) => Verdict {
                outcome: Err(Failure::Local(l)),
                weight: None,
            },
            None => judge(None, None, spec.dynamic),
        },
    }
}

#[cfg(test)]
#[path = "misc_tests.rs"]
mod tests;
