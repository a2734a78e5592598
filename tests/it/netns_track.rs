//! `track_script` interop in network namespaces: vigil and Debian's
//! keepalived 2.2.7 in one VRRP domain (VRID 51, VRRPv2, PASS auth), the
//! higher-priority node tracking a script that checks a file.
//!
//! H (priority 150) tracks `chk_file` (`/usr/bin/test -e FILE`, every
//! second) with weight -100; L has priority 100.
//!   1. Both run, the file exists: H is master.
//!   2. The test removes the file: H's script fails, its priority drops to
//!      50 (below L's), and L takes over (once H's next advert carries 50,
//!      L's master-down timer runs out).
//!   3. The file comes back: H's priority is 150 again and H preempts.
//!
//! Run with H = vigil (keepalived peer) and H = keepalived (vigil peer).
//! Needs root, iproute2 and keepalived (scripts/install-deps).

use crate::support::{netns, peers};

use std::time::{Duration, Instant};

use netns::{serial, Lab};
use peers::{start, Kind, Proto};

const HIGH: u8 = 150;
const LOW: u8 = 100;
const WEIGHT: i16 = -100;
const SLACK: Duration = Duration::from_secs(4);

fn tracked_failover(high: Kind, low: Kind) {
    let _serial = serial();
    let lab = Lab::new(2);
    let (h, l) = (0usize, 1usize);
    let flag = lab.path("chk-file-flag");
    std::fs::write(&flag, b"ok").expect("write flag");
    let mut hi = peers::Instance::new(Proto::V2, HIGH, 1000);
    hi.track_file = Some((flag.clone(), WEIGHT));
    let lo = peers::Instance::new(Proto::V2, LOW, 1000);
    let vip = hi.vip();
    eprintln!(
        "track_script: node1 = {} prio {HIGH} tracking {}, node2 = {} prio {LOW}",
        high.name(),
        flag.display(),
        low.name()
    );

    // 1. L first, then H preempts with its script OK.
    let dl = start(&lab, l, low, &lo, "1");
    lab.wait_sole_holder(l, vip, lo.master_down() + SLACK);
    let dh = start(&lab, h, high, &hi, "1");
    let t = lab.wait_sole_holder(h, vip, hi.master_down() + SLACK);
    eprintln!("  1. node1 ({}) master after {t:?}", high.name());

    // 2. The script starts failing: L takes over.
    let t0 = Instant::now();
    std::fs::remove_file(&flag).expect("remove flag");
    // One failing run (up to an interval), one advert at 50, then L's
    // master-down interval.
    let bound = Duration::from_secs(2) + lo.master_down() + SLACK;
    let t = lab.wait_sole_holder(l, vip, bound);
    eprintln!("  2. flag removed: node2 sole holder after {t:?}");
    if high == Kind::Vigil {
        let st = dh.status_json();
        assert_eq!(st["scripts"][0]["name"], "chk_file", "{st}");
        assert_eq!(st["scripts"][0]["state"], "FAIL", "{st}");
        assert_eq!(
            st["instances"][0]["effective_priority"],
            i64::from(HIGH) + i64::from(WEIGHT),
            "{st}"
        );
    }
    assert!(t0.elapsed() < bound);

    // 3. The file comes back: H preempts.
    std::fs::write(&flag, b"ok").expect("write flag");
    let t = lab.wait_sole_holder(h, vip, Duration::from_secs(2) + hi.master_down() + SLACK);
    eprintln!("  3. flag back: node1 preempts after {t:?}");
    if high == Kind::Vigil {
        let st = dh.status_json();
        assert_eq!(st["scripts"][0]["state"], "OK", "{st}");
        assert_eq!(
            st["instances"][0]["effective_priority"],
            i64::from(HIGH),
            "{st}"
        );
    }
    let mut ds = [dh, dl];
    for d in ds.iter_mut() {
        assert!(d.alive(), "{} on node{} exited", d.kind.name(), d.node + 1);
        d.stop();
    }
}

#[test]
fn vigil_tracked_script_fails_over_to_keepalived_and_back() {
    tracked_failover(Kind::Vigil, Kind::Keepalived);
}

#[test]
fn keepalived_tracked_script_fails_over_to_vigil_and_back() {
    tracked_failover(Kind::Keepalived, Kind::Vigil);
}
