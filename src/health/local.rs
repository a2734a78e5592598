//! Local faults: a check that could not be made because of this box (out
//! of file descriptors, of socket buffers, of memory, of ephemeral ports)
//! says nothing about the real server.
//!
//! Owns: [`LocalError`] (which errno of a check's socket calls is the
//! box's, not the server's, and its word for status, logs and metrics)
//! and [`Quiet`], the rate limit of their log lines (one line per kind at
//! first, then at most one per [`QUIET_FOR`] with the count since the
//! last). Must not: do I/O, or decide a state (the scheduler keeps the
//! server's state and checks again at the next interval).
//!
//! The errnos: EMFILE and ENFILE (no descriptor for the socket: the
//! process's or the system's limit), ENOBUFS and ENOMEM (the kernel has no
//! memory for it), EADDRNOTAVAIL from connect (no free local port, or the
//! source address went away) and EAGAIN from connect (Linux's answer on a
//! full ephemeral port range for some socket kinds; for a MISC_CHECK
//! program that could not be started, the process limit). Not an errno:
//! a DR-path check whose service the IPVS task has not put in the kernel.

use std::io;

use nix::libc;
use std::time::{Duration, Instant};

/// How long after a log line of a kind the next one waits.
pub const QUIET_FOR: Duration = Duration::from_secs(60);

/// A check that failed because of this box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalError {
    Emfile,
    Enfile,
    Enobufs,
    Enomem,
    Eaddrnotavail,
    Eagain,
    /// A DR-path check whose path service is not in the kernel (yet): the
    /// check waits for the IPVS task rather than go astray (on a BACKUP,
    /// a packet to the VIP without it would reach the MASTER's service).
    DrPathNotReady,
}

impl LocalError {
    /// Every kind, in the order [`LocalError::index`] counts them.
    pub const ALL: [LocalError; 7] = [
        LocalError::Emfile,
        LocalError::Enfile,
        LocalError::Enobufs,
        LocalError::Enomem,
        LocalError::Eaddrnotavail,
        LocalError::Eagain,
        LocalError::DrPathNotReady,
    ];

    /// The local error of `e`, if it is one. `connect`: the error came
    /// from connecting (EADDRNOTAVAIL and EAGAIN mean no local port only
    /// there).
    pub fn of(e: &io::Error, connect: bool) -> Option<LocalError> {
        match e.raw_os_error()? {
            libc::EMFILE => Some(LocalError::Emfile),
            libc::ENFILE => Some(LocalError::Enfile),
            libc::ENOBUFS => Some(LocalError::Enobufs),
            libc::ENOMEM => Some(LocalError::Enomem),
            libc::EADDRNOTAVAIL if connect => Some(LocalError::Eaddrnotavail),
            libc::EAGAIN if connect => Some(LocalError::Eagain),
            _ => None,
        }
    }

    /// The local error of a program that could not be started (EAGAIN
    /// there: the process limit).
    pub fn of_spawn(e: &io::Error) -> Option<LocalError> {
        match e.raw_os_error()? {
            libc::EAGAIN => Some(LocalError::Eagain),
            _ => Self::of(e, false),
        }
    }

    /// Its position in [`LocalError::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The errno's name: the metric label and the log field.
    pub const fn word(self) -> &'static str {
        match self {
            LocalError::Emfile => "EMFILE",
            LocalError::Enfile => "ENFILE",
            LocalError::Enobufs => "ENOBUFS",
            LocalError::Enomem => "ENOMEM",
            LocalError::Eaddrnotavail => "EADDRNOTAVAIL",
            LocalError::Eagain => "EAGAIN",
            LocalError::DrPathNotReady => "DR_PATH_NOT_READY",
        }
    }

    /// What it means, for a person.
    pub const fn meaning(self) -> &'static str {
        match self {
            LocalError::Emfile => "vigil's open-file limit reached",
            LocalError::Enfile => "the system's open-file limit reached",
            LocalError::Enobufs => "no kernel buffer space",
            LocalError::Enomem => "out of kernel memory",
            LocalError::Eaddrnotavail => "no local port or source address",
            LocalError::Eagain => "no free local port, or the process limit",
            LocalError::DrPathNotReady => {
                "the real server's DR-path service is not in the IPVS table yet"
            }
        }
    }
}

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.word(), self.meaning())
    }
}

/// The rate limit of local-error log lines, per kind.
#[derive(Debug, Clone, Default)]
pub struct Quiet {
    /// Per kind: when its last line was written.
    last: [Option<Instant>; LocalError::ALL.len()],
    /// Per kind: errors since that line.
    since: [u64; LocalError::ALL.len()],
}

impl Quiet {
    /// One more `e` at `now`: `Some(n)` when a line is due, `n` being the
    /// errors of this kind it reports (this one and those kept quiet since
    /// the last line).
    pub fn note(&mut self, e: LocalError, now: Instant) -> Option<u64> {
        let i = e.index();
        self.since[i] += 1;
        let due = self.last[i].is_none_or(|t| now.saturating_duration_since(t) >= QUIET_FOR);
        if !due {
            return None;
        }
        self.last[i] = Some(now);
        Some(std::mem::take(&mut self.since[i]))
    }
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
