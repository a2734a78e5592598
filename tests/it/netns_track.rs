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
//! [`failover`] is the same three steps for any tracked thing
//! (`netns_track_file` uses it). Needs root, iproute2 and keepalived
//! (scripts/install-deps).

use crate::support::{netns, peers};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use netns::Lab;
use peers::{start, Kind, Proto};

const HIGH: u8 = 150;
const LOW: u8 = 100;
const WEIGHT: i16 = -100;
const SLACK: Duration = Duration::from_secs(4);

/// One kind of tracked thing.
pub(crate) struct Tracked {
    pub what: &'static str,
    /// The weight H tracks it with (H's priority drops below L's).
    pub weight: i16,
    /// Makes the switch for the thing at `path` (a name in the lab's
    /// directory).
    pub switch: fn(&Path) -> Box<dyn Switch>,
    /// Sets H up to track the thing at `path` with `weight`.
    pub track: fn(&mut peers::Instance, &Path, i16),
    /// Checks vigil's status of the thing while (not) failing.
    pub status: fn(&serde_json::Value, bool),
}

/// What the test turns between fine and failing.
pub(crate) trait Switch {
    fn set(&mut self, failing: bool);
}

/// A tracked file: its content while fine and while failing (`None`: no
/// file).
pub(crate) struct FileSwitch {
    pub file: PathBuf,
    pub fine: Option<&'static [u8]>,
    pub failing: Option<&'static [u8]>,
}

impl Switch for FileSwitch {
    fn set(&mut self, failing: bool) {
        let content = if failing { self.failing } else { self.fine };
        match content {
            Some(c) => std::fs::write(&self.file, c).expect("write the tracked file"),
            None => std::fs::remove_file(&self.file).expect("remove the tracked file"),
        }
    }
}

/// H tracks `t`; it fails (L takes over) and comes back (H preempts).
pub(crate) fn failover(high: Kind, low: Kind, t: &Tracked) {
    let lo = peers::Instance::new(Proto::V2, LOW, 1000);
    let _turn = peers::turn(lo.proto, lo.advert_ms);
    let lab = Lab::new(2);
    let (h, l) = (0usize, 1usize);
    let file = lab.path("tracked");
    let mut switch = (t.switch)(&file);
    switch.set(false);
    let mut hi = peers::Instance::new(Proto::V2, HIGH, 1000);
    (t.track)(&mut hi, &file, t.weight);
    let vip = hi.vip();
    eprintln!(
        "{}: node1 = {} prio {HIGH} tracking {}, node2 = {} prio {LOW}",
        t.what,
        high.name(),
        file.display(),
        low.name()
    );

    // 1. L first, then H preempts with its tracked thing fine.
    let dl = start(&lab, l, low, &lo, "1");
    lab.wait_sole_holder(l, vip, lo.master_down() + SLACK);
    let dh = start(&lab, h, high, &hi, "1");
    let at = lab.wait_sole_holder(h, vip, hi.master_down() + SLACK);
    eprintln!("  1. node1 ({}) master after {at:?}", high.name());

    // 2. It fails: L takes over. One failing run or read (up to a
    // second), one advert at the lower priority, then L's master-down
    // interval.
    let t0 = Instant::now();
    switch.set(true);
    let bound = Duration::from_secs(2) + lo.master_down() + SLACK;
    let at = lab.wait_sole_holder(l, vip, bound);
    eprintln!("  2. failing: node2 sole holder after {at:?}");
    let priority = |st: &serde_json::Value| st["instances"][0]["effective_priority"].clone();
    if high == Kind::Vigil {
        let st = dh.status_json();
        (t.status)(&st, true);
        assert_eq!(priority(&st), i64::from(HIGH) + i64::from(t.weight), "{st}");
    }
    assert!(t0.elapsed() < bound);

    // 3. Fine again: H preempts.
    switch.set(false);
    let at = lab.wait_sole_holder(h, vip, Duration::from_secs(2) + hi.master_down() + SLACK);
    eprintln!("  3. fine again: node1 preempts after {at:?}");
    if high == Kind::Vigil {
        let st = dh.status_json();
        (t.status)(&st, false);
        assert_eq!(priority(&st), i64::from(HIGH), "{st}");
    }
    let mut ds = [dh, dl];
    for d in ds.iter_mut() {
        assert!(d.alive(), "{} on node{} exited", d.kind.name(), d.node + 1);
        d.stop();
    }
}

const SCRIPT: Tracked = Tracked {
    what: "track_script",
    weight: WEIGHT,
    switch: |file| {
        Box::new(FileSwitch {
            file: file.to_path_buf(),
            fine: Some(b"ok"),
            failing: None,
        })
    },
    track: |i, file, weight| i.track_file = Some((file.to_path_buf(), weight)),
    status: |st, failing| {
        assert_eq!(st["scripts"][0]["name"], "chk_file", "{st}");
        let state = if failing { "FAIL" } else { "OK" };
        assert_eq!(st["scripts"][0]["state"], state, "{st}");
    },
};

#[test]
fn vigil_tracked_script_fails_over_to_keepalived_and_back() {
    failover(Kind::Vigil, Kind::Keepalived, &SCRIPT);
}

#[test]
fn keepalived_tracked_script_fails_over_to_vigil_and_back() {
    failover(Kind::Keepalived, Kind::Vigil, &SCRIPT);
}
