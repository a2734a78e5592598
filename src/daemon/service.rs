//! What vigil tells the service manager (`Type=notify`): READY=1 once VRRP
//! and the IPVS table are up, a one-line STATUS= when it changes, and
//! RELOADING=1 / STOPPING=1 around a reload and a deliberate stop.
//!
//! Owns: when vigil is ready ([`Service::tick`]: every instance task has
//! left INIT and the IPVS task has finished its first pass, or
//! [`READY_BOUND`] has passed), the status line ([`line`], pure), and its
//! rate (one per main-loop tick, only when it changed). Must not: pet
//! systemd's watchdog (the watchdog task does), or block: each message is
//! one datagram, and without `NOTIFY_SOCKET` (a drop-in run by hand, a
//! test) nothing is sent.

use std::fmt::Write;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::control::{render, IpvsSummary, Status};
use crate::watchdog::systemd;

/// How often the main loop looks at the state (and so the most often a
/// STATUS= goes out).
pub(super) const TICK: Duration = Duration::from_millis(500);
/// READY=1 goes out after this at the latest, whatever is still starting
/// (an interface that never comes, an IPVS pass that hangs): systemd's
/// start timeout must not kill a box that serves what it can. Its status
/// line says what is not up.
pub(super) const READY_BOUND: Duration = Duration::from_secs(20);

/// The service manager's view of this process.
pub(super) struct Service {
    started: Instant,
    ready: bool,
    /// Whether the IPVS task's first pass is over.
    ipvs: Option<watch::Receiver<bool>>,
    ipvs_passed: bool,
    last: String,
}

impl Service {
    pub(super) fn new(started: Instant, ipvs: Option<watch::Receiver<bool>>) -> Service {
        Service {
            started,
            ready: false,
            ipvs_passed: ipvs.is_none(),
            ipvs,
            last: String::new(),
        }
    }

    /// One look at the state (`ipvs`: the IPVS status's counts; the
    /// status's own IPVS part is not used): READY=1 when it is first up,
    /// STATUS= when the line changed. True at the look that made it ready.
    pub(super) fn tick(
        &mut self,
        status: &Status,
        ipvs: Option<&IpvsSummary>,
        now: Instant,
    ) -> bool {
        if !self.ipvs_passed {
            self.ipvs_passed = self.ipvs.as_ref().is_none_or(|r| *r.borrow());
        }
        let text = line(status, ipvs);
        if !self.ready {
            let up = self.ipvs_passed && instances_up(status);
            if !up && now.duration_since(self.started) < READY_BOUND {
                return false;
            }
            self.ready = true;
            self.ipvs = None;
            tracing::info!(status = %text, "ready");
            self.last = text;
            say(systemd::ready(&self.last));
            return true;
        }
        if text != self.last {
            self.last = text;
            say(systemd::status(&self.last));
        }
        false
    }

    /// A reload begins (RELOADING=1); [`Service::reloaded`] ends it.
    pub(super) fn reloading(&self) {
        if self.ready {
            say(systemd::reloading());
        }
    }

    /// A reload ended: READY=1 again, with the line as it is.
    pub(super) fn reloaded(&self) {
        if self.ready {
            say(systemd::ready(&self.last));
        }
    }
}

/// STOPPING=1: a deliberate stop begins.
pub(super) fn stopping() {
    say(systemd::stopping());
}

fn say(r: Result<(), crate::watchdog::Error>) {
    if let Err(e) = r {
        tracing::debug!("{e}");
    }
}

/// Every instance has left INIT (MASTER, BACKUP, FAULT, or ERROR: it will
/// not start).
fn instances_up(s: &Status) -> bool {
    s.instances.iter().all(|i| i.state != "INIT")
}

/// One line of state: "VI_1 MASTER, VI_2 BACKUP; ipvs 1 service 2/2 up;
/// watchdog /dev/watchdog 20s: petting".
/// The IPVS table is given apart from the status (read in place).
pub fn line(s: &Status, ipvs: Option<&IpvsSummary>) -> String {
    let mut out = String::new();
    if s.instances.is_empty() {
        out.push_str("no vrrp instance");
    }
    for (n, i) in s.instances.iter().enumerate() {
        let sep = if n == 0 { "" } else { ", " };
        let _ = write!(out, "{sep}{} {}", i.name, i.state);
    }
    if let Some(t) = ipvs {
        let (n, up, all) = (t.services, t.up, t.all);
        let _ = write!(
            out,
            "; ipvs {n} service{} {up}/{all} up",
            if n == 1 { "" } else { "s" }
        );
        if let Some(e) = &t.error {
            let _ = write!(out, " ({e})");
        }
    }
    if !s.appliance.is_empty() {
        let _ = write!(out, "; {} appliance errors", s.appliance.len());
    }
    let _ = write!(out, "; {}", render::watchdog_line(&s.watchdog));
    out
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
