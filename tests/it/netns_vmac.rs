//! `use_vmac` in network namespaces: vigil and Debian's keepalived 2.2.7
//! both with a vmac (`vrrp.51`, MAC 00:00:5e:00:01:33) in one VRRP domain
//! (VRID 51, VRRPv2, PASS auth), and vigil alone reloading the vmac away
//! and back.
//!
//! Interop: vigil (priority 150) preempts keepalived (100); vigil's
//! adverts, seen on the LAN, carry the virtual MAC as source; the VIP is
//! on vigil's vmac, not on eth0, and a host on the LAN resolves it to the
//! virtual MAC; vigil stops (its vmac goes), keepalived takes over on its
//! own vmac; vigil comes back and preempts again.
//! Needs root, iproute2, ping and keepalived (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::IpAddr;
use std::time::{Duration, Instant};

use netns::{advert_senders, format_mac, serial, wait_for, Capture, Lab, Netns};
use peers::{start, start_vigil_with, vigil_bin, Kind, Proto};

const VMAC: &str = "vrrp.51";
const VIRTUAL_MAC: [u8; 6] = [0, 0, 0x5e, 0, 1, 51];
const SLACK: Duration = Duration::from_secs(4);

fn link_exists(ns: &Netns, name: &str) -> bool {
    ns.command(&["ip", "link", "show", "dev", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Waits until node `i` alone holds `vip` on its vmac (and no node on
/// eth0).
fn wait_vmac_holder(lab: &Lab, i: usize, vip: IpAddr, within: Duration) -> Duration {
    let t0 = Instant::now();
    let on_vmac = |n: &netns::Node| link_exists(&n.ns, VMAC) && n.ns.addrs(VMAC).contains(&vip);
    let ok = wait_for(within, Duration::from_millis(20), || {
        lab.nodes
            .iter()
            .enumerate()
            .all(|(k, n)| on_vmac(n) == (k == i) && !n.holds(vip))
    });
    assert!(
        ok,
        "after {within:?}: vip {vip} on vmacs {:?}, on eth0 {:?}; want node{} on {VMAC}",
        lab.nodes.iter().map(on_vmac).collect::<Vec<_>>(),
        lab.holders(vip),
        i + 1
    );
    t0.elapsed()
}

/// The MAC the tap node resolves `vip` to: its ARP answer (after a
/// ping). The master knows the tap's MAC beforehand: its echo reply
/// leaves through eth0 (the first route of the subnet), and an ARP
/// request of its own would carry the VIP with eth0's MAC and overwrite
/// the tap's entry (a host the box talks to first learns eth0's MAC,
/// with keepalived as with vigil; keepalived's vmac note suggests
/// `arp_announce` for that, a setting of the box, not of the instance).
fn resolved_mac(lab: &Lab, master: usize, vip: IpAddr) -> Option<String> {
    let tap = &lab.tap.ns;
    lab.nodes[master].ns.exec(&[
        "ip",
        "neigh",
        "replace",
        &lab.tap.v4.to_string(),
        "lladdr",
        &format_mac(lab.tap.mac),
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    let _ = tap.command(&["ip", "neigh", "flush", "all"]).output();
    let _ = tap
        .command(&["ping", "-c", "1", "-W", "1", &vip.to_string()])
        .output();
    let out = tap
        .command(&["ip", "-j", "neigh", "show", &vip.to_string()])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v[0]["lladdr"].as_str().map(str::to_owned)
}

#[test]
fn vigil_and_keepalived_share_a_vmac_domain() {
    let _serial = serial();
    netns::require_program(
        "keepalived",
        "install Debian's keepalived (scripts/install-deps)",
    );
    let lab = Lab::new(2);
    let (v, k) = (0usize, 1usize);
    let mut hi = peers::Instance::new(Proto::V2, 150, 1000);
    hi.use_vmac = true;
    let mut lo = peers::Instance::new(Proto::V2, 100, 1000);
    lo.use_vmac = true;
    let vip = hi.vip();

    // 1. keepalived first, then vigil preempts.
    let mut dk = start(&lab, k, Kind::Keepalived, &lo, "1");
    let at = wait_vmac_holder(&lab, k, vip, lo.master_down() + SLACK);
    eprintln!("1. keepalived master on its {VMAC} after {at:?}");
    let mut dv = start(&lab, v, Kind::Vigil, &hi, "1");
    let at = wait_vmac_holder(&lab, v, vip, hi.master_down() + SLACK);
    eprintln!("   vigil preempts on its {VMAC} after {at:?}");
    assert_eq!(lab.nodes[v].ns.mac(VMAC), VIRTUAL_MAC);

    // 2. What the LAN sees: vigil's adverts from the virtual MAC, none
    // from eth0's own MAC; the VIP resolves to the virtual MAC.
    let seen = Capture::for_duration(&lab.tap.ns, "eth0", Duration::from_millis(3500));
    let from_vigil: Vec<_> = seen
        .iter()
        .filter(|s| s.vrid == 51 && s.src == IpAddr::V4(lab.nodes[v].v4))
        .collect();
    assert!(
        from_vigil.len() >= 3,
        "vigil's adverts: {}",
        from_vigil.len()
    );
    assert!(
        from_vigil
            .iter()
            .all(|s| s.src_mac == VIRTUAL_MAC && s.priority == 150),
        "senders: {:?}",
        advert_senders(&seen, 51)
            .keys()
            .map(|m| format_mac(*m))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        resolved_mac(&lab, v, vip).as_deref(),
        Some(format_mac(VIRTUAL_MAC).as_str()),
        "the VIP resolves to the virtual MAC (node1's eth0 is {})",
        format_mac(lab.nodes[v].mac),
    );
    let st = dv.status_json();
    assert_eq!(peers::first_state(&st), "MASTER", "{st}");

    // 3. vigil stops: its vmac goes, keepalived takes over on its own.
    dv.stop();
    let at = wait_vmac_holder(&lab, k, vip, lo.master_down() + SLACK);
    eprintln!("3. vigil stopped: keepalived master after {at:?}");
    assert!(
        !link_exists(&lab.nodes[v].ns, VMAC),
        "vigil's vmac left behind"
    );

    // 4. vigil again: preempts.
    let mut dv = start(&lab, v, Kind::Vigil, &hi, "2");
    let at = wait_vmac_holder(&lab, v, vip, hi.master_down() + SLACK);
    eprintln!("4. vigil back: master after {at:?}");
    for d in [&mut dv, &mut dk] {
        assert!(d.alive(), "{} on node{} exited", d.kind.name(), d.node + 1);
        d.stop();
    }
}

fn vigil_conf(vmac: bool) -> String {
    let mut i = peers::Instance::new(Proto::V2, 150, 1000);
    i.state_master = true;
    i.use_vmac = vmac;
    i.conf("node1", "eth0")
}

fn reload(d: &peers::Daemon, conf: &str) {
    std::fs::write(&d.conf, conf).expect("write conf");
    let out = std::process::Command::new(vigil_bin())
        .args(["reload", "--control"])
        .arg(&d.control)
        .output()
        .expect("run vigil reload");
    assert!(
        out.status.success(),
        "vigil reload: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Adverts on the LAN from node 1's address, by source MAC.
fn advert_macs(lab: &Lab) -> Vec<[u8; 6]> {
    let seen = Capture::for_duration(&lab.tap.ns, "eth0", Duration::from_millis(2500));
    let mut macs: Vec<[u8; 6]> = seen
        .iter()
        .filter(|s| s.vrid == 51 && s.src == IpAddr::V4(lab.nodes[0].v4))
        .map(|s| s.src_mac)
        .collect();
    macs.dedup();
    macs
}

#[test]
fn reload_takes_the_vmac_away_and_gives_it_back_in_place() {
    let _serial = serial();
    let lab = Lab::new(1);
    let n = &lab.nodes[0];
    let vip = Proto::V2.vip();
    let d = start_vigil_with(&lab, 0, &vigil_conf(true), "vmac");
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(5));
    assert_eq!(advert_macs(&lab), [VIRTUAL_MAC]);

    // Without use_vmac: the VIP on eth0, the vmac gone, adverts from
    // eth0's MAC; the instance stays MASTER throughout.
    let before = d.status_json();
    reload(&d, &vigil_conf(false));
    let ok = wait_for(Duration::from_secs(3), Duration::from_millis(20), || {
        n.holds(vip) && !link_exists(&n.ns, VMAC)
    });
    assert!(
        ok,
        "vip on eth0 {}, vmac still there {}",
        n.holds(vip),
        link_exists(&n.ns, VMAC)
    );
    assert_eq!(advert_macs(&lab), [n.mac]);
    let st = d.status_json();
    assert_eq!(peers::first_state(&st), "MASTER", "{st}");
    let in_state = |st: &serde_json::Value| st["instances"][0]["in_state_ms"].as_u64();
    assert!(
        in_state(&st) >= in_state(&before),
        "a state change: {before}\n{st}"
    );

    // And back.
    reload(&d, &vigil_conf(true));
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(3));
    assert_eq!(advert_macs(&lab), [VIRTUAL_MAC]);
    assert_eq!(peers::first_state(&d.status_json()), "MASTER");
}

#[test]
fn hitless_restart_keeps_the_vmac_and_its_vip() {
    let _serial = serial();
    let lab = Lab::new(1);
    let n = &lab.nodes[0];
    let vip = Proto::V2.vip();
    let d = start_vigil_with(&lab, 0, &vigil_conf(true), "vmac");
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(5));
    let index = |ns: &Netns| {
        let out = ns.exec(&["ip", "-j", "link", "show", "dev", VMAC]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j link");
        v[0]["ifindex"].as_u64()
    };
    let before = index(&n.ns);
    let mut child = std::process::Command::new(vigil_bin())
        .args(["restart", "--control"])
        .arg(&d.control)
        .spawn()
        .expect("run vigil restart");
    // The VIP never leaves the vmac while the process execs itself.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(4) {
        assert!(
            link_exists(&n.ns, VMAC) && n.ns.addrs(VMAC).contains(&vip),
            "vip or vmac gone {:?} into the restart",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.wait().expect("vigil restart").success());
    assert_eq!(index(&n.ns), before, "the vmac was made again");
    d.wait_status("MASTER after the restart", Duration::from_secs(5), |v| {
        peers::first_state(v) == "MASTER"
    });
}

#[test]
fn parent_down_faults_the_instance_and_up_brings_it_back_on_the_vmac() {
    let _serial = serial();
    let lab = Lab::new(1);
    let n = &lab.nodes[0];
    let vip = Proto::V2.vip();
    let d = start_vigil_with(&lab, 0, &vigil_conf(true), "vmac");
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(5));
    n.link_down_fast();
    d.wait_status("FAULT with eth0 down", Duration::from_secs(3), |v| {
        peers::first_state(v) == "FAULT"
    });
    assert!(
        !n.ns.addrs(VMAC).contains(&vip),
        "the VIP stays on the vmac in FAULT"
    );
    n.link_up_fast();
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(6));
    assert_eq!(peers::first_state(&d.status_json()), "MASTER");
}

/// eth0's `arp_ignore` and `arp_filter` in node 1 (the settings a vmac
/// changes on its parent).
fn parent_arp(n: &netns::Node) -> (String, String) {
    let read = |k: &str| {
        let out =
            n.ns.exec(&["cat", &format!("/proc/sys/net/ipv4/conf/eth0/{k}")]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    (read("arp_ignore"), read("arp_filter"))
}

fn wait_parent_arp(n: &netns::Node, want: (&str, &str), when: &str) {
    let mut seen = parent_arp(n);
    let ok = wait_for(Duration::from_secs(3), Duration::from_millis(20), || {
        seen = parent_arp(n);
        (seen.0.as_str(), seen.1.as_str()) == want
    });
    assert!(
        ok,
        "{when}: eth0 arp_ignore, arp_filter = {seen:?}, want {want:?}"
    );
}

/// The parent's settings before the vmac come back when it goes: on a
/// reload that drops `use_vmac` and at a stop, not at a hitless restart
/// (the vmac stays, and the values found before it are still the ones
/// given back at the stop after it). keepalived 2.2.7 leaves them at 1
/// and 1 (measured by hand: its SIGTERM removes the vmac only).
#[test]
fn the_parents_arp_settings_come_back_when_the_vmac_goes() {
    let _serial = serial();
    let lab = Lab::new(1);
    let n = &lab.nodes[0];
    // Neither the kernel's default nor what the vmac sets.
    n.ns.sysctl("net.ipv4.conf.eth0.arp_ignore", "2");
    n.ns.sysctl("net.ipv4.conf.eth0.arp_filter", "0");
    let found = ("2", "0");
    wait_parent_arp(n, found, "before vigil");
    let vip = Proto::V2.vip();

    let mut d = start_vigil_with(&lab, 0, &vigil_conf(true), "vmac");
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(5));
    wait_parent_arp(n, ("1", "1"), "with the vmac");
    let ledger = d.control.with_extension("vmac-sysctls");
    let kept = std::fs::read_to_string(&ledger).expect("the ledger beside the control socket");
    assert_eq!(kept, "eth0 arp_ignore=2 arp_filter=0 vmacs vrrp.51\n");

    // A reload without use_vmac: the vmac goes, eth0 has its own back.
    reload(&d, &vigil_conf(false));
    wait_parent_arp(n, found, "after a reload without use_vmac");
    assert!(!link_exists(&n.ns, VMAC));
    assert!(!ledger.exists(), "a ledger with nothing in it is removed");

    // Back, then a hitless restart: the vmac stays, so do its settings.
    reload(&d, &vigil_conf(true));
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(3));
    wait_parent_arp(n, ("1", "1"), "with the vmac again");
    let out = std::process::Command::new(vigil_bin())
        .args(["restart", "--control"])
        .arg(&d.control)
        .output()
        .expect("run vigil restart");
    assert!(out.status.success(), "{out:?}");
    d.wait_status("MASTER after the restart", Duration::from_secs(5), |v| {
        peers::first_state(v) == "MASTER"
    });
    assert_eq!(parent_arp(n), ("1".into(), "1".into()), "after the restart");

    // The stop of the new image gives back what the old one found.
    d.stop();
    assert!(!link_exists(&n.ns, VMAC));
    wait_parent_arp(n, found, "after the stop");
    assert!(!ledger.exists());
}
