//! Reload in one place: read the source again, refuse what cannot apply,
//! apply the rest live and say what waits for a restart.
//!
//! Owns: the `Reloader` (the running config of each side, the handles
//! it applies through, where the outcome is published) and the config as
//! the daemon keeps it (`shared`). The pure comparison is `changes`;
//! the VRRP side applies in `vrrp`, the IPVS side in `ipvs`. Must not:
//! fail the daemon (a config it cannot use changes nothing), make a
//! master resign for what cannot change in place, or render reports to
//! text beyond the lines it returns.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::groups::VrrpSide;
use super::ipvs_side::IpvsSide;
use super::source::ConfigSource;
use crate::config::model::Config;
use crate::control::{ReloadOutcome, ReloadReport};
use crate::health;

mod changes;
mod ipvs;
mod vrrp;

pub use changes::{changes, pending, vrrp_globals, Changes};

/// The config as the daemon keeps it: one copy, shared by the reloader and
/// the IPVS task. A clone is tight (`Vec::clone` allocates the length):
/// the parser's copy carries the growth slack of its vectors, two thirds
/// of it for 1,000 real servers with one checker each (measured: 808 KB
/// against 282 KB), and the peak of parsing is returned to the system.
pub(super) fn shared(parsed: Config) -> Arc<Config> {
    let config = Arc::new(parsed.clone());
    drop(parsed);
    crate::mem::trim();
    config
}

/// What the VRRP side's reload bookkeeping keeps of a config: all but the
/// virtual servers (the IPVS side's, applied from `current`).
pub(super) fn vrrp_part(config: &Config) -> Config {
    Config {
        global: config.global.clone(),
        appliance: config.appliance.clone(),
        vrrp_sync_groups: config.vrrp_sync_groups.clone(),
        vrrp_instances: config.vrrp_instances.clone(),
        virtual_servers: Vec::new(),
    }
}

/// How long a reload waits for the IPVS task's first pass.
const APPLY_BOUND: Duration = Duration::from_secs(30);

/// The reload side of the main loop: the source, what runs, and where the
/// result is published.
pub(super) struct Reloader {
    pub(super) source: ConfigSource,
    /// What the VRRP side runs: the config it started with, with every
    /// change applied in place since (pending is measured on it).
    /// Its `virtual_servers` stay empty: nothing here reads them.
    pub(super) running_vrrp: Config,
    /// The config the IPVS side runs (the IPVS task holds the same).
    pub(super) current: Arc<Config>,
    pub(super) ipvs: Option<IpvsSide>,
    pub(super) drain_timeout: Duration,
    /// The box's addresses, for the health runner (`ha_suspend`).
    pub(super) local: watch::Receiver<BTreeSet<IpAddr>>,
    pub(super) vrrp: VrrpSide,
}

impl Reloader {
    /// Reads the source again and applies what changed; never panics or
    /// fails the daemon. The report is also logged, line by line.
    pub(super) async fn reload(&mut self) -> ReloadReport {
        let report = self.reload_inner().await;
        let lines = report.lines.join("; ");
        match report.outcome {
            ReloadOutcome::Applied | ReloadOutcome::Unchanged => {
                tracing::info!(outcome = ?report.outcome, "reload: {lines}")
            }
            ReloadOutcome::Invalid | ReloadOutcome::Failed => {
                tracing::error!(outcome = ?report.outcome, "reload refused, running config kept: {lines}")
            }
        }
        let summary = format!(
            "{} at {}: {}",
            match report.outcome {
                ReloadOutcome::Applied => "applied",
                ReloadOutcome::Unchanged => "unchanged",
                ReloadOutcome::Invalid => "REFUSED (invalid config)",
                ReloadOutcome::Failed => "FAILED",
            },
            crate::notify::mail::rfc2822(std::time::SystemTime::now()),
            report.lines.first().map_or("", String::as_str)
        );
        self.vrrp
            .published
            .send_modify(|c| c.reload = Some(summary));
        report
    }

    async fn reload_inner(&mut self) -> ReloadReport {
        let src = self.source.clone();
        let loaded = match tokio::task::spawn_blocking(move || src.load()).await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                let outcome = if e.is_bad_input() {
                    ReloadOutcome::Invalid
                } else {
                    ReloadOutcome::Failed
                };
                return ReloadReport {
                    outcome,
                    lines: e.lines(),
                };
            }
            Err(e) => return failed(format!("reading the config failed: {e}")),
        };
        let new = shared(loaded.config);
        // Everything that can refuse the config, before anything applies.
        if let Err(e) = health::plan::plan(&new) {
            return ReloadReport {
                outcome: ReloadOutcome::Invalid,
                lines: vec![e.to_string()],
            };
        }
        let changes = changes::changes(&self.running_vrrp, &self.current, &new);
        let mut lines = loaded.warnings;
        self.vrrp
            .published
            .send_modify(|c| c.source = loaded.describe.clone());
        if changes.is_empty() {
            self.vrrp.published.send_modify(|c| c.pending = None);
            lines.insert(0, "no change".into());
            return ReloadReport {
                outcome: ReloadOutcome::Unchanged,
                lines,
            };
        }
        let mut outcome = ReloadOutcome::Applied;
        let mut applied = changes.live;
        if !applied.is_empty() {
            match self.apply_ipvs(&new).await {
                Ok(line) => lines.push(line),
                Err(line) => {
                    outcome = ReloadOutcome::Failed;
                    lines.push(line);
                }
            }
        }
        if !changes.pending.is_empty() {
            applied.extend(self.apply_vrrp(&new).await);
        }
        let mut pending = Vec::new();
        changes::pending(&self.running_vrrp, &new, &mut pending);
        let joined = (!pending.is_empty()).then(|| pending.join("; "));
        self.vrrp
            .published
            .send_modify(|c| c.pending = joined.clone());
        let n = applied.len();
        lines.splice(
            0..0,
            std::iter::once(format!(
                "{n} change{} applied live{}",
                if n == 1 { "" } else { "s" },
                if pending.is_empty() {
                    ""
                } else {
                    ", others PENDING A RESTART"
                }
            ))
            .chain(applied),
        );
        lines.extend(
            pending
                .into_iter()
                .map(|p| format!("pending a restart: {p}")),
        );
        self.current = new;
        ReloadReport { outcome, lines }
    }
}

fn failed(line: String) -> ReloadReport {
    ReloadReport {
        outcome: ReloadOutcome::Failed,
        lines: vec![line],
    }
}
