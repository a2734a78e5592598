//! The ARP-theft watch: while an instance is MASTER, another box claiming
//! one of its IPv4 VIPs at L2 (a real server with `arp_ignore=0`, a
//! misconfigured neighbour, a second master) is seen, counted and answered.
//!
//! Owns: the pure judgement ([`theft`]: one decoded frame against one
//! MASTER's [`Guard`]; [`Reassert`]: at most one re-asserting gratuitous
//! ARP per VIP per [`REASSERT_GAP`], so two boxes fighting over an address
//! cannot storm the LAN), and the watch edge: one AF_PACKET (ETH_P_ARP)
//! socket per interface, shared by every MASTER whose VIPs are announced
//! there ([`guard`] / [`unguard`]; the registry is process-wide, keyed by
//! ifindex). The socket's task is started by the first [`guard`] of its
//! interface and ends, closing the socket, once no guard is left (an
//! [`unguard`] wakes it; an instance task that ended counts as gone).
//! A theft goes to its instance task's own small queue ([`Stolen`]); the
//! task logs, counts, re-asserts and notifies (`vrrp::instance`).
//! Must not: block or slow the VRRP thread (it reads at most [`BATCH`]
//! frames a turn, never waits on an instance: a full queue drops the
//! report, the next frame reports again; its socket is opened and closed
//! on a blocking thread, as both wait for a kernel grace period), decide
//! VRRP state, or send anything itself.
//!
//! Not watched: IPv6 (an unsolicited Neighbour Advertisement for a VIP
//! from another MAC); a plain who-has whose sender is a VIP (it also
//! updates caches that already hold the address, but it is what a box
//! does when it merely holds the address on `lo` and asks for a
//! neighbour, which `vigil doctor` reports instead).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, Notify};

use crate::backoff::Backoff;
use crate::net::arp::{self, Frame, Mac};
use crate::net::arp_socket;

/// The fewest time between two re-asserting gratuitous ARPs of one VIP.
pub const REASSERT_GAP: Duration = Duration::from_secs(1);

/// Frames read in one turn of a watch before it yields.
pub const BATCH: usize = 64;

/// The VRRP virtual MAC of an IPv4 VRID (RFC 5798 section 7.3).
pub fn virtual_mac(vrid: u8) -> Mac {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vrid]
}

/// What one MASTER guards on its gratuitous-ARP link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// Its IPv4 VIPs (excluded ones too: they are announced alike).
    pub vips: Vec<Ipv4Addr>,
    /// MACs that may claim them: the interface's own, the virtual MAC,
    /// the vmac's.
    pub own: Vec<Mac>,
}

/// Another MAC claimed a guarded VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theft {
    pub vip: Ipv4Addr,
    pub mac: Mac,
}

/// Whether `frame` is a theft of one of `guard`'s VIPs: a reply (asked
/// for or not) or a gratuitous request whose sender IP is a guarded VIP,
/// from a sender MAC (or an Ethernet source) that is not one of ours.
pub fn theft(frame: &Frame, guard: &Guard) -> Option<Theft> {
    let a = &frame.arp;
    if !a.claims() || !guard.vips.contains(&a.sender_ip) {
        return None;
    }
    let mac = [a.sender_mac, frame.src]
        .into_iter()
        .find(|m| !guard.own.contains(m))?;
    Some(Theft {
        vip: a.sender_ip,
        mac,
    })
}

/// When a VIP may be re-asserted again: at most once per [`REASSERT_GAP`]
/// each. Pure: the caller gives `now`.
#[derive(Debug, Default)]
pub struct Reassert {
    last: HashMap<Ipv4Addr, Instant>,
}

impl Reassert {
    /// Whether `vip` may be re-asserted at `now` (and if so, records it).
    pub fn due(&mut self, vip: Ipv4Addr, now: Instant) -> bool {
        match self.last.get(&vip) {
            Some(t) if now.saturating_duration_since(*t) < REASSERT_GAP => false,
            _ => {
                self.last.insert(vip, now);
                true
            }
        }
    }

    /// Forgets everything (leaving MASTER).
    pub fn clear(&mut self) {
        self.last.clear();
    }
}

/// What a watch hands an instance task: member `member` had `theft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stolen {
    pub member: usize,
    pub theft: Theft,
}

/// One MASTER's entry in its interface's watch.
#[derive(Debug)]
struct Route {
    tx: mpsc::Sender<Stolen>,
    member: usize,
    guard: Guard,
}

/// One interface's watch: its guards and the wake-up of its task.
#[derive(Debug)]
struct Watch {
    ifname: String,
    routes: Mutex<Vec<Route>>,
    wake: Notify,
}

impl Watch {
    fn routes(&self) -> MutexGuard<'_, Vec<Route>> {
        match self.routes.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        }
    }

    /// Sends each theft in `frame` to its instance, without waiting.
    fn judge(&self, frame: &Frame) {
        for r in self.routes().iter() {
            if let Some(theft) = theft(frame, &r.guard) {
                let _ = r.tx.try_send(Stolen {
                    member: r.member,
                    theft,
                });
            }
        }
    }
}

static WATCHES: LazyLock<Mutex<HashMap<u32, Arc<Watch>>>> = LazyLock::new(Default::default);

fn watches() -> MutexGuard<'static, HashMap<u32, Arc<Watch>>> {
    match WATCHES.lock() {
        Ok(w) => w,
        Err(p) => p.into_inner(),
    }
}

/// Member `member` of the task behind `tx` is MASTER and guards `guard`
/// on link `ifindex` (`ifname`): replaces its previous guard, starting the
/// interface's watch on the current runtime if none runs. Must be called
/// from inside a tokio runtime (the VRRP thread's).
pub fn guard(ifindex: u32, ifname: &str, tx: &mpsc::Sender<Stolen>, member: usize, guard: Guard) {
    let mut all = watches();
    let w = all.entry(ifindex).or_insert_with(|| {
        let w = Arc::new(Watch {
            ifname: ifname.to_owned(),
            routes: Mutex::new(Vec::new()),
            wake: Notify::new(),
        });
        tokio::spawn(run(ifindex, w.clone()));
        w
    });
    let mut routes = w.routes();
    routes.retain(|r| !(r.tx.is_closed() || r.member == member && r.tx.same_channel(tx)));
    routes.push(Route {
        tx: tx.clone(),
        member,
        guard,
    });
}

/// Member `member` of the task behind `tx` no longer guards anything on
/// `ifindex`; the watch ends when it was the last.
pub fn unguard(ifindex: u32, tx: &mpsc::Sender<Stolen>, member: usize) {
    let all = watches();
    if let Some(w) = all.get(&ifindex) {
        w.routes()
            .retain(|r| !(r.member == member && r.tx.same_channel(tx)));
        w.wake.notify_one();
    }
}

/// Whether a watch runs on `ifindex` (tests, `vigil status` later).
pub fn watching(ifindex: u32) -> bool {
    watches().contains_key(&ifindex)
}

/// Removes the watch of `ifindex` if it has no live guard left; says
/// whether it did. Under the registry's lock, so a [`guard`] racing with
/// the end either lands before (and the watch goes on) or starts anew.
fn retire_if_idle(ifindex: u32, w: &Arc<Watch>) -> bool {
    let mut all = watches();
    if !all.get(&ifindex).is_some_and(|x| Arc::ptr_eq(x, w)) {
        return true;
    }
    let mut routes = w.routes();
    routes.retain(|r| !r.tx.is_closed());
    if routes.is_empty() {
        all.remove(&ifindex);
        return true;
    }
    false
}

/// Drops the registry's entry if the task unwinds, so the next guard
/// starts a new one.
struct Retire(u32, Arc<Watch>);

impl Drop for Retire {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut all = watches();
            if all.get(&self.0).is_some_and(|x| Arc::ptr_eq(x, &self.1)) {
                all.remove(&self.0);
            }
        }
    }
}

/// How often an idle watch looks whether its guards are gone (an instance
/// task that ended without `unguard`).
const IDLE: Duration = Duration::from_secs(1);

async fn run(ifindex: u32, w: Arc<Watch>) {
    let _retire = Retire(ifindex, w.clone());
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match watch_loop(ifindex, &w).await {
            Ok(()) => return,
            Err(e) => {
                let wait = backoff.next();
                tracing::error!(
                    interface = %w.ifname,
                    error = %e,
                    retry_in = ?wait,
                    "arp watch socket failed; reopening it"
                );
                tokio::time::sleep(wait).await;
                if retire_if_idle(ifindex, &w) {
                    return;
                }
            }
        }
    }
}

/// Opens the watch's socket on a blocking thread: binding an AF_PACKET
/// socket waits for an RCU grace period in the kernel (`synchronize_net`,
/// 10-16 ms measured), and on the VRRP thread that wait came between a
/// new MASTER's state change and its VIPs (the watch starts as it
/// becomes MASTER): a takeover 10-16 ms late.
async fn open_off_thread(ifindex: u32) -> std::io::Result<socket2::Socket> {
    tokio::task::spawn_blocking(move || arp_socket::open(ifindex, true))
        .await
        .map_err(std::io::Error::other)?
}

/// The watch's socket, registered with the VRRP thread's reactor. Closed
/// on a blocking thread too (closing an AF_PACKET socket waits for a
/// grace period as well, which a resigning MASTER would otherwise pay
/// before removing its VIPs).
struct Registered(Option<AsyncFd<socket2::Socket>>);

impl Registered {
    fn get(&self) -> &AsyncFd<socket2::Socket> {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            // Deregistered here (the reactor is this thread's); the close
            // itself elsewhere. Outside a runtime (never in the daemon),
            // or if the pool refuses, it closes here.
            let s = fd.into_inner();
            if let Ok(h) = tokio::runtime::Handle::try_current() {
                drop(h.spawn_blocking(move || drop(s)));
            }
        }
    }
}

/// Reads and judges frames until no guard is left (`Ok`) or the socket
/// fails.
async fn watch_loop(ifindex: u32, w: &Arc<Watch>) -> std::io::Result<()> {
    let s = open_off_thread(ifindex).await?;
    // SAFETY: `Socket` owns its fd and closes it only on drop, which
    // comes after its deregistration (`Registered` takes it out of the
    // AsyncFd first).
    let registered = Registered(Some(unsafe { AsyncFd::register(s)? }));
    let fd = registered.get();
    tracing::debug!(interface = %w.ifname, "arp watch started");
    let mut buf = vec![0u8; arp_socket::RX_FRAME];
    loop {
        if retire_if_idle(ifindex, w) {
            tracing::debug!(interface = %w.ifname, "arp watch ended");
            return Ok(());
        }
        let ready = tokio::select! {
            r = fd.readable() => Some(r?),
            _ = w.wake.notified() => None,
            _ = tokio::time::sleep(IDLE) => None,
        };
        let Some(mut ready) = ready else {
            continue;
        };
        let mut drained = false;
        for _ in 0..BATCH {
            match arp_socket::try_recv(fd.get_ref(), &mut buf)? {
                Some(n) => {
                    if let Ok(frame) = arp::decode(buf.get(..n).unwrap_or_default()) {
                        w.judge(&frame);
                    }
                }
                None => {
                    ready.clear_ready();
                    drained = true;
                    break;
                }
            }
        }
        if !drained {
            // A full batch: let the instance tasks run before the next.
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
#[path = "arpwatch_tests.rs"]
mod tests;
