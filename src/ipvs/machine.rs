//! The IPVS task's core, sans-IO: keeps the kernel's table equal to
//! config + health by deciding when a reconcile pass runs and what it asks
//! for.
//!
//! Owns: the health map the table is built from, quorum states, the
//! drains and retired services of config commits, when the next pass is
//! due (coalescing, retry [`Backoff`]), and why the table is not what the
//! config wants ([`TableError`]). Must not: read a clock, touch a socket,
//! spawn or log-and-forget an error: `now` comes in, [`Machine::poll_pass`]
//! hands out a [`PassRequest`], the caller runs it ([`super::pass`] over
//! [`super::edge`]) and feeds the [`PassReport`] back to
//! [`Machine::handle_pass`].
//!
//! ```text
//!   handle_health(ev, now) / reconfigure(config, now) / handle_refresh(table, now)
//!        |                                   ^
//!        v                                   | handle_pass(Result<PassReport, Unavailable>, now)
//!   poll_timeout() -> poll_pass(now) -> PassRequest --> [edge: pass()]
//!   take_quorum_changes() -> quorum_up / quorum_down scripts (the task runs them)
//! ```
//!
//! Timing (all timers are data; a wakeup re-checks `due`):
//! - start: one pass at once. An identical kernel table (a restart of
//!   vigil) gives a plan of zero ops: the table is adopted as it stands.
//!   After a hitless restart the previous process's last table may be
//!   handed in ([`Machine::with_handed_table`]): the first pass plans
//!   against it without reading the kernel (the previous process changed
//!   the kernel no more once it handed it over), so the new process is in
//!   charge of the table without the read of the whole kernel table (0.1
//!   to 0.23 s at 10,000 destinations in the lab's VM); that
//!   read follows at once, as a whole pass that adopts and repairs what
//!   differs (another program's change meanwhile).
//! - a health change: a pass [`COALESCE`] later; changes arriving before
//!   it are folded into the same pass (a burst of 100 costs one dump).
//!   When health changes are all that is due, the pass covers only the
//!   services they touch ([`PassRequest::scope`]): their desired entries,
//!   read from the kernel and diffed alone, so a real server going down in
//!   a table of 100,000 destinations costs what its service costs, not
//!   a dump and a diff of the whole table. Anything else due (start, a
//!   commit, a drain's end, a retry, an error standing) makes the next
//!   pass whole.
//! - an unreachable kernel (no `ip_vs`, socket error): the next pass after
//!   a backoff doubling from [`BACKOFF_MIN`] to [`BACKOFF_MAX`] (the task
//!   runs `modprobe ip_vs` once before the first retry).
//! - ops the kernel refused: each is logged with its op and errno; the
//!   next pass ([`BACKOFF_MIN`] later, then backing off) re-diffs and so
//!   retries exactly what is still missing.
//!
//! Config commits ([`Machine::reconfigure`], from `vigil reload` or
//! SIGHUP): the next pass runs at once. What the new config lacks is not
//! cut:
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
//! the task runs every few seconds (`super::refresh`). A status dump that
//! finds a service vigil programmed gone (deleted by another program,
//! `ip_vs` reloaded) makes a whole pass due at once, which puts it back.
//! At start, a destination of an owned service that the config does not
//! have (an earlier config's, left while vigil was stopped) is adopted as
//! draining too, not deleted. Drains live in memory: a restart during one
//! starts a new drain timeout for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::desired::{self, Health, HealthMap, QuorumChange, QuorumStates, RealId, Weights};
use super::dr_path::Paths;
use super::kernel::Table;
use super::names::Names;
use super::pass::{PassReport, PassRequest, Refusals, Unavailable};
use super::wire::ServiceId;
use crate::backoff::Backoff;
use crate::config::model::{Config, VirtualServer};
use crate::control::IpvsStatus;
use crate::health::{self, HealthEvent};
use crate::logfields::{self, RealServer};

/// Health changes are folded into one pass at most this often.
pub const COALESCE: Duration = Duration::from_millis(50);
/// First retry delay after a failed pass; doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a real server removed by config keeps its established
/// connections (at weight 0) before it is deleted, unless they end
/// sooner. An hour lets WebSocket sessions end or move on their own terms
/// (most clients reconnect well within it) while bounding how long a
/// removed server stays reachable; a deleted server's remaining
/// connections are reset (`expire_nodest_conn`).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why the kernel's table is not (fully) what the config wants, as of the
/// last pass; `vigil status` shows it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TableError {
    /// The pass could not run: the kernel cannot be programmed.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The pass ran and the kernel refused some of its ops.
    #[error("{} of {planned} ops refused: {refused}", refused.len())]
    Refused { planned: usize, refused: Refusals },
}

/// The IPVS task's state and decisions (see the module header).
#[derive(Debug)]
pub struct Machine {
    config: Arc<Config>,
    /// `config`'s real servers by the health runner's names.
    names: Names,
    /// The DR-path services `config` needs, in every pass's table.
    paths: Paths,
    health: HealthMap,
    /// Weights `misc_dynamic` checks set, replacing the configured ones.
    weights: Weights,
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
    /// What the due pass covers: the whole table, or (`false`) only the
    /// services in `touched`, which health changes alone made due.
    whole: bool,
    touched: BTreeSet<ServiceId>,
    /// The services the pass in flight covers; `None`: all of them.
    scope: Option<BTreeSet<ServiceId>>,
    backoff: Backoff,
    /// The last table seen, what was left alone, and the current error.
    table: Option<Table>,
    foreign: Vec<ServiceId>,
    misordered: Vec<ServiceId>,
    error: Option<TableError>,
    passes: u64,
    /// Where a hitless restart's handed-over table stands.
    handed: Handed,
}

/// A table handed over by the process before a hitless restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handed {
    /// None, or its passes are over.
    No,
    /// In `table`: the first pass plans against it.
    Waiting,
    /// The pass in flight plans against it.
    Planning,
    /// That pass ran: the next whole pass reads the kernel (due at once)
    /// and says what it found.
    Read,
}

impl Machine {
    /// `initial`: the health runner's snapshot before it runs (alpha
    /// servers start down). The first pass is due at `now`.
    pub fn new(config: Arc<Config>, initial: Option<&health::States>, now: Instant) -> Self {
        let config = expanded(config);
        let names = Names::new(&config);
        let paths = Paths::of(&config);
        // Collected, then built in one go (sorted, then bulk-loaded): one
        // insert per real server was most of a cold start's IPVS set-up at
        // 10,000 of them. An id named twice keeps its last value, as
        // inserting would.
        let mut health = Vec::new();
        let mut weights = Vec::new();
        if let Some(s) = initial {
            health.reserve(s.servers.len());
            for r in &s.servers {
                names.each_real_of(&config, r.service, r.real, |id, rs| {
                    // An unchecked server is up whatever the map says
                    // (`desired::health_of`): no entry for it.
                    if rs.checkers.is_empty() {
                        return;
                    }
                    health.push((id, if r.up { Health::Up } else { Health::Down }));
                    if let Some(w) = r.weight {
                        weights.push((id, w));
                    }
                });
            }
        }
        let health: HealthMap = health.into_iter().collect();
        let weights: Weights = weights.into_iter().collect();
        Machine {
            config,
            names,
            paths,
            health,
            weights,
            quorum: QuorumStates::new(),
            retired: BTreeSet::new(),
            draining: BTreeMap::new(),
            drain_timeout: DRAIN_TIMEOUT,
            adopted: false,
            quorum_changes: Vec::new(),
            due: Some(now),
            whole: true,
            touched: BTreeSet::new(),
            scope: None,
            backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX),
            table: None,
            foreign: Vec::new(),
            misordered: Vec::new(),
            error: None,
            passes: 0,
            handed: Handed::No,
        }
    }

    /// The table the process before a hitless restart handed over (its
    /// last, as the kernel held it then): the first pass plans against it
    /// without reading the kernel, and a whole pass that reads it follows
    /// at once.
    pub fn with_handed_table(mut self, table: Table) -> Self {
        self.table = Some(table);
        self.handed = Handed::Waiting;
        self
    }

    /// The last table, encoded for a hitless restart's record (postcard;
    /// read back by [`Self::with_handed_table`] in a process of the same
    /// build), when the kernel is known to hold it: a pass has adopted the
    /// kernel's table and none of its ops was refused since. `None`: the
    /// new process reads the kernel.
    pub fn handover_table(&self) -> Option<Vec<u8>> {
        if !self.adopted || self.error.is_some() {
            return None;
        }
        postcard::to_allocvec(self.table.as_ref()?).ok()
    }

    /// A real server changed state or (`misc_dynamic`) weight: a pass
    /// within [`COALESCE`]. A weight changes the destination in place.
    pub fn handle_health(&mut self, ev: &HealthEvent, now: Instant) {
        let h = if ev.up { Health::Up } else { Health::Down };
        let mut touched = Vec::new();
        for id in self.names.reals_of(&self.config, ev.service, ev.real) {
            let mut changed = self.health.insert(id, h) != Some(h);
            changed |= match ev.weight {
                Some(w) => self.weights.insert(id, w) != Some(w),
                None => self.weights.remove(&id).is_some(),
            };
            if changed {
                touched.push(id.service);
            }
        }
        if !touched.is_empty() {
            self.touched.extend(touched);
            // An earlier due (start, a pending coalesce) stays; a retry
            // backoff is cut short: the table is wrong now.
            self.due_at(now + COALESCE);
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
        let old = std::mem::replace(&mut self.config, expanded(config));
        self.names = Names::new(&self.config);
        let old_paths = std::mem::replace(&mut self.paths, Paths::of(&self.config));
        let new = &self.config;
        let mut owned = desired::owned(new);
        owned.extend(self.paths.ids());
        let known = desired::config_dests(new);
        self.retired
            .extend(desired::owned(&old).difference(&owned).copied());
        self.retired
            .extend(old_paths.ids().filter(|id| !owned.contains(id)));
        self.retired.retain(|s| !owned.contains(s));
        self.draining.retain(|r, _| !known.contains(r));
        let deadline = now + self.drain_timeout;
        for r in desired::removed_reals(&old, new) {
            if self.table.as_ref().is_none_or(|t| has_dest(t, &r)) {
                tracing::info!(
                    virtual_server = %logfields::VirtualServer::kernel(&r.service),
                    real_server = %RealServer::kernel(&r.dest),
                    drain_timeout = ?self.drain_timeout,
                    "ipvs: real server removed by config: draining at weight 0"
                );
                self.draining.entry(r).or_insert(deadline);
            }
        }
        self.health.retain(|r, _| known.contains(r));
        let dynamic = desired::dynamic_reals(new);
        self.weights.retain(|r, _| dynamic.contains(r));
        self.quorum.retain(|s, _| owned.contains(s));
        self.due_whole(now);
    }

    /// A pass at `at` or before, over whatever is touched by then.
    fn due_at(&mut self, at: Instant) {
        self.due = Some(self.due.map_or(at, |d| d.min(at)));
    }

    /// A whole pass at `at` or before.
    fn due_whole(&mut self, at: Instant) {
        self.whole = true;
        self.due_at(at);
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
        let touched = std::mem::take(&mut self.touched);
        // A scoped pass needs a table to read its services over and a
        // whole one before it (adopted strays, no error standing).
        let whole = std::mem::replace(&mut self.whole, false)
            || !self.adopted
            || self.error.is_some()
            || self.table.is_none();
        self.scope = (!whole).then_some(touched);
        let draining = self.draining.keys().copied().collect();
        let mut d = desired::build_where(
            &self.config,
            &self.health,
            &self.weights,
            &draining,
            &self.quorum,
            |id| self.scope.as_ref().is_none_or(|s| s.contains(id)),
        );
        if self.scope.is_none() {
            (d.table.services).extend(self.paths.entries().map(|e| (e.service.id, e)));
        }
        for c in &d.changes {
            if c.up {
                tracing::info!(virtual_server = %logfields::VirtualServer::kernel(&c.service), "ipvs: quorum gained");
            } else {
                tracing::warn!(virtual_server = %logfields::VirtualServer::kernel(&c.service), "ipvs: quorum lost");
            }
        }
        self.quorum_changes.extend(d.changes.iter().copied());
        match self.scope {
            None => self.quorum = d.quorum.clone(),
            Some(_) => self.quorum.extend(&d.quorum),
        }
        let trust = self.scope.is_none() && self.handed == Handed::Waiting;
        if trust {
            self.handed = Handed::Planning;
        }
        Some(PassRequest {
            desired: d,
            retired: self.retired.clone(),
            adopt: (!self.adopted).then(|| Arc::clone(&self.config)),
            last: None,
            scope: self.scope.clone(),
            trust_last: trust,
        })
    }

    /// Each service's quorum as of the last pass's build.
    pub fn quorum(&self) -> &QuorumStates {
        &self.quorum
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

    /// The DR-path services of the config.
    pub fn paths(&self) -> &Paths {
        &self.paths
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
                virtual_server = %logfields::VirtualServer::kernel(&r.service),
                real_server = %RealServer::kernel(&r.dest),
                connections = ?left,
                "ipvs: drain timeout: removing the real server with its remaining connections"
            );
            self.due_whole(now);
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
                    virtual_server = %logfields::VirtualServer::kernel(&r.service),
                    real_server = %RealServer::kernel(&r.dest),
                    "ipvs: real server drained: no connection left; removing it"
                );
                self.due_whole(now);
            }
        }
    }

    /// The result of the pass [`Machine::poll_pass`] asked for.
    pub fn handle_pass(&mut self, r: Result<PassReport, Unavailable>, now: Instant) {
        self.passes += 1;
        let scope = self.scope.take();
        let ran = self.handed;
        // A pass that trusted the handed table ran: the next whole one
        // reads the kernel, at once. Any other pass read it.
        self.handed = if ran == Handed::Planning && r.is_ok() {
            Handed::Read
        } else {
            Handed::No
        };
        match (r, scope) {
            (Ok(rep), Some(scope)) => self.handle_scoped_report(rep, &scope, now),
            (Ok(rep), None) => self.handle_report(rep, Logged::of(ran, self.passes), now),
            (Err(u), _) => self.handle_unavailable(u, now),
        }
        if self.handed == Handed::Read {
            self.due_whole(now);
        }
    }

    /// A pass ran: adopt strays, end drains, keep the table; refused ops
    /// are retried after a backoff. A pass that trusted a handed table
    /// adopts nothing yet: the pass that reads the kernel does.
    fn handle_report(&mut self, rep: PassReport, logged: Logged, now: Instant) {
        self.adopted = logged != Logged::Handed;
        // Said once: after a hitless restart both the pass against the
        // handed table and the read after it find the same strays.
        for r in &rep.adopted {
            if self.draining.contains_key(r) {
                continue;
            }
            tracing::warn!(
                virtual_server = %logfields::VirtualServer::kernel(&r.service),
                real_server = %RealServer::kernel(&r.dest),
                drain_timeout = ?self.drain_timeout,
                "ipvs: real server in the kernel but not in the config: draining at weight 0"
            );
            self.draining.insert(*r, now + self.drain_timeout);
        }
        self.retired.retain(|s| rep.table.services.contains_key(s));
        self.end_drains(&rep.table, now);
        log_report(&rep, logged);
        for s in rep.foreign.iter().filter(|s| !self.foreign.contains(s)) {
            tracing::warn!(
                virtual_server = %logfields::VirtualServer::kernel(s),
                "ipvs: service not in the config left alone"
            );
        }
        for s in rep
            .misordered
            .iter()
            .filter(|s| !self.misordered.contains(s))
        {
            tracing::warn!(
                virtual_server = %logfields::VirtualServer::kernel(s),
                "ipvs: anycast service's destinations not in config order (a real server added \
                 live out of turn, while the ones to move have connections): a box that starts \
                 afresh builds another mh table; put in order once they are idle"
            );
        }
        let refused = !rep.failed.is_empty();
        self.error = refused.then(|| TableError::Refused {
            planned: rep.planned,
            refused: rep.failed,
        });
        self.table = Some(rep.table);
        self.foreign = rep.foreign;
        self.misordered = rep.misordered;
        if refused {
            self.retry(now);
        } else {
            self.backoff.reset();
        }
    }

    /// A pass over the services in `scope` ran ([`Self::poll_pass`]): what
    /// it found of them is merged over what the passes before found of the
    /// rest (foreign services only a whole pass finds).
    fn handle_scoped_report(
        &mut self,
        mut rep: PassReport,
        scope: &BTreeSet<ServiceId>,
        now: Instant,
    ) {
        let mut misordered: Vec<ServiceId> = (self.misordered.iter())
            .filter(|s| !scope.contains(s))
            .copied()
            .collect();
        misordered.append(&mut rep.misordered);
        rep.misordered = misordered;
        rep.foreign = self.foreign.clone();
        self.handle_report(rep, Logged::Later, now);
    }

    /// No pass could run: retried after a backoff.
    fn handle_unavailable(&mut self, u: Unavailable, now: Instant) {
        // Logged once per cause, not on every retry.
        if self.error.as_ref().map(ToString::to_string) != Some(u.to_string()) {
            tracing::error!(error = %u, retry_in = ?self.backoff.peek(), "ipvs: cannot program the kernel");
        }
        self.error = Some(u.into());
        self.retry(now);
    }

    fn retry(&mut self, now: Instant) {
        let at = now + self.backoff.next();
        self.due_whole(at);
    }

    /// The last table, lent to a dump that reads the kernel over it
    /// (`kernel::dump_into`: one table held, not two): a status refresh's,
    /// or a pass's ([`PassRequest::last`]). It comes back in
    /// [`Self::handle_refresh`] or [`Self::handle_pass`] when the dump
    /// ends, in [`Self::table_back`] when it fails. Until then the machine
    /// has none: the task asks nothing of it while a dump runs.
    pub fn lend_table(&mut self) -> Option<Table> {
        self.table.take()
    }

    /// A dump on the lent table did not finish: `last` is the table
    /// back, its services read before the failure new, the rest as they
    /// were (`None`: it was lost with a panic). No drain ends on it: a
    /// service not read still shows its old counters.
    pub fn table_back(&mut self, last: Option<Table>) {
        self.table = last;
    }

    /// A status-only dump (no pass) saw this table. A service vigil
    /// programmed that the kernel no longer has (another program deleted
    /// it, or `ip_vs` was reloaded) is put back by a whole pass at once: a
    /// pass over a few services would not see the rest gone.
    pub fn handle_refresh(&mut self, table: Table, now: Instant) {
        self.end_drains(&table, now);
        if let Some(gone) = self.first_gone(&table) {
            tracing::warn!(
                virtual_server = %logfields::VirtualServer::kernel(&gone),
                "ipvs: a service vigil programmed is gone from the kernel: programming the table again"
            );
            self.due_whole(now);
        }
        self.table = Some(table);
    }

    /// The first service the config owns (or a DR path) that `table` lacks
    /// though the last pass left it there: only when a pass has adopted
    /// the table and no error stands (a refused service is retried anyway).
    fn first_gone(&self, table: &Table) -> Option<ServiceId> {
        if !self.adopted || self.error.is_some() {
            return None;
        }
        let owned = self.config.virtual_servers.iter().map(desired::service_id);
        owned
            .chain(self.paths.ids())
            .find(|id| !table.services.contains_key(id))
    }

    /// Why the table is not what the config wants, as of the last pass.
    pub fn error(&self) -> Option<&TableError> {
        self.error.as_ref()
    }

    pub fn health(&self) -> &HealthMap {
        &self.health
    }

    /// The index of the config's real servers ([`Names`]).
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The config the table is built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The last table a dump saw; `None` before the first pass.
    pub fn table(&self) -> Option<&Table> {
        self.table.as_ref()
    }

    /// Services an earlier config had that the kernel may still hold.
    pub fn retired(&self) -> &BTreeSet<ServiceId> {
        &self.retired
    }

    /// Services in the kernel that the config does not own (left alone).
    pub fn foreign(&self) -> &[ServiceId] {
        &self.foreign
    }

    /// Services whose kernel destination list is not in the order they
    /// keep (anycast; see [`super::reconcile`]).
    pub fn misordered(&self) -> &[ServiceId] {
        &self.misordered
    }

    /// What `vigil status` shows (see [`super::status`]).
    pub fn status(&self, checks: Option<&health::States>) -> IpvsStatus {
        super::status::view(self, checks)
    }
}

/// Which pass a report is of, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logged {
    /// The first pass of a plain start, which adopts the kernel's table.
    First,
    /// A hitless restart's first pass, against the handed-over table.
    Handed,
    /// The pass after it, the first to read the kernel.
    ReadAfterHanded,
    /// Any other (logged when it changed anything).
    Later,
}

impl Logged {
    /// The pass `handed` was in flight for, the `passes`th.
    fn of(handed: Handed, passes: u64) -> Self {
        match handed {
            Handed::Planning => Logged::Handed,
            Handed::Read => Logged::ReadAfterHanded,
            _ if passes == 1 => Logged::First,
            _ => Logged::Later,
        }
    }
}

/// The pass in the log: its counts when it changed anything (or on a
/// start's passes), and each refused op.
fn log_report(rep: &PassReport, logged: Logged) {
    let applied = rep.planned - rep.failed.len();
    let (what, unchanged) = match logged {
        Logged::Handed => (
            "table reconciled",
            " (against the table the previous process handed over; the kernel's is read next)",
        ),
        Logged::ReadAfterHanded => (
            "the kernel's table read after the hitless restart",
            " (as handed over)",
        ),
        Logged::First | Logged::Later => ("table reconciled", " (adopted as it stands)"),
    };
    if rep.planned > 0 || logged != Logged::Later {
        // Counts in the text too: journalctl shows only the message.
        // The pass time is what `make bench` reads for the no-op
        // reconcile at 10,000 destinations.
        tracing::info!(
            ops = rep.planned,
            applied,
            "ipvs: {what}: {} ops planned, {applied} applied{} \
             ({} services, {} destinations; pass {:.1} ms)",
            rep.planned,
            if rep.planned == 0 { unchanged } else { "" },
            rep.table.services.len(),
            rep.table.dest_count(),
            rep.phases.total().as_secs_f64() * 1000.0,
        );
    }
    for f in rep.failed.iter() {
        let (vs, rs) = logfields::op_subject(&f.op);
        tracing::error!(
            virtual_server = %vs,
            real_server = rs.as_ref().map(tracing::field::display),
            op = %f.op,
            error = %f.reason,
            "ipvs: kernel refused an op; retried next pass"
        );
    }
}

fn has_dest(t: &Table, r: &RealId) -> bool {
    t.services
        .get(&r.service)
        .is_some_and(|e| e.dests.contains_key(&r.dest))
}

/// `config` with its `virtual_server group`s expanded into one virtual
/// server per member ([`Config::services`]): the machine plans, drains
/// and adopts kernel services, which is what a group stands for.
fn expanded(config: Arc<Config>) -> Arc<Config> {
    if config.virtual_servers.iter().all(|vs| vs.group.is_none()) {
        return config;
    }
    Arc::new(config.with_services_expanded())
}

#[cfg(test)]
#[path = "machine_tests.rs"]
pub(super) mod tests;
