//! The BGP task: keeps BIRD's config file what [`announce::decide`] says
//! and BIRD running it, and watches BIRD's sessions.
//!
//! Owns: the anycast addresses on `lo` (a box takes traffic for an
//! address only if it is local: IPVS sees packets on their way in to the
//! box; they stay while the address is withheld or the box drained, so
//! flows still on their way are served), the file (written whole to a
//! temporary name and renamed, so BIRD never reads half of one),
//! `configure` after every change and whenever BIRD comes back, a poll of
//! `show protocols all` every [`POLL`], and the published [`BgpStatus`]. Must not: decide what is announced (that is
//! [`announce`]), start or stop BIRD (systemd does), or block the runtime
//! (every exchange is bounded by [`client::CALL_BOUND`]).
//!
//! ```text
//!   IPVS task --watch<Option<Serving>>--+
//!   bgp::drain --watch<bool>------------+--> [BGP task] --file + configure--> BIRD
//!   daemon shutdown --oneshot (withdraw)+         |  <--show protocols all--
//!                                                 +--> watch<Option<BgpStatus>> --> vigil status
//! ```
//!
//! Until the IPVS task's first pass has said which services serve, the
//! file is left as it is when it exists: after a hitless restart BIRD goes
//! on announcing what the old image decided, instead of withdrawing every
//! route for the length of a pass (ECMP would move every flow). A file
//! that does not exist (a boot: `/run` is empty) is written at once with
//! nothing announced, so BIRD can start and bring its sessions up.
//!
//! A deliberate stop withdraws everything (the file says nothing, BIRD is
//! told); a crash or a hitless restart leaves BIRD announcing, as the
//! IPVS table stays in the kernel and keeps forwarding.
//!
//! A BIRD that accepts on its socket and does not answer for
//! [`STALL_KILL`] is killed by its pid (the socket's peer, and only a
//! process named `bird`), so that its unit restarts it: systemd sees a
//! stalled BIRD as running.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::announce::{self, Announce, Serving, Targets};
use super::bird;
use super::client::{self, ClientError};
use super::reply::protocols;
use crate::config::model::{Bgp, BgpDrain, Vip};
use crate::control::{BgpNeighborStatus, BgpStatus};
use crate::daemon::supervisor::Heartbeat;
use crate::net::Net;

/// How often BIRD's sessions are read.
pub const POLL: Duration = Duration::from_secs(2);
/// How long BIRD may accept and not answer before it is killed.
pub const STALL_KILL: Duration = Duration::from_secs(20);
/// How long a BIRD that never answered this task may take to start (its
/// unit waits for the file) before its silence is logged as an error.
pub const BIRD_START: Duration = Duration::from_secs(30);

/// What the task reads and where it publishes.
pub struct Io {
    /// `None` until the IPVS task's first pass.
    pub serving: watch::Receiver<Option<Serving>>,
    pub drained: watch::Receiver<bool>,
    pub status: watch::Sender<Option<BgpStatus>>,
    /// A deliberate stop: withdraw, then answer.
    pub stop: mpsc::Receiver<oneshot::Sender<()>>,
    /// Where the anycast addresses go (`lo`).
    pub net: Net,
}

/// What the task knows of BIRD and of its file.
struct State {
    bgp: Bgp,
    targets: Targets,
    file: PathBuf,
    socket: PathBuf,
    /// The text in the file (read at start when it exists).
    written: Option<String>,
    /// BIRD runs `written`.
    applied: bool,
    status: BgpStatus,
    /// Since when BIRD has not answered.
    down_since: Option<Instant>,
    /// The outage since `down_since` is in the journal.
    down_logged: bool,
    /// BIRD has answered this task at least once.
    answered: bool,
    stalled_since: Option<Instant>,
    net: Net,
    /// The anycast addresses known to be on `lo`.
    on_lo: BTreeSet<IpAddr>,
}

pub async fn run(bgp: Bgp, targets: Targets, mut io: Io, hb: Heartbeat) {
    let (file, socket) = (
        PathBuf::from(&bgp.bird_config),
        PathBuf::from(&bgp.bird_socket),
    );
    let written = tokio::fs::read_to_string(&file).await.ok();
    let mut st = State {
        status: BgpStatus {
            drain: drain_words(bgp.drain),
            ..BgpStatus::default()
        },
        bgp,
        targets,
        file,
        socket,
        written,
        applied: false,
        down_since: None,
        down_logged: false,
        answered: false,
        stalled_since: None,
        net: io.net.clone(),
        on_lo: BTreeSet::new(),
    };
    let mut idle = hb.ticker();
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut serving_open, mut drained_open) = (true, true);
    loop {
        hb.check_in().await;
        let serving = io.serving.borrow_and_update().clone();
        let drained = *io.drained.borrow_and_update();
        hb.waiting(st.step(serving.as_ref(), drained)).await;
        io.status.send_replace(Some(st.status.clone()));
        tokio::select! {
            r = io.serving.changed(), if serving_open => serving_open = r.is_ok(),
            r = io.drained.changed(), if drained_open => drained_open = r.is_ok(),
            _ = poll.tick() => hb.waiting(st.poll()).await,
            Some(done) = io.stop.recv() => {
                hb.waiting(st.withdraw_all()).await;
                io.status.send_replace(Some(st.status.clone()));
                let _ = done.send(());
                return;
            }
            _ = idle.tick() => {}
        }
    }
}

fn drain_words(d: BgpDrain) -> String {
    match d {
        BgpDrain::Withdraw => "withdraw".to_owned(),
        BgpDrain::Prepend(n) => format!("prepend {n}"),
    }
}

impl State {
    /// The file as `serving` and `drained` want it, and BIRD told.
    async fn step(&mut self, serving: Option<&Serving>, drained: bool) {
        self.local_addresses().await;
        self.status.drained = drained;
        self.status.waiting_first_pass = serving.is_none();
        let want = match serving {
            Some(s) => {
                let drain = drained.then_some(self.bgp.drain);
                let a = announce::decide(&self.targets, s, drain);
                self.publish_routes(&a);
                Some(bird::render(&self.bgp, &a))
            }
            // Until the first pass: BIRD keeps the old image's routes, or
            // starts with none.
            None if self.written.is_some() => None,
            None => Some(bird::render(&self.bgp, &Announce::default())),
        };
        if let Some(text) = want {
            self.write(text).await;
        }
        if !self.applied && self.written.is_some() {
            self.configure().await;
        }
    }

    /// Every anycast address on `lo` (added where missing; a failure is
    /// tried again at the next step).
    async fn local_addresses(&mut self) {
        let missing: Vec<IpAddr> = (self.targets.keys())
            .filter(|a| !self.on_lo.contains(a))
            .copied()
            .collect();
        if missing.is_empty() {
            return;
        }
        let lo = match self.net.link_by_name("lo").await {
            Ok(l) => l.index,
            Err(e) => {
                tracing::error!(error = %e, "bgp: cannot find lo for the anycast addresses");
                return;
            }
        };
        for a in missing {
            let vip = Vip::new(a, if a.is_ipv4() { 32 } else { 128 });
            match self.net.add_vip(lo, &vip).await {
                Ok(()) => {
                    self.on_lo.insert(a);
                }
                Err(e) => {
                    tracing::error!(vip = %a, error = %e, "bgp: cannot add the anycast address to lo");
                }
            }
        }
    }

    fn publish_routes(&mut self, a: &Announce) {
        let all = self.targets.keys();
        self.status.announced = a.routes.iter().map(ToString::to_string).collect();
        self.status.withheld = all
            .filter(|r| !a.routes.contains(r))
            .map(ToString::to_string)
            .collect();
    }

    async fn write(&mut self, text: String) {
        if self.written.as_deref() == Some(text.as_str()) {
            return;
        }
        match write_file(&self.file, &text).await {
            Ok(()) => {
                self.written = Some(text);
                self.applied = false;
                self.status.config_error = None;
            }
            Err(e) => {
                tracing::error!(path = %self.file.display(), error = %e, "bgp: cannot write BIRD's config");
                self.status.config_error = Some(format!("writing {}: {e}", self.file.display()));
            }
        }
    }

    async fn configure(&mut self) {
        match client::configure(&self.socket, &self.file).await {
            Ok(r) if r.is_error() => {
                // vigil wrote something BIRD refuses: a bug, said loudly.
                let why = r.last_text().to_owned();
                tracing::error!(path = %self.file.display(), error = %why, "bgp: BIRD refused the config vigil wrote");
                self.status.config_error =
                    Some(format!("BIRD refused {}: {why}", self.file.display()));
                self.applied = true;
            }
            Ok(_) => {
                tracing::info!(path = %self.file.display(), "bgp: BIRD runs the new config");
                self.applied = true;
                self.up();
            }
            Err(e) => self.down(&e),
        }
    }

    /// Reads the sessions; a BIRD back from being away is told again.
    async fn poll(&mut self) {
        match client::exchange_with_pid(&self.socket, "show protocols all").await {
            Ok((r, pid)) => {
                if self.down_since.is_some() {
                    self.applied = false;
                }
                self.up();
                if self.restarted(pid) {
                    self.applied = false;
                }
                let found = protocols(&r);
                self.status.neighbors = (self.bgp.neighbors.iter())
                    .map(|n| {
                        let name = bird::protocol_name(n);
                        let p = found.iter().find(|p| p.name == name);
                        BgpNeighborStatus {
                            address: n.address.to_string(),
                            remote_as: n.remote_as,
                            session: p.map_or("not in BIRD".to_owned(), |p| {
                                p.bgp_state.clone().unwrap_or_else(|| p.state.clone())
                            }),
                            last_error: p.and_then(|p| p.last_error.clone()),
                            exported: p.and_then(|p| p.exported),
                        }
                    })
                    .collect();
                if !self.applied {
                    self.configure().await;
                }
            }
            Err(e) => self.down(&e),
        }
    }

    /// Whether `pid` (the BIRD that answered) replaced the one before: a
    /// BIRD killed and started again by systemd between two reads answers
    /// as if nothing happened, and is counted and logged all the same.
    fn restarted(&mut self, pid: Option<i32>) -> bool {
        let before = self.status.bird_pid;
        if pid.is_some() {
            self.status.bird_pid = pid;
        }
        let (Some(old), Some(new)) = (before, pid) else {
            return false;
        };
        if old == new {
            return false;
        }
        self.status.bird_restarts += 1;
        tracing::warn!(
            old_pid = old,
            pid = new,
            "bgp: BIRD restarted; told the config again"
        );
        true
    }

    fn up(&mut self) {
        if let Some(since) = self.down_since.take() {
            if self.down_logged {
                tracing::info!(
                    after_ms = since.elapsed().as_millis() as u64,
                    "bgp: BIRD answers again"
                );
            }
        }
        self.answered = true;
        self.down_logged = false;
        self.stalled_since = None;
        self.status.bird_error = None;
        self.status.bird_down_secs = None;
    }

    fn down(&mut self, e: &ClientError) {
        let now = Instant::now();
        let since = *self.down_since.get_or_insert(now);
        // At a boot BIRD starts once this task has written its file: not
        // answering then is no fault, until BIRD_START has passed.
        let starting = !self.answered && now.duration_since(since) < BIRD_START;
        if !starting && !self.down_logged {
            self.down_logged = true;
            tracing::error!(socket = %self.socket.display(), error = %e, "bgp: BIRD does not answer; its routes are withdrawn by its neighbours when its sessions end");
        }
        self.status.bird_error = Some(e.to_string());
        self.status.bird_down_secs = Some(now.duration_since(since).as_secs());
        self.status
            .neighbors
            .iter_mut()
            .for_each(|n| n.session = "unknown (BIRD does not answer)".to_owned());
        match e {
            ClientError::Stalled { pid: Some(pid), .. } => {
                let stalled = *self.stalled_since.get_or_insert(now);
                if now.duration_since(stalled) >= STALL_KILL {
                    kill_stalled_bird(*pid);
                    self.stalled_since = None;
                }
            }
            _ => self.stalled_since = None,
        }
    }

    /// A deliberate stop: nothing announced, BIRD told.
    async fn withdraw_all(&mut self) {
        let text = bird::render(&self.bgp, &Announce::default());
        self.publish_routes(&Announce::default());
        self.write(text).await;
        if !self.applied {
            self.configure().await;
        }
        tracing::info!("bgp: every route withdrawn for the stop");
    }
}

/// The whole file under a temporary name, then renamed over the old one.
/// It may hold MD5 keys: readable by root and, where the system has one,
/// the `bird` group (Debian's BIRD drops to user and group bird).
async fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let tmp = path.with_extension("vigil-tmp");
    tokio::fs::write(&tmp, text).await?;
    tokio::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o640)).await?;
    if let Some(gid) = group_id(
        "bird",
        &tokio::fs::read_to_string("/etc/group")
            .await
            .unwrap_or_default(),
    ) {
        nix::unistd::chown(&tmp, None, Some(nix::unistd::Gid::from_raw(gid)))
            .map_err(std::io::Error::from)?;
    }
    tokio::fs::rename(&tmp, path).await
}

/// The id of group `name` in `/etc/group`'s text (no NSS: the binary is
/// static).
pub fn group_id(name: &str, etc_group: &str) -> Option<u32> {
    etc_group.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// SIGKILL to `pid` if it is a BIRD; its unit's `Restart=` starts it again.
fn kill_stalled_bird(pid: i32) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "bird" {
        tracing::warn!(pid, comm = %comm.trim(), "bgp: the stalled control socket's peer is not bird; not killed");
        return;
    }
    tracing::error!(
        pid,
        "bgp: BIRD accepts and does not answer; killed for its unit to restart it"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}
#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
