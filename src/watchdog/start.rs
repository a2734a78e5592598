//! The watchdogs this process has, found once at start and said once.
//!
//! Owns: turning what opening the device and reading systemd's
//! environment gave into the list [`super::task::run`] pets and the typed
//! state `vigil status` will show, and the log lines of that start (the
//! boot status among them). Must not: open or read anything itself in
//! [`found`] (the caller passes the results, so the tests pass theirs).

use std::path::PathBuf;
use std::time::Duration;

use super::device::{Hardware, Opened};
use super::systemd::{self, EnvError, Service};
use super::{BootStatus, Device, Error};
use crate::config::model::{Appliance, Watchdog as WatchdogConfig};

/// The hardware watchdog as the box has it.
#[derive(Debug)]
pub enum HardwareState {
    /// Open and petted by vigil.
    Armed {
        device: PathBuf,
        identity: String,
        timeout: Duration,
        boot: BootStatus,
    },
    /// No such device: a drop-in host, or a board without one.
    Absent { device: PathBuf },
    /// There, but vigil cannot drive it; it runs without it.
    Failed(Error),
    /// Not the appliance (a drop-in host): not opened ([`wanted`]).
    Unused,
}

/// What [`open`] found.
#[derive(Debug)]
pub struct Found {
    /// What [`super::task::run`] pets: the hardware watchdog, then
    /// systemd's; empty when there is neither.
    pub devices: Vec<Box<dyn Device>>,
    pub hardware: HardwareState,
    /// systemd's `WatchdogSec`, when it watches this process.
    pub systemd: Option<Duration>,
}

impl Found {
    /// The hardware's word on the last reset; `None` without a device.
    pub fn boot(&self) -> Option<BootStatus> {
        match self.hardware {
            HardwareState::Armed { boot, .. } => Some(boot),
            _ => None,
        }
    }
}

/// The hardware watchdog to open: the `appliance` block's (or the
/// default, `/dev/watchdog` with 10 s) on the appliance (`--store`, or a
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

/// Opens the device [`wanted`] names (`None`: leaves the hardware alone)
/// and reads systemd's watchdog settings, saying in the log what there is
/// (once: call it once per process).
pub fn open(hardware: Option<&WatchdogConfig>) -> Found {
    found(hardware.map(Hardware::open), systemd::watchdog_from_env())
}

/// [`open`] on results the caller already has; `hardware` is `None` when
/// none is wanted.
pub fn found(
    hardware: Option<Result<Opened, Error>>,
    service: Result<Option<Service>, EnvError>,
) -> Found {
    let mut devices: Vec<Box<dyn Device>> = Vec::new();
    let hardware = match hardware {
        None => {
            tracing::info!("not the appliance: the hardware watchdog is left alone");
            HardwareState::Unused
        }
        Some(Ok(Opened::Armed(hw))) => {
            let state = armed(&hw);
            devices.push(Box::new(hw));
            state
        }
        Some(Ok(Opened::Absent { device })) => {
            tracing::warn!(device = %device.display(), "no watchdog device: running without one");
            HardwareState::Absent { device }
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "running without the hardware watchdog");
            HardwareState::Failed(e)
        }
    };
    let systemd = match service {
        Ok(Some(s)) => {
            tracing::info!(device = %"systemd", timeout = ?s.timeout, "systemd watches vigil (WatchdogSec)");
            devices.push(Box::new(s));
            Some(s.timeout)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(device = %"systemd", error = %e, "systemd's watchdog is not petted");
            None
        }
    };
    Found {
        devices,
        hardware,
        systemd,
    }
}

/// The state of an open device, with its lines in the log.
fn armed(hw: &Hardware) -> HardwareState {
    let info = hw.info();
    let device = hw.path().display().to_string();
    tracing::info!(
        device = %device,
        identity = %info.identity,
        timeout = ?info.timeout,
        "watchdog armed"
    );
    if !info.timeout_set {
        tracing::warn!(device = %device, timeout = ?info.timeout,
            "the driver cannot set the timeout: it keeps its own");
    }
    if info.closes_unarmed() {
        tracing::warn!(device = %device, "the driver has no magic close: a crash disarms it");
    }
    if info.boot.reset_by_watchdog() {
        tracing::warn!(device = %device, "{}", info.boot);
    } else {
        tracing::info!(device = %device, "{}", info.boot);
    }
    HardwareState::Armed {
        device: hw.path().to_owned(),
        identity: info.identity.clone(),
        timeout: info.timeout,
        boot: info.boot,
    }
}

#[cfg(test)]
#[path = "start_tests.rs"]
mod tests;
