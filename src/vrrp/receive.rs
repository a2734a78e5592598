//! Receive tasks: one per (interface, family), judging each datagram once
//! and handing the adverts an instance accepts to that instance alone.
//!
//! Owns: [`Demux`] (the routing table of one receive socket, each route
//! with the filter its instance publishes, and the socket's counters;
//! routes are added when an instance starts later, on a reload or when
//! its interface appears, and a closed instance's route is dropped) and
//! [`supervise`], which runs the receive loop and restarts it (with
//! backoff, counted in `ReceiverStatus::restarts`) when it errors or
//! panics (STYLE rule 8). `supervise` is itself a task of the daemon's
//! supervisor (`daemon::supervisor`, kind receive): the loop checks in
//! per packet and on an idle tick, so a loop stuck for good is aborted
//! and started again by the daemon; socket errors and panics stay this
//! module's to restart (an interface that vanishes is not a fault of the
//! daemon and must not spend its restart budget).
//! Must not: decide anything itself about a packet (`filter::classify`
//! does, purely), or block on a slow instance: a full instance queue drops
//! the advert and counts `queue_full`.
//!
//! Every datagram is decoded and classified here, once, before any
//! instance queue: a decode error, an advert for a VRID nobody on the
//! interface runs, or one the instance of its VRID refuses (TTL, version,
//! key, interval, own address, unknown unicast peer; an instance still in
//! its setup takes nothing) is counted by reason in the socket's
//! `ReceiverStatus::drops` and dropped. A flood of junk therefore costs
//! the socket's time, never a place in an instance's queue.
//! `ReceiverStatus::kernel_dropped` is the kernel's count of datagrams
//! the socket's buffer had no room for (SO_RXQ_OVFL), which no check saw.

use crate::daemon::supervisor::Heartbeat;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::filter::{classify, DropCounters, FilterConfig};
use super::instance::GroupInput;
use super::packet::{DecodeError, Family, Received};
use super::socket::{open_rx, recv, try_recv, Datagram, RX_BUF};
use super::types::Vrid;
use crate::backoff::Backoff;
use crate::control::ReceiverStatus;
use crate::logfields;

/// Where adverts of one VRID go.
#[derive(Debug, Clone)]
pub struct Route {
    pub vrid: Vrid,
    pub member: usize,
    pub tx: mpsc::Sender<GroupInput>,
    /// The instance's receive checks as it runs them now (its setup
    /// publishes them, a commit replaces them); `None` until set up.
    pub filter: watch::Receiver<Option<FilterConfig>>,
}

/// One receive socket's routing table and counters.
#[derive(Debug)]
pub struct Demux {
    pub ifname: String,
    pub ifindex: u32,
    pub family: Family,
    pub group: std::net::IpAddr,
    routes: std::sync::RwLock<Vec<Route>>,
    pub status: watch::Sender<ReceiverStatus>,
    /// Set when its task ended because every instance it fed is gone.
    retired: std::sync::atomic::AtomicBool,
}

impl Demux {
    pub fn new(
        ifname: String,
        ifindex: u32,
        family: Family,
        group: std::net::IpAddr,
        status: watch::Sender<ReceiverStatus>,
    ) -> Self {
        Demux {
            ifname,
            ifindex,
            family,
            group,
            routes: std::sync::RwLock::new(Vec::new()),
            status,
            retired: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Routes one more instance; routes of instances gone are dropped.
    pub fn add_route(&self, route: Route) {
        let mut v = match self.routes.write() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        v.retain(|r| !r.tx.is_closed());
        v.push(route);
    }

    /// The receive checks member `member` of the task behind `tx`
    /// publishes, if this socket routes to it.
    pub fn filter_of(
        &self,
        tx: &mpsc::Sender<GroupInput>,
        member: usize,
    ) -> Option<watch::Receiver<Option<FilterConfig>>> {
        (self.routes().iter())
            .find(|r| r.member == member && r.tx.same_channel(tx))
            .map(|r| r.filter.clone())
    }

    /// Stops routing to member `member` of the task behind `tx` (its
    /// adverts now come through another link).
    pub fn drop_route(&self, tx: &mpsc::Sender<GroupInput>, member: usize) {
        let mut v = match self.routes.write() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        v.retain(|r| !(r.member == member && r.tx.same_channel(tx)));
    }

    fn routes(&self) -> std::sync::RwLockReadGuard<'_, Vec<Route>> {
        match self.routes.read() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        }
    }

    /// Its task ended for good: a new instance needs a new socket.
    pub fn retired(&self) -> bool {
        self.retired.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every instance it feeds is gone: the socket can close.
    pub fn closed(&self) -> bool {
        self.routes().iter().all(|r| r.tx.is_closed())
    }

    /// Classifies one datagram against the open routes, counts what it
    /// drops in `counts`, and hands an accepted advert to its instance's
    /// queue.
    fn judge(&self, decoded: &Result<Received, DecodeError>, counts: &mut DropCounters) {
        let routes = self.routes();
        let open: Vec<(&Route, watch::Ref<'_, Option<FilterConfig>>)> = routes
            .iter()
            .filter(|r| !r.tx.is_closed())
            .map(|r| (r, r.filter.borrow()))
            .collect();
        let verdict = classify(decoded, open.iter().map(|(r, f)| (r.vrid, f.as_ref())));
        match &verdict {
            Ok(d) => {
                counts.count(&verdict);
                let route = open[d.listener].0;
                let input = GroupInput::Advert {
                    member: route.member,
                    advert: d.accepted.advert,
                };
                if route.tx.try_send(input).is_err() && !route.tx.is_closed() {
                    self.status.send_modify(|s| s.queue_full += 1);
                }
            }
            Err(reason) => {
                if let Err(e) = decoded {
                    tracing::trace!(interface = %self.ifname, error = %e, "packet dropped");
                }
                counts.bump(*reason);
            }
        }
    }

    /// Publishes a batch's counts (one update of the status for the lot).
    fn publish(&self, counts: &DropCounters, kernel_dropped: Option<u32>) {
        self.status.send_if_modified(|s| {
            let mut changed = counts.add_to(&mut s.drops);
            if let Some(k) = kernel_dropped
                .map(u64::from)
                .filter(|k| *k > s.kernel_dropped)
            {
                s.kernel_dropped = k;
                changed = true;
            }
            changed
        });
    }
}

/// Datagrams judged in one turn of the receive loop before its counts are
/// published and it checks in again (the runtime's own budget makes it
/// yield to the instance tasks as often).
const BATCH: usize = 64;

async fn receive_loop(d: Arc<Demux>, hb: Heartbeat) -> std::io::Result<()> {
    let fd = open_rx(&d.ifname, d.ifindex, d.family, d.group)?;
    let mut buf = vec![0u8; RX_BUF];
    let mut idle = hb.ticker();
    loop {
        hb.check_in().await;
        if d.closed() {
            return Ok(());
        }
        let first = tokio::select! {
            r = recv(&fd, d.family, &mut buf) => r?,
            _ = idle.tick() => continue,
        };
        let mut counts = DropCounters::default();
        let mut kernel_dropped = None;
        let mut next = Some(first);
        let mut judged = 0;
        while let Some(Datagram {
            decoded,
            kernel_dropped: k,
        }) = next
        {
            kernel_dropped = kernel_dropped.max(k);
            d.judge(&decoded, &mut counts);
            judged += 1;
            next = if judged < BATCH {
                try_recv(&fd, d.family, &mut buf)?
            } else {
                None
            };
        }
        d.publish(&counts, kernel_dropped);
    }
}

/// Aborts the receive loop when [`supervise`] is dropped (aborted).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the receive loop of `d` until every instance it feeds is gone,
/// restarting it after an error or a panic.
pub async fn supervise(d: Arc<Demux>, hb: Heartbeat) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let task = tokio::spawn(receive_loop(d.clone(), hb.clone()));
        let _abort = AbortOnDrop(task.abort_handle());
        let why = match task.await {
            Ok(Ok(())) => {
                d.retired.store(true, std::sync::atomic::Ordering::Relaxed);
                hb.retire();
                return;
            }
            Ok(Err(e)) => format!("error: {e}"),
            Err(e) if e.is_panic() => "panic".to_owned(),
            Err(e) => format!("cancelled: {e}"),
        };
        if d.closed() {
            d.retired.store(true, std::sync::atomic::Ordering::Relaxed);
            hb.retire();
            return;
        }
        let wait = backoff.next();
        tracing::error!(
            interface = %d.ifname,
            family = %logfields::family(d.family),
            error = %why,
            retry_in = ?wait,
            "vrrp receive socket failed; reopening it"
        );
        d.status.send_modify(|s| s.restarts += 1);
        tokio::time::sleep(wait).await;
    }
}
