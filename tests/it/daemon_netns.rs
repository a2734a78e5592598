//! Two `vigil run --config` processes in network namespaces this test
//! creates: convergence to one master, takeover after a dead master
//! (SIGKILL + link down) and after a graceful stop (SIGTERM), preemption
//! back after a restart; VRRPv2 PASS at 1 s, VRRPv3 at 50 ms, VRRPv3 IPv6.
//!
//! Topology per test (names `vg-<pid>-<tag>-{a,b,s}`): nodes `a` and `b`
//! each have `eth0`, a veth whose peer is a port of bridge `br0` in `s`
//! (the "switch"). A plain veth pair between the nodes would take the
//! survivor's carrier down with the dead master's link, and vigil (like
//! keepalived) treats a link without carrier as a FAULT; the switch keeps
//! "the master's link goes down" from being "every link goes down".
//! Traffic never leaves these namespaces. A Drop guard kills the daemons
//! by PID and deletes the namespaces even when an assertion fails.
//!
//! Requires root and iproute2: without them these tests FAIL, loudly.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::netns::Netns;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_vigil");
const POLL: Duration = Duration::from_millis(5);

fn require_root_and_ip() {
    let euid = nix::unistd::geteuid();
    assert!(
        euid.is_root(),
        "daemon_netns tests need root (network namespaces, raw sockets); euid is {euid}. \
         They do not skip: run them as root."
    );
    let ok = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "daemon_netns tests need iproute2's `ip` in PATH");
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Node {
    ns: String,
    conf: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Node {
    fn start(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.ns);
        self.starts += 1;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, BIN, "run", "--config"])
            .arg(&self.conf)
            .arg("--control")
            .arg(&self.sock)
            .args(["--log-to", "stderr", "--log-level", "debug"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn vigil");
        // `ip netns exec` execs vigil in place: the child's PID is vigil's.
        self.child = Some(child);
    }

    fn pid(&self) -> Pid {
        let c = self.child.as_ref().expect("running");
        Pid::from_raw(i32::try_from(c.id()).expect("pid fits"))
    }

    fn signal(&self, s: Signal) {
        kill(self.pid(), s).expect("signal");
    }

    /// Waits (bounded) for the process to exit; returns its exit code.
    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = kill(
            Pid::from_raw(i32::try_from(child.id()).expect("pid")),
            Signal::SIGKILL,
        );
        let _ = child.wait();
        panic!("{} did not exit within {within:?}", self.ns);
    }

    fn has_addr(&self, vip: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "addr", "show", "dev", "eth0"])
            .output()
            .expect("ip addr");
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {vip}/"))
    }

    fn status_json(&self) -> String {
        let out = Command::new(BIN)
            .args(["status", "--json", "--control"])
            .arg(&self.sock)
            .output()
            .expect("vigil status");
        assert!(
            out.status.success(),
            "vigil status for {} failed: {}",
            self.ns,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn link(&self, up: bool) {
        sh(&[
            "ip",
            "-n",
            &self.ns,
            "link",
            "set",
            "eth0",
            if up { "up" } else { "down" },
        ]);
    }
}

/// Namespaces, daemons and files of one test; Drop cleans up everything.
struct Lab {
    switch: String,
    a: Node,
    b: Node,
    dir: tempfile::TempDir,
}

impl Lab {
    /// `v6`: addresses are IPv6 only (link-locals, DAD off for speed).
    fn new(tag: &str, addr_a: &str, addr_b: &str) -> Lab {
        require_root_and_ip();
        let dir = tempfile::tempdir().expect("tempdir");
        let base = format!("vg-{}-{tag}", std::process::id());
        let node = |n: &str| Node {
            ns: format!("{base}-{n}"),
            conf: dir.path().join(format!("{n}.conf")),
            sock: dir.path().join(format!("{n}.sock")),
            log: dir.path().join(format!("{n}.log")),
            child: None,
            starts: 0,
        };
        let lab = Lab {
            switch: format!("{base}-s"),
            a: node("a"),
            b: node("b"),
            dir,
        };
        // From here on, Drop deletes whatever was created.
        for ns in [&lab.switch, &lab.a.ns, &lab.b.ns] {
            sh(&["ip", "netns", "add", ns]);
            for key in [
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ] {
                sh(&["ip", "netns", "exec", ns, "sysctl", "-qw", key]);
            }
        }
        let s = lab.switch.as_str();
        sh(&[
            "ip",
            "-n",
            s,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        sh(&["ip", "-n", s, "link", "set", "br0", "up"]);
        for (n, addr, port) in [(&lab.a, addr_a, "pa"), (&lab.b, addr_b, "pb")] {
            sh(&[
                "ip", "-n", &n.ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
                "netns", s,
            ]);
            sh(&["ip", "-n", s, "link", "set", port, "master", "br0", "up"]);
            sh(&["ip", "-n", &n.ns, "link", "set", "lo", "up"]);
            if !addr.is_empty() {
                sh(&["ip", "-n", &n.ns, "addr", "add", addr, "dev", "eth0"]);
            }
            sh(&["ip", "-n", &n.ns, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn write_confs(&self, conf_a: &str, conf_b: &str) {
        fs::write(&self.a.conf, conf_a).expect("write conf");
        fs::write(&self.b.conf, conf_b).expect("write conf");
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for n in [&self.a, &self.b] {
            out.push_str(&format!("----- {} -----\n", n.ns));
            out.push_str(&fs::read_to_string(&n.log).unwrap_or_default());
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in [&mut self.a, &mut self.b] {
            if let Some(mut c) = n.child.take() {
                let _ = kill(
                    Pid::from_raw(i32::try_from(c.id()).unwrap_or(0)),
                    Signal::SIGKILL,
                );
                let _ = c.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
            eprintln!("(files in {})", self.dir.path().display());
        }
        for ns in [&self.a.ns, &self.b.ns, &self.switch] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Polls `f` every 5 ms until it holds or `within` passes; the time it
/// took, or `None`.
fn wait_for(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if f() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(POLL);
    }
    None
}

/// For `during`, never both nodes hold the VIP, and `master` always does.
fn assert_single_master(lab: &Lab, master: &Node, vip: &str, during: Duration) {
    let t0 = Instant::now();
    let other = if std::ptr::eq(master, &lab.a) {
        &lab.b
    } else {
        &lab.a
    };
    while t0.elapsed() < during {
        assert!(master.has_addr(vip), "{} lost the vip {vip}", master.ns);
        assert!(
            !other.has_addr(vip),
            "{} also holds the vip {vip}",
            other.ns
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a (state MASTER, priority 100), waits until it holds `vip`,
/// then starts b and waits until b reports BACKUP; then neither may change
/// for a while. Started one after the other so that a slow start of a on a
/// loaded machine cannot let b's master-down timer (180 ms at 50 ms
/// adverts) fire first and make the pair converge through a moment of two
/// masters, which is not what these tests are about.
fn converge(lab: &mut Lab, vip: &str, within: Duration) {
    lab.a.start();
    assert!(
        wait_for(within, || lab.a.has_addr(vip)).is_some(),
        "a never took the vip {vip}"
    );
    lab.b.start();
    let backup = || {
        let out = Command::new(BIN)
            .args(["status", "--json", "--control"])
            .arg(&lab.b.sock)
            .output()
            .expect("vigil status");
        out.status.success() && state_of(&String::from_utf8_lossy(&out.stdout)) == "BACKUP"
    };
    assert!(
        wait_for(within, backup).is_some(),
        "b never reported BACKUP: {}",
        lab.logs()
    );
    assert_single_master(lab, &lab.a, vip, Duration::from_millis(500));
}

fn state_of(json: &str) -> &str {
    let key = "\"state\":\"";
    let at = json.find(key).expect("state in status") + key.len();
    let end = json[at..].find('"').expect("end of state") + at;
    &json[at..end]
}

fn conf(
    version: u8,
    state: &str,
    prio: u8,
    advert: &str,
    auth: bool,
    vip: &str,
    vrid: u8,
) -> String {
    let auth = if auth {
        "    authentication {\n        type PASS\n        password 1111\n    }\n"
    } else {
        ""
    };
    format!(
        "global_defs {{\n    router_id t{prio}\n    vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_interval {advert}\n{auth}    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
    )
}

struct Timing {
    /// Master_Down_Interval of the backup (priority 99).
    master_down: Duration,
    /// Skew_Time of the backup.
    skew: Duration,
    /// Allowance for process start, polling and a loaded machine.
    margin: Duration,
}

/// The scenario every IPv4 pair runs. Returns (kill takeover, graceful
/// takeover) as measured from the signal.
fn failover_scenario(lab: &mut Lab, vip: &str, t: &Timing) -> (Duration, Duration) {
    // 1. Converge: a (priority 100, state MASTER) wins, b is BACKUP.
    converge(lab, vip, t.master_down + Duration::from_secs(2));
    assert_single_master(
        lab,
        &lab.a,
        vip,
        t.master_down.min(Duration::from_millis(1500)),
    );
    let (ja, jb) = (lab.a.status_json(), lab.b.status_json());
    assert_eq!(state_of(&ja), "MASTER", "{ja}");
    assert_eq!(state_of(&jb), "BACKUP", "{jb}");
    assert!(ja.contains("\"master\":\"self\""), "{ja}");

    // 2. Dead master: SIGKILL and its link down at the same moment.
    let t0 = Instant::now();
    lab.a.signal(Signal::SIGKILL);
    lab.a.link(false);
    let kill_takeover = wait_for(t.master_down + t.margin, || lab.b.has_addr(vip))
        .map(|_| t0.elapsed())
        .unwrap_or_else(|| panic!("b did not take over within {:?}", t.master_down + t.margin));
    let _ = lab.a.wait_exit(Duration::from_secs(2));
    assert_eq!(state_of(&lab.b.status_json()), "MASTER");

    // 3. Restart a: stale vip removed at start, then preemption back.
    lab.a.link(true);
    lab.a.start();
    assert!(
        wait_for(Duration::from_secs(3), || fs::read_to_string(&lab.a.log)
            .unwrap_or_default()
            .contains("removed stale vip"))
        .is_some(),
        "a's restart did not remove the vip SIGKILL left behind"
    );
    let back = t.master_down + Duration::from_secs(3);
    assert!(
        wait_for(back, || lab.a.has_addr(vip) && !lab.b.has_addr(vip)).is_some(),
        "a did not preempt back within {back:?}"
    );
    assert_single_master(lab, &lab.a, vip, Duration::from_millis(500));
    assert_eq!(state_of(&lab.b.status_json()), "BACKUP");

    // 4. Graceful stop: priority 0 advert, b takes over after its skew.
    let t0 = Instant::now();
    lab.a.signal(Signal::SIGTERM);
    let graceful = wait_for(t.skew + t.margin, || lab.b.has_addr(vip))
        .map(|_| t0.elapsed())
        .unwrap_or_else(|| panic!("b did not take over within {:?}", t.skew + t.margin));
    assert!(!lab.a.has_addr(vip), "a kept its vip after SIGTERM");
    assert_eq!(lab.a.wait_exit(Duration::from_secs(3)), Some(0));
    assert!(!lab.a.has_addr(vip), "a kept its vip after exit");
    (kill_takeover, graceful)
}

#[test]
fn v2_pass_pair_one_second() {
    let mut lab = Lab::new("v2", "10.201.0.1/24", "10.201.0.2/24");
    let vip = "10.201.0.200";
    lab.write_confs(
        &conf(2, "MASTER", 100, "1", true, "10.201.0.200/24", 51),
        &conf(2, "BACKUP", 99, "1", true, "10.201.0.200/24", 51),
    );
    let t = Timing {
        master_down: Duration::from_nanos(3_613_281_250),
        skew: Duration::from_nanos(613_281_250),
        margin: Duration::from_millis(500),
    };
    let (k, g) = failover_scenario(&mut lab, vip, &t);
    eprintln!(
        "v2 1 s: dead-master takeover {k:?} (floor <= 3.613 s), graceful {g:?} (skew 0.613 s)"
    );
    let b = lab.b.status_json();
    assert!(b.contains("\"version\":2"), "{b}");
}

#[test]
fn v3_pair_fifty_milliseconds() {
    let mut lab = Lab::new("v3", "10.202.0.1/24", "10.202.0.2/24");
    let vip = "10.202.0.200";
    lab.write_confs(
        &conf(3, "MASTER", 100, "0.05", false, "10.202.0.200/24", 52),
        &conf(3, "BACKUP", 99, "0.05", false, "10.202.0.200/24", 52),
    );
    let t = Timing {
        master_down: Duration::from_nanos(180_664_062),
        skew: Duration::from_nanos(30_664_062),
        margin: Duration::from_millis(300),
    };
    let (k, g) = failover_scenario(&mut lab, vip, &t);
    eprintln!(
        "v3 50 ms: dead-master takeover {k:?} (floor <= 180.7 ms), graceful {g:?} (skew 30.7 ms)"
    );

    // b's own link down: FAULT, vip removed; up again: MASTER (alone).
    lab.b.link(false);
    assert!(
        wait_for(Duration::from_secs(2), || state_of(&lab.b.status_json())
            == "FAULT")
        .is_some(),
        "b not in FAULT with its link down: {}",
        lab.b.status_json()
    );
    assert!(!lab.b.has_addr(vip), "b kept the vip in FAULT");
    lab.b.link(true);
    assert!(
        wait_for(Duration::from_secs(2), || lab.b.has_addr(vip)).is_some(),
        "b did not recover from FAULT to MASTER: {}",
        lab.b.status_json()
    );
    assert_eq!(state_of(&lab.b.status_json()), "MASTER");
}

#[test]
fn v3_ipv6_pair() {
    let mut lab = Lab::new("v6", "", "");
    let vip = "fd00:203::200";
    lab.write_confs(
        &conf(3, "MASTER", 100, "0.05", false, "fd00:203::200/64", 53),
        &conf(3, "BACKUP", 99, "0.05", false, "fd00:203::200/64", 53),
    );
    // Link-locals first (DAD is off here), then master down.
    converge(&mut lab, vip, Duration::from_secs(5));
    let (ja, jb) = (lab.a.status_json(), lab.b.status_json());
    assert_eq!(state_of(&ja), "MASTER", "{ja}");
    assert_eq!(state_of(&jb), "BACKUP", "{jb}");
    assert!(jb.contains("\"family\":6"), "{jb}");
    assert!(
        jb.contains("\"master\":\"fe80::"),
        "b names a's link-local: {jb}"
    );
    // No checksum or hop-limit drops: the codec's IPv6 checksum is right.
    assert!(!jb.contains("checksum"), "{jb}");
    assert!(!jb.contains("ttl_not_255"), "{jb}");

    let t0 = Instant::now();
    lab.a.signal(Signal::SIGTERM);
    let within = Duration::from_millis(31 + 300);
    assert!(
        wait_for(within, || lab.b.has_addr(vip)).is_some(),
        "b did not take over the ipv6 vip within {within:?}"
    );
    let g = t0.elapsed();
    assert!(!lab.a.has_addr(vip), "a kept its ipv6 vip");
    assert_eq!(lab.a.wait_exit(Duration::from_secs(3)), Some(0));
    eprintln!("v3 ipv6 50 ms: graceful takeover {g:?} (skew 30.7 ms)");
    assert_eq!(lab.a.starts, 1);
}

#[test]
fn status_without_daemon_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["status", "--control"])
        .arg(dir.path().join("none.sock"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not reachable"));
}

#[test]
fn run_with_bad_config_exits_1_before_touching_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("bad.conf");
    fs::write(&conf, "vrrp_instance X {\n    priority 300\n}\n").expect("write");
    let sock = dir.path().join("c.sock");
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&conf)
        .arg("--control")
        .arg(&sock)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !Path::new(&sock).exists(),
        "control socket created for a bad config"
    );
}

#[test]
fn store_with_no_valid_slot_runs_the_factory_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("flash.img");
    // Two zeroed 64 KiB slots: neither is valid.
    fs::write(&store, vec![0u8; 2 * 64 * 1024]).expect("write store");
    let (json, err) = run_factory_default(dir.path(), &store);
    assert!(json.contains("no valid commit in the store"), "{json}");
    assert!(err.contains("no valid commit in the store"), "{err}");
}

#[test]
fn a_missing_store_runs_the_factory_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Not under /dev: looked at once, not waited for.
    let store = dir.path().join("no-such-partition");
    let (json, err) = run_factory_default(dir.path(), &store);
    assert!(json.contains("no config store at"), "{json}");
    assert!(err.contains("no config store at"), "{err}");
    assert!(!store.exists(), "a missing store must not be created");
}

/// Runs the daemon on `store`, which holds no config, and returns its
/// `vigil status --json` and its stderr after a SIGTERM, having checked
/// that it ran the factory default and said so loudly.
fn run_factory_default(dir: &Path, store: &Path) -> (String, String) {
    let (json, err) = run_store_once(dir, store);
    assert!(json.contains("\"instances\":[]"), "{json}");
    assert!(json.contains("FACTORY DEFAULT"), "{json}");
    assert!(err.contains("FACTORY DEFAULT"), "not said loudly: {err}");
    (json, err)
}

/// Starts the daemon on `store`, reads its `vigil status --json` once it
/// answers, stops it with SIGTERM (it must exit 0 and remove its control
/// socket) and returns that status and its stderr. In a namespace of its
/// own: `--store` is the box, whose default appliance block turns
/// ip_forward on, and that is not the host's.
fn run_store_once(dir: &Path, store: &Path) -> (String, String) {
    let sock = dir.join("run/vigil/c.sock");
    let ns = Netns::new();
    let (store_arg, sock_arg) = (store.display().to_string(), sock.display().to_string());
    let mut child = ns
        .command(&[BIN, "run", "--log-to", "stderr", "--store", &store_arg])
        .args(["--control", &sock_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let status = || {
        Command::new(BIN)
            .args(["status", "--json", "--control"])
            .arg(&sock)
            .output()
            .expect("status")
    };
    let up = wait_for(Duration::from_secs(5), || status().status.success());
    if up.is_none() {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = child.wait();
        panic!("daemon on {} did not answer", store.display());
    }
    let json = String::from_utf8_lossy(&status().stdout).into_owned();
    kill(pid, Signal::SIGTERM).expect("sigterm");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(!sock.exists(), "control socket left behind");
    (json, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn store_with_an_unconfirmed_commit_boots_the_confirmed_one_and_records_it() {
    use vigil::store::{Geometry, History, Meta, Source};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("flash.img");
    let encode = |id: &str| {
        let conf = dir.path().join(format!("{id}.conf"));
        fs::write(&conf, format!("global_defs {{\n    router_id {id}\n}}\n")).expect("conf");
        let imp = vigil::config::import_file(&conf, false).expect("import");
        vigil::config::envelope::encode(&imp.config).expect("encode")
    };
    {
        let mut h = History::open(&store, Geometry::default(), true).expect("create");
        let meta = Meta::default();
        h.commit(&encode("GOOD"), Source::Import, &meta)
            .expect("commit");
        h.commit_unconfirmed(&encode("RISKY"), Source::Console, &meta, 1)
            .expect("commit confirmed");
    }
    let (json, err) = run_store_once(dir.path(), &store);
    assert!(json.contains("flash.img seq 3"), "{json}");
    assert!(
        err.contains("commit 2 was not confirmed before this boot: rolled back to the config of the last confirmed commit, now seq 3"),
        "not said: {err}"
    );
    let h = History::open(&store, Geometry::default(), false).expect("open");
    let top = &h.history().expect("history")[0];
    assert_eq!(top.head.source, Source::ConfirmedRollback { of: 2 });
    assert_eq!(h.get(3).expect("seq 3"), encode("GOOD"));
}

#[test]
fn v3_unicast_peers() {
    let mut lab = Lab::new("uc", "10.204.0.1/24", "10.204.0.2/24");
    let vip = "10.204.0.200";
    let uc = |state: &str, prio: u8, me: &str, peer: &str| {
        format!(
            "global_defs {{\n    vrrp_version 3\n    vrrp_mcast_group4 224.0.0.99\n}}\n\
             vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id 54\n    \
             priority {prio}\n    advert_int 0.05\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    \
             virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
        )
    };
    lab.write_confs(
        &uc("MASTER", 100, "10.204.0.1", "10.204.0.2"),
        &uc("BACKUP", 99, "10.204.0.2", "10.204.0.1"),
    );
    converge(&mut lab, vip, Duration::from_secs(3));
    let jb = lab.b.status_json();
    assert_eq!(state_of(&jb), "BACKUP", "{jb}");
    assert!(jb.contains("\"master\":\"10.204.0.1\""), "{jb}");
    let t0 = Instant::now();
    lab.a.signal(Signal::SIGTERM);
    assert!(
        wait_for(Duration::from_millis(331), || lab.b.has_addr(vip)).is_some(),
        "b did not take over over unicast"
    );
    eprintln!("v3 unicast 50 ms: graceful takeover {:?}", t0.elapsed());
    assert_eq!(lab.a.wait_exit(Duration::from_secs(3)), Some(0));
}

/// `unicast_ttl`: a's unicast adverts carry it, so b without it drops
/// them as the RFC wants (counted `ttl_not_255`) and takes the VIP too;
/// with `unicast_ttl` on both, b takes a's adverts and stays BACKUP (as a
/// keepalived pair whose adverts cross routers).
#[test]
fn v3_unicast_ttl() {
    let mut lab = Lab::new("ut", "10.205.0.1/24", "10.205.0.2/24");
    let vip = "10.205.0.200";
    let uc = |state: &str, prio: u8, me: &str, peer: &str, ttl: &str| {
        format!(
            "global_defs {{\n    vrrp_version 3\n}}\n\
             vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id 55\n    \
             priority {prio}\n    advert_int 0.05\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    \
             {ttl}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
        )
    };
    let (a, b) = ("10.205.0.1", "10.205.0.2");
    lab.write_confs(
        &uc("MASTER", 100, a, b, "unicast_ttl 64"),
        &uc("BACKUP", 99, b, a, ""),
    );
    lab.a.start();
    assert!(
        wait_for(Duration::from_secs(3), || lab.a.has_addr(vip)).is_some(),
        "a never took the vip"
    );
    lab.b.start();
    let dropped = wait_for(Duration::from_secs(3), || {
        let out = Command::new(BIN)
            .args(["status", "--json", "--control"])
            .arg(&lab.b.sock)
            .output()
            .expect("vigil status");
        let jb = String::from_utf8_lossy(&out.stdout);
        out.status.success() && jb.contains("ttl_not_255") && state_of(&jb) == "MASTER"
    });
    assert!(
        dropped.is_some(),
        "b took a's TTL 64 adverts: {}",
        lab.b.status_json()
    );
    for n in [&mut lab.a, &mut lab.b] {
        n.signal(Signal::SIGTERM);
        assert_eq!(n.wait_exit(Duration::from_secs(3)), Some(0));
    }
    lab.write_confs(
        &uc("MASTER", 100, a, b, "unicast_ttl 64"),
        &uc("BACKUP", 99, b, a, "unicast_ttl 64"),
    );
    converge(&mut lab, vip, Duration::from_secs(3));
    let jb = lab.b.status_json();
    assert!(jb.contains("\"master\":\"10.205.0.1\""), "{jb}");
    assert!(!jb.contains("ttl_not_255"), "{jb}");
}
