//! Fuzz target for the IPVS netlink reply decoder (`vigil::ipvs::wire`).
//!
//! Owns: the properties every input must satisfy: the service, destination
//! and sync-daemon decoders (whole genl messages as dumps arrive, and bare
//! nested attribute sets) never panic, and whatever decodes re-encodes to
//! bytes that decode to an equal value; the netlink framing of a receive
//! buffer (`vigil::ipvs::netlink`) never panics either.
//! Must not: do anything but call the codec.
//!
//! Formats: include/uapi/linux/ip_vs.h, via the codec.

use vigil::ipvs::netlink;
use vigil::ipvs::wire::{
    decode_daemon_msg, decode_dest_msg, decode_service_msg, emit_attrs, Af, Dest, Info, Service,
    SyncDaemon, Timeouts,
};

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    // Whole messages: genl header + top-level attributes.
    if let Ok(s) = decode_service_msg(data) {
        let again = Service::decode(&emit_attrs(&s.encode()));
        assert_eq!(again.as_ref(), Ok(&s), "service re-decode");
    }
    for af in [Af::V4, Af::V6] {
        if let Ok(d) = decode_dest_msg(data, af) {
            let again = Dest::decode(&emit_attrs(&d.encode()), af);
            assert_eq!(again.as_ref(), Ok(&d), "dest re-decode");
        }
    }
    if let Ok(d) = decode_daemon_msg(data) {
        let again = SyncDaemon::decode(&emit_attrs(&d.encode()));
        assert_eq!(again.as_ref(), Ok(&d), "daemon re-decode");
    }

    // Bare nested attribute sets, as the client hands them over.
    if let Ok(s) = Service::decode(data) {
        assert_eq!(Service::decode(&emit_attrs(&s.encode())), Ok(s));
    }
    for af in [Af::V4, Af::V6] {
        if let Ok(d) = Dest::decode(data, af) {
            assert_eq!(Dest::decode(&emit_attrs(&d.encode()), af), Ok(d));
        }
    }
    if let Ok(d) = SyncDaemon::decode(data) {
        assert_eq!(SyncDaemon::decode(&emit_attrs(&d.encode())), Ok(d));
    }
    if let Ok(t) = Timeouts::decode(data) {
        // Timeouts re-encode only what was set; zero-valued fields survive.
        assert_eq!(Timeouts::decode(&emit_attrs(&t.encode())), Ok(t));
    }
    if let Ok(i) = Info::decode(data) {
        assert_eq!(Info::decode(&emit_attrs(&i.encode())), Ok(i));
    }

    // The netlink framing around them (a whole receive buffer): parsing
    // never panics, every message lies inside the buffer, and a batch's
    // ack bookkeeping never counts below zero.
    if let Ok(msgs) = netlink::parse(data) {
        let mut acks = netlink::Acks::new(1, 64);
        for m in &msgs {
            if let netlink::Reply::Data(p) = m.reply {
                assert!(p.len() + netlink::NLMSG_HDRLEN <= data.len());
            }
            acks.record(m);
        }
        let answered = acks.results().iter().filter(|r| r.is_some()).count();
        assert_eq!(acks.waiting() + answered, 64);
    }
}
