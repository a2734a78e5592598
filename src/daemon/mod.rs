//! `vigil run`: the one place that wires the tasks together.
//!
//! Owns: logging setup, the current-thread runtime, resolving instances to
//! links, removing stale VIPs at start, spawning the tasks below, signal
//! handling and the bounded shutdown. Must not: hold protocol state (the
//! instance tasks do) or parse config text (the CLI hands over a `Config`).
//!
//! ```text
//!     signals (SIGTERM/SIGINT: shutdown, SIGHUP: reload) + `vigil reload`
//!                               |
//!                               v
//!   net::events --NetEvent--> [link dispatcher] --GroupInput::Link--+
//!   (rtnetlink multicast:                                           |
//!    LINK, IPV4/6_IFADDR,                                           v
//!    resync on ENOBUFS)                          +--------------------------------+
//!                                                | instance task (one per sync    |
//!   [receive task: (ifindex, family)] ---------->| group; a lone instance is a    |
//!     raw socket -> decode -> demux by VRID      | group of one): Machines,       |
//!     GroupInput::Packet (mpsc, try_send)        | FilterConfigs, DropCounters;   |
//!     (supervised: restarted + counted)          | sleeps until poll_timeout()    |
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
//!   [ipvs::task: Core + blocking Client] ----------------------------------------->+
//!      spawn_blocking: dump -> diff -> apply (genl IPVS); never flushes
//! ```
//!
//! The IPVS task and the health runner run only when the config has a
//! virtual_server (or lvs_timeouts); they share nothing with VRRP but the
//! runtime, and every netlink call of IPVS runs on a blocking thread, so a
//! slow or missing `ip_vs` never delays an advert.
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

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::model::{Config, GlobalDefs, VrrpInstance};
use crate::control::{
    self, ConfigState, IpvsStatus, Published, ReceiverStatus, ReloadOutcome, ReloadReport,
    ReloadRequest, RestartRequest, Snapshot,
};
use crate::health::{self, HealthEvent, HealthHandle, RunnerConfig};
use crate::ipvs::sync;
use crate::ipvs::task as ipvs_task;
use crate::net::{self, Net, NetEvent};
use crate::notify::Notifier;
use crate::vrrp::instance::{self, error_status, GroupInput, GroupSpec, MemberLinks, MemberSpec};
use crate::vrrp::packet::Family;
use crate::vrrp::receive::{self, Demux, Route};
use crate::vrrp::types::Vrid;
use tokio::task::JoinHandle;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    /// journald if its socket exists, else stderr.
    Auto,
    Stderr,
    Journald,
}

const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
/// Queue of one instance task; a full queue drops packets (counted).
const QUEUE: usize = 256;
/// Health events waiting for the IPVS task (the runner awaits room).
const HEALTH_QUEUE: usize = 1024;
/// The whole shutdown (resign adverts, VIP removal) is bounded by this.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);

/// Installs the global subscriber. Returns where logs go.
pub fn init_logging(level: tracing::Level, to: LogTo) -> &'static str {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = LevelFilter::from_level(level);
    let journald = match to {
        LogTo::Stderr => false,
        LogTo::Journald => true,
        LogTo::Auto => Path::new(JOURNALD_SOCKET).exists(),
    };
    if journald {
        if let Ok(layer) = tracing_journald::layer() {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(layer.with_syslog_identifier("vigil".into()))
                .try_init();
            return "journald";
        }
    }
    let fmt = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    "stderr"
}

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
    /// The exec of a hitless restart failed after the instance tasks had
    /// handed over: the daemon exits (systemd starts it again).
    #[error("hitless restart")]
    Restart(#[source] handoff::ExecError),
}

pub mod handoff;
pub mod reload;
mod restart;
pub mod source;

use restart::{mark_resumed, restart};

pub use source::{ConfigSource, LoadError, Loaded};

/// How the daemon runs, besides its config.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the config came from; read again on reload.
    pub source: ConfigSource,
    pub control: PathBuf,
    /// How long a real server removed by config drains.
    pub drain_timeout: Duration,
}

/// Runs the daemon on a current-thread runtime until SIGTERM/SIGINT.
/// `config`: what the source held at start (or the factory default).
pub fn run(config: Config, describe: String, opts: Options) -> Result<(), DaemonError> {
    // Before any thread starts: what a hitless restart handed over, if
    // this process is one.
    let start = Start {
        handoff: handoff::take(),
        exe: std::env::current_exe().ok(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(main(config, describe, opts, start))
}

/// How this process came to run.
struct Start {
    /// The record of the process that handed over to this one.
    handoff: Option<handoff::Record>,
    /// This binary's path, read at start (a restart execs what is there
    /// then: an upgraded binary, if it was replaced).
    exe: Option<PathBuf>,
}

async fn main(
    config: Config,
    describe: String,
    opts: Options,
    start: Start,
) -> Result<(), DaemonError> {
    let config = shared(config);
    let control_path = opts.control.as_path();
    let from_store = opts.source.is_store();
    let started = Instant::now();
    let net = Net::connect()?;
    let listener = control::bind(control_path).map_err(|source| DaemonError::Control {
        path: control_path.to_owned(),
        source,
    })?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let mut sigusr2 = signal(SignalKind::user_defined2()).map_err(DaemonError::Signal)?;
    let notifier = Notifier::spawn(&config.global);
    // Subscribe before reading links, so no change falls in between.
    let mut events = net::events()?;

    let links = net.links().await?;
    let mut planned = plan_groups(&config, |_| true, &links);
    let resumed = start
        .handoff
        .as_ref()
        .map(|h| mark_resumed(h, &mut planned.groups));
    let planned_resume: Vec<String> = planned
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .filter(|m| m.resume)
        .map(|m| m.inst.name.clone())
        .collect();
    remove_stale_vips(&net, &planned.groups).await;
    let statuses = planned.statuses;

    // Receive sockets, one per (ifindex, family), and the instance tasks.
    let demux = DemuxRegistry::default();
    let wired = wire_groups(planned.groups, &config.global, &net, &notifier, &demux);
    let senders = Arc::new(std::sync::Mutex::new(wired.senders));
    let (config_tx, config_rx) = watch::channel(ConfigState {
        source: describe,
        instances: statuses.clone(),
        receivers: wired.receivers,
        ..Default::default()
    });
    if !planned.late.is_empty() {
        tokio::spawn(late_start(
            planned.late,
            config.global.clone(),
            Vrrp {
                net: net.clone(),
                notifier: notifier.clone(),
                senders: senders.clone(),
                demux: demux.clone(),
                published: config_tx.clone(),
            },
        ));
    }

    // The box's addresses, for `ha_suspend`.
    let mut addrs: BTreeSet<(u32, IpAddr)> = net
        .addresses(None)
        .await
        .map(|v| v.into_iter().map(|a| (a.index, a.addr)).collect())
        .unwrap_or_default();
    let (local_tx, local_rx) = watch::channel(local_set(&addrs));

    // Link events to every instance task (each picks its own links).
    let link_senders = senders.clone();
    let resync_net = net.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match &ev {
                NetEvent::AddressAdded(a) => {
                    addrs.insert((a.index, a.addr));
                }
                NetEvent::AddressRemoved(a) => {
                    addrs.remove(&(a.index, a.addr));
                }
                NetEvent::Resynced => {
                    if let Ok(v) = resync_net.addresses(None).await {
                        addrs = v.into_iter().map(|a| (a.index, a.addr)).collect();
                    }
                }
                _ => {}
            }
            local_tx.send_if_modified(|l| {
                let now = local_set(&addrs);
                let changed = *l != now;
                *l = now;
                changed
            });
            let senders = current(&link_senders);
            match ev {
                NetEvent::LinkState { index, name, up } => {
                    tracing::info!(interface = %name, index, up, "link state");
                    for s in &senders {
                        if s.try_send(GroupInput::Link { index, up }).is_err() && !s.is_closed() {
                            // A full queue: deliver anyway, awaiting room.
                            let _ = s.send(GroupInput::Link { index, up }).await;
                        }
                    }
                }
                NetEvent::LinkGone { index } => {
                    for s in &senders {
                        let _ = s.send(GroupInput::Link { index, up: false }).await;
                    }
                }
                NetEvent::Resynced => tracing::warn!("links and addresses re-read"),
                NetEvent::AddressAdded(_) | NetEvent::AddressRemoved(_) => {}
            }
        }
    });

    let ipvs = start_ipvs(
        &config,
        from_store,
        &notifier,
        opts.drain_timeout,
        &local_rx,
        start.handoff.as_ref().map(|h| h.health.as_slice()),
    );
    let sync = start_sync_daemon(&config, &statuses, |name| {
        planned_resume.iter().any(|n| n == name)
    });
    let ipvs_status = ipvs.as_ref().map(|s| s.status.clone());
    config_tx.send_modify(|c| c.ipvs = ipvs_status);

    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let (restart_tx, mut restart_rx) = mpsc::channel::<RestartRequest>(1);
    let published = Arc::new(Published {
        started,
        sync_daemon: sync.as_ref().map(|(rx, _)| rx.clone()),
        config: config_rx,
        reload: reload_tx,
        restart: restart_tx,
        resumed,
    });
    let mut reloader = Reloader {
        source: opts.source.clone(),
        running_vrrp: vrrp_side(&config),
        current: config.clone(),
        ipvs,
        drain_timeout: opts.drain_timeout,
        local: local_rx,
        vrrp: Vrrp {
            net: net.clone(),
            notifier: notifier.clone(),
            senders: senders.clone(),
            demux,
            published: config_tx,
        },
    };
    tokio::spawn(control::serve(listener, published));
    tracing::info!(
        control = %control_path.display(),
        instances = config.vrrp_instances.len(),
        "vigil running"
    );

    loop {
        tokio::select! {
            _ = sigterm.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = sigint.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                reloader.reload().await;
            }
            Some(reply) = reload_rx.recv() => {
                tracing::info!("reload asked on the control socket");
                let _ = reply.send(reloader.reload().await);
            }
            _ = sigusr2.recv() => {
                tracing::info!("SIGUSR2: hitless restart");
                restart(&reloader, start.exe.as_deref(), control_path, None).await?;
            }
            Some(req) = restart_rx.recv() => {
                tracing::info!("hitless restart asked on the control socket");
                restart(&reloader, start.exe.as_deref(), control_path, Some(req)).await?;
            }
        }
    }

    // Every task resigns (priority 0) and removes its VIPs, bounded.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_BOUND;
    let mut acks = Vec::new();
    for s in &current(&senders) {
        let (atx, arx) = oneshot::channel();
        if tokio::time::timeout_at(deadline, s.send(GroupInput::Shutdown(atx)))
            .await
            .is_ok()
        {
            acks.push(arx);
        }
    }
    for a in acks {
        if tokio::time::timeout_at(deadline, a).await.is_err() {
            tracing::error!("an instance did not finish its shutdown in {SHUTDOWN_BOUND:?}");
        }
    }
    // The sync daemon: master stopped, backup kept (bounded).
    if let Some((_, tx)) = &sync {
        let (atx, arx) = oneshot::channel();
        let sent = tokio::time::timeout_at(deadline, tx.send(atx)).await;
        if !matches!(sent, Ok(Ok(())))
            || !matches!(tokio::time::timeout_at(deadline, arx).await, Ok(Ok(())))
        {
            tracing::error!(
                "the sync daemon task did not finish its shutdown in {SHUTDOWN_BOUND:?}"
            );
        }
    }
    // The STOP notifications' scripts run before we exit (bounded).
    if !notifier.settle(SHUTDOWN_BOUND).await {
        tracing::warn!("notify scripts still running after {SHUTDOWN_BOUND:?}; exiting anyway");
    }
    let _ = std::fs::remove_file(control_path);
    tracing::info!("vigil stopped");
    Ok(())
}

/// A running instance task: the names of its members, in order, and its
/// input.
#[derive(Debug, Clone)]
struct RunningGroup {
    members: Vec<String>,
    tx: mpsc::Sender<GroupInput>,
}

/// Every running instance task, shared with the link dispatcher, the late
/// starter, reloads and shutdown.
type Senders = Arc<std::sync::Mutex<Vec<RunningGroup>>>;

fn running(s: &Senders) -> Vec<RunningGroup> {
    s.lock()
        .map(|v| v.clone())
        .unwrap_or_else(|p| p.into_inner().clone())
}

fn current(s: &Senders) -> Vec<mpsc::Sender<GroupInput>> {
    running(s).into_iter().map(|g| g.tx).collect()
}

/// An instance's links by name, or `status` back when its interface does
/// not exist (yet).
fn member_spec(
    inst: &VrrpInstance,
    links: &[net::Link],
    status: watch::Sender<Snapshot>,
) -> Result<MemberSpec, watch::Sender<Snapshot>> {
    match member_links(inst, links) {
        Some(l) => Ok(MemberSpec {
            inst: inst.clone(),
            links: l,
            status,
            resume: false,
        }),
        None => Err(status),
    }
}

/// The links an instance names, or `None` when its interface is missing.
fn member_links(inst: &VrrpInstance, links: &[net::Link]) -> Option<MemberLinks> {
    let index_of = |name: &str| links.iter().find(|l| l.name == name);
    let link = index_of(inst.interface.as_str())?;
    let vip_ifindex = inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .map(|v| {
            v.dev
                .as_ref()
                .and_then(|d| index_of(d.as_str()))
                .map_or(link.index, |l| l.index)
        })
        .collect();
    let track_ifindex = inst
        .track_interface
        .iter()
        .map(|t| index_of(t.name.as_str()).map(|l| l.index))
        .collect();
    Some(MemberLinks {
        ifindex: link.index,
        mac: link.mac,
        track_ifindex,
        vip_ifindex,
    })
}

/// What [`wire_groups`] started.
struct Wired {
    senders: Vec<RunningGroup>,
    /// Statuses of the receive sockets it opened.
    receivers: Vec<watch::Receiver<ReceiverStatus>>,
}

/// The receive sockets by (ifindex, family), each with its task: a task
/// that ended (every instance it fed is gone) is replaced by a new socket.
type DemuxRegistry = Arc<std::sync::Mutex<BTreeMap<(u32, u8), (Arc<Demux>, JoinHandle<()>)>>>;

/// The tasks of `groups`, each member routed from the receive socket of
/// its (interface, family), opened here when none runs yet.
fn wire_groups(
    groups: Vec<GroupSpec>,
    global: &GlobalDefs,
    net: &Net,
    notifier: &Notifier,
    registry: &DemuxRegistry,
) -> Wired {
    let mut reg = match registry.lock() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    let mut opened: Vec<((u32, u8), Arc<Demux>)> = Vec::new();
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for g in groups {
        let (tx, rx) = mpsc::channel(QUEUE);
        for (j, m) in g.members.iter().enumerate() {
            let inst: &VrrpInstance = &m.inst;
            let (family, fam_no, group) = if inst.is_ipv6() {
                (Family::V6, 6, global.vrrp_mcast_group6.into())
            } else {
                (Family::V4, 4, global.vrrp_mcast_group4.into())
            };
            let Some(vrid) = Vrid::new(inst.virtual_router_id) else {
                continue;
            };
            let key = (m.links.ifindex, fam_no);
            let running = reg
                .get(&key)
                .filter(|(_, h)| !h.is_finished())
                .map(|(d, _)| d.clone());
            let d =
                match running.or_else(|| opened.iter().find(|o| o.0 == key).map(|o| o.1.clone())) {
                    Some(d) => d,
                    None => {
                        let (stx, srx) = watch::channel(ReceiverStatus {
                            interface: inst.interface.to_string(),
                            family: fam_no,
                            ..Default::default()
                        });
                        receivers.push(srx);
                        let d = Arc::new(Demux::new(
                            inst.interface.to_string(),
                            m.links.ifindex,
                            family,
                            group,
                            stx,
                        ));
                        opened.push((key, d.clone()));
                        d
                    }
                };
            d.add_route(Route {
                vrid,
                member: j,
                tx: tx.clone(),
            });
        }
        senders.push(RunningGroup {
            members: g.members.iter().map(|m| m.inst.name.clone()).collect(),
            tx,
        });
        tokio::spawn(instance::run(g, rx, net.clone(), notifier.clone()));
    }
    for (key, d) in opened {
        let h = tokio::spawn(receive::supervise(d.clone()));
        reg.insert(key, (d, h));
    }
    Wired { senders, receivers }
}

/// The instance tasks to start for the instances of `config` that `want`
/// names: sync groups first, then lone instances, each member resolved to
/// its links.
struct Planned {
    groups: Vec<GroupSpec>,
    /// One per wanted instance, in config order.
    statuses: Vec<watch::Receiver<Snapshot>>,
    /// Lone instances whose interface is missing: the late starter's.
    late: Vec<(VrrpInstance, watch::Sender<Snapshot>)>,
}

fn plan_groups(config: &Config, want: impl Fn(&str) -> bool, links: &[net::Link]) -> Planned {
    let in_group: Vec<&str> = config
        .vrrp_sync_groups
        .iter()
        .flat_map(|g| g.group.iter().map(String::as_str))
        .collect();
    let mut statuses = Vec::new();
    let mut resolved: BTreeMap<String, MemberSpec> = BTreeMap::new();
    let mut late = Vec::new();
    for inst in config.vrrp_instances.iter().filter(|i| want(&i.name)) {
        let (tx, rx) = watch::channel(Snapshot {
            status: error_status(inst, &config.global, "starting".into()),
            since: Instant::now(),
        });
        statuses.push(rx);
        match member_spec(inst, links, tx) {
            Ok(spec) => {
                resolved.insert(inst.name.clone(), spec);
            }
            Err(tx) => {
                let msg = format!("no interface {}", inst.interface);
                tx.send_replace(Snapshot {
                    status: error_status(inst, &config.global, msg.clone()),
                    since: Instant::now(),
                });
                if in_group.contains(&inst.name.as_str()) {
                    // A sync group starts with the members it has; one that
                    // appears later is not added (restart vigil).
                    tracing::error!(instance = %inst.name, "{msg}; sync group member not started");
                } else {
                    tracing::error!(instance = %inst.name, "{msg}; starts when the interface appears");
                    late.push((inst.clone(), tx));
                }
            }
        }
    }
    let mut groups: Vec<GroupSpec> = Vec::new();
    for g in &config.vrrp_sync_groups {
        let members: Vec<MemberSpec> = g.group.iter().filter_map(|n| resolved.remove(n)).collect();
        if !members.is_empty() {
            groups.push(GroupSpec {
                group: Some((
                    g.name.clone(),
                    g.notify.clone(),
                    g.smtp_alert.or(config.global.smtp_alert).unwrap_or(false),
                )),
                members,
                global: config.global.clone(),
            });
        }
    }
    for inst in &config.vrrp_instances {
        if let Some(r) = resolved.remove(&inst.name) {
            groups.push(GroupSpec {
                group: None,
                members: vec![r],
                global: config.global.clone(),
            });
        }
    }
    Planned {
        groups,
        statuses,
        late,
    }
}

/// What starts, stops and publishes instance tasks after the start: the
/// late starter and reloads.
#[derive(Clone)]
struct Vrrp {
    net: Net,
    notifier: Notifier,
    senders: Senders,
    demux: DemuxRegistry,
    published: watch::Sender<ConfigState>,
}

impl Vrrp {
    /// Starts `groups` and publishes what they add to `vigil status`.
    fn start(&self, groups: Vec<GroupSpec>, global: &GlobalDefs) {
        let wired = wire_groups(groups, global, &self.net, &self.notifier, &self.demux);
        match self.senders.lock() {
            Ok(mut v) => v.extend(wired.senders),
            Err(p) => p.into_inner().extend(wired.senders),
        }
        self.published
            .send_modify(|c| c.receivers.extend(wired.receivers));
    }
}

/// How often the late starter looks for interfaces that did not exist at
/// start (a NIC renamed late by udev, a VLAN created after vigil).
const LATE_POLL: Duration = Duration::from_secs(1);

/// Starts each lone instance whose interface was missing at start as soon
/// as the interface exists.
async fn late_start(
    mut pending: Vec<(VrrpInstance, watch::Sender<Snapshot>)>,
    global: GlobalDefs,
    vrrp: Vrrp,
) {
    let net = vrrp.net.clone();
    while !pending.is_empty() {
        tokio::time::sleep(LATE_POLL).await;
        let links = match net.links().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "reading links for late instances");
                continue;
            }
        };
        let mut ready: BTreeMap<String, MemberSpec> = BTreeMap::new();
        let mut still = Vec::new();
        for (inst, tx) in pending {
            match member_spec(&inst, &links, tx) {
                Ok(spec) => {
                    tracing::info!(instance = %inst.name, interface = %inst.interface, "interface appeared; instance starting");
                    ready.insert(inst.name.clone(), spec);
                }
                Err(tx) => still.push((inst, tx)),
            }
        }
        pending = still;
        if ready.is_empty() {
            continue;
        }
        let groups: Vec<GroupSpec> = ready
            .into_values()
            .map(|m| GroupSpec {
                group: None,
                members: vec![m],
                global: global.clone(),
            })
            .collect();
        remove_stale_vips(&net, &groups).await;
        vrrp.start(groups, &global);
    }
}

/// The IPVS side of the daemon: the IPVS task and the health runner.
struct IpvsSide {
    commands: mpsc::Sender<ipvs_task::Command>,
    /// `None` when the checks could not be planned at start.
    health: Option<HealthHandle>,
    /// For a health runner started later.
    events: mpsc::Sender<HealthEvent>,
    status: watch::Receiver<IpvsStatus>,
    from_store: bool,
}

/// The config as the daemon keeps it: one copy, shared by the reloader and
/// the IPVS task. A clone is tight (`Vec::clone` allocates the length):
/// the parser's copy carries the growth slack of its vectors, two thirds
/// of it for 1,000 real servers with one checker each (measured: 808 KB
/// against 282 KB), and the peak of parsing is returned to the system.
fn shared(parsed: Config) -> Arc<Config> {
    let config = Arc::new(parsed.clone());
    drop(parsed);
    crate::mem::trim();
    config
}

/// What the VRRP side's reload bookkeeping keeps of a config: all but the
/// virtual servers (the IPVS side's, applied from `current`).
fn vrrp_side(config: &Config) -> Config {
    Config {
        global: config.global.clone(),
        appliance: config.appliance.clone(),
        vrrp_sync_groups: config.vrrp_sync_groups.clone(),
        vrrp_instances: config.vrrp_instances.clone(),
        virtual_servers: Vec::new(),
    }
}

/// The health runner and the IPVS task, when the config has anything for
/// IPVS.
fn start_ipvs(
    config: &Arc<Config>,
    from_store: bool,
    notifier: &Notifier,
    drain_timeout: Duration,
    local: &watch::Receiver<BTreeSet<IpAddr>>,
    handed_over: Option<&[health::KnownState]>,
) -> Option<IpvsSide> {
    if !ipvs_task::wanted(config) {
        tracing::info!("no virtual_server: IPVS and health checks not started");
        return None;
    }
    let (ev_tx, ev_rx) = mpsc::channel(HEALTH_QUEUE);
    let runner = match handed_over {
        Some(states) => health::Runner::resuming(config, RunnerConfig::default(), states),
        None => health::Runner::new(config, RunnerConfig::default()),
    }
    .map(|r| r.with_local_addresses(local.clone()));
    let (checks, initial) = match runner {
        Ok(runner) => {
            let snap = runner.snapshot();
            (Some(spawn_runner(runner, ev_tx.clone())), Some(snap))
        }
        Err(e) => {
            tracing::error!(error = %e, "health checks not started; real servers keep their initial state");
            (None, None)
        }
    };
    let checked = initial.as_ref().map_or(0, |s| s.servers.len());
    let core = crate::ipvs::machine::Machine::new(config.clone(), initial.as_ref(), Instant::now())
        .with_drain_timeout(drain_timeout);
    let (tx, rx) = watch::channel(core.status(initial.as_ref()));
    let (timeouts, sysctls) = kernel_settings(config, from_store);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let io = ipvs_task::Io {
        events: ev_rx,
        commands: cmd_rx,
        checks: checks.clone(),
        notifier: notifier.clone(),
        status: tx,
    };
    tokio::spawn(ipvs_task::run(core, io, timeouts, sysctls));
    tracing::info!(
        virtual_servers = config.virtual_servers.len(),
        checked_real_servers = checked,
        "ipvs task and health checks started"
    );
    Some(IpvsSide {
        commands: cmd_tx,
        health: checks,
        events: ev_tx,
        status: rx,
        from_store,
    })
}

fn spawn_runner(runner: health::Runner, events: mpsc::Sender<HealthEvent>) -> HealthHandle {
    let (handle, requests) = health::channel();
    tokio::spawn(runner.run(events, requests));
    handle
}

/// `lvs_timeouts` (with the appliance's idle default) and the sysctls a
/// config asks of the kernel.
fn kernel_settings(
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

/// Whether two `global_defs` set up notifications (scripts and mail) alike.
fn same_notifier_settings(a: &GlobalDefs, b: &GlobalDefs) -> bool {
    a.router_id == b.router_id
        && a.notification_email == b.notification_email
        && a.notification_email_from == b.notification_email_from
        && a.smtp_server == b.smtp_server
        && a.smtp_connect_timeout == b.smtp_connect_timeout
        && a.smtp_alert == b.smtp_alert
        && a.script_user == b.script_user
        && a.enable_script_security == b.enable_script_security
}

/// The addresses of (ifindex, address) pairs.
fn local_set(addrs: &BTreeSet<(u32, IpAddr)>) -> BTreeSet<IpAddr> {
    addrs.iter().map(|(_, a)| *a).collect()
}

/// How long a reload waits for the IPVS task's first pass.
const APPLY_BOUND: Duration = Duration::from_secs(30);

/// The reload side of the main loop: the source, what runs, and where the
/// result is published.
struct Reloader {
    source: ConfigSource,
    /// What the VRRP side runs: the config it started with, with every
    /// change applied in place since (pending is measured on it).
    /// Its `virtual_servers` stay empty: nothing here reads them.
    running_vrrp: Config,
    /// The config the IPVS side runs (the IPVS task holds the same).
    current: Arc<Config>,
    ipvs: Option<IpvsSide>,
    drain_timeout: Duration,
    /// The box's addresses, for the health runner (`ha_suspend`).
    local: watch::Receiver<BTreeSet<IpAddr>>,
    vrrp: Vrrp,
}

impl Reloader {
    /// Reads the source again and applies what changed; never panics or
    /// fails the daemon. The report is also logged, line by line.
    async fn reload(&mut self) -> ReloadReport {
        let report = self.reload_inner().await;
        let lines = report.lines.join("; ");
        match report.outcome {
            ReloadOutcome::Applied | ReloadOutcome::Unchanged => {
                tracing::info!(outcome = ?report.outcome, "reload: {lines}")
            }
            ReloadOutcome::Invalid | ReloadOutcome::Failed => {
                tracing::error!(outcome = ?report.outcome, "reload refused, running config kept: {lines}")
            }
        }
        let summary = format!(
            "{} at {}: {}",
            match report.outcome {
                ReloadOutcome::Applied => "applied",
                ReloadOutcome::Unchanged => "unchanged",
                ReloadOutcome::Invalid => "REFUSED (invalid config)",
                ReloadOutcome::Failed => "FAILED",
            },
            crate::notify::mail::rfc2822(std::time::SystemTime::now()),
            report.lines.first().map_or("", String::as_str)
        );
        self.vrrp
            .published
            .send_modify(|c| c.reload = Some(summary));
        report
    }

    async fn reload_inner(&mut self) -> ReloadReport {
        let src = self.source.clone();
        let loaded = match tokio::task::spawn_blocking(move || src.load()).await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                let outcome = if e.is_bad_input() {
                    ReloadOutcome::Invalid
                } else {
                    ReloadOutcome::Failed
                };
                return ReloadReport {
                    outcome,
                    lines: e.lines(),
                };
            }
            Err(e) => return failed(format!("reading the config failed: {e}")),
        };
        let new = shared(loaded.config);
        // Everything that can refuse the config, before anything applies.
        if let Err(e) = health::plan::plan(&new) {
            return ReloadReport {
                outcome: ReloadOutcome::Invalid,
                lines: vec![e.to_string()],
            };
        }
        let changes = reload::changes(&self.running_vrrp, &self.current, &new);
        let mut lines = loaded.warnings;
        self.vrrp
            .published
            .send_modify(|c| c.source = loaded.describe.clone());
        if changes.is_empty() {
            self.vrrp.published.send_modify(|c| c.pending = None);
            lines.insert(0, "no change".into());
            return ReloadReport {
                outcome: ReloadOutcome::Unchanged,
                lines,
            };
        }
        let mut outcome = ReloadOutcome::Applied;
        let mut applied = changes.live;
        if !applied.is_empty() {
            match self.apply_ipvs(&new).await {
                Ok(line) => lines.push(line),
                Err(line) => {
                    outcome = ReloadOutcome::Failed;
                    lines.push(line);
                }
            }
        }
        if !changes.pending.is_empty() {
            applied.extend(self.apply_vrrp(&new).await);
        }
        let mut pending = Vec::new();
        reload::pending(&self.running_vrrp, &new, &mut pending);
        let joined = (!pending.is_empty()).then(|| pending.join("; "));
        self.vrrp
            .published
            .send_modify(|c| c.pending = joined.clone());
        let n = applied.len();
        lines.splice(
            0..0,
            std::iter::once(format!(
                "{n} change{} applied live{}",
                if n == 1 { "" } else { "s" },
                if pending.is_empty() {
                    ""
                } else {
                    ", others PENDING A RESTART"
                }
            ))
            .chain(applied),
        );
        lines.extend(
            pending
                .into_iter()
                .map(|p| format!("pending a restart: {p}")),
        );
        self.current = new;
        ReloadReport { outcome, lines }
    }

    /// The VRRP and notification settings, in place: each running task
    /// whose members and sync group are still configured as one gets the
    /// new settings; what it applies becomes part of `running_vrrp`.
    /// Returns a line per instance applied.
    async fn apply_vrrp(&mut self, new: &Config) -> Vec<String> {
        let mut lines = Vec::new();
        if !same_notifier_settings(&self.running_vrrp.global, &new.global) {
            self.vrrp.notifier.reconfigure(&new.global);
            let (g, n) = (&mut self.running_vrrp.global, &new.global);
            g.router_id.clone_from(&n.router_id);
            g.notification_email.clone_from(&n.notification_email);
            g.notification_email_from
                .clone_from(&n.notification_email_from);
            g.smtp_server.clone_from(&n.smtp_server);
            g.smtp_connect_timeout = n.smtp_connect_timeout;
            g.smtp_alert = n.smtp_alert;
            g.script_user.clone_from(&n.script_user);
            g.enable_script_security = n.enable_script_security;
            lines.push("notification and script settings applied".to_owned());
        }
        let links = match self.vrrp.net.links().await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "reload: cannot read links; vrrp settings not applied");
                return lines;
            }
        };
        lines.extend(self.stop_removed(new).await);
        let globals_changed =
            reload::vrrp_globals(&self.running_vrrp.global) != reload::vrrp_globals(&new.global);
        let mut all_applied = true;
        for g in running(&self.vrrp.senders) {
            match self
                .reconfigure_group(&g, new, &links, globals_changed)
                .await
            {
                Some((done, ok)) => {
                    all_applied &= ok;
                    lines.extend(done);
                }
                None => all_applied = false,
            }
        }
        if globals_changed && all_applied {
            let g = &mut self.running_vrrp.global;
            g.vrrp_version = new.global.vrrp_version;
            g.vrrp_mcast_group4 = new.global.vrrp_mcast_group4;
            g.vrrp_mcast_group6 = new.global.vrrp_mcast_group6;
            g.garp = new.global.garp;
        }
        lines.extend(self.start_added(new, &links).await);
        lines
    }

    /// Running tasks all of whose instances the new config removed (a
    /// lone instance, or a whole sync group) stop as on shutdown: a master
    /// resigns and removes its VIPs. Bounded; returns a line per instance.
    async fn stop_removed(&mut self, new: &Config) -> Vec<String> {
        let kept = |n: &String| new.vrrp_instances.iter().any(|i| &i.name == n);
        let in_new_group = |n: &String| new.vrrp_sync_groups.iter().any(|g| g.group.contains(n));
        let mut lines = Vec::new();
        for g in running(&self.vrrp.senders) {
            if g.members.iter().any(kept) || g.members.iter().any(in_new_group) {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            let stopped = g.tx.send(GroupInput::Shutdown(tx)).await.is_ok()
                && tokio::time::timeout(SHUTDOWN_BOUND, rx).await.is_ok();
            if !stopped {
                tracing::error!(instances = ?g.members, "reload: an instance task did not stop in {SHUTDOWN_BOUND:?}");
            }
            if let Ok(mut v) = self.vrrp.senders.lock() {
                v.retain(|r| !r.tx.same_channel(&g.tx));
            }
            self.vrrp.published.send_modify(|c| {
                c.instances
                    .retain(|s| !g.members.contains(&s.borrow().status.name))
            });
            let r = &mut self.running_vrrp;
            r.vrrp_instances.retain(|i| !g.members.contains(&i.name));
            r.vrrp_sync_groups
                .retain(|s| !s.group.iter().any(|m| g.members.contains(m)));
            lines.extend(
                g.members.iter().map(|n| {
                    format!("vrrp_instance {n} removed: stopped (a master resigned first)")
                }),
            );
        }
        lines
    }

    /// Instances the new config adds that can start on their own: lone
    /// ones, and sync groups all of whose members are new. One that joins
    /// a running sync group waits for a restart (pending).
    async fn start_added(&mut self, new: &Config, links: &[net::Link]) -> Vec<String> {
        let known = |n: &str| self.running_vrrp.vrrp_instances.iter().any(|i| i.name == n);
        let group_of = |n: &str| {
            new.vrrp_sync_groups
                .iter()
                .find(|g| g.group.iter().any(|m| m == n))
        };
        let startable: Vec<String> = new
            .vrrp_instances
            .iter()
            .map(|i| i.name.clone())
            .filter(|n| !known(n))
            .filter(|n| group_of(n).is_none_or(|g| g.group.iter().all(|m| !known(m))))
            .collect();
        if startable.is_empty() {
            return Vec::new();
        }
        let planned = plan_groups(new, |n| startable.iter().any(|s| s == n), links);
        remove_stale_vips(&self.vrrp.net, &planned.groups).await;
        self.vrrp.start(planned.groups, &new.global);
        self.vrrp
            .published
            .send_modify(|c| c.instances.extend(planned.statuses));
        if !planned.late.is_empty() {
            tokio::spawn(late_start(
                planned.late,
                new.global.clone(),
                self.vrrp.clone(),
            ));
        }
        let r = &mut self.running_vrrp;
        for n in &startable {
            if let Some(i) = new.vrrp_instances.iter().find(|i| &i.name == n) {
                r.vrrp_instances.push(i.clone());
            }
            if let Some(g) = group_of(n) {
                if !r.vrrp_sync_groups.iter().any(|x| x.name == g.name) {
                    r.vrrp_sync_groups.push(g.clone());
                }
            }
        }
        startable
            .iter()
            .map(|n| format!("vrrp_instance {n} added: started"))
            .collect()
    }

    /// One running task: `None` when the new config does not keep it as
    /// one (an instance removed, its sync group changed: pending), else
    /// the lines of what applied and whether all of it did.
    async fn reconfigure_group(
        &mut self,
        g: &RunningGroup,
        new: &Config,
        links: &[net::Link],
        globals_changed: bool,
    ) -> Option<(Vec<String>, bool)> {
        let first = g.members.first()?;
        let insts: Vec<&VrrpInstance> = g
            .members
            .iter()
            .map(|n| new.vrrp_instances.iter().find(|i| &i.name == n))
            .collect::<Option<_>>()?;
        let sync_of = |c: &Config| {
            c.vrrp_sync_groups
                .iter()
                .find(|s| s.group.contains(first))
                .cloned()
        };
        let (old_group, new_group) = (sync_of(&self.running_vrrp), sync_of(new));
        let members = |s: &Option<crate::config::model::SyncGroup>| {
            s.as_ref().map(|s| (s.name.clone(), s.group.clone()))
        };
        if members(&old_group) != members(&new_group)
            || new_group.as_ref().is_some_and(|s| s.group != g.members)
        {
            return None;
        }
        let same = insts
            .iter()
            .all(|i| self.running_vrrp.vrrp_instances.iter().any(|r| r == *i));
        if same && old_group == new_group && !globals_changed {
            return Some((Vec::new(), true));
        }
        let mut resolved = Vec::new();
        for i in &insts {
            let Some(l) = member_links(i, links) else {
                let line = format!(
                    "vrrp_instance {} NOT applied (no interface {}): it runs as before until a restart",
                    i.name, i.interface
                );
                return Some((vec![line], false));
            };
            resolved.push(((*i).clone(), l));
        }
        let (tx, rx) = oneshot::channel();
        let r = instance::Reconfig {
            members: resolved,
            group: new_group.as_ref().map(|s| {
                (
                    s.name.clone(),
                    s.notify.clone(),
                    s.smtp_alert.or(new.global.smtp_alert).unwrap_or(false),
                )
            }),
            global: new.global.clone(),
            done: tx,
        };
        g.tx.send(GroupInput::Reconfigure(Box::new(r))).await.ok()?;
        let results = tokio::time::timeout(APPLY_BOUND, rx).await.ok()?.ok()?;
        let mut lines = Vec::new();
        let mut ok = true;
        for (inst, r) in insts.iter().zip(results) {
            match r {
                Ok(()) => {
                    if let Some(slot) = self
                        .running_vrrp
                        .vrrp_instances
                        .iter_mut()
                        .find(|x| x.name == inst.name)
                    {
                        if *slot != **inst {
                            lines.push(format!("vrrp_instance {} applied in place", inst.name));
                        }
                        *slot = (*inst).clone();
                    }
                }
                Err(e) => {
                    ok = false;
                    lines.push(format!(
                        "vrrp_instance {} NOT applied ({e}): it runs as before until a restart",
                        inst.name
                    ));
                }
            }
        }
        if ok {
            if let (Some(new_g), Some(slot)) = (
                new_group,
                self.running_vrrp
                    .vrrp_sync_groups
                    .iter_mut()
                    .find(|s| old_group.as_ref().is_some_and(|o| o.name == s.name)),
            ) {
                if *slot != new_g {
                    lines.push(format!("vrrp_sync_group {} applied in place", new_g.name));
                }
                *slot = new_g;
            }
        }
        Some((lines, ok))
    }

    /// The IPVS task first (its first pass with the new config is
    /// awaited), then the health runner. Starts both when the running
    /// config had no virtual server.
    async fn apply_ipvs(&mut self, new: &Arc<Config>) -> Result<String, String> {
        let Some(side) = &mut self.ipvs else {
            let from_store = self.source.is_store();
            self.ipvs = start_ipvs(
                new,
                from_store,
                &self.vrrp.notifier,
                self.drain_timeout,
                &self.local,
                None,
            );
            let status = self.ipvs.as_ref().map(|s| s.status.clone());
            let started = status.is_some();
            self.vrrp.published.send_modify(|c| c.ipvs = status);
            return Ok(if started {
                "ipvs task and health checks started".into()
            } else {
                "ipvs: nothing to program (no virtual_server, no lvs_timeouts)".into()
            });
        };
        let previous = match &side.health {
            Some(h) => h.snapshot().await,
            None => None,
        };
        // Validated by the caller: planning cannot fail here.
        let runner = health::Runner::carrying_over(new, RunnerConfig::default(), previous.as_ref())
            .map_err(|e| e.to_string())?
            .with_local_addresses(self.local.clone());
        // No runner yet (its plan failed at start): one starts after the
        // IPVS task has the config its events name.
        let fresh = side.health.is_none().then(health::channel);
        let (timeouts, sysctls) = kernel_settings(new, side.from_store);
        let (was, _) = kernel_settings(&self.current, side.from_store);
        let timeouts = ipvs_task::timeouts_after_commit(was, timeouts);
        let (tx, rx) = oneshot::channel();
        let cmd = ipvs_task::Command::Reconfigure {
            config: new.clone(),
            timeouts,
            sysctls,
            checks: fresh.as_ref().map(|(h, _)| h.clone()),
            done: tx,
        };
        if side.commands.send(cmd).await.is_err() {
            return Err("ipvs task is gone".into());
        }
        let applied = tokio::time::timeout(APPLY_BOUND, rx).await;
        match (fresh, &side.health) {
            (Some((handle, requests)), _) => {
                tokio::spawn(runner.run(side.events.clone(), requests));
                side.health = Some(handle);
            }
            (None, Some(h)) => {
                if !h.replace(runner).await {
                    tracing::error!("health runner gone; checks not replaced");
                }
            }
            (None, None) => {}
        }
        match applied {
            Ok(Ok(Ok(a))) if a.failed.is_empty() => Ok(format!(
                "ipvs: {} op{} applied, {} real server{} draining",
                a.ops,
                if a.ops == 1 { "" } else { "s" },
                a.draining,
                if a.draining == 1 { "" } else { "s" }
            )),
            Ok(Ok(Ok(a))) => Err(format!(
                "ipvs: {} of {} ops refused (retried): {}",
                a.failed.len(),
                a.ops,
                a.failed.join("; ")
            )),
            Ok(Ok(Err(e))) => Err(format!("ipvs: cannot program the kernel (retried): {e}")),
            Ok(Err(_)) => Err("ipvs task dropped the commit".into()),
            Err(_) => Err(format!(
                "ipvs: first pass not done within {APPLY_BOUND:?}; it goes on"
            )),
        }
    }
}

fn failed(line: String) -> ReloadReport {
    ReloadReport {
        outcome: ReloadOutcome::Failed,
        lines: vec![line],
    }
}

/// The sync daemon task when `lvs_sync_daemon` is configured: its status
/// line and where to ask it to shut down.
type SyncHandle = (watch::Receiver<String>, mpsc::Sender<oneshot::Sender<()>>);

fn start_sync_daemon(
    config: &Config,
    statuses: &[watch::Receiver<Snapshot>],
    resuming: impl Fn(&str) -> bool,
) -> Option<SyncHandle> {
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
    let vrrp = statuses[i].clone();
    let (tx, rx) = watch::channel(sync::status_line(&cfg, "INIT", None, None));
    let (stx, srx) = mpsc::channel(1);
    tracing::info!(interface = %cfg.interface, instance = %cfg.vrrp_instance, "ipvs sync daemon task started");
    let resuming = resuming(&cfg.vrrp_instance);
    tokio::spawn(sync::run(cfg, vrrp, tx, srx, resuming));
    Some((rx, stx))
}

/// At start, no VIP of ours may linger from a previous run (SIGKILL
/// leaves them): an instance adds them only on becoming MASTER. A resumed
/// MASTER keeps them (a hitless restart).
async fn remove_stale_vips(net: &Net, groups: &[GroupSpec]) {
    for r in groups.iter().flat_map(|g| &g.members).filter(|r| !r.resume) {
        let inst = &r.inst;
        let vips = inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded);
        for (v, idx) in vips.zip(&r.links.vip_ifindex) {
            match net.del_vip(*idx, v).await {
                Ok(true) => {
                    tracing::warn!(instance = %inst.name, vip = %v.addr, "removed stale vip")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(instance = %inst.name, vip = %v.addr, error = %e, "cannot remove stale vip")
                }
            }
        }
    }
}
