//! Reload in one place: read the source again, refuse what cannot apply,
//! apply the rest live and say what waits for a restart.
//!
//! Owns: the `Reloader` (the running config of each side, the handles
//! it applies through, where the outcome is published) and the config as
//! the daemon keeps it (`shared`). The pure comparison is `changes`;
//! the VRRP side applies in `vrrp`, the IPVS side in `ipvs`. Must not:
//! fail the daemon (a config it cannot use changes nothing), make a
//! master resign for what cannot change in place, or word what it did: it
//! reports typed lines (`control::Line`), and `control::render` words
//! them.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::groups::VrrpSide;
use super::ipvs_side::IpvsSide;
use super::source::{ConfigSource, Loaded};
use crate::config::model::Config;
use crate::control::render::lines_joined;
use crate::control::{LastReload, Line, ReloadOutcome, ReloadReport};
use crate::health;

mod changes;
mod ipvs;
mod progress;
mod vrrp;

use progress::Progress;
pub(crate) use progress::QUIET;

pub use changes::{changes, pending, vrrp_globals, Changes};

/// The config as the daemon keeps it: one copy, shared by the reloader and
/// the IPVS task. The parser sizes each virtual server's real servers and
/// each real server's checkers exactly; the list of virtual servers is
/// sized here. No copy is made: a copy of 100,000 destinations is 31 MB
/// more at a reload's peak.
pub(super) fn shared(mut parsed: Config) -> Arc<Config> {
    parsed.virtual_servers.shrink_to_fit();
    Arc::new(parsed)
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
        vrrp_scripts: config.vrrp_scripts.clone(),
        virtual_server_groups: Vec::new(),
        track_files: config.track_files.clone(),
        track_processes: config.track_processes.clone(),
        static_routes: config.static_routes.clone(),
        static_rules: config.static_rules.clone(),
        bgp: config.bgp.clone(),
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
    /// The store's commit `current` is; `None`: a file or the factory
    /// default. What the console bases a candidate on.
    pub(super) running_seq: Option<u64>,
    pub(super) ipvs: Option<IpvsSide>,
    pub(super) drain_timeout: Duration,
    /// The box's addresses, for the health runner (`ha_suspend`).
    pub(super) local: watch::Receiver<BTreeSet<IpAddr>>,
    pub(super) vrrp: VrrpSide,
    /// The box's own set-up, applied live when its part of the block changes.
    pub(super) appliance: crate::appliance::Live,
    /// The tracked-script task and its table.
    pub(super) scripts: super::scripts::ScriptSide,
    /// The metrics endpoint, bound again when `listen` changes.
    pub(super) metrics: super::metrics::MetricsSide,
    /// The BGP task, replaced when the block or the anycast services
    /// change.
    pub(super) bgp: super::bgp::BgpSide,
    /// Where every IPVS task publishes which services serve.
    pub(super) serving: watch::Sender<Option<crate::bgp::announce::Serving>>,
    /// `static_routes` and `static_rules`, changed by the difference.
    pub(super) statics: super::static_routes::Statics,
    /// The `no_accept` filter in force.
    pub(super) no_accept: super::no_accept::NoAccept,
}

impl Reloader {
    /// A link named `name` exists: the appliance block is applied again if
    /// its last apply was waiting for that NIC.
    pub(super) async fn link_appeared(&mut self, name: &str) {
        if self.appliance.link_appeared(name).await.is_some() {
            self.publish_appliance();
        }
    }

    /// When the appliance block is to be applied again after a failure.
    pub(super) fn appliance_retry_due(&self) -> Option<std::time::Instant> {
        self.appliance.retry_due()
    }

    /// The appliance block applied again after a failure.
    pub(super) async fn appliance_retry(&mut self) {
        if self.appliance.retry().await.is_some() {
            self.publish_appliance();
        }
    }

    fn publish_appliance(&self) {
        let errors = self.appliance.errors();
        self.vrrp
            .published
            .send_if_modified(|c| std::mem::replace(&mut c.appliance, errors) != c.appliance);
    }

    /// Reads the source again and applies what changed; never panics or
    /// fails the daemon. The report is also logged, line by line.
    pub(super) async fn reload(&mut self) -> ReloadReport {
        let report = self.reload_inner().await;
        // The parse's and the hand-over's heap (the old config, plan and
        // tables) goes back to the system, on the blocking pool: a trim
        // walks the whole heap.
        tokio::task::spawn_blocking(crate::mem::trim);
        let lines = lines_joined(&report.lines);
        match report.outcome {
            ReloadOutcome::Applied | ReloadOutcome::Unchanged => {
                tracing::info!(outcome = ?report.outcome, "reload: {lines}")
            }
            ReloadOutcome::Invalid | ReloadOutcome::Failed => {
                tracing::error!(outcome = ?report.outcome, "reload refused, running config kept: {lines}")
            }
        }
        let summary = LastReload {
            outcome: report.outcome,
            at_unix_secs: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            first: report.lines.first().cloned(),
        };
        self.vrrp.published.send_modify(|c| {
            c.reloads.count(summary.outcome);
            c.reload = Some(summary);
        });
        report
    }

    async fn reload_inner(&mut self) -> ReloadReport {
        let mut progress = Progress::start();
        // Read, check, plan and compare on the blocking pool: for 100,000
        // destinations that is seconds of work the main runtime (the
        // supervisor, the watchdog's query, status) must not wait behind.
        let (src, running_vrrp, current) = (
            self.source.clone(),
            self.running_vrrp.clone(),
            self.current.clone(),
        );
        let prepare = move || prepare(&src, &running_vrrp, &current, &mut progress);
        let Prepared {
            loaded,
            new,
            changes,
            mut progress,
        } = match tokio::task::spawn_blocking(prepare).await {
            Ok(Ok(p)) => p,
            Ok(Err(refused)) => return refused,
            Err(e) => {
                return ReloadReport {
                    outcome: ReloadOutcome::Failed,
                    lines: vec![Line::ReadAborted(e.to_string())],
                }
            }
        };
        self.running_seq = loaded.seq;
        let mut lines: Vec<Line> = loaded.warnings.into_iter().map(Line::Warning).collect();
        self.vrrp
            .published
            .send_modify(|c| c.source = loaded.describe.clone());
        if changes.is_empty() {
            self.vrrp.published.send_modify(|c| c.pending.clear());
            lines.insert(0, Line::NoChange);
            return ReloadReport {
                outcome: ReloadOutcome::Unchanged,
                lines,
            };
        }
        let mut outcome = ReloadOutcome::Applied;
        let mut applied = changes.live;
        if !applied.is_empty() {
            let ipvs = self.apply_ipvs(&new).await;
            if ipvs.failed() {
                outcome = ReloadOutcome::Failed;
            }
            lines.push(Line::Ipvs(ipvs));
            progress.step("IPVS task and health checks given the new config");
        }
        // The box's set-up before VRRP: an instance may need a new address.
        if changes.setup {
            let (done, ok) = self.appliance.reload(&new).await;
            outcome = if ok { outcome } else { ReloadOutcome::Failed };
            applied.extend(done);
            let errors = self.appliance.errors();
            self.vrrp.published.send_modify(|c| c.appliance = errors);
        }
        if changes.statics {
            applied.push(self.statics.reload(&new).await);
        }
        if changes.no_accept {
            let (change, ok) = self.no_accept.reload(&new).await;
            outcome = if ok { outcome } else { ReloadOutcome::Failed };
            applied.push(change);
        }
        if !changes.pending.is_empty() {
            applied.extend(self.apply_vrrp(&new).await);
            progress.step("VRRP side applied");
        }
        if changes.metrics {
            applied.extend(self.metrics.reload(&new, &self.vrrp.supervisor));
        }
        if changes.bgp {
            applied.extend(self.bgp.reload(&new, &self.vrrp.supervisor).await);
        }
        let pending = changes::pending(&self.running_vrrp, &new);
        let warnings = super::config_warnings(&new);
        self.vrrp.published.send_modify(|c| {
            c.pending.clone_from(&pending);
            c.warnings = warnings;
        });
        let head = Line::Applied {
            changes: applied.len(),
            pending: !pending.is_empty(),
        };
        lines.splice(
            0..0,
            std::iter::once(head).chain(applied.into_iter().map(Line::Change)),
        );
        lines.extend(pending.into_iter().map(Line::Pending));
        self.current = new;
        ReloadReport { outcome, lines }
    }
}

/// A config read, checked, planned and compared with what runs: the
/// blocking part of a reload.
struct Prepared {
    loaded: Loaded,
    new: Arc<Config>,
    changes: Changes,
    progress: Progress,
}

/// Reads the source, refuses a config the health planner cannot plan,
/// compares the rest with what runs, and refuses a change the box lacks
/// the memory for. Pure but for the read; runs on
/// the blocking pool. `Err`: the report of a refused or unreadable one.
fn prepare(
    src: &ConfigSource,
    running_vrrp: &Config,
    current: &Config,
    progress: &mut Progress,
) -> Result<Prepared, ReloadReport> {
    let mut loaded = src.load().map_err(|e| {
        let outcome = if e.is_bad_input() {
            ReloadOutcome::Invalid
        } else {
            ReloadOutcome::Failed
        };
        ReloadReport {
            outcome,
            lines: e.lines().into_iter().map(Line::Refused).collect(),
        }
    })?;
    let c = &loaded.config;
    let reals: usize = c.virtual_servers.iter().map(|v| v.real_servers.len()).sum();
    progress.step(format_args!(
        "read and checked {} virtual servers, {reals} real servers,",
        c.virtual_servers.len()
    ));
    // Everything that can refuse the config, before anything applies. The
    // plan is checked, not kept: the health runner builds its own.
    let checked = health::plan::check(&loaded.config).map_err(|e| ReloadReport {
        outcome: ReloadOutcome::Invalid,
        lines: vec![Line::Refused(e.to_string())],
    })?;
    progress.step(format_args!("planned {checked} checked real servers"));
    let new = shared(std::mem::take(&mut loaded.config));
    let changes = changes::changes(running_vrrp, current, &new);
    progress.step("compared with the running config");
    // Before anything is built beside what runs (the new config is all
    // there is yet): a box short of the reload's peak refuses it instead
    // of meeting the OOM killer mid-apply. A config that changes nothing
    // builds nothing: it is no change, whatever the box has.
    if !changes.is_empty() {
        let room = crate::mem::room::available();
        crate::mem::room::check(new.destinations(), room).map_err(|e| ReloadReport {
            outcome: ReloadOutcome::Failed,
            lines: vec![Line::Refused(e.to_string())],
        })?;
    }
    Ok(Prepared {
        loaded,
        new,
        changes,
        progress: *progress,
    })
}
