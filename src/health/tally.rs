//! What health checking has done, counted for the metrics endpoint: a
//! latency histogram and failures by [`Reason`], per virtual server and
//! checker kind.
//!
//! Owns: [`Tally`] (the histogram's bucket bounds, recording one result)
//! and [`ServiceTally`]. Must not: keep anything per check (a config at
//! the bounds has a million checks; per-check counts are two integers in
//! the scheduler) or know the exposition format (`metrics::render` turns
//! a tally into text).
//!
//! A check's latency is its own time from first poll to verdict, every
//! stage included (connect, TLS, request, response; a MISC_CHECK's whole
//! run); a check that times out counts at its timeout. Buckets are not
//! cumulative here; the renderer sums them as Prometheus wants.

use std::time::Duration;

use super::outcome::{Failure, LocalError, Outcome, Reason};
use crate::config::model::{Protocol, ServiceKey};

/// Upper bounds of the latency buckets, in microseconds, from a fast
/// LAN answer to the longest sensible `connect_timeout`; one more bucket
/// counts what is above them all.
pub const BOUNDS_US: [u64; 14] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000, 30_000_000,
];

/// The number of buckets: one per bound and the one above them.
pub const BUCKETS: usize = BOUNDS_US.len() + 1;

/// Results of one group of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// `buckets[i]`: checks that took at most `BOUNDS_US[i]` and more
    /// than the bound before it; the last, more than every bound.
    pub buckets: [u64; BUCKETS],
    /// The sum of every latency counted.
    pub sum: Duration,
    pub count: u64,
    /// Failed checks by [`Reason::index`].
    pub failures: [u64; Reason::ALL.len()],
    /// Checks not made for a reason of this box, by
    /// [`LocalError::index`]: neither failures nor latencies.
    pub local: [u64; LocalError::ALL.len()],
}

impl Tally {
    /// One check's result and how long it took.
    pub fn record(&mut self, took: Duration, outcome: &Outcome) {
        if let Err(Failure::Local(l)) = outcome {
            self.local[l.index()] += 1;
            return;
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = BOUNDS_US.partition_point(|&b| b < us);
        self.buckets[i] += 1;
        self.sum = self.sum.saturating_add(took);
        self.count += 1;
        if let Err(f) = outcome {
            self.failures[f.reason().index()] += 1;
        }
    }
}

/// The checks of one kind (`keyword`) on the real servers of one virtual
/// server. `reasons`: the failures that kind can report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTally {
    pub service: ServiceKey,
    pub protocol: Protocol,
    pub keyword: &'static str,
    pub reasons: Vec<Reason>,
    pub tally: Tally,
}

#[cfg(test)]
#[path = "tally_tests.rs"]
mod tests;
