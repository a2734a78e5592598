//! The watchdog task: asks the supervisor whether every task is alive at
//! each pet interval, and pets, withholds or (on a deliberate stop)
//! disarms the watchdogs as [`Machine`] says.
//!
//! Owns: the timer, the log lines of the watchdogs (one per withhold, one
//! per device that starts or stops failing), and which watchdogs it
//! holds. Must not: spawn (the daemon spawns [`run`]), block (a pet is one
//! ioctl or one datagram), or disarm on any path but `shutdown`: when the
//! future is dropped (the daemon aborts or panics), the devices are
//! dropped, which leaves the hardware armed.

use std::fmt;
use std::future::Future;
use std::time::Instant;

use super::machine::{pet_interval, Action, Machine};
use super::Device;

/// The clock: tokio's, so paused-time tests drive it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A watchdog with whether its last pet failed (said once per streak).
struct Held {
    device: Box<dyn Device>,
    failing: bool,
}

impl Held {
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

/// Pets `devices` every [`pet_interval`] of their timeouts while
/// `liveness(now)` is `Ok`; the first time it names late tasks, logs them
/// and pets no more. When `shutdown` completes (a deliberate stop), every
/// device is disarmed and `run` returns. Without a device, it only waits
/// for `shutdown`.
pub async fn run<L: fmt::Display>(
    devices: Vec<Box<dyn Device>>,
    mut liveness: impl FnMut(Instant) -> Result<(), Vec<L>>,
    shutdown: impl Future<Output = ()>,
) {
    let Some(interval) = pet_interval(devices.iter().map(|d| d.timeout())) else {
        shutdown.await;
        return;
    };
    let mut held: Vec<Held> = devices
        .into_iter()
        .map(|device| Held {
            device,
            failing: false,
        })
        .collect();
    let mut machine = Machine::new(now(), interval);
    tokio::pin!(shutdown);
    loop {
        let due = machine.poll_timeout();
        tokio::select! {
            () = &mut shutdown => break,
            () = sleep_until(due) => {
                let t = now();
                match machine.handle_timeout(t, liveness(t)) {
                    Action::Pet => held.iter_mut().for_each(Held::pet),
                    Action::Withhold(late) => withhold(&held, &late),
                    Action::Wait => {}
                }
            }
        }
    }
    machine.stop();
    held.into_iter().for_each(Held::disarm);
}

/// Sleeps until `due`; for ever when there is nothing due.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

fn withhold<L: fmt::Display>(held: &[Held], late: &[L]) {
    let late: Vec<String> = late.iter().map(ToString::to_string).collect();
    let watchdogs: Vec<String> = held.iter().map(|h| h.device.name()).collect();
    tracing::error!(
        task = %late.join(", "),
        device = %watchdogs.join(", "),
        "tasks are late: pets stop, the watchdog will act"
    );
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
