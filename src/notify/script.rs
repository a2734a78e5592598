//! Notify scripts: which commands an event runs, with which arguments, as
//! which user, and running one with a deadline.
//!
//! Owns: keepalived's argument conventions, the `/etc/passwd` and
//! `/etc/group` lookups for `script_user` (parsed here, no NSS: a static
//! binary has none), the `enable_script_security` path check, and the
//! child process (no shell, stdin null, output captured and logged with a
//! bound, killed with its process group at the deadline), and the cap on
//! scripts running at once in the whole daemon ([`SCRIPTS_MAX`]).
//! Must not: decide ordering between events (the per-instance worker in
//! `mod.rs` does), or run anything through `sh -c`.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{Event, EventKind, State};
use crate::config::model::ScriptUser;

/// The commands one event runs, in order: the state's own script
/// (`notify_master` ...) with its configured argv as is, then the generic
/// `notify` script with `INSTANCE|GROUP name STATE priority` appended.
/// keepalived passes no priority for a group, and neither does vigil.
pub fn commands(ev: &Event) -> Vec<Vec<String>> {
    let s = &ev.scripts;
    let kind = match ev.kind {
        EventKind::Instance => "INSTANCE",
        EventKind::Group => "GROUP",
        // quorum_up / quorum_down, notify_up / notify_down: as configured.
        EventKind::VirtualServer | EventKind::RealServer => "",
        EventKind::Watchdog => "WATCHDOG",
    };
    let specific = match ev.state {
        State::Master => &s.master,
        State::Backup => &s.backup,
        State::Fault => &s.fault,
        State::Stop => &s.stop,
        State::Reset => &None,
    };
    let mut out = Vec::with_capacity(2);
    if let Some(sc) = specific.as_ref().filter(|sc| !sc.argv.is_empty()) {
        out.push(sc.argv.clone());
    }
    if let Some(sc) = s.notify.as_ref().filter(|sc| !sc.argv.is_empty()) {
        let mut argv = sc.argv.clone();
        if kind.is_empty() {
            return out;
        }
        argv.push(kind.to_string());
        argv.push(ev.name.clone());
        argv.push(ev.state.as_str().to_string());
        if ev.kind == EventKind::Instance {
            argv.push(ev.priority.to_string());
        }
        out.push(argv);
    }
    out
}

/// The identity scripts run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("script_user {user:?}: no such user in /etc/passwd")]
    NoUser { user: String },
    #[error("script_user group {group:?}: no such group in /etc/group")]
    NoGroup { group: String },
    #[error("cannot read {path}: {cause}")]
    Read { path: String, cause: String },
}

/// `script_user USER [GROUP]` -> uid/gid, from the text of `/etc/passwd`
/// and `/etc/group`. A numeric name that is not in the file is taken as an
/// id; without a group, the user's primary group is used.
pub fn resolve_user(passwd: &str, group: &str, su: &ScriptUser) -> Result<RunAs, LookupError> {
    let entry = passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 || l.starts_with('#') {
                return None;
            }
            Some((f[0], f[2].parse::<u32>().ok()?, f[3].parse::<u32>().ok()?))
        })
        .find(|(name, _, _)| *name == su.user);
    let (uid, primary) = match (entry, su.user.parse::<u32>()) {
        (Some((_, uid, gid)), _) => (uid, Some(gid)),
        (None, Ok(uid)) => (uid, None),
        (None, Err(_)) => {
            return Err(LookupError::NoUser {
                user: su.user.clone(),
            })
        }
    };
    let gid = match &su.group {
        Some(g) => group
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                if f.len() < 3 || l.starts_with('#') {
                    return None;
                }
                Some((f[0], f[2].parse::<u32>().ok()?))
            })
            .find(|(name, _)| name == g)
            .map(|(_, gid)| gid)
            .or_else(|| g.parse().ok())
            .ok_or_else(|| LookupError::NoGroup { group: g.clone() })?,
        None => primary.unwrap_or(uid),
    };
    Ok(RunAs { uid, gid })
}

/// Reads the two files and resolves `su`.
pub fn resolve_user_from(
    passwd_path: &Path,
    group_path: &Path,
    su: &ScriptUser,
) -> Result<RunAs, LookupError> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| LookupError::Read {
            path: p.display().to_string(),
            cause: e.to_string(),
        })
    };
    resolve_user(&read(passwd_path)?, &read(group_path)?, su)
}

/// One component of a script's path, as `stat` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathNode {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub is_dir: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Insecure {
    #[error("{path} is not an absolute path")]
    Relative { path: PathBuf },
    #[error("{path}: {cause}")]
    Stat { path: PathBuf, cause: String },
    #[error("{path} is owned by uid {uid}, not root or the script user")]
    Owner { path: PathBuf, uid: u32 },
    #[error("{path} is writable by group {gid}")]
    GroupWritable { path: PathBuf, gid: u32 },
    #[error("{path} is writable by everyone")]
    WorldWritable { path: PathBuf },
}

/// `enable_script_security`: nobody but root and the user the script runs
/// as may change the script or any directory on its path. A world-writable
/// directory with the sticky bit (`/tmp`) is fine: others can add entries
/// but not replace ours, and the next component's owner is checked.
pub fn check_secure(nodes: &[PathNode], run_as: RunAs) -> Result<(), Insecure> {
    for n in nodes {
        let path = n.path.clone();
        if n.uid != 0 && n.uid != run_as.uid {
            return Err(Insecure::Owner { path, uid: n.uid });
        }
        if n.mode & 0o020 != 0 && n.gid != 0 && n.gid != run_as.gid {
            return Err(Insecure::GroupWritable { path, gid: n.gid });
        }
        let sticky_dir = n.is_dir && n.mode & 0o1000 != 0;
        if n.mode & 0o002 != 0 && !sticky_dir {
            return Err(Insecure::WorldWritable { path });
        }
    }
    Ok(())
}

/// `stat` of the canonical script path and every directory above it.
pub fn path_nodes(script: &Path) -> Result<Vec<PathNode>, Insecure> {
    if !script.is_absolute() {
        return Err(Insecure::Relative {
            path: script.to_path_buf(),
        });
    }
    let stat_err = |p: &Path, e: std::io::Error| Insecure::Stat {
        path: p.to_path_buf(),
        cause: e.to_string(),
    };
    let real = std::fs::canonicalize(script).map_err(|e| stat_err(script, e))?;
    let mut nodes = Vec::new();
    for p in real.ancestors() {
        let m = std::fs::metadata(p).map_err(|e| stat_err(p, e))?;
        nodes.push(PathNode {
            path: p.to_path_buf(),
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
            is_dir: m.is_dir(),
        });
    }
    Ok(nodes)
}

/// How scripts are run.
#[derive(Debug, Clone)]
pub struct RunPolicy {
    pub timeout: Duration,
    /// Bytes of stdout and of stderr kept for the log, each.
    pub output_cap: usize,
    /// `Err` when `script_user` could not be resolved: then nothing runs
    /// rather than running as root.
    pub run_as: Result<Option<RunAs>, LookupError>,
    pub security: bool,
    /// A tracked script (`vrrp_script`), run every few seconds: its
    /// failures and output are logged at debug level only (the track task
    /// logs its state changes).
    pub quiet: bool,
}

/// What became of one script.
#[derive(Debug)]
pub enum Outcome {
    Exited(ExitStatus),
    TimedOut,
    NotRun,
    /// It could not be started for a reason of this box (EMFILE, ENFILE,
    /// ENOMEM, EAGAIN: a limit of descriptors, memory or processes): the
    /// error, for a caller that tells that apart (MISC_CHECK).
    NoResources(std::io::Error),
}

/// At most this many scripts run at once in the whole daemon (notify,
/// tracked and MISC_CHECK together); more wait for a slot, outside their
/// timeout. Each holds about four descriptors (two pipes, a pidfd, the
/// exec's), so 64 keep scripts under 300 of the unit's `LimitNOFILE`.
pub const SCRIPTS_MAX: usize = 64;

static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(SCRIPTS_MAX);

/// Whether a failed spawn is the box's fault rather than the script's.
fn no_resources(e: &std::io::Error) -> bool {
    use nix::libc;
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EAGAIN | libc::ENOBUFS)
    )
}

/// How long to wait for a killed group's leader to be reaped.
const REAP_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for output after the script exited (a daemon it
/// started may hold the pipes open; it is left alone).
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// Runs `argv` without a shell and logs what happened. Never longer than
/// `timeout` plus the reap and output waits.
pub async fn run(argv: &[String], policy: &RunPolicy) -> Outcome {
    let prog = &argv[0];
    let run_as = match &policy.run_as {
        Ok(r) => *r,
        Err(e) => {
            tracing::error!(script = %prog, error = %e, "notify script not run");
            return Outcome::NotRun;
        }
    };
    if policy.security {
        let who = run_as.unwrap_or(RunAs { uid: 0, gid: 0 });
        if let Err(e) = path_nodes(Path::new(prog)).and_then(|n| check_secure(&n, who)) {
            tracing::error!(script = %prog, error = %e, "notify script not run: enable_script_security");
            return Outcome::NotRun;
        }
    }
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the deadline kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(r) = run_as {
        // std drops supplementary groups (setgroups(0)) when root sets a uid.
        cmd.uid(r.uid).gid(r.gid);
    }
    // The semaphore is never closed: a permit always comes.
    let _slot = SLOTS.acquire().await.ok();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if no_resources(&e) => {
            tracing::warn!(script = %prog, error = %e, "script could not be started: local resources");
            return Outcome::NoResources(e);
        }
        Err(e) => {
            tracing::warn!(script = %prog, error = %e, "notify script could not be started");
            return Outcome::NotRun;
        }
    };
    let pid = child.id();
    let cap = policy.output_cap;
    let out = child
        .stdout
        .take()
        .map(|s| tokio::spawn(read_capped(s, cap)));
    let err = child
        .stderr
        .take()
        .map(|s| tokio::spawn(read_capped(s, cap)));

    let outcome = match tokio::time::timeout(policy.timeout, child.wait()).await {
        Ok(Ok(status)) => Outcome::Exited(status),
        Ok(Err(e)) => {
            tracing::warn!(script = %prog, error = %e, "waiting for notify script failed");
            Outcome::NotRun
        }
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.start_kill();
            let _ = tokio::time::timeout(REAP_WAIT, child.wait()).await;
            tracing::warn!(
                script = %prog,
                timeout_ms = policy.timeout.as_millis() as u64,
                "notify script timed out; killed it and its process group"
            );
            Outcome::TimedOut
        }
    };
    for (stream, handle) in [("stdout", out), ("stderr", err)] {
        let Some(mut h) = handle else { continue };
        match tokio::time::timeout(OUTPUT_GRACE, &mut h).await {
            Ok(Ok((text, total))) if total > 0 && policy.quiet => {
                let text = String::from_utf8_lossy(&text);
                tracing::debug!(script = %prog, stream, "{}", text.trim_end());
            }
            Ok(Ok((text, total))) if total > 0 => {
                let text = String::from_utf8_lossy(&text);
                let text = text.trim_end();
                if total > cap {
                    tracing::info!(script = %prog, stream, truncated = total - cap, "{text}");
                } else {
                    tracing::info!(script = %prog, stream, "{text}");
                }
            }
            Ok(_) => {}
            Err(_) => h.abort(),
        }
    }
    if let Outcome::Exited(status) = &outcome {
        if status.success() || policy.quiet {
            tracing::debug!(script = %prog, code = status.code(), "script exited");
        } else if let Some(sig) = status.signal() {
            tracing::warn!(script = %prog, signal = sig, "notify script killed by a signal");
        } else {
            tracing::warn!(script = %prog, code = status.code(), "notify script failed");
        }
    }
    outcome
}

/// Keeps the first `cap` bytes, reads (and counts) the rest so the child
/// never blocks on a full pipe.
async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: usize) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                total = total.saturating_add(n);
            }
        }
    }
    (kept, total)
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
