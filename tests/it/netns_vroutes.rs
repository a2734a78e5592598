//! `virtual_routes` and `virtual_rules` on two vigils in network
//! namespaces: the routes and rules are in the master's kernel and not
//! the backup's, in keepalived's order (the VIP, then routes, then rules;
//! the reverse on leaving); they survive `vigil restart` of the master
//! without a gap; a reload that changes one route deletes and adds that
//! route alone; on FAULT they go; after a takeover they are on the new
//! master and gone from the old one; a deliberate stop removes them. `static_routes` and
//! `static_rules` are on both boxes whatever their state, installed
//! before VRRP starts, kept across a restart and removed at a stop (as
//! keepalived 2.2.7 does).
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use netns::{serial, Lab, Netns, Proc};
use peers::{first_state, start_vigil_with, vigil_bin, Daemon};

const VIP: &str = "192.168.1.200";

/// The instance's routes and rules; `third` is the third route.
fn conf(priority: u8, third: &str) -> String {
    conf_static(priority, third, "10.66.0.0/16")
}

/// [`conf`] with the static route to `static_dest`.
fn conf_static(priority: u8, third: &str, static_dest: &str) -> String {
    format!(
        "static_routes {{
    {static_dest} via 192.168.1.254 dev eth0 table 200
}}
static_rules {{
    from 10.66.0.0/16 table 200 priority 900
}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    version 3
    virtual_ipaddress {{
        {VIP}/24
    }}
    virtual_routes {{
        10.77.0.0/16 via 192.168.1.254 dev eth0 table 100
        blackhole 10.78.0.0/16 table 100
        {third}
        fd77::/64 via fd00::254 dev eth0 table 100
    }}
    virtual_rules {{
        from 10.77.0.0/16 table 100 priority 1000
        fwmark 0x10 table 100 priority 1001
    }}
}}
"
    )
}

const THIRD: &str = "10.79.0.0/16 dev eth0 metric 7";
const THIRD_CHANGED: &str = "10.80.0.0/16 dev eth0 metric 7";

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

/// `ip`'s output; empty when it fails (a table that does not exist).
fn ip_out(ns: &Netns, args: &[&str]) -> String {
    let out = ns.command(args).output().expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What vigil installs for the instance, as `ip` shows it: routes of
/// table 100 (both families), the main table's 10.79/10.80 route, rules.
fn installed(ns: &Netns) -> Vec<String> {
    let mut out = Vec::new();
    for args in [
        &["ip", "-4", "route", "show", "table", "100"][..],
        &["ip", "-6", "route", "show", "table", "100"],
        &["ip", "-4", "route", "show"],
        &["ip", "-4", "rule", "show"],
    ] {
        out.extend(
            ip_out(ns, args)
                .lines()
                .filter(|l| !l.contains("10.66.") && !l.contains("lookup 200"))
                .filter(|l| {
                    l.contains("10.7")
                        || l.contains("10.8")
                        || l.contains("fd77")
                        || l.contains("lookup 100")
                })
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// The lines a MASTER with `third` has, in `installed`'s words.
fn expected(third: &str) -> Vec<String> {
    let third_dest = third.split_whitespace().next().unwrap();
    let mut v = vec![
        "10.77.0.0/16 via 192.168.1.254 dev eth0 proto keepalived".to_string(),
        "blackhole 10.78.0.0/16 proto keepalived".into(),
        "fd77::/64 via fd00::254 dev eth0 proto keepalived metric 1024 pref medium".into(),
        format!("{third_dest} dev eth0 proto keepalived scope link metric 7"),
        "1000: from 10.77.0.0/16 lookup 100 proto keepalived".into(),
        "1001: from all fwmark 0x10 lookup 100 proto keepalived".into(),
    ];
    v.sort();
    v
}

fn statics(ns: &Netns) -> (bool, bool) {
    let route = ip_out(ns, &["ip", "-4", "route", "show", "table", "200"]);
    let rule = ip_out(ns, &["ip", "-4", "rule", "show"]);
    (
        route.contains("10.66.0.0/16 via 192.168.1.254"),
        rule.contains("900:\tfrom 10.66.0.0/16 lookup 200"),
    )
}

fn vigil(d: &Daemon, args: &[&str]) -> (i32, String) {
    let out = Command::new(vigil_bin())
        .args(args)
        .arg("--control")
        .arg(&d.control)
        .output()
        .expect("run vigil");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `ip monitor` of addresses, routes and rules in `ns` into `log`.
fn monitor(ns: &Netns, log: &Path) -> Proc {
    let p = ns.spawn(
        "ip monitor",
        &["ip", "monitor", "address", "route", "rule"],
        log,
    );
    std::thread::sleep(Duration::from_millis(200));
    p
}

fn monitored(mut p: Proc) -> Vec<String> {
    std::thread::sleep(Duration::from_millis(200));
    p.kill();
    std::fs::read_to_string(p.log())
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The index of the first line holding `what`, failing with the lines.
fn at(lines: &[String], what: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?} in {lines:#?}"))
}

fn wait_installed(ns: &Netns, want: &[String], what: &str) {
    let ok = netns::wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        installed(ns) == want
    });
    assert!(ok, "{what}: {:#?} != {want:#?}", installed(ns));
}

#[test]
fn virtual_routes_and_rules_follow_the_master_across_restart_reload_takeover_and_stop() {
    let _g = serial();
    let lab = Lab::new(2);
    let (n0, n1) = (&lab.nodes[0].ns, &lab.nodes[1].ns);

    // Node 0 (150) becomes MASTER: VIP, then routes, then rules.
    let mon = monitor(n0, &lab.path("mon0.log"));
    let mut d0 = start_vigil_with(&lab, 0, &conf(150, THIRD), "n0");
    lab.wait_sole_holder(0, vip(), Duration::from_secs(8));
    wait_installed(n0, &expected(THIRD), "routes and rules on the master");
    let ev = monitored(mon);
    let (vip_at, route_at, rule_at) = (
        at(&ev, &format!("inet {VIP}/24")),
        at(&ev, "10.77.0.0/16 via 192.168.1.254"),
        at(&ev, "1000: from 10.77.0.0/16 lookup 100"),
    );
    assert!(vip_at < route_at && route_at < rule_at, "{ev:#?}");
    // The statics were there before VRRP: installed at start.
    assert!(at(&ev, "10.66.0.0/16 via") < vip_at, "{ev:#?}");

    // Node 1 (100) joins as BACKUP: statics, no virtual routes.
    let mut d1 = start_vigil_with(&lab, 1, &conf(100, THIRD), "n1");
    d1.wait_status("BACKUP", Duration::from_secs(8), |v| {
        first_state(v) == "BACKUP"
    });
    assert_eq!(installed(n1), Vec::<String>::new());
    assert_eq!(statics(n1), (true, true));

    // 1. `vigil restart` of the master: nothing it installed goes, ever.
    let pid = d0.proc.pid();
    let mon = monitor(n0, &lab.path("mon1.log"));
    let (code, out) = vigil(&d0, &["restart"]);
    assert_eq!(code, 0, "{out}");
    d0.wait_ready(Duration::from_secs(10));
    d0.wait_status("MASTER resumed", Duration::from_secs(5), |v| {
        first_state(v) == "MASTER"
    });
    assert_eq!(d0.proc.pid(), pid);
    assert_eq!(installed(n0), expected(THIRD));
    assert_eq!(statics(n0), (true, true));
    let deleted: Vec<String> = monitored(mon)
        .into_iter()
        .filter(|l| l.starts_with("Deleted"))
        .collect();
    assert!(
        deleted.is_empty(),
        "deleted across the restart: {deleted:#?}"
    );

    // 2. A reload changing one route: that route goes, its successor
    //    comes, nothing else is touched.
    std::fs::write(&d0.conf, conf(150, THIRD_CHANGED)).unwrap();
    let mon = monitor(n0, &lab.path("mon2.log"));
    let (code, out) = vigil(&d0, &["reload"]);
    assert_eq!(code, 0, "{out}");
    wait_installed(n0, &expected(THIRD_CHANGED), "after the reload");
    let ev: Vec<String> = monitored(mon)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        ev,
        [
            "Deleted 10.79.0.0/16 dev eth0 proto keepalived scope link metric 7",
            "10.80.0.0/16 dev eth0 proto keepalived scope link metric 7",
        ],
        "the reload's kernel changes"
    );

    // 3. FAULT: node 0's link goes down; its rules and its blackhole
    //    route (no device: the kernel keeps it) go. Node 1 takes over,
    //    and gives them back when node 0 returns and preempts.
    // (Its IPv6 address stays over the gap, or the IPv6 route's gateway
    // would be off-link when it returns: a logged, counted error.)
    n0.sysctl("net.ipv6.conf.eth0.keep_addr_on_down", "1");
    lab.nodes[0].link_down();
    d0.wait_status("FAULT", Duration::from_secs(5), |v| {
        first_state(v) == "FAULT"
    });
    let left: Vec<String> = installed(n0)
        .into_iter()
        .filter(|l| l.contains("lookup 100") || l.contains("blackhole"))
        .collect();
    assert!(left.is_empty(), "left on a FAULT: {left:#?}");
    lab.wait_sole_holder(1, vip(), Duration::from_secs(10));
    // (Node 1's config still has the third route as first written.)
    wait_installed(n1, &expected(THIRD), "routes on node 1");
    lab.nodes[0].link_up();
    lab.wait_sole_holder(0, vip(), Duration::from_secs(15));
    wait_installed(n0, &expected(THIRD_CHANGED), "routes back on node 0");
    wait_installed(n1, &[], "routes gone from node 1");

    // 4. Takeover: node 1 at 200 preempts; node 0 goes BACKUP and
    //    removes rules, routes, then the VIP.
    let mon = monitor(n0, &lab.path("mon3.log"));
    // (Its static route changes too: the new one replaces the old.)
    std::fs::write(&d1.conf, conf_static(200, THIRD_CHANGED, "10.67.0.0/16")).unwrap();
    let (code, out) = vigil(&d1, &["reload"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("static_routes / static_rules applied: 1 lines installed, 1 removed"),
        "{out}"
    );
    let table200 = ip_out(n1, &["ip", "-4", "route", "show", "table", "200"]);
    assert!(
        table200.contains("10.67.0.0/16") && !table200.contains("10.66.0.0/16"),
        "{table200}"
    );
    lab.wait_sole_holder(1, vip(), Duration::from_secs(10));
    wait_installed(n1, &expected(THIRD_CHANGED), "routes on the new master");
    wait_installed(n0, &[], "routes gone from the old master");
    let ev = monitored(mon);
    let (rule_at, route_at, vip_at) = (
        at(&ev, "Deleted 1000: from 10.77.0.0/16"),
        at(&ev, "Deleted 10.77.0.0/16 via"),
        at(&ev, &format!("Deleted 2: eth0 inet {VIP}/24")),
    );
    assert!(rule_at < route_at && route_at < vip_at, "{ev:#?}");
    // The static rule stays; the static route went with the link in
    // step 3 (the kernel drops routes through a link set down) and vigil
    // follows no route's deletion: it is back at the next start.
    assert_eq!(statics(n0), (false, true));

    // 5. A deliberate stop of the master: its routes and rules go with
    //    its VIP; node 0 takes over and installs them.
    d1.stop().expect("node 1 stops");
    assert_eq!(installed(n1), Vec::<String>::new());
    let table200 = ip_out(n1, &["ip", "-4", "route", "show", "table", "200"]);
    assert_eq!(table200, "", "statics go at a stop");
    assert_eq!(statics(n1), (false, false));
    lab.wait_sole_holder(0, vip(), Duration::from_secs(10));
    wait_installed(n0, &expected(THIRD_CHANGED), "routes back on node 0");
    let v = d0.status_json();
    assert_eq!(v["instances"][0]["route_errors"], 0, "{v}");
    let t0 = Instant::now();
    d0.stop().expect("node 0 stops");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(installed(n0), Vec::<String>::new());
    assert_eq!(statics(n0), (false, false));
}
