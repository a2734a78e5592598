//! The IPVS task: keeps the kernel's table equal to config + health.
//!
//! Owns: the health map the table is built from, when the next reconcile
//! pass runs (coalescing, retry backoff), the netlink [`Client`] (used only
//! from `spawn_blocking`: its calls block), loading `ip_vs` once when the
//! family is missing, `lvs_timeouts`, and the published [`IpvsStatus`].
//! Must not: flush the table, touch a service the config does not own
//! ([`super::reconcile`] leaves those alone and reports them), block the
//! runtime (VRRP shares it), or crash the daemon on any kernel error.
//!
//! ```text
//!   health::Runner --HealthEvent--> [IPVS task] --spawn_blocking--> Client (genl IPVS)
//!                                    |  Core (sans-IO): HealthMap, due, backoff
//!                                    |  pass(): dump -> diff -> apply_all -> dump
//!                                    +--> watch<IpvsStatus> --> control server
//!   HealthHandle::snapshot() <------ every STATUS_REFRESH, for `vigil status`
//! ```
//!
//! Timing (all timers are data in [`Core`]; a wakeup re-checks `due`):
//! - start: one pass at once. An identical kernel table (a restart of
//!   vigil) gives a plan of zero ops: the table is adopted as it stands.
//! - a health change: a pass [`COALESCE`] later; changes arriving before
//!   it are folded into the same pass (a burst of 100 costs one dump).
//! - an unreachable kernel (no `ip_vs`, socket error): the next pass after
//!   a backoff doubling from [`BACKOFF_MIN`] to [`BACKOFF_MAX`]; before the
//!   first retry `modprobe ip_vs` is run once.
//! - ops the kernel refused: each is logged with its op and errno; the
//!   next pass ([`BACKOFF_MIN`] later, then backing off) re-diffs and so
//!   retries exactly what is still missing.
//!
//! Shutdown: the task just stops. The table stays in the kernel, so
//! established connections keep flowing while vigil is down and the next
//! start adopts the table with zero ops (keepalived removes its services on
//! SIGTERM unless told otherwise; vigil never does).
//!
//! Neighbours: the long-connection sysctls and the appliance's TCP idle
//! timeout are decided in [`super::sysctl`] and set here once connected;
//! the connection sync daemon has its own task ([`super::sync`]).
//!
//! Config commits ([`Core::reconfigure`], from `vigil reload` or SIGHUP):
//! the next pass runs at once. What the new config lacks is not cut:
//! - a real server it removed is *drained*: kept at weight 0 (no new
//!   connections; with `expire_quiescent_template` no new ones through a
//!   persistence template either) until the kernel reports no active or
//!   inactive connection for it, or until the drain timeout
//!   ([`DRAIN_TIMEOUT`] by default, `vigil run --drain-timeout`), and only
//!   then deleted;
//! - a virtual server it removed is *retired*: its real servers drain the
//!   same way, and the service is deleted when the last one is gone;
//! - a real server or service it brings back stops draining.
//!
//! A drain's end is seen on the dump after a pass or on the status dump
//! every [`STATUS_REFRESH`]. At start, a destination of an owned service
//! that the config does not have (an earlier config's, left while vigil was
//! stopped) is adopted as draining too, not deleted. Drains live in memory:
//! a restart during one starts a new drain timeout for it.
//!
//! Quorum changes are handed to the caller ([`Core::take_quorum_changes`])
//! to run `quorum_up` / `quorum_down`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::client::{self, Client};
use super::desired::{self, Desired, Health, HealthMap, QuorumChange, QuorumStates, RealId};
use super::kernel::{apply_all, dump, Kernel, Table};
use super::reconcile::diff;
use super::sysctl::{self, Sysctl};
use super::wire::{FwdMethod, ServiceId, Timeouts, SVC_F_PERSISTENT};
use crate::backoff::Backoff;
use crate::config::model::{Config, LvsTimeouts, Notify, Script, VirtualServer};
use crate::control::{IpvsDestStatus, IpvsServiceStatus, IpvsStatus};
use crate::health::{self, HealthEvent, HealthHandle};
use crate::notify::{self, Notifier};

/// Health changes are folded into one pass at most this often.
pub const COALESCE: Duration = Duration::from_millis(50);
/// First retry delay after a failed pass; doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often the status (counters, health) is refreshed from a dump.
pub const STATUS_REFRESH: Duration = Duration::from_secs(2);
/// How long a real server removed by config keeps its established
/// connections (at weight 0) before it is deleted, unless they end
/// sooner. An hour lets WebSocket sessions end or move on their own terms
/// (most clients reconnect well within it) while bounding how long a
/// removed server stays reachable; a deleted server's remaining
/// connections are reset (`expire_nodest_conn`).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3600);

/// What one pass is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRequest {
    pub desired: Desired,
    /// Services an earlier config had and this one lacks.
    pub retired: BTreeSet<ServiceId>,
    /// On the first pass: every destination the config may hold. Any other
    /// destination found in an owned service is drained, not deleted.
    pub adopt: Option<BTreeSet<RealId>>,
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PassReport {
    /// Ops the plan had.
    pub planned: usize,
    /// The refused ones, as "op: error".
    pub failed: Vec<String>,
    /// The kernel's table after the pass.
    pub table: Table,
    pub foreign: Vec<ServiceId>,
    /// Destinations found in owned services that the config lacks (only on
    /// an adopting pass); they were set to drain.
    pub adopted: BTreeSet<RealId>,
    /// Wall time of the pass (dump, diff, apply, and the dump after
    /// changes), measured by the edge; zero when nobody timed it.
    pub took: Duration,
}

/// Why a pass could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub module_missing: bool,
    pub message: String,
}

impl Unavailable {
    pub fn from_client(e: &client::Error) -> Self {
        let module_missing = matches!(e, client::Error::ModuleNotLoaded);
        Unavailable {
            module_missing,
            message: if module_missing {
                "ip_vs module not loaded".to_owned()
            } else {
                e.to_string()
            },
        }
    }
}

/// One reconcile pass against a kernel: dump, diff, apply everything the
/// kernel accepts, dump again if anything changed. Blocking with a real
/// [`Client`]; call it from `spawn_blocking`.
pub fn pass<K: Kernel>(k: &mut K, req: &PassRequest) -> Result<PassReport, K::Error> {
    let t0 = Instant::now();
    let actual = dump(k)?;
    let dumped = t0.elapsed();
    let adopted = req
        .adopt
        .as_ref()
        .map_or_else(BTreeSet::new, |known| strays(&req.desired, &actual, known));
    let plan = if adopted.is_empty() {
        diff(&req.desired, &actual, &req.retired)
    } else {
        let mut desired = req.desired.clone();
        desired.draining.extend(adopted.iter().copied());
        diff(&desired, &actual, &req.retired)
    };
    let planned = t0.elapsed();
    let failed: Vec<String> = apply_all(k, &plan.ops)
        .into_iter()
        .map(|(op, e)| format!("{op}: {e}"))
        .collect();
    let applied = t0.elapsed();
    let table = if plan.ops.is_empty() {
        actual
    } else {
        dump(k)?
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    tracing::debug!(
        "ipvs: pass phases: dump {:.1} ms, plan {:.1} ms, apply {:.1} ms ({} ops), dump again {:.1} ms",
        ms(dumped),
        ms(planned - dumped),
        ms(applied - planned),
        plan.ops.len(),
        ms(t0.elapsed() - applied),
    );
    Ok(PassReport {
        planned: plan.ops.len(),
        failed,
        table,
        foreign: plan.foreign,
        adopted,
        took: Duration::ZERO,
    })
}

/// Destinations the kernel has in services vigil wants that are not in
/// `known` (the config's real and sorry servers).
fn strays(desired: &Desired, actual: &Table, known: &BTreeSet<RealId>) -> BTreeSet<RealId> {
    desired
        .table
        .services
        .keys()
        .filter_map(|id| actual.services.get(id).map(|e| (*id, e)))
        .flat_map(|(service, e)| e.dests.keys().map(move |&dest| RealId { service, dest }))
        .filter(|r| !known.contains(r))
        .collect()
}

/// The task's state and decisions, sans-IO: `now` comes in, the caller
/// runs the pass it asks for and hands the result back.
#[derive(Debug)]
pub struct Core {
    config: Arc<Config>,
    health: HealthMap,
    quorum: QuorumStates,
    /// Services an earlier config had, until the kernel no longer has them.
    retired: BTreeSet<ServiceId>,
    /// Real servers removed by config, still draining, and when their
    /// drain times out.
    draining: BTreeMap<RealId, Instant>,
    drain_timeout: Duration,
    /// Whether a pass has seen the kernel's table (strays adopted).
    adopted: bool,
    /// Quorum changes not yet taken by the caller.
    quorum_changes: Vec<QuorumChange>,
    /// When the next pass is due; `None`: nothing to do.
    due: Option<Instant>,
    backoff: Backoff,
    /// The last table seen, what was left alone, and the current error.
    table: Option<Table>,
    foreign: Vec<ServiceId>,
    error: Option<String>,
    passes: u64,
}

impl Core {
    /// `initial`: the health runner's snapshot before it runs (alpha
    /// servers start down). The first pass is due at `now`.
    pub fn new(config: Arc<Config>, initial: Option<&health::Snapshot>, now: Instant) -> Self {
        let mut health = HealthMap::new();
        if let Some(s) = initial {
            for r in &s.servers {
                for id in reals_of(&config, r.service, r.real) {
                    health.insert(id, if r.up { Health::Up } else { Health::Down });
                }
            }
        }
        Core {
            config,
            health,
            quorum: QuorumStates::new(),
            retired: BTreeSet::new(),
            draining: BTreeMap::new(),
            drain_timeout: DRAIN_TIMEOUT,
            adopted: false,
            quorum_changes: Vec::new(),
            due: Some(now),
            backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX),
            table: None,
            foreign: Vec::new(),
            error: None,
            passes: 0,
        }
    }

    /// A real server changed state: a pass within [`COALESCE`].
    pub fn handle_health(&mut self, ev: &HealthEvent, now: Instant) {
        let h = if ev.up { Health::Up } else { Health::Down };
        let mut changed = false;
        for id in reals_of(&self.config, ev.service, ev.real) {
            changed |= self.health.insert(id, h) != Some(h);
        }
        if changed {
            let at = now + COALESCE;
            // An earlier due (start, a pending coalesce) stays; a retry
            // backoff is cut short: the table is wrong now.
            self.due = Some(self.due.map_or(at, |d| d.min(at)));
        }
    }

    /// Replaces [`DRAIN_TIMEOUT`].
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// A committed config replaces the current one; a pass runs at once.
    /// Real servers it removed start draining, services it removed are
    /// retired, and health and quorum of what it kept carry over.
    pub fn reconfigure(&mut self, config: Arc<Config>, now: Instant) {
        let old = std::mem::replace(&mut self.config, config);
        let new = &self.config;
        let owned = desired::owned(new);
        let known = desired::config_dests(new);
        self.retired
            .extend(desired::owned(&old).difference(&owned).copied());
        self.retired.retain(|s| !owned.contains(s));
        self.draining.retain(|r, _| !known.contains(r));
        let deadline = now + self.drain_timeout;
        for r in desired::removed_reals(&old, new) {
            if self.table.as_ref().is_none_or(|t| has_dest(t, &r)) {
                tracing::info!(
                    service = %r.service, real = %r.dest,
                    "ipvs: real server removed by config: draining at weight 0 for at most {:?}",
                    self.drain_timeout
                );
                self.draining.entry(r).or_insert(deadline);
            }
        }
        self.health.retain(|r, _| known.contains(r));
        self.quorum.retain(|s, _| owned.contains(s));
        self.due = Some(now);
    }

    /// The earliest of the next pass and the next drain timeout.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let drain = self.draining.values().min().copied();
        match (self.due, drain) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// If a pass is due at `now`: what it should make the table.
    /// Clears `due`; quorum states advance with the build.
    pub fn poll_pass(&mut self, now: Instant) -> Option<PassRequest> {
        self.expire_drains(now);
        if self.due.is_none_or(|d| d > now) {
            return None;
        }
        self.due = None;
        let draining = self.draining.keys().copied().collect();
        let d = desired::build(&self.config, &self.health, &draining, &self.quorum);
        for c in &d.changes {
            if c.up {
                tracing::info!(service = %c.service, "ipvs: quorum gained");
            } else {
                tracing::warn!(service = %c.service, "ipvs: quorum lost");
            }
        }
        self.quorum_changes.extend(d.changes.iter().copied());
        self.quorum = d.quorum.clone();
        Some(PassRequest {
            desired: d,
            retired: self.retired.clone(),
            adopt: (!self.adopted).then(|| desired::config_dests(&self.config)),
        })
    }

    /// Quorum changes since the last call, oldest first.
    pub fn take_quorum_changes(&mut self) -> Vec<QuorumChange> {
        std::mem::take(&mut self.quorum_changes)
    }

    /// The virtual server a kernel service id belongs to, if configured.
    pub fn virtual_server(&self, id: &ServiceId) -> Option<&VirtualServer> {
        self.config
            .virtual_servers
            .iter()
            .find(|vs| desired::service_id(vs) == *id)
    }

    /// Real servers still draining, with the time their drain ends at the
    /// latest.
    pub fn draining(&self) -> &BTreeMap<RealId, Instant> {
        &self.draining
    }

    /// Drains past their timeout end now: the next pass deletes them.
    fn expire_drains(&mut self, now: Instant) {
        let expired: Vec<RealId> = self
            .draining
            .iter()
            .filter(|(_, &at)| at <= now)
            .map(|(r, _)| *r)
            .collect();
        for r in expired {
            self.draining.remove(&r);
            let left = self
                .table
                .as_ref()
                .and_then(|t| t.conns(&r.service, &r.dest));
            tracing::warn!(
                service = %r.service, real = %r.dest, connections = ?left,
                "ipvs: drain timeout: removing the real server with its remaining connections"
            );
            self.due = Some(self.due.map_or(now, |d| d.min(now)));
        }
    }

    /// Drains whose server has no connection left, or is gone, end.
    fn end_drains(&mut self, table: &Table, now: Instant) {
        let ended: Vec<RealId> = self
            .draining
            .keys()
            .filter(|r| {
                let d = table
                    .services
                    .get(&r.service)
                    .and_then(|e| e.dests.get(&r.dest));
                d.is_none_or(|d| d.weight == 0 && table.conns(&r.service, &r.dest) == Some(0))
            })
            .copied()
            .collect();
        for r in ended {
            self.draining.remove(&r);
            if has_dest(table, &r) {
                tracing::info!(
                    service = %r.service, real = %r.dest,
                    "ipvs: real server drained: no connection left; removing it"
                );
                self.due = Some(self.due.map_or(now, |d| d.min(now)));
            }
        }
    }

    /// The result of the pass [`Core::poll_pass`] asked for.
    pub fn handle_pass(&mut self, r: Result<PassReport, Unavailable>, now: Instant) {
        self.passes += 1;
        match r {
            Ok(rep) => {
                self.adopted = true;
                for r in &rep.adopted {
                    tracing::warn!(
                        service = %r.service, real = %r.dest,
                        "ipvs: real server in the kernel but not in the config: draining at weight 0 for at most {:?}",
                        self.drain_timeout
                    );
                    self.draining.entry(*r).or_insert(now + self.drain_timeout);
                }
                self.retired.retain(|s| rep.table.services.contains_key(s));
                self.end_drains(&rep.table, now);
                let applied = rep.planned - rep.failed.len();
                if rep.planned > 0 || self.passes == 1 {
                    // Counts in the text too: journalctl shows only the message.
                    // The pass time is what `make bench` reads for the
                    // no-op reconcile at 10,000 destinations.
                    tracing::info!(
                        ops = rep.planned,
                        applied,
                        "ipvs: table reconciled: {} ops planned, {applied} applied{} \
                         ({} services, {} destinations; pass {:.1} ms)",
                        rep.planned,
                        if rep.planned == 0 {
                            " (adopted as it stands)"
                        } else {
                            ""
                        },
                        rep.table.services.len(),
                        rep.table.dest_count(),
                        rep.took.as_secs_f64() * 1000.0,
                    );
                }
                for f in &rep.failed {
                    tracing::error!(op = %f, "ipvs: kernel refused an op; retried next pass");
                }
                for s in rep.foreign.iter().filter(|s| !self.foreign.contains(s)) {
                    tracing::warn!(service = %s, "ipvs: service not in the config left alone");
                }
                self.error = (!rep.failed.is_empty()).then(|| {
                    format!(
                        "{} of {} ops refused: {}",
                        rep.failed.len(),
                        rep.planned,
                        rep.failed.join("; ")
                    )
                });
                self.table = Some(rep.table);
                self.foreign = rep.foreign;
                if rep.failed.is_empty() {
                    self.backoff.reset();
                } else {
                    self.retry(now);
                }
            }
            Err(u) => {
                if self.error.as_ref() != Some(&u.message) {
                    tracing::error!(error = %u.message, retry_in = ?self.backoff.peek(), "ipvs: cannot program the kernel");
                }
                self.error = Some(u.message);
                self.retry(now);
            }
        }
    }

    fn retry(&mut self, now: Instant) {
        let at = now + self.backoff.next();
        self.due = Some(self.due.map_or(at, |d| d.min(at)));
    }

    /// A status-only dump (no pass) saw this table.
    pub fn handle_refresh(&mut self, table: Table, now: Instant) {
        self.end_drains(&table, now);
        self.table = Some(table);
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn health(&self) -> &HealthMap {
        &self.health
    }

    /// What `vigil status` shows: the kernel's table for the services the
    /// config owns (ipvsadm -Ln order), each real server's health, and
    /// the configured real servers the table lacks (down, removed).
    pub fn status(&self, checks: Option<&health::Snapshot>) -> IpvsStatus {
        let mut detail: BTreeMap<RealId, (String, u32)> = BTreeMap::new();
        if let Some(s) = checks {
            for r in &s.servers {
                let last = match r.last {
                    None => "none".to_owned(),
                    Some(Ok(())) => "ok".to_owned(),
                    Some(Err(f)) => f.to_string(),
                };
                for id in reals_of(&self.config, r.service, r.real) {
                    detail.insert(id, (last.clone(), r.consecutive_failures));
                }
            }
        }
        let empty = Table::default();
        let table = self.table.as_ref().unwrap_or(&empty);
        let mut services = Vec::new();
        for vs in &self.config.virtual_servers {
            let id = desired::service_id(vs);
            let want = desired::service(vs);
            let have = table.services.get(&id);
            let svc = have.map_or(&want, |e| &e.service);
            let mut dests = Vec::new();
            let mut listed = BTreeSet::new();
            if let Some(e) = have {
                for d in e.dests.values() {
                    listed.insert(d.id);
                    let c = d.conns.unwrap_or_default();
                    dests.push(self.dest_status(vs, id, d.id, &detail, |s| {
                        s.method = method_name(d.fwd).to_owned();
                        s.weight = Some(d.weight);
                        s.active = c.active;
                        s.inactive = c.inactive;
                    }));
                }
            }
            for rs in &vs.real_servers {
                let did = desired::dest_id(vs, rs);
                if listed.insert(did) {
                    let m = rs.method.unwrap_or(vs.method);
                    dests.push(self.dest_status(vs, id, did, &detail, |s| {
                        s.method = method_name(desired::fwd_method(m)).to_owned();
                    }));
                }
            }
            services.push(IpvsServiceStatus {
                service: id.to_string(),
                in_table: have.is_some(),
                scheduler: svc.scheduler.clone(),
                persistent: (svc.flags & SVC_F_PERSISTENT != 0).then_some(svc.timeout),
                mask: mask(svc),
                dests,
            });
        }
        services.extend(self.retired_status(table));
        IpvsStatus {
            services,
            foreign: self.foreign.iter().map(|s| s.to_string()).collect(),
            error: self.error.clone(),
            // Filled in by the control server from `super::sync`'s task.
            sync_daemon: None,
        }
    }

    /// Services an earlier config had that the kernel still holds while
    /// their real servers drain.
    fn retired_status(&self, table: &Table) -> Vec<IpvsServiceStatus> {
        self.retired
            .iter()
            .filter_map(|id| table.services.get(id).map(|e| (id, e)))
            .map(|(id, e)| IpvsServiceStatus {
                service: id.to_string(),
                in_table: true,
                scheduler: e.service.scheduler.clone(),
                persistent: (e.service.flags & SVC_F_PERSISTENT != 0).then_some(e.service.timeout),
                mask: mask(&e.service),
                dests: e
                    .dests
                    .values()
                    .map(|d| {
                        let c = d.conns.unwrap_or_default();
                        let real = RealId {
                            service: *id,
                            dest: d.id,
                        };
                        IpvsDestStatus {
                            dest: d.id.to_string(),
                            method: method_name(d.fwd).to_owned(),
                            weight: Some(d.weight),
                            active: c.active,
                            inactive: c.inactive,
                            health: if self.draining.contains_key(&real) {
                                "draining"
                            } else {
                                "removed"
                            }
                            .to_owned(),
                            last: "none".to_owned(),
                            failures: 0,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    fn dest_status(
        &self,
        vs: &crate::config::model::VirtualServer,
        service: ServiceId,
        dest: super::wire::DestId,
        detail: &BTreeMap<RealId, (String, u32)>,
        fill: impl FnOnce(&mut IpvsDestStatus),
    ) -> IpvsDestStatus {
        let id = RealId { service, dest };
        let rs = vs
            .real_servers
            .iter()
            .find(|rs| desired::dest_id(vs, rs) == dest);
        let health = match rs {
            None if self.draining.contains_key(&id) => "draining",
            None if vs.sorry_server.is_some() => "sorry",
            None => "unknown",
            Some(rs) if rs.checkers.is_empty() => "unchecked",
            Some(rs) => match desired::health_of(vs, rs, &self.health) {
                Health::Up => "up",
                Health::Down => "down",
            },
        };
        let (last, failures) = detail.get(&id).cloned().unwrap_or(("none".into(), 0));
        let mut s = IpvsDestStatus {
            dest: dest.to_string(),
            method: String::new(),
            weight: None,
            active: 0,
            inactive: 0,
            health: health.to_owned(),
            last,
            failures,
        };
        fill(&mut s);
        s
    }
}

fn has_dest(t: &Table, r: &RealId) -> bool {
    t.services
        .get(&r.service)
        .is_some_and(|e| e.dests.contains_key(&r.dest))
}

/// The persistence mask as ipvsadm prints it, when it is not the host's.
fn mask(s: &super::wire::Service) -> Option<String> {
    if s.flags & SVC_F_PERSISTENT == 0 {
        return None;
    }
    match s.id.af() {
        super::wire::Af::V4 if s.netmask != u32::MAX => {
            Some(std::net::Ipv4Addr::from(s.netmask).to_string())
        }
        super::wire::Af::V6 if s.netmask != 128 => Some(s.netmask.to_string()),
        _ => None,
    }
}

/// ipvsadm's name of a forwarding method.
pub fn method_name(m: FwdMethod) -> &'static str {
    match m {
        FwdMethod::Masq => "Masq",
        FwdMethod::Local => "Local",
        FwdMethod::Tunnel => "Tunnel",
        FwdMethod::Route => "Route",
        FwdMethod::Bypass => "Bypass",
    }
}

/// The kernel identities of a real server the health runner names by the
/// config's key (which lacks the protocol: a key can match several).
fn reals_of(
    config: &Config,
    service: crate::config::model::ServiceKey,
    real: (std::net::IpAddr, Option<u16>),
) -> Vec<RealId> {
    config
        .virtual_servers
        .iter()
        .filter(|vs| vs.key == service)
        .flat_map(|vs| {
            vs.real_servers
                .iter()
                .filter(move |rs| (rs.addr, rs.port) == real)
                .map(move |rs| desired::real_id(vs, rs))
        })
        .collect()
}

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

// ---------------------------------------------------------------------------
// The edge: channels, clock, the blocking client.

/// The netlink side, moved into `spawn_blocking` and back.
struct Edge {
    client: Option<Client>,
    modprobe_tried: bool,
    timeouts: Option<Timeouts>,
    /// Applied once, after the first connect (`ip_vs` loaded).
    sysctls: Vec<Sysctl>,
}

impl fmt::Debug for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge")
            .field("connected", &self.client.is_some())
            .finish()
    }
}

impl Edge {
    /// Connect if needed, set the timeouts once. Blocking.
    fn connect(&mut self) -> Result<&mut Client, client::Error> {
        if self.client.is_none() {
            let t0 = Instant::now();
            self.client = Some(Client::connect()?);
            tracing::info!(
                "ipvs: connected to the kernel's IPVS family ({:.1} ms)",
                t0.elapsed().as_secs_f64() * 1000.0
            );
        }
        if !self.sysctls.is_empty() {
            let failed = sysctl::apply(Path::new(sysctl::DIR), &self.sysctls);
            for (name, e) in &failed {
                tracing::error!(sysctl = %name, error = %e, "ipvs: cannot set net.ipv4.vs.{name}");
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
        let c = self.client.as_mut().expect("just set");
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
        Ok(c)
    }

    /// One pass; a failure that is not the kernel refusing an op drops the
    /// socket so the next pass reconnects. Blocking.
    fn pass(&mut self, req: &PassRequest) -> Result<PassReport, Unavailable> {
        let r = self
            .connect()
            .and_then(|c| {
                // Timed from here: connecting (and the sysctls) is not the pass.
                let t0 = Instant::now();
                pass(c, req).map(|rep| PassReport {
                    took: t0.elapsed(),
                    ..rep
                })
            })
            .map_err(|e| Unavailable::from_client(&e));
        if r.is_err() {
            self.client = None;
        }
        r
    }

    fn refresh(&mut self) -> Option<Table> {
        let c = self.client.as_mut()?;
        match dump(c) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "ipvs: status dump failed; reconnecting next pass");
                self.client = None;
                None
            }
        }
    }
}

/// Run `f` on the edge in a blocking thread; the edge comes back. If `f`
/// panicked (a bug in the netlink stack), a fresh unconnected edge comes
/// back with `None`: the task goes on, the daemon never goes down.
async fn blocking<T: Send + 'static>(
    edge: Edge,
    f: impl FnOnce(&mut Edge) -> T + Send + 'static,
) -> (Edge, Option<T>) {
    let fresh = Edge {
        client: None,
        modprobe_tried: edge.modprobe_tried,
        timeouts: edge.timeouts,
        sysctls: edge.sysctls.clone(),
    };
    let h = tokio::task::spawn_blocking(move || {
        let mut edge = edge;
        let t = f(&mut edge);
        (edge, t)
    });
    let r = h.await;
    // A dump of thousands of destinations was allocated and freed there.
    crate::mem::trim();
    match r {
        Ok((e, t)) => (e, Some(t)),
        Err(e) => {
            tracing::error!(error = %e, "ipvs: netlink call panicked; reconnecting");
            (fresh, None)
        }
    }
}

/// `modprobe ip_vs`, bounded; logs what happened.
async fn modprobe() {
    tracing::warn!("ipvs: ip_vs not loaded; running modprobe ip_vs");
    let child = tokio::process::Command::new("modprobe")
        .arg("ip_vs")
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(Duration::from_secs(10), child).await {
        Ok(Ok(s)) if s.success() => tracing::info!("ipvs: modprobe ip_vs done"),
        Ok(Ok(s)) => tracing::error!(status = %s, "ipvs: modprobe ip_vs failed"),
        Ok(Err(e)) => tracing::error!(error = %e, "ipvs: cannot run modprobe"),
        Err(_) => tracing::error!("ipvs: modprobe ip_vs timed out after 10 s"),
    }
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
        done: oneshot::Sender<Result<Applied, String>>,
    },
}

/// What the first pass after a commit did, for `vigil reload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub ops: usize,
    /// Ops the kernel refused, as "op: error" (retried later).
    pub failed: Vec<String>,
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
    pub status: watch::Sender<IpvsStatus>,
}

/// The task. Runs until the daemon drops it (at shutdown), leaving the
/// kernel table in place.
pub async fn run(mut core: Core, mut io: Io, timeouts: Option<Timeouts>, sysctls: Vec<Sysctl>) {
    let mut edge = Edge {
        client: None,
        modprobe_tried: false,
        timeouts,
        sysctls,
    };
    let mut next_refresh = tokio::time::Instant::now() + STATUS_REFRESH;
    let mut events_open = true;
    let mut commands_open = true;
    let mut waiting: Vec<oneshot::Sender<Result<Applied, String>>> = Vec::new();
    loop {
        if let Some(req) = core.poll_pass(Instant::now()) {
            let (e, r) = blocking(edge, move |e| e.pass(&req)).await;
            edge = e;
            let r = r.unwrap_or_else(|| {
                Err(Unavailable {
                    module_missing: false,
                    message: "netlink call panicked".into(),
                })
            });
            if matches!(&r, Err(u) if u.module_missing) && !edge.modprobe_tried {
                edge.modprobe_tried = true;
                modprobe().await;
            }
            let answer = match &r {
                Ok(rep) => Ok(Applied {
                    ops: rep.planned,
                    failed: rep.failed.clone(),
                    draining: 0,
                }),
                Err(u) => Err(u.message.clone()),
            };
            core.handle_pass(r, Instant::now());
            for tx in waiting.drain(..) {
                let _ = tx.send(answer.clone().map(|a| Applied {
                    draining: core.draining().len(),
                    ..a
                }));
            }
            run_quorum_scripts(&mut core, &io.notifier);
            publish(&core, io.checks.as_ref(), &io.status).await;
        }
        let wake = core.poll_timeout();
        tokio::select! {
            ev = io.events.recv(), if events_open => match ev {
                Some(ev) => {
                    core.handle_health(&ev, Instant::now());
                    run_real_server_script(&core, &ev, &io.notifier);
                }
                None => events_open = false,
            },
            cmd = io.commands.recv(), if commands_open => match cmd {
                Some(Command::Reconfigure { config, timeouts, sysctls, checks, done }) => {
                    if checks.is_some() {
                        io.checks = checks;
                    }
                    edge.timeouts = timeouts;
                    edge.sysctls = sysctls;
                    core.reconfigure(config, Instant::now());
                    waiting.push(done);
                }
                None => commands_open = false,
            },
            () = sleep_until(wake) => {}
            () = tokio::time::sleep_until(next_refresh) => {
                next_refresh = tokio::time::Instant::now() + STATUS_REFRESH;
                let (e, t) = blocking(edge, Edge::refresh).await;
                edge = e;
                if let Some(t) = t.flatten() {
                    core.handle_refresh(t, Instant::now());
                }
                publish(&core, io.checks.as_ref(), &io.status).await;
            }
        }
    }
}

/// `notify_up` / `notify_down` of the real server a health event is about
/// (the runner sends events only on changes).
fn run_real_server_script(core: &Core, ev: &HealthEvent, notifier: &Notifier) {
    for vs in core
        .config
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
                (&rs.notify_up, &rs.notify_down),
            ));
        }
    }
}

/// `quorum_up` / `quorum_down` of each service whose quorum changed.
fn run_quorum_scripts(core: &mut Core, notifier: &Notifier) {
    for c in core.take_quorum_changes() {
        let Some(vs) = core.virtual_server(&c.service) else {
            continue;
        };
        if vs.quorum_up.is_none() && vs.quorum_down.is_none() {
            continue;
        }
        notifier.notify(script_event(
            notify::EventKind::VirtualServer,
            c.service.to_string(),
            c.up,
            (&vs.quorum_up, &vs.quorum_down),
        ));
    }
}

/// An IPVS-side event for the notifier: the up script or the down one
/// (see `notify::EventKind`), no mail.
fn script_event(
    kind: notify::EventKind,
    name: String,
    up: bool,
    (up_script, down_script): (&Option<Script>, &Option<Script>),
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
            master: up_script.clone(),
            backup: down_script.clone(),
            ..Notify::default()
        },
        smtp_alert: false,
    }
}

async fn publish(core: &Core, checks: Option<&HealthHandle>, status: &watch::Sender<IpvsStatus>) {
    let snap = match checks {
        Some(h) => h.snapshot().await,
        None => None,
    };
    status.send_replace(core.status(snap.as_ref()));
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
