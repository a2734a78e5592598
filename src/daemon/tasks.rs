//! The supervisor's policy applied: what the daemon does when one of its
//! tasks stopped without being told to.
//!
//! Owns: [`Tasks`] (what the daemon keeps to start each kind of task
//! again: the control socket's path and what it serves, the link side, the
//! sync daemon task's side) and [`Tasks::handle`], the main loop's answer
//! to a supervisor [`Event`]: a dead instance's VIPs removed at once, each
//! kind started again when its restart is due, the daemon ended when the
//! budget is spent. Must not: decide the policy (that is
//! `supervisor::policy`, with the budget in the registry) or watch tasks
//! itself (the supervisor does).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::groups::{
    ensure_vmacs, plan_groups, receive_name, remove_stale_vips, spawn_receive, Planned,
};
use super::ipvs_side::{prepare_ipvs_apart, spawn_ipvs, SyncSide};
use super::links;
use super::reload::Reloader;
use super::supervisor::{Event, Kind, Remedy, RunningGroup, Supervisor, Verdict};
use super::DaemonError;
use crate::control::{self, Published};
use crate::health;
use crate::net::{self, Net, NetError, NetEvent};
use crate::vrrp::instance::error_status;

/// How long an IPVS restart waits for the live health runner's states.
const STATES_BOUND: Duration = Duration::from_secs(1);

/// The link dispatcher and the netlink monitor that feeds it: they start,
/// and start again, as a pair (a new event subscription each time).
pub(super) struct LinkSide {
    pub(super) net: Net,
    pub(super) local: watch::Sender<BTreeSet<IpAddr>>,
    /// Every link name the dispatcher hears of, to the main loop.
    pub(super) seen: mpsc::UnboundedSender<String>,
}

impl LinkSide {
    /// Subscribes to link and address events again and starts both
    /// tasks; the monitor's first dump hands every link's state to every
    /// instance.
    async fn restart(&self, sup: &Supervisor) -> Result<(), NetError> {
        let events = net::events()?;
        let addrs = links::box_addresses(&self.net).await;
        self.start(sup, events, addrs);
        Ok(())
    }

    /// Starts both tasks on a subscription made earlier (at start: before
    /// the links were read, so no change falls in between) and the box's
    /// addresses read after it.
    pub(super) fn start(
        &self,
        sup: &Supervisor,
        (events, monitor): (mpsc::Receiver<NetEvent>, net::Monitor),
        addrs: BTreeSet<(u32, IpAddr)>,
    ) {
        sup.spawn("netlink monitor", Kind::NetlinkMonitor, |hb| {
            monitor.run(hb)
        });
        let (local, to) = (self.local.clone(), sup.clone());
        let seen = self.seen.clone();
        sup.spawn("link dispatcher", Kind::LinkDispatcher, |hb| {
            links::dispatch_links(events, to, (addrs, local), seen, hb)
        });
    }
}

/// What the main loop keeps to start tasks again.
pub(super) struct Tasks {
    pub(super) sup: Supervisor,
    pub(super) control: PathBuf,
    pub(super) control_group: Option<u32>,
    pub(super) published: Arc<Published>,
    pub(super) links: LinkSide,
    pub(super) sync: Option<SyncSide>,
}

impl Tasks {
    /// Starts the control server again: binds the socket anew.
    fn restart_control(&self) -> Result<(), DaemonError> {
        let listener = control::bind(&self.control, self.control_group).map_err(|source| {
            DaemonError::Control {
                path: self.control.clone(),
                source,
            }
        })?;
        self.start_control(listener);
        Ok(())
    }

    /// Starts the control server on `listener`.
    pub(super) fn start_control(&self, listener: tokio::net::UnixListener) {
        let published = self.published.clone();
        self.sup.spawn("control", Kind::Control, |hb| {
            control::serve(listener, published, hb)
        });
    }

    /// Applies the policy to one supervisor event. `Err` when the daemon
    /// must end (the caller runs the shutdown first).
    pub(super) async fn handle(&mut self, ev: Event, r: &mut Reloader) -> Result<(), DaemonError> {
        match ev {
            Event::Stopped {
                name,
                kind,
                how,
                verdict,
            } => {
                if kind.policy().remedy == Remedy::WithdrawThenRestart {
                    withdraw(&name, &how.to_string(), r).await;
                }
                if verdict == Verdict::Exit {
                    return Err(DaemonError::TaskFailed {
                        task: name,
                        how: how.to_string(),
                    });
                }
            }
            Event::RestartDue { name, kind } => self.restart(&name, kind, r).await,
        }
        Ok(())
    }

    async fn restart(&mut self, name: &str, kind: Kind, r: &mut Reloader) {
        match kind {
            Kind::Instance => restart_instance(name, r).await,
            Kind::Receive => {
                let demux = r.vrrp.demux.lock().map(|m| m.clone()).unwrap_or_default();
                if let Some(d) = demux.into_values().find(|d| receive_name(d) == name) {
                    spawn_receive(&self.sup, d);
                }
            }
            Kind::LinkDispatcher | Kind::NetlinkMonitor => {
                if let Err(e) = self.links.restart(&self.sup).await {
                    tracing::error!(error = %e, "cannot subscribe to link events again");
                }
            }
            Kind::Ipvs | Kind::Health => restart_ipvs(kind, &self.sup, r).await,
            Kind::IpvsSync => {
                if let Some(s) = &mut self.sync {
                    s.spawn(&self.sup, false);
                }
            }
            Kind::Control => {
                if let Err(e) = self.restart_control() {
                    tracing::error!(error = %e, "cannot bind the control socket again");
                }
            }
            Kind::Track => r.scripts.restart(&self.sup),
            Kind::Metrics => r.metrics.restart(&self.sup),
            Kind::Bgp => r.bgp.restart(&self.sup),
            Kind::Main => {}
        }
    }
}

/// The members' configs of the instance task `name`, planned afresh.
async fn plan_again(name: &str, r: &Reloader) -> Option<(RunningGroup, Planned)> {
    let g = r
        .vrrp
        .supervisor
        .instances()
        .await
        .into_iter()
        .find(|g| g.task == name)?;
    let links = match r.vrrp.net.links().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(task = %name, error = %e, "cannot read links");
            Vec::new()
        }
    };
    let want = |n: &str| g.members.iter().any(|m| m == n);
    let (net, ledger) = (&r.vrrp.net, &r.vrrp.ledger);
    let links = ensure_vmacs(net, ledger, &r.running_vrrp.vrrp_instances, want, links).await;
    let planned = plan_groups(&r.running_vrrp, want, &links);
    Some((g, planned))
}

/// A dead instance task's VIPs go at once: its adverts have stopped, so a
/// peer takes over, and two boxes must not answer for them. Its members
/// show the stop in `vigil status` until the restart.
async fn withdraw(name: &str, how: &str, r: &Reloader) {
    let Some((g, planned)) = plan_again(name, r).await else {
        return;
    };
    remove_stale_vips(&r.vrrp.net, &planned.groups).await;
    for (member, status) in g.members.iter().zip(&g.statuses) {
        let Some(inst) = r
            .running_vrrp
            .vrrp_instances
            .iter()
            .find(|i| &i.name == member)
        else {
            continue;
        };
        let msg = format!("task {how}: VIPs removed, restarting");
        status.send_modify(|s| {
            s.status = error_status(inst, &r.running_vrrp.global, msg);
            s.since = std::time::Instant::now();
        });
    }
    tracing::warn!(task = %name, "instance task stopped: its VIPs removed");
}

/// Starts the instance task `name` again as at start (no resume), its
/// members publishing where they did.
async fn restart_instance(name: &str, r: &Reloader) {
    let Some((g, mut planned)) = plan_again(name, r).await else {
        return;
    };
    for m in planned.groups.iter_mut().flat_map(|s| s.members.iter_mut()) {
        if let Some(i) = g.members.iter().position(|n| *n == m.inst.name) {
            m.status = g.statuses[i].clone();
        }
    }
    for (inst, _, _) in &planned.late {
        tracing::error!(
            task = %name,
            instance = %inst.name,
            interface = %inst.interface,
            "interface gone; instance not restarted"
        );
    }
    remove_stale_vips(&r.vrrp.net, &planned.groups).await;
    r.vrrp.start(planned.groups, &r.running_vrrp.global);
}

/// The IPVS task and the health runner start again as one (each holds
/// the other's channel): the table adopted from the kernel as at start;
/// after an IPVS task's stop, the live runner's states carry over, after
/// the runner's own stop its checks start from their initial states. Built
/// on the blocking pool: at the config's bounds that takes seconds, which
/// the main runtime's other tasks must not wait for.
async fn restart_ipvs(kind: Kind, sup: &Supervisor, r: &mut Reloader) {
    let Some(old) = r.ipvs.take() else {
        return;
    };
    let states: Option<Vec<health::KnownState>> = match (kind, &old.health) {
        (Kind::Ipvs, Some(h)) => tokio::time::timeout(STATES_BOUND, h.snapshot())
            .await
            .ok()
            .flatten()
            .map(|s| {
                s.servers
                    .into_iter()
                    .map(|x| (x.service, x.real.0, x.real.1, x.up))
                    .collect()
            }),
        _ => None,
    };
    for id in &old.tasks {
        sup.stop(*id);
    }
    let from_store = old.from_store;
    drop(old);
    r.ipvs = match prepare_ipvs_apart(&r.current, r.drain_timeout, states).await {
        Ok(prepared) => prepared.map(|p| {
            let n = &r.vrrp.notifier;
            spawn_ipvs(p, &r.current, from_store, n, (&r.local, &r.serving), sup)
        }),
        // As a panic at start: the main task ends, and with it the daemon
        // (the policy's remedy for the main task).
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: the runtime is shutting down.
        Err(_) => None,
    };
    let status = r.ipvs.as_ref().map(|s| s.status.clone());
    r.vrrp.published.send_modify(|c| c.ipvs = status);
}
