//! Which anycast addresses this box announces, and how.
//!
//! Owns: the rule. An address is announced while every IPVS service that
//! carries it (the `anycast` virtual servers of that address, a group's
//! members each) has quorum and is in the kernel's table; a drained box
//! announces nothing (`drain withdraw`) or everything it would with its
//! AS prepended (`drain prepend N`). Must not: do I/O or read a clock.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::config::model::{BgpDrain, Config};
use crate::ipvs::desired::service_id;
use crate::ipvs::wire::ServiceId;

/// Each anycast address with the services that carry it.
pub type Targets = BTreeMap<IpAddr, Vec<ServiceId>>;

/// The services that serve now: quorum held and the kernel's table has
/// them (the IPVS task publishes it after every pass).
pub type Serving = BTreeSet<ServiceId>;

/// The anycast addresses of `config` and their services.
pub fn targets(config: &Config) -> Targets {
    let mut out = Targets::new();
    for vs in config.services().iter() {
        if let Some(a) = vs.anycast {
            out.entry(a).or_default().push(service_id(vs));
        }
    }
    out
}

/// What BIRD is told to announce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Announce {
    pub routes: BTreeSet<IpAddr>,
    /// How many more times the local AS is prepended (a drain by prepend).
    pub prepend: u8,
}

/// The addresses whose services all serve; none, or all prepended, when
/// the box is drained.
pub fn decide(targets: &Targets, serving: &Serving, drained: Option<BgpDrain>) -> Announce {
    let routes = (targets.iter())
        .filter(|(_, ids)| ids.iter().all(|id| serving.contains(id)))
        .map(|(a, _)| *a)
        .collect();
    match drained {
        None => Announce { routes, prepend: 0 },
        Some(BgpDrain::Withdraw) => Announce::default(),
        Some(BgpDrain::Prepend(n)) => Announce { routes, prepend: n },
    }
}

#[cfg(test)]
#[path = "announce_tests.rs"]
mod tests;
