//! Unit tests of `filter.rs`.

use std::net::Ipv4Addr;

use super::*;
use crate::vrrp::packet::{decode_ipv4, V2Repr};
use crate::vrrp::types::Priority;

fn seed_cfg() -> FilterConfig {
    FilterConfig {
        vrid: Vrid::new(51).expect("nonzero"),
        version: Version::V2,
        family: Family::V4,
        auth: Auth::simple(b"1111").expect("short"),
        advert_interval: Centiseconds(100),
        own_addrs: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 101))],
        unicast_peers: vec![],
        vips: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 200))],
        any_ttl: false,
        owner: false,
        strict: false,
    }
}

fn seed_rx() -> Received {
    decode_ipv4(&crate::vrrp::packet::tests::V2_SEED).expect("seed decodes")
}

fn with_v2(f: impl FnOnce(&mut V2Repr)) -> Received {
    let mut rx = seed_rx();
    if let Repr::V2(r) = &mut rx.repr {
        f(r);
    }
    rx
}

#[test]
fn seed_advert_is_accepted() {
    let acc = check(&seed_cfg(), &seed_rx()).expect("accepted");
    assert_eq!(acc.advert.priority, Priority(100));
    assert_eq!(acc.advert.interval, Centiseconds(100));
    assert!(!acc.address_list_mismatch);
}

/// One input per filter outcome that has a counter.
fn filter_cases() -> Vec<(Received, FilterConfig, DropReason)> {
    let cfg = seed_cfg();
    let mut cases = Vec::new();
    let rx = with_v2(|r| r.vrid = Vrid::new(52).expect("nonzero"));
    cases.push((rx, cfg.clone(), DropReason::UnknownVrid));
    let mut c = cfg.clone();
    c.version = Version::V3;
    cases.push((seed_rx(), c, DropReason::VersionMismatch));
    let mut c = cfg.clone();
    c.family = Family::V6;
    cases.push((seed_rx(), c, DropReason::FamilyMismatch));
    let rx = with_v2(|r| r.auth = Auth::simple(b"1112").expect("short"));
    cases.push((rx, cfg.clone(), DropReason::AuthMismatch));
    let rx = with_v2(|r| r.auth = Auth::None);
    cases.push((rx, cfg.clone(), DropReason::AuthMismatch));
    let rx = with_v2(|r| r.adver_int_secs = std::num::NonZeroU8::new(2).expect("nonzero"));
    cases.push((rx, cfg.clone(), DropReason::IntervalMismatch));
    let mut c = cfg.clone();
    c.own_addrs
        .push(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 100)));
    cases.push((seed_rx(), c, DropReason::OwnPacket));
    let mut c = cfg.clone();
    c.unicast_peers
        .push(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 99)));
    cases.push((seed_rx(), c, DropReason::UnknownUnicastPeer));
    // A routed unicast advert (TTL 62) for an instance without unicast_ttl.
    let mut rx = seed_rx();
    rx.ttl = 62;
    cases.push((rx, cfg.clone(), DropReason::TtlNot255));
    let mut c = cfg.clone();
    c.owner = true;
    cases.push((seed_rx(), c, DropReason::AddressOwner));
    let mut c = cfg;
    c.vips = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 201))];
    cases.push((seed_rx(), c.clone(), DropReason::AddressListMismatch));
    c.strict = true;
    cases.push((seed_rx(), c, DropReason::StrictAddressList));
    cases
}

#[test]
fn unicast_ttl_takes_adverts_of_any_ttl() {
    let mut rx = seed_rx();
    rx.ttl = 62;
    assert_eq!(
        check(&seed_cfg(), &rx).unwrap_err(),
        FilterDrop::TtlNot255 { ttl: 62 }
    );
    let cfg = FilterConfig {
        any_ttl: true,
        ..seed_cfg()
    };
    assert!(check(&cfg, &rx).is_ok());
    // The receive socket's decode keeps the TTL; the strict one refuses.
    let mut raw = crate::vrrp::packet::tests::V2_SEED.to_vec();
    raw[8] = 62;
    fix_ipv4_checksum(&mut raw);
    let any = crate::vrrp::packet::decode_ipv4_any_ttl(&raw).unwrap();
    assert_eq!(any.ttl, 62);
    assert!(check(&cfg, &any).is_ok());
    assert_eq!(
        crate::vrrp::packet::decode_ipv4(&raw).unwrap_err(),
        crate::vrrp::packet::DecodeError::TtlNot255 { ttl: 62 }
    );
}

/// Recomputes an IPv4 header's checksum after an edit.
fn fix_ipv4_checksum(raw: &mut [u8]) {
    raw[10..12].fill(0);
    let mut sum: u32 = raw[..20]
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    raw[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

#[test]
fn each_reason_bumps_its_own_counter() {
    let mut seen = Vec::new();
    // Codec errors, one per DecodeError variant.
    for (name, res) in crate::vrrp::packet::tests::error_cases() {
        let mut counters = DropCounters::default();
        let want = DropReason::from(res.as_ref().expect_err(name));
        assert_eq!(counters.account(&seed_cfg(), &res), None, "{name}");
        assert_eq!(counters.get(want), 1, "{name}");
        assert_eq!(counters.total(), 1, "{name}: only its own counter");
        seen.push(want);
    }
    // Filter drops, and the counted-but-accepted address list mismatch.
    for (rx, cfg, want) in filter_cases() {
        let mut counters = DropCounters::default();
        let out = counters.account(&cfg, &Ok(rx));
        assert_eq!(
            out.is_some(),
            want == DropReason::AddressListMismatch,
            "{want:?}"
        );
        assert_eq!(counters.get(want), 1, "{want:?}");
        assert_eq!(counters.total(), 1, "{want:?}: only its own counter");
        seen.push(want);
    }
    // An instance that has not finished its setup takes nothing.
    let mut counters = DropCounters::default();
    let cfg = seed_cfg();
    counters.count(&classify(&Ok(seed_rx()), [(cfg.vrid, None)]));
    assert_eq!(counters.get(DropReason::InstanceNotReady), 1);
    assert_eq!(counters.total(), 1);
    seen.push(DropReason::InstanceNotReady);
    for r in DropReason::ALL {
        assert!(seen.contains(r), "no test input reaches {r:?}");
    }
}

#[test]
fn reason_names_are_unique() {
    let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), DropReason::COUNT);
}

fn vrid(n: u8) -> Vrid {
    Vrid::new(n).expect("nonzero")
}

#[test]
fn classify_hands_an_advert_to_the_listener_of_its_vrid_only() {
    let ours = seed_cfg();
    let other = FilterConfig {
        vrid: vrid(52),
        ..seed_cfg()
    };
    let listeners = [(vrid(52), Some(&other)), (vrid(51), Some(&ours))];
    let d = classify(&Ok(seed_rx()), listeners).expect("delivered");
    assert_eq!(d.listener, 1);
    assert_eq!(d.accepted.advert.priority, Priority(100));
}

#[test]
fn classify_drops_junk_before_any_listener() {
    let ours = seed_cfg();
    let listeners = || [(vrid(51), Some(&ours))];
    // Undecodable: the codec's reason, whatever listens.
    for (name, res) in crate::vrrp::packet::tests::error_cases() {
        let want = DropReason::from(res.as_ref().expect_err(name));
        assert_eq!(classify(&res, listeners()), Err(want), "{name}");
    }
    // No listener of its VRID: unknown, even with another listener on the socket.
    let rx = with_v2(|r| r.vrid = vrid(52));
    assert_eq!(classify(&Ok(rx), listeners()), Err(DropReason::UnknownVrid));
    assert_eq!(
        classify(&Ok(seed_rx()), std::iter::empty()),
        Err(DropReason::UnknownVrid)
    );
    // Its VRID's listener refuses it: that listener's reason.
    let rx = with_v2(|r| r.auth = Auth::simple(b"2222").expect("short"));
    assert_eq!(
        classify(&Ok(rx), listeners()),
        Err(DropReason::AuthMismatch)
    );
    let mut rx = seed_rx();
    rx.ttl = 1;
    assert_eq!(classify(&Ok(rx), listeners()), Err(DropReason::TtlNot255));
    let v3 = FilterConfig {
        version: Version::V3,
        ..seed_cfg()
    };
    assert_eq!(
        classify(&Ok(seed_rx()), [(vrid(51), Some(&v3))]),
        Err(DropReason::VersionMismatch)
    );
}

#[test]
fn an_address_list_mismatch_is_counted_and_delivered() {
    let cfg = FilterConfig {
        vips: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 201))],
        ..seed_cfg()
    };
    let verdict = classify(&Ok(seed_rx()), [(cfg.vrid, Some(&cfg))]);
    assert!(verdict.expect("delivered").accepted.address_list_mismatch);
    let mut c = DropCounters::default();
    c.count(&verdict);
    assert_eq!(c.get(DropReason::AddressListMismatch), 1);
    assert!(!DropReason::AddressListMismatch.drops());
    assert!(DropReason::ALL
        .iter()
        .filter(|r| **r != DropReason::AddressListMismatch)
        .all(|r| r.drops()));
}

#[test]
fn strict_mode_drops_an_advert_of_another_address_list() {
    let other = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 201))];
    let cfg = FilterConfig {
        vips: other,
        strict: true,
        ..seed_cfg()
    };
    let verdict = classify(&Ok(seed_rx()), [(cfg.vrid, Some(&cfg))]);
    assert_eq!(verdict, Err(DropReason::StrictAddressList));
    // The same list: taken.
    let same = FilterConfig {
        strict: true,
        ..seed_cfg()
    };
    assert!(classify(&Ok(seed_rx()), [(same.vrid, Some(&same))]).is_ok());
}

#[test]
fn tally_keeps_the_order_of_the_reasons() {
    let mut drops = Vec::new();
    for r in [
        DropReason::AuthMismatch,
        DropReason::Truncated,
        DropReason::AuthMismatch,
        DropReason::UnknownVrid,
    ] {
        tally(&mut drops, r, 1);
    }
    let want: Vec<(String, u64)> = vec![
        ("truncated".into(), 1),
        ("unknown_vrid".into(), 1),
        ("auth_mismatch".into(), 2),
    ];
    assert_eq!(drops, want);
    let mut more = DropCounters::default();
    assert!(!more.add_to(&mut drops));
    more.bump(DropReason::Checksum);
    more.bump(DropReason::Truncated);
    assert!(more.add_to(&mut drops));
    assert_eq!(drops[0], ("truncated".into(), 2));
    assert_eq!(drops[1], ("checksum".into(), 1));
}
