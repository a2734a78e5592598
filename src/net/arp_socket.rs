//! AF_PACKET sockets for ARP (ETH_P_ARP) on one interface: the edge under
//! gratuitous ARP (`vrrp::socket::Gratuitous`), the ARP-theft watch
//! (`vrrp::arpwatch`) and `vigil doctor`'s probe.
//!
//! Owns: opening a non-blocking SOCK_RAW packet socket bound to one
//! ifindex for ARP frames, sending a [`Frame`], and reading raw frames
//! into a caller's buffer without waiting ([`try_recv`]).
//! Must not: parse or build frame bytes (`net::arp` does), or block: the
//! socket is non-blocking; callers wait for readiness under `AsyncFd` or
//! with a bounded `poll`.

use std::io;
use std::mem::MaybeUninit;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::arp::{Frame, ETH_P_ARP};

/// The largest frame read (an Ethernet frame without jumbo; ARP is 42-60).
pub const RX_FRAME: usize = 1536;

/// Opens an ARP packet socket on `ifindex`. `listen`: whether it reads
/// (a send-only socket gets no receive buffer).
pub fn open(ifindex: u32, listen: bool) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::PACKET,
        Type::RAW,
        Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))),
    )?;
    s.bind(&sockaddr_ll(ifindex, ETH_P_ARP))?;
    if !listen {
        let _ = s.set_recv_buffer_size(0);
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Sends one frame (to the frame's own Ethernet destination).
pub fn send(s: &Socket, frame: &Frame) -> io::Result<()> {
    s.send(&frame.to_bytes()).map(drop)
}

/// Reads one frame if one is waiting: `Ok(None)` when the socket is empty.
/// The frame is `buf[..n]`.
pub fn try_recv(s: &Socket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `recv` only writes initialised bytes into the slice, and
    // `[u8]` and `[MaybeUninit<u8>]` have the same layout.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    match s.recv(uninit) {
        Ok(n) => Ok(Some(n.min(buf.len()))),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

fn sockaddr_ll(ifindex: u32, proto: u16) -> SockAddr {
    // SAFETY: sockaddr_ll is a C struct of integers and a byte array, for
    // which all-zero bytes are a valid value (and the unset fields' meaning).
    let mut ll: nix::libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
    ll.sll_family = nix::libc::AF_PACKET as u16;
    ll.sll_protocol = proto.to_be();
    ll.sll_ifindex = ifindex as i32;
    let len = std::mem::size_of::<nix::libc::sockaddr_ll>() as nix::libc::socklen_t;
    // SAFETY: sockaddr_ll fits in sockaddr_storage; we copy `len` bytes of
    // a fully initialised value and report that length.
    unsafe {
        let (_, addr) = SockAddr::try_init(|storage, l| {
            std::ptr::copy_nonoverlapping(
                (&ll as *const nix::libc::sockaddr_ll).cast::<u8>(),
                storage.cast::<u8>(),
                len as usize,
            );
            *l = len;
            Ok(())
        })
        .expect("infallible");
        addr
    }
}
