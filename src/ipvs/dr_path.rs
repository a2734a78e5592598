//! The kernel side of DR-path checks: a check of a DR or TUN real server
//! that travels the way the balanced traffic does, to the VIP and port,
//! delivered to that one real server by IPVS itself.
//!
//! How: every such real server gets a fwmark service of its own, with it
//! as the only destination (same forwarding method, weight 1, whatever
//! its health: the check must reach a failed server to see it recover).
//! The checker marks its socket with that mark (SO_MARK) and connects to
//! the VIP from one of the box's own addresses; IPVS takes the packets at
//! LOCAL_OUT (its "local client" path) and forwards them as it forwards a
//! client's: to the real server's MAC with the VIP still the destination
//! (DR), or in IPIP (TUN). The real server answers the box directly, from
//! the VIP. That reply has a source that is local on the MASTER, which
//! Linux drops as a martian unless `accept_local` is on: the IPVS task sets
//! `net.ipv4.conf.all.accept_local = 1` while a config has IPv4 paths.
//!
//! Owns: which real servers get a path ([`Paths::of`]: DR and TUN real
//! servers of virtual servers with an address, when DR-path checks are on
//! for them, see [`enabled`]), the mark each gets (stable across reloads:
//! a hash of address and method in a range of its own, [`MARK_FIRST`],
//! probed in address order on a collision), their kernel entries, whether
//! a kernel service is one ([`is_path`]), which paths a dumped table holds
//! ([`ready`]), and what one checker's path is ([`CheckPath::of`]).
//! Must not: touch the kernel, or decide health.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::kernel::{Entry, Table};
use super::wire::{Af, Dest, DestId, FwdMethod, Service, ServiceId};
use crate::config::model::{
    CheckKind, Checker, Config, Method, RealServer, ServiceKey, VirtualServer,
};

/// The first mark of the range DR-path services use (`fwmark` virtual
/// servers in the range are refused by validate), and how many it holds.
pub use crate::config::bounds::{
    DR_PATH_MARK_COUNT as MARK_COUNT, DR_PATH_MARK_FIRST as MARK_FIRST,
};

pub use crate::config::bounds::is_dr_path_mark as is_path_mark;

/// Whether a kernel service is in the DR-path marks (some vigil's; owned,
/// as any service, only while this one's config needs it or just
/// dropped it).
pub fn is_path(id: &ServiceId) -> bool {
    matches!(id, ServiceId::Fwmark { mark, .. } if is_path_mark(*mark))
}

/// Whether DR-path checks are on for `vs`: its `dr_path_check`, else on
/// for a config with an `appliance` block (the box's own), off for a plain
/// keepalived.conf run as a drop-in.
pub fn enabled(config: &Config, vs: &VirtualServer) -> bool {
    vs.dr_path_check.unwrap_or(config.appliance.is_some())
}

/// A real server reached by a path: its address and forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Real {
    pub addr: IpAddr,
    /// TUN (else DR).
    pub tunnel: bool,
}

impl Real {
    fn of(vs: &VirtualServer, rs: &RealServer) -> Option<Real> {
        let tunnel = match rs.method.unwrap_or(vs.method) {
            Method::Nat => return None,
            Method::Dr => false,
            Method::Tun => true,
        };
        Some(Real {
            addr: rs.addr,
            tunnel,
        })
    }

    fn fwd(self) -> FwdMethod {
        if self.tunnel {
            FwdMethod::Tunnel
        } else {
            FwdMethod::Route
        }
    }

    /// FNV-1a of the address bytes and the method: where its mark is
    /// looked for first.
    fn slot(self) -> u32 {
        let bytes: Vec<u8> = match self.addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mut h: u32 = 0x811c_9dc5;
        for b in bytes.into_iter().chain([u8::from(self.tunnel)]) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h % MARK_COUNT
    }
}

/// The service address a virtual server's checks reach its real servers
/// through: its own, or a group's first address member; `None` for fwmark
/// services (no address to send to).
fn vip_of(config: &Config, vs: &VirtualServer) -> Option<(IpAddr, u16)> {
    let key = match &vs.group {
        None => vs.key,
        // The first address member's first address, without expanding the
        // group's ranges (this is asked per checker).
        Some(name) => (config.virtual_server_group(name)?.members.iter()).find_map(|m| {
            (m.keys(vs.key.is_ipv6()).next()).filter(|k| matches!(k, ServiceKey::Addr { .. }))
        })?,
    };
    match key {
        ServiceKey::Addr { addr, port } => Some((addr, port)),
        ServiceKey::Fwmark { .. } => None,
    }
}

/// Whether checker `c` of `rs` in `vs` goes by a path: DR-path checks on
/// for `vs`, which has an address of `rs`'s family, `rs` forwarded by DR
/// or TUN, and `c` a checker that connects to `rs` itself (no MISC_CHECK,
/// no `connect_ip` elsewhere).
pub fn goes_by_vip(config: &Config, vs: &VirtualServer, rs: &RealServer, c: &Checker) -> bool {
    enabled(config, vs)
        && path_checker(c, rs)
        && Real::of(vs, rs).is_some()
        && vip_of(config, vs).is_some_and(|(v, _)| v.is_ipv4() == rs.addr.is_ipv4())
}

/// Whether a checker of `rs` can go by a path: it connects (no
/// MISC_CHECK) to the real server itself (no `connect_ip` elsewhere).
fn path_checker(c: &Checker, rs: &RealServer) -> bool {
    !matches!(c.kind, CheckKind::Misc(_)) && c.connect_ip.is_none_or(|ip| ip == rs.addr)
}

/// The real servers of `vs` that checks reach by a path.
fn reals_of<'a>(config: &'a Config, vs: &'a VirtualServer) -> impl Iterator<Item = Real> + 'a {
    (vs.real_servers.iter())
        .filter(move |rs| rs.checkers.iter().any(|c| goes_by_vip(config, vs, rs, c)))
        .filter_map(move |rs| Real::of(vs, rs))
}

/// Every path a config needs, with its mark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paths {
    marks: BTreeMap<Real, u32>,
}

impl Paths {
    /// The paths of `config`. Marks are given in address order, each at
    /// its hash's slot or the next free one, so a reload that adds or
    /// removes a real server leaves every other mark as it was unless
    /// their slots collide.
    pub fn of(config: &Config) -> Paths {
        let reals: BTreeSet<Real> = (config.virtual_servers.iter())
            .flat_map(|vs| reals_of(config, vs))
            .collect();
        let mut taken = BTreeSet::new();
        let mut marks = BTreeMap::new();
        for r in reals {
            let mut slot = r.slot();
            while !taken.insert(slot) {
                slot = (slot + 1) % MARK_COUNT;
            }
            marks.insert(r, MARK_FIRST + slot);
        }
        Paths { marks }
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    pub fn len(&self) -> usize {
        self.marks.len()
    }

    /// The mark of a real server's path.
    pub fn mark(&self, real: Real) -> Option<u32> {
        self.marks.get(&real).copied()
    }

    /// Whether some path is IPv4 (the box then needs `accept_local`).
    pub fn any_ipv4(&self) -> bool {
        self.marks.keys().any(|r| r.addr.is_ipv4())
    }

    /// The kernel services of the paths.
    pub fn ids(&self) -> impl Iterator<Item = ServiceId> + '_ {
        self.marks.iter().map(|(r, &mark)| id(r.addr, mark))
    }

    /// The kernel entries of the paths: each a round-robin fwmark service
    /// of one destination at weight 1.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.marks.iter().map(|(r, &mark)| {
            let id = id(r.addr, mark);
            let af = id.af();
            let mut e = Entry::new(Service {
                id,
                scheduler: "rr".to_owned(),
                pe_name: None,
                flags: 0,
                timeout: 0,
                netmask: Service::netmask_for(af, if af == Af::V4 { 32 } else { 128 }),
                stats: None,
            });
            let dest = Dest {
                id: DestId {
                    addr: r.addr,
                    port: 0,
                },
                fwd: r.fwd(),
                weight: 1,
                u_thresh: 0,
                l_thresh: 0,
                tunnel: None,
                conns: None,
                stats: None,
            };
            e.dests.insert(dest.id, dest);
            e
        })
    }
}

fn id(addr: IpAddr, mark: u32) -> ServiceId {
    ServiceId::Fwmark {
        af: if addr.is_ipv4() { Af::V4 } else { Af::V6 },
        mark,
    }
}

/// The path services a kernel table holds with their destination: the
/// paths a check may use now. Published by the IPVS task after each pass.
pub type Ready = Arc<BTreeSet<ServiceId>>;

/// The paths of `paths` that `table` holds with their destination.
pub fn ready(paths: &Paths, table: &Table) -> Ready {
    Arc::new(
        paths
            .ids()
            .filter(|id| table.services.get(id).is_some_and(|e| !e.dests.is_empty()))
            .collect(),
    )
}

/// Where Linux's switch for packets from the wire with one of the box's
/// own addresses as source lives (`all` is ORed with each interface's).
pub const ACCEPT_LOCAL: &str = "/proc/sys/net/ipv4/conf/all/accept_local";

/// One checker's path: where it connects, and the mark that sends it to
/// its real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckPath {
    /// The VIP and the port the check asks for.
    pub vip: SocketAddr,
    pub mark: u32,
    /// TUN (else DR): only the words of a failure differ.
    pub tunnel: bool,
}

impl CheckPath {
    /// The path of checker `c` of `rs` in `vs`, connecting to `port`, if
    /// it has one.
    pub fn of(
        paths: &Paths,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        c: &Checker,
        port: u16,
    ) -> Option<CheckPath> {
        if !goes_by_vip(config, vs, rs, c) {
            return None;
        }
        let real = Real::of(vs, rs)?;
        let mark = paths.mark(real)?;
        // The checker's own port, through the VIP: the path's service is
        // a fwmark one, of every port, and DR and TUN keep the port.
        let (vip, _) = vip_of(config, vs)?;
        Some(CheckPath {
            vip: SocketAddr::new(vip, port),
            mark,
            tunnel: real.tunnel,
        })
    }

    /// The kernel service of this path.
    pub fn service(&self) -> ServiceId {
        id(self.vip.ip(), self.mark)
    }
}

#[cfg(test)]
#[path = "dr_path_tests.rs"]
mod tests;
