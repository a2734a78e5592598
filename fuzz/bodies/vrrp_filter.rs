//! The VRRP receive path from raw socket bytes to what an instance's
//! machine sees (`vigil::vrrp::packet` then `vigil::vrrp::filter`): IPv4
//! as the protocol-112 socket hands it over, and IPv6 split from the
//! input as `vrrp_decode` splits it.
//!
//! Properties: nothing panics; `DropCounters::account` bumps exactly one
//! counter for a packet it drops (the decode error's or the filter's) and
//! at most the address-list counter for one it passes, and agrees with
//! `filter::check`; an advert judged by a config made of its own fields
//! (a peer of ours speaking our VRID, version, family, key, interval and
//! addresses) is accepted with no address-list mismatch, unless it comes
//! from one of our own addresses or we are the address owner.
//! Must not: do anything but call the codec and the filter.
//!
//! RFC 3768 section 7.1 and RFC 5798 section 7.1, via the filter.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil::vrrp::filter::{check, DropCounters, DropReason, FilterConfig};
use vigil::vrrp::packet::{
    decode_ipv4, decode_ipv4_any_ttl, decode_ipv6, decode_ipv6_any_ttl, DecodeError, Received,
};

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    judge(&decode_ipv4(data));
    judge(&decode_ipv4_any_ttl(data));
    if let (Some(src), Some(dst), Some(&hop), Some(payload)) = (
        data.get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()),
        data.get(16..32).and_then(|b| <[u8; 16]>::try_from(b).ok()),
        data.get(32),
        data.get(33..),
    ) {
        let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
        judge(&decode_ipv6(src, dst, hop, payload));
        judge(&decode_ipv6_any_ttl(src, dst, hop, payload));
    }
}

/// Every config shape the filter distinguishes, against one decode result.
fn judge(decoded: &Result<Received, DecodeError>) {
    let Ok(rx) = decoded else {
        let mut c = DropCounters::default();
        assert_eq!(c.account(&fallback(), decoded), None);
        assert_eq!(c.total(), 1, "a decode error counts once");
        return;
    };
    for shape in 0..16u8 {
        let cfg = own_fields(rx, shape);
        let mut c = DropCounters::default();
        let seen = c.account(&cfg, decoded);
        match check(&cfg, rx) {
            Ok(acc) => {
                assert_eq!(seen, Some(acc.advert));
                assert_eq!(acc.advert.src, rx.src);
                assert_eq!(acc.advert.priority, rx.repr.priority());
                let mismatch = u64::from(acc.address_list_mismatch);
                assert_eq!(c.get(DropReason::AddressListMismatch), mismatch);
                assert_eq!(c.total(), mismatch);
                assert!(!acc.address_list_mismatch, "own addresses differ: {rx:?}");
            }
            Err(e) => {
                assert_eq!(seen, None);
                assert_eq!(c.get(DropReason::from(&e)), 1);
                assert_eq!(c.total(), 1);
                let own = shape & 1 != 0;
                let ttl_ok = shape & 4 != 0 || rx.ttl == 255;
                let owner = shape & 8 != 0;
                assert!(
                    own || !ttl_ok || owner,
                    "a peer's own fields dropped: {e}: {rx:?}"
                );
            }
        }
    }
}

/// A config made of the advert's own fields; `shape` bit 0 lists the
/// source among our addresses, bit 1 names it as the unicast peer, bit 2
/// takes any TTL, bit 3 makes us the address owner, bit 4 strict mode.
fn own_fields(rx: &Received, shape: u8) -> FilterConfig {
    let r = &rx.repr;
    FilterConfig {
        vrid: r.vrid(),
        version: r.version(),
        family: r.family(),
        auth: r.auth(),
        advert_interval: r.interval(),
        own_addrs: if shape & 1 != 0 { vec![rx.src] } else { vec![] },
        unicast_peers: if shape & 2 != 0 { vec![rx.src] } else { vec![] },
        vips: r.addrs().collect(),
        any_ttl: shape & 4 != 0,
        owner: shape & 8 != 0,
        strict: shape & 16 != 0,
    }
}

/// Any config will do for a packet that did not decode.
fn fallback() -> FilterConfig {
    FilterConfig {
        vrid: vigil::vrrp::types::Vrid::new(1).expect("nonzero"),
        version: vigil::vrrp::types::Version::V3,
        family: vigil::vrrp::packet::Family::V4,
        auth: vigil::vrrp::packet::Auth::None,
        advert_interval: vigil::vrrp::types::Centiseconds(100),
        own_addrs: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        unicast_peers: vec![],
        vips: vec![],
        any_ttl: false,
        owner: false,
        strict: false,
    }
}
