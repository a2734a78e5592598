//! `vigil restart` and SIGUSR2, in network namespaces: the daemon execs
//! itself in place (same PID) and the new process resumes MASTER at once.
//! Throughout, the VIP stays on the master alone, the backup (a second
//! vigil) never becomes MASTER, no notify script runs, a DOWN real server
//! stays DOWN (its state is handed over: no check runs before the status
//! is read), and no socket or pipe of the old process leaks into the new
//! one. A restart with a broken config is refused with file:line:col and
//! stops nothing. After a restart, SIGTERM still resigns at once.
//! (The IPVS table needs ip_vs: the lab's continuity test covers it.)
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns::{serial, Lab};
use peers::{first_state, start_vigil_with, vigil_bin, Daemon, Instance, Kind, Proto};

const VIP: &str = "192.168.1.200";
/// On the LAN, but no host answers ARP for it: a check there times out.
const DEAD_REAL: &str = "192.168.1.240";

fn conf(dir: &Path, priority: u8) -> String {
    let d = dir.display();
    format!(
        "global_defs {{
    router_id lb1
}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    version 3
    virtual_ipaddress {{
        {VIP}/24
    }}
    notify {d}/notify.sh
}}

virtual_server {VIP} 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server {DEAD_REAL} 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
"
    )
}

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

/// Runs `vigil restart` in the background; the caller watches the VIP.
fn restart(d: &Daemon) -> std::process::Child {
    Command::new(vigil_bin())
        .args(["restart", "--control"])
        .arg(&d.control)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vigil restart")
}

fn finish(c: std::process::Child) -> (i32, String) {
    let out = c.wait_with_output().expect("vigil restart output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Samples the VIP's holders every 5 ms for `during`; every sample that
/// is not "node 0 alone", with its time.
fn watch_vip(lab: &Lab, during: Duration) -> Vec<(Duration, Vec<usize>)> {
    let t0 = Instant::now();
    let mut wrong = Vec::new();
    while t0.elapsed() < during {
        let h = lab.holders(vip());
        if h != [0] {
            wrong.push((t0.elapsed(), h));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    wrong
}

/// The sockets and pipes a process holds (fd >= 3), by kernel object: a
/// new process opens new ones, so one the old process also held was kept
/// across the exec (an fd without close-on-exec).
fn kernel_objects(pid: i32) -> BTreeSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read fds")
        .filter_map(|e| {
            let e = e.ok()?;
            let fd: i32 = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            let t = target.to_string_lossy().into_owned();
            (fd >= 3 && (t.starts_with("socket:[") || t.starts_with("pipe:["))).then_some(t)
        })
        .collect()
}

fn health(v: &serde_json::Value) -> String {
    v["ipvs"]["services"][0]["dests"][0]["health"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// After a restart: same PID, a fresh process (uptime below the time
/// since the request), still MASTER.
fn assert_restarted_in_place(d: &Daemon, pid: i32, asked: Instant) {
    assert_eq!(d.proc.pid(), pid);
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the daemon's process is gone"
    );
    let v = d.status_json();
    let uptime = Duration::from_millis(v["uptime_ms"].as_u64().unwrap_or(u64::MAX));
    assert!(uptime < asked.elapsed(), "not a new process: {v}");
    assert_eq!(first_state(&v), "MASTER", "{v}");
    assert!(
        v["resumed"]
            .as_str()
            .unwrap_or("")
            .contains("resumed MASTER: VI_1"),
        "{v}"
    );
}

#[test]
fn restart_keeps_master_vip_and_health_and_refuses_a_broken_config() {
    let _g = serial();
    let lab = Lab::new(2);
    let dir = lab.path("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}/notify.log\n", dir.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let notify = dir.join("notify.log");

    // Node 0 (priority 150) is MASTER, then the backup (100) joins.
    let mut d = start_vigil_with(&lab, 0, &conf(&dir, 150), "restart");
    lab.wait_sole_holder(0, vip(), Duration::from_secs(8));
    let peer = peers::start(
        &lab,
        1,
        Kind::Vigil,
        &Instance::new(Proto::V3v4, 100, 1000),
        "peer",
    );
    peer.wait_ready(Duration::from_secs(10));
    peer.wait_status("peer BACKUP", Duration::from_secs(8), |v| {
        first_state(v) == "BACKUP"
    });
    // The dead real server's first check fails: DOWN.
    d.wait_status("real server down", Duration::from_secs(10), |v| {
        health(v) == "down"
    });
    let pid = d.proc.pid();
    let before_objects = kernel_objects(pid);
    let notified = lines(&notify);
    assert_eq!(
        notified.last().map(String::as_str),
        Some("INSTANCE VI_1 MASTER 150")
    );

    // 1. `vigil restart`: the VIP never moves, for longer than the
    //    backup's master-down interval (3 x 1 s + skew) after the request.
    let asked = Instant::now();
    let child = restart(&d);
    let wrong = watch_vip(&lab, Duration::from_secs(5));
    let (code, out) = finish(child);
    assert_eq!(code, 0, "{out}\n{}", d.proc.log_tail(30));
    eprintln!("vigil restart said:\n{out}");
    assert!(out.contains("handing over to"), "{out}");
    assert!(out.contains("resumed MASTER: VI_1"), "{out}");
    assert!(!out.contains("differs"), "the same config: {out}");
    assert!(wrong.is_empty(), "VIP not on node 0 alone: {wrong:?}");
    assert_restarted_in_place(&d, pid, asked);
    // The advert bridge sent VI_1's adverts from the new image's start
    // until its instance task took over.
    let log = d.proc.log_tail(300);
    for l in log.lines().filter(|l| l.contains("advert bridge")) {
        eprintln!("{l}");
    }
    assert!(
        log.contains("advert bridge started")
            && log.contains("advert bridge stopped: the instance task takes over"),
        "{log}"
    );
    // The same build: the config the old process's check read is handed
    // over, not read again.
    assert!(log.contains("is handed over, not read again"), "{log}");
    // Handed over, not re-learnt: still DOWN although no check has run
    // (the first takes connect_timeout, 1 s, to fail).
    assert_eq!(health(&d.status_json()), "down");
    assert_eq!(
        lines(&notify),
        notified,
        "a resumed MASTER notifies nothing"
    );
    // What this test process holds too was inherited from above, not
    // opened by the daemon.
    let inherited = kernel_objects(i32::try_from(std::process::id()).unwrap());
    let leaked: Vec<_> = kernel_objects(pid)
        .intersection(&before_objects)
        .filter(|o| !inherited.contains(*o))
        .cloned()
        .collect();
    assert!(leaked.is_empty(), "kept across the exec: {leaked:?}");

    // 2. A broken config: refused with its position, nothing stopped.
    let good = std::fs::read_to_string(&d.conf).unwrap();
    std::fs::write(&d.conf, good.replace("priority 150", "priority 300")).unwrap();
    let since = Instant::now();
    let (code, out) = finish(restart(&d));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("restart.conf:9:"),
        "file:line:col expected: {out}"
    );
    assert!(out.contains("refused"), "{out}");
    let v = d.status_json();
    let uptime = Duration::from_millis(v["uptime_ms"].as_u64().unwrap_or(0));
    assert!(uptime > since.elapsed(), "it restarted anyway: {v}");
    assert_eq!(first_state(&v), "MASTER");

    // 3. SIGUSR2 does the same as `vigil restart`.
    std::fs::write(&d.conf, &good).unwrap();
    let asked = Instant::now();
    d.proc.signal(libc::SIGUSR2);
    let wrong = watch_vip(&lab, Duration::from_secs(5));
    assert!(wrong.is_empty(), "VIP not on node 0 alone: {wrong:?}");
    assert_restarted_in_place(&d, pid, asked);

    // 4. A changed config is said, and the new process runs it (priority
    //    150 -> 140, still above the backup's 100: resumed).
    std::fs::write(&d.conf, good.replace("priority 150", "priority 140")).unwrap();
    let asked = Instant::now();
    let child = restart(&d);
    let wrong = watch_vip(&lab, Duration::from_secs(5));
    let (code, out) = finish(child);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("differs from the running config"), "{out}");
    assert!(wrong.is_empty(), "VIP not on node 0 alone: {wrong:?}");
    assert_restarted_in_place(&d, pid, asked);
    assert_eq!(d.status_json()["instances"][0]["priority"], 140);

    // The backup never took over, all along.
    let peer_log = std::fs::read_to_string(peer.proc.log()).unwrap_or_default();
    assert!(
        !peer_log
            .lines()
            .any(|l| l.contains("vrrp state change") && l.contains("state=MASTER")),
        "the backup became MASTER:\n{peer_log}"
    );
    assert_eq!(first_state(&peer.status_json()), "BACKUP");

    // 5. The restarted process still resigns on SIGTERM: the backup takes
    //    over after its skew, not its master-down interval.
    let t0 = Instant::now();
    d.stop();
    let took = lab.wait_sole_holder(1, vip(), Duration::from_secs(2));
    eprintln!(
        "restart: graceful takeover after the restarts {:?} (from SIGTERM {:?})",
        took,
        t0.elapsed()
    );
    assert_eq!(
        lines(&notify).last().map(String::as_str),
        Some("INSTANCE VI_1 STOP 140")
    );
}
