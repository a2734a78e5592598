use super::*;
use crate::config::bounds::IfName;
use crate::config::model::ApplianceInterface;

fn a(s: &str) -> IfAddr {
    let (addr, prefix) = s.split_once('/').expect("ADDR/PREFIX");
    IfAddr {
        addr: addr.parse().expect("address"),
        prefix: prefix.parse().expect("prefix"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn route(dest: &str, via: &str) -> Route {
    let dest = if dest == "default" { "0.0.0.0/0" } else { dest };
    Route {
        dest: a(dest),
        via: ip(via),
    }
}

fn nic(name: &str, addrs: &[&str], routes: &[Route]) -> ApplianceInterface {
    ApplianceInterface {
        name: IfName::new(name).expect("name"),
        addresses: addrs.iter().map(|s| a(s)).collect(),
        mtu: None,
        routes: routes.to_vec(),
        arp_ignore: None,
        arp_announce: None,
    }
}

/// The two-NIC box: eth0 outside with the default route, eth1 inside.
fn block() -> Appliance {
    Appliance {
        hostname: Some("lb1".into()),
        interfaces: vec![
            nic(
                "eth0",
                &["192.168.1.10/24"],
                &[route("default", "192.168.1.1")],
            ),
            nic(
                "eth1",
                &["10.0.0.10/24"],
                &[route("10.8.0.0/16", "10.0.0.1")],
            ),
        ],
        ..Appliance::default()
    }
}

const VIP: &str = "192.168.1.100";

/// A box just booted: both links down, a kernel link-local each.
fn booted() -> Actual {
    let link = |index, name: &str| LinkState {
        index,
        name: name.into(),
        mtu: Some(1500),
        admin_up: false,
    };
    Actual {
        hostname: Some("buildroot".into()),
        links: vec![link(2, "eth0"), link(3, "eth1")],
        addresses: vec![
            AddrState {
                index: 2,
                addr: a("fe80::1/64"),
            },
            AddrState {
                index: 3,
                addr: a("fe80::2/64"),
            },
        ],
        ..Actual::default()
    }
}

/// What the kernel would do with the ops (replace semantics for routes;
/// an address brings its kernel subnet route, as the kernel does).
fn run(k: &mut Actual, ops: &[Op]) {
    for op in ops {
        match op {
            Op::WriteSysctl { key, value } => {
                k.sysctls.insert(key.clone(), value.clone());
            }
            Op::SetMtu { index, mtu, .. } => {
                k.links.iter_mut().find(|l| l.index == *index).unwrap().mtu = Some(*mtu)
            }
            Op::LinkUp { index, .. } => {
                k.links
                    .iter_mut()
                    .find(|l| l.index == *index)
                    .unwrap()
                    .admin_up = true
            }
            Op::AddAddress { index, addr, .. } => k.addresses.push(AddrState {
                index: *index,
                addr: *addr,
            }),
            Op::RemoveAddress { index, addr, .. } => k
                .addresses
                .retain(|x| !(x.index == *index && x.addr == *addr)),
            Op::AddRoute { index, route, .. } | Op::ChangeRoute { index, route, .. } => {
                k.routes
                    .retain(|r| !(r.dest == route.dest && r.protocol != RTPROT_KERNEL));
                k.routes.push(RouteState {
                    dest: route.dest,
                    via: Some(route.via),
                    oif: Some(*index),
                    protocol: RTPROT_VIGIL,
                });
            }
            Op::RemoveRoute { route } => k.routes.retain(|r| r != route),
            Op::SetHostname { name } => k.hostname = Some(name.clone()),
        }
    }
}

fn plan_for(block: &Appliance, previous: Option<&Appliance>, k: &Actual) -> Plan {
    let vips = [ip(VIP)];
    plan(
        &Desired {
            block,
            previous,
            vips: &vips,
        },
        k,
    )
}

/// Plans, runs, and checks that a second plan has nothing left to do.
fn converge(block: &Appliance, previous: Option<&Appliance>, k: &mut Actual) -> Vec<Op> {
    let p = plan_for(block, previous, k);
    run(k, &p.ops);
    let again = plan_for(block, previous, k);
    assert_eq!(again.ops, [], "a second pass must do nothing");
    p.ops
}

fn kernel_route(dest: &str, oif: u32) -> RouteState {
    RouteState {
        dest: a(dest),
        via: None,
        oif: Some(oif),
        protocol: RTPROT_KERNEL,
    }
}

#[test]
fn a_booted_box_gets_everything_in_order_and_twice_is_nothing() {
    let mut k = booted();
    let ops = converge(&block(), None, &mut k);
    let sysctl = |key: &str, value: &str| Op::WriteSysctl {
        key: key.into(),
        value: value.into(),
    };
    let addr = |interface: &str, index, s| Op::AddAddress {
        interface: interface.into(),
        index,
        addr: a(s),
    };
    let put = |interface: &str, index, r| Op::AddRoute {
        interface: interface.into(),
        index,
        route: r,
    };
    assert_eq!(
        ops,
        [
            sysctl("net/ipv4/conf/eth0/promote_secondaries", "1"),
            sysctl("net/ipv4/conf/eth1/promote_secondaries", "1"),
            sysctl("net/ipv4/ip_forward", "1"),
            Op::LinkUp {
                interface: "eth0".into(),
                index: 2
            },
            Op::LinkUp {
                interface: "eth1".into(),
                index: 3
            },
            addr("eth0", 2, "192.168.1.10/24"),
            addr("eth1", 3, "10.0.0.10/24"),
            put("eth0", 2, route("default", "192.168.1.1")),
            put("eth1", 3, route("10.8.0.0/16", "10.0.0.1")),
            Op::SetHostname { name: "lb1".into() },
        ]
    );
}

#[test]
fn a_live_change_of_eth1_moves_its_address_and_route_and_nothing_else() {
    let old = block();
    let mut k = booted();
    converge(&old, None, &mut k);
    // What vigil does not own, on the same links.
    let vip = AddrState {
        index: 2,
        addr: a(&format!("{VIP}/32")),
    };
    let by_hand = AddrState {
        index: 3,
        addr: a("10.0.0.99/24"),
    };
    let kernel = kernel_route("10.0.0.0/24", 3);
    let foreign = RouteState {
        dest: a("172.16.0.0/12"),
        via: Some(ip("10.0.0.254")),
        oif: Some(3),
        protocol: 4, // static: `ip route add` by an operator
    };
    k.addresses.extend([vip, by_hand]);
    k.routes.extend([kernel, foreign]);

    let mut new = block();
    new.interfaces[1] = nic(
        "eth1",
        &["10.1.0.10/24"],
        &[route("10.8.0.0/16", "10.1.0.1")],
    );
    let ops = converge(&new, Some(&old), &mut k);
    let was = RouteState {
        dest: a("10.8.0.0/16"),
        via: Some(ip("10.0.0.1")),
        oif: Some(3),
        protocol: RTPROT_VIGIL,
    };
    assert_eq!(
        ops,
        [
            Op::AddAddress {
                interface: "eth1".into(),
                index: 3,
                addr: a("10.1.0.10/24")
            },
            Op::ChangeRoute {
                interface: "eth1".into(),
                index: 3,
                route: route("10.8.0.0/16", "10.1.0.1"),
                was
            },
            Op::RemoveAddress {
                interface: "eth1".into(),
                index: 3,
                addr: a("10.0.0.10/24")
            },
        ]
    );
    for untouched in [vip, by_hand] {
        assert!(k.addresses.contains(&untouched), "{untouched:?} must stay");
    }
    assert!(k.routes.contains(&kernel) && k.routes.contains(&foreign));
    assert!(k.addresses.iter().any(|x| x.addr == a("fe80::2/64")));
}

#[test]
fn only_the_previous_blocks_addresses_are_removed() {
    let old = block();
    let mut k = booted();
    converge(&old, None, &mut k);
    k.addresses.push(AddrState {
        index: 2,
        addr: a("192.168.1.20/24"),
    });
    let mut new = block();
    new.interfaces[0].addresses = vec![a("192.168.1.11/24")];
    let ops = converge(&new, Some(&old), &mut k);
    let removed: Vec<_> = ops
        .iter()
        .filter_map(|o| match o {
            Op::RemoveAddress { addr, .. } => Some(*addr),
            _ => None,
        })
        .collect();
    assert_eq!(removed, [a("192.168.1.10/24")]);
    assert!(k.addresses.iter().any(|x| x.addr == a("192.168.1.20/24")));
}

#[test]
fn without_a_previous_block_nothing_is_removed() {
    let mut k = booted();
    k.addresses.push(AddrState {
        index: 3,
        addr: a("10.9.9.9/24"),
    });
    let ops = converge(&block(), None, &mut k);
    assert!(!ops.iter().any(|o| matches!(o, Op::RemoveAddress { .. })));
}

#[test]
fn vips_and_link_locals_stay_even_when_a_block_named_them() {
    let mut old = block();
    old.interfaces[0].addresses.extend([
        a(&format!("{VIP}/24")),
        a("fe80::1/64"),
        a("169.254.1.1/16"),
    ]);
    let mut k = booted();
    converge(&old, None, &mut k);
    let before = k.addresses.clone();
    let new = block();
    let ops = converge(&new, Some(&old), &mut k);
    assert_eq!(ops, []);
    assert_eq!(k.addresses, before);
}

#[test]
fn a_new_prefix_removes_the_old_form_before_adding() {
    let old = block();
    let mut k = booted();
    converge(&old, None, &mut k);
    let mut new = block();
    new.interfaces[1].addresses = vec![a("10.0.0.10/16")];
    let ops = converge(&new, Some(&old), &mut k);
    assert_eq!(
        ops,
        [
            Op::RemoveAddress {
                interface: "eth1".into(),
                index: 3,
                addr: a("10.0.0.10/24")
            },
            Op::AddAddress {
                interface: "eth1".into(),
                index: 3,
                addr: a("10.0.0.10/16")
            },
        ]
    );
}

#[test]
fn vigils_routes_are_known_by_protocol_and_removed_when_unnamed() {
    let mut k = booted();
    converge(&block(), None, &mut k);
    // A route vigil added before a restart (its protocol says so) and one
    // of someone else's: only the first is vigil's to remove.
    let stale = RouteState {
        dest: a("10.99.0.0/16"),
        via: Some(ip("10.0.0.1")),
        oif: Some(3),
        protocol: RTPROT_VIGIL,
    };
    let boot = RouteState {
        protocol: 3,
        dest: a("10.98.0.0/16"),
        ..stale
    };
    k.routes.extend([stale, boot]);
    let mut new = block();
    new.interfaces[1].routes.clear();
    let ops = converge(&new, None, &mut k);
    let removed: Vec<_> = ops
        .iter()
        .filter_map(|o| match o {
            Op::RemoveRoute { route } => Some(route.dest),
            _ => None,
        })
        .collect();
    assert_eq!(removed, [a("10.8.0.0/16"), a("10.99.0.0/16")]);
    assert!(k.routes.contains(&boot));
}

#[test]
fn a_route_of_another_protocol_to_the_same_destination_is_taken_over() {
    let mut k = booted();
    k.routes.push(RouteState {
        dest: a("0.0.0.0/0"),
        via: Some(ip("192.168.1.254")),
        oif: Some(2),
        protocol: 3,
    });
    let ops = converge(&block(), None, &mut k);
    assert!(ops.contains(&Op::AddRoute {
        interface: "eth0".into(),
        index: 2,
        route: route("default", "192.168.1.1")
    }));
    let default: Vec<_> = k.routes.iter().filter(|r| r.dest.prefix == 0).collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0].protocol, RTPROT_VIGIL);
}

#[test]
fn a_kernel_route_is_never_replaced() {
    let mut k = booted();
    let kernel = kernel_route("10.8.0.0/16", 3);
    k.routes.push(kernel);
    let p = plan_for(&block(), None, &k);
    assert!(p.refused.contains(&Refusal::KernelRoute {
        interface: "eth1".into(),
        route: route("10.8.0.0/16", "10.0.0.1")
    }));
    assert!(!p
        .ops
        .iter()
        .any(|o| matches!(o, Op::AddRoute { route, .. } if route.dest == kernel.dest)));
}

#[test]
fn a_missing_nic_is_refused_and_the_rest_applies() {
    let mut k = booted();
    k.links.retain(|l| l.name != "eth1");
    // vigil's route there from before (the NIC went away with it? not
    // always: keep it until the NIC is back).
    k.routes.push(RouteState {
        dest: a("10.8.0.0/16"),
        via: Some(ip("10.0.0.1")),
        oif: Some(3),
        protocol: RTPROT_VIGIL,
    });
    let p = plan_for(&block(), None, &k);
    assert_eq!(
        p.refused,
        [Refusal::NoSuchInterface {
            interface: "eth1".into()
        }]
    );
    let touches_eth1 = |o: &Op| format!("{o:?}").contains("eth1");
    assert!(!p.ops.iter().any(touches_eth1), "{:?}", p.ops);
    assert!(!p.ops.iter().any(|o| matches!(o, Op::RemoveRoute { .. })));
    assert!(p.ops.contains(&Op::SetHostname { name: "lb1".into() }));
    assert!(p
        .ops
        .iter()
        .any(|o| matches!(o, Op::AddAddress { index: 2, .. })));
}

#[test]
fn mtu_arp_and_forwarding_are_written_only_when_they_differ() {
    let mut b = block();
    b.ip_forward = false;
    b.interfaces[0].mtu = Some(9000);
    b.interfaces[0].arp_ignore = Some(1);
    b.interfaces[0].arp_announce = Some(2);
    let mut k = booted();
    k.sysctls
        .insert("net/ipv4/conf/eth0/arp_ignore".into(), "1".into());
    let ops = converge(&b, None, &mut k);
    assert!(ops.contains(&Op::SetMtu {
        interface: "eth0".into(),
        index: 2,
        mtu: 9000
    }));
    let written: Vec<_> = ops
        .iter()
        .filter_map(|o| match o {
            Op::WriteSysctl { key, value } => Some(format!("{key}={value}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        written,
        [
            "net/ipv4/conf/eth0/promote_secondaries=1",
            "net/ipv4/conf/eth0/arp_announce=2",
            "net/ipv4/conf/eth1/promote_secondaries=1",
            "net/ipv4/ip_forward=0",
        ]
    );
}

#[test]
fn an_interface_dropped_from_the_block_loses_vigils_addresses_only() {
    let old = block();
    let mut k = booted();
    converge(&old, None, &mut k);
    let mut new = block();
    new.interfaces.truncate(1);
    let ops = converge(&new, Some(&old), &mut k);
    assert!(ops.contains(&Op::RemoveAddress {
        interface: "eth1".into(),
        index: 3,
        addr: a("10.0.0.10/24")
    }));
    assert!(k
        .addresses
        .iter()
        .any(|x| x.index == 3 && x.addr == a("fe80::2/64")));
    assert!(!k.sysctls.is_empty(), "sysctls stay as they were");
}

#[test]
fn an_unchanged_hostname_is_left_alone() {
    let mut k = booted();
    k.hostname = Some("lb1".into());
    let ops = converge(&block(), None, &mut k);
    assert!(!ops.iter().any(|o| matches!(o, Op::SetHostname { .. })));
}
