//! The daemon's start, timed step by step.
//!
//! Owns: one process-wide timeline that `vigil run` begins ([`begin`]),
//! the steps the start-up path marks as each ends ([`step`]), and the one
//! log line that reports them when the first IPVS pass is done
//! ([`finish`]): where the time from `vigil run` to a programmed table
//! went (config read, the daemon's set-up, the IPVS task's model, the
//! netlink connect, dump, plan and apply). `make bench` reads that line
//! for its cold-start breakdown; an operator reads it to see why a start
//! was slow. Must not: decide anything, or cost anything once reported
//! (every call after [`finish`], and every call in a process that never
//! called [`begin`], such as the tests or `vigil config`, is a no-op).
//!
//! A process-wide value rather than a parameter: the steps are marked in
//! the CLI, the daemon's wiring and the IPVS task, and threading a timer
//! through each of their signatures would couple them for a log line.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The steps so far.
#[derive(Debug, Clone)]
struct Timeline {
    began: Instant,
    last: Instant,
    steps: Vec<(&'static str, Duration)>,
}

static TIMELINE: Mutex<Option<Timeline>> = Mutex::new(None);

/// Steps kept at most. A box whose first pass keeps failing (no `ip_vs`)
/// marks a step per retry for as long as it runs: past this bound the
/// steps are no longer recorded, and their time goes to the report's last
/// step when a pass succeeds.
const MAX_STEPS: usize = 32;

fn with(f: impl FnOnce(&mut Option<Timeline>)) {
    // A poisoned lock: a step panicked while holding it. The timeline is
    // only a log line: carry on with what it holds.
    let mut g = TIMELINE.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut g);
}

/// Starts the timeline now (the start of `vigil run`).
pub fn begin() {
    let now = Instant::now();
    with(|t| {
        *t = Some(Timeline {
            began: now,
            last: now,
            steps: Vec::new(),
        })
    });
}

/// Counts the timeline from an event `ago` before now, earlier than
/// [`begin`] (a hitless restart's handover, in the process before the
/// exec): the time from it to [`begin`] becomes the first step, `name`.
pub fn from_earlier(name: &'static str, ago: Duration) {
    let now = Instant::now();
    with(|t| {
        if let Some(t) = t.as_mut() {
            earlier(t, now, name, ago);
        }
    });
}

/// [`from_earlier`] on `t` at `now`.
fn earlier(t: &mut Timeline, now: Instant, name: &'static str, ago: Duration) {
    let before = ago.saturating_sub(now.saturating_duration_since(t.began));
    if let Some(began) = t.began.checked_sub(before) {
        t.began = began;
        t.steps.insert(0, (name, before));
    }
}

/// Marks the end of step `name`: the time since the previous mark. The
/// report separates steps with commas: a name has none.
pub fn step(name: &'static str) {
    let now = Instant::now();
    with(|t| record(t, name, now));
}

/// [`step`] on `t` at `now`.
fn record(t: &mut Option<Timeline>, name: &'static str, now: Instant) {
    if let Some(t) = t.as_mut().filter(|t| t.steps.len() < MAX_STEPS) {
        let took = now.saturating_duration_since(t.last);
        tracing::debug!("start-up: {name} {:.1} ms", ms(took));
        t.steps.push((name, took));
        t.last = now;
    }
}

/// The steps of a start, as reported once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// From [`begin`] to the end of the last step.
    pub total: Duration,
    pub steps: Vec<(&'static str, Duration)>,
    /// The table ops the first pass applied.
    pub ops: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "start-up: first IPVS pass done {:.1} ms after `vigil run` began ({} ops):",
            ms(self.total),
            self.ops
        )?;
        let mut sep = " ";
        for (name, d) in &self.steps {
            write!(f, "{sep}{name} {:.1} ms", ms(*d))?;
            sep = ", ";
        }
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Ends the timeline with the first IPVS pass: `parts` are the pass's own
/// phases (in order; their sum is at most the time since the last mark),
/// the rest of that time is reported as `before`. Returns the report the
/// first time only (and logs it); `None` afterwards or without [`begin`].
pub fn finish(
    before: &'static str,
    parts: &[(&'static str, Duration)],
    ops: usize,
) -> Option<Report> {
    let now = Instant::now();
    let mut taken = None;
    with(|t| taken = t.take());
    let t = taken?;
    let report = close(t, now, before, parts, ops);
    tracing::info!("{report}");
    Some(report)
}

/// The report of `t` closed at `now` (pure: [`finish`] without the clock
/// and the global).
fn close(
    mut t: Timeline,
    now: Instant,
    before: &'static str,
    parts: &[(&'static str, Duration)],
    ops: usize,
) -> Report {
    let span = now.saturating_duration_since(t.last);
    let inside: Duration = parts.iter().map(|(_, d)| *d).sum();
    t.steps.push((before, span.saturating_sub(inside)));
    t.steps.extend_from_slice(parts);
    Report {
        total: now.saturating_duration_since(t.began),
        steps: t.steps,
        ops,
    }
}

#[cfg(test)]
#[path = "startup_tests.rs"]
mod tests;
