use std::time::{Duration, Instant};

use super::*;

fn pending(seq: u64, deadline: u64) -> Option<PendingCommit> {
    Some(PendingCommit { seq, deadline })
}

#[test]
fn a_window_is_minutes_of_the_unit_and_zero_or_more_than_a_day_is_refused() {
    let min = Duration::from_secs(60);
    assert_eq!(deadline(1000, 5, min), Ok(1300));
    assert_eq!(deadline(1000, 5, Duration::from_secs(1)), Ok(1005));
    assert!(deadline(1000, 0, min).is_err());
    assert!(deadline(1000, MAX_MINUTES + 1, min).is_err());
    assert_eq!(deadline(1000, MAX_MINUTES, min), Ok(1000 + 86_400));
}

#[test]
fn fires_once_at_the_deadline_not_before() {
    let t0 = Instant::now();
    let mut m = Machine::default();
    m.follow(pending(4, 1060), 1000, t0);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(59)), None);
    assert_eq!(m.pending(), pending(4, 1060));
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(60)), Some(4));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(61)), None);
}

#[test]
fn a_confirm_or_a_plain_commit_disarms_and_a_newer_commit_confirmed_rearms() {
    let t0 = Instant::now();
    let mut m = Machine::default();
    m.follow(pending(4, 1060), 1000, t0);
    // Read again later with the same pending commit: the deadline stays.
    m.follow(pending(4, 1060), 1030, t0 + Duration::from_secs(31));
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    // A newer commit confirmed replaces the window.
    m.follow(pending(5, 1100), 1040, t0 + Duration::from_secs(40));
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(100)));
    // Confirmed (or a plain commit on top): nothing waits any more.
    m.follow(None, 1050, t0 + Duration::from_secs(50));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(200)), None);
}

#[test]
fn a_deadline_already_past_at_start_fires_at_once() {
    // A hitless restart after the window ended: roll back now.
    let t0 = Instant::now();
    let mut m = Machine::default();
    m.follow(pending(7, 900), 1000, t0);
    assert_eq!(m.poll_timeout(), Some(t0));
    assert_eq!(m.handle_timeout(t0), Some(7));
}
