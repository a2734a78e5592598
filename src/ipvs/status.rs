//! The IPVS table as `vigil status` shows it.
//!
//! Owns: [`view`] (built when asked: `vigil status`, a scrape, the
//! console), which renders a [`Machine`]'s state (the last table
//! the kernel dumped, drains, retired and foreign services, the current
//! error) and the health runner's [`health::States`] into the
//! [`IpvsStatus`] the control server shows, with ipvsadm's words
//! ([`method_name`], the persistence mask), and [`summary`], its counts
//! for the service line, from the machine alone. Must not: change the machine
//! or reach the kernel: it reads what the last dump saw.
//!
//! The status structs are still `crate::control`'s (the protocol's), not
//! this module's own.

use crate::health::local::LocalError;
use std::borrow::Cow;
use std::collections::HashMap;

use super::desired::{self, Health, RealId};
use super::kernel::{Entry, Table};
use super::machine::Machine;
use super::wire::{
    Dest, DestId, FwdMethod, Service, ServiceId, Stats, SVC_F_ONEPACKET, SVC_F_PERSISTENT,
    SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3,
};
use crate::config::model::{
    Protocol, RealServer, Scheduler, ServiceFlags, ServiceKey, VirtualServer,
};
use crate::control::{
    IpvsCheckStats, IpvsCounters, IpvsDestStatus, IpvsServiceStatus, IpvsStatus, IpvsSummary,
};
use crate::health;

/// What the health runner knows of a checked real server.
struct Detail {
    /// Its last result: "ok", the failure, or "none" yet.
    last: Cow<'static, str>,
    /// Its longest current failure streak.
    failures: u32,
    /// The weight a `misc_dynamic` check set.
    dynamic_weight: Option<u32>,
    checks_done: u64,
    checks_failed: u64,
}

impl Detail {
    fn of(r: &health::RealStatus) -> Self {
        Detail {
            last: match r.last {
                None => NONE_YET.into(),
                Some(Ok(())) => "ok".into(),
                Some(Err(f)) => f.words(r.service, r.real.0).into(),
            },
            failures: r.consecutive_failures,
            dynamic_weight: r.weight,
            checks_done: r.checks_done,
            checks_failed: r.checks_failed,
        }
    }
}

/// `last` of a real server not checked yet.
const NONE_YET: &str = "none";

/// A real server the snapshot lacks: not checked yet.
impl Default for Detail {
    fn default() -> Self {
        Detail {
            last: NONE_YET.into(),
            failures: 0,
            dynamic_weight: None,
            checks_done: 0,
            checks_failed: 0,
        }
    }
}

/// The snapshot's real servers by kernel identity (a group's real server
/// is one per service of the group), sorted to be searched: an index
/// into `servers`, not a copy of each.
struct Details<'s> {
    servers: &'s [health::RealStatus],
    index: Vec<(RealId, u32)>,
}

impl<'s> Details<'s> {
    fn new(m: &Machine, checks: Option<&'s health::States>) -> Self {
        let servers = checks.map_or(&[][..], |s| &s.servers[..]);
        let mut index = Vec::with_capacity(servers.len());
        for (i, r) in servers.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            m.names()
                .each_real_of(m.config(), r.service, r.real, |id, _| index.push((id, i)));
        }
        // The last of equal identities wins, as an insert into a map would.
        index.sort_by_key(|e| e.0);
        index.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                earlier.1 = later.1;
            }
            same
        });
        Details { servers, index }
    }

    fn get(&self, id: &RealId) -> Detail {
        (self.index.binary_search_by_key(id, |e| e.0).ok())
            .and_then(|at| self.servers.get(self.index[at].1 as usize))
            .map_or_else(Detail::default, Detail::of)
    }
}

/// The health runner's tallies by the virtual server they count for.
type Tallies<'s> = HashMap<(ServiceKey, Protocol), Vec<&'s health::tally::ServiceTally>>;

fn tallies_by_service(checks: Option<&health::States>) -> Tallies<'_> {
    let mut out: Tallies<'_> = HashMap::new();
    for t in checks.iter().flat_map(|s| &s.tallies) {
        out.entry((t.service, t.protocol)).or_default().push(t);
    }
    out
}

/// A virtual server's health-check tallies in the status's words.
fn check_stats(vs: &VirtualServer, tallies: &Tallies<'_>) -> Vec<IpvsCheckStats> {
    (tallies.get(&(vs.key, vs.protocol)).into_iter().flatten())
        .map(|t| IpvsCheckStats {
            checker: t.keyword.to_owned(),
            latency_buckets: t.tally.buckets.to_vec(),
            latency_sum_us: u64::try_from(t.tally.sum.as_micros()).unwrap_or(u64::MAX),
            count: t.tally.count,
            failures: (t.reasons.iter())
                .map(|r| (r.as_str().to_owned(), t.tally.failures[r.index()]))
                .collect(),
            local_errors: (LocalError::ALL.iter())
                .map(|l| (l.word().to_owned(), t.tally.local[l.index()]))
                .collect(),
        })
        .collect()
}

/// One destination row of a configured service: the kernel's, or a
/// configured real server the table lacks.
enum Row<'a> {
    Kernel(&'a Dest),
    Config(&'a RealServer),
}

/// The rows of virtual server `vs` whose kernel entry is `have`: the
/// table's destinations in its order, then the configured real servers
/// it lacks (each identity once).
fn each_dest<'a>(
    vs: &'a VirtualServer,
    have: Option<&'a Entry>,
    mut f: impl FnMut(DestId, Row<'a>),
) {
    let kernel = have.map(|e| &e.dests);
    for d in kernel.into_iter().flat_map(|k| k.values()) {
        f(d.id, Row::Kernel(d));
    }
    // Only what the kernel lacks is remembered (once per id: two real
    // servers may name one destination): a set of every destination,
    // built every 2 s, was most of a big table's idle cost.
    let mut listed = rustc_hash::FxHashSet::default();
    for rs in &vs.real_servers {
        let did = desired::dest_id(vs, rs);
        if !kernel.is_some_and(|k| k.contains_key(&did)) && listed.insert(did) {
            f(did, Row::Config(rs));
        }
    }
}

/// The counts the service line shows, from the machine alone and without
/// building the status: what [`IpvsSummary::of`] would count in
/// [`view`]'s result (the retired services' destinations are draining or
/// removed: counted, never up).
pub fn summary(m: &Machine) -> IpvsSummary {
    let empty = Table::default();
    let table = m.table().unwrap_or(&empty);
    let (mut up, mut all) = (0, 0);
    for (i, vs) in m.config().virtual_servers.iter().enumerate() {
        let id = desired::service_id(vs);
        each_dest(vs, table.services.get(&id), |did, _| {
            all += 1;
            let real = RealId {
                service: id,
                dest: did,
            };
            up += usize::from(matches!(health_word(m, (vs, i), real), "up" | "unchecked"));
        });
    }
    let retired = (m.retired().iter()).filter_map(|id| table.services.get(id));
    let (mut services, mut retired_dests) = (m.config().virtual_servers.len(), 0);
    for e in retired {
        services += 1;
        retired_dests += e.dests.len();
    }
    IpvsSummary {
        services,
        up,
        all: all + retired_dests,
        error: m.error().map(ToString::to_string),
    }
}

/// What `vigil status` shows: the kernel's table for the services the
/// config owns (ipvsadm -Ln order), each real server's health, and
/// the configured real servers the table lacks (down, removed).
pub fn view(m: &Machine, checks: Option<&health::States>) -> IpvsStatus {
    let detail = Details::new(m, checks);
    let empty = Table::default();
    let table = m.table().unwrap_or(&empty);
    let mut services = Vec::new();
    let tallies = tallies_by_service(checks);
    for (i, vs) in m.config().virtual_servers.iter().enumerate() {
        let id = desired::service_id(vs);
        let want = desired::service(vs);
        let have = table.services.get(&id);
        let svc = have.map_or(&want, |e| &e.service);
        // Sized for what is known (the rebuild runs every 2 s and is kept
        // until the next: growth by doubling left a quarter of it unused).
        let known = have.map_or(0, |e| e.dests.len()).max(vs.real_servers.len());
        let mut dests = Vec::with_capacity(known);
        each_dest(vs, have, |did, row| {
            dests.push(dest_status(m, (vs, i), id, did, &detail, |s| match row {
                Row::Kernel(d) => {
                    let c = d.conns.unwrap_or_default();
                    s.method = method_name(d.fwd).into();
                    s.weight = Some(d.weight);
                    s.active = c.active;
                    s.inactive = c.inactive;
                    s.counters = counters(d.stats.as_ref());
                }
                Row::Config(rs) => {
                    let method = rs.method.unwrap_or(vs.method);
                    s.method = method_name(desired::fwd_method(method)).into();
                }
            }));
        });
        services.push(IpvsServiceStatus {
            service: id.to_string(),
            in_table: have.is_some(),
            scheduler: svc.scheduler.clone(),
            persistent: (svc.flags & SVC_F_PERSISTENT != 0).then_some(svc.timeout),
            mask: mask(svc),
            dests,
            counters: have.and_then(|e| counters(e.service.stats.as_ref())),
            flags: flag_names(svc),
            checks: check_stats(vs, &tallies),
            misordered: m.misordered().contains(&id),
        });
    }
    services.extend(retired_status(m, table));
    IpvsStatus {
        services,
        foreign: m.foreign().iter().map(|s| s.to_string()).collect(),
        error: m.error().map(ToString::to_string),
        // Filled in by the control server from `super::sync`'s task.
        sync_daemon: None,
        // Filled in by the IPVS task, which schedules the reads.
        counters_age_ms: None,
        counters_every_ms: None,
    }
}

/// The service's scheduler flags and `ops` by keepalived's names (those
/// of its scheduler where it has its own: `sh-port`, not `flag-2`).
pub fn flag_names(svc: &Service) -> Vec<String> {
    let sched = Scheduler::from_keyword(&svc.scheduler).unwrap_or(Scheduler::Wlc);
    let bits = [SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3];
    let mut out: Vec<String> = (bits.iter().enumerate())
        .filter(|(_, b)| svc.flags & **b != 0)
        .map(|(n, _)| ServiceFlags::keyword(sched, n).to_owned())
        .collect();
    if svc.flags & SVC_F_ONEPACKET != 0 {
        out.push("ops".to_owned());
    }
    out
}

/// The kernel's counters in the status's words.
fn counters(s: Option<&Stats>) -> Option<IpvsCounters> {
    s.map(|s| IpvsCounters {
        connections: s.conns,
        in_packets: s.inpkts,
        out_packets: s.outpkts,
        in_bytes: s.inbytes,
        out_bytes: s.outbytes,
    })
}

/// Services an earlier config had that the kernel still holds while
/// their real servers drain.
fn retired_status(m: &Machine, table: &Table) -> Vec<IpvsServiceStatus> {
    m.retired()
        .iter()
        .filter_map(|id| table.services.get(id).map(|e| (id, e)))
        .map(|(id, e)| IpvsServiceStatus {
            service: id.to_string(),
            in_table: true,
            scheduler: e.service.scheduler.clone(),
            persistent: (e.service.flags & SVC_F_PERSISTENT != 0).then_some(e.service.timeout),
            mask: mask(&e.service),
            counters: counters(e.service.stats.as_ref()),
            flags: flag_names(&e.service),
            checks: Vec::new(),
            misordered: false,
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
                        method: method_name(d.fwd).into(),
                        weight: Some(d.weight),
                        active: c.active,
                        inactive: c.inactive,
                        health: if m.draining().contains_key(&real) {
                            "draining"
                        } else {
                            "removed"
                        }
                        .into(),
                        last: NONE_YET.into(),
                        failures: 0,
                        dynamic_weight: None,
                        counters: counters(d.stats.as_ref()),
                        checks_done: 0,
                        checks_failed: 0,
                    }
                })
                .collect(),
        })
        .collect()
}

/// The health of destination `id` of `vs` (and its index in the
/// machine's config) in the status's words.
fn health_word(m: &Machine, (vs, vs_index): (&VirtualServer, usize), id: RealId) -> &'static str {
    match m.names().real_server(vs, vs_index, id.dest) {
        None if m.draining().contains_key(&id) => "draining",
        None if vs.sorry_server.is_some() => "sorry",
        None => "unknown",
        Some(rs) if rs.checkers.is_empty() => "unchecked",
        Some(rs) => match desired::health_of(vs, rs, m.health()) {
            Health::Up => "up",
            Health::Down => "down",
        },
    }
}

/// `vs`: the virtual server and its index in the machine's config.
fn dest_status(
    m: &Machine,
    (vs, vs_index): (&VirtualServer, usize),
    service: ServiceId,
    dest: DestId,
    detail: &Details<'_>,
    fill: impl FnOnce(&mut IpvsDestStatus),
) -> IpvsDestStatus {
    let id = RealId { service, dest };
    let health = health_word(m, (vs, vs_index), id);
    let d = detail.get(&id);
    let mut s = IpvsDestStatus {
        dest: dest.to_string(),
        method: Cow::Borrowed(""),
        weight: None,
        active: 0,
        inactive: 0,
        health: health.into(),
        last: d.last,
        failures: d.failures,
        dynamic_weight: d.dynamic_weight,
        counters: None,
        checks_done: d.checks_done,
        checks_failed: d.checks_failed,
    };
    fill(&mut s);
    s
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

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
