//! What the reconcile loop needs from the kernel, and an in-memory kernel.
//!
//! Owns: the [`Kernel`] trait (dump services, dump a service's
//! destinations, apply one [`Op`] or a batch), the [`Table`] both sides of a diff
//! share, and [`FakeKernel`], which keeps a table with the rules of
//! `ip_vs_ctl.c` that matter to a diff: EEXIST on a second add, ESRCH for
//! a missing service, ENOENT for a missing destination or scheduler, the
//! HASHED flag and counters in dumps. Must not: decide what to change
//! (that is [`super::reconcile`]) or touch a socket (that is
//! [`super::client`]).

use std::collections::{btree_map, BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::wire::{Cmd, Dest, DestId, Request, Service, ServiceId, SVC_F_HASHED};

/// One service and its destinations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub service: Service,
    pub dests: BTreeMap<DestId, Dest>,
    /// The destination list's order, head first. In a dump: the kernel's
    /// (it adds a destination at the head; `mh` builds its table walking
    /// the list), for an `mh` service only (kept for no other: it would be
    /// a second copy of every id of a large table). In a desired entry: the
    /// order vigil keeps, or empty when any order will do.
    pub order: VecDeque<DestId>,
}

impl Entry {
    pub fn new(service: Service) -> Self {
        Entry {
            service,
            dests: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `order` lists every destination (an `mh` service's dump
    /// does; an entry put together without one does not).
    pub fn order_known(&self) -> bool {
        self.order.len() == self.dests.len()
    }

    /// Whether the kernel's list order is kept in `order` for this
    /// service: its scheduler builds its table from it.
    fn keeps_order(&self) -> bool {
        self.service.scheduler == ORDERED_SCHEDULER
    }
}

/// The scheduler whose choice follows the destination list's order
/// (Maglev hashing: each destination in turn takes its next preferred
/// slot).
const ORDERED_SCHEDULER: &str = "mh";

/// An IPVS table: what the kernel holds, or what vigil wants it to hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub services: BTreeMap<ServiceId, Entry>,
}

impl Table {
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|e| e.dests.len()).sum()
    }

    /// Connections (active + inactive) the kernel reports for a
    /// destination: what a drain waits on. Persistence templates do not
    /// count: with `expire_quiescent_template` a client's next connection
    /// goes to a live server anyway. `None` when absent or when the table
    /// carries no counters (a desired table).
    pub fn conns(&self, service: &ServiceId, dest: &DestId) -> Option<u64> {
        let d = self.services.get(service)?.dests.get(dest)?;
        d.conns.map(|c| u64::from(c.active) + u64::from(c.inactive))
    }

    /// The table after the kernel carried `op` out, as its next dump would
    /// show it (`ip_vs_ctl.c`'s rules: the HASHED flag on a new service,
    /// zero counters on anything new, counters kept across a SET). `Err`:
    /// the errno the kernel answers an op that does not fit the table
    /// (EEXIST for a second add, ESRCH for a missing service, ENOENT for a
    /// missing destination); the table is unchanged then.
    pub fn apply(&mut self, op: &Op) -> Result<(), i32> {
        match op {
            Op::NewService(s) => {
                if self.services.contains_key(&s.id) {
                    return Err(EEXIST);
                }
                self.services.insert(s.id, Entry::new(as_kernel_service(s)));
            }
            Op::SetService(s) => {
                let e = self.services.get_mut(&s.id).ok_or(ESRCH)?;
                let stats = e.service.stats;
                e.service = Service {
                    stats,
                    ..as_kernel_service(s)
                };
            }
            Op::DelService(id) => {
                self.services.remove(id).ok_or(ESRCH)?;
            }
            Op::NewDest { service, dest } => {
                let e = self.services.get_mut(service).ok_or(ESRCH)?;
                let known = e.keeps_order() && e.order_known();
                match e.dests.entry(dest.id) {
                    btree_map::Entry::Occupied(_) => return Err(EEXIST),
                    btree_map::Entry::Vacant(v) => v.insert(as_kernel_dest(dest)),
                };
                if known {
                    e.order.push_front(dest.id);
                }
            }
            Op::SetDest { service, dest } => {
                let e = self.services.get_mut(service).ok_or(ESRCH)?;
                let d = e.dests.get_mut(&dest.id).ok_or(ENOENT)?;
                let (conns, stats, tunnel) = (d.conns, d.stats, d.tunnel);
                *d = Dest {
                    conns,
                    stats,
                    tunnel: dest.tunnel.or(tunnel),
                    ..dest.clone()
                };
            }
            Op::DelDest { service, dest } => {
                let e = self.services.get_mut(service).ok_or(ESRCH)?;
                e.dests.remove(dest).ok_or(ENOENT)?;
                e.order.retain(|d| d != dest);
            }
        }
        Ok(())
    }
}

/// One change to the kernel table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    NewService(Service),
    SetService(Service),
    DelService(ServiceId),
    NewDest { service: ServiceId, dest: Dest },
    SetDest { service: ServiceId, dest: Dest },
    DelDest { service: ServiceId, dest: DestId },
}

impl Op {
    pub fn cmd(&self) -> Cmd {
        match self {
            Op::NewService(_) => Cmd::NewService,
            Op::SetService(_) => Cmd::SetService,
            Op::DelService(_) => Cmd::DelService,
            Op::NewDest { .. } => Cmd::NewDest,
            Op::SetDest { .. } => Cmd::SetDest,
            Op::DelDest { .. } => Cmd::DelDest,
        }
    }

    /// The service the op is about.
    pub fn service(&self) -> &ServiceId {
        match self {
            Op::NewService(s) | Op::SetService(s) => &s.id,
            Op::DelService(id) => id,
            Op::NewDest { service, .. }
            | Op::SetDest { service, .. }
            | Op::DelDest { service, .. } => service,
        }
    }

    /// The destination the op is about, if it is a dest op.
    pub fn dest(&self) -> Option<&DestId> {
        match self {
            Op::NewDest { dest, .. } | Op::SetDest { dest, .. } => Some(&dest.id),
            Op::DelDest { dest, .. } => Some(dest),
            _ => None,
        }
    }

    /// The netlink request that performs it.
    pub fn request(&self) -> Request {
        match self {
            Op::NewService(s) => Request::new_service(s),
            Op::SetService(s) => Request::set_service(s),
            Op::DelService(id) => Request::del_service(id),
            Op::NewDest { service, dest } => Request::new_dest(service, dest),
            Op::SetDest { service, dest } => Request::set_dest(service, dest),
            Op::DelDest { service, dest } => Request::del_dest(service, dest),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::NewService(s) | Op::SetService(s) => write!(
                f,
                "{} {} sched {} flags {:#x} timeout {} netmask {:#x}",
                self.cmd(),
                s.id,
                s.scheduler,
                s.flags,
                s.timeout,
                s.netmask
            ),
            Op::DelService(id) => write!(f, "{} {id}", self.cmd()),
            Op::NewDest { service, dest } | Op::SetDest { service, dest } => write!(
                f,
                "{} {service} -> {} {:?} weight {}",
                self.cmd(),
                dest.id,
                dest.fwd,
                dest.weight
            ),
            Op::DelDest { service, dest } => write!(f, "{} {service} -> {dest}", self.cmd()),
        }
    }
}

/// An error of a [`Kernel`] call.
pub trait KernelError: std::error::Error {
    /// The errno the kernel answered with (positive); `None` when no
    /// answer came (the socket failed, a reply did not decode).
    fn errno(&self) -> Option<i32>;
}

/// The kernel as the reconcile loop sees it.
pub trait Kernel {
    type Error: KernelError;

    fn services(&mut self) -> Result<Vec<Service>, Self::Error>;
    fn dests(&mut self, service: &ServiceId) -> Result<Vec<Dest>, Self::Error>;
    fn apply(&mut self, op: &Op) -> Result<(), Self::Error>;

    /// Several ops in order, one result each. The same as `apply` on each
    /// in turn (a refusal does not stop the rest); a real kernel may
    /// pipeline them.
    fn apply_batch(&mut self, ops: &[Op]) -> Vec<Result<(), Self::Error>> {
        ops.iter().map(|op| self.apply(op)).collect()
    }
}

/// An entry's destinations in the order to add them so that the kernel's
/// list ends as its `order` (each add goes to the head: the order's
/// reverse), or in id order when it has none.
pub fn adding_order(e: &Entry) -> Vec<&Dest> {
    match e.order_known() && !e.order.is_empty() {
        true => e
            .order
            .iter()
            .rev()
            .filter_map(|id| e.dests.get(id))
            .collect(),
        false => e.dests.values().collect(),
    }
}

/// Dump the whole table into a new one: one service dump, one dest dump
/// per service. The daemon itself always reads over its last table
/// ([`dump_into`]); this is for a first look and for tests.
pub fn dump<K: Kernel>(k: &mut K) -> Result<Table, K::Error> {
    let mut t = Table::default();
    dump_into(k, &mut t)?;
    Ok(t)
}

/// Dump the whole table over `t`, the last one read: each service's
/// entry replaces its old one as soon as it is read, and the services the
/// kernel no longer has go at the end. The peak is `t` plus one service's
/// list, where a dump beside the last table held two whole tables (18 MB
/// more at 100,000 destinations, at every status refresh). `Err`: the
/// services read before the failure are new, the rest as they were in
/// `t`, none dropped; each entry is one service as the kernel had it.
pub fn dump_into<K: Kernel>(k: &mut K, t: &mut Table) -> Result<(), K::Error> {
    let services = k.services()?;
    let seen: BTreeSet<ServiceId> = services.iter().map(|s| s.id).collect();
    for s in services {
        let e = read_entry(k, s)?;
        t.services.insert(e.service.id, e);
    }
    t.services.retain(|id, _| seen.contains(id));
    Ok(())
}

/// Dump the services `ids` again, over `t`, and no other: a drain's
/// counters, or the few services a health change touched, without a
/// whole dump. The kernel's list of services is read (one message per
/// service, not per destination), then the destinations of each of `ids`
/// it has; one of `ids` it does not have leaves `t`. `Err`: the services
/// read before the failure are new, the rest as they were.
pub fn dump_services_into<K: Kernel>(
    k: &mut K,
    t: &mut Table,
    ids: &BTreeSet<ServiceId>,
) -> Result<(), K::Error> {
    let services = k.services()?;
    let mut seen = BTreeSet::new();
    for s in services.into_iter().filter(|s| ids.contains(&s.id)) {
        seen.insert(s.id);
        let e = read_entry(k, s)?;
        t.services.insert(e.service.id, e);
    }
    for gone in ids.difference(&seen) {
        t.services.remove(gone);
    }
    Ok(())
}

/// One service's entry: its destinations, dumped.
fn read_entry<K: Kernel>(k: &mut K, s: Service) -> Result<Entry, K::Error> {
    let mut e = Entry::new(s);
    // Built in one go (sorted, then bulk-loaded), not an insert per
    // destination: the dump is the restart's largest step.
    let list = k.dests(&e.service.id)?;
    if e.keeps_order() {
        e.order = list.iter().map(|d| d.id).collect();
    }
    e.dests = list.into_iter().map(|d| (d.id, d)).collect();
    if !e.order_known() {
        // The same destination twice in one dump: no order to trust.
        e.order.clear();
    }
    Ok(e)
}

/// Apply ops in order. A failure does not stop the rest (one service with
/// a missing scheduler must not hold up the others); the failures come
/// back with their ops, and the next reconcile retries them.
pub fn apply_all<'a, K: Kernel>(k: &mut K, ops: &'a [Op]) -> Vec<(&'a Op, K::Error)> {
    let results = k.apply_batch(ops);
    debug_assert_eq!(results.len(), ops.len(), "one result per op");
    ops.iter()
        .zip(results)
        .filter_map(|(op, r)| r.err().map(|e| (op, e)))
        .collect()
}

// ---------------------------------------------------------------------------
// The fake

/// Why the fake refused an op: the errno the kernel would answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {}", std::io::Error::from_raw_os_error(*.errno))]
pub struct FakeError {
    pub op: String,
    pub errno: i32,
}

impl KernelError for FakeError {
    fn errno(&self) -> Option<i32> {
        Some(self.errno)
    }
}

/// The schedulers a stock kernel has (each is module `ip_vs_<name>`).
pub const KNOWN_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// An in-memory IPVS table with the kernel's answers.
#[derive(Debug, Clone, Default)]
pub struct FakeKernel {
    pub table: Table,
    /// Every op that succeeded, in order.
    pub log: Vec<Op>,
    /// Schedulers whose module is "missing": NEW/SET_SERVICE answers ENOENT.
    pub missing_schedulers: Vec<String>,
}

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;
const ERANGE: i32 = 34;

impl FakeKernel {
    /// A kernel already holding `table` (dump-only fields filled in as the
    /// kernel would), each service's destinations added in `order`'s
    /// reverse where it has one, else in id order.
    pub fn with(table: &Table) -> Self {
        let mut k = FakeKernel::default();
        for e in table.services.values() {
            k.table
                .services
                .insert(e.service.id, Entry::new(as_kernel_service(&e.service)));
            for d in adding_order(e) {
                let entry = k.entry_mut(&e.service.id).unwrap();
                entry.dests.insert(d.id, as_kernel_dest(d));
                if entry.keeps_order() {
                    entry.order.push_front(d.id);
                }
            }
        }
        k
    }

    fn entry_mut(&mut self, id: &ServiceId) -> Option<&mut Entry> {
        self.table.services.get_mut(id)
    }

    fn check_service(&self, s: &Service) -> Result<(), i32> {
        if self.missing_schedulers.contains(&s.scheduler)
            || !KNOWN_SCHEDULERS.contains(&s.scheduler.as_str())
        {
            return Err(ENOENT);
        }
        Ok(())
    }

    fn check_dest(d: &Dest) -> Result<(), i32> {
        if d.weight > i32::MAX as u32 {
            return Err(EINVAL);
        }
        if d.l_thresh > d.u_thresh {
            return Err(ERANGE);
        }
        Ok(())
    }

    fn try_apply(&mut self, op: &Op) -> Result<(), i32> {
        // What the table decides (EEXIST, ESRCH, ENOENT) is Table::apply's;
        // a second add of a service is refused before its scheduler is
        // looked up, as in the kernel.
        match op {
            Op::NewService(s) if self.table.services.contains_key(&s.id) => {}
            Op::NewService(s) | Op::SetService(s) => self.check_service(s)?,
            Op::NewDest { dest, .. } | Op::SetDest { dest, .. } => Self::check_dest(dest)?,
            Op::DelService(_) | Op::DelDest { .. } => {}
        }
        self.table.apply(op)
    }
}

/// What a dump shows for a service vigil sent: HASHED set, counters.
fn as_kernel_service(s: &Service) -> Service {
    Service {
        flags: s.flags | SVC_F_HASHED,
        stats: Some(s.stats.unwrap_or_default()),
        ..s.clone()
    }
}

/// What a dump shows for a dest vigil sent: counters and tunnel fields.
fn as_kernel_dest(d: &Dest) -> Dest {
    Dest {
        conns: Some(d.conns.unwrap_or_default()),
        stats: Some(d.stats.unwrap_or_default()),
        tunnel: Some(d.tunnel.unwrap_or_default()),
        ..d.clone()
    }
}

impl Kernel for FakeKernel {
    type Error = FakeError;

    fn services(&mut self) -> Result<Vec<Service>, FakeError> {
        Ok(self
            .table
            .services
            .values()
            .map(|e| e.service.clone())
            .collect())
    }

    fn dests(&mut self, service: &ServiceId) -> Result<Vec<Dest>, FakeError> {
        // The kernel ends the dump empty for an unknown service, and walks
        // the list from its head.
        Ok(self
            .table
            .services
            .get(service)
            .map(|e| match e.order_known() {
                true => (e.order.iter())
                    .filter_map(|id| e.dests.get(id).cloned())
                    .collect(),
                false => e.dests.values().cloned().collect(),
            })
            .unwrap_or_default())
    }

    fn apply(&mut self, op: &Op) -> Result<(), FakeError> {
        match self.try_apply(op) {
            Ok(()) => {
                self.log.push(op.clone());
                Ok(())
            }
            Err(errno) => Err(FakeError {
                op: op.to_string(),
                errno,
            }),
        }
    }
}

#[cfg(test)]
#[path = "kernel_tests.rs"]
mod tests;
