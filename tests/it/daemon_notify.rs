//! `vigil run`'s notifications end to end, in network namespaces: the
//! notify scripts run with keepalived's arguments on every state change,
//! mail reaches a real SMTP server (aiosmtpd) inside the node's namespace,
//! and a dead mail server changes nothing in VRRP: the takeover still comes
//! within the master-down interval.
//!
//! Needs root, iproute2, and python3 with aiosmtpd (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use netns::{serial, Lab};
use peers::{Daemon, Instance, Kind, Proto};

const ADVERT_MS: u32 = 100;
const SLACK: Duration = Duration::from_secs(3);

fn vip() -> IpAddr {
    Proto::V3v4.vip()
}

/// A v3 100 ms instance on `eth0` with mail to 127.0.0.1:`smtp_port` (in
/// the node's own namespace) and the two scripts of `dir`.
fn conf(router: &str, priority: u8, smtp_port: u16, dir: &Path) -> String {
    let d = dir.display();
    format!(
        "global_defs {{
    router_id {router}
    notification_email {{
        ops@example.com
    }}
    notification_email_from vigil@{router}
    smtp_server 127.0.0.1 {smtp_port}
    smtp_connect_timeout 2
}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        192.168.1.200/24
    }}
    notify {d}/notify.sh
    notify_master \"{d}/master.sh from-config\"
    smtp_alert
}}
"
    )
}

/// `notify.sh` appends its arguments to notify.log, `master.sh` to
/// master.log.
fn scripts(dir: &Path) {
    for (name, log) in [("notify.sh", "notify.log"), ("master.sh", "master.log")] {
        let path = dir.join(name);
        let body = format!("#!/bin/sh\necho \"$@\" >> {}/{log}\n", dir.display());
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn start(lab: &Lab, node: usize, text: &str, tag: &str) -> Daemon {
    let n = &lab.nodes[node];
    let conf = lab.path(&format!("n{node}-{tag}.conf"));
    std::fs::write(&conf, text).unwrap();
    let control = lab.path(&format!("n{node}-{tag}.sock"));
    let argv = peers::run_argv(&conf, &control);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let proc = n.ns.spawn(
        &format!("vigil on node{}", node + 1),
        &args,
        &lab.path(&format!("n{node}-{tag}.log")),
    );
    let d = Daemon {
        kind: Kind::Vigil,
        node,
        proc,
        control,
        conf,
        started: Instant::now(),
    };
    d.wait_ready(Duration::from_secs(10));
    d
}

/// Lines of `file` once it has at least `n`, or what it has after `within`.
fn wait_lines(file: &Path, n: usize, within: Duration) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        let lines: Vec<String> = std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        if lines.len() >= n || t0.elapsed() > within {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the last line of `file` is `want`; returns the line count.
fn wait_last(file: &Path, want: &str, within: Duration) -> usize {
    let t0 = Instant::now();
    loop {
        let lines = wait_lines(file, 0, Duration::ZERO);
        if lines.last().map(String::as_str) == Some(want) {
            return lines.len();
        }
        assert!(
            t0.elapsed() < within,
            "{}: {lines:?}, want last {want:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// aiosmtpd in the node's namespace, writing each message to `dir`.
fn smtp_sink(lab: &Lab, node: usize, port: u16, dir: &Path) -> netns::Proc {
    let python = std::env::var("VIGIL_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp_sink.py");
    let log = lab.path("smtp.log");
    let p = lab.nodes[node].ns.spawn(
        "smtp sink",
        &[
            &python,
            script.to_str().unwrap(),
            &port.to_string(),
            dir.to_str().unwrap(),
            "--until-killed",
        ],
        &log,
    );
    let t0 = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("READY")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "smtp_sink.py did not start (is aiosmtpd installed? pip install aiosmtpd): {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p
}

fn mails(dir: &Path, n: usize, within: Duration) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        if names.len() >= n || t0.elapsed() > within {
            return names
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn scripts_get_keepalived_arguments_and_mail_arrives_on_every_change() {
    let _g = serial();
    let lab = Lab::new(2);
    let dir = lab.path("scripts");
    let maildir = lab.path("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&maildir).unwrap();
    scripts(&dir);
    let _sink = smtp_sink(&lab, 0, 2525, &maildir);

    // Alone, node 1 becomes MASTER.
    let mut n1 = start(&lab, 0, &conf("lb1", 100, 2525, &dir), "a");
    lab.wait_sole_holder(0, vip(), SLACK);
    let notify = dir.join("notify.log");
    assert_eq!(
        wait_lines(&notify, 2, SLACK),
        ["INSTANCE VI_1 BACKUP 100", "INSTANCE VI_1 MASTER 100"]
    );
    assert_eq!(
        wait_lines(&dir.join("master.log"), 1, SLACK),
        ["from-config"]
    );

    // A higher priority peer pre-empts it: BACKUP.
    let inst = Instance::new(Proto::V3v4, 150, ADVERT_MS);
    let _n2 = peers::start(&lab, 1, Kind::Vigil, &inst, "b");
    lab.wait_sole_holder(1, vip(), SLACK);
    assert_eq!(
        wait_lines(&notify, 3, SLACK).last().map(String::as_str),
        Some("INSTANCE VI_1 BACKUP 100")
    );

    // A graceful stop: STOP.
    n1.stop();
    assert_eq!(
        wait_lines(&notify, 4, SLACK).last().map(String::as_str),
        Some("INSTANCE VI_1 STOP 100")
    );

    let got = mails(&maildir, 3, Duration::from_secs(15));
    let subjects: Vec<&str> = got
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("Subject:")))
        .collect();
    assert!(got.len() >= 3, "mails: {got:#?}");
    assert!(
        subjects.iter().any(|s| s.contains("MASTER")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("BACKUP")),
        "{subjects:?}"
    );
    assert!(
        got[0].contains("X-Envelope-To: ops@example.com"),
        "{}",
        got[0]
    );
}

#[test]
fn a_dead_mail_server_changes_nothing_in_vrrp() {
    let _g = serial();
    let lab = Lab::new(2);
    let dir = lab.path("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    scripts(&dir);
    // Node 2 is master before node 1 starts, so node 1 never holds the VIP
    // for a moment at start (two fresh nodes both time out as backups, and
    // the loser's MASTER and BACKUP scripts would race the checks below).
    let inst = Instance::new(Proto::V3v4, 150, ADVERT_MS);
    let mut n2 = peers::start(&lab, 1, Kind::Vigil, &inst, "b");
    lab.wait_sole_holder(1, vip(), SLACK);
    // Nothing listens on 127.0.0.1:2526 in node 1's namespace.
    let _n1 = start(&lab, 0, &conf("lb1", 100, 2526, &dir), "a");
    let notify = dir.join("notify.log");
    let before = wait_last(&notify, "INSTANCE VI_1 BACKUP 100", SLACK);
    assert_eq!(before, 1, "node 1 should only ever have been BACKUP");
    lab.wait_sole_holder(1, vip(), SLACK);

    // Node 2 dies: node 1 takes over within its master-down interval, mail
    // failures and retries notwithstanding.
    let backup = Instance::new(Proto::V3v4, 100, ADVERT_MS);
    let t0 = Instant::now();
    n2.kill_with_link(&lab);
    // The killed node keeps the VIP on its downed link; only node 1 counts.
    let bound = backup.master_down() + Duration::from_millis(300);
    while !lab.nodes[0].holds(vip()) && t0.elapsed() < bound {
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = t0.elapsed();
    assert!(
        took <= backup.master_down() + Duration::from_millis(300),
        "takeover took {took:?}, master-down is {:?}",
        backup.master_down()
    );
    assert_eq!(
        wait_lines(&notify, before + 1, SLACK)[before..],
        ["INSTANCE VI_1 MASTER 100".to_owned()]
    );
}
