//! The IPVS codec as a property: every typed value survives encode ->
//! decode, and arbitrary bytes never panic the decoders; whatever decodes
//! re-encodes to bytes that decode equal (the `ipvs_decode` fuzz target's
//! property, run here on every `cargo test`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vigil::ipvs::wire::{
    emit_attrs, Af, ConnCounts, DaemonState, Dest, DestId, FwdMethod, Service, ServiceId, Stats,
    SyncDaemon, Tunnel,
};

fn arb_addr(af: Af) -> BoxedStrategy<IpAddr> {
    match af {
        Af::V4 => any::<[u8; 4]>()
            .prop_map(|b| IpAddr::V4(Ipv4Addr::from(b)))
            .boxed(),
        Af::V6 => any::<[u8; 16]>()
            .prop_map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            .boxed(),
    }
}

fn arb_af() -> impl Strategy<Value = Af> {
    prop_oneof![Just(Af::V4), Just(Af::V6)]
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-z0-9_.-]{0,15}"
}

fn arb_stats() -> impl Strategy<Value = Option<Stats>> {
    prop::option::of(any::<[u64; 5]>().prop_map(|v| Stats {
        conns: v[0],
        inpkts: v[1],
        outpkts: v[2],
        inbytes: v[3],
        outbytes: v[4],
    }))
}

fn arb_service_id() -> impl Strategy<Value = ServiceId> {
    prop_oneof![
        arb_af()
            .prop_flat_map(|af| (any::<u16>(), arb_addr(af), any::<u16>()))
            .prop_map(|(protocol, addr, port)| ServiceId::Addr {
                protocol,
                addr,
                port
            }),
        (arb_af(), any::<u32>()).prop_map(|(af, mark)| ServiceId::Fwmark { af, mark }),
    ]
}

fn arb_service() -> impl Strategy<Value = Service> {
    (
        arb_service_id(),
        arb_name(),
        prop::option::of(arb_name()),
        any::<[u32; 3]>(),
        arb_stats(),
    )
        .prop_map(
            |(id, scheduler, pe_name, [flags, timeout, netmask], stats)| Service {
                id,
                scheduler,
                pe_name,
                flags,
                timeout,
                netmask,
                stats,
            },
        )
}

fn arb_dest() -> impl Strategy<Value = Dest> {
    (
        arb_af().prop_flat_map(arb_addr),
        any::<u16>(),
        prop::sample::select(vec![
            FwdMethod::Masq,
            FwdMethod::Local,
            FwdMethod::Tunnel,
            FwdMethod::Route,
            FwdMethod::Bypass,
        ]),
        any::<[u32; 3]>(),
        prop::option::of(any::<(u8, u16, u16)>()),
        prop::option::of(any::<[u32; 3]>()),
        arb_stats(),
    )
        .prop_map(
            |(addr, port, fwd, [weight, u_thresh, l_thresh], tun, conns, stats)| Dest {
                id: DestId { addr, port },
                fwd,
                weight,
                u_thresh,
                l_thresh,
                tunnel: tun.map(|(kind, port, flags)| Tunnel { kind, port, flags }),
                conns: conns.map(|[active, inactive, persistent]| ConnCounts {
                    active,
                    inactive,
                    persistent,
                }),
                stats,
            },
        )
}

fn arb_daemon() -> impl Strategy<Value = SyncDaemon> {
    (
        prop_oneof![Just(DaemonState::Master), Just(DaemonState::Backup)],
        arb_name(),
        any::<u32>(),
        any::<Option<u16>>(),
        prop::option::of(arb_af().prop_flat_map(arb_addr)),
        any::<Option<u16>>(),
        any::<Option<u8>>(),
    )
        .prop_map(
            |(state, ifname, sync_id, maxlen, group, port, ttl)| SyncDaemon {
                state,
                ifname,
                sync_id,
                maxlen,
                group,
                port,
                ttl,
            },
        )
}

/// Attribute-shaped noise: mostly well-framed TLVs with random numbers
/// and payloads, so decoders get past the framing.
fn arb_attr_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        prop::collection::vec((0u16..18, prop::collection::vec(any::<u8>(), 0..20)), 0..16)
            .prop_map(|attrs| {
                let mut out = Vec::new();
                for (kind, p) in attrs {
                    out.extend_from_slice(&((p.len() + 4) as u16).to_ne_bytes());
                    out.extend_from_slice(&kind.to_ne_bytes());
                    out.extend_from_slice(&p);
                    out.resize((out.len() + 3) & !3, 0);
                }
                out
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn service_round_trips(s in arb_service()) {
        prop_assert_eq!(Service::decode(&emit_attrs(&s.encode())), Ok(s));
    }

    #[test]
    fn dest_round_trips(d in arb_dest(), af in arb_af()) {
        prop_assert_eq!(Dest::decode(&emit_attrs(&d.encode()), af), Ok(d));
    }

    #[test]
    fn daemon_round_trips(d in arb_daemon()) {
        prop_assert_eq!(SyncDaemon::decode(&emit_attrs(&d.encode())), Ok(d));
    }

    #[test]
    fn noise_never_panics_and_what_decodes_re_encodes(b in arb_attr_bytes()) {
        if let Ok(s) = Service::decode(&b) {
            prop_assert_eq!(Service::decode(&emit_attrs(&s.encode())), Ok(s));
        }
        for af in [Af::V4, Af::V6] {
            if let Ok(d) = Dest::decode(&b, af) {
                prop_assert_eq!(Dest::decode(&emit_attrs(&d.encode()), af), Ok(d));
            }
        }
        if let Ok(d) = SyncDaemon::decode(&b) {
            prop_assert_eq!(SyncDaemon::decode(&emit_attrs(&d.encode())), Ok(d));
        }
    }
}
