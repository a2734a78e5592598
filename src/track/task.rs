//! The tracked-script task: runs each script when the core says, through
//! the notify runner (`notify::script::run`: no shell, a deadline that
//! kills the process group, bounded output, `script_user` /
//! `enable_script_security`), and publishes every state.
//!
//! Owns: [`Planned`] (a script resolved from the config: argv, user,
//! timeout), [`plan`], and [`run`], the loop, which also reads each
//! tracked file (`super::file`) and counts each tracked process
//! (`super::process`) every [`FILE_POLL`] ([`Polled`]) and publishes
//! them after the scripts' states. Must not: decide states (the
//! core does) or wait on a script inline: each run is its own tokio task,
//! so a slow script never holds up the others or the check-ins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::machine::{Machine, Spec};
use super::process::{self, Quorum};
use super::{file, Run, State, Status, Table};
use crate::config::model::{Config, TrackProcess, VrrpScript};
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

/// The table of `plan`'s scripts before anything ran, and of `polled`'s
/// files and processes as they are now (so an instance starts with them).
pub fn initial_table(plan: &[Planned], polled: &Polled, carried: &HashMap<String, State>) -> Table {
    let mut polled = polled.clone();
    polled.poll(Instant::now());
    table_of(&machine(plan, carried, Instant::now()), &polled)
}

/// What the task polls every [`FILE_POLL`]: the tracked files (their
/// last numbers) and processes (their quorum states).
#[derive(Debug, Clone, Default)]
pub struct Polled {
    files: Vec<file::Planned>,
    values: Vec<Option<i64>>,
    processes: Vec<TrackProcess>,
    quorum: Vec<Quorum>,
    polls: u64,
}

impl Polled {
    pub fn new(files: Vec<file::Planned>, processes: Vec<TrackProcess>) -> Self {
        Polled {
            values: vec![None; files.len()],
            quorum: vec![Quorum::new(); processes.len()],
            files,
            processes,
            polls: 0,
        }
    }

    /// From a config: what some instance tracks.
    pub fn of(config: &Config) -> Self {
        Polled::new(file::plan(config), process::plan(config))
    }

    pub fn files(&self) -> &[file::Planned] {
        &self.files
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.processes.is_empty()
    }

    /// Whether both track the same things the same way.
    pub fn same(&self, other: &Polled) -> bool {
        self.files == other.files && self.processes == other.processes
    }

    /// Reads every file, counts every process; returns whether anything
    /// published changed. A text that is no number keeps the last one.
    fn poll(&mut self, now: Instant) -> bool {
        self.polls += 1;
        let mut changed = false;
        for (p, v) in self.files.iter().zip(&mut self.values) {
            let Some(read) = file::read(&p.path) else {
                continue;
            };
            if *v != Some(read) {
                if v.is_some() {
                    tracing::info!(track_file = %p.name, file = %p.path.display(), value = read, "tracked file changed");
                }
                *v = Some(read);
                changed = true;
            }
        }
        if self.processes.is_empty() {
            return changed;
        }
        let all = process::scan();
        for (t, q) in self.processes.iter().zip(&mut self.quorum) {
            let count = all.iter().filter(|p| process::matches(t, p)).count();
            if let Some(state) = q.handle(t, count, now) {
                tracing::info!(track_process = %t.name, state = state.as_str(), processes = count, "tracked process state change");
                changed = true;
            }
        }
        changed
    }

    fn statuses(&self) -> impl Iterator<Item = Status> + '_ {
        let files = self.files.iter().zip(&self.values).map(|(p, v)| Status {
            name: p.name.clone(),
            state: match v {
                None => State::Init,
                Some(0) => State::Ok,
                Some(_) => State::Fail,
            },
            last: None,
            runs: self.polls,
            value: *v,
        });
        let processes = self
            .processes
            .iter()
            .zip(&self.quorum)
            .map(|(t, q)| Status {
                name: t.name.clone(),
                state: q.state,
                last: None,
                runs: self.polls,
                value: None,
            });
        files.chain(processes)
    }
}

fn table_of(core: &Machine, polled: &Polled) -> Table {
    let mut all = core.statuses();
    all.extend(polled.statuses());
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
    mut polled: Polled,
    security: bool,
    carried: HashMap<String, State>,
    table: watch::Sender<Table>,
    hb: Heartbeat,
) {
    let mut core = machine(&plan, &carried, Instant::now());
    polled.poll(Instant::now());
    table.send_replace(table_of(&core, &polled));
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
                table.send_replace(table_of(&core, &polled));
            }
            _ = file_poll.tick(), if !polled.is_empty() => {
                if polled.poll(Instant::now()) {
                    table.send_replace(table_of(&core, &polled));
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
        Outcome::NotRun | Outcome::NoResources(_) => Run::NotRun,
    }
}
