//! Byte-fixture tests of the VRRP codec: known-good packets whose checksums
//! were computed independently (python3 `struct` one-off, bytes pasted
//! here), round trips, and every `DecodeError` path.

use super::*;

/// Seed pair: 192.168.1.100 -> 224.0.0.18, VRRPv2, VRID 51, prio 100,
/// advert 1 s, PASS "1111", VIP 192.168.1.200. IP and VRRP checksums
/// computed by an independent python3 one-liner.
pub(crate) const V2_SEED: [u8; 40] = [
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0xff, 0x70, 0x18, 0x87, 0xc0, 0xa8, 0x01,
    0x64, //
    0xe0, 0x00, 0x00, 0x12, // IPv4 header ends
    0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x54,
    0xf7, // v2 adv, vrid 51, prio 100, 1 addr, auth 1, 1 s
    0xc0, 0xa8, 0x01, 0xc8, // 192.168.1.200
    0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00, // "1111"
];

/// VRRPv3 over IPv4: 192.168.1.100 -> 224.0.0.18, VRID 51, prio 100,
/// 100 cs, VIPs 192.168.1.200 and 10.0.0.1.
const V3_V4: [u8; 36] = [
    0x45, 0xc0, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0xff, 0x70, 0x18, 0x8b, 0xc0, 0xa8, 0x01,
    0x64, //
    0xe0, 0x00, 0x00, 0x12, //
    0x31, 0x33, 0x64, 0x02, 0x00, 0x64, 0xfb, 0x54, //
    0xc0, 0xa8, 0x01, 0xc8, 0x0a, 0x00, 0x00, 0x01,
];

/// VRRPv3 over IPv6 (payload only): fe80::1 -> ff02::12, VRID 7, prio 200,
/// 5 cs, VIP 2001:db8::7.
const V3_V6: [u8; 24] = [
    0x31, 0x07, 0xc8, 0x01, 0x00, 0x05, 0xdb, 0x12, //
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
];

const V6_SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const V6_DST: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// Recomputes the VRRP checksum (and IP header checksum) of a mutated
/// IPv4 fixture so that a test reaches the check after the checksum.
fn refill_v4(raw: &mut [u8]) {
    let ihl = usize::from(raw[0] & 0x0f) * 4;
    let src = v4([raw[12], raw[13], raw[14], raw[15]]);
    let dst = v4([raw[16], raw[17], raw[18], raw[19]]);
    let mut p = Packet::new_unchecked(&mut raw[ihl..], Family::V4);
    p.fill_checksum(src, dst);
}

#[test]
fn v2_seed_fixture_decodes() {
    let rx = decode_ipv4(&V2_SEED).expect("seed packet decodes");
    assert_eq!(rx.src, v4([192, 168, 1, 100]));
    assert_eq!(rx.dst, v4([224, 0, 0, 18]));
    let Repr::V2(r) = &rx.repr else {
        panic!("not v2: {:?}", rx.repr)
    };
    assert_eq!(r.vrid.get(), 51);
    assert_eq!(r.priority, Priority(100));
    assert_eq!(r.adver_int_secs.get(), 1);
    assert_eq!(r.auth, Auth::simple(b"1111").expect("short key"));
    assert_eq!(&r.addrs[..], &[Ipv4Addr::new(192, 168, 1, 200)]);
    assert_eq!(rx.repr.interval(), Centiseconds(100));
}

#[test]
fn v2_seed_fixture_emits_identical_bytes() {
    let rx = decode_ipv4(&V2_SEED).expect("decodes");
    let mut buf = [0u8; 64];
    let n = rx
        .repr
        .emit_ipv4(
            &mut buf,
            Ipv4Addr::new(192, 168, 1, 100),
            Ipv4Addr::new(224, 0, 0, 18),
        )
        .expect("emits");
    assert_eq!(&buf[..n], &V2_SEED[..]);
}

#[test]
fn unicast_ttl_goes_in_the_ipv4_header_and_comes_back_from_the_any_ttl_decode() {
    let rx = decode_ipv4(&V2_SEED).expect("decodes");
    assert_eq!(rx.ttl, 255);
    let mut buf = [0u8; 64];
    let (src, dst) = (Ipv4Addr::new(192, 168, 1, 100), Ipv4Addr::new(10, 1, 0, 2));
    let n = (rx.repr.emit_ipv4_ttl(&mut buf, src, dst, 5)).expect("emits");
    assert_eq!(buf[8], 5, "the TTL byte");
    let back = decode_ipv4_any_ttl(&buf[..n]).expect("a valid packet");
    assert_eq!((back.ttl, back.repr), (5, rx.repr.clone()));
    assert_eq!(
        decode_ipv4(&buf[..n]),
        Err(DecodeError::TtlNot255 { ttl: 5 })
    );
    let v6 = decode_ipv6_any_ttl(V6_SRC, V6_DST, 64, &V3_V6).expect("decodes");
    assert_eq!(v6.ttl, 64);
}

#[test]
fn v3_ipv4_fixture_round_trips() {
    let rx = decode_ipv4(&V3_V4).expect("decodes");
    let Repr::V3(r) = &rx.repr else {
        panic!("not v3")
    };
    assert_eq!(r.vrid.get(), 51);
    assert_eq!(r.max_adver_int.get(), 100);
    let want: Vec<IpAddr> = vec![v4([192, 168, 1, 200]), v4([10, 0, 0, 1])];
    assert_eq!(rx.repr.addrs().collect::<Vec<_>>(), want);
    let mut buf = [0u8; 64];
    let n = rx
        .repr
        .emit_ipv4(
            &mut buf,
            Ipv4Addr::new(192, 168, 1, 100),
            Ipv4Addr::new(224, 0, 0, 18),
        )
        .expect("emits");
    assert_eq!(&buf[..n], &V3_V4[..]);
}

#[test]
fn v3_ipv6_fixture_round_trips() {
    let rx = decode_ipv6(V6_SRC, V6_DST, 255, &V3_V6).expect("decodes");
    let Repr::V3(r) = &rx.repr else {
        panic!("not v3")
    };
    assert_eq!(r.vrid.get(), 7);
    assert_eq!(r.priority, Priority(200));
    assert_eq!(r.max_adver_int.get(), 5);
    assert_eq!(
        rx.repr.addrs().collect::<Vec<_>>(),
        vec![IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))]
    );
    let mut buf = [0u8; 64];
    let n = rx
        .repr
        .emit(&mut buf, IpAddr::V6(V6_SRC), IpAddr::V6(V6_DST))
        .expect("emits");
    assert_eq!(&buf[..n], &V3_V6[..]);
}

#[test]
fn v3_checksum_depends_on_pseudo_header() {
    let other = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    assert_eq!(
        decode_ipv6(other, V6_DST, 255, &V3_V6),
        Err(DecodeError::Checksum)
    );
}

#[test]
fn v3_reserved_bits_are_ignored() {
    let mut raw = V3_V6;
    raw[4] |= 0xf0;
    let mut p = Packet::new_unchecked(&mut raw[..], Family::V6);
    p.fill_checksum(IpAddr::V6(V6_SRC), IpAddr::V6(V6_DST));
    let rx = decode_ipv6(V6_SRC, V6_DST, 255, &raw).expect("decodes");
    assert_eq!(rx.repr.interval(), Centiseconds(5));
}

#[test]
fn ip_options_are_skipped_by_ihl() {
    // Same v2 packet with a 4-byte IPv4 option (NOP x4): IHL 6.
    let mut raw = Vec::new();
    raw.extend_from_slice(&V2_SEED[..20]);
    raw.extend_from_slice(&[1, 1, 1, 1]);
    raw.extend_from_slice(&V2_SEED[20..]);
    raw[0] = 0x46;
    raw[2..4].copy_from_slice(&44u16.to_be_bytes());
    let rx = decode_ipv4(&raw).expect("decodes with options");
    assert_eq!(rx.repr.vrid().get(), 51);
}

#[test]
fn bytes_past_total_length_are_ignored() {
    let mut raw = V2_SEED.to_vec();
    raw.extend_from_slice(&[0xde, 0xad]);
    assert!(decode_ipv4(&raw).is_ok());
}

#[test]
fn auth_none_ignores_auth_data() {
    let mut raw = V2_SEED;
    raw[24] = 0; // auth type none; data stays "1111"
    refill_v4(&mut raw);
    let rx = decode_ipv4(&raw).expect("decodes");
    assert_eq!(rx.repr.auth(), Auth::None);
}

#[test]
fn simple_key_longer_than_8_is_refused() {
    assert_eq!(Auth::simple(b"123456789"), None);
    assert_eq!(Auth::simple(b"12345678"), Some(Auth::Simple(*b"12345678")));
}

// ---- every DecodeError path ----

/// One mutated input per `DecodeError` variant, shared with the
/// drop-counter test in `vrrp::filter`.
pub(crate) fn error_cases() -> Vec<(&'static str, Result<Received, DecodeError>)> {
    let mut cases = Vec::new();
    cases.push(("truncated ip", decode_ipv4(&V2_SEED[..19])));
    let mut raw = V2_SEED;
    raw[0] = 0x65;
    cases.push(("ip version 6", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[0] = 0x44;
    cases.push(("ihl 4", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[0] = 0x4f; // 60 bytes > 40
    cases.push(("ihl beyond buffer", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[3] = 41;
    cases.push(("total length > buffer", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[9] = 17;
    cases.push(("udp", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[8] = 254;
    cases.push(("ttl 254", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[3] = 27; // 7 bytes of VRRP
    cases.push(("truncated vrrp", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[20] = 0x41;
    cases.push(("version 4", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[20] = 0x22;
    cases.push(("type 2", decode_ipv4(&raw)));
    let mut v2_over_v6 = [0u8; 16];
    v2_over_v6[..8].copy_from_slice(&V2_SEED[20..28]);
    cases.push((
        "v2 over ipv6",
        decode_ipv6(V6_SRC, V6_DST, 255, &v2_over_v6),
    ));
    let mut raw = V2_SEED;
    raw[23] = 2;
    cases.push(("count 2 in a 1-address packet", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[35] ^= 0x01; // password byte flipped, checksum not refilled
    cases.push(("checksum", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[21] = 0;
    refill_v4(&mut raw);
    cases.push(("vrid 0", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[24] = 2;
    refill_v4(&mut raw);
    cases.push(("auth type AH", decode_ipv4(&raw)));
    let mut raw = V2_SEED;
    raw[25] = 0;
    refill_v4(&mut raw);
    cases.push(("interval 0", decode_ipv4(&raw)));
    cases
}

#[test]
fn every_error_path() {
    let got: Vec<(&str, Result<Received, DecodeError>)> = error_cases();
    let want = [
        DecodeError::Truncated { len: 19 },
        DecodeError::NotIpv4 { version: 6 },
        DecodeError::BadIpHeaderLength { ihl: 4 },
        DecodeError::BadIpHeaderLength { ihl: 15 },
        DecodeError::TotalLengthMismatch {
            total_len: 41,
            buf_len: 40,
        },
        DecodeError::NotVrrpProtocol { protocol: 17 },
        DecodeError::TtlNot255 { ttl: 254 },
        DecodeError::Truncated { len: 7 },
        DecodeError::BadVersion { version: 4 },
        DecodeError::BadType { ty: 2 },
        DecodeError::V2OverIpv6,
        DecodeError::AddressCountMismatch { count: 2, len: 20 },
        DecodeError::Checksum,
        DecodeError::ZeroVrid,
        DecodeError::AuthTypeUnsupported { auth_type: 2 },
        DecodeError::BadAdvertInterval,
    ];
    assert_eq!(got.len(), want.len());
    for ((name, res), want) in got.into_iter().zip(want) {
        assert_eq!(res, Err(want), "{name}");
    }
}

#[test]
fn ipv6_hop_limit_must_be_255() {
    assert_eq!(
        decode_ipv6(V6_SRC, V6_DST, 64, &V3_V6),
        Err(DecodeError::TtlNot255 { ttl: 64 })
    );
}

#[test]
fn v3_zero_interval_is_refused() {
    let mut raw = V3_V6;
    raw[5] = 0;
    let mut p = Packet::new_unchecked(&mut raw[..], Family::V6);
    p.fill_checksum(IpAddr::V6(V6_SRC), IpAddr::V6(V6_DST));
    assert_eq!(
        decode_ipv6(V6_SRC, V6_DST, 255, &raw),
        Err(DecodeError::BadAdvertInterval)
    );
}

#[test]
fn emit_refuses_short_buffer_and_family_mismatch() {
    let rx = decode_ipv6(V6_SRC, V6_DST, 255, &V3_V6).expect("decodes");
    let mut short = [0u8; 23];
    assert_eq!(
        rx.repr
            .emit(&mut short, IpAddr::V6(V6_SRC), IpAddr::V6(V6_DST)),
        Err(EmitError::BufferTooSmall { need: 24, have: 23 })
    );
    let mut buf = [0u8; 24];
    assert_eq!(
        rx.repr.emit(&mut buf, v4([1, 2, 3, 4]), IpAddr::V6(V6_DST)),
        Err(EmitError::FamilyMismatch)
    );
    assert_eq!(
        rx.repr
            .emit_ipv4(&mut [0u8; 64], Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST),
        Err(EmitError::FamilyMismatch)
    );
}

#[test]
fn max_address_count_round_trips() {
    let mut addrs = heapless::Vec::new();
    for i in 0..255u32 {
        addrs
            .push(Ipv4Addr::from(0x0a00_0000 + i))
            .expect("capacity 255");
    }
    let repr = Repr::V3(V3Repr {
        vrid: Vrid::new(1).expect("nonzero"),
        priority: Priority(1),
        max_adver_int: AdverInt::new(AdverInt::MAX).expect("in range"),
        addrs: Addrs::V4(addrs),
    });
    let mut buf = vec![0u8; repr.ipv4_buffer_len()];
    let (src, dst) = (Ipv4Addr::new(10, 1, 1, 1), Ipv4Addr::new(224, 0, 0, 18));
    repr.emit_ipv4(&mut buf, src, dst).expect("emits");
    assert_eq!(decode_ipv4(&buf).map(|r| r.repr), Ok(repr));
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    fn repr_strategy() -> impl Strategy<Value = (Repr, bool)> {
        let v2 = (
            1u8..=255,
            any::<u8>(),
            1u8..=255,
            proptest::option::of(any::<[u8; 8]>()),
            proptest::collection::vec(any::<u32>(), 0..20),
        )
            .prop_map(|(vrid, prio, secs, key, addrs)| {
                let mut v = heapless::Vec::new();
                for a in addrs {
                    let _ = v.push(Ipv4Addr::from(a));
                }
                let repr = Repr::V2(V2Repr {
                    vrid: Vrid::new(vrid).unwrap_or(Vrid::new(1).expect("nonzero")),
                    priority: Priority(prio),
                    adver_int_secs: std::num::NonZeroU8::new(secs)
                        .unwrap_or(std::num::NonZeroU8::MIN),
                    auth: key.map_or(Auth::None, Auth::Simple),
                    addrs: v,
                });
                (repr, false)
            });
        let v3 = (
            1u8..=255,
            any::<u8>(),
            1u16..=0x0fff,
            any::<bool>(),
            proptest::collection::vec(any::<u128>(), 0..20),
        )
            .prop_map(|(vrid, prio, cs, six, addrs)| {
                let addrs = if six {
                    let mut v = heapless::Vec::new();
                    for a in &addrs {
                        let _ = v.push(Ipv6Addr::from(*a));
                    }
                    Addrs::V6(v)
                } else {
                    let mut v = heapless::Vec::new();
                    for a in &addrs {
                        let _ = v.push(Ipv4Addr::from(*a as u32));
                    }
                    Addrs::V4(v)
                };
                let repr = Repr::V3(V3Repr {
                    vrid: Vrid::new(vrid).unwrap_or(Vrid::new(1).expect("nonzero")),
                    priority: Priority(prio),
                    max_adver_int: AdverInt::new(cs).unwrap_or(AdverInt::new(1).expect("in range")),
                    addrs,
                });
                (repr, six)
            });
        prop_oneof![v2, v3]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn emit_then_decode_is_identity((repr, six) in repr_strategy(), src in any::<u128>(), dst in any::<u128>()) {
            if six {
                let (s, d) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
                let mut buf = vec![0u8; repr.buffer_len()];
                repr.emit(&mut buf, IpAddr::V6(s), IpAddr::V6(d)).expect("emits");
                prop_assert_eq!(decode_ipv6(s, d, 255, &buf).map(|r| r.repr), Ok(repr));
            } else {
                let (s, d) = (Ipv4Addr::from(src as u32), Ipv4Addr::from(dst as u32));
                let mut buf = vec![0u8; repr.ipv4_buffer_len()];
                repr.emit_ipv4(&mut buf, s, d).expect("emits");
                prop_assert_eq!(decode_ipv4(&buf).map(|r| r.repr), Ok(repr));
            }
        }

        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode_ipv4(&raw);
            let _ = decode_ipv6(V6_SRC, V6_DST, 255, &raw);
        }
    }
}
