//! How late each of the daemon's runtimes runs its timers.
//!
//! Owns: [`Meter`], one per runtime (main, VRRP), fed by a ticker task on
//! that runtime ([`spawn`]) that asks to wake every [`TICK`] and measures
//! how late it woke. A late wake-up means something held the runtime's
//! only thread: a long synchronous step (building a big status, planning a
//! reload) or a starved machine. On the VRRP runtime that delays adverts;
//! on the main runtime it delays every supervised task's check-in, and a
//! stall past a task's deadline restarts it or, on the appliance, stops
//! the hardware watchdog's petting. The pure part is [`Meter::observe`];
//! the worst stall since start and the count over [`STALL`] are what
//! `vigil status` and the metrics show, and a stall over [`LOUD`] is logged.
//!
//! Must not: do anything but measure (it never yields work of its own
//! beyond one timer), or hold a lock the runtime could wait on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

/// How often the ticker asks to wake.
pub const TICK: Duration = Duration::from_millis(50);
/// A wake-up this late counts as a stall.
pub const STALL: Duration = Duration::from_millis(250);
/// A stall this long is logged as a warning.
pub const LOUD: Duration = Duration::from_secs(1);

/// What a runtime's ticker has seen.
#[derive(Debug)]
pub struct Meter {
    name: &'static str,
    worst_us: AtomicU64,
    stalls: AtomicU64,
}

/// A [`Meter`]'s figures at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub name: &'static str,
    /// The latest wake-up since start, in microseconds.
    pub worst_us: u64,
    /// Wake-ups at least [`STALL`] late.
    pub stalls: u64,
}

impl Meter {
    pub fn new(name: &'static str) -> Self {
        Meter {
            name,
            worst_us: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
        }
    }

    /// One wake-up, `late` after it was due. Returns whether it is one to
    /// log ([`LOUD`]).
    pub fn observe(&self, late: Duration) -> bool {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.worst_us.fetch_max(us, Ordering::Relaxed);
        if late >= STALL {
            self.stalls.fetch_add(1, Ordering::Relaxed);
        }
        late >= LOUD
    }

    pub fn reading(&self) -> Reading {
        Reading {
            name: self.name,
            worst_us: self.worst_us.load(Ordering::Relaxed),
            stalls: self.stalls.load(Ordering::Relaxed),
        }
    }
}

/// Starts the ticker of runtime `name` on `rt`; the ticker ends with the
/// runtime.
pub fn spawn(name: &'static str, rt: &tokio::runtime::Handle) -> Arc<Meter> {
    let meter = Arc::new(Meter::new(name));
    let m = meter.clone();
    rt.spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        // After a stall, measure from the late wake-up: a burst of
        // catch-up ticks would read as more stalls.
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let due = tick.tick().await;
            let late = Instant::now().saturating_duration_since(due);
            if m.observe(late) {
                tracing::warn!(
                    runtime = m.name,
                    late_ms = late.as_millis() as u64,
                    "runtime stalled: its timers ran late (a long step held its thread)"
                );
            }
        }
    });
    meter
}

#[cfg(test)]
#[path = "stall_tests.rs"]
mod tests;
