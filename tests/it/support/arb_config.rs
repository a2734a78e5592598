//! Proptest strategies for *valid* [`Config`]s: what the validator accepts.
//!
//! Owns: generating small configs that respect every cross-field rule
//! (unique names and VRIDs, VRRP version constraints, one family per
//! instance and service, quorum bounds, VIPs inside the appliance's
//! interface subnets, ...). Must not: depend on the parser or validator; it
//! is the independent oracle the round-trip tests are checked against.
//!
//! Shape: leaves are generated within their own bounds; rules that tie
//! several values together are restored by [`repair`] after generation, so
//! shrunk cases (where strings and addresses collapse to the same small
//! value) stay valid too.
//!
//! Use from a test module with `use crate::support::arb_config;`.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vigil::config::bounds::*;
use vigil::config::model::*;

/// A valid config: at most 4 instances, 3 sync groups, 3 services of 3 real
/// servers each.
pub fn arb_config() -> impl Strategy<Value = Config> {
    arb_global()
        .prop_flat_map(|global| {
            let gv = global.vrrp_version;
            (
                Just(global),
                vec((arb_instance(gv), option::of(0..3usize)), 0..=4),
                vec(arb_sync_group(), 3),
                vec(arb_service(), 0..=3),
                option::weighted(0.6, arb_appliance()),
                option::weighted(0.3, (arb_lvs_sync_daemon(), any::<Index>())),
                (arb_tracking(), option::weighted(0.3, arb_bgp())),
            )
        })
        .prop_map(repair)
}

/// A `track_script` line before its name is picked from the scripts:
/// which one, and its optional `weight W [reverse|noreverse]`.
type TrackLine = (Index, Option<(i16, Option<bool>)>);

/// Scripts, and per instance (by position) and per sync group the lines
/// that track them.
type Tracking = (Vec<VrrpScript>, Vec<Vec<TrackLine>>, Vec<Vec<TrackLine>>);

fn arb_tracking() -> impl Strategy<Value = Tracking> {
    let line = (
        any::<Index>(),
        option::of((-253..=253i16, option::of(any::<bool>()))),
    );
    (
        vec(arb_vrrp_script(), 0..=3),
        vec(vec(line.clone(), 0..=2), 4),
        vec(vec(line, 0..=2), 3),
    )
}

fn arb_vrrp_script() -> impl Strategy<Value = VrrpScript> {
    // A bare program name imports with a warning: absolute paths only here.
    let program = arb_script();
    let secs = |max: u32| (1..=max).prop_map(Millis::secs);
    (
        (arb_name(), program, or_default(Millis::secs(1), secs(3600))),
        (
            option::of(secs(3600)),
            or_default(0, -253..=253i16),
            any::<bool>(),
        ),
        (or_default(1, 1..=1000u32), or_default(1, 1..=1000u32)),
        (option::weighted(0.3, arb_run_as()), any::<bool>()),
    )
        .prop_map(
            |(
                (name, script, interval),
                (timeout, weight, reverse),
                (rise, fall),
                (user, init_fail),
            )| {
                VrrpScript {
                    name,
                    script,
                    interval,
                    timeout,
                    weight,
                    // `reverse` is written after a weight only.
                    reverse: reverse && weight != 0,
                    rise,
                    fall,
                    user,
                    init_fail,
                }
            },
        )
}

/// `user USER [GROUP]` / `script_user USER [GROUP]`.
fn arb_run_as() -> impl Strategy<Value = ScriptUser> {
    (arb_name(), option::of(arb_name())).prop_map(|(user, group)| ScriptUser { user, group })
}

/// Lines whose effective weight is not 0 get an explicit `weight 0`.
fn unweight(scripts: &[VrrpScript], lines: &mut [TrackScript]) {
    for t in lines {
        let own = scripts
            .iter()
            .find(|s| s.name == t.name)
            .map_or(0, |s| s.weight);
        if t.weight.unwrap_or(own) != 0 {
            t.weight = Some(0);
        }
    }
}

/// `track_script` lines naming `scripts`, each script once per list.
fn pick_tracks(scripts: &[VrrpScript], lines: Vec<TrackLine>) -> Vec<TrackScript> {
    let mut out: Vec<TrackScript> = Vec::new();
    if scripts.is_empty() {
        return out;
    }
    for (idx, weight) in lines {
        let name = scripts[idx.index(scripts.len())].name.clone();
        if out.iter().any(|t| t.name == name) {
            continue;
        }
        out.push(TrackScript {
            name,
            weight: weight.map(|(w, _)| w),
            reverse: weight.and_then(|(_, r)| r),
        });
    }
    out
}

type Parts = (
    GlobalDefs,
    Vec<(VrrpInstance, Option<usize>)>,
    Vec<SyncGroup>,
    Vec<VirtualServer>,
    Option<Appliance>,
    Option<(LvsSyncDaemon, Index)>,
    (Tracking, Option<Bgp>),
);

/// Restores the rules that span several generated values.
fn repair(parts: Parts) -> Config {
    let (mut global, members, groups, services, mut appliance, sync, (tracking, bgp)) = parts;
    let (mut instances, member_of): (Vec<_>, Vec<_>) = members.into_iter().unzip();
    uniquify(instances.iter_mut().map(|i| &mut i.name), "vi");
    // VRIDs unique per interface.
    let mut used = BTreeSet::new();
    for i in &mut instances {
        while !used.insert((i.interface.clone(), i.virtual_router_id)) {
            i.virtual_router_id = i.virtual_router_id % 255 + 1;
        }
    }
    // No VIP twice anywhere (shrinking collapses addresses).
    let mut seen = BTreeSet::new();
    for i in &mut instances {
        for v in i
            .virtual_ipaddress
            .iter_mut()
            .chain(&mut i.virtual_ipaddress_excluded)
        {
            while !seen.insert(v.addr) {
                v.addr = next_unicast(v.addr);
            }
        }
    }
    for i in &mut instances {
        add_routes(i);
    }
    let (mut scripts, instance_lines, group_lines) = tracking;
    uniquify(scripts.iter_mut().map(|s| &mut s.name), "chk");
    for ((i, lines), m) in instances.iter_mut().zip(instance_lines).zip(&member_of) {
        i.track_script = pick_tracks(&scripts, lines);
        // keepalived clears (with a warning) the weights of an owner's and
        // a sync-group member's scripts: write them as 0.
        if i.priority == 255 || m.is_some() {
            unweight(&scripts, &mut i.track_script);
        }
    }
    // Sync groups: each instance in at most one; empty groups dropped.
    let mut vrrp_sync_groups = Vec::new();
    for ((g, mut group), lines) in groups.into_iter().enumerate().zip(group_lines) {
        group.track_script = pick_tracks(&scripts, lines);
        unweight(&scripts, &mut group.track_script);
        group.group = (instances.iter().zip(&member_of))
            .filter(|(_, m)| **m == Some(g))
            .map(|(i, _)| i.name.clone())
            .collect();
        if !group.group.is_empty() {
            vrrp_sync_groups.push(group);
        }
    }
    uniquify(vrrp_sync_groups.iter_mut().map(|g| &mut g.name), "sg");
    // A script nothing tracks imports with a warning.
    let tracked: BTreeSet<String> = (instances.iter().flat_map(|i| &i.track_script))
        .chain(vrrp_sync_groups.iter().flat_map(|g| &g.track_script))
        .map(|t| t.name.clone())
        .collect();
    scripts.retain(|s| tracked.contains(&s.name));
    global.lvs_sync_daemon = sync.and_then(|(mut s, idx)| {
        s.vrrp_instance = instances
            .get(idx.index(instances.len().max(1)))?
            .name
            .clone();
        Some(s)
    });
    let mut keys = BTreeSet::new();
    let mut virtual_servers: Vec<VirtualServer> = services
        .into_iter()
        .filter(|vs| keys.insert(vs.key))
        .collect();
    let virtual_server_groups = group_some(&mut virtual_servers, &keys);
    let track_files = file_some(&mut instances);
    let track_processes = process_some(&mut instances);
    if let Some(a) = &mut appliance {
        let mut names = BTreeSet::new();
        a.interfaces.retain(|i| names.insert(i.name.clone()));
        cover_vips(a, &instances);
        // A gateway must be on a subnet of the interface, if it has any.
        for ai in &mut a.interfaces {
            let addrs = ai.addresses.clone();
            ai.routes
                .retain(|r| addrs.is_empty() || addrs.iter().any(|ad| ad.contains(&r.via)));
        }
        // The metrics endpoint listens on one of the box's addresses.
        let first = a.interfaces.iter().flat_map(|i| &i.addresses).next();
        if let (Some(m), Some(ad)) = (&mut global.metrics, first) {
            m.listen.set_ip(ad.addr);
        }
    }
    make_anycast(&mut virtual_servers, bgp.as_ref(), &seen);
    // One sync daemon setting of either kind (the kernel runs one pair):
    // with a bgp block, every other drawn one is the block's.
    let mut bgp = bgp;
    if let (Some(b), Some(s)) = (&mut bgp, &global.lvs_sync_daemon) {
        if s.vrrp_instance.len() % 2 == 0 {
            b.sync_daemon = Some(LvsSyncDaemon {
                vrrp_instance: String::new(),
                ..s.clone()
            });
            global.lvs_sync_daemon = None;
        }
    }
    Config {
        global,
        appliance,
        vrrp_sync_groups,
        vrrp_instances: instances,
        virtual_servers,
        vrrp_scripts: scripts,
        virtual_server_groups,
        track_files,
        track_processes,
        static_routes: Vec::new(),
        static_rules: Vec::new(),
        bgp,
    }
}

/// With a `bgp` block, every other virtual server is anycast when a
/// neighbour of its family exists and its address is no VRRP VIP
/// (`seen`); a fwmark or group service announces an address of its own.
fn make_anycast(services: &mut [VirtualServer], bgp: Option<&Bgp>, seen: &BTreeSet<IpAddr>) {
    let Some(bgp) = bgp else { return };
    for (n, vs) in services.iter_mut().enumerate().filter(|(n, _)| n % 2 == 0) {
        let address = match (vs.key, &vs.group) {
            (ServiceKey::Addr { addr, .. }, None) => addr,
            _ if vs.key.is_ipv6() => {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xac, 0, 0, 0, 0, n as u16 + 1))
            }
            _ => IpAddr::V4(Ipv4Addr::new(198, 51, 100, n as u8 + 1)),
        };
        let family = bgp
            .neighbors
            .iter()
            .any(|nb| nb.address.is_ipv4() == address.is_ipv4());
        if family && !seen.contains(&address) {
            vs.anycast = Some(address);
            // Any other scheduler imports with a warning.
            vs.scheduler = Scheduler::Mh;
        }
    }
}

/// Every third instance (by VRID) gets routes and rules derived from its
/// first VIP: a table route with a metric, a blackhole, a rule to the
/// table (envelope V5, export of `virtual_routes` / `virtual_rules`).
fn add_routes(i: &mut VrrpInstance) {
    let Some(v) = i.virtual_ipaddress.first() else {
        return;
    };
    if i.virtual_router_id % 3 != 0 {
        return;
    }
    let vrid = u32::from(i.virtual_router_id);
    let (v6, host) = (v.addr.is_ipv6(), if v.addr.is_ipv6() { 128 } else { 32 });
    let net = IfAddr {
        addr: v.addr,
        prefix: host - 8,
    };
    i.virtual_routes = vec![
        IpRoute {
            table: Some(100 + vrid),
            metric: Some(vrid),
            ..IpRoute::to(net)
        },
        IpRoute {
            kind: RouteKind::Blackhole,
            ..IpRoute::to(IfAddr {
                addr: v.addr,
                prefix: host,
            })
        },
    ];
    i.virtual_rules = vec![IpRule {
        from: Some(net),
        priority: Some(1000 + vrid),
        ..IpRule::lookup(100 + vrid, v6)
    }];
}

/// The first instance tracks a maintenance file (weight 0, never
/// cleared), the second one a weighted, reversed one with init_file.
fn file_some(instances: &mut [VrrpInstance]) -> Vec<TrackFile> {
    let mut files = Vec::new();
    for (n, i) in instances.iter_mut().take(2).enumerate() {
        let name = format!("file.{n}");
        files.push(TrackFile {
            name: name.clone(),
            file: format!("/run/vigil-test/{n}"),
            weight: if n == 0 { 0 } else { -20 },
            reverse: n == 1,
            init: (n == 1).then_some(InitFile {
                value: 3,
                overwrite: true,
            }),
        });
        // The line's weight 0: never cleared (a sync group's member, an
        // owner), so the canonical text never warns.
        i.track_file.push(TrackScript {
            name,
            weight: (n == 1).then_some(0),
            reverse: None,
        });
    }
    files
}

/// The first instance tracks a process by name (weight 0), the second
/// one by its command line with every setting.
fn process_some(instances: &mut [VrrpInstance]) -> Vec<TrackProcess> {
    let mut out = Vec::new();
    for (n, i) in instances.iter_mut().take(2).enumerate() {
        let name = format!("proc.{n}");
        let mut p = TrackProcess::new(name.clone(), vec!["haproxy".into()]);
        if n == 1 {
            p.process = vec!["/usr/sbin/nginx".into(), "-c".into(), "a b".into()];
            p.param_match = Some(ParamMatch::Initial);
            p.weight = -30;
            p.reverse = true;
            p.quorum = 2;
            p.quorum_max = Some(4);
            p.fork_delay = Some(Millis(1500));
            p.terminate_delay = Some(Millis::secs(3));
            p.full_command = true;
        }
        out.push(p);
        i.track_process.push(TrackScript {
            name,
            weight: Some(0),
            reverse: None,
        });
    }
    out
}

/// Every third IPv4 service of one port becomes `virtual_server group`
/// of a range from its address (up to three addresses) and a mark, when
/// no other service has those keys.
fn group_some(
    services: &mut [VirtualServer],
    keys: &BTreeSet<ServiceKey>,
) -> Vec<VirtualServerGroup> {
    let mut groups = Vec::new();
    for (n, vs) in services.iter_mut().enumerate().filter(|(n, _)| n % 3 == 2) {
        let ServiceKey::Addr {
            addr: first @ std::net::IpAddr::V4(a),
            port,
        } = vs.key
        else {
            continue;
        };
        if port == 0 {
            continue;
        }
        let mark = 0x7000_0000 + n as u32;
        let g = VirtualServerGroup {
            name: format!("vsg{n}"),
            members: vec![
                GroupMember::Addr {
                    first,
                    last: Some(u16::from(a.octets()[3].saturating_add(2))),
                    port,
                },
                GroupMember::Fwmark(mark),
            ],
        };
        let clash = g.keys(false).any(|k| k != vs.key && keys.contains(&k));
        if clash {
            continue;
        }
        vs.key = VirtualServer::group_placeholder(false);
        vs.group = Some(g.name.clone());
        groups.push(g);
    }
    groups
}

/// Renames duplicates to `{prefix}{n}` (still `[A-Za-z0-9_-]{1,16}`).
fn uniquify<'a>(names: impl Iterator<Item = &'a mut String>, prefix: &str) {
    let names: Vec<&mut String> = names.collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let all: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    let mut k = 0;
    for n in names {
        if seen.insert(n.clone()) {
            continue;
        }
        *n = loop {
            let c = format!("{prefix}{k}");
            k += 1;
            if !all.contains(&c) && !seen.contains(&c) {
                break c;
            }
        };
        seen.insert(n.clone());
    }
}

/// Every VIP whose interface the appliance lists must lie in a subnet of
/// one of that interface's addresses: add one (a /24 or /64 around it), or
/// once three of the family are there, widen the last to cover it too.
fn cover_vips(a: &mut Appliance, instances: &[VrrpInstance]) {
    for i in instances {
        for v in i
            .virtual_ipaddress
            .iter()
            .chain(&i.virtual_ipaddress_excluded)
        {
            let ifname = v.dev.as_ref().unwrap_or(&i.interface);
            let Some(ai) = a.interfaces.iter_mut().find(|ai| ai.name == *ifname) else {
                continue;
            };
            if ai.addresses.iter().any(|ad| ad.contains(&v.addr)) {
                continue;
            }
            let same: Vec<usize> = (0..ai.addresses.len())
                .filter(|&n| ai.addresses[n].addr.is_ipv6() == v.addr.is_ipv6())
                .collect();
            match same.last() {
                Some(&last) if same.len() >= 3 => {
                    let ad = &mut ai.addresses[last];
                    ad.prefix = ad.prefix.min(common_prefix(&ad.addr, &v.addr));
                }
                _ => ai.addresses.push(subnet_around(v.addr)),
            }
        }
    }
}

fn common_prefix(a: &IpAddr, b: &IpAddr) -> u8 {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(*a) ^ u32::from(*b)).leading_zeros() as u8,
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(*a) ^ u128::from(*b)).leading_zeros() as u8,
        _ => 0,
    }
}

/// An interface address in the /24 (/64) of `vip`, other than `vip`.
fn subnet_around(vip: IpAddr) -> IfAddr {
    match vip {
        IpAddr::V4(v) => {
            let net = u32::from(v) & !0xff;
            let host = if net + 1 == u32::from(v) {
                net + 2
            } else {
                net + 1
            };
            IfAddr {
                addr: Ipv4Addr::from(host).into(),
                prefix: 24,
            }
        }
        IpAddr::V6(v) => {
            let net = u128::from(v) & !u128::from(u64::MAX);
            let host = if net + 1 == u128::from(v) {
                net + 2
            } else {
                net + 1
            };
            IfAddr {
                addr: Ipv6Addr::from(host).into(),
                prefix: 64,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// leaves

const V4_LO: u32 = 0x0100_0000; // 1.0.0.0
const V4_HI: u32 = 0xDFFF_FFFE; // 223.255.255.254
const V6_LO: u128 = 0x2000 << 112; // 2000::/3, global unicast
const V6_HI: u128 = (0x4000 << 112) - 1;

/// A unicast address (no 0/8, loopback, multicast or broadcast).
pub fn arb_ip(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        (V6_LO..=V6_HI)
            .prop_map(|n| Ipv6Addr::from(n).into())
            .boxed()
    } else {
        (V4_LO..=V4_HI)
            .prop_map(|n| {
                let n = if n >> 24 == 127 { n - (1 << 24) } else { n };
                Ipv4Addr::from(n).into()
            })
            .boxed()
    }
}

fn arb_ip_any() -> impl Strategy<Value = IpAddr> {
    any::<bool>().prop_flat_map(arb_ip)
}

fn next_unicast(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let n = u32::from(v) + 1;
            let n = if n > V4_HI {
                V4_LO + 1
            } else if n >> 24 == 127 {
                128 << 24
            } else {
                n
            };
            Ipv4Addr::from(n).into()
        }
        IpAddr::V6(v) => {
            let n = u128::from(v) + 1;
            Ipv6Addr::from(if n > V6_HI { V6_LO + 1 } else { n }).into()
        }
    }
}

fn arb_mcast4() -> impl Strategy<Value = Ipv4Addr> {
    (0xE000_0000u32..=0xEFFF_FFFF).prop_map(Ipv4Addr::from)
}

fn arb_mcast6() -> impl Strategy<Value = Ipv6Addr> {
    ((0xff00u128 << 112)..=u128::MAX).prop_map(Ipv6Addr::from)
}

/// A duration within `lo..=hi`: whole seconds half of the time, else any
/// millisecond value (1-3 decimals).
pub fn millis_in(lo: Millis, hi: Millis) -> BoxedStrategy<Millis> {
    let secs = (lo.0.div_ceil(1000)..=hi.0 / 1000).prop_map(Millis::secs);
    prop_oneof![secs, (lo.0..=hi.0).prop_map(Millis)].boxed()
}

/// Any duration a day-bounded timer takes, zero included.
pub fn arb_millis() -> BoxedStrategy<Millis> {
    millis_in(Millis(0), DAY)
}

/// The path of a URL: '/' then printable ASCII without spaces.
fn arb_url_path() -> impl Strategy<Value = String> {
    "/[!-~]{0,40}"
}

/// `d` three times in four, so defaults (which export omits) stay common.
fn or_default<S>(d: S::Value, s: S) -> impl Strategy<Value = S::Value>
where
    S: Strategy + 'static,
    S::Value: Clone,
{
    prop_oneof![3 => Just(d), 1 => s]
}

pub fn arb_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,16}"
}

/// Free text: printable ASCII with quotes, braces, `#`, backslashes and
/// spaces; Chinese; any Unicode but control characters. At most 64 bytes.
pub fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{1,16}",
        "[a-z 中文测试服务器\"#!{}\\\\]{1,10}",
        "[^\\p{Cc}]{1,8}",
    ]
}

fn arb_ifname() -> impl Strategy<Value = IfName> {
    prop_oneof![
        3 => select(&["eth0", "eth1", "bond0", "ens3f1", "vlan.100"][..]).prop_map(String::from),
        1 => "[a-z][a-z0-9._-]{0,14}",
    ]
    .prop_map(|s| IfName::new(&s).expect("generated interface name"))
}

fn arb_script() -> impl Strategy<Value = Script> {
    ("/[A-Za-z0-9_./-]{0,30}", vec(arb_text(), 0..=3)).prop_map(|(path, args)| Script {
        argv: std::iter::once(path).chain(args).collect(),
    })
}

fn arb_opt_script() -> impl Strategy<Value = Option<Script>> {
    option::weighted(0.2, arb_script())
}

fn arb_notify() -> impl Strategy<Value = Notify> {
    (
        arb_opt_script(),
        arb_opt_script(),
        arb_opt_script(),
        arb_opt_script(),
        arb_opt_script(),
    )
        .prop_map(|(notify, master, backup, fault, stop)| Notify {
            notify,
            master,
            backup,
            fault,
            stop,
        })
}

// ---------------------------------------------------------------------------
// global_defs

fn arb_global() -> impl Strategy<Value = GlobalDefs> {
    let d = GlobalDefs::default();
    let text = (
        option::of(arb_text()),
        vec("[a-z0-9._+-]{1,12}@[a-z0-9.-]{1,12}", 0..=2),
        option::of(arb_text()),
        option::of((arb_ip_any(), or_default(25, 1..=65535u16))),
        or_default(
            d.smtp_connect_timeout,
            millis_in(Millis::secs(1), SMTP_TIMEOUT_MAX),
        ),
        option::of(any::<bool>()),
    );
    let vrrp = (
        select(&[VrrpVersion::V2, VrrpVersion::V3][..]),
        or_default(DEFAULT_MCAST4, arb_mcast4()),
        or_default(DEFAULT_MCAST6, arb_mcast6()),
        or_default(Garp::default(), arb_garp()),
    );
    let lvs = (
        option::of(1..=LVS_TIMEOUT_MAX),
        option::of(1..=LVS_TIMEOUT_MAX),
        option::of(1..=LVS_TIMEOUT_MAX),
        option::weighted(
            0.2,
            (
                "[a-z_][a-z0-9_-]{0,15}",
                option::of("[a-z_][a-z0-9_-]{0,15}"),
            ),
        ),
        any::<bool>(),
    );
    let metrics = option::weighted(0.3, (arb_ip_any(), 1..=65535u16));
    // No instance here has use_vmac: the prefix travels on its own.
    let vmac_prefix = option::weighted(0.2, arb_ifname());
    let rest = (metrics, vmac_prefix);
    (text, vrrp, lvs, rest).prop_map(|(text, vrrp, lvs, (metrics, vmac_prefix))| {
        let (router_id, notification_email, notification_email_from, smtp, timeout, alert) = text;
        let (tcp, tcpfin, udp, user, enable_script_security) = lvs;
        GlobalDefs {
            router_id,
            notification_email,
            notification_email_from,
            smtp_server: smtp.map(|(addr, port)| SmtpServer { addr, port }),
            smtp_connect_timeout: timeout,
            smtp_alert: alert,
            vrrp_version: vrrp.0,
            vrrp_mcast_group4: vrrp.1,
            vrrp_mcast_group6: vrrp.2,
            garp: vrrp.3,
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts { tcp, tcpfin, udp },
            script_user: user.map(|(user, group)| ScriptUser { user, group }),
            enable_script_security,
            metrics: metrics.map(|(ip, port)| Metrics {
                listen: std::net::SocketAddr::new(ip, port),
            }),
            vmac_prefix,
        }
    })
}

fn arb_garp() -> impl Strategy<Value = Garp> {
    (
        arb_millis(),
        1..=GARP_REPEAT_MAX,
        arb_millis(),
        1..=GARP_REPEAT_MAX,
        millis_in(Millis(0), GARP_INTERVAL_MAX),
        millis_in(Millis(0), GARP_INTERVAL_MAX),
    )
        .prop_map(|(md, mr, mf, mfr, i, gi)| Garp {
            master_delay: md,
            master_repeat: mr,
            master_refresh: mf,
            master_refresh_repeat: mfr,
            interval: i,
            gna_interval: gi,
        })
}

fn arb_lvs_sync_daemon() -> impl Strategy<Value = LvsSyncDaemon> {
    (
        arb_ifname(),
        option::of(any::<u8>()),
        option::of(1..=u16::MAX),
        option::of(1..=u16::MAX),
        option::of(1..=u8::MAX),
        option::of(arb_mcast4().prop_map(IpAddr::from)),
    )
        .prop_map(|(interface, id, maxlen, port, ttl, group)| LvsSyncDaemon {
            interface,
            vrrp_instance: String::new(), // set by `repair`
            id,
            maxlen,
            port,
            ttl,
            group,
        })
}

// ---------------------------------------------------------------------------
// VRRP

fn arb_sync_group() -> impl Strategy<Value = SyncGroup> {
    (arb_name(), arb_notify(), option::of(any::<bool>())).prop_map(|(name, notify, smtp_alert)| {
        SyncGroup {
            name,
            group: Vec::new(),
            notify,
            smtp_alert,
            track_script: Vec::new(), // set by `repair`
            track_file: Vec::new(),
            track_process: Vec::new(),
        }
    })
}

/// An instance valid under `gv` (global_defs' VRRP version); its name and
/// VRID are made unique by `repair`.
fn arb_instance(gv: VrrpVersion) -> impl Strategy<Value = VrrpInstance> {
    select(&[None, Some(VrrpVersion::V2), Some(VrrpVersion::V3)][..])
        .prop_flat_map(move |version| {
            let v2 = version.unwrap_or(gv) == VrrpVersion::V2;
            let v6 = if v2 {
                Just(false).boxed()
            } else {
                any::<bool>().boxed()
            };
            (Just(version), Just(v2), v6, arb_ifname())
        })
        .prop_flat_map(|(version, v2, v6, interface)| {
            let advert = if v2 {
                (1..=255u32).prop_map(Millis::secs).boxed()
            } else {
                (1..=4095u32).prop_map(|n| Millis(n * 10)).boxed()
            };
            let auth = if v2 {
                option::of("[ -~]{1,8}".prop_map(|k| PassKey::new(&k).expect("key"))).boxed()
            } else {
                Just(None).boxed()
            };
            let head = (
                arb_name(),
                select(&[InitialState::Master, InitialState::Backup][..]),
                1..=255u8,
                or_default(DEFAULT_PRIORITY, 1..=255u8),
                advert,
                auth,
            );
            let addrs = (
                vec(arb_vip(v6, interface.clone()), 1..=3),
                vec(arb_vip(v6, interface.clone()), 0..=2),
                option::weighted(0.3, arb_ip(v6)),
                vec(arb_ip(v6), 0..=2),
                (
                    option::weighted(0.3, any::<u8>()),
                    prop::bool::weighted(0.2),
                ),
            );
            let track = (arb_ifname(), option::of(-254..=254i16))
                .prop_map(|(name, weight)| TrackInterface { name, weight });
            let rest = (
                any::<bool>(),
                or_default(Millis(0), millis_in(Millis(0), PREEMPT_DELAY_MAX)),
                or_default(true, Just(false)),
                vec(track, 0..=2),
                arb_notify(),
                option::of(any::<bool>()),
                or_default(GarpOverride::default(), arb_garp_override()),
            );
            (Just((version, interface)), head, addrs, rest).prop_map(build_instance)
        })
}

type InstanceParts = (
    (Option<VrrpVersion>, IfName),
    (String, InitialState, u8, u8, Millis, Option<PassKey>),
    (
        Vec<Vip>,
        Vec<Vip>,
        Option<IpAddr>,
        Vec<IpAddr>,
        (Option<u8>, bool),
    ),
    (
        bool,
        Millis,
        bool,
        Vec<TrackInterface>,
        Notify,
        Option<bool>,
        GarpOverride,
    ),
);

fn build_instance((id, head, addrs, rest): InstanceParts) -> VrrpInstance {
    let (version, interface) = id;
    let (name, state, vrid, priority, advert_int, authentication) = head;
    let (vips, excluded, unicast_src_ip, unicast_peer, (ttl, dont_track_primary)) = addrs;
    // unicast_ttl without peers is cleared with a warning.
    let unicast_ttl = ttl.filter(|_| !unicast_peer.is_empty());
    let (nopreempt, preempt_delay, accept, mut track_interface, notify, smtp_alert, garp) = rest;
    // Each interface is tracked once.
    let mut seen = std::collections::HashSet::new();
    track_interface.retain(|t: &TrackInterface| seen.insert(t.name.clone()));
    let master = state == InitialState::Master;
    VrrpInstance {
        name,
        state,
        interface,
        virtual_router_id: vrid,
        priority: if master { priority } else { priority.min(254) },
        advert_int,
        version,
        authentication,
        virtual_ipaddress: vips,
        virtual_ipaddress_excluded: excluded,
        unicast_src_ip,
        unicast_peer,
        nopreempt: nopreempt && !master,
        preempt_delay,
        accept,
        track_interface,
        notify: notify.clone(),
        smtp_alert,
        garp,
        track_script: Vec::new(), // set by `repair`
        track_file: Vec::new(),
        track_process: Vec::new(),
        unicast_ttl,
        dont_track_primary,
        // Not generated: a vmac moves labels to its own name and must not
        // clash with another link; `config::parse::vrrp_tests` round-trips it.
        use_vmac: None,
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        // Not generated: strict mode rewrites what it forbids when read;
        // `config::parse::vrrp_tests` round-trips it.
        strict: false,
        // Any script will do: the notify_master one drawn above.
        notify_arp_theft: notify.master.clone(),
    }
}

/// A VIP of one family; its label starts with its dev (else `ifname`).
fn arb_vip(v6: bool, ifname: IfName) -> impl Strategy<Value = Vip> {
    let max_prefix: u8 = if v6 { 128 } else { 32 };
    (
        arb_ip(v6),
        or_default(max_prefix, 1..=max_prefix),
        option::weighted(0.3, arb_ifname()),
        option::weighted(0.3, "(:[a-z0-9]{1,5})?"),
        (
            option::weighted(0.2, any::<[u8; 4]>()),
            option::weighted(0.2, select(AddrScope::ALL)),
            prop::bool::weighted(0.2),
        ),
    )
        .prop_map(move |(addr, prefix, dev, suffix, (brd, scope, no_track))| {
            let label = suffix.map(|s| {
                let mut l = dev.as_ref().unwrap_or(&ifname).as_str().to_owned() + &s;
                l.truncate(IFNAME_MAX);
                IfName::new(&l).expect("label")
            });
            Vip {
                addr,
                prefix,
                dev,
                label,
                // An IPv6 address has no broadcast address.
                brd: brd.filter(|_| !v6).map(std::net::Ipv4Addr::from),
                scope,
                no_track,
            }
        })
}

fn arb_garp_override() -> impl Strategy<Value = GarpOverride> {
    let ms = || option::of(arb_millis());
    let n = || option::of(1..=GARP_REPEAT_MAX);
    let gap = || option::of(millis_in(Millis(0), GARP_INTERVAL_MAX));
    (ms(), n(), ms(), n(), gap(), gap()).prop_map(|(md, mr, mf, mfr, i, gi)| GarpOverride {
        master_delay: md,
        master_repeat: mr,
        master_refresh: mf,
        master_refresh_repeat: mfr,
        interval: i,
        gna_interval: gi,
    })
}

// ---------------------------------------------------------------------------
// IPVS

fn arb_service_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        3 => (arb_ip_any(), 1..=u16::MAX).prop_map(|(addr, port)| ServiceKey::Addr { addr, port }),
        // Every port (`virtual_server IP` or `IP 0`).
        1 => arb_ip_any().prop_map(|addr| ServiceKey::Addr { addr, port: 0 }),
        // Marks outside vigil's own range for DR-path services.
        1 => (1..=u32::MAX, any::<bool>()).prop_map(|(mark, ipv6)| ServiceKey::Fwmark {
            mark: if vigil::config::bounds::is_dr_path_mark(mark) { mark ^ 0x4000_0000 } else { mark },
            ipv6,
        }),
    ]
}

fn arb_service() -> impl Strategy<Value = VirtualServer> {
    arb_service_key().prop_flat_map(|key| {
        let v6 = key.is_ipv6();
        let fwmark = matches!(key, ServiceKey::Fwmark { .. });
        let sched = (
            or_default(DEFAULT_DELAY_LOOP, millis_in(DELAY_LOOP_MIN, DAY)),
            select(Scheduler::ALL),
            select(Method::ALL),
            select(Protocol::ALL),
            option::of(1..=PERSISTENCE_TIMEOUT_MAX),
            option::of(0..=if v6 { 128u8 } else { 32 }),
        );
        let quorum = (
            prop::bool::weighted(0.25),
            any::<u32>(),
            prop::bool::weighted(0.25),
            any::<u32>(),
            any::<[bool; 4]>(),
        );
        let sorry = (option::of(arb_ip(v6)), option::of(1..=u16::MAX))
            .prop_map(|(a, port)| a.map(|addr| SorryServer { addr, port }));
        let flags = (
            arb_opt_script(),
            arb_opt_script(),
            sorry,
            any::<[bool; 5]>(),
            option::weighted(0.3, arb_text()),
        );
        let reals = vec(arb_real_server(v6, fwmark), 0..=3);
        (Just(key), sched, quorum, flags, reals).prop_map(build_service)
    })
}

type ServiceParts = (
    ServiceKey,
    (Millis, Scheduler, Method, Protocol, Option<u32>, Option<u8>),
    (bool, u32, bool, u32, [bool; 4]),
    (
        Option<Script>,
        Option<Script>,
        Option<SorryServer>,
        [bool; 5],
        Option<String>,
    ),
    Vec<RealServer>,
);

fn build_service((key, sched, quorum, flags, mut real_servers): ServiceParts) -> VirtualServer {
    let (delay_loop, scheduler, method, protocol, mut persistence_timeout, granularity) = sched;
    // An every-port service without persistence is a warning.
    if matches!(key, ServiceKey::Addr { port: 0, .. }) && persistence_timeout.unwrap_or(0) == 0 {
        persistence_timeout = Some(300);
    }
    let (quorum_up, quorum_down, sorry_server, [ssi, iof, alpha, omega, ha], virtualhost) = flags;
    // One real server per kernel destination: only NAT keeps the port.
    let mut seen = BTreeSet::new();
    real_servers.retain(|rs| {
        let nat = rs.method.unwrap_or(method) == Method::Nat;
        seen.insert((rs.addr, rs.port.filter(|_| nat)))
    });
    // 1 <= quorum <= sum of weights (when there are real servers), mostly 1.
    let sum: u64 = real_servers.iter().map(|rs| u64::from(rs.weight)).sum();
    if let (Some(first), 0) = (real_servers.first_mut(), sum) {
        first.weight = 1;
    }
    let (q_custom, q_raw, h_custom, h_raw, [f1, f2, f3, ops]) = quorum;
    // `ops` outside UDP is a warning (the kernel ignores it there).
    let flags = ServiceFlags {
        sched: [f1, f2, f3],
        ops: ops && protocol == Protocol::Udp,
    };
    let q = match (q_custom, real_servers.is_empty()) {
        (false, _) => 1,
        (true, true) => q_raw.max(1),
        (true, false) => 1 + (u64::from(q_raw) % sum.max(1)) as u32,
    };
    VirtualServer {
        key,
        delay_loop,
        scheduler,
        method,
        protocol,
        persistence_timeout,
        persistence_granularity: granularity,
        quorum: q,
        hysteresis: if h_custom { h_raw % q } else { 0 },
        quorum_up,
        quorum_down,
        sorry_server,
        sorry_server_inhibit: ssi,
        inhibit_on_failure: iof,
        alpha,
        omega,
        ha_suspend: ha,
        virtualhost,
        real_servers,
        group: None,
        flags,
        // Unset, on, off: from bits the quorum draw leaves unused.
        dr_path_check: [None, Some(true), Some(false)][(q_raw >> 29) as usize % 3],
        anycast: None,
    }
}

fn arb_real_server(v6: bool, fwmark: bool) -> impl Strategy<Value = RealServer> {
    // keepalived allows leaving the port out anywhere; fwmark services
    // mostly do.
    let port = if fwmark {
        option::of(1..=u16::MAX).boxed()
    } else {
        option::weighted(0.9, 1..=u16::MAX).boxed()
    };
    let head = (
        arb_ip(v6),
        port,
        or_default(1, 0..=WEIGHT_MAX),
        option::of(any::<bool>()),
        option::of(select(Method::ALL)),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
    );
    let tail = (
        arb_opt_script(),
        arb_opt_script(),
        vec(arb_checker(v6), 0..=2),
        option::weighted(0.2, arb_text()),
    );
    (head, tail).prop_map(|((addr, port, weight, iof, method, u, l), mut tail)| {
        // One misc_dynamic check per real server (more is a warning); with
        // no port, a connecting checker says where (else an error).
        let mut dynamic = false;
        for c in &mut tail.2 {
            if port.is_none() && c.kind.connects() && c.connect_port.is_none() {
                c.connect_port = Some(80);
            }
            if let CheckKind::Misc(m) = &mut c.kind {
                m.dynamic &= !dynamic;
                dynamic |= m.dynamic;
            }
        }
        // lthreshold <= uthreshold, and no lower limit without an upper.
        let (uthreshold, lthreshold) = match (u, l) {
            (Some(u), Some(l)) if l == u => (Some(u), None),
            (Some(u), Some(l)) => (Some(u.max(l)), Some(u.min(l))),
            (None, Some(l)) => (Some(l), None),
            other => other,
        };
        RealServer {
            addr,
            port,
            weight,
            inhibit_on_failure: iof,
            method,
            uthreshold,
            lthreshold,
            notify_up: tail.0.map(Box::new),
            notify_down: tail.1.map(Box::new),
            checkers: tail.2,
            virtualhost: tail.3.map(Box::new),
        }
    })
}

fn arb_checker(v6: bool) -> impl Strategy<Value = Checker> {
    let kind = prop_oneof![
        Just(CheckKind::Tcp),
        arb_http(false).prop_map(|h| CheckKind::Http(Box::new(h))),
        arb_http(true).prop_map(|h| CheckKind::Ssl(Box::new(h))),
        arb_ws().prop_map(|w| CheckKind::Ws(Box::new(w))),
        arb_misc().prop_map(|m| CheckKind::Misc(Box::new(m))),
    ];
    let conn = (
        option::weighted(0.3, arb_ip(v6)),
        option::weighted(0.3, 1..=u16::MAX),
        option::weighted(0.3, arb_ip(v6)),
    );
    let timing = (
        or_default(
            DEFAULT_CONNECT_TIMEOUT,
            millis_in(Millis(1), CONNECT_TIMEOUT_MAX),
        ),
        option::weighted(0.3, 0..=RETRY_MAX),
        option::weighted(0.3, arb_millis()),
        option::weighted(0.3, millis_in(DELAY_LOOP_MIN, DAY)),
        option::weighted(0.3, arb_millis()),
    );
    (kind, conn, timing).prop_map(|(kind, (connect_ip, connect_port, bindto), t)| {
        // MISC_CHECK connects nowhere: no connect options.
        let connects = kind.connects();
        Checker {
            retry: t.1.unwrap_or(kind.default_retry()),
            delay_before_retry: t.2.unwrap_or(kind.default_delay_before_retry()),
            connect_ip: connect_ip.filter(|_| connects),
            connect_port: connect_port.filter(|_| connects),
            bindto: bindto.filter(|_| connects),
            connect_timeout: if connects {
                t.0
            } else {
                DEFAULT_CONNECT_TIMEOUT
            },
            kind,
            delay_loop: t.3,
            warmup: t.4,
        }
    })
}

fn arb_misc() -> impl Strategy<Value = MiscCheck> {
    (
        arb_script(),
        option::of((1..=3600u32).prop_map(Millis::secs)),
        any::<bool>(),
        option::of(arb_run_as()),
    )
        .prop_map(|(path, timeout, dynamic, user)| MiscCheck {
            path,
            timeout,
            dynamic,
            user,
        })
}

/// SNI only for SSL_GET (on HTTP_GET it is a warning).
fn arb_http(ssl: bool) -> impl Strategy<Value = HttpCheck> {
    let range = (100..=599u16, 0..=99u16).prop_map(|(lo, d)| (lo, (lo + d).min(599)));
    let url = (
        arb_url_path(),
        vec(range, 0..=2),
        option::of(any::<[u8; 16]>()),
        option::weighted(0.2, arb_text()),
    )
        .prop_map(|(path, status_code, digest, virtualhost)| Url {
            path,
            status_code,
            digest,
            virtualhost,
        });
    let protocol = select(&[HttpProtocol::V10, HttpProtocol::V10Close, HttpProtocol::V11][..]);
    let sni = (prop::bool::weighted(0.3), option::weighted(0.2, arb_text()));
    (vec(url, 1..=2), option::of(arb_text()), protocol, sni).prop_map(
        move |(urls, virtualhost, protocol, (enable_sni, sni_name))| HttpCheck {
            urls,
            virtualhost,
            protocol,
            enable_sni: enable_sni && ssl,
            sni_name: sni_name.filter(|_| ssl),
        },
    )
}

fn arb_ws() -> impl Strategy<Value = WsCheck> {
    let o = || option::of(arb_text());
    (arb_url_path(), o(), o(), o()).prop_map(|(path, virtualhost, origin, subprotocol)| WsCheck {
        path,
        virtualhost,
        origin,
        subprotocol,
    })
}

// ---------------------------------------------------------------------------
// bgp

fn arb_bgp() -> impl Strategy<Value = Bgp> {
    let neighbor = (
        arb_ip_any(),
        1..=u32::MAX,
        option::of("[ -!#-\\[\\]-~]{1,80}"),
        any::<bool>(),
        option::of(1..=255u8),
        option::of(3..=u16::MAX),
        any::<bool>(),
    )
        .prop_map(
            |(address, remote_as, password, bfd, multihop, hold_time, src)| {
                let source_address = src.then(|| next_unicast(address));
                BgpNeighbor {
                    address,
                    remote_as: if remote_as == 23456 { 1 } else { remote_as },
                    password,
                    bfd,
                    source_address,
                    multihop,
                    hold_time,
                }
            },
        );
    let drain = prop_oneof![
        Just(BgpDrain::Withdraw),
        (1..=BGP_PREPEND_MAX as u8).prop_map(BgpDrain::Prepend)
    ];
    (
        (1..=u32::MAX, 1..=u32::MAX),
        vec(neighbor, 1..=3),
        vec((any::<u16>(), any::<u16>()), 0..=3),
        drain,
        millis_in(BFD_INTERVAL_MIN, BFD_INTERVAL_MAX),
        1..=255u8,
        option::of(("/[a-z]{1,8}/[a-z.]{1,12}", "/[a-z]{1,8}/[a-z.]{1,12}")),
    )
        .prop_map(
            |((asn, id), mut neighbors, mut communities, drain, bfd, mult, paths)| {
                let mut seen = BTreeSet::new();
                neighbors.retain(|n| seen.insert(n.address));
                let mut cs = BTreeSet::new();
                communities.retain(|c| cs.insert(*c));
                let mut b = Bgp::new(if asn == 23456 { 1 } else { asn }, Ipv4Addr::from(id));
                b.neighbors = neighbors;
                b.communities = communities;
                b.drain = drain;
                b.bfd_interval = bfd;
                b.bfd_multiplier = mult;
                if let Some((socket, config)) = paths {
                    b.bird_socket = socket;
                    b.bird_config = config;
                }
                b
            },
        )
}

// appliance

fn arb_appliance() -> impl Strategy<Value = Appliance> {
    let d = Appliance::default();
    let ipvs = (any::<bool>(), any::<bool>(), 0..=2u8, any::<bool>()).prop_map(|(n, q, r, s)| {
        IpvsSysctls {
            expire_nodest_conn: n,
            expire_quiescent_template: q,
            conn_reuse_mode: r,
            sloppy_tcp: s,
        }
    });
    let watchdog = (
        "/dev/[a-z0-9]{1,12}",
        1..=WATCHDOG_TIMEOUT_MAX,
        option::of(arb_script()),
    )
        .prop_map(|(device, timeout, notify_reset)| Watchdog {
            device,
            timeout,
            notify_reset,
        });
    let hash = prop_oneof![
        "\\$6\\$[a-zA-Z0-9./]{8,16}\\$[a-zA-Z0-9./]{86}",
        "\\$5\\$[a-zA-Z0-9./]{8,16}\\$[a-zA-Z0-9./]{43}",
    ];
    (
        option::of("[a-z0-9][a-z0-9.-]{0,19}"),
        vec(arb_appliance_interface(), 0..=2),
        or_default(true, Just(false)),
        or_default(d.ipvs, ipvs),
        or_default(d.watchdog, watchdog),
        option::of(hash),
    )
        .prop_map(
            |(hostname, interfaces, ip_forward, ipvs, watchdog, hash)| Appliance {
                hostname,
                interfaces,
                ip_forward,
                ipvs,
                watchdog,
                console_password_hash: hash,
            },
        )
}

fn arb_appliance_interface() -> impl Strategy<Value = ApplianceInterface> {
    let addr = any::<bool>().prop_flat_map(|v6| {
        (arb_ip(v6), 1..=if v6 { 128u8 } else { 32 })
            .prop_map(|(addr, prefix)| IfAddr { addr, prefix })
    });
    (
        arb_ifname(),
        option::weighted(0.3, addr),
        option::of(MTU_MIN..=MTU_MAX),
        vec(arb_route(), 0..=2),
        option::of(select(&[0u8, 1, 2, 3, 8][..])),
        option::of(0..=2u8),
    )
        .prop_map(|(name, addr, mtu, mut routes, arp_ignore, arp_announce)| {
            let mut seen = BTreeSet::new();
            routes.retain(|r| seen.insert((r.dest.addr, r.dest.prefix)));
            let addresses: Vec<IfAddr> = addr.into_iter().collect();
            ApplianceInterface {
                name,
                addresses,
                mtu,
                routes,
                arp_ignore,
                arp_announce,
            }
        })
}

/// A route to a network-aligned prefix (`/0` is the unspecified address,
/// written `default`) via a gateway of the same family.
fn arb_route() -> impl Strategy<Value = Route> {
    any::<bool>().prop_flat_map(|v6| {
        let max = if v6 { 128u8 } else { 32 };
        (arb_ip(v6), 0..=max, arb_ip(v6)).prop_map(move |(a, prefix, via)| {
            let addr = match a {
                IpAddr::V4(a) => {
                    let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                    Ipv4Addr::from(u32::from(a) & m).into()
                }
                IpAddr::V6(a) => {
                    let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                    Ipv6Addr::from(u128::from(a) & m).into()
                }
            };
            Route {
                dest: IfAddr { addr, prefix },
                via,
            }
        })
    })
}
