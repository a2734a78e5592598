//! `track_process` interop in network namespaces: vigil and Debian's
//! keepalived 2.2.7 in one VRRP domain, the higher-priority node (H, 150)
//! tracking `vrrp_track_process proc { process NAME; weight -100 }` (L has
//! 100), through `netns_track::failover`:
//!   1. The process runs: H is master (150).
//!   2. The test stops it (SIGTERM to its PID, reaped): no process matches,
//!      H drops to 50 and L takes over.
//!   3. The test starts it again: H is 150 again and preempts.
//!
//! The process is a copy of `sleep` under a name of this lab's own
//! (`trk-` and the lab directory's random suffix, under the kernel's 15
//! bytes), matched by name (`/proc/PID/comm`): the namespaces share the
//! host's PID namespace, so both daemons see every process on the machine,
//! and no other process may carry the name.
//!
//! Run with H = vigil (keepalived peer) and H = keepalived (vigil peer).
//! keepalived learns of the exit from the kernel's process events at once,
//! vigil at its next scan (within a second).
//! Needs root, iproute2 and keepalived (scripts/install-deps).

use crate::netns_track::{failover, Switch, Tracked};
use crate::support::netns::{self, Proc};
use crate::support::peers::Kind;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The tracked process's name for the lab whose file is `path`.
fn name(path: &Path) -> String {
    let dir = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .expect("a lab directory");
    let suffix = dir.rsplit('-').next().expect("vigil-netns-XXXXXX");
    let name = format!("trk-{suffix}");
    assert!(name.len() <= 15, "{name}: beyond the kernel's comm length");
    name
}

/// The tracked process: running while fine, stopped while failing.
struct ProcessSwitch {
    exe: PathBuf,
    log: PathBuf,
    /// Whether the stopped process is reaped at once; if not, it stays a
    /// zombie (this test is its parent) until it is started again.
    reap: bool,
    /// The process started last (running, or a zombie).
    process: Option<Proc>,
}

impl ProcessSwitch {
    fn new(path: &Path, reap: bool) -> Self {
        let exe = path.with_file_name(name(path));
        std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
        ProcessSwitch {
            exe,
            log: path.with_extension("log"),
            reap,
            process: None,
        }
    }
}

/// Whether `pid` is a zombie (its `/proc/PID/stat` state, after the name).
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| Some(s.rsplit_once(')')?.1.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

impl Switch for ProcessSwitch {
    fn set(&mut self, failing: bool) {
        if !failing {
            // A zombie left from before is reaped (dropped) first.
            self.process = None;
            let mut cmd = Command::new(&self.exe);
            cmd.arg("3600");
            let p = Proc::spawn("tracked process", cmd, &self.log);
            eprintln!(
                "  tracked process {} ({}) started",
                p.pid(),
                self.exe.display()
            );
            self.process = Some(p);
            return;
        }
        let p = self.process.as_mut().expect("the process runs");
        let pid = p.pid();
        if self.reap {
            let exit = p.terminate(Duration::from_secs(5));
            assert!(exit.is_some(), "tracked process {pid} ignored SIGTERM");
            eprintln!("  tracked process {pid} stopped and reaped");
        } else {
            p.signal(libc::SIGTERM);
            let step = Duration::from_millis(5);
            let dead = netns::wait_for(Duration::from_secs(5), step, || zombie(pid));
            assert!(dead, "tracked process {pid} is no zombie after SIGTERM");
            eprintln!("  tracked process {pid} stopped, a zombie (not reaped)");
        }
    }
}

fn process_status(st: &serde_json::Value, failing: bool) {
    assert_eq!(st["scripts"][0]["name"], "proc", "{st}");
    let state = if failing { "FAIL" } else { "OK" };
    assert_eq!(st["scripts"][0]["state"], state, "{st}");
}

const PROCESS: Tracked = Tracked {
    what: "track_process",
    weight: -100,
    switch: |path| Box::new(ProcessSwitch::new(path, true)),
    track: |i, path, weight| i.tracked_process = Some((name(path), weight)),
    status: process_status,
};

/// The process exits but stays a zombie (its parent does not reap it).
const ZOMBIE: Tracked = Tracked {
    what: "track_process (exited, not reaped)",
    switch: |path| Box::new(ProcessSwitch::new(path, false)),
    ..PROCESS
};

#[test]
fn vigil_tracked_process_fails_over_to_keepalived_and_back() {
    failover(Kind::Vigil, Kind::Keepalived, &PROCESS);
}

#[test]
fn keepalived_tracked_process_fails_over_to_vigil_and_back() {
    failover(Kind::Keepalived, Kind::Vigil, &PROCESS);
}

#[test]
fn vigil_tracked_process_zombie_fails_over_to_keepalived_and_back() {
    failover(Kind::Vigil, Kind::Keepalived, &ZOMBIE);
}

#[test]
fn keepalived_tracked_process_zombie_fails_over_to_vigil_and_back() {
    failover(Kind::Keepalived, Kind::Vigil, &ZOMBIE);
}
