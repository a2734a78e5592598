//! The IPVS generic-netlink codec: commands, attribute numbers and the typed
//! meaning of the four attribute sets vigil reads and writes (service,
//! destination, sync daemon, and the top-level timeouts / info).
//!
//! Owns: every byte of an IPVS message after the netlink header: the genl
//! header (`cmd`, `version`), attribute framing (NLA TLVs, 4-byte aligned,
//! nested sets), the byte order of each field, and the rules the kernel
//! enforces on requests (NEW/SET_SERVICE carry SCHED_NAME, FLAGS, TIMEOUT
//! and NETMASK together). Must not: open sockets, know sequence numbers or
//! acks (that is [`super::client`]), or decide what the table should hold.
//!
//! Numbers come from `include/uapi/linux/ip_vs.h` (IPVS_GENL_VERSION 1);
//! the encoding of each attribute follows the kernel's policies and fill
//! functions in `net/netfilter/ipvs/ip_vs_ctl.c`:
//! - ports (service, dest, tunnel) and the IPv4 persistence netmask are
//!   big-endian; every other integer is in host order (as `nla_put_u32`);
//! - addresses are a 16-byte `union nf_inet_addr`, IPv4 in the first 4;
//! - an IPv6 service's NETMASK is a prefix length in host order;
//! - FLAGS is `struct ip_vs_flags { u32 flags; u32 mask; }`;
//! - the sync daemon's MCAST_GROUP is an IPv4 address (network order) and
//!   its MCAST_PORT a host-order u16.
//!
//! Decoding untrusted bytes never panics (fuzzed by `ipvs_decode`); unknown
//! attributes are skipped (newer kernels add some); when an attribute
//! repeats, the last one wins, as in the kernel's `nla_parse`. Whatever
//! decodes re-encodes to bytes that decode to an equal value.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod message;
mod table;

pub use message::*;
pub use table::*;

/// Generic netlink family name and version.
pub const GENL_NAME: &str = "IPVS";
pub const GENL_VERSION: u8 = 1;

/// `NLA_F_NESTED`; the top two bits of an attribute type are flags.
pub const NLA_F_NESTED: u16 = 1 << 15;
const NLA_TYPE_MASK: u16 = 0x3fff;
const NLA_HDRLEN: usize = 4;
/// The genl header: cmd, version, 2 reserved bytes.
pub const GENL_HDRLEN: usize = 4;

/// `IP_VS_SCHEDNAME_MAXLEN` / `IP_VS_PENAME_MAXLEN` / `IP_VS_IFNAME_MAXLEN`,
/// each including the NUL.
pub const NAME_MAXLEN: usize = 16;

// Service flags (IP_VS_SVC_F_*).
pub const SVC_F_PERSISTENT: u32 = 0x0001;
pub const SVC_F_HASHED: u32 = 0x0002;
pub const SVC_F_ONEPACKET: u32 = 0x0004;
pub const SVC_F_SCHED1: u32 = 0x0008;
pub const SVC_F_SCHED2: u32 = 0x0010;
pub const SVC_F_SCHED3: u32 = 0x0020;

/// `IP_VS_CONN_F_FWD_MASK`.
pub const CONN_F_FWD_MASK: u32 = 0x0007;

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const IPPROTO_TCP: u16 = 6;
pub const IPPROTO_UDP: u16 = 17;
pub const IPPROTO_SCTP: u16 = 132;

/// IPVS_CMD_*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Cmd {
    NewService = 1,
    SetService = 2,
    DelService = 3,
    GetService = 4,
    NewDest = 5,
    SetDest = 6,
    DelDest = 7,
    GetDest = 8,
    NewDaemon = 9,
    DelDaemon = 10,
    GetDaemon = 11,
    SetConfig = 12,
    GetConfig = 13,
    SetInfo = 14,
    GetInfo = 15,
    Zero = 16,
    Flush = 17,
}

impl Cmd {
    pub fn name(self) -> &'static str {
        match self {
            Cmd::NewService => "NEW_SERVICE",
            Cmd::SetService => "SET_SERVICE",
            Cmd::DelService => "DEL_SERVICE",
            Cmd::GetService => "GET_SERVICE",
            Cmd::NewDest => "NEW_DEST",
            Cmd::SetDest => "SET_DEST",
            Cmd::DelDest => "DEL_DEST",
            Cmd::GetDest => "GET_DEST",
            Cmd::NewDaemon => "NEW_DAEMON",
            Cmd::DelDaemon => "DEL_DAEMON",
            Cmd::GetDaemon => "GET_DAEMON",
            Cmd::SetConfig => "SET_CONFIG",
            Cmd::GetConfig => "GET_CONFIG",
            Cmd::SetInfo => "SET_INFO",
            Cmd::GetInfo => "GET_INFO",
            Cmd::Zero => "ZERO",
            Cmd::Flush => "FLUSH",
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// IPVS_CMD_ATTR_*: the top level of every IPVS message.
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// IPVS_SVC_ATTR_*, nested in `cmd_attr::SERVICE`.
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// IPVS_DEST_ATTR_*, nested in `cmd_attr::DEST`.
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// IPVS_DAEMON_ATTR_*, nested in `cmd_attr::DAEMON`.
pub mod daemon_attr {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// IPVS_STATS_ATTR_*, nested in the STATS / STATS64 attributes.
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
}

/// IPVS_INFO_ATTR_*, top level of the GET_INFO reply.
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

// ---------------------------------------------------------------------------
// Errors

/// Which attribute set an attribute number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrSet {
    Cmd,
    Service,
    Dest,
    Daemon,
    Stats,
    Info,
}

/// One attribute: its set and number (printed with its header name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrId {
    pub set: AttrSet,
    pub kind: u16,
}

impl AttrId {
    const fn new(set: AttrSet, kind: u16) -> Self {
        AttrId { set, kind }
    }

    /// The suffix of the header's name (`SCHED_NAME`), or `"?"`.
    pub fn name(&self) -> &'static str {
        const CMD: &[&str] = &[
            "UNSPEC",
            "SERVICE",
            "DEST",
            "DAEMON",
            "TIMEOUT_TCP",
            "TIMEOUT_TCP_FIN",
            "TIMEOUT_UDP",
        ];
        const SVC: &[&str] = &[
            "UNSPEC",
            "AF",
            "PROTOCOL",
            "ADDR",
            "PORT",
            "FWMARK",
            "SCHED_NAME",
            "FLAGS",
            "TIMEOUT",
            "NETMASK",
            "STATS",
            "PE_NAME",
            "STATS64",
        ];
        const DEST: &[&str] = &[
            "UNSPEC",
            "ADDR",
            "PORT",
            "FWD_METHOD",
            "WEIGHT",
            "U_THRESH",
            "L_THRESH",
            "ACTIVE_CONNS",
            "INACT_CONNS",
            "PERSIST_CONNS",
            "STATS",
            "ADDR_FAMILY",
            "STATS64",
            "TUN_TYPE",
            "TUN_PORT",
            "TUN_FLAGS",
        ];
        const DAEMON: &[&str] = &[
            "UNSPEC",
            "STATE",
            "MCAST_IFN",
            "SYNC_ID",
            "SYNC_MAXLEN",
            "MCAST_GROUP",
            "MCAST_GROUP6",
            "MCAST_PORT",
            "MCAST_TTL",
        ];
        const STATS: &[&str] = &[
            "UNSPEC", "CONNS", "INPKTS", "OUTPKTS", "INBYTES", "OUTBYTES", "CPS", "INPPS",
            "OUTPPS", "INBPS", "OUTBPS", "PAD",
        ];
        const INFO: &[&str] = &["UNSPEC", "VERSION", "CONN_TAB_SIZE"];
        let names = match self.set {
            AttrSet::Cmd => CMD,
            AttrSet::Service => SVC,
            AttrSet::Dest => DEST,
            AttrSet::Daemon => DAEMON,
            AttrSet::Stats => STATS,
            AttrSet::Info => INFO,
        };
        names.get(usize::from(self.kind)).copied().unwrap_or("?")
    }
}

impl fmt::Display for AttrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = match self.set {
            AttrSet::Cmd => "IPVS_CMD_ATTR",
            AttrSet::Service => "IPVS_SVC_ATTR",
            AttrSet::Dest => "IPVS_DEST_ATTR",
            AttrSet::Daemon => "IPVS_DAEMON_ATTR",
            AttrSet::Stats => "IPVS_STATS_ATTR",
            AttrSet::Info => "IPVS_INFO_ATTR",
        };
        write!(f, "{set}_{} ({})", self.name(), self.kind)
    }
}

/// Why bytes did not decode. One variant per problem; each names the
/// attribute (set and number) where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An attribute header or its declared length runs past the buffer.
    #[error("{set:?} attribute at byte {offset}: header or length past the end of {len} bytes")]
    Truncated {
        set: AttrSet,
        offset: usize,
        len: usize,
    },
    /// The genl header is shorter than 4 bytes.
    #[error("generic netlink header truncated ({len} bytes)")]
    ShortHeader { len: usize },
    /// A fixed-size attribute has the wrong payload length.
    #[error("{attr}: payload of {len} bytes, expected {expected}")]
    BadLength {
        attr: AttrId,
        len: usize,
        expected: usize,
    },
    /// A required attribute is absent.
    #[error("{attr} missing")]
    Missing { attr: AttrId },
    /// An address family other than AF_INET / AF_INET6.
    #[error("{attr}: address family {value} is neither AF_INET nor AF_INET6")]
    BadFamily { attr: AttrId, value: u16 },
    /// A string without its NUL, longer than the kernel's limit, or not
    /// UTF-8.
    #[error("{attr}: not a NUL-terminated UTF-8 name of at most {max} bytes")]
    BadString { attr: AttrId, max: usize },
    /// A forwarding method outside MASQ..BYPASS.
    #[error("{attr}: forwarding method {value} unknown")]
    BadFwdMethod { attr: AttrId, value: u32 },
    /// A sync daemon state other than MASTER / BACKUP.
    #[error("{attr}: sync daemon state {value} is neither MASTER (1) nor BACKUP (2)")]
    BadDaemonState { attr: AttrId, value: u32 },
}

// ---------------------------------------------------------------------------
// Attribute framing

/// One attribute to send: its number, whether it is a nested set, and the
/// payload (for a nested set, the encoded inner attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub kind: u16,
    pub nested: bool,
    pub payload: Vec<u8>,
}

impl Attr {
    pub(crate) fn new(kind: u16, payload: impl Into<Vec<u8>>) -> Self {
        Attr {
            kind,
            nested: false,
            payload: payload.into(),
        }
    }

    pub(crate) fn nest(kind: u16, inner: &[Attr]) -> Self {
        Attr {
            kind,
            nested: true,
            payload: emit_attrs(inner),
        }
    }

    fn u8(kind: u16, v: u8) -> Self {
        Attr::new(kind, [v])
    }
    fn u16(kind: u16, v: u16) -> Self {
        Attr::new(kind, v.to_ne_bytes())
    }
    fn be16(kind: u16, v: u16) -> Self {
        Attr::new(kind, v.to_be_bytes())
    }
    fn u32(kind: u16, v: u32) -> Self {
        Attr::new(kind, v.to_ne_bytes())
    }
    fn u64(kind: u16, v: u64) -> Self {
        Attr::new(kind, v.to_ne_bytes())
    }
    /// NUL-terminated, as NLA_NUL_STRING wants.
    pub(crate) fn string(kind: u16, s: &str) -> Self {
        let mut p = Vec::with_capacity(s.len() + 1);
        p.extend_from_slice(s.as_bytes());
        p.push(0);
        Attr::new(kind, p)
    }

    /// Bytes on the wire, without trailing padding.
    pub fn wire_len(&self) -> usize {
        NLA_HDRLEN + self.payload.len()
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Encode attributes as NLA TLVs, each padded to 4 bytes.
///
/// A payload longer than an attribute can say (65,531 bytes) is a bug in
/// the caller; nothing vigil builds comes near it.
pub fn emit_attrs(attrs: &[Attr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(attrs.iter().map(|a| align4(a.wire_len())).sum());
    for a in attrs {
        let len = u16::try_from(a.wire_len()).unwrap_or(u16::MAX);
        let kind = (a.kind & NLA_TYPE_MASK) | if a.nested { NLA_F_NESTED } else { 0 };
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&a.payload);
        out.resize(align4(out.len()), 0);
    }
    out
}

/// An iterator over the attributes of one set: `(number, payload)`, the
/// flag bits masked off. Stops after the first framing error.
pub struct Attrs<'a> {
    buf: &'a [u8],
    off: usize,
    set: AttrSet,
    failed: bool,
}

/// Walk the TLVs of `buf`, an attribute set of kind `set`.
pub fn attrs(buf: &[u8], set: AttrSet) -> Attrs<'_> {
    Attrs {
        buf,
        off: 0,
        set,
        failed: false,
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.off >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.off..];
        let err = DecodeError::Truncated {
            set: self.set,
            offset: self.off,
            len: self.buf.len(),
        };
        let (Some(l), Some(t)) = (rest.get(0..2), rest.get(2..4)) else {
            self.failed = true;
            return Some(Err(err));
        };
        let len = usize::from(u16::from_ne_bytes([l[0], l[1]]));
        let kind = u16::from_ne_bytes([t[0], t[1]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > rest.len() {
            self.failed = true;
            return Some(Err(err));
        }
        let payload = &rest[NLA_HDRLEN..len];
        // The last attribute may come without its padding.
        self.off += align4(len).min(rest.len());
        Some(Ok((kind, payload)))
    }
}

// Field readers: exact lengths, as the kernel emits them.

fn fixed<const N: usize>(attr: AttrId, p: &[u8]) -> Result<[u8; N], DecodeError> {
    p.try_into().map_err(|_| DecodeError::BadLength {
        attr,
        len: p.len(),
        expected: N,
    })
}

fn get_u8(attr: AttrId, p: &[u8]) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(attr, p)?[0])
}
fn get_u16(attr: AttrId, p: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(attr, p)?))
}
fn get_be16(attr: AttrId, p: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(attr, p)?))
}
fn get_u32(attr: AttrId, p: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(attr, p)?))
}
/// A counter: u32 in STATS, u64 in STATS64 (and for the byte counters).
fn get_counter(attr: AttrId, p: &[u8]) -> Result<u64, DecodeError> {
    match p.len() {
        4 => Ok(u64::from(get_u32(attr, p)?)),
        _ => Ok(u64::from_ne_bytes(fixed(attr, p)?)),
    }
}

fn get_string(attr: AttrId, p: &[u8]) -> Result<String, DecodeError> {
    let bad = DecodeError::BadString {
        attr,
        max: NAME_MAXLEN - 1,
    };
    let end = p.iter().position(|&b| b == 0).ok_or(bad.clone())?;
    if end >= NAME_MAXLEN {
        return Err(bad);
    }
    std::str::from_utf8(&p[..end])
        .map(str::to_owned)
        .map_err(|_| bad)
}

fn get_family(attr: AttrId, p: &[u8]) -> Result<Af, DecodeError> {
    let value = get_u16(attr, p)?;
    Af::from_raw(value).ok_or(DecodeError::BadFamily { attr, value })
}

/// A `union nf_inet_addr` (16 bytes) read in family `af`.
fn get_inet_addr(attr: AttrId, p: &[u8], af: Af) -> Result<IpAddr, DecodeError> {
    let b: [u8; 16] = fixed(attr, p)?;
    Ok(match af {
        Af::V4 => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        Af::V6 => IpAddr::V6(Ipv6Addr::from(b)),
    })
}

fn inet_addr(kind: u16, a: &IpAddr) -> Attr {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b = v6.octets(),
    }
    Attr::new(kind, b)
}

// ---------------------------------------------------------------------------
// Typed values

/// Address family of a service or destination.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Af {
    V4,
    V6,
}

impl Af {
    pub fn raw(self) -> u16 {
        match self {
            Af::V4 => AF_INET,
            Af::V6 => AF_INET6,
        }
    }
    pub fn from_raw(v: u16) -> Option<Af> {
        match v {
            AF_INET => Some(Af::V4),
            AF_INET6 => Some(Af::V6),
            _ => None,
        }
    }
    pub fn of(addr: &IpAddr) -> Af {
        if addr.is_ipv4() {
            Af::V4
        } else {
            Af::V6
        }
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
