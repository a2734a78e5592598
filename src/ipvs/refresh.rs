//! When the IPVS task reads the kernel's table back between passes, and
//! how much of it.
//!
//! Owns: [`Schedule`]. Every [`STATUS_REFRESH`] the task asks it what to
//! read ([`Schedule::scope`]):
//! - the whole table when a full read is due: the counters `vigil status`
//!   and a scrape show, and what the kernel holds that vigil did not put
//!   there;
//! - else, the services that have a destination draining: a drain ends on
//!   its connection counts, and those few services are cheap to read (the
//!   list of services, then their destinations);
//! - else, nothing.
//!
//! A full read costs time in proportion to the table (at 100,000
//! destinations, in the lab's emulated VM, most of two seconds of CPU, half
//! of it the kernel's). Reading it every [`STATUS_REFRESH`] whatever its
//! size kept a daemon at the config's bounds busy with nothing else to do.
//! So the next full read waits [`FULL_SPACING`] times what the last one
//! took: reading back takes at most a twentieth of one CPU, and a small
//! table is still read every [`STATUS_REFRESH`]. A whole pass reads the
//! whole table too, so it counts as a full read (a scoped one does not).
//!
//! Must not: do I/O, or decide what a dump means (the machine does).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::wire::ServiceId;

/// The shortest time between two reads of the table, full or not.
pub const STATUS_REFRESH: Duration = Duration::from_secs(2);

/// The next full read waits this many times the last one's duration
/// (counted from its end): a duty of 1 / (1 + FULL_SPACING), 5 %.
pub const FULL_SPACING: u32 = 19;

/// The longest time between two full reads, whatever they cost: the
/// counters a status shows are never older than this, plus one read.
pub const FULL_REFRESH_MAX: Duration = Duration::from_secs(60);

/// What one refresh reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every service and destination.
    Full,
    /// These services ([`super::kernel::dump_services_into`]).
    Services(BTreeSet<ServiceId>),
}

/// When the next full read is due, from what the last one cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    full_due: Instant,
    /// How long the last full read by a refresh took.
    cost: Duration,
    /// When the last read of the whole table ended (a refresh's or a
    /// whole pass's); `None` before the first.
    last_full: Option<Instant>,
}

impl Schedule {
    /// The first full read is due one [`STATUS_REFRESH`] after `now`.
    pub fn new(now: Instant) -> Self {
        Schedule {
            full_due: now + STATUS_REFRESH,
            cost: Duration::ZERO,
            last_full: None,
        }
    }

    /// What the refresh at `now` reads: everything when a full read is
    /// due, else the services of the draining destinations; `None` when
    /// nothing needs reading.
    pub fn scope(
        &self,
        now: Instant,
        draining: impl IntoIterator<Item = ServiceId>,
    ) -> Option<Scope> {
        if now >= self.full_due {
            return Some(Scope::Full);
        }
        let services: BTreeSet<ServiceId> = draining.into_iter().collect();
        (!services.is_empty()).then_some(Scope::Services(services))
    }

    /// A refresh read the whole table, ending at `ended` after `took`.
    pub fn full_read(&mut self, ended: Instant, took: Duration) {
        self.cost = took;
        self.table_read(ended);
    }

    /// A whole pass read the table, ending at `ended` (what its read cost
    /// alone is not known: the last refresh's cost stands).
    pub fn table_read(&mut self, ended: Instant) {
        self.full_due = ended + self.spacing();
        self.last_full = Some(ended);
    }

    /// How old the whole table's last read is at `now`: the counters and
    /// connection counts a status shows are at most this old (a scoped
    /// read leaves some fresher). `None` before the first.
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.last_full.map(|t| now.saturating_duration_since(t))
    }

    /// When the next full read is due.
    pub fn full_due(&self) -> Instant {
        self.full_due
    }

    /// The time from the end of a full read to the next.
    pub fn spacing(&self) -> Duration {
        (self.cost.saturating_mul(FULL_SPACING)).clamp(STATUS_REFRESH, FULL_REFRESH_MAX)
    }
}

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
