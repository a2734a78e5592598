//! Starting the watchdog task, what it asks the supervisor, and the one
//! place that disarms it.
//!
//! Owns: which hardware watchdog this process opens (`watchdog::wanted`:
//! only on the appliance), the supervisor as a [`watchdog::Liveness`], the
//! "last reset by the watchdog" notice (the `notify_reset` script and the
//! mail), and [`Watchdogs::disarm`], called on a deliberate stop only.
//! Must not: pet or decide anything (the watchdog module does), or disarm
//! on a failure, an exec or a panic: dropping [`Watchdogs`] leaves the
//! hardware armed.
//!
//! The task is spawned with `tokio::spawn`, not through the supervisor: it
//! is what watches the supervisor. If it stopped, pets would stop and both
//! watchdogs would act, which is the right outcome for a process that lost
//! its watchdog task.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::supervisor::{Late, Supervisor};
use crate::appliance::Mode;
use crate::config::model::{Config, Notify};
use crate::notify::{self, Notifier};
use crate::watchdog::{self, start, Armed, Liveness, Setup, Status};

/// How long a deliberate stop waits for the task to disarm.
const DISARM_BOUND: Duration = Duration::from_secs(2);

impl Liveness for Supervisor {
    type Late = Late;
    fn ask(&mut self) -> impl Future<Output = Option<Result<(), Vec<Late>>>> + Send {
        let sup = self.clone();
        async move { sup.liveness().await }
    }
}

/// The running watchdog task.
pub(super) struct Watchdogs {
    pub status: watch::Receiver<Status>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts the watchdog task: the hardware one on the appliance (opened in
/// the task, retried while its driver loads; nothing waits for it), and
/// systemd's when `WATCHDOG_USEC` names this process.
pub(super) fn start(
    config: &Config,
    mode: Mode,
    sup: &Supervisor,
    notifier: &Notifier,
) -> Watchdogs {
    let wanted = watchdog::wanted(
        config.appliance.as_ref(),
        opens_hardware(mode, config.appliance.is_some()),
    );
    if wanted.is_none() {
        tracing::info!("not the appliance: the hardware watchdog is left alone");
    }
    let service = start::service();
    let (tx, rx) = watch::channel(Status::new(wanted.as_ref(), service.map(|s| s.timeout)));
    let script = wanted.as_ref().and_then(|w| w.notify_reset.clone());
    let notifier = notifier.clone();
    let setup = Setup {
        hardware: wanted.map(|cfg| move || start::attempt(&cfg)),
        service: service.map(|s| Box::new(s) as Box<dyn watchdog::Device>),
        status: tx,
        on_reset: Box::new(move |armed: &Armed| notifier.notify(reset_event(armed, script))),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(watchdog::run(setup, sup.clone(), async move {
        let _ = stopped.await;
    }));
    Watchdogs {
        status: rx,
        stop,
        task,
    }
}

/// Whether this process opens the hardware watchdog: on the box always;
/// on a drop-in asked to apply the block, when there is one (as the rest
/// of the set-up); never otherwise.
fn opens_hardware(mode: Mode, has_block: bool) -> bool {
    match mode {
        Mode::Box => true,
        Mode::Asked => has_block,
        Mode::Off => false,
    }
}

/// The notice of a box reset by its watchdog: `notify_reset` with
/// `WATCHDOG <device> RESET`, and the mail when `smtp_server` and
/// `notification_email` are set.
fn reset_event(armed: &Armed, script: Option<crate::config::model::Script>) -> notify::Event {
    notify::Event {
        kind: notify::EventKind::Watchdog,
        name: armed.device.display().to_string(),
        state: notify::State::Reset,
        priority: 0,
        scripts: Notify {
            notify: script,
            ..Notify::default()
        },
        smtp_alert: true,
    }
}

impl Watchdogs {
    /// A deliberate stop: the task disarms every watchdog (the magic
    /// close) and says so. Bounded.
    pub(super) async fn disarm(self) {
        let _ = self.stop.send(());
        if tokio::time::timeout(DISARM_BOUND, self.task).await.is_err() {
            tracing::error!("the watchdog task did not disarm in {DISARM_BOUND:?}");
        }
    }
}

#[cfg(test)]
#[path = "watchdogs_tests.rs"]
mod tests;
