//! The watchdogs this process has: which hardware device to open, one
//! attempt at opening it, systemd's from the environment, what each
//! outcome says in the log (once), and the state `vigil status` shows.
//!
//! Owns: [`wanted`] (only the appliance opens the hardware), [`attempt`]
//! (one open, as an [`Attempt`] the task can retry), [`service`], the log
//! lines of what was found ([`said`], the boot status among them), and the
//! published [`Status`]. Must not: retry or pet (the task does), or render
//! text for `vigil status` (the control module maps [`Status`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::device::{Hardware, Opened};
use super::systemd::{self, EnvError, Service};
use super::{BootStatus, Device, Error};
use crate::config::model::{Appliance, Watchdog as WatchdogConfig};

/// How often a device that is not there yet is tried again.
pub const OPEN_RETRY: Duration = Duration::from_secs(1);
/// How long a device is waited for before vigil says it runs without one:
/// a driver built as a module (the lab's i6300esb) may load after vigil
/// starts. Nothing else waits for it.
pub const OPEN_PATIENCE: Duration = Duration::from_secs(30);

/// The hardware watchdog to open: the `appliance` block's (or the
/// default, `/dev/watchdog` with 20 s) on the appliance (`--store`, or a
/// drop-in asked to act as one); none on a drop-in host, whatever its
/// config says, since an armed watchdog would reset a host whose vigil
/// stops without the magic close. systemd's watchdog is separate: the
/// unit's `WatchdogSec=` alone turns it on.
pub fn wanted(appliance: Option<&Appliance>, on_appliance: bool) -> Option<WatchdogConfig> {
    if !on_appliance {
        return None;
    }
    Some(appliance.map(|a| a.watchdog.clone()).unwrap_or_default())
}

/// What an open device is, for the status and the boot-reset notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armed {
    pub device: PathBuf,
    /// The driver's name for itself ("i6300ESB timer").
    pub identity: String,
    /// The timeout it runs with.
    pub timeout: Duration,
    /// Whether the configured timeout could be set.
    pub timeout_set: bool,
    /// A plain close stops it too (no WDIOF_MAGICCLOSE): a crash disarms.
    pub closes_unarmed: bool,
    pub boot: BootStatus,
}

/// One attempt at opening the hardware watchdog.
#[derive(Debug)]
pub enum Attempt {
    /// Open, armed, to be petted.
    Armed(Box<dyn Device>, Armed),
    /// No such device (yet).
    Absent { device: PathBuf },
    /// There, but vigil cannot open or drive it.
    Failed(Error),
}

/// Opens the device `cfg` names, once.
pub fn attempt(cfg: &WatchdogConfig) -> Attempt {
    match Hardware::open(cfg) {
        Ok(Opened::Armed(hw)) => {
            let info = hw.info();
            let armed = Armed {
                device: hw.path().to_owned(),
                identity: info.identity.clone(),
                timeout: info.timeout,
                timeout_set: info.timeout_set,
                closes_unarmed: info.closes_unarmed(),
                boot: info.boot,
            };
            Attempt::Armed(Box::new(hw), armed)
        }
        Ok(Opened::Absent { device }) => Attempt::Absent { device },
        Err(e) => Attempt::Failed(e),
    }
}

/// systemd's watchdog of this process (`WatchdogSec=`), said in the log.
pub fn service() -> Option<Service> {
    service_from(systemd::watchdog_from_env())
}

fn service_from(env: Result<Option<Service>, EnvError>) -> Option<Service> {
    match env {
        Ok(Some(s)) => {
            tracing::info!(timeout = ?s.timeout, "systemd watches vigil (WatchdogSec)");
            Some(s)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(device = %"systemd", error = %e, "systemd's watchdog is not petted");
            None
        }
    }
}

/// Whether the hardware's pets go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pets {
    Petting,
    /// Stopped for good because of these late tasks: the box resets.
    Withheld {
        late: Vec<String>,
    },
    /// Disarmed by a deliberate stop.
    Disarmed,
}

/// The hardware watchdog as `vigil status` shows it.
#[derive(Debug, Clone)]
pub enum HardwareState {
    /// Not the appliance (a drop-in host): not opened ([`wanted`]).
    Unused,
    /// Not there yet; tried again until [`OPEN_PATIENCE`] has passed.
    Opening { device: PathBuf },
    /// No such device: a drop-in asked to act as the appliance, or a board
    /// without one. vigil runs without it.
    Absent { device: PathBuf },
    /// There, but vigil cannot drive it; it runs without it.
    Failed(Arc<Error>),
    /// Open.
    Armed { armed: Armed, pets: Pets },
}

/// The watchdogs' state, published by the task.
#[derive(Debug, Clone)]
pub struct Status {
    pub hardware: HardwareState,
    /// systemd's `WatchdogSec`, when it watches this process.
    pub systemd: Option<Duration>,
}

impl Status {
    /// Before the task's first attempt.
    pub fn new(hardware: Option<&WatchdogConfig>, systemd: Option<Duration>) -> Status {
        let hardware = match hardware {
            None => HardwareState::Unused,
            Some(c) => HardwareState::Opening {
                device: PathBuf::from(&c.device),
            },
        };
        Status { hardware, systemd }
    }

    /// The hardware's word on the last reset; `None` without a device.
    pub fn boot(&self) -> Option<BootStatus> {
        match &self.hardware {
            HardwareState::Armed { armed, .. } => Some(armed.boot),
            _ => None,
        }
    }
}

/// Says in the log what a final attempt found (once per process), and
/// turns it into the state to publish.
pub fn said(attempt: &Attempt) -> HardwareState {
    match attempt {
        Attempt::Armed(_, armed) => {
            said_armed(armed);
            HardwareState::Armed {
                armed: armed.clone(),
                pets: Pets::Petting,
            }
        }
        Attempt::Absent { device } => {
            tracing::warn!(device = %device.display(), "no watchdog device: running without one");
            HardwareState::Absent {
                device: device.clone(),
            }
        }
        Attempt::Failed(e) => {
            tracing::error!(error = %e, "running without the hardware watchdog");
            HardwareState::Failed(Arc::new(clone_error(e)))
        }
    }
}

/// The error, kept for the status (io errors do not clone: their kind and
/// text do).
fn clone_error(e: &Error) -> Error {
    let io = |s: &std::io::Error| std::io::Error::new(s.kind(), s.to_string());
    match e {
        Error::Open { device, source } => Error::Open {
            device: device.clone(),
            source: io(source),
        },
        Error::Ioctl {
            device,
            ioctl,
            source,
        } => Error::Ioctl {
            device: device.clone(),
            ioctl: *ioctl,
            source: *source,
        },
        Error::MagicClose { device, source } => Error::MagicClose {
            device: device.clone(),
            source: io(source),
        },
        Error::Notify { source } => Error::Notify { source: io(source) },
    }
}

/// The lines of an open device.
fn said_armed(armed: &Armed) {
    let device = armed.device.display().to_string();
    tracing::info!(
        device = %device,
        identity = %armed.identity,
        timeout = ?armed.timeout,
        "watchdog armed"
    );
    if !armed.timeout_set {
        tracing::warn!(device = %device, timeout = ?armed.timeout,
            "the driver cannot set the timeout: it keeps its own");
    }
    if armed.closes_unarmed {
        tracing::warn!(device = %device, "the driver has no magic close: a crash disarms it");
    }
    if armed.boot.reset_by_watchdog() {
        tracing::warn!(device = %device, "{}", armed.boot);
    } else {
        tracing::info!(device = %device, "{}", armed.boot);
    }
}

#[cfg(test)]
#[path = "start_tests.rs"]
mod tests;
