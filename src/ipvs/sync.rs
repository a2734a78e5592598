//! The connection sync daemon (`lvs_sync_daemon`): the kernel's master
//! daemon multicasts connection state on the sync link, a backup daemon
//! receives it, so a failover keeps established connections (and their
//! persistence templates) on the new MASTER.
//!
//! Owns: the decision which daemon runs ([`wanted`], pure), the diff
//! against the kernel's daemons ([`diff`], pure), and the task applying it
//! ([`run`]): its own [`Edge`] to the kernel (a netlink [`Client`] used
//! only on the blocking pool).
//! Must not: touch the table (that is [`super::task`]'s), or block the
//! runtime (VRRP shares it).
//!
//! ```text
//!   instance task --watch<Snapshot> (the named vrrp_instance)--+
//!                                                              v
//!   [sync task]: wanted(state) -> Edge::call: daemons() -> diff -> del/new -> daemons()
//!        +--> watch<String> (one line) --> control server --> `vigil status` ("sync_daemon")
//!   daemon shutdown --oneshot--> stop master, keep (or start) backup --ack-->
//! ```
//!
//! Decisions (following keepalived's `ipvs_syncd_master/backup`):
//! - the named instance MASTER: a master daemon, and no backup daemon;
//! - any other state (BACKUP, FAULT, INIT, not started): a backup daemon,
//!   and no master daemon. The kernel runs at most one of each; vigil owns
//!   both slots when `lvs_sync_daemon` is configured (a daemon started by
//!   hand with other parameters is replaced).
//! - a running daemon of the wanted state is kept when its interface and
//!   sync id equal the config's and every parameter the config sets
//!   (maxlen, group, port, ttl) equals the kernel's (the kernel fills the
//!   unset ones with its defaults: those are not compared). Otherwise it
//!   is stopped and started again (stops always come before starts).
//! - without `lvs_sync_daemon` vigil does not touch the sync daemons.
//! - the `bgp` block's `sync_daemon` (anycast: no instance leads, its
//!   `vrrp_instance` is empty): the master and the backup daemon both, at
//!   all times ([`wanted_all`]): every box sends the flows it forwards and
//!   learns every other box's, so a flow ECMP moves finds its entry.
//!
//! Timing: a pass at start and at each change of the instance's state; a
//! pass that failed (no `ip_vs`: `modprobe ip_vs` once; a refused op) is
//! retried after a backoff from [`BACKOFF_MIN`] doubling to [`BACKOFF_MAX`].
//! There is no periodic re-check: the kernel may clamp a configured maxlen
//! (to its minimum or to the MTU), and re-checking would restart such a
//! daemon over and over; a clamp costs one restart per VRRP transition.
//!
//! Shutdown (SIGTERM): the master daemon is stopped (this box no longer
//! forwards, so it has nothing to send, and the new MASTER starts its own)
//! and the backup daemon is started / left running: while vigil is down
//! the box keeps learning the new MASTER's connections, so when it takes
//! over again (after a restart) they survive. keepalived stops both daemons
//! on exit; keeping the backup is harmless (it only receives) and better.

use crate::daemon::supervisor::Heartbeat;
use std::fmt;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::client::{self, Client};
use super::edge::Edge;
use super::pass::{Refusals, RefusedOp};
use super::wire::{DaemonState, SyncDaemon};
use crate::backoff::Backoff;
use crate::config::model::LvsSyncDaemon;
use crate::control::Snapshot;

/// First retry delay after a failed pass; doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// See [`run`]'s `resuming`.
pub const RESUME_WAIT: Duration = Duration::from_secs(2);

/// Which daemon the config wants given the named instance's state (as the
/// instance task publishes it: "MASTER", "BACKUP", "FAULT", "INIT",
/// "ERROR"); `None` without `lvs_sync_daemon`.
pub fn wanted(vrrp_state: &str, cfg: Option<&LvsSyncDaemon>) -> Option<DaemonState> {
    cfg?;
    Some(if vrrp_state == "MASTER" {
        DaemonState::Master
    } else {
        DaemonState::Backup
    })
}

/// Every daemon the config wants: the one [`wanted`] says, or both at
/// once for the `bgp` block's `sync_daemon` (no instance leads: each box
/// sends its own flows and learns every other box's).
pub fn wanted_all(vrrp_state: &str, cfg: &LvsSyncDaemon) -> Vec<DaemonState> {
    if cfg.vrrp_instance.is_empty() {
        return vec![DaemonState::Master, DaemonState::Backup];
    }
    wanted(vrrp_state, Some(cfg)).into_iter().collect()
}

/// The daemon to ask the kernel for. No `id`: sync id 0 (keepalived's and
/// ipvsadm's default).
pub fn daemon(cfg: &LvsSyncDaemon, state: DaemonState) -> SyncDaemon {
    SyncDaemon {
        state,
        ifname: cfg.interface.to_string(),
        sync_id: cfg.id.map_or(0, u32::from),
        maxlen: cfg.maxlen,
        group: cfg.group,
        port: cfg.port,
        ttl: cfg.ttl,
    }
}

/// Whether a running daemon `have` serves for `want` (see the header).
pub fn matches(have: &SyncDaemon, want: &SyncDaemon) -> bool {
    fn set_eq<T: PartialEq>(want: Option<T>, have: Option<T>) -> bool {
        want.is_none() || want == have
    }
    have.state == want.state
        && have.ifname == want.ifname
        && have.sync_id == want.sync_id
        && set_eq(want.maxlen, have.maxlen)
        && set_eq(want.group, have.group)
        && set_eq(want.port, have.port)
        && set_eq(want.ttl, have.ttl)
}

/// One change to the kernel's sync daemons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOp {
    Start(SyncDaemon),
    Stop(DaemonState),
}

impl fmt::Display for SyncOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncOp::Start(d) => write!(f, "start {}", describe(d)),
            SyncOp::Stop(s) => write!(f, "stop {} sync daemon", state_name(*s)),
        }
    }
}

/// `want` (the one daemon that should run; `None`: leave the kernel
/// alone) against the kernel's daemons: stops first, then starts.
pub fn diff(want: Option<&SyncDaemon>, have: &[SyncDaemon]) -> Vec<SyncOp> {
    match want {
        Some(w) => diff_all(std::slice::from_ref(w), have),
        None => Vec::new(),
    }
}

/// [`diff`] for every daemon in `want` (at most one of each state): a
/// state none of them has is stopped.
pub fn diff_all(want: &[SyncDaemon], have: &[SyncDaemon]) -> Vec<SyncOp> {
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    for state in [DaemonState::Master, DaemonState::Backup] {
        let running = have.iter().find(|d| d.state == state);
        match (want.iter().find(|w| w.state == state), running) {
            (Some(w), Some(h)) if matches(h, w) => {}
            (Some(w), Some(_)) => {
                stops.push(SyncOp::Stop(state));
                starts.push(SyncOp::Start(w.clone()));
            }
            (Some(w), None) => starts.push(SyncOp::Start(w.clone())),
            (None, Some(_)) => stops.push(SyncOp::Stop(state)),
            (None, None) => {}
        }
    }
    stops.extend(starts);
    stops
}

/// What shutdown leaves: no master; the backup kept, or started with the
/// config's parameters.
pub fn shutdown_ops(cfg: &LvsSyncDaemon, have: &[SyncDaemon]) -> Vec<SyncOp> {
    diff(Some(&daemon(cfg, DaemonState::Backup)), have)
}

fn state_name(s: DaemonState) -> &'static str {
    match s {
        DaemonState::Master => "master",
        DaemonState::Backup => "backup",
    }
}

/// As `ipvsadm -L --daemon` prints a daemon.
pub fn describe(d: &SyncDaemon) -> String {
    format!(
        "{} sync daemon (mcast={}, syncid={})",
        state_name(d.state),
        d.ifname,
        d.sync_id
    )
}

/// The one line `vigil status` shows.
pub fn status_line(
    cfg: &LvsSyncDaemon,
    vrrp_state: &str,
    running: Option<&[SyncDaemon]>,
    error: Option<&str>,
) -> String {
    let kernel = match running {
        None => "unknown".to_owned(),
        Some([]) => "none running".to_owned(),
        Some(ds) => ds.iter().map(describe).collect::<Vec<_>>().join(", "),
    };
    let mut s = if cfg.vrrp_instance.is_empty() {
        format!("{kernel}; both, for anycast")
    } else {
        format!("{kernel}; follows {} ({vrrp_state})", cfg.vrrp_instance)
    };
    if let Some(e) = error {
        s.push_str("; error: ");
        s.push_str(e);
    }
    s
}

// ---------------------------------------------------------------------------
// The edge.

/// The result of one pass: the daemons after it, and the refused ops.
type PassResult = Result<(Vec<SyncDaemon>, Refusals<SyncOp>), client::Error>;

/// Blocking: dump, diff with `ops_for`, apply what the kernel accepts,
/// dump again if anything was tried.
fn pass(c: &mut Client, ops_for: impl FnOnce(&[SyncDaemon]) -> Vec<SyncOp>) -> PassResult {
    let have = c.daemons()?;
    let ops = ops_for(&have);
    if ops.is_empty() {
        return Ok((have, Refusals::default()));
    }
    let mut failed = Refusals::default();
    for op in &ops {
        let r = match op {
            SyncOp::Start(d) => c.new_daemon(d),
            SyncOp::Stop(s) => c.del_daemon(*s),
        };
        match r {
            Ok(()) => tracing::info!(op = %op, "ipvs: {op}"),
            Err(e) => failed.0.push(RefusedOp::new(op, &e)),
        }
    }
    Ok((c.daemons()?, failed))
}

/// The task: follows `vrrp` (the named instance's snapshots) until a
/// shutdown request, which it answers after leaving only the backup
/// daemon (see the header).
///
/// `resuming`: the named instance resumes MASTER (a hitless restart): the
/// first pass waits (at most [`RESUME_WAIT`]) for its first state, so the
/// master daemon the previous process left running is kept rather than
/// swapped for a backup daemon and back.
pub async fn run(
    cfg: LvsSyncDaemon,
    mut vrrp: watch::Receiver<Snapshot>,
    status: watch::Sender<String>,
    mut shutdown: tokio::sync::mpsc::Receiver<oneshot::Sender<()>>,
    resuming: bool,
    hb: Heartbeat,
) {
    let mut idle = hb.ticker();
    if resuming {
        let _ = tokio::time::timeout(RESUME_WAIT, vrrp.changed()).await;
    }
    let mut edge = Edge::new("ipvs sync");
    let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut running: Option<Vec<SyncDaemon>> = None;
    let mut vrrp_open = true;
    let mut due = true;
    let mut last_error: Option<String> = None;
    // The daemon states the last successful pass set up.
    let mut applied: Option<Vec<DaemonState>> = None;
    loop {
        hb.check_in().await;
        if due {
            due = false;
            let vrrp_state = vrrp.borrow_and_update().status.state.clone();
            let want: Vec<SyncDaemon> = (wanted_all(&vrrp_state, &cfg).into_iter())
                .map(|s| daemon(&cfg, s))
                .collect();
            let r = edge
                .call(move |link| link.with(|c| pass(c, |have| diff_all(&want, have))))
                .await;
            let error = match r {
                Ok(Ok((have, failed))) => {
                    running = Some(have);
                    applied = Some(wanted_all(&vrrp_state, &cfg)).filter(|_| failed.is_empty());
                    (!failed.is_empty()).then(|| failed.join("; "))
                }
                Ok(Err(e)) => {
                    if matches!(e, client::Error::ModuleNotLoaded) {
                        edge.modprobe_once().await;
                    }
                    running = None;
                    applied = None;
                    Some(e.to_string())
                }
                Err(p) => {
                    applied = None;
                    Some(p.to_string())
                }
            };
            match &error {
                Some(e) => {
                    if last_error.as_ref() != Some(e) {
                        tracing::error!(error = %e, instance = %cfg.vrrp_instance, state = %vrrp_state, retry_in = ?backoff.peek(), "ipvs sync: cannot set the sync daemon; retrying");
                    }
                    retry_at = Some(tokio::time::Instant::now() + backoff.next());
                }
                None => {
                    retry_at = None;
                    backoff.reset();
                }
            }
            last_error = error;
            status.send_replace(status_line(
                &cfg,
                &vrrp_state,
                running.as_deref(),
                last_error.as_deref(),
            ));
        }
        tokio::select! {
            r = vrrp.changed(), if vrrp_open => {
                if r.is_err() {
                    vrrp_open = false;
                } else {
                    // A change of the instance's state, not of its counters.
                    let vrrp_state = vrrp.borrow().status.state.clone();
                    due = Some(wanted_all(&vrrp_state, &cfg)) != applied;
                    if !due {
                        // Same daemon (BACKUP -> FAULT): the line only.
                        status.send_if_modified(|line| {
                            let new = status_line(
                                &cfg,
                                &vrrp_state,
                                running.as_deref(),
                                last_error.as_deref(),
                            );
                            let changed = *line != new;
                            *line = new;
                            changed
                        });
                    }
                }
            }
            () = sleep_until(retry_at) => { due = true; }
            _ = idle.tick() => {}
            ack = shutdown.recv() => {
                let cfg = cfg.clone();
                let r = edge
                    .call(move |link| link.with(|c| pass(c, |have| shutdown_ops(&cfg, have))))
                    .await;
                match r {
                    Ok(Ok((have, failed))) if failed.is_empty() => {
                        tracing::info!(daemons = %have.iter().map(describe).collect::<Vec<_>>().join(", "), "ipvs sync: shutdown: master stopped, backup kept");
                    }
                    Ok(Ok((_, failed))) => tracing::error!(error = %failed.join("; "), "ipvs sync: shutdown"),
                    Ok(Err(e)) => tracing::error!(error = %e, "ipvs sync: shutdown"),
                    Err(e) => tracing::error!(error = %e, "ipvs sync: shutdown"),
                }
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
                return;
            }
        }
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
