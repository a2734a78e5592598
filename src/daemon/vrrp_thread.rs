//! The VRRP thread: a thread of its own running a small current-thread
//! runtime for VRRP's tasks alone (instance tasks, their GARP/NA pacing,
//! receive sockets, and the rtnetlink connection their VIPs go through).
//!
//! Owns: that thread and its runtime, from [`VrrpThread::start`] to its
//! drop. Must not: run anything but VRRP (the supervisor places tasks by
//! their kind, `supervisor::Kind::thread`), or share state with the main
//! runtime other than through the channels and watches VRRP already
//! uses.
//!
//! Why a thread and not `spawn_blocking` around each heavy step: VRRP's
//! timing then holds by construction, whatever the main runtime does (a
//! reload's parse, plan and diff, a status dump of 100,000 destinations,
//! a commit, the health runner's bookkeeping of its checks, a step added
//! later that nobody thought heavy). Moving each heavy step off the main
//! runtime is a promise every future change must keep; the thread is not.
//! The main runtime still hands the biggest pure steps of a reload to the
//! blocking pool, so its own tasks (the supervisor, the watchdog's query)
//! stay responsive too.

use std::io;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// The VRRP thread's nice value: ahead of the main runtime, the blocking
/// pool and other processes when the CPU is busy (a reload's seconds of
/// parsing on a two-core box left a 102 ms gap at 50 ms adverts at the
/// default). The thread sleeps between adverts, so it starves nothing.
const NICE: nix::libc::c_int = -10;

/// How long the drop waits for the thread to end before leaving it to
/// the process's exit.
const STOP_BOUND: Duration = Duration::from_secs(1);

/// The running VRRP thread; dropping it stops its runtime (every task
/// still on it is dropped).
pub(super) struct VrrpThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl VrrpThread {
    /// Starts the thread (`vigil-vrrp`) and its runtime.
    pub(super) fn start() -> io::Result<Self> {
        let rt = Builder::new_current_thread().enable_all().build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("vigil-vrrp".into())
            .spawn(move || {
                raise_priority();
                // Spawned tasks run while this waits; a dropped sender
                // (the daemon ending without a drop) stops it too.
                rt.block_on(async {
                    let _ = stopped.await;
                });
                rt.shutdown_timeout(STOP_BOUND);
            })?;
        Ok(VrrpThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where VRRP's tasks are spawned.
    pub(super) fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// Gives the calling thread (only it: on Linux the nice value is per
/// thread, and `who` 0 is the calling thread) [`NICE`]; without the
/// privilege it runs at the daemon's, said once. Not through `gettid`:
/// the static glibc build leaves that symbol weak and unresolved (a call
/// to address 0, which crashed the appliance's daemon at start).
fn raise_priority() {
    // SAFETY: a plain syscall about the calling thread; no pointers.
    let rc = unsafe { nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, NICE) };
    if rc != 0 {
        tracing::warn!(
            error = %io::Error::last_os_error(),
            "cannot raise the vrrp thread's priority; it runs at the daemon's"
        );
    }
}

impl Drop for VrrpThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        let until = Instant::now() + 2 * STOP_BOUND;
        while !thread.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
#[path = "vrrp_thread_tests.rs"]
mod tests;
