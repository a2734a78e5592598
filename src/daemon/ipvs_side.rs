//! The IPVS side of the daemon: starting the IPVS task, the health runner
//! and the connection sync daemon task, and the kernel settings a config
//! asks for.
//!
//! Owns: [`IpvsSide`] (the handles the reloader applies a new config
//! through), the health event queue between the runner and the IPVS task,
//! and [`SyncHandle`]. Must not: touch VRRP (it shares nothing with it but
//! the runtime), talk netlink itself (the IPVS task does, on blocking
//! threads) or decide what a reload changes.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::bgp::announce::Serving;
use crate::config::model::Config;
use crate::control::{IpvsReader, IpvsSummary, Snapshot};
use crate::health::{self, HealthEvent, HealthHandle, RunnerConfig};
use crate::ipvs::dr_path;
use crate::ipvs::sync;
use crate::ipvs::task as ipvs_task;
use crate::notify::Notifier;

use super::supervisor::{Kind, Supervisor, TaskId};

/// Health events waiting for the IPVS task (the runner awaits room).
const HEALTH_QUEUE: usize = 1024;

/// What `vigil status` says of IPVS until the task's first pass has read
/// the kernel's table (seconds at 100,000 destinations).
pub(super) const FIRST_PASS_PENDING: &str =
    "starting: the table is not read yet (the first pass is under way)";

/// Status requests queued for the IPVS task at once (`vigil status`,
/// scrapes, console sessions); one build answers all that are queued.
const ASKS: usize = 16;

/// The IPVS side of the daemon: the IPVS task and the health runner.
pub(super) struct IpvsSide {
    pub(super) commands: mpsc::Sender<ipvs_task::Command>,
    /// `None` when the checks could not be planned at start.
    pub(super) health: Option<HealthHandle>,
    /// For a health runner started later.
    pub(super) events: mpsc::Sender<HealthEvent>,
    pub(super) status: IpvsReader,
    /// The DR-path services in the kernel, for every health runner.
    pub(super) dr_ready: watch::Receiver<dr_path::Ready>,
    pub(super) from_store: bool,
    /// The IPVS task's and the health runner's, with the supervisor.
    pub(super) tasks: Vec<TaskId>,
}

/// What starting the IPVS side computes before anything runs: the health
/// runner's plan, its first snapshot and the IPVS machine. Growing with
/// the table (seconds at the config's bounds in a debug build), so a
/// reload builds it on the blocking pool. No status: until the task's
/// first pass has dumped the kernel's table there is nothing true to
/// show of it (the task publishes one after every pass; until then the
/// status says [`FIRST_PASS_PENDING`]), and building one of 10,000
/// destinations was a tenth of the start.
pub(super) struct Prepared {
    runner: Result<health::Runner, health::PlanError>,
    initial: Option<health::States>,
    core: crate::ipvs::machine::Machine,
}

/// [`Prepared`] for `config`, when it has anything for IPVS.
pub(super) fn prepare_ipvs(
    config: &Arc<Config>,
    drain_timeout: Duration,
    handed_over: Option<&[health::KnownState]>,
) -> Option<Prepared> {
    if !ipvs_task::wanted(config) {
        tracing::info!("no virtual_server: IPVS and health checks not started");
        return None;
    }
    let runner = match handed_over {
        Some(states) => health::Runner::resuming(config, RunnerConfig::default(), states),
        None => health::Runner::new(config, RunnerConfig::default()),
    };
    let initial = runner.as_ref().ok().map(health::Runner::snapshot);
    let core = crate::ipvs::machine::Machine::new(config.clone(), initial.as_ref(), Instant::now())
        .with_drain_timeout(drain_timeout);
    Some(Prepared {
        runner,
        initial,
        core,
    })
}

/// [`prepare_ipvs`] on the blocking pool, for a reload or a restart of the
/// IPVS side while the daemon runs: the runtime's other tasks (control,
/// the supervisor's checks) go on meanwhile. Errs when the build panicked.
pub(super) async fn prepare_ipvs_apart(
    config: &Arc<Config>,
    drain_timeout: Duration,
    handed_over: Option<Vec<health::KnownState>>,
) -> Result<Option<Prepared>, tokio::task::JoinError> {
    let config = config.clone();
    let prepare = move || prepare_ipvs(&config, drain_timeout, handed_over.as_deref());
    tokio::task::spawn_blocking(prepare).await
}

/// What every IPVS side reads and publishes for the rest of the daemon:
/// the box's addresses (for `ha_suspend`), and which services serve (for
/// the BGP task).
pub(super) type Shared<'a> = (
    &'a watch::Receiver<BTreeSet<IpAddr>>,
    &'a watch::Sender<Option<Serving>>,
);

/// What the process before a hitless restart handed over to the IPVS
/// side (see `super::handoff`).
#[derive(Default)]
pub(super) struct HandedOver<'a> {
    /// Every checked real server's state.
    pub(super) states: Option<&'a [health::KnownState]>,
    /// The IPVS task's last table.
    pub(super) table: Option<crate::ipvs::kernel::Table>,
}

/// The health runner and the IPVS task, when the config has anything for
/// IPVS (at start: built in place).
pub(super) fn start_ipvs(
    config: &Arc<Config>,
    from_store: bool,
    notifier: &Notifier,
    drain_timeout: Duration,
    shared: Shared<'_>,
    handed_over: HandedOver<'_>,
    sup: &Supervisor,
) -> Option<IpvsSide> {
    let mut prepared = prepare_ipvs(config, drain_timeout, handed_over.states)?;
    if let Some(table) = handed_over.table {
        prepared.core = prepared.core.with_handed_table(table);
    }
    Some(spawn_ipvs(
        prepared, config, from_store, notifier, shared, sup,
    ))
}

/// Spawns what [`prepare_ipvs`] built under the supervisor.
pub(super) fn spawn_ipvs(
    prepared: Prepared,
    config: &Config,
    from_store: bool,
    notifier: &Notifier,
    (local, serving): Shared<'_>,
    sup: &Supervisor,
) -> IpvsSide {
    let Prepared {
        runner,
        initial,
        core,
    } = prepared;
    let (ev_tx, ev_rx) = mpsc::channel(HEALTH_QUEUE);
    let (ready_tx, ready_rx) = watch::channel(dr_path::Ready::default());
    let mut tasks = Vec::new();
    let checks = match runner {
        Ok(runner) => {
            let runner =
                (runner.with_local_addresses(local.clone())).with_dr_ready(ready_rx.clone());
            let (handle, id) = spawn_runner(sup, runner, ev_tx.clone());
            tasks.push(id);
            Some(handle)
        }
        Err(e) => {
            tracing::error!(error = %e, "health checks not started; real servers keep their initial state");
            None
        }
    };
    let checked = initial.as_ref().map_or(0, |s| s.servers.len());
    let (summary_tx, summary) = watch::channel(IpvsSummary {
        error: Some(FIRST_PASS_PENDING.to_owned()),
        ..IpvsSummary::default()
    });
    let (passed_tx, passed) = watch::channel(false);
    let (ask, asks) = mpsc::channel(ASKS);
    let (timeouts, sysctls) = kernel_settings(config, from_store);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let io = ipvs_task::Io {
        events: ev_rx,
        commands: cmd_rx,
        checks: checks.clone(),
        notifier: notifier.clone(),
        summary: summary_tx,
        passed: passed_tx,
        asks,
        dr_ready: ready_tx,
        serving: serving.clone(),
    };
    tasks.push(sup.spawn("ipvs", Kind::Ipvs, |hb| {
        ipvs_task::run(core, io, timeouts, sysctls, hb)
    }));
    tracing::info!(
        virtual_servers = config.virtual_servers.len(),
        checked_real_servers = checked,
        "ipvs task and health checks started"
    );
    IpvsSide {
        commands: cmd_tx,
        health: checks,
        events: ev_tx,
        status: IpvsReader {
            ask,
            summary,
            passed,
        },
        dr_ready: ready_rx,
        from_store,
        tasks,
    }
}

/// Starts the health runner under the supervisor: its handle and task.
pub(super) fn spawn_runner(
    sup: &Supervisor,
    runner: health::Runner,
    events: mpsc::Sender<HealthEvent>,
) -> (HealthHandle, TaskId) {
    let (handle, requests) = health::channel();
    let id = sup.spawn("health", Kind::Health, |hb| {
        runner.run_with(events, requests, hb)
    });
    (handle, id)
}

/// `lvs_timeouts` (with the appliance's idle default) and the sysctls a
/// config asks of the kernel.
pub(super) fn kernel_settings(
    config: &Config,
    from_store: bool,
) -> (
    Option<crate::ipvs::wire::Timeouts>,
    Vec<crate::ipvs::sysctl::Sysctl>,
) {
    let timeouts = ipvs_task::timeouts(&crate::ipvs::sysctl::timeouts(
        &config.global.lvs_timeouts,
        config.appliance.as_ref(),
        from_store,
    ));
    let sysctls = crate::ipvs::sysctl::wanted(config.appliance.as_ref(), from_store);
    (timeouts, sysctls)
}

/// The sync daemon task when `lvs_sync_daemon` is configured: its status
/// line and where to ask it to shut down.
pub(super) type SyncHandle = (watch::Receiver<String>, mpsc::Sender<oneshot::Sender<()>>);

/// What starts the sync daemon task again after it stopped: its config,
/// the instance it follows, where its line goes, and its shutdown queue.
pub(super) struct SyncSide {
    pub(super) cfg: crate::config::model::LvsSyncDaemon,
    pub(super) vrrp: watch::Receiver<Snapshot>,
    pub(super) status: watch::Sender<String>,
    pub(super) handle: SyncHandle,
}

impl SyncSide {
    /// Its status line (`vrrp_state` until the first pass) and its task.
    fn start(
        cfg: crate::config::model::LvsSyncDaemon,
        vrrp: watch::Receiver<Snapshot>,
        vrrp_state: &str,
        resuming: bool,
        sup: &Supervisor,
    ) -> Self {
        let (tx, rx) = watch::channel(sync::status_line(&cfg, vrrp_state, None, None));
        let mut side = SyncSide {
            cfg,
            vrrp,
            status: tx,
            handle: (rx, mpsc::channel(1).0),
        };
        side.spawn(sup, resuming);
        side
    }

    /// Starts its task (again): a new shutdown queue, the same line.
    pub(super) fn spawn(&mut self, sup: &Supervisor, resuming: bool) {
        let (stx, srx) = mpsc::channel(1);
        let (cfg, vrrp, status) = (self.cfg.clone(), self.vrrp.clone(), self.status.clone());
        sup.spawn("ipvs sync", Kind::IpvsSync, |hb| {
            sync::run(cfg, vrrp, status, srx, resuming, hb)
        });
        self.handle.1 = stx;
    }
}

pub(super) fn start_sync_daemon(
    config: &Config,
    statuses: &[watch::Receiver<Snapshot>],
    resuming: impl Fn(&str) -> bool,
    sup: &Supervisor,
) -> Option<SyncSide> {
    if let Some(cfg) = config.bgp.as_ref().and_then(|b| b.sync_daemon.clone()) {
        return Some(start_anycast_sync(cfg, sup));
    }
    let cfg = config.global.lvs_sync_daemon.clone()?;
    // The config's validation guarantees the instance exists.
    let Some(i) = config
        .vrrp_instances
        .iter()
        .position(|v| v.name == cfg.vrrp_instance)
    else {
        tracing::error!(instance = %cfg.vrrp_instance, "lvs_sync_daemon: no such vrrp_instance; sync daemon not started");
        return None;
    };
    tracing::info!(interface = %cfg.interface, instance = %cfg.vrrp_instance, "ipvs sync daemon task started");
    let resuming = resuming(&cfg.vrrp_instance);
    Some(SyncSide::start(
        cfg,
        statuses[i].clone(),
        "INIT",
        resuming,
        sup,
    ))
}

/// The `bgp` block's `sync_daemon`: both daemons, whatever VRRP does (the
/// task follows a state that never changes).
fn start_anycast_sync(cfg: crate::config::model::LvsSyncDaemon, sup: &Supervisor) -> SyncSide {
    let (_, vrrp) = watch::channel(Snapshot {
        status: Default::default(),
        since: Instant::now(),
    });
    tracing::info!(interface = %cfg.interface, "ipvs sync daemon task started: master and backup, for anycast");
    SyncSide::start(cfg, vrrp, "", false, sup)
}
