//! Local faults are not the real server's: a vigil started with a tiny
//! RLIMIT_NOFILE (setrlimit in the spawned daemon's `pre_exec`) runs 40
//! TCP_CHECKs a second with `retry 0` (one counted failure would take a
//! server down) against 40 healthy listeners. Many checks cannot get a
//! socket (EMFILE); every real server must stay UP with no failed check,
//! and the status must show the local errors by errno.
//!
//! Needs root and iproute2 (a network namespace). The host has no ip_vs:
//! the IPVS task retries its calls; the health runner and the status of
//! each real server do not need the kernel's table.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::netns::{serial, Lab, Proc};
use crate::support::peers::{run_argv, vigil_bin};

const SERVERS: u16 = 40;
const FIRST_PORT: u16 = 9001;
/// Open files the daemon may hold: what it holds idle (about 30: stdio,
/// the runtimes, netlink, the control socket, a few for the blocking
/// pool), and a handful more, far below 40 checks at once.
const NOFILE: u64 = 40;

fn conf(ip: &str) -> String {
    let reals: String = (0..SERVERS)
        .map(|i| {
            format!(
                "    real_server {ip} {} {{
        TCP_CHECK {{
            connect_timeout 2
            retry 0
        }}
    }}
",
                FIRST_PORT + i
            )
        })
        .collect();
    format!(
        "virtual_server 192.168.1.200 80 {{
    delay_loop 1
    warmup 0
    lb_algo rr
    lb_kind NAT
    protocol TCP
{reals}}}
"
    )
}

/// Listeners in the namespace, drained (accepted and dropped) by one
/// thread until the returned flag is set.
fn listeners(lab: &Lab, ip: std::net::Ipv4Addr) -> Arc<AtomicBool> {
    let socks: Vec<TcpListener> = lab.nodes[0].ns.enter(move || {
        (0..SERVERS)
            .map(|i| {
                let l = TcpListener::bind(SocketAddr::from((ip, FIRST_PORT + i))).expect("bind");
                l.set_nonblocking(true).expect("nonblocking");
                l
            })
            .collect()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            for l in &socks {
                while l.accept().is_ok() {}
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    stop
}

/// vigil run in node 0 with RLIMIT_NOFILE at `NOFILE`.
fn start(lab: &Lab, conf: &str) -> (Proc, std::path::PathBuf) {
    let conf_path = lab.path("local.conf");
    std::fs::write(&conf_path, conf).expect("write conf");
    let control = lab.path("local.sock");
    let argv = run_argv(&conf_path, &control);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut cmd = lab.nodes[0].ns.command(&args);
    let lim = libc::rlimit {
        rlim_cur: NOFILE,
        rlim_max: NOFILE,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, an
    // async-signal-safe system call, on a value it owns; `ip netns exec`
    // keeps the limit across its own exec of vigil.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let proc =
        lab.nodes[0]
            .ns
            .spawn_command("vigil (tiny RLIMIT_NOFILE)", cmd, &lab.path("local.log"));
    (proc, control)
}

/// `vigil status --json`, or `None` when it did not answer (the daemon
/// may have no descriptor left to accept with at that moment).
fn status(control: &std::path::Path) -> Option<serde_json::Value> {
    let out = std::process::Command::new(vigil_bin())
        .args(["status", "--json", "--control"])
        .arg(control)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// (servers up, servers with a failure streak, servers checked, local
/// errors by errno).
fn tally(v: &serde_json::Value) -> (usize, usize, usize, Vec<(String, u64)>) {
    let svc = &v["ipvs"]["services"][0];
    let dests = svc["dests"].as_array().cloned().unwrap_or_default();
    let up = dests.iter().filter(|d| d["health"] == "up").count();
    let failing = dests.iter().filter(|d| d["failures"] != 0).count();
    let checked = dests.iter().filter(|d| d["last"] != "none").count();
    let local = (svc["local_errors"].as_object())
        .map(|o| {
            o.iter()
                .filter_map(|(e, n)| Some((e.clone(), n.as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    (up, failing, checked, local)
}

#[test]
fn a_daemon_out_of_descriptors_keeps_every_healthy_server_up() {
    let _g = serial();
    let lab = Lab::new(1);
    let ip = lab.nodes[0].v4;
    let stop = listeners(&lab, ip);
    let (mut proc, control) = start(&lab, &conf(&ip.to_string()));
    let t0 = Instant::now();
    let mut last = None;
    // Ten seconds of checks: about 400, many of them without a socket.
    while t0.elapsed() < Duration::from_secs(12) {
        assert!(proc.alive(), "vigil died:\n{}", proc.log_tail(30));
        if let Some(v) = status(&control) {
            let (up, failing, checked, local) = tally(&v);
            assert_eq!(failing, 0, "a check failed: {v}\n{}", proc.log_tail(30));
            assert_eq!(
                up,
                usize::from(SERVERS),
                "a server went down: {v}\n{}",
                proc.log_tail(30)
            );
            last = Some((up, failing, checked, local));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    stop.store(true, Ordering::Relaxed);
    let (up, failing, checked, local) = last.expect("no status answered in 12 s");
    let emfile = local.iter().find(|(e, _)| e == "EMFILE").map_or(0, |p| p.1);
    eprintln!(
        "RLIMIT_NOFILE {NOFILE}: {checked}/{SERVERS} checked, {failing} failing, {up}/{SERVERS} up, local errors {local:?}"
    );
    assert_eq!(
        checked,
        usize::from(SERVERS),
        "not every server was checked"
    );
    assert!(
        emfile > 0,
        "no EMFILE counted: the limit did not bite? {local:?}"
    );
    let log = std::fs::read_to_string(proc.log()).unwrap_or_default();
    let lines = log.matches("health check not made: local error").count();
    assert!(
        (1..=2).contains(&lines),
        "local errors logged {lines} times (once per kind a minute)"
    );
}
