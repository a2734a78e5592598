use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::watchdog::{flags, BootStatus, Error};

const S: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Pet,
    Disarm,
    Drop,
}

/// Which fake saw what, and when (from the test's start).
type Entry = (&'static str, Duration, Seen);

/// What the fakes saw.
#[derive(Debug, Clone)]
struct Log {
    start: Instant,
    seen: Arc<Mutex<Vec<Entry>>>,
}

impl Log {
    fn new() -> Log {
        Log {
            start: now(),
            seen: Arc::default(),
        }
    }

    fn push(&self, name: &'static str, s: Seen) {
        let at = now() - self.start;
        self.seen.lock().unwrap().push((name, at, s));
    }

    fn of(&self, name: &str, s: Seen) -> Vec<Duration> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(n, _, x)| *n == name && *x == s)
            .map(|(_, at, _)| *at)
            .collect()
    }

    fn fake(&self, name: &'static str, timeout: Duration) -> Fake {
        Fake {
            name,
            timeout,
            log: self.clone(),
            fail: false,
            follows: if name == "systemd" {
                Follows::Runtime
            } else {
                Follows::Tasks
            },
        }
    }

    fn device(&self, name: &'static str, timeout: Duration) -> Box<dyn Device> {
        Box::new(self.fake(name, timeout))
    }
}

#[derive(Debug)]
struct Fake {
    name: &'static str,
    timeout: Duration,
    log: Log,
    fail: bool,
    follows: Follows,
}

impl Device for Fake {
    fn name(&self) -> String {
        self.name.to_owned()
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    fn follows(&self) -> Follows {
        self.follows
    }
    fn keepalive(&mut self) -> Result<(), Error> {
        self.log.push(self.name, Seen::Pet);
        if self.fail {
            return Err(Error::Notify {
                source: std::io::Error::other("fake"),
            });
        }
        Ok(())
    }
    fn disarm(self: Box<Self>) -> Result<(), Error> {
        self.log.push(self.name, Seen::Disarm);
        Ok(())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.log.push(self.name, Seen::Drop);
    }
}

fn every(step: Duration, n: u32) -> Vec<Duration> {
    (0..n).map(|i| step * i).collect()
}

/// A supervisor whose answer is a function of the time since the start,
/// after `delay`.
struct Sup<F> {
    answer: F,
    delay: Duration,
    asked: Arc<Mutex<u32>>,
}

impl<F> Liveness for Sup<F>
where
    F: FnMut(Duration) -> Option<Result<(), Vec<String>>> + Send,
{
    type Late = String;
    fn ask(&mut self) -> impl Future<Output = Option<Result<(), Vec<String>>>> + Send {
        *self.asked.lock().unwrap() += 1;
        let a = (self.answer)(now() - T0.with(|t| t.get().unwrap()));
        let delay = self.delay;
        async move {
            tokio::time::sleep(delay).await;
            a
        }
    }
}

thread_local! {
    static T0: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

fn sup<F>(answer: F) -> Sup<F>
where
    F: FnMut(Duration) -> Option<Result<(), Vec<String>>> + Send,
{
    T0.with(|t| t.set(Some(now())));
    Sup {
        answer,
        delay: Duration::ZERO,
        asked: Arc::default(),
    }
}

fn alive() -> impl Liveness<Late = String> {
    sup(|_| Some(Ok(())))
}

type Opener = Box<dyn FnMut() -> Attempt + Send>;

/// Watchdogs: systemd's (if any), and a hardware one opened by `open`.
fn setup(
    hardware: Option<Opener>,
    service: Option<Box<dyn Device>>,
) -> (Setup<Opener>, watch::Receiver<Status>) {
    let (tx, rx) = watch::channel(Status::new(None, None));
    let s = Setup {
        hardware,
        service,
        status: tx,
        on_reset: Box::new(|_| {}),
    };
    (s, rx)
}

fn armed(boot: u32) -> Armed {
    Armed {
        device: "/dev/watchdog".into(),
        identity: "fake".into(),
        timeout: 3 * S,
        timeout_set: true,
        closes_unarmed: false,
        boot: BootStatus::from_flags(boot),
    }
}

/// Opens `hw` at once.
fn present(hw: Box<dyn Device>) -> Option<Opener> {
    let mut hw = Some(hw);
    Some(Box::new(move || match hw.take() {
        Some(d) => Attempt::Armed(d, armed(0)),
        None => panic!("opened twice"),
    }))
}

#[tokio::test(start_paused = true)]
async fn pets_every_third_of_the_timeout_and_disarms_on_a_deliberate_stop() {
    let log = Log::new();
    let (s, rx) = setup(present(log.device("hw", 3 * S)), None);
    run(s, alive(), tokio::time::sleep(S * 9 / 2)).await;
    // Pets at 0, 1, 2, 3, 4 s; the stop at 4.5 s disarms.
    assert_eq!(log.of("hw", Seen::Pet), every(S, 5));
    assert_eq!(log.of("hw", Seen::Disarm), vec![S * 9 / 2]);
    assert!(matches!(
        &rx.borrow().hardware,
        HardwareState::Armed {
            pets: Pets::Disarmed,
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn the_shortest_timeout_sets_the_pace_for_every_watchdog() {
    let log = Log::new();
    let (s, _rx) = setup(
        present(log.device("hw", 10 * S)),
        Some(log.device("systemd", 600 * MS)),
    );
    run(s, alive(), tokio::time::sleep(S - MS)).await;
    // 600 ms / 3 = 200 ms, for both.
    assert_eq!(log.of("hw", Seen::Pet), every(200 * MS, 5));
    assert_eq!(log.of("systemd", Seen::Pet), every(200 * MS, 5));
    assert_eq!(log.of("systemd", Seen::Disarm).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_late_task_stops_the_hardware_for_good_while_systemd_is_petted() {
    let log = Log::new();
    let (s, rx) = setup(
        present(log.device("hw", 3 * S)),
        Some(log.device("systemd", 3 * S)),
    );
    let q = sup(|t| {
        if t >= S * 5 / 2 && t < 4 * S {
            Some(Err(vec!["health (late by 2s)".to_owned()]))
        } else {
            Some(Ok(()))
        }
    });
    let asked = q.asked.clone();
    run(s, q, tokio::time::sleep(10 * S)).await;
    // Pets at 0, 1, 2 s; at 3 s a task is late: the hardware gets no pet
    // from then on, so it (3 s) would reset the box at 5 s; systemd's pets
    // go on, the runtime answers.
    assert_eq!(log.of("hw", Seen::Pet), every(S, 3));
    assert_eq!(log.of("systemd", Seen::Pet), every(S, 10));
    assert_eq!(*asked.lock().unwrap(), 10);
    match &rx.borrow().hardware {
        HardwareState::Armed {
            pets: Pets::Disarmed,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    // The deliberate stop still disarms.
    assert_eq!(log.of("hw", Seen::Disarm), vec![10 * S]);
}

#[tokio::test(start_paused = true)]
async fn a_withheld_hardware_is_said_in_the_status() {
    let log = Log::new();
    let (s, rx) = setup(present(log.device("hw", 3 * S)), None);
    let q = sup(|_| Some(Err(vec!["ipvs (late by 1s)".to_owned()])));
    let task = tokio::spawn(run(s, q, std::future::pending()));
    tokio::time::sleep(S).await;
    match &rx.borrow().hardware {
        HardwareState::Armed {
            pets: Pets::Withheld { late },
            ..
        } => assert_eq!(late, &["ipvs (late by 1s)"]),
        other => panic!("{other:?}"),
    }
    task.abort();
    assert!(log.of("hw", Seen::Pet).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_that_does_not_answer_in_time_gets_no_pet_for_anyone() {
    let log = Log::new();
    let (s, _rx) = setup(
        present(log.device("hw", 30 * S)),
        Some(log.device("systemd", 3 * S)),
    );
    let mut q = sup(|_| Some(Ok(())));
    q.delay = QUERY_BOUND + MS;
    run(s, q, tokio::time::sleep(5 * S)).await;
    assert!(log.of("hw", Seen::Pet).is_empty());
    assert!(log.of("systemd", Seen::Pet).is_empty());
    // Nothing withheld for good: the stop disarms as ever.
    assert_eq!(log.of("hw", Seen::Disarm), vec![5 * S]);
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_within_the_bound_still_pets() {
    let log = Log::new();
    let (s, _rx) = setup(None, Some(log.device("systemd", 3 * S)));
    let mut q = sup(|_| Some(Ok(())));
    q.delay = QUERY_BOUND - MS;
    run(s, q, tokio::time::sleep(S)).await;
    assert_eq!(log.of("systemd", Seen::Pet), vec![QUERY_BOUND - MS]);
}

#[tokio::test(start_paused = true)]
async fn a_device_that_appears_late_is_opened_and_petted_without_delaying_systemd() {
    let log = Log::new();
    let hw = log.device("hw", 3 * S);
    let mut hw = Some(hw);
    let tries = Arc::new(Mutex::new(0));
    let counted = tries.clone();
    let open: Opener = Box::new(move || {
        *counted.lock().unwrap() += 1;
        if now() - T0.with(|t| t.get().unwrap()) < 5 * S {
            return Attempt::Absent {
                device: "/dev/watchdog".into(),
            };
        }
        Attempt::Armed(hw.take().expect("opened once"), armed(0))
    });
    let (s, rx) = setup(Some(open), Some(log.device("systemd", 6 * S)));
    run(s, alive(), tokio::time::sleep(S * 13 / 2)).await;
    // Tried at 0..5 s every second, opened at 5 s and petted then (the
    // pace becomes a third of its 3 s).
    assert_eq!(*tries.lock().unwrap(), 6);
    assert_eq!(log.of("hw", Seen::Pet), vec![5 * S, 6 * S]);
    assert_eq!(
        log.of("systemd", Seen::Pet),
        vec![ZERO, 2 * S, 4 * S, 5 * S, 6 * S]
    );
    assert!(matches!(rx.borrow().hardware, HardwareState::Armed { .. }));
}

const ZERO: Duration = Duration::ZERO;

#[tokio::test(start_paused = true)]
async fn no_device_after_the_patience_is_said_once_and_systemd_still_petted() {
    let log = Log::new();
    let tries = Arc::new(Mutex::new(0));
    let counted = tries.clone();
    let open: Opener = Box::new(move || {
        *counted.lock().unwrap() += 1;
        Attempt::Absent {
            device: "/dev/watchdog".into(),
        }
    });
    let (s, rx) = setup(Some(open), Some(log.device("systemd", 3 * S)));
    run(s, alive(), tokio::time::sleep(OPEN_PATIENCE + 10 * S)).await;
    // Every second from 0 to 30 s inclusive, then never again.
    assert_eq!(*tries.lock().unwrap(), 31);
    assert!(matches!(rx.borrow().hardware, HardwareState::Absent { .. }));
    assert_eq!(log.of("systemd", Seen::Pet).len(), 40);
}

#[tokio::test(start_paused = true)]
async fn a_box_reset_by_its_watchdog_is_told_once() {
    let log = Log::new();
    let mut hw = Some(log.device("hw", 3 * S));
    let open: Opener =
        Box::new(move || Attempt::Armed(hw.take().expect("opened once"), armed(flags::CARDRESET)));
    let told = Arc::new(Mutex::new(Vec::new()));
    let t = told.clone();
    let (mut s, rx) = setup(Some(open), None);
    s.on_reset = Box::new(move |a: &Armed| t.lock().unwrap().push(a.device.clone()));
    run(s, alive(), tokio::time::sleep(2 * S)).await;
    assert_eq!(
        *told.lock().unwrap(),
        vec![std::path::PathBuf::from("/dev/watchdog")]
    );
    assert!(rx.borrow().boot().unwrap().reset_by_watchdog());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_task_leaves_the_watchdog_armed() {
    let log = Log::new();
    let (s, _rx) = setup(present(log.device("hw", 3 * S)), None);
    let task = tokio::spawn(run(s, alive(), std::future::pending()));
    tokio::time::sleep(S * 5 / 2).await;
    task.abort();
    let _ = task.await;
    assert_eq!(log.of("hw", Seen::Pet), every(S, 3));
    assert!(log.of("hw", Seen::Disarm).is_empty());
    assert_eq!(log.of("hw", Seen::Drop), vec![S * 5 / 2]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_pet_is_retried_at_the_next_interval() {
    let log = Log::new();
    let mut hw = log.fake("hw", 3 * S);
    hw.fail = true;
    let (s, _rx) = setup(present(Box::new(hw)), None);
    run(s, alive(), tokio::time::sleep(S * 5 / 2)).await;
    assert_eq!(log.of("hw", Seen::Pet), every(S, 3));
}

#[tokio::test(start_paused = true)]
async fn without_a_watchdog_it_only_waits_for_the_stop() {
    let start = now();
    let q = sup(|_| panic!("nothing to pet, nothing to ask"));
    let (s, _rx) = setup(None, None);
    run(s, q, tokio::time::sleep(7 * S)).await;
    assert_eq!(now() - start, 7 * S);
}
