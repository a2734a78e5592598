//! Unit tests of `bridge.rs`: the schedule and the lane's claim/stop
//! handshake, without sockets.

use super::*;

const MS: u64 = 1_000_000;

#[test]
fn the_first_bridged_advert_is_due_one_interval_after_the_old_image_s_last() {
    let l = Lane::new("VI_1", 50, 1_000 * MS);
    assert_eq!(l.due(), Some(1_050 * MS));
    assert!(!l.claim(1_049 * MS), "not yet due");
    assert!(l.claim(1_050 * MS));
    assert_eq!(l.last(), (1_050 * MS, true));
    assert_eq!(l.due(), Some(1_100 * MS));
}

#[test]
fn a_late_bridge_sends_one_advert_and_counts_the_next_from_it() {
    let l = Lane::new("VI_1", 50, 1_000 * MS);
    assert!(l.claim(1_180 * MS));
    assert!(!l.claim(1_180 * MS), "no burst to catch up");
    assert_eq!(l.due(), Some(1_230 * MS));
}

#[test]
fn a_stopped_lane_claims_nothing_and_reports_its_last_advert() {
    let l = Lane::new("VI_1", 50, 1_000 * MS);
    assert!(l.claim(1_050 * MS));
    assert_eq!(l.stop(), (1_050 * MS, true));
    assert_eq!(l.stop(), (1_050 * MS, false), "stopped once");
    assert!(!l.claim(2_000 * MS));
    assert_eq!(l.due(), None);
    assert_eq!(l.last(), (1_050 * MS, false));
}

#[test]
fn a_stop_racing_a_claim_reports_the_claimed_advert() {
    // The bridge claims (records the time) before it sends: a stop that
    // lands between the claim and the send still sees it, so the task's
    // first advert follows it by an interval (no double, no gap).
    let l = Lane::new("VI_1", 50, 1_000 * MS);
    assert!(l.claim(1_051 * MS));
    let (last, _) = l.stop();
    assert_eq!(last, 1_051 * MS);
}

#[test]
fn the_thread_wakes_at_the_first_due_advert_and_ends_with_its_lanes() {
    let deadline = 10_000 * MS;
    assert_eq!(
        next_wake([Some(300 * MS), None, Some(200 * MS)], deadline),
        Some(200 * MS)
    );
    assert_eq!(next_wake([Some(20_000 * MS)], deadline), Some(deadline));
    assert_eq!(next_wake([None, None], deadline), None);
    assert_eq!(next_wake([], deadline), None);
}

#[test]
fn a_takeover_stops_its_lane_and_a_dropped_one_too() {
    let now = monotonic_ns();
    let bridge = Bridge {
        lanes: vec![
            Arc::new(Lane::new("VI_1", 50, now)),
            Arc::new(Lane::new("VI_2", 50, now)),
            Arc::new(Lane::new("VI_3", 50, now)),
        ],
    };
    assert_eq!(bridge.last_sent("VI_1"), Some(now));
    assert_eq!(bridge.last_sent("VI_9"), None);
    let at = bridge.takeover("VI_1").expect("a lane").take_over();
    assert!(at <= Instant::now());
    assert!(!bridge.lanes[0].last().1);
    drop(bridge.takeover("VI_2"));
    assert!(!bridge.lanes[1].last().1);
    bridge.stop_unless(|n| n == "VI_1");
    assert!(!bridge.lanes[2].last().1);
}

#[test]
fn instant_of_places_a_monotonic_time_in_the_past() {
    let now = monotonic_ns();
    let t = instant_of(now.saturating_sub(100 * MS));
    let ago = Instant::now().duration_since(t);
    assert!(
        ago >= Duration::from_millis(100) && ago < Duration::from_secs(5),
        "{ago:?}"
    );
    assert!(instant_of(now + 1_000 * MS) <= Instant::now());
}
