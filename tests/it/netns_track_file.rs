//! `track_file` interop in network namespaces: vigil and Debian's
//! keepalived 2.2.7 in one VRRP domain, the higher-priority node (H, 150)
//! tracking `track_file num` with weight -60 (L has 100), through
//! `netns_track::failover`:
//!   1. The file holds 0: H is master (150).
//!   2. The test writes 1: 1 x -60 makes H 90, below L, and L takes over.
//!   3. The test writes 0: H is 150 again and preempts.
//!
//! Run with H = vigil (keepalived peer) and H = keepalived (vigil peer):
//! both read the number the same way and fail over at the same points.
//! Needs root, iproute2 and keepalived (scripts/install-deps).

use crate::netns_track::{failover, FileSwitch, Tracked};
use crate::support::peers::Kind;

const NUMBER: Tracked = Tracked {
    what: "track_file",
    weight: -60,
    switch: |file| {
        Box::new(FileSwitch {
            file: file.to_path_buf(),
            fine: Some(b"0\n"),
            failing: Some(b"1\n"),
        })
    },
    track: |i, file, weight| i.tracked_number = Some((file.to_path_buf(), weight)),
    status: |st, failing| {
        assert_eq!(st["scripts"][0]["name"], "num", "{st}");
        assert_eq!(st["scripts"][0]["value"], i64::from(failing), "{st}");
    },
};

#[test]
fn vigil_tracked_file_fails_over_to_keepalived_and_back() {
    failover(Kind::Vigil, Kind::Keepalived, &NUMBER);
}

#[test]
fn keepalived_tracked_file_fails_over_to_vigil_and_back() {
    failover(Kind::Keepalived, Kind::Vigil, &NUMBER);
}
