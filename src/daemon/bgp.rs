//! The BGP side of the daemon: the BGP task (`bgp::task`) when the config
//! has a `bgp` block, started again when it ends, replaced when a reload
//! changes the block or the anycast services, and told to withdraw at a
//! deliberate stop.
//!
//! Owns: [`BgpSide`] (the block and the anycast targets the task runs
//! with, its shutdown queue, the published status). Must not: decide what
//! is announced or talk to BIRD (the task does).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::supervisor::{Kind, Supervisor, TaskId};
use crate::bgp::announce::{self, Serving, Targets};
use crate::bgp::drain::Drain;
use crate::bgp::task;
use crate::config::model::{Bgp, Config, Vip};
use crate::control::{BgpStatus, Change};
use crate::net::Net;
use std::net::IpAddr;

const TASK: &str = "bgp";
/// How long a stop waits for the routes to be withdrawn.
const WITHDRAW_BOUND: Duration = Duration::from_secs(3);

pub(super) struct BgpSide {
    bgp: Option<Bgp>,
    targets: Targets,
    serving: watch::Receiver<Option<Serving>>,
    drain: Arc<Drain>,
    status: watch::Sender<Option<BgpStatus>>,
    stop: Option<mpsc::Sender<oneshot::Sender<()>>>,
    id: Option<TaskId>,
    net: Net,
}

impl BgpSide {
    /// The task, when `config` has a `bgp` block.
    pub(super) fn start(
        config: &Config,
        serving: watch::Receiver<Option<Serving>>,
        drain: Arc<Drain>,
        net: Net,
        sup: &Supervisor,
    ) -> Self {
        let mut side = BgpSide {
            bgp: config.bgp.clone(),
            targets: announce::targets(config),
            serving,
            drain,
            status: watch::channel(None).0,
            stop: None,
            id: None,
            net,
        };
        side.spawn(sup);
        side
    }

    pub(super) fn status(&self) -> watch::Receiver<Option<BgpStatus>> {
        self.status.subscribe()
    }

    /// Starts the task again after it stopped.
    pub(super) fn restart(&mut self, sup: &Supervisor) {
        self.spawn(sup);
    }

    /// A committed config: a new task when its block or anycast services
    /// differ; every route withdrawn when the block is gone.
    pub(super) async fn reload(&mut self, config: &Config, sup: &Supervisor) -> Option<Change> {
        let targets = announce::targets(config);
        if config.bgp == self.bgp && targets == self.targets {
            return None;
        }
        if config.bgp.is_none() {
            self.withdraw(sup).await;
            self.status.send_replace(None);
        } else if let Some(id) = self.id.take() {
            sup.stop(id);
        }
        let gone: Vec<IpAddr> = (self.targets.keys())
            .filter(|a| !targets.contains_key(a))
            .copied()
            .collect();
        self.remove_local(&gone).await;
        self.bgp = config.bgp.clone();
        self.targets = targets;
        self.spawn(sup);
        Some(Change::Bgp {
            announced: self.bgp.as_ref().map(|_| self.targets.len()),
        })
    }

    /// A deliberate stop: the task withdraws every route and ends.
    pub(super) async fn withdraw(&mut self, sup: &Supervisor) {
        let Some(stop) = self.stop.take() else { return };
        if let Some(id) = self.id.take() {
            sup.deregister(id);
        }
        let (tx, rx) = oneshot::channel();
        if stop.send(tx).await.is_ok() && tokio::time::timeout(WITHDRAW_BOUND, rx).await.is_err() {
            tracing::error!("bgp: the routes were not withdrawn within {WITHDRAW_BOUND:?}");
        }
    }

    /// Takes anycast addresses a reload dropped off `lo` (after their
    /// routes: the old task is gone or has withdrawn).
    async fn remove_local(&self, gone: &[IpAddr]) {
        let lo = match self.net.link_by_name("lo").await {
            Ok(l) => l.index,
            Err(_) => return,
        };
        for a in gone {
            let vip = Vip::new(*a, if a.is_ipv4() { 32 } else { 128 });
            if let Err(e) = self.net.del_vip(lo, &vip).await {
                tracing::error!(vip = %a, error = %e, "bgp: cannot remove a dropped anycast address from lo");
            }
        }
    }

    fn spawn(&mut self, sup: &Supervisor) {
        let Some(bgp) = self.bgp.clone() else { return };
        let (tx, rx) = mpsc::channel(1);
        let io = task::Io {
            serving: self.serving.clone(),
            drained: self.drain.subscribe(),
            status: self.status.clone(),
            stop: rx,
            net: self.net.clone(),
        };
        let targets = self.targets.clone();
        self.id = Some(sup.spawn(TASK, Kind::Bgp, |hb| task::run(bgp, targets, io, hb)));
        self.stop = Some(tx);
    }
}
