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
mod tests {
    use super::*;

    #[test]
    fn a_drop_in_without_appliance_block_touches_nothing() {
        assert!(wanted(None, false).is_empty());
    }

    #[test]
    fn the_appliance_gets_the_documented_defaults() {
        let got = wanted(None, true);
        let pairs: Vec<(&str, &str)> = got.iter().map(|s| (s.name, s.value.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("expire_nodest_conn", "1"),
                ("expire_quiescent_template", "1"),
                ("conn_reuse_mode", "1"),
                ("sloppy_tcp", "1"),
            ]
        );
    }

    #[test]
    fn the_block_wins_in_both_modes() {
        let mut a = Appliance::default();
        a.ipvs.sloppy_tcp = false;
        a.ipvs.conn_reuse_mode = 2;
        for on_appliance in [true, false] {
            let got = wanted(Some(&a), on_appliance);
            assert!(got.contains(&Sysctl {
                name: "sloppy_tcp",
                value: "0".into()
            }));
            assert!(got.contains(&Sysctl {
                name: "conn_reuse_mode",
                value: "2".into()
            }));
        }
    }

    #[test]
    fn the_appliance_keeps_idle_websockets_longer_unless_told() {
        let none = LvsTimeouts::default();
        assert_eq!(timeouts(&none, None, false), none, "drop-in: the kernel's");
        assert_eq!(timeouts(&none, None, true).tcp, Some(APPLIANCE_TCP_TIMEOUT));
        let set = LvsTimeouts {
            tcp: Some(600),
            tcpfin: None,
            udp: Some(30),
        };
        assert_eq!(timeouts(&set, None, true), set, "configured values win");
        let a = Appliance::default();
        assert_eq!(
            timeouts(&none, Some(&a), false).tcp,
            Some(APPLIANCE_TCP_TIMEOUT)
        );
    }

    #[test]
    fn apply_writes_each_file_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        let settings = wanted(None, true);
        for s in &settings[..3] {
            std::fs::write(dir.path().join(s.name), "0\n").unwrap();
        }
        // sloppy_tcp's file exists too; a missing directory fails them all.
        std::fs::write(dir.path().join("sloppy_tcp"), "0\n").unwrap();
        assert!(apply(dir.path(), &settings).is_empty());
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        assert_eq!(read("expire_nodest_conn"), "1\n");
        assert_eq!(read("sloppy_tcp"), "1\n");
        let failed = apply(&dir.path().join("missing"), &settings);
        assert_eq!(failed.len(), 4);
    }
}
