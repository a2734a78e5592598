//! VRRP speakers for the namespace tests: vigil (`vigil run`) and Debian's
//! keepalived, started from the same keepalived.conf text in a node's
//! namespace, so that swapping one for the other is a one-word change.
//!
//! keepalived gets the canonical keywords (`advert_int`, `auth_type`,
//! `auth_pass`: it ignores the seed's aliases), runs in the foreground,
//! VRRP only, logging to its own file, with pid files of its own; one
//! that tracks a process enters the node's namespace itself (`-s`, see
//! [`start`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::netns::{self, require_program, rss_tree_kb, Lab, Node, Proc, Turn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vigil,
    Keepalived,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Vigil => "vigil",
            Kind::Keepalived => "keepalived",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// VRRPv2 over IPv4 (PASS auth when configured).
    V2,
    /// VRRPv3 over IPv4.
    V3v4,
    /// VRRPv3 over IPv6 (sourced from the link-local).
    V3v6,
}

impl Proto {
    pub fn vip(self) -> IpAddr {
        match self {
            Proto::V2 | Proto::V3v4 => IpAddr::V4(Ipv4Addr::new(192, 168, 1, 200)),
            Proto::V3v6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x200)),
        }
    }

    pub fn version(self) -> u8 {
        match self {
            Proto::V2 => 2,
            _ => 3,
        }
    }
}

/// The namespace test's turn ([`Turn`]) for instances of `proto` at
/// `advert_ms`: whole-second VRRPv2 may share it with one other such test,
/// anything faster runs alone.
pub fn turn(proto: Proto, advert_ms: u32) -> Turn {
    if proto == Proto::V2 && advert_ms >= 1000 {
        netns::shared_v2()
    } else {
        netns::serial()
    }
}

/// One vrrp_instance, as both daemons read it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub proto: Proto,
    pub vrid: u8,
    pub priority: u8,
    pub state_master: bool,
    pub advert_ms: u32,
    pub auth_pass: Option<String>,
    pub nopreempt: bool,
    /// A tracked script that succeeds while this file exists, and its
    /// weight (`vrrp_script chk_file`, checked every second).
    pub track_file: Option<(PathBuf, i16)>,
    /// A `track_file num` (the file's number times the weight moves the
    /// priority), and its weight.
    pub tracked_number: Option<(PathBuf, i16)>,
    /// A `vrrp_track_process proc` matching processes by this name, and
    /// its weight.
    pub tracked_process: Option<(String, i16)>,
    /// `use_vmac` (keepalived's default name, `vrrp.<VRID>`).
    pub use_vmac: bool,
    /// `vmac_xmit_base` (with `use_vmac`).
    pub vmac_xmit_base: bool,
}

impl Instance {
    /// The seed's shape: VRID 51, PASS "1111" for v2, advert 1 s (v2) or
    /// `advert_ms` (v3).
    pub fn new(proto: Proto, priority: u8, advert_ms: u32) -> Self {
        Instance {
            proto,
            vrid: 51,
            priority,
            state_master: false,
            advert_ms,
            auth_pass: (proto == Proto::V2).then(|| "1111".to_string()),
            nopreempt: false,
            track_file: None,
            tracked_number: None,
            tracked_process: None,
            use_vmac: false,
            vmac_xmit_base: false,
        }
    }

    pub fn vip(&self) -> IpAddr {
        self.proto.vip()
    }

    pub fn advert(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_ms))
    }

    /// RFC master-down interval for this priority (3 x advert + skew).
    pub fn master_down(&self) -> Duration {
        let a = self.advert();
        a * 3 + a * (256 - u32::from(self.priority)) / 256
    }

    pub fn conf(&self, router_id: &str, ifname: &str) -> String {
        let advert = if self.advert_ms % 1000 == 0 {
            format!("{}", self.advert_ms / 1000)
        } else {
            format!("{}", f64::from(self.advert_ms) / 1000.0)
        };
        let vip = match self.vip() {
            IpAddr::V4(a) => format!("{a}/24"),
            IpAddr::V6(a) => format!("{a}/64"),
        };
        let mut s = format!("global_defs {{\n    router_id {router_id}\n}}\n\n");
        if let Some((file, weight)) = &self.track_file {
            s.push_str(&format!(
                "vrrp_script chk_file {{\n    script \"/usr/bin/test -e {}\"\n    interval 1\n    weight {weight}\n}}\n\n",
                file.display()
            ));
        }
        if let Some((file, weight)) = &self.tracked_number {
            s.push_str(&format!(
                "track_file num {{\n    file {}\n    weight {weight}\n}}\n\n",
                file.display()
            ));
        }
        if let Some((name, weight)) = &self.tracked_process {
            s.push_str(&format!(
                "vrrp_track_process proc {{\n    process {name}\n    weight {weight}\n}}\n\n"
            ));
        }
        s.push_str(&format!(
            "vrrp_instance VI_1 {{\n    state {}\n    interface {ifname}\n    virtual_router_id {}\n    priority {}\n    advert_int {advert}\n    version {}\n",
            if self.state_master { "MASTER" } else { "BACKUP" },
            self.vrid,
            self.priority,
            self.proto.version(),
        ));
        if self.track_file.is_some() {
            s.push_str("    track_script {\n        chk_file\n    }\n");
        }
        if self.tracked_number.is_some() {
            s.push_str("    track_file {\n        num\n    }\n");
        }
        if self.tracked_process.is_some() {
            s.push_str("    track_process {\n        proc\n    }\n");
        }
        if self.nopreempt {
            s.push_str("    nopreempt\n");
        }
        if self.use_vmac {
            s.push_str("    use_vmac\n");
        }
        if self.vmac_xmit_base {
            s.push_str("    vmac_xmit_base\n");
        }
        if let Some(p) = &self.auth_pass {
            s.push_str(&format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            ));
        }
        s.push_str(&format!(
            "    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        ));
        s
    }
}

/// The vigil binary: `VIGIL_BIN` (the bench points it at the static
/// release build) or the one cargo built for this test.
pub fn vigil_bin() -> PathBuf {
    std::env::var_os("VIGIL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vigil")))
}

/// A running VRRP speaker in a node's namespace.
pub struct Daemon {
    pub kind: Kind,
    pub node: usize,
    pub proc: Proc,
    pub control: PathBuf,
    pub conf: PathBuf,
    pub started: Instant,
}

/// Starts `kind` on `lab.nodes[node]` with `inst`. `tag` keeps files of
/// successive runs on one node apart.
pub fn start(lab: &Lab, node: usize, kind: Kind, inst: &Instance, tag: &str) -> Daemon {
    let n: &Node = &lab.nodes[node];
    let base = format!("n{}-{}-{tag}", node + 1, kind.name());
    let conf = lab.path(&format!("{base}.conf"));
    std::fs::write(&conf, inst.conf(&format!("node{}", node + 1), &n.ifname)).expect("write conf");
    let log = lab.path(&format!("{base}.log"));
    let control = lab.path(&format!("{base}.sock"));
    let confs = conf.to_str().expect("utf-8 path").to_string();
    let proc = match kind {
        Kind::Keepalived => {
            require_program(
                "keepalived",
                "install Debian's keepalived (scripts/install-deps)",
            );
            let pid = lab.path(&format!("{base}.pid"));
            let vpid = lab.path(&format!("{base}.vrrp.pid"));
            let cpid = lab.path(&format!("{base}.checker.pid"));
            let mut args = vec![
                // Line-buffered stdout: the log is complete when read.
                "stdbuf",
                "-oL",
                "-eL",
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-G",
                "--vrrp",
                "-f",
                &confs,
                "-p",
                pid.to_str().unwrap(),
                "-r",
                vpid.to_str().unwrap(),
                "-c",
                cpid.to_str().unwrap(),
            ];
            let label = format!("keepalived on node{}", node + 1);
            if inst.tracked_process.is_some() {
                // The kernel's process events (keepalived's only source for
                // track_process) answer a socket of the initial network
                // namespace only: started inside the node's (`ip netns
                // exec`), keepalived finds every tracked process gone.
                // `-s NS` starts it out here and has it enter the node's
                // namespace itself (a namespace that does not exist makes
                // it exit).
                args.extend(["-s", n.ns.name()]);
                let mut cmd = Command::new(args[0]);
                cmd.args(&args[1..]);
                Proc::spawn(&label, cmd, &log)
            } else {
                n.ns.spawn(&label, &args, &log)
            }
        }
        Kind::Vigil => {
            let bin = vigil_bin();
            n.ns.spawn(
                &format!("vigil on node{}", node + 1),
                &[
                    bin.to_str().expect("utf-8 path"),
                    "run",
                    "--config",
                    &confs,
                    "--control",
                    control.to_str().expect("utf-8 path"),
                ],
                &log,
            )
        }
    };
    Daemon {
        kind,
        node,
        proc,
        control,
        conf,
        started: Instant::now(),
    }
}

/// Starts vigil on `lab.nodes[node]` with the config text `conf`, logging
/// to stderr (into the log file), and waits until it answers.
pub fn start_vigil_with(lab: &Lab, node: usize, conf: &str, tag: &str) -> Daemon {
    start_vigil_args(lab, node, conf, tag, &[])
}

/// `vigil run --config CONF --control CONTROL --log-to stderr`, the
/// binary first: the argv every namespace test starts a daemon with.
pub fn run_argv(conf: &Path, control: &Path) -> Vec<String> {
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
    [
        path(&vigil_bin()),
        "run".into(),
        "--config".into(),
        path(conf),
        "--control".into(),
        path(control),
        "--log-to".into(),
        "stderr".into(),
    ]
    .into()
}

/// [`start_vigil_with`], with more arguments to `vigil run`.
pub fn start_vigil_args(lab: &Lab, node: usize, conf: &str, tag: &str, extra: &[&str]) -> Daemon {
    let conf_path = lab.path(&format!("{tag}.conf"));
    std::fs::write(&conf_path, conf).expect("write conf");
    let control = lab.path(&format!("{tag}.sock"));
    let argv = run_argv(&conf_path, &control);
    let args: Vec<&str> = argv
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    let proc = lab.nodes[node].ns.spawn(
        &format!("vigil ({tag}) on node{}", node + 1),
        &args,
        &lab.path(&format!("{tag}.log")),
    );
    let d = Daemon {
        kind: Kind::Vigil,
        node,
        proc,
        control,
        conf: conf_path,
        started: Instant::now(),
    };
    d.wait_ready(Duration::from_secs(10));
    d
}

impl Daemon {
    /// `vigil status --json` over this daemon's control socket.
    pub fn status_json(&self) -> serde_json::Value {
        assert_eq!(self.kind, Kind::Vigil, "status_json is vigil's");
        let out = Command::new(vigil_bin())
            .args(["status", "--json", "--control"])
            .arg(&self.control)
            .output()
            .expect("run vigil status");
        assert!(
            out.status.success(),
            "vigil status --json failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "vigil status --json is not json ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Writes `conf` as this daemon's config and `vigil reload`s it,
    /// failing on a refusal.
    pub fn reload_with(&self, conf: &str) {
        std::fs::write(&self.conf, conf).expect("write conf");
        let out = Command::new(vigil_bin())
            .args(["reload", "--control"])
            .arg(&self.control)
            .output()
            .expect("run vigil reload");
        assert!(
            out.status.success(),
            "vigil reload: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Polls `vigil status --json` until `ok` holds; fails with `what`,
    /// the last status and the log's tail after `within`.
    pub fn wait_status(
        &self,
        what: &str,
        within: Duration,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) {
        let t0 = Instant::now();
        loop {
            let v = self.status_json();
            if ok(&v) {
                return;
            }
            assert!(
                t0.elapsed() < within,
                "{what} not seen within {within:?}: {v}\n{}",
                self.proc.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the control socket answers (vigil) or just returns
    /// (keepalived has none).
    pub fn wait_ready(&self, timeout: Duration) {
        if self.kind != Kind::Vigil {
            return;
        }
        let t0 = Instant::now();
        loop {
            let ok = Command::new(vigil_bin())
                .args(["status", "--json", "--control"])
                .arg(&self.control)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            assert!(
                t0.elapsed() < timeout,
                "vigil's control socket {} did not answer within {timeout:?}",
                self.control.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Graceful stop: SIGTERM, wait for the exit. Returns the exit time.
    pub fn stop(&mut self) -> Option<Duration> {
        self.proc.terminate(Duration::from_secs(10))
    }

    /// A dead master: the link goes down and every process of the daemon
    /// is SIGKILLed (children first, so no priority-0 advert can leak).
    pub fn kill_with_link(&mut self, lab: &Lab) {
        let pids = self.pids();
        lab.nodes[self.node].link_down_fast();
        for pid in pids.iter().rev() {
            // SAFETY: plain syscall on PIDs of our own process tree.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        self.proc.kill();
    }

    /// SIGKILL only (the link stays up, so the VIP stays configured).
    #[allow(dead_code)] // for a test that kills a daemon and checks its VIPs
    pub fn kill(&mut self) {
        for pid in self.pids().iter().rev() {
            // SAFETY: as above.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        self.proc.kill();
    }

    /// The daemon's PID and its descendants', parent first.
    pub fn pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut stack = vec![self.proc.pid()];
        while let Some(p) = stack.pop() {
            out.push(p);
            if let Ok(dir) = std::fs::read_dir(format!("/proc/{p}/task")) {
                for t in dir.flatten() {
                    if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                        stack.extend(c.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
                    }
                }
            }
        }
        out
    }

    pub fn rss_kb(&self) -> u64 {
        rss_tree_kb(self.proc.pid())
    }

    pub fn alive(&mut self) -> bool {
        self.proc.alive()
    }
}

impl Node {
    /// Link down through an ioctl from inside the namespace (no process
    /// spawned: well under a millisecond).
    pub fn link_down_fast(&self) {
        set_link_flags(self, false);
    }

    pub fn link_up_fast(&self) {
        set_link_flags(self, true);
    }
}

fn set_link_flags(node: &Node, up: bool) {
    let ifname = node.ifname.clone();
    node.ns.enter(move || {
        // SAFETY: plain socket call; closed below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        // SAFETY: zeroed ifreq is valid; the name is copied in bounds.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (i, b) in ifname.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
            ifr.ifr_name[i] = b as libc::c_char;
        }
        // SAFETY: valid fd and ifreq.
        let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) };
        assert_eq!(rc, 0, "SIOCGIFFLAGS: {}", std::io::Error::last_os_error());
        // SAFETY: the flags member is the one SIOCGIFFLAGS filled.
        unsafe {
            let f = &mut ifr.ifr_ifru.ifru_flags;
            if up {
                *f |= libc::IFF_UP as libc::c_short;
            } else {
                *f &= !(libc::IFF_UP as libc::c_short);
            }
        }
        // SAFETY: valid fd and ifreq.
        let rc = unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) };
        assert_eq!(rc, 0, "SIOCSIFFLAGS: {}", std::io::Error::last_os_error());
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
    });
}

/// Sums every numeric field named `key` anywhere in `v` (the counters'
/// layout in `vigil status --json` may nest them per instance).
pub fn json_counter(v: &serde_json::Value, key: &str) -> Option<u64> {
    fn walk(v: &serde_json::Value, key: &str, acc: &mut Option<u64>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if k == key {
                        if let Some(n) = x.as_u64() {
                            *acc = Some(acc.unwrap_or(0) + n);
                            continue;
                        }
                    }
                    walk(x, key, acc);
                }
            }
            serde_json::Value::Array(a) => {
                for x in a {
                    walk(x, key, acc);
                }
            }
            _ => {}
        }
    }
    let mut acc = None;
    walk(v, key, &mut acc);
    acc
}

/// The first string field named `key` anywhere in `v` (e.g. "state").
pub fn json_str<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(s) = m.get(key).and_then(|x| x.as_str()) {
                return Some(s);
            }
            m.values().find_map(|x| json_str(x, key))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|x| json_str(x, key)),
        _ => None,
    }
}

/// The first instance's state in a `vigil status --json`.
pub fn first_state(v: &serde_json::Value) -> &str {
    v["instances"][0]["state"].as_str().unwrap_or("")
}
