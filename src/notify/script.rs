//! Notify scripts: which commands an event runs, with which arguments, as
//! which user, and running one with a deadline.
//!
//! Owns: keepalived's argument conventions, the `/etc/passwd` and
//! `/etc/group` lookups for `script_user` (parsed here, no NSS: a static
//! binary has none), the `enable_script_security` path check (a walk of
//! the path one component at a time through `O_PATH | O_NOFOLLOW` file
//! descriptors, symlinks followed by hand, ending in a descriptor of the
//! file that was checked: [`open_checked`]), the child process (no
//! shell, stdin null, the fixed environment [`SCRIPT_ENV`] and nothing of
//! the daemon's, output captured and logged with a bound, killed with its
//! process group at the deadline), and the cap on scripts running at once
//! in the whole daemon ([`SCRIPTS_MAX`]). Under `enable_script_security`
//! the child executes the checked descriptor (`/proc/self/fd/N`), never
//! the path again, so a symlink or rename swapped in after the check is
//! not what runs.
//! Must not: decide ordering between events (the per-instance worker in
//! `mod.rs` does), or run anything through `sh -c`.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Component, Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{Event, EventKind, State};
use crate::config::model::{Config, Notify, Script, ScriptUser};

/// The commands one event runs, in order: the state's own script
/// (`notify_master` ...) with its configured argv as is, then the generic
/// `notify` script with `INSTANCE|GROUP name STATE priority` appended.
/// keepalived passes no priority for a group, and neither does vigil.
pub fn commands(ev: &Event) -> Vec<Vec<String>> {
    let s = &ev.scripts;
    if ev.kind == EventKind::ArpTheft {
        return arp_theft_command(ev).into_iter().collect();
    }
    let kind = match ev.kind {
        EventKind::Instance => "INSTANCE",
        EventKind::Group => "GROUP",
        // quorum_up / quorum_down, notify_up / notify_down: as configured.
        EventKind::VirtualServer | EventKind::RealServer => "",
        EventKind::Watchdog => "WATCHDOG",
        EventKind::ArpTheft => unreachable!("handled above"),
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

/// An ARP theft's `notify_arp_theft` (carried as the event's `notify`)
/// with the instance, the VIP and the MAC appended: the event's name is
/// "INSTANCE VIP MAC", split from the end (an instance name may hold a
/// space, a VIP and a MAC cannot).
fn arp_theft_command(ev: &Event) -> Option<Vec<String>> {
    let sc = ev
        .scripts
        .notify
        .as_ref()
        .filter(|sc| !sc.argv.is_empty())?;
    let mut parts = ev.name.rsplitn(3, ' ');
    let (mac, vip, instance) = (parts.next()?, parts.next()?, parts.next()?);
    let mut argv = sc.argv.clone();
    argv.extend([instance, vip, mac].map(str::to_owned));
    Some(argv)
}

/// Every script of `config` that would run as root, one line each
/// (`vrrp_instance VI_1 notify_master /etc/vigil/master.sh`): with no
/// `global_defs { script_user }`, every notify script, and every
/// `vrrp_script` and `MISC_CHECK` without a `user` of its own. The daemon
/// logs them as a warning at start and on each reload and shows them in
/// `vigil status`.
pub fn root_scripts(config: &Config) -> Vec<String> {
    /// Where a script is configured, written when it is listed.
    type Place<'p> = &'p dyn Fn() -> String;
    let mut out = Vec::new();
    if config.global.script_user.is_some() {
        return out;
    }
    // The place is written only for a script that is listed: a config of
    // 100,000 real servers without scripts formats nothing.
    let mut one = |place: Place<'_>, sc: Option<&Script>, own_user: bool| {
        if let Some(argv0) = sc.and_then(|sc| sc.argv.first()) {
            if !own_user {
                out.push(format!("{} {argv0}", place()));
            }
        }
    };
    let notify =
        |one: &mut dyn FnMut(Place<'_>, Option<&Script>, bool), what: Place<'_>, n: &Notify| {
            for (kw, sc) in [
                ("notify", &n.notify),
                ("notify_master", &n.master),
                ("notify_backup", &n.backup),
                ("notify_fault", &n.fault),
                ("notify_stop", &n.stop),
            ] {
                one(&|| format!("{} {kw}", what()), sc.as_ref(), false);
            }
        };
    for i in &config.vrrp_instances {
        let what = || format!("vrrp_instance {}", i.name);
        notify(&mut one, &what, &i.notify);
        one(
            &|| format!("{} notify_arp_theft", what()),
            i.notify_arp_theft.as_ref(),
            false,
        );
    }
    for g in &config.vrrp_sync_groups {
        notify(
            &mut one,
            &|| format!("vrrp_sync_group {}", g.name),
            &g.notify,
        );
    }
    for t in &config.vrrp_scripts {
        one(
            &|| format!("vrrp_script {}", t.name),
            Some(&t.script),
            t.user.is_some(),
        );
    }
    for vs in &config.virtual_servers {
        let vs_at = || format!("virtual_server {}", vs.key);
        for (kw, sc) in [
            ("quorum_up", &vs.quorum_up),
            ("quorum_down", &vs.quorum_down),
        ] {
            one(&|| format!("{} {kw}", vs_at()), sc.as_ref(), false);
        }
        for rs in &vs.real_servers {
            let at = || {
                let port = rs.port.map_or_else(String::new, |p| format!(" {p}"));
                format!("{} real_server {}{port}", vs_at(), rs.addr)
            };
            for (kw, sc) in [
                ("notify_up", &rs.notify_up),
                ("notify_down", &rs.notify_down),
            ] {
                one(&|| format!("{} {kw}", at()), sc.as_deref(), false);
            }
            for c in &rs.checkers {
                if let crate::config::model::CheckKind::Misc(m) = &c.kind {
                    one(
                        &|| format!("{} MISC_CHECK", at()),
                        Some(&m.path),
                        m.user.is_some(),
                    );
                }
            }
        }
    }
    if let Some(a) = &config.appliance {
        one(
            &|| "watchdog notify_reset".into(),
            a.watchdog.notify_reset.as_ref(),
            false,
        );
    }
    out
}

/// Names listed in [`root_warning`] before "and N more".
const ROOT_LISTED: usize = 8;

/// The warning for [`root_scripts`], one line; `None` when there are none.
pub fn root_warning(config: &Config) -> Option<String> {
    let all = root_scripts(config);
    if all.is_empty() {
        return None;
    }
    let mut line = format!(
        "{} script(s) will run as root (no script_user in global_defs): {}",
        all.len(),
        all[..all.len().min(ROOT_LISTED)].join(", ")
    );
    if all.len() > ROOT_LISTED {
        line.push_str(&format!(", and {} more", all.len() - ROOT_LISTED));
    }
    Some(line)
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

/// The whole environment a script sees: a fixed search path and the C
/// locale. Nothing of the daemon's own environment (systemd's
/// `NOTIFY_SOCKET`, `INVOCATION_ID`, whatever a shell exported) reaches a
/// script; the event's details are in its arguments, as keepalived passes
/// them, and vigil sets no variables of its own.
pub const SCRIPT_ENV: &[(&str, &str)] = &[("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), ("LANG", "C")];

/// Symlinks followed in one path before giving up (the kernel's limit).
const MAX_LINKS: usize = 40;

/// `enable_script_security` without a window: walks `script` from `/`
/// one component at a time, each opened `O_PATH | O_NOFOLLOW` relative to
/// the descriptor of the directory before it and checked ([`check_secure`])
/// through that descriptor; a symlink is read through its own descriptor
/// and its target walked the same way (so the directory holding a link is
/// checked too, which `canonicalize` would skip). Returns a descriptor of
/// the regular file that passed, for [`execute`] to run.
pub fn open_checked(script: &Path, run_as: RunAs) -> Result<OwnedFd, Insecure> {
    use nix::fcntl::{open, openat, readlinkat, OFlag};
    use nix::sys::stat::{fstat, Mode, SFlag};

    if !script.is_absolute() {
        return Err(Insecure::Relative {
            path: script.to_path_buf(),
        });
    }
    let err = |p: &Path, e: nix::Error| Insecure::Stat {
        path: p.to_path_buf(),
        cause: e.desc().to_string(),
    };
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let node = |fd: &OwnedFd, path: &Path| -> Result<(PathNode, SFlag), Insecure> {
        let st = fstat(fd).map_err(|e| err(path, e))?;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        let n = PathNode {
            path: path.to_path_buf(),
            uid: st.st_uid,
            gid: st.st_gid,
            mode: st.st_mode,
            is_dir: kind == SFlag::S_IFDIR,
        };
        Ok((n, kind))
    };
    let root = Path::new("/");
    let root_fd =
        open(root, flags | OFlag::O_DIRECTORY, Mode::empty()).map_err(|e| err(root, e))?;
    check_secure(&[node(&root_fd, root)?.0], run_as)?;
    // The directories walked so far (`..` pops one), and what is left.
    let mut dirs: Vec<(OwnedFd, PathBuf)> = vec![(root_fd, root.to_path_buf())];
    let mut todo: Vec<OsString> = components(script);
    let mut links = 0;
    let mut file: Option<OwnedFd> = None;
    while let Some(name) = todo.pop() {
        let (dir_fd, dir_path) = dirs.last().expect("the root is never popped");
        if file.is_some() {
            return Err(not(dir_path.join(&name), "a path through a file"));
        }
        if name == ".." {
            if dirs.len() > 1 {
                dirs.pop();
            }
            continue;
        }
        let path = dir_path.join(&name);
        let fd = openat(dir_fd.as_fd(), name.as_os_str(), flags, Mode::empty())
            .map_err(|e| err(&path, e))?;
        let (n, kind) = node(&fd, &path)?;
        if kind == SFlag::S_IFLNK {
            links += 1;
            if links > MAX_LINKS {
                return Err(err(&path, nix::Error::ELOOP));
            }
            let target = readlinkat(fd.as_fd(), "").map_err(|e| err(&path, e))?;
            if Path::new(&target).is_absolute() {
                dirs.truncate(1);
            }
            todo.extend(components(Path::new(&target)));
            continue;
        }
        check_secure(std::slice::from_ref(&n), run_as)?;
        match kind {
            SFlag::S_IFDIR => dirs.push((fd, path)),
            SFlag::S_IFREG => file = Some(fd),
            _ => return Err(not(path, "not a regular file")),
        }
    }
    file.ok_or_else(|| not(script.to_path_buf(), "not a regular file"))
}

fn not(path: PathBuf, cause: &str) -> Insecure {
    Insecure::Stat {
        path,
        cause: cause.to_string(),
    }
}

/// The names of `path` in reverse order (a stack: the first is popped
/// first); `/` and `.` are dropped, `..` kept.
fn components(path: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    v.reverse();
    v
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
    match prepare(argv, policy) {
        Some(p) => execute(p, policy).await,
        None => Outcome::NotRun,
    }
}

/// A script that may run: who it runs as and, under
/// `enable_script_security`, the descriptor of the file that was checked.
#[derive(Debug)]
pub struct Prepared {
    argv: Vec<String>,
    run_as: Option<RunAs>,
    checked: Option<OwnedFd>,
}

/// The checks before a run (identity, `enable_script_security`); `None`
/// (logged) when the script must not run.
pub fn prepare(argv: &[String], policy: &RunPolicy) -> Option<Prepared> {
    let prog = argv.first()?;
    let run_as = match &policy.run_as {
        Ok(r) => *r,
        Err(e) => {
            tracing::error!(script = %prog, error = %e, "notify script not run");
            return None;
        }
    };
    let mut checked = None;
    if policy.security {
        let who = run_as.unwrap_or(RunAs { uid: 0, gid: 0 });
        match open_checked(Path::new(prog), who) {
            Ok(fd) => checked = Some(fd),
            Err(e) => {
                tracing::error!(script = %prog, error = %e, "notify script not run: enable_script_security");
                return None;
            }
        }
    }
    Some(Prepared {
        argv: argv.to_vec(),
        run_as,
        checked,
    })
}

/// The child's command: no shell, [`SCRIPT_ENV`] only, its own process
/// group, and the checked descriptor rather than the path when there is one.
fn command(p: &Prepared) -> tokio::process::Command {
    let prog = &p.argv[0];
    let mut cmd = match &p.checked {
        Some(fd) => {
            let raw = fd.as_raw_fd();
            let mut cmd = tokio::process::Command::new(format!("/proc/self/fd/{raw}"));
            cmd.arg0(prog);
            // SAFETY: the closure runs in the forked child before exec and
            // only calls fcntl(2), which is async-signal-safe; `raw` is open
            // in the child (fork copies the table and `p` keeps the parent's
            // open until spawn returns). Clearing close-on-exec keeps the
            // descriptor across exec so that an interpreter started by a
            // `#!` line can open the `/proc/self/fd/N` path it is handed.
            unsafe {
                cmd.pre_exec(move || {
                    nix::fcntl::fcntl(
                        std::os::fd::BorrowedFd::borrow_raw(raw),
                        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
                    )
                    .map(drop)
                    .map_err(std::io::Error::from)
                });
            }
            cmd
        }
        None => tokio::process::Command::new(prog),
    };
    cmd.args(&p.argv[1..])
        .env_clear()
        .envs(SCRIPT_ENV.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the deadline kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(r) = p.run_as {
        // std drops supplementary groups (setgroups(0)) when root sets a uid.
        cmd.uid(r.uid).gid(r.gid);
    }
    cmd
}

/// Runs a prepared script with its deadline and logs what happened.
pub async fn execute(p: Prepared, policy: &RunPolicy) -> Outcome {
    let prog = &p.argv[0];
    // The semaphore is never closed: a permit always comes.
    let _slot = SLOTS.acquire().await.ok();
    let mut child = match command(&p).spawn() {
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
