//! The kernel identities of the real servers the health runner names.
//!
//! Owns: [`Names`], an index built once per (expanded) config that turns
//! the health runner's name of a real server (the config's service key and
//! the server's address and port, no protocol) into the [`RealId`]s the
//! kernel knows it by, and a virtual server's real server by its
//! [`DestId`]. Lookups cost the size of the answer, not of the config: the
//! IPVS task and `vigil status` look up every checked server, so a scan
//! per lookup made both quadratic (seconds at 100,000 destinations, on the
//! runtime that also pets the watchdog).
//!
//! Must not: hold state beyond the config it was built from (rebuild it
//! when the config changes), or reach the kernel.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::desired::{self, RealId};
use super::wire::DestId;
use crate::config::model::{Config, Protocol, RealServer, ServiceKey, VirtualServer};

/// A real server as the health runner names it: its address and port.
type Real = (IpAddr, Option<u16>);

/// An entry of the indexes below: an address and a port as integers,
/// one-to-one, computed once per entry, and a real server's index. The
/// indexes are searched by equality only (their order is this key's, not
/// `IpAddr`'s), and comparing integers is a fraction of comparing
/// `IpAddr`s (octets as a byte slice): the searches run millions of times
/// at 100,000 destinations (every status looks up every server). 24
/// bytes, fewer than an `IpAddr`, a port and an index take side by side.
#[derive(Debug, Clone, Copy)]
struct Entry {
    hi: u64,
    lo: u64,
    port: u32,
    index: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 24);

/// The searched part of an [`Entry`].
type Key = (u64, u64, u32);

/// Above every port's part of a [`Key`]: an IPv6 address's.
const V6: u32 = 1 << 17;

fn key(addr: IpAddr, port: Option<u16>) -> Key {
    // `None` apart from every port.
    let port = port.map_or(0, |p| u32::from(p) + 1);
    let (bits, port) = match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), port),
        IpAddr::V6(a) => (u128::from(a), V6 | port),
    };
    ((bits >> 64) as u64, bits as u64, port)
}

impl Entry {
    fn new((hi, lo, port): Key, index: u32) -> Entry {
        Entry {
            hi,
            lo,
            port,
            index,
        }
    }

    fn key(&self) -> Key {
        (self.hi, self.lo, self.port)
    }
}

/// The index. `config` must be the machine's expanded config (groups as
/// one virtual server per member), the one lookups are answered from.
#[derive(Debug, Default)]
pub struct Names {
    /// Virtual servers (index into `config.virtual_servers`) by key.
    by_key: FxHashMap<ServiceKey, Vec<usize>>,
    /// The members of each `virtual_server group`, by group and protocol.
    by_group: FxHashMap<(String, Protocol), Vec<usize>>,
    /// Per virtual server: its real servers' addresses and ports with
    /// their index, sorted (one allocation per virtual server, not one
    /// per real server; a status looks up every checked server).
    reals: Vec<Vec<Entry>>,
    /// Per virtual server: its real servers (index) by kernel dest, sorted
    /// by dest, one per dest: a binary search, in half a hash map's
    /// memory. Empty when every real server's dest is its address and
    /// port as named (a port given, as the kernel's): `reals` answers
    /// then, and the index is not held twice (2.4 MB at 100,000
    /// destinations).
    dests: Vec<Vec<Entry>>,
}

impl Names {
    pub fn new(config: &Config) -> Self {
        let mut n = Names::default();
        for (i, vs) in config.virtual_servers.iter().enumerate() {
            n.by_key.entry(vs.key).or_default().push(i);
            if let Some(g) = &vs.group {
                n.by_group
                    .entry((g.clone(), vs.protocol))
                    .or_default()
                    .push(i);
            }
            let mut reals: Vec<Entry> = Vec::with_capacity(vs.real_servers.len());
            let mut dests: Vec<Entry> = Vec::new();
            // Indexes as u32: the config's bounds (100,000 destinations)
            // keep them far below u32::MAX.
            for (j, rs) in (0..).zip(&vs.real_servers) {
                reals.push(Entry::new(key(rs.addr, rs.port), j));
                let d = desired::dest_id(vs, rs);
                dests.push(Entry::new(key(d.addr, Some(d.port)), j));
            }
            if (reals.iter().zip(&dests)).all(|(r, d)| r.key() == d.key()) {
                dests = Vec::new();
            }
            // By address and port, then index: equal servers in config
            // order, so the first of a run is the first of two servers
            // with one dest, as a front-to-back search would find it.
            reals.sort_unstable_by_key(|e| (e.key(), e.index));
            dests.sort_unstable_by_key(|e| (e.key(), e.index));
            dests.dedup_by_key(|e| e.key());
            n.reals.push(reals);
            n.dests.push(dests);
        }
        n
    }

    /// The kernel identities of the real server the health runner names
    /// `(service, real)`, in config order. The key lacks the protocol, so
    /// it can match several services. A group's real servers are checked
    /// once, named by the group's first service (`health::plan`): their
    /// result feeds every service of the group.
    pub fn reals_of(&self, config: &Config, service: ServiceKey, real: Real) -> Vec<RealId> {
        let mut out = Vec::new();
        self.each_real_of(config, service, real, |id, _| out.push(id));
        out
    }

    /// [`Names::reals_of`], each handed to `f` with its server (no list
    /// built: a status asks this of every checked server every 2 s).
    pub fn each_real_of(
        &self,
        config: &Config,
        service: ServiceKey,
        real: Real,
        mut f: impl FnMut(RealId, &RealServer),
    ) {
        let Some(named) = self.by_key.get(&service) else {
            return;
        };
        let grouped = |i: &usize| config.virtual_servers[*i].group.is_some();
        if !named.iter().any(grouped) {
            // Indexes pushed in config order: sorted, each once.
            for &i in named {
                self.each_in(config, i, real, &mut f);
            }
            return;
        }
        let mut servers: Vec<usize> = named.clone();
        for &i in named {
            let vs = &config.virtual_servers[i];
            if let Some(g) = &vs.group {
                if let Some(members) = self.by_group.get(&(g.clone(), vs.protocol)) {
                    servers.extend(members);
                }
            }
        }
        servers.sort_unstable();
        servers.dedup();
        for i in servers {
            self.each_in(config, i, real, &mut f);
        }
    }

    /// The identities of `real` among virtual server `i`'s real servers.
    fn each_in(
        &self,
        config: &Config,
        i: usize,
        real: Real,
        f: &mut impl FnMut(RealId, &RealServer),
    ) {
        let (Some(vs), Some(reals)) = (config.virtual_servers.get(i), self.reals.get(i)) else {
            return;
        };
        let real = key(real.0, real.1);
        let from = reals.partition_point(|e| e.key() < real);
        for e in reals[from..].iter().take_while(|e| e.key() == real) {
            if let Some(rs) = vs.real_servers.get(e.index as usize) {
                f(desired::real_id(vs, rs), rs);
            }
        }
    }

    /// The real server of virtual server number `vs_index` that the
    /// kernel knows as `dest`, if the config has one.
    pub fn real_server<'c>(
        &self,
        vs: &'c VirtualServer,
        vs_index: usize,
        dest: DestId,
    ) -> Option<&'c RealServer> {
        let (dests, reals) = (self.dests.get(vs_index)?, self.reals.get(vs_index)?);
        let dest = key(dest.addr, Some(dest.port));
        let found = if dests.is_empty() {
            reals.get(reals.partition_point(|e| e.key() < dest))
        } else {
            dests.get(dests.partition_point(|e| e.key() < dest))
        };
        let e = found.filter(|e| e.key() == dest)?;
        vs.real_servers.get(e.index as usize)
    }
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
