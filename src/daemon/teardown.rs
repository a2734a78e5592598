//! The old image's memory across a hitless restart's exec.
//!
//! Owns: [`hold`], a child that shares this process's memory (`CLONE_VM`)
//! and exits a second later, made just before the exec; [`handed_over`]
//! and [`reap`], which the new image runs on it. Why: an exec tears the
//! old image's memory down before the new image runs a single
//! instruction, and with a big config that is the longest step between
//! the master's last advert and the new image's advert bridge (some 90 ms
//! for the 700 MB of 204,800 real servers in a VM). With the child holding
//! a reference the exec only drops its own, and the child frees the memory
//! after the bridge is up, on whatever CPU is free. If the child cannot be
//! made, the exec tears down as it always did: slower, not wrong.
//!
//! Must not: run anything in the child but raw system calls, or let it
//! keep a file descriptor (the child closes its copies, and the exec waits
//! for that: the new image takes the control socket's lock at once). It
//! shares the parent's memory and its thread-local storage (not even
//! `errno` may be written: the calls it makes set it only on failure), and
//! it runs with every signal blocked, so no handler of the parent's runs
//! there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// The environment variable naming the holder, for the new image to reap.
pub const ENV: &str = "VIGIL_HANDOFF_HOLDER";
/// How long the child holds the memory: past the exec and the new image's
/// bridge start (a few ms) by far; the memory is freed by then.
const HOLD: Duration = Duration::from_secs(1);
/// The child's stack: it only makes three system calls.
const STACK: usize = 64 << 10;
/// How long the exec waits for the child to close its files: microseconds
/// on any box not frozen.
const CLOSE_BOUND: Duration = Duration::from_secs(1);

/// The child's whole life: close its copy of every file descriptor (it
/// must not hold the control socket's lock, or any socket, past the
/// exec), say so through `arg`, sleep, then return (glibc's `clone` then
/// makes the `exit` system call itself, with no library code between).
/// If it cannot close them it returns at once: its exit closes them, and
/// the exec tears down as without it.
extern "C" fn holder(arg: *mut nix::libc::c_void) -> nix::libc::c_int {
    // SAFETY: raw system calls on valid arguments, nothing else. close_range
    // (Linux 5.9) fails only on a kernel without it (then errno, which is
    // the parent thread's, is written once, before the exec), nanosleep,
    // with every signal blocked, not at all. `arg` is the leaked flag
    // `hold` made, alive for good.
    unsafe {
        if nix::libc::syscall(nix::libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
            return 1;
        }
        (*(arg as *const AtomicBool)).store(true, Ordering::Release);
        let ts = nix::libc::timespec {
            tv_sec: HOLD.as_secs() as nix::libc::time_t,
            tv_nsec: 0,
        };
        nix::libc::syscall(
            nix::libc::SYS_nanosleep,
            &ts as *const nix::libc::timespec,
            std::ptr::null_mut::<nix::libc::timespec>(),
        );
    }
    0
}

/// Makes the holder; its PID, or `None` (logged) if it cannot be made.
/// Call right before the exec: the memory it holds is this process's as
/// it is then (the child shares it, it does not copy it).
pub fn hold() -> Option<Pid> {
    // The stack lives in the memory the child shares; leaked, since the
    // exec follows (a failed exec leaks 64 KiB once).
    let stack: &'static mut [u8] = Box::leak(vec![0u8; STACK].into_boxed_slice());
    // SAFETY: the stack grows down on every Linux target, so the child
    // starts at its end (aligned to 16 bytes as the ABIs want).
    let top = unsafe { stack.as_mut_ptr().add(STACK) };
    let top = (top as usize & !15) as *mut nix::libc::c_void;
    // Every signal blocked in this thread while the child is made: the
    // child inherits the mask, so no signal reaches it before it sleeps.
    let mut old = SigSet::empty();
    if let Err(e) = pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    ) {
        tracing::warn!(error = %e, "memory not held across the exec: cannot block signals");
        return None;
    }
    let closed: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let arg = closed as *const AtomicBool as *mut nix::libc::c_void;
    // SAFETY: `holder` runs on its own stack (`top`) and touches nothing
    // of the shared memory but that stack and `closed`; no exit signal, so
    // the child is reaped with __WALL ([`reap`]).
    let pid = unsafe { nix::libc::clone(holder, top, nix::libc::CLONE_VM, arg) };
    let made = nix::errno::Errno::result(pid).map(Pid::from_raw);
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    let pid = match made {
        Ok(pid) => pid,
        Err(e) => {
            tracing::warn!(error = %e, "memory not held across the exec: cannot make the child");
            return None;
        }
    };
    // The new image takes the control socket's lock at once: the child's
    // copy of its descriptor must be closed before the exec.
    if closed_in_time(pid, closed) {
        Some(pid)
    } else {
        tracing::warn!("memory not held across the exec: the child did not close its files");
        None
    }
}

/// Whether the child said it closed its files within [`CLOSE_BOUND`].
/// When not, it is gone (and reaped) on return: it ended by itself (it
/// could not close them), or it is killed.
fn closed_in_time(pid: Pid, closed: &AtomicBool) -> bool {
    let until = Instant::now() + CLOSE_BOUND;
    while !closed.load(Ordering::Acquire) {
        let flags = WaitPidFlag::__WALL | WaitPidFlag::WNOHANG;
        if !matches!(waitpid(pid, Some(flags)), Ok(WaitStatus::StillAlive)) {
            return false;
        }
        if Instant::now() > until {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    true
}

/// In the new image, before any thread starts: the holder the old image
/// made ([`ENV`], removed here so notify scripts do not inherit it).
pub fn handed_over() -> Option<Pid> {
    let pid = std::env::var_os(ENV)?;
    std::env::remove_var(ENV);
    let pid = pid.to_str()?.parse::<i32>().ok()?;
    (pid > 0).then(|| Pid::from_raw(pid))
}

/// Reaps the holder `pid` on a thread of its own (it ends within
/// [`HOLD`]).
pub fn reap(pid: Pid) {
    let wait = move || {
        let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
    };
    if let Err(e) = std::thread::Builder::new()
        .name("vigil-reap".into())
        .spawn(wait)
    {
        tracing::warn!(error = %e, "the restart's memory holder is not reaped");
    }
}

#[cfg(test)]
#[path = "teardown_tests.rs"]
mod tests;
