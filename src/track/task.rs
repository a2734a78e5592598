//! The tracked-script task: runs each script when the core says, through
//! the notify runner (`notify::script::run`: no shell, a deadline that
//! kills the process group, bounded output, `script_user` /
//! `enable_script_security`), and publishes every state.
//!
//! Owns: [`Planned`] (a script resolved from the config: argv, user,
//! timeout), [`plan`], and [`run`], the loop, which also reads each
//! tracked file (`super::file`) every [`FILE_POLL`] and publishes its
//! number after the scripts' states. Must not: decide states (the
//! core does) or wait on a script inline: each run is its own tokio task,
//! so a slow script never holds up the others or the check-ins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::machine::{Machine, Spec};
use super::{file, Run, State, Status, Table};
use crate::config::model::{Config, VrrpScript};
use crate::daemon::supervisor::Heartbeat;
use crate::notify::script::{self, LookupError, Outcome, RunAs, RunPolicy};

/// Where a bare program name (`killall`) is looked up, in order (a fixed
/// list: the daemon's own environment is not the operator's).
pub const SEARCH_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Bytes of a script's stdout and stderr kept for the debug log, each.
const OUTPUT_CAP: usize = 1024;

/// How often tracked files are read.
pub const FILE_POLL: Duration = Duration::from_secs(1);

/// One script as the task runs it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub name: String,
    pub spec: Spec,
    pub argv: Vec<String>,
    pub timeout: Duration,
    pub run_as: Result<Option<RunAs>, LookupError>,
}

/// The scripts some instance or sync group tracks, in config order
/// (keepalived runs no script nothing tracks). Users are resolved from
/// `passwd` and `group` (the script's `user`, else `script_user`).
pub fn plan(config: &Config, passwd: &Path, group: &Path) -> Vec<Planned> {
    let tracked = |s: &VrrpScript| {
        config.vrrp_instances.iter().any(|i| {
            config
                .tracked_scripts(i)
                .iter()
                .any(|t| t.script.name == s.name)
        })
    };
    config
        .vrrp_scripts
        .iter()
        .filter(|s| tracked(s))
        .map(|s| {
            let user = s.user.as_ref().or(config.global.script_user.as_ref());
            Planned {
                name: s.name.clone(),
                spec: Spec {
                    interval: s.interval.as_duration(),
                    rise: s.rise,
                    fall: s.fall,
                    init_fail: s.init_fail,
                },
                argv: s.script.argv.clone(),
                timeout: s.effective_timeout().as_duration(),
                run_as: user
                    .map(|u| script::resolve_user_from(passwd, group, u))
                    .transpose(),
            }
        })
        .collect()
}

/// The first of [`SEARCH_PATH`] holding `program`, or `program` itself
/// when it is a path already.
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Some(PathBuf::from(program));
    }
    SEARCH_PATH
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// The table of `plan`'s scripts before anything ran, and of `files` as
/// they read now (so an instance starts with their numbers).
pub fn initial_table(
    plan: &[Planned],
    files: &[file::Planned],
    carried: &HashMap<String, State>,
) -> Table {
    let mut files = Files::new(files);
    files.poll();
    table_of(&machine(plan, carried, Instant::now()), &files)
}

/// The tracked files, their last numbers and read counts.
struct Files {
    planned: Vec<file::Planned>,
    values: Vec<Option<i64>>,
    reads: u64,
}

impl Files {
    fn new(planned: &[file::Planned]) -> Self {
        Files {
            planned: planned.to_vec(),
            values: vec![None; planned.len()],
            reads: 0,
        }
    }

    /// Reads every file; returns whether a number changed. A text that
    /// is no number keeps the last one.
    fn poll(&mut self) -> bool {
        self.reads += 1;
        let mut changed = false;
        for (p, v) in self.planned.iter().zip(&mut self.values) {
            let Some(now) = file::read(&p.path) else {
                continue;
            };
            if *v != Some(now) {
                if v.is_some() {
                    tracing::info!(track_file = %p.name, file = %p.path.display(), value = now, "tracked file changed");
                }
                *v = Some(now);
                changed = true;
            }
        }
        changed
    }

    fn statuses(&self) -> impl Iterator<Item = Status> + '_ {
        self.planned.iter().zip(&self.values).map(|(p, v)| Status {
            name: p.name.clone(),
            state: match v {
                None => State::Init,
                Some(0) => State::Ok,
                Some(_) => State::Fail,
            },
            last: None,
            runs: self.reads,
            value: *v,
        })
    }
}

fn table_of(core: &Machine, files: &Files) -> Table {
    let mut all = core.statuses();
    all.extend(files.statuses());
    all.into()
}

fn machine(plan: &[Planned], carried: &HashMap<String, State>, now: Instant) -> Machine {
    let specs = plan
        .iter()
        .map(|p| (p.name.clone(), p.spec, carried.get(&p.name).copied()))
        .collect();
    Machine::new(specs, now)
}

/// Runs `plan` until the task is aborted. `carried`: states to start from
/// (a restart of this task, or scripts a reload left unchanged).
pub async fn run(
    plan: Vec<Planned>,
    files: Vec<file::Planned>,
    security: bool,
    carried: HashMap<String, State>,
    table: watch::Sender<Table>,
    hb: Heartbeat,
) {
    let mut core = machine(&plan, &carried, Instant::now());
    let mut files = Files::new(&files);
    files.poll();
    table.send_replace(table_of(&core, &files));
    let (done_tx, mut done) = mpsc::channel::<(usize, Run)>(plan.len().max(1));
    let mut idle = hb.ticker();
    let mut file_poll = tokio::time::interval(FILE_POLL);
    file_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        hb.check_in().await;
        let now = Instant::now();
        while let Some(i) = core.poll_start(now) {
            start(&plan[i], i, security, done_tx.clone());
        }
        let wake = core.poll_timeout();
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            Some((i, run)) = done.recv() => {
                if let Some(state) = core.handle_result(i, run, Instant::now()) {
                    log_change(&plan[i].name, state, run);
                }
                table.send_replace(table_of(&core, &files));
            }
            _ = file_poll.tick(), if !files.planned.is_empty() => {
                if files.poll() {
                    table.send_replace(table_of(&core, &files));
                }
            }
            () = sleep => {}
            _ = idle.tick() => {}
        }
    }
}

fn log_change(name: &str, state: State, run: Run) {
    match state {
        State::Fail => {
            tracing::warn!(script = %name, state = state.as_str(), last = ?run, "tracked script state change")
        }
        _ => {
            tracing::info!(script = %name, state = state.as_str(), last = ?run, "tracked script state change")
        }
    }
}

/// One run of `p` on its own task; its result goes to `done`.
fn start(p: &Planned, i: usize, security: bool, done: mpsc::Sender<(usize, Run)>) {
    let mut argv = p.argv.clone();
    let policy = RunPolicy {
        timeout: p.timeout,
        output_cap: OUTPUT_CAP,
        run_as: p.run_as.clone(),
        security,
        quiet: true,
    };
    tokio::spawn(async move {
        let run = match resolve_program(&argv[0]) {
            Some(path) => {
                argv[0] = path.to_string_lossy().into_owned();
                outcome_run(script::run(&argv, &policy).await)
            }
            None => {
                tracing::debug!(program = %argv[0], "tracked script not found in PATH");
                Run::NotRun
            }
        };
        let _ = done.send((i, run)).await;
    });
}

fn outcome_run(o: Outcome) -> Run {
    use std::os::unix::process::ExitStatusExt;
    match o {
        Outcome::Exited(s) => match (s.code(), s.signal()) {
            (Some(c), _) => Run::Exited(c),
            (None, Some(sig)) => Run::Signaled(sig),
            (None, None) => Run::NotRun,
        },
        Outcome::TimedOut => Run::TimedOut,
        Outcome::NotRun => Run::NotRun,
    }
}
