//! The appliance block applied for real, through rtnetlink and /proc/sys,
//! to a namespace's two veths: a first apply, a live change of eth1's
//! address and route, a second apply of each that does nothing, and what
//! vigil does not own (a VIP added by hand, a hand route, the kernel's
//! routes and link-locals) left as it was. A block naming a missing NIC
//! reports that NIC and applies the rest. And the daemon: `vigil run
//! --config` leaves the host's network alone, `--apply-appliance` sets it
//! up before VRRP, and `vigil reload` applies a changed eth1 live.
//!
//! Topology: namespace "box" (eth0, eth1) with each veth's peer in
//! namespace "wire" (p0, p1), up, so the links have carrier. The library
//! runs on a thread that joined "box" (so its netlink socket and its
//! /proc/sys/net are the box's) and has its own UTS namespace (so
//! sethostname names that thread's host, never the machine's). Both
//! namespaces are deleted on drop.
//!
//! Requires root and iproute2: without them this test FAILS, loudly.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use vigil::appliance::{self, Desired, Host, Op, RTPROT_VIGIL};
use vigil::config::bounds::IfName;
use vigil::config::model::Appliance;
use vigil::net::Net;

use crate::support::netns::{run, serial, wait_for, Netns};

const VIP: &str = "192.168.50.100";

/// The block as text; `hostname` only where sethostname cannot reach the
/// machine's own name (and /etc/hostname is a temporary file).
fn block_text(eth1: &str, route_via: &str, hostname: Option<&str>) -> String {
    let hostname = hostname
        .map(|h| format!("hostname {h}"))
        .unwrap_or_default();
    format!(
        "appliance {{
            {hostname}
            ip_forward yes
            interface eth0 {{
                address 192.168.50.10/24
                mtu 1400
                route default via 192.168.50.1
                arp_ignore 1
                arp_announce 2
            }}
            interface eth1 {{
                address {eth1}
                route 10.60.0.0/16 via {route_via}
            }}
        }}
"
    )
}

fn block(eth1: &str, route_via: &str) -> Appliance {
    let text = block_text(eth1, route_via, Some("lb-test"));
    let imported = vigil::config::import_str("appliance.conf", &text, false)
        .unwrap_or_else(|r| panic!("test block does not import: {:?}", r.errors));
    imported.config.appliance.expect("an appliance block")
}

/// `ip -n NS -j ARGS`, parsed.
fn ip_json(ns: &str, args: &[&str]) -> Value {
    let out = run(Command::new("ip").args(["-n", ns, "-j"]).args(args));
    serde_json::from_slice(&out.stdout).expect("ip -j prints json")
}

/// `ADDR/PREFIX` of every address on `dev`.
fn addrs(ns: &str, dev: &str) -> BTreeSet<String> {
    let v = ip_json(ns, &["addr", "show", "dev", dev]);
    v[0]["addr_info"]
        .as_array()
        .expect("addr_info")
        .iter()
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect()
}

/// `DEST via GW dev DEV proto P` of every IPv4 main-table route.
fn routes(ns: &str) -> BTreeSet<String> {
    let v = ip_json(ns, &["-4", "route", "show", "table", "main"]);
    v.as_array()
        .expect("routes")
        .iter()
        .map(|r| {
            let via = r["gateway"].as_str().map(|g| format!(" via {g}"));
            format!(
                "{}{} dev {} proto {}",
                r["dst"].as_str().unwrap(),
                via.unwrap_or_default(),
                r["dev"].as_str().unwrap(),
                r["protocol"]
                    .as_str()
                    .map_or(r["protocol"].to_string(), str::to_owned),
            )
        })
        .collect()
}

fn sysctl(ns: &str, key: &str) -> String {
    let out = run(Command::new("ip").args(["netns", "exec", ns, "sysctl", "-n", key]));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn veth(boxed: &Netns, wire: &Netns, dev: &str, peer: &str) {
    run(Command::new("ip").args([
        "link",
        "add",
        dev,
        "netns",
        boxed.name(),
        "type",
        "veth",
        "peer",
        "name",
        peer,
        "netns",
        wire.name(),
    ]));
    wire.exec(&["ip", "link", "set", peer, "up"]);
}

/// Runs `f` with a runtime and a netlink connection on a thread inside
/// `ns` that has its own UTS namespace.
/// Work for the box thread.
type Job = Box<dyn FnOnce(&Context) + Send>;

struct Inside {
    tx: std::sync::mpsc::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Context {
    rt: tokio::runtime::Runtime,
    net: Net,
}

impl Inside {
    fn new(ns: &Netns) -> Self {
        let path = format!("/run/netns/{}", ns.name());
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS)
                .expect("unshare UTS: sethostname must not reach the machine's hostname");
            // This thread's /proc/sys/net must be the box's, not the host's.
            let seen: BTreeSet<String> = std::fs::read_dir("/proc/sys/net/ipv4/conf")
                .expect("/proc/sys/net/ipv4/conf")
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            let want: BTreeSet<String> = ["all", "default", "lo", "eth0", "eth1"]
                .map(String::from)
                .into();
            assert_eq!(seen, want, "/proc/sys/net is not the box's namespace");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let net = rt.block_on(async { Net::connect() }).expect("netlink");
            let cx = Context { rt, net };
            ready_tx.send(()).expect("ready");
            for job in rx {
                job(&cx);
            }
        });
        ready_rx.recv().expect("the box thread started");
        Inside {
            tx,
            thread: Some(thread),
        }
    }

    fn call<R: Send + 'static>(&self, f: impl FnOnce(&Context) -> R + Send + 'static) -> R {
        let (tx, rx) = std::sync::mpsc::channel();
        self.tx
            .send(Box::new(move |cx| {
                let _ = tx.send(f(cx));
            }))
            .expect("box thread alive");
        rx.recv().expect("box thread answered")
    }

    fn apply(&self, host: &Host, block: &Appliance, previous: Option<&Appliance>) -> Vec<Op> {
        let (host, block, previous) = (host.clone(), block.clone(), previous.cloned());
        self.call(move |cx| {
            let vips = [VIP.parse::<IpAddr>().unwrap()];
            let desired = Desired {
                block: &block,
                previous: previous.as_ref(),
                vips: &vips,
            };
            let report = cx.rt.block_on(appliance::apply(&cx.net, &host, &desired));
            let errors: Vec<String> = report.errors.iter().map(|e| format!("{e:?}")).collect();
            assert!(errors.is_empty(), "apply failed: {errors:#?}");
            report.done
        })
    }

    fn hostname(&self) -> String {
        self.call(|_| nix::unistd::gethostname().unwrap().into_string().unwrap())
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let (tx, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_block_applies_to_two_veths_and_changes_live() {
    let _serial = serial();
    let boxed = Netns::new();
    let wire = Netns::new();
    veth(&boxed, &wire, "eth0", "p0");
    veth(&boxed, &wire, "eth1", "p1");
    let ns = boxed.name().to_owned();
    let etc = tempfile::tempdir().unwrap();
    let host = Host {
        proc_sys: PathBuf::from("/proc/sys"),
        hostname_file: Some(etc.path().join("hostname")),
    };
    let machine_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let inside = Inside::new(&boxed);

    // First apply: everything, from links down and no address.
    let a = block("10.50.0.10/24", "10.50.0.1");
    let ops = inside.apply(&host, &a, None);
    assert!(!ops.is_empty());
    assert!(addrs(&ns, "eth0").contains("192.168.50.10/24"));
    assert!(addrs(&ns, "eth1").contains("10.50.0.10/24"));
    let r = routes(&ns);
    for want in [
        format!("default via 192.168.50.1 dev eth0 proto {RTPROT_VIGIL}"),
        format!("10.60.0.0/16 via 10.50.0.1 dev eth1 proto {RTPROT_VIGIL}"),
        "10.50.0.0/24 dev eth1 proto kernel".to_owned(),
    ] {
        assert!(r.contains(&want), "no `{want}` in {r:#?}");
    }
    let link = ip_json(&ns, &["link", "show", "dev", "eth0"]);
    assert_eq!(link[0]["mtu"], 1400);
    assert_eq!(sysctl(&ns, "net.ipv4.ip_forward"), "1");
    assert_eq!(sysctl(&ns, "net.ipv4.conf.eth0.arp_ignore"), "1");
    assert_eq!(sysctl(&ns, "net.ipv4.conf.eth0.arp_announce"), "2");
    assert_eq!(sysctl(&ns, "net.ipv4.conf.eth1.promote_secondaries"), "1");
    assert_eq!(inside.hostname(), "lb-test");
    let etc_hostname = std::fs::read_to_string(etc.path().join("hostname")).unwrap();
    assert_eq!(etc_hostname, "lb-test\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        machine_forward,
        "the machine's own ip_forward is untouched"
    );
    assert_eq!(
        inside.apply(&host, &a, None),
        [],
        "a second apply does nothing"
    );

    // What vigil does not own: a VIP (as VRRP adds it), a hand route.
    boxed.exec(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"]);
    boxed.exec(&[
        "ip",
        "route",
        "add",
        "172.16.0.0/12",
        "via",
        "192.168.50.254",
        "proto",
        "static",
    ]);
    let link_locals = |dev| -> BTreeSet<String> {
        addrs(&ns, dev)
            .into_iter()
            .filter(|a| a.starts_with("fe80:"))
            .collect()
    };
    let (ll0, ll1) = (link_locals("eth0"), link_locals("eth1"));
    assert!(
        !ll0.is_empty() && !ll1.is_empty(),
        "the kernel made link-locals"
    );

    // A live change: eth1 moves to another subnet, its route follows.
    let b = block("10.51.0.10/24", "10.51.0.1");
    let ops = inside.apply(&host, &b, Some(&a));
    assert_eq!(ops.len(), 3, "add, change route, remove: {ops:#?}");
    let eth1 = addrs(&ns, "eth1");
    assert!(
        eth1.contains("10.51.0.10/24") && !eth1.contains("10.50.0.10/24"),
        "{eth1:?}"
    );
    let r = routes(&ns);
    for want in [
        format!("10.60.0.0/16 via 10.51.0.1 dev eth1 proto {RTPROT_VIGIL}"),
        format!("default via 192.168.50.1 dev eth0 proto {RTPROT_VIGIL}"),
        "172.16.0.0/12 via 192.168.50.254 dev eth0 proto static".to_owned(),
        "192.168.50.0/24 dev eth0 proto kernel".to_owned(),
        "10.51.0.0/24 dev eth1 proto kernel".to_owned(),
    ] {
        assert!(r.contains(&want), "no `{want}` in {r:#?}");
    }
    assert!(!r.iter().any(|x| x.contains("via 10.50.0.1")), "{r:#?}");
    assert!(
        addrs(&ns, "eth0").contains(&format!("{VIP}/32")),
        "the VIP stays"
    );
    assert_eq!((link_locals("eth0"), link_locals("eth1")), (ll0, ll1));
    assert_eq!(inside.apply(&host, &b, Some(&a)), [], "converged");
}

#[test]
fn a_missing_nic_is_named_and_the_rest_applies() {
    let _serial = serial();
    let boxed = Netns::new();
    let wire = Netns::new();
    veth(&boxed, &wire, "eth0", "p0");
    veth(&boxed, &wire, "eth1", "p1");
    let etc = tempfile::tempdir().unwrap();
    let host = Host {
        proc_sys: PathBuf::from("/proc/sys"),
        hostname_file: Some(etc.path().join("hostname")),
    };
    let inside = Inside::new(&boxed);
    // The block's eth1 is called eth9 here: a NIC the box lacks.
    let mut c = block("10.50.0.10/24", "10.50.0.1");
    c.interfaces[1].name = IfName::new("eth9").unwrap();
    let report = inside.call(move |cx| {
        let desired = Desired {
            block: &c,
            previous: None,
            vips: &[],
        };
        let r = cx.rt.block_on(appliance::apply(&cx.net, &host, &desired));
        let errors: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        (errors, r.done.len())
    });
    assert_eq!(
        report.0,
        ["appliance: no interface eth9: its addresses, routes and sysctls wait"]
    );
    assert!(report.1 > 0);
    assert!(addrs(boxed.name(), "eth0").contains("192.168.50.10/24"));
    assert!(!addrs(boxed.name(), "eth1").contains("10.50.0.10/24"));
    assert_eq!(inside.hostname(), "lb-test");
}

/// Two veths in a box namespace (eth0, eth1) with their peers up in a
/// wire namespace, and a directory for the daemon's files.
fn two_nics() -> (Netns, Netns, tempfile::TempDir) {
    let boxed = Netns::new();
    let wire = Netns::new();
    veth(&boxed, &wire, "eth0", "p0");
    veth(&boxed, &wire, "eth1", "p1");
    (boxed, wire, tempfile::tempdir().unwrap())
}

/// `vigil run` on `conf` with `extra`, in a UTS namespace of its own.
fn run_args(conf: &str, sock: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["unshare", "--uts", env!("CARGO_BIN_EXE_vigil"), "run"]
        .map(String::from)
        .into();
    v.extend(
        ["--config", conf, "--control", sock, "--log-to", "stderr"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string()),
    );
    v
}

fn vigil(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .expect("run vigil")
}

#[test]
fn the_daemon_sets_the_box_up_only_when_asked_and_reloads_it_live() {
    let _serial = serial();
    let (boxed, wire, dir) = two_nics();
    let ns = boxed.name().to_owned();
    let conf = dir.path().join("vigil.conf");
    let sock = dir.path().join("vigil.sock");
    std::fs::write(&conf, block_text("10.50.0.10/24", "10.50.0.1", None)).unwrap();
    let (conf_s, sock_s) = (conf.to_str().unwrap(), sock.to_str().unwrap());
    // Its own UTS namespace too, though the block names no hostname.
    let run_args = |extra: &[&str]| run_args(conf_s, sock_s, extra);
    let running = || vigil(&["status", "--control", sock_s]).status.success();
    let long = std::time::Duration::from_secs(10);
    let step = std::time::Duration::from_millis(20);

    // A drop-in: the block is there, nobody asked, nothing changes.
    let args = run_args(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut d = boxed.spawn("vigil drop-in", &args, &dir.path().join("drop-in.log"));
    assert!(wait_for(long, step, running), "the drop-in daemon answers");
    assert!(!addrs(&ns, "eth1").contains("10.50.0.10/24"));
    assert_eq!(
        ip_json(&ns, &["link", "show", "dev", "eth0"])[0]["mtu"],
        1500
    );
    d.terminate(long);

    // Asked: set up before it runs, and live on reload.
    let args = run_args(&["--apply-appliance"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _d = boxed.spawn("vigil", &args, &dir.path().join("vigil.log"));
    assert!(wait_for(long, step, running), "the daemon answers");
    assert!(addrs(&ns, "eth1").contains("10.50.0.10/24"));
    let want = format!("10.60.0.0/16 via 10.50.0.1 dev eth1 proto {RTPROT_VIGIL}");
    assert!(routes(&ns).contains(&want), "{:#?}", routes(&ns));
    std::fs::write(&conf, block_text("10.51.0.10/24", "10.51.0.1", None)).unwrap();
    let out = vigil(&["reload", "--control", sock_s]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "reload: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("appliance set-up applied (3 kernel changes)"),
        "{said}"
    );
    assert!(!said.contains("pending"), "{said}");
    let eth1 = addrs(&ns, "eth1");
    assert!(
        eth1.contains("10.51.0.10/24") && !eth1.contains("10.50.0.10/24"),
        "{eth1:?}"
    );
    let want = format!("10.60.0.0/16 via 10.51.0.1 dev eth1 proto {RTPROT_VIGIL}");
    assert!(routes(&ns).contains(&want), "{:#?}", routes(&ns));

    // A NIC the box lacks: the reload fails naming it, `vigil status`
    // says it, and the rest (eth0) still runs as configured.
    let eth9 = block_text("10.51.0.10/24", "10.51.0.1", None).replace("eth1", "eth9");
    std::fs::write(&conf, eth9).unwrap();
    let out = vigil(&["reload", "--control", sock_s]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success(),
        "a missing NIC fails the reload: {said}"
    );
    let missing = "appliance: no interface eth9: its addresses, routes and sysctls wait";
    assert!(said.contains(missing), "{said}");
    let status = vigil(&["status", "--control", sock_s]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains(&format!("APPLIANCE ERROR: {missing}")),
        "{status}"
    );
    assert!(addrs(&ns, "eth0").contains("192.168.50.10/24"));

    // The NIC appears (a driver loaded late): its part applies by itself,
    // without a reload, and the error goes from `vigil status`.
    veth(&boxed, &wire, "eth9", "p9");
    assert!(
        wait_for(long, step, || addrs(&ns, "eth9").contains("10.51.0.10/24")),
        "eth9's address once it appears: {:?}",
        addrs(&ns, "eth9")
    );
    let status = vigil(&["status", "--control", sock_s]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(!status.contains("APPLIANCE ERROR"), "{status}");
}

#[test]
fn a_failed_apply_is_tried_again_until_it_applies() {
    // eth1 has IPv6 turned off (by someone else, or not yet on at boot):
    // the kernel refuses its IPv6 address. The daemon reports that, tries
    // again with backoff, and adds the address by itself once IPv6 is on.
    let _serial = serial();
    let (boxed, _wire, dir) = two_nics();
    let ns = boxed.name().to_owned();
    boxed.exec(&["sysctl", "-qw", "net.ipv6.conf.eth1.disable_ipv6=1"]);
    let conf = dir.path().join("vigil.conf");
    let sock = dir.path().join("vigil.sock");
    let eth1 = "10.50.0.10/24\n address fd00:50::10/64";
    std::fs::write(&conf, block_text(eth1, "10.50.0.1", None)).unwrap();
    let (conf_s, sock_s) = (conf.to_str().unwrap(), sock.to_str().unwrap());
    let args = run_args(conf_s, sock_s, &["--apply-appliance"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = dir.path().join("vigil.log");
    let _d = boxed.spawn("vigil", &args, &log);
    let status = || {
        let out = vigil(&["status", "--control", sock_s]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let long = std::time::Duration::from_secs(10);
    let step = std::time::Duration::from_millis(50);
    assert!(
        wait_for(long, step, || status().is_some()),
        "the daemon answers: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let said = status().unwrap_or_default();
    let refused = "APPLIANCE ERROR: appliance: cannot add address fd00:50::10/64 on eth1";
    assert!(said.contains(refused), "{said}");
    assert!(
        addrs(&ns, "eth1").contains("10.50.0.10/24"),
        "the rest applied"
    );

    // Tries come 1, 2, 4 s ... apart; let two fail, then turn IPv6 on.
    std::thread::sleep(std::time::Duration::from_secs(4));
    boxed.exec(&["sysctl", "-qw", "net.ipv6.conf.eth1.disable_ipv6=0"]);
    assert!(
        wait_for(std::time::Duration::from_secs(20), step, || addrs(
            &ns, "eth1"
        )
        .contains("fd00:50::10/64")),
        "the address once IPv6 is on: {:?}\n{}",
        addrs(&ns, "eth1"),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        wait_for(long, step, || status()
            .is_some_and(|s| !s.contains("APPLIANCE ERROR"))),
        "{}",
        status().unwrap_or_default()
    );
    // The same failure on every try is logged once, not once a try.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let refusals = text.matches("cannot add address fd00:50::10/64").count();
    assert_eq!(refusals, 1, "{text}");
}
