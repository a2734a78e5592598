//! Logging: the global tracing subscriber, to journald or stderr, and the
//! vocabulary of fields every log line uses.
//!
//! Owns: where log lines go, the level filter, and how fields reach the
//! journal. Must not: log anything itself (but the one line saying that
//! journald was asked for and is not there), or be called twice expecting
//! a change (the first subscriber stays).
//!
//! # Fields
//!
//! A line about one of these things carries its field, and its message is
//! a fixed phrase (no name, address or error spliced in), so
//! `journalctl -u vigil INSTANCE=VI_1` or
//! `journalctl -u vigil VIRTUAL_SERVER=192.168.1.200:80/tcp` finds every
//! line about that thing. On stderr the same fields print as `key=value`.
//!
//! | field | the thing | example value |
//! |---|---|---|
//! | `instance` | a `vrrp_instance` | `VI_1` |
//! | `group` | a `vrrp_sync_group` | `G1` |
//! | `vrid` | its virtual router id | `51` |
//! | `interface` | a network interface | `eth0` |
//! | `family` | a VRRP socket's address family ([`crate::logfields::family`]) | `ipv4`, `ipv6` |
//! | `state` | the state now: VRRP (`INIT` `BACKUP` `MASTER` `FAULT`), a real server (`UP` `DOWN`) | `MASTER` |
//! | `from` | the state before a change | `BACKUP` |
//! | `reason` | why a VRRP state changed | `MasterDown` |
//! | `vrrp_priority` | a VRRP priority | `100` |
//! | `vip` | a virtual IP address | `192.168.1.200` |
//! | `mac` | an Ethernet address (an ARP theft's sender) | `52:54:00:00:00:67` |
//! | `route` | a route or rule line (`virtual_routes`, `static_rules`, ...), as keepalived.conf writes it | `192.168.109.0/24 via 192.168.200.254 dev eth1` |
//! | `virtual_server` | an IPVS service ([`crate::logfields::VirtualServer`]) | `192.168.1.200:80/tcp`, `fwmark 1` |
//! | `real_server` | an IPVS destination ([`crate::logfields::RealServer`]) | `10.0.0.2:8080` |
//! | `checker` | a health checker's keyword | `TCP_CHECK` |
//! | `task` | a supervised task's name | `instance VI_1`, `receive eth0 v4` |
//! | `device` | a watchdog: its device, or `systemd` | `/dev/watchdog` |
//! | `script` | a notify or quorum script | `/etc/vigil/notify.sh` |
//! | `event` | a notify event that is not an instance's or group's (ipvsadm's words) | `TCP 192.168.1.200:80 -> 10.0.0.2:80` |
//! | `op` | an IPVS or sync-daemon operation | `add dest ...` |
//! | `error` | what went wrong, as text with its causes | |
//! | `commit`, `of` | a commit of the store's history (its seq), the commit a confirm or rollback names | `4`, `3` |
//! | `confirm_by` | a commit confirmed's deadline, unix seconds | `1700000060` |
//!
//! Notify scripts run in a span carrying their `instance`, `group` or
//! `event`, so their lines carry it too (journald also gets `SPAN_NAME`).
//!
//! Write a text value with `%` (its `Display`): the stderr layer prints a
//! plain `&str` field quoted (`state="MASTER"`), a `%` one as it is
//! (`state=MASTER`); journald gets the bare text either way.
//!
//! Never name a field `priority`, `message`, `target`, `errno`, `unit`,
//! `tid`, `code_file`, `code_line`, `code_func`, `syslog_*`,
//! `documentation`, `message_id` or `invocation_id`: without a prefix they
//! are journald's own fields, and a second `PRIORITY` would garble the
//! line's level. `logging_tests` checks every tracing call site for these
//! and for the retired synonyms (`service`, `real`, `watchdog`).
//!
//! # What the journal receives
//!
//! tracing-journald (0.3.2) sends each event as one datagram in journald's
//! native protocol to `/run/systemd/journal/socket`: `PRIORITY` (error 3,
//! warn 4, info 5, debug 6, trace 7), `TARGET` (the module path),
//! `CODE_FILE`, `CODE_LINE`, `SYSLOG_IDENTIFIER=vigil`, `MESSAGE`, and each
//! field upper-cased (`.` to `_`): `INSTANCE=VI_1`, `VRID=51`,
//! `STATE=MASTER`. The crate prefixes user fields with `F_` by default;
//! vigil turns that off (`with_field_prefix(None)`), so the names above
//! are what `journalctl` filters on. Values are the fields' `Display` (or
//! `Debug` for `?` fields); journald adds its trusted `_PID`,
//! `_SYSTEMD_UNIT` and the rest itself. A line inside a span (only the
//! notify scripts') also gets the span's fields and `SPAN_NAME`,
//! `SPAN_TARGET`, `SPAN_CODE_FILE`, `SPAN_CODE_LINE`.

use std::path::Path;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    /// journald if its socket exists, else stderr.
    Auto,
    Stderr,
    Journald,
}

const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

/// The journal's `SYSLOG_IDENTIFIER` (`journalctl -t vigil`).
pub const SYSLOG_IDENTIFIER: &str = "vigil";

/// Installs the global subscriber. Returns where logs go.
pub fn init_logging(level: tracing::Level, to: LogTo) -> &'static str {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = LevelFilter::from_level(level);
    let journald = match to {
        LogTo::Stderr => false,
        LogTo::Journald => true,
        LogTo::Auto => Path::new(JOURNALD_SOCKET).exists(),
    };
    let unreachable = match journald.then(tracing_journald::layer) {
        Some(Ok(layer)) => {
            let layer = layer
                .with_syslog_identifier(SYSLOG_IDENTIFIER.into())
                .with_field_prefix(None);
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .try_init();
            return "journald";
        }
        Some(Err(e)) => Some(e),
        None => None,
    };
    let fmt = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    if let Some(e) = unreachable {
        tracing::warn!(error = %e, "journald unreachable: logging to stderr");
    }
    "stderr"
}

#[cfg(test)]
#[path = "logging_tests.rs"]
mod tests;
