//! The daemon's use of the set-up: whether it applies, the block it
//! applied last (what vigil owns of the addresses), and applying it again:
//! for a NIC that appears, and with backoff after a failure another try
//! may cure.
//!
//! Owns: [`Live`] and [`Mode`]. Must not: apply anything on an ordinary
//! host that did not ask (`--config` without `--apply-appliance`: a
//! drop-in must not rewrite a host's network), or fail the daemon (every
//! failure is logged and reported; the rest of the block and of vigil
//! still run).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::edge::{apply, ApplyError, Host, Report};
use super::plan::Desired;
use crate::backoff::Backoff;
use crate::config::model::{Appliance, Config};
use crate::control::Change;
use crate::net::Net;

/// A failed apply is tried again after 1 s, then further apart, up to a
/// minute, for as long as it fails.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// When the daemon applies the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--config` on an ordinary host: never.
    Off,
    /// `--config --apply-appliance`: the block, when the config has one.
    Asked,
    /// `--store`, the box: the block, or the defaults without one (the box
    /// forwards: `ip_forward` is on by default).
    Box,
}

/// The set-up as the daemon runs it, from start through every reload.
pub struct Live {
    net: Net,
    host: Host,
    mode: Mode,
    /// The block applied last and the VIPs of its config: what a NIC that
    /// appears, or a retry, applies again.
    applied: Option<(Appliance, Vec<IpAddr>)>,
    /// The failures of the last apply, for `vigil status`.
    errors: Vec<String>,
    /// The NICs the last apply found missing: their part is applied again
    /// when one appears ([`Live::link_appeared`]).
    missing: BTreeSet<String>,
    /// When the block is applied again after a failure ([`Live::retry`]),
    /// and the waits between those tries.
    due: Option<Instant>,
    backoff: Backoff,
}

impl Live {
    pub fn new(net: Net, mode: Mode) -> Self {
        Live {
            net,
            host: Host::system(),
            mode,
            applied: None,
            errors: Vec::new(),
            missing: BTreeSet::new(),
            due: None,
            backoff: Backoff::new(RETRY_MIN, RETRY_MAX),
        }
    }

    /// A link named `name` exists now (a NIC whose driver loaded after
    /// vigil started, a USB NIC plugged in): when the last apply found it
    /// missing, the block is applied again. `None` when it was not waited
    /// for.
    pub async fn link_appeared(&mut self, name: &str) -> Option<Report> {
        if !self.missing.contains(name) {
            return None;
        }
        tracing::info!(interface = %name, "appliance: interface appeared; applying its set-up");
        self.again(false).await
    }

    /// When the last apply failed in a way another try may cure (a
    /// netlink read or an address the kernel refused while busy at boot):
    /// the time of the next try. A missing NIC waits for its link
    /// instead, and a route the kernel made is refused on purpose.
    pub fn retry_due(&self) -> Option<Instant> {
        self.due
    }

    /// The try [`Live::retry_due`] named: the block applied last, again.
    /// Failures that are the same as the last try's are not logged again.
    pub async fn retry(&mut self) -> Option<Report> {
        self.due = None;
        tracing::debug!(
            try_ = self.backoff.failures(),
            "appliance: applying the set-up again"
        );
        self.again(true).await
    }

    /// Applies `config`'s block (at start, before VRRP; or on a reload)
    /// and logs what it did. `None` when there was nothing to apply.
    pub async fn apply(&mut self, config: &Config) -> Option<Report> {
        let block = match (self.mode, &config.appliance) {
            (Mode::Off, _) => return None,
            (_, Some(b)) => b.clone(),
            (Mode::Box, None) => Appliance::default(),
            // Asked, and no block (or no longer one): the host's network
            // is left as it is, and a block that failed before is not
            // tried again.
            (Mode::Asked, None) => {
                self.due = None;
                self.missing.clear();
                self.errors.clear();
                return None;
            }
        };
        self.backoff.reset();
        Some(self.run(block, vips(config), false).await)
    }

    /// The block applied last, again: "previous" is the block itself, so
    /// nothing of its own is taken for stale.
    async fn again(&mut self, quiet: bool) -> Option<Report> {
        let (block, vips) = self.applied.clone()?;
        Some(self.run(block, vips, quiet).await)
    }

    /// Applies `block`, with `vips` (and the last block's) protected;
    /// logs the report (with `quiet`, its failures only when they
    /// changed), keeps what it says, and arms the next try.
    async fn run(&mut self, block: Appliance, vips: Vec<IpAddr>, quiet: bool) -> Report {
        let mut protected = vips.clone();
        if let Some((_, before)) = &self.applied {
            protected.extend(before);
        }
        let desired = Desired {
            block: &block,
            previous: self.applied.as_ref().map(|(b, _)| b),
            vips: &protected,
        };
        let report = apply(&self.net, &self.host, &desired).await;
        let errors: Vec<String> = report.errors.iter().map(|e| error_chain(e)).collect();
        if quiet && report.done.is_empty() && errors == self.errors {
            tracing::debug!(failures = errors.len(), "appliance: still not applied");
        } else {
            report.log();
        }
        self.errors = errors;
        self.missing = missing(&report.errors);
        self.due = report
            .errors
            .iter()
            .any(retryable)
            .then(|| Instant::now() + self.backoff.next());
        if self.due.is_none() {
            self.backoff.reset();
        }
        self.applied = Some((block, vips));
        report
    }

    /// The failures of the last apply, each with its causes on one line.
    pub fn errors(&self) -> Vec<String> {
        self.errors.clone()
    }

    /// A reload's apply, as the lines it reports: one change, then each
    /// failure. The flag says whether everything applied.
    pub async fn reload(&mut self, config: &Config) -> (Vec<Change>, bool) {
        let Some(report) = self.apply(config).await else {
            return (Vec::new(), true);
        };
        let ok = report.errors.is_empty();
        let mut out = vec![Change::ApplianceSetup {
            ops: report.done.len(),
        }];
        out.extend(report.errors.iter().map(|e| Change::ApplianceFailed {
            error: error_chain(e),
        }));
        (out, ok)
    }
}

/// The NICs an apply found missing.
fn missing(errors: &[ApplyError]) -> BTreeSet<String> {
    errors
        .iter()
        .filter_map(|e| match e {
            ApplyError::NoSuchInterface { interface } => Some(interface.clone()),
            _ => None,
        })
        .collect()
}

/// Whether another try of the same block may cure `e`: not a missing NIC
/// (its link's appearance brings the next try) nor a route the kernel
/// made (refused on purpose, every time).
fn retryable(e: &ApplyError) -> bool {
    !matches!(
        e,
        ApplyError::NoSuchInterface { .. } | ApplyError::KernelRoute { .. }
    )
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    crate::logfields::Chain(e).to_string()
}

/// Every address VRRP may hold (VIPs and excluded VIPs of every instance).
pub fn vips(config: &Config) -> Vec<IpAddr> {
    config
        .vrrp_instances
        .iter()
        .flat_map(|i| {
            i.virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded)
        })
        .map(|v| v.addr)
        .collect()
}

/// Whether the part of the block the set-up applies (hostname, interfaces,
/// `ip_forward`) differs between two configs.
pub fn setup_changed(old: &Config, new: &Config) -> bool {
    let part = |c: &Config| {
        c.appliance
            .as_ref()
            .map(|a| (a.hostname.clone(), a.interfaces.clone(), a.ip_forward))
    };
    part(old) != part(new)
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
