//! The advert bridge of a hitless restart. From the first moment of the
//! new image (before any config is read) until each handed-over MASTER's
//! instance task takes over, a small thread of its own sends that
//! master's last advert, unchanged, every interval, where the handoff
//! record says ([`handoff::Advert`]). The backups hear the master without
//! a pause however long the new image takes to read, validate and plan its
//! config: adverts never wait on the config.
//!
//! Owns: the bridge thread and its send sockets, one [`Lane`] per
//! handed-over master (the time of its last advert and whether it is
//! stopped, in one atomic, so a stop and a send can never both win),
//! [`Takeover`] (the instance task's end of a lane: stopping it yields the
//! time of the last advert, after which the task's own first one is due),
//! the schedule ([`next_wake`]) and the hard bound ([`BOUND`]).
//! Must not: read the config, decide VRRP (it never changes an advert,
//! adds or removes a VIP, or answers a peer), send after its lane is
//! stopped, or outlive its bound: a new image stuck before its VRRP starts
//! must not keep a ghost master alive.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handoff::{self, monotonic_ns, Record};
use crate::vrrp::packet::Repr;
use crate::vrrp::socket::TxSocket;

/// The bridge stops by itself this long after it started: the new image
/// normally takes over within a second or a few (a config at its bounds).
pub const BOUND: Duration = Duration::from_secs(30);

/// Set in [`Lane`]'s word once the lane is stopped; the other bits are
/// the last advert's CLOCK_MONOTONIC time in ns (63 bits: 292 years).
const STOPPED: u64 = 1 << 63;

/// One handed-over master's schedule, shared by the bridge thread (which
/// claims each advert before sending it) and its [`Takeover`].
#[derive(Debug)]
pub struct Lane {
    name: String,
    interval_ns: u64,
    /// The last advert's time (sent, or claimed and about to be), plus
    /// [`STOPPED`].
    word: AtomicU64,
    /// Adverts the bridge sent, for the log.
    sent: AtomicU64,
}

impl Lane {
    /// A running lane whose last advert went out at `last_ns`.
    pub fn new(name: &str, interval_ms: u32, last_ns: u64) -> Self {
        Lane {
            name: name.to_owned(),
            interval_ns: u64::from(interval_ms) * 1_000_000,
            word: AtomicU64::new(last_ns & !STOPPED),
            sent: AtomicU64::new(0),
        }
    }

    /// The last advert's time, and whether the lane still runs.
    pub fn last(&self) -> (u64, bool) {
        let w = self.word.load(Ordering::SeqCst);
        (w & !STOPPED, w & STOPPED == 0)
    }

    /// When the next advert is due; `None` once stopped.
    pub fn due(&self) -> Option<u64> {
        let (last, running) = self.last();
        running.then(|| last.saturating_add(self.interval_ns))
    }

    /// Claims the advert due by `now_ns`: `true` means the caller sends it
    /// now (its time is recorded first, so a [`Lane::stop`] racing with
    /// the send reports it). A late bridge sends one advert, not a burst:
    /// the next is due an interval after this one.
    pub fn claim(&self, now_ns: u64) -> bool {
        let w = self.word.load(Ordering::SeqCst);
        if w & STOPPED != 0 || now_ns < w.saturating_add(self.interval_ns) {
            return false;
        }
        let claimed = self
            .word
            .compare_exchange(w, now_ns & !STOPPED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if claimed {
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
        claimed
    }

    /// Stops the lane: no advert is claimed after. Returns the last
    /// advert's time and whether this call stopped it.
    pub fn stop(&self) -> (u64, bool) {
        let w = self.word.fetch_or(STOPPED, Ordering::SeqCst);
        (w & !STOPPED, w & STOPPED == 0)
    }

    /// Stops the lane and logs why, once.
    fn stop_for(&self, why: &str) -> u64 {
        let (last, stopped_now) = self.stop();
        if stopped_now {
            tracing::info!(
                instance = %self.name,
                bridged_adverts = self.sent.load(Ordering::Relaxed),
                last_advert_ms_ago = monotonic_ns().saturating_sub(last) / 1_000_000,
                "advert bridge stopped: {why}"
            );
        }
        last
    }
}

/// The earliest time the bridge thread must wake: the first due advert
/// of a running lane, at the latest `deadline`. `None`: every lane is
/// stopped, the thread ends.
pub fn next_wake(dues: impl IntoIterator<Item = Option<u64>>, deadline: u64) -> Option<u64> {
    dues.into_iter().flatten().min().map(|t| t.min(deadline))
}

/// The instance task's end of a lane. [`Takeover::take_over`] stops the
/// bridge's adverts for it; dropped without, it stops them too (a task
/// that ended before taking over must not leave the bridge advertising).
#[derive(Debug)]
pub struct Takeover {
    lane: Option<Arc<Lane>>,
}

impl Takeover {
    /// Stops the lane as the instance task resumes MASTER; returns when
    /// the last advert went out, after which the task's first is due.
    pub fn take_over(mut self) -> Instant {
        let last = match self.lane.take() {
            Some(l) => l.stop_for("the instance task takes over"),
            None => monotonic_ns(),
        };
        instant_of(last)
    }
}

impl Drop for Takeover {
    fn drop(&mut self) {
        if let Some(l) = self.lane.take() {
            l.stop_for("the instance task ended before taking over");
        }
    }
}

/// `ns` (CLOCK_MONOTONIC, which `Instant` reads on Linux) as an
/// `Instant`; a time in the future is now.
pub fn instant_of(ns: u64) -> Instant {
    let (now, now_ns) = (Instant::now(), monotonic_ns());
    now.checked_sub(Duration::from_nanos(now_ns.saturating_sub(ns)))
        .unwrap_or(now)
}

/// The daemon's handle on the bridge: one lane per handed-over master,
/// by instance name.
#[derive(Debug, Default)]
pub struct Bridge {
    lanes: Vec<Arc<Lane>>,
}

impl Bridge {
    /// Starts the bridge of `record`'s masters: a lane each, first advert
    /// due an interval after the old image's last (`at_ns`). A master
    /// whose advert does not decode or whose socket does not open gets a
    /// stopped lane (it may still resume, if fresh by then).
    pub fn start(record: &Record) -> Bridge {
        let mut lanes = Vec::new();
        let mut senders = Vec::new();
        for m in &record.masters {
            let lane = Arc::new(Lane::new(&m.name, m.advert.interval_ms, record.at_ns));
            match Sender::open(&m.interface, &m.advert) {
                Ok((tx, repr)) => {
                    tracing::info!(
                        instance = %m.name,
                        interface = %m.interface,
                        vrid = m.vrid,
                        interval_ms = m.advert.interval_ms,
                        dsts = ?m.advert.dsts,
                        handed_over_ms_ago = monotonic_ns().saturating_sub(record.at_ns) / 1_000_000,
                        "advert bridge started: sending the handed-over advert until the instance task takes over"
                    );
                    senders.push(Sender {
                        lane: lane.clone(),
                        tx,
                        repr,
                        dsts: m.advert.dsts.clone(),
                    });
                }
                Err(e) => {
                    tracing::error!(instance = %m.name, interface = %m.interface, error = %e, "advert bridge not started");
                    lane.stop();
                }
            }
            lanes.push(lane);
        }
        if !senders.is_empty() {
            let deadline = monotonic_ns().saturating_add(BOUND.as_nanos() as u64);
            let spawned = std::thread::Builder::new()
                .name("vigil-bridge".into())
                .spawn(move || run(senders, deadline));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "advert bridge thread not started");
                lanes.iter().for_each(|l| {
                    l.stop();
                });
            }
        }
        Bridge { lanes }
    }

    fn lane(&self, name: &str) -> Option<&Arc<Lane>> {
        self.lanes.iter().find(|l| l.name == name)
    }

    /// When the bridge last sent `name`'s advert (or the old image did).
    pub fn last_sent(&self, name: &str) -> Option<u64> {
        self.lane(name).map(|l| l.last().0)
    }

    /// The instance task's end of `name`'s lane.
    pub fn takeover(&self, name: &str) -> Option<Takeover> {
        self.lane(name).map(|l| Takeover {
            lane: Some(l.clone()),
        })
    }

    /// Stops every lane whose instance does not resume (`resumes` says
    /// which do): gone from the config, another identity, or stale.
    pub fn stop_unless(&self, resumes: impl Fn(&str) -> bool) {
        for l in self.lanes.iter().filter(|l| !resumes(&l.name)) {
            l.stop_for("the instance does not resume MASTER in the new config");
        }
    }
}

/// Why a handed-over master gets no bridge.
#[derive(Debug, thiserror::Error)]
enum LaneError {
    #[error("the handed-over advert does not decode")]
    Decode,
    #[error("advert socket: {0}")]
    Socket(#[source] std::io::Error),
}

/// One lane's socket and advert, owned by the bridge thread.
struct Sender {
    lane: Arc<Lane>,
    tx: TxSocket,
    repr: Repr,
    dsts: Vec<IpAddr>,
}

impl Sender {
    fn open(interface: &str, a: &handoff::Advert) -> Result<(TxSocket, Repr), LaneError> {
        let repr = a.repr().ok_or(LaneError::Decode)?;
        let tx = TxSocket::open(interface, a.ifindex, a.src, a.ttl).map_err(LaneError::Socket)?;
        Ok((tx, repr))
    }

    fn send(&mut self) {
        for d in &self.dsts {
            if let Err(e) = self.tx.send(&self.repr, *d) {
                tracing::warn!(instance = %self.lane.name, dst = %d, error = %e, "bridged advert not sent");
            }
        }
    }
}

/// The bridge thread: sends each lane's advert when due, until every lane
/// is stopped or `deadline` (CLOCK_MONOTONIC ns) passes.
fn run(mut senders: Vec<Sender>, deadline: u64) {
    loop {
        let now = monotonic_ns();
        if now >= deadline {
            for s in &senders {
                s.lane
                    .stop_for("its bound passed before the instance task took over");
            }
            return;
        }
        for s in &mut senders {
            if s.lane.claim(now) {
                s.send();
            }
        }
        let Some(wake) = next_wake(senders.iter().map(|s| s.lane.due()), deadline) else {
            return;
        };
        let now = monotonic_ns();
        if wake > now {
            std::thread::sleep(Duration::from_nanos(wake - now));
        }
    }
}

#[cfg(test)]
#[path = "bridge_tests.rs"]
mod tests;
