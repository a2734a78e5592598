//! What a reload says, as data: its outcome, each line of its report, and
//! each setting that waits for a restart.
//!
//! Owns: the reload vocabulary of the control protocol: what the daemon
//! answers `vigil reload` with ([`ReloadReport`]) and what `vigil status`
//! carries of it ([`Pending`], [`LastReload`]). Must not: word anything:
//! the text is in [`super::render`] (the `Display` impls), the one place
//! that turns these into the lines `vigil reload`, `vigil status` and the
//! journal show.
//!
//! Services and real servers are named by their kernel identity as
//! ipvsadm writes it ("TCP 192.168.1.200:80", "192.168.1.102:80"): the
//! protocol does not carry the IPVS codec's types, so the codec can change
//! without changing the frame.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a reload did, line by line, for `vigil reload` and the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReloadReport {
    pub outcome: ReloadOutcome,
    /// What changed and how it was applied; or every error of a refused
    /// config (file:line:col).
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReloadOutcome {
    /// Applied (possibly with parts pending a restart, said in `lines`).
    #[default]
    Applied,
    /// The source is the running config: nothing to do.
    Unchanged,
    /// The new config has errors: nothing applied, the running one stays.
    Invalid,
    /// The source could not be read, or applying failed.
    Failed,
}

/// One line of a reload report, in the order the daemon reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Line {
    /// The first line when nothing differs from what runs.
    NoChange,
    /// The first line of an applied reload: how many [`Line::Change`]
    /// lines follow, and whether others wait for a restart.
    Applied { changes: usize, pending: bool },
    /// One change, applied live (or tried: [`Change::InstanceNotApplied`]).
    Change(Change),
    /// What the IPVS task did with the new config.
    Ipvs(IpvsApply),
    /// A setting that waits for a restart.
    Pending(Pending),
    /// A warning of the import (an alias, an ignored keyword), as the
    /// config importer words it.
    Warning(String),
    /// A line of why the config was refused or could not be read (each
    /// error at file:line:col, the summary, its causes), as the config
    /// loader or the health planner words it.
    Refused(String),
    /// Reading the config ended without an answer (the blocking read
    /// panicked or was cancelled).
    ReadAborted(String),
}

/// One change a reload applied live, or tried to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    ServiceAdded {
        service: String,
        real_servers: usize,
    },
    /// Its real servers drain, then it is deleted.
    ServiceRemoved {
        service: String,
    },
    /// A setting of the service itself (scheduler, persistence, ...).
    ServiceSettings {
        service: String,
    },
    RealServerAdded {
        service: String,
        real: String,
    },
    RealServerChanged {
        service: String,
        real: String,
    },
    /// It drains (weight 0) until its connections end.
    RealServerRemoved {
        service: String,
        real: String,
    },
    LvsTimeouts,
    /// The appliance's IPVS sysctls.
    ApplianceIpvs,
    /// Notification and script settings of `global_defs`, handed to the
    /// notifier.
    Notifier,
    /// The tracked-script task started again with the new `vrrp_script`
    /// set (unchanged scripts kept their states); `false`: it runs as
    /// before (nothing it runs changed).
    VrrpScripts {
        restarted: bool,
    },
    /// Started on its own (alone, or with a new sync group).
    InstanceStarted {
        name: String,
    },
    /// Stopped as on shutdown: a master resigned first.
    InstanceStopped {
        name: String,
    },
    /// Its task took the new settings.
    InstanceApplied {
        name: String,
    },
    /// Its task runs as before until a restart.
    InstanceNotApplied {
        name: String,
        why: NotApplied,
    },
    SyncGroupApplied {
        name: String,
    },
    /// The appliance's set-up (hostname, interfaces, `ip_forward`) was
    /// applied live: `ops` changes made.
    ApplianceSetup {
        ops: usize,
    },
    /// One item of that set-up failed, as `appliance::ApplyError` words it
    /// with its causes.
    ApplianceFailed {
        error: String,
    },
    /// `script_user` or `enable_script_security` changed and the config
    /// has MISC_CHECKs: the health checks were replaced to run them so.
    MiscCheckScripts,
    /// The console password changed: asked at the next console login
    /// (`vigil console --login` reads it from the running config).
    ConsolePassword,
    /// The metrics endpoint was bound again on `listen` (`None`: stopped).
    Metrics {
        listen: Option<String>,
    },
    /// The `bgp` block or the anycast services changed: BIRD's config is
    /// written again (`announced`: the anycast addresses now; `None`: the
    /// block is gone and every route withdrawn).
    Bgp {
        announced: Option<usize>,
    },
    /// `static_routes` / `static_rules` changed: the lines it dropped were
    /// removed, the ones it added installed; `failed` calls (logged).
    StaticRoutes {
        added: usize,
        removed: usize,
        failed: u64,
    },
    /// The `no_accept` filter now guards `vips` VIPs and the services on
    /// them; `error`: the kernel refused the new one, and the old one is
    /// still in force.
    NoAcceptFilter {
        vips: usize,
        error: Option<String>,
    },
}

/// Why an instance's new settings were not applied in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotApplied {
    /// Its interface is not on the box.
    NoInterface { interface: String },
    /// Its task refused them, as the task words it (the instance's
    /// `Reconfig` result).
    Refused(String),
}

/// What the IPVS task did with a reload's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpvsApply {
    /// None ran before: the IPVS task and the health checks started.
    Started,
    /// None ran before and the config has nothing for one to do.
    NothingToProgram,
    /// The first pass with the new config.
    Applied { ops: usize, draining: usize },
    /// The first pass had ops refused (the task retries them): each as
    /// the task reports it.
    Refused { ops: usize, refused: Vec<String> },
    /// The kernel could not be programmed at all (the task retries).
    Unreachable(String),
    /// The health checks of the new config could not be planned.
    Unplannable(String),
    /// The first pass did not finish within the bound; it goes on.
    Slow { bound: Duration },
    /// The task dropped the commit without answering.
    Dropped,
    /// The task is gone.
    Gone,
}

impl IpvsApply {
    /// Whether the reload failed with it.
    pub fn failed(&self) -> bool {
        match self {
            IpvsApply::Started | IpvsApply::NothingToProgram | IpvsApply::Applied { .. } => false,
            IpvsApply::Refused { .. }
            | IpvsApply::Unreachable(_)
            | IpvsApply::Unplannable(_)
            | IpvsApply::Slow { .. }
            | IpvsApply::Dropped
            | IpvsApply::Gone => true,
        }
    }
}

/// A setting of the loaded config the running daemon has not applied: it
/// waits for a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    /// An instance the running tasks do not run as configured (one that
    /// joins a running sync group, or a change that cannot apply in place).
    Instance {
        name: String,
        diff: Diff,
    },
    /// A sync group whose membership differs from the running one.
    SyncGroup {
        name: String,
        diff: Diff,
    },
    /// The VRRP, notification or script settings of `global_defs`.
    VrrpGlobals,
    LvsSyncDaemon,
    /// The `appliance` block's watchdog (the rest applies live).
    Appliance,
    /// The `vrrp_script` blocks.
    VrrpScripts,
}

/// How a section differs from the running one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Diff {
    Added,
    Changed,
    Removed,
}

/// Reloads (and commits, which reload) since the daemon started, by
/// outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReloadCounts {
    pub applied: u64,
    pub unchanged: u64,
    pub invalid: u64,
    pub failed: u64,
}

impl ReloadCounts {
    pub fn count(&mut self, outcome: ReloadOutcome) {
        let c = match outcome {
            ReloadOutcome::Applied => &mut self.applied,
            ReloadOutcome::Unchanged => &mut self.unchanged,
            ReloadOutcome::Invalid => &mut self.invalid,
            ReloadOutcome::Failed => &mut self.failed,
        };
        *c += 1;
    }
}

/// The last reload, as `vigil status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastReload {
    pub outcome: ReloadOutcome,
    /// When, in seconds since the Unix epoch.
    pub at_unix_secs: u64,
    /// The report's first line, when it had one.
    pub first: Option<Line>,
}

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
