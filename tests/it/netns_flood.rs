//! A flood of junk VRRP on the segment of a running 50 ms VRRPv3 pair
//! (issue 14, item 5): vigil MASTER (priority 150) and vigil BACKUP (100)
//! in two namespaces, a third (the tap) writing junk protocol-112 frames
//! as fast as one AF_PACKET sender in a namespace can for a bounded time:
//! TTL 64, bad checksums, truncated, wrong address count, VRRP version 4,
//! packet type 2, the wrong VRID, VRRPv2 to a v3 instance; each claiming
//! priority 0 from the master's own address, which the backup would act
//! on (take over) were any of them accepted.
//!
//! Asserted: the backup never takes the VIP; the master's worst gap
//! between adverts, captured on its own interface (outgoing frames only,
//! through a BPF filter, so the flood cannot hide them), stays under twice
//! the interval; the backup's receive socket counts every junk frame
//! under its own reason, never more than were sent of that kind, and what
//! it counted plus what the kernel dropped before it (its socket buffer:
//! `kernel_dropped`; the interface's backlog: `rx_dropped`) is all that
//! was sent. 8 s at 10,000 frames a second in `make test`; 30 s at full
//! rate (`#[ignore]`d) in `make soak-flood`.
//! Needs root and iproute2.

use crate::netns_hostile::{cases, good_advert, Case};
use crate::support::{netns, peers};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netns::{eth_ipv4, serial, Capture, Lab, Netns, PacketSocket};
use peers::{start, Instance, Kind, Proto};

const ADVERT_MS: u32 = 50;

/// The junk cases and how many of each the tap wrote.
struct Sent {
    cases: Vec<Case>,
    counts: Vec<u64>,
    took: Duration,
}

/// Writes every case in turn until `stop`: at `rate` frames a second, or
/// as fast as the socket takes them.
fn flood(
    tap: PacketSocket,
    cases: Vec<Case>,
    mac: [u8; 6],
    stop: Arc<AtomicBool>,
    rate: Option<u32>,
) -> Sent {
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| eth_ipv4(mac, &c.packet)).collect();
    let mut counts = vec![0u64; frames.len()];
    let round = rate.map(|r| Duration::from_secs(frames.len() as u64) / r);
    let t0 = Instant::now();
    let mut next = t0;
    while !stop.load(Ordering::Relaxed) {
        for (f, n) in frames.iter().zip(counts.iter_mut()) {
            if tap.try_send(f) {
                *n += 1;
            }
        }
        if let Some(round) = round {
            next += round;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }
    Sent {
        cases,
        counts,
        took: t0.elapsed(),
    }
}

/// The interface's count of frames it dropped on receive (its backlog).
fn rx_dropped(ns: &Netns) -> u64 {
    let out = ns.exec(&["cat", "/sys/class/net/eth0/statistics/rx_dropped"]);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn counter(receiver: &serde_json::Value, key: &str) -> u64 {
    receiver["drops"][key].as_u64().unwrap_or(0)
}

fn flood_for(dur: Duration, rate: Option<u32>) {
    let _serial = serial();
    let lab = Lab::new(2);
    let mut hi = Instance::new(Proto::V3v4, 150, ADVERT_MS);
    hi.state_master = true;
    let lo = Instance::new(Proto::V3v4, 100, ADVERT_MS);
    let vip = hi.vip();
    let master = start(&lab, 0, Kind::Vigil, &hi, "m");
    master.wait_ready(Duration::from_secs(5));
    lab.wait_sole_holder(0, vip, hi.master_down() + Duration::from_secs(3));
    let backup = start(&lab, 1, Kind::Vigil, &lo, "b");
    backup.wait_ready(Duration::from_secs(5));
    std::thread::sleep(lo.master_down());
    lab.wait_sole_holder(0, vip, Duration::from_secs(1));

    let before = backup.status_json();
    let drop0 = rx_dropped(&lab.nodes[1].ns);
    let cap = Capture::outgoing(&lab.nodes[0].ns, "eth0");
    std::thread::sleep(Duration::from_millis(200));

    let junk = cases(good_advert(&hi), 0, lab.nodes[0].v4);
    let stop = Arc::new(AtomicBool::new(false));
    let tap = PacketSocket::open(&lab.tap.ns, "eth0");
    let (mac, flag) = (lab.tap.mac, stop.clone());
    let sender = std::thread::spawn(move || flood(tap, junk, mac, flag, rate));
    let t0 = Instant::now();
    let mut holders_changed = None;
    while t0.elapsed() < dur {
        let h = lab.holders(vip);
        if h != [0] && holders_changed.is_none() {
            holders_changed = Some((t0.elapsed(), h));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().expect("flood thread");
    // Let the sockets drain and the counters settle.
    std::thread::sleep(Duration::from_millis(500));
    let seen = cap.stop();
    let after = backup.status_json();
    let dropped_if = rx_dropped(&lab.nodes[1].ns) - drop0;

    let mut at: Vec<Instant> = seen
        .iter()
        .filter(|s| s.vrid == hi.vrid && s.outgoing)
        .map(|s| s.at)
        .collect();
    at.sort();
    let worst_gap = at.windows(2).map(|w| w[1] - w[0]).max();

    let r0 = &before["receivers"][0];
    let r1 = &after["receivers"][0];
    let kernel =
        r1["kernel_dropped"].as_u64().unwrap_or(0) - r0["kernel_dropped"].as_u64().unwrap_or(0);
    let total_sent: u64 = sent.counts.iter().sum();
    let secs = sent.took.as_secs_f64();
    eprintln!(
        "flood: {total_sent} junk frames in {:.1} s ({:.0}/s); backup's socket: kernel_dropped +{kernel}, \
         interface rx_dropped +{dropped_if}; master's adverts {} (worst gap {worst_gap:?})",
        secs,
        total_sent as f64 / secs,
        at.len()
    );
    let mut failures = Vec::new();
    let mut counted_total = 0;
    // Cases of one reason share a counter: compare per reason.
    let mut reasons: Vec<&str> = sent.cases.iter().map(|c| c.counter).collect();
    reasons.sort_unstable();
    reasons.dedup();
    for reason in reasons {
        let sent_n: u64 = (sent.cases.iter().zip(&sent.counts))
            .filter(|(c, _)| c.counter == reason)
            .map(|(_, n)| n)
            .sum();
        let got = counter(r1, reason) - counter(r0, reason);
        counted_total += got;
        eprintln!("  {reason:<24} sent {sent_n:>9} counted {got:>9}");
        if got > sent_n {
            failures.push(format!(
                "{reason}: counted {got}, more than the {sent_n} sent"
            ));
        }
    }
    let all_drops = |r: &serde_json::Value| -> u64 {
        r["drops"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum())
    };
    let other = all_drops(r1) - all_drops(r0) - counted_total;
    if counted_total + kernel + dropped_if < total_sent {
        failures.push(format!(
            "{total_sent} sent but only {counted_total} counted + {kernel} dropped by the socket buffer \
             + {dropped_if} by the interface"
        ));
    }
    if other != 0 {
        failures.push(format!("{other} drops under reasons no junk case has"));
    }
    if r1["queue_full"].as_u64().unwrap_or(0) != 0 {
        failures.push(format!("adverts lost to a full instance queue: {r1}"));
    }
    if let Some((t, h)) = holders_changed {
        failures.push(format!("VIP holders became {h:?} after {t:?} of flood"));
    }
    let limit = hi.advert() * 2;
    match worst_gap {
        Some(g) if g < limit => {}
        g => failures.push(format!(
            "master's worst advert gap {g:?} over {} adverts (want under {limit:?})",
            at.len()
        )),
    }
    assert_eq!(
        peers::first_state(&after),
        "BACKUP",
        "the backup left BACKUP: {after}"
    );
    assert!(
        failures.is_empty(),
        "under the flood:\n{}\nbackup status {after}",
        failures.join("\n")
    );
}

/// 10,000 junk frames a second: the sender then takes a fraction of a
/// core, so on a two-core machine the pair's own timing is what is
/// measured, not the scheduler's share among three busy processes.
#[test]
fn a_junk_flood_of_10_000_a_second_for_8_s_moves_nothing_and_is_counted() {
    flood_for(Duration::from_secs(8), Some(10_000));
}

/// As fast as one sender can (40,000-50,000 frames a second here).
#[test]
#[ignore = "30 s of flood: make soak-flood"]
fn a_junk_flood_at_full_rate_for_30_s_moves_nothing_and_is_counted() {
    flood_for(Duration::from_secs(30), None);
}
