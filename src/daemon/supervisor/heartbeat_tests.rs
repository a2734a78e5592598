use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Heartbeat, Pulse};

/// A heartbeat whose task's deadline is 200 ms: it ticks every 50 ms.
fn quick() -> (Heartbeat, Arc<Pulse>) {
    let pulse = Arc::new(Pulse::new(Instant::now()));
    let hb = Heartbeat::new("t", pulse.clone(), Some(Duration::from_millis(200)));
    (hb, pulse)
}

#[tokio::test(flavor = "current_thread")]
async fn a_long_wait_checks_in_on_every_tick() {
    let (hb, pulse) = quick();
    let start = Instant::now();
    let out = hb
        .waiting(async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            7
        })
        .await;
    assert_eq!(out, 7);
    let last = pulse.last().expect("checked in");
    // Ticks at 50, 100, ... 350 ms; a loaded machine may skip some, not
    // all of the later ones.
    assert!(
        last >= start + Duration::from_millis(200),
        "last check-in {:?} after the start",
        last - start
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_wait_past_its_bound_stops_checking_in() {
    let (hb, pulse) = quick();
    let start = Instant::now();
    hb.waiting_at_most(
        tokio::time::sleep(Duration::from_millis(500)),
        Duration::from_millis(120),
    )
    .await;
    let last = pulse.last().expect("checked in before the bound");
    // Unbounded, it would check in until 450 ms; a tick due before the
    // bound may still run a little late on a loaded machine.
    assert!(
        last - start < Duration::from_millis(350),
        "checked in {:?} after the start, past the 120 ms bound",
        last - start
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_ready_wait_returns_without_checking_in() {
    let (hb, pulse) = quick();
    assert_eq!(hb.waiting(async { 3 }).await, 3);
    assert!(pulse.last().is_none());
}
