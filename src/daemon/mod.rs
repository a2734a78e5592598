//! `vigil run`: the one place that wires the tasks together.
//!
//! Owns: the current-thread runtime (and the VRRP thread's, [`vrrp_thread`],
//! where the supervisor places instance and receive tasks), the order in which the tasks below
//! start, and the loop that answers signals and control requests until
//! shutdown. Each concern lives in its own module: `logging`, instance
//! tasks (`groups`), the link dispatcher (`links`), the IPVS side
//! (`ipvs_side`), [`reload`], `shutdown`, the hitless restart
//! ([`handoff`], `restart`, and the advert [`bridge`] a restarted image
//! starts before reading its config: [`take_handover`]), and the
//! [`supervisor`] every long-lived task
//! runs under, whose events the main loop answers by its policy (`tasks`).
//! Must not: hold protocol state (the instance tasks do) or parse config
//! text (the CLI hands over a `Config`).
//!
//! ```text
//!     signals (SIGTERM/SIGINT: shutdown, SIGHUP: reload, SIGUSR2: restart)
//!       + `vigil reload` / `vigil restart` on the control socket
//!                               |
//!                               v
//!   net::Monitor --NetEvent--> [link dispatcher] --link--> [supervisor] --GroupInput::Link--+
//!   (rtnetlink multicast:     (the owner fans link events out to every instance task)     |
//!    LINK, IPV4/6_IFADDR,                                           v
//!    resync on ENOBUFS,                          +--------------------------------+
//!                                                | instance task (one per sync    |
//!   [receive task: (ifindex, family)] ---------->| group; a lone instance is a    |
//!     raw socket -> decode -> classify once,     | group of one): Machines,       |
//!     drops counted here; GroupInput::Advert     | FilterConfigs (published to    |
//!     to the one instance (mpsc, try_send)       | the receive task);             |
//!     (restarted + counted on error)             | sleeps until poll_timeout()    |
//!                                                +--------------------------------+
//!                                                  |        |        |        |
//!                           raw socket adverts <---+        |        |        +--> watch<Snapshot>
//!                       rtnetlink add/del VIPs <------------+        |                  |
//!              GARP / NA burst (child task, paced) <-----------------+                  v
//!                       notify::Notifier::notify (non-blocking)          [control server]
//!                                                                        unix socket, postcard
//!                                                                        frames <-- vigil status
//!                                                                                  ^
//!   [health::Runner: checks of every real server]                                  |
//!      |  HealthEvent (mpsc)            ^ HealthHandle::snapshot                   |
//!      v                                |                               watch<IpvsStatus>
//!   [ipvs::task: Machine + Edge]     ----------------------------------------->+
//!      spawn_blocking: dump -> diff -> apply (genl IPVS); never flushes
//! ```
//!
//! Every task in the diagram, and the main loop, checks in with the
//! supervisor (`supervisor::Heartbeat`); one that ends, panics or misses
//! its deadline is reported to the main loop, which applies the policy of
//! `supervisor::policy` (see `tasks`): restart, a dead instance's VIPs
//! removed first, or the daemon ended non-zero once the budget is spent.
//!
//! The IPVS task and the health runner run only when the config has a
//! virtual_server (or lvs_timeouts); they share nothing with VRRP, not
//! even the runtime: instance and receive tasks run on the VRRP thread
//! ([`vrrp_thread`]), so neither a slow `ip_vs`, a reload's parse and plan
//! nor a status dump of a big table delays an advert.
//!
//! With `lvs_sync_daemon`, a sync task (`ipvs::sync`) follows the named
//! instance's `watch<Snapshot>` and runs the kernel's master or backup
//! sync daemon; its line joins the IPVS status.
//!
//! Reload (SIGHUP, or `vigil reload` over the control socket): the source
//! is read again; a config with errors changes nothing. [`reload`] says
//! what changed and what is applied live: the IPVS side (the IPVS task
//! first, so events of new real servers find them, then the health
//! runner, carrying each kept server's state over) and the VRRP side
//! (each running task reconfigures its instances in place; added
//! instances start, removed ones stop). The rest waits for a restart and
//! is shown as pending in `vigil status`.
//!
//! Shutdown (SIGTERM/SIGINT): the instances resign and remove their VIPs;
//! the master sync daemon is stopped and the backup one kept;
//! the IPVS table is left in the kernel as it is (connections through a
//! backup that takes the VIP, or through this box after a restart, keep
//! their real server), and the next `vigil run` adopts it with zero ops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::config::model::Config;
use crate::control::{self, CommitJob, ConfigState, Published, ReloadRequest, RestartRequest};
use crate::net::vmac_ledger::Ledger;
use crate::net::{self, Net};
use crate::notify::Notifier;

mod bgp;
pub mod bridge;
mod commit;
pub mod confirm;
mod groups;
pub mod handoff;
mod ipvs_side;
mod links;
mod logging;
mod metrics;
mod no_accept;
pub mod reload;
mod restart;
mod scripts;
mod service;
mod shutdown;
pub mod source;
pub mod stall;
mod static_routes;
pub mod supervisor;
mod tasks;
mod teardown;
mod vrrp_thread;
mod watchdogs;

use commit::Commits;
use groups::{
    ensure_vmacs, late_start, plan_groups, remove_stale_vips, remove_vmacs, start_groups,
    vmac_names, DemuxRegistry, VrrpSide,
};
use ipvs_side::{start_ipvs, start_sync_daemon};
use reload::Reloader;
use restart::{mark_resumed, restart};
use shutdown::shutdown;
use supervisor::{Event, Supervisor};
use tasks::{LinkSide, Tasks};

pub use logging::{init_logging, LogTo};
pub use source::{ConfigSource, LoadError, Loaded};

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    #[error("netlink")]
    Net(#[from] net::NetError),
    #[error("control socket {path}")]
    Control {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("signal handler")]
    Signal(#[source] std::io::Error),
    #[error(transparent)]
    Instance(#[from] control::access::LockError),
    /// The exec of a hitless restart failed after the instance tasks had
    /// handed over: the daemon exits (systemd starts it again).
    #[error("hitless restart")]
    Restart(#[source] handoff::ExecError),
    /// A supervised task stopped and its restart budget is spent (or it
    /// cannot restart): the daemon exits after its shutdown, and systemd
    /// starts it again.
    #[error("task {task} {how}, and its restart budget is spent")]
    TaskFailed { task: String, how: String },
    /// The config refuses traffic to some VIPs (`no_accept`,
    /// `vrrp_strict`) and the kernel would not take the filter.
    #[error("the no_accept packet filter cannot be put in place")]
    NoAccept(#[source] crate::net::nft::NftError),
}

/// How the daemon runs, besides its config.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the config came from; read again on reload.
    pub source: ConfigSource,
    pub control: PathBuf,
    /// The group whose members may read the control socket (status,
    /// history); `None`: root only.
    pub control_group: Option<u32>,
    /// How long a real server removed by config drains.
    pub drain_timeout: Duration,
    /// Whether the `appliance` block's set-up applies (see `appliance::live`).
    pub appliance: crate::appliance::Mode,
    /// How long a `commit confirmed` minute lasts ([`commit::MINUTE`];
    /// shorter only in tests).
    pub confirm_unit: Duration,
}

pub use commit::MINUTE as CONFIRM_MINUTE;

/// What a hitless restart handed over to this image, and the advert
/// bridge that keeps its masters advertising meanwhile.
pub struct Handover {
    pub record: handoff::Record,
    pub bridge: bridge::Bridge,
}

/// The first thing `vigil run` does, before any config is read: the
/// handoff record, if this process is a hitless restart, and the advert
/// bridge of its masters started. Call before any other thread starts.
pub fn take_handover() -> Option<Handover> {
    // Both variables read before the first thread (the bridge's) starts.
    let holder = teardown::handed_over();
    let record = handoff::take();
    let handover = record.map(|record| Handover {
        bridge: bridge::Bridge::start(&record),
        record,
    });
    if let Some(pid) = holder {
        teardown::reap(pid);
    }
    handover
}

/// Runs the daemon on a current-thread runtime until SIGTERM/SIGINT.
/// `config`: what the source held at start (or the factory default), and
/// `origin` where it came from; `handover`: see [`take_handover`].
pub fn run(
    config: Config,
    origin: Origin,
    opts: Options,
    handover: Option<Handover>,
) -> Result<(), DaemonError> {
    let start = Start {
        handover,
        exe: std::env::current_exe().ok(),
    };
    // One daemon per control socket, held until this returns (or the
    // exec of a hitless restart releases it for the new image).
    let _instance = control::access::lock(&opts.control)?;
    // VRRP's own thread and runtime: nothing the main runtime does (a
    // reload, a status dump, a commit) can hold back an advert.
    let vrrp = vrrp_thread::VrrpThread::start().map_err(DaemonError::Runtime)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(main(config, origin, opts, start, vrrp.handle().clone()))
}

/// Where the config a daemon starts with came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// For `vigil status` ("FILE", "STORE seq 4", "FACTORY DEFAULT: ...").
    pub describe: String,
    /// The store's commit it is; `None`: a file or the factory default.
    pub seq: Option<u64>,
}

/// How this process came to run.
struct Start {
    /// The record of the process that handed over to this one, and its
    /// advert bridge.
    handover: Option<Handover>,
    /// This binary's path, read at start (a restart execs what is there
    /// then: an upgraded binary, if it was replaced).
    exe: Option<PathBuf>,
}

async fn main(
    config: Config,
    origin: Origin,
    opts: Options,
    start: Start,
    vrrp_rt: tokio::runtime::Handle,
) -> Result<(), DaemonError> {
    crate::startup::step("runtimes");
    let config = reload::shared(config);
    // The parse's peak is over, but its heap goes back to the system only
    // once the daemon is ready: the set-up and the first IPVS pass reuse
    // it meanwhile, instead of faulting fresh pages in on the way to the
    // first pass.
    let control_path = opts.control.as_path();
    let from_store = opts.source.is_store();
    let started = Instant::now();
    let (sup, sup_events) = Supervisor::start_with_vrrp(vrrp_rt.clone());
    let net = Net::connect()?;
    // The instance tasks' own rtnetlink connection (VIPs, links), driven
    // by the VRRP thread: becoming MASTER never waits on the main runtime.
    let vrrp_net = {
        let _vrrp = vrrp_rt.enter();
        Net::connect()?
    };
    let listener =
        control::bind(control_path, opts.control_group).map_err(|source| DaemonError::Control {
            path: control_path.to_owned(),
            source,
        })?;
    let signals = Signals::install()?;
    let notifier = Notifier::spawn(&config.global);
    // The watchdogs first: systemd's is petted from here on, and the
    // hardware one is opened (or waited for) without delaying anything.
    let watchdogs = watchdogs::start(&config, opts.appliance, &sup, &notifier);
    // Subscribe before reading links, so no change falls in between.
    let events = net::events()?;
    crate::startup::step("sockets and watchdogs");

    // The box's own set-up (`appliance { }`), before VRRP reads the links.
    let mut appliance = crate::appliance::Live::new(net.clone(), opts.appliance);
    appliance.apply(&config).await;
    // `static_routes` / `static_rules`: the box's, before VRRP.
    let statics = static_routes::Statics::start(net.clone(), &config).await;
    // The VIPs that take balanced traffic only: guarded before any is up.
    let no_accept = no_accept::NoAccept::start(&config)
        .await
        .map_err(DaemonError::NoAccept)?;

    crate::startup::step("box set-up");
    let ledger = Ledger::beside(control_path);
    let links = net.links().await?;
    let links = ensure_vmacs(&net, &ledger, &config.vrrp_instances, |_| true, links).await;
    let mut planned = plan_groups(&config, |_| true, &links);
    let carried = start.handover.as_ref().map(|h| h.record.health.decode());
    let handed_table =
        (start.handover.as_ref()).and_then(|h| h.record.table(crate::build_id::own()));
    let resumed = start.handover.as_ref().map(|h| {
        let states = carried.as_ref().map_or(0, Vec::len);
        mark_resumed(h, states, &mut planned.groups)
    });
    let planned_resume: Vec<String> = planned
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .filter(|m| m.resume.is_some())
        .map(|m| m.inst.name.clone())
        .collect();
    remove_stale_vips(&net, &planned.groups).await;
    let statuses = planned.statuses;
    // Tracked scripts first: instance tasks read their table from the start.
    let script_side = scripts::ScriptSide::start(&config, &sup);

    // Receive sockets, one per (ifindex, family), and the instance tasks.
    let demux = DemuxRegistry::default();
    let first = start_groups(
        planned.groups,
        &config.global,
        &vrrp_net,
        &notifier,
        &script_side.receiver(),
        &demux,
        &sup,
    );
    let (config_tx, config_rx) = watch::channel(ConfigState {
        source: origin.describe,
        instances: statuses.clone(),
        receivers: first.receivers,
        appliance: appliance.errors(),
        warnings: config_warnings(&config),
        ..Default::default()
    });
    let vrrp = VrrpSide {
        net: vrrp_net,
        notifier: notifier.clone(),
        demux,
        published: config_tx,
        supervisor: sup.clone(),
        scripts: script_side.receiver(),
        ledger,
    };
    if !planned.late.is_empty() {
        tokio::spawn(late_start(
            planned.late,
            config.global.clone(),
            vrrp.clone(),
        ));
    }

    crate::startup::step("VRRP instances");
    // The box's addresses, for `ha_suspend`.
    let addrs = links::box_addresses(&net).await;
    let (local_tx, local_rx) = watch::channel(links::local_set(&addrs));
    // Link events to every instance task (each picks its own links); the
    // monitor's first dump gives every task each link's state.
    let (seen_tx, seen_rx) = mpsc::unbounded_channel();
    let link_side = LinkSide {
        net: net.clone(),
        local: local_tx,
        seen: seen_tx,
    };
    link_side.start(&sup, events, addrs);

    let (serving_tx, serving_rx) = watch::channel(None);
    let ipvs = start_ipvs(
        &config,
        from_store,
        &notifier,
        opts.drain_timeout,
        (&local_rx, &serving_tx),
        ipvs_side::HandedOver {
            states: carried.as_deref(),
            table: handed_table,
        },
        &sup,
    );
    if ipvs.is_none() {
        // No IPVS side: nothing serves, and nothing will say so.
        serving_tx.send_replace(Some(Default::default()));
    }
    let drain = Arc::new(crate::bgp::drain::Drain::beside(control_path));
    let bgp = bgp::BgpSide::start(&config, serving_rx, drain.clone(), net.clone(), &sup);
    crate::startup::step("links and IPVS side");
    let sync = start_sync_daemon(
        &config,
        &statuses,
        |name| planned_resume.iter().any(|n| n == name),
        &sup,
    );
    let ipvs_status = ipvs.as_ref().map(|s| s.status.clone());
    let ipvs_passed = ipvs_status.as_ref().map(|r| r.passed.clone());
    vrrp.published.send_modify(|c| c.ipvs = ipvs_status);

    let (reload_tx, reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let (restart_tx, restart_rx) = mpsc::channel::<RestartRequest>(1);
    let (commit_tx, commit_rx) = mpsc::channel::<CommitJob>(4);
    let published = Arc::new(Published {
        started,
        sync_daemon: sync.as_ref().map(|s| s.handle.0.clone()),
        config: config_rx,
        reload: reload_tx,
        restart: restart_tx,
        commit: commit_tx,
        resumed,
        tasks: Some(sup.clone()),
        watchdog: Some(watchdogs.status.clone()),
        scripts: Some(script_side.receiver()),
        runtimes: vec![
            stall::spawn("main", &tokio::runtime::Handle::current()),
            stall::spawn("vrrp", &vrrp_rt),
        ],
        bgp: bgp.status(),
        drain: Some(drain),
    });
    let metrics = metrics::MetricsSide::start(&config, published.clone(), &sup);
    let instances = config.vrrp_instances.len();
    let mut reloader = Reloader {
        source: opts.source.clone(),
        running_vrrp: reload::vrrp_part(&config),
        // Moved, not shared: the reloader's is the one reference left
        // here, so the first reload frees the config the daemon started
        // with (32 MB at the bound) instead of keeping it for good.
        current: config,
        running_seq: origin.seq,
        ipvs,
        drain_timeout: opts.drain_timeout,
        local: local_rx,
        vrrp,
        appliance,
        scripts: script_side,
        metrics,
        bgp,
        serving: serving_tx,
        statics,
        no_accept,
    };
    let mut commits = Commits::new(&opts.source, opts.confirm_unit);
    commits.resync(&reloader).await;
    let mut tasks = Tasks {
        sup: sup.clone(),
        control: control_path.to_owned(),
        control_group: opts.control_group,
        published,
        links: link_side,
        sync,
    };
    tasks.start_control(listener);
    tracing::info!(
        control = %control_path.display(),
        instances,
        "vigil running"
    );

    let requests = Requests {
        signals,
        reload: reload_rx,
        restart: restart_rx,
        commit: commit_rx,
        commits,
        supervisor: sup_events,
        links_seen: seen_rx,
        service: service::Service::new(started, ipvs_passed),
    };
    let served = requests
        .serve(
            &mut reloader,
            &mut tasks,
            start.exe.as_deref(),
            control_path,
        )
        .await;
    // An exec that failed: the instance tasks are gone; the hardware
    // stays armed (the watchdogs are dropped, not disarmed).
    if let Err(DaemonError::Restart(_)) = served {
        return served;
    }
    if served.is_ok() {
        service::stopping();
    }
    if served.is_ok() {
        // A deliberate stop: the neighbours move the flows to the other
        // boxes now, not at their hold timer. A failure exits announcing:
        // the kernel's table goes on forwarding until systemd's restart.
        reloader.bgp.withdraw(&tasks.sup).await;
    }
    let sync = tasks.sync.as_ref().map(|s| &s.handle);
    shutdown(sync, &notifier, control_path, &sup).await;
    // The instances are gone: so are their vmacs (a hitless restart
    // returned above and keeps them).
    remove_vmacs(
        &reloader.vrrp.net,
        &reloader.vrrp.ledger,
        &vmac_names(&reloader.running_vrrp.vrrp_instances),
    )
    .await;
    reloader.statics.stop().await;
    reloader.no_accept.stop().await;
    match &served {
        // A deliberate stop (SIGTERM, SIGINT): the one path that disarms.
        Ok(()) => {
            watchdogs.disarm().await;
            tracing::info!("vigil stopped");
        }
        // A task's budget is spent: exit armed, so a daemon that keeps
        // failing ends in a reset unless systemd's restart comes in time.
        Err(e) => tracing::error!("vigil stopped: {e}; the hardware watchdog stays armed"),
    }
    served
}

/// The signals the daemon answers, installed before any task starts.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    usr2: Signal,
}

impl Signals {
    fn install() -> Result<Self, DaemonError> {
        let on = |kind| signal(kind).map_err(DaemonError::Signal);
        Ok(Self {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            hup: on(SignalKind::hangup())?,
            usr2: on(SignalKind::user_defined2())?,
        })
    }
}

/// What asks the running daemon for something: signals, and reloads and
/// restarts asked on the control socket.
struct Requests {
    signals: Signals,
    reload: mpsc::Receiver<ReloadRequest>,
    restart: mpsc::Receiver<RestartRequest>,
    /// Commit-family requests from the control socket, one at a time.
    commit: mpsc::Receiver<CommitJob>,
    /// The commit path and the commit-confirmed timer.
    commits: Commits,
    /// What the supervisor reports: tasks that stopped, restarts due.
    supervisor: mpsc::UnboundedReceiver<Event>,
    /// Names of links the link dispatcher hears of.
    links_seen: mpsc::UnboundedReceiver<String>,
    /// READY=1 and STATUS= for systemd.
    service: service::Service,
}

impl Requests {
    /// Answers reloads, hitless restarts and the supervisor until SIGTERM
    /// or SIGINT. `Err` when a restart's exec failed (the instance tasks
    /// are gone) or a task's restart budget is spent.
    async fn serve(
        mut self,
        reloader: &mut Reloader,
        tasks: &mut Tasks,
        exe: Option<&Path>,
        control_path: &Path,
    ) -> Result<(), DaemonError> {
        let s = &mut self.signals;
        let hb = tasks.sup.watch("main", supervisor::Kind::Main);
        let mut idle = hb.ticker();
        let mut look = tokio::time::interval(service::TICK);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            hb.check_in().await;
            let confirm_due = self.commits.deadline();
            let confirm_timer = timer(confirm_due);
            let setup_due = reloader.appliance_retry_due();
            let setup_timer = timer(setup_due);
            tokio::select! {
                _ = idle.tick() => {}
                _ = look.tick() => {
                    // The table is read in place: copying it twice a second
                    // would cost the runtime seconds at the config's bounds.
                    let p = &tasks.published;
                    let s = p.status_without_ipvs();
                    let ipvs = p.ipvs_summary();
                    if self.service.tick(&s, ipvs.as_ref(), Instant::now()) {
                        // Running: the start-up's code and heap are done
                        // with (a trim walks the heap: off the runtime).
                        crate::mem::drop_start_only();
                        tokio::task::spawn_blocking(crate::mem::trim);
                    }
                }
                _ = s.term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
                _ = s.int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
                _ = s.hup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    self.service.reloading();
                    reloader.reload().await;
                    self.commits.resync(reloader).await;
                    reloaded(&self.service);
                }
                Some(reply) = self.reload.recv() => {
                    tracing::info!("reload asked on the control socket");
                    self.service.reloading();
                    let _ = reply.send(reloader.reload().await);
                    self.commits.resync(reloader).await;
                    reloaded(&self.service);
                }
                Some(job) = self.commit.recv() => {
                    let applies = Commits::applies(&job.request);
                    if applies { self.service.reloading(); }
                    let answer = self.commits.handle(job.request, reloader).await;
                    if applies { reloaded(&self.service); }
                    let _ = job.reply.send(answer);
                }
                _ = confirm_timer, if confirm_due.is_some() => {
                    self.service.reloading();
                    self.commits.expired(reloader).await;
                    reloaded(&self.service);
                }
                _ = s.usr2.recv() => {
                    tracing::info!("SIGUSR2: hitless restart");
                    restart(reloader, exe, control_path, None).await?;
                }
                Some(req) = self.restart.recv() => {
                    tracing::info!("hitless restart asked on the control socket");
                    restart(reloader, exe, control_path, Some(req)).await?;
                }
                Some(ev) = self.supervisor.recv() => tasks.handle(ev, reloader).await?,
                Some(name) = self.links_seen.recv() => reloader.link_appeared(&name).await,
                _ = setup_timer, if setup_due.is_some() => reloader.appliance_retry().await,
            }
        }
        Ok(())
    }
}

/// A reload, commit or rollback ended: systemd hears READY=1 again, and
/// the config reader's code is done with.
fn reloaded(service: &service::Service) {
    service.reloaded();
    crate::mem::drop_start_only();
}

/// The loaded config's warnings for `vigil status`, each logged as a
/// warning to the journal (at start and after each reload that applied).
fn config_warnings(config: &Config) -> Vec<String> {
    let warnings: Vec<String> = crate::notify::script::root_warning(config)
        .into_iter()
        .collect();
    for w in &warnings {
        tracing::warn!("{w}");
    }
    warnings
}

/// A sleep until `due`; for `None`, until a deadline that never comes
/// (its `select!` branch is disabled anyway).
fn timer(due: Option<Instant>) -> tokio::time::Sleep {
    tokio::time::sleep_until(due.map_or_else(far_future, tokio::time::Instant::from_std))
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}
