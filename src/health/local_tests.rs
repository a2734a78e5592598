//! Unit tests of `local.rs`: which errors are the box's, and the log's
//! rate limit.

use super::*;

fn errno(n: i32) -> io::Error {
    io::Error::from_raw_os_error(n)
}

#[test]
fn the_boxs_own_errnos_are_local_and_the_servers_are_not() {
    assert_eq!(
        LocalError::of(&errno(libc::EMFILE), false),
        Some(LocalError::Emfile)
    );
    assert_eq!(
        LocalError::of(&errno(libc::ENFILE), false),
        Some(LocalError::Enfile)
    );
    assert_eq!(
        LocalError::of(&errno(libc::ENOBUFS), true),
        Some(LocalError::Enobufs)
    );
    assert_eq!(
        LocalError::of(&errno(libc::ENOMEM), false),
        Some(LocalError::Enomem)
    );
    assert_eq!(
        LocalError::of(&errno(libc::EADDRNOTAVAIL), true),
        Some(LocalError::Eaddrnotavail)
    );
    assert_eq!(
        LocalError::of(&errno(libc::EAGAIN), true),
        Some(LocalError::Eagain)
    );
    // Only connect's EAGAIN / EADDRNOTAVAIL mean no local port.
    assert_eq!(LocalError::of(&errno(libc::EAGAIN), false), None);
    assert_eq!(LocalError::of(&errno(libc::EADDRNOTAVAIL), false), None);
    for server in [
        libc::ECONNREFUSED,
        libc::EHOSTUNREACH,
        libc::ECONNRESET,
        libc::ETIMEDOUT,
    ] {
        assert_eq!(LocalError::of(&errno(server), true), None);
    }
    assert_eq!(LocalError::of(&io::Error::other("x"), true), None);
}

#[test]
fn every_kind_has_its_index_and_word() {
    for (i, e) in LocalError::ALL.iter().enumerate() {
        assert_eq!(e.index(), i);
        // An errno's name, but for the one kind that is no errno.
        let errno = e.word().starts_with('E') && !e.word().contains('_');
        assert_eq!(errno, *e != LocalError::DrPathNotReady, "{}", e.word());
    }
}

#[test]
fn a_kind_is_logged_at_once_then_at_most_once_a_minute_with_its_count() {
    let t0 = Instant::now();
    let mut q = Quiet::default();
    assert_eq!(q.note(LocalError::Emfile, t0), Some(1));
    for s in 1..60 {
        assert_eq!(
            q.note(LocalError::Emfile, t0 + Duration::from_secs(s)),
            None
        );
    }
    // Another kind is not held back by the first.
    assert_eq!(
        q.note(LocalError::Enobufs, t0 + Duration::from_secs(5)),
        Some(1)
    );
    assert_eq!(q.note(LocalError::Emfile, t0 + QUIET_FOR), Some(60));
    assert_eq!(
        q.note(LocalError::Emfile, t0 + QUIET_FOR + Duration::from_secs(1)),
        None
    );
}
