use super::*;
use crate::config::bounds::Millis;
use crate::config::model::{CheckKind, Checker, Scheduler};
use std::net::IpAddr;

fn checker() -> Checker {
    Checker {
        connect_timeout: Millis::secs(3),
        ..Checker::new(CheckKind::Tcp)
    }
}

fn rs(last: u8, weight: u32) -> RealServer {
    RealServer {
        weight,
        checkers: vec![checker()],
        ..RealServer::new(IpAddr::from([192, 168, 1, last]), Some(80))
    }
}

/// The seed's service: 192.168.1.200:80 TCP wrr DR, persistence 3600.
fn seed_vs() -> VirtualServer {
    let key = ServiceKey::Addr {
        addr: "192.168.1.200".parse().unwrap(),
        port: 80,
    };
    VirtualServer {
        scheduler: Scheduler::Wrr,
        method: Method::Dr,
        persistence_timeout: Some(3600),
        real_servers: vec![rs(102, 1), rs(103, 1)],
        ..VirtualServer::new(key)
    }
}

fn with(vs: VirtualServer) -> Config {
    Config {
        virtual_servers: vec![vs],
        ..Config::default()
    }
}

fn health(vs: &VirtualServer, states: &[(u8, Health)]) -> HealthMap {
    states
        .iter()
        .map(|(last, h)| {
            let r = vs
                .real_servers
                .iter()
                .find(|r| r.addr == IpAddr::from([192, 168, 1, *last]));
            (real_id(vs, r.expect("real server in test")), *h)
        })
        .collect()
}

/// `(last octet, weight)` of each destination.
fn weights(e: &Entry) -> Vec<(u8, u32)> {
    e.dests
        .values()
        .map(|d| match d.id.addr {
            IpAddr::V4(a) => (a.octets()[3], d.weight),
            IpAddr::V6(_) => (0, d.weight),
        })
        .collect()
}

#[test]
fn seed_service_and_dests() {
    let vs = seed_vs();
    let d = build(
        &with(vs.clone()),
        &HealthMap::new(),
        &BTreeSet::new(),
        &QuorumStates::new(),
    );
    let e = &d.table.services[&service_id(&vs)];
    assert_eq!(e.service.scheduler, "wrr");
    assert_eq!(e.service.flags, SVC_F_PERSISTENT);
    assert_eq!(e.service.timeout, 3600);
    assert_eq!(e.service.netmask, 0xffff_ffff);
    assert_eq!(weights(e), vec![(102, 1), (103, 1)]);
    assert!(e.dests.values().all(|d| d.fwd == FwdMethod::Route));
    assert!(d.changes.is_empty());
    assert!(d.quorum[&service_id(&vs)]);
}

#[test]
fn persistence_netmask_and_granularity() {
    let mut vs = seed_vs();
    vs.persistence_granularity = Some(24);
    assert_eq!(service(&vs).netmask, 0xffff_ff00);
    vs.persistence_timeout = None;
    let s = service(&vs);
    assert_eq!((s.flags, s.timeout, s.netmask), (0, 0, 0xffff_ffff));
    vs.persistence_timeout = Some(0);
    assert_eq!(service(&vs).flags, 0);
    vs.key = ServiceKey::Fwmark {
        mark: 5,
        ipv6: true,
    };
    vs.persistence_timeout = Some(300);
    vs.persistence_granularity = Some(64);
    let s = service(&vs);
    assert_eq!(
        s.id,
        ServiceId::Fwmark {
            af: Af::V6,
            mark: 5
        }
    );
    assert_eq!((s.flags, s.timeout, s.netmask), (SVC_F_PERSISTENT, 300, 64));
    vs.persistence_granularity = None;
    assert_eq!(service(&vs).netmask, 128);
}

#[test]
fn fwmark_real_server_without_port_gets_port_0() {
    let mut vs = seed_vs();
    vs.key = ServiceKey::Fwmark {
        mark: 1,
        ipv6: false,
    };
    vs.real_servers[0].port = None;
    assert_eq!(dest_id(&vs, &vs.real_servers[0]).port, 0);
}

#[test]
fn only_nat_keeps_a_real_servers_own_port() {
    // keepalived 2.2.7 in the lab: DR and TUN destinations listed with the
    // service's port (fwmark: 0), NAT ones with their own.
    let mut vs = seed_vs();
    vs.real_servers[0].port = Some(8080);
    vs.real_servers[1].port = Some(8081);
    vs.real_servers[1].method = Some(Method::Nat);
    assert_eq!(dest_id(&vs, &vs.real_servers[0]).port, 80);
    assert_eq!(dest_id(&vs, &vs.real_servers[1]).port, 8081);
    vs.real_servers[0].method = Some(Method::Tun);
    assert_eq!(dest_id(&vs, &vs.real_servers[0]).port, 80);
    // NAT without a port: 0, as keepalived sends it (the kernel forwards
    // to the port the client asked for).
    vs.real_servers[1].port = None;
    assert_eq!(dest_id(&vs, &vs.real_servers[1]).port, 0);
    vs.key = ServiceKey::Fwmark {
        mark: 1,
        ipv6: false,
    };
    assert_eq!(dest_id(&vs, &vs.real_servers[0]).port, 0);
    // The health map and the drain set key on the same port.
    let (e, _) = entry(&vs, &HealthMap::new(), None);
    let ports: Vec<u16> = e.dests.keys().map(|d| d.port).collect();
    assert_eq!(ports, vec![0, 0]);
}

#[test]
fn sorry_server_port_is_keepalived_s() {
    let mut vs = seed_vs();
    vs.quorum = 2;
    vs.real_servers[0].checkers.clear();
    vs.real_servers.truncate(1);
    vs.real_servers.push(rs(103, 1));
    let down = health(&vs, &[(103, Health::Down)]);
    let sorry_port = |vs: &VirtualServer| {
        let (e, up) = entry(vs, &down, None);
        assert!(!up);
        e.dests.keys().map(|d| d.port).collect::<Vec<_>>()
    };
    // DR: the service's port, whatever the config says.
    vs.sorry_server = Some(SorryServer {
        addr: "192.168.1.250".parse().unwrap(),
        port: Some(8080),
    });
    assert_eq!(sorry_port(&vs), vec![80]);
    // NAT: its own port, or 0 (the client's port) without one.
    vs.method = Method::Nat;
    assert_eq!(sorry_port(&vs), vec![8080]);
    vs.sorry_server = Some(SorryServer {
        addr: "192.168.1.250".parse().unwrap(),
        port: None,
    });
    assert_eq!(sorry_port(&vs), vec![0]);
}

#[test]
fn a_service_starts_down_below_quorum_plus_hysteresis() {
    // keepalived 2.2.7 in the lab: quorum 2, hysteresis 1, two servers of
    // weight 1 up: the sorry server is in, the real servers out.
    let mut vs = seed_vs();
    vs.quorum = 2;
    vs.hysteresis = 1;
    for r in &mut vs.real_servers {
        r.checkers.clear();
    }
    vs.sorry_server = Some(SorryServer {
        addr: "192.168.1.250".parse().unwrap(),
        port: None,
    });
    let d = build(
        &with(vs.clone()),
        &HealthMap::new(),
        &BTreeSet::new(),
        &QuorumStates::new(),
    );
    assert_eq!(weights(&d.table.services[&service_id(&vs)]), vec![(250, 1)]);
    assert!(!d.quorum[&service_id(&vs)]);
    // Once down, it stays down at 2 (it needs 3): no flap.
    let d2 = build(
        &with(vs.clone()),
        &HealthMap::new(),
        &BTreeSet::new(),
        &d.quorum,
    );
    assert!(!d2.quorum[&service_id(&vs)] && d2.changes.is_empty());
}

#[test]
fn failed_server_leaves_or_stays_at_zero_with_inhibit() {
    let mut vs = seed_vs();
    let h = health(&vs, &[(102, Health::Down)]);
    let (e, _) = entry(&vs, &h, None);
    assert_eq!(weights(&e), vec![(103, 1)]);
    vs.inhibit_on_failure = true;
    let (e, _) = entry(&vs, &h, None);
    assert_eq!(weights(&e), vec![(102, 0), (103, 1)]);
    // The real server's own setting wins, either way.
    vs.real_servers[0].inhibit_on_failure = Some(false);
    let (e, _) = entry(&vs, &h, None);
    assert_eq!(weights(&e), vec![(103, 1)]);
    vs.inhibit_on_failure = false;
    vs.real_servers[0].inhibit_on_failure = Some(true);
    let (e, _) = entry(&vs, &h, None);
    assert_eq!(weights(&e), vec![(102, 0), (103, 1)]);
    // An anycast service keeps every destination in its place, whatever
    // the real server says.
    vs.real_servers[0].inhibit_on_failure = Some(false);
    vs.anycast = Some("192.168.1.200".parse().unwrap());
    let (e, _) = entry(&vs, &h, None);
    assert_eq!(weights(&e), vec![(102, 0), (103, 1)]);
}

/// An anycast service's entry keeps its list in config order (added
/// first, so last in the kernel's list); any other service leaves the
/// order to the kernel.
#[test]
fn an_anycast_entry_keeps_config_order() {
    let mut vs = seed_vs();
    vs.real_servers = [104, 102, 103].iter().map(|n| rs(*n, 1)).collect();
    let (e, _) = entry(&vs, &HealthMap::new(), None);
    assert!(e.order.is_empty());
    vs.anycast = Some("192.168.1.200".parse().unwrap());
    let (e, _) = entry(&vs, &HealthMap::new(), None);
    let last: Vec<u8> = (e.order.iter())
        .map(|d| match d.addr {
            std::net::IpAddr::V4(a) => a.octets()[3],
            std::net::IpAddr::V6(_) => 0,
        })
        .collect();
    assert_eq!(last, [103, 102, 104]);
    assert!(e.order_known());
}

#[test]
fn alpha_starts_unchecked_servers_down() {
    let mut vs = seed_vs();
    vs.alpha = true;
    vs.quorum = 1;
    vs.real_servers[1].checkers.clear(); // no checker: always up
    let (e, _) = entry(&vs, &HealthMap::new(), None);
    assert_eq!(weights(&e), vec![(103, 1)]);
    let (e, _) = entry(&vs, &health(&vs, &[(102, Health::Up)]), None);
    assert_eq!(weights(&e), vec![(102, 1), (103, 1)]);
    vs.alpha = false;
    let (e, _) = entry(&vs, &HealthMap::new(), None);
    assert_eq!(weights(&e), vec![(102, 1), (103, 1)]);
}

#[test]
fn quorum_with_hysteresis_is_keepalived_s() {
    let mut vs = seed_vs();
    vs.real_servers = (101..=104).map(|n| rs(n, 1)).collect();
    vs.quorum = 3;
    vs.hysteresis = 1;
    // Up: stays up down to quorum - hysteresis = 2, goes down below.
    assert!(quorum_up(&vs, 2, Some(true)));
    assert!(!quorum_up(&vs, 1, Some(true)));
    // Down: needs quorum + hysteresis = 4 to come back.
    assert!(!quorum_up(&vs, 3, Some(false)));
    assert!(quorum_up(&vs, 4, Some(false)));
    // A first evaluation counts as "was down" (keepalived 2.2.7 starts
    // every service with quorum down).
    assert!(!quorum_up(&vs, 3, None));
    assert!(quorum_up(&vs, 4, None));
    // Nothing alive is always down, even at quorum 0.
    vs.quorum = 0;
    vs.hysteresis = 0;
    assert!(!quorum_up(&vs, 0, Some(true)));
    assert!(!quorum_up(&vs, 0, Some(false)));
}

#[test]
fn quorum_changes_are_reported_once() {
    let mut vs = seed_vs();
    vs.quorum = 2;
    let c = with(vs.clone());
    let id = service_id(&vs);
    let down = health(&vs, &[(102, Health::Down)]);
    let d1 = build(&c, &down, &BTreeSet::new(), &QuorumStates::new());
    assert_eq!(
        d1.changes,
        vec![QuorumChange {
            service: id,
            up: false
        }]
    );
    let d2 = build(&c, &down, &BTreeSet::new(), &d1.quorum);
    assert!(d2.changes.is_empty());
    let d3 = build(&c, &HealthMap::new(), &BTreeSet::new(), &d2.quorum);
    assert_eq!(
        d3.changes,
        vec![QuorumChange {
            service: id,
            up: true
        }]
    );
}

#[test]
fn sorry_server_replaces_the_pool_while_down() {
    let mut vs = seed_vs();
    vs.quorum = 2;
    vs.sorry_server = Some(SorryServer {
        addr: "192.168.1.250".parse().unwrap(),
        port: None,
    });
    let down = health(&vs, &[(102, Health::Down)]);
    let (e, up) = entry(&vs, &down, None);
    assert!(!up);
    assert_eq!(weights(&e), vec![(250, 1)]);
    assert_eq!(e.dests.values().next().unwrap().id.port, 80);
    // With inhibit the real servers stay, at weight 0.
    vs.inhibit_on_failure = true;
    let (e, _) = entry(&vs, &down, None);
    assert_eq!(weights(&e), vec![(102, 0), (103, 0), (250, 1)]);
    // Up: the sorry server leaves, or stays at 0 with sorry_server_inhibit.
    vs.inhibit_on_failure = false;
    let (e, up) = entry(&vs, &HealthMap::new(), Some(false));
    assert!(up);
    assert_eq!(weights(&e), vec![(102, 1), (103, 1)]);
    vs.sorry_server_inhibit = true;
    let (e, _) = entry(&vs, &HealthMap::new(), Some(false));
    assert_eq!(weights(&e), vec![(102, 1), (103, 1), (250, 0)]);
}

#[test]
fn draining_holds_only_servers_the_config_lacks() {
    let vs = seed_vs();
    let old = with(vs.clone());
    let mut new_vs = vs.clone();
    new_vs.real_servers.truncate(1);
    let new = with(new_vs);
    let gone = removed_reals(&old, &new);
    assert_eq!(gone.len(), 1);
    let d = build(&new, &HealthMap::new(), &gone, &QuorumStates::new());
    assert_eq!(d.draining, gone);
    // Back in the config: no longer draining.
    let d = build(&old, &HealthMap::new(), &gone, &QuorumStates::new());
    assert!(d.draining.is_empty());
    assert_eq!(owned(&old), BTreeSet::from([service_id(&vs)]));
}

#[test]
fn a_service_of_every_port_is_the_kernels_port_0_service() {
    // `virtual_server 10.0.0.1 { persistence_timeout 300 ... }`, as
    // keepalived programs it: service port 0, DR destinations at 0 (the
    // service's), a NAT one without a port at 0 (the client's port).
    let text =
        "virtual_server 10.0.0.1 {\n protocol TCP\n lvs_method DR\n persistence_timeout 300\n\
                real_server 10.0.0.2 {\n }\n real_server 10.0.0.3 8080 {\n }\n\
                real_server 10.0.0.4 {\n  lvs_method NAT\n }\n}\n";
    let c = crate::config::import_str("t.conf", text, false)
        .expect("valid")
        .config;
    let vs = &c.virtual_servers[0];
    assert!(matches!(service_id(vs), ServiceId::Addr { port: 0, .. }));
    let ports: Vec<u16> = vs
        .real_servers
        .iter()
        .map(|rs| dest_id(vs, rs).port)
        .collect();
    assert_eq!(ports, [0, 0, 0]);
    let (e, up) = entry(vs, &HealthMap::new(), None);
    assert!(up);
    assert_eq!(e.dests.len(), 3);
    assert_eq!(e.service.flags & SVC_F_PERSISTENT, SVC_F_PERSISTENT);
}

#[test]
fn scheduler_flags_and_ops_are_the_kernels_bits() {
    use crate::config::model::ServiceFlags;
    use crate::ipvs::wire::{SVC_F_ONEPACKET, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3};
    // The kernel's values (include/uapi/linux/ip_vs.h).
    assert_eq!(
        (SVC_F_ONEPACKET, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3),
        (0x4, 0x8, 0x10, 0x20)
    );
    let mut vs = seed_vs();
    assert_eq!(service(&vs).flags, SVC_F_PERSISTENT, "no flag: none set");
    // sh-fallback + sh-port (flags 1 and 2) on a persistent sh service.
    vs.scheduler = Scheduler::Sh;
    vs.flags = ServiceFlags {
        sched: [true, true, false],
        ops: false,
    };
    let s = service(&vs);
    assert_eq!(s.flags, SVC_F_PERSISTENT | SVC_F_SCHED1 | SVC_F_SCHED2);
    assert_eq!(s.scheduler, "sh");
    // flag-3 and ops without persistence.
    vs.persistence_timeout = None;
    vs.flags = ServiceFlags {
        sched: [false, false, true],
        ops: true,
    };
    assert_eq!(service(&vs).flags, SVC_F_SCHED3 | SVC_F_ONEPACKET);
}
