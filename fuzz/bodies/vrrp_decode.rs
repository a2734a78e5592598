//! Fuzz target for the VRRP codec (`vigil::vrrp::packet`).
//!
//! Owns: the properties every input must satisfy: `decode_ipv4` (raw
//! protocol-112 socket bytes) and `decode_ipv6` (addresses, hop limit and
//! payload split from the input) never panic, and whatever decodes re-emits
//! to bytes that decode to the same `Received`.
//! Must not: do anything but call the codec.
//!
//! RFC 3768 section 5 / RFC 5798 section 5 formats, via the codec.

use std::net::{IpAddr, Ipv6Addr};

use vigil::vrrp::packet::{decode_ipv4, decode_ipv6};

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    if let Ok(rx) = decode_ipv4(data) {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (rx.src, rx.dst) else {
            panic!("decode_ipv4 returned non-IPv4 addresses: {rx:?}");
        };
        let mut buf = vec![0u8; rx.repr.ipv4_buffer_len()];
        let n = match rx.repr.emit_ipv4(&mut buf, src, dst) {
            Ok(n) => n,
            Err(e) => panic!("a decoded repr must emit: {e}: {rx:?}"),
        };
        assert_eq!(decode_ipv4(&buf[..n]).as_ref(), Ok(&rx));
    }

    // IPv6 split: 16 bytes source, 16 bytes destination, 1 byte hop limit,
    // the rest is the VRRP payload the kernel would hand us.
    if let (Some(src), Some(dst), Some(&hop), Some(payload)) = (
        data.get(..16),
        data.get(16..32),
        data.get(32),
        data.get(33..),
    ) {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(src);
        d.copy_from_slice(dst);
        let (src, dst) = (Ipv6Addr::from(s), Ipv6Addr::from(d));
        if let Ok(rx) = decode_ipv6(src, dst, hop, payload) {
            let mut buf = vec![0u8; rx.repr.buffer_len()];
            let n = match rx.repr.emit(&mut buf, IpAddr::V6(src), IpAddr::V6(dst)) {
                Ok(n) => n,
                Err(e) => panic!("a decoded repr must emit: {e}: {rx:?}"),
            };
            assert_eq!(decode_ipv6(src, dst, hop, &buf[..n]).as_ref(), Ok(&rx));
        }
    }
}
