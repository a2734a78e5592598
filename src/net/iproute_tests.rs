//! Unit tests of `iproute.rs`: the messages, as `ip route add` and `ip
//! rule add` would build them.

use super::*;
use crate::config::model::{FwMark, IfAddr, IpRoute, IpRule};
use netlink_packet_route::route::{RouteAttribute, RouteFlags};

fn dest(s: &str, prefix: u8) -> IfAddr {
    IfAddr {
        addr: s.parse().unwrap(),
        prefix,
    }
}

#[test]
fn a_route_without_a_gateway_is_of_link_scope_and_a_big_table_is_an_attribute() {
    let r = IpRoute {
        table: Some(6909),
        metric: Some(7),
        ..IpRoute::to(dest("192.168.111.0", 24))
    };
    let m = route_message(&r, Some(3), false).unwrap();
    assert_eq!(m.header.scope, RouteScope::Link);
    assert_eq!(u8::from(m.header.protocol), PROTO);
    assert!(m.attributes.contains(&RouteAttribute::Table(6909)));
    assert!(m.attributes.contains(&RouteAttribute::Oif(3)));
    assert!(m.attributes.contains(&RouteAttribute::Priority(7)));
    // Deleting leaves the scope open.
    let d = route_message(&r, Some(3), true).unwrap();
    assert_eq!(d.header.scope, RouteScope::NoWhere);
}

#[test]
fn a_gateway_route_is_universal_blackhole_has_its_type_and_onlink_its_flag() {
    let r = IpRoute {
        via: Some("10.1.1.1".parse().unwrap()),
        onlink: true,
        ..IpRoute::to(dest("10.9.0.0", 16))
    };
    let m = route_message(&r, None, false).unwrap();
    assert_eq!(m.header.scope, RouteScope::Universe);
    assert!(m.header.flags.contains(RouteFlags::Onlink));
    let b = IpRoute {
        kind: RouteKind::Blackhole,
        ..IpRoute::to(dest("192.168.114.0", 24))
    };
    let m = route_message(&b, None, false).unwrap();
    assert_eq!(
        (m.header.kind, m.header.scope),
        (RouteType::BlackHole, RouteScope::Universe)
    );
}

#[test]
fn a_rule_says_to_table_with_its_selectors() {
    let r = IpRule {
        from: Some(dest("192.168.28.0", 24)),
        fwmark: Some(FwMark {
            mark: 16,
            mask: Some(255),
        }),
        priority: Some(100),
        ..IpRule::lookup(1234, false)
    };
    let m = rule_message(&r);
    assert_eq!(m.header.action, NlAction::ToTable);
    assert_eq!((m.header.src_len, m.header.table), (24, 0));
    for a in [
        RuleAttribute::Table(1234),
        RuleAttribute::Priority(100),
        RuleAttribute::FwMark(16),
        RuleAttribute::FwMask(255),
    ] {
        assert!(m.attributes.contains(&a), "{a:?}");
    }
    let small = rule_message(&IpRule::lookup(100, true));
    assert_eq!(
        (small.header.table, small.header.family),
        (100, AddressFamily::Inet6)
    );
}
