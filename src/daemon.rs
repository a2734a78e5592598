//! `vigil run`: the one place that wires the tasks together.
//!
//! Owns: logging setup, the current-thread runtime, resolving instances to
//! links, removing stale VIPs at start, spawning the tasks below, signal
//! handling and the bounded shutdown. Must not: hold protocol state (the
//! instance tasks do) or parse config text (the CLI hands over a `Config`).
//!
//! ```text
//!                        signals (SIGTERM/SIGINT: shutdown, SIGHUP: log)
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
//! Shutdown (SIGTERM/SIGINT): the instances resign and remove their VIPs;
//! the master sync daemon is stopped and the backup one kept;
//! the IPVS table is left in the kernel as it is (connections through a
//! backup that takes the VIP, or through this box after a restart, keep
//! their real server), and the next `vigil run` adopts it with zero ops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::model::{Config, VrrpInstance};
use crate::control::{self, IpvsStatus, Published, ReceiverStatus, Snapshot};
use crate::health::{self, RunnerConfig};
use crate::ipvs::sync;
use crate::ipvs::task as ipvs_task;
use crate::net::{self, Net, NetEvent};
use crate::notify::Notifier;
use crate::vrrp::instance::{self, error_status, GroupInput, GroupSpec, MemberSpec};
use crate::vrrp::packet::Family;
use crate::vrrp::receive::{self, Demux, Route};
use crate::vrrp::types::Vrid;

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
}

/// Runs the daemon on a current-thread runtime until SIGTERM/SIGINT.
pub fn run(
    config: Config,
    source: String,
    from_store: bool,
    control_path: &Path,
) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(main(config, source, from_store, control_path))
}

async fn main(
    config: Config,
    source: String,
    from_store: bool,
    control_path: &Path,
) -> Result<(), DaemonError> {
    let started = Instant::now();
    let net = Net::connect()?;
    let listener = control::bind(control_path).map_err(|source| DaemonError::Control {
        path: control_path.to_owned(),
        source,
    })?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let notifier = Notifier::spawn(&config.global);
    // Subscribe before reading links, so no change falls in between.
    let mut events = net::events()?;

    let links = net.links().await?;
    let in_group: Vec<&str> = config
        .vrrp_sync_groups
        .iter()
        .flat_map(|g| g.group.iter().map(String::as_str))
        .collect();
    let mut statuses = Vec::new();
    let mut resolved: BTreeMap<String, MemberSpec> = BTreeMap::new();
    let mut late = Vec::new();
    for inst in &config.vrrp_instances {
        let (tx, rx) = watch::channel(Snapshot {
            status: error_status(inst, &config.global, "starting".into()),
            since: Instant::now(),
        });
        statuses.push(rx);
        match member_spec(inst, &links, tx) {
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

    remove_stale_vips(&net, &resolved).await;

    // Sync groups first, then every other instance as a group of one.
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

    // Receive sockets, one per (ifindex, family), and the instance tasks.
    let wired = wire_groups(groups, &config.global, &net, &notifier);
    let receivers = wired.receivers;
    let senders = Arc::new(std::sync::Mutex::new(wired.senders));
    if !late.is_empty() {
        tokio::spawn(late_start(
            late,
            config.global.clone(),
            net.clone(),
            notifier.clone(),
            senders.clone(),
        ));
    }

    // Link events to every instance task (each picks its own links).
    let link_senders = senders.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
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

    let ipvs = start_ipvs(&config, from_store);
    let sync = start_sync_daemon(&config, &statuses);

    let published = Arc::new(Published {
        source,
        started,
        instances: statuses,
        receivers,
        ipvs,
        sync_daemon: sync.as_ref().map(|(rx, _)| rx.clone()),
    });
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
                tracing::warn!("SIGHUP: reload not implemented yet; restart vigil to apply a new config");
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

/// The senders of every running instance task, shared with the link
/// dispatcher, the late starter and shutdown.
type Senders = Arc<std::sync::Mutex<Vec<mpsc::Sender<GroupInput>>>>;

fn current(s: &Senders) -> Vec<mpsc::Sender<GroupInput>> {
    s.lock()
        .map(|v| v.clone())
        .unwrap_or_else(|p| p.into_inner().clone())
}

/// An instance's links by name, or `status` back when its interface does
/// not exist (yet).
fn member_spec(
    inst: &VrrpInstance,
    links: &[net::Link],
    status: watch::Sender<Snapshot>,
) -> Result<MemberSpec, watch::Sender<Snapshot>> {
    let index_of = |name: &str| links.iter().find(|l| l.name == name);
    let Some(link) = index_of(inst.interface.as_str()) else {
        return Err(status);
    };
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
    Ok(MemberSpec {
        inst: inst.clone(),
        ifindex: link.index,
        mac: link.mac,
        track_ifindex,
        vip_ifindex,
        status,
    })
}

/// What [`wire_groups`] started.
struct Wired {
    senders: Vec<mpsc::Sender<GroupInput>>,
    receivers: Vec<watch::Receiver<ReceiverStatus>>,
}

/// One receive socket per (ifindex, family) demultiplexing to the groups'
/// tasks, and the tasks themselves.
fn wire_groups(
    groups: Vec<GroupSpec>,
    global: &crate::config::model::GlobalDefs,
    net: &Net,
    notifier: &Notifier,
) -> Wired {
    let mut demux: BTreeMap<(u32, u8), Demux> = BTreeMap::new();
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
            let d = demux.entry((m.ifindex, fam_no)).or_insert_with(|| {
                let (stx, srx) = watch::channel(ReceiverStatus {
                    interface: inst.interface.to_string(),
                    family: fam_no,
                    ..Default::default()
                });
                receivers.push(srx);
                Demux {
                    ifname: inst.interface.to_string(),
                    ifindex: m.ifindex,
                    family,
                    group,
                    routes: Vec::new(),
                    status: stx,
                }
            });
            d.routes.push(Route {
                vrid,
                member: j,
                tx: tx.clone(),
            });
        }
        senders.push(tx);
        tokio::spawn(instance::run(g, rx, net.clone(), notifier.clone()));
    }
    for (_, d) in demux {
        tokio::spawn(receive::supervise(d));
    }
    Wired { senders, receivers }
}

/// How often the late starter looks for interfaces that did not exist at
/// start (a NIC renamed late by udev, a VLAN created after vigil).
const LATE_POLL: Duration = Duration::from_secs(1);

/// Starts each lone instance whose interface was missing at start as soon
/// as the interface exists. Their receive sockets are their own (the
/// interface is new, so no other socket listens there); their receiver
/// counters are not in `vigil status`.
async fn late_start(
    mut pending: Vec<(VrrpInstance, watch::Sender<Snapshot>)>,
    global: crate::config::model::GlobalDefs,
    net: Net,
    notifier: Notifier,
    senders: Senders,
) {
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
        remove_stale_vips(&net, &ready).await;
        let groups = ready
            .into_values()
            .map(|m| GroupSpec {
                group: None,
                members: vec![m],
                global: global.clone(),
            })
            .collect();
        let wired = wire_groups(groups, &global, &net, &notifier);
        match senders.lock() {
            Ok(mut v) => v.extend(wired.senders),
            Err(p) => p.into_inner().extend(wired.senders),
        }
    }
}

/// The health runner and the IPVS task, when the config has anything for
/// IPVS; returns the IPVS status for the control server.
fn start_ipvs(config: &Config, from_store: bool) -> Option<watch::Receiver<IpvsStatus>> {
    if !ipvs_task::wanted(config) {
        tracing::info!("no virtual_server: IPVS and health checks not started");
        return None;
    }
    let config = Arc::new(config.clone());
    let (ev_tx, ev_rx) = mpsc::channel(HEALTH_QUEUE);
    let (checks, initial) = match health::Runner::new(&config, RunnerConfig::default()) {
        Ok(runner) => {
            let snap = runner.snapshot();
            let (handle, requests) = health::channel();
            tokio::spawn(runner.run(ev_tx, requests));
            (Some(handle), Some(snap))
        }
        Err(e) => {
            tracing::error!(error = %e, "health checks not started; real servers keep their initial state");
            (None, None)
        }
    };
    let checked = initial.as_ref().map_or(0, |s| s.servers.len());
    let core = ipvs_task::Core::new(config.clone(), initial.as_ref(), Instant::now());
    let (tx, rx) = watch::channel(core.status(initial.as_ref()));
    let timeouts = ipvs_task::timeouts(&crate::ipvs::sysctl::timeouts(
        &config.global.lvs_timeouts,
        config.appliance.as_ref(),
        from_store,
    ));
    let sysctls = crate::ipvs::sysctl::wanted(config.appliance.as_ref(), from_store);
    tokio::spawn(ipvs_task::run(core, ev_rx, checks, timeouts, sysctls, tx));
    tracing::info!(
        virtual_servers = config.virtual_servers.len(),
        checked_real_servers = checked,
        "ipvs task and health checks started"
    );
    Some(rx)
}

/// The sync daemon task when `lvs_sync_daemon` is configured: its status
/// line and where to ask it to shut down.
type SyncHandle = (watch::Receiver<String>, mpsc::Sender<oneshot::Sender<()>>);

fn start_sync_daemon(
    config: &Config,
    statuses: &[watch::Receiver<Snapshot>],
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
    tokio::spawn(sync::run(cfg, vrrp, tx, srx));
    Some((rx, stx))
}

/// At start, no VIP of ours may linger from a previous run (SIGKILL
/// leaves them): an instance adds them only on becoming MASTER.
async fn remove_stale_vips(net: &Net, resolved: &BTreeMap<String, MemberSpec>) {
    for r in resolved.values() {
        let inst = &r.inst;
        let vips = inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded);
        for (v, idx) in vips.zip(&r.vip_ifindex) {
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
