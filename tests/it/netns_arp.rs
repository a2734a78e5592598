//! ARP on a DR LAN in network namespaces: `vigil doctor` and the
//! ARP-theft watch.
//!
//! node1 runs vigil MASTER (priority 150) and node3 vigil BACKUP (100) of
//! VI_1 (VIP 192.168.1.200, VRRPv3 at 100 ms); node2 is a DR real server
//! holding the VIP on `lo`. (a) With node2's `arp_ignore=0`, `vigil doctor`
//! on node1 names node2 (by address and MAC) as answering ARP for the VIP
//! and exits 1; with `arp_ignore=1` and `arp_announce=2` it says node2 is
//! fine and exits 0. (b) node2 sends a gratuitous ARP for the VIP: the
//! MASTER logs it (instance, VIP, MAC), counts it in `vigil status`, and
//! a gratuitous ARP for the VIP from its own MAC reaches the LAN within a
//! second, and `notify_arp_theft` runs with instance, VIP and MAC; the
//! BACKUP neither counts nor answers. Only a MASTER holds the watch's
//! packet socket (counted in /proc/net/packet): when a commit makes node1
//! give way, its watch closes and node3's opens.
//! Needs root and iproute2.

use crate::support::{netns, peers};

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::{Duration, Instant};

use netns::{format_mac, serial, Lab, PacketSocket};
use peers::{start_vigil_with, vigil_bin, Daemon};
use vigil::net::arp::{self, Kind};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
const VIRTUAL_MAC: [u8; 6] = [0, 0, 0x5e, 0, 1, 51];

/// `theft` is the `notify_arp_theft` script.
fn conf(priority: u8, theft: &std::path::Path) -> String {
    let theft = theft.display();
    format!(
        "global_defs {{\n    router_id n{priority}\n}}\n\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 0.1\n    version 3\n    garp_master_delay 0\n    \
         notify_arp_theft {theft}\n    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\n\
         virtual_server {VIP} 80 {{\n    lvs_method DR\n    protocol TCP\n    \
         real_server 192.168.1.2 80 {{\n    }}\n}}\n"
    )
}

/// `vigil doctor` on `d`'s node, with its config and control socket.
fn doctor(lab: &Lab, d: &Daemon) -> Output {
    let bin = vigil_bin();
    let conf = d.conf.to_str().expect("utf-8 path");
    let control = d.control.to_str().expect("utf-8 path");
    let argv = [bin.to_str().expect("utf-8"), "doctor", "--config", conf];
    let out = lab.nodes[d.node]
        .ns
        .command(&argv)
        .args(["--control", control])
        .output()
        .expect("run vigil doctor");
    eprintln!(
        "doctor on node{}:\n{}{}",
        d.node + 1,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Packet sockets for ARP (protocol 0806) open in node `i`'s namespace.
fn arp_sockets(lab: &Lab, i: usize) -> usize {
    let out = lab.nodes[i].ns.exec(&["cat", "/proc/net/packet"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(3) == Some("0806"))
        .count()
}

/// Whether node `i` comes to hold `n` ARP packet sockets within 3 s. A new
/// MASTER opens its watch on a blocking thread once its VIPs are up, so
/// the watch may come a moment after the VIP does.
fn arp_sockets_become(lab: &Lab, i: usize, n: usize) -> bool {
    netns::wait_for(Duration::from_secs(3), Duration::from_millis(20), || {
        arp_sockets(lab, i) == n
    })
}

fn arp_theft(d: &Daemon) -> u64 {
    d.status_json()["instances"][0]["arp_theft"]
        .as_u64()
        .expect("arp_theft in the status")
}

/// Gratuitous ARPs for the VIP seen on `sock` until `until`, by sender
/// MAC, with the time each was seen.
fn announcements(sock: &PacketSocket, until: Instant) -> Vec<([u8; 6], Instant)> {
    let mut buf = [0u8; 2048];
    let mut out = Vec::new();
    while Instant::now() < until {
        let Some((n, _)) = sock.recv(&mut buf) else {
            continue;
        };
        if let Ok(f) = arp::decode(&buf[..n]) {
            if f.arp.sender_ip == VIP
                && matches!(
                    f.arp.kind(),
                    Kind::GratuitousRequest | Kind::GratuitousReply
                )
            {
                out.push((f.arp.sender_mac, Instant::now()));
            }
        }
    }
    out
}

#[test]
fn doctor_names_the_real_server_answering_for_the_vip_and_the_master_reasserts_a_stolen_vip() {
    let _serial = serial();
    let lab = Lab::new(3);
    let (m, r, b) = (0usize, 1usize, 2usize);
    let real = &lab.nodes[r];
    real.ns
        .exec(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
    for k in ["all", "eth0"] {
        real.ns
            .sysctl(&format!("net.ipv4.conf.{k}.arp_ignore"), "0");
        real.ns
            .sysctl(&format!("net.ipv4.conf.{k}.arp_announce"), "0");
    }

    // The theft script appends its arguments to theft.log.
    let script = lab.path("theft.sh");
    let theft_log = lab.path("theft.log");
    let body = format!("#!/bin/sh\necho \"$@\" >> {}\n", theft_log.display());
    std::fs::write(&script, body).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let master = start_vigil_with(&lab, m, &conf(150, &script), "master");
    let backup = start_vigil_with(&lab, b, &conf(100, &script), "backup");
    let took = lab.wait_sole_holder(m, IpAddr::V4(VIP), Duration::from_secs(5));
    eprintln!("node1 MASTER after {took:?}");
    // Each box has its gratuitous-ARP socket; only the MASTER watches.
    assert!(
        arp_sockets_become(&lab, m, 2),
        "the MASTER's: gratuitous ARP and the watch ({} sockets)",
        arp_sockets(&lab, m)
    );
    assert!(
        arp_sockets_become(&lab, b, 1),
        "the BACKUP's: gratuitous ARP only ({} sockets)",
        arp_sockets(&lab, b)
    );

    // (a) arp_ignore=0: named, exit 1.
    let out = doctor(&lab, &master);
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!(
        "real server 192.168.1.2 ({}) answers ARP for the VIP {VIP}: on it, sysctl net.ipv4.conf.all.arp_ignore=1",
        format_mac(real.mac)
    );
    assert!(text.contains(&want), "want {want:?} in:\n{text}");
    assert_eq!(out.status.code(), Some(1), "findings exit 1");

    // arp_ignore=1 / arp_announce=2: fine, exit 0.
    real.ns.sysctl("net.ipv4.conf.all.arp_ignore", "1");
    real.ns.sysctl("net.ipv4.conf.all.arp_announce", "2");
    // On the MASTER, and on the BACKUP (where the master's own MAC
    // answers for the VIP, as it should: the daemon says who is master).
    for d in [&master, &backup] {
        let out = doctor(&lab, d);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            "real server 192.168.1.2: answers at L2, does not answer ARP for the VIP"
        );
        assert_eq!(out.status.code(), Some(0), "nothing to fix exits 0");
    }

    // (b) The real server announces the VIP as its own.
    let (before_m, before_b) = (arp_theft(&master), arp_theft(&backup));
    assert_eq!(before_b, 0, "a BACKUP counts nothing");
    let tap = PacketSocket::open(&lab.tap.ns, "eth0");
    // Let any reassertion of the doctor's replies (one a second) pass.
    std::thread::sleep(Duration::from_millis(1100));
    let _ = announcements(&tap, Instant::now() + Duration::from_millis(50));
    let thief = PacketSocket::open(&real.ns, "eth0");
    let sent = Instant::now();
    thief.send(&arp::announcement(real.mac, VIP).to_bytes());
    let seen = announcements(&tap, sent + Duration::from_millis(1500));
    let senders: Vec<String> = seen.iter().map(|(m, _)| format_mac(*m)).collect();
    eprintln!("gratuitous ARPs for the VIP after the theft: {senders:?}");
    let answer = seen
        .iter()
        .find(|(mac, _)| *mac == lab.nodes[m].mac || *mac == VIRTUAL_MAC);
    let Some((_, at)) = answer else {
        panic!(
            "no gratuitous ARP from the MASTER after the theft: {senders:?}\n{}",
            master.proc.log_tail(20)
        );
    };
    let after = at.duration_since(sent);
    eprintln!("MASTER re-asserted the VIP {after:?} after the theft");
    assert!(
        after < Duration::from_secs(1),
        "re-asserted after {after:?}"
    );
    assert!(
        !seen.iter().any(|(mac, _)| *mac == lab.nodes[b].mac),
        "the BACKUP announced the VIP: {senders:?}"
    );
    master.wait_status("the theft counted", Duration::from_secs(2), |v| {
        v["instances"][0]["arp_theft"].as_u64() > Some(before_m)
    });
    assert_eq!(arp_theft(&backup), 0, "a BACKUP counts nothing");
    let log = std::fs::read_to_string(master.proc.log()).expect("master log");
    let mac = format_mac(real.mac);
    assert!(
        log.lines().any(|l| l.contains("arp theft")
            && l.contains("instance=VI_1")
            && l.contains(&format!("vip={VIP}"))
            && l.contains(&format!("mac={mac}"))
            && l.contains("interface=eth0")),
        "no arp theft line naming VI_1, {VIP}, {mac}, eth0:\n{}",
        master.proc.log_tail(20)
    );
    // notify_arp_theft ran with instance, VIP and MAC (only the MASTER's:
    // the BACKUP shares the script and the log).
    let line = format!("VI_1 {VIP} {mac}");
    let ran = netns::wait_for(Duration::from_secs(2), Duration::from_millis(20), || {
        std::fs::read_to_string(&theft_log).is_ok_and(|t| t.lines().any(|l| l == line))
    });
    let logged = std::fs::read_to_string(&theft_log).unwrap_or_default();
    assert!(
        ran,
        "notify_arp_theft did not run with {line:?}: {logged:?}"
    );
    let text = String::from_utf8_lossy(
        &std::process::Command::new(vigil_bin())
            .args(["status", "--control"])
            .arg(&master.control)
            .output()
            .expect("vigil status")
            .stdout,
    )
    .into_owned();
    assert!(
        text.contains("arp theft: another MAC claimed a VIP"),
        "{text}"
    );

    // The MASTER gives way (a commit lowers its priority; the BACKUP
    // preempts): its watch closes.
    master.reload_with(&conf(50, &script));
    lab.wait_sole_holder(b, IpAddr::V4(VIP), Duration::from_secs(5));
    assert!(
        arp_sockets_become(&lab, m, 1),
        "the watch of node1, now BACKUP, is still open"
    );
    assert!(
        arp_sockets_become(&lab, b, 2),
        "node3, now MASTER, watches ({} sockets)",
        arp_sockets(&lab, b)
    );
}
