//! Raw-socket edge of VRRP: protocol 112 in and out, gratuitous ARP and
//! unsolicited Neighbour Advertisements.
//!
//! Owns: opening and configuring the sockets ([`open_rx`], [`TxSocket`],
//! [`Gratuitous`]), reading one packet into the codec's entry points
//! ([`recv`]: `recvmsg` then `decode_ipv4` for IPv4, `recvmsg` with
//! IPV6_PKTINFO and IPV6_HOPLIMIT cmsgs then `decode_ipv6` for IPv6; on
//! both, SO_RXQ_OVFL's count of datagrams the kernel dropped for want of
//! buffer room, as [`Datagram::kernel_dropped`]) and writing adverts built
//! by `Repr::emit`.
//! Must not: parse or build VRRP bytes itself (the codec does, including
//! the v3 IPv6 checksum over the pseudo-header: IPV6_CHECKSUM stays off so
//! the kernel does not add its own), decide anything about state, or block
//! the runtime (sockets are non-blocking under `AsyncFd`).
//!
//! Socket choices (RFC 5798 section 5.1, RFC 3768 section 5.1):
//! - IPv4 receive: one raw IPPROTO_VRRP socket per interface, bound with
//!   SO_BINDTODEVICE, joined to `vrrp_mcast_group4` on that interface.
//! - IPv4 send: a raw IPPROTO_RAW socket (header included): the codec
//!   writes the IPv4 header with TTL 255 (`unicast_ttl` to a unicast
//!   peer) and the chosen source address. Received adverts of any TTL are
//!   decoded; the instance's filter checks it (255 unless `unicast_ttl`).
//!   IP_MULTICAST_TTL / TTL 255 and IP_MULTICAST_LOOP off are set too.
//! - IPv6 receive: one raw socket per interface, bound to the device,
//!   joined to `vrrp_mcast_group6`, IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO
//!   on; the kernel strips the IPv6 header, so source, destination and hop
//!   limit come from recvmsg.
//! - IPv6 send: a raw IPPROTO_VRRP socket bound to the source address
//!   (the link-local) on the device, IPV6_MULTICAST_HOPS 255 and unicast
//!   hops 255 (or `unicast_ttl`), multicast loop off.
//! - Gratuitous ARP: AF_PACKET, an ARP request with sender = target = VIP
//!   to the broadcast address (RFC 5227 announcement form), built by
//!   `net::arp::announcement`.
//! - Unsolicited NA (RFC 4861 section 7.2.6): ICMPv6 type 136, Override
//!   set, Solicited clear, to ff02::1, hop limit 255, target = VIP, with a
//!   Target Link-Layer Address option; the kernel fills the ICMPv6 checksum.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::net::{arp, arp_socket};

use super::packet::{
    decode_ipv4_any_ttl, decode_ipv6, decode_ipv6_any_ttl, DecodeError, Family, Received, Repr,
    IPPROTO_VRRP, VRRP_TTL,
};

/// Largest VRRP packet we read: 64 IPv6 addresses fit in 1,100 bytes.
pub const RX_BUF: usize = 2048;

const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_RAW: i32 = 255;
const IPPROTO_ICMPV6: i32 = 58;

fn vrrp_proto() -> Protocol {
    Protocol::from(i32::from(IPPROTO_VRRP))
}

/// Opens the receive socket of one (interface, family), joined to `group`
/// (a multicast address; unicast-only setups still join, harmlessly).
pub fn open_rx(
    ifname: &str,
    ifindex: u32,
    family: Family,
    group: IpAddr,
) -> io::Result<AsyncFd<Socket>> {
    let s = match family {
        Family::V4 => Socket::new(Domain::IPV4, Type::RAW, Some(vrrp_proto()))?,
        Family::V6 => Socket::new(Domain::IPV6, Type::RAW, Some(vrrp_proto()))?,
    };
    s.bind_device(Some(ifname.as_bytes()))?;
    match (family, group) {
        (Family::V4, IpAddr::V4(g)) if g.is_multicast() => {
            s.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex))?;
            s.set_multicast_loop_v4(false)?;
        }
        (Family::V6, IpAddr::V6(g)) if g.is_multicast() => {
            s.join_multicast_v6(&g, ifindex)?;
            s.set_multicast_loop_v6(false)?;
        }
        _ => {}
    }
    setsockopt(&s, sockopt::RxqOvfl, &1).map_err(io::Error::from)?;
    if family == Family::V6 {
        setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
        setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
    }
    s.set_nonblocking(true)?;
    // SAFETY: `Socket` owns its fd and closes it only on drop, which
    // deregisters it first (the AsyncFd owns the Socket).
    unsafe { AsyncFd::register(s).map_err(io::Error::from) }
}

/// One datagram read from a receive socket.
#[derive(Debug)]
pub struct Datagram {
    /// The codec's verdict: the advert, or its reason to drop it.
    pub decoded: Result<Received, DecodeError>,
    /// The kernel's running count of datagrams this socket dropped for
    /// want of buffer room, when it reported one (SO_RXQ_OVFL: from the
    /// first such drop on).
    pub kernel_dropped: Option<u32>,
}

/// Reads one packet and decodes it. The error is a socket error.
pub async fn recv(fd: &AsyncFd<Socket>, family: Family, buf: &mut [u8]) -> io::Result<Datagram> {
    loop {
        let mut guard = fd.readable().await?;
        match guard.try_io(|inner| recv_one(inner.get_ref(), family, buf)) {
            Ok(r) => return r,
            Err(_would_block) => continue,
        }
    }
}

/// Reads one more datagram if one is waiting (`None`: the socket is
/// empty), without waiting: the receive task drains a batch this way
/// after [`recv`] returned.
pub fn try_recv(
    fd: &AsyncFd<Socket>,
    family: Family,
    buf: &mut [u8],
) -> io::Result<Option<Datagram>> {
    match recv_one(fd.get_ref(), family, buf) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

fn recv_one(s: &Socket, family: Family, buf: &mut [u8]) -> io::Result<Datagram> {
    let mut cmsg = nix::cmsg_space!(nix::libc::in6_pktinfo, nix::libc::c_int, u32);
    let mut iov = [IoSliceMut::new(buf)];
    let msg =
        recvmsg::<SockaddrStorage>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(io::Error::from)?;
    let n = msg.bytes;
    let src = msg
        .address
        .and_then(|a| a.as_sockaddr_in6().map(|a| a.ip()));
    let (mut dst, mut hop, mut kernel_dropped) = (None, None, None);
    for c in msg.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr))
            }
            ControlMessageOwned::Ipv6HopLimit(h) => hop = u8::try_from(h).ok(),
            ControlMessageOwned::RxqOvfl(d) => kernel_dropped = Some(d),
            _ => {}
        }
    }
    let payload = &buf[..n];
    let decoded = match family {
        Family::V4 => decode_ipv4_any_ttl(payload),
        Family::V6 => match (src, dst, hop) {
            (Some(src), Some(dst), Some(hop)) => decode_ipv6_any_ttl(src, dst, hop, payload),
            // No hop limit reported: cannot be trusted, refused whatever
            // the instance takes.
            (Some(src), Some(dst), None) => decode_ipv6(src, dst, 0, payload),
            _ => Err(DecodeError::Truncated { len: n }),
        },
    };
    Ok(Datagram {
        decoded,
        kernel_dropped,
    })
}

/// The send side of one instance.
pub struct TxSocket {
    sock: Socket,
    ifindex: u32,
    src: IpAddr,
    /// TTL / hop limit of unicast adverts (`unicast_ttl`, else 255).
    ttl: u8,
    buf: Vec<u8>,
}

impl TxSocket {
    /// `ttl`: of adverts to unicast peers (multicast ones carry 255).
    pub fn open(ifname: &str, ifindex: u32, src: IpAddr, ttl: u8) -> io::Result<Self> {
        let sock = match src {
            IpAddr::V4(_) => {
                let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_RAW)))?;
                s.set_header_included_v4(true)?;
                s.set_ttl_v4(255)?;
                s.set_multicast_ttl_v4(255)?;
                s.set_multicast_loop_v4(false)?;
                s.bind_device(Some(ifname.as_bytes()))?;
                s
            }
            IpAddr::V6(a) => {
                let s = Socket::new(Domain::IPV6, Type::RAW, Some(vrrp_proto()))?;
                s.bind_device(Some(ifname.as_bytes()))?;
                s.set_multicast_hops_v6(255)?;
                s.set_unicast_hops_v6(u32::from(ttl))?;
                s.set_multicast_loop_v6(false)?;
                s.set_multicast_if_v6(ifindex)?;
                let scope = if is_link_local(a) { ifindex } else { 0 };
                s.bind(&SockAddr::from(SocketAddrV6::new(a, 0, 0, scope)))?;
                // Send-only: keep what it would queue to the minimum.
                let _ = s.set_recv_buffer_size(0);
                s
            }
        };
        sock.set_nonblocking(true)?;
        Ok(Self {
            sock,
            ifindex,
            src,
            ttl,
            buf: vec![0; RX_BUF],
        })
    }

    /// A reload's new `unicast_ttl`.
    pub fn set_ttl(&mut self, ttl: u8) -> io::Result<()> {
        if self.src.is_ipv6() {
            self.sock.set_unicast_hops_v6(u32::from(ttl))?;
        }
        self.ttl = ttl;
        Ok(())
    }

    /// Emits `repr` to `dst` (checksum over the right pseudo-header) and
    /// sends it. A full socket buffer is an error the caller logs.
    pub fn send(&mut self, repr: &Repr, dst: IpAddr) -> io::Result<()> {
        let emit_err = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
        match (self.src, dst) {
            (IpAddr::V4(src), IpAddr::V4(d)) => {
                let ttl = if d.is_multicast() { VRRP_TTL } else { self.ttl };
                let n = (repr.emit_ipv4_ttl(&mut self.buf, src, d, ttl)).map_err(emit_err)?;
                let to = SockAddr::from(SocketAddrV4::new(d, 0));
                self.sock.send_to(&self.buf[..n], &to)?;
            }
            (IpAddr::V6(_), IpAddr::V6(d)) => {
                let n = repr.emit(&mut self.buf, self.src, dst).map_err(emit_err)?;
                let scope = if is_link_local(d) || d.is_multicast() {
                    self.ifindex
                } else {
                    0
                };
                let to = SockAddr::from(SocketAddrV6::new(d, 0, 0, scope));
                self.sock.send_to(&self.buf[..n], &to)?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "source and destination families differ",
                ))
            }
        }
        Ok(())
    }
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Gratuitous ARP / unsolicited NA sender of one interface.
pub struct Gratuitous {
    packet: Option<Socket>,
    icmp6: Option<Socket>,
    mac: [u8; 6],
}

impl Gratuitous {
    /// `v4`/`v6`: whether the interface carries VIPs of that family.
    /// `ll`: the link-local source of NAs.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        mac: [u8; 6],
        v4: bool,
        ll: Option<Ipv6Addr>,
    ) -> io::Result<Self> {
        let packet = if v4 {
            Some(arp_socket::open(ifindex, false)?)
        } else {
            None
        };
        let icmp6 = match ll {
            Some(ll) => {
                let s = Socket::new(
                    Domain::IPV6,
                    Type::RAW,
                    Some(Protocol::from(IPPROTO_ICMPV6)),
                )?;
                s.bind_device(Some(ifname.as_bytes()))?;
                s.set_multicast_hops_v6(255)?;
                s.set_unicast_hops_v6(255)?;
                s.set_multicast_if_v6(ifindex)?;
                s.set_multicast_loop_v6(false)?;
                s.bind(&SockAddr::from(SocketAddrV6::new(ll, 0, 0, ifindex)))?;
                let _ = s.set_recv_buffer_size(0);
                s.set_nonblocking(true)?;
                Some(s)
            }
            None => None,
        };
        let _ = ETH_P_IPV6;
        Ok(Self { packet, icmp6, mac })
    }

    /// Sends one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `vip`.
    pub fn send(&self, vip: IpAddr, ifindex: u32) -> io::Result<()> {
        match vip {
            IpAddr::V4(v) => {
                let s = self.packet.as_ref().ok_or_else(no_socket)?;
                arp_socket::send(s, &arp::announcement(self.mac, v))?;
            }
            IpAddr::V6(v) => {
                let s = self.icmp6.as_ref().ok_or_else(no_socket)?;
                let to = SockAddr::from(SocketAddrV6::new(
                    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                    0,
                    0,
                    ifindex,
                ));
                s.send_to(&na_message(self.mac, v), &to)?;
            }
        }
        Ok(())
    }
}

fn no_socket() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "no socket for this family")
}

/// ICMPv6 Neighbour Advertisement (checksum left zero: the kernel fills
/// it on a raw ICMPv6 socket), Override flag, with a TLLA option.
pub fn na_message(mac: [u8; 6], target: Ipv6Addr) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[0] = 136;
    m[4] = 0x20; // R=0 S=0 O=1
    m[8..24].copy_from_slice(&target.octets());
    m[24] = 2; // Target Link-Layer Address
    m[25] = 1; // 8 octets
    m[26..32].copy_from_slice(&mac);
    m
}

#[cfg(test)]
#[path = "socket_tests.rs"]
mod tests;
