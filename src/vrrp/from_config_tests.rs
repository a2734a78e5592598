//! Unit tests of `from_config.rs`.

use super::*;
use crate::config::import_str;
use std::net::Ipv4Addr;

const PRIMARY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));

fn one(text: &str) -> (VrrpInstance, GlobalDefs) {
    let imp = import_str("t.conf", text, false).expect("imports");
    let c = imp.config;
    (c.vrrp_instances[0].clone(), c.global)
}

fn map(text: &str) -> Mapped {
    let (i, g) = one(text);
    from_config(&i, &g, PRIMARY).expect("maps")
}

fn inst(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n \
             virtual_ipaddress {{\n 10.9.0.200/24\n }}\n{extra}\n}}\n"
    )
}

#[test]
fn seed_v2_pass_one_second() {
    let m = map(&inst(
        "state MASTER\n advert_int 1\n authentication {\n auth_type PASS\n auth_pass 1111\n }",
    ));
    assert_eq!(m.machine.version, Version::V2);
    assert_eq!(m.machine.advert_interval, Centiseconds(100));
    assert_eq!(m.machine.initial_state, InitialState::Master);
    assert_eq!(m.machine.priority, Priority(100));
    assert_eq!(m.filter.auth, Auth::Simple(*b"1111\0\0\0\0"));
    assert_eq!(m.filter.advert_interval, Centiseconds(100));
    assert_eq!(m.filter.own_addrs, vec![PRIMARY]);
    assert_eq!(m.edge.mcast_group, "224.0.0.18".parse::<IpAddr>().unwrap());
    assert_eq!(m.edge.src, PRIMARY);
}

#[test]
fn a_long_auth_pass_goes_on_the_wire_as_its_first_8_bytes_like_keepalived() {
    // keepalived 2.2.7: "Truncating auth_pass to 8 characters"; both
    // ends of a mixed pair must send and expect the same octets.
    let m = map(&inst(
        "authentication {\n auth_type PASS\n auth_pass 123456789012\n }",
    ));
    assert_eq!(m.filter.auth, Auth::Simple(*b"12345678"));
}

#[test]
fn v2_interval_is_whole_seconds() {
    assert_eq!(
        advert_interval("x", Version::V2, Millis(3000)),
        Ok(Centiseconds(300))
    );
    assert!(advert_interval("x", Version::V2, Millis(1500)).is_err());
    assert!(advert_interval("x", Version::V2, Millis(256_000)).is_err());
}

#[test]
fn v3_interval_is_centiseconds() {
    assert_eq!(
        advert_interval("x", Version::V3, Millis(50)),
        Ok(Centiseconds(5))
    );
    assert_eq!(
        advert_interval("x", Version::V3, Millis(1000)),
        Ok(Centiseconds(100))
    );
    assert!(advert_interval("x", Version::V3, Millis(55)).is_err());
    assert!(advert_interval("x", Version::V3, Millis(40_960)).is_err());
    let m = map(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        inst("advert_int 0.05")
    ));
    assert_eq!(m.machine.version, Version::V3);
    assert_eq!(m.machine.advert_interval, Centiseconds(5));
    // v3 carries no authentication even if configured.
    assert_eq!(m.filter.auth, Auth::None);
}

#[test]
fn per_instance_version_overrides_global() {
    let m = map(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        inst("version 2")
    ));
    assert_eq!(m.machine.version, Version::V2);
    let m = map(&inst("version 3"));
    assert_eq!(m.machine.version, Version::V3);
}

#[test]
fn nopreempt_and_preempt_delay() {
    let m = map(&inst("state BACKUP\n nopreempt"));
    assert!(!m.machine.preempt);
    let m = map(&inst("state BACKUP\n preempt_delay 30"));
    assert!(m.machine.preempt);
    assert_eq!(m.machine.preempt_delay, Duration::from_secs(30));
}

#[test]
fn track_interface_weights() {
    let m = map(&inst(
        "track_interface {\n eth1\n eth2 weight -20\n eth3 weight 10\n }",
    ));
    let w: Vec<i16> = m.machine.track.iter().map(|t| t.weight).collect();
    assert_eq!(w, vec![0, -20, 10]);
    let names: Vec<&str> = m.edge.track.iter().map(IfName::as_str).collect();
    assert_eq!(names, vec!["eth1", "eth2", "eth3"]);
}

#[test]
fn garp_effective_values() {
    // Defaults: keepalived's 5 s / 5 / off / 1.
    let m = map(&inst(""));
    assert_eq!(m.machine.garp, GarpConfig::default());
    assert_eq!(m.edge.garp_interval, Duration::ZERO);
    // global_defs sets, the instance overrides one.
    let m = map(&format!(
        "global_defs {{\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n \
             vrrp_garp_master_refresh 60\n vrrp_garp_interval 0.01\n vrrp_gna_interval 0.02\n}}\n{}",
        inst("garp_master_repeat 7")
    ));
    assert_eq!(m.machine.garp.master_delay, Duration::from_secs(2));
    assert_eq!(m.machine.garp.master_repeat, 7);
    assert_eq!(m.machine.garp.master_refresh, Duration::from_secs(60));
    assert_eq!(m.machine.garp.master_refresh_repeat, 1);
    assert_eq!(m.edge.garp_interval, Duration::from_millis(10));
    assert_eq!(m.edge.gna_interval, Duration::from_millis(20));
}

#[test]
fn unicast_source_and_peers() {
    let m = map(&inst(
        "unicast_src_ip 10.9.0.5\n unicast_peer {\n 10.9.0.6\n 10.9.0.7\n }",
    ));
    let src: IpAddr = "10.9.0.5".parse().unwrap();
    assert_eq!(m.machine.primary_ip, src);
    assert_eq!(m.edge.src, src);
    assert_eq!(m.filter.own_addrs, vec![PRIMARY, src]);
    assert_eq!(m.edge.unicast_peers.len(), 2);
    assert_eq!(m.filter.unicast_peers, m.edge.unicast_peers);
}

#[test]
fn ipv6_v3_uses_group6() {
    let text = "global_defs {\n vrrp_version 3\n}\nvrrp_instance V6 {\n interface eth0\n \
                    virtual_router_id 52\n priority 100\n virtual_ipaddress {\n fd00::200/64\n }\n}\n";
    let (i, g) = one(text);
    let ll: IpAddr = "fe80::1".parse().unwrap();
    let m = from_config(&i, &g, ll).expect("maps");
    assert_eq!(m.edge.family, Family::V6);
    assert_eq!(m.edge.mcast_group, "ff02::12".parse::<IpAddr>().unwrap());
    // An IPv4 primary for an IPv6 instance is refused.
    assert!(matches!(
        from_config(&i, &g, PRIMARY),
        Err(FromConfigError::PrimaryFamily { .. })
    ));
}

#[test]
fn unicast_ttl_and_dont_track_primary() {
    let peers = " unicast_peer {\n 10.9.0.2\n }";
    let m = map(&inst(&format!(
        "{peers}\n unicast_ttl 5\n dont_track_primary"
    )));
    assert_eq!(m.edge.ttl, 5);
    assert!(m.filter.any_ttl, "adverts of any TTL from the peers");
    assert!(!m.machine.track_primary);
    let m = map(&inst(peers));
    assert_eq!(m.edge.ttl, 255);
    assert!(!m.filter.any_ttl);
    assert!(m.machine.track_primary);
}

#[test]
fn an_instance_without_addresses_maps_in_its_unicast_family() {
    let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n}\n";
    let m = map(text);
    assert!(m.filter.vips.is_empty() && m.edge.vips.is_empty());
    assert_eq!(m.edge.family, Family::V4);
    let v6 = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n version 3\n \
              unicast_peer {\n  fe80::2\n }\n}\n";
    let (i, g) = one(v6);
    let m = from_config(&i, &g, "fe80::1".parse().unwrap()).expect("maps");
    assert_eq!(m.edge.family, Family::V6);
}
