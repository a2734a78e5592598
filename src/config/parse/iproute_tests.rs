//! Unit tests of `iproute.rs`: keepalived's route and rule lines, read,
//! written back, and refused by name at their place.

use crate::config::model::{
    AddrScope, Config, FwMark, IfAddr, IpRoute, IpRule, RouteKind, RuleAction,
};

fn import(text: &str) -> Config {
    let imp = crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()));
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
    imp.config
}

fn errors(text: &str) -> Vec<String> {
    match crate::config::import_str("t.conf", text, false) {
        Ok(i) => panic!("accepted: {:?}", i.config),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

fn round_trip(c: &Config) {
    let text = crate::config::export::export(c);
    let back = crate::config::import_str("x.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}\n{text}", r.lines()));
    assert_eq!(&back.config, c, "\n{text}");
}

/// An instance whose block ends with `body` (lines from line 5 on).
fn instance(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{ 192.168.100.1/24 }}\n{body}}}\n"
    )
}

fn prefix(s: &str) -> IfAddr {
    let (a, p) = s.split_once('/').unwrap();
    IfAddr {
        addr: a.parse().unwrap(),
        prefix: p.parse().unwrap(),
    }
}

#[test]
fn the_man_pages_route_forms_read_and_write_back() {
    let c = import(&instance(
        " virtual_routes {
  src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1
  192.168.112.0/24 via 192.168.100.254 dev eth1 metric 20
  192.168.111.0/24 dev eth2 no_track scope link
  blackhole 192.168.101.0/24
  0.0.0.0/0 gw 192.168.0.1 table 100
  10.9.0.0/16 via 10.1.1.1 dev eth1 onlink table main
  2001:db8:1::/64 via fe80::1 dev eth1 table 6909
  default inet6 via 2001:db8::1
 }
",
    ));
    let r = &c.vrrp_instances[0].virtual_routes;
    assert_eq!(r.len(), 8);
    assert_eq!(
        r[0],
        IpRoute {
            src: Some("192.168.100.1".parse().unwrap()),
            via: Some("192.168.200.254".parse().unwrap()),
            dev: Some(crate::config::bounds::IfName::new("eth1").unwrap()),
            ..IpRoute::to(prefix("192.168.109.0/24"))
        }
    );
    assert_eq!(r[1].metric, Some(20));
    assert_eq!((r[2].scope, r[2].no_track), (Some(AddrScope::Link), true));
    assert_eq!((r[3].kind, r[3].via), (RouteKind::Blackhole, None));
    assert_eq!((r[4].dest, r[4].table), (prefix("0.0.0.0/0"), Some(100)));
    assert_eq!((r[5].onlink, r[5].table), (true, Some(254)));
    assert!(r[6].is_ipv6() && r[6].table == Some(6909));
    assert_eq!(r[7].dest, prefix("::/0"));
    round_trip(&c);
}

#[test]
fn the_man_pages_rule_forms_read_and_write_back() {
    let c = import(&instance(
        " virtual_rules {
  from 192.168.28.0/24 table 1234 priority 100
  to 192.168.2.0/24 table 1 no_track
  from 10.0.0.0/8 to 10.1.0.0/16 iif eth0 oif eth1 fwmark 0x10/0xff preference 39 lookup 7
  fwmark 24 prio 5 table 9
  inet6 priority 200 table 6908
  from 2001:db8::/32 unreachable
 }
",
    ));
    let r = &c.vrrp_instances[0].virtual_rules;
    assert_eq!(
        r[0],
        IpRule {
            from: Some(prefix("192.168.28.0/24")),
            priority: Some(100),
            ..IpRule::lookup(1234, false)
        }
    );
    assert!(r[1].no_track && r[1].to == Some(prefix("192.168.2.0/24")));
    let full = &r[2];
    assert_eq!(
        (
            full.iif.as_ref().map(|i| i.as_str()),
            full.oif.as_ref().map(|i| i.as_str())
        ),
        (Some("eth0"), Some("eth1"))
    );
    assert_eq!(
        full.fwmark,
        Some(FwMark {
            mark: 16,
            mask: Some(255)
        })
    );
    assert_eq!(
        (full.priority, full.action),
        (Some(39), RuleAction::Table(7))
    );
    assert_eq!(
        r[3].fwmark,
        Some(FwMark {
            mark: 24,
            mask: None
        })
    );
    assert!(r[4].ipv6 && r[4].from.is_none());
    assert!(r[5].ipv6 && r[5].action == RuleAction::Unreachable);
    round_trip(&c);
}

#[test]
fn static_routes_and_rules_at_the_top_level() {
    let c = import(
        "static_routes {\n 10.20.0.0/16 via 10.0.0.1 dev eth0\n}\nstatic_rules {\n from 10.20.0.0/16 table 20 priority 1000\n}\n",
    );
    assert_eq!(c.static_routes.len(), 1);
    assert_eq!(c.static_rules[0].action, RuleAction::Table(20));
    round_trip(&c);
}

#[test]
fn keepalived_options_vigil_does_not_install_are_refused_by_name_at_their_place() {
    let e = errors(&instance(
        " virtual_routes {\n  192.168.113.0/24 via 192.168.200.254 or 192.168.100.254 dev eth1\n }\n",
    ));
    assert_eq!(
        e,
        ["t.conf:6:40: error: keepalived's 'or' option of virtual_routes is not supported by vigil"]
    );
    let e = errors(&instance(
        " virtual_routes {\n  192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev wlan0\n }\n",
    ));
    assert_eq!(
        e,
        ["t.conf:6:31: error: keepalived's 'nexthop' option of virtual_routes is not supported by vigil"]
    );
    let e = errors(&instance(
        " virtual_rules {\n  from 192.168.28.0/24 table 5 goto 40\n }\n",
    ));
    assert_eq!(
        e,
        ["t.conf:6:32: error: keepalived's 'goto' option of virtual_rules is not supported by vigil"]
    );
    let e = errors("static_routes {\n 10.0.0.0/8 via 10.0.0.1 track_group G\n}\n");
    assert_eq!(
        e,
        ["t.conf:2:26: error: keepalived's 'track_group' option of static_routes is not supported by vigil"]
    );
}

#[test]
fn bad_values_say_what_was_expected() {
    let e = errors(&instance(
        " virtual_routes {\n  10.0.0.0/8 table small\n }\n",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "t.conf:6:20: error: 'table': invalid value 'small', expected a table number"
        ),
        "{e:?}"
    );
    let e = errors(&instance(
        " virtual_routes {\n  10.0.0.0/8 via 2001:db8::1\n }\n",
    ));
    assert!(
        e[0].starts_with("t.conf:6:3: error:") && e[0].contains("destination's family"),
        "{e:?}"
    );
    let e = errors(&instance(
        " virtual_routes {\n  blackhole 10.0.0.0/8 via 10.0.0.1\n }\n",
    ));
    assert!(e[0].contains("no gateway on a blackhole route"), "{e:?}");
    let e = errors(&instance(
        " virtual_rules {\n  from 10.0.0.0/8 to 2001:db8::/32 table 3\n }\n",
    ));
    assert!(e[0].contains("of one family"), "{e:?}");
    let e = errors(&instance(" virtual_routes {\n  10.0.0.0/8 via\n }\n"));
    assert!(e[0].contains("a value after 'via'"), "{e:?}");
    let e = errors(&instance(
        " virtual_routes {\n  10.0.0.0/8 via 10.0.0.1\n  10.0.0.0/8 via 10.0.0.1\n }\n",
    ));
    assert!(
        e[0].starts_with("t.conf:7:3:") && e[0].contains("each line once"),
        "{e:?}"
    );
}

#[test]
fn the_keywords_are_no_longer_listed_as_unsupported() {
    for kw in ["virtual_routes", "virtual_rules"] {
        assert!(!super::super::keepalived::INSTANCE.contains(&kw));
    }
    for kw in ["static_routes", "static_rules"] {
        assert!(!super::super::keepalived::TOP.contains(&kw));
    }
}
