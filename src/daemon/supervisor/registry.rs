//! The registry of supervised tasks, as a sans-IO core.
//!
//! Owns: [`Machine`]: every task by name, its kind, deadline, pulse
//! (last check-in), state and restart history; deciding when a task is
//! late (stalled), what an end means under the [`policy`](super::policy)
//! and when its restart is due; the answers to "is everyone alive?"
//! ([`Machine::liveness`]) and `vigil status` ([`Machine::status`]).
//!
//! A stall is remembered: the scan that finds a task past its deadline
//! records it, and the next liveness answer reports it even though the
//! task has been aborted and restarted since (then it is forgotten). So the
//! hardware watchdog sees every stall, however its query falls between the
//! scan and the restart, while the service carries on until the reset.
//! Must not: spawn, abort, sleep or read the clock: time is an argument,
//! and what to do comes out of [`Machine::poll_action`]; the owner task
//! (`supervisor::run`) executes it.
//!
//! Timers are data: [`Machine::poll_timeout`] is the earliest deadline
//! expiry or restart due, computed from the pulses as they were; a task
//! that checked in since makes the wakeup find nothing, harmlessly.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::heartbeat::Pulse;
use super::policy::{Budget, Kind, Remedy, BUDGET};

/// One incarnation of a task (a restart gets a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

/// How a task's incarnation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Its future returned.
    Returned,
    /// It panicked, with the message when it was a string.
    Panicked(String),
    /// It missed its deadline by this much and was aborted.
    Stalled { late_by: Duration },
    /// Something other than the supervisor aborted it.
    Cancelled,
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            How::Returned => write!(f, "ended"),
            How::Panicked(m) => write!(f, "panicked: {m}"),
            How::Stalled { late_by } => {
                write!(f, "stalled (missed its deadline by {late_by:?})")
            }
            How::Cancelled => write!(f, "cancelled"),
        }
    }
}

/// What the daemon is to do about a task that stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its restart comes as [`Event::RestartDue`] (an instance's VIPs go
    /// at once, on [`Event::Stopped`]).
    Restart,
    /// The budget is spent or the kind cannot restart: exit non-zero.
    Exit,
}

/// What the supervisor reports to the daemon's main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A task stopped without being told to; the main loop applies the
    /// remedy of its kind (for an instance: remove its VIPs now).
    Stopped {
        name: String,
        kind: Kind,
        how: How,
        verdict: Verdict,
    },
    /// The pause after a stop is over: start the task again, registered
    /// under the same name.
    RestartDue { name: String, kind: Kind },
}

/// What the owner task must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Abort this incarnation (it missed its deadline).
    Abort(TaskId),
    /// Tell the main loop.
    Report(Event),
}

/// A task's state, as `vigil status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    /// Missed its deadline; aborted, its restart pending.
    Stalled,
    /// Ended or panicked; its restart pending.
    Restarting,
    /// Stopped for good (the daemon is exiting).
    Ended,
}

impl State {
    pub const fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Stalled => "stalled",
            State::Restarting => "restarting",
            State::Ended => "ended",
        }
    }
}

/// A task that has not checked in within its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    pub task: String,
    pub late_by: Duration,
}

impl std::fmt::Display for Late {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (late by {:?})", self.task, self.late_by)
    }
}

/// One task as `vigil status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub name: String,
    pub kind: Kind,
    pub state: State,
    /// Since the last check-in (or the registration, before the first).
    pub check_in_age: Duration,
    pub deadline: Option<Duration>,
    /// Restarts since the daemon started.
    pub restarts: u32,
    /// How the last incarnation stopped, when one did.
    pub last_stop: Option<How>,
}

#[derive(Debug)]
struct Entry {
    kind: Kind,
    deadline: Option<Duration>,
    pulse: Arc<Pulse>,
    id: TaskId,
    registered: Instant,
    state: State,
    /// Set when this incarnation was found late (the abort is under way).
    late_by: Option<Duration>,
    /// When a pending restart is due.
    restart_at: Option<Instant>,
    /// Whether [`Event::RestartDue`] went out for it.
    announced: bool,
    /// Restarts within the budget's window.
    recent: VecDeque<Instant>,
    restarts: u32,
    last_stop: Option<How>,
}

impl Entry {
    /// The last sign of life: the last check-in, or the registration (or
    /// the stop, while a restart is pending).
    fn last_seen(&self) -> Instant {
        let beat = self.pulse.last().unwrap_or(self.registered);
        beat.max(self.registered)
    }

    fn expires(&self) -> Option<Instant> {
        match self.state {
            State::Running => self.deadline.map(|d| self.last_seen() + d),
            State::Stalled | State::Restarting => {
                self.restart_at.zip(self.deadline).map(|(at, d)| at + d)
            }
            State::Ended => None,
        }
    }

    fn late_by(&self, now: Instant) -> Option<Duration> {
        let expires = self.expires()?;
        (now > expires).then(|| now - expires)
    }
}

/// The registry: one entry per task name.
#[derive(Debug)]
pub struct Machine {
    tasks: BTreeMap<String, Entry>,
    budget: Budget,
    actions: VecDeque<Action>,
    /// Stalls found by a scan since the last liveness answer.
    stalls: Vec<Late>,
}

impl Default for Machine {
    fn default() -> Self {
        Self::new(BUDGET)
    }
}

impl Machine {
    pub fn new(budget: Budget) -> Self {
        Machine {
            tasks: BTreeMap::new(),
            budget,
            actions: VecDeque::new(),
            stalls: Vec::new(),
        }
    }

    /// A task started (or started again after a stop: its restart history
    /// carries over). `deadline`: of its kind, unless overridden.
    pub fn register(
        &mut self,
        name: &str,
        kind: Kind,
        deadline: Option<Duration>,
        pulse: Arc<Pulse>,
        id: TaskId,
        now: Instant,
    ) {
        let (recent, restarts, last_stop) = match self.tasks.remove(name) {
            Some(e) => (e.recent, e.restarts, e.last_stop),
            None => (VecDeque::new(), 0, None),
        };
        let entry = Entry {
            kind,
            deadline,
            pulse,
            id,
            registered: now,
            state: State::Running,
            late_by: None,
            restart_at: None,
            announced: false,
            recent,
            restarts,
            last_stop,
        };
        self.tasks.insert(name.to_owned(), entry);
    }

    /// The task of `id` is ending as told (removed by a reload, or the
    /// shutdown): no longer watched, its end reported to nobody.
    pub fn deregister(&mut self, id: TaskId) {
        self.tasks.retain(|_, e| e.id != id);
    }

    /// The task of `id` is being replaced: a running incarnation is
    /// forgotten (the owner aborts it); one that already stopped keeps its
    /// entry, and its restart history, for the replacement.
    pub fn replace(&mut self, id: TaskId) {
        self.tasks
            .retain(|_, e| e.id != id || e.state != State::Running);
    }

    /// Everything is ending as told (the shutdown).
    pub fn deregister_all(&mut self) {
        self.tasks.clear();
    }

    fn by_id(&mut self, id: TaskId) -> Option<(&String, &mut Entry)> {
        self.tasks.iter_mut().find(|(_, e)| e.id == id)
    }

    /// The incarnation `id` stopped (its join handle resolved). An
    /// incarnation no longer registered (told to end) is ignored.
    pub fn handle_stop(&mut self, id: TaskId, how: How, now: Instant) {
        let budget = self.budget;
        let Some((name, e)) = self.by_id(id) else {
            return;
        };
        if e.state != State::Running {
            return;
        }
        if how == How::Returned && e.pulse.retired() {
            let name = name.clone();
            self.tasks.remove(&name);
            return;
        }
        let how = match (e.late_by, how) {
            (Some(late_by), How::Cancelled) => How::Stalled { late_by },
            (_, how) => how,
        };
        let verdict = decide(e, &how, budget, now);
        let name = name.clone();
        let kind = e.kind;
        e.last_stop = Some(how.clone());
        self.actions.push_back(Action::Report(Event::Stopped {
            name,
            kind,
            how,
            verdict,
        }));
    }

    /// Finds the tasks past their deadline (aborts them) and the restarts
    /// now due. Harmless at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (name, e) in &mut self.tasks {
            match e.state {
                State::Running if e.late_by.is_none() => {
                    if let Some(late_by) = e.late_by(now) {
                        e.late_by = Some(late_by);
                        self.actions.push_back(Action::Abort(e.id));
                        self.stalls.push(Late {
                            task: name.clone(),
                            late_by,
                        });
                        tracing::error!(task = %name, ?late_by, "task missed its deadline; aborting it");
                    }
                }
                State::Stalled | State::Restarting
                    if !e.announced && e.restart_at.is_some_and(|t| t <= now) =>
                {
                    e.announced = true;
                    self.actions.push_back(Action::Report(Event::RestartDue {
                        name: name.clone(),
                        kind: e.kind,
                    }));
                }
                _ => {}
            }
        }
    }

    /// The next thing for the owner to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Machine::handle_timeout`] may next find something.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tasks
            .values()
            .filter_map(|e| match e.state {
                State::Running if e.late_by.is_none() => e.expires(),
                State::Stalled | State::Restarting if !e.announced => e.restart_at,
                _ => None,
            })
            .min()
    }

    /// Is every task alive within its deadline? If not, who is late and by
    /// how much: every stall a scan found since the last answer (reported
    /// once, even if the task was restarted since), then every task late
    /// now that is not among them. A task waiting for its restart counts
    /// from when the restart was due; one that ended for good is late at
    /// once (the daemon is exiting). This is what the hardware watchdog
    /// asks.
    pub fn liveness(&mut self, now: Instant) -> Result<(), Vec<Late>> {
        let mut late = std::mem::take(&mut self.stalls);
        for (name, e) in &self.tasks {
            let late_by = match e.state {
                State::Ended => Some(Duration::ZERO),
                _ => e.late_by(now),
            };
            if let Some(late_by) = late_by {
                if !late.iter().any(|l| l.task == *name) {
                    late.push(Late {
                        task: name.clone(),
                        late_by,
                    });
                }
            }
        }
        if late.is_empty() {
            Ok(())
        } else {
            Err(late)
        }
    }

    /// Every task, by name. A running task past its deadline shows as
    /// stalled before the next scan aborts it.
    pub fn status(&self, now: Instant) -> Vec<TaskView> {
        self.tasks
            .iter()
            .map(|(name, e)| TaskView {
                name: name.clone(),
                kind: e.kind,
                state: match e.state {
                    State::Running if e.late_by(now).is_some() => State::Stalled,
                    s => s,
                },
                check_in_age: now.saturating_duration_since(e.last_seen()),
                deadline: e.deadline,
                restarts: e.restarts,
                last_stop: e.last_stop.clone(),
            })
            .collect()
    }

    /// The pulse of the running task `name` (for a fault hook).
    pub fn pulse(&self, name: &str) -> Option<&Arc<Pulse>> {
        self.tasks
            .get(name)
            .filter(|e| e.state == State::Running)
            .map(|e| &e.pulse)
    }
}

/// Applies the policy and the budget to a stop: the entry's new state.
fn decide(e: &mut Entry, how: &How, budget: Budget, now: Instant) -> Verdict {
    while e
        .recent
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= budget.window)
    {
        e.recent.pop_front();
    }
    let policy = e.kind.policy();
    if policy.remedy == Remedy::Exit || e.recent.len() >= budget.restarts {
        e.state = State::Ended;
        return Verdict::Exit;
    }
    e.recent.push_back(now);
    e.restarts += 1;
    e.state = match how {
        How::Stalled { .. } => State::Stalled,
        _ => State::Restarting,
    };
    e.restart_at = Some(now + policy.restart_after);
    Verdict::Restart
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
