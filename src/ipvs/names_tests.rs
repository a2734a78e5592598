use std::net::IpAddr;

use super::Names;
use crate::ipvs::desired;

fn config(text: &str) -> crate::config::model::Config {
    match crate::config::import_str("t.conf", text, false) {
        Ok(i) => i.config,
        Err(e) => panic!("config: {e:?}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn a_key_without_protocol_names_the_real_server_of_every_service_with_that_key() {
    let c = config(
        "virtual_server 10.0.0.1 53 { protocol UDP\n real_server 10.1.0.1 53 { } }\n\
         virtual_server 10.0.0.1 53 { protocol TCP\n real_server 10.1.0.1 53 { }\n real_server 10.1.0.2 53 { } }\n",
    );
    let n = Names::new(&c);
    let key = c.virtual_servers[0].key;
    let got = n.reals_of(&c, key, (ip("10.1.0.1"), Some(53)));
    let want: Vec<_> = c
        .virtual_servers
        .iter()
        .map(|vs| desired::real_id(vs, &vs.real_servers[0]))
        .collect();
    assert_eq!(got, want);
    assert!(n.reals_of(&c, key, (ip("10.1.0.3"), Some(53))).is_empty());
}

#[test]
fn a_groups_first_service_names_the_real_server_in_every_member() {
    let c = config(
        "virtual_server_group web { 10.0.0.1 80\n 10.0.0.2 80\n 10.0.0.3 80 }\n\
         virtual_server group web { protocol TCP\n real_server 10.1.0.1 80 { } }\n",
    )
    .with_services_expanded();
    assert_eq!(c.virtual_servers.len(), 3);
    let n = Names::new(&c);
    let first = c.virtual_servers[0].key;
    let got = n.reals_of(&c, first, (ip("10.1.0.1"), Some(80)));
    assert_eq!(got.len(), 3);
    let services: Vec<_> = got.iter().map(|r| r.service).collect();
    let want: Vec<_> = c.virtual_servers.iter().map(desired::service_id).collect();
    assert_eq!(services, want);
}

#[test]
fn a_dest_finds_the_first_real_server_the_kernel_knows_by_it() {
    let c = config(
        "virtual_server 10.0.0.1 80 { lb_kind DR\n protocol TCP\n\
         real_server 10.1.0.1 80 { weight 3 }\n real_server 10.1.0.2 80 { } }\n",
    );
    let n = Names::new(&c);
    let vs = &c.virtual_servers[0];
    for rs in &vs.real_servers {
        let got = n.real_server(vs, 0, desired::dest_id(vs, rs));
        assert_eq!(got.map(|r| r.addr), Some(rs.addr));
    }
    let absent = crate::ipvs::wire::DestId {
        addr: ip("10.1.0.9"),
        port: 80,
    };
    assert!(n.real_server(vs, 0, absent).is_none());
    assert!(n.real_server(vs, 7, absent).is_none());
}

#[test]
fn of_two_real_servers_on_one_dest_the_first_is_found() {
    // The import refuses two servers the kernel would know as one
    // (`SameDestination`); a model put together another way may hold
    // them: DR sends to the service's port, so both are 10.1.0.1:80.
    let mut c = config(
        "virtual_server 10.0.0.1 80 { lvs_method DR\n protocol TCP\n\
         real_server 10.1.0.1 8080 { weight 5 } }\n",
    );
    let mut second = c.virtual_servers[0].real_servers[0].clone();
    (second.port, second.weight) = (Some(80), 3);
    c.virtual_servers[0].real_servers.push(second);
    let n = Names::new(&c);
    let vs = &c.virtual_servers[0];
    let dest = desired::dest_id(vs, &vs.real_servers[1]);
    assert_eq!(dest, desired::dest_id(vs, &vs.real_servers[0]));
    assert_eq!(n.real_server(vs, 0, dest).map(|r| r.weight), Some(5));
}

/// The indexes key an address by its number and family: an IPv6 address
/// whose number is an IPv4 address's, and a server without a port beside
/// one with, are each found as themselves.
#[test]
fn an_address_is_told_apart_by_family_and_port() {
    let mut c = config(
        "virtual_server 10.0.0.1 80 { lvs_method NAT\n protocol TCP\n\
         real_server 10.1.0.1 80 { weight 2 }\n real_server 10.1.0.1 81 { weight 4 } }\n",
    );
    // The import keeps a service's real servers in its family and gives
    // each a port; a model put together another way may hold these.
    let first = c.virtual_servers[0].real_servers[0].clone();
    let mut v6 = first.clone();
    (v6.addr, v6.weight) = (ip("::a01:1"), 3);
    let mut portless = first;
    (portless.addr, portless.port, portless.weight) = (ip("10.1.0.2"), None, 5);
    c.virtual_servers[0].real_servers.extend([v6, portless]);
    let n = Names::new(&c);
    let key = c.virtual_servers[0].key;
    let vs = &c.virtual_servers[0];
    for (j, rs) in vs.real_servers.iter().enumerate() {
        let want = vec![desired::real_id(vs, rs)];
        assert_eq!(n.reals_of(&c, key, (rs.addr, rs.port)), want, "server {j}");
        let found = n.real_server(vs, 0, desired::dest_id(vs, rs));
        assert_eq!(found.map(|r| r.weight), Some(rs.weight), "server {j}");
    }
    assert!(n.reals_of(&c, key, (ip("10.1.0.2"), Some(0))).is_empty());
    assert!(n.reals_of(&c, key, (ip("::a01:2"), None)).is_empty());
}

/// Where every real server's dest is its address and port as named (the
/// usual config), the dest index is not held twice: the servers' own
/// index answers, and of two servers named alike the first is found, as
/// with a dest index of its own.
#[test]
fn servers_named_as_the_kernel_knows_them_share_one_index() {
    let mut c = config(
        "virtual_server 10.0.0.1 80 { lvs_method NAT\n protocol TCP\n\
         real_server 10.1.0.2 80 { weight 2 }\n real_server 10.1.0.1 8080 { weight 5 } }\n\
         virtual_server 10.0.0.2 80 { lvs_method DR\n protocol TCP\n\
         real_server 10.1.0.1 8080 { weight 7 } }\n",
    );
    let mut twin = c.virtual_servers[0].real_servers[1].clone();
    twin.weight = 3;
    c.virtual_servers[0].real_servers.push(twin);
    let n = Names::new(&c);
    assert!(n.dests[0].is_empty(), "NAT keeps each port: one index");
    assert_eq!(
        n.dests[1].len(),
        1,
        "DR sends to the service's port: its own"
    );
    let (nat, dr) = (&c.virtual_servers[0], &c.virtual_servers[1]);
    let weight = |vs, i, addr, port| {
        let dest = crate::ipvs::wire::DestId {
            addr: ip(addr),
            port,
        };
        n.real_server(vs, i, dest).map(|r| r.weight)
    };
    assert_eq!(weight(nat, 0, "10.1.0.2", 80), Some(2));
    assert_eq!(
        weight(nat, 0, "10.1.0.1", 8080),
        Some(5),
        "the first of two"
    );
    assert_eq!(weight(nat, 0, "10.1.0.1", 80), None);
    assert_eq!(weight(nat, 0, "10.1.0.3", 80), None, "past the last entry");
    assert_eq!(weight(nat, 0, "10.1.0.0", 80), None, "before the first");
    assert_eq!(weight(dr, 1, "10.1.0.1", 80), Some(7));
    assert_eq!(weight(dr, 1, "10.1.0.1", 8080), None);
}
