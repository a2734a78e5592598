//! The check-in a supervised task makes from the place that proves its
//! loop turns.
//!
//! Owns: [`Pulse`] (the cell a task writes and the registry reads: the
//! milliseconds since the supervisor's epoch of the last check-in, one
//! atomic store per beat, no channel send, no lock) and [`Heartbeat`], the
//! task's handle to it. With the `fault-hooks` feature, also the fault a
//! test asked of the task, acted on inside the task at its next check-in:
//! a panic, a stall (the loop stops there for good), an end, or a broken
//! connection (for a task that owns one: the netlink monitor).
//! Must not: read anything but the clock, or await anything but a fault
//! and the wait [`Heartbeat::waiting`] is handed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(feature = "fault-hooks")]
use std::sync::atomic::AtomicU8;

/// A fault a test asks of a task (`fault-hooks` builds only act on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Fault {
    /// Panic at the next check-in.
    Panic,
    /// Stop at the next check-in forever: the loop stops turning.
    Stall,
    /// Return at the next check-in, as if the loop had ended.
    End,
    /// Break the task's outside connection at the next check-in, as if
    /// the socket had failed (only a task that asks
    /// [`Heartbeat::disconnect_asked`] acts on it).
    Disconnect,
}

/// The shared cell of one task: when it last checked in.
#[derive(Debug)]
pub struct Pulse {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last check-in, plus one; 0: never.
    last: AtomicU64,
    /// Set by [`Heartbeat::retire`].
    retired: std::sync::atomic::AtomicBool,
    #[cfg(feature = "fault-hooks")]
    fault: AtomicU8,
    #[cfg(feature = "fault-hooks")]
    end: tokio::sync::Notify,
    #[cfg(feature = "fault-hooks")]
    disconnect: std::sync::atomic::AtomicBool,
}

impl Pulse {
    pub fn new(epoch: Instant) -> Self {
        Pulse {
            epoch,
            last: AtomicU64::new(0),
            retired: std::sync::atomic::AtomicBool::new(false),
            #[cfg(feature = "fault-hooks")]
            fault: AtomicU8::new(0),
            #[cfg(feature = "fault-hooks")]
            end: tokio::sync::Notify::new(),
            #[cfg(feature = "fault-hooks")]
            disconnect: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Records a check-in at `at` (the time is an argument for tests).
    pub fn beat_at(&self, at: Instant) {
        let ms = at.saturating_duration_since(self.epoch).as_millis() as u64;
        self.last.store(ms + 1, Ordering::Relaxed);
    }

    /// The last check-in, `None` before the first.
    pub fn last(&self) -> Option<Instant> {
        match self.last.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.epoch + Duration::from_millis(ms - 1)),
        }
    }

    /// Whether the task said its end is as it should be.
    pub fn retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    /// Asks the task for `fault` at its next check-in.
    #[cfg(feature = "fault-hooks")]
    pub fn inject(&self, fault: Fault) {
        let code = match fault {
            Fault::Panic => 1,
            Fault::Stall => 2,
            Fault::End => 3,
            Fault::Disconnect => 4,
        };
        self.fault.store(code, Ordering::Relaxed);
    }

    #[cfg(feature = "fault-hooks")]
    fn take_fault(&self) -> Option<Fault> {
        match self.fault.swap(0, Ordering::Relaxed) {
            1 => Some(Fault::Panic),
            2 => Some(Fault::Stall),
            3 => Some(Fault::End),
            4 => Some(Fault::Disconnect),
            _ => None,
        }
    }

    /// Resolves once the task took an `End` fault (the wrapper the
    /// supervisor spawns around the task then returns).
    #[cfg(feature = "fault-hooks")]
    pub async fn ended(&self) {
        self.end.notified().await;
    }
}

/// How long [`Heartbeat::waiting`] checks in for one wait. Past it the
/// task is left to miss its deadline, so a step that never ends (a bug, a
/// kernel call that hangs) is still caught. A step at the config's bounds
/// takes seconds on a debug build, ten times that in a TCG VM.
pub const WAIT_BOUND: Duration = Duration::from_secs(120);

/// What a supervised task keeps and checks in with.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    name: Arc<str>,
    pulse: Arc<Pulse>,
    tick: Duration,
}

impl Heartbeat {
    /// `deadline`: the task's; an idle task wakes every quarter of it.
    pub fn new(name: &str, pulse: Arc<Pulse>, deadline: Option<Duration>) -> Self {
        Heartbeat {
            name: name.into(),
            pulse,
            tick: deadline.map_or(Duration::from_secs(3600), |d| d / 4),
        }
    }

    /// A heartbeat no supervisor reads: for a task run on its own (tests,
    /// tools).
    pub fn detached(name: &str) -> Self {
        Heartbeat::new(name, Arc::new(Pulse::new(Instant::now())), None)
    }

    /// How often a task with nothing to do must still wake and check in.
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// A timer that fires every [`Heartbeat::tick`], for an idle task's
    /// `select!` (made once per task, not once per turn).
    pub fn ticker(&self) -> tokio::time::Interval {
        let start = tokio::time::Instant::now() + self.tick;
        let mut i = tokio::time::interval_at(start, self.tick);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    }

    /// The task ends as it should (say, a receive socket whose instances
    /// are all gone): its return is not a failure.
    pub fn retire(&self) {
        self.pulse.retired.store(true, Ordering::Relaxed);
    }

    /// The task's loop turned. Cheap: a clock read and an atomic store.
    /// In a `fault-hooks` build, this is where an injected fault happens.
    pub async fn check_in(&self) {
        self.pulse.beat_at(Instant::now());
        #[cfg(feature = "fault-hooks")]
        self.fault().await;
    }

    #[cfg(feature = "fault-hooks")]
    async fn fault(&self) {
        match self.pulse.take_fault() {
            None => {}
            Some(Fault::Panic) => panic!("fault hook: task {} told to panic", self.name),
            Some(Fault::Stall) => {
                tracing::warn!(task = %self.name, "fault hook: stalled for good");
                std::future::pending::<()>().await;
            }
            Some(Fault::End) => {
                tracing::warn!(task = %self.name, "fault hook: ending");
                self.pulse.end.notify_one();
                std::future::pending::<()>().await;
            }
            Some(Fault::Disconnect) => self.pulse.disconnect.store(true, Ordering::Relaxed),
        }
    }

    /// Whether a test asked this task to break its connection (a
    /// [`Fault::Disconnect`] taken at a check-in); asking clears it.
    #[cfg(feature = "fault-hooks")]
    pub fn disconnect_asked(&self) -> bool {
        self.pulse.disconnect.swap(false, Ordering::Relaxed)
    }

    /// `wait`, checking in on every tick while it is pending, for at most
    /// [`WAIT_BOUND`]: for a wait that is the task's work, not a stall (a
    /// step of its state on the blocking pool, room in the queue of a
    /// peer task busy with one). The peer answers for its own liveness.
    pub async fn waiting<F: std::future::Future>(&self, wait: F) -> F::Output {
        self.waiting_at_most(wait, WAIT_BOUND).await
    }

    async fn waiting_at_most<F: std::future::Future>(&self, wait: F, bound: Duration) -> F::Output {
        let until = tokio::time::Instant::now() + bound;
        let mut tick = self.ticker();
        tokio::pin!(wait);
        loop {
            tokio::select! {
                biased;
                out = &mut wait => return out,
                _ = tick.tick(), if tokio::time::Instant::now() < until => self.check_in().await,
            }
        }
    }

    /// The task's name, as registered.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
#[path = "heartbeat_tests.rs"]
mod tests;
