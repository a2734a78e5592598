//! Unit tests of `announce.rs`.

use super::*;
use crate::config::model::BgpDrain;

fn config() -> Config {
    let text = "bgp {
 local_as 65010
 router_id 10.0.0.1
 neighbor 10.0.0.254 {
  remote_as 65000
 }
}
virtual_server 192.0.2.1 80 {
 lvs_sched mh
 protocol TCP
 anycast
 real_server 10.1.0.1 80 {
 }
}
virtual_server 192.0.2.1 443 {
 lvs_sched mh
 protocol TCP
 anycast
 real_server 10.1.0.1 443 {
 }
}
virtual_server_group web {
 192.0.2.2 80
 192.0.2.2 8080
}
virtual_server group web {
 lvs_sched mh
 protocol TCP
 anycast 192.0.2.2
 real_server 10.1.0.2 80 {
 }
}
virtual_server 192.0.2.3 80 {
 protocol TCP
 real_server 10.1.0.3 80 {
 }
}
";
    crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()))
        .config
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn an_address_is_announced_when_every_service_of_it_serves() {
    let c = config();
    let t = targets(&c);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[&ip("192.0.2.1")].len(), 2);
    // A group's members each count.
    assert_eq!(t[&ip("192.0.2.2")].len(), 2);
    let all: Serving = t.values().flatten().copied().collect();
    let a = decide(&t, &all, None);
    assert_eq!(a.routes, [ip("192.0.2.1"), ip("192.0.2.2")].into());
    assert_eq!(a.prepend, 0);
    // Port 443 loses quorum: 192.0.2.1 goes, 192.0.2.2 stays.
    let mut less = all.clone();
    less.remove(&t[&ip("192.0.2.1")][1]);
    assert_eq!(decide(&t, &less, None).routes, [ip("192.0.2.2")].into());
    // One member of the group: the group's address goes.
    let mut less = all.clone();
    less.remove(&t[&ip("192.0.2.2")][0]);
    assert_eq!(decide(&t, &less, None).routes, [ip("192.0.2.1")].into());
    assert!(decide(&t, &Serving::new(), None).routes.is_empty());
}

#[test]
fn a_drain_withdraws_or_prepends() {
    let c = config();
    let t = targets(&c);
    let all: Serving = t.values().flatten().copied().collect();
    assert_eq!(
        decide(&t, &all, Some(BgpDrain::Withdraw)),
        Announce::default()
    );
    let a = decide(&t, &all, Some(BgpDrain::Prepend(3)));
    assert_eq!((a.routes.len(), a.prepend), (2, 3));
}
