use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_pass_phases_are_carved_out_of_the_last_step() {
    let t0 = Instant::now();
    let t = Timeline {
        began: t0,
        last: t0 + ms(30),
        steps: vec![("config read", ms(20)), ("set-up", ms(10))],
    };
    let r = close(
        t,
        t0 + ms(100),
        "before the pass",
        &[("dump", ms(5)), ("apply", ms(50))],
        7,
    );
    assert_eq!(r.total, ms(100));
    assert_eq!(
        r.steps,
        vec![
            ("config read", ms(20)),
            ("set-up", ms(10)),
            ("before the pass", ms(15)),
            ("dump", ms(5)),
            ("apply", ms(50)),
        ]
    );
    assert_eq!(
        r.to_string(),
        "start-up: first IPVS pass done 100.0 ms after `vigil run` began (7 ops): \
         config read 20.0 ms, set-up 10.0 ms, before the pass 15.0 ms, dump 5.0 ms, apply 50.0 ms"
    );
}

#[test]
fn phases_longer_than_the_span_leave_no_negative_step() {
    let t0 = Instant::now();
    let t = Timeline {
        began: t0,
        last: t0,
        steps: Vec::new(),
    };
    let r = close(t, t0 + ms(10), "before", &[("apply", ms(12))], 0);
    assert_eq!(r.steps, vec![("before", Duration::ZERO), ("apply", ms(12))]);
}

#[test]
fn retries_past_the_bound_are_not_recorded() {
    let t0 = Instant::now();
    let mut t = Some(Timeline {
        began: t0,
        last: t0,
        steps: vec![("retry", ms(1)); MAX_STEPS],
    });
    record(&mut t, "one too many", t0 + ms(5));
    let t = t.expect("kept");
    assert_eq!(t.steps.len(), MAX_STEPS);
    assert_eq!(t.last, t0, "its time goes to the next step that is kept");
}

// The one test of the process-wide timeline (tests run in parallel: a
// second one would race this one's begin and finish).
#[test]
fn reported_once_and_only_after_begin() {
    assert_eq!(finish("x", &[], 0), None, "nothing began");
    begin();
    step("one");
    let r = finish("rest", &[("pass", Duration::ZERO)], 3).expect("the first finish reports");
    let names: Vec<_> = r.steps.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["one", "rest", "pass"]);
    assert_eq!(r.ops, 3);
    step("late");
    assert_eq!(finish("x", &[], 0), None, "reported once");
}

/// A restart's timeline starts at the handover, before `vigil run` began:
/// the gap is its first step and counts in the total.
#[test]
fn an_earlier_start_is_the_first_step() {
    let t0 = Instant::now() + ms(1000);
    let mut t = Timeline {
        began: t0,
        last: t0 + ms(30),
        steps: vec![("config read", ms(30))],
    };
    // At t0 + 40 ms, the handover was 100 ms ago: 60 ms before `begin`.
    earlier(&mut t, t0 + ms(40), "exec", ms(100));
    let r = close(t, t0 + ms(50), "rest", &[], 0);
    assert_eq!(r.total, ms(110));
    assert_eq!(
        r.steps,
        vec![("exec", ms(60)), ("config read", ms(30)), ("rest", ms(20))]
    );
}
