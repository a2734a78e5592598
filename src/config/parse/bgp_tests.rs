//! Unit tests of `bgp.rs` and of the `anycast` line of a virtual server,
//! with the cross-block checks `validate` makes of them.

use crate::config::model::{BgpDrain, Config, Scheduler};
use crate::config::Rejected;
use std::net::IpAddr;

const BGP: &str = "bgp {
    local_as 65010
    router_id 10.255.0.1
    neighbor 10.255.0.254 {
        remote_as 65000
        password \"s3cret pass\"
        bfd on
        source_address 10.255.0.1
        hold_time 9
    }
    neighbor fd00::fe {
        remote_as 65000
        multihop 2
    }
    community 65010:100
    community 65010:200
    drain prepend 3
    bfd_interval 0.05
    bfd_multiplier 5
    sync_daemon eth1 id 52 ttl 1
}
";

fn service(head: &str, body: &str) -> String {
    format!(
        "virtual_server {head} {{\n lvs_sched mh\n protocol TCP\n{body} real_server 10.0.0.2 80 {{\n }}\n}}\n"
    )
}

fn import(text: &str) -> Config {
    let imp = crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()));
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
    imp.config
}

/// Every error line of a config that must not import.
fn errors(text: &str) -> Vec<String> {
    match crate::config::import_str("t.conf", text, false) {
        Ok(_) => panic!("imported:\n{text}"),
        Err(r) => errors_of(&r),
    }
}

fn errors_of(r: &Rejected) -> Vec<String> {
    r.lines()
        .into_iter()
        .filter(|l| l.contains("error"))
        .collect()
}

fn has(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l.contains(want)),
        "{want:?} not in {lines:#?}"
    );
}

#[test]
fn a_full_block_reads_and_writes_back_the_same() {
    let text = format!("{BGP}{}", service("192.168.1.200 80", " anycast\n"));
    let c = import(&text);
    let b = c.bgp.as_ref().expect("a bgp block");
    assert_eq!(
        (b.local_as, b.router_id.to_string()),
        (65010, "10.255.0.1".into())
    );
    assert_eq!(b.neighbors.len(), 2);
    let n = &b.neighbors[0];
    assert_eq!(n.password.as_deref(), Some("s3cret pass"));
    assert!(n.bfd);
    assert_eq!(n.hold_time, Some(9));
    assert_eq!(b.neighbors[1].multihop, Some(2));
    assert_eq!(b.communities, vec![(65010, 100), (65010, 200)]);
    assert_eq!(b.drain, BgpDrain::Prepend(3));
    assert_eq!(b.bfd_interval.0, 50);
    assert_eq!(b.bfd_multiplier, 5);
    let s = b.sync_daemon.as_ref().expect("sync_daemon");
    assert_eq!(
        (s.interface.as_str(), s.id, s.ttl),
        ("eth1", Some(52), Some(1))
    );
    assert!(s.vrrp_instance.is_empty());
    let vip: IpAddr = "192.168.1.200".parse().unwrap();
    assert_eq!(c.virtual_servers[0].anycast, Some(vip));
    let out = crate::config::export::export(&c);
    assert!(out.contains("    anycast\n"), "{out}");
    assert_eq!(import(&out), c, "{out}");
    let bytes = crate::config::envelope::encode(&c).unwrap();
    assert_eq!(crate::config::envelope::decode(&bytes).unwrap(), c);
}

#[test]
fn a_fwmark_service_names_the_address_it_announces() {
    let text = format!("{BGP}{}", service("fwmark 7", " anycast 192.168.1.201\n"));
    let c = import(&text);
    let vip: IpAddr = "192.168.1.201".parse().unwrap();
    assert_eq!(c.virtual_servers[0].anycast, Some(vip));
    let out = crate::config::export::export(&c);
    assert!(out.contains("anycast 192.168.1.201\n"), "{out}");
    assert_eq!(import(&out), c);
}

#[test]
fn required_keywords_are_named_at_the_block() {
    let e = errors("bgp {\n community 1:2\n}\n");
    has(&e, "t.conf:1:1: error: 'local_as' is missing from bgp");
    has(&e, "'router_id' is missing from bgp");
    has(&e, "'neighbor' is missing from bgp");
    let e = errors("bgp {\n local_as 1\n router_id 1.2.3.4\n neighbor 10.0.0.1 {\n }\n}\n");
    has(
        &e,
        "t.conf:4:2: error: 'remote_as' is missing from bgp neighbor 10.0.0.1",
    );
    assert_eq!(
        e.len(),
        1,
        "a neighbour with an error is no missing neighbour: {e:#?}"
    );
}

#[test]
fn bad_values_are_located() {
    let block = |line: &str| {
        format!(
            "bgp {{\n local_as 65010\n router_id 10.0.0.1\n neighbor 10.0.0.2 {{\n  remote_as 65000\n }}\n {line}\n}}\n"
        )
    };
    has(
        &errors(&block("community 65536:1")),
        "t.conf:7:12: error: 'community': invalid value '65536:1'",
    );
    has(&errors(&block("community 1")), "expected ASN:VALUE");
    has(&errors(&block("drain prepend 9")), "t.conf:7:16: error:");
    has(
        &errors(&block("drain sideways")),
        "expected 'withdraw' or 'prepend N'",
    );
    has(&errors(&block("bfd_interval 0.001")), "'bfd_interval'");
    has(
        &errors(&block("bird_socket relative.ctl")),
        "an absolute path",
    );
    let head = |asn: &str, id: &str| {
        format!("bgp {{\n local_as {asn}\n router_id {id}\n neighbor 10.0.0.2 {{\n  remote_as 1\n }}\n}}\n")
    };
    has(
        &errors(&head("23456", "10.0.0.1")),
        "t.conf:2:11: error: 'local_as': invalid value '23456'",
    );
    has(&errors(&head("23456", "10.0.0.1")), "AS_TRANS");
    has(
        &errors(&head("0", "10.0.0.1")),
        "an AS number 1..4294967295",
    );
    has(&errors(&head("4294967296", "10.0.0.1")), "an AS number");
    has(&errors(&head("1", "0.0.0.0")), "not 0.0.0.0");
    has(&errors(&head("1", "fd00::1")), "in IPv4 form");
    has(
        &errors(&block("neighbor 10.0.0.2 {\n  remote_as 1\n }")),
        "t.conf:7:2: error: bgp: neighbor 10.0.0.2 is given twice",
    );
}

#[test]
fn one_sync_daemon_of_either_kind() {
    let global = "global_defs {\n lvs_sync_daemon eth1 VI_1\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n}\n";
    let e = errors(&format!("{global}{BGP}"));
    has(
        &e,
        "t.conf:8:1: error: bgp: sync_daemon and global_defs' lvs_sync_daemon both",
    );
    let bad = BGP.replace("sync_daemon eth1 id 52 ttl 1", "sync_daemon eth1 VI_1");
    has(&errors(&bad), "'sync_daemon': invalid value 'VI_1'");
}

#[test]
fn a_neighbor_is_checked_alone() {
    let neighbor = |body: &str| {
        format!("bgp {{\n local_as 65010\n router_id 10.0.0.1\n neighbor 10.0.0.2 {{\n  remote_as 65000\n  {body}\n }}\n}}\n")
    };
    has(
        &errors(&neighbor("password \"a\\\"b\"")),
        "without '\"' or '\\'",
    );
    has(
        &errors(&neighbor(&format!("password {}", "x".repeat(81)))),
        "1..80 printable",
    );
    has(
        &errors(&neighbor("source_address fd00::1")),
        "t.conf:6:18: error: bgp: neighbor 10.0.0.2: source_address fd00::1 is not of the neighbor's family",
    );
    has(&errors(&neighbor("hold_time 2")), "'hold_time'");
    let zero =
        "bgp {\n local_as 1\n router_id 10.0.0.1\n neighbor 10.0.0.2 {\n  remote_as 0\n }\n}\n";
    has(
        &errors(zero),
        "t.conf:5:13: error: 'remote_as': invalid value '0'",
    );
}

#[test]
fn anycast_is_refused_where_it_cannot_be_announced() {
    let e = errors(&service("192.168.1.200 80", " anycast\n"));
    has(&e, "t.conf:4:2: error: virtual_server 192.168.1.200 80: anycast needs a bgp block to announce 192.168.1.200");
    let e = errors(&format!(
        "{BGP}{}",
        service("192.168.1.200 80", " anycast 192.168.1.9\n")
    ));
    has(
        &e,
        "anycast 192.168.1.9 is not the service's own address 192.168.1.200",
    );
    let e = errors(&format!("{BGP}{}", service("fwmark 3", " anycast\n")));
    has(&e, "anycast needs the ADDRESS to announce");
    // A v6 address with only a v4 neighbour.
    let v4_only = "bgp {\n local_as 65010\n router_id 10.0.0.1\n neighbor 10.0.0.2 {\n  remote_as 65000\n }\n}\n";
    let e = errors(&format!(
        "{v4_only}{}",
        service("fd00::200 80", " anycast\n")
    ));
    has(&e, "a IPv6 address needs a bgp neighbor of that family");
    let vrrp = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.168.1.200/24\n }\n}\n";
    let e = errors(&format!(
        "{BGP}{vrrp}{}",
        service("192.168.1.200 80", " anycast\n")
    ));
    has(&e, "is also a virtual_ipaddress of vrrp_instance VI_1");
}

#[test]
fn anycast_warns_of_a_scheduler_that_differs_between_boxes() {
    let text = format!(
        "{BGP}{}",
        service("192.168.1.200 80", " anycast\n lvs_sched rr\n")
    );
    let text = text.replace(" lvs_sched mh\n", "");
    let imp = crate::config::import_str("t.conf", &text, false).unwrap();
    let w: Vec<String> = imp.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    has(&w, "anycast with lvs_sched rr");
    assert_eq!(imp.config.virtual_servers[0].scheduler, Scheduler::Rr);
}
