//! ARP over Ethernet for IPv4 (RFC 826, RFC 5227): the frame codec.
//!
//! Owns: [`Frame`] (the Ethernet header's addresses and the ARP body, the
//! checked meaning of one 42-byte frame), [`decode`] (raw AF_PACKET bytes
//! to a `Frame` or a typed [`DecodeError`]), [`Frame::emit`] /
//! [`Frame::to_bytes`], the two frames vigil sends ([`announcement`]: the
//! gratuitous ARP of a VIP, RFC 5227 section 2.3's request form;
//! [`Frame::request`]: an ordinary who-has, the doctor's probe), and
//! [`Repr::kind`] (request, reply, and the two gratuitous forms).
//! Must not: open sockets, read a clock or decide what a frame means for
//! VRRP (`vrrp::arpwatch` classifies theft, `doctor` its findings).
//!
//! Untrusted input: `decode` reads every byte through bounded slicing and
//! returns an error for anything short or foreign, never panics; trailing
//! bytes (Ethernet padding to 60) are ignored. An 802.1Q-tagged frame is
//! `NotArp` (AF_PACKET hands the untagged frame on the VLAN's device).
//! `emit` never panics: a short buffer is `EmitError::BufferTooShort`.

use std::net::Ipv4Addr;

use thiserror::Error;

/// A 48-bit Ethernet address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST: Mac = [0xff; 6];
/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// Bytes of the Ethernet header (no VLAN tag).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Bytes of an ARP body for IPv4 over Ethernet.
pub const ARP_LEN: usize = 28;
/// Bytes of a whole frame as vigil emits it (without padding).
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + ARP_LEN;

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

/// ARP opcode (RFC 826): only the two IPv4-over-Ethernet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// 1: who has the target IP?
    Request,
    /// 2: the sender IP is at the sender MAC.
    Reply,
}

impl Operation {
    fn code(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
        }
    }
}

/// What an ARP body says, in the words of RFC 5227.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary who-has (sender IP 0.0.0.0 included: an ARP probe).
    Request,
    /// A reply to someone's request.
    Reply,
    /// A request with sender IP == target IP (an announcement).
    GratuitousRequest,
    /// A reply nobody asked for: sender IP == target IP, or to broadcast.
    GratuitousReply,
}

/// The ARP body (IPv4 over Ethernet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub op: Operation,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

/// One Ethernet frame carrying ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Ethernet destination.
    pub dst: Mac,
    /// Ethernet source.
    pub src: Mac,
    pub arp: Repr,
}

/// Why a frame is not one this codec reads. One variant per reason, with
/// the value that was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("frame too short for ethernet + arp: {len} bytes")]
    Truncated { len: usize },
    #[error("not arp: ethertype {ethertype:#06x}")]
    NotArp { ethertype: u16 },
    #[error("arp hardware type {htype} is not ethernet")]
    HardwareType { htype: u16 },
    #[error("arp protocol type {ptype:#06x} is not ipv4")]
    ProtocolType { ptype: u16 },
    #[error("arp address lengths {hlen}/{plen}, expected 6/4")]
    AddressLengths { hlen: u8, plen: u8 },
    #[error("arp operation {op} is neither request nor reply")]
    Operation { op: u16 },
}

/// Why a frame could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmitError {
    #[error("buffer of {len} bytes, an arp frame needs {FRAME_LEN}")]
    BufferTooShort { len: usize },
}

fn mac_at(b: &[u8], at: usize) -> Option<Mac> {
    b.get(at..at + 6)?.try_into().ok()
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let o: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(u16::from_be_bytes(o))
}

/// Decodes one frame as read from an AF_PACKET (SOCK_RAW) socket.
pub fn decode(frame: &[u8]) -> Result<Frame, DecodeError> {
    let short = DecodeError::Truncated { len: frame.len() };
    let ethertype = u16_at(frame, 12).ok_or(short)?;
    if ethertype != ETH_P_ARP {
        return Err(DecodeError::NotArp { ethertype });
    }
    let body = frame.get(ETHERNET_HEADER_LEN..).ok_or(short)?;
    if body.len() < ARP_LEN {
        return Err(short);
    }
    let htype = u16_at(body, 0).ok_or(short)?;
    if htype != HTYPE_ETHERNET {
        return Err(DecodeError::HardwareType { htype });
    }
    let ptype = u16_at(body, 2).ok_or(short)?;
    if ptype != PTYPE_IPV4 {
        return Err(DecodeError::ProtocolType { ptype });
    }
    let (hlen, plen) = (*body.get(4).ok_or(short)?, *body.get(5).ok_or(short)?);
    if (hlen, plen) != (6, 4) {
        return Err(DecodeError::AddressLengths { hlen, plen });
    }
    let op = match u16_at(body, 6).ok_or(short)? {
        1 => Operation::Request,
        2 => Operation::Reply,
        op => return Err(DecodeError::Operation { op }),
    };
    Ok(Frame {
        dst: mac_at(frame, 0).ok_or(short)?,
        src: mac_at(frame, 6).ok_or(short)?,
        arp: Repr {
            op,
            sender_mac: mac_at(body, 8).ok_or(short)?,
            sender_ip: ipv4_at(body, 14).ok_or(short)?,
            target_mac: mac_at(body, 18).ok_or(short)?,
            target_ip: ipv4_at(body, 24).ok_or(short)?,
        },
    })
}

/// The gratuitous ARP vigil sends for a VIP: a broadcast request with
/// sender IP = target IP = `vip` and a zero target MAC (RFC 5227 section
/// 2.3, the form every stack takes into its cache).
pub fn announcement(mac: Mac, vip: Ipv4Addr) -> Frame {
    Frame::request(mac, vip, vip)
}

impl Frame {
    /// A broadcast who-has `target` from (`mac`, `sender_ip`).
    pub fn request(mac: Mac, sender_ip: Ipv4Addr, target: Ipv4Addr) -> Frame {
        Frame {
            dst: BROADCAST,
            src: mac,
            arp: Repr {
                op: Operation::Request,
                sender_mac: mac,
                sender_ip,
                target_mac: [0; 6],
                target_ip: target,
            },
        }
    }

    /// Writes the frame into `buf`; returns the bytes written ([`FRAME_LEN`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = buf.len();
        let out = buf
            .get_mut(..FRAME_LEN)
            .ok_or(EmitError::BufferTooShort { len })?;
        out.copy_from_slice(&self.to_bytes());
        Ok(FRAME_LEN)
    }

    /// The frame's bytes (RFC 826's layout; constant offsets into an
    /// array of exactly [`FRAME_LEN`]).
    pub fn to_bytes(&self) -> [u8; FRAME_LEN] {
        let a = &self.arp;
        let mut f = [0u8; FRAME_LEN];
        f[0..6].copy_from_slice(&self.dst);
        f[6..12].copy_from_slice(&self.src);
        f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
        f[14..16].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        f[16..18].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
        f[18..20].copy_from_slice(&[6, 4]);
        f[20..22].copy_from_slice(&a.op.code().to_be_bytes());
        f[22..28].copy_from_slice(&a.sender_mac);
        f[28..32].copy_from_slice(&a.sender_ip.octets());
        f[32..38].copy_from_slice(&a.target_mac);
        f[38..42].copy_from_slice(&a.target_ip.octets());
        f
    }
}

impl Repr {
    /// What the frame says (RFC 5227 section 3's gratuitous forms).
    pub fn kind(&self) -> Kind {
        let same = self.sender_ip == self.target_ip && !self.sender_ip.is_unspecified();
        match self.op {
            Operation::Request if same => Kind::GratuitousRequest,
            Operation::Request => Kind::Request,
            Operation::Reply if same || self.target_mac == BROADCAST => Kind::GratuitousReply,
            Operation::Reply => Kind::Reply,
        }
    }

    /// Whether the frame claims `sender_ip` is at `sender_mac` in a way a
    /// neighbour takes into its cache without having asked: a reply (asked
    /// for or not) or a gratuitous request.
    pub fn claims(&self) -> bool {
        !matches!(self.kind(), Kind::Request)
    }
}

/// Text form `aa:bb:cc:dd:ee:ff` (logs, `vigil doctor`).
pub fn mac_text(m: &Mac) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

#[cfg(test)]
#[path = "arp_tests.rs"]
mod tests;
