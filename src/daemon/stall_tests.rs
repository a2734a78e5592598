use super::*;

#[test]
fn the_worst_wake_up_is_kept_and_stalls_are_counted_from_the_threshold() {
    let m = Meter::new("main");
    assert!(!m.observe(Duration::from_millis(3)));
    assert!(!m.observe(STALL - Duration::from_micros(1)));
    assert!(!m.observe(STALL));
    assert!(m.observe(LOUD));
    assert!(!m.observe(Duration::from_millis(10)));
    let r = m.reading();
    assert_eq!(r.name, "main");
    assert_eq!(r.worst_us, 1_000_000);
    assert_eq!(r.stalls, 2, "the threshold and the loud one");
}

/// A task that holds the runtime's thread shows as a stall of about its
/// length; a runtime left alone shows none.
#[test]
fn a_blocked_runtime_is_seen_late_by_its_ticker() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let meter = spawn("test", rt.handle());
    rt.block_on(async {
        tokio::time::sleep(4 * TICK).await;
        // Holds the only thread, as a long synchronous step would.
        std::thread::sleep(Duration::from_millis(400));
        tokio::time::sleep(2 * TICK).await;
    });
    let r = meter.reading();
    assert_eq!(r.stalls, 1, "{r:?}");
    assert!(r.worst_us >= 300_000, "{r:?}");
}
