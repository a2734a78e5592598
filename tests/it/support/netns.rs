//! Network-namespace harness for the interop, hostile-packet and bench
//! tests: namespaces, a bridge, veth links, processes kept by PID, VIP
//! look-ups, and AF_PACKET capture / injection opened inside a namespace.
//!
//! Owns: everything it creates, and tears it down on drop (also while
//! unwinding from a failed assertion): processes are killed by the PID we
//! spawned (never by name), then namespaces are deleted.
//! Must not: touch the host's own namespace beyond creating and deleting
//! `vn-<pid>-<n>` namespaces; nothing is routed, bridged or NATed to the
//! host uplink, every link lives between namespaces we own.
//!
//! Needs root and iproute2's `ip`; without them every entry point panics
//! with a clear message (never skips silently). Set VIGIL_NETNS_KEEP=1 to
//! keep a lab's configs and daemon logs (the path is printed); while a test
//! fails, the tail of each daemon's log is printed anyway.
//!
//! ```text
//!   node ns "vn-P-1"        bridge ns "vn-P-0"          node ns "vn-P-2"
//!   eth0 192.168.1.1 --- p1 [br0, no mcast snooping] p2 --- eth0 192.168.1.2
//!                                   | pT
//!                           tap ns "vn-P-3": eth0 192.168.1.250
//!                           (AF_PACKET capture + hostile injection)
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

/// A namespace test's turn (across every module of the `it` binary), held
/// until dropped: failover timing at 100 ms adverts is only meaningful when
/// the two cores are not also running other labs, so such a test runs
/// alone ([`serial`]). A test whose timing is whole-second VRRPv2 (its
/// asserts have seconds of slack) mostly waits on the protocol's timers,
/// and may share its turn with one other such test ([`shared_v2`]).
pub struct Turn {
    alone: bool,
    /// When the turn was asked for and when it was given
    /// (`VIGIL_TURN_LOG`).
    asked: Instant,
    given: Instant,
}

/// Holders of turns: `alone` one, or up to [`SHARED`] sharing; a test
/// waiting to run alone goes before new sharers (it is not starved).
struct Turns {
    alone: bool,
    sharing: usize,
    waiting_alone: usize,
}

/// How many whole-second tests may run at once.
const SHARED: usize = 2;

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    alone: false,
    sharing: 0,
    waiting_alone: 0,
});
static TURN_CHANGED: Condvar = Condvar::new();

fn turns() -> MutexGuard<'static, Turns> {
    TURNS.lock().unwrap_or_else(|e| e.into_inner())
}

fn wait_turn(t: MutexGuard<'static, Turns>) -> MutexGuard<'static, Turns> {
    TURN_CHANGED.wait(t).unwrap_or_else(|e| e.into_inner())
}

/// The namespace test runs with no other that takes a turn.
pub fn serial() -> Turn {
    let asked = turn_epoch_and_now();
    let mut t = turns();
    t.waiting_alone += 1;
    while t.alone || t.sharing > 0 {
        t = wait_turn(t);
    }
    t.waiting_alone -= 1;
    t.alone = true;
    Turn::given(true, asked)
}

/// The namespace test's timing is whole-second VRRPv2: it may run beside
/// one other such test.
pub fn shared_v2() -> Turn {
    let asked = turn_epoch_and_now();
    let mut t = turns();
    while t.alone || t.waiting_alone > 0 || t.sharing >= SHARED {
        t = wait_turn(t);
    }
    t.sharing += 1;
    Turn::given(false, asked)
}

/// The first time any test asked for a turn: [`Turn::log`]'s zero.
static TURN_EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn turn_epoch_and_now() -> Instant {
    TURN_EPOCH.get_or_init(Instant::now);
    Instant::now()
}

impl Turn {
    fn given(alone: bool, asked: Instant) -> Turn {
        Turn {
            alone,
            asked,
            given: Instant::now(),
        }
    }

    /// With `VIGIL_TURN_LOG=FILE`, one line per turn, appended when it
    /// ends: seconds since the first turn of the run that it was asked
    /// for, given and ended, `alone` or `shared`, and the test. The
    /// suite's length is about the sum of the alone turns plus half the
    /// shared ones: this shows which tests make it.
    fn log(&self) {
        let Some(path) = std::env::var_os("VIGIL_TURN_LOG") else {
            return;
        };
        let epoch = *TURN_EPOCH.get_or_init(Instant::now);
        let at = |t: Instant| t.saturating_duration_since(epoch).as_secs_f64();
        let line = format!(
            "{:.1} {:.1} {:.1} {} {}\n",
            at(self.asked),
            at(self.given),
            at(Instant::now()),
            if self.alone { "alone" } else { "shared" },
            std::thread::current().name().unwrap_or("?"),
        );
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        if let Ok(mut f) = file {
            let _ = std::io::Write::write_all(&mut f, line.as_bytes());
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.log();
        let mut t = turns();
        if self.alone {
            t.alone = false;
        } else {
            t.sharing -= 1;
        }
        TURN_CHANGED.notify_all();
    }
}

/// Fails (never skips) when the harness cannot work here.
pub fn require_env() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "netns tests need root (network namespaces, raw sockets); run as root"
    );
    let ip = Command::new("ip").arg("-V").output();
    assert!(
        matches!(ip, Ok(ref o) if o.status.success()),
        "netns tests need iproute2's `ip` in PATH (scripts/install-deps)"
    );
}

/// Fails with a clear message if a program the test needs is missing.
pub fn require_program(name: &str, hint: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
        || Path::new(name).is_file();
    assert!(found, "`{name}` not found in PATH: {hint}");
}

/// Runs a command, panicking with its stderr if it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) -> Output {
    run(Command::new("ip").args(args))
}

/// A network namespace we created; deleted on drop after killing whatever
/// still runs inside it (by PID, from `ip netns pids`: only processes in a
/// namespace of ours).
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Self {
        require_env();
        let n = NEXT_NS.fetch_add(1, Ordering::Relaxed);
        let name = format!("vn-{}-{}", std::process::id(), n);
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        // No DAD: link-locals and IPv6 VIPs usable at once (VRRPv3 over
        // IPv6 sources its adverts from the link-local).
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0");
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sysctl(&self, key: &str, value: &str) {
        self.exec(&["sysctl", "-q", "-w", &format!("{key}={value}")]);
    }

    /// `ip netns exec NAME args...`, panicking on failure.
    pub fn exec(&self, args: &[&str]) -> Output {
        run(&mut self.command(args))
    }

    /// The command without running it; `ip netns exec` execs in place, so
    /// a spawned child's PID is the program's own.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    /// Spawns a long-running program in the namespace with stdout and
    /// stderr to `log`. The returned [`Proc`] kills it on drop.
    pub fn spawn(&self, label: &str, args: &[&str], log: &Path) -> Proc {
        self.spawn_command(label, self.command(args), log)
    }

    /// [`Netns::spawn`] of a command made with [`Netns::command`] (and
    /// changed: a `pre_exec`, say).
    pub fn spawn_command(&self, label: &str, cmd: Command, log: &Path) -> Proc {
        Proc::spawn(label, cmd, log)
    }

    /// Runs `f` on a fresh thread that has joined this namespace (setns
    /// is per thread). Sockets created there stay in this namespace when
    /// handed back.
    pub fn enter<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            join_netns(&path);
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// Addresses on `ifname` (getifaddrs from inside the namespace: no
    /// process spawned, cheap enough to poll every few milliseconds).
    pub fn addrs(&self, ifname: &str) -> Vec<IpAddr> {
        let ifname = ifname.to_string();
        self.enter(move || {
            let mut v = Vec::new();
            for a in nix::ifaddrs::getifaddrs().expect("getifaddrs") {
                if a.interface_name != ifname {
                    continue;
                }
                if let Some(sa) = a.address {
                    if let Some(s) = sa.as_sockaddr_in() {
                        v.push(IpAddr::V4(s.ip()));
                    } else if let Some(s) = sa.as_sockaddr_in6() {
                        v.push(IpAddr::V6(s.ip()));
                    }
                }
            }
            v
        })
    }

    pub fn mac(&self, ifname: &str) -> [u8; 6] {
        let out = self.exec(&["ip", "-j", "link", "show", "dev", ifname]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j link");
        parse_mac(v[0]["address"].as_str().expect("link has an address"))
    }
}

impl Default for Netns {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                // SAFETY: plain syscall; the PID is in our own namespace.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn join_netns(path: &str) {
    let f = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}

pub fn parse_mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, p) in s.split(':').enumerate().take(6) {
        m[i] = u8::from_str_radix(p, 16).expect("hex mac");
    }
    m
}

/// A process we spawned; SIGKILLed (by PID) and reaped on drop. While a
/// test is failing, the tail of its log is printed to help the reader.
pub struct Proc {
    pub label: String,
    pid: i32,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` (where it runs: in a namespace through
    /// [`Netns::spawn_command`], else the test's own) with stdout and
    /// stderr to `log`. The returned [`Proc`] kills it on drop.
    pub fn spawn(label: &str, mut cmd: Command, log: &Path) -> Proc {
        let f = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let f2 = f.try_clone().expect("dup log fd");
        let args = format!("{cmd:?}");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {args:?} ({label}): {e}"));
        Proc {
            label: label.to_string(),
            pid: child.id() as i32,
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    pub fn signal(&self, sig: i32) {
        if self.child.is_some() {
            // SAFETY: plain syscall on the PID we spawned and have not reaped.
            unsafe { libc::kill(self.pid, sig) };
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: as above.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait up to `grace` for it to exit (SIGKILL after).
    /// Returns how long it took to exit, or None if it had to be killed.
    pub fn terminate(&mut self, grace: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        self.signal(libc::SIGTERM);
        let mut c = self.child.take()?;
        while t0.elapsed() < grace {
            if let Ok(Some(_)) = c.try_wait() {
                return Some(t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: as above.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = c.wait();
        None
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit
    /// code (-1 for a signal), or `None` if it still runs.
    #[cfg_attr(not(feature = "fault-hooks"), allow(dead_code))] // daemon_supervisor's
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            let c = self.child.as_mut()?;
            if let Ok(Some(status)) = c.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Still running (not exited)?
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let Ok(f) = File::open(&self.log) else {
            return String::new();
        };
        let all: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
        let start = all.len().saturating_sub(lines);
        all[start..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- last lines of {} (pid {}, {}) ----\n{}\n----",
                self.label,
                self.pid,
                self.log.display(),
                self.log_tail(40)
            );
        }
        self.kill();
    }
}

/// Sum of VmRSS over a process and all its descendants, in kB.
pub fn rss_tree_kb(pid: i32) -> u64 {
    let mut total = 0;
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            for l in s.lines() {
                if let Some(v) = l.strip_prefix("VmRSS:") {
                    total += v
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0);
                }
            }
        }
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in dir.flatten() {
                if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                    stack.extend(c.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
                }
            }
        }
    }
    total
}

/// One LB node: a namespace with `eth0` on the shared bridge.
pub struct Node {
    pub ns: Netns,
    pub ifname: String,
    pub v4: Ipv4Addr,
    #[allow(dead_code)] // the node's plan, whole: tests read what they need
    pub v6: Ipv6Addr,
    pub mac: [u8; 6],
    #[allow(dead_code)]
    pub index: usize,
}

impl Node {
    pub fn holds(&self, vip: IpAddr) -> bool {
        self.ns.addrs(&self.ifname).contains(&vip)
    }

    pub fn link_down(&self) {
        self.ns.exec(&["ip", "link", "set", &self.ifname, "down"]);
    }

    pub fn link_up(&self) {
        self.ns.exec(&["ip", "link", "set", &self.ifname, "up"]);
    }
}

/// A shared L2 segment: a bridge namespace, `n` LB nodes (192.168.1.1..n,
/// fd00::1..n) and a tap node (192.168.1.250, fd00::250) for capture and
/// injection. Optionally a client node (192.168.1.251) for probes.
/// Field order matters for drop: nodes go before the bridge.
pub struct Lab {
    pub nodes: Vec<Node>,
    pub tap: Node,
    pub client: Option<Node>,
    #[allow(dead_code)] // held for its Drop: deleted after the nodes
    pub bridge: Netns,
    /// Configs, logs, pid files and control sockets of this lab; removed
    /// on drop unless VIGIL_NETNS_KEEP is set (then printed).
    pub dir: PathBuf,
    _dir_guard: Option<tempfile::TempDir>,
}

pub const SUBNET_PREFIX: u8 = 24;

impl Lab {
    pub fn new(n: usize) -> Self {
        Self::build(n, false)
    }

    pub fn with_client(n: usize) -> Self {
        Self::build(n, true)
    }

    fn build(n: usize, client: bool) -> Self {
        require_env();
        let bridge = Netns::new();
        bridge.exec(&[
            "ip",
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        bridge.exec(&["ip", "link", "set", "br0", "up"]);
        let tmp = tempfile::Builder::new()
            .prefix("vigil-netns-")
            .tempdir()
            .expect("tempdir");
        let (dir, _dir_guard) = if std::env::var_os("VIGIL_NETNS_KEEP").is_some() {
            let d = tmp.keep();
            eprintln!("lab files kept in {}", d.display());
            (d, None)
        } else {
            (tmp.path().to_path_buf(), Some(tmp))
        };
        let mut nodes = Vec::new();
        for i in 1..=n {
            nodes.push(Self::attach(&bridge, i, i as u8));
        }
        let tap = Self::attach(&bridge, 250, 250);
        let client = client.then(|| Self::attach(&bridge, 251, 251));
        Lab {
            nodes,
            tap,
            client,
            bridge,
            dir,
            _dir_guard,
        }
    }

    fn attach(bridge: &Netns, index: usize, host: u8) -> Node {
        let ns = Netns::new();
        let port = format!("p{index}");
        ip(&[
            "link",
            "add",
            "eth0",
            "netns",
            ns.name(),
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            bridge.name(),
        ]);
        bridge.exec(&["ip", "link", "set", &port, "master", "br0"]);
        bridge.exec(&["ip", "link", "set", &port, "up"]);
        let v4 = Ipv4Addr::new(192, 168, 1, host);
        let v6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(host));
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{v4}/{SUBNET_PREFIX}"),
            "dev",
            "eth0",
        ]);
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{v6}/64"),
            "dev",
            "eth0",
            "nodad",
        ]);
        ns.exec(&["ip", "link", "set", "eth0", "up"]);
        let mac = ns.mac("eth0");
        Node {
            ns,
            ifname: "eth0".into(),
            v4,
            v6,
            mac,
            index,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Which nodes hold `vip` right now (indices into `nodes`).
    pub fn holders(&self, vip: IpAddr) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].holds(vip))
            .collect()
    }

    /// Name of the node that sent a frame (by MAC), for messages.
    pub fn who(&self, mac: [u8; 6]) -> String {
        if let Some(i) = self.nodes.iter().position(|n| n.mac == mac) {
            return format!("node{}", i + 1);
        }
        if self.tap.mac == mac {
            return "tap".into();
        }
        format_mac(mac)
    }

    /// Waits until exactly node `i` holds `vip`; panics with the holders
    /// after `timeout`. Returns how long it took.
    pub fn wait_sole_holder(&self, i: usize, vip: IpAddr, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        loop {
            let h = self.holders(vip);
            if h == [i] {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < timeout,
                "after {timeout:?}, {vip} is held by nodes {:?} (0-based), want only [{i}]",
                h
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until no node holds `vip`.
    #[allow(dead_code)] // failover harness: for a test that stops a MASTER
    pub fn wait_no_holder(&self, vip: IpAddr, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        loop {
            let h = self.holders(vip);
            if h.is_empty() {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < timeout,
                "after {timeout:?}, {vip} still held by nodes {h:?} (0-based)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

pub fn format_mac(m: [u8; 6]) -> String {
    let mut s = String::new();
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------
// AF_PACKET capture and injection.

const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_VRRP: u8 = 112;

/// A packet socket bound to one interface of a namespace.
pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    pub fn open(ns: &Netns, ifname: &str) -> Self {
        let ifname = ifname.to_string();
        ns.enter(move || {
            let cname = std::ffi::CString::new(ifname.clone()).expect("ifname");
            // SAFETY: valid NUL-terminated string.
            let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as i32;
            assert!(ifindex > 0, "no interface {ifname} in namespace");
            // SAFETY: plain socket call; the fd is owned right below.
            let raw = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(ETH_P_ALL.to_be()),
                )
            };
            assert!(
                raw >= 0,
                "AF_PACKET socket: {}",
                std::io::Error::last_os_error()
            );
            // SAFETY: raw is a fresh fd we own.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: zeroed sockaddr_ll is valid; fields set below.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = ETH_P_ALL.to_be();
            sll.sll_ifindex = ifindex;
            // SAFETY: sll is a valid sockaddr_ll of the given size.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 20_000,
            };
            // SAFETY: tv is a valid timeval.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &tv as *const libc::timeval as *const libc::c_void,
                    std::mem::size_of::<libc::timeval>() as u32,
                )
            };
            PacketSocket { fd }
        })
    }

    /// Sends one Ethernet frame as is.
    pub fn send(&self, frame: &[u8]) {
        // SAFETY: frame is a valid buffer of its length.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
            )
        };
        assert_eq!(
            n,
            frame.len() as isize,
            "AF_PACKET send: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Sends one Ethernet frame as is; false when the kernel refused it
    /// (a full queue under a flood), which the caller counts as not sent.
    pub fn try_send(&self, frame: &[u8]) -> bool {
        // SAFETY: frame is a valid buffer of its length.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
            )
        };
        n == frame.len() as isize
    }

    /// Keeps only the frames this interface sends (a classic BPF filter on
    /// the packet type), so a flood arriving on it cannot crowd them out.
    pub fn outgoing_only(&self) {
        // Load the packet type (SKF_AD_OFF + SKF_AD_PKTTYPE); accept
        // PACKET_OUTGOING whole, drop the rest.
        let code = [
            libc::sock_filter {
                code: 0x30,
                jt: 0,
                jf: 0,
                k: 0xffff_f004,
            },
            libc::sock_filter {
                code: 0x15,
                jt: 0,
                jf: 1,
                k: libc::PACKET_OUTGOING as u32,
            },
            libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0xffff,
            },
            libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0,
            },
        ];
        let prog = libc::sock_fprog {
            len: code.len() as u16,
            filter: code.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prog points at `code`, alive for the call; the kernel
        // copies the program.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                &prog as *const libc::sock_fprog as *const libc::c_void,
                std::mem::size_of::<libc::sock_fprog>() as u32,
            )
        };
        assert_eq!(
            rc,
            0,
            "SO_ATTACH_FILTER: {}",
            std::io::Error::last_os_error()
        );
        // Frames that arrived before the filter: drain them.
        let mut buf = [0u8; 2048];
        while self.recv(&mut buf).is_some() {}
    }

    /// One frame, or None on the 20 ms receive timeout. The flag tells an
    /// outgoing frame (sent from this interface) from an incoming one.
    pub fn recv(&self, buf: &mut [u8]) -> Option<(usize, bool)> {
        // SAFETY: zeroed sockaddr_ll is valid for recvfrom to fill.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        // SAFETY: buffers are valid for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut len,
            )
        };
        if n < 0 {
            return None;
        }
        Some((n as usize, sll.sll_pkttype == libc::PACKET_OUTGOING))
    }
}

impl PacketSocket {
    /// Waits for the next advert for `vrid` from `mac` (a fresh socket
    /// sees only frames from after its creation). False on timeout.
    pub fn next_advert(&self, mac: [u8; 6], vrid: u8, timeout: Duration) -> bool {
        let t0 = Instant::now();
        let mut buf = vec![0u8; 2048];
        while t0.elapsed() < timeout {
            if let Some((n, out)) = self.recv(&mut buf) {
                if let Some(s) = parse_vrrp_frame(&buf[..n], Instant::now(), out) {
                    if !out && s.src_mac == mac && s.vrid == vrid {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// A VRRP frame seen on the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    #[allow(dead_code)] // the frame's record, whole: tests read what they need
    pub at: Instant,
    pub src_mac: [u8; 6],
    #[allow(dead_code)]
    pub src: IpAddr,
    pub ttl: u8,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub outgoing: bool,
}

/// Parses an Ethernet frame carrying VRRP (IPv4 or IPv6, no extension
/// headers) into the header fields the checks need.
pub fn parse_vrrp_frame(frame: &[u8], at: Instant, outgoing: bool) -> Option<Seen> {
    if frame.len() < 14 {
        return None;
    }
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&frame[6..12]);
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[14..];
    let (src, ttl, vrrp) = match ethertype {
        ETH_P_IP if ip.len() >= 20 && ip[9] == IPPROTO_VRRP => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
            (src, ip[8], ip.get(ihl..)?)
        }
        ETH_P_IPV6 if ip.len() >= 40 && ip[6] == IPPROTO_VRRP => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&ip[8..24]);
            (IpAddr::V6(Ipv6Addr::from(a)), ip[7], &ip[40..])
        }
        _ => return None,
    };
    if vrrp.len() < 4 {
        return None;
    }
    Some(Seen {
        at,
        src_mac,
        src,
        ttl,
        version: vrrp[0] >> 4,
        vrid: vrrp[1],
        priority: vrrp[2],
        outgoing,
    })
}

/// A background capture of VRRP frames on one interface of a namespace.
pub struct Capture {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<Seen>>>,
}

impl Capture {
    pub fn start(ns: &Netns, ifname: &str) -> Self {
        Self::on(PacketSocket::open(ns, ifname))
    }

    /// Captures only what the interface sends (its own adverts), immune
    /// to whatever arrives on it.
    pub fn outgoing(ns: &Netns, ifname: &str) -> Self {
        let sock = PacketSocket::open(ns, ifname);
        sock.outgoing_only();
        Self::on(sock)
    }

    fn on(sock: PacketSocket) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = vec![0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Some((n, out)) = sock.recv(&mut buf) {
                    if let Some(s) = parse_vrrp_frame(&buf[..n], Instant::now(), out) {
                        seen.push(s);
                    }
                }
            }
            seen
        });
        Capture {
            stop,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) -> Vec<Seen> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .expect("capture running")
            .join()
            .expect("capture thread")
    }

    /// Captures for `dur` and returns what was seen.
    pub fn for_duration(ns: &Netns, ifname: &str, dur: Duration) -> Vec<Seen> {
        let c = Self::start(ns, ifname);
        std::thread::sleep(dur);
        c.stop()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Senders of adverts for `vrid` (by source MAC), with counts.
pub fn advert_senders(seen: &[Seen], vrid: u8) -> BTreeMap<[u8; 6], usize> {
    let mut m = BTreeMap::new();
    for s in seen.iter().filter(|s| s.vrid == vrid && !s.outgoing) {
        *m.entry(s.src_mac).or_insert(0) += 1;
    }
    m
}

/// Builds an Ethernet frame around an IPv4 packet (multicast MAC derived
/// from the destination when it is multicast).
pub fn eth_ipv4(src_mac: [u8; 6], ip_packet: &[u8]) -> Vec<u8> {
    let dst = if ip_packet.len() >= 20 {
        [ip_packet[16], ip_packet[17], ip_packet[18], ip_packet[19]]
    } else {
        [224, 0, 0, 18]
    };
    let mut f = Vec::with_capacity(14 + ip_packet.len());
    f.extend_from_slice(&[0x01, 0x00, 0x5e, dst[1] & 0x7f, dst[2], dst[3]]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETH_P_IP.to_be_bytes());
    f.extend_from_slice(ip_packet);
    f
}

/// Internet checksum of `data` (for re-sealing IPv4 headers we altered).
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut it = data.chunks_exact(2);
    for c in &mut it {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = it.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Rewrites the IPv4 header checksum after a header field was changed.
pub fn reseal_ipv4_header(ip_packet: &mut [u8]) {
    let ihl = usize::from(ip_packet[0] & 0x0f) * 4;
    ip_packet[10] = 0;
    ip_packet[11] = 0;
    let c = inet_checksum(&ip_packet[..ihl]);
    ip_packet[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Polls `cond` every `step` until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if t0.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(step);
    }
}

/// BIRD in `ns` on `config`, in the foreground, with its control socket
/// `dir/NAME.ctl` and its output in `dir/NAME.log` -> the process and the
/// socket (the anycast tests: the box's BIRD and a router's).
pub fn spawn_bird(ns: &Netns, dir: &Path, name: &str, config: &Path) -> (Proc, PathBuf) {
    let socket = dir.join(format!("{name}.ctl"));
    let log = dir.join(format!("{name}.log"));
    let args = [
        "bird",
        "-f",
        "-c",
        config.to_str().expect("utf-8 path"),
        "-s",
        socket.to_str().expect("utf-8 path"),
    ];
    (ns.spawn(name, &args, &log), socket)
}
