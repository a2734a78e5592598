//! Receive tasks: one per (interface, family), demultiplexing decoded
//! packets to the instance tasks by VRID.
//!
//! Owns: [`Demux`] (the routing table of one receive socket and its
//! counters; routes are added when an instance starts later, on a reload
//! or when its interface appears, and a closed instance's route is
//! dropped) and [`supervise`], which runs the receive loop and restarts it
//! (with backoff, counted in `ReceiverStatus::restarts`) when it errors or
//! panics (STYLE rule 8). `supervise` is itself a task of the daemon's
//! supervisor (`daemon::supervisor`, kind receive): the loop checks in
//! per packet and on an idle tick, so a loop stuck for good is aborted
//! and started again by the daemon; socket errors and panics stay this
//! module's to restart (an interface that vanishes is not a fault of the
//! daemon and must not spend its restart budget).
//! Must not: judge packets beyond finding their VRID (the instance's filter
//! does), or block on a slow instance: a full instance queue drops the
//! packet and counts `queue_full`.
//!
//! Decode errors carry no trustworthy VRID, so they go to every instance
//! on the socket, each of which counts them: "a bad packet was seen on my
//! interface". Well-formed adverts for a VRID no instance runs bump the
//! socket's `unknown_vrid`.

use crate::daemon::supervisor::Heartbeat;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::instance::GroupInput;
use super::packet::Family;
use super::socket::{open_rx, recv, RX_BUF};
use super::types::Vrid;
use crate::backoff::Backoff;
use crate::control::ReceiverStatus;
use crate::logfields;

/// Where packets of one VRID go.
#[derive(Debug, Clone)]
pub struct Route {
    pub vrid: Vrid,
    pub member: usize,
    pub tx: mpsc::Sender<GroupInput>,
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

    fn deliver(&self, route: &Route, input: GroupInput) {
        if route.tx.try_send(input).is_err() && !route.tx.is_closed() {
            self.status.send_modify(|s| s.queue_full += 1);
        }
    }
}

async fn receive_loop(d: Arc<Demux>, hb: Heartbeat) -> std::io::Result<()> {
    let fd = open_rx(&d.ifname, d.ifindex, d.family, d.group)?;
    let mut buf = vec![0u8; RX_BUF];
    let mut idle = hb.ticker();
    loop {
        hb.check_in().await;
        if d.closed() {
            return Ok(());
        }
        let decoded = tokio::select! {
            r = recv(&fd, d.family, &mut buf) => r?,
            _ = idle.tick() => continue,
        };
        match &decoded {
            Ok(rx) => {
                let vrid = rx.repr.vrid();
                let mut found = false;
                for r in d.routes().iter().filter(|r| r.vrid == vrid) {
                    found = true;
                    d.deliver(
                        r,
                        GroupInput::Packet {
                            member: r.member,
                            rx: Box::new(decoded.clone()),
                        },
                    );
                }
                if !found {
                    d.status.send_modify(|s| s.unknown_vrid += 1);
                }
            }
            Err(_) => {
                for r in d.routes().iter() {
                    d.deliver(
                        r,
                        GroupInput::Packet {
                            member: r.member,
                            rx: Box::new(decoded.clone()),
                        },
                    );
                }
            }
        }
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
