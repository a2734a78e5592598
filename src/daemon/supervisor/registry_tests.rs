use super::*;
use crate::daemon::supervisor::policy::Kind;

struct Fixture {
    m: Machine,
    t0: Instant,
    next: u64,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            m: Machine::default(),
            t0: Instant::now(),
            next: 1,
        }
    }

    fn at(&self, secs: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs)
    }

    /// Registers `name` at `secs` with its kind's deadline.
    fn start(&mut self, name: &str, kind: Kind, secs: f64) -> (TaskId, Arc<Pulse>) {
        let pulse = Arc::new(Pulse::new(self.t0));
        let id = TaskId(self.next);
        self.next += 1;
        let deadline = kind.policy().deadline;
        self.m
            .register(name, kind, deadline, pulse.clone(), id, self.at(secs));
        (id, pulse)
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.m.poll_action()).collect()
    }
}

#[test]
fn a_task_that_checks_in_is_alive() {
    let mut f = Fixture::new();
    let (_, p) = f.start("instance VI_1", Kind::Instance, 0.0);
    for i in 1..20 {
        p.beat_at(f.at(f64::from(i) * 0.5));
        f.m.handle_timeout(f.at(f64::from(i) * 0.5 + 0.1));
    }
    assert_eq!(f.m.liveness(f.at(10.0)), Ok(()));
    assert!(f.actions().is_empty());
    let v = f.m.status(f.at(10.0));
    assert_eq!(v[0].state, State::Running);
    assert_eq!(v[0].check_in_age, Duration::from_millis(500));
}

#[test]
fn liveness_names_who_is_late_and_by_how_much() {
    let mut f = Fixture::new();
    let (_, a) = f.start("instance VI_1", Kind::Instance, 0.0);
    let (_, b) = f.start("health", Kind::Health, 0.0);
    a.beat_at(f.at(1.0));
    b.beat_at(f.at(1.0));
    // Instance deadline 2 s: late at 3.5 by 0.5; health (10 s) is fine.
    assert_eq!(
        f.m.liveness(f.at(3.5)),
        Err(vec![Late {
            task: "instance VI_1".into(),
            late_by: Duration::from_millis(500),
        }])
    );
    assert_eq!(f.m.liveness(f.at(2.9)), Ok(()));
}

#[test]
fn a_task_never_checked_in_counts_from_its_registration() {
    let mut f = Fixture::new();
    f.start("control", Kind::Control, 5.0);
    assert_eq!(f.m.liveness(f.at(14.0)), Ok(()));
    assert!(f.m.liveness(f.at(15.5)).is_err());
    assert_eq!(f.m.poll_timeout(), Some(f.at(15.0)));
}

#[test]
fn a_late_task_is_shown_stalled_then_aborted_then_restarted() {
    let mut f = Fixture::new();
    let (id, p) = f.start("health", Kind::Health, 0.0);
    p.beat_at(f.at(1.0));
    assert_eq!(f.m.poll_timeout(), Some(f.at(11.0)));
    // Before the scan: status already says stalled.
    assert_eq!(f.m.status(f.at(11.5))[0].state, State::Stalled);
    f.m.handle_timeout(f.at(11.5));
    assert_eq!(f.actions(), vec![Action::Abort(id)]);
    // A second scan does not abort twice.
    f.m.handle_timeout(f.at(11.6));
    assert!(f.actions().is_empty());
    // The abort lands: reported as a stall, restart after a pause.
    f.m.handle_stop(id, How::Cancelled, f.at(11.6));
    let stall = How::Stalled {
        late_by: Duration::from_millis(500),
    };
    assert_eq!(
        f.actions(),
        vec![Action::Report(Event::Stopped {
            name: "health".into(),
            kind: Kind::Health,
            how: stall.clone(),
            verdict: Verdict::Restart,
        })]
    );
    let v = &f.m.status(f.at(12.0))[0];
    assert_eq!((v.state, v.restarts), (State::Stalled, 1));
    assert_eq!(v.last_stop, Some(stall));
    assert_eq!(f.m.poll_timeout(), Some(f.at(12.6)));
    f.m.handle_timeout(f.at(12.6));
    assert_eq!(
        f.actions(),
        vec![Action::Report(Event::RestartDue {
            name: "health".into(),
            kind: Kind::Health,
        })]
    );
    // Announced once; the new incarnation runs with the history kept.
    f.m.handle_timeout(f.at(12.7));
    assert!(f.actions().is_empty());
    f.start("health", Kind::Health, 12.7);
    let v = &f.m.status(f.at(13.0))[0];
    assert_eq!((v.state, v.restarts), (State::Running, 1));
    // The first answer since the scan names the stall; then all is well.
    assert!(f.m.liveness(f.at(13.0)).is_err());
    assert_eq!(f.m.liveness(f.at(13.0)), Ok(()));
}

#[test]
fn a_restart_that_never_comes_makes_the_task_late() {
    let mut f = Fixture::new();
    let (id, _) = f.start("control", Kind::Control, 0.0);
    f.m.handle_stop(id, How::Returned, f.at(1.0));
    f.m.handle_timeout(f.at(2.0));
    f.actions();
    // Due at 2 s, deadline 10 s: late after 12 s.
    assert_eq!(f.m.liveness(f.at(11.9)), Ok(()));
    assert_eq!(
        f.m.liveness(f.at(12.5)),
        Err(vec![Late {
            task: "control".into(),
            late_by: Duration::from_millis(500),
        }])
    );
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let mut f = Fixture::new();
    let (id, _) = f.start("ipvs", Kind::Ipvs, 0.0);
    f.m.handle_stop(id, How::Panicked("boom".into()), f.at(1.0));
    assert_eq!(
        f.actions(),
        vec![Action::Report(Event::Stopped {
            name: "ipvs".into(),
            kind: Kind::Ipvs,
            how: How::Panicked("boom".into()),
            verdict: Verdict::Restart,
        })]
    );
    assert_eq!(f.m.status(f.at(1.0))[0].state, State::Restarting);
}

#[test]
fn the_budget_allows_three_restarts_in_five_minutes() {
    let mut f = Fixture::new();
    let mut verdicts = Vec::new();
    for i in 0..4 {
        let t = f64::from(i) * 10.0;
        let (id, _) = f.start("link dispatcher", Kind::LinkDispatcher, t);
        f.m.handle_stop(id, How::Returned, f.at(t + 1.0));
        for a in f.actions() {
            if let Action::Report(Event::Stopped { verdict, .. }) = a {
                verdicts.push(verdict);
            }
        }
    }
    use Verdict::{Exit, Restart};
    assert_eq!(verdicts, vec![Restart, Restart, Restart, Exit]);
    let v = &f.m.status(f.at(40.0))[0];
    assert_eq!((v.state, v.restarts), (State::Ended, 3));
    // Ended for good: not alive (the daemon is exiting).
    assert!(f.m.liveness(f.at(40.0)).is_err());
}

#[test]
fn restarts_older_than_the_window_are_forgiven() {
    let mut f = Fixture::new();
    let mut last = None;
    // One stop every two minutes: never three within five minutes... of
    // the fourth: at 0, 120, 240 -> the fourth at 360 sees 120 and 240.
    for i in 0..6 {
        let t = f64::from(i) * 120.0;
        let (id, _) = f.start("netlink monitor", Kind::NetlinkMonitor, t);
        f.m.handle_stop(id, How::Returned, f.at(t + 1.0));
        for a in f.actions() {
            if let Action::Report(Event::Stopped { verdict, .. }) = a {
                last = Some(verdict);
            }
        }
    }
    assert_eq!(last, Some(Verdict::Restart));
    assert_eq!(f.m.status(f.at(800.0))[0].restarts, 6);
}

#[test]
fn the_main_loop_is_never_restarted() {
    let mut f = Fixture::new();
    let (id, _) = f.start("main", Kind::Main, 0.0);
    f.m.handle_stop(id, How::Panicked("x".into()), f.at(1.0));
    assert!(matches!(
        f.actions()[..],
        [Action::Report(Event::Stopped {
            verdict: Verdict::Exit,
            ..
        })]
    ));
}

#[test]
fn a_task_told_to_end_is_forgotten() {
    let mut f = Fixture::new();
    let (id, _) = f.start("instance VI_1", Kind::Instance, 0.0);
    f.m.deregister(id);
    f.m.handle_stop(id, How::Returned, f.at(1.0));
    assert!(f.actions().is_empty());
    assert!(f.m.status(f.at(1.0)).is_empty());
    assert_eq!(f.m.liveness(f.at(100.0)), Ok(()));
}

#[test]
fn a_replaced_task_keeps_its_history_only_once_stopped() {
    let mut f = Fixture::new();
    let (ipvs, _) = f.start("ipvs", Kind::Ipvs, 0.0);
    let (health, _) = f.start("health", Kind::Health, 0.0);
    f.m.handle_stop(health, How::Returned, f.at(1.0));
    f.actions();
    // Both replaced as one: the running IPVS task forgotten, the stopped
    // runner's entry kept for its restart.
    f.m.replace(ipvs);
    f.m.replace(health);
    let v = f.m.status(f.at(2.0));
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].name.as_str(), v[0].restarts), ("health", 1));
}

#[test]
fn a_stale_incarnation_is_ignored() {
    let mut f = Fixture::new();
    let (old, _) = f.start("control", Kind::Control, 0.0);
    f.start("control", Kind::Control, 1.0);
    f.m.handle_stop(old, How::Returned, f.at(2.0));
    assert!(f.actions().is_empty());
    assert_eq!(f.m.status(f.at(2.0))[0].state, State::Running);
}

#[test]
fn a_task_without_a_deadline_is_only_watched_for_its_end() {
    let mut f = Fixture::new();
    let pulse = Arc::new(Pulse::new(f.t0));
    f.m.register(
        "netlink requests",
        Kind::NetlinkMonitor,
        None,
        pulse,
        TaskId(99),
        f.at(0.0),
    );
    assert_eq!(f.m.poll_timeout(), None);
    assert_eq!(f.m.liveness(f.at(1e6)), Ok(()));
}

#[test]
fn a_stall_is_reported_by_the_next_liveness_answer_even_after_its_restart() {
    let mut f = Fixture::new();
    let (id, p) = f.start("health", Kind::Health, 0.0);
    let (_, q) = f.start("ipvs", Kind::Ipvs, 0.0);
    p.beat_at(f.at(1.0));
    q.beat_at(f.at(1.0));
    // The scan finds it late, the abort lands, the restart comes: all
    // before the watchdog asks.
    f.m.handle_timeout(f.at(11.5));
    f.m.handle_stop(id, How::Cancelled, f.at(11.6));
    f.m.handle_timeout(f.at(12.6));
    let (_, p2) = f.start("health", Kind::Health, 12.6);
    p2.beat_at(f.at(12.7));
    q.beat_at(f.at(12.7));
    let stall = Late {
        task: "health".into(),
        late_by: Duration::from_millis(500),
    };
    assert_eq!(f.m.liveness(f.at(13.0)), Err(vec![stall]));
    // Reported once: the restarted task is alive.
    assert_eq!(f.m.liveness(f.at(13.1)), Ok(()));
}

#[test]
fn a_stall_still_late_when_asked_is_named_once() {
    let mut f = Fixture::new();
    let (_, p) = f.start("health", Kind::Health, 0.0);
    p.beat_at(f.at(1.0));
    f.m.handle_timeout(f.at(11.5));
    // Not yet aborted: remembered and late now, one line for it, with the
    // lateness the scan saw.
    assert_eq!(
        f.m.liveness(f.at(11.8)),
        Err(vec![Late {
            task: "health".into(),
            late_by: Duration::from_millis(500),
        }])
    );
}
