//! Unit tests of `bird.rs`. `tests/it/bgp_bird.rs` has BIRD itself parse
//! and run these configs.

use super::*;
use crate::config::model::{Bgp, BgpNeighbor};
use std::collections::BTreeSet;

fn bgp() -> Bgp {
    let mut b = Bgp::new(65010, "10.0.0.1".parse().unwrap());
    let mut n = BgpNeighbor::new("10.0.0.254".parse().unwrap(), 65000);
    n.password = Some("s3cret pass".into());
    n.bfd = true;
    n.source_address = Some("10.0.0.1".parse().unwrap());
    n.hold_time = Some(9);
    b.neighbors.push(n);
    let mut n6 = BgpNeighbor::new("fd00::fe".parse().unwrap(), 65000);
    n6.multihop = Some(2);
    b.neighbors.push(n6);
    b.communities = vec![(65010, 100)];
    b
}

fn routes(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn protocol_names_come_from_the_address() {
    let b = bgp();
    assert_eq!(protocol_name(&b.neighbors[0]), "vigil_10_0_0_254");
    assert_eq!(protocol_name(&b.neighbors[1]), "vigil_fd00__fe");
}

#[test]
fn the_config_holds_each_route_in_its_family_and_each_neighbor() {
    let a = Announce {
        routes: routes(&["192.0.2.1", "2001:db8::1"]),
        prepend: 0,
    };
    let t = render(&bgp(), &a);
    for want in [
        "router id 10.0.0.1;\n",
        "protocol static vigil_v4 {\n    ipv4;\n    route 192.0.2.1/32 blackhole;\n}\n",
        "protocol static vigil_v6 {\n    ipv6;\n    route 2001:db8::1/128 blackhole;\n}\n",
        "    bgp_community.add((65010,100));\n",
        "protocol bgp vigil_10_0_0_254 {\n    description \"vigil neighbor 10.0.0.254\";\n    connect retry time 5;\n    error wait time 5, 60;\n",
        "    local 10.0.0.1 as 65010;\n    neighbor 10.0.0.254 as 65000;\n    password \"s3cret pass\";\n    bfd on;\n    hold time 9;\n    ipv4 {\n",
        "    local as 65010;\n    neighbor fd00::fe as 65000;\n    multihop 2;\n    ipv6 {\n",
        "protocol bfd vigil_bfd {\n    interface \"*\" {\n        interval 100 ms;\n        multiplier 3;\n",
    ] {
        assert!(t.contains(want), "{want:?} not in\n{t}");
    }
    assert!(!t.contains("prepend"), "{t}");
}

#[test]
fn a_drain_by_prepend_changes_only_the_filter() {
    let a = Announce {
        routes: routes(&["192.0.2.1"]),
        prepend: 0,
    };
    let drained = Announce {
        prepend: 2,
        ..a.clone()
    };
    let (t, d) = (render(&bgp(), &a), render(&bgp(), &drained));
    assert_eq!(
        d.matches("    bgp_path.prepend(65010);\n").count(),
        2,
        "{d}"
    );
    let strip = |s: &str| s.replace("    bgp_path.prepend(65010);\n", "");
    assert_eq!(strip(&d), t);
}

#[test]
fn no_bfd_protocol_without_a_bfd_neighbor_and_empty_statics_stay() {
    let mut b = bgp();
    b.neighbors.iter_mut().for_each(|n| n.bfd = false);
    let t = render(&b, &Announce::default());
    assert!(!t.contains("protocol bfd"), "{t}");
    assert!(
        t.contains("protocol static vigil_v4 {\n    ipv4;\n}\n"),
        "{t}"
    );
}
