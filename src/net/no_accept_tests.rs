//! Unit tests of `no_accept.rs`: which VIPs and services the filter
//! holds, and the keys as the kernel's registers lay them out.

use super::*;
use std::net::Ipv4Addr;

fn config(text: &str) -> Config {
    crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()))
        .config
}

const TEXT: &str = "
vrrp_instance GUARDED {
    interface eth0
    virtual_router_id 51
    no_accept
    virtual_ipaddress {
        192.168.1.200
    }
    virtual_ipaddress_excluded {
        192.168.1.202
    }
}
vrrp_instance OPEN {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        192.168.1.201
    }
}
vrrp_instance OWNER {
    state MASTER
    interface eth0
    virtual_router_id 53
    priority 255
    no_accept
    virtual_ipaddress {
        192.168.1.203
    }
}
virtual_server 192.168.1.200 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
    }
}
virtual_server 192.168.1.202 0 {
    protocol UDP
    persistence_timeout 60
    lvs_method DR
    real_server 10.0.0.1 0 {
    }
}
virtual_server 192.168.1.201 443 {
    protocol TCP
    real_server 10.0.0.1 443 {
    }
}
virtual_server fwmark 7 {
    real_server 10.0.0.1 80 {
    }
}
";

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, last))
}

#[test]
fn a_guarded_vip_holds_its_services_only() {
    let f = Filter::of(&config(TEXT));
    assert_eq!(
        f.v4.vips,
        BTreeSet::from([v4(200), v4(202)]),
        "not OPEN's, not the owner's"
    );
    assert_eq!(f.v4.ports, BTreeSet::from([(v4(200), 6, 80)]));
    assert_eq!(f.v4.all_ports, BTreeSet::from([(v4(202), 17)]));
    assert_eq!(f.v4.marks, BTreeSet::from([7]));
    assert!(f.v6.vips.is_empty());
    let [(_, t4), (_, t6)] = f.tables();
    assert!(t6.is_none(), "no IPv6 VIP: no ip6 table");
    let t4 = t4.expect("ip table");
    let set = |name: &str| t4.sets.iter().find(|s| s.name == name).expect(name).clone();
    assert_eq!(
        set("ports").elements,
        vec![vec![192, 168, 1, 200, 6, 0, 0, 0, 0, 80, 0, 0]]
    );
    assert_eq!(set("ports").key_len, 12);
    assert_eq!(
        set("all_ports").elements,
        vec![vec![192, 168, 1, 202, 17, 0, 0, 0]]
    );
    assert_eq!(set("marks").elements, vec![7u32.to_ne_bytes().to_vec()]);
    assert_eq!(set("icmp_ok").elements, vec![vec![3], vec![11], vec![12]]);
    // Each chain ends in the drop of whatever else is to (from) a VIP.
    for c in &t4.chains {
        let last = c.rules.last().expect("rules");
        assert_eq!(
            last.last(),
            Some(&Expr::Verdict(Verdict::Drop)),
            "{}",
            c.name
        );
    }
    let marks_in = |c: &Chain| {
        c.rules
            .iter()
            .flatten()
            .any(|e| matches!(e, Expr::Lookup { set: "marks", .. }))
    };
    assert!(
        marks_in(&t4.chains[0]) && !marks_in(&t4.chains[1]),
        "marks only on input"
    );
}

#[test]
fn ipv6_keys_run_over_four_registers() {
    let text = "vrrp_instance V6 {\n interface eth0\n virtual_router_id 9\n version 3\n no_accept\n virtual_ipaddress {\n  2001:db8::9\n }\n}\nvirtual_server 2001:db8::9 443 {\n protocol TCP\n real_server 2001:db8::1 443 {\n }\n}\n";
    let f = Filter::of(&config(text));
    let [(_, t4), (_, t6)] = f.tables();
    assert!(t4.is_none());
    let t6 = t6.expect("ip6 table");
    let ports = t6.sets.iter().find(|s| s.name == "ports").unwrap();
    assert_eq!(ports.key_len, 24);
    let mut want: Vec<u8> = "2001:db8::9"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets()
        .to_vec();
    want.extend([6, 0, 0, 0, 1, 187, 0, 0]);
    assert_eq!(ports.elements, vec![want]);
    // The protocol is loaded into the register after the address's four.
    let proto = t6.chains[0].rules[0]
        .iter()
        .find_map(|e| match e {
            Expr::Meta {
                key: MetaKey::L4Proto,
                dreg,
            } => Some(*dreg),
            _ => None,
        })
        .unwrap();
    assert_eq!(proto, Reg(4));
}

#[test]
fn nothing_guarded_means_no_table_at_all() {
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.9\n }\n}\n";
    let f = Filter::of(&config(text));
    assert!(f.is_empty());
    assert!(f.tables().iter().all(|(_, t)| t.is_none()));
}
