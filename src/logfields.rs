//! The log vocabulary: how the things log lines are about are written as
//! field values, so one thing reads the same in every module's lines.
//!
//! Owns: the value formats of the `virtual_server`, `real_server` and
//! `family` fields (the table of every field name is in
//! `daemon::logging`'s header and ARCHITECTURE.md). A virtual server is
//! written the same whether a line starts from the config (`ServiceKey` +
//! `Protocol`: health checks) or from the kernel (`ServiceId`: the IPVS
//! task), so `journalctl VIRTUAL_SERVER=192.168.1.200:80/tcp` finds both.
//! Must not: log anything, or hold state.

use std::fmt;
use std::net::IpAddr;

use crate::config::model::{Protocol, ServiceKey};
use crate::ipvs::desired;
use crate::ipvs::kernel::Op;
use crate::ipvs::wire::{Af, DestId, ServiceId, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use crate::vrrp::packet::Family;

/// A `virtual_server` field value: `192.168.1.200:80/tcp`,
/// `[2001:db8::1]:443/tcp`, `fwmark 1`, `fwmark 1/ipv6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualServer(ServiceId);

impl VirtualServer {
    /// From the kernel's key (the IPVS task's lines).
    pub fn kernel(id: &ServiceId) -> Self {
        VirtualServer(*id)
    }

    /// From the config's key and protocol (the protocol is ignored for a
    /// fwmark service, as the kernel ignores it).
    pub fn config(key: ServiceKey, protocol: Protocol) -> Self {
        let id = match key {
            ServiceKey::Addr { addr, port } => ServiceId::Addr {
                protocol: desired::protocol(protocol),
                addr,
                port,
            },
            ServiceKey::Fwmark { mark, ipv6 } => ServiceId::Fwmark {
                af: if ipv6 { Af::V6 } else { Af::V4 },
                mark,
            },
        };
        VirtualServer(id)
    }
}

impl fmt::Display for VirtualServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ServiceId::Addr {
                protocol,
                addr,
                port,
            } => {
                write!(f, "{}/", SocketLike(addr, port))?;
                match protocol {
                    IPPROTO_TCP => f.write_str("tcp"),
                    IPPROTO_UDP => f.write_str("udp"),
                    IPPROTO_SCTP => f.write_str("sctp"),
                    n => write!(f, "proto{n}"),
                }
            }
            ServiceId::Fwmark { af: Af::V4, mark } => write!(f, "fwmark {mark}"),
            ServiceId::Fwmark { af: Af::V6, mark } => write!(f, "fwmark {mark}/ipv6"),
        }
    }
}

/// A `real_server` field value: `10.0.0.2:8080`, `[2001:db8::2]:80`, or
/// the bare address when it has no port (the config gave none, or the
/// kernel holds port 0: a fwmark service's destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServer {
    addr: IpAddr,
    port: Option<u16>,
}

impl RealServer {
    /// From the config's address and optional port (health checks).
    pub fn config(addr: IpAddr, port: Option<u16>) -> Self {
        RealServer { addr, port }
    }

    /// From the kernel's destination (the IPVS task's lines).
    pub fn kernel(d: &DestId) -> Self {
        RealServer {
            addr: d.addr,
            port: (d.port != 0).then_some(d.port),
        }
    }
}

impl fmt::Display for RealServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => SocketLike(self.addr, port).fmt(f),
            None => self.addr.fmt(f),
        }
    }
}

/// What an IPVS op is about: its service, and its destination if it has
/// one.
pub fn op_subject(op: &Op) -> (VirtualServer, Option<RealServer>) {
    match op {
        Op::NewService(s) | Op::SetService(s) => (VirtualServer::kernel(&s.id), None),
        Op::DelService(id) => (VirtualServer::kernel(id), None),
        Op::NewDest { service, dest } | Op::SetDest { service, dest } => (
            VirtualServer::kernel(service),
            Some(RealServer::kernel(&dest.id)),
        ),
        Op::DelDest { service, dest } => (
            VirtualServer::kernel(service),
            Some(RealServer::kernel(dest)),
        ),
    }
}

/// An `error` field value: the error and its causes on one line,
/// `cannot bring eth1 up: No such device (os error 19)`.
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// `addr:port`, an IPv6 address in brackets.
struct SocketLike(IpAddr, u16);

impl fmt::Display for SocketLike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

/// A `family` field value: `ipv4` or `ipv6`.
pub fn family(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

#[cfg(test)]
#[path = "logfields_tests.rs"]
mod tests;
