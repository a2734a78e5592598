//! The box's watchdogs: the hardware one (`/dev/watchdog`) and systemd's
//! (`WatchdogSec=`), each petted on its own signal from one liveness query.
//!
//! Owns: opening the device the config's `watchdog` block names and its
//! ioctls ([`device`]), what there is to pet and what it says at start
//! ([`start`]: which device, whether it is there, the boot status, the
//! state `vigil status` shows), the pet policy ([`machine::Machine`],
//! sans-IO), the task that drives both and retries opening a device whose
//! driver loads late ([`task::run`]), the boot status ("last reset by the
//! watchdog", [`BootStatus`]), and the service manager's notify protocol
//! ([`systemd`]). Must not: decide which task is alive (the supervisor's
//! answer to [`Liveness::ask`] says; the daemon implements it, so this
//! module knows nothing of the daemon), build `vigil status` (the control
//! module maps [`Status`] into its own types), or disarm a watchdog on any
//! path but a deliberate stop.
//!
//! ```text
//!   Liveness::ask() (bounded: QUERY_BOUND) --Alive / Late / Silent--> [task::run]
//!                                                   | machine::Machine       |
//!      answered in time ------------------------------------------------+    |
//!      and every task within its deadline (withheld for good once not) |    |
//!                                                   v                  v
//!                        device::Hardware: WDIOC_KEEPALIVE      systemd::Service: WATCHDOG=1
//!   shutdown (a deliberate stop) --> magic close ('V', close): disarmed
//!   crash / exec / abort / exit   --> plain close by the kernel: stays armed
//! ```
//!
//! Two signals (see [`machine`] for why): systemd's watchdog follows "the
//! runtime answers", so a frozen vigil is restarted by systemd within
//! `WatchdogSec` (5 s in the unit); the hardware follows "every task within
//! its deadline", so a stalled task resets the box: the reset comes at
//! most `deadline + interval + timeout` after a task stalls (the
//! supervisor's deadline, one pet interval, then the hardware timeout,
//! 20 s by default). The unit's `WatchdogSec` is shorter than the hardware
//! timeout with room for systemd's kill, its restart and the new process
//! opening the device (the arithmetic is in the unit file), so a hung
//! vigil is restarted, not reset; the hardware catches what systemd
//! cannot (a hung kernel, a hung systemd, a stalled task).
//!
//! The device is opened close-on-exec (std's default): the exec of a
//! hitless restart closes it without the magic character, so it stays
//! armed and the new image opens it again within seconds. A driver that
//! loads after vigil starts is waited for ([`start::OPEN_PATIENCE`])
//! without delaying anything else.

pub mod device;
pub mod machine;
pub mod start;
pub mod systemd;
pub mod task;

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub use device::{Hardware, Info};
pub use start::{wanted, Armed, Attempt, HardwareState, Pets, Status};
pub use task::{run, Setup, QUERY_BOUND};

/// Which signal a watchdog follows (see [`machine`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follows {
    /// The runtime answers the liveness query in time (systemd's).
    Runtime,
    /// Every supervised task is within its deadline (the hardware).
    Tasks,
}

/// The supervisor, as the watchdog task sees it: one query, "is every
/// task alive within its deadline, and if not, who is late?". `None`: it
/// cannot answer (gone). The task bounds the wait itself.
pub trait Liveness: Send {
    /// A late task, as the log names it.
    type Late: fmt::Display + Send;
    fn ask(&mut self) -> impl Future<Output = Option<Result<(), Vec<Self::Late>>>> + Send;
}

/// Something that resets the box (or restarts vigil) unless it is petted
/// in time: the hardware watchdog, or systemd's service watchdog.
pub trait Device: Send + fmt::Debug {
    /// What the log calls it: the device path, or "systemd".
    fn name(&self) -> String;
    /// How long it waits for a pet before it acts.
    fn timeout(&self) -> Duration;
    /// Which signal it is petted on.
    fn follows(&self) -> Follows;
    /// One pet.
    fn keepalive(&mut self) -> Result<(), Error>;
    /// A deliberate stop: it will not act any more (the hardware's magic
    /// close). Dropping a device instead leaves it armed.
    fn disarm(self: Box<Self>) -> Result<(), Error>;
}

/// The watchdog ioctls vigil uses (linux/watchdog.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ioctl {
    GetSupport,
    SetTimeout,
    GetTimeout,
    Keepalive,
    GetBootStatus,
}

impl fmt::Display for Ioctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ioctl::GetSupport => "WDIOC_GETSUPPORT",
            Ioctl::SetTimeout => "WDIOC_SETTIMEOUT",
            Ioctl::GetTimeout => "WDIOC_GETTIMEOUT",
            Ioctl::Keepalive => "WDIOC_KEEPALIVE",
            Ioctl::GetBootStatus => "WDIOC_GETBOOTSTATUS",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open watchdog {}: {source}", device.display())]
    Open { device: PathBuf, source: io::Error },
    #[error("watchdog {}: {ioctl} failed: {source}", device.display())]
    Ioctl {
        device: PathBuf,
        ioctl: Ioctl,
        source: nix::errno::Errno,
    },
    #[error("watchdog {}: magic close failed: {source}", device.display())]
    MagicClose { device: PathBuf, source: io::Error },
    #[error("systemd notify: {source}")]
    Notify { source: io::Error },
}

/// WDIOF_* bits of linux/watchdog.h that say why the box last reset.
pub mod flags {
    pub const OVERHEAT: u32 = 0x0001;
    pub const FANFAULT: u32 = 0x0002;
    pub const EXTERN1: u32 = 0x0004;
    pub const EXTERN2: u32 = 0x0008;
    pub const POWERUNDER: u32 = 0x0010;
    /// "Card previously reset the CPU": the last reset was the watchdog's.
    pub const CARDRESET: u32 = 0x0020;
    pub const POWEROVER: u32 = 0x0040;
    /// The timeout can be set (WDIOC_SETTIMEOUT).
    pub const SETTIMEOUT: u32 = 0x0080;
    /// Writing 'V' before close stops it; without this bit a plain close
    /// stops it too.
    pub const MAGICCLOSE: u32 = 0x0100;
}

/// What the device said about the last reset (WDIOC_GETBOOTSTATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootStatus {
    flags: u32,
}

/// The boot-status bits worth a word, with the word.
const CAUSES: [(u32, &str); 6] = [
    (flags::OVERHEAT, "overheat"),
    (flags::FANFAULT, "fan fault"),
    (flags::EXTERN1, "external relay 1"),
    (flags::EXTERN2, "external relay 2"),
    (flags::POWERUNDER, "power under voltage"),
    (flags::POWEROVER, "power over voltage"),
];

impl BootStatus {
    pub fn from_flags(flags: u32) -> BootStatus {
        BootStatus { flags }
    }

    pub fn flags(self) -> u32 {
        self.flags
    }

    /// The box was last reset by its watchdog (WDIOF_CARDRESET).
    pub fn reset_by_watchdog(self) -> bool {
        self.flags & flags::CARDRESET != 0
    }

    /// Other causes the driver reports (overheat, power, ...), as words.
    pub fn causes(self) -> impl Iterator<Item = &'static str> {
        CAUSES
            .into_iter()
            .filter(move |(bit, _)| self.flags & bit != 0)
            .map(|(_, word)| word)
    }
}

/// "last reset by the watchdog" or "last reset not by the watchdog", with
/// any other cause the driver reports in brackets.
impl fmt::Display for BootStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reset_by_watchdog() {
            f.write_str("last reset by the watchdog")?;
        } else {
            f.write_str("last reset not by the watchdog")?;
        }
        let causes: Vec<&str> = self.causes().collect();
        if !causes.is_empty() {
            write!(f, " ({})", causes.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
