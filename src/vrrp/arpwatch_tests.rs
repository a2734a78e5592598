//! Unit tests of `arpwatch.rs`: the theft judgement and the re-assert
//! bound, from frames built by the codec.

use super::*;
use crate::net::arp::{announcement, Frame, Operation};

const BOX: Mac = [0x52, 0x54, 0, 0, 0, 1];
const THIEF: Mac = [0x52, 0x54, 0, 0, 0, 0x67];
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
const OTHER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);

fn guard() -> Guard {
    Guard {
        vips: vec![VIP, Ipv4Addr::new(192, 168, 1, 201)],
        own: vec![BOX, virtual_mac(51)],
    }
}

fn reply(from: Mac, sender_ip: Ipv4Addr) -> Frame {
    let mut f = Frame::request(from, sender_ip, OTHER_IP);
    f.dst = BOX;
    f.arp.op = Operation::Reply;
    f.arp.target_mac = BOX;
    f
}

#[test]
fn virtual_mac_is_rfc5798() {
    assert_eq!(virtual_mac(51), [0, 0, 0x5e, 0, 1, 51]);
}

#[test]
fn a_gratuitous_request_from_another_mac_is_theft() {
    let t = theft(&announcement(THIEF, VIP), &guard());
    assert_eq!(
        t,
        Some(Theft {
            vip: VIP,
            mac: THIEF
        })
    );
}

#[test]
fn a_reply_and_an_unsolicited_reply_from_another_mac_are_theft() {
    assert_eq!(
        theft(&reply(THIEF, VIP), &guard()),
        Some(Theft {
            vip: VIP,
            mac: THIEF
        })
    );
    let mut unsolicited = announcement(THIEF, VIP);
    unsolicited.arp.op = Operation::Reply;
    assert_eq!(
        theft(&unsolicited, &guard()),
        Some(Theft {
            vip: VIP,
            mac: THIEF
        })
    );
}

#[test]
fn our_own_macs_are_no_theft() {
    assert_eq!(theft(&announcement(BOX, VIP), &guard()), None);
    assert_eq!(theft(&announcement(virtual_mac(51), VIP), &guard()), None);
    assert_eq!(theft(&reply(BOX, VIP), &guard()), None);
}

#[test]
fn another_address_or_a_plain_request_is_no_theft() {
    assert_eq!(theft(&announcement(THIEF, OTHER_IP), &guard()), None);
    assert_eq!(theft(&reply(THIEF, OTHER_IP), &guard()), None);
    // A who-has from a box holding the VIP on lo: reported by the doctor.
    assert_eq!(theft(&Frame::request(THIEF, VIP, OTHER_IP), &guard()), None);
    // An RFC 5227 probe for the VIP (sender 0.0.0.0).
    assert_eq!(
        theft(&Frame::request(THIEF, Ipv4Addr::UNSPECIFIED, VIP), &guard()),
        None
    );
}

#[test]
fn a_forged_sender_mac_is_caught_by_the_ethernet_source() {
    let mut f = announcement(THIEF, VIP);
    f.arp.sender_mac = BOX;
    assert_eq!(
        theft(&f, &guard()),
        Some(Theft {
            vip: VIP,
            mac: THIEF
        })
    );
}

#[test]
fn no_vips_guard_nothing() {
    let g = Guard {
        vips: vec![],
        own: vec![BOX],
    };
    assert_eq!(theft(&announcement(THIEF, VIP), &g), None);
}

#[test]
fn reassert_at_most_once_a_second_per_vip() {
    let t0 = Instant::now();
    let other = Ipv4Addr::new(192, 168, 1, 201);
    let mut r = Reassert::default();
    assert!(r.due(VIP, t0));
    assert!(!r.due(VIP, t0 + Duration::from_millis(999)));
    assert!(r.due(other, t0 + Duration::from_millis(10)), "per VIP");
    assert!(r.due(VIP, t0 + REASSERT_GAP));
    assert!(!r.due(VIP, t0 + Duration::from_millis(1500)));
    assert!(r.due(VIP, t0 + Duration::from_millis(2000)));
    r.clear();
    assert!(r.due(VIP, t0 + Duration::from_millis(2001)), "cleared");
}

#[test]
fn a_storm_of_thefts_reasserts_once_a_second() {
    // 10 s of a fight, a stolen frame every 10 ms: 10 re-asserts.
    let t0 = Instant::now();
    let mut r = Reassert::default();
    let n = (0..1000)
        .filter(|i| r.due(VIP, t0 + Duration::from_millis(i * 10)))
        .count();
    assert_eq!(n, 10);
}
