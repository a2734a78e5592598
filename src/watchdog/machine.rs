//! The pet policy, sans-IO: when to pet which watchdog, and when to stop
//! petting the hardware for good.
//!
//! Owns: the pet interval ([`pet_interval`]), the two signals the
//! liveness answer gives (see below), the one decision to withhold the
//! hardware's pets once a supervised task is late (reported once, with the
//! late tasks), and the deliberate stop. Must not: read a clock, touch a
//! device or log: `now` and the liveness answer are arguments, actions are
//! the answer.
//!
//! Two signals from one query, because one would defeat itself: if systemd
//! and the hardware both followed "every task within its deadline", the
//! shorter `WatchdogSec` would restart vigil first and the new process
//! would pet the hardware again, so a stalled task would never reset the
//! box. So:
//! - the watchdogs that follow the **runtime** ([`super::Follows::Runtime`],
//!   systemd's) are petted whenever the supervisor answered the query in
//!   time, late tasks or not: a frozen process (SIGSTOP, a blocked runtime
//!   thread, a dead supervisor) stops them, and systemd restarts vigil;
//! - the watchdogs that follow **every task** ([`super::Follows::Tasks`],
//!   the hardware) are petted only while no task is late: the first late
//!   answer withholds them for good, and the box resets.
//!
//! An answer that does not come in time ([`Answer::Silent`]) pets neither
//! that round, but withholds nothing for good: a process stuck that long
//! is systemd's to restart (which it does before the hardware fires), and
//! one that recovers has lost nothing but a pet.
//!
//! Withholding is final. The supervisor's deadline is already the grace a
//! task gets; petting again when a late task comes back would add a second
//! grace of up to one hardware timeout and make the time to the reset
//! depend on when the task recovers. The service carries on meanwhile (the
//! supervisor restarts the task) until the hardware resets the box.
//!
//! Timers are data: [`Machine::poll_timeout`] says when the next check is
//! due; a wakeup before it does nothing.

use std::time::{Duration, Instant};

/// No watchdog waits longer than this between pets, whatever its timeout,
/// so a late task is noticed within this much of its deadline.
pub const PET_MAX: Duration = Duration::from_secs(5);
/// Pets come at this fraction of the shortest timeout: two pets may be
/// lost or late before a watchdog acts.
pub const PET_FRACTION: u32 = 3;

/// How often to pet watchdogs with these timeouts: a third of the
/// shortest, at most [`PET_MAX`], at least a millisecond. `None`: no
/// watchdog to pet.
pub fn pet_interval(timeouts: impl IntoIterator<Item = Duration>) -> Option<Duration> {
    let shortest = timeouts.into_iter().min()?;
    Some(
        (shortest / PET_FRACTION)
            .min(PET_MAX)
            .max(Duration::from_millis(1)),
    )
}

/// The supervisor's answer to one liveness query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<L> {
    /// Every task within its deadline.
    Alive,
    /// These are late (or stalled since the last query): the runtime
    /// answered, so it is alive.
    Late(Vec<L>),
    /// No answer within the bound, or the supervisor is gone.
    Silent,
}

impl<L> From<Option<Result<(), Vec<L>>>> for Answer<L> {
    fn from(a: Option<Result<(), Vec<L>>>) -> Self {
        match a {
            Some(Ok(())) => Answer::Alive,
            Some(Err(late)) => Answer::Late(late),
            None => Answer::Silent,
        }
    }
}

/// Which watchdogs to pet this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pets {
    /// Those following the runtime (systemd's).
    pub runtime: bool,
    /// Those following every task (the hardware).
    pub tasks: bool,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<L> {
    /// Pet these.
    Pet(Pets),
    /// Stop petting the hardware from now on, because of these late tasks
    /// (given once: log them); the runtime's watchdogs are petted.
    Withhold(Vec<L>),
    /// The supervisor did not answer in time: no pet this round (log it).
    Silent,
    /// Nothing: not due yet, or stopped.
    Wait,
}

/// The pet policy of one run.
#[derive(Debug, Clone)]
pub struct Machine {
    interval: Duration,
    /// The next check; `None` once stopped.
    next: Option<Instant>,
    withheld: bool,
}

impl Machine {
    /// A machine whose first check is due at `now`.
    pub fn new(now: Instant, interval: Duration) -> Machine {
        Machine {
            interval,
            next: Some(now),
            withheld: false,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// A watchdog joined (the hardware, opened after the start): checks
    /// come every `interval` from now on, and the next one at once, so the
    /// new device is petted (unless withheld) without waiting.
    pub fn joined(&mut self, now: Instant, interval: Duration) {
        self.interval = interval;
        if let Some(next) = &mut self.next {
            *next = (*next).min(now);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due; `None`
    /// once stopped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// A check at `now` with the supervisor's answer. Before it is due, or
    /// once stopped, does nothing.
    pub fn handle_timeout<L>(&mut self, now: Instant, answer: Answer<L>) -> Action<L> {
        match self.next {
            Some(next) if now >= next => self.next = Some(now + self.interval),
            _ => return Action::Wait,
        }
        match answer {
            Answer::Alive => Action::Pet(Pets {
                runtime: true,
                tasks: !self.withheld,
            }),
            Answer::Late(late) if !self.withheld => {
                self.withheld = true;
                Action::Withhold(late)
            }
            Answer::Late(_) => Action::Pet(Pets {
                runtime: true,
                tasks: false,
            }),
            Answer::Silent => Action::Silent,
        }
    }

    /// A deliberate stop (`systemctl stop`, shutdown): the caller disarms
    /// every watchdog, whether petting had stopped or not (the operator
    /// asked for the stop). `false` when already stopped.
    pub fn stop(&mut self) -> bool {
        self.next.take().is_some()
    }

    /// Whether a task was found late and the hardware's pets stopped.
    pub fn withheld(&self) -> bool {
        self.withheld
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
