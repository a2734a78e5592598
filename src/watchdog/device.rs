//! The hardware watchdog's edge: the character device and its ioctls.
//!
//! Owns: opening the device (close-on-exec), the WDIOC_* request numbers
//! and calls, and the two ways to let go of it: [`Hardware::disarm`]
//! (the magic close, 'V' then close) for a deliberate stop only, and a
//! plain close (drop, exit, crash, exec) that leaves it armed. Must not:
//! decide when to pet (the machine does) or log (the caller says what an
//! [`Opened`] or an error means).
//!
//! A driver without WDIOF_MAGICCLOSE stops on any close, so there a crash
//! disarms too; a driver or kernel built with `nowayout` never stops, so
//! there a deliberate stop is followed by a reset. [`Info`] carries the
//! options so the caller can say which case it is.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem::size_of;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::ioctl::ioctl_num_type;

use super::{flags, BootStatus, Device, Error, Follows, Ioctl};
use crate::config::model::Watchdog as WatchdogConfig;

/// `struct watchdog_info` of linux/watchdog.h.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchdogInfo {
    pub options: u32,
    pub firmware_version: u32,
    pub identity: [u8; 32],
}

const WATCHDOG_IOCTL_BASE: u8 = b'W';
/// The `int` of the header's `_IOR(.., int)`.
type CInt = nix::libc::c_int;

// The request numbers (`_IOR` / `_IOWR` of linux/watchdog.h), each
// named once and tested against the header's values.
pub const WDIOC_GETSUPPORT: ioctl_num_type =
    nix::request_code_read!(WATCHDOG_IOCTL_BASE, 0, size_of::<WatchdogInfo>());
pub const WDIOC_GETBOOTSTATUS: ioctl_num_type =
    nix::request_code_read!(WATCHDOG_IOCTL_BASE, 2, size_of::<CInt>());
pub const WDIOC_KEEPALIVE: ioctl_num_type =
    nix::request_code_read!(WATCHDOG_IOCTL_BASE, 5, size_of::<CInt>());
pub const WDIOC_SETTIMEOUT: ioctl_num_type =
    nix::request_code_readwrite!(WATCHDOG_IOCTL_BASE, 6, size_of::<CInt>());
pub const WDIOC_GETTIMEOUT: ioctl_num_type =
    nix::request_code_read!(WATCHDOG_IOCTL_BASE, 7, size_of::<CInt>());

/// The calls, on exactly the numbers above (the `_bad` forms take a
/// number rather than encoding their own, so the test of the numbers is
/// a test of the calls).
mod raw {
    use super::*;
    nix::ioctl_read_bad!(wdioc_getsupport, WDIOC_GETSUPPORT, WatchdogInfo);
    nix::ioctl_read_bad!(wdioc_getbootstatus, WDIOC_GETBOOTSTATUS, CInt);
    nix::ioctl_read_bad!(wdioc_keepalive, WDIOC_KEEPALIVE, CInt);
    nix::ioctl_readwrite_bad!(wdioc_settimeout, WDIOC_SETTIMEOUT, CInt);
    nix::ioctl_read_bad!(wdioc_gettimeout, WDIOC_GETTIMEOUT, CInt);
}
use raw::*;

/// What the device said when it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The driver's name for itself ("i6300ESB timer", "Software Watchdog").
    pub identity: String,
    pub firmware_version: u32,
    /// WDIOF_* capabilities ([`super::flags`]).
    pub options: u32,
    /// The timeout the device runs with (the driver may round the
    /// configured one, or not let it be set at all).
    pub timeout: Duration,
    /// Whether the configured timeout was set (the driver has
    /// WDIOF_SETTIMEOUT).
    pub timeout_set: bool,
    pub boot: BootStatus,
}

impl Info {
    /// A close without the magic character stops this device too: a crash
    /// disarms it (say so once).
    pub fn closes_unarmed(&self) -> bool {
        self.options & flags::MAGICCLOSE == 0
    }
}

/// The outcome of [`Hardware::open`].
#[derive(Debug)]
pub enum Opened {
    /// Open and running: the kernel pets it no more, vigil must.
    Armed(Hardware),
    /// The box has no watchdog at that path (ENOENT, or ENODEV: a node
    /// without a driver). A drop-in host or a board without one: say so
    /// once and run on.
    Absent { device: PathBuf },
}

/// The open hardware watchdog.
#[derive(Debug)]
pub struct Hardware {
    file: File,
    path: PathBuf,
    info: Info,
}

impl Hardware {
    /// Opens the configured device (which arms it), sets its timeout when
    /// the driver allows, and reads what it is and why the box last reset.
    /// A failing ioctl disarms the device again before the error returns,
    /// so a device vigil cannot drive does not reset the box.
    pub fn open(cfg: &WatchdogConfig) -> Result<Opened, Error> {
        let path = PathBuf::from(&cfg.device);
        let file = match OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if is_absent(&e) => return Ok(Opened::Absent { device: path }),
            Err(source) => {
                return Err(Error::Open {
                    device: path,
                    source,
                })
            }
        };
        match read_info(&file, &path, cfg.timeout) {
            Ok(info) => Ok(Opened::Armed(Hardware { file, path, info })),
            Err(e) => {
                let _ = magic_close(file, &path);
                Err(e)
            }
        }
    }

    /// A "device" on any open file, for tests of what holds one.
    #[cfg(test)]
    pub(crate) fn from_parts(file: File, path: PathBuf, info: Info) -> Hardware {
        Hardware { file, path, info }
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Device for Hardware {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn timeout(&self) -> Duration {
        self.info.timeout
    }

    fn follows(&self) -> Follows {
        Follows::Tasks
    }

    fn keepalive(&mut self) -> Result<(), Error> {
        let mut unused: CInt = 0;
        // SAFETY: the fd is open for the life of `self`; the kernel ignores
        // the argument, which points at a live int.
        unsafe { wdioc_keepalive(self.file.as_raw_fd(), &mut unused) }
            .map(drop)
            .map_err(|e| ioctl_error(&self.path, Ioctl::Keepalive, e))
    }

    fn disarm(self: Box<Self>) -> Result<(), Error> {
        magic_close(self.file, &self.path)
    }
}

/// ENOENT: no such node; ENODEV / ENXIO: a node without a driver.
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::ENOENT | Errno::ENODEV | Errno::ENXIO)
    )
}

fn read_info(file: &File, path: &Path, timeout_s: u32) -> Result<Info, Error> {
    let fd = file.as_raw_fd();
    let mut wi = WatchdogInfo::default();
    // The four ioctls below share one reason: `fd` is open while `file`
    // lives, and each pointer is to a live value of the type the request
    // number encodes, which the kernel reads or writes only during the call.
    // SAFETY: as above; `wi` is a `WatchdogInfo` (struct watchdog_info).
    unsafe { wdioc_getsupport(fd, &mut wi) }
        .map_err(|e| ioctl_error(path, Ioctl::GetSupport, e))?;
    let timeout_set = wi.options & flags::SETTIMEOUT != 0;
    if timeout_set {
        let mut t = CInt::try_from(timeout_s).unwrap_or(CInt::MAX);
        // SAFETY: as above; `t` is an int.
        unsafe { wdioc_settimeout(fd, &mut t) }
            .map_err(|e| ioctl_error(path, Ioctl::SetTimeout, e))?;
    }
    let mut t: CInt = 0;
    // SAFETY: as above; `t` is an int.
    unsafe { wdioc_gettimeout(fd, &mut t) }.map_err(|e| ioctl_error(path, Ioctl::GetTimeout, e))?;
    let mut boot: CInt = 0;
    // SAFETY: as above; `boot` is an int.
    unsafe { wdioc_getbootstatus(fd, &mut boot) }
        .map_err(|e| ioctl_error(path, Ioctl::GetBootStatus, e))?;
    Ok(Info {
        identity: identity(&wi.identity),
        firmware_version: wi.firmware_version,
        options: wi.options,
        // A driver that reports no timeout runs with the configured one.
        timeout: Duration::from_secs(match u64::try_from(t) {
            Ok(t) if t > 0 => t,
            _ => u64::from(timeout_s),
        }),
        timeout_set,
        // The bits are flags: reinterpret, do not convert.
        boot: BootStatus::from_flags(boot as u32),
    })
}

/// The NUL-padded identity as text.
pub(crate) fn identity(raw: &[u8; 32]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// 'V' then close: the driver stops the timer.
fn magic_close(mut file: File, path: &Path) -> Result<(), Error> {
    file.write_all(b"V").map_err(|source| Error::MagicClose {
        device: path.to_owned(),
        source,
    })
}

fn ioctl_error(path: &Path, ioctl: Ioctl, source: Errno) -> Error {
    Error::Ioctl {
        device: path.to_owned(),
        ioctl,
        source,
    }
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
