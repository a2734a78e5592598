use super::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn doubles_up_to_max_and_reset_starts_again() {
    let mut b = Backoff::new(secs(1), secs(30));
    assert_eq!(b.peek(), secs(1));
    let waits: Vec<_> = (0..7).map(|_| b.next()).collect();
    assert_eq!(
        waits,
        [
            secs(1),
            secs(2),
            secs(4),
            secs(8),
            secs(16),
            secs(30),
            secs(30)
        ]
    );
    assert_eq!(b.failures(), 7);
    b.reset();
    assert_eq!(b.failures(), 0);
    assert_eq!(b.next(), secs(1));
}

#[test]
fn without_a_limit_it_never_gives_up() {
    let mut b = Backoff::new(Duration::from_millis(100), secs(5));
    for _ in 0..100 {
        assert!(b.retry().is_some());
    }
    assert_eq!(b.peek(), secs(5));
}

/// The mailer's schedule: 1 s doubling, capped at 300 s, 8 attempts.
#[test]
fn gives_up_after_the_attempts_given() {
    let mut b = Backoff::new(secs(1), secs(300)).give_up_after(8);
    let s: Vec<_> = (1..=8).map(|_| b.retry()).collect();
    let some = |n| Some(secs(n));
    assert_eq!(
        s,
        vec![
            some(1),
            some(2),
            some(4),
            some(8),
            some(16),
            some(32),
            some(64),
            None
        ]
    );
    let mut long = Backoff::new(secs(1), secs(300)).give_up_after(40);
    let s: Vec<_> = (1..=40).map(|_| long.retry()).collect();
    assert_eq!(s[8], some(256), "9th");
    assert_eq!(s[9], some(300), "10th");
    assert_eq!(s[38], some(300), "39th");
    assert_eq!(s[39], None, "40th");
}

#[test]
fn a_huge_max_saturates_instead_of_overflowing() {
    let mut b = Backoff::new(secs(1), Duration::MAX);
    for _ in 0..200 {
        b.next();
    }
    assert_eq!(b.peek(), Duration::MAX);
}
