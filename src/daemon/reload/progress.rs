//! A long reload says how far it got: each step's time in the journal
//! once the reload has run for more than a second.
//!
//! Owns: the clock of one reload and the wording of its progress lines.
//! Must not: decide anything about the reload (a step logged is a step
//! done, nothing more).

use std::time::{Duration, Instant};

/// A reload shorter than this logs no progress: only its outcome.
pub(crate) const QUIET: Duration = Duration::from_secs(1);

/// The clock of one reload.
#[derive(Debug, Clone, Copy)]
pub(super) struct Progress {
    started: Instant,
    step: Instant,
}

impl Progress {
    pub(super) fn start() -> Self {
        let now = Instant::now();
        Progress {
            started: now,
            step: now,
        }
    }

    /// `done` is finished: logged with its time once the reload has run
    /// past [`QUIET`] (a short reload says nothing more than its outcome).
    pub(super) fn step(&mut self, done: impl std::fmt::Display) {
        let now = Instant::now();
        let (took, total) = (now - self.step, now - self.started);
        self.step = now;
        if total > QUIET {
            tracing::info!(
                "reload: {done} in {:.2} s ({:.2} s so far)",
                took.as_secs_f64(),
                total.as_secs_f64()
            );
        }
    }
}
