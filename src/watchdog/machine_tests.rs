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

const ALL: Action<&str> = Action::Pet(Pets {
    runtime: true,
    tasks: true,
});
const RUNTIME_ONLY: Action<&str> = Action::Pet(Pets {
    runtime: true,
    tasks: false,
});

#[test]
fn pets_every_watchdog_at_each_interval_while_every_task_is_alive() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    assert_eq!(m.poll_timeout(), Some(t0));
    assert_eq!(m.handle_timeout(t0, Answer::Alive), ALL);
    assert_eq!(m.poll_timeout(), Some(t0 + S));
    // A late wakeup pets and counts the next interval from then.
    let t = t0 + S + Duration::from_millis(200);
    assert_eq!(m.handle_timeout(t, Answer::Alive), ALL);
    assert_eq!(m.poll_timeout(), Some(t + S));
}

#[test]
fn an_early_wakeup_does_nothing() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    m.handle_timeout::<&str>(t0, Answer::Alive);
    // Even a "late" answer before the check is due changes nothing.
    let early = t0 + Duration::from_millis(999);
    assert_eq!(
        m.handle_timeout(early, Answer::Late(vec!["health"])),
        Action::Wait
    );
    assert!(!m.withheld());
    assert_eq!(m.poll_timeout(), Some(t0 + S));
}

#[test]
fn a_late_task_withholds_the_hardware_for_good_but_systemd_is_still_petted() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    m.handle_timeout::<&str>(t0, Answer::Alive);
    assert_eq!(
        m.handle_timeout(t0 + S, Answer::Late(vec!["ipvs", "health"])),
        Action::Withhold(vec!["ipvs", "health"])
    );
    assert!(m.withheld());
    // The runtime answers: systemd keeps being petted, at the interval.
    assert_eq!(m.poll_timeout(), Some(t0 + 2 * S));
    // The task comes back: still no pet for the hardware, no second report.
    assert_eq!(m.handle_timeout(t0 + 2 * S, Answer::Alive), RUNTIME_ONLY);
    assert_eq!(
        m.handle_timeout(t0 + 3 * S, Answer::Late(vec!["ipvs"])),
        RUNTIME_ONLY
    );
}

#[test]
fn no_answer_pets_nothing_that_round_and_withholds_nothing_for_good() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    assert_eq!(m.handle_timeout::<&str>(t0, Answer::Silent), Action::Silent);
    assert!(!m.withheld());
    assert_eq!(m.poll_timeout(), Some(t0 + S));
    assert_eq!(m.handle_timeout(t0 + S, Answer::Alive), ALL);
}

#[test]
fn a_watchdog_that_joins_is_petted_at_once_at_the_new_pace() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, 5 * S);
    m.handle_timeout::<&str>(t0, Answer::Alive);
    m.joined(t0 + S, S);
    assert_eq!(m.poll_timeout(), Some(t0 + S));
    assert_eq!(m.handle_timeout(t0 + S, Answer::Alive), ALL);
    assert_eq!(m.poll_timeout(), Some(t0 + 2 * S));
}

#[test]
fn the_supervisor_answer_maps_to_the_machine_answer() {
    assert_eq!(Answer::<&str>::from(Some(Ok(()))), Answer::Alive);
    assert_eq!(Answer::from(Some(Err(vec!["x"]))), Answer::Late(vec!["x"]));
    assert_eq!(Answer::<&str>::from(None), Answer::Silent);
}

#[test]
fn a_deliberate_stop_ends_petting_withheld_or_not() {
    let t0 = Instant::now();
    let mut m = Machine::new(t0, S);
    assert!(m.stop());
    assert!(!m.stop());
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(
        m.handle_timeout::<&str>(t0 + S, Answer::Alive),
        Action::Wait
    );

    let mut m = Machine::new(t0, S);
    m.handle_timeout(t0, Answer::Late(vec!["vrrp"]));
    assert!(m.stop());
    assert!(m.withheld());
}
