//! One reconcile pass against a kernel, and what can go wrong with it.
//!
//! Owns: [`pass`] (dump, diff, apply everything the kernel accepts; the
//! table after is the dump with the ops applied when the kernel took them
//! all, else a second dump; a scoped pass does all of that over the few
//! services its request names, inside the table it was lent), its input
//! [`PassRequest`] and output [`PassReport`], and the typed errors a pass
//! and a commit report: a [`RefusedOp`] (the op and the kernel's errno; the
//! sync task's refused daemon ops too) and [`Unavailable`] (the kernel
//! cannot be programmed at all). Must not: decide when a pass runs
//! or what the table should be (that is [`super::machine`]), or know the
//! socket: it drives any [`Kernel`], the netlink client or the fake.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client;
use super::desired::{config_dests, Desired, RealId};
use super::edge::Panicked;
use super::kernel::{apply_all, dump_into, dump_services_into, Kernel, KernelError, Op, Table};
use super::reconcile::{diff, Plan};
use super::wire::ServiceId;
use crate::config::model::Config;

/// What one pass is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRequest {
    pub desired: Desired,
    /// Services an earlier config had and this one lacks.
    pub retired: BTreeSet<ServiceId>,
    /// On the first pass: the config, whose real and sorry servers are
    /// every destination it may hold. Any other destination found in an
    /// owned service is drained, not deleted.
    pub adopt: Option<Arc<Config>>,
    /// The machine's last table, lent by the task
    /// ([`super::machine::Machine::lend_table`]): the pass dumps over it
    /// ([`dump_into`]), so one table is held where a dump beside it held
    /// two. `None`: the pass dumps into a new one. After a failed pass it
    /// holds what the dumps read, for the task to give back.
    pub last: Option<Table>,
    /// The services the pass covers, when `desired` holds only theirs
    /// (health changes alone were due): only they are read from the kernel
    /// and diffed, and the rest of `last` is kept as it was. Needs a lent
    /// table (without one the pass is whole, over what `desired` holds);
    /// never adopts or retires. `None`: every service.
    pub scope: Option<BTreeSet<ServiceId>>,
    /// A whole pass plans against the lent table as it is, without
    /// reading the kernel: the table a hitless restart's previous process
    /// handed over, which the kernel held when it stopped changing it (see
    /// [`super::machine`]). A refused op still reads the kernel after.
    pub trust_last: bool,
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PassReport {
    /// Ops the plan had.
    pub planned: usize,
    /// The refused ones.
    pub failed: Refusals,
    /// The kernel's table after the pass.
    pub table: Table,
    pub foreign: Vec<ServiceId>,
    /// Services whose kernel list is not in the order they keep
    /// ([`super::reconcile::Plan::misordered`]).
    pub misordered: Vec<ServiceId>,
    /// Destinations found in owned services that the config lacks (only on
    /// an adopting pass); they were set to drain.
    pub adopted: BTreeSet<RealId>,
    /// Where the pass's time went (its wall time: [`Phases::total`]).
    pub phases: Phases,
}

/// The phases of one pass, as [`pass`] timed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phases {
    /// The dump of the kernel's table.
    pub dump: Duration,
    /// The diff against the desired table (and the strays of an adopting
    /// pass).
    pub plan: Duration,
    /// Sending the ops and reading the kernel's answers.
    pub apply: Duration,
    /// The dump after changes (zero when there were none).
    pub dump_again: Duration,
}

impl Phases {
    /// The pass's wall time: dump, diff, apply, and the dump after changes.
    pub fn total(&self) -> Duration {
        self.dump + self.plan + self.apply + self.dump_again
    }

    /// The phases as (name, time), in order, for the start-up timeline.
    pub fn named(&self) -> [(&'static str, Duration); 4] {
        [
            ("IPVS dump", self.dump),
            ("IPVS plan", self.plan),
            ("IPVS apply", self.apply),
            ("IPVS dump again", self.dump_again),
        ]
    }
}

/// An op the kernel refused: a table [`Op`] (retried by the next pass,
/// which diffs again) or a sync-daemon op (`super::sync::SyncOp`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {reason}")]
pub struct RefusedOp<O = Op> {
    pub op: O,
    /// The kernel's errno (positive); `None` when no answer came for it.
    pub errno: Option<i32>,
    /// The refusal as the kernel call reported it.
    pub reason: String,
}

impl<O: Clone> RefusedOp<O> {
    pub fn new<E: KernelError>(op: &O, e: &E) -> Self {
        RefusedOp {
            op: op.clone(),
            errno: e.errno(),
            reason: e.to_string(),
        }
    }
}

/// The ops one pass had refused, in plan order. Shown as "op: reason"
/// lines joined by "; ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusals<O = Op>(pub Vec<RefusedOp<O>>);

impl<O> Default for Refusals<O> {
    fn default() -> Self {
        Refusals(Vec::new())
    }
}

impl<O: fmt::Display> Refusals<O> {
    /// Each refusal as "op: reason", joined by `sep` (the line `vigil
    /// reload` prints).
    pub fn join(&self, sep: &str) -> String {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        lines.join(sep)
    }
}

impl<O> Deref for Refusals<O> {
    type Target = [RefusedOp<O>];
    fn deref(&self) -> &[RefusedOp<O>] {
        &self.0
    }
}

impl<O: fmt::Display> fmt::Display for Refusals<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.join("; "))
    }
}

/// Why a pass could not run at all: the kernel cannot be programmed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    /// The generic netlink family IPVS is missing: `ip_vs` is not loaded.
    #[error("ip_vs module not loaded")]
    ModuleMissing,
    /// Connecting or a dump failed; the socket is dropped and the next
    /// pass reconnects.
    #[error(transparent)]
    Kernel(Arc<dyn std::error::Error + Send + Sync>),
    /// The blocking netlink call panicked (a bug in the netlink stack).
    #[error("netlink call panicked")]
    Panicked(#[source] Panicked),
}

impl Unavailable {
    pub fn from_client(e: client::Error) -> Self {
        match e {
            client::Error::ModuleNotLoaded => Unavailable::ModuleMissing,
            e => Unavailable::kernel(e),
        }
    }

    /// Any other kernel error (a fake's in tests).
    pub fn kernel(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Unavailable::Kernel(Arc::new(e))
    }
}

/// One reconcile pass against a kernel: dump (unless trusting the lent
/// table: [`PassRequest::trust_last`]), diff, apply everything the kernel
/// accepts, dump again if the kernel refused anything. Blocking with a real
/// client; call it from the blocking pool ([`super::edge`]).
pub fn pass<K: Kernel>(k: &mut K, req: &mut PassRequest) -> Result<PassReport, K::Error> {
    match (req.scope.take(), req.last.take()) {
        (Some(scope), Some(last)) => scoped_pass(k, req, &scope, last),
        (_, last) => {
            req.last = last;
            whole_pass(k, req)
        }
    }
}

/// [`pass`] over the whole table.
fn whole_pass<K: Kernel>(k: &mut K, req: &mut PassRequest) -> Result<PassReport, K::Error> {
    let t0 = Instant::now();
    let lent = req.last.is_some();
    let mut actual = req.last.take().unwrap_or_default();
    if !(lent && req.trust_last) {
        if let Err(e) = dump_into(k, &mut actual) {
            req.last = lent.then_some(actual);
            return Err(e);
        }
    }
    let dumped = Instant::now();
    // A pass that read nothing says so: no dump time.
    let t0 = if lent && req.trust_last { dumped } else { t0 };
    let adopted = req.adopt.as_ref().map_or_else(BTreeSet::new, |config| {
        strays(&req.desired, &actual, config)
    });
    let plan = if adopted.is_empty() {
        diff(&req.desired, &actual, &req.retired)
    } else {
        let mut desired = req.desired.clone();
        desired.draining.extend(adopted.iter().copied());
        diff(&desired, &actual, &req.retired)
    };
    let planned = Instant::now();
    let (table, failed, applied) = match apply_plan(k, actual, &plan.ops, |k, t| dump_into(k, t)) {
        Ok(done) => done,
        Err((stale, e)) => {
            req.last = Some(stale);
            return Err(e);
        }
    };
    Ok(report(
        plan,
        table,
        failed,
        adopted,
        [t0, dumped, planned, applied],
    ))
}

/// [`pass`] over the services `scope` names, inside `last`: they are
/// taken out of it, read again from the kernel, diffed against `desired`
/// (which holds only theirs), applied, and put back.
fn scoped_pass<K: Kernel>(
    k: &mut K,
    req: &mut PassRequest,
    scope: &BTreeSet<ServiceId>,
    mut last: Table,
) -> Result<PassReport, K::Error> {
    let t0 = Instant::now();
    let mut part = Table::default();
    for id in scope {
        if let Some(e) = last.services.remove(id) {
            part.services.insert(*id, e);
        }
    }
    let read = |k: &mut K, t: &mut Table| dump_services_into(k, t, scope);
    let back = |mut last: Table, mut part: Table| {
        last.services.append(&mut part.services);
        last
    };
    if let Err(e) = read(k, &mut part) {
        req.last = Some(back(last, part));
        return Err(e);
    }
    let dumped = Instant::now();
    let plan = diff(&req.desired, &part, &BTreeSet::new());
    let planned = Instant::now();
    match apply_plan(k, part, &plan.ops, read) {
        Ok((part, failed, applied)) => {
            let table = back(last, part);
            let none = BTreeSet::new();
            Ok(report(
                plan,
                table,
                failed,
                none,
                [t0, dumped, planned, applied],
            ))
        }
        Err((part, e)) => {
            req.last = Some(back(last, part));
            Err(e)
        }
    }
}

/// Applies `ops` (planned over `actual`); -> the table after (`actual`
/// with the ops carried out, or read again with `read` when the kernel
/// refused one or the table changed under the pass), the refusals, and
/// when the apply ended. `Err`: the read after failed, with what it read.
#[allow(clippy::type_complexity)]
fn apply_plan<K: Kernel>(
    k: &mut K,
    actual: Table,
    ops: &[Op],
    read: impl Fn(&mut K, &mut Table) -> Result<(), K::Error>,
) -> Result<(Table, Refusals, Instant), (Table, K::Error)> {
    let failed = Refusals(
        apply_all(k, ops)
            .into_iter()
            .map(|(op, e)| RefusedOp::new(op, &e))
            .collect(),
    );
    let applied = Instant::now();
    let table = match carried_out(actual, ops, failed.0.is_empty()) {
        Ok(table) => table,
        Err(mut stale) => {
            // Read again over the first dump, not beside it: two copies
            // of a table of 100,000 destinations beside the desired one
            // were the top of a reload's peak.
            if let Err(e) = read(k, &mut stale) {
                return Err((stale, e));
            }
            stale
        }
    };
    Ok((table, failed, applied))
}

/// The report of a pass that started at `t0` and ended its dump, its
/// plan and its apply at the other three (the dump after, now).
fn report(
    plan: Plan,
    table: Table,
    failed: Refusals,
    adopted: BTreeSet<RealId>,
    [t0, dumped, planned, applied]: [Instant; 4],
) -> PassReport {
    let phases = Phases {
        dump: dumped - t0,
        plan: planned - dumped,
        apply: applied - planned,
        dump_again: applied.elapsed(),
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    tracing::debug!(
        "ipvs: pass phases: dump {:.1} ms, plan {:.1} ms, apply {:.1} ms ({} ops), dump again {:.1} ms",
        ms(phases.dump),
        ms(phases.plan),
        ms(phases.apply),
        plan.ops.len(),
        ms(phases.dump_again),
    );
    PassReport {
        planned: plan.ops.len(),
        failed,
        table,
        foreign: plan.foreign,
        misordered: plan.misordered,
        adopted,
        phases,
    }
}

/// The table after a pass: the dump with the ops applied, when the
/// kernel took every op and each fits the dump (the kernel did to its
/// table what `Table::apply` does to the copy). A second dump of a table
/// of 10,000 destinations took longer than the pass's own apply in the
/// lab VM (0.48 s), all of it before the daemon was ready. `Err` (the
/// dump back, unusable): an op was refused, or one does not fit (the
/// table changed under the pass): the caller dumps again. What this
/// leaves out, a change another program made meanwhile, the next status
/// refresh or pass reads.
fn carried_out(mut table: Table, ops: &[Op], all_taken: bool) -> Result<Table, Table> {
    if !all_taken {
        return Err(table);
    }
    for op in ops {
        if table.apply(op).is_err() {
            return Err(table);
        }
    }
    Ok(table)
}

/// Destinations the kernel has in services vigil wants that the pass
/// does not want and `config` does not name (its real and sorry servers:
/// one down and out of the table is no stray). A wanted one is no stray
/// either, though the config may not name it: a DR-path service's
/// destination. The config's set is built only when some destination is
/// unwanted: at a cold start or on an unchanged table, none is.
fn strays(desired: &Desired, actual: &Table, config: &Config) -> BTreeSet<RealId> {
    let unwanted: Vec<RealId> = (desired.table.services.iter())
        .filter_map(|(id, want)| actual.services.get(id).map(|have| (*id, want, have)))
        .flat_map(|(service, want, have)| {
            (have.dests.keys())
                .filter(|d| !want.dests.contains_key(d))
                .map(move |&dest| RealId { service, dest })
        })
        .collect();
    if unwanted.is_empty() {
        return BTreeSet::new();
    }
    let known = config_dests(config);
    unwanted
        .into_iter()
        .filter(|r| !known.contains(r))
        .collect()
}

#[cfg(test)]
#[path = "pass_tests.rs"]
mod tests;
