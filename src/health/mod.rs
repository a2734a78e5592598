//! Health checks of the real servers: TCP_CHECK, HTTP_GET, SSL_GET,
//! WS_CHECK and MISC_CHECK, on the one current-thread runtime, with
//! bounded concurrency.
//!
//! Owns: the [`Runner`] task, which ties the sans-IO [`scheduler::Machine`] to the
//! I/O of [`check::run`], emits [`HealthEvent`]s on a channel when a real
//! server changes state, and answers [`HealthHandle::snapshot`] for
//! `vigil status`.
//! Must not: touch IPVS (the daemon feeds the events to `ipvs`), lock
//! shared state (one task owns it all), or log anything but state changes
//! (keepalived logs every check of 10,000; a healthy pool logs nothing
//! here).
//!
//! ```text
//!   Config --plan::plan--> servers x checkers (Timing, CheckSpec)
//!                                 |
//!                                 v
//!  +--------------------------- Runner task -----------------------------+
//!  |  Machine::poll_start(now)   --> plain TCP_CHECK: connects::Connects |
//!  |        ^                        (one epoll set, deadlines as data)  |
//!  |        |                    --> others: check::start(spec) futures  |
//!  |        |                                  | (FuturesUnordered)      |
//!  |        +---- handle_result(id, outcome) --+ (all ready, one pass)   |
//!  |  poll_event() --> log one line --> Outbox --> mpsc::Sender ----------+--> daemon / ipvs
//!  |  one Sleep, reset to min(poll_timeout(), next connect deadline)     |
//!  |  mpsc::Receiver<Request> <-- HealthHandle::snapshot() (oneshot) <---+--- vigil status
//!  +---------------------------------------------------------------------+
//! ```
//!
//! Modules: `scheduler` (timing and state, sans-IO), `http` and `ws`
//! (pure parsers, fuzzed), `check` and `tls` (the I/O), `connects` (plain
//! TCP_CHECKs without a future each), `misc` (MISC_CHECK:
//! a program through the notify runner, and keepalived's exit-status
//! rule), `plan` (config to specs), `outcome` (typed causes), `outbox`
//! (events held while the IPVS task's queue is full: the loop never waits
//! for it, so it still answers a busy IPVS task's snapshot request).
//!
//! `misc_dynamic`: a result that sets a new weight on a real server sends
//! a [`HealthEvent`] with `state_changed: false` (unless the same pass
//! changed its state: that event carries the weight too), so the IPVS
//! table takes the weight in place. See `scheduler` for the exact retry
//! and timing semantics and `check` for the time bound of one check.

pub mod check;
pub mod connects;
pub mod http;
pub mod local;
pub mod misc;
pub mod outbox;
pub mod outcome;
pub mod plan;
pub mod scheduler;
pub mod tally;
pub mod tls;
pub mod ws;

use crate::daemon::supervisor::Heartbeat;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::stream::{FuturesUnordered, StreamExt as _};
use futures::FutureExt as _;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::model::{Config, Protocol, ServiceKey};
use crate::logfields;

pub use check::{CheckSpec, Context};
pub use outcome::{Failure, HttpError, Outcome, Stage, TlsFailure, WsError};
pub use plan::PlanError;
pub use scheduler::{CheckId, ServerId, Timing};
pub use tally::{ServiceTally, Tally};

/// A real server changed state, or a `misc_dynamic` MISC_CHECK changed
/// its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthEvent {
    pub service: ServiceKey,
    /// The virtual server's protocol (for its log line's `virtual_server`).
    pub protocol: Protocol,
    pub real: (IpAddr, Option<u16>),
    pub up: bool,
    /// The checker whose result caused it: index in the real server's
    /// `checkers`, and its keyword.
    pub checker: usize,
    pub keyword: &'static str,
    /// That result: `Ok(())` for up, the failure for down.
    pub cause: Outcome,
    /// `false`: only the weight changed (`up` is the state it keeps).
    pub state_changed: bool,
    /// The weight a `misc_dynamic` MISC_CHECK set (exit status - 2);
    /// `None`: the configured weight.
    pub weight: Option<u32>,
}

/// Runner settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerConfig {
    /// At most this many checks in flight.
    pub max_in_flight: NonZeroUsize,
    /// Seed of the warmup spread; `None`: from the clock.
    pub seed: Option<u64>,
    /// Where MISC_CHECK users are looked up.
    pub users: plan::Users,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            max_in_flight: scheduler::Config::default().max_in_flight,
            seed: None,
            users: plan::Users::system(),
        }
    }
}

/// One real server in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealStatus {
    pub service: ServiceKey,
    pub real: (IpAddr, Option<u16>),
    pub up: bool,
    /// The most recent result of any of its checkers, and when.
    pub last: Option<Outcome>,
    pub last_check: Option<SystemTime>,
    /// The longest current failure streak among its checkers.
    pub consecutive_failures: u32,
    /// Checks done, all checkers together.
    pub checks_done: u64,
    /// Of those, the failed ones.
    pub checks_failed: u64,
    /// The weight a `misc_dynamic` MISC_CHECK set; `None`: configured.
    pub weight: Option<u32>,
}

/// A real server's state known from elsewhere (a hitless restart): its
/// service, address and port, and whether it is UP.
pub type KnownState = (ServiceKey, IpAddr, Option<u16>, bool);

/// Everything `vigil status` shows of health checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct States {
    pub servers: Vec<RealStatus>,
    /// Latencies and failures by virtual server and checker kind.
    pub tallies: Vec<ServiceTally>,
    pub stats: scheduler::Stats,
    pub in_flight: usize,
    pub queued: usize,
}

/// A request to the runner task.
#[derive(Debug)]
pub enum Request {
    States(oneshot::Sender<States>),
    /// Replace every check by the new runner's (a config commit), which
    /// takes over what the old one knew of each kept server; checks in
    /// flight are dropped. Answered once replaced.
    Replace(Box<Runner>, oneshot::Sender<()>),
}

/// Talks to a running [`Runner`]; the runner stops when every handle is
/// dropped.
#[derive(Debug, Clone)]
pub struct HealthHandle {
    tx: mpsc::Sender<Request>,
}

impl HealthHandle {
    /// The current state; `None` if the runner has stopped.
    pub async fn snapshot(&self) -> Option<States> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Request::States(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Hands the runner a new plan, which takes over each kept server's
    /// state, weight and counters from the one it replaces
    /// (`Runner::carry_over_from`). `false` if the runner has stopped.
    pub async fn replace(&self, runner: Runner) -> bool {
        let (tx, rx) = oneshot::channel();
        if self
            .tx
            .send(Request::Replace(Box::new(runner), tx))
            .await
            .is_err()
        {
            return false;
        }
        rx.await.is_ok()
    }
}

/// A handle and the request end the runner takes.
pub fn channel() -> (HealthHandle, mpsc::Receiver<Request>) {
    let (tx, rx) = mpsc::channel(8);
    (HealthHandle { tx }, rx)
}

/// The health-check task: owns the scheduler and every check in flight.
#[derive(Debug)]
pub struct Runner {
    servers: Vec<Served>,
    /// The box's addresses, for `ha_suspend`; `None`: never suspend.
    local: Option<watch::Receiver<BTreeSet<IpAddr>>>,
    sched: scheduler::Machine,
    /// Per scheduler check: (server index, checker index).
    owner: Vec<(usize, usize)>,
    specs: Vec<Arc<CheckSpec>>,
    /// Per scheduler check: its index in `tallies`.
    tally_of: Vec<u32>,
    tallies: Vec<ServiceTally>,
    /// Per server: the weight a `misc_dynamic` checker set last (keepalived
    /// keeps one weight per real server, whichever checker set it).
    weights: Vec<Option<u32>>,
    ctx: Context,
    /// The rate limit of local-error lines.
    quiet: local::Quiet,
}

impl Runner {
    /// Plan every checker of `config`; first checks are armed from now
    /// (after their warmup). Initial states: DOWN for `alpha` services,
    /// else UP; no event is sent for them. A runner that replaces a running
    /// one takes over its states when it does ([`HealthHandle::replace`]).
    pub fn new(config: &Config, rc: RunnerConfig) -> Result<Self, PlanError> {
        Self::with_states(config, rc, |_, _| None)
    }

    /// A runner for the states a hitless restart handed over, as (service,
    /// address, port, UP): a real server listed starts in the state it had,
    /// UP or DOWN; one not listed starts as [`Runner::new`] starts it.
    pub fn resuming(
        config: &Config,
        rc: RunnerConfig,
        states: &[KnownState],
    ) -> Result<Self, PlanError> {
        let mut index: HashMap<(ServiceKey, (IpAddr, Option<u16>)), bool> = HashMap::new();
        for (s, a, p, up) in states {
            index.entry((*s, (*a, *p))).or_insert(*up);
        }
        Self::with_states(config, rc, |service, real| {
            index.get(&(*service, real)).copied()
        })
    }

    /// Plans `config`; `was_up` gives a server's earlier state, if known.
    /// Each real server's plan is taken in as it is made: the runner's
    /// lists are sized from the config first, and the whole plan is never
    /// held beside them.
    fn with_states(
        config: &Config,
        rc: RunnerConfig,
        was_up: impl Fn(&ServiceKey, (IpAddr, Option<u16>)) -> Option<bool>,
    ) -> Result<Self, PlanError> {
        let seed = rc.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        let mut sched = scheduler::Machine::new(scheduler::Config {
            max_in_flight: rc.max_in_flight,
            seed,
        });
        let (n_servers, n_checks) = plan::size(config);
        sched.reserve(n_servers, n_checks);
        let now = std::time::Instant::now();
        let mut servers = Vec::with_capacity(n_servers);
        let mut owner = Vec::with_capacity(n_checks);
        let mut specs = Vec::with_capacity(n_checks);
        let mut tallies = Tallies::default();
        tallies.of.reserve_exact(n_checks);
        let mut timings: Vec<Timing> = Vec::new();
        plan::each_planned(config, rc.users, |s| {
            let si = servers.len();
            timings.clear();
            timings.extend(s.checks.iter().map(|c| c.timing));
            let was_up = was_up(&s.service, s.real);
            sched.add_server(was_up.map_or(s.alpha, |up| !up), &timings, now);
            for (ci, c) in s.checks.into_iter().enumerate() {
                owner.push((si, ci));
                tallies.add(s.service, s.protocol, &c.spec.kind);
                specs.push(c.spec);
            }
            servers.push(Served {
                service: s.service,
                protocol: s.protocol,
                real: s.real,
                ha_suspend: s.ha_suspend,
                suspended: false,
            });
        })?;
        Ok(Runner {
            weights: vec![None; servers.len()],
            servers,
            local: None,
            sched,
            owner,
            specs,
            tally_of: tallies.of,
            tallies: tallies.list,
            ctx: Context::new(),
            quiet: local::Quiet::default(),
        })
    }

    /// Takes over what `old`, the runner this one replaces, knew: a real
    /// server of the same service and address keeps its state, UP or DOWN
    /// (a commit moves no server in or out of the table by itself; a DOWN
    /// one comes back on its first good check, as always), the weight a
    /// `misc_dynamic` check set while a dynamic check remains, and the
    /// counters of each checker at the same place and of the same kind; a
    /// tally of the same virtual server and kind goes on (a scrape reads
    /// them as ever-growing). Taken at the hand-over itself, not from a
    /// snapshot before it: a change in between is not lost, and no copy of
    /// every state is made.
    fn carry_over_from(&mut self, old: &Runner) {
        let old_tallies: HashMap<TallyKey, &Tally> = (old.tallies.iter())
            .map(|t| ((t.service, t.protocol, t.keyword), &t.tally))
            .collect();
        for t in &mut self.tallies {
            if let Some(&was) = old_tallies.get(&(t.service, t.protocol, t.keyword)) {
                t.tally = *was;
            }
        }
        // Indexed once: a search per server is quadratic, ten billion
        // comparisons for 100,000 destinations.
        let mut index: HashMap<(ServiceKey, (IpAddr, Option<u16>)), usize> =
            HashMap::with_capacity(old.servers.len());
        for (i, s) in old.servers.iter().enumerate() {
            index.entry((s.service, s.real)).or_insert(i);
        }
        for si in 0..self.servers.len() {
            let s = &self.servers[si];
            let Some(&was) = index.get(&(s.service, s.real)) else {
                continue;
            };
            let (id, was_id) = (ServerId(si as u32), ServerId(was as u32));
            self.sched.restate(id, old.sched.server_up(was_id));
            let mut dynamic = false;
            for (c, was_c) in self
                .sched
                .server_checks(id)
                .zip(old.sched.server_checks(was_id))
            {
                let kind = &self.specs[c.0 as usize].kind;
                dynamic |= matches!(kind, check::Kind::Misc(m) if m.dynamic);
                if kind.keyword() == old.specs[was_c.0 as usize].kind.keyword() {
                    let st = old.sched.check_status(was_c);
                    self.sched.carry_counts(c, st.checks_done, st.checks_failed);
                }
            }
            if dynamic {
                self.weights[si] = old.weights[was];
            }
        }
    }

    /// Logs a local error of check `id`, at most once a minute per kind
    /// (`local::Quiet`), with how many there were since the last line.
    fn log_local(&mut self, id: CheckId, e: local::LocalError, now: std::time::Instant) {
        let Some(count) = self.quiet.note(e, now) else {
            return;
        };
        let (si, _) = self.owner[id.0 as usize];
        let s = &self.servers[si];
        let spec = &self.specs[id.0 as usize];
        tracing::warn!(
            local_error = e.word(),
            count,
            checker = spec.kind.keyword(),
            real_server = %spec.target,
            virtual_server = %logfields::VirtualServer::config(s.service, s.protocol),
            error = %e,
            "health check not made: local error, the real server keeps its state"
        );
    }

    /// Counts one result in its check's tally.
    fn tally(&mut self, id: CheckId, outcome: &Outcome, took: Duration) {
        if let Some(&t) = self.tally_of.get(id.0 as usize) {
            self.tallies[t as usize].tally.record(took, outcome);
        }
    }

    /// Follow the box's addresses: the checks of an `ha_suspend` service
    /// pause while its address is not among them (keepalived: on the
    /// backup, which does not hold the VIP), keeping its servers' states.
    /// The DR-path services the IPVS task has in the kernel: a DR-path
    /// check waits for its own.
    pub fn with_dr_ready(mut self, ready: watch::Receiver<crate::ipvs::dr_path::Ready>) -> Self {
        self.ctx = self.ctx.with_dr_ready(ready);
        self
    }

    pub fn with_local_addresses(mut self, local: watch::Receiver<BTreeSet<IpAddr>>) -> Self {
        self.local = Some(local);
        self.apply_local();
        self
    }

    /// Pauses or resumes each `ha_suspend` server by the current addresses.
    fn apply_local(&mut self) {
        let Some(local) = &self.local else { return };
        let local = local.borrow().clone();
        let mut changed: Vec<(logfields::VirtualServer, bool)> = Vec::new();
        for (si, s) in self.servers.iter_mut().enumerate() {
            let ServiceKey::Addr { addr, .. } = s.service else {
                continue;
            };
            let paused = s.ha_suspend && !local.contains(&addr);
            if s.suspended != paused {
                s.suspended = paused;
                self.sched.set_paused(ServerId(si as u32), paused);
                let vs = logfields::VirtualServer::config(s.service, s.protocol);
                if !changed.contains(&(vs, paused)) {
                    changed.push((vs, paused));
                }
            }
        }
        for (vs, paused) in changed {
            if paused {
                tracing::info!(virtual_server = %vs, "ha_suspend: service address not on this box; checks suspended");
            } else {
                tracing::info!(virtual_server = %vs, "ha_suspend: service address on this box; checks resumed");
            }
        }
    }

    /// The state now (also before `run`, for the initial IPVS table).
    pub fn snapshot(&self) -> States {
        let now_i = std::time::Instant::now();
        let now_s = SystemTime::now();
        let wall = |t: Option<std::time::Instant>| {
            t.and_then(|t| now_s.checked_sub(now_i.saturating_duration_since(t)))
        };
        // A real server's checkers are folded as they are read: a list of
        // them per server would be 100,000 more allocations in every
        // snapshot (one every status refresh) at the config's bound.
        let servers = (self.servers.iter().enumerate())
            .map(|(si, s)| {
                let sid = ServerId(si as u32);
                let mut r = RealStatus {
                    service: s.service,
                    real: s.real,
                    up: self.sched.server_up(sid),
                    last: None,
                    last_check: None,
                    consecutive_failures: 0,
                    checks_done: 0,
                    checks_failed: 0,
                    weight: self.weights[si],
                };
                let mut latest = None;
                for id in self.sched.server_checks(sid) {
                    let st = self.sched.check_status(id);
                    if st.last_at.is_some() && st.last_at >= latest {
                        latest = st.last_at;
                        r.last = st.last;
                        r.last_check = wall(st.last_at);
                    }
                    r.consecutive_failures = r.consecutive_failures.max(st.consecutive_failures);
                    r.checks_done += st.checks_done;
                    r.checks_failed += st.checks_failed;
                }
                r
            })
            .collect();
        States {
            servers,
            tallies: self.tallies.clone(),
            stats: self.sched.stats(),
            in_flight: self.sched.running(),
            queued: self.sched.queued(),
        }
    }

    /// Run until every [`HealthHandle`] is dropped. State changes go to
    /// `events` (a closed receiver is tolerated: checks go on).
    pub async fn run(self, events: mpsc::Sender<HealthEvent>, requests: mpsc::Receiver<Request>) {
        self.run_with(events, requests, Heartbeat::detached("health"))
            .await
    }

    /// [`Runner::run`], checking in with `hb` once per scheduling round
    /// and on an idle tick.
    pub async fn run_with(
        mut self,
        events: mpsc::Sender<HealthEvent>,
        mut requests: mpsc::Receiver<Request>,
        hb: Heartbeat,
    ) {
        let mut idle = hb.ticker();
        let mut events = outbox::Outbox::new(events);
        let mut in_flight: FuturesUnordered<check::Started<CheckId>> = FuturesUnordered::new();
        // Plain TCP_CHECKs, most checks of a large pool, go to `connects`
        // (no future, timer or registration per check); without it (no
        // epoll set: EMFILE) they run as futures like the others.
        let mut connects = match connects::Connects::new() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "health: no epoll set for TCP_CHECK connects; checks run one future each");
                None
            }
        };
        // One timer for the task, moved to the scheduler's next wakeup only
        // when that changes (a `Sleep` made per loop would be registered
        // and removed again for every result).
        let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(sleep);
        let mut armed = None;
        loop {
            hb.check_in().await;
            let now = std::time::Instant::now();
            if let Some(c) = connects.as_mut() {
                c.expire(now);
                self.absorb(c.take().map(connect_result), &mut events);
            }
            while let Some(start) = self.sched.poll_start(now) {
                let spec = &self.specs[start.check.0 as usize];
                match (&spec.kind, spec.dr, connects.as_mut()) {
                    (check::Kind::Tcp, None, Some(c)) => {
                        c.start(start.check, spec.target, spec.bindto, spec.timeout, now);
                    }
                    _ => in_flight.push(check::start(start.check, spec, &self.ctx)),
                }
            }
            let deadline = connects
                .as_mut()
                .and_then(connects::Connects::next_deadline);
            let wake = match (self.sched.poll_timeout(), deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if wake != armed {
                if let Some(t) = wake {
                    sleep.as_mut().reset(t.into());
                }
                armed = wake;
            }
            tokio::select! {
                // Requests first: a busy checker still answers them.
                biased;
                req = requests.recv() => match req {
                    // A snapshot and a carry-over grow with the plan
                    // (100,000 checks at the bounds): both run on the
                    // blocking pool, the runner going there and back.
                    Some(Request::States(tx)) => {
                        let (runner, snap) = hb.waiting(crate::offload::with(self, |r| r.snapshot())).await;
                        self = runner;
                        let _ = tx.send(snap);
                    }
                    Some(Request::Replace(new, done)) => {
                        let (runner, new) = hb
                            .waiting(crate::offload::with(self, move |old| {
                                let mut new = *new;
                                new.carry_over_from(old);
                                new
                            }))
                            .await;
                        self = runner;
                        let local = self.local.take();
                        // The old plan is freed there too.
                        let old = std::mem::replace(&mut self, new);
                        tokio::task::spawn_blocking(move || drop(old));
                        if self.local.is_none() {
                            self.local = local;
                        }
                        self.apply_local();
                        // Results of the old plan's checks mean nothing now.
                        in_flight = FuturesUnordered::new();
                        if let Some(c) = connects.as_mut() {
                            c.clear();
                        }
                        armed = None;
                        let _ = done.send(());
                    }
                    None => return,
                },
                () = events.room() => events.flush(),
                () = local_changed(&mut self.local) => self.apply_local(),
                Some(first) = in_flight.next(), if !in_flight.is_empty() => {
                    // Every result ready now, in one pass: the loop above
                    // then runs once per wakeup, not once per result.
                    let mut first = Some(first);
                    let ready = std::iter::from_fn(|| {
                        first.take().or_else(|| in_flight.next().now_or_never().flatten())
                    });
                    self.absorb(ready, &mut events);
                }
                () = connects::ready(&mut connects) => {
                    if let Some(c) = connects.as_mut() {
                        self.absorb(c.take().map(connect_result), &mut events);
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    // Fired: not armed until the scheduler names a time.
                    armed = None;
                }
                _ = idle.tick() => {}
            }
        }
    }

    /// Takes results in: the scheduler's state, the tallies and the
    /// weights; the real-server changes they make go out as events, one
    /// log line each.
    fn absorb(
        &mut self,
        results: impl Iterator<Item = (CheckId, misc::Verdict, Duration)>,
        events: &mut outbox::Outbox<HealthEvent>,
    ) {
        let mut reweighed = Vec::new();
        for (id, verdict, took) in results {
            let now = std::time::Instant::now();
            if let Err(Failure::Local(l)) = verdict.outcome {
                self.log_local(id, l, now);
            }
            self.sched.handle_result(id, verdict.outcome, now);
            self.tally(id, &verdict.outcome, took);
            if let Some(si) = self.set_weight(id, verdict.weight) {
                reweighed.push((si, id));
            }
        }
        while let Some(change) = self.sched.poll_event() {
            let ev = self.event(change);
            reweighed.retain(|&(si, _)| si != self.owner[change.check.0 as usize].0);
            log_change(&ev);
            events.push(ev);
        }
        for (_, id) in reweighed {
            let ev = self.weight_event(id);
            log_weight(&ev);
            events.push(ev);
        }
    }

    fn event(&self, c: scheduler::StateChange) -> HealthEvent {
        let (si, ci) = self.owner[c.check.0 as usize];
        let s = &self.servers[si];
        HealthEvent {
            service: s.service,
            protocol: s.protocol,
            real: s.real,
            up: c.up,
            checker: ci,
            keyword: self.specs[c.check.0 as usize].kind.keyword(),
            cause: c.cause,
            state_changed: true,
            weight: self.weights[si],
        }
    }

    /// Records the weight a dynamic check's result set; its server's
    /// index when that changed the weight.
    fn set_weight(&mut self, id: CheckId, weight: Option<u32>) -> Option<usize> {
        let w = weight?;
        let (si, _) = *self.owner.get(id.0 as usize)?;
        (self.weights[si] != Some(w)).then(|| {
            self.weights[si] = Some(w);
            si
        })
    }

    /// Only the weight of check `id`'s server changed.
    fn weight_event(&self, id: CheckId) -> HealthEvent {
        let (si, ci) = self.owner[id.0 as usize];
        let s = &self.servers[si];
        HealthEvent {
            service: s.service,
            protocol: s.protocol,
            real: s.real,
            up: self.sched.server_up(ServerId(si as u32)),
            checker: ci,
            keyword: self.specs[id.0 as usize].kind.keyword(),
            cause: Ok(()),
            state_changed: false,
            weight: self.weights[si],
        }
    }
}

/// What the runner keeps of a planned real server (its checkers are the
/// scheduler's, their specs in `Runner::specs`).
#[derive(Debug)]
struct Served {
    service: ServiceKey,
    /// Its virtual server's protocol: with `service`, the `virtual_server`
    /// of its log lines.
    protocol: Protocol,
    real: (IpAddr, Option<u16>),
    /// `ha_suspend`: no checks while the service address is not local.
    ha_suspend: bool,
    /// Whether its checks are suspended now.
    suspended: bool,
}

/// A tally's identity: virtual server, protocol, checker keyword.
type TallyKey = (ServiceKey, Protocol, &'static str);

/// The tallies of a plan being built, and each check's.
#[derive(Default)]
struct Tallies {
    list: Vec<ServiceTally>,
    index: HashMap<TallyKey, u32>,
    of: Vec<u32>,
}

impl Tallies {
    /// The next check, of kind `kind` on a real server of `service`.
    fn add(&mut self, service: ServiceKey, protocol: Protocol, kind: &check::Kind) {
        let key = (service, protocol, kind.keyword());
        let list = &mut self.list;
        let t = *self.index.entry(key).or_insert_with(|| {
            list.push(ServiceTally {
                service,
                protocol,
                keyword: kind.keyword(),
                reasons: kind.reasons(),
                tally: Tally::default(),
            });
            (list.len() - 1) as u32
        });
        self.of.push(t);
    }
}

/// A connect result as a check's verdict (a TCP_CHECK sets no weight).
fn connect_result((id, outcome, took): connects::Done) -> (CheckId, misc::Verdict, Duration) {
    (
        id,
        misc::Verdict {
            outcome,
            weight: None,
        },
        took,
    )
}

/// The next change of the watched addresses; pending forever without one
/// (or once the daemon's side is gone).
async fn local_changed(local: &mut Option<watch::Receiver<BTreeSet<IpAddr>>>) {
    if let Some(rx) = local {
        if rx.changed().await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

/// The only log lines of health checking: one per real-server change.
fn log_change(ev: &HealthEvent) {
    let vs = logfields::VirtualServer::config(ev.service, ev.protocol);
    let rs = logfields::RealServer::config(ev.real.0, ev.real.1);
    match ev.cause {
        Ok(()) => tracing::info!(
            virtual_server = %vs, real_server = %rs, checker = %ev.keyword, state = %"UP",
            "real server UP"
        ),
        Err(f) => tracing::warn!(
            virtual_server = %vs, real_server = %rs, checker = %ev.keyword, state = %"DOWN",
            error = %f.words(ev.service, ev.real.0),
            "real server DOWN"
        ),
    }
}

/// A `misc_dynamic` weight change: one line, as a state change has.
fn log_weight(ev: &HealthEvent) {
    let vs = logfields::VirtualServer::config(ev.service, ev.protocol);
    let rs = logfields::RealServer::config(ev.real.0, ev.real.1);
    tracing::info!(
        virtual_server = %vs, real_server = %rs, checker = %ev.keyword,
        weight = ev.weight,
        "real server weight set by misc_dynamic"
    );
}

/// How long a dead server takes to be declared DOWN at most, after its
/// last good check ended, when every failed check runs to its timeout (see
/// `scheduler`): `delay_loop + (retry + 1) * connect_timeout + retry *
/// delay_before_retry`.
pub fn max_down_detection(t: &Timing, connect_timeout: Duration) -> Duration {
    t.delay_loop + connect_timeout * (t.retry + 1) + t.delay_before_retry * t.retry
}
