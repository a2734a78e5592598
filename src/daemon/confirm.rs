//! The commit-confirmed timer as a sans-IO core: which unconfirmed commit
//! the daemon rolls back, and when.
//!
//! Owns: the one armed deadline (a commit confirmed waits at a time: a
//! newer commit replaces the older's window, a confirmed one ends it),
//! its conversion from the store's unix seconds into the monotonic clock,
//! and the arithmetic of a `commit confirmed MINUTES` deadline. Must not:
//! read a clock, touch the store or reload (`daemon::commit` does, and
//! feeds this what the store says after every write).
//!
//! The store is the truth: after each write the daemon hands [`Machine::follow`]
//! the store's pending commit, so a confirm, a plain commit or a rollback
//! written meanwhile disarms the timer, and a stale wakeup finds nothing
//! to do ([`Machine::handle_timeout`] re-checks the deadline).

use std::time::{Duration, Instant};

use crate::control::PendingCommit;

/// Longest `commit confirmed` window, in minutes (as Junos: a day).
pub const MAX_MINUTES: u16 = 24 * 60;

/// Why a `commit confirmed` window was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("commit confirmed {minutes}: expected minutes from 1 to {max}")]
    OutOfRange { minutes: u16, max: u16 },
}

/// The unix second by which a commit confirmed at `now_unix` for
/// `minutes` must be confirmed; `unit` is how long a minute lasts (60 s;
/// shorter only for tests, `vigil run --confirm-unit-secs`).
pub fn deadline(now_unix: u64, minutes: u16, unit: Duration) -> Result<u64, WindowError> {
    if minutes == 0 || minutes > MAX_MINUTES {
        return Err(WindowError::OutOfRange {
            minutes,
            max: MAX_MINUTES,
        });
    }
    Ok(now_unix + u64::from(minutes) * unit.as_secs().max(1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Armed {
    commit: PendingCommit,
    at: Instant,
}

/// The armed deadline, if any.
#[derive(Debug, Default)]
pub struct Machine {
    armed: Option<Armed>,
}

impl Machine {
    /// The store's pending commit, read after a write (or at start): arms
    /// for it, keeps an unchanged one, or disarms. A deadline already past
    /// fires at the next poll.
    pub fn follow(&mut self, pending: Option<PendingCommit>, now_unix: u64, now: Instant) {
        self.armed = pending.map(|commit| match self.armed {
            Some(a) if a.commit == commit => a,
            _ => Armed {
                commit,
                at: now + Duration::from_secs(commit.deadline.saturating_sub(now_unix)),
            },
        });
    }

    /// When [`Machine::handle_timeout`] wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.armed.map(|a| a.at)
    }

    /// The commit to roll back when its deadline has passed (disarmed
    /// then); `None` for an early or stale wakeup.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<u64> {
        let a = self.armed.filter(|a| now >= a.at)?;
        self.armed = None;
        Some(a.commit.seq)
    }

    /// The commit waiting for a confirm, as `vigil status` shows it.
    pub fn pending(&self) -> Option<PendingCommit> {
        self.armed.map(|a| a.commit)
    }
}

#[cfg(test)]
#[path = "confirm_tests.rs"]
mod tests;
