//! A reload's IPVS side: the new config handed to the IPVS task (its first
//! pass awaited, bounded), then the health runner's checks replaced, each
//! kept server's state carried over; both started when none ran.
//!
//! Owns: the order of that hand-over and what it reports
//! ([`IpvsApply`]). Must not: program the kernel itself (the IPVS task
//! does) or touch VRRP.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Reloader, APPLY_BOUND};
use crate::config::model::Config;
use crate::control::IpvsApply;
use crate::daemon::ipvs_side::{kernel_settings, prepare_ipvs_apart, spawn_ipvs};
use crate::daemon::supervisor::Kind;
use crate::health::{self, RunnerConfig};
use crate::ipvs::task as ipvs_task;

impl Reloader {
    /// The IPVS task first (its first pass with the new config is
    /// awaited), then the health runner. Starts both when the running
    /// config had no virtual server. The reload failed when the answer
    /// says so ([`IpvsApply::failed`]).
    pub(super) async fn apply_ipvs(&mut self, new: &Arc<Config>) -> IpvsApply {
        let Some(side) = &mut self.ipvs else {
            let from_store = self.source.is_store();
            let prepared = match prepare_ipvs_apart(new, self.drain_timeout, None).await {
                Ok(p) => p,
                Err(e) => return IpvsApply::Unplannable(format!("planning IPVS failed: {e}")),
            };
            self.ipvs = prepared.map(|p| {
                let n = &self.vrrp.notifier;
                let shared = (&self.local, &self.serving);
                spawn_ipvs(p, new, from_store, n, shared, &self.vrrp.supervisor)
            });
            let status = self.ipvs.as_ref().map(|s| s.status.clone());
            let started = status.is_some();
            self.vrrp.published.send_modify(|c| c.ipvs = status);
            return if started {
                IpvsApply::Started
            } else {
                IpvsApply::NothingToProgram
            };
        };
        // No runner yet (its plan failed at start): one starts after the
        // IPVS task has the config its events name.
        let fresh = side.health.is_none().then(health::channel);
        let (timeouts, sysctls) = kernel_settings(new, side.from_store);
        let (was, _) = kernel_settings(&self.current, side.from_store);
        let timeouts = ipvs_task::timeouts_after_commit(was, timeouts);
        let (tx, rx) = oneshot::channel();
        let cmd = ipvs_task::Command::Reconfigure {
            config: new.clone(),
            timeouts,
            sysctls,
            checks: fresh.as_ref().map(|(h, _)| h.clone()),
            done: tx,
        };
        if side.commands.send(cmd).await.is_err() {
            return IpvsApply::Gone;
        }
        let applied = tokio::time::timeout(APPLY_BOUND, rx).await;
        // The checks are planned once the pass is over, not before: the
        // new plan (36 MB at 100,000) and the pass's tables and status
        // would otherwise be held at once, the top of a reload's peak. On
        // the blocking pool: a plan of 100,000 checks is not the main
        // runtime's to wait for. Validated by the caller, so planning
        // cannot fail here; if it did, the running checks stay. Each kept
        // server's state is carried over when the running runner takes
        // this one in.
        let config = new.clone();
        let plan = move || health::Runner::new(&config, RunnerConfig::default());
        let runner = match tokio::task::spawn_blocking(plan).await {
            Ok(Ok(r)) => {
                (r.with_local_addresses(self.local.clone())).with_dr_ready(side.dr_ready.clone())
            }
            Ok(Err(e)) => return IpvsApply::Unplannable(e.to_string()),
            Err(e) => return IpvsApply::Unplannable(format!("planning the checks failed: {e}")),
        };
        match (fresh, &side.health) {
            (Some((handle, requests)), _) => {
                let events = side.events.clone();
                let id = self.vrrp.supervisor.spawn("health", Kind::Health, |hb| {
                    runner.run_with(events, requests, hb)
                });
                side.tasks.push(id);
                side.health = Some(handle);
            }
            (None, Some(h)) => {
                if !h.replace(runner).await {
                    tracing::error!("health runner gone; checks not replaced");
                }
            }
            (None, None) => {}
        }
        match applied {
            Ok(Ok(Ok(a))) if a.failed.is_empty() => IpvsApply::Applied {
                ops: a.ops,
                draining: a.draining,
            },
            Ok(Ok(Ok(a))) => IpvsApply::Refused {
                ops: a.ops,
                refused: a.failed.iter().map(ToString::to_string).collect(),
            },
            Ok(Ok(Err(e))) => IpvsApply::Unreachable(e.to_string()),
            Ok(Err(_)) => IpvsApply::Dropped,
            Err(_) => IpvsApply::Slow { bound: APPLY_BOUND },
        }
    }
}
