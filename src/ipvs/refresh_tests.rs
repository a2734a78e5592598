use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;

fn service(port: u16) -> ServiceId {
    ServiceId::Addr {
        protocol: 6,
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        port,
    }
}

const NONE: [ServiceId; 0] = [];

#[test]
fn the_first_full_read_is_one_refresh_after_the_start() {
    let t0 = Instant::now();
    let s = Schedule::new(t0);
    assert_eq!(s.scope(t0, NONE), None);
    assert_eq!(
        s.scope(t0 + STATUS_REFRESH - Duration::from_millis(1), NONE),
        None
    );
    assert_eq!(s.scope(t0 + STATUS_REFRESH, NONE), Some(Scope::Full));
}

#[test]
fn the_age_of_the_counters_runs_from_the_last_whole_read() {
    let t0 = Instant::now();
    let mut s = Schedule::new(t0);
    assert_eq!(s.age(t0 + Duration::from_secs(5)), None, "nothing read yet");
    s.full_read(t0 + Duration::from_secs(2), Duration::from_secs(1));
    assert_eq!(
        s.age(t0 + Duration::from_secs(9)),
        Some(Duration::from_secs(7))
    );
    // A whole pass's read counts as well; a clock read before it, as none.
    s.table_read(t0 + Duration::from_secs(20));
    assert_eq!(
        s.age(t0 + Duration::from_secs(21)),
        Some(Duration::from_secs(1))
    );
    assert_eq!(s.age(t0), Some(Duration::ZERO));
}

#[test]
fn a_cheap_table_is_read_at_every_refresh() {
    let t0 = Instant::now();
    let mut s = Schedule::new(t0);
    // 20 ms x 19 is well under the refresh period: the period stands.
    s.full_read(t0, Duration::from_millis(20));
    assert_eq!(s.spacing(), STATUS_REFRESH);
    assert_eq!(s.scope(t0 + STATUS_REFRESH, NONE), Some(Scope::Full));
}

#[test]
fn a_costly_table_waits_in_proportion_to_its_cost() {
    let t0 = Instant::now();
    let mut s = Schedule::new(t0);
    let took = Duration::from_millis(1500);
    s.full_read(t0, took);
    assert_eq!(s.spacing(), took * FULL_SPACING);
    // Read time over the whole cycle: at most 1 / (1 + FULL_SPACING).
    let cycle = took + s.spacing();
    assert!(took.as_secs_f64() / cycle.as_secs_f64() <= 0.05 + 1e-9);
    assert_eq!(s.scope(t0 + 4 * STATUS_REFRESH, NONE), None);
    assert_eq!(s.scope(t0 + took * FULL_SPACING, NONE), Some(Scope::Full));
}

#[test]
fn no_full_read_waits_longer_than_the_bound() {
    let t0 = Instant::now();
    let mut s = Schedule::new(t0);
    s.full_read(t0, Duration::from_secs(30));
    assert_eq!(s.spacing(), FULL_REFRESH_MAX);
    assert_eq!(s.scope(t0 + FULL_REFRESH_MAX, NONE), Some(Scope::Full));
    // A cost too large to multiply still gives the bound.
    s.full_read(t0, Duration::MAX);
    assert_eq!(s.full_due(), t0 + FULL_REFRESH_MAX);
}

#[test]
fn between_full_reads_only_draining_services_are_read_each_once() {
    let t0 = Instant::now();
    let mut s = Schedule::new(t0);
    s.full_read(t0, Duration::from_secs(1));
    let t = t0 + STATUS_REFRESH;
    assert_eq!(
        s.scope(t, [service(443), service(80), service(443)]),
        Some(Scope::Services(BTreeSet::from([service(80), service(443)])))
    );
    // A due full read covers the drains too.
    assert_eq!(s.scope(s.full_due(), [service(80)]), Some(Scope::Full));
}

#[test]
fn a_pass_counts_as_a_full_read_at_the_last_cost() {
    let t0 = Instant::now();
    let mut s = Schedule::new(t0);
    s.full_read(t0, Duration::from_secs(1));
    let pass_end = t0 + Duration::from_secs(15);
    s.table_read(pass_end);
    assert_eq!(
        s.full_due(),
        pass_end + Duration::from_secs(u64::from(FULL_SPACING))
    );
    assert_eq!(s.scope(t0 + Duration::from_secs(20), NONE), None);
}
