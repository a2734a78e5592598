//! The tracked-script core, sans-IO: when each script runs and what its
//! results make of its state.
//!
//! Owns: [`Machine`] with `poll_start(now)`, `handle_result(i, run, now)`,
//! `poll_timeout()` and [`Machine::statuses`]. Must not: run anything,
//! read the clock or spawn.
//!
//! keepalived's rules (keepalived.conf(5) "VRRP script(s)", and its
//! vrrp_track.c), kept here:
//! - A script starts in INIT (no result yet), or FAIL with `init_fail`.
//!   From INIT one result decides: a success is OK, a failure FAIL.
//! - From FAIL, `rise` consecutive successes make it OK; from OK, `fall`
//!   consecutive failures make it FAIL. A result of the other kind starts
//!   the count again.
//! - Exit 0 is a success; any other exit, a signal, the timeout, or not
//!   being able to start it at all is a failure.
//! - A script runs at once at start, then every `interval` from the start
//!   of its previous run; a run still going when the next is due makes
//!   that one be skipped (keepalived: "expect idle - skipping run").

use std::time::{Duration, Instant};

use super::{Run, State, Status};

/// What the core needs of one script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub interval: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

#[derive(Debug, Clone)]
struct Script {
    spec: Spec,
    state: State,
    /// Consecutive results against the current state.
    streak: u32,
    next: Instant,
    running: bool,
    last: Option<Run>,
    runs: u64,
}

/// Every tracked script of one config.
#[derive(Debug, Clone)]
pub struct Machine {
    names: Vec<String>,
    scripts: Vec<Script>,
}

impl Machine {
    /// Each script due at `now`; `carried` gives a state to start from
    /// instead (a reload that kept the script as it was).
    pub fn new(specs: Vec<(String, Spec, Option<State>)>, now: Instant) -> Self {
        let (names, scripts) = specs
            .into_iter()
            .map(|(name, spec, carried)| {
                let initial = if spec.init_fail {
                    State::Fail
                } else {
                    State::Init
                };
                let s = Script {
                    spec,
                    state: carried.unwrap_or(initial),
                    streak: 0,
                    next: now,
                    running: false,
                    last: None,
                    runs: 0,
                };
                (name, s)
            })
            .unzip();
        Machine { names, scripts }
    }

    /// The next script to start now, marked running; call until `None`.
    /// A due script that is still running skips this turn.
    pub fn poll_start(&mut self, now: Instant) -> Option<usize> {
        for (i, s) in self.scripts.iter_mut().enumerate() {
            if s.next > now {
                continue;
            }
            let started = !s.running;
            s.running = true;
            s.next = next_after(s.next, s.spec.interval, now);
            if started {
                return Some(i);
            }
        }
        None
    }

    /// The result of script `i`'s run. Returns its new state when it
    /// changed. A result for a script that is not running is ignored.
    pub fn handle_result(&mut self, i: usize, run: Run, _now: Instant) -> Option<State> {
        let s = self.scripts.get_mut(i)?;
        if !s.running {
            return None;
        }
        s.running = false;
        s.runs += 1;
        s.last = Some(run);
        let good = run.success();
        let next = match (s.state, good) {
            (State::Init, true) => State::Ok,
            (State::Init, false) => State::Fail,
            (State::Ok, true) | (State::Fail, false) => {
                s.streak = 0;
                return None;
            }
            (State::Fail, true) | (State::Ok, false) => {
                s.streak += 1;
                let needed = if good { s.spec.rise } else { s.spec.fall };
                if s.streak < needed {
                    return None;
                }
                if good {
                    State::Ok
                } else {
                    State::Fail
                }
            }
        };
        s.streak = 0;
        s.state = next;
        Some(next)
    }

    /// When the next script is due (a running one included: its next turn
    /// may have to be skipped).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.scripts.iter().map(|s| s.next).min()
    }

    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.names
            .iter()
            .zip(&self.scripts)
            .map(|(name, s)| Status {
                name: name.clone(),
                state: s.state,
                last: s.last,
                runs: s.runs,
                value: None,
            })
            .collect()
    }
}

/// The first turn after `now` on the grid `from + k * interval`.
fn next_after(from: Instant, interval: Duration, now: Instant) -> Instant {
    let interval = interval.max(Duration::from_millis(1));
    let behind = now.saturating_duration_since(from);
    let turns = behind.as_nanos() / interval.as_nanos() + 1;
    from + interval * u32::try_from(turns).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
