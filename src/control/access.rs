//! Who may use the control socket, and one daemon per socket.
//!
//! Owns: the socket file's mode and group ([`restrict`]), the rule of
//! which peer may send which request ([`allowed`], by the peer's
//! credentials from SO_PEERCRED), and the single-instance lock beside the
//! socket ([`lock`]). Must not: read or answer requests (`control::serve`
//! does, asking [`allowed`] first).
//!
//! The file's permissions decide who can connect at all: 0600 (root, or
//! whoever runs the daemon), or 0660 with `vigil run --control-group G`,
//! so members of G can connect. The peer's uid then decides what it may
//! do: the daemon's own user and root may do everything; anyone else (the
//! group) may only read: status, history, the running config, a commit
//! check. A connection made in the instant between bind and chmod is
//! judged by the same rule, so it cannot do more than read either.
//!
//! The lock is `flock` on `<socket>.lock`, held for the daemon's life and
//! released by the kernel when it dies (no stale lock after a crash or a
//! power cut). The file holds the holder's pid for the refusal message.
//! Its descriptor is close-on-exec: a hitless restart's exec releases it
//! and the new image takes it again at start.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid};
use thiserror::Error;

use super::Request;

/// What a peer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every request.
    Full,
    /// Requests that change nothing.
    ReadOnly,
}

/// The access of a peer running as `peer_uid`, to a daemon running as
/// `own_uid`.
pub fn access_of(peer_uid: u32, own_uid: u32) -> Access {
    if peer_uid == 0 || peer_uid == own_uid {
        Access::Full
    } else {
        Access::ReadOnly
    }
}

/// Whether `req` changes anything (the config, the running state, the
/// process).
pub fn changes_state(req: &Request) -> bool {
    match req {
        Request::Status
        | Request::History
        | Request::Running
        | Request::ConfigOf { .. }
        | Request::CommitCheck { .. } => false,
        Request::Reload
        | Request::Restart
        | Request::Commit(_)
        | Request::Confirm
        | Request::Drain { .. }
        | Request::Rollback { .. } => true,
        #[cfg(feature = "fault-hooks")]
        Request::Fault { .. } => true,
    }
}

/// `Err` with the refusal's words when a peer of `access` may not send
/// `req`.
pub fn allowed(req: &Request, access: Access, peer_uid: u32) -> Result<(), String> {
    if access == Access::ReadOnly && changes_state(req) {
        return Err(format!(
            "permission denied: uid {peer_uid} may only read (status, history, config); \
             changes need root"
        ));
    }
    Ok(())
}

/// Sets the socket file's mode: 0600, or 0660 owned by `group` (see the
/// header).
pub fn restrict(path: &Path, group: Option<u32>) -> io::Result<()> {
    match group {
        None => std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)),
        Some(gid) => {
            nix::unistd::chown(path, None, Some(Gid::from_raw(gid))).map_err(io::Error::from)?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        }
    }
}

/// The daemon's own uid (effective).
pub fn own_uid() -> u32 {
    Uid::effective().as_raw()
}

/// Why the single-instance lock was not taken.
#[derive(Debug, Error)]
pub enum LockError {
    #[error("another vigil ({holder}) already serves {socket}: stop it first, or give this one another --control")]
    Held { socket: PathBuf, holder: String },
    #[error("cannot lock {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The single-instance lock of the socket at `socket`, held while the
/// value lives.
#[derive(Debug)]
pub struct InstanceLock {
    _lock: Flock<File>,
}

/// Takes the lock beside `socket` (creating its directory), or says who
/// holds it.
pub fn lock(socket: &Path) -> Result<InstanceLock, LockError> {
    let path = lock_path(socket);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let holder = match pid.trim() {
                "" => "pid unknown".to_owned(),
                p => format!("pid {p}"),
            };
            return Err(LockError::Held {
                socket: socket.to_owned(),
                holder,
            });
        }
        Err((_, e)) => return Err(io(e.into())),
    };
    // The holder's pid, for the next one's message.
    let write = |f: &mut File| -> io::Result<()> {
        f.set_len(0)?;
        f.rewind()?;
        writeln!(f, "{}", std::process::id())
    };
    write(&mut lock).map_err(io)?;
    Ok(InstanceLock { _lock: lock })
}

/// `<socket>.lock`.
pub fn lock_path(socket: &Path) -> PathBuf {
    let mut p = socket.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// A group given by name (looked up in `group_file`'s text, as
/// `/etc/group`) or by number.
pub fn group_id(name: &str, group_file: &str) -> Option<u32> {
    let by_name = group_file.lines().find_map(|l| {
        let mut f = l.split(':');
        let n = f.next()?;
        let gid = f.nth(1)?;
        (n == name).then(|| gid.parse().ok()).flatten()
    });
    by_name.or_else(|| name.parse().ok())
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
