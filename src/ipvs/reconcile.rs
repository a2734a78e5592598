//! Desired vs actual -> the fewest operations that make the kernel match.
//!
//! Owns: the diff. Pure: two tables in, a [`Plan`] out; the caller dumps,
//! applies and retries. Must not: flush, delete or edit a service vigil
//! does not own, or replace by delete + add what an edit can change.
//!
//! Rules:
//! - A wanted service the kernel lacks: NEW_SERVICE, then NEW_DEST for each
//!   of its destinations.
//! - A service both have: SET_SERVICE only when what vigil sets differs
//!   (scheduler, persistence engine, flags except the kernel's HASHED,
//!   timeout, netmask); per destination, NEW_DEST when missing, SET_DEST
//!   when forwarding method, weight or thresholds differ, DEL_DEST when
//!   unwanted -- unless draining, where it is kept at weight 0 (one
//!   SET_DEST, then nothing until the caller ends the drain).
//! - A service the kernel has and vigil does not want: if vigil retired it
//!   (the previous config had it), DEL_SERVICE, or, while some of its
//!   destinations drain, the same per-destination rules with nothing
//!   wanted; otherwise it is foreign: reported, untouched. DR-path
//!   services (`dr_path`) follow the same rule: one the previous config
//!   had is retired, one found at start is another vigil's (two may share
//!   a box: the lab's batch test runs one beside the appliance's).
//! - Counters, the HASHED flag and tunnel fields vigil does not set never
//!   cause an op, so diffing the kernel's own dump after applying a plan
//!   gives an empty plan (a restart adopts the table as it stands).
//!
//! - A service whose desired entry has an `order` (an anycast service: the
//!   kernel's `mh` table follows its destination list, head first): its
//!   new destinations are added so that the list ends in that order. A
//!   destination already there and out of place is moved (deleted and
//!   added back: the kernel takes the same one back from its trash) only
//!   while it has no connections, because the kernel expires a deleted
//!   destination's connections within a tick (`expire_nodest_conn`);
//!   otherwise the list stays as it is and the service is reported
//!   `misordered` (a box that starts afresh would build another table).
//!
//! Order: new and edited before deleted, so capacity arrives before it
//! leaves; services before their destinations.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{Desired, RealId};
use super::kernel::{adding_order, Entry, Op, Table};
use super::wire::{Dest, DestId, FwdMethod, Service, ServiceId, SVC_F_HASHED};

/// What to do, and what was seen and left alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub ops: Vec<Op>,
    /// Services in the kernel that vigil neither wants nor retired.
    pub foreign: Vec<ServiceId>,
    /// Services whose destination list keeps an order and whose kernel
    /// list is not in it (and cannot be put in it without losing
    /// connections).
    pub misordered: Vec<ServiceId>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Whether the kernel's service already is what vigil would set.
pub fn service_matches(want: &Service, have: &Service) -> bool {
    want.scheduler == have.scheduler
        && want.pe_name == have.pe_name
        && want.flags & !SVC_F_HASHED == have.flags & !SVC_F_HASHED
        && want.timeout == have.timeout
        && want.netmask == have.netmask
}

/// Whether the kernel's destination already is what vigil would set.
/// Tunnel parameters count only when vigil sets them.
pub fn dest_matches(want: &Dest, have: &Dest) -> bool {
    want.fwd == have.fwd
        && want.weight == have.weight
        && want.u_thresh == have.u_thresh
        && want.l_thresh == have.l_thresh
        && (want.tunnel.is_none() || want.tunnel == have.tunnel)
}

/// The plan that turns `actual` into `desired` on the services vigil owns.
/// `retired`: services the previous config had and this one lacks.
pub fn diff(desired: &Desired, actual: &Table, retired: &BTreeSet<ServiceId>) -> Plan {
    let mut adds = Vec::new();
    let mut dels = Vec::new();
    let mut foreign = Vec::new();
    let mut misordered = Vec::new();
    let none = BTreeMap::new();

    for (id, want) in &desired.table.services {
        match actual.services.get(id) {
            None => {
                adds.push(Op::NewService(want.service.clone()));
                for d in adding_order(want) {
                    adds.push(Op::NewDest {
                        service: *id,
                        dest: d.clone(),
                    });
                }
            }
            Some(have) => {
                if !service_matches(&want.service, &have.service) {
                    adds.push(Op::SetService(want.service.clone()));
                }
                let (placed, in_order) = ordered(id, want, have, &mut adds);
                if !in_order {
                    misordered.push(*id);
                }
                dests(
                    id,
                    &want.dests,
                    &have.dests,
                    &placed,
                    &desired.draining,
                    &mut adds,
                    &mut dels,
                );
            }
        }
    }
    for (id, have) in &actual.services {
        if desired.table.services.contains_key(id) {
            continue;
        }
        if !retired.contains(id) {
            foreign.push(*id);
            continue;
        }
        let drains = have.dests.keys().any(|d| {
            desired.draining.contains(&RealId {
                service: *id,
                dest: *d,
            })
        });
        if drains {
            dests(
                id,
                &none,
                &have.dests,
                &BTreeSet::new(),
                &desired.draining,
                &mut adds,
                &mut dels,
            );
        } else {
            dels.push(Op::DelService(*id));
        }
    }
    adds.extend(dels);
    Plan {
        ops: adds,
        foreign,
        misordered,
    }
}

/// For a service whose desired entry keeps an order: the ops that put its
/// new destinations (and those it may move) in place, pushed to `adds`;
/// -> (the destinations they cover, which the caller's per-destination
/// rules leave alone; whether the kernel's list will be in order). The
/// kernel adds at the head, so the destinations that stay are a common
/// tail of the kernel's list and the wanted one; everything before that
/// tail is added in reverse, after the ones already there are deleted.
fn ordered(
    service: &ServiceId,
    want: &Entry,
    have: &Entry,
    adds: &mut Vec<Op>,
) -> (BTreeSet<DestId>, bool) {
    if want.order.is_empty() || !have.order_known() {
        return (BTreeSet::new(), true);
    }
    let kept: Vec<DestId> = (have.order.iter())
        .filter(|d| want.dests.contains_key(d))
        .copied()
        .collect();
    let tail = (kept.iter().rev())
        .zip(want.order.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let moving = &kept[..kept.len() - tail];
    let head: Vec<&DestId> = want.order.iter().take(want.order.len() - tail).collect();
    let idle =
        |d: &DestId| (have.dests.get(d)).is_some_and(|h| h.conns.is_some_and(|c| c.total() == 0));
    let in_order = moving.iter().all(idle);
    for d in moving.iter().filter(|_| in_order) {
        adds.push(Op::DelDest {
            service: *service,
            dest: *d,
        });
    }
    let mut placed = BTreeSet::new();
    for &d in head.iter().rev() {
        if !in_order && have.dests.contains_key(d) {
            continue;
        }
        if let Some(w) = want.dests.get(d) {
            adds.push(Op::NewDest {
                service: *service,
                dest: w.clone(),
            });
            placed.insert(*d);
        }
    }
    (placed, in_order)
}

fn dests(
    service: &ServiceId,
    want: &BTreeMap<DestId, Dest>,
    have: &BTreeMap<DestId, Dest>,
    placed: &BTreeSet<DestId>,
    draining: &BTreeSet<RealId>,
    adds: &mut Vec<Op>,
    dels: &mut Vec<Op>,
) {
    for (id, w) in want.iter().filter(|(id, _)| !placed.contains(id)) {
        match have.get(id) {
            None => adds.push(Op::NewDest {
                service: *service,
                dest: w.clone(),
            }),
            Some(h) if !dest_matches(w, h) => adds.push(Op::SetDest {
                service: *service,
                dest: w.clone(),
            }),
            Some(_) => {}
        }
    }
    for (id, h) in have {
        if want.contains_key(id) || placed.contains(id) {
            continue;
        }
        let real = RealId {
            service: *service,
            dest: *id,
        };
        if !draining.contains(&real) {
            dels.push(Op::DelDest {
                service: *service,
                dest: *id,
            });
        } else if h.weight != 0 {
            // Only the weight changes; a TUN dest keeps its tunnel.
            let quiesced = Dest {
                weight: 0,
                tunnel: h.tunnel.filter(|_| h.fwd == FwdMethod::Tunnel),
                conns: None,
                stats: None,
                ..h.clone()
            };
            adds.push(Op::SetDest {
                service: *service,
                dest: quiesced,
            });
        }
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
