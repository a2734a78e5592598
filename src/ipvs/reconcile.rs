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
//! Order: new and edited before deleted, so capacity arrives before it
//! leaves; services before their destinations.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{Desired, RealId};
use super::kernel::{Op, Table};
use super::wire::{Dest, DestId, FwdMethod, Service, ServiceId, SVC_F_HASHED};

/// What to do, and what was seen and left alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub ops: Vec<Op>,
    /// Services in the kernel that vigil neither wants nor retired.
    pub foreign: Vec<ServiceId>,
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
    let none = BTreeMap::new();

    for (id, want) in &desired.table.services {
        match actual.services.get(id) {
            None => {
                adds.push(Op::NewService(want.service.clone()));
                for d in want.dests.values() {
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
                dests(
                    id,
                    &want.dests,
                    &have.dests,
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
                &desired.draining,
                &mut adds,
                &mut dels,
            );
        } else {
            dels.push(Op::DelService(*id));
        }
    }
    adds.extend(dels);
    Plan { ops: adds, foreign }
}

fn dests(
    service: &ServiceId,
    want: &BTreeMap<DestId, Dest>,
    have: &BTreeMap<DestId, Dest>,
    draining: &BTreeSet<RealId>,
    adds: &mut Vec<Op>,
    dels: &mut Vec<Op>,
) {
    for (id, w) in want {
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
        if want.contains_key(id) {
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
