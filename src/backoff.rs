//! Retry delays for every retry loop in the crate.
//!
//! Owns: [`Backoff`], a pure counter of consecutive failures that answers
//! how long to wait before the next attempt: `min`, doubling after each
//! failure, capped at `max`, and (when asked for) no more attempts after a
//! given number in all. Used by the IPVS table and sync tasks, the VRRP
//! receive supervisor and the mailer.
//! Must not: sleep, read a clock or log: the caller owns the timer.

use std::time::Duration;

/// Waits between attempts: `min`, doubling, capped at `max`; a success
/// [`reset`](Backoff::reset)s it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// Attempts in all before giving up; `None`: never give up.
    attempts: Option<u32>,
    /// Failures since the last reset.
    failures: u32,
    /// The wait the next failure gets.
    wait: Duration,
}

impl Backoff {
    /// Retries for ever: `min`, `2 min`, ... up to `max`.
    pub const fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            attempts: None,
            failures: 0,
            wait: min,
        }
    }

    /// Gives up once `attempts` attempts in all have failed (see
    /// [`Backoff::retry`]).
    pub const fn give_up_after(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// One more failure: the wait before the next attempt.
    #[allow(clippy::should_implement_trait)] // not an iterator: it never ends
    pub fn next(&mut self) -> Duration {
        let wait = self.wait;
        self.failures = self.failures.saturating_add(1);
        self.wait = self.wait.saturating_mul(2).min(self.max);
        wait
    }

    /// One more failure: the wait before the next attempt, or `None` when
    /// the attempts given to [`Backoff::give_up_after`] are used up.
    pub fn retry(&mut self) -> Option<Duration> {
        let wait = self.next();
        match self.attempts {
            Some(n) if self.failures >= n => None,
            _ => Some(wait),
        }
    }

    /// The wait the next failure would get, without counting one.
    pub fn peek(&self) -> Duration {
        self.wait
    }

    /// Failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A success: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.wait = self.min;
    }
}

#[cfg(test)]
#[path = "backoff_tests.rs"]
mod tests;
