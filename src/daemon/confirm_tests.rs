use std::time::{Duration, Instant};

use super::*;

fn pending(seq: u64, deadline: u64) -> Option<PendingCommit> {
    Some(PendingCommit { seq, deadline })
}

#[test]
fn a_bare_number_is_minutes_and_a_unit_says_otherwise() {
    let w = |s: &str| s.parse::<Window>().map(Window::secs);
    assert_eq!(w("5"), Ok(300));
    assert_eq!(w("5m"), Ok(300));
    assert_eq!(w("90s"), Ok(90));
    assert_eq!(w("2h"), Ok(7200));
    assert_eq!(w("10s"), Ok(10));
    assert_eq!(w("1440"), Ok(86_400));
    assert_eq!(w("24h"), Ok(86_400));
    assert_eq!(w("9s"), Err(WindowError::OutOfRange { secs: 9 }));
    assert_eq!(w("0"), Err(WindowError::OutOfRange { secs: 0 }));
    assert_eq!(w("1441"), Err(WindowError::OutOfRange { secs: 86_460 }));
    // Overflow is out of range, not a wrapped small window.
    assert_eq!(
        w("4294967295h"),
        Err(WindowError::OutOfRange { secs: u32::MAX })
    );
    for bad in ["", "s", "m5", "5 m", "5ms", "1.5", "+5", "-5", "5d", "٣"] {
        assert!(
            matches!(w(bad), Err(WindowError::Unreadable(_))),
            "{bad:?}: {:?}",
            w(bad)
        );
    }
}

#[test]
fn a_window_is_written_as_it_would_be_typed_and_read_back_the_same() {
    for secs in [10, 45, 60, 90, 300, 3599, 3600, 5400, 86_400] {
        let w = Window::from_secs(secs).unwrap();
        assert_eq!(w.to_string().parse::<Window>(), Ok(w), "{w}");
    }
    assert_eq!(Window::from_secs(90).unwrap().to_string(), "90s");
    assert_eq!(Window::from_secs(300).unwrap().to_string(), "5m");
    assert_eq!(Window::from_secs(7200).unwrap().to_string(), "2h");
}

#[test]
fn the_control_socket_refuses_a_window_out_of_bounds() {
    let ok = postcard::to_allocvec(&300u32).unwrap();
    assert_eq!(
        postcard::from_bytes::<Window>(&ok).map(Window::secs),
        Ok(300)
    );
    for secs in [0u32, 9, 86_401, u32::MAX] {
        let bytes = postcard::to_allocvec(&secs).unwrap();
        assert!(postcard::from_bytes::<Window>(&bytes).is_err(), "{secs}");
    }
}

#[test]
fn the_deadline_is_the_window_on_and_a_test_minute_scales_it() {
    let w = |s| Window::from_secs(s).unwrap();
    let minute = Duration::from_secs(60);
    assert_eq!(deadline(1000, w(300), minute), 1300);
    assert_eq!(deadline(1000, w(45), minute), 1045);
    assert_eq!(deadline(1000, w(86_400), minute), 1000 + 86_400);
    // `--confirm-unit-secs 1`: five minutes last five seconds, and a
    // part of a scaled second rounds up, never to no window at all.
    assert_eq!(deadline(1000, w(300), Duration::from_secs(1)), 1005);
    assert_eq!(deadline(1000, w(10), Duration::from_secs(1)), 1001);
}

#[test]
fn fires_once_at_the_deadline_not_before() {
    let t0 = Instant::now();
    let mut m = Machine::default();
    m.follow(pending(4, 1060), 1000, t0);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(59)), None);
    assert_eq!(m.pending(), pending(4, 1060));
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(60)), Some(4));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(61)), None);
}

#[test]
fn a_confirm_or_a_plain_commit_disarms_and_a_newer_commit_confirmed_rearms() {
    let t0 = Instant::now();
    let mut m = Machine::default();
    m.follow(pending(4, 1060), 1000, t0);
    // Read again later with the same pending commit: the deadline stays.
    m.follow(pending(4, 1060), 1030, t0 + Duration::from_secs(31));
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    // A newer commit confirmed replaces the window.
    m.follow(pending(5, 1100), 1040, t0 + Duration::from_secs(40));
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(100)));
    // Confirmed (or a plain commit on top): nothing waits any more.
    m.follow(None, 1050, t0 + Duration::from_secs(50));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.handle_timeout(t0 + Duration::from_secs(200)), None);
}

#[test]
fn a_deadline_already_past_at_start_fires_at_once() {
    // A hitless restart after the window ended: roll back now.
    let t0 = Instant::now();
    let mut m = Machine::default();
    m.follow(pending(7, 900), 1000, t0);
    assert_eq!(m.poll_timeout(), Some(t0));
    assert_eq!(m.handle_timeout(t0), Some(7));
}
