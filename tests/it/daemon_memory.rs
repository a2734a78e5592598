//! The daemon's resident memory around a big status. `vigil status` of a
//! table of 30,000 destinations builds some 6 MB of rows and a frame
//! beside them, freed among allocations that live on, which the heap
//! cannot give back by itself; the daemon trims once it has answered
//! (`mem::status_was_peak`), so asking for the status does not grow it
//! for good (in the lab VM at 100,000 destinations, one `vigil status`
//! took a daemon from 61 to 87 MiB resident, and it stayed there).
//!
//! The host has no ip_vs: the rows are the config's, none in the kernel,
//! which makes a status of the same size.
//!
//! Needs root and iproute2.

use crate::support::{netns, peers};

use std::time::{Duration, Instant};

use peers::start_vigil_with;

const SERVICES: usize = 300;
const REALS: usize = 100;

/// `SERVICES` DR services of `REALS` real servers each, no checkers.
fn conf() -> String {
    let mut out = String::new();
    for s in 0..SERVICES {
        out += &format!(
            "virtual_server 10.10.{}.{} 80 {{\n  lvs_sched wlc\n  lvs_method DR\n  protocol TCP\n",
            s / 250,
            s % 250 + 1
        );
        for r in 0..REALS {
            out += &format!(
                "  real_server 10.{}.{}.{} 80 {{\n  }}\n",
                20 + s / 256,
                s % 256,
                r + 1
            );
        }
        out += "}\n";
    }
    out
}

/// The daemon's resident set, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:"));
    let kib = line.and_then(|l| l.split_whitespace().nth(1));
    kib.and_then(|k| k.parse().ok()).expect("VmRSS in KiB")
}

#[test]
fn a_big_status_leaves_no_lasting_heap() {
    // No VRRP and nothing timed but a generous bound: it may share.
    let _g = netns::shared_v2();
    let lab = netns::Lab::new(1);
    let d = start_vigil_with(&lab, 0, &conf(), "mem");
    // Not asked for a status before it is ready (no ip_vs: at its
    // bound) and has trimmed the start's heap.
    let t0 = Instant::now();
    while !std::fs::read_to_string(d.proc.log())
        .unwrap_or_default()
        .contains("ready")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "not ready: {}",
            d.proc.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = rss_kib(d.proc.pid());
    for _ in 0..3 {
        let v = d.status_json();
        let rows: usize = (v["ipvs"]["services"].as_array().expect("services").iter())
            .map(|s| s["dests"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(
            rows,
            SERVICES * REALS,
            "every configured destination is a row"
        );
    }
    // The trim runs once the answer is written: give it a moment.
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(d.proc.pid());
    let grown = after.saturating_sub(before);
    assert!(
        grown < 3 * 1024,
        "{before} KiB before three statuses, {after} KiB after: the status's heap was kept"
    );
    eprintln!("resident: {before} KiB before three statuses, {after} KiB after");
}
