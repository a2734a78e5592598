//! The IPVS task: runs what [`Machine`] decides against the kernel.
//!
//! Owns: the task loop (health events and config commits in, a pass
//! whenever the machine asks for one, the table read back for the drains
//! and the counters as [`refresh::Schedule`] says), the kernel
//! settings a config asks for (`lvs_timeouts`, the appliance's sysctls,
//! set once connected), the `notify_up` / `notify_down` and `quorum_up` /
//! `quorum_down` scripts, the [`IpvsStatus`] built when a reader asks
//! (`control::IpvsReader`) and its counts ([`IpvsSummary`]) kept current
//! after every pass and dump. Must not: decide anything the
//! machine decides (when to pass, what to drain, how long to back off),
//! flush the table, block the runtime (VRRP shares it: every netlink call
//! goes through [`Edge::call`]), or crash the daemon on any kernel error.
//!
//! ```text
//!   health::Runner --HealthEvent--> [IPVS task] --Edge::call--> Link/Client (genl IPVS)
//!   daemon --Command::Reconfigure-->  |  Machine (sans-IO): HealthMap, drains, due, backoff
//!                                     |  pass(): dump -> diff -> apply_all
//!                                     +--> watch<IpvsSummary> --> service line
//!   control server --ask--> [IPVS task] --IpvsStatus--> (HealthHandle::snapshot() then)
//! ```
//!
//! Shutdown: the task just stops. The table stays in the kernel, so
//! established connections keep flowing while vigil is down and the next
//! start adopts the table with zero ops (keepalived removes its services on
//! SIGTERM unless told otherwise; vigil never does).
//!
//! Neighbours: the long-connection sysctls and the appliance's TCP idle
//! timeout are decided in [`super::sysctl`] and set here once connected;
//! the connection sync daemon has its own task ([`super::sync`]).

use crate::daemon::supervisor::Heartbeat;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::client::Client;
use super::desired;
use super::dr_path;
use super::edge::Edge;
use super::kernel::{dump_into, dump_services_into, Table};
use super::machine::Machine;
use super::pass::{pass, PassReport, PassRequest, Refusals, Unavailable};
use super::refresh::{self, Scope, STATUS_REFRESH};
use super::status;
use super::sysctl::{self, Sysctl};
use super::wire::Timeouts;
use crate::config::model::{Config, LvsTimeouts, Notify, Script};
use crate::control::{IpvsStatus, IpvsSummary};
use crate::health::{HealthEvent, HealthHandle};
use crate::notify::{self, Notifier};

/// How long a status waits for the health runner's snapshot.
const SNAPSHOT_BOUND: Duration = Duration::from_secs(1);

/// `lvs_timeouts` as the kernel's SET_CONFIG; `None` when nothing is set.
pub fn timeouts(t: &LvsTimeouts) -> Option<Timeouts> {
    (t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some()).then_some(Timeouts {
        tcp: t.tcp,
        tcp_fin: t.tcpfin,
        udp: t.udp,
    })
}

/// The kernel's own timeouts (`ip_vs_proto_tcp.c`, `ip_vs_proto_udp.c`):
/// established TCP 900 s, FIN_WAIT 120 s, UDP 300 s.
pub const KERNEL_TIMEOUTS: Timeouts = Timeouts {
    tcp: Some(900),
    tcp_fin: Some(120),
    udp: Some(300),
};

/// The timeouts to set after a commit: the new config's, and the kernel's
/// own for each one the previous config set and the new one no longer
/// does (the kernel would otherwise keep the old value).
pub fn timeouts_after_commit(old: Option<Timeouts>, new: Option<Timeouts>) -> Option<Timeouts> {
    let (o, n) = (old.unwrap_or_default(), new.unwrap_or_default());
    let pick = |o: Option<u32>, n: Option<u32>, k: Option<u32>| n.or(o.and(k));
    let t = Timeouts {
        tcp: pick(o.tcp, n.tcp, KERNEL_TIMEOUTS.tcp),
        tcp_fin: pick(o.tcp_fin, n.tcp_fin, KERNEL_TIMEOUTS.tcp_fin),
        udp: pick(o.udp, n.udp, KERNEL_TIMEOUTS.udp),
    };
    (t != Timeouts::default()).then_some(t)
}

/// Whether the daemon should run the IPVS task for this config.
pub fn wanted(config: &Config) -> bool {
    !config.virtual_servers.is_empty() || timeouts(&config.global.lvs_timeouts).is_some()
}

/// What the daemon tells the IPVS task besides health events.
#[derive(Debug)]
pub enum Command {
    /// A committed config (already validated), with the timeouts and
    /// sysctls it asks for. Answered after the first pass with it.
    Reconfigure {
        config: Arc<Config>,
        timeouts: Option<Timeouts>,
        sysctls: Vec<Sysctl>,
        /// A health runner started with this commit (none ran before).
        checks: Option<HealthHandle>,
        done: oneshot::Sender<Result<Applied, Unavailable>>,
    },
    /// A hitless restart: the last table, encoded for the new process
    /// ([`Machine::handover_table`]), after which the task changes the
    /// kernel no more (it only checks in until the exec).
    HandOver {
        done: oneshot::Sender<Option<Vec<u8>>>,
    },
}

/// What the first pass after a commit did, for `vigil reload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub ops: usize,
    /// Ops the kernel refused (retried later).
    pub failed: Refusals,
    /// Real servers draining after the pass.
    pub draining: usize,
}

/// The task's channels.
#[derive(Debug)]
pub struct Io {
    pub events: mpsc::Receiver<HealthEvent>,
    pub commands: mpsc::Receiver<Command>,
    pub checks: Option<HealthHandle>,
    /// Runs `quorum_up` / `quorum_down`.
    pub notifier: Notifier,
    /// The status's counts, after every pass and table refresh.
    pub summary: watch::Sender<IpvsSummary>,
    /// True from the end of the first pass (whatever came of it).
    pub passed: watch::Sender<bool>,
    /// Asks for the whole status, answered with one built then.
    pub asks: mpsc::Receiver<oneshot::Sender<IpvsStatus>>,
    /// The DR-path services in the kernel, for the checks.
    pub dr_ready: watch::Sender<dr_path::Ready>,
    /// The services with quorum that the kernel's table holds, after
    /// every pass and table refresh (the BGP task announces from it).
    pub serving: watch::Sender<Option<crate::bgp::announce::Serving>>,
}

/// The kernel settings a config asks for that are not set yet: set once
/// connected (`ip_vs` loaded), before the pass.
#[derive(Debug, Clone, Default)]
struct Settings {
    timeouts: Option<Timeouts>,
    sysctls: Vec<Sysctl>,
}

impl Settings {
    /// The sysctls are written once, whatever comes of it; refused
    /// timeouts stay for the next pass. Blocking.
    fn apply(&mut self, c: &mut Client) {
        if !self.sysctls.is_empty() {
            let failed = sysctl::apply(Path::new(sysctl::DIR), &self.sysctls);
            for (name, e) in &failed {
                tracing::error!(sysctl = %format_args!("net.ipv4.vs.{name}"), error = %e, "ipvs: cannot set a sysctl");
            }
            if failed.is_empty() {
                let set: Vec<String> = self
                    .sysctls
                    .iter()
                    .map(|s| format!("{}={}", s.name, s.value))
                    .collect();
                tracing::info!("ipvs: sysctls set: {}", set.join(" "));
            }
            self.sysctls.clear();
        }
        if let Some(t) = self.timeouts {
            match c.set_timeouts(&t) {
                Ok(()) => {
                    tracing::info!(tcp = ?t.tcp, tcpfin = ?t.tcp_fin, udp = ?t.udp, "ipvs: lvs_timeouts set");
                    self.timeouts = None;
                }
                Err(e) => {
                    tracing::error!(error = %e, "ipvs: cannot set lvs_timeouts; retried next pass")
                }
            }
        }
    }
}

/// The task. Runs until the daemon drops it (at shutdown), leaving the
/// kernel table in place.
/// Checks in with `hb` on every pass, event, command or idle tick.
pub async fn run(
    mut machine: Machine,
    mut io: Io,
    timeouts: Option<Timeouts>,
    sysctls: Vec<Sysctl>,
    hb: Heartbeat,
) {
    let mut idle = hb.ticker();
    let mut edge = Edge::new("ipvs");
    let mut settings = Settings { timeouts, sysctls };
    let mut next_refresh = tokio::time::Instant::now() + STATUS_REFRESH;
    let mut reads = refresh::Schedule::new(Instant::now());
    let mut events_open = true;
    let mut commands_open = true;
    let mut waiting: Vec<oneshot::Sender<Result<Applied, Unavailable>>> = Vec::new();
    let mut accept_local = false;
    loop {
        hb.check_in().await;
        let now = Instant::now();
        let req = if machine.poll_timeout().is_some_and(|t| t <= now) {
            let (m, req) = hb
                .waiting(crate::offload::with(machine, move |m| m.poll_pass(now)))
                .await;
            machine = m;
            req
        } else {
            None
        };
        if let Some(req) = req {
            crate::startup::step("IPVS desired table");
            if !accept_local && machine.paths().any_ipv4() {
                accept_local = set_accept_local().await;
            }
            // A whole pass reads the whole table, unless it trusts the
            // one a hitless restart handed over.
            let whole = req.scope.is_none() && !req.trust_last;
            let req = PassRequest {
                last: machine.lend_table(),
                ..req
            };
            let (r, unread) = hb.waiting(run_pass(&mut edge, &mut settings, req)).await;
            if r.is_err() {
                machine.table_back(unread);
            }
            if matches!(r, Err(Unavailable::ModuleMissing)) {
                edge.modprobe_once().await;
            }
            if let Ok(rep) = &r {
                crate::startup::finish("IPVS pass other", &rep.phases.named(), rep.planned);
                if whole {
                    reads.table_read(Instant::now());
                }
            }
            match &r {
                Ok(rep) => publish_serving(&machine, Some(&rep.table), &io.serving),
                // No ip_vs: nothing is in the kernel. Another failure
                // leaves the table as it was: the next dump tells.
                Err(Unavailable::ModuleMissing) => publish_serving(&machine, None, &io.serving),
                Err(_) => {}
            }
            let answer = match &r {
                Ok(rep) => Ok(Applied {
                    ops: rep.planned,
                    failed: rep.failed.clone(),
                    draining: 0,
                }),
                Err(u) => Err(u.clone()),
            };
            let step = crate::offload::with(machine, move |m| m.handle_pass(r, Instant::now()));
            machine = hb.waiting(step).await.0;
            for tx in waiting.drain(..) {
                let _ = tx.send(answer.clone().map(|a| Applied {
                    draining: machine.draining().len(),
                    ..a
                }));
            }
            run_quorum_scripts(&mut machine, &io.notifier);
            machine = summarize(machine, &io.summary, &hb).await;
            if io.passed.send_if_modified(|p| !std::mem::replace(p, true)) {
                // The first pass is the start's last peak (a cold start's
                // ops, encoded in batches, beside the desired table and the
                // dump): its heap goes back to the system once, off the
                // runtime (a trim holds the allocator's lock; see `mem`).
                let _ = hb
                    .waiting(tokio::task::spawn_blocking(crate::mem::trim))
                    .await;
            }
            publish_ready(&machine, &io.dr_ready);
        }
        let wake = machine.poll_timeout();
        tokio::select! {
            ev = io.events.recv(), if events_open => match ev {
                Some(ev) => {
                    machine.handle_health(&ev, Instant::now());
                    run_real_server_script(&machine, &ev, &io.notifier);
                }
                None => events_open = false,
            },
            cmd = io.commands.recv(), if commands_open => match cmd {
                Some(Command::Reconfigure { config, timeouts, sysctls, checks, done }) => {
                    if checks.is_some() {
                        io.checks = checks;
                    }
                    settings = Settings { timeouts, sysctls };
                    let now = Instant::now();
                    machine = hb.waiting(crate::offload::with(machine, move |m| m.reconfigure(config, now))).await.0;
                    waiting.push(done);
                }
                Some(Command::HandOver { done }) => {
                    let encode = crate::offload::with(machine, |m| m.handover_table());
                    let (_, table) = hb.waiting(encode).await;
                    let _ = done.send(table);
                    return handed_over(&hb, idle).await;
                }
                None => commands_open = false,
            },
            Some(ask) = io.asks.recv() => {
                machine = answer(machine, ask, &mut io, &hb, &reads).await;
            }
            () = sleep_until(wake) => {}
            () = tokio::time::sleep_until(next_refresh) => {
                next_refresh = tokio::time::Instant::now() + STATUS_REFRESH;
                let draining = machine.draining().keys().map(|r| r.service);
                let Some(scope) = reads.scope(Instant::now(), draining) else {
                    continue;
                };
                match hb.waiting(refresh(&mut edge, machine.lend_table(), scope, &mut reads)).await {
                    Ok(t) => {
                        publish_serving(&machine, Some(&t), &io.serving);
                        machine.handle_refresh(t, Instant::now());
                    }
                    Err(last) => machine.table_back(last),
                }
                machine = summarize(machine, &io.summary, &hb).await;
                publish_ready(&machine, &io.dr_ready);
            }
            _ = idle.tick() => {}
        }
    }
}

/// After a hitless restart's [`Command::HandOver`]: checks in, and
/// nothing else, until the exec ends the process (or the daemon, whose
/// exec failed, exits).
async fn handed_over(hb: &Heartbeat, mut idle: tokio::time::Interval) {
    loop {
        idle.tick().await;
        hb.check_in().await;
    }
}

/// Which services serve: quorum held (as of the last pass's build) and in
/// the kernel's `table`; none when the kernel has no IPVS.
fn publish_serving(
    machine: &Machine,
    table: Option<&Table>,
    serving: &watch::Sender<Option<crate::bgp::announce::Serving>>,
) {
    let now: crate::bgp::announce::Serving = table.map_or_else(Default::default, |t| {
        (machine.quorum().iter())
            .filter(|(id, up)| **up && t.services.contains_key(id))
            .map(|(id, _)| *id)
            .collect()
    });
    serving.send_if_modified(|s| {
        let changed = s.as_ref() != Some(&now);
        *s = Some(now);
        changed
    });
}

/// The pass `req` on the blocking pool, after the settings still pending.
/// With the pass's result: the table `req` lent it, when the pass failed
/// ([`PassRequest::last`]).
async fn run_pass(
    edge: &mut Edge,
    settings: &mut Settings,
    mut req: PassRequest,
) -> (Result<PassReport, Unavailable>, Option<Table>) {
    let mut pending = settings.clone();
    let done = edge
        .call(move |link| {
            let r = link.with(|c| {
                pending.apply(c);
                crate::startup::step("IPVS connect and settings");
                // The pass times its own phases: connecting and the
                // settings are not the pass.
                pass(c, &mut req)
            });
            (pending, r, req.last)
        })
        .await;
    // No trim here: the next pass allocates the same again (see `mem`).
    match done {
        Ok((left, r, unread)) => {
            *settings = left;
            (r.map_err(Unavailable::from_client), unread)
        }
        Err(p) => (Err(Unavailable::Panicked(p)), None),
    }
}

/// A status-only read over `last`, the machine's last table, when
/// connected (a pass connects; this does not): the whole table or the
/// services `scope` names (the whole table when none was lent). A whole
/// read that succeeds is timed into `reads`. `Ok`: the kernel's table.
/// `Err`: `last` back, when no dump ran, or when one failed part way
/// (the services read before the failure new: [`dump_into`]; none when
/// none was lent, as a failed pass gives back); `None` when the dump
/// panicked with it.
async fn refresh(
    edge: &mut Edge,
    last: Option<Table>,
    scope: Scope,
    reads: &mut refresh::Schedule,
) -> Result<Table, Option<Table>> {
    let lent = last.is_some();
    let scope = if lent { scope } else { Scope::Full };
    let full = scope == Scope::Full;
    let started = Instant::now();
    let done = edge
        .call(move |link| {
            let mut t = last.unwrap_or_default();
            let r = link.if_connected(|c| match &scope {
                Scope::Full => dump_into(c, &mut t),
                Scope::Services(ids) => dump_services_into(c, &mut t, ids),
            });
            (t, r)
        })
        .await;
    match done {
        Ok((t, Some(Ok(())))) => {
            if full {
                let ended = Instant::now();
                reads.full_read(ended, ended - started);
                tracing::debug!(
                    took_ms = (ended - started).as_millis() as u64,
                    next_s = reads.spacing().as_secs(),
                    "ipvs: table read back"
                );
            }
            Ok(t)
        }
        Ok((t, Some(Err(e)))) => {
            tracing::warn!(error = %e, "ipvs: status dump failed; reconnecting next pass");
            Err(lent.then_some(t))
        }
        Ok((t, None)) => Err(lent.then_some(t)),
        Err(_) => Err(None),
    }
}

/// `notify_up` / `notify_down` of the real server a health event is about
/// (the runner sends events only on changes).
fn run_real_server_script(machine: &Machine, ev: &HealthEvent, notifier: &Notifier) {
    if !ev.state_changed {
        return;
    }
    for vs in machine
        .config()
        .virtual_servers
        .iter()
        .filter(|vs| vs.key == ev.service)
    {
        for rs in vs
            .real_servers
            .iter()
            .filter(|rs| (rs.addr, rs.port) == ev.real)
        {
            if rs.notify_up.is_none() && rs.notify_down.is_none() {
                continue;
            }
            let name = format!(
                "{} -> {}",
                desired::service_id(vs),
                desired::dest_id(vs, rs)
            );
            notifier.notify(script_event(
                notify::EventKind::RealServer,
                name,
                ev.up,
                (rs.notify_up.as_deref(), rs.notify_down.as_deref()),
            ));
        }
    }
}

/// `quorum_up` / `quorum_down` of each service whose quorum changed.
fn run_quorum_scripts(machine: &mut Machine, notifier: &Notifier) {
    for c in machine.take_quorum_changes() {
        let Some(vs) = machine.virtual_server(&c.service) else {
            continue;
        };
        if vs.quorum_up.is_none() && vs.quorum_down.is_none() {
            continue;
        }
        notifier.notify(script_event(
            notify::EventKind::VirtualServer,
            c.service.to_string(),
            c.up,
            (vs.quorum_up.as_ref(), vs.quorum_down.as_ref()),
        ));
    }
}

/// An IPVS-side event for the notifier: the up script or the down one
/// (see `notify::EventKind`), no mail.
fn script_event(
    kind: notify::EventKind,
    name: String,
    up: bool,
    (up_script, down_script): (Option<&Script>, Option<&Script>),
) -> notify::Event {
    notify::Event {
        kind,
        name,
        state: if up {
            notify::State::Master
        } else {
            notify::State::Backup
        },
        priority: 0,
        scripts: Notify {
            master: up_script.cloned(),
            backup: down_script.cloned(),
            ..Notify::default()
        },
        smtp_alert: false,
    }
}

/// Counts the status for the service line (one pass over the table: on
/// the blocking pool, as the machine's other steps), sent when changed.
async fn summarize(machine: Machine, tx: &watch::Sender<IpvsSummary>, hb: &Heartbeat) -> Machine {
    let (machine, now) = hb
        .waiting(crate::offload::with(machine, |m| status::summary(m)))
        .await;
    tx.send_if_modified(|was| {
        let changed = *was != now;
        *was = now;
        changed
    });
    machine
}

/// Builds the status for `ask` and every other ask already queued (one
/// build for all), on the blocking pool (a table at the config's bounds
/// takes a noticeable fraction of a second, on the runtime that runs the
/// daemon's tasks otherwise): the machine goes there and comes back.
async fn answer(
    machine: Machine,
    ask: oneshot::Sender<IpvsStatus>,
    io: &mut Io,
    hb: &Heartbeat,
    reads: &refresh::Schedule,
) -> Machine {
    let mut asks = vec![ask];
    while let Ok(a) = io.asks.try_recv() {
        asks.push(a);
    }
    // A stalled health runner (until the supervisor restarts it) must not
    // hold the status up: without its answer the rows lack their check
    // details (last result, failures) for this once.
    let states = match io.checks.as_ref() {
        Some(h) => hb
            .waiting(tokio::time::timeout(SNAPSHOT_BOUND, h.snapshot()))
            .await
            .unwrap_or_else(|_| {
                tracing::warn!(
                    "status: the health runner did not answer; rows without check details"
                );
                None
            }),
        None => None,
    };
    let build = move |m: &mut Machine| m.status(states.as_ref());
    let (machine, mut status) = hb.waiting(crate::offload::with(machine, build)).await;
    read_age(&mut status, reads, Instant::now());
    let last = asks.pop();
    for a in asks {
        let _ = a.send(status.clone());
    }
    if let Some(a) = last {
        let _ = a.send(status);
    }
    machine
}

/// How old the counters in `status` are at `now`, as `reads` knows.
fn read_age(status: &mut IpvsStatus, reads: &refresh::Schedule, now: Instant) {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    status.counters_age_ms = reads.age(now).map(ms);
    status.counters_every_ms = status.counters_age_ms.map(|_| ms(reads.spacing()));
}

/// The DR-path services the last dump holds, published when they change.
fn publish_ready(machine: &Machine, tx: &watch::Sender<dr_path::Ready>) {
    let ready = match machine.table() {
        Some(t) => dr_path::ready(machine.paths(), t),
        None => dr_path::Ready::default(),
    };
    tx.send_if_modified(|was| {
        let changed = **was != *ready;
        if changed {
            *was = ready;
        }
        changed
    });
}

/// `accept_local` on, for the replies of IPv4 DR-path checks (from the
/// VIP, local on the MASTER: see `dr_path`). Left on when a config drops
/// its paths: it only lets in packets from the wire with a source the box
/// holds, which a box holding a VIP its peers also answer for receives
/// anyway. `true`: written (or found on).
async fn set_accept_local() -> bool {
    let write = || std::fs::write(dr_path::ACCEPT_LOCAL, "1");
    match tokio::task::spawn_blocking(write).await {
        Ok(Ok(())) => {
            tracing::info!(
                sysctl = "net.ipv4.conf.all.accept_local",
                "ipvs: accept_local set for DR-path checks"
            );
            true
        }
        Ok(Err(e)) => {
            tracing::error!(sysctl = "net.ipv4.conf.all.accept_local", error = %e, "ipvs: cannot set accept_local: DR-path checks of IPv4 real servers will fail on the MASTER");
            true
        }
        Err(_) => false,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
