//! VRRP wire codec: every byte of a received or sent advertisement.
//!
//! Owns: the zero-copy [`Packet`] view (named byte ranges, `new_checked`),
//! the checked meaning [`Repr`] (`parse` / `buffer_len` / `emit`), the
//! receive entry points [`decode_ipv4`] (a raw protocol-112 socket's bytes,
//! IPv4 header included) and [`decode_ipv6`] (payload plus what the kernel
//! reported in cmsgs), and [`DecodeError`], one variant per drop counter.
//! Must not: do I/O, read a clock, or judge whether a packet belongs to an
//! instance (VRID, authentication key, interval, own address): that is
//! `vrrp::filter`.
//!
//! Contract (smoltcp style): when parsing untrusted input use
//! [`Packet::new_checked`] (or the `decode_*` entry points, which do); the
//! accessors of a checked packet never panic. [`Repr::emit`] never panics:
//! it returns an error for a buffer shorter than [`Repr::buffer_len`].
//! All IP header slicing lives here and honours IHL; nothing assumes a
//! 20-byte IPv4 header.
//!
//! RFC 3768 section 5 (VRRPv2 format, simple-text authentication; AH, type
//! 2, is refused), RFC 3768 section 7.1 / RFC 5798 section 7.1 (receive
//! checks: TTL/hop limit 255, version, checksum, length vs count), RFC 5798
//! section 5 (VRRPv3 format) and 5.2.8 (checksum over the IPv4 or IPv6
//! pseudo-header).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::types::{AdverInt, Centiseconds, Priority, Version, Vrid};

/// IANA protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// Required IPv4 TTL / IPv6 hop limit of every advertisement.
pub const VRRP_TTL: u8 = 255;
/// Fixed part of the VRRP header, both versions.
pub const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data trailer.
pub const AUTH_DATA_LEN: usize = 8;
/// The count field is 8 bits.
pub const MAX_ADDRS: usize = 255;
/// Advertisement type, the only one defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the IPv4 header [`Repr::emit_ipv4`] writes.
pub const IPV4_HEADER_LEN: usize = 20;

const AUTH_TYPE_NONE: u8 = 0;
const AUTH_TYPE_SIMPLE: u8 = 1;

/// Why a received packet was dropped by the codec. One variant per drop
/// counter (see `vrrp::filter::DropReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("packet truncated: {len} bytes")]
    Truncated { len: usize },
    #[error("not an ipv4 packet: ip version {version}")]
    NotIpv4 { version: u8 },
    #[error("bad ipv4 header length: ihl {ihl}")]
    BadIpHeaderLength { ihl: u8 },
    #[error("ipv4 total length {total_len} does not fit the {buf_len}-byte buffer")]
    TotalLengthMismatch { total_len: u16, buf_len: usize },
    #[error("not vrrp: ip protocol {protocol}")]
    NotVrrpProtocol { protocol: u8 },
    #[error("ttl or hop limit {ttl}, must be 255")]
    TtlNot255 { ttl: u8 },
    #[error("unsupported vrrp version {version}")]
    BadVersion { version: u8 },
    #[error("unknown vrrp packet type {ty}")]
    BadType { ty: u8 },
    #[error("vrrpv2 received over ipv6")]
    V2OverIpv6,
    #[error("address count {count} does not match the {len}-byte vrrp message")]
    AddressCountMismatch { count: u8, len: usize },
    #[error("bad vrrp checksum")]
    Checksum,
    #[error("virtual router id 0")]
    ZeroVrid,
    #[error("unsupported authentication type {auth_type}")]
    AuthTypeUnsupported { auth_type: u8 },
    #[error("advertisement interval 0")]
    BadAdvertInterval,
}

/// Why [`Repr::emit`] refused to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmitError {
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
    #[error("pseudo-header addresses are not of the packet's address family")]
    FamilyMismatch,
}

/// Address family of the virtual addresses (and of the IP layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

mod field {
    use std::ops::Range;

    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2 only.
    pub const AUTH_TYPE: usize = 4;
    /// v2 only, seconds.
    pub const ADVER_INT: usize = 5;
    /// v3 only: 4 reserved bits + 12-bit centiseconds.
    pub const MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

/// Total VRRP message length for a version, family and address count.
pub const fn message_len(version: Version, family: Family, count: usize) -> usize {
    match version {
        Version::V2 => HEADER_LEN + count * 4 + AUTH_DATA_LEN,
        Version::V3 => HEADER_LEN + count * family.addr_len(),
    }
}

/// A read/write view of one VRRP message (no IP header). The address family
/// of a v3 message is not in its bytes, so the view carries it.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// A view without checks; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T, family: Family) -> Self {
        Self { buffer, family }
    }

    /// A view whose accessors cannot panic: the buffer is at least a header,
    /// of a known version and type, and exactly as long as its address count
    /// implies.
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, DecodeError> {
        let packet = Self::new_unchecked(buffer, family);
        packet.check_len()?;
        Ok(packet)
    }

    /// The checks of [`Packet::new_checked`].
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let buf = self.buffer.as_ref();
        let len = buf.len();
        if len < HEADER_LEN {
            return Err(DecodeError::Truncated { len });
        }
        let version = self.version_raw();
        let version = match version {
            2 => Version::V2,
            3 => Version::V3,
            _ => return Err(DecodeError::BadVersion { version }),
        };
        let ty = self.ty();
        if ty != TYPE_ADVERTISEMENT {
            return Err(DecodeError::BadType { ty });
        }
        if version == Version::V2 && self.family == Family::V6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let count = self.count();
        if message_len(version, self.family, usize::from(count)) != len {
            return Err(DecodeError::AddressCountMismatch { count, len });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The version nibble as sent.
    pub fn version_raw(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The version, if it is one this codec knows.
    pub fn version(&self) -> Option<Version> {
        match self.version_raw() {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }

    pub fn ty(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 authentication type.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2 advertisement interval, seconds.
    pub fn adver_int_secs(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3 Max Adver Int, centiseconds (reserved bits ignored, RFC 5798 5.2.6).
    pub fn max_adver_int(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MAX_ADVER_INT];
        u16::from_be_bytes([b[0], b[1]]) & AdverInt::MAX
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn addr_bytes(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let n = usize::from(self.count()) * self.family.addr_len();
        buf.get(field::ADDRS..field::ADDRS + n).unwrap_or(&[])
    }

    /// IPv4 addresses (empty for an IPv6 packet).
    pub fn addrs_v4(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let bytes = if self.family == Family::V4 {
            self.addr_bytes()
        } else {
            &[]
        };
        bytes
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }

    /// IPv6 addresses (empty for an IPv4 packet).
    pub fn addrs_v6(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        let bytes = if self.family == Family::V6 {
            self.addr_bytes()
        } else {
            &[]
        };
        bytes.chunks_exact(16).map(|c| {
            let mut a = [0u8; 16];
            a.copy_from_slice(c);
            Ipv6Addr::from(a)
        })
    }

    /// v2 authentication data: the 8 bytes after the addresses.
    pub fn auth_data(&self) -> [u8; AUTH_DATA_LEN] {
        let buf = self.buffer.as_ref();
        let start = field::ADDRS + usize::from(self.count()) * 4;
        let mut out = [0u8; AUTH_DATA_LEN];
        if let Some(src) = buf.get(start..start + AUTH_DATA_LEN) {
            out.copy_from_slice(src);
        }
        out
    }

    /// Checksum of the whole message (v2) or pseudo-header + message (v3);
    /// a correct packet sums to zero.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let buf = self.buffer.as_ref();
        let initial = match self.version() {
            Some(Version::V3) => pseudo_header_sum(src, dst, buf.len()),
            _ => 0,
        };
        fold(sum16(buf, initial)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: Version, ty: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version.number() << 4) | (ty & 0x0f);
    }

    pub fn set_vrid(&mut self, v: u8) {
        self.buffer.as_mut()[field::VRID] = v;
    }

    pub fn set_priority(&mut self, v: u8) {
        self.buffer.as_mut()[field::PRIORITY] = v;
    }

    pub fn set_count(&mut self, v: u8) {
        self.buffer.as_mut()[field::COUNT] = v;
    }

    pub fn set_auth_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = v;
    }

    pub fn set_adver_int_secs(&mut self, v: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = v;
    }

    /// Writes the 12-bit interval with the reserved bits zero.
    pub fn set_max_adver_int(&mut self, cs: u16) {
        self.buffer.as_mut()[field::MAX_ADVER_INT]
            .copy_from_slice(&(cs & AdverInt::MAX).to_be_bytes());
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    /// Computes and stores the checksum (pseudo-header for v3).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let buf = self.buffer.as_ref();
        let initial = match self.version() {
            Some(Version::V3) => pseudo_header_sum(src, dst, buf.len()),
            _ => 0,
        };
        let sum = !fold(sum16(buf, initial));
        self.set_checksum(sum);
    }
}

/// VRRPv2 authentication (RFC 3768 section 5.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0; the data field is sent as zero and ignored on receipt.
    None,
    /// Type 1: the key, zero-padded to 8 bytes.
    Simple([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// A simple-text key of at most 8 bytes, zero-padded; `None` if longer.
    pub fn simple(key: &[u8]) -> Option<Self> {
        if key.len() > AUTH_DATA_LEN {
            return None;
        }
        let mut k = [0u8; AUTH_DATA_LEN];
        k[..key.len()].copy_from_slice(key);
        Some(Auth::Simple(k))
    }
}

/// Virtual addresses of one advertisement; at most 255 by construction.
/// Fixed capacity on purpose: decoding allocates nothing (hence the
/// variant size difference).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addrs {
    V4(heapless::Vec<Ipv4Addr, MAX_ADDRS>),
    V6(heapless::Vec<Ipv6Addr, MAX_ADDRS>),
}

impl Addrs {
    pub fn family(&self) -> Family {
        match self {
            Addrs::V4(_) => Family::V4,
            Addrs::V6(_) => Family::V6,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Addrs::V4(v) => v.len(),
            Addrs::V6(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses as `IpAddr`, in packet order.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (a, b) = match self {
            Addrs::V4(v) => (Some(v.iter().map(|a| IpAddr::V4(*a))), None),
            Addrs::V6(v) => (None, Some(v.iter().map(|a| IpAddr::V6(*a)))),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }
}

/// Checked meaning of a VRRPv2 advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Repr {
    pub vrid: Vrid,
    pub priority: Priority,
    /// Advertisement interval in whole seconds, 1..=255.
    pub adver_int_secs: std::num::NonZeroU8,
    pub auth: Auth,
    pub addrs: heapless::Vec<Ipv4Addr, MAX_ADDRS>,
}

/// Checked meaning of a VRRPv3 advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Repr {
    pub vrid: Vrid,
    pub priority: Priority,
    pub max_adver_int: AdverInt,
    pub addrs: Addrs,
}

/// Checked meaning of an advertisement; cannot hold an illegal state (no v2
/// over IPv6, no v3 password, intervals and counts within their fields).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repr {
    V2(V2Repr),
    V3(V3Repr),
}

impl Repr {
    /// Validates a length-checked packet: checksum (with the pseudo-header
    /// addresses `src`/`dst` for v3), VRID, authentication type, interval.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<Self, DecodeError> {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(DecodeError::Checksum);
        }
        let vrid = Vrid::new(packet.vrid()).ok_or(DecodeError::ZeroVrid)?;
        let priority = Priority(packet.priority());
        match packet.version() {
            Some(Version::V2) => {
                let auth = match packet.auth_type() {
                    AUTH_TYPE_NONE => Auth::None,
                    AUTH_TYPE_SIMPLE => Auth::Simple(packet.auth_data()),
                    auth_type => return Err(DecodeError::AuthTypeUnsupported { auth_type }),
                };
                let adver_int_secs = std::num::NonZeroU8::new(packet.adver_int_secs())
                    .ok_or(DecodeError::BadAdvertInterval)?;
                let mut addrs = heapless::Vec::new();
                for a in packet.addrs_v4() {
                    // Cannot fail: count is a u8 and capacity is 255.
                    addrs
                        .push(a)
                        .map_err(|_| DecodeError::AddressCountMismatch {
                            count: packet.count(),
                            len: packet.buffer.as_ref().len(),
                        })?;
                }
                Ok(Repr::V2(V2Repr {
                    vrid,
                    priority,
                    adver_int_secs,
                    auth,
                    addrs,
                }))
            }
            Some(Version::V3) => {
                let max_adver_int =
                    AdverInt::new(packet.max_adver_int()).ok_or(DecodeError::BadAdvertInterval)?;
                let overflow = || DecodeError::AddressCountMismatch {
                    count: packet.count(),
                    len: packet.buffer.as_ref().len(),
                };
                let addrs = match packet.family() {
                    Family::V4 => {
                        let mut v = heapless::Vec::new();
                        for a in packet.addrs_v4() {
                            v.push(a).map_err(|_| overflow())?;
                        }
                        Addrs::V4(v)
                    }
                    Family::V6 => {
                        let mut v = heapless::Vec::new();
                        for a in packet.addrs_v6() {
                            v.push(a).map_err(|_| overflow())?;
                        }
                        Addrs::V6(v)
                    }
                };
                Ok(Repr::V3(V3Repr {
                    vrid,
                    priority,
                    max_adver_int,
                    addrs,
                }))
            }
            None => Err(DecodeError::BadVersion {
                version: packet.version_raw(),
            }),
        }
    }

    pub fn version(&self) -> Version {
        match self {
            Repr::V2(_) => Version::V2,
            Repr::V3(_) => Version::V3,
        }
    }

    pub fn vrid(&self) -> Vrid {
        match self {
            Repr::V2(r) => r.vrid,
            Repr::V3(r) => r.vrid,
        }
    }

    pub fn priority(&self) -> Priority {
        match self {
            Repr::V2(r) => r.priority,
            Repr::V3(r) => r.priority,
        }
    }

    /// The advertised interval in the machine's unit.
    pub fn interval(&self) -> Centiseconds {
        match self {
            Repr::V2(r) => Centiseconds::from_secs(r.adver_int_secs.get()),
            Repr::V3(r) => r.max_adver_int.centiseconds(),
        }
    }

    pub fn family(&self) -> Family {
        match self {
            Repr::V2(_) => Family::V4,
            Repr::V3(r) => r.addrs.family(),
        }
    }

    pub fn addr_count(&self) -> usize {
        match self {
            Repr::V2(r) => r.addrs.len(),
            Repr::V3(r) => r.addrs.len(),
        }
    }

    /// The virtual addresses, in packet order.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (a, b) = match self {
            Repr::V2(r) => (Some(r.addrs.iter().map(|a| IpAddr::V4(*a))), None),
            Repr::V3(r) => (None, Some(r.addrs.iter())),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }

    pub fn auth(&self) -> Auth {
        match self {
            Repr::V2(r) => r.auth,
            Repr::V3(_) => Auth::None,
        }
    }

    /// Length of the VRRP message `emit` writes.
    pub fn buffer_len(&self) -> usize {
        message_len(self.version(), self.family(), self.addr_count())
    }

    /// Writes the VRRP message (no IP header) into `buf[..buffer_len()]` and
    /// returns its length. `src`/`dst` are the IP addresses the message will
    /// carry (v3 checksum pseudo-header; ignored for v2). Never panics.
    pub fn emit(&self, buf: &mut [u8], src: IpAddr, dst: IpAddr) -> Result<usize, EmitError> {
        let need = self.buffer_len();
        let have = buf.len();
        let Some(buf) = buf.get_mut(..need) else {
            return Err(EmitError::BufferTooSmall { need, have });
        };
        if self.version() == Version::V3
            && (Family::of(src) != self.family() || Family::of(dst) != self.family())
        {
            return Err(EmitError::FamilyMismatch);
        }
        buf.fill(0);
        let mut p = Packet::new_unchecked(buf, self.family());
        p.set_version_type(self.version(), TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid().get());
        p.set_priority(self.priority().get());
        // addr_count() <= 255 by construction of heapless::Vec<_, 255>.
        p.set_count(u8::try_from(self.addr_count()).unwrap_or(u8::MAX));
        let addrs = &mut p.buffer[field::ADDRS..];
        match self {
            Repr::V2(r) => {
                for (chunk, a) in addrs.chunks_exact_mut(4).zip(r.addrs.iter()) {
                    chunk.copy_from_slice(&a.octets());
                }
                let (auth_type, data) = match r.auth {
                    Auth::None => (AUTH_TYPE_NONE, [0u8; AUTH_DATA_LEN]),
                    Auth::Simple(k) => (AUTH_TYPE_SIMPLE, k),
                };
                let at = r.addrs.len() * 4;
                addrs[at..at + AUTH_DATA_LEN].copy_from_slice(&data);
                p.set_auth_type(auth_type);
                p.set_adver_int_secs(r.adver_int_secs.get());
            }
            Repr::V3(r) => {
                match &r.addrs {
                    Addrs::V4(v) => {
                        for (chunk, a) in addrs.chunks_exact_mut(4).zip(v.iter()) {
                            chunk.copy_from_slice(&a.octets());
                        }
                    }
                    Addrs::V6(v) => {
                        for (chunk, a) in addrs.chunks_exact_mut(16).zip(v.iter()) {
                            chunk.copy_from_slice(&a.octets());
                        }
                    }
                }
                p.set_max_adver_int(r.max_adver_int.get());
            }
        }
        p.fill_checksum(src, dst);
        Ok(need)
    }

    /// Length of [`Repr::emit_ipv4`]'s output.
    pub fn ipv4_buffer_len(&self) -> usize {
        IPV4_HEADER_LEN + self.buffer_len()
    }

    /// Writes a 20-byte IPv4 header (TTL 255, protocol 112, TOS 0xc0 as
    /// keepalived sends) followed by the message: what a raw socket with
    /// IP_HDRINCL would send and what [`decode_ipv4`] reads. Never panics.
    pub fn emit_ipv4(
        &self,
        buf: &mut [u8],
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) -> Result<usize, EmitError> {
        self.emit_ipv4_ttl(buf, src, dst, VRRP_TTL)
    }

    /// [`Repr::emit_ipv4`] with another TTL: `unicast_ttl`'s adverts to
    /// unicast peers.
    pub fn emit_ipv4_ttl(
        &self,
        buf: &mut [u8],
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
    ) -> Result<usize, EmitError> {
        if self.family() != Family::V4 {
            return Err(EmitError::FamilyMismatch);
        }
        let need = self.ipv4_buffer_len();
        let have = buf.len();
        let Some(buf) = buf.get_mut(..need) else {
            return Err(EmitError::BufferTooSmall { need, have });
        };
        let total = u16::try_from(need).map_err(|_| EmitError::BufferTooSmall { need, have })?;
        let (ip, vrrp) = buf.split_at_mut(IPV4_HEADER_LEN);
        self.emit(vrrp, IpAddr::V4(src), IpAddr::V4(dst))?;
        ip.fill(0);
        ip[0] = 0x45;
        ip[1] = 0xc0;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[8] = ttl;
        ip[9] = IPPROTO_VRRP;
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        let csum = !fold(sum16(ip, 0));
        ip[10..12].copy_from_slice(&csum.to_be_bytes());
        Ok(need)
    }
}

/// A decoded advertisement with the IP addresses and the TTL / hop limit
/// it arrived with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 255 from [`decode_ipv4`] / [`decode_ipv6`]; any from the `_any_ttl`
    /// forms, whose caller checks it (the instance's filter: 255 unless
    /// `unicast_ttl`).
    pub ttl: u8,
    pub repr: Repr,
}

/// Decodes what a raw IPv4 protocol-112 socket returns: IPv4 header (any
/// IHL, options skipped) then the VRRP message. Checks IP version, IHL,
/// total length against the buffer, protocol 112 and TTL 255 (RFC 5798
/// section 7.1), then the message. Bytes past the total length are ignored.
pub fn decode_ipv4(raw: &[u8]) -> Result<Received, DecodeError> {
    ttl_255(decode_ipv4_any_ttl(raw)?)
}

/// [`decode_ipv4`] without the TTL check (the TTL is in [`Received`]):
/// what the receive sockets use, since only the instance knows whether it
/// takes unicast adverts of another TTL.
pub fn decode_ipv4_any_ttl(raw: &[u8]) -> Result<Received, DecodeError> {
    let len = raw.len();
    let Some(hdr) = raw.get(..IPV4_HEADER_LEN) else {
        return Err(DecodeError::Truncated { len });
    };
    let version = hdr[0] >> 4;
    if version != 4 {
        return Err(DecodeError::NotIpv4 { version });
    }
    let ihl = hdr[0] & 0x0f;
    let hdr_len = usize::from(ihl) * 4;
    if ihl < 5 || hdr_len > len {
        return Err(DecodeError::BadIpHeaderLength { ihl });
    }
    let total_len = u16::from_be_bytes([hdr[2], hdr[3]]);
    if usize::from(total_len) < hdr_len || usize::from(total_len) > len {
        return Err(DecodeError::TotalLengthMismatch {
            total_len,
            buf_len: len,
        });
    }
    let protocol = hdr[9];
    if protocol != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrpProtocol { protocol });
    }
    let ttl = hdr[8];
    let src = IpAddr::V4(Ipv4Addr::new(hdr[12], hdr[13], hdr[14], hdr[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(hdr[16], hdr[17], hdr[18], hdr[19]));
    let payload = raw.get(hdr_len..usize::from(total_len)).unwrap_or(&[]);
    let packet = Packet::new_checked(payload, Family::V4)?;
    let repr = Repr::parse(&packet, src, dst)?;
    Ok(Received {
        src,
        dst,
        ttl,
        repr,
    })
}

/// The RFC's TTL / hop limit check of a decoded advert.
fn ttl_255(rx: Received) -> Result<Received, DecodeError> {
    match rx.ttl {
        VRRP_TTL => Ok(rx),
        ttl => Err(DecodeError::TtlNot255 { ttl }),
    }
}

/// Decodes an IPv6 advertisement: the kernel strips the IPv6 header, so the
/// addresses come from recvmsg and the hop limit from IPV6_HOPLIMIT.
pub fn decode_ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    payload: &[u8],
) -> Result<Received, DecodeError> {
    ttl_255(decode_ipv6_any_ttl(src, dst, hop_limit, payload)?)
}

/// [`decode_ipv6`] without the hop limit check (see
/// [`decode_ipv4_any_ttl`]).
pub fn decode_ipv6_any_ttl(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    payload: &[u8],
) -> Result<Received, DecodeError> {
    let (src, dst) = (IpAddr::V6(src), IpAddr::V6(dst));
    let packet = Packet::new_checked(payload, Family::V6)?;
    let repr = Repr::parse(&packet, src, dst)?;
    Ok(Received {
        src,
        dst,
        ttl: hop_limit,
        repr,
    })
}

/// One's-complement sum of big-endian 16-bit words (odd byte padded).
fn sum16(data: &[u8], initial: u32) -> u32 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// RFC 5798 section 5.2.8: the IPv4 pseudo-header (src, dst, zero,
/// protocol, length) or the IPv6 one (RFC 8200 section 8.1: src, dst,
/// 32-bit length, 3 zero bytes, next header). Mixed families sum the
/// addresses as given; such a packet cannot verify against a real sender.
fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    let mut sum = 0u32;
    for a in [src, dst] {
        sum = match a {
            IpAddr::V4(a) => sum16(&a.octets(), sum),
            IpAddr::V6(a) => sum16(&a.octets(), sum),
        };
    }
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    sum += u32::from(IPPROTO_VRRP);
    sum += len >> 16;
    sum += len & 0xffff;
    sum
}

#[cfg(test)]
#[path = "packet_tests.rs"]
pub(crate) mod tests;
