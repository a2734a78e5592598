//! Unit tests of `timers.rs`.

use std::time::Duration;

use super::*;

#[test]
fn next_is_earliest_and_take_is_once() {
    let t0 = Instant::now();
    let mut t = TimerTable::default();
    assert_eq!(t.next(), None);
    t.set(Timer::MasterDown, t0 + Duration::from_secs(3));
    t.set(Timer::GarpRefresh, t0 + Duration::from_secs(1));
    assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
    assert!(!t.take_expired(Timer::MasterDown, t0 + Duration::from_secs(2)));
    assert!(t.take_expired(Timer::MasterDown, t0 + Duration::from_secs(3)));
    assert!(!t.take_expired(Timer::MasterDown, t0 + Duration::from_secs(3)));
    t.stop_all();
    assert_eq!(t.next(), None);
}
