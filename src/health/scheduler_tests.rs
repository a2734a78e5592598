//! Scheduler timings in virtual time, to the millisecond.
//!
//! A tiny simulated world: each real server is alive or dead as a function
//! of virtual time; a check of a live server succeeds after `RTT`, a check
//! of a dead one fails by refusal (at once) or timeout (after
//! `connect_timeout`). No clock, no sleep; every run has a step limit.

use super::*;
use crate::health::outcome::{Failure, Stage};

const STEP_LIMIT: usize = 100_000;
const RTT: Duration = Duration::ZERO;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Death {
    Refused,
    /// The box's own fault (EMFILE): not the server's.
    Local,
    Timeout(Duration),
}

/// A server's life: alive outside the `dead` windows (start, end), in ms.
#[derive(Clone)]
struct Life {
    dead: Vec<(u64, u64)>,
    death: Death,
    /// How long a successful check takes.
    rtt: Duration,
}

impl Life {
    fn alive() -> Self {
        Life {
            dead: Vec::new(),
            death: Death::Refused,
            rtt: RTT,
        }
    }

    fn dead_from(from: u64, death: Death) -> Self {
        Life {
            dead: vec![(from, u64::MAX)],
            death,
            rtt: RTT,
        }
    }

    fn dead_between(from: u64, to: u64, death: Death) -> Self {
        Life {
            dead: vec![(from, to)],
            death,
            rtt: RTT,
        }
    }

    fn result(&self, at_ms: u64) -> (Duration, Outcome) {
        let dead = self.dead.iter().any(|&(a, b)| at_ms >= a && at_ms < b);
        if !dead {
            return (self.rtt, Ok(()));
        }
        match self.death {
            Death::Refused => (Duration::ZERO, Err(Failure::Refused)),
            Death::Local => (
                Duration::ZERO,
                Err(Failure::Local(crate::health::local::LocalError::Emfile)),
            ),
            Death::Timeout(t) => (
                t,
                Err(Failure::Timeout {
                    stage: Stage::Connect,
                }),
            ),
        }
    }
}

struct Sim {
    t0: Instant,
    now: Instant,
    s: Machine,
    /// One life per checker (a checker sees "its" port of the server).
    lives: Vec<Life>,
    running: Vec<(Instant, CheckId, Outcome)>,
    /// (ms since t0, checker, retry number)
    starts: Vec<(u64, u32, u32)>,
    /// (ms since t0, change)
    events: Vec<(u64, StateChange)>,
}

impl Sim {
    fn new(max_in_flight: usize, seed: u64) -> Self {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            s: Machine::new(Config {
                max_in_flight: NonZeroUsize::new(max_in_flight).unwrap(),
                seed,
            }),
            lives: Vec::new(),
            running: Vec::new(),
            starts: Vec::new(),
            events: Vec::new(),
        }
    }

    fn add(&mut self, alpha: bool, checkers: &[(Timing, Life)]) -> ServerId {
        let timings: Vec<Timing> = checkers.iter().map(|c| c.0).collect();
        self.lives.extend(checkers.iter().map(|c| c.1.clone()));
        self.s.add_server(alpha, &timings, self.now)
    }

    /// Add a server as if `add_server` were called at `at_ms`.
    fn add_at(&mut self, at_ms: u64, checkers: &[(Timing, Life)]) -> ServerId {
        let timings: Vec<Timing> = checkers.iter().map(|c| c.0).collect();
        self.lives.extend(checkers.iter().map(|c| c.1.clone()));
        self.s.add_server(false, &timings, self.t0 + ms(at_ms))
    }

    fn ms(&self, t: Instant) -> u64 {
        t.duration_since(self.t0).as_millis() as u64
    }

    /// Run the world until virtual time `end_ms`.
    fn run_until(&mut self, end_ms: u64) {
        let end = self.t0 + ms(end_ms);
        for _ in 0..STEP_LIMIT {
            // Results due now first, in order of their end.
            self.running.sort_by_key(|r| r.0);
            while self.running.first().is_some_and(|r| r.0 <= self.now) {
                let (_, id, outcome) = self.running.remove(0);
                self.s.handle_result(id, outcome, self.now);
            }
            while let Some(ev) = self.s.poll_event() {
                self.events.push((self.ms(ev.at), ev));
            }
            while let Some(st) = self.s.poll_start(self.now) {
                let at = self.ms(self.now);
                self.starts.push((at, st.check.0, st.retry));
                let (d, outcome) = self.lives[st.check.0 as usize].result(at);
                self.running.push((self.now + d, st.check, outcome));
            }
            let next_result = self.running.iter().map(|r| r.0).min();
            let next = match (next_result, self.s.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(t) if t <= end => self.now = t.max(self.now),
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("step limit reached");
    }

    fn starts_of(&self, check: u32) -> Vec<(u64, u32)> {
        self.starts
            .iter()
            .filter(|s| s.1 == check)
            .map(|s| (s.0, s.2))
            .collect()
    }

    fn changes(&self) -> Vec<(u64, u32, bool)> {
        self.events
            .iter()
            .map(|(t, e)| (*t, e.server.0, e.up))
            .collect()
    }
}

fn timing(delay_loop: Duration, retry: u32, dbr: Duration) -> Timing {
    Timing {
        delay_loop,
        retry,
        delay_before_retry: dbr,
        warmup: Duration::ZERO,
    }
}

/// The seed's TCP_CHECK (delay_loop 5, connect_timeout 3) with retry 3 and
/// the default delay_before_retry 1: the server dies at 10.5 s, just after
/// the good check at 10 s. Checks at 15, 19, 23, 27 s each time out after
/// 3 s; the fourth failure, at 30 s, takes it down:
/// 30 - 10 = delay_loop + (retry+1) * connect_timeout + retry * dbr = 20 s.
#[test]
fn seed_tcp_check_timeouts_down_after_exactly_20s() {
    let mut sim = Sim::new(256, 0);
    let life = Life::dead_from(10_500, Death::Timeout(secs(3)));
    sim.add(false, &[(timing(secs(5), 3, secs(1)), life)]);
    sim.run_until(60_000);
    assert_eq!(
        &sim.starts_of(0)[..8],
        &[
            (0, 0),
            (5_000, 0),
            (10_000, 0),
            (15_000, 0),
            (19_000, 1),
            (23_000, 2),
            (27_000, 3),
            // Down: no retry, next at delay_loop after the end (30 + 5).
            (35_000, 0),
        ]
    );
    assert_eq!(sim.changes(), vec![(30_000, 0, false)]);
    let ev = sim.events[0].1;
    assert_eq!(
        ev.cause,
        Err(Failure::Timeout {
            stage: Stage::Connect
        })
    );
    // A dead server keeps being checked every delay_loop, no retries:
    // 35 -> ends 38 -> 43 -> ends 46 -> 51 ...
    assert_eq!(
        &sim.starts_of(0)[7..10],
        &[(35_000, 0), (43_000, 0), (51_000, 0)]
    );
    let st = sim.s.check_status(CheckId(0));
    assert!(!st.up);
    assert_eq!(st.retries_used, 0);
}

/// The same with an immediate refusal: 5 + 3 * 1 = 8 s after the last good
/// check (failures at 15, 16, 17, 18 s; down at 18).
#[test]
fn seed_tcp_check_refused_down_after_exactly_8s() {
    let mut sim = Sim::new(256, 0);
    let life = Life::dead_from(10_500, Death::Refused);
    sim.add(false, &[(timing(secs(5), 3, secs(1)), life)]);
    sim.run_until(20_000);
    assert_eq!(
        &sim.starts_of(0)[3..7],
        &[(15_000, 0), (16_000, 1), (17_000, 2), (18_000, 3)]
    );
    assert_eq!(sim.changes(), vec![(18_000, 0, false)]);
    assert_eq!(sim.s.check_status(CheckId(0)).consecutive_failures, 4);
}

/// The seed config as written (TCP_CHECK default retry 1): two refusals.
#[test]
fn retry_one_is_two_failures_and_retry_zero_is_one() {
    let mut sim = Sim::new(256, 0);
    sim.add(
        false,
        &[(
            timing(secs(5), 1, secs(1)),
            Life::dead_from(7_000, Death::Refused),
        )],
    );
    sim.add(
        false,
        &[(
            timing(secs(5), 0, secs(1)),
            Life::dead_from(7_000, Death::Refused),
        )],
    );
    sim.run_until(20_000);
    assert_eq!(sim.changes(), vec![(10_000, 1, false), (11_000, 0, false)]);
}

/// A local error (EMFILE) is not a failure: with `retry 0` (the first
/// failure is fatal) the server stays UP through ten of them, the checks
/// keep their delay_loop, and a real failure after them is still the
/// first of its streak.
#[test]
fn a_local_error_keeps_the_server_up_and_is_counted() {
    let mut sim = Sim::new(256, 0);
    let life = Life {
        dead: vec![(5_000, 50_000)],
        death: Death::Local,
        rtt: RTT,
    };
    sim.add(false, &[(timing(secs(5), 0, secs(1)), life)]);
    sim.run_until(52_000);
    assert_eq!(sim.changes(), vec![]);
    let starts: Vec<u64> = sim.starts_of(0).iter().map(|s| s.0).collect();
    assert_eq!(&starts[..4], &[0, 5_000, 10_000, 15_000]);
    assert_eq!(sim.s.stats().local_errors, 9);
    let st = sim.s.check_status(CheckId(0));
    assert!(st.up);
    assert_eq!((st.consecutive_failures, st.checks_failed), (0, 0));

    // An UP checker within a retry streak keeps its retry cadence.
    let mut sim = Sim::new(256, 0);
    let life = Life {
        dead: vec![(5_000, 5_500)],
        death: Death::Refused,
        rtt: RTT,
    };
    sim.add(false, &[(timing(secs(5), 1, secs(1)), life)]);
    sim.run_until(5_000);
    sim.lives[0] = Life {
        dead: vec![(5_500, 7_000)],
        death: Death::Local,
        rtt: RTT,
    };
    sim.run_until(9_000);
    let starts: Vec<(u64, u32)> = sim.starts_of(0);
    assert_eq!(&starts[1..4], &[(5_000, 0), (6_000, 1), (7_000, 1)]);
    assert_eq!(sim.changes(), vec![]);
}

/// One success brings a DOWN server back, at once; retries restart from
/// zero after it.
#[test]
fn recovery_after_one_success() {
    let mut sim = Sim::new(256, 0);
    // Dead 10.5 s .. 40 s, by timeout: down at 30 (see the seed test),
    // checks at 35 (fails, ends 38) and 43 (alive again: up at 43).
    let life = Life::dead_between(10_500, 40_000, Death::Timeout(secs(3)));
    sim.add(false, &[(timing(secs(5), 3, secs(1)), life)]);
    sim.run_until(50_000);
    assert_eq!(sim.changes(), vec![(30_000, 0, false), (43_000, 0, true)]);
    assert_eq!(sim.events[1].1.cause, Ok(()));
    assert_eq!(
        &sim.starts_of(0)[7..10],
        &[(35_000, 0), (43_000, 0), (48_000, 0)]
    );
    let st = sim.s.check_status(CheckId(0));
    assert!(st.up);
    assert_eq!(st.consecutive_failures, 0);
}

/// A failure followed by a success within the retries changes nothing,
/// and the next streak gets the full retry count again.
#[test]
fn a_success_during_retries_resets_the_count() {
    let mut sim = Sim::new(256, 0);
    let life = Life {
        // Refused at the check of 5 s and at the first retry (6 s); alive
        // at the second retry (7 s). Then dead from 20 s.
        dead: vec![(5_000, 6_500), (20_000, u64::MAX)],
        death: Death::Refused,
        rtt: RTT,
    };
    sim.add(false, &[(timing(secs(5), 2, secs(1)), life)]);
    sim.run_until(40_000);
    assert_eq!(
        &sim.starts_of(0)[..6],
        &[
            (0, 0),
            (5_000, 0),
            (6_000, 1),
            (7_000, 2),
            (12_000, 0),
            (17_000, 0)
        ]
    );
    // Dead from 20: fails at 22, 23, 24 -> down at 24 (retry 2 in full).
    assert_eq!(sim.changes(), vec![(24_000, 0, false)]);
}

/// Retry timing with a delay_before_retry longer than delay_loop is still
/// delay_before_retry (keepalived uses it as given).
#[test]
fn delay_before_retry_is_used_as_given() {
    let mut sim = Sim::new(256, 0);
    sim.add(
        false,
        &[(
            timing(secs(2), 1, secs(7)),
            Life::dead_from(1, Death::Refused),
        )],
    );
    sim.run_until(20_000);
    assert_eq!(
        &sim.starts_of(0)[..4],
        &[(0, 0), (2_000, 0), (9_000, 1), (11_000, 0)]
    );
    assert_eq!(sim.changes(), vec![(9_000, 0, false)]);
}

#[test]
fn warmup_spreads_first_checks_deterministically() {
    let w = secs(5);
    let mut a = Sim::new(1024, 42);
    let mut b = Sim::new(1024, 42);
    let mut c = Sim::new(1024, 43);
    for sim in [&mut a, &mut b, &mut c] {
        for _ in 0..100 {
            let t = Timing {
                warmup: w,
                ..timing(secs(5), 1, secs(1))
            };
            sim.add(false, &[(t, Life::alive())]);
        }
        sim.run_until(4_999);
    }
    let firsts = |s: &Sim| -> Vec<u64> {
        (0..100)
            .map(|i| s.starts_of(i).first().map(|x| x.0).unwrap_or(u64::MAX))
            .collect()
    };
    let fa = firsts(&a);
    assert_eq!(fa, firsts(&b), "same seed, same spread");
    assert_ne!(fa, firsts(&c), "another seed, another spread");
    // Each first check is at exactly its warmup part, within 0..=5000 ms;
    // those with a part of 5000 ms have not started by 4999.
    for (i, &t) in fa.iter().enumerate() {
        let part = warmup_part(42, i as u32, w).as_millis() as u64;
        assert!(part <= 5_000);
        if part < 5_000 {
            assert_eq!(t, part);
        }
    }
    // Spread, not bunched: at least 50 distinct start times out of 100,
    // and both halves of the window used.
    let mut distinct = fa.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 50, "{distinct:?}");
    assert!(fa.iter().any(|&t| t < 2_500) && fa.iter().any(|&t| (2_500..5_000).contains(&t)));
    // warmup 0: at once.
    assert_eq!(warmup_part(42, 7, Duration::ZERO), Duration::ZERO);
}

/// The first check runs after the warmup part, then every delay_loop.
#[test]
fn first_check_after_warmup_then_every_delay_loop() {
    let mut sim = Sim::new(16, 9);
    let t = Timing {
        warmup: secs(3),
        ..timing(secs(5), 1, secs(1))
    };
    sim.add(false, &[(t, Life::alive())]);
    sim.run_until(20_000);
    let w = warmup_part(9, 0, secs(3)).as_millis() as u64;
    assert_eq!(
        sim.starts_of(0),
        vec![(w, 0), (w + 5_000, 0), (w + 10_000, 0), (w + 15_000, 0)]
    );
    assert!(sim.changes().is_empty(), "steady UP: no event");
}

#[test]
fn alpha_starts_down_until_the_first_success() {
    let mut sim = Sim::new(16, 0);
    let t = timing(secs(5), 3, secs(1));
    let good = sim.add(
        true,
        &[(
            Timing { warmup: ms(0), ..t },
            Life {
                rtt: ms(20),
                ..Life::alive()
            },
        )],
    );
    let bad = sim.add(true, &[(t, Life::dead_from(0, Death::Refused))]);
    assert!(!sim.s.server_up(good) && !sim.s.server_up(bad));
    sim.run_until(12_000);
    // Up when its first check succeeds (started at 0, 20 ms long).
    assert_eq!(sim.changes(), vec![(20, good.0, true)]);
    // The dead one: no event (it started DOWN), no retries, every loop.
    assert_eq!(sim.starts_of(1), vec![(0, 0), (5_000, 0), (10_000, 0)]);
    assert!(!sim.s.server_up(bad));
}

#[test]
fn without_alpha_a_dead_server_goes_down_after_its_retries() {
    let mut sim = Sim::new(16, 0);
    let bad = sim.add(
        false,
        &[(
            timing(secs(5), 3, secs(1)),
            Life::dead_from(0, Death::Refused),
        )],
    );
    assert!(sim.s.server_up(bad));
    sim.run_until(10_000);
    assert_eq!(
        sim.starts_of(0),
        vec![(0, 0), (1_000, 1), (2_000, 2), (3_000, 3), (8_000, 0)]
    );
    assert_eq!(sim.changes(), vec![(3_000, 0, false)]);
}

/// A state carried over from a replaced plan: a server restated DOWN
/// behaves as an `alpha` one (no retries, up at its first success, with an
/// event), one restated UP as a fresh one (down after its retries).
#[test]
fn a_restated_server_starts_in_the_state_it_is_given() {
    let mut sim = Sim::new(16, 0);
    let t = timing(secs(5), 3, secs(1));
    let back = sim.add(
        false,
        &[
            (
                Timing { warmup: ms(0), ..t },
                Life::dead_between(0, 7_000, Death::Refused),
            ),
            (Timing { warmup: ms(0), ..t }, Life::alive()),
        ],
    );
    let dead = sim.add(true, &[(t, Life::dead_from(0, Death::Refused))]);
    sim.s.restate(back, false);
    sim.s.restate(dead, true);
    sim.s.restate(ServerId(7), true); // no such server: nothing
    assert!(!sim.s.server_up(back) && sim.s.server_up(dead));
    sim.run_until(12_000);
    // DOWN: every loop, no retries; UP once both checkers succeeded.
    assert_eq!(sim.starts_of(0), vec![(0, 0), (5_000, 0), (10_000, 0)]);
    // UP: retried, then DOWN, as a server that was up goes down.
    assert_eq!(
        sim.starts_of(2),
        vec![(0, 0), (1_000, 1), (2_000, 2), (3_000, 3), (8_000, 0)]
    );
    assert_eq!(
        sim.changes(),
        vec![(3_000, dead.0, false), (10_000, back.0, true)]
    );
}

/// TCP_CHECK passes, WS_CHECK fails: the server is down, because of the
/// WS checker; it is up again only when every checker is.
#[test]
fn several_checkers_all_must_be_up() {
    let mut sim = Sim::new(16, 0);
    let t = timing(secs(5), 0, secs(1));
    let ws_life = Life::dead_between(6_000, 21_000, Death::Refused);
    let tcp_life = Life::dead_between(12_000, 16_000, Death::Refused);
    let s = sim.add(false, &[(t, tcp_life), (t, ws_life)]);
    sim.run_until(40_000);
    // WS fails at 10 (down, caused by checker 1). TCP fails at 15 (no
    // event: already down) and succeeds at 20 (still down: WS is down).
    // WS succeeds at 25: up.
    assert_eq!(
        sim.changes(),
        vec![(10_000, s.0, false), (25_000, s.0, true)]
    );
    assert_eq!(sim.events[0].1.check, CheckId(1));
    assert_eq!(sim.events[1].1.check, CheckId(1));
    let checks: Vec<CheckId> = sim.s.server_checks(s).collect();
    assert_eq!(checks, vec![CheckId(0), CheckId(1)]);
}

/// Limit 2, five checks due at 0, each 1 s long: they start at 0, 0, 1, 1,
/// 2 in FIFO order; three waited, for 1 + 1 + 2 = 4 s in all.
#[test]
fn concurrency_limit_queues_in_fifo_order_and_counts_lateness() {
    let mut sim = Sim::new(2, 0);
    for _ in 0..5 {
        sim.add(
            false,
            &[(
                timing(secs(60), 1, secs(1)),
                Life {
                    rtt: secs(1),
                    ..Life::alive()
                },
            )],
        );
    }
    sim.run_until(10_000);
    let order: Vec<(u64, u32)> = sim.starts.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(
        order,
        vec![(0, 0), (0, 1), (1_000, 2), (1_000, 3), (2_000, 4)]
    );
    let st = sim.s.stats();
    assert_eq!(st.started, 5);
    assert_eq!(st.completed, 5);
    assert_eq!(st.throttled, 3);
    assert_eq!(st.throttled_lateness, secs(4));
    assert_eq!(st.max_lateness, secs(2));
    assert_eq!(st.max_queued, 3);
    assert_eq!(sim.s.running(), 0);
    assert_eq!(sim.s.queued(), 0);
}

/// A check that became due while the slots were full still runs before
/// one that becomes due later (FIFO by due time, not by id).
#[test]
fn queue_is_ordered_by_due_time() {
    let mut sim = Sim::new(1, 0);
    let long = Life {
        rtt: secs(3),
        ..Life::alive()
    };
    let t = timing(secs(60), 1, secs(1));
    // Checker 0 runs 0..3 s; checker 2 is due at 1 s, checker 1 at 2 s
    // (servers added as if at those times, warmup 0).
    sim.add_at(0, &[(t, long.clone())]);
    sim.add_at(2_000, &[(t, long.clone())]);
    sim.add_at(1_000, &[(t, long)]);
    sim.run_until(10_000);
    let order: Vec<(u64, u32)> = sim.starts.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(order, vec![(0, 0), (3_000, 2), (6_000, 1)]);
    assert_eq!(sim.s.stats().max_lateness, secs(4));
    assert_eq!(sim.s.stats().throttled, 2);
}

#[test]
fn stale_and_unknown_results_are_ignored() {
    let mut sim = Sim::new(4, 0);
    sim.add(false, &[(timing(secs(5), 1, secs(1)), Life::alive())]);
    let now = sim.now;
    // Not running yet (waiting for its first start? it is due at once but
    // poll_start has not been called).
    sim.s.handle_result(CheckId(0), Err(Failure::Refused), now);
    sim.s.handle_result(CheckId(9), Err(Failure::Refused), now);
    assert_eq!(sim.s.stats().stale_results, 2);
    assert!(sim.s.poll_event().is_none());
    let st = sim.s.poll_start(now).unwrap();
    sim.s.handle_result(st.check, Ok(()), now);
    sim.s.handle_result(st.check, Err(Failure::Refused), now);
    assert_eq!(sim.s.stats().stale_results, 3);
    assert!(sim.s.check_status(CheckId(0)).up);
}

#[test]
fn server_without_checkers_is_always_up_and_idle() {
    let mut s = Machine::new(Config::default());
    let now = Instant::now();
    let id = s.add_server(true, &[], now);
    assert!(s.server_up(id));
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.poll_start(now), None);
}

#[test]
fn poll_timeout_is_the_next_due_check() {
    let mut s = Machine::new(Config::default());
    let now = Instant::now();
    s.add_server(false, &[timing(secs(5), 1, secs(1))], now);
    assert_eq!(s.poll_timeout(), Some(now));
    let st = s.poll_start(now).unwrap();
    assert_eq!(s.poll_timeout(), None, "running: only the result wakes");
    s.handle_result(st.check, Ok(()), now + ms(30));
    assert_eq!(s.poll_timeout(), Some(now + ms(5_030)));
    assert_eq!(s.poll_start(now + ms(5_029)), None, "not due yet");
    assert_eq!(s.check_status(st.check).next_due, Some(now + ms(5_030)));
}

/// `ha_suspend` away from the VIP: a dead server's checks are skipped, so
/// it keeps its state; resumed, the checks go on at their next due time.
#[test]
fn a_paused_server_is_not_checked_and_keeps_its_state() {
    let mut sim = Sim::new(16, 1);
    let id = sim.add(
        false,
        &[(
            timing(secs(5), 0, secs(1)),
            Life::dead_from(0, Death::Refused),
        )],
    );
    sim.s.set_paused(id, true);
    sim.run_until(12_000);
    assert!(sim.starts_of(0).is_empty(), "{:?}", sim.starts_of(0));
    assert!(sim.changes().is_empty(), "still UP: no check ran");
    sim.s.set_paused(id, false);
    sim.run_until(30_000);
    // Skipped at 0, 5 and 10 s; the next due time is 15 s.
    assert_eq!(sim.starts_of(0).first(), Some(&(15_000, 0)));
    assert_eq!(sim.changes(), vec![(15_000, 0, false)]);
}

/// `Timers` hands entries out in the order a `BTreeSet<(Instant, u32)>`
/// does, whatever mix of FIFO-able and other entries goes in: results
/// with a few delays (more than `FIFOS` of them), first checks at random
/// times, ties of due times in any index order, a `now` that goes back.
#[test]
fn timers_keep_the_order_of_a_tree() {
    let t0 = Instant::now();
    let mut timers = Timers::default();
    let mut tree = BTreeSet::new();
    let mut x = 7u64;
    let mut now = t0;
    for step in 0..20_000u32 {
        x = splitmix64(x);
        match x % 7 {
            0..=3 => {
                // A result: `now` mostly grows, at times stays or goes back.
                now = match (x >> 8) % 10 {
                    0 => now
                        .checked_sub(Duration::from_millis(3))
                        .unwrap_or(t0)
                        .max(t0),
                    1 | 2 => now,
                    _ => now + Duration::from_micros((x >> 16) % 900),
                };
                let delay = Duration::from_millis(100 * ((x >> 24) % 10));
                let index = ((x >> 32) % 64) as u32;
                timers.insert(now + delay, index, Some(delay));
                tree.insert((now + delay, index));
            }
            4 => {
                let due = t0 + Duration::from_millis((x >> 8) % 5_000);
                let index = ((x >> 32) % 64) as u32;
                timers.insert(due, index, None);
                tree.insert((due, index));
            }
            _ => {
                let at = now + Duration::from_millis((x >> 8) % 300);
                let want = tree.first().copied().filter(|&(d, _)| d <= at);
                if want.is_some() {
                    tree.pop_first();
                }
                assert_eq!(timers.pop_due(at), want, "step {step}");
            }
        }
        assert_eq!(timers.first(), tree.first().copied(), "step {step}");
    }
    while let Some(e) = tree.pop_first() {
        assert_eq!(timers.pop_due(e.0), Some(e));
    }
    assert_eq!(timers.first(), None);
}
