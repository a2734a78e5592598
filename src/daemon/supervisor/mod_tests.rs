use super::*;

const MS: Duration = Duration::from_millis(1);

/// A loop that checks in every 10 ms.
async fn busy(hb: Heartbeat) {
    loop {
        hb.check_in().await;
        tokio::time::sleep(10 * MS).await;
    }
}

async fn next(events: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
        .expect("the supervisor runs")
}

#[tokio::test]
async fn a_task_that_returns_is_reported_then_due_for_restart() {
    let (sup, mut events) = Supervisor::start();
    sup.spawn("control", Kind::Control, |_hb| async {});
    assert_eq!(
        next(&mut events).await,
        Event::Stopped {
            name: "control".into(),
            kind: Kind::Control,
            how: How::Returned,
            verdict: Verdict::Restart,
        }
    );
    assert_eq!(sup.status().await[0].state, State::Restarting);
    assert_eq!(
        next(&mut events).await,
        Event::RestartDue {
            name: "control".into(),
            kind: Kind::Control,
        }
    );
    sup.spawn("control", Kind::Control, busy);
    tokio::time::sleep(30 * MS).await;
    let v = &sup.status().await[0];
    assert_eq!((v.state, v.restarts), (State::Running, 1));
    assert!(v.check_in_age < Duration::from_secs(1), "{v:?}");
}

#[tokio::test]
async fn a_panic_reaches_the_main_loop_with_its_message() {
    let (sup, mut events) = Supervisor::start();
    sup.spawn("ipvs", Kind::Ipvs, |_hb| async { panic!("table on fire") });
    match next(&mut events).await {
        Event::Stopped { how, verdict, .. } => {
            assert_eq!(how, How::Panicked("table on fire".into()));
            assert_eq!(verdict, Verdict::Restart);
        }
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn a_task_that_stops_checking_in_is_aborted_as_stalled() {
    let (sup, mut events) = Supervisor::start();
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    sup.spawn_with_deadline("health", Kind::Health, Some(50 * MS), |hb| async move {
        let _guard = guard;
        hb.check_in().await;
        std::future::pending::<()>().await;
    });
    tokio::time::sleep(20 * MS).await;
    assert_eq!(sup.liveness().await, Some(Ok(())));
    match next(&mut events).await {
        Event::Stopped { how, .. } => assert!(matches!(how, How::Stalled { .. }), "{how:?}"),
        e => panic!("{e:?}"),
    }
    assert!(
        dropped.load(Ordering::Relaxed),
        "the stalled task was aborted"
    );
    assert_eq!(sup.status().await[0].state, State::Stalled);
}

struct DropFlag(Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn status_lists_every_task_by_name() {
    let (sup, _events) = Supervisor::start();
    sup.spawn_with_deadline(
        "sync",
        Kind::IpvsSync,
        Some(Duration::from_secs(5)),
        |_hb| std::future::pending::<()>(),
    );
    sup.spawn("control", Kind::Control, busy);
    tokio::time::sleep(10 * MS).await;
    assert_eq!(sup.liveness().await, Some(Ok(())));
    let names: Vec<String> = sup.status().await.into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["control", "sync"]);
}

#[tokio::test]
async fn a_task_told_to_end_raises_nothing() {
    let (sup, mut events) = Supervisor::start();
    let (tx, rx) = oneshot::channel::<()>();
    let id = sup.spawn("instance VI_1", Kind::Instance, |_hb| async move {
        let _ = rx.await;
    });
    sup.deregister(id);
    let _ = tx.send(());
    tokio::time::sleep(20 * MS).await;
    assert!(events.try_recv().is_err());
    assert!(sup.status().await.is_empty());
}

/// The fault-hook tests below need the feature; without it this fails, so
/// a plain `cargo test` cannot pass them by skipping.
#[cfg(not(feature = "fault-hooks"))]
#[test]
fn fault_hooks_are_compiled_in() {
    panic!("run with --features fault-hooks (make unit does)");
}

#[cfg(feature = "fault-hooks")]
mod faults {
    use super::*;

    async fn faulted(fault: Fault) -> (Event, Supervisor) {
        let (sup, mut events) = Supervisor::start();
        sup.spawn_with_deadline("health", Kind::Health, Some(200 * MS), busy);
        tokio::time::sleep(20 * MS).await;
        sup.inject("health", fault).await.unwrap();
        (next(&mut events).await, sup)
    }

    #[tokio::test]
    async fn panic_at_the_check_in() {
        let (ev, _sup) = faulted(Fault::Panic).await;
        match ev {
            Event::Stopped {
                how: How::Panicked(m),
                ..
            } => {
                assert!(m.contains("told to panic"), "{m}")
            }
            e => panic!("{e:?}"),
        }
    }

    #[tokio::test]
    async fn stall_at_the_check_in() {
        let (ev, _sup) = faulted(Fault::Stall).await;
        assert!(
            matches!(
                ev,
                Event::Stopped {
                    how: How::Stalled { .. },
                    ..
                }
            ),
            "{ev:?}"
        );
    }

    #[tokio::test]
    async fn end_at_the_check_in() {
        let (ev, _sup) = faulted(Fault::End).await;
        assert!(
            matches!(
                ev,
                Event::Stopped {
                    how: How::Returned,
                    ..
                }
            ),
            "{ev:?}"
        );
    }

    #[tokio::test]
    async fn no_such_task() {
        let (sup, _events) = Supervisor::start();
        assert_eq!(
            sup.inject("nope", Fault::Panic).await,
            Err(FaultError::NoSuchTask("nope".into()))
        );
    }
}
