use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::watchdog::Error;

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

    fn device(&self, name: &'static str, timeout: Duration) -> Box<dyn Device> {
        Box::new(Fake {
            name,
            timeout,
            log: self.clone(),
            fail: false,
        })
    }
}

#[derive(Debug)]
struct Fake {
    name: &'static str,
    timeout: Duration,
    log: Log,
    fail: bool,
}

impl Device for Fake {
    fn name(&self) -> String {
        self.name.to_owned()
    }
    fn timeout(&self) -> Duration {
        self.timeout
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

fn alive(_: Instant) -> Result<(), Vec<String>> {
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn pets_every_third_of_the_timeout_and_disarms_on_a_deliberate_stop() {
    let log = Log::new();
    let hw = log.device("hw", 3 * S);
    run(vec![hw], alive, tokio::time::sleep(S * 9 / 2)).await;
    // Pets at 0, 1, 2, 3, 4 s; the stop at 4.5 s disarms.
    assert_eq!(log.of("hw", Seen::Pet), every(S, 5));
    assert_eq!(log.of("hw", Seen::Disarm), vec![S * 9 / 2]);
}

#[tokio::test(start_paused = true)]
async fn the_shortest_timeout_sets_the_pace_for_every_watchdog() {
    let log = Log::new();
    let devices = vec![log.device("hw", 10 * S), log.device("systemd", 600 * MS)];
    run(devices, alive, tokio::time::sleep(S - MS)).await;
    // 600 ms / 3 = 200 ms, for both.
    assert_eq!(log.of("hw", Seen::Pet), every(200 * MS, 5));
    assert_eq!(log.of("systemd", Seen::Pet), every(200 * MS, 5));
    assert_eq!(log.of("systemd", Seen::Disarm).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_late_task_stops_the_pets_and_is_asked_about_no_more() {
    let log = Log::new();
    let start = log.start;
    let asked = Arc::new(Mutex::new(0));
    let counter = asked.clone();
    let liveness = move |now: Instant| {
        *counter.lock().unwrap() += 1;
        if now - start >= S * 5 / 2 {
            Err(vec!["health (late by 2s)".to_owned()])
        } else {
            Ok(())
        }
    };
    run(
        vec![log.device("hw", 3 * S)],
        liveness,
        tokio::time::sleep(30 * S),
    )
    .await;
    // Pets at 0, 1, 2 s; at 3 s a task is late: no pet from then on, so
    // the hardware (3 s) would reset the box at 5 s.
    assert_eq!(log.of("hw", Seen::Pet), every(S, 3));
    assert_eq!(*asked.lock().unwrap(), 4);
    // The deliberate stop still disarms.
    assert_eq!(log.of("hw", Seen::Disarm), vec![30 * S]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_task_leaves_the_watchdog_armed() {
    let log = Log::new();
    let hw = log.device("hw", 3 * S);
    let task = tokio::spawn(run(vec![hw], alive, std::future::pending()));
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
    let hw = Box::new(Fake {
        name: "hw",
        timeout: 3 * S,
        log: log.clone(),
        fail: true,
    });
    run(vec![hw], alive, tokio::time::sleep(S * 5 / 2)).await;
    assert_eq!(log.of("hw", Seen::Pet), every(S, 3));
}

#[tokio::test(start_paused = true)]
async fn without_a_watchdog_it_only_waits_for_the_stop() {
    let start = now();
    let liveness =
        |_: Instant| -> Result<(), Vec<String>> { panic!("nothing to pet, nothing to ask") };
    run(Vec::new(), liveness, tokio::time::sleep(7 * S)).await;
    assert_eq!(now() - start, 7 * S);
}
