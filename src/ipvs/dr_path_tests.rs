//! Unit tests of `dr_path.rs`: which real servers get a path, their
//! marks, their kernel entries, and one checker's path.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::*;
use crate::config::model::Config;
use crate::ipvs::desired;
use crate::ipvs::reconcile;

const APPLIANCE: &str = "appliance {\n interface eth0 {\n  address 192.168.1.100/24\n }\n}\n";

fn import(text: &str) -> Config {
    crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}\n{text}", r.lines()))
        .config
}

/// A virtual server of `method` on 192.168.1.200:80 with `reals` (each a
/// `real_server` block body's first line and its checker), `extra` lines
/// in the virtual server.
fn service(method: &str, extra: &str, reals: &[(&str, &str)]) -> String {
    let mut s = format!("virtual_server 192.168.1.200 80 {{\n lvs_method {method}\n{extra}");
    for (addr, check) in reals {
        s += &format!(" real_server {addr} 80 {{\n  {check} {{\n   connect_timeout 2\n  }}\n }}\n");
    }
    s + "}\n"
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn real(addr: &str, tunnel: bool) -> Real {
    Real {
        addr: ip(addr),
        tunnel,
    }
}

#[test]
fn dr_and_tun_real_servers_with_checks_get_a_mark_on_the_appliance_and_nat_gets_none() {
    let text = format!(
        "{APPLIANCE}{}{}{}",
        service("DR", "", &[("192.168.1.102", "TCP_CHECK"), ("192.168.1.103", "TCP_CHECK")]),
        service("TUN", " protocol UDP\n", &[("192.168.1.104", "TCP_CHECK")]),
        "virtual_server 192.168.1.200 8080 {\n lvs_method NAT\n protocol TCP\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
    );
    let paths = Paths::of(&import(&text));
    assert_eq!(paths.len(), 3);
    for r in [
        real("192.168.1.102", false),
        real("192.168.1.103", false),
        real("192.168.1.104", true),
    ] {
        let m = paths.mark(r).unwrap_or_else(|| panic!("{r:?} has no mark"));
        assert!(is_path_mark(m), "{m:#x}");
    }
    assert_eq!(paths.mark(real("10.0.0.1", false)), None);
    assert!(paths.any_ipv4());
}

#[test]
fn a_plain_keepalived_conf_has_no_paths_unless_it_asks_and_the_appliance_can_say_off() {
    let dr = |extra: &str| service("DR", extra, &[("192.168.1.102", "TCP_CHECK")]);
    assert!(Paths::of(&import(&dr(""))).is_empty());
    assert_eq!(Paths::of(&import(&dr(" dr_path_check on\n"))).len(), 1);
    assert_eq!(Paths::of(&import(&dr(" dr_path_check\n"))).len(), 1);
    let off = format!("{APPLIANCE}{}", dr(" dr_path_check off\n"));
    assert!(Paths::of(&import(&off)).is_empty());
}

#[test]
fn no_path_without_a_checker_that_connects_to_the_real_server_or_without_a_vip() {
    let text = format!(
        "{APPLIANCE}{}{}",
        "virtual_server 192.168.1.200 80 {\n lvs_method DR\n real_server 192.168.1.102 80 {\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n real_server 192.168.1.103 80 {\n  TCP_CHECK {\n   connect_ip 192.168.1.9\n  }\n }\n real_server 192.168.1.104 80 {\n }\n}\n",
        "virtual_server fwmark 7 {\n lvs_method DR\n real_server 192.168.1.105 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
    );
    assert!(Paths::of(&import(&text)).is_empty());
}

#[test]
fn a_mark_stays_when_other_real_servers_come_and_go() {
    let one = format!(
        "{APPLIANCE}{}",
        service("DR", "", &[("192.168.1.102", "TCP_CHECK")])
    );
    let two = format!(
        "{APPLIANCE}{}",
        service(
            "DR",
            "",
            &[
                ("192.168.1.101", "TCP_CHECK"),
                ("192.168.1.102", "TCP_CHECK")
            ]
        )
    );
    let r = real("192.168.1.102", false);
    assert_eq!(
        Paths::of(&import(&one)).mark(r),
        Paths::of(&import(&two)).mark(r)
    );
}

#[test]
fn colliding_slots_get_distinct_marks() {
    // Two addresses whose hashes collide, found by search over addresses
    // spread across the space (2^20 slots: a few thousand make one likely;
    // neighbouring addresses rarely collide, their hashes differ in a
    // bijective last step).
    let mut seen = std::collections::HashMap::new();
    let pair = (1u32..200_000)
        .map(|i| Real {
            addr: IpAddr::V4(i.wrapping_mul(2_654_435_761).into()),
            tunnel: false,
        })
        .find_map(|r| seen.insert(r.slot(), r).map(|other| (other, r)))
        .expect("a collision among 200,000 addresses in 2^20 slots");
    let text = format!(
        "{APPLIANCE}virtual_server 10.1.0.1 80 {{\n lvs_method DR\n dr_path_check on\n real_server {} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n real_server {} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n",
        pair.0.addr, pair.1.addr
    );
    let paths = Paths::of(&import(&text));
    let (a, b) = (paths.mark(pair.0).unwrap(), paths.mark(pair.1).unwrap());
    assert_ne!(a, b);
    let first = pair.0.min(pair.1);
    assert_eq!(paths.mark(first), Some(MARK_FIRST + first.slot()));
    assert_eq!(a.abs_diff(b), 1);
}

#[test]
fn each_path_is_a_round_robin_fwmark_service_of_its_real_server_alone() {
    let text = format!(
        "{APPLIANCE}{}{}",
        service("DR", "", &[("192.168.1.102", "TCP_CHECK")]),
        service("TUN", " protocol UDP\n", &[("192.168.1.104", "TCP_CHECK")]),
    );
    let paths = Paths::of(&import(&text));
    let entries: Vec<Entry> = paths.entries().collect();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert!(is_path(&e.service.id));
        assert_eq!(e.service.scheduler, "rr");
        assert_eq!((e.service.flags, e.service.timeout), (0, 0));
        assert_eq!(e.service.netmask, u32::MAX);
        let d: Vec<&Dest> = e.dests.values().collect();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].id.port, d[0].weight), (0, 1));
        let want = if d[0].id.addr == ip("192.168.1.104") {
            FwdMethod::Tunnel
        } else {
            FwdMethod::Route
        };
        assert_eq!(d[0].fwd, want);
    }
    let ids: BTreeSet<ServiceId> = paths.ids().collect();
    assert_eq!(ids, entries.iter().map(|e| e.service.id).collect());
}

#[test]
fn ready_lists_the_paths_the_table_holds_with_their_server() {
    let text = format!(
        "{APPLIANCE}{}",
        service(
            "DR",
            "",
            &[
                ("192.168.1.102", "TCP_CHECK"),
                ("192.168.1.103", "TCP_CHECK")
            ]
        )
    );
    let paths = Paths::of(&import(&text));
    let mut table = Table::default();
    let mut entries = paths.entries();
    let whole = entries.next().unwrap();
    let mut empty = entries.next().unwrap();
    empty.dests.clear();
    let (whole_id, empty_id) = (whole.service.id, empty.service.id);
    table.services.insert(whole_id, whole);
    table.services.insert(empty_id, empty);
    assert_eq!(*ready(&paths, &table), BTreeSet::from([whole_id]));
    assert!(ready(&paths, &Table::default()).is_empty());
}

#[test]
fn a_path_service_found_at_start_is_another_vigils_and_one_a_commit_drops_is_retired() {
    let text = format!(
        "{APPLIANCE}{}",
        service("DR", "", &[("192.168.1.102", "TCP_CHECK")])
    );
    let c = std::sync::Arc::new(import(&text));
    let paths = Paths::of(&c);
    let path_id = paths.ids().next().unwrap();
    assert!(is_path(&path_id));
    // Found in the kernel, wanted by no config of this daemon: foreign
    // (a second vigil on the box may own it), left alone.
    let mut actual = Table::default();
    actual
        .services
        .extend(paths.entries().map(|e| (e.service.id, e)));
    let plan = reconcile::diff(&desired::Desired::default(), &actual, &BTreeSet::new());
    assert_eq!(plan.foreign, vec![path_id]);
    assert!(plan.ops.is_empty(), "{:?}", plan.ops);
    // A commit that drops the DR real server retires its path.
    let now = std::time::Instant::now();
    let mut m = crate::ipvs::machine::Machine::new(c, None, now);
    assert!(m.poll_pass(now).is_some());
    let nat = format!(
        "{APPLIANCE}virtual_server 192.168.1.200 80 {{\n lvs_method NAT\n protocol TCP\n real_server 10.0.0.1 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n"
    );
    m.reconfigure(std::sync::Arc::new(import(&nat)), now);
    let req = m.poll_pass(now).expect("a pass after the commit");
    assert!(req.retired.contains(&path_id), "{:?}", req.retired);
    assert!(!req.desired.table.services.contains_key(&path_id));
    let plan = reconcile::diff(&req.desired, &actual, &req.retired);
    assert!(plan.foreign.is_empty(), "{:?}", plan.foreign);
    assert!(
        plan.ops.iter().any(|o| *o.service() == path_id),
        "{:?}",
        plan.ops
    );
}

#[test]
fn a_checker_goes_to_the_vip_on_its_own_port_with_its_servers_mark() {
    let text = format!(
        "{APPLIANCE}virtual_server 192.168.1.200 80 {{\n lvs_method DR\n real_server 192.168.1.102 80 {{\n  TCP_CHECK {{\n  }}\n  HTTP_GET {{\n   connect_port 8080\n   url {{\n    path /\n   }}\n  }}\n }}\n}}\n"
    );
    let c = import(&text);
    let paths = Paths::of(&c);
    let vs = &c.virtual_servers[0];
    let rs = &vs.real_servers[0];
    let mark = paths.mark(real("192.168.1.102", false)).unwrap();
    let tcp = CheckPath::of(&paths, &c, vs, rs, &rs.checkers[0], 80).unwrap();
    assert_eq!(tcp.vip, "192.168.1.200:80".parse::<SocketAddr>().unwrap());
    assert_eq!((tcp.mark, tcp.tunnel), (mark, false));
    let http = CheckPath::of(&paths, &c, vs, rs, &rs.checkers[1], 8080).unwrap();
    assert_eq!(http.vip.port(), 8080);
    assert_eq!(tcp.service(), ServiceId::Fwmark { af: Af::V4, mark });
}

#[test]
fn the_machine_puts_every_path_in_each_pass_and_owns_them() {
    let text = format!(
        "{APPLIANCE}{}",
        service("DR", "", &[("192.168.1.102", "TCP_CHECK")])
    );
    let c = std::sync::Arc::new(import(&text));
    let now = std::time::Instant::now();
    let mut m = crate::ipvs::machine::Machine::new(c.clone(), None, now);
    let req = m.poll_pass(now).expect("first pass due");
    let path = Paths::of(&c).ids().next().unwrap();
    assert!(req.desired.table.services.contains_key(&path));
    assert_eq!(req.desired.table.services.len(), 2);
}

#[test]
fn a_groups_checks_go_to_its_first_address_member_past_a_fwmark_one() {
    let text = format!(
        "{APPLIANCE}virtual_server_group G {{\n fwmark 9\n 192.168.1.200-210 80\n 192.168.1.220 81\n}}\nvirtual_server group G {{\n lvs_method DR\n protocol TCP\n real_server 192.168.1.102 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n"
    );
    let c = import(&text);
    let paths = Paths::of(&c);
    let vs = &c.virtual_servers[0];
    let rs = &vs.real_servers[0];
    let p = CheckPath::of(&paths, &c, vs, rs, &rs.checkers[0], 80).expect("a path");
    assert_eq!(p.vip, "192.168.1.200:80".parse::<SocketAddr>().unwrap());
}
