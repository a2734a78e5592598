//! Unit tests of `mod.rs`: the address messages the daemon sends.

use super::*;
use crate::config::bounds::IfName;

fn broadcast(m: &AddressMessage) -> Vec<Ipv4Addr> {
    (m.attributes.iter())
        .filter_map(|a| match a {
            AddressAttribute::Broadcast(b) => Some(*b),
            _ => None,
        })
        .collect()
}

#[test]
fn a_vip_message_carries_its_label_brd_and_scope() {
    let mut vip = Vip::new("192.168.1.200".parse().unwrap(), 24);
    let m = Net::vip_msg(3, &vip);
    assert_eq!(m.header.index, 3);
    assert_eq!(m.header.prefix_len, 24);
    assert_eq!(m.header.scope, AddressScope::Universe);
    assert_eq!(
        broadcast(&m),
        ["192.168.1.255".parse::<Ipv4Addr>().unwrap()]
    );

    vip.brd = Some("192.168.1.127".parse().unwrap());
    vip.scope = Some(AddrScope::Link);
    vip.label = Some(IfName::new("eth0:vip").unwrap());
    let m = Net::vip_msg(3, &vip);
    assert_eq!(
        broadcast(&m),
        ["192.168.1.127".parse::<Ipv4Addr>().unwrap()],
        "one, brd's"
    );
    assert_eq!(m.header.scope, AddressScope::Link);
    assert!(m
        .attributes
        .contains(&AddressAttribute::Label("eth0:vip".into())));
    // no_track changes nothing in the message.
    vip.no_track = true;
    assert_eq!(Net::vip_msg(3, &vip), m);
}

#[test]
fn every_scope_is_the_kernels() {
    let want = [
        (AddrScope::Global, 0u8),
        (AddrScope::Site, 200),
        (AddrScope::Link, 253),
        (AddrScope::Host, 254),
        (AddrScope::Nowhere, 255),
    ];
    for (s, n) in want {
        assert_eq!(u8::from(address_scope(s)), n, "{s}");
    }
    let mut v6 = Vip::new("2001:db8::1".parse().unwrap(), 64);
    v6.scope = Some(AddrScope::Site);
    let m = Net::vip_msg(1, &v6);
    assert_eq!(m.header.scope, AddressScope::Site);
    assert!(broadcast(&m).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_call_past_its_bound_is_an_error_naming_it_and_the_interface() {
    let hang = std::future::pending::<Result<(), NetError>>();
    let e = bounded("address add", On::Index(3), hang)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        NetError::Timeout {
            op: "address add",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "netlink address add on interface index 3 timed out after 1500 ms"
    );
    let quick = async { Ok(7) };
    let on = On::Name("eth0".into());
    assert_eq!(
        bounded_by(Duration::from_millis(1), "link get", on, quick)
            .await
            .unwrap(),
        7
    );
}
