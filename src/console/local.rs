//! The console's [`Backend`] on the box itself: the daemon's control
//! socket, the journal and the kernel's facts.
//!
//! Owns: how long each request may take, how the journal is read
//! (`journalctl`, vigil's unit only), where uptime, kernel and OS names
//! come from, and `show dr`'s doctor run on the running config. Must
//! not: write anything (the doctor only sends ARP requests).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::shell::{Backend, System};
use crate::control::{self, FrameError, Request, Response};

/// A request that applies a config waits for the reload (and the store
/// write) to finish; any other answers at once.
const QUICK: Duration = Duration::from_secs(10);

pub struct Local {
    pub control: PathBuf,
}

impl Backend for Local {
    fn query(&mut self, req: &Request) -> Result<Response, FrameError> {
        let bound = match req {
            Request::Commit(_) | Request::Confirm | Request::Rollback { .. } => {
                control::RELOAD_BOUND + Duration::from_secs(5)
            }
            _ => QUICK,
        };
        control::query(&self.control, req, bound)
    }

    fn journal(&mut self, lines: usize) -> Vec<String> {
        let out = Command::new("journalctl")
            .args([
                "--unit",
                "vigil.service",
                "--no-pager",
                "--output",
                "short-iso",
            ])
            .args(["--lines", &lines.to_string()])
            .output();
        match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect(),
            Ok(o) => vec![format!(
                "error: journalctl exited {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )],
            Err(e) => vec![format!("error: cannot run journalctl: {e}")],
        }
    }

    fn doctor(&mut self) -> Vec<String> {
        let running = match self.query(&Request::Running) {
            Ok(Response::Config(c)) => c.text,
            Ok(Response::Error(e)) => return vec![format!("error: {e}")],
            Ok(_) => return vec!["error: the daemon gave no config".to_owned()],
            Err(e) => return vec![format!("error: no answer from vigil: {e}")],
        };
        let config = match crate::config::import_str("running", &running, false) {
            Ok(i) => i.config,
            Err(r) => return r.lines(),
        };
        let status = match self.query(&Request::Status) {
            Ok(Response::Status(s)) => Some(s),
            _ => None,
        };
        match crate::doctor::edge::examine(&config, status.as_deref()) {
            Ok(Some(findings)) => findings.iter().map(ToString::to_string).collect(),
            Ok(None) => vec![crate::doctor::edge::NOTHING.to_owned()],
            Err(e) => vec![format!("error: {e}")],
        }
    }

    fn system(&mut self) -> System {
        System {
            hostname: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "vigil".to_owned()),
            uptime_s: uptime().unwrap_or(0),
            kernel: nix::sys::utsname::uname()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_default(),
            os: os_name().unwrap_or_else(|| "unknown OS".to_owned()),
        }
    }
}

/// Whole seconds since the kernel booted (/proc/uptime).
fn uptime() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    // Saturating: a negative or huge reading is no uptime at all.
    Some(secs as u64)
}

/// PRETTY_NAME of /etc/os-release.
fn os_name() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    pretty_name(&text)
}

fn pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|l| {
        let v = l.strip_prefix("PRETTY_NAME=")?;
        Some(v.trim_matches('"').to_owned())
    })
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
