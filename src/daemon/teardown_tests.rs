use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::{hold, HOLD};

#[test]
fn the_holder_shares_this_process_and_ends_by_itself() {
    let t0 = Instant::now();
    let pid = hold().expect("the holder is made");
    // A process of its own (not a thread of this one), sharing its memory.
    let ours = std::fs::read_link("/proc/self/exe").expect("our exe");
    let its = std::fs::read_link(format!("/proc/{pid}/exe")).expect("its exe");
    assert_eq!(its, ours);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its status");
    let tgid = (status.lines())
        .find_map(|l| l.strip_prefix("Tgid:"))
        .map(str::trim)
        .expect("Tgid");
    assert_eq!(tgid, pid.to_string(), "a thread group of its own");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("its fds")
        .count();
    assert_eq!(fds, 0, "it holds no file descriptor of ours");
    // Memory mapped here after it was made shows in its map: one memory.
    let big = vec![1u8; 64 << 20];
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("its maps");
    assert!(
        maps.lines().any(|l| {
            let (lo, hi) = l
                .split_once(' ')
                .and_then(|(r, _)| r.split_once('-'))
                .unwrap();
            let (lo, hi) = (
                usize::from_str_radix(lo, 16).unwrap(),
                usize::from_str_radix(hi, 16).unwrap(),
            );
            (lo..hi).contains(&(big.as_ptr() as usize))
        }),
        "{:p} not in its maps",
        big.as_ptr()
    );
    drop(big);
    let done = waitpid(pid, Some(WaitPidFlag::__WALL)).expect("reaped");
    assert_eq!(done, WaitStatus::Exited(pid, 0));
    let took = t0.elapsed();
    assert!(
        took >= HOLD && took < HOLD + Duration::from_secs(2),
        "held {took:?}"
    );
}

#[test]
fn a_child_that_ends_without_closing_is_given_up_at_once() {
    let mut child = std::process::Command::new("true").spawn().expect("true");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let t0 = Instant::now();
    assert!(!super::closed_in_time(pid, &AtomicBool::new(false)));
    assert!(t0.elapsed() < super::CLOSE_BOUND, "{:?}", t0.elapsed());
    // Reaped there.
    assert!(waitpid(pid, Some(WaitPidFlag::__WALL)).is_err());
    assert!(child.wait().is_err(), "nothing left to wait for");
}

#[test]
fn a_child_that_never_says_it_closed_is_killed_at_the_bound() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let t0 = Instant::now();
    assert!(!super::closed_in_time(pid, &AtomicBool::new(false)));
    let took = t0.elapsed();
    assert!(
        took >= super::CLOSE_BOUND && took < super::CLOSE_BOUND * 3,
        "{took:?}"
    );
    assert!(
        waitpid(pid, Some(WaitPidFlag::__WALL)).is_err(),
        "killed and reaped"
    );
    assert!(child.wait().is_err(), "nothing left to wait for");
}
