//! The commit-confirmed timer as a sans-IO core: which unconfirmed commit
//! the daemon rolls back, and when.
//!
//! Owns: the one armed deadline (a commit confirmed waits at a time: a
//! newer commit replaces the older's window, a confirmed one ends it),
//! its conversion from the store's unix seconds into the monotonic clock,
//! and what a `commit confirmed` window may be ([`Window`]: its words,
//! its bounds) and the arithmetic of its deadline. Must not:
//! read a clock, touch the store or reload (`daemon::commit` does, and
//! feeds this what the store says after every write).
//!
//! The store is the truth: after each write the daemon hands [`Machine::follow`]
//! the store's pending commit, so a confirm, a plain commit or a rollback
//! written meanwhile disarms the timer, and a stale wakeup finds nothing
//! to do ([`Machine::handle_timeout`] re-checks the deadline).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::control::PendingCommit;

/// A `commit confirmed` window: how long a commit waits for its confirm,
/// in whole seconds from [`Window::MIN`] to [`Window::MAX`]. Read from an
/// operator's words by [`FromStr`]: a bare number counts minutes (as
/// Junos' `commit confirmed 5`); a number with `s`, `m` or `h` counts
/// those (`90s`, `10m`, `2h`, as Arista's commit timer takes seconds).
/// On the control socket it is the seconds, checked again when decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Window(u32);

impl Window {
    /// The shortest window: time enough to read the commit's answer and
    /// type `commit` again.
    pub const MIN: Window = Window(10);
    /// The longest: a day, as Junos allows.
    pub const MAX: Window = Window(24 * 3600);

    pub fn from_secs(secs: u32) -> Result<Self, WindowError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&secs) {
            Ok(Window(secs))
        } else {
            Err(WindowError::OutOfRange { secs })
        }
    }

    pub fn secs(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Window {
    type Error = WindowError;
    fn try_from(secs: u32) -> Result<Self, WindowError> {
        Self::from_secs(secs)
    }
}

impl From<Window> for u32 {
    fn from(w: Window) -> u32 {
        w.0
    }
}

impl FromStr for Window {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Self, WindowError> {
        let bad = || WindowError::Unreadable(s.chars().take(32).collect());
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let scale = match unit {
            "" | "m" => 60,
            "s" => 1,
            "h" => 3600,
            _ => return Err(bad()),
        };
        let secs = u32::try_from(n.saturating_mul(scale)).unwrap_or(u32::MAX);
        Self::from_secs(secs)
    }
}

/// Shown as the operator would type it back: `90s`, `5m`, `2h`.
impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// Why a `commit confirmed` window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("{secs} s is not from {} to {}", Window::MIN, Window::MAX)]
    OutOfRange { secs: u32 },
    #[error("`{0}` is not a time: expected minutes (5) or a number with s, m or h (90s, 10m, 2h)")]
    Unreadable(String),
}

/// The unix second by which a commit confirmed at `now_unix` for
/// `window` must be confirmed. `minute` is how long a minute of the
/// window lasts: 60 s, shorter only for tests (`vigil run
/// --confirm-unit-secs`), which scales the whole window.
pub fn deadline(now_unix: u64, window: Window, minute: Duration) -> u64 {
    let minute = minute.as_secs().max(1);
    now_unix + (u64::from(window.secs()) * minute).div_ceil(60)
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
