//! The table vigil wants: config + health -> services and destinations.
//!
//! Owns: how each virtual_server becomes a kernel service (scheduler,
//! persistence flag + timeout + netmask, the scheduler flags and `ops` as
//! IP_VS_SVC_F_SCHED1..3 and IP_VS_SVC_F_ONEPACKET) and which real servers it gets at
//! which weight, with keepalived's meaning of `inhibit_on_failure`,
//! `quorum` / `hysteresis`, `sorry_server` / `sorry_server_inhibit` and
//! `alpha` (keepalived.conf(5), checker code `update_quorum_state`). Must
//! not: read a clock, touch the kernel, or decide when a drain is over
//! (the caller owns the drain timer and passes the draining set).
//!
//! - A real server with no checker is always up (keepalived). Otherwise its
//!   health comes from the map; with no entry it is up, or down with
//!   `alpha` (it must pass its first check before it takes traffic).
//! - A healthy server gets its configured weight, or the one a
//!   `misc_dynamic` MISC_CHECK set ([`Weights`], which quorum counts too:
//!   keepalived updates its quorum on such a change). A failed one is removed,
//!   or kept at weight 0 when `inhibit_on_failure` holds (the real
//!   server's own setting overrides the service's), and always in an
//!   `anycast` service: the kernel's `mh` table follows the order of the
//!   service's destinations, and a destination removed and added back
//!   goes to the head of the list, so the boxes announcing the service
//!   would no longer send a flow to the same real server. For the same
//!   reason an anycast service's entry carries the list order it keeps
//!   (`Entry::order`: its real servers added in config order).
//! - Quorum: a service that is up goes down when the summed weight of its
//!   healthy servers is 0 or below `quorum - hysteresis`; a service that is
//!   down comes up when the sum is at least `quorum + hysteresis` (and not
//!   0). This is keepalived's code; its man page only says hysteresis is a
//!   tolerance "when considering quorum gain or loss". The first
//!   evaluation is a "was down" one, as in keepalived 2.2.7: a service
//!   starts up only at `quorum + hysteresis`.
//! - While a service with a sorry server is down, the sorry server is in at
//!   weight 1 and every real server is out (or at weight 0 with inhibit).
//!   While it is up the sorry server is out, or at weight 0 with
//!   `sorry_server_inhibit`. Without a sorry server, quorum changes only
//!   the notifications (returned as [`QuorumChange`]s).
//! - `omega` only decides whether the quorum/real-server down notifiers run
//!   on shutdown (keepalived.conf(5)); it changes nothing in the table.
//!   vigil leaves the table in place when it stops, so a restart adopts it.
//! - Ports: only NAT rewrites a port, so a DR or TUN destination (real or
//!   sorry server) gets the service's port, 0 for fwmark and every-port
//!   (port 0) services, whatever the config says (ipvsadm and keepalived
//!   do the same). A NAT real or sorry server without a port gets 0 as in
//!   keepalived (the kernel then uses the port the client asked for).
//! - A service of every port (`virtual_server IP` or `IP 0`) is the
//!   kernel's port-0 service: it catches what no service of a specific
//!   port does, and the kernel schedules it only when persistent.
//!   The lab's differential test (lab/tests/test_ipvs_differential.py)
//!   holds all of this to keepalived 2.2.7's table.
//! - Draining: a real server removed from the config keeps its kernel
//!   entry at weight 0 until the caller drops it from the set; one that is
//!   in the config again is no longer draining.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::kernel::{Entry, Table};
use super::wire::{
    Af, Dest, DestId, FwdMethod, Service, ServiceId, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
    SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3,
};
use crate::config::model::{
    CheckKind, Config, Method, Protocol, RealServer, ServiceFlags, ServiceKey, SorryServer,
    VirtualServer,
};

/// Result of a real server's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Up,
    Down,
}

/// A real server of a service, as the kernel names both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RealId {
    pub service: ServiceId,
    pub dest: DestId,
}

/// Health of every checked real server, keyed by kernel identity (the
/// config's `ServiceKey` lacks the protocol, which the kernel's key has).
pub type HealthMap = BTreeMap<RealId, Health>;

/// Weights set at run time (`misc_dynamic`) in place of the configured
/// ones; a real server without an entry has its configured weight.
pub type Weights = BTreeMap<RealId, u32>;

/// Whether each service had quorum at the last evaluation.
pub type QuorumStates = BTreeMap<ServiceId, bool>;

/// A service gained (`up`) or lost quorum: run quorum_up / quorum_down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumChange {
    pub service: ServiceId,
    pub up: bool,
}

/// What the reconcile step works from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Desired {
    pub table: Table,
    /// Real servers to keep at weight 0 if present, never to add.
    pub draining: BTreeSet<RealId>,
    /// Pass back in at the next [`build`].
    pub quorum: QuorumStates,
    pub changes: Vec<QuorumChange>,
}

pub fn protocol(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
        Protocol::Sctp => IPPROTO_SCTP,
    }
}

pub fn fwd_method(m: Method) -> FwdMethod {
    match m {
        Method::Nat => FwdMethod::Masq,
        Method::Dr => FwdMethod::Route,
        Method::Tun => FwdMethod::Tunnel,
    }
}

/// The kernel's key for a virtual server.
pub fn service_id(vs: &VirtualServer) -> ServiceId {
    match vs.key {
        ServiceKey::Addr { addr, port } => ServiceId::Addr {
            protocol: protocol(vs.protocol),
            addr,
            port,
        },
        ServiceKey::Fwmark { mark, ipv6 } => ServiceId::Fwmark {
            af: if ipv6 { Af::V6 } else { Af::V4 },
            mark,
        },
    }
}

/// The service port (0 for fwmark): a real server without a port uses it.
fn service_port(vs: &VirtualServer) -> u16 {
    match vs.key {
        ServiceKey::Addr { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    }
}

/// The kernel's port for a destination forwarded by `method`. Only NAT
/// rewrites the port: a DR or TUN destination takes the service's (0 for
/// fwmark or every-port services), whatever the config says, as ipvsadm
/// and keepalived set it. A NAT one without a port (real or sorry server)
/// goes in as 0, as keepalived sends it: the kernel then forwards to the
/// port the client asked for, and the same table is adopted unchanged.
fn dest_port(vs: &VirtualServer, method: Method, port: Option<u16>) -> u16 {
    match (method, port) {
        (Method::Nat, Some(p)) => p,
        (Method::Nat, None) => 0,
        _ => service_port(vs),
    }
}

pub fn dest_id(vs: &VirtualServer, rs: &RealServer) -> DestId {
    DestId {
        addr: rs.addr,
        port: dest_port(vs, rs.method.unwrap_or(vs.method), rs.port),
    }
}

pub fn real_id(vs: &VirtualServer, rs: &RealServer) -> RealId {
    RealId {
        service: service_id(vs),
        dest: dest_id(vs, rs),
    }
}

/// The kernel service for a virtual server. Without persistence the
/// timeout is 0 and the netmask the host mask (what ipvsadm and keepalived
/// send); `persistence_timeout 0` means no persistence, as in keepalived.
pub fn service(vs: &VirtualServer) -> Service {
    let id = service_id(vs);
    let af = id.af();
    let host = match af {
        Af::V4 => 32,
        Af::V6 => 128,
    };
    let timeout = vs.persistence_timeout.unwrap_or(0);
    let prefix = match timeout {
        0 => host,
        _ => vs.persistence_granularity.unwrap_or(host),
    };
    Service {
        id,
        scheduler: vs.scheduler.keyword().to_owned(),
        pe_name: None,
        flags: flag_bits(&vs.flags) | if timeout > 0 { SVC_F_PERSISTENT } else { 0 },
        timeout,
        netmask: Service::netmask_for(af, prefix),
        stats: None,
    }
}

/// The kernel's IP_VS_SVC_F_* bits for the scheduler flags and `ops`.
pub fn flag_bits(f: &ServiceFlags) -> u32 {
    const SCHED: [u32; 3] = [SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3];
    let sched = (f.sched.iter().zip(SCHED))
        .filter(|(on, _)| **on)
        .fold(0, |acc, (_, bit)| acc | bit);
    sched | if f.ops { SVC_F_ONEPACKET } else { 0 }
}

fn dest(vs: &VirtualServer, rs: &RealServer, weight: u32) -> Dest {
    Dest {
        id: dest_id(vs, rs),
        fwd: fwd_method(rs.method.unwrap_or(vs.method)),
        weight,
        u_thresh: rs.uthreshold.unwrap_or(0),
        l_thresh: rs.lthreshold.unwrap_or(0),
        tunnel: None,
        conns: None,
        stats: None,
    }
}

fn sorry_dest(vs: &VirtualServer, s: &SorryServer, weight: u32) -> Dest {
    Dest {
        id: DestId {
            addr: s.addr,
            port: dest_port(vs, vs.method, s.port),
        },
        fwd: fwd_method(vs.method),
        weight,
        u_thresh: 0,
        l_thresh: 0,
        tunnel: None,
        conns: None,
        stats: None,
    }
}

/// A real server's health, with keepalived's defaults.
pub fn health_of(vs: &VirtualServer, rs: &RealServer, health: &HealthMap) -> Health {
    if rs.checkers.is_empty() {
        return Health::Up;
    }
    let default = if vs.alpha { Health::Down } else { Health::Up };
    health.get(&real_id(vs, rs)).copied().unwrap_or(default)
}

/// Quorum after this evaluation, given the last one (`None`: first). The
/// first evaluation counts as "was down" (keepalived 2.2.7 starts every
/// service with quorum down and evaluates it once its servers are in): a
/// service starts up only with `quorum + hysteresis` of live weight.
pub fn quorum_up(vs: &VirtualServer, live_weight: u64, was_up: Option<bool>) -> bool {
    let (q, h) = (u64::from(vs.quorum), u64::from(vs.hysteresis));
    match was_up.unwrap_or(false) {
        true => live_weight != 0 && live_weight >= q.saturating_sub(h),
        false => live_weight != 0 && live_weight >= q + h,
    }
}

/// A real server's weight now: a dynamic one, else the configured one.
fn weight_of(vs: &VirtualServer, rs: &RealServer, weights: &Weights) -> u32 {
    if weights.is_empty() {
        return rs.weight;
    }
    weights.get(&real_id(vs, rs)).copied().unwrap_or(rs.weight)
}

/// One virtual server's entry; its quorum state comes back too.
pub fn entry(vs: &VirtualServer, health: &HealthMap, was_up: Option<bool>) -> (Entry, bool) {
    entry_weighted(vs, health, &Weights::new(), was_up)
}

/// [`entry`] with the weights `misc_dynamic` checks set.
pub fn entry_weighted(
    vs: &VirtualServer,
    health: &HealthMap,
    weights: &Weights,
    was_up: Option<bool>,
) -> (Entry, bool) {
    let healthy: Vec<(&RealServer, u32, bool)> = vs
        .real_servers
        .iter()
        .map(|rs| {
            let up = health_of(vs, rs, health) == Health::Up;
            (rs, weight_of(vs, rs, weights), up)
        })
        .collect();
    let live: u64 = healthy
        .iter()
        .filter(|(_, _, up)| *up)
        .map(|(_, w, _)| u64::from(*w))
        .sum();
    let up = quorum_up(vs, live, was_up);
    let sorry_active = vs.sorry_server.is_some() && !up;
    let sorry = vs.sorry_server.as_ref().and_then(|s| {
        let weight = match (sorry_active, vs.sorry_server_inhibit) {
            (true, _) => Some(1),
            (false, true) => Some(0),
            (false, false) => None,
        };
        weight.map(|w| sorry_dest(vs, s, w))
    });
    let dests = healthy
        .into_iter()
        .filter_map(|(rs, live_weight, healthy)| {
            let inhibit =
                vs.anycast.is_some() || rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
            let weight = match (healthy && !sorry_active, inhibit) {
                (true, _) => live_weight,
                (false, true) => 0,
                (false, false) => return None,
            };
            Some(dest(vs, rs, weight))
        });
    let mut e = Entry::new(service(vs));
    let dests = dests.chain(sorry);
    // Built in one go (sorted, then bulk-loaded), not by an insert per
    // destination; of two with one id the later wins, as inserting would.
    // Only an anycast service goes through a list first (for its order).
    e.dests = if vs.anycast.is_some() {
        let list: Vec<Dest> = dests.collect();
        e.order = config_order(&list);
        list.into_iter().map(|d| (d.id, d)).collect()
    } else {
        dests.map(|d| (d.id, d)).collect()
    };
    (e, up)
}

/// The list order an anycast service keeps, head first: its real servers
/// added in config order (the sorry server last), as a box starting with
/// the config adds them. Every box then builds the same `mh` table, and a
/// real server a commit appends at the end of the block is added live to
/// the head, where a fresh start puts it too. An id given twice keeps its
/// first place.
fn config_order(list: &[Dest]) -> VecDeque<DestId> {
    let mut seen = BTreeSet::new();
    let mut order = VecDeque::with_capacity(list.len());
    for id in list.iter().map(|d| d.id).filter(|id| seen.insert(*id)) {
        order.push_front(id);
    }
    order
}

/// The whole desired table. `draining` holds real servers the config no
/// longer has (the caller keeps it, from the previous config, until each
/// drain ends); `quorum` is the previous call's [`Desired::quorum`].
pub fn build(
    config: &Config,
    health: &HealthMap,
    draining: &BTreeSet<RealId>,
    quorum: &QuorumStates,
) -> Desired {
    build_weighted(config, health, &Weights::new(), draining, quorum)
}

/// [`build`] with the weights `misc_dynamic` checks set.
pub fn build_weighted(
    config: &Config,
    health: &HealthMap,
    weights: &Weights,
    draining: &BTreeSet<RealId>,
    quorum: &QuorumStates,
) -> Desired {
    build_where(config, health, weights, draining, quorum, |_| true)
}

/// [`build_weighted`] of the services `wanted` keeps only: their entries,
/// quorum states and changes (a pass over a few services; the others'
/// states stay the caller's).
pub fn build_where(
    config: &Config,
    health: &HealthMap,
    weights: &Weights,
    draining: &BTreeSet<RealId>,
    quorum: &QuorumStates,
    wanted: impl Fn(&ServiceId) -> bool,
) -> Desired {
    let mut d = Desired::default();
    for vs in &config.virtual_servers {
        let id = service_id(vs);
        if !wanted(&id) {
            continue;
        }
        let was = quorum.get(&id).copied();
        let (e, up) = entry_weighted(vs, health, weights, was);
        if was.unwrap_or(true) != up {
            d.changes.push(QuorumChange { service: id, up });
        }
        d.quorum.insert(id, up);
        d.table.services.insert(id, e);
    }
    d.draining = draining
        .iter()
        .filter(|r| {
            !d.table
                .services
                .get(&r.service)
                .is_some_and(|e| e.dests.contains_key(&r.dest))
        })
        .copied()
        .collect();
    d
}

/// The services a config owns (for computing what a new config retires).
pub fn owned(config: &Config) -> BTreeSet<ServiceId> {
    config.virtual_servers.iter().map(service_id).collect()
}

/// Every destination the config can put in the kernel: its real servers
/// and sorry servers. A destination of an owned service outside this set
/// was left by an earlier config (found at start: drained, not cut).
pub fn config_dests(config: &Config) -> BTreeSet<RealId> {
    // Collected at once, not inserted one by one: the set is then built
    // from the sorted list in one go.
    config
        .virtual_servers
        .iter()
        .flat_map(|vs| {
            let reals = vs.real_servers.iter().map(move |rs| real_id(vs, rs));
            let sorry = vs.sorry_server.as_ref().map(|s| RealId {
                service: service_id(vs),
                dest: sorry_dest(vs, s, 0).id,
            });
            reals.chain(sorry)
        })
        .collect()
}

/// The real servers with a `misc_dynamic` MISC_CHECK: the only ones a
/// weight set at run time may stay on across a commit.
pub fn dynamic_reals(config: &Config) -> BTreeSet<RealId> {
    let dynamic = |rs: &RealServer| {
        rs.checkers
            .iter()
            .any(|c| matches!(&c.kind, CheckKind::Misc(m) if m.dynamic))
    };
    let mut all = BTreeSet::new();
    for vs in &config.virtual_servers {
        all.extend(
            vs.real_servers
                .iter()
                .filter(|rs| dynamic(rs))
                .map(|rs| real_id(vs, rs)),
        );
    }
    all
}

/// The real servers `old` had and `new` lacks: what a commit drains.
pub fn removed_reals(old: &Config, new: &Config) -> BTreeSet<RealId> {
    let all = |c: &Config| -> BTreeSet<RealId> {
        c.virtual_servers
            .iter()
            .flat_map(|vs| vs.real_servers.iter().map(move |rs| real_id(vs, rs)))
            .collect()
    };
    all(old).difference(&all(new)).copied().collect()
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
