//! The health-check scheduler, sans-IO (quinn-proto style).
//!
//! Owns: when each checker runs, its retry counting, each checker's and
//! each real server's up/down state, the in-flight limit with its FIFO
//! queue, and the state-change events.
//! Must not: read the clock (`now` is an argument), open sockets, spawn,
//! or know what a check does. The edge ([`super::Runner`]) asks
//! [`Machine::poll_start`] what to start, runs it, feeds the result to
//! [`Machine::handle_result`], drains [`Machine::poll_event`] and
//! sleeps until [`Machine::poll_timeout`].
//!
//! Semantics (keepalived.conf(5) and keepalived's `check_http.c` epilog):
//! - `retry`: "Retry count to make additional checks if check of an alive
//!   server fails". An UP checker that fails is checked again
//!   `delay_before_retry` after the failure, up to `retry` more times; the
//!   failure of attempt `retry + 1` takes it DOWN. So `retry 0` means the
//!   first failure is fatal, and `retry 3` means four failed checks in a
//!   row. A success at any point resets the count.
//! - A DOWN checker is not retried ("do not retry if server is already
//!   known as dead"): it is checked every `delay_loop`, and ONE success
//!   brings it UP. (keepalived's TCP_CHECK also retries a dead server, so a
//!   dead one costs it `retry + 1` connects per loop; its HTTP_GET does
//!   not. We follow the manual and HTTP_GET for every kind.)
//! - Every delay is counted from the END of the previous check, as
//!   keepalived re-arms its timer in the check's epilog. Hence, for a
//!   server that dies just after a good check, with checks that time out:
//!   `down_at - last_ok_end = delay_loop + (retry + 1) * connect_timeout +
//!   retry * delay_before_retry`. Seed config with `retry 3`
//!   (TCP_CHECK, delay_loop 5 s, connect_timeout 3 s, delay_before_retry
//!   1 s): 5 + 4 * 3 + 3 * 1 = 20 s exactly; with an immediate refusal
//!   instead of a timeout: 5 + 3 * 1 = 8 s. Checks that wait for a free
//!   slot (see below) are late by that wait.
//! - The first check of each checker runs after a pseudo-random part of
//!   `warmup` (keepalived: `warmup * random() / RAND_MAX`, default
//!   `warmup` = `delay_loop`, `warmup 0` = at once). Here the part is
//!   `hash(seed, checker index) % (warmup + 1 ms)`, so tests are
//!   deterministic. keepalived's extra 1 s BOOTSTRAP_DELAY is not copied.
//! - Initial state: DOWN with `alpha` (until the first success), else UP.
//!   A real server is UP when ALL its checkers are UP (and always with no
//!   checker). Events are emitted only for real-server changes, carrying
//!   the result that caused them; the initial state is no event.
//! - A check that could not be made for a reason of this box
//!   (`Failure::Local`: EMFILE, ENOBUFS, no local port, ...) is no failure:
//!   the checker keeps its state, failure streak and retry count, and runs
//!   again after the delay it was on (`delay_before_retry` within a retry
//!   streak, else `delay_loop`); [`Stats::local_errors`] counts it.
//! - At most `max_in_flight` checks run at once; the rest wait in FIFO
//!   order of their due time. A check that had to wait for a slot is
//!   counted in [`Stats`] with how late it started.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use super::outcome::Outcome;

/// Default bound on checks in flight.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Index of a checker in the scheduler (in order of `add_server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(pub u32);

/// Index of a real server in the scheduler (in order of `add_server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub u32);

/// One checker's timing, resolved from the config (checker value, else
/// the virtual server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    pub delay_loop: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    /// Upper bound of the random delay of the first check; zero: at once.
    pub warmup: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub max_in_flight: NonZeroUsize,
    /// Seeds the warmup spread; the runner takes it from the clock.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_in_flight: NonZeroUsize::new(DEFAULT_MAX_IN_FLIGHT).expect("non-zero"),
            seed: 0,
        }
    }
}

/// Start this check now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub check: CheckId,
    /// 0 for a regular check, n for the n-th retry after a failure.
    pub retry: u32,
    /// When it was due; `now - due` is how late it starts.
    pub due: Instant,
}

/// A real server changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    pub server: ServerId,
    pub up: bool,
    /// The checker whose result caused the change.
    pub check: CheckId,
    /// That result.
    pub cause: Outcome,
    pub at: Instant,
}

/// Counters of the scheduler as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub started: u64,
    pub completed: u64,
    /// Results for a check that was not running (ignored).
    pub stale_results: u64,
    /// Checks that had to wait for a free slot.
    pub throttled: u64,
    /// Sum and maximum of the lateness of throttled checks.
    pub throttled_lateness: Duration,
    pub max_lateness: Duration,
    /// Most checks seen waiting for a slot at once.
    pub max_queued: usize,
    /// Checks that could not be made for a reason of this box
    /// (`Failure::Local`): counted here, not as failures.
    pub local_errors: u64,
}

/// One checker's state, for `vigil status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckStatus {
    pub server: ServerId,
    pub up: bool,
    pub running: bool,
    pub last: Option<Outcome>,
    pub last_at: Option<Instant>,
    pub consecutive_failures: u32,
    /// Retries spent in the current failure streak of an UP checker.
    pub retries_used: u32,
    pub checks_done: u64,
    /// Of those, the failed ones.
    pub checks_failed: u64,
    pub next_due: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Armed in the timer set.
    Waiting {
        due: Instant,
    },
    /// Due, waiting for a slot; `epoch` as when queued.
    Queued {
        due: Instant,
        epoch: u64,
    },
    Running,
}

#[derive(Debug, Clone)]
struct Check {
    server: ServerId,
    /// Its timing: an index in `Machine::timings` (a table has few
    /// distinct timings, 56 bytes each, and 100,000 checkers).
    timing: u32,
    phase: Phase,
    up: bool,
    retry_it: u32,
    consecutive_failures: u32,
    checks_done: u64,
    checks_failed: u64,
    last: Option<Outcome>,
    last_at: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Server {
    first: u32,
    count: u32,
    /// How many of its checkers are DOWN.
    down: u32,
    /// `ha_suspend` while the service address is not on this box: its
    /// checks are skipped (each due check re-armed a `delay_loop` later),
    /// so its state stays as it was.
    paused: bool,
}

impl Server {
    fn up(&self) -> bool {
        self.down == 0
    }
}

/// The scheduler of every checker of every real server.
#[derive(Debug, Clone)]
pub struct Machine {
    cfg: Config,
    checks: Vec<Check>,
    /// Every distinct timing, once; `timing_index` finds one.
    timings: Vec<Timing>,
    timing_index: HashMap<Timing, u32>,
    servers: Vec<Server>,
    timers: Timers,
    queue: VecDeque<u32>,
    running: usize,
    /// Bumped each time `poll_start` turns a queued check away for lack of
    /// a slot: a check queued in an older epoch was throttled.
    epoch: u64,
    events: VecDeque<StateChange>,
    stats: Stats,
}

impl Machine {
    pub fn new(cfg: Config) -> Self {
        Machine {
            cfg,
            checks: Vec::new(),
            timings: Vec::new(),
            timing_index: HashMap::new(),
            servers: Vec::new(),
            timers: Timers::default(),
            queue: VecDeque::new(),
            running: 0,
            epoch: 0,
            events: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Room for `servers` more real servers with `checks` checkers in all
    /// (a plan's size is known before it is added: its lists are then sized
    /// exactly, not grown by doubling).
    pub fn reserve(&mut self, servers: usize, checks: usize) {
        self.servers.reserve_exact(servers);
        self.checks.reserve_exact(checks);
    }

    /// Add a real server with its checkers; first checks are armed at
    /// `now + warmup part`. `alpha`: start DOWN until each checker's first
    /// success.
    pub fn add_server(&mut self, alpha: bool, checkers: &[Timing], now: Instant) -> ServerId {
        let id = ServerId(u32::try_from(self.servers.len()).expect("fewer than 2^32 servers"));
        let first = u32::try_from(self.checks.len()).expect("fewer than 2^32 checkers");
        for (i, timing) in checkers.iter().enumerate() {
            let index = first + i as u32;
            let due = now + warmup_part(self.cfg.seed, index, timing.warmup);
            let timing = self.timing_of(*timing);
            self.checks.push(Check {
                server: id,
                timing,
                phase: Phase::Waiting { due },
                up: !alpha,
                retry_it: 0,
                consecutive_failures: 0,
                checks_done: 0,
                checks_failed: 0,
                last: None,
                last_at: None,
            });
            self.timers.insert(due, index, None);
        }
        let count = checkers.len() as u32;
        self.servers.push(Server {
            first,
            count,
            down: if alpha { count } else { 0 },
            paused: false,
        });
        id
    }

    /// The index of `t` in `timings`, added if new.
    fn timing_of(&mut self, t: Timing) -> u32 {
        let timings = &mut self.timings;
        *self.timing_index.entry(t).or_insert_with(|| {
            timings.push(t);
            u32::try_from(timings.len() - 1).expect("fewer than 2^32 timings")
        })
    }

    /// Sets a real server's state before any of its checks ran (a new plan
    /// carrying over the state the server had in the plan it replaces):
    /// every checker UP, or every checker DOWN until its first success, as
    /// `alpha` starts them.
    pub fn restate(&mut self, id: ServerId, up: bool) {
        let Some(s) = self.servers.get_mut(id.0 as usize) else {
            return;
        };
        s.down = if up { 0 } else { s.count };
        let checks = s.first as usize..(s.first + s.count) as usize;
        for c in &mut self.checks[checks] {
            c.up = up;
        }
    }

    /// Suspends (or resumes) a real server's checks; a suspended server
    /// keeps its state. Resumed checks run at their next due time.
    pub fn set_paused(&mut self, id: ServerId, paused: bool) {
        if let Some(s) = self.servers.get_mut(id.0 as usize) {
            s.paused = paused;
        }
    }

    /// The next check to start at `now`, if one is due and a slot is free.
    /// Call until `None`.
    pub fn poll_start(&mut self, now: Instant) -> Option<Start> {
        while let Some((due, index)) = self.timers.pop_due(now) {
            let check = &mut self.checks[index as usize];
            if self.servers[check.server.0 as usize].paused {
                let delay = self.timings[check.timing as usize].delay_loop;
                check.phase = Phase::Waiting { due: now + delay };
                self.timers.insert(now + delay, index, Some(delay));
                continue;
            }
            self.checks[index as usize].phase = Phase::Queued {
                due,
                epoch: self.epoch,
            };
            self.queue.push_back(index);
        }
        if self.queue.is_empty() {
            return None;
        }
        if self.running >= self.cfg.max_in_flight.get() {
            self.stats.max_queued = self.stats.max_queued.max(self.queue.len());
            self.epoch += 1;
            return None;
        }
        let index = self.queue.pop_front().expect("non-empty");
        let check = &mut self.checks[index as usize];
        let Phase::Queued { due, epoch } = check.phase else {
            unreachable!("only queued checks are in the queue");
        };
        check.phase = Phase::Running;
        self.running += 1;
        self.stats.started += 1;
        if epoch != self.epoch {
            let late = now.saturating_duration_since(due);
            self.stats.throttled += 1;
            self.stats.throttled_lateness += late;
            self.stats.max_lateness = self.stats.max_lateness.max(late);
        }
        Some(Start {
            check: CheckId(index),
            retry: check.retry_it,
            due,
        })
    }

    /// The result of a started check, at `now` (its end). A result for a
    /// check that is not running is ignored and counted.
    pub fn handle_result(&mut self, id: CheckId, outcome: Outcome, now: Instant) {
        let Some(check) = self.checks.get_mut(id.0 as usize) else {
            self.stats.stale_results += 1;
            return;
        };
        if check.phase != Phase::Running {
            self.stats.stale_results += 1;
            return;
        }
        self.running -= 1;
        self.stats.completed += 1;
        check.checks_done += 1;
        check.last = Some(outcome);
        check.last_at = Some(now);
        let was_up = check.up;
        let timing = self.timings[check.timing as usize];
        let delay = match outcome {
            Err(f) if f.is_local() => {
                // The box's fault, not the server's: its state, streak and
                // retries stay as they were, and it is checked again at
                // the interval it was on.
                self.stats.local_errors += 1;
                if check.retry_it > 0 {
                    timing.delay_before_retry
                } else {
                    timing.delay_loop
                }
            }
            Ok(()) => {
                check.consecutive_failures = 0;
                check.retry_it = 0;
                check.up = true;
                timing.delay_loop
            }
            Err(_) => {
                check.checks_failed += 1;
                check.consecutive_failures = check.consecutive_failures.saturating_add(1);
                if check.up && check.retry_it < timing.retry {
                    check.retry_it += 1;
                    timing.delay_before_retry
                } else {
                    check.retry_it = 0;
                    check.up = false;
                    timing.delay_loop
                }
            }
        };
        let due = now + delay;
        check.phase = Phase::Waiting { due };
        self.timers.insert(due, id.0, Some(delay));
        let (is_up, sid) = (check.up, check.server);
        if was_up != is_up {
            let server = &mut self.servers[sid.0 as usize];
            let server_was_up = server.up();
            if is_up {
                server.down -= 1;
            } else {
                server.down += 1;
            }
            if server.up() != server_was_up {
                self.events.push_back(StateChange {
                    server: sid,
                    up: server.up(),
                    check: id,
                    cause: outcome,
                    at: now,
                });
            }
        }
    }

    /// The next real-server state change, oldest first.
    pub fn poll_event(&mut self) -> Option<StateChange> {
        self.events.pop_front()
    }

    /// When to call `poll_start` next: the oldest queued check's due time
    /// if a slot is free (already past: at once), else the earliest timer.
    /// With every slot taken, only a result can start something, but the
    /// timer is still reported so the edge may keep its queue current.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.first().map(|(due, _)| due);
        let queued = if self.running < self.cfg.max_in_flight.get() {
            self.queue
                .front()
                .and_then(|&i| match self.checks[i as usize].phase {
                    Phase::Queued { due, .. } => Some(due),
                    _ => None,
                })
        } else {
            None
        };
        match (timer, queued) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn server_up(&self, id: ServerId) -> bool {
        self.servers[id.0 as usize].up()
    }

    /// The checkers of a real server.
    pub fn server_checks(&self, id: ServerId) -> impl Iterator<Item = CheckId> {
        let s = &self.servers[id.0 as usize];
        (s.first..s.first + s.count).map(CheckId)
    }

    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    pub fn check_status(&self, id: CheckId) -> CheckStatus {
        let c = &self.checks[id.0 as usize];
        CheckStatus {
            server: c.server,
            up: c.up,
            running: c.phase == Phase::Running,
            last: c.last,
            last_at: c.last_at,
            consecutive_failures: c.consecutive_failures,
            retries_used: c.retry_it,
            checks_done: c.checks_done,
            checks_failed: c.checks_failed,
            next_due: match c.phase {
                Phase::Waiting { due } | Phase::Queued { due, .. } => Some(due),
                Phase::Running => None,
            },
        }
    }

    /// Continue the counts of checks done and failed of an earlier plan's
    /// same checker (a commit keeps them, as counters must).
    pub fn carry_counts(&mut self, id: CheckId, done: u64, failed: u64) {
        if let Some(c) = self.checks.get_mut(id.0 as usize) {
            c.checks_done += done;
            c.checks_failed += failed;
        }
    }

    pub fn running(&self) -> usize {
        self.running
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// The armed checks, in order of (due time, index), as a
/// `BTreeSet<(Instant, u32)>` would hold them, for less: a check re-armed
/// after a result is due `now + delay`, and `now` does not go back, so the
/// checks armed with one delay come due in the order they were armed. Each
/// of the first [`FIFOS`] distinct delays has a FIFO (a push and a pop
/// each, where a tree's insert cost some 500 instructions per check at
/// 1,000 checks); an entry that would not go last in its FIFO (a first
/// check after its warmup part, a `now` that went back, a tie of due
/// times in another index order) goes to the tree, so the order is the
/// tree's exactly.
#[derive(Debug, Clone, Default)]
struct Timers {
    fifos: Vec<(Duration, VecDeque<(Instant, u32)>)>,
    tree: BTreeSet<(Instant, u32)>,
}

/// At most this many delays get a FIFO (`first` looks at each front).
const FIFOS: usize = 8;

impl Timers {
    /// Arms `index` at `due`, which is `delay` after its result (`None`:
    /// any other time, such as the first check's).
    fn insert(&mut self, due: Instant, index: u32, delay: Option<Duration>) {
        let entry = (due, index);
        if let Some(delay) = delay {
            let at = self.fifos.iter().position(|(d, _)| *d == delay);
            let at = match at {
                Some(i) => Some(i),
                None if self.fifos.len() < FIFOS => {
                    self.fifos.push((delay, VecDeque::new()));
                    Some(self.fifos.len() - 1)
                }
                None => None,
            };
            if let Some(i) = at {
                let q = &mut self.fifos[i].1;
                if q.back().is_none_or(|&last| last < entry) {
                    q.push_back(entry);
                    return;
                }
            }
        }
        self.tree.insert(entry);
    }

    /// The earliest entry: a FIFO's front or the tree's first.
    fn first(&self) -> Option<(Instant, u32)> {
        let fronts = self.fifos.iter().filter_map(|(_, q)| q.front().copied());
        fronts.chain(self.tree.first().copied()).min()
    }

    /// Takes the earliest entry if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<(Instant, u32)> {
        // Where the earliest is: a FIFO's index, or `None` for the tree.
        let mut best: Option<((Instant, u32), Option<usize>)> =
            self.tree.first().map(|&e| (e, None));
        for (i, (_, q)) in self.fifos.iter().enumerate() {
            if let Some(&e) = q.front() {
                if best.is_none_or(|(b, _)| e < b) {
                    best = Some((e, Some(i)));
                }
            }
        }
        let ((due, _), at) = best?;
        if due > now {
            return None;
        }
        match at {
            Some(i) => self.fifos[i].1.pop_front(),
            None => self.tree.pop_first(),
        }
    }
}

/// The part of `warmup` that delays checker `index`'s first check:
/// uniform-ish in `0..=warmup`, at millisecond resolution.
pub fn warmup_part(seed: u64, index: u32, warmup: Duration) -> Duration {
    let ms = u64::try_from(warmup.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(
        splitmix64(seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % (ms + 1),
    )
}

/// SplitMix64's finaliser: a cheap, well-mixed hash of a 64-bit value.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
