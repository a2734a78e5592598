//! The VRRP machine's timers, as data.
//!
//! Owns: [`Timer`] (one variant per RFC/keepalived timer) and
//! [`TimerTable`], an array of `Option<Instant>` indexed by it.
//! Must not: read the clock or schedule anything: the edge asks
//! `Machine::poll_timeout()` when to wake and feeds `Input::Timeout`; the
//! machine re-checks expiry *and* its state on every wakeup, so a stale or
//! spurious wakeup does nothing.
//!
//! RFC 5798 section 6.2 (Adver_Timer, Master_Down_Timer) plus keepalived's
//! gratuitous-ARP timers (garp_master_delay, garp_master_refresh).

use std::time::Instant;

/// Every timer an instance can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Master: send the next advertisement (RFC 5798 Adver_Timer).
    Advert,
    /// Backup: the master is presumed dead (RFC 5798 Master_Down_Timer).
    MasterDown,
    /// Master: second burst of gratuitous ARP / NA (garp_master_delay).
    GarpDelay,
    /// Master: periodic gratuitous ARP / NA (garp_master_refresh).
    GarpRefresh,
}

impl Timer {
    pub const ALL: [Timer; 4] = [
        Timer::Advert,
        Timer::MasterDown,
        Timer::GarpDelay,
        Timer::GarpRefresh,
    ];
}

/// Deadlines, one slot per [`Timer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    slots: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
    }

    pub fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }

    pub fn stop_all(&mut self) {
        self.slots = Default::default();
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }

    /// True if armed and due at `now`.
    pub fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// If `timer` is due at `now`, disarm it and return true.
    pub fn take_expired(&mut self, timer: Timer, now: Instant) -> bool {
        let due = self.is_expired(timer, now);
        if due {
            self.stop(timer);
        }
        due
    }

    /// Earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }
}

#[cfg(test)]
#[path = "timers_tests.rs"]
mod tests;
