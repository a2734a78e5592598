//! `use_vmac` in network namespaces: vigil and Debian's keepalived 2.2.7
//! both with a vmac (`vrrp.51`, MAC 00:00:5e:00:01:33) in one VRRP domain
//! (VRID 51, VRRPv2, PASS auth), and vigil alone reloading the vmac away
//! and back.
//!
//! Interop: vigil (priority 150) preempts keepalived (100); vigil's
//! adverts, seen on the LAN, carry the virtual MAC as source; the VIP is
//! on vigil's vmac, not on eth0, and a host on the LAN resolves it to the
//! virtual MAC; vigil stops (its vmac goes), keepalived takes over on its
//! own vmac; vigil comes back and preempts again. With `vmac_xmit_base`
//! on both, adverts leave from each box's own MAC and address and are
//! received on the parent; an IPv6 (VRRPv3) vmac sends its adverts from
//! the virtual MAC 00:00:5e:00:02:33 and the parent's link-local, and its
//! neighbour advertisements from the virtual MAC, as keepalived's does.
//! The parent's ARP settings come back when the vmac goes.
//! Needs root, iproute2, ping and keepalived (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use netns::{advert_senders, format_mac, wait_for, Capture, Lab, Netns, PacketSocket};
use peers::{start, start_vigil_with, vigil_bin, Kind, Proto};

const VMAC: &str = "vrrp.51";
const VIRTUAL_MAC: [u8; 6] = [0, 0, 0x5e, 0, 1, 51];
/// VRID 51's IPv6 virtual MAC (RFC 5798 section 7.3).
const VIRTUAL_MAC6: [u8; 6] = [0, 0, 0x5e, 0, 2, 51];
const SLACK: Duration = Duration::from_secs(4);

fn link_exists(ns: &Netns, name: &str) -> bool {
    ns.command(&["ip", "link", "show", "dev", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The namespace test's turn for this module's instances: `proto` at
/// whole-second adverts (VRRPv2 shares it with one other such test, the
/// IPv6 vmac's VRRPv3 runs alone).
fn turn(proto: Proto) -> netns::Turn {
    peers::turn(proto, 1000)
}

/// [`turn`] for a test that runs keepalived 2.2.7 too.
fn turn_with_keepalived(proto: Proto) -> netns::Turn {
    netns::require_program(
        "keepalived",
        "install Debian's keepalived (scripts/install-deps)",
    );
    turn(proto)
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
    let _turn = turn_with_keepalived(Proto::V2);
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
    let _turn = turn(Proto::V2);
    let lab = Lab::new(1);
    let n = &lab.nodes[0];
    let vip = Proto::V2.vip();
    let d = start_vigil_with(&lab, 0, &vigil_conf(true), "vmac");
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(5));
    assert_eq!(advert_macs(&lab), [VIRTUAL_MAC]);

    // Without use_vmac: the VIP on eth0, the vmac gone, adverts from
    // eth0's MAC; the instance stays MASTER throughout.
    let before = d.status_json();
    d.reload_with(&vigil_conf(false));
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
    d.reload_with(&vigil_conf(true));
    wait_vmac_holder(&lab, 0, vip, Duration::from_secs(3));
    assert_eq!(advert_macs(&lab), [VIRTUAL_MAC]);
    assert_eq!(peers::first_state(&d.status_json()), "MASTER");
}

#[test]
fn hitless_restart_keeps_the_vmac_and_its_vip() {
    let _turn = turn(Proto::V2);
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
    let _turn = turn(Proto::V2);
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
    let _turn = turn(Proto::V2);
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
    d.reload_with(&vigil_conf(false));
    wait_parent_arp(n, found, "after a reload without use_vmac");
    assert!(!link_exists(&n.ns, VMAC));
    assert!(!ledger.exists(), "a ledger with nothing in it is removed");

    // Back, then a hitless restart: the vmac stays, so do its settings.
    d.reload_with(&vigil_conf(true));
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

/// Every frame the tap sees on the LAN, captured in the background from
/// now for `dur`.
struct Frames(std::thread::JoinHandle<Vec<Vec<u8>>>);

impl Frames {
    fn start(lab: &Lab, dur: Duration) -> Self {
        let sock = PacketSocket::open(&lab.tap.ns, "eth0");
        Frames(std::thread::spawn(move || {
            let (t0, mut out, mut buf) = (Instant::now(), Vec::new(), [0u8; 2048]);
            while t0.elapsed() < dur {
                if let Some((n, _)) = sock.recv(&mut buf) {
                    out.push(buf[..n].to_vec());
                }
            }
            out
        }))
    }

    fn wait(self) -> Vec<Vec<u8>> {
        self.0.join().expect("capture thread")
    }
}

/// VRID 51's adverts among `frames`.
fn adverts_51(frames: &[Vec<u8>]) -> Vec<netns::Seen> {
    (frames.iter())
        .filter_map(|f| netns::parse_vrrp_frame(f, Instant::now(), false))
        .filter(|s| s.vrid == 51)
        .collect()
}

/// An ICMPv6 neighbour advertisement (no extension headers): its source
/// MAC, target and target link-layer address option, if any.
fn neighbour_advert(f: &[u8]) -> Option<([u8; 6], Ipv6Addr, Option<[u8; 6]>)> {
    let ip = f.get(14..)?;
    if f.get(12..14)? != [0x86, 0xdd] || *ip.get(6)? != 58 {
        return None;
    }
    let icmp = ip.get(40..)?;
    if *icmp.first()? != 136 {
        return None;
    }
    let target: [u8; 16] = icmp.get(8..24)?.try_into().ok()?;
    let tll = match icmp.get(24..32) {
        Some(&[2, 1, a, b, c, d, e, g]) => Some([a, b, c, d, e, g]),
        _ => None,
    };
    Some((f[6..12].try_into().ok()?, Ipv6Addr::from(target), tll))
}

/// A gratuitous ARP: its source MAC, sender MAC and address (sender and
/// target address the same).
fn gratuitous_arp(f: &[u8]) -> Option<([u8; 6], [u8; 6], Ipv4Addr)> {
    let arp = f.get(14..42)?;
    if f.get(12..14)? != [0x08, 0x06] || arp[14..18] != arp[24..28] {
        return None;
    }
    let spa: [u8; 4] = arp[14..18].try_into().ok()?;
    let src = f[6..12].try_into().ok()?;
    Some((src, arp[8..14].try_into().ok()?, Ipv4Addr::from(spa)))
}

/// What the LAN sees of a lone VRRPv3 IPv6 master with `use_vmac`, run by
/// `kind`: the VIP on the vmac (MAC 00:00:5e:00:02:33), adverts from the
/// virtual MAC and eth0's link-local, neighbour advertisements for the
/// VIP from the virtual MAC (and naming it).
fn ipv6_vmac_master(kind: Kind) {
    let lab = Lab::new(1);
    let n = &lab.nodes[0];
    let mut inst = peers::Instance::new(Proto::V3v6, 150, 1000);
    inst.use_vmac = true;
    let vip = inst.vip();
    let cap = Frames::start(&lab, inst.master_down() + Duration::from_secs(4));
    let mut d = start(&lab, 0, kind, &inst, "v6");
    let at = wait_vmac_holder(&lab, 0, vip, inst.master_down() + SLACK);
    eprintln!("{}: IPv6 master on {VMAC} after {at:?}", kind.name());
    assert_eq!(n.ns.mac(VMAC), VIRTUAL_MAC6, "{}", kind.name());
    let frames = cap.wait();
    assert!(d.alive(), "{} exited", kind.name());
    d.stop();
    let link_local = (n.ns.addrs("eth0").into_iter())
        .find(|a| matches!(a, IpAddr::V6(v) if v.segments()[0] == 0xfe80))
        .expect("eth0's link-local");
    let adverts = adverts_51(&frames);
    assert!(adverts.len() >= 2, "{}: {adverts:?}", kind.name());
    for s in &adverts {
        assert!(
            s.src_mac == VIRTUAL_MAC6 && s.src == link_local && s.version == 3,
            "{}: advert from {} {} v{}, want {} {link_local} v3",
            kind.name(),
            format_mac(s.src_mac),
            s.src,
            s.version,
            format_mac(VIRTUAL_MAC6)
        );
    }
    let nas: Vec<_> = (frames.iter())
        .filter_map(|f| neighbour_advert(f))
        .filter(|(_, target, _)| IpAddr::V6(*target) == vip)
        .collect();
    assert!(
        !nas.is_empty(),
        "{}: no neighbour advertisement for {vip}",
        kind.name()
    );
    for (mac, _, tll) in &nas {
        assert!(
            *mac == VIRTUAL_MAC6 && tll.is_none_or(|t| t == VIRTUAL_MAC6),
            "{}: NA for {vip} from {} naming {:?}",
            kind.name(),
            format_mac(*mac),
            tll.map(format_mac)
        );
    }
    eprintln!(
        "   {} adverts, {} NAs, all from {}",
        adverts.len(),
        nas.len(),
        format_mac(VIRTUAL_MAC6)
    );
}

/// keepalived 2.2.7 first (the baseline the same checks hold it to), then
/// vigil.
#[test]
fn an_ipv6_vmac_sends_adverts_and_neighbour_advertisements_from_the_virtual_mac() {
    let _turn = turn_with_keepalived(Proto::V3v6);
    for kind in [Kind::Keepalived, Kind::Vigil] {
        ipv6_vmac_master(kind);
    }
}

/// `vmac_xmit_base` on both boxes of a pair: keepalived 2.2.7 (150) is
/// MASTER and vigil (100) stays BACKUP, so vigil receives its adverts on
/// the parent; both send adverts from their eth0's MAC and address, and
/// the gratuitous ARPs for the VIP (on the vmac) from the virtual MAC.
#[test]
fn vmac_xmit_base_adverts_leave_from_the_parent_as_keepalived_sends_them() {
    let _turn = turn_with_keepalived(Proto::V2);
    let lab = Lab::new(2);
    let (v, k) = (0usize, 1usize);
    let instance = |priority| {
        let mut i = peers::Instance::new(Proto::V2, priority, 1000);
        i.use_vmac = true;
        i.vmac_xmit_base = true;
        i
    };
    let (lo, hi) = (instance(100), instance(150));
    let vip = hi.vip();
    let sent_from = |frames: &[Vec<u8>], node: usize| {
        let (mac, addr) = (lab.nodes[node].mac, IpAddr::V4(lab.nodes[node].v4));
        // The node's own (a stopping peer's priority-0 advert is in
        // the capture too), each from its eth0's MAC.
        let mut adverts = adverts_51(frames);
        adverts.retain(|s| s.src == addr);
        let garps: Vec<_> = (frames.iter())
            .filter_map(|f| gratuitous_arp(f))
            .filter(|(_, _, ip)| IpAddr::V4(*ip) == vip)
            .collect();
        assert!(!adverts.is_empty(), "node{}: no advert", node + 1);
        for s in &adverts {
            assert_eq!(
                s.src_mac,
                mac,
                "node{}'s advert from {}",
                node + 1,
                format_mac(s.src_mac)
            );
        }
        for (src, sender, _) in &garps {
            assert_eq!(
                (*src, *sender),
                (VIRTUAL_MAC, VIRTUAL_MAC),
                "node{}'s gratuitous ARP",
                node + 1
            );
        }
        (adverts.len(), garps.len())
    };

    // 1. keepalived MASTER; vigil, lower, stays BACKUP: it hears the
    // adverts on eth0.
    let cap = Frames::start(&lab, hi.master_down() + Duration::from_secs(3));
    let mut dk = start(&lab, k, Kind::Keepalived, &hi, "1");
    wait_vmac_holder(&lab, k, vip, hi.master_down() + SLACK);
    let (adverts, garps) = sent_from(&cap.wait(), k);
    eprintln!("1. keepalived: {adverts} adverts from its eth0, {garps} GARPs from the vmac");
    assert!(garps >= 1, "keepalived sent no gratuitous ARP");
    let mut dv = start(&lab, v, Kind::Vigil, &lo, "1");
    dv.wait_ready(Duration::from_secs(10));
    dv.wait_status("BACKUP", lo.master_down() + SLACK, |s| {
        peers::first_state(s) == "BACKUP"
    });
    std::thread::sleep(lo.master_down() + Duration::from_secs(1));
    assert_eq!(peers::first_state(&dv.status_json()), "BACKUP");
    assert!(link_exists(&lab.nodes[v].ns, VMAC), "vigil's vmac");
    wait_vmac_holder(&lab, k, vip, Duration::from_secs(1));

    // 2. keepalived stops: vigil takes over, sending as keepalived did.
    let cap = Frames::start(&lab, lo.master_down() + Duration::from_secs(4));
    dk.stop();
    let at = wait_vmac_holder(&lab, v, vip, lo.master_down() + SLACK);
    let (adverts, garps) = sent_from(&cap.wait(), v);
    eprintln!("2. vigil master after {at:?}: {adverts} adverts from its eth0, {garps} GARPs from the vmac");
    assert!(garps >= 1, "vigil sent no gratuitous ARP");
    assert!(dv.alive(), "vigil exited");
    dv.stop();
}

/// `rp_filter` of `on` in node 1.
fn rp_filter(n: &netns::Node, on: &str) -> String {
    let path = format!("/proc/sys/net/ipv4/conf/{on}/rp_filter");
    let out = n.ns.exec(&["cat", &path]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// With a strict `all.rp_filter` (RHEL's default), the kernel would drop
/// the adverts the vmac receives (their source is reached by eth0):
/// vigil, as keepalived 2.2.7 does (measured: all 1 -> 0, default and
/// each interface raised to 1, lo and the vmac left, all back at the
/// stop), moves `all`'s value onto the interfaces while it has an IPv4
/// vmac. Without that, vigil (100) became a second MASTER beside
/// keepalived (150).
#[test]
fn a_strict_all_rp_filter_is_moved_to_the_interfaces_while_there_is_a_vmac() {
    let _turn = turn_with_keepalived(Proto::V2);
    let lab = Lab::new(2);
    for n in &lab.nodes {
        n.ns.sysctl("net.ipv4.conf.all.rp_filter", "1");
    }
    let n = &lab.nodes[0];
    let before = ["all", "default", "eth0", "lo"].map(|on| rp_filter(n, on));
    assert_eq!(before, ["1", "0", "0", "0"]);
    let mut hi = peers::Instance::new(Proto::V2, 150, 1000);
    hi.use_vmac = true;
    let mut lo = hi.clone();
    lo.priority = 100;
    let vip = hi.vip();
    let mut dk = start(&lab, 1, Kind::Keepalived, &hi, "1");
    wait_vmac_holder(&lab, 1, vip, hi.master_down() + SLACK);
    let mut dv = start(&lab, 0, Kind::Vigil, &lo, "1");
    dv.wait_ready(Duration::from_secs(10));
    std::thread::sleep(lo.master_down() + Duration::from_secs(1));
    assert_eq!(peers::first_state(&dv.status_json()), "BACKUP");
    wait_vmac_holder(&lab, 1, vip, Duration::from_secs(1));
    let during = ["all", "default", "eth0", "lo", VMAC].map(|on| rp_filter(n, on));
    assert_eq!(during, ["0", "1", "1", "0", "0"]);
    dv.stop();
    let after = ["all", "default", "eth0", "lo"].map(|on| rp_filter(n, on));
    assert_eq!(after, before, "all, default, eth0, lo after the stop");
    dk.stop();
}
