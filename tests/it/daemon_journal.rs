//! What reaches journald, and stderr when there is no journald: a real
//! `vigil run` in a network namespace and a private mount namespace whose
//! `/run` is a fresh tmpfs; with a journal, the test's own socket
//! (`support::journal::Sink`) is bind-mounted at `/run/systemd/journal`, so
//! vigil's tracing-journald layer sends its datagrams to the test. The
//! host's journald (running or not) is never involved.
//!
//! One instance on a veth `eth0` becomes MASTER by itself (no peer) a
//! master-down interval after start; its state change is the line checked.
//!
//! Needs root, iproute2 and util-linux's `unshare`: without them these
//! tests FAIL, loudly.

use std::path::Path;
use std::time::Duration;

use crate::support::journal::{Entry, Sink};
use crate::support::netns::{require_program, serial, wait_for, Netns, Proc};
use crate::support::peers::vigil_bin;

const CONF: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 0.1
    version 3
    notify_master /bin/false
    virtual_ipaddress {
        192.168.1.200/24
    }
}
";

/// `/run` a tmpfs in vigil's own mount namespace; with a directory given,
/// that directory (holding the test's socket) bind-mounted at
/// `/run/systemd/journal`. Then exec vigil with the remaining arguments.
const MOUNTS: &str = "mount -t tmpfs vigil-run /run \
    && mkdir -p /run/systemd/journal \
    && { [ -z \"$1\" ] || mount --bind \"$1\" /run/systemd/journal; } \
    && shift && exec \"$@\"";

/// A namespace with `eth0` holding 192.168.1.1/24, one end of a veth
/// pair whose other end (`peer0`) is up in the same namespace, so `eth0`
/// has a carrier.
fn node() -> Netns {
    require_program("unshare", "util-linux");
    let ns = Netns::new();
    ns.exec(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.exec(&["ip", "addr", "add", "192.168.1.1/24", "dev", "eth0"]);
    ns.exec(&["ip", "link", "set", "peer0", "up"]);
    ns.exec(&["ip", "link", "set", "eth0", "up"]);
    ns
}

/// Starts vigil with `--log-to <to>` at debug level; `journal` is the
/// directory bind-mounted at `/run/systemd/journal`, if any.
fn start(ns: &Netns, dir: &Path, journal: Option<&Path>, to: &str) -> Proc {
    let conf = dir.join("vigil.conf");
    std::fs::write(&conf, CONF).expect("write the config");
    let control = dir.join(format!("control-{to}.sock"));
    let journal = journal.map_or(String::new(), |p| p.display().to_string());
    let bin = vigil_bin();
    let args = [
        "unshare",
        "--mount",
        "--",
        "sh",
        "-c",
        MOUNTS,
        "sh",
        &journal,
        bin.to_str().expect("utf-8 path"),
        "run",
        "--config",
        conf.to_str().expect("utf-8 path"),
        "--control",
        control.to_str().expect("utf-8 path"),
        "--log-to",
        to,
        "--log-level",
        "debug",
    ];
    ns.spawn(
        &format!("vigil --log-to {to}"),
        &args,
        &dir.join(format!("{to}.log")),
    )
}

fn is_state_change(e: &Entry) -> bool {
    e.get("MESSAGE") == Some("vrrp state change") && e.get("STATE") == Some("MASTER")
}

fn show(entries: &[Entry]) -> String {
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            let fields: Vec<String> =
                e.0.iter()
                    .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
                    .collect();
            fields.join(" ")
        })
        .collect();
    lines.join("\n")
}

#[test]
fn journald_gets_a_state_change_with_its_fields() {
    let _serial = serial();
    let ns = node();
    let sink = Sink::bind();
    let dir = tempfile::tempdir().expect("temporary directory");
    // `auto`: the socket's presence alone sends the logs to the journal.
    let mut vigil = start(&ns, dir.path(), Some(sink.dir()), "auto");

    let (change, seen) = sink
        .wait_for(Duration::from_secs(10), is_state_change)
        .unwrap_or_else(|seen| {
            panic!(
                "no MASTER state change reached the journal socket; got:\n{}",
                show(&seen)
            )
        });
    for (key, want) in [
        ("INSTANCE", "VI_1"),
        ("VRID", "51"),
        ("INTERFACE", "eth0"),
        ("FAMILY", "ipv4"),
        ("STATE", "MASTER"),
        ("FROM", "BACKUP"),
        ("VRRP_PRIORITY", "100"),
        ("SYSLOG_IDENTIFIER", "vigil"),
        ("PRIORITY", "5"), // info: notice
        ("TARGET", "vigil::vrrp::instance"),
    ] {
        assert_eq!(change.get(key), Some(want), "{key} in {change:?}");
    }
    assert!(change
        .get("CODE_FILE")
        .is_some_and(|f| f.ends_with("instance.rs")));
    assert!(change.get("CODE_LINE").is_some());
    assert_eq!(change.count("PRIORITY"), 1, "one PRIORITY: {change:?}");
    assert!(
        !change.keys().any(|k| k.starts_with("F_")),
        "fields sent with tracing-journald's prefix: {change:?}"
    );

    // The master's notify script (/bin/false) fails: a warning (4), in
    // the span that names its instance.
    let mut seen = seen;
    let rest = sink.collect(Duration::from_secs(2));
    seen.extend(rest);
    let failed = seen
        .iter()
        .find(|e| e.get("MESSAGE") == Some("notify script failed"))
        .unwrap_or_else(|| panic!("no failed notify script:\n{}", show(&seen)));
    assert_eq!(failed.get("PRIORITY"), Some("4"), "{failed:?}");
    assert_eq!(failed.get("INSTANCE"), Some("VI_1"), "{failed:?}");
    assert_eq!(failed.get("SCRIPT"), Some("/bin/false"), "{failed:?}");
    // Debug lines are informational (6).
    let debug = seen
        .iter()
        .find(|e| {
            e.get("MESSAGE") == Some("notify scripts run as root without enable_script_security")
        })
        .unwrap_or_else(|| panic!("no debug line:\n{}", show(&seen)));
    assert_eq!(debug.get("PRIORITY"), Some("6"), "{debug:?}");
    // No script_user: the start warns (4) which scripts run as root.
    let root = seen
        .iter()
        .find(|e| {
            e.get("MESSAGE")
                .is_some_and(|m| m.contains("will run as root"))
        })
        .unwrap_or_else(|| panic!("no run-as-root warning:\n{}", show(&seen)));
    assert_eq!(root.get("PRIORITY"), Some("4"), "{root:?}");
    assert_eq!(
        root.get("MESSAGE"),
        Some("1 script(s) will run as root (no script_user in global_defs): vrrp_instance VI_1 notify_master /bin/false"),
    );
    // Nothing went to stderr but what precedes the subscriber.
    vigil.terminate(Duration::from_secs(5));
    let stderr = std::fs::read_to_string(vigil.log()).unwrap_or_default();
    assert!(
        !stderr.contains("vrrp state change"),
        "also on stderr:\n{stderr}"
    );
}

/// Waits for the MASTER state change in `p`'s stderr and returns its line.
fn stderr_state_change(p: &Proc) -> String {
    let mut line = None;
    let found = wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        let text = std::fs::read_to_string(p.log()).unwrap_or_default();
        line = text
            .lines()
            .find(|l| l.contains("vrrp state change") && l.contains("state=MASTER"))
            .map(str::to_owned);
        line.is_some()
    });
    assert!(found, "no state change on stderr:\n{}", p.log_tail(30));
    line.unwrap_or_default()
}

#[test]
fn stderr_without_journald_and_when_asked() {
    let _serial = serial();
    let ns = node();
    let dir = tempfile::tempdir().expect("temporary directory");

    // journald asked for, none there: said once, then stderr.
    let mut forced = start(&ns, dir.path(), None, "journald");
    let line = stderr_state_change(&forced);
    for field in [
        "instance=VI_1",
        "vrid=51",
        "interface=eth0",
        "from=BACKUP",
        "family=ipv4",
        "state=MASTER",
    ] {
        assert!(line.contains(field), "no {field} in: {line}");
    }
    let log = std::fs::read_to_string(forced.log()).unwrap_or_default();
    assert!(
        log.contains("journald unreachable: logging to stderr"),
        "{log}"
    );
    forced.terminate(Duration::from_secs(5));

    // stderr asked for with a journal there: nothing reaches the journal.
    let sink = Sink::bind();
    let mut plain = start(&ns, dir.path(), Some(sink.dir()), "stderr");
    stderr_state_change(&plain);
    plain.terminate(Duration::from_secs(5));
    let sent = sink.collect(Duration::from_millis(200));
    assert!(
        sent.is_empty(),
        "--log-to stderr still sent:\n{}",
        show(&sent)
    );
}
