//! Plain TCP_CHECK connects, many at once, without a future, a timer or a
//! reactor registration of their own (issue 15, part 3).
//!
//! Owns: [`Connects`]: the sockets of the TCP_CHECKs in flight that go to
//! the real server's own address (no DR path), in one epoll set of its
//! own that the runtime watches as one file descriptor, their deadlines
//! as data (one FIFO per distinct `connect_timeout`: a FIFO of one timeout
//! is in deadline order), their results until the runner takes them, and
//! the sockets of finished checks kept for the next ones ([`Idle`]).
//! Must not: decide up/down or retry (the scheduler does), read the clock
//! for deadlines (`now` is an argument), or log.
//!
//! Why: a TCP_CHECK made as a tokio future costs, per check, a boxed
//! future and its task in the `FuturesUnordered`, a `ScheduledIo`
//! (aligned allocation) and two `epoll_ctl` calls (add, delete) for the
//! reactor, and a timer-wheel entry for its timeout: measured with
//! callgrind at 1,000 checks/s, about 5,000 instructions per check in the
//! runner against keepalived's 2,000 for its whole checker. Here a check
//! is a slot in a vector, one `epoll_ctl` and an entry in a FIFO.
//!
//! A socket is not made and closed per check: once a check has its
//! answer, its socket is dissolved (`connect` to an `AF_UNSPEC` address,
//! connect(2): the kernel's `tcp_disconnect`, a RST to an established
//! peer, the local port given back) and kept, still in the epoll set but
//! disarmed (`EPOLLONESHOT`), for the next check of the same family and
//! source address. In the lab VM the kernel's part of a check was 0.85 ms
//! with a socket made, registered and closed per check and 0.47 ms with
//! one reused (3,000 connects each, a C probe; the rest of a check is the
//! same). Each check is still a new connection from a fresh local port;
//! at most [`IDLE_MAX`] sockets wait per family and source (a quarter
//! of a lower descriptor limit), and none for [`SHORT_OF_FDS_FOR`] after
//! a check found the box out of descriptors: a kept socket is one the
//! control socket's accept cannot have.
//!
//! Same check as [`super::check`]'s `tcp_check`: a non-blocking connect
//! (bound to `bindto` with IP_BIND_ADDRESS_NO_PORT if set); writable with
//! no SO_ERROR is a success (SO_ERROR asked only with EPOLLERR or EPOLLHUP:
//! without them it is 0), ended with a RST (see `check`'s "Closing": the
//! dissolve sends it, and SO_LINGER {on, 0} makes a close send it too);
//! SO_ERROR or a failed connect is
//! `Failure::from_io(Stage::Connect, ..)`, a failed bind `Failure::Bind`;
//! no answer by `now + timeout` is `Failure::Timeout { stage: Connect }`.
//! The time a check took is from its start to its result.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::local::LocalError;
use super::outcome::{Failure, Outcome, Stage};
use super::scheduler::CheckId;

/// Events taken from the set per `epoll_wait`.
const BATCH: usize = 256;
/// Sockets kept per family and source address: the scheduler's default
/// bound on checks in flight, so a steady load makes none afresh; less
/// under a low descriptor limit ([`idle_max`]).
pub const IDLE_MAX: usize = super::scheduler::DEFAULT_MAX_IN_FLIGHT;
/// How long no socket is kept after a check found the box out of
/// descriptors (EMFILE, ENFILE): each is closed once answered, as the
/// other tasks (the control socket's accept) need them back.
pub const SHORT_OF_FDS_FOR: Duration = Duration::from_secs(60);

/// A result: the check, its outcome, how long it took.
pub type Done = (CheckId, Outcome, Duration);

/// The epoll set, as the runtime's reactor sees it.
struct Set(Epoll);

impl AsRawFd for Set {
    fn as_raw_fd(&self) -> RawFd {
        self.0 .0.as_raw_fd()
    }
}

/// One connect in flight (or a free slot: `sock` is `None`).
struct Slot {
    sock: Option<Socket>,
    check: CheckId,
    /// Where its socket goes back to ([`Idle`]).
    key: Key,
    started: Instant,
    /// Bumped when the slot is freed: a deadline of an earlier use of the
    /// slot is stale.
    gen: u32,
}

/// A deadline of the connect in `slot`'s use `gen`.
#[derive(Clone, Copy)]
struct Deadline {
    at: Instant,
    slot: u32,
    gen: u32,
}

/// The slots of the connects in flight.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl Table {
    /// Frees `slot`: its socket (to keep or close), check and start.
    fn release(&mut self, slot: u32) -> Option<(Socket, Key, CheckId, Instant)> {
        let s = self.slots.get_mut(slot as usize)?;
        let sock = s.sock.take()?;
        s.gen = s.gen.wrapping_add(1);
        self.free.push(slot);
        self.live -= 1;
        Some((sock, s.key, s.check, s.started))
    }

    /// Whether `slot`'s use `gen` is its current one.
    fn current(&self, slot: u32, gen: u32) -> bool {
        self.slots.get(slot as usize).is_some_and(|s| s.gen == gen)
    }
}

/// What a kept socket can serve: the family of the address it connects
/// to (IPv6 or not) and the source it is bound to.
type Key = (bool, Option<IpAddr>);

fn key_of(to: SocketAddr, from: Option<IpAddr>) -> Key {
    (to.is_ipv6(), from)
}

/// Sockets of finished checks, dissolved, at most `max` per [`Key`] (a
/// config has few). Each is in the epoll set: disarmed (its one-shot
/// event came), or armed with the token of a use that has ended (a
/// timeout), whose event, if it comes, is stale and disarms it. A check
/// that takes one arms it again with its own token.
struct Idle {
    kept: Vec<(Key, Vec<Socket>)>,
    max: usize,
    /// Until then none is kept ([`SHORT_OF_FDS_FOR`]).
    none_until: Option<Instant>,
}

impl Idle {
    fn new(max: usize) -> Self {
        Idle {
            kept: Vec::new(),
            max,
            none_until: None,
        }
    }

    fn take(&mut self, key: Key) -> Option<Socket> {
        self.kept.iter_mut().find(|(k, _)| *k == key)?.1.pop()
    }

    /// Keeps `sock` when it dissolves and there is room at `now`; else it
    /// is closed (and so leaves the set).
    fn put(&mut self, key: Key, sock: Socket, now: Instant) {
        if self.none_until.is_some_and(|t| now < t) {
            return;
        }
        let kept = match self.kept.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v,
            None => {
                self.kept.push((key, Vec::new()));
                &mut self.kept.last_mut().expect("just pushed").1
            }
        };
        if kept.len() < self.max && dissolve(&sock).is_ok() {
            kept.push(sock);
        }
    }

    /// The box ran out of descriptors at `now`: every kept socket is
    /// closed, and none is kept for [`SHORT_OF_FDS_FOR`].
    fn short_of_fds(&mut self, now: Instant) {
        self.kept.clear();
        self.none_until = Some(now + SHORT_OF_FDS_FOR);
    }

    fn len(&self) -> usize {
        self.kept.iter().map(|(_, v)| v.len()).sum()
    }
}

/// Sockets kept per [`Key`] under a soft descriptor limit of `nofile`:
/// [`IDLE_MAX`], or a quarter of the limit when that is less. (A
/// sixteenth, 64 under the usual soft limit of 1,024, was too few: the
/// lab VM's 1,000 checks a second had 100 to 200 in flight, and the
/// sockets past the cap were made and closed per check again, CPU per
/// check 0.81 ms against 0.59.)
pub fn idle_max(nofile: u64) -> usize {
    usize::try_from(nofile / 4).map_or(IDLE_MAX, |n| n.min(IDLE_MAX))
}

/// The TCP_CHECK connects in flight (see the module header).
pub struct Connects {
    set: AsyncFd<Set>,
    table: Table,
    idle: Idle,
    /// One FIFO per distinct timeout (a config has few).
    deadlines: Vec<(Duration, VecDeque<Deadline>)>,
    done: Vec<Done>,
    events: Vec<EpollEvent>,
}

impl std::fmt::Debug for Connects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connects")
            .field("live", &self.table.live)
            .field("done", &self.done.len())
            .finish()
    }
}

impl Connects {
    /// A new, empty set; within a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<Self> {
        let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(u64::MAX, |(soft, _)| soft);
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
        // SAFETY: `Set` owns the epoll descriptor and never gives it up or
        // replaces it, so it stays open and the same while registered.
        let set = unsafe { AsyncFd::register_with_interest(Set(epoll), Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Connects {
            set,
            table: Table::default(),
            idle: Idle::new(idle_max(nofile)),
            deadlines: Vec::new(),
            done: Vec::new(),
            events: vec![EpollEvent::empty(); BATCH],
        })
    }

    /// Connects in flight.
    pub fn live(&self) -> usize {
        self.table.live
    }

    /// Sockets kept for the next checks.
    pub fn idle(&self) -> usize {
        self.idle.len()
    }

    /// Starts check `check`: a connect to `to` from `from` (any address
    /// when `None`) that must be answered by `now + timeout`. A connect
    /// that fails at once has its result ready at once.
    pub fn start(
        &mut self,
        check: CheckId,
        to: SocketAddr,
        from: Option<IpAddr>,
        timeout: Duration,
        now: Instant,
    ) {
        let key = key_of(to, from);
        let kept = self.idle.take(key);
        let registered = kept.is_some();
        let sock = match kept.map_or_else(|| open(to, from), Ok) {
            Ok(s) => s,
            Err(f) => {
                if matches!(f, Failure::Local(LocalError::Emfile | LocalError::Enfile)) {
                    self.idle.short_of_fds(now);
                }
                self.done.push((check, Err(f), Duration::ZERO));
                return;
            }
        };
        match connect(&sock, to) {
            Ok(true) => {}
            Ok(false) => {
                // Kept only when it is in the set already (disarmed); a
                // new one is closed (rare: a connect done within the
                // call).
                if registered {
                    self.idle.put(key, sock, now);
                }
                self.done.push((check, Ok(()), Duration::ZERO));
                return;
            }
            // A socket whose connect failed at once is not kept.
            Err(f) => {
                self.done.push((check, Err(f), Duration::ZERO));
                return;
            }
        }
        let slot = match self.table.free.pop() {
            Some(i) => i,
            None => {
                self.table.slots.push(Slot {
                    sock: None,
                    check,
                    key,
                    started: now,
                    gen: 0,
                });
                (self.table.slots.len() - 1) as u32
            }
        };
        let s = &mut self.table.slots[slot as usize];
        let token = u64::from(s.gen) << 32 | u64::from(slot);
        // Armed after the connect: a dissolved socket reads as hung up.
        let ev = EpollEvent::new(EpollFlags::EPOLLOUT | EpollFlags::EPOLLONESHOT, token);
        let set = &self.set.get_ref().0;
        let armed = if registered {
            set.modify(&sock, &mut { ev })
        } else {
            set.add(&sock, ev)
        };
        if let Err(e) = armed {
            // The box's trouble (ENOMEM, ENOSPC: max_user_watches).
            self.table.free.push(slot);
            let e = io::Error::from(e);
            self.done.push((
                check,
                Err(Failure::from_io(Stage::Connect, &e)),
                Duration::ZERO,
            ));
            return;
        }
        *s = Slot {
            sock: Some(sock),
            check,
            key,
            started: now,
            gen: s.gen,
        };
        self.table.live += 1;
        let at = now + timeout;
        let d = Deadline {
            at,
            slot,
            gen: s.gen,
        };
        match self.deadlines.iter_mut().find(|(t, _)| *t == timeout) {
            Some((_, q)) => q.push_back(d),
            None => self.deadlines.push((timeout, VecDeque::from([d]))),
        }
    }

    /// Every connect past its deadline at `now` fails with a timeout.
    pub fn expire(&mut self, now: Instant) {
        for qi in 0..self.deadlines.len() {
            while let Some(&d) = self.deadlines[qi].1.front() {
                if !self.table.current(d.slot, d.gen) {
                    self.deadlines[qi].1.pop_front();
                    continue;
                }
                if d.at > now {
                    break;
                }
                self.deadlines[qi].1.pop_front();
                if let Some((sock, key, check, started)) = self.table.release(d.slot) {
                    self.idle.put(key, sock, now);
                    let took = now.saturating_duration_since(started);
                    let f = Failure::Timeout {
                        stage: Stage::Connect,
                    };
                    self.done.push((check, Err(f), took));
                }
            }
        }
    }

    /// The earliest deadline of a connect in flight (stale ones are
    /// dropped on the way).
    pub fn next_deadline(&mut self) -> Option<Instant> {
        let table = &self.table;
        let mut next: Option<Instant> = None;
        for (_, q) in &mut self.deadlines {
            while let Some(d) = q.front() {
                if table.current(d.slot, d.gen) {
                    next = Some(next.map_or(d.at, |n| n.min(d.at)));
                    break;
                }
                q.pop_front();
            }
        }
        next
    }

    /// Waits until a connect in flight has its answer and takes every
    /// answer there is (cancel-safe: nothing is taken before the wait
    /// ends); at once if results wait already (a connect that failed at
    /// its start). Pending forever with none in flight.
    pub async fn ready(&mut self) {
        if !self.done.is_empty() {
            return;
        }
        if self.table.live == 0 {
            return std::future::pending().await;
        }
        let Ok(mut guard) = self.set.readable().await else {
            return std::future::pending().await;
        };
        let now = Instant::now();
        loop {
            let n = match guard.get_inner().0.wait(&mut self.events, 0u8) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => 0,
            };
            for i in 0..n {
                let token = self.events[i].data();
                let (slot, gen) = ((token & 0xffff_ffff) as u32, (token >> 32) as u32);
                if !self.table.current(slot, gen) {
                    continue;
                }
                let Some((sock, key, check, started)) = self.table.release(slot) else {
                    continue;
                };
                // The kernel reports EPOLLERR exactly when the socket has
                // an error to give (and EPOLLHUP once it is closed): with
                // neither, SO_ERROR is 0 and asking for it is a system call
                // per check for nothing.
                let flags = self.events[i].events();
                let error = if flags.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP) {
                    sock.take_error().unwrap_or_else(Some)
                } else {
                    None
                };
                let outcome = match error {
                    None => Ok(()),
                    Some(e) => Err(Failure::from_io(Stage::Connect, &e)),
                };
                self.idle.put(key, sock, now);
                self.done
                    .push((check, outcome, now.saturating_duration_since(started)));
            }
            if n < self.events.len() {
                break;
            }
        }
        guard.clear_ready();
    }

    /// The results ready, oldest first.
    pub fn take(&mut self) -> std::vec::Drain<'_, Done> {
        self.done.drain(..)
    }

    /// Results are waiting to be taken.
    pub fn has_done(&self) -> bool {
        !self.done.is_empty()
    }

    /// Drops every connect in flight (closed, a RST for one that
    /// connected), every result and every kept socket (a new plan's
    /// checks start afresh, maybe from other sources).
    pub fn clear(&mut self) {
        self.idle.kept.clear();
        for slot in 0..self.table.slots.len() as u32 {
            self.table.release(slot);
        }
        self.deadlines.clear();
        self.done.clear();
    }
}

/// [`Connects::ready`] of the runner's set; pending forever without one.
pub async fn ready(c: &mut Option<Connects>) {
    match c {
        Some(c) => c.ready().await,
        None => std::future::pending().await,
    }
}

/// A new non-blocking socket for `to`'s family, closing with a RST,
/// bound to `from` if set.
fn open(to: SocketAddr, from: Option<IpAddr>) -> Result<Socket, Failure> {
    let sock = Socket::new(
        Domain::for_address(to),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(|e| Failure::from_io(Stage::Connect, &e))?;
    // A close sends a RST, not a FIN (see `check`'s "Closing"): a socket
    // closed while it is connected (a new plan, a full [`Idle`]). Should
    // the option not take, that close is an ordinary FIN close.
    let _ = sock.set_linger(Some(Duration::ZERO));
    if let Some(ip) = from {
        // The port comes at connect (see `check`'s header); without the
        // option (an old kernel) bind picks it.
        let _ = setsockopt(&sock, sockopt::IpBindAddressNoPort, &true);
        sock.bind(&SockAddr::from(SocketAddr::new(ip, 0)))
            .map_err(|e| Failure::Bind(e.kind()))?;
    }
    Ok(sock)
}

/// Starts `sock`'s connect to `to`: `true` while it is under way, `false`
/// if it connected at once.
fn connect(sock: &Socket, to: SocketAddr) -> Result<bool, Failure> {
    match sock.connect(&SockAddr::from(to)) {
        Ok(()) => Ok(false),
        Err(e) if e.raw_os_error() == Some(nix::libc::EINPROGRESS) => Ok(true),
        Err(e) => Err(Failure::from_io(Stage::Connect, &e)),
    }
}

/// Dissolves `sock`'s connection (connected, connecting or failed) so it
/// can connect again: a RST to a connected peer, the local port given
/// back, the source address kept when bound.
fn dissolve(sock: &Socket) -> io::Result<()> {
    let unspec = nix::libc::sockaddr {
        sa_family: nix::libc::AF_UNSPEC as nix::libc::sa_family_t,
        sa_data: [0; 14],
    };
    let len = std::mem::size_of::<nix::libc::sockaddr>() as nix::libc::socklen_t;
    // SAFETY: the address is a valid, initialised `sockaddr` of `len`
    // bytes that lives across the call; the descriptor is `sock`'s own.
    if unsafe { nix::libc::connect(sock.as_raw_fd(), &unspec, len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The kernel leaves ECONNRESET pending on a socket it reset or whose
    // connect it abandoned: taken now, so the next check cannot see it
    // whether or not its connect clears it (6.18's does).
    sock.take_error().map(drop)
}

#[cfg(test)]
#[path = "connects_tests.rs"]
mod tests;
