//! The watchdog task: opens the hardware watchdog (waiting for a driver
//! that loads late), asks the supervisor at each pet interval whether the
//! runtime and every task are alive, and pets, withholds or (on a
//! deliberate stop) disarms the watchdogs as [`Machine`] says.
//!
//! Owns: the timers (pets, open retries), the bound on the liveness query
//! ([`QUERY_BOUND`]), the log lines of the watchdogs (one per withhold, one
//! per device that starts or stops failing, one when the supervisor does
//! not answer), the published [`Status`], and which watchdogs it holds.
//! Must not: spawn (the daemon spawns [`run`]), block (a pet is one ioctl
//! or one datagram; an open is one open and four ioctls), or disarm on any
//! path but `shutdown`: when the future is dropped (the daemon exits on a
//! failure, execs, aborts or panics), the devices are dropped, which leaves
//! the hardware armed.

use std::future::Future;
use std::time::Instant;

use tokio::sync::watch;

use super::machine::{pet_interval, Action, Answer, Machine, Pets as Due};
use super::start::{self, Armed, Attempt, HardwareState, Pets, Status, OPEN_PATIENCE, OPEN_RETRY};
use super::{Device, Follows, Liveness};

/// How long the supervisor has to answer a liveness query. No answer in
/// time is as bad as a late task for this round: nothing is petted. A
/// second on a current-thread runtime is a long time: every blocking call
/// runs elsewhere, so only a blocked runtime or a stuck supervisor takes
/// that long. It stays well under the pet interval (5 s / 3 with the
/// unit's `WatchdogSec=5s`), so a slow answer delays a pet, never skips one.
pub const QUERY_BOUND: std::time::Duration = std::time::Duration::from_secs(1);

/// The clock: tokio's, so paused-time tests drive it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Called once when the box was last reset by its watchdog.
pub type OnReset = Box<dyn FnOnce(&Armed) + Send>;

/// What the task starts with.
pub struct Setup<O> {
    /// One attempt at opening the hardware watchdog ([`start::attempt`]);
    /// `None`: not the appliance, the hardware is left alone.
    pub hardware: Option<O>,
    /// systemd's watchdog, when it watches this process.
    pub service: Option<Box<dyn Device>>,
    /// Where the state goes, for `vigil status` and the status line.
    pub status: watch::Sender<Status>,
    /// Called once when the opened device says the box was last reset by
    /// its watchdog (the daemon runs the notify script and the mail).
    pub on_reset: OnReset,
}

/// A watchdog with whether its last pet failed (said once per streak).
struct Held {
    device: Box<dyn Device>,
    failing: bool,
}

impl Held {
    fn new(device: Box<dyn Device>) -> Held {
        Held {
            device,
            failing: false,
        }
    }

    fn pet(&mut self) {
        match self.device.keepalive() {
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!(device = %self.device.name(), "watchdog pets again");
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::error!(device = %self.device.name(), error = %e, "watchdog not petted");
            }
            Err(_) => {}
        }
    }

    fn disarm(self) {
        let name = self.device.name();
        match self.device.disarm() {
            Ok(()) => tracing::info!(device = %name, "watchdog disarmed (deliberate stop)"),
            Err(e) => tracing::error!(
                device = %name,
                error = %e,
                "watchdog not disarmed: it may still reset the box"
            ),
        }
    }
}

/// The hardware device being waited for.
struct Opening<O> {
    open: O,
    next: Instant,
    give_up: Instant,
}

/// Runs until `shutdown` completes (a deliberate stop: every device is
/// disarmed, and the status says so). Meanwhile: opens the hardware
/// watchdog (tried every [`OPEN_RETRY`] until [`OPEN_PATIENCE`], then said
/// once), and at each [`pet_interval`] of the held devices' timeouts asks
/// `liveness` (bounded by [`QUERY_BOUND`]) and pets as [`Machine`] says.
pub async fn run<O, Q>(setup: Setup<O>, mut liveness: Q, shutdown: impl Future<Output = ()>)
where
    O: FnMut() -> Attempt,
    Q: Liveness,
{
    let t0 = now();
    let Setup {
        hardware,
        service,
        status,
        on_reset,
    } = setup;
    let mut on_reset = Some(on_reset);
    // The late tasks that withheld the hardware's pets, if any did.
    let mut withheld: Option<Vec<String>> = None;
    let mut opening = hardware.map(|open| Opening {
        open,
        next: t0,
        give_up: t0 + OPEN_PATIENCE,
    });
    let mut held: Vec<Held> = service.into_iter().map(Held::new).collect();
    let mut machine = pet_interval(held.iter().map(|h| h.device.timeout()))
        .map(|interval| Machine::new(t0, interval));
    tokio::pin!(shutdown);
    loop {
        let due = [
            machine.as_ref().and_then(Machine::poll_timeout),
            opening.as_ref().map(|o| o.next),
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            // A stop due with a pet wins: the stop disarms.
            biased;
            () = &mut shutdown => break,
            () = sleep_until(due) => {}
        }
        let t = now();
        if let Some(o) = opening.as_mut().filter(|o| o.next <= t) {
            match try_open(o, t, &status, &mut on_reset, withheld.as_ref()) {
                None => {}
                Some(None) => opening = None,
                Some(Some(device)) => {
                    opening = None;
                    held.push(Held::new(device));
                    let interval = pet_interval(held.iter().map(|h| h.device.timeout()));
                    match (&mut machine, interval) {
                        (Some(m), Some(i)) => m.joined(t, i),
                        (None, Some(i)) => machine = Some(Machine::new(t, i)),
                        _ => {}
                    }
                }
            }
        }
        if let Some(m) = machine
            .as_mut()
            .filter(|m| m.poll_timeout().is_some_and(|d| d <= t))
        {
            let answer = ask(&mut liveness).await;
            match m.handle_timeout(now(), answer) {
                Action::Pet(due) => pet(&mut held, due),
                Action::Withhold(late) => {
                    withheld = Some(withhold(&mut held, &late, &status));
                }
                Action::Silent => tracing::error!(
                    "the supervisor did not answer the liveness query in {QUERY_BOUND:?}: no pet"
                ),
                Action::Wait => {}
            }
        }
    }
    if let Some(m) = machine.as_mut() {
        m.stop();
    }
    status.send_modify(|s| {
        if let HardwareState::Armed { pets, .. } = &mut s.hardware {
            *pets = Pets::Disarmed;
        }
    });
    held.into_iter().for_each(Held::disarm);
}

/// One attempt: `None` to try again later, `Some(None)` when vigil runs
/// without the hardware, `Some(Some(device))` when it is armed.
fn try_open<O: FnMut() -> Attempt>(
    o: &mut Opening<O>,
    t: Instant,
    status: &watch::Sender<Status>,
    on_reset: &mut Option<OnReset>,
    withheld: Option<&Vec<String>>,
) -> Option<Option<Box<dyn Device>>> {
    let attempt = (o.open)();
    if !matches!(attempt, Attempt::Armed(..)) && t < o.give_up {
        o.next = t + OPEN_RETRY;
        return None;
    }
    let mut state = start::said(&attempt);
    if let (HardwareState::Armed { pets, .. }, Some(late)) = (&mut state, withheld) {
        // A task was late before the device opened: it is never petted.
        *pets = Pets::Withheld { late: late.clone() };
    }
    status.send_modify(|s| s.hardware = state);
    match attempt {
        Attempt::Armed(device, armed) => {
            if armed.boot.reset_by_watchdog() {
                if let Some(f) = on_reset.take() {
                    f(&armed);
                }
            }
            Some(Some(device))
        }
        Attempt::Absent { .. } | Attempt::Failed(_) => Some(None),
    }
}

/// The supervisor's answer, or [`Answer::Silent`] when it takes longer
/// than [`QUERY_BOUND`].
async fn ask<Q: Liveness>(q: &mut Q) -> Answer<Q::Late> {
    match tokio::time::timeout(QUERY_BOUND, q.ask()).await {
        Ok(a) => a.into(),
        Err(_) => Answer::Silent,
    }
}

fn pet(held: &mut [Held], due: Due) {
    for h in held {
        let go = match h.device.follows() {
            Follows::Runtime => due.runtime,
            Follows::Tasks => due.tasks,
        };
        if go {
            h.pet();
        }
    }
}

/// Logs the late tasks, stops the hardware's pets for good (the status
/// says so) and pets the runtime's watchdogs: the runtime answered.
/// Returns the late tasks as the status names them.
fn withhold<L: std::fmt::Display>(
    held: &mut [Held],
    late: &[L],
    status: &watch::Sender<Status>,
) -> Vec<String> {
    let late: Vec<String> = late.iter().map(ToString::to_string).collect();
    let hardware: Vec<String> = held
        .iter()
        .filter(|h| h.device.follows() == Follows::Tasks)
        .map(|h| h.device.name())
        .collect();
    if hardware.is_empty() {
        tracing::warn!(task = %late.join(", "),
            "tasks are late; no hardware watchdog: the supervisor's restart is the remedy");
    } else {
        tracing::error!(
            task = %late.join(", "),
            device = %hardware.join(", "),
            "tasks are late: pets stop, the watchdog will reset the box"
        );
    }
    status.send_modify(|s| {
        if let HardwareState::Armed { pets, .. } = &mut s.hardware {
            *pets = Pets::Withheld { late: late.clone() };
        }
    });
    pet(
        held,
        Due {
            runtime: true,
            tasks: false,
        },
    );
    late
}

/// Sleeps until `due`; for ever when there is nothing due.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
