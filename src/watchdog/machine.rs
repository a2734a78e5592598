//! The pet policy, sans-IO: when to pet, and when to stop petting for good.
//!
//! Owns: the pet interval ([`pet_interval`]), the one decision to withhold
//! pets once a supervised task is late (reported once, with the late
//! tasks), and the deliberate stop. Must not: read a clock, touch a device
//! or log: `now` and the liveness answer are arguments, actions are the
//! answer.
//!
//! Withholding is final. The supervisor's deadline is already the grace a
//! task gets; petting again when a late task comes back would add a second
//! grace of up to one hardware timeout and make the time to the reset
//! depend on when the task recovers. Once withheld, the watchdogs act:
//! systemd restarts vigil (if its WatchdogSec is the shorter), the
//! hardware resets the box otherwise.
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

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<L> {
    /// Pet every watchdog.
    Pet,
    /// Stop petting from now on, because of these late tasks (given once:
    /// log them).
    Withhold(Vec<L>),
    /// Nothing: not due yet, already withheld, or stopped.
    Wait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Petting { next: Instant },
    Withheld,
    Stopped,
}

/// The pet policy of one run.
#[derive(Debug, Clone)]
pub struct Machine {
    interval: Duration,
    state: State,
}

impl Machine {
    /// A machine whose first check is due at `now`.
    pub fn new(now: Instant, interval: Duration) -> Machine {
        Machine {
            interval,
            state: State::Petting { next: now },
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due; `None`
    /// once petting has stopped (withheld or stopped).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Petting { next } => Some(next),
            State::Withheld | State::Stopped => None,
        }
    }

    /// A check at `now` with the supervisor's answer: every task alive
    /// (`Ok`), or these are late. Before it is due, does nothing.
    pub fn handle_timeout<L>(&mut self, now: Instant, liveness: Result<(), Vec<L>>) -> Action<L> {
        let State::Petting { next } = self.state else {
            return Action::Wait;
        };
        if now < next {
            return Action::Wait;
        }
        match liveness {
            Ok(()) => {
                self.state = State::Petting {
                    next: now + self.interval,
                };
                Action::Pet
            }
            Err(late) => {
                self.state = State::Withheld;
                Action::Withhold(late)
            }
        }
    }

    /// A deliberate stop (`systemctl stop`, shutdown): the caller disarms
    /// every watchdog, whether petting had stopped or not (the operator
    /// asked for the stop). `false` when already stopped.
    pub fn stop(&mut self) -> bool {
        let first = self.state != State::Stopped;
        self.state = State::Stopped;
        first
    }

    /// Whether a task was found late and pets stopped for it.
    pub fn withheld(&self) -> bool {
        self.state == State::Withheld
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
