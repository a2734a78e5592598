use super::*;

use std::net::{Ipv4Addr, Ipv6Addr};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 200));
const VIP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

#[test]
fn virtual_server_reads_the_same_from_the_config_and_the_kernel() {
    let key = ServiceKey::Addr {
        addr: VIP,
        port: 80,
    };
    let kernel = ServiceId::Addr {
        protocol: IPPROTO_TCP,
        addr: VIP,
        port: 80,
    };
    let from_config = VirtualServer::config(key, Protocol::Tcp).to_string();
    assert_eq!(from_config, "192.168.1.200:80/tcp");
    assert_eq!(VirtualServer::kernel(&kernel).to_string(), from_config);
}

#[test]
fn virtual_server_formats() {
    let v6 = ServiceKey::Addr {
        addr: VIP6,
        port: 443,
    };
    assert_eq!(
        VirtualServer::config(v6, Protocol::Udp).to_string(),
        "[2001:db8::1]:443/udp"
    );
    let sctp = ServiceKey::Addr { addr: VIP, port: 9 };
    assert_eq!(
        VirtualServer::config(sctp, Protocol::Sctp).to_string(),
        "192.168.1.200:9/sctp"
    );
    let odd = ServiceId::Addr {
        protocol: 99,
        addr: VIP,
        port: 1,
    };
    assert_eq!(
        VirtualServer::kernel(&odd).to_string(),
        "192.168.1.200:1/proto99"
    );
}

#[test]
fn fwmark_virtual_servers_name_the_mark_and_ipv6_only() {
    let v4 = ServiceKey::Fwmark {
        mark: 1,
        ipv6: false,
    };
    let v6 = ServiceKey::Fwmark {
        mark: 7,
        ipv6: true,
    };
    // The protocol means nothing to a fwmark service: it is left out.
    assert_eq!(
        VirtualServer::config(v4, Protocol::Udp).to_string(),
        "fwmark 1"
    );
    assert_eq!(
        VirtualServer::config(v6, Protocol::Tcp).to_string(),
        "fwmark 7/ipv6"
    );
    let kernel = ServiceId::Fwmark {
        af: Af::V4,
        mark: 1,
    };
    assert_eq!(VirtualServer::kernel(&kernel).to_string(), "fwmark 1");
}

#[test]
fn real_server_with_and_without_a_port() {
    let rs = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(
        RealServer::config(rs, Some(8080)).to_string(),
        "10.0.0.2:8080"
    );
    assert_eq!(RealServer::config(rs, None).to_string(), "10.0.0.2");
    assert_eq!(
        RealServer::config(VIP6, Some(80)).to_string(),
        "[2001:db8::1]:80"
    );
    // The kernel's port 0 (a fwmark destination) reads as "no port", as
    // the config wrote it.
    let d = DestId { addr: rs, port: 0 };
    assert_eq!(RealServer::kernel(&d), RealServer::config(rs, None));
    let d = DestId {
        addr: rs,
        port: 8080,
    };
    assert_eq!(RealServer::kernel(&d).to_string(), "10.0.0.2:8080");
}

#[test]
fn families() {
    assert_eq!(family(Family::V4), "ipv4");
    assert_eq!(family(Family::V6), "ipv6");
}
