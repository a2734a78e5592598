//! Cross-field checks on a parsed [`Config`], one named validator each.
//!
//! Owns: rules that relate settings to each other (VRID uniqueness, owner
//! priority, version vs interval/auth/family, sync-group members, duplicate
//! services and real servers, quorum, VIPs inside the appliance's subnets).
//! Must not: read text or change the config; each problem is reported at
//! the statement that opened the offending block.

use super::bounds::{
    is_dr_path_mark, DESTINATIONS_MAX, DR_PATH_MARK_COUNT, DR_PATH_MARK_FIRST, VIRTUAL_SERVERS_MAX,
};
use super::error::{Diagnostics, ErrorKind, Invalid, Loc, WarningKind};
use super::model::{
    Config, InitialState, Method, Protocol, Scheduler, ServiceKey, SyncGroup, TrackScript, Vip,
    VirtualServer, VrrpInstance, VrrpVersion,
};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

/// Where a block and its settings are, so that an error points at the
/// setting that breaks a rule, not just at the block around it.
#[derive(Debug, Clone)]
pub struct At {
    pub start: Loc,
    /// First place of each keyword in the block.
    pub kw: HashMap<&'static str, Loc>,
    /// Places of the items of list blocks (`virtual_ipaddress` lines,
    /// `real_server` blocks, `group` members), in model order.
    pub items: HashMap<&'static str, Vec<Loc>>,
}

impl At {
    pub fn new(start: Loc, kw: HashMap<&'static str, Loc>) -> Self {
        At {
            start,
            kw,
            items: HashMap::new(),
        }
    }

    /// Where `keyword` is, or the block's start if it was not written.
    pub fn of(&self, keyword: &str) -> &Loc {
        self.kw.get(keyword).unwrap_or(&self.start)
    }

    /// Where item `n` of list `keyword` is.
    pub fn item(&self, keyword: &str, n: usize) -> &Loc {
        self.items
            .get(keyword)
            .and_then(|v| v.get(n))
            .unwrap_or_else(|| self.of(keyword))
    }
}

/// Places of the top-level blocks that parsed, parallel to the model's
/// vectors.
#[derive(Debug, Default, Clone)]
pub struct Places {
    pub global: Option<At>,
    pub sync_groups: Vec<At>,
    pub instances: Vec<At>,
    pub services: Vec<At>,
    pub scripts: Vec<At>,
    pub groups: Vec<At>,
    pub files: Vec<At>,
    pub processes: Vec<At>,
    /// Where the `bgp` block starts.
    pub bgp: Option<Loc>,
}

/// Run every validator; each problem is reported where it is.
pub fn validate(c: &Config, at: &Places, d: &mut Diagnostics) {
    let mut errors = Vec::new();
    let mut report = |loc: &Loc, e: Invalid| errors.push((*loc, e));
    for (i, a) in c.vrrp_instances.iter().zip(&at.instances) {
        for (kw, item, e) in instance_problems(c, i) {
            report(located(a, kw, item), e);
        }
    }
    for (n, e) in vrid_clashes(c) {
        if let Some(a) = at.instances.get(n) {
            report(a.of("virtual_router_id"), e);
        }
    }
    for (n, e) in vmac_clashes(c) {
        if let Some(a) = at.instances.get(n) {
            report(a.of("use_vmac"), e);
        }
    }
    for (n, k, e) in sync_group_problems(c) {
        if let Some(a) = at.sync_groups.get(n) {
            report(a.item("group", k), e);
        }
    }
    if let (Some(s), Some(a)) = (&c.global.lvs_sync_daemon, &at.global) {
        if c.instance(&s.vrrp_instance).is_none() {
            let e = Invalid::SyncDaemonInstance {
                instance: s.vrrp_instance.clone(),
            };
            report(a.of("lvs_sync_daemon"), e);
        }
    }
    if let (Some(e), Some(a)) = (metrics_problem(c), &at.global) {
        report(a.of("metrics"), e);
    }
    track_script_problems(c, at, d);
    for (n, (kw, item, e)) in service_problems(c, &at.services) {
        if let Some(a) = at.services.get(n) {
            report(located(a, kw, item), e);
        }
    }
    let both_sync = c.global.lvs_sync_daemon.is_some()
        && c.bgp.as_ref().is_some_and(|b| b.sync_daemon.is_some());
    if let (true, Some(loc)) = (both_sync, &at.bgp) {
        report(loc, Invalid::SyncDaemonTwice);
    }
    for (n, e) in anycast_problems(c) {
        if let Some(a) = at.services.get(n) {
            report(a.of("anycast"), e);
        }
    }
    for (loc, e) in errors {
        d.error(&loc, ErrorKind::Invalid(e));
    }
    anycast_warnings(c, at, d);
}

/// Each `anycast` virtual server's address needs the `bgp` block and a
/// neighbour of its family, and must not be a VRRP instance's VIP too (a
/// pair holds it, or the boxes announce it; both would split its flows).
fn anycast_problems(c: &Config) -> Vec<(usize, Invalid)> {
    let mut out = Vec::new();
    for (n, v) in c.virtual_servers.iter().enumerate() {
        let Some(address) = v.anycast else { continue };
        let service = || v.label();
        let Some(bgp) = &c.bgp else {
            let e = Invalid::AnycastWithoutBgp {
                service: service(),
                address: address.to_string(),
            };
            out.push((n, e));
            continue;
        };
        if !bgp
            .neighbors
            .iter()
            .any(|nb| nb.address.is_ipv4() == address.is_ipv4())
        {
            let e = Invalid::AnycastNoNeighbor {
                service: service(),
                address: address.to_string(),
                family: if address.is_ipv4() { "IPv4" } else { "IPv6" },
            };
            out.push((n, e));
        }
        let vrrp = c.vrrp_instances.iter().find(|i| {
            (i.virtual_ipaddress.iter())
                .chain(&i.virtual_ipaddress_excluded)
                .any(|vip| vip.addr == address)
        });
        if let Some(i) = vrrp {
            let e = Invalid::AnycastIsVrrpVip {
                service: service(),
                address: address.to_string(),
                instance: i.name.clone(),
            };
            out.push((n, e));
        }
    }
    out
}

/// An anycast service whose scheduler is not `mh`: each box may choose
/// another real server for one flow.
fn anycast_warnings(c: &Config, at: &Places, d: &mut Diagnostics) {
    for (v, a) in c.virtual_servers.iter().zip(&at.services) {
        if v.anycast.is_none() || v.scheduler == Scheduler::Mh {
            continue;
        }
        let w = WarningKind::AnycastScheduler {
            service: v.label(),
            scheduler: v.scheduler.keyword(),
        };
        d.warn(a.of("anycast"), w);
    }
}

/// On a box whose appliance block gives addresses, the metrics endpoint
/// must listen on one of them (a VIP would fail to bind on the backup, and
/// the data LAN's side should not serve it).
fn metrics_problem(c: &Config) -> Option<Invalid> {
    let listen = c.global.metrics?.listen.ip();
    let a = c.appliance.as_ref()?;
    let mut own = a.interfaces.iter().flat_map(|i| &i.addresses).peekable();
    own.peek()?;
    if own.any(|x| x.addr == listen) {
        return None;
    }
    Some(Invalid::MetricsAddress {
        address: listen.to_string(),
    })
}

/// `track_file` and `track_process` names that name nothing (errors; the
/// parser has dropped `track_script` entries naming no `vrrp_script`), scripts nothing tracks, and weights
/// cleared as keepalived clears them (warnings).
fn track_script_problems(c: &Config, at: &Places, d: &mut Diagnostics) {
    let used = unknown_tracked(
        c,
        at,
        d,
        "track_script",
        |i| &i.track_script,
        |g| &g.track_script,
    );
    unknown_tracked(c, at, d, "track_file", |i| &i.track_file, |g| &g.track_file);
    unknown_tracked(
        c,
        at,
        d,
        "track_process",
        |i| &i.track_process,
        |g| &g.track_process,
    );
    for (s, a) in c.vrrp_scripts.iter().zip(&at.scripts) {
        if !used.contains(&s.name) {
            let w = WarningKind::ScriptUnused {
                script: s.name.clone(),
            };
            d.warn(&a.start, w);
        }
    }
    let files = c.track_files.iter().map(|f| &f.name).zip(&at.files);
    let processes = c.track_processes.iter().map(|p| &p.name).zip(&at.processes);
    for (n, (name, a)) in files.chain(processes).enumerate() {
        let earlier = |k: usize| match c.track_files.get(k) {
            Some(f) => &f.name,
            None => &c.track_processes[k - c.track_files.len()].name,
        };
        if c.vrrp_script(name).is_some() || (0..n).any(|k| earlier(k) == name) {
            let e = Invalid::TrackFileName { name: name.clone() };
            d.error(&a.start, ErrorKind::Invalid(e));
        }
    }
    for (i, a) in c.vrrp_instances.iter().zip(&at.instances) {
        let scripts = c.tracked_scripts(i).into_iter().map(|t| {
            let what = ("track_script", "a failing script");
            (t.cleared, t.script.name.clone(), what)
        });
        let files = c.tracked_files(i).into_iter().map(|t| {
            let what = ("track_file", "a non-zero value");
            (t.cleared, t.script.name.clone(), what)
        });
        let processes = c.tracked_processes(i).into_iter().map(|t| {
            let what = ("track_process", "a process count out of quorum");
            (t.cleared, t.script.name.clone(), what)
        });
        for (cleared, name, (kind, effect)) in scripts.chain(files).chain(processes) {
            let Some(why) = cleared else { continue };
            let w = WarningKind::TrackWeightCleared {
                block: format!("vrrp_instance {}", i.name),
                kind,
                script: name,
                why: why.why(),
                effect,
            };
            d.warn(a.of(kind), w);
        }
    }
}

/// The names instances and sync groups list under `kind` (errors for
/// those that name nothing); returns every name listed.
fn unknown_tracked(
    c: &Config,
    at: &Places,
    d: &mut Diagnostics,
    kind: &'static str,
    of_instance: fn(&VrrpInstance) -> &Vec<TrackScript>,
    of_group: fn(&SyncGroup) -> &Vec<TrackScript>,
) -> HashSet<String> {
    let instances = c.vrrp_instances.iter().zip(&at.instances);
    let groups = c.vrrp_sync_groups.iter().zip(&at.sync_groups);
    let blocks = instances
        .map(|(i, a)| (format!("vrrp_instance {}", i.name), of_instance(i), a))
        .chain(groups.map(|(g, a)| (format!("vrrp_sync_group {}", g.name), of_group(g), a)));
    let mut used = HashSet::new();
    for (block, list, a) in blocks {
        for (k, t) in list.iter().enumerate() {
            used.insert(t.name.clone());
            let e = match kind {
                "track_file" if c.track_file(&t.name).is_none() => Invalid::UnknownTrackFile {
                    block: block.clone(),
                    file: t.name.clone(),
                },
                "track_process" if c.track_process(&t.name).is_none() => {
                    Invalid::UnknownTrackProcess {
                        block: block.clone(),
                        process: t.name.clone(),
                    }
                }
                _ => continue,
            };
            d.error(a.item(kind, k), ErrorKind::Invalid(e));
        }
    }
    used
}

fn located<'a>(a: &'a At, kw: &str, item: Option<usize>) -> &'a Loc {
    match (kw, item) {
        ("", _) => &a.start,
        (kw, Some(k)) => a.item(kw, k),
        (kw, None) => a.of(kw),
    }
}

/// A problem, the keyword it is about, and which item of that list.
type Found = (&'static str, Option<usize>, Invalid);

fn instance_problems(c: &Config, i: &VrrpInstance) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let name = || i.name.clone();
    if i.priority == 255 && i.state == InitialState::Backup {
        out.push((
            "priority",
            None,
            Invalid::OwnerNotMaster { instance: name() },
        ));
    }
    let advert = || i.advert_int.to_string();
    match i.effective_version(&c.global) {
        VrrpVersion::V2 => {
            if i.advert_int.0 % 1000 != 0 {
                let e = Invalid::V2Interval {
                    instance: name(),
                    advert: advert(),
                };
                out.push(("advert_int", None, e));
            }
            // Only a written 'version 2' gets here: an IPv6 instance
            // without one runs VRRPv3 (VrrpInstance::effective_version).
            let addrs = i.virtual_ipaddress.iter().map(|v| v.addr);
            let unicast = i.unicast_src_ip.into_iter().chain(i.unicast_peer.clone());
            if let Some(a) = addrs
                .chain(unicast)
                .find(IpAddr::is_ipv6)
                .filter(|_| i.is_ipv6())
            {
                let e = Invalid::V2Ipv6 {
                    instance: name(),
                    addr: a.to_string(),
                };
                out.push(("version", None, e));
            }
        }
        VrrpVersion::V3 => {
            // A config read from text has it dropped already, with a
            // warning, as keepalived does (parse::vrrp `versions`).
            if i.authentication.is_some() {
                out.push(("authentication", None, Invalid::V3Auth { instance: name() }));
            }
            if i.advert_int.0 % 10 != 0 || i.advert_int.0 > 40_950 {
                let e = Invalid::V3Interval {
                    instance: name(),
                    advert: advert(),
                };
                out.push(("advert_int", None, e));
            }
        }
    }
    out.extend(vip_problems(c, i));
    out
}

fn family(a: &IpAddr) -> u8 {
    if a.is_ipv4() {
        4
    } else {
        6
    }
}

fn vip_problems(c: &Config, i: &VrrpInstance) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    // No address: the parser has warned; the family is then that of the
    // unicast addresses (VrrpInstance::is_ipv6).
    let Some(first) = i.virtual_ipaddress.first() else {
        return out;
    };
    // The parser has already left out addresses of the other family.
    let want = family(&first.addr);
    if let Some(src) = i.unicast_src_ip {
        if family(&src) != want {
            let e = Invalid::UnicastFamily {
                instance: i.name.clone(),
                addr: src.to_string(),
            };
            out.push(("unicast_src_ip", None, e));
        }
    }
    let lists = [
        ("virtual_ipaddress", &i.virtual_ipaddress),
        ("virtual_ipaddress_excluded", &i.virtual_ipaddress_excluded),
    ];
    for (kw, list) in lists {
        for (k, v) in list.iter().enumerate() {
            out.extend(one_vip(c, i, v).map(|e| (kw, Some(k), e)));
        }
    }
    out
}

/// Rules for one address: its label, and its subnet when the appliance
/// block says what addresses the interface has.
fn one_vip(c: &Config, i: &VrrpInstance, v: &Vip) -> Option<Invalid> {
    if let Some(label) = &v.label {
        // The link the address goes on: with use_vmac, the vmac.
        let on = i.vip_link(v);
        if !label.as_str().starts_with(on.as_str()) {
            return Some(Invalid::LabelNotDevice {
                instance: i.name.clone(),
                label: label.to_string(),
                dev: on.to_string(),
            });
        }
    }
    let dev = v.dev.as_ref().unwrap_or(&i.interface);
    let x = c
        .appliance
        .as_ref()
        .and_then(|a| a.interfaces.iter().find(|x| &x.name == dev))?;
    let same_family: Vec<_> = x
        .addresses
        .iter()
        .filter(|a| a.addr.is_ipv4() == v.addr.is_ipv4())
        .collect();
    if same_family.is_empty() || same_family.iter().any(|a| a.contains(&v.addr)) {
        return None;
    }
    let subnets: Vec<String> = same_family
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix))
        .collect();
    Some(Invalid::VipOutsideSubnet {
        instance: i.name.clone(),
        addr: v.addr.to_string(),
        interface: dev.to_string(),
        subnets: subnets.join(", "),
    })
}

/// VRIDs must be unique per interface and address family (RFC 5798: the
/// VRID and family together name a virtual router on a LAN).
fn vrid_clashes(c: &Config) -> Vec<(usize, Invalid)> {
    let mut seen: HashMap<(&str, u8, bool), &str> = HashMap::new();
    let mut out = Vec::new();
    for (n, i) in c.vrrp_instances.iter().enumerate() {
        let key = (i.interface.as_str(), i.virtual_router_id, i.is_ipv6());
        match seen.get(&key) {
            Some(other) => out.push((
                n,
                Invalid::VridInUse {
                    instance: i.name.clone(),
                    vrid: i.virtual_router_id,
                    interface: i.interface.to_string(),
                    other: (*other).to_owned(),
                },
            )),
            None => {
                seen.insert(key, &i.name);
            }
        }
    }
    out
}

/// A vmac's name must name no other link of the config: not an
/// instance's interface, not another instance's vmac (keepalived would
/// take one link for two instances, or delete a real interface).
fn vmac_clashes(c: &Config) -> Vec<(usize, Invalid)> {
    let mut out = Vec::new();
    for (n, i) in c.vrrp_instances.iter().enumerate() {
        let Some(name) = i.vmac_name() else {
            continue;
        };
        let other = c.vrrp_instances.iter().enumerate().find_map(|(m, o)| {
            if o.interface == name {
                Some((o.name.clone(), "interface"))
            } else if m < n && o.vmac_name().as_ref() == Some(&name) {
                Some((o.name.clone(), "vmac"))
            } else {
                None
            }
        });
        if let Some((other, what)) = other {
            out.push((
                n,
                Invalid::VmacName {
                    instance: i.name.clone(),
                    name: name.to_string(),
                    other,
                    what,
                },
            ));
        }
    }
    out
}

/// (group index, member index, problem)
fn sync_group_problems(c: &Config) -> Vec<(usize, usize, Invalid)> {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    for (n, g) in c.vrrp_sync_groups.iter().enumerate() {
        for (k, m) in g.group.iter().enumerate() {
            if c.instance(m).is_none() {
                let e = Invalid::UnknownSyncMember {
                    group: g.name.clone(),
                    member: m.clone(),
                };
                out.push((n, k, e));
            } else if let Some(other) = owner.insert(m, &g.name) {
                let e = Invalid::SyncMemberTwice {
                    group: g.name.clone(),
                    member: m.clone(),
                    other: other.to_owned(),
                };
                out.push((n, k, e));
            }
        }
    }
    out
}

/// `places` are the services' (parallel to the config's), for naming
/// where a repeated service was first given.
fn service_problems(c: &Config, places: &[At]) -> Vec<(usize, Found)> {
    // A fwmark service is one per mark and family whatever its protocol
    // line says (the kernel ignores the protocol there).
    let mut keys: HashMap<(ServiceKey, Option<Protocol>), usize> = HashMap::new();
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut destinations = 0usize;
    for (n, v) in c.virtual_servers.iter().enumerate() {
        let all = c.keys_of(v);
        total += all.len();
        let before = destinations;
        destinations += c.destinations_of(v);
        if before <= DESTINATIONS_MAX && destinations > DESTINATIONS_MAX {
            // At the service that crosses the bound: the ones before it fit.
            let e = Invalid::TooManyDestinations {
                service: v.label(),
                destinations,
                max: DESTINATIONS_MAX,
            };
            out.push((n, ("", None, e)));
        }
        for key in &all {
            if let ServiceKey::Fwmark { mark, .. } = key {
                if is_dr_path_mark(*mark) {
                    let e = Invalid::ReservedFwmark {
                        mark: *mark,
                        first: DR_PATH_MARK_FIRST,
                        last: DR_PATH_MARK_FIRST + (DR_PATH_MARK_COUNT - 1),
                    };
                    out.push((n, ("", None, e)));
                }
            }
            let proto = match key {
                ServiceKey::Addr { .. } => Some(v.protocol),
                ServiceKey::Fwmark { .. } => None,
            };
            let first = match keys.entry((*key, proto)) {
                Entry::Vacant(e) => {
                    e.insert(n);
                    continue;
                }
                Entry::Occupied(e) => *e.get(),
            };
            if let Some(a) = places.get(first) {
                let e = Invalid::DuplicateService {
                    service: key.to_string(),
                    first: a.start,
                };
                out.push((n, ("", None, e)));
            }
        }
        match (&v.group, all.first()) {
            (None, _) => out.extend(
                one_service(v, &v.key.to_string())
                    .into_iter()
                    .map(|f| (n, f)),
            ),
            (Some(g), Some(first)) => {
                // Checked as its first service; the group's other members
                // must be of that one's family.
                let name = format!("group {g}");
                let as_first = VirtualServer {
                    key: *first,
                    ..v.clone()
                };
                out.extend(one_service(&as_first, &name).into_iter().map(|f| (n, f)));
                if let Some(other) = all.iter().find(|k| k.is_ipv6() != first.is_ipv6()) {
                    let e = Invalid::ServiceFamily {
                        service: name,
                        what: "member",
                        addr: other.to_string(),
                    };
                    out.push((n, ("", None, e)));
                }
            }
            (Some(g), None) => {
                let e = Invalid::ServiceGroup {
                    group: g.clone(),
                    known: c.virtual_server_group(g).is_some(),
                };
                out.push((n, ("", None, e)));
            }
        }
    }
    if total > VIRTUAL_SERVERS_MAX {
        let e = Invalid::TooManyServices {
            services: total,
            max: VIRTUAL_SERVERS_MAX,
        };
        out.push((c.virtual_servers.len().saturating_sub(1), ("", None, e)));
    }
    out
}

fn one_service(v: &VirtualServer, name: &str) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let service = || name.to_owned();
    let v6 = v.key.is_ipv6();
    let mut seen = FxHashSet::default();
    seen.reserve(v.real_servers.len());
    // The kernel's destination: only NAT keeps a real server's own port;
    // DR and TUN forward to the service's (`None` here). The value: the
    // real server's index, named only if a second one collides.
    let mut dests: FxHashMap<(IpAddr, Option<u16>), usize> = FxHashMap::default();
    dests.reserve(v.real_servers.len());
    // Written only for an error (100,000 real servers are checked here).
    let named = |r: &crate::config::model::RealServer| match r.port {
        Some(p) => format!("{} {}", r.addr, p),
        None => r.addr.to_string(),
    };
    for (k, r) in v.real_servers.iter().enumerate() {
        let at = ("real_server", Some(k));
        let real = || named(r);
        if r.addr.is_ipv6() != v6 {
            let e = Invalid::ServiceFamily {
                service: service(),
                what: "real_server",
                addr: r.addr.to_string(),
            };
            out.push((at.0, at.1, e));
        }
        // No port (a fwmark or every-port service's, or left out as
        // keepalived allows): a checker that connects must say where.
        if r.port.is_none() {
            for c in &r.checkers {
                if c.kind.connects() && c.connect_port.is_none() {
                    let e = Invalid::CheckerPort {
                        service: service(),
                        real: real(),
                        checker: c.kind.keyword(),
                    };
                    out.push((at.0, at.1, e));
                }
            }
        }
        let (lower, upper) = (r.lthreshold.unwrap_or(0), r.uthreshold.unwrap_or(0));
        if lower > upper {
            let e = Invalid::Thresholds {
                service: service(),
                real: real(),
                lower,
                upper,
            };
            out.push((at.0, at.1, e));
        }
        let method = r.method.unwrap_or(v.method);
        let kernel_port = r.port.filter(|_| method == Method::Nat);
        if !seen.insert((r.addr, r.port)) {
            let e = Invalid::DuplicateRealServer {
                service: service(),
                real: real(),
            };
            out.push((at.0, at.1, e));
        } else if let Some(&other) = dests.get(&(r.addr, kernel_port)) {
            let e = Invalid::SameDestination {
                service: service(),
                real: real(),
                other: named(&v.real_servers[other]),
                method: method.keyword(),
            };
            out.push((at.0, at.1, e));
        } else {
            dests.insert((r.addr, kernel_port), k);
        }
    }
    if let Some(s) = &v.sorry_server {
        if s.addr.is_ipv6() != v6 {
            let e = Invalid::ServiceFamily {
                service: service(),
                what: "sorry_server",
                addr: s.addr.to_string(),
            };
            out.push(("sorry_server", None, e));
        }
    }
    if let Some(p) = v.persistence_granularity {
        let (max, family) = if v6 { (128, 6) } else { (32, 4) };
        if p > max {
            let e = Invalid::Granularity {
                service: service(),
                prefix: p,
                family,
            };
            out.push(("persistence_granularity", None, e));
        }
    }
    let total: u64 = v.real_servers.iter().map(|r| u64::from(r.weight)).sum();
    // All weights 0 is a deliberate drain, not a typo.
    if total > 0 && u64::from(v.quorum) > total {
        let e = Invalid::QuorumUnreachable {
            service: service(),
            quorum: v.quorum,
            total,
        };
        out.push(("quorum", None, e));
    }
    if v.hysteresis > 0 && v.hysteresis >= v.quorum {
        let e = Invalid::Hysteresis {
            service: service(),
            hysteresis: v.hysteresis,
            quorum: v.quorum,
        };
        out.push(("hysteresis", None, e));
    }
    out
}
