//! Fuzz target for the ARP codec (`vigil::net::arp`).
//!
//! Owns: the properties every input must satisfy: `decode` (raw AF_PACKET
//! bytes) never panics; whatever decodes re-emits to exactly the input's
//! first 42 bytes (every field is either kept or checked to its one legal
//! value) and decodes again to the same frame; `kind` and `claims` answer.
//! Must not: do anything but call the codec.
//!
//! RFC 826 / RFC 5227 formats, via the codec.

use vigil::net::arp::{decode, Kind, FRAME_LEN};

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let Ok(frame) = decode(data) else {
        return;
    };
    let bytes = frame.to_bytes();
    assert_eq!(Some(&bytes[..]), data.get(..FRAME_LEN), "{frame:?}");
    assert_eq!(decode(&bytes), Ok(frame));
    let kind = frame.arp.kind();
    assert_eq!(frame.arp.claims(), kind != Kind::Request);
}
