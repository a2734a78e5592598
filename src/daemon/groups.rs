//! Instance tasks: which to start for a config, and starting them.
//!
//! Owns: planning instance tasks from a config (sync groups first, then
//! lone instances, each member resolved to its links), starting them with
//! the receive socket of each (interface, family) under the supervisor
//! (which keeps the table of running instance tasks), the registry of
//! receive sockets, the late starter for interfaces that appear after
//! start, and removing stale VIPs before a task starts.
//! Must not: hold protocol state (the instance tasks do), decide what a
//! reload changes (that is [`super::reload`]) or stop tasks (shutdown and
//! reload do, through the supervisor's table).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::supervisor::{Kind, RunningGroup, Supervisor};
use crate::config::model::{Config, GlobalDefs, VrrpInstance};
use crate::control::{ConfigState, ReceiverStatus, Snapshot};
use crate::net::vmac::{self, VmacSpec};
use crate::net::vmac_ledger::Ledger;
use crate::net::{self, Net};
use crate::notify::Notifier;
use crate::track::Table;
use crate::vrrp::instance::GroupInput;
use crate::vrrp::instance::{
    self, error_status, starting_status, GroupSpec, MemberLinks, MemberSpec, Tracks, VmacLink,
};
use crate::vrrp::machine::Track;
use crate::vrrp::packet::Family;
use crate::vrrp::receive::{self, Demux, Route};
use crate::vrrp::routes;
use crate::vrrp::types::Vrid;

/// Queue of one instance task; a full queue drops packets (counted).
const QUEUE: usize = 256;

/// The supervisor's name of the task of `g`.
pub(super) fn task_name(g: &GroupSpec) -> String {
    match (&g.group, g.members.first()) {
        (Some((name, _, _)), _) => format!("sync group {name}"),
        (None, Some(m)) => format!("instance {}", m.inst.name),
        (None, None) => "instance (none)".to_owned(),
    }
}

/// The scripts and files `inst` tracks, by name, as its machine takes
/// them: its own and its sync group's, with keepalived's effective
/// weights.
pub(super) fn script_tracks(config: &Config, inst: &VrrpInstance) -> Tracks {
    let track = |weight, reverse| Track { weight, reverse };
    Tracks {
        // A tracked process is OK / FAIL as a script is: it rides in the
        // scripts' list (the track table has both, by name).
        scripts: (config.tracked_scripts(inst).into_iter())
            .map(|t| (t.script.name.clone(), track(t.weight, t.reverse)))
            .chain(
                (config.tracked_processes(inst).into_iter())
                    .map(|t| (t.script.name.clone(), track(t.weight, t.reverse))),
            )
            .collect(),
        files: (config.tracked_files(inst).into_iter())
            .map(|t| (t.script.name.clone(), track(t.weight, t.reverse)))
            .collect(),
    }
}

/// An instance's links by name, or `status` back when its interface does
/// not exist (yet).
pub(super) fn member_spec(
    inst: &VrrpInstance,
    scripts: Tracks,
    links: &[net::Link],
    status: watch::Sender<Snapshot>,
) -> Result<MemberSpec, watch::Sender<Snapshot>> {
    match member_links(inst, scripts, links) {
        Some(l) => Ok(MemberSpec {
            inst: inst.clone(),
            links: l,
            status,
            filter: watch::channel(None).0,
            resume: None,
        }),
        None => Err(status),
    }
}

/// The links an instance names, or `None` when its interface is missing.
pub(super) fn member_links(
    inst: &VrrpInstance,
    tracks: Tracks,
    links: &[net::Link],
) -> Option<MemberLinks> {
    let index_of = |name: &str| links.iter().find(|l| l.name == name);
    let link = index_of(inst.interface.as_str())?;
    // A vmac not made (yet) is a missing interface: the instance waits.
    let vmac = match (inst.vmac_name(), &inst.use_vmac) {
        (Some(name), Some(v)) => {
            let l = index_of(name.as_str()).filter(|l| l.parent == Some(link.index))?;
            Some(VmacLink {
                index: l.index,
                name: l.name.clone(),
                mac: l.mac?,
                xmit_base: v.xmit_base,
            })
        }
        _ => None,
    };
    let vip_ifindex = inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .map(|v| index_of(inst.vip_link(v).as_str()).map_or(link.index, |l| l.index))
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
        scripts: tracks.scripts,
        files: tracks.files,
        vmac,
    })
}

/// The vmac of `inst` (`use_vmac`) made, when its interface exists.
fn vmac_spec(inst: &VrrpInstance, links: &[net::Link]) -> Option<VmacSpec> {
    let name = inst.vmac_name()?;
    let parent = links.iter().find(|l| l.name == inst.interface.as_str())?;
    Some(VmacSpec {
        name: name.to_string(),
        parent: parent.index,
        parent_name: parent.name.clone(),
        mac: inst.vmac_mac()?,
        ipv6: inst.is_ipv6(),
    })
}

/// Makes the vmacs of the `instances` that `want` names (a
/// vmac already right is kept as it is, VIPs and all: a hitless restart
/// or a reload keeps a master's addresses); returns the links as they
/// are after (the same ones when nothing asked for a vmac). A vmac that
/// cannot be made is logged and its instance waits as for a missing
/// interface.
pub(super) async fn ensure_vmacs(
    net: &Net,
    ledger: &Ledger,
    instances: &[VrrpInstance],
    want: impl Fn(&str) -> bool,
    links: Vec<net::Link>,
) -> Vec<net::Link> {
    let specs: Vec<(&VrrpInstance, VmacSpec)> = (instances.iter())
        .filter(|i| want(&i.name))
        .filter_map(|i| vmac_spec(i, &links).map(|s| (i, s)))
        .collect();
    if specs.is_empty() {
        return links;
    }
    for (inst, spec) in &specs {
        if let Err(e) = net.ensure_vmac(spec, ledger).await {
            tracing::error!(instance = %inst.name, interface = %inst.interface, error = %e, "cannot make the vmac");
        }
    }
    match net.links().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "reading links after making vmacs");
            links
        }
    }
}

/// Deletes the vmacs named, logging what fails (a link of that name that
/// is no vmac is left alone); the last one gone from a parent gives it
/// back the settings it had before the first (see `net::vmac_ledger`).
pub(super) async fn remove_vmacs(net: &Net, ledger: &Ledger, names: &[String]) {
    for n in names {
        if let Err(e) = net.remove_vmac(n).await {
            tracing::error!(vmac = %n, error = %e, "cannot remove the vmac");
            continue;
        }
        if let Err(e) = vmac::restore_parent(ledger, n) {
            tracing::error!(vmac = %n, error = %e, "cannot restore the parent's settings");
        }
    }
}

/// The vmac names of a config's instances.
pub(super) fn vmac_names(instances: &[VrrpInstance]) -> Vec<String> {
    (instances.iter())
        .filter_map(|i| i.vmac_name().map(|n| n.to_string()))
        .collect()
}

/// What [`start_groups`] started.
pub(super) struct Started {
    /// Statuses of the receive sockets it opened.
    pub(super) receivers: Vec<watch::Receiver<ReceiverStatus>>,
}

/// The receive sockets by (ifindex, family): one whose task retired
/// (every instance it fed is gone) is replaced by a new socket.
pub(super) type DemuxRegistry = Arc<std::sync::Mutex<BTreeMap<(u32, u8), Arc<Demux>>>>;

/// The supervisor's name of a receive socket's task.
pub(super) fn receive_name(d: &Demux) -> String {
    let v = match d.family {
        Family::V4 => 4,
        Family::V6 => 6,
    };
    format!("receive {} v{v}", d.ifname)
}

/// Starts (or starts again) the task of a receive socket.
pub(super) fn spawn_receive(sup: &Supervisor, d: Arc<Demux>) {
    sup.spawn(&receive_name(&d), Kind::Receive, |hb| {
        receive::supervise(d, hb)
    });
}

/// Where one member's adverts are received: its advert link (the vmac,
/// or the parent) and family.
struct RxKey<'a> {
    ifname: &'a str,
    ifindex: u32,
    family: Family,
    group: std::net::IpAddr,
}

impl<'a> RxKey<'a> {
    fn of(m: &'a MemberSpec, global: &GlobalDefs) -> Self {
        Self::new(&m.inst, &m.links, global)
    }

    fn new(inst: &'a VrrpInstance, links: &'a MemberLinks, global: &GlobalDefs) -> Self {
        let (ifindex, ifname) = links.advert_link(inst.interface.as_str());
        let (family, group) = if inst.is_ipv6() {
            (Family::V6, global.vrrp_mcast_group6.into())
        } else {
            (Family::V4, global.vrrp_mcast_group4.into())
        };
        RxKey {
            ifname,
            ifindex,
            family,
            group,
        }
    }

    fn key(&self) -> (u32, u8) {
        (self.ifindex, family_number(self.family))
    }
}

fn family_number(f: Family) -> u8 {
    match f {
        Family::V4 => 4,
        Family::V6 => 6,
    }
}

/// Receive sockets opened by one start, not yet spawned.
type Opened = Vec<((u32, u8), Arc<Demux>)>;

/// The running receive socket of `k`, or one opened now (its status
/// pushed to `receivers`).
fn demux_for(
    reg: &BTreeMap<(u32, u8), Arc<Demux>>,
    opened: &mut Opened,
    k: &RxKey<'_>,
    receivers: &mut Vec<watch::Receiver<ReceiverStatus>>,
) -> Arc<Demux> {
    let key = k.key();
    let running = reg.get(&key).filter(|d| !d.retired()).cloned();
    if let Some(d) = running.or_else(|| opened.iter().find(|o| o.0 == key).map(|o| o.1.clone())) {
        return d;
    }
    let (stx, srx) = watch::channel(ReceiverStatus {
        interface: k.ifname.to_owned(),
        family: key.1,
        ..Default::default()
    });
    receivers.push(srx);
    let d = Arc::new(Demux::new(
        k.ifname.to_owned(),
        k.ifindex,
        k.family,
        k.group,
        stx,
    ));
    opened.push((key, d.clone()));
    d
}

/// Spawns the receive tasks of the sockets `opened` and records them.
fn spawn_opened(reg: &mut BTreeMap<(u32, u8), Arc<Demux>>, opened: Opened, sup: &Supervisor) {
    for (key, d) in opened {
        spawn_receive(sup, d.clone());
        reg.insert(key, d);
    }
}

fn lock(registry: &DemuxRegistry) -> std::sync::MutexGuard<'_, BTreeMap<(u32, u8), Arc<Demux>>> {
    match registry.lock() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    }
}

/// The tasks of `groups`, each member routed from the receive socket of
/// its (advert link, family), opened here when none runs yet.
pub(super) fn start_groups(
    groups: Vec<GroupSpec>,
    global: &GlobalDefs,
    net: &Net,
    notifier: &Notifier,
    scripts: &watch::Receiver<Table>,
    registry: &DemuxRegistry,
    sup: &Supervisor,
) -> Started {
    let mut reg = lock(registry);
    let mut opened: Opened = Vec::new();
    let mut receivers = Vec::new();
    for g in groups {
        let (tx, rx) = mpsc::channel(QUEUE);
        for (j, m) in g.members.iter().enumerate() {
            let Some(vrid) = Vrid::new(m.inst.virtual_router_id) else {
                continue;
            };
            let d = demux_for(&reg, &mut opened, &RxKey::of(m, global), &mut receivers);
            d.add_route(Route {
                vrid,
                member: j,
                tx: tx.clone(),
                filter: m.filter.subscribe(),
            });
        }
        let task = task_name(&g);
        let members = g.members.iter().map(|m| m.inst.name.clone()).collect();
        let statuses = g.members.iter().map(|m| m.status.clone()).collect();
        let (net, notifier, scripts) = (net.clone(), notifier.clone(), scripts.clone());
        let group = |id| RunningGroup {
            members,
            tx,
            task,
            id,
            statuses,
        };
        sup.spawn_instance(group, |hb| instance::run(g, rx, net, notifier, scripts, hb));
    }
    spawn_opened(&mut reg, opened, sup);
    Started { receivers }
}

/// Member `member` of the running task `tx` now receives on the advert
/// link `links` name (a reload gave or took its vmac): routed from that
/// link's socket (opened when none runs) and no longer from any other.
pub(super) fn reroute(
    vrrp: &VrrpSide,
    tx: &mpsc::Sender<GroupInput>,
    member: usize,
    inst: &VrrpInstance,
    links: &MemberLinks,
    global: &GlobalDefs,
) {
    let Some(vrid) = Vrid::new(inst.virtual_router_id) else {
        return;
    };
    let k = RxKey::new(inst, links, global);
    let mut reg = lock(&vrrp.demux);
    // The member's published receive checks travel with its route.
    let Some(filter) = reg.values().find_map(|d| d.filter_of(tx, member)) else {
        tracing::warn!(
            instance = %inst.name,
            "vrrp: no receive route to move (the instance task is gone); its restart routes it anew"
        );
        return;
    };
    for (key, d) in reg.iter() {
        if *key != k.key() {
            d.drop_route(tx, member);
        }
    }
    let (mut opened, mut receivers) = (Vec::new(), Vec::new());
    let d = demux_for(&reg, &mut opened, &k, &mut receivers);
    if d.filter_of(tx, member).is_none() {
        d.add_route(Route {
            vrid,
            member,
            tx: tx.clone(),
            filter,
        });
    }
    spawn_opened(&mut reg, opened, &vrrp.supervisor);
    drop(reg);
    vrrp.published
        .send_modify(|c| c.receivers.extend(receivers));
}

/// The instance tasks to start for the instances of `config` that `want`
/// names: sync groups first, then lone instances, each member resolved to
/// its links.
pub(super) struct Planned {
    pub(super) groups: Vec<GroupSpec>,
    /// One per wanted instance, in config order.
    pub(super) statuses: Vec<watch::Receiver<Snapshot>>,
    /// Lone instances whose interface is missing (with their tracked
    /// scripts): the late starter's.
    pub(super) late: Vec<Late>,
}

pub(super) fn plan_groups(
    config: &Config,
    want: impl Fn(&str) -> bool,
    links: &[net::Link],
) -> Planned {
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
            status: starting_status(inst, &config.global),
            since: Instant::now(),
        });
        statuses.push(rx);
        let scripts = script_tracks(config, inst);
        match member_spec(inst, scripts.clone(), links, tx) {
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
                    tracing::error!(
                        instance = %inst.name,
                        interface = %inst.interface,
                        "no such interface; sync group member not started"
                    );
                } else {
                    tracing::error!(
                        instance = %inst.name,
                        interface = %inst.interface,
                        "no such interface; the instance starts when it appears"
                    );
                    late.push((inst.clone(), scripts, tx));
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
pub(super) struct VrrpSide {
    /// The instance tasks' rtnetlink connection, driven by the VRRP thread.
    pub(super) net: Net,
    pub(super) notifier: Notifier,
    pub(super) demux: DemuxRegistry,
    pub(super) published: watch::Sender<ConfigState>,
    pub(super) supervisor: Supervisor,
    /// The tracked scripts' states, for every instance task.
    pub(super) scripts: watch::Receiver<Table>,
    /// Where the vmacs' parents' settings before them are kept.
    pub(super) ledger: Ledger,
}

impl VrrpSide {
    /// Starts `groups` and publishes what they add to `vigil status`.
    pub(super) fn start(&self, groups: Vec<GroupSpec>, global: &GlobalDefs) {
        let started = start_groups(
            groups,
            global,
            &self.net,
            &self.notifier,
            &self.scripts,
            &self.demux,
            &self.supervisor,
        );
        self.published
            .send_modify(|c| c.receivers.extend(started.receivers));
    }
}

/// How often the late starter looks for interfaces that did not exist at
/// start (a NIC renamed late by udev, a VLAN created after vigil).
const LATE_POLL: Duration = Duration::from_secs(1);

/// Starts each lone instance whose interface was missing at start as soon
/// as the interface exists.
/// A lone instance waiting for its interface, its tracked scripts, and
/// where it publishes.
pub(super) type Late = (VrrpInstance, Tracks, watch::Sender<Snapshot>);

pub(super) async fn late_start(mut pending: Vec<Late>, global: GlobalDefs, vrrp: VrrpSide) {
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
        // The vmacs of those whose interface is there now.
        let waiting: Vec<VrrpInstance> = pending.iter().map(|p| p.0.clone()).collect();
        let links = ensure_vmacs(&net, &vrrp.ledger, &waiting, |_| true, links).await;
        let mut ready: BTreeMap<String, MemberSpec> = BTreeMap::new();
        let mut still = Vec::new();
        for (inst, scripts, tx) in pending {
            match member_spec(&inst, scripts.clone(), &links, tx) {
                Ok(spec) => {
                    tracing::info!(instance = %inst.name, interface = %inst.interface, "interface appeared; instance starting");
                    ready.insert(inst.name.clone(), spec);
                }
                Err(tx) => still.push((inst, scripts, tx)),
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

/// At start, no VIP of ours may linger from a previous run (SIGKILL
/// leaves them): an instance adds them only on becoming MASTER. A resumed
/// MASTER keeps them (a hitless restart). Likewise its `virtual_rules` and
/// `virtual_routes` (removed first, as on leaving MASTER; one already gone
/// is no error).
pub(super) async fn remove_stale_vips(net: &Net, groups: &[GroupSpec]) {
    for r in groups
        .iter()
        .flat_map(|g| &g.members)
        .filter(|r| r.resume.is_none())
    {
        let inst = &r.inst;
        let who = routes::Who {
            instance: Some(&inst.name),
            link: Some((inst.interface.as_str(), r.links.ifindex)),
        };
        routes::Routes::of(inst).remove(net, &who).await;
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
