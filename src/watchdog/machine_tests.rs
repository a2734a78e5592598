use super::*;

const S: Duration = Duration::from_secs(1);

#[test]
fn the_interval_is_a_third_of_the_shortest_timeout_bounded() {
    assert_eq!(pet_interval([]), None);
    assert_eq!(
        pet_interval([10 * S]),
        Some(Duration::from_nanos(3_333_333_333))
    );
    // systemd's 3 s against the hardware's 10 s: systemd's decides.
    assert_eq!(pet_interval([10 * S, 3 * S]), Some(S));
    // A long hardware timeout still gets a pet every PET_MAX.
    assert_eq!(pet_interval([600 * S]), Some(PET_MAX));
    assert_eq!(
        pet_interval([Duration::from_nanos(1)]),
        Some(Duration::from_millis(1))
    );
}

#[test]
fn pets_at_each_interval_while_every_task_is_alive() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    assert_eq!(m.poll_timeout(), Some(t0));
    assert_eq!(m.handle_timeout::<&str>(t0, Ok(())), Action::Pet);
    assert_eq!(m.poll_timeout(), Some(t0 + S));
    // A late wakeup pets and counts the next interval from then.
    let t = t0 + S + Duration::from_millis(200);
    assert_eq!(m.handle_timeout::<&str>(t, Ok(())), Action::Pet);
    assert_eq!(m.poll_timeout(), Some(t + S));
}

#[test]
fn an_early_wakeup_does_nothing_and_asks_no_question() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    m.handle_timeout::<&str>(t0, Ok(()));
    // Even a "late" answer before the check is due changes nothing.
    let early = t0 + Duration::from_millis(999);
    assert_eq!(m.handle_timeout(early, Err(vec!["health"])), Action::Wait);
    assert_eq!(m.poll_timeout(), Some(t0 + S));
}

#[test]
fn a_late_task_stops_the_pets_for_good_and_is_told_once() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    m.handle_timeout::<&str>(t0, Ok(()));
    assert_eq!(
        m.handle_timeout(t0 + S, Err(vec!["ipvs", "health"])),
        Action::Withhold(vec!["ipvs", "health"])
    );
    assert!(m.withheld());
    assert_eq!(m.poll_timeout(), None);
    // The task comes back: still no pet, and no second report.
    assert_eq!(m.handle_timeout::<&str>(t0 + 2 * S, Ok(())), Action::Wait);
    assert_eq!(
        m.handle_timeout(t0 + 3 * S, Err(vec!["ipvs"])),
        Action::Wait
    );
}

#[test]
fn a_deliberate_stop_ends_petting_withheld_or_not() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    assert!(m.stop());
    assert!(!m.stop());
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.handle_timeout::<&str>(t0 + S, Ok(())), Action::Wait);

    let mut m = Machine::new(t0, S);
    m.handle_timeout(t0, Err(vec!["vrrp"]));
    assert!(m.stop());
    assert!(!m.withheld());
}
