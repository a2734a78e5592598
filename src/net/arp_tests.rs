//! Unit tests of `arp.rs`: byte fixtures, every decode error, the kinds.

use super::*;

const BOX: Mac = [0x52, 0x54, 0, 0, 0, 1];
const OTHER: Mac = [0x52, 0x54, 0, 0, 0, 0x67];
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);

/// A reply "192.168.1.200 is at 52:54:00:00:00:67" to 192.168.1.10, as
/// captured on a LAN (padded to 60 bytes).
fn reply_bytes() -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0, 0, 0, 1, // dst
        0x52, 0x54, 0, 0, 0, 0x67, // src
        0x08, 0x06, // ARP
        0, 1, 0x08, 0, 6, 4, 0, 2, // ethernet, ipv4, 6/4, reply
        0x52, 0x54, 0, 0, 0, 0x67, 192, 168, 1, 200, // sender
        0x52, 0x54, 0, 0, 0, 1, 192, 168, 1, 10, // target
    ];
    f.resize(60, 0);
    f
}

#[test]
fn announcement_layout_is_rfc5227() {
    let f = announcement(BOX, VIP).to_bytes();
    assert_eq!(&f[0..6], &[0xff; 6]);
    assert_eq!(&f[6..12], &BOX);
    assert_eq!(&f[12..14], &[0x08, 0x06]);
    assert_eq!(&f[14..22], &[0, 1, 0x08, 0, 6, 4, 0, 1], "request");
    assert_eq!(&f[22..28], &BOX);
    assert_eq!(&f[28..32], &VIP.octets(), "sender ip");
    assert_eq!(&f[32..38], &[0; 6], "target mac zero");
    assert_eq!(&f[38..42], &VIP.octets(), "target ip");
}

#[test]
fn decodes_a_captured_reply_with_padding() {
    let f = decode(&reply_bytes()).unwrap();
    assert_eq!(f.dst, BOX);
    assert_eq!(f.src, OTHER);
    assert_eq!(f.arp.op, Operation::Reply);
    assert_eq!(f.arp.sender_mac, OTHER);
    assert_eq!(f.arp.sender_ip, VIP);
    assert_eq!(f.arp.target_ip, Ipv4Addr::new(192, 168, 1, 10));
    assert_eq!(f.arp.kind(), Kind::Reply);
    assert!(f.arp.claims());
}

#[test]
fn emit_then_decode_is_identity() {
    let frames = [
        announcement(BOX, VIP),
        Frame::request(BOX, Ipv4Addr::new(192, 168, 1, 10), VIP),
        decode(&reply_bytes()).unwrap(),
    ];
    for f in frames {
        let mut buf = [0u8; 64];
        assert_eq!(f.emit(&mut buf), Ok(FRAME_LEN));
        assert_eq!(decode(&buf), Ok(f));
        assert_eq!(decode(&f.to_bytes()), Ok(f));
    }
}

#[test]
fn emit_into_a_short_buffer_is_an_error() {
    let mut buf = [0u8; FRAME_LEN - 1];
    assert_eq!(
        announcement(BOX, VIP).emit(&mut buf),
        Err(EmitError::BufferTooShort { len: FRAME_LEN - 1 })
    );
}

#[test]
fn kinds() {
    assert_eq!(announcement(BOX, VIP).arp.kind(), Kind::GratuitousRequest);
    let probe = Frame::request(BOX, Ipv4Addr::UNSPECIFIED, VIP);
    assert_eq!(probe.arp.kind(), Kind::Request, "an RFC 5227 probe");
    assert!(!probe.arp.claims());
    let who_has = Frame::request(BOX, Ipv4Addr::new(192, 168, 1, 10), VIP);
    assert_eq!(who_has.arp.kind(), Kind::Request);
    assert!(!who_has.arp.claims());
    let mut unsolicited = announcement(OTHER, VIP);
    unsolicited.arp.op = Operation::Reply;
    assert_eq!(unsolicited.arp.kind(), Kind::GratuitousReply);
    let mut to_broadcast = decode(&reply_bytes()).unwrap();
    to_broadcast.arp.target_mac = BROADCAST;
    assert_eq!(to_broadcast.arp.kind(), Kind::GratuitousReply);
    assert!(announcement(OTHER, VIP).arp.claims());
}

#[test]
fn every_decode_error() {
    let good = reply_bytes();
    let with = |at: usize, bytes: &[u8]| {
        let mut f = good.clone();
        f[at..at + bytes.len()].copy_from_slice(bytes);
        f
    };
    assert_eq!(decode(&[]), Err(DecodeError::Truncated { len: 0 }));
    assert_eq!(decode(&good[..13]), Err(DecodeError::Truncated { len: 13 }));
    assert_eq!(decode(&good[..41]), Err(DecodeError::Truncated { len: 41 }));
    assert!(decode(&good[..42]).is_ok(), "an unpadded frame is whole");
    assert_eq!(
        decode(&with(12, &[0x08, 0x00])),
        Err(DecodeError::NotArp { ethertype: 0x0800 })
    );
    assert_eq!(
        decode(&with(12, &[0x81, 0x00])),
        Err(DecodeError::NotArp { ethertype: 0x8100 }),
        "a VLAN tag"
    );
    assert_eq!(
        decode(&with(14, &[0, 6])),
        Err(DecodeError::HardwareType { htype: 6 })
    );
    assert_eq!(
        decode(&with(16, &[0x86, 0xdd])),
        Err(DecodeError::ProtocolType { ptype: 0x86dd })
    );
    assert_eq!(
        decode(&with(18, &[6, 16])),
        Err(DecodeError::AddressLengths { hlen: 6, plen: 16 })
    );
    assert_eq!(
        decode(&with(20, &[0, 3])),
        Err(DecodeError::Operation { op: 3 }),
        "RARP"
    );
}

#[test]
fn mac_text_is_lowercase_colon_separated() {
    assert_eq!(mac_text(&[0, 0, 0x5e, 0, 1, 0x33]), "00:00:5e:00:01:33");
}
