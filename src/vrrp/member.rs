//! The I/O edge of one instance task member: everything a member needs
//! besides its `vrrp::machine::Machine` (which `vrrp::group::Machine`
//! owns).
//!
//! Owns: [`Member`] (its advert socket and template, gratuitous ARP / NA
//! socket and pacing task, receive filter and drop counters, link indexes
//! and status channel), [`setup`] (wait for the interface's address, map
//! the config, open the sockets), the in-place half of a reconfiguration,
//! status snapshots, the move to or from a vmac, and the typed errors of both: [`SetupError`] and
//! [`ReconfigError`] (why a commit needs a restart instead).
//! Must not: decide protocol behaviour (the machines do), or hold locks.

use std::net::IpAddr;
use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::arpwatch::{self, Guard, Reassert, Stolen, Theft};
use super::filter::FilterConfig;
use super::from_config::{from_config, EdgeConfig, FromConfigError};
use super::group;
use super::instance::{GroupInput, MemberLinks, MemberSpec, VmacLink};
use super::machine::{InstanceConfig, InstanceConfigError, Machine, State};
use super::packet::{Addrs, Auth, Family, Repr, V2Repr, V3Repr};
use super::routes::{self, Routes};
use super::socket::{Gratuitous, TxSocket, RX_BUF};
use super::types::{AdverInt, Centiseconds, Priority, Version};
use crate::config::bounds::IfName;
use crate::config::model::{GlobalDefs, Vip, VrrpInstance};
use crate::control::{InstanceStatus, Snapshot};
use crate::daemon::handoff;
use crate::daemon::supervisor::Heartbeat;
use crate::logfields;
use crate::net::{Net, NetError};
use crate::notify;

/// How long a member waits for its interface's primary address (an IPv6
/// link-local is usable only after DAD).
const PRIMARY_WAIT: Duration = Duration::from_secs(15);
const PRIMARY_POLL: Duration = Duration::from_millis(100);

/// Why a member did not start (its status shows it as ERROR).
#[derive(Debug, Error)]
pub enum SetupError {
    #[error("no {wanted} address on {interface} after {waited:?}")]
    NoAddress {
        wanted: Wanted,
        interface: IfName,
        waited: Duration,
    },
    #[error("address lookup on {interface}: {source}")]
    AddressLookup {
        interface: IfName,
        #[source]
        source: NetError,
    },
    #[error("shut down during startup")]
    ShutDown,
    #[error("handed over during startup")]
    HandedOver,
    #[error(transparent)]
    Config(#[from] FromConfigError),
    #[error(transparent)]
    Machine(#[from] InstanceConfigError),
    #[error("advert socket on {interface}: {source}")]
    AdvertSocket {
        interface: IfName,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the advert")]
    Advert,
}

/// The address a member waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    PrimaryV4,
    LinkLocalV6,
}

impl std::fmt::Display for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PrimaryV4 => "primary ipv4",
            Self::LinkLocalV6 => "ipv6 link-local",
        })
    }
}

/// Why a committed config was not applied in place to a running member:
/// it needs a restart instead, and the member keeps its running settings.
#[derive(Debug, Error)]
pub enum ReconfigError {
    #[error("its sync group's members changed")]
    GroupMembersChanged,
    #[error("its interface changed")]
    InterfaceChanged,
    #[error("its family, source or multicast address changed")]
    AddressChanged,
    #[error("cannot build the advert")]
    Advert,
    #[error(transparent)]
    Config(#[from] FromConfigError),
    /// Refused by the machine (version, VRID or primary address changed,
    /// or an invalid config), or the member never started.
    #[error(transparent)]
    Machine(#[from] group::ReconfigureError),
}

pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) filter: FilterConfig,
    /// `filter`, published to the receive task of the interface.
    filter_tx: watch::Sender<Option<FilterConfig>>,
    edge: EdgeConfig,
    pub(crate) ifindex: u32,
    pub(crate) track_ifindex: Vec<Option<u32>>,
    /// Names of the tracked scripts, in `InstanceConfig::scripts` order.
    pub(crate) scripts: Vec<String>,
    /// Names of the tracked files, in `InstanceConfig::files` order.
    pub(crate) files: Vec<String>,
    vip_ifindex: Vec<u32>,
    /// Its vmac (`use_vmac`): where adverts (unless `vmac_xmit_base`),
    /// VIPs and gratuitous ARP / NA go.
    vmac: Option<VmacLink>,
    /// `virtual_routes` and `virtual_rules`: installed with the VIPs.
    routes: Routes,
    /// The VIPs were added this turn: the routes follow its advert.
    routes_due: bool,
    tx: TxSocket,
    advert: Repr,
    grat: Option<Arc<Gratuitous>>,
    garp_task: Option<JoinHandle<()>>,
    status: watch::Sender<Snapshot>,
    /// The current master's address, as last heard while BACKUP.
    pub(crate) master: Option<IpAddr>,
    /// Adverts sent and accepted, and state changes, for the status.
    sent: u64,
    pub(crate) received: u64,
    transitions: u64,
    /// The link its gratuitous ARPs go out of (index, name, MAC), and the
    /// interface's own MAC: what the ARP-theft watch guards and who may
    /// claim the VIPs.
    arp_link: (u32, String, Option<[u8; 6]>),
    parent_mac: Option<[u8; 6]>,
    /// The link its ARP-theft watch guards while MASTER.
    guarding: Option<u32>,
    /// VIPs claimed by another MAC while MASTER (`vigil status`).
    arp_theft: u64,
    reassert: Reassert,
}

/// The checked parts of a commit, ready to take over (see
/// [`Member::check`]).
pub(crate) struct Checked {
    pub(crate) machine: InstanceConfig,
    filter: FilterConfig,
    edge: EdgeConfig,
    advert: Repr,
    routes: Routes,
}

pub(crate) fn state_name(s: State) -> &'static str {
    match s {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

pub(crate) fn notify_state(s: State) -> notify::State {
    match s {
        State::Initialize => notify::State::Stop,
        State::Backup => notify::State::Backup,
        State::Master => notify::State::Master,
        State::Fault => notify::State::Fault,
    }
}

/// A status for a member whose instance task has not set it up yet: INIT,
/// which readiness waits on (`daemon::service`).
pub fn starting_status(inst: &VrrpInstance, global: &GlobalDefs) -> InstanceStatus {
    InstanceStatus {
        state: "INIT".into(),
        error: None,
        ..error_status(inst, global, String::new())
    }
}

/// A status for a member that never started.
pub fn error_status(inst: &VrrpInstance, global: &GlobalDefs, error: String) -> InstanceStatus {
    InstanceStatus {
        name: inst.name.clone(),
        state: "ERROR".into(),
        interface: inst.interface.to_string(),
        vrid: inst.virtual_router_id,
        version: inst.effective_version(global).number(),
        family: if inst.is_ipv6() { 6 } else { 4 },
        priority: inst.priority,
        effective_priority: inst.priority,
        advert_interval_ms: inst.advert_int.0,
        error: Some(error),
        ..Default::default()
    }
}

/// The VIPs of one family, as the advert's address list holds them.
fn addrs_of<A, const N: usize>(
    vips: &[Vip],
    pick: impl Fn(IpAddr) -> Option<A>,
) -> Option<heapless::Vec<A, N>> {
    let mut out = heapless::Vec::new();
    for a in vips.iter().filter_map(|v| pick(v.addr)) {
        out.push(a).ok()?;
    }
    Some(out)
}

fn v4(a: IpAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn v6(a: IpAddr) -> Option<std::net::Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

/// The advert template of an instance (priority set per send).
fn advert_template(cfg: &InstanceConfig, vips: &[Vip], auth: Auth) -> Option<Repr> {
    match cfg.version {
        Version::V2 => Some(Repr::V2(V2Repr {
            vrid: cfg.vrid,
            priority: cfg.priority,
            adver_int_secs: NonZeroU8::new(cfg.advert_interval.as_v2_secs()?)?,
            auth,
            addrs: addrs_of(vips, v4)?,
        })),
        Version::V3 => {
            // The instance's family is its source address's (also when it
            // has no virtual address).
            let addrs = match cfg.primary_ip {
                IpAddr::V6(_) => Addrs::V6(addrs_of(vips, v6)?),
                IpAddr::V4(_) => Addrs::V4(addrs_of(vips, v4)?),
            };
            Some(Repr::V3(V3Repr {
                vrid: cfg.vrid,
                priority: cfg.priority,
                max_adver_int: AdverInt::new(cfg.advert_interval.get())?,
                addrs,
            }))
        }
    }
}

impl Member {
    /// Its interface, for the `interface` log field.
    pub(crate) fn interface(&self) -> &str {
        self.edge.interface.as_str()
    }

    /// Its address family, for the `family` log field.
    pub(crate) fn family(&self) -> &'static str {
        logfields::family(self.edge.family)
    }

    fn snapshot(&self, m: &Machine, since: Instant) -> Snapshot {
        let cfg = m.config();
        let state = m.state();
        Snapshot {
            status: InstanceStatus {
                name: self.name.clone(),
                state: state_name(state).into(),
                interface: self.edge.interface.to_string(),
                vrid: cfg.vrid.get(),
                version: cfg.version.number(),
                family: match self.edge.family {
                    Family::V4 => 4,
                    Family::V6 => 6,
                },
                priority: cfg.priority.get(),
                effective_priority: m.priority().get(),
                master: match (state, self.master) {
                    (State::Master, _) => "self".into(),
                    (_, Some(a)) => a.to_string(),
                    _ => String::new(),
                },
                advert_interval_ms: u32::from(cfg.advert_interval.get()) * 10,
                in_state_ms: 0,
                error: None,
                adverts_sent: self.sent,
                adverts_received: self.received,
                transitions: self.transitions,
                route_errors: self.routes.errors,
                arp_theft: self.arp_theft,
            },
            since,
        }
    }

    /// Publishes the snapshot of `m` (this member's machine), keeping the
    /// time of the last state change.
    pub(crate) fn publish(&mut self, m: &Machine, changed: bool) {
        let since = if changed {
            self.transitions += 1;
            Instant::now()
        } else {
            self.status.borrow().since
        };
        let snap = self.snapshot(m, since);
        self.status.send_replace(snap);
    }

    pub(crate) fn notify_scripts(&self) -> (crate::config::model::Notify, bool) {
        (self.edge.notify.clone(), self.edge.smtp_alert)
    }

    /// What its ARP-theft watch guards: its IPv4 VIPs against every MAC
    /// but the interface's, the virtual MAC and the vmac's. `None`: no
    /// IPv4 VIP, or a link without a MAC (no ARP there).
    fn arp_guard(&self) -> Option<Guard> {
        let vips: Vec<std::net::Ipv4Addr> = (self.all_vips())
            .filter_map(|(v, _)| match v.addr {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .collect();
        let link_mac = self.arp_link.2?;
        if vips.is_empty() {
            return None;
        }
        let mut own = vec![link_mac, arpwatch::virtual_mac(self.filter.vrid.get())];
        own.extend(self.parent_mac);
        own.extend(self.vmac.as_ref().map(|v| v.mac));
        own.dedup();
        Some(Guard { vips, own })
    }

    /// Becoming MASTER, or a MASTER's VIPs or links changed: guards its
    /// VIPs on its gratuitous-ARP link (member `me` of the task whose
    /// theft queue is `tx`).
    pub(crate) fn guard_arp(&mut self, tx: &mpsc::Sender<Stolen>, me: usize) {
        self.unguard_arp(tx, me);
        if let Some(g) = self.arp_guard() {
            let (index, name, _) = &self.arp_link;
            arpwatch::guard(*index, name, tx, me, g);
            self.guarding = Some(*index);
        }
    }

    /// Leaving MASTER (or stopping): no longer guards anything.
    pub(crate) fn unguard_arp(&mut self, tx: &mpsc::Sender<Stolen>, me: usize) {
        if let Some(index) = self.guarding.take() {
            arpwatch::unguard(index, tx, me);
        }
        self.reassert.clear();
    }

    /// Whether its ARP-theft watch runs (it is MASTER with IPv4 VIPs).
    pub(crate) fn guarding_arp(&self) -> bool {
        self.guarding.is_some()
    }

    /// Another MAC claimed one of its VIPs while MASTER: counted always;
    /// at most once per VIP a second (`arpwatch::Reassert`, so a fight or
    /// a flood costs neither the LAN nor the journal) a warning, one
    /// re-asserting gratuitous ARP, and the notification returned.
    pub(crate) fn arp_theft(&mut self, theft: Theft, now: Instant) -> Option<notify::Event> {
        self.arp_theft += 1;
        let arp_theft = self.arp_theft;
        self.status.send_if_modified(|s| {
            s.status.arp_theft = arp_theft;
            false
        });
        if !self.reassert.due(theft.vip, now) {
            return None;
        }
        let mac = crate::net::arp::mac_text(&theft.mac);
        tracing::warn!(
            instance = %self.name,
            vip = %theft.vip,
            mac = %mac,
            interface = %self.arp_link.1,
            "arp theft: another mac claims a vip; re-asserting it"
        );
        let idx = (self.all_vips())
            .find(|(v, _)| v.addr == IpAddr::V4(theft.vip))
            .map_or(self.arp_link.0, |(_, i)| i);
        if let Some(g) = &self.grat {
            if let Err(e) = g.send(IpAddr::V4(theft.vip), idx) {
                tracing::warn!(instance = %self.name, vip = %theft.vip, error = %e, "gratuitous arp/na not sent");
            }
        }
        Some(notify::Event {
            kind: notify::EventKind::ArpTheft,
            name: format!("{} {} {mac}", self.name, theft.vip),
            state: notify::State::Master,
            priority: 0,
            // `notify_arp_theft` rides in the generic `notify` slot
            // (`notify::script::commands` appends instance, VIP, MAC).
            scripts: crate::config::model::Notify {
                notify: self.edge.notify_arp_theft.clone(),
                ..Default::default()
            },
            smtp_alert: self.edge.smtp_alert,
        })
    }

    fn all_vips(&self) -> impl Iterator<Item = (&Vip, u32)> {
        self.edge
            .vips
            .iter()
            .chain(self.edge.vips_excluded.iter())
            .zip(self.vip_ifindex.iter().copied())
    }

    /// Where its adverts go: the multicast group, or the unicast peers.
    fn destinations(&self) -> Vec<IpAddr> {
        if self.edge.unicast_peers.is_empty() {
            vec![self.edge.mcast_group]
        } else {
            self.edge.unicast_peers.clone()
        }
    }

    /// Its advert as last sent, and where, for a handoff record (`None`
    /// only if the advert no longer emits, which a sent one always does).
    pub(crate) fn handoff_advert(&self, interval: Centiseconds) -> Option<handoff::Advert> {
        let dsts = self.destinations();
        let mut buf = vec![0; RX_BUF];
        let n = self
            .advert
            .emit(&mut buf, self.edge.src, *dsts.first()?)
            .ok()?;
        buf.truncate(n);
        Some(handoff::Advert {
            ifindex: self.ifindex,
            src: self.edge.src,
            dsts,
            ttl: self.edge.ttl,
            interval_ms: u32::from(interval.get()) * 10,
            vrrp: buf,
        })
    }

    pub(crate) fn send_advert(&mut self, priority: Priority) {
        match &mut self.advert {
            Repr::V2(r) => r.priority = priority,
            Repr::V3(r) => r.priority = priority,
        }
        for d in self.destinations() {
            if let Err(e) = self.tx.send(&self.advert, d) {
                tracing::warn!(
                    instance = %self.name,
                    vrid = %self.filter.vrid,
                    interface = %self.interface(),
                    dst = %d,
                    error = %e,
                    "advert not sent"
                );
            }
        }
        // Counted in place (a master receives nothing that would publish),
        // without waking the snapshot's watchers: a counter is read when
        // asked for (status, metrics), and the sync task and the service
        // line need not turn on every advert.
        self.sent += 1;
        let sent = self.sent;
        self.status.send_if_modified(|s| {
            s.status.adverts_sent = sent;
            false
        });
    }

    async fn add_vip(&self, net: &Net, v: &Vip, idx: u32) {
        if let Err(e) = net.add_vip(idx, v).await {
            self.vip_failed(v, &e, "cannot add vip");
        }
    }

    async fn del_vip(&self, net: &Net, v: &Vip, idx: u32) {
        if let Err(e) = net.del_vip(idx, v).await {
            self.vip_failed(v, &e, "cannot remove vip");
        }
    }

    /// `what` is the line's fixed message.
    fn vip_failed(&self, v: &Vip, e: &NetError, what: &'static str) {
        tracing::error!(
            instance = %self.name,
            vrid = %self.filter.vrid,
            interface = %self.interface(),
            vip = %v.addr,
            error = %e,
            "{what}"
        );
    }

    /// On becoming MASTER: the VIPs now; the routes, then the rules, once
    /// the actions of this turn (the first advert among them) are done
    /// ([`Member::install_due_routes`]).
    pub(crate) async fn add_vips(&mut self, net: &Net) {
        for (v, idx) in self.all_vips() {
            self.add_vip(net, v, idx).await;
        }
        self.routes_due = true;
    }

    /// The routes and rules [`Member::add_vips`] left for after the
    /// advert, if any.
    pub(crate) async fn install_due_routes(&mut self, net: &Net) {
        if !std::mem::take(&mut self.routes_due) {
            return;
        }
        let (routes, who) = self.routes_and_who();
        routes.install(net, &who).await;
        self.publish_route_errors();
    }

    /// On leaving MASTER: the rules, the routes, then the VIPs.
    pub(crate) async fn remove_vips(&mut self, net: &Net) {
        self.stop_gratuitous();
        self.routes_due = false;
        let (routes, who) = self.routes_and_who();
        routes.remove(net, &who).await;
        self.publish_route_errors();
        for (v, idx) in self.all_vips() {
            self.del_vip(net, v, idx).await;
        }
    }

    /// The routes, beside what their calls need of the rest.
    fn routes_and_who(&mut self) -> (&mut Routes, routes::Who<'_>) {
        let who = routes::Who {
            instance: Some(&self.name),
            link: Some((self.edge.interface.as_str(), self.ifindex)),
        };
        (&mut self.routes, who)
    }

    /// The count of failed route and rule calls, in the status without
    /// waking its watchers (as the advert counters).
    fn publish_route_errors(&self) {
        let errors = self.routes.errors;
        self.status.send_if_modified(|s| {
            s.status.route_errors = errors;
            false
        });
    }

    /// Checks a committed config against the running one: `Err` says why
    /// it needs a restart instead. `primary` is the machine's primary
    /// address.
    pub(crate) fn check(
        &self,
        inst: &VrrpInstance,
        links: &MemberLinks,
        global: &GlobalDefs,
        primary: IpAddr,
    ) -> Result<Checked, ReconfigError> {
        if links.ifindex != self.ifindex {
            return Err(ReconfigError::InterfaceChanged);
        }
        let mut mapped = from_config(inst, global, primary)?;
        mapped.machine.scripts = links.scripts.iter().map(|(_, t)| *t).collect();
        mapped.machine.files = links.files.iter().map(|(_, t)| *t).collect();
        let e = &mapped.edge;
        if (e.family, e.src, e.mcast_group)
            != (self.edge.family, self.edge.src, self.edge.mcast_group)
        {
            return Err(ReconfigError::AddressChanged);
        }
        let advert = advert_template(&mapped.machine, &e.vips, mapped.filter.auth)
            .ok_or(ReconfigError::Advert)?;
        Ok(Checked {
            machine: mapped.machine,
            filter: mapped.filter,
            edge: mapped.edge,
            advert,
            routes: Routes::of(inst),
        })
    }

    /// Takes a commit the machine accepted: the new edge settings, and on
    /// a MASTER (`master_repeat`: its burst size) the VIPs that changed,
    /// announced by a gratuitous burst.
    pub(crate) async fn take(
        &mut self,
        c: Checked,
        links: &MemberLinks,
        master_repeat: Option<u8>,
        net: &Net,
    ) {
        let old: Vec<(Vip, u32)> = self.all_vips().map(|(v, i)| (v.clone(), i)).collect();
        self.filter_tx.send_replace(Some(c.filter.clone()));
        self.filter = c.filter;
        if c.edge.ttl != self.edge.ttl {
            if let Err(e) = self.tx.set_ttl(c.edge.ttl) {
                tracing::warn!(instance = %self.name, error = %e, "unicast_ttl not applied");
            }
        }
        self.edge = c.edge;
        self.advert = c.advert;
        if links.vmac != self.vmac {
            self.move_links(links, net).await;
        }
        self.vip_ifindex = links.vip_ifindex.clone();
        self.track_ifindex = links.track_ifindex.clone();
        self.scripts = links.scripts.iter().map(|(n, _)| n.clone()).collect();
        self.files = links.files.iter().map(|(n, _)| n.clone()).collect();
        let new: Vec<(Vip, u32)> = self.all_vips().map(|(v, i)| (v.clone(), i)).collect();
        if let Some(repeat) = master_repeat.filter(|_| old != new) {
            for (v, idx) in old.iter().filter(|x| !new.contains(x)) {
                self.del_vip(net, v, *idx).await;
            }
            for (v, idx) in new.iter().filter(|x| !old.contains(x)) {
                self.add_vip(net, v, *idx).await;
            }
            self.gratuitous(repeat);
        }
        let (routes, who) = self.routes_and_who();
        (routes.replace(c.routes, master_repeat.is_some(), net, &who)).await;
        self.publish_route_errors();
        tracing::info!(instance = %self.name, vrid = %self.filter.vrid, "config applied in place");
    }

    /// A reload gave or took the vmac: adverts and gratuitous ARP / NA
    /// go through the new links from now on (the VIPs move with the
    /// commit's VIP diff; the daemon reroutes the receive side).
    async fn move_links(&mut self, links: &MemberLinks, net: &Net) {
        self.vmac = links.vmac.clone();
        let (index, name) = links.advert_link(self.edge.interface.as_str());
        match TxSocket::open(name, index, self.edge.src, self.edge.ttl) {
            Ok(tx) => self.tx = tx,
            Err(e) => {
                tracing::error!(instance = %self.name, interface = %name, error = %e, "advert socket not moved")
            }
        }
        self.stop_gratuitous();
        let vips: Vec<IpAddr> = self.all_vips().map(|(v, _)| v.addr).collect();
        let g = links.gratuitous_link(self.edge.interface.as_str());
        self.arp_link = (g.0, g.1.to_owned(), g.2);
        self.grat = open_gratuitous(&self.name, g, net, &vips, self.edge.src).await;
        tracing::info!(
            instance = %self.name,
            vmac = ?self.vmac.as_ref().map(|v| v.name.as_str()),
            "vmac changed in place"
        );
    }

    pub(crate) fn stop_gratuitous(&mut self) {
        if let Some(t) = self.garp_task.take() {
            t.abort();
        }
    }

    pub(crate) fn gratuitous(&mut self, repeat: u8) {
        let Some(g) = self.grat.clone() else {
            return;
        };
        let vips: Vec<(IpAddr, u32)> = self.all_vips().map(|(v, i)| (v.addr, i)).collect();
        let (gi, ni) = (self.edge.garp_interval, self.edge.gna_interval);
        let name = self.name.clone();
        let vrid = self.filter.vrid;
        self.stop_gratuitous();
        // keepalived: each burst sends `repeat` rounds over the VIPs;
        // garp_interval / gna_interval pace consecutive packets of a family.
        self.garp_task = Some(tokio::spawn(async move {
            let mut first = true;
            for _ in 0..repeat {
                for (vip, idx) in &vips {
                    let gap = if vip.is_ipv4() { gi } else { ni };
                    if !first && !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                    first = false;
                    if let Err(e) = g.send(*vip, *idx) {
                        tracing::warn!(
                            instance = %name,
                            vrid = %vrid,
                            vip = %vip,
                            error = %e,
                            "gratuitous arp/na not sent"
                        );
                    }
                }
            }
        }));
    }
}

/// The interface's address of the instance's family, if it has one now.
async fn lookup_primary(
    spec: &MemberSpec,
    net: &Net,
    vip_addrs: &[IpAddr],
) -> Result<Option<IpAddr>, NetError> {
    if spec.inst.is_ipv6() {
        net.link_local_v6(spec.links.ifindex)
            .await
            .map(|a| a.map(IpAddr::V6))
    } else {
        net.primary_v4(spec.links.ifindex, vip_addrs)
            .await
            .map(|a| a.map(IpAddr::V4))
    }
}

/// Waits for the interface's address of the instance's family (an IPv4
/// primary, or an IPv6 link-local), staying responsive to a shutdown or
/// handoff meanwhile, and checking in with the supervisor at every poll:
/// the wait (up to [`PRIMARY_WAIT`]) is longer than the task's deadline.
async fn wait_primary(
    spec: &MemberSpec,
    net: &Net,
    vip_addrs: &[IpAddr],
    rx: &mut mpsc::Receiver<GroupInput>,
    hb: &Heartbeat,
) -> Result<IpAddr, SetupError> {
    let inst = &spec.inst;
    let deadline = Instant::now() + PRIMARY_WAIT;
    loop {
        hb.check_in().await;
        match lookup_primary(spec, net, vip_addrs).await {
            Ok(Some(a)) => return Ok(a),
            Ok(None) if Instant::now() < deadline => {}
            Ok(None) => {
                return Err(SetupError::NoAddress {
                    wanted: if inst.is_ipv6() {
                        Wanted::LinkLocalV6
                    } else {
                        Wanted::PrimaryV4
                    },
                    interface: inst.interface.clone(),
                    waited: PRIMARY_WAIT,
                })
            }
            // A failed lookup is tried again until the deadline, like a
            // missing address: at start-up the kernel may be busy with
            // the box's own set-up, and an instance that gave up here
            // would stay down until the next restart.
            Err(source) if Instant::now() >= deadline => {
                return Err(SetupError::AddressLookup {
                    interface: inst.interface.clone(),
                    source,
                })
            }
            Err(e) => tracing::debug!(
                instance = %inst.name,
                error = %logfields::Chain(&e),
                "address lookup failed: trying again"
            ),
        }
        tokio::time::sleep(PRIMARY_POLL).await;
        match rx.try_recv() {
            Ok(GroupInput::Shutdown(ack)) => {
                let _ = ack.send(());
                return Err(SetupError::ShutDown);
            }
            Ok(GroupInput::Handoff(ack)) => {
                let _ = ack.send(Vec::new());
                return Err(SetupError::HandedOver);
            }
            _ => {}
        }
    }
}

/// The gratuitous ARP / NA socket of a member whose link has a MAC, if it
/// opens (adverts still go out without it). `link`: the link it sends on
/// (the vmac, or the interface) and the MAC it announces.
async fn open_gratuitous(
    instance: &str,
    link: (u32, &str, Option<[u8; 6]>),
    net: &Net,
    vip_addrs: &[IpAddr],
    primary: IpAddr,
) -> Option<Arc<Gratuitous>> {
    let (index, ifname, mac) = link;
    let mac = mac?;
    let v4 = vip_addrs.iter().any(IpAddr::is_ipv4);
    let ll = if vip_addrs.iter().any(IpAddr::is_ipv6) {
        match primary {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => net.link_local_v6(index).await.ok().flatten(),
        }
    } else {
        None
    };
    match Gratuitous::open(ifname, index, mac, v4, ll) {
        Ok(g) => Some(Arc::new(g)),
        Err(e) => {
            tracing::warn!(
                instance = %instance,
                interface = %ifname,
                error = %e,
                "no gratuitous arp/na socket"
            );
            None
        }
    }
}

/// Waits for the member's source address and builds its edge and its
/// machine (not yet started).
pub(crate) async fn setup(
    spec: &MemberSpec,
    global: &GlobalDefs,
    net: &Net,
    rx: &mut mpsc::Receiver<GroupInput>,
    hb: &Heartbeat,
) -> Result<(Member, Machine), SetupError> {
    let vip_addrs = vip_addrs(&spec.inst);
    let primary = wait_primary(spec, net, &vip_addrs, rx, hb).await?;
    build(spec, global, net, &vip_addrs, primary).await
}

/// A member that did not start for want of its address, tried again
/// without waiting: `Ok(None)` while the interface still has none.
pub(crate) async fn setup_late(
    spec: &MemberSpec,
    global: &GlobalDefs,
    net: &Net,
) -> Result<Option<(Member, Machine)>, SetupError> {
    let vip_addrs = vip_addrs(&spec.inst);
    let found = lookup_primary(spec, net, &vip_addrs).await;
    let primary = found.map_err(|source| SetupError::AddressLookup {
        interface: spec.inst.interface.clone(),
        source,
    })?;
    match primary {
        Some(primary) => build(spec, global, net, &vip_addrs, primary)
            .await
            .map(Some),
        None => Ok(None),
    }
}

impl SetupError {
    /// The member may start later on its own (its address or its link may
    /// yet come); the other errors need another config.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            SetupError::NoAddress { .. }
                | SetupError::AddressLookup { .. }
                | SetupError::AdvertSocket { .. }
        )
    }
}

/// Every address the instance may hold (VIPs and excluded VIPs).
fn vip_addrs(inst: &VrrpInstance) -> Vec<IpAddr> {
    inst.virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .map(|v| v.addr)
        .collect()
}

/// The member's edge and machine (not yet started), once its address is
/// known.
async fn build(
    spec: &MemberSpec,
    global: &GlobalDefs,
    net: &Net,
    vip_addrs: &[IpAddr],
    primary: IpAddr,
) -> Result<(Member, Machine), SetupError> {
    let inst = &spec.inst;
    let mut mapped = from_config(inst, global, primary)?;
    mapped.machine.scripts = spec.links.scripts.iter().map(|(_, t)| *t).collect();
    mapped.machine.files = spec.links.files.iter().map(|(_, t)| *t).collect();
    let machine = Machine::new(mapped.machine)?;
    let e = &mapped.edge;
    let (index, name) = spec.links.advert_link(inst.interface.as_str());
    let tx =
        TxSocket::open(name, index, e.src, e.ttl).map_err(|source| SetupError::AdvertSocket {
            interface: inst.interface.clone(),
            source,
        })?;
    let advert = advert_template(machine.config(), &mapped.edge.vips, mapped.filter.auth)
        .ok_or(SetupError::Advert)?;
    let g = spec.links.gratuitous_link(inst.interface.as_str());
    let arp_link = (g.0, g.1.to_owned(), g.2);
    let grat = open_gratuitous(&inst.name, g, net, vip_addrs, primary).await;
    tracing::info!(
        instance = %inst.name,
        interface = %inst.interface,
        vrid = inst.virtual_router_id,
        family = %logfields::family(mapped.edge.family),
        src = %mapped.edge.src,
        "instance ready"
    );
    spec.filter.send_replace(Some(mapped.filter.clone()));
    let member = Member {
        name: inst.name.clone(),
        filter: mapped.filter,
        filter_tx: spec.filter.clone(),
        edge: mapped.edge,
        ifindex: spec.links.ifindex,
        track_ifindex: spec.links.track_ifindex.clone(),
        scripts: spec.links.scripts.iter().map(|(n, _)| n.clone()).collect(),
        files: spec.links.files.iter().map(|(n, _)| n.clone()).collect(),
        vip_ifindex: spec.links.vip_ifindex.clone(),
        vmac: spec.links.vmac.clone(),
        routes: Routes::of(inst),
        routes_due: false,
        tx,
        advert,
        grat,
        garp_task: None,
        status: spec.status.clone(),
        master: None,
        sent: 0,
        received: 0,
        transitions: 0,
        arp_link,
        parent_mac: spec.links.mac,
        guarding: None,
        arp_theft: 0,
        reassert: Reassert::default(),
    };
    Ok((member, machine))
}
