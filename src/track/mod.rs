//! Tracked scripts (`vrrp_script`): run each on its interval and turn exit
//! statuses into OK / FAIL states the VRRP instances track; and tracked
//! files (`track_file`): read each every second ([`file`]) and publish
//! its number in the same table; and tracked processes
//! (`vrrp_track_process`): count the matching processes every second
//! ([`process`]) and publish OK / FAIL there too, as a script's.
//!
//! ```text
//!  [track task] --runs--> script (notify::script::run: no shell, deadline,
//!     machine::Machine         bounded output, script_user / security)
//!     |  results in, states out
//!     +--> watch<Table> --> every instance task (feeds vrrp::machine)
//!                      +--> control (vigil status)
//! ```
//!
//! Owns: [`machine`] (the sans-IO core: rise / fall, init_fail, when each
//! script runs), [`task`] (the edge that runs them) and [`Table`], the
//! published states. Must not: know about instances or priorities (the
//! VRRP side reads the table and applies weights in `vrrp::machine`), or
//! block VRRP: instance tasks only read a `watch`.

pub mod file;
pub mod machine;
pub mod process;
pub mod task;

use std::sync::Arc;

/// A script's state, as instances see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No result yet (and no `init_fail`).
    Init,
    Ok,
    Fail,
}

impl State {
    /// `None` while [`State::Init`].
    pub fn ok(self) -> Option<bool> {
        match self {
            State::Init => None,
            State::Ok => Some(true),
            State::Fail => Some(false),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Ok => "OK",
            State::Fail => "FAIL",
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Exit code (0 is a success).
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Still running at its timeout: killed, a failure.
    TimedOut,
    /// Not started (no such program, insecure path, unknown user): a
    /// failure.
    NotRun,
}

impl Run {
    pub fn success(self) -> bool {
        self == Run::Exited(0)
    }
}

/// One script's (or file's) published state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub name: String,
    /// A file's: OK while its number is 0, else FAIL (for `vigil status`;
    /// instances weigh `value`).
    pub state: State,
    pub last: Option<Run>,
    /// Runs of a script, reads of a file.
    pub runs: u64,
    /// A `track_file`'s number; `None` for a script.
    pub value: Option<i64>,
}

/// Every script's state, in config order, then every file's.
pub type Table = Arc<Vec<Status>>;
