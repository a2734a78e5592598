//! A reload's IPVS side: the new config handed to the IPVS task (its first
//! pass awaited, bounded), then the health runner's checks replaced, each
//! kept server's state carried over; both started when none ran.
//!
//! Owns: the order of that hand-over and the line it reports. Must not:
//! program the kernel itself (the IPVS task does) or touch VRRP.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Reloader, APPLY_BOUND};
use crate::config::model::Config;
use crate::daemon::ipvs_side::{kernel_settings, start_ipvs};
use crate::daemon::supervisor::Kind;
use crate::health::{self, RunnerConfig};
use crate::ipvs::task as ipvs_task;

impl Reloader {
    /// The IPVS task first (its first pass with the new config is
    /// awaited), then the health runner. Starts both when the running
    /// config had no virtual server.
    pub(super) async fn apply_ipvs(&mut self, new: &Arc<Config>) -> Result<String, String> {
        let Some(side) = &mut self.ipvs else {
            let from_store = self.source.is_store();
            self.ipvs = start_ipvs(
                new,
                from_store,
                &self.vrrp.notifier,
                self.drain_timeout,
                &self.local,
                None,
                &self.vrrp.supervisor,
            );
            let status = self.ipvs.as_ref().map(|s| s.status.clone());
            let started = status.is_some();
            self.vrrp.published.send_modify(|c| c.ipvs = status);
            return Ok(if started {
                "ipvs task and health checks started".into()
            } else {
                "ipvs: nothing to program (no virtual_server, no lvs_timeouts)".into()
            });
        };
        let previous = match &side.health {
            Some(h) => h.snapshot().await,
            None => None,
        };
        // Validated by the caller: planning cannot fail here.
        let runner = health::Runner::carrying_over(new, RunnerConfig::default(), previous.as_ref())
            .map_err(|e| e.to_string())?
            .with_local_addresses(self.local.clone());
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
            return Err("ipvs task is gone".into());
        }
        let applied = tokio::time::timeout(APPLY_BOUND, rx).await;
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
            Ok(Ok(Ok(a))) if a.failed.is_empty() => Ok(format!(
                "ipvs: {} op{} applied, {} real server{} draining",
                a.ops,
                if a.ops == 1 { "" } else { "s" },
                a.draining,
                if a.draining == 1 { "" } else { "s" }
            )),
            Ok(Ok(Ok(a))) => Err(format!(
                "ipvs: {} of {} ops refused (retried): {}",
                a.failed.len(),
                a.ops,
                a.failed.join("; ")
            )),
            Ok(Ok(Err(e))) => Err(format!("ipvs: cannot program the kernel (retried): {e}")),
            Ok(Err(_)) => Err("ipvs task dropped the commit".into()),
            Err(_) => Err(format!(
                "ipvs: first pass not done within {APPLY_BOUND:?}; it goes on"
            )),
        }
    }
}
