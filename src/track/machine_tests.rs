//! Unit tests of `machine.rs`.

use super::*;

const S: Duration = Duration::from_secs(1);

fn spec(rise: u32, fall: u32, init_fail: bool) -> Spec {
    Spec {
        interval: S,
        rise,
        fall,
        init_fail,
    }
}

fn one(sp: Spec) -> (Machine, Instant) {
    let t0 = Instant::now();
    (Machine::new(vec![("chk".into(), sp, None)], t0), t0)
}

/// Runs script 0 once at `t` with `run`; returns the change.
fn step(m: &mut Machine, t: Instant, run: Run) -> Option<State> {
    assert_eq!(m.poll_start(t), Some(0), "due at {t:?}");
    m.handle_result(0, run, t)
}

const OK: Run = Run::Exited(0);
const BAD: Run = Run::Exited(1);

#[test]
fn one_result_decides_from_init() {
    let (mut m, t0) = one(spec(3, 3, false));
    assert_eq!(m.statuses()[0].state, State::Init);
    assert_eq!(step(&mut m, t0, OK), Some(State::Ok));
    let (mut m, t0) = one(spec(3, 3, false));
    assert_eq!(step(&mut m, t0, BAD), Some(State::Fail));
}

#[test]
fn init_fail_needs_rise_successes() {
    let (mut m, t0) = one(spec(2, 1, true));
    assert_eq!(m.statuses()[0].state, State::Fail);
    assert_eq!(step(&mut m, t0, OK), None);
    assert_eq!(step(&mut m, t0 + S, OK), Some(State::Ok));
}

#[test]
fn fall_counts_consecutive_failures_and_a_success_resets() {
    let (mut m, t0) = one(spec(1, 3, false));
    step(&mut m, t0, OK);
    assert_eq!(step(&mut m, t0 + S, BAD), None);
    assert_eq!(step(&mut m, t0 + 2 * S, BAD), None);
    assert_eq!(step(&mut m, t0 + 3 * S, OK), None, "resets the count");
    assert_eq!(step(&mut m, t0 + 4 * S, BAD), None);
    assert_eq!(step(&mut m, t0 + 5 * S, Run::TimedOut), None);
    assert_eq!(step(&mut m, t0 + 6 * S, Run::NotRun), Some(State::Fail));
    let st = &m.statuses()[0];
    assert_eq!((st.runs, st.last), (7, Some(Run::NotRun)));
}

#[test]
fn a_signal_or_a_timeout_is_a_failure() {
    let (mut m, t0) = one(spec(1, 1, false));
    step(&mut m, t0, OK);
    assert_eq!(step(&mut m, t0 + S, Run::Signaled(9)), Some(State::Fail));
    assert_eq!(step(&mut m, t0 + 2 * S, OK), Some(State::Ok));
    assert_eq!(step(&mut m, t0 + 3 * S, Run::TimedOut), Some(State::Fail));
}

#[test]
fn runs_on_the_interval_grid_and_skips_a_turn_while_running() {
    let (mut m, t0) = one(spec(1, 1, false));
    assert_eq!(m.poll_start(t0), Some(0));
    assert_eq!(m.poll_start(t0), None, "once per turn");
    assert_eq!(m.poll_timeout(), Some(t0 + S));
    // Still running when the next turn comes: skipped.
    assert_eq!(m.poll_start(t0 + S), None);
    assert_eq!(m.poll_timeout(), Some(t0 + 2 * S));
    m.handle_result(0, OK, t0 + S + S / 2);
    assert_eq!(m.poll_start(t0 + S + S / 2), None, "not before its turn");
    assert_eq!(m.poll_start(t0 + 2 * S), Some(0));
    // A stale result (not running) is ignored.
    m.handle_result(0, OK, t0 + 2 * S);
    assert_eq!(m.handle_result(0, BAD, t0 + 2 * S), None);
}

#[test]
fn a_late_wakeup_does_not_run_a_script_twice() {
    let (mut m, t0) = one(spec(1, 1, false));
    step(&mut m, t0, OK);
    assert_eq!(m.poll_start(t0 + 5 * S + S / 2), Some(0));
    assert_eq!(m.poll_timeout(), Some(t0 + 6 * S));
}

#[test]
fn a_carried_state_survives_a_reload() {
    let t0 = Instant::now();
    let m = Machine::new(vec![("chk".into(), spec(1, 1, true), Some(State::Ok))], t0);
    assert_eq!(m.statuses()[0].state, State::Ok);
}
