//! The one limit of a config's size (issue 19): the largest table the
//! bounds allow (`DESTINATIONS_MAX` destinations, every port, weight and
//! timeout different, so the flash cannot compress it away) is checked,
//! imported into a store the size of the image's `config` partition,
//! loaded by a daemon from that store, and shown whole by `vigil status`;
//! one real server more is refused at its line, naming the bound, and
//! nothing is written.
//!
//! Needs root (the daemon runs in a network namespace).

use crate::support::netns::{self, serial, Lab, Proc};
use crate::support::peers::vigil_bin;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vigil::config::bounds::DESTINATIONS_MAX;

const REALS: usize = 100;

/// `services` NAT services of `reals` real servers each, values varied by
/// a fixed-seed generator; `extra` real servers more on the last one.
fn table(services: usize, reals: usize, extra: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut out = String::from(
        "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n \
         priority 100\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n",
    );
    let mut g: usize = 0;
    for v in 0..services {
        out += &format!(
            "virtual_server 172.16.{}.{} 80 {{\n delay_loop 3600\n lvs_sched wrr\n lvs_method NAT\n protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        let n = reals + if v + 1 == services { extra } else { 0 };
        for _ in 0..n {
            g += 1;
            out += &format!(
                " real_server 10.{}.{}.{} {} {{\n  weight {}\n  TCP_CHECK {{\n   connect_timeout {}\n  }}\n }}\n",
                g >> 16,
                (g >> 8) & 255,
                g & 255,
                1024 + next(64_000),
                1 + next(100),
                1 + next(10)
            );
        }
        out += "}\n";
    }
    out
}

fn vigil(args: &[&str]) -> Output {
    Command::new(vigil_bin())
        .args(args)
        .output()
        .expect("run vigil")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn the_largest_table_fits_the_flash_loads_and_shows_and_one_more_is_refused_at_its_line() {
    netns::require_env();
    let _serial = serial();
    let lab = Lab::new(1);
    let services = DESTINATIONS_MAX / REALS;
    let conf = lab.path("largest.conf");
    std::fs::write(&conf, table(services, REALS, 0)).expect("write conf");
    // The image's config partition: 4 MiB.
    let store = lab.path("flash.img");
    std::fs::write(&store, vec![0u8; 4 << 20]).expect("blank store");
    let out = vigil(&["config", "import", p(&conf), "--store", p(&store)]);
    assert!(out.status.success(), "{}", text(&out));

    // One real server more: refused at its service's line, nothing written.
    let over = lab.path("over.conf");
    let over_text = table(services, REALS, 1);
    let line = 1 + over_text
        .lines()
        .position(|l| {
            l.starts_with(&format!("virtual_server 172.16.{}.", (services - 1) / 250))
                && l.contains(&format!(".{} 80 {{", (services - 1) % 250 + 1))
        })
        .expect("the last service");
    std::fs::write(&over, over_text).expect("write conf");
    let before = std::fs::read(&store).expect("read store");
    let out = vigil(&["config", "import", p(&over), "--store", p(&store)]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let want = format!(
        "{}:{line}:1: error: virtual_server 172.16.{}.{} 80: its real servers bring the config to {} destinations",
        over.display(),
        (services - 1) / 250,
        (services - 1) % 250 + 1,
        DESTINATIONS_MAX + 1
    );
    assert!(said.contains(&want), "{said}");
    assert!(
        said.contains(&format!("at most {DESTINATIONS_MAX} (DESTINATIONS_MAX)")),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&store).expect("read store"),
        before,
        "nothing written"
    );

    // The daemon loads it from the store; its status shows all of it.
    let control = lab.path("control.sock");
    let mut daemon: Proc = lab.nodes[0].ns.spawn(
        "vigil at the bound",
        &[
            p(&vigil_bin()),
            "run",
            "--store",
            p(&store),
            "--control",
            p(&control),
            "--log-to",
            "stderr",
        ],
        &lab.path("daemon.log"),
    );
    let t0 = Instant::now();
    // Until the IPVS task's first pass (here: failing, no ip_vs on the
    // host) the status holds no table.
    let status = loop {
        let out = vigil(&["status", "--json", "--control", p(&control)]);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
            if v["ipvs"]["services"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                break v;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120) && daemon.alive(),
            "no status: {}\n{}",
            text(&out),
            daemon.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    eprintln!("config_limit: status after {:?}", t0.elapsed());
    let services_shown = status["ipvs"]["services"].as_array().expect("services");
    let dests: usize = services_shown
        .iter()
        .map(|s| s["dests"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!((services_shown.len(), dests), (services, DESTINATIONS_MAX));
    daemon.terminate(Duration::from_secs(10));
}

/// A memory cgroup of this test's own, v2 or v1 (whichever the machine
/// mounts with a memory controller), removed on drop.
struct MemCgroup {
    dir: std::path::PathBuf,
    v2: bool,
}

impl MemCgroup {
    fn new(name: &str) -> MemCgroup {
        let root = Path::new("/sys/fs/cgroup");
        let unified = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let (dir, v2) = if unified.split_whitespace().any(|c| c == "memory") {
            // The root's children get the memory controller (idempotent).
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+memory");
            (root.join(name), true)
        } else if root.join("memory").is_dir() {
            (root.join("memory").join(name), false)
        } else {
            panic!("no memory cgroup controller mounted under /sys/fs/cgroup (v2 or v1)");
        };
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        MemCgroup { dir, v2 }
    }

    fn file(&self, v2: &str, v1: &str) -> std::path::PathBuf {
        self.dir.join(if self.v2 { v2 } else { v1 })
    }

    fn usage(&self) -> u64 {
        let f = self.file("memory.current", "memory.usage_in_bytes");
        std::fs::read_to_string(&f)
            .expect("usage")
            .trim()
            .parse()
            .expect("a number")
    }

    /// `None`: no limit.
    fn limit(&self, bytes: Option<u64>) {
        let value = match (bytes, self.v2) {
            (Some(b), _) => b.to_string(),
            (None, true) => "max".into(),
            (None, false) => "-1".into(),
        };
        let f = self.file("memory.max", "memory.limit_in_bytes");
        std::fs::write(&f, value).unwrap_or_else(|e| panic!("write {}: {e}", f.display()));
    }

    fn add(&self, pid: i32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).expect("move the daemon");
    }
}

impl Drop for MemCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A reload the box lacks the memory for (its cgroup's limit) is refused
/// before anything is built, saying what it needs and what there is; the
/// daemon keeps its config, and the same reload with the room goes on. A
/// reload that changes nothing is no change, however short the box.
#[test]
fn a_reload_short_of_memory_is_refused_whole_and_goes_on_with_the_room() {
    netns::require_env();
    let _serial = serial();
    let lab = Lab::new(1);
    let conf = lab.path("vigil.conf");
    std::fs::write(&conf, table(10, 100, 0)).expect("write conf");
    // Made before the daemon, so dropped after it: a cgroup that still
    // holds a process cannot be removed (a failing test must not leave it).
    let cgroup = MemCgroup::new(&format!("vigil-test-{}", std::process::id()));
    let control = lab.path("control.sock");
    // Into the node's network namespace only (`nsenter --net`), not `ip
    // netns exec`'s own mount namespace: that remounts /sys, hiding the
    // cgroup files the daemon reads its room from.
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/run/netns/{}", lab.nodes[0].ns.name()))
        .arg(vigil_bin())
        .args([
            "run",
            "--config",
            p(&conf),
            "--control",
            p(&control),
            "--log-to",
            "stderr",
        ]);
    let mut daemon: Proc =
        lab.nodes[0]
            .ns
            .spawn_command("vigil short of memory", cmd, &lab.path("daemon.log"));
    let status = || vigil(&["status", "--json", "--control", p(&control)]);
    let t0 = Instant::now();
    while !status().status.success() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{}",
            daemon.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let services = || {
        let v: serde_json::Value = serde_json::from_slice(&status().stdout).expect("json");
        v["ipvs"]["services"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(services(), 10);
    cgroup.add(daemon.pid());
    // Short of what a reload to the running table (1,000 destinations)
    // would need: the same config again builds nothing, so it is no change.
    let need = vigil::mem::room::reload_need(1_000);
    cgroup.limit(Some(cgroup.usage() + need - (4 << 20)));
    let out = vigil(&["reload", "--control", p(&control)]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("no change"), "{said}");
    // 10,000 destinations need about 18 MB more: leave 4 MB short of it.
    let need = vigil::mem::room::reload_need(10_000);
    cgroup.limit(Some(cgroup.usage() + need - (4 << 20)));
    std::fs::write(&conf, table(100, 100, 0)).expect("write conf");
    let out = vigil(&["reload", "--control", p(&control)]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("not enough memory for this config: its reload needs about"),
        "{said}"
    );
    assert!(
        said.contains("(10000 destinations)") && said.contains("nothing was changed"),
        "{said}"
    );
    assert!(daemon.alive(), "{}", daemon.log_tail(20));
    assert_eq!(services(), 10, "the running config stays");
    // With the room, the same reload goes on (to the kernel: a host
    // without ip_vs refuses it there, a box applies it).
    cgroup.limit(None);
    let out = vigil(&["reload", "--control", p(&control)]);
    let said = text(&out);
    assert!(!said.contains("not enough memory"), "{said}");
    assert!(
        said.contains("100 changes") || said.contains("90 changes"),
        "{said}"
    );
    daemon.terminate(Duration::from_secs(10));
}
