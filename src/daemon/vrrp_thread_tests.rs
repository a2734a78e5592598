//! Unit tests of `vrrp_thread.rs`: the priority goes to the VRRP thread
//! alone.

use super::*;

fn own_nice() -> i32 {
    // SAFETY: a plain syscall about the calling thread. getpriority may
    // return -1 as a value; errno is not needed here (who 0 cannot fail).
    unsafe { nix::libc::getpriority(nix::libc::PRIO_PROCESS, 0) }
}

#[test]
fn only_the_calling_thread_gets_the_nice_value() {
    let before = own_nice();
    let inside = std::thread::spawn(|| {
        raise_priority();
        own_nice()
    })
    .join()
    .unwrap();
    // Raising priority needs CAP_SYS_NICE: the suite runs as root.
    assert_eq!(inside, NICE, "the VRRP thread's own nice");
    assert_eq!(own_nice(), before, "the calling process keeps its own");
}
