//! The appliance's sans-IO core: what the block wants against what the
//! kernel has, as the fewest ops in a safe order.
//!
//! Owns: [`plan`], the ownership rule (see the module above: routes by
//! protocol [`RTPROT_VIGIL`], addresses by "named by this block or the
//! previous one"), and the order of ops.
//! Must not: read or write anything (the edge reads [`Actual`] and runs
//! the [`Op`]s), remove a VIP or a link-local address, or plan anything
//! over a route of protocol `kernel`.
//!
//! Order, chosen so the box stays reachable while it changes:
//! 1. sysctls, `promote_secondaries` first: removing an owned primary
//!    IPv4 address must not flush the VIPs that are its secondaries;
//! 2. links: MTU, then up (a down link takes no route via a gateway);
//! 3. addresses whose prefix changed: the old one goes first (IPv6 keys
//!    an address without its prefix, so the new one would clash);
//! 4. new addresses, before the routes that need their subnet;
//! 5. routes: removals, then additions and changes (a change is one
//!    replace, so a changed default route never leaves a gap);
//! 6. addresses no longer named, once routes no longer use them;
//! 7. the hostname.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::RTPROT_VIGIL;
use crate::config::model::{Appliance, ApplianceInterface, IfAddr, Route};

/// `RTPROT_KERNEL`: the routes the kernel makes for its addresses.
pub const RTPROT_KERNEL: u8 = 2;

/// What the caller wants applied.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    pub block: &'a Appliance,
    /// The block applied before this one: its addresses are vigil's to
    /// remove. `None` on the first apply after a start (nothing removed).
    pub previous: Option<&'a Appliance>,
    /// VRRP's addresses (every instance's VIPs): never removed here.
    pub vips: &'a [IpAddr],
}

/// One link as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub index: u32,
    pub name: String,
    pub mtu: Option<u32>,
    pub admin_up: bool,
}

/// One address on one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrState {
    pub index: u32,
    pub addr: IfAddr,
}

/// One unicast route of the main table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteState {
    /// `0.0.0.0/0` or `::/0` for a default route.
    pub dest: IfAddr,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub protocol: u8,
}

/// The kernel's state, as far as the planner looks at it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actual {
    pub hostname: Option<String>,
    pub links: Vec<LinkState>,
    pub addresses: Vec<AddrState>,
    /// Main table, unicast, both families.
    pub routes: Vec<RouteState>,
    /// Current values of the [`sysctls`] asked for, by key; a key that
    /// could not be read is absent.
    pub sysctls: BTreeMap<String, String>,
}

/// One change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `key` is the path under /proc/sys (`net/ipv4/ip_forward`).
    WriteSysctl {
        key: String,
        value: String,
    },
    SetMtu {
        interface: String,
        index: u32,
        mtu: u32,
    },
    LinkUp {
        interface: String,
        index: u32,
    },
    AddAddress {
        interface: String,
        index: u32,
        addr: IfAddr,
    },
    RemoveAddress {
        interface: String,
        index: u32,
        addr: IfAddr,
    },
    /// Added with replace semantics and protocol [`RTPROT_VIGIL`]: a route
    /// of another (non-kernel) protocol with the same key is taken over.
    AddRoute {
        interface: String,
        index: u32,
        route: Route,
    },
    /// Vigil's route to `route.dest` goes elsewhere (one replace).
    ChangeRoute {
        interface: String,
        index: u32,
        route: Route,
        was: RouteState,
    },
    RemoveRoute {
        route: RouteState,
    },
    SetHostname {
        name: String,
    },
}

impl Op {
    /// The interface it changes, if one (the `interface` log field).
    pub fn interface(&self) -> Option<&str> {
        match self {
            Op::SetMtu { interface, .. }
            | Op::LinkUp { interface, .. }
            | Op::AddAddress { interface, .. }
            | Op::RemoveAddress { interface, .. }
            | Op::AddRoute { interface, .. }
            | Op::ChangeRoute { interface, .. } => Some(interface),
            Op::WriteSysctl { .. } | Op::RemoveRoute { .. } | Op::SetHostname { .. } => None,
        }
    }
}

/// What the block asks for that the planner will not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The block names a NIC the kernel does not have: its items wait.
    NoSuchInterface { interface: String },
    /// A route the kernel made for an address holds the destination.
    KernelRoute { interface: String, route: Route },
}

/// Ops in the order to run them, and what was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub ops: Vec<Op>,
    pub refused: Vec<Refusal>,
}

/// The sysctls the block wants, as (key under /proc/sys, value), for the
/// interfaces named in it: the edge reads these for [`Actual::sysctls`].
pub fn sysctls(block: &Appliance) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for nic in &block.interfaces {
        let key = |leaf: &str| format!("net/ipv4/conf/{}/{leaf}", nic.name);
        out.push((key("promote_secondaries"), "1".to_owned()));
        if let Some(v) = nic.arp_ignore {
            out.push((key("arp_ignore"), v.to_string()));
        }
        if let Some(v) = nic.arp_announce {
            out.push((key("arp_announce"), v.to_string()));
        }
    }
    let forward = if block.ip_forward { "1" } else { "0" };
    out.push(("net/ipv4/ip_forward".to_owned(), forward.to_owned()));
    out
}

/// Ops to bring `actual` to what `desired` asks, touching only what vigil
/// owns; nothing when they already agree.
pub fn plan(desired: &Desired<'_>, actual: &Actual) -> Plan {
    let mut p = Phases::default();
    let mut refused = Vec::new();
    let missing: BTreeSet<&str> = desired
        .block
        .interfaces
        .iter()
        .filter(|n| link(actual, n.name.as_str()).is_none())
        .map(|n| n.name.as_str())
        .collect();
    for name in &missing {
        refused.push(Refusal::NoSuchInterface {
            interface: (*name).to_owned(),
        });
    }
    plan_sysctls(desired.block, actual, &missing, &mut p);
    for nic in &desired.block.interfaces {
        if let Some(l) = link(actual, nic.name.as_str()) {
            plan_link(nic, l, &mut p);
        }
    }
    plan_addresses(desired, actual, &mut p);
    plan_routes(desired.block, actual, &mut p, &mut refused);
    if let Some(h) = &desired.block.hostname {
        if actual.hostname.as_deref() != Some(h.as_str()) {
            p.hostname.push(Op::SetHostname { name: h.clone() });
        }
    }
    Plan {
        ops: p.into_ops(),
        refused,
    }
}

/// Ops by phase (see the module header for why this order).
#[derive(Default)]
struct Phases {
    sysctls: Vec<Op>,
    links: Vec<Op>,
    readdress: Vec<Op>,
    add_addresses: Vec<Op>,
    remove_routes: Vec<Op>,
    put_routes: Vec<Op>,
    remove_addresses: Vec<Op>,
    hostname: Vec<Op>,
}

impl Phases {
    fn into_ops(self) -> Vec<Op> {
        [
            self.sysctls,
            self.links,
            self.readdress,
            self.add_addresses,
            self.remove_routes,
            self.put_routes,
            self.remove_addresses,
            self.hostname,
        ]
        .concat()
    }
}

fn link<'a>(actual: &'a Actual, name: &str) -> Option<&'a LinkState> {
    actual.links.iter().find(|l| l.name == name)
}

fn plan_sysctls(block: &Appliance, actual: &Actual, missing: &BTreeSet<&str>, p: &mut Phases) {
    let of_missing = |key: &str| {
        missing
            .iter()
            .any(|n| key.starts_with(&format!("net/ipv4/conf/{n}/")))
    };
    for (key, value) in sysctls(block) {
        if of_missing(&key) || actual.sysctls.get(&key) == Some(&value) {
            continue;
        }
        p.sysctls.push(Op::WriteSysctl { key, value });
    }
}

fn plan_link(nic: &ApplianceInterface, l: &LinkState, p: &mut Phases) {
    let interface = l.name.clone();
    if let Some(mtu) = nic.mtu.filter(|m| l.mtu != Some(*m)) {
        p.links.push(Op::SetMtu {
            interface: interface.clone(),
            index: l.index,
            mtu,
        });
    }
    if !l.admin_up {
        p.links.push(Op::LinkUp {
            interface,
            index: l.index,
        });
    }
}

/// Addresses a block names on one interface.
fn named<'a>(block: Option<&'a Appliance>, name: &str) -> &'a [IfAddr] {
    block
        .and_then(|b| b.interfaces.iter().find(|n| n.name.as_str() == name))
        .map_or(&[], |n| n.addresses.as_slice())
}

/// Link-local addresses are the kernel's: never removed.
fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_link_local(),
        IpAddr::V6(v) => v.segments()[0] & 0xffc0 == 0xfe80,
    }
}

fn plan_addresses(desired: &Desired<'_>, actual: &Actual, p: &mut Phases) {
    // Interfaces of this block and of the previous one: an interface
    // dropped from the block loses the addresses vigil gave it.
    let names: BTreeSet<&str> = [Some(desired.block), desired.previous]
        .into_iter()
        .flatten()
        .flat_map(|b| b.interfaces.iter().map(|n| n.name.as_str()))
        .collect();
    for name in names {
        let Some(l) = link(actual, name) else {
            continue;
        };
        let want = named(Some(desired.block), name);
        let had = named(desired.previous, name);
        let on_link: Vec<IfAddr> = actual
            .addresses
            .iter()
            .filter(|a| a.index == l.index)
            .map(|a| a.addr)
            .collect();
        let op = |addr: IfAddr, add: bool| {
            let (interface, index) = (name.to_owned(), l.index);
            if add {
                Op::AddAddress {
                    interface,
                    index,
                    addr,
                }
            } else {
                Op::RemoveAddress {
                    interface,
                    index,
                    addr,
                }
            }
        };
        let removable = |a: &IfAddr| !desired.vips.contains(&a.addr) && !is_link_local(&a.addr);
        for w in want.iter().filter(|w| !on_link.contains(w)) {
            p.add_addresses.push(op(*w, true));
        }
        for a in on_link.iter().filter(|a| !want.contains(a) && removable(a)) {
            // Same address, other prefix: its old form goes first.
            if want.iter().any(|w| w.addr == a.addr) {
                p.readdress.push(op(*a, false));
            } else if had.iter().any(|h| h.addr == a.addr) {
                p.remove_addresses.push(op(*a, false));
            }
        }
    }
}

fn plan_routes(block: &Appliance, actual: &Actual, p: &mut Phases, refused: &mut Vec<Refusal>) {
    let ours = |dest: IfAddr| {
        actual
            .routes
            .iter()
            .filter(move |r| r.protocol == RTPROT_VIGIL && r.dest == dest)
    };
    // Destinations the block routes, also on a missing NIC: vigil's route
    // there stays until the NIC is back.
    let mut wanted: BTreeSet<(IpAddr, u8)> = BTreeSet::new();
    for nic in &block.interfaces {
        let l = link(actual, nic.name.as_str());
        for route in &nic.routes {
            wanted.insert((route.dest.addr, route.dest.prefix));
            let Some(l) = l else { continue };
            let (interface, index, route) = (nic.name.to_string(), l.index, *route);
            let same = |r: &&RouteState| r.oif == Some(index) && r.via == Some(route.via);
            if ours(route.dest).any(|r| same(&r)) {
                continue;
            }
            if let Some(was) = ours(route.dest).next() {
                let was = *was;
                p.put_routes.push(Op::ChangeRoute {
                    interface,
                    index,
                    route,
                    was,
                });
            } else if actual
                .routes
                .iter()
                .any(|r| r.protocol == RTPROT_KERNEL && r.dest == route.dest)
            {
                refused.push(Refusal::KernelRoute { interface, route });
            } else {
                p.put_routes.push(Op::AddRoute {
                    interface,
                    index,
                    route,
                });
            }
        }
    }
    for r in actual.routes.iter().filter(|r| r.protocol == RTPROT_VIGIL) {
        if !wanted.contains(&(r.dest.addr, r.dest.prefix)) {
            p.remove_routes.push(Op::RemoveRoute { route: *r });
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
