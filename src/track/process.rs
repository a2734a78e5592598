//! Tracked processes (`vrrp_track_process`): which running processes
//! match, and when a count in or out of quorum counts.
//!
//! Owns: [`matches`] (keepalived's exact matching: the process name as in
//! `/proc/PID/comm`, or the command line's words by `param_match`),
//! [`scan`] (every running process's name and command line, from
//! `/proc`: zombies are gone, as for keepalived),
//! [`Quorum`] (the state with `fork_delay` / `terminate_delay`) and
//! [`plan`]. Must not: weigh states (the VRRP machine does, as a script's:
//! processes ride in the scripts' list) or block: the track task scans
//! once a second (polling `/proc`, where keepalived listens to the
//! kernel's process events).

use std::time::{Duration, Instant};

use super::State;
use crate::config::model::{Config, ParamMatch, TrackProcess};

/// What a scan keeps of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// `/proc/PID/comm` (at most 15 bytes, the kernel's cut).
    pub comm: String,
    /// `/proc/PID/cmdline`, split at NULs.
    pub argv: Vec<String>,
}

/// The kernel's length of a process name.
const COMM_MAX: usize = 15;

/// Whether `p` is one of the processes `t` counts.
pub fn matches(t: &TrackProcess, p: &Proc) -> bool {
    let by_name = t.process.len() == 1 && t.param_match.is_none() && !t.full_command;
    if by_name {
        let want = &t.process[0];
        let cut = &want.as_bytes()[..want.len().min(COMM_MAX)];
        return p.comm.as_bytes() == cut;
    }
    let (want, got) = (&t.process, &p.argv);
    if got.first() != want.first() {
        return false;
    }
    let (want, got) = (&want[1..], &got[got.len().min(1)..]);
    match t.param_match.unwrap_or(ParamMatch::Exact) {
        ParamMatch::Exact => want == got,
        ParamMatch::Partial => got.len() >= want.len() && got[..want.len()] == *want,
        ParamMatch::Initial => match want.split_last() {
            None => true,
            Some((last, first)) => {
                got.len() >= want.len()
                    && got[..first.len()] == *first
                    && got[first.len()].starts_with(last.as_str())
            }
        },
    }
}

/// Every running process now (those that vanish mid-scan are skipped).
pub fn scan() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| read(&e.path()))
        .collect()
}

/// The process at `dir` (`/proc/PID`), if it runs. A zombie (exited, not
/// yet reaped by its parent) or a dead one does not: keepalived counts
/// running processes only (it learns of an exit from the kernel's event,
/// sent before the parent reaps), where pgrep counts zombies too.
fn read(dir: &std::path::Path) -> Option<Proc> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let (comm, state) = stat_fields(&stat)?;
    if matches!(state, 'Z' | 'X' | 'x') {
        return None;
    }
    let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
    let argv = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    Some(Proc {
        comm: comm.to_owned(),
        argv,
    })
}

/// The name and the state letter of a `/proc/PID/stat` line, `PID (NAME)
/// S ...` (the name, as in `/proc/PID/comm`, may hold spaces and
/// parentheses: it runs to the last `)`).
fn stat_fields(stat: &str) -> Option<(&str, char)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let (_, name) = head.split_once('(')?;
    let state = rest.trim_start().chars().next()?;
    Some((name, state))
}

/// The processes some instance or sync group tracks, in config order.
pub fn plan(config: &Config) -> Vec<TrackProcess> {
    let tracked = |p: &TrackProcess| {
        config.vrrp_instances.iter().any(|i| {
            config
                .tracked_processes(i)
                .iter()
                .any(|t| t.script.name == p.name)
        })
    };
    config
        .track_processes
        .iter()
        .filter(|p| tracked(p))
        .cloned()
        .collect()
}

/// One tracked process's state: OK while its count is within quorum,
/// after `fork_delay` (gained) or `terminate_delay` (lost) held.
#[derive(Debug, Clone)]
pub struct Quorum {
    pub state: State,
    pub count: usize,
    /// The other state, and since when the count says so.
    pending: Option<(State, Instant)>,
}

impl Quorum {
    pub fn new() -> Self {
        Quorum {
            state: State::Init,
            count: 0,
            pending: None,
        }
    }

    /// A scan found `count` matching processes at `now`; returns the new
    /// state when it changed. The first scan decides at once.
    pub fn handle(&mut self, t: &TrackProcess, count: usize, now: Instant) -> Option<State> {
        self.count = count;
        let n = u64::try_from(count).unwrap_or(u64::MAX);
        let within = n >= u64::from(t.quorum) && t.quorum_max.is_none_or(|m| n <= u64::from(m));
        let want = if within { State::Ok } else { State::Fail };
        if self.state == State::Init || want == self.state {
            self.pending = None;
            let changed = self.state != want;
            self.state = want;
            return changed.then_some(want);
        }
        let delay = match want {
            State::Ok => t.fork_delay,
            _ => t.terminate_delay,
        };
        let delay = delay.map_or(Duration::ZERO, |d| d.as_duration());
        let since = match self.pending {
            Some((s, at)) if s == want => at,
            _ => now,
        };
        if now.saturating_duration_since(since) >= delay {
            self.pending = None;
            self.state = want;
            return Some(want);
        }
        self.pending = Some((want, since));
        None
    }
}

impl Default for Quorum {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
