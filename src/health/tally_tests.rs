//! Unit tests of `tally.rs`.

use super::*;
use crate::health::outcome::{Failure, Stage};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_latency_lands_in_the_first_bucket_whose_bound_holds_it() {
    let mut t = Tally::default();
    t.record(Duration::from_micros(999), &Ok(()));
    t.record(ms(1), &Ok(())); // on the bound: that bucket (le is <=)
    t.record(Duration::from_micros(1_001), &Ok(()));
    t.record(ms(30_000), &Ok(()));
    t.record(ms(30_001), &Ok(()));
    assert_eq!(t.buckets[0], 2);
    assert_eq!(t.buckets[1], 1);
    assert_eq!(t.buckets[BUCKETS - 2], 1);
    assert_eq!(t.buckets[BUCKETS - 1], 1);
    assert_eq!(t.count, 5);
    assert_eq!(t.buckets.iter().sum::<u64>(), t.count);
    assert_eq!(
        t.sum,
        Duration::from_micros(999 + 1_000 + 1_001) + ms(60_001)
    );
}

#[test]
fn failures_count_by_reason_and_successes_count_none() {
    let mut t = Tally::default();
    t.record(ms(3), &Ok(()));
    t.record(
        ms(5_000),
        &Err(Failure::Timeout {
            stage: Stage::Connect,
        }),
    );
    t.record(ms(1), &Err(Failure::Refused));
    t.record(ms(1), &Err(Failure::Refused));
    assert_eq!(t.failures[Reason::Refused.index()], 2);
    assert_eq!(t.failures[Reason::Timeout.index()], 1);
    assert_eq!(t.failures.iter().sum::<u64>(), 3);
    assert_eq!(t.count, 4);
}

#[test]
fn bounds_rise_strictly() {
    assert!(BOUNDS_US.windows(2).all(|w| w[0] < w[1]));
}
