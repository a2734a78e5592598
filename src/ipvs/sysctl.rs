//! The IPVS sysctls that decide what happens to long-lived connections.
//!
//! Owns: which `net.ipv4.vs.*` values the config asks for ([`wanted`],
//! pure) and writing them under `/proc/sys/net/ipv4/vs` ([`apply`], with
//! the directory as an argument so tests use a temporary one). Must not:
//! touch any other sysctl, or any sysctl at all for a plain keepalived.conf
//! run as a drop-in (the operator's box, not ours).
//!
//! When they apply: on the appliance (`vigil run --store`) always, with the
//! `appliance { ipvs { } }` values or their defaults; with `--config`, only
//! when the file has an `appliance` block. The directory exists only once
//! `ip_vs` is loaded, so the IPVS task applies them after it has connected,
//! and retries on its next pass if that failed.
//!
//! Defaults (see `config::model::IpvsSysctls`), chosen for WebSocket:
//! - `expire_nodest_conn = 1`: a client of a removed real server gets a
//!   reset and reconnects at once instead of hanging until its timeout.
//! - `expire_quiescent_template = 1`: a real server drained to weight 0
//!   gets no new connections through persistence templates.
//! - `conn_reuse_mode = 1`: the kernel's default.
//! - `sloppy_tcp = 1`: after a failover the new master adopts mid-stream
//!   TCP flows it has no entry for, so established connections survive.
//! - the established-TCP idle timeout ([`APPLIANCE_TCP_TIMEOUT`], 7200 s)
//!   when `lvs_timeouts tcp` is not set: the kernel's 900 s would close an
//!   idle WebSocket.

use std::path::Path;

use crate::config::model::{Appliance, IpvsSysctls, LvsTimeouts};

/// The IPVS idle timeout of an established TCP connection on the
/// appliance when `lvs_timeouts tcp` is not set. The kernel's 900 s closes
/// an idle WebSocket after 15 minutes; two hours outlasts the seed's
/// 3600 s persistence and common WebSocket keepalive gaps.
pub const APPLIANCE_TCP_TIMEOUT: u32 = 7200;

/// `lvs_timeouts` as configured, with the appliance's TCP default filled
/// in where sysctls apply (see [`wanted`]); a drop-in run without an
/// `appliance` block keeps the kernel's values for what it does not set.
pub fn timeouts(
    configured: &LvsTimeouts,
    appliance: Option<&Appliance>,
    on_appliance: bool,
) -> LvsTimeouts {
    let ours = appliance.is_some() || on_appliance;
    LvsTimeouts {
        tcp: configured.tcp.or(ours.then_some(APPLIANCE_TCP_TIMEOUT)),
        ..*configured
    }
}

/// Where the IPVS sysctls live.
pub const DIR: &str = "/proc/sys/net/ipv4/vs";

/// One `net.ipv4.vs.<name> = <value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub name: &'static str,
    pub value: String,
}

/// The settings to apply: none for a drop-in run without an `appliance`
/// block; the block's (or the defaults') on the appliance.
pub fn wanted(appliance: Option<&Appliance>, on_appliance: bool) -> Vec<Sysctl> {
    let s: IpvsSysctls = match (appliance, on_appliance) {
        (Some(a), _) => a.ipvs,
        (None, true) => IpvsSysctls::default(),
        (None, false) => return Vec::new(),
    };
    let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
    vec![
        Sysctl {
            name: "expire_nodest_conn",
            value: flag(s.expire_nodest_conn),
        },
        Sysctl {
            name: "expire_quiescent_template",
            value: flag(s.expire_quiescent_template),
        },
        Sysctl {
            name: "conn_reuse_mode",
            value: s.conn_reuse_mode.to_string(),
        },
        Sysctl {
            name: "sloppy_tcp",
            value: flag(s.sloppy_tcp),
        },
    ]
}

/// Writes every setting under `dir`; returns the ones that failed, with why.
pub fn apply(dir: &Path, settings: &[Sysctl]) -> Vec<(&'static str, std::io::Error)> {
    settings
        .iter()
        .filter_map(|s| {
            std::fs::write(dir.join(s.name), format!("{}\n", s.value))
                .err()
                .map(|e| (s.name, e))
        })
        .collect()
}

#[cfg(test)]
#[path = "sysctl_tests.rs"]
mod tests;
