//! Unit tests of `outcome.rs`.

use super::*;

#[test]
fn io_errors_map_to_causes() {
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    assert_eq!(Failure::from_io(Stage::Connect, &refused), Failure::Refused);
    let reset = io::Error::from(io::ErrorKind::ConnectionReset);
    assert_eq!(
        Failure::from_io(Stage::Head, &reset),
        Failure::Io {
            stage: Stage::Head,
            kind: io::ErrorKind::ConnectionReset
        }
    );
    assert_eq!(
        Failure::BadStatus { code: 503 }.to_string(),
        "bad status 503"
    );
    assert_eq!(
        Failure::Timeout {
            stage: Stage::Connect
        }
        .to_string(),
        "timed out (connect)"
    );
}

#[test]
fn causes_are_small_and_copy() {
    fn is_copy<T: Copy>() {}
    is_copy::<Failure>();
    assert!(std::mem::size_of::<Outcome>() <= 24);
}

#[test]
fn every_reason_has_its_own_index_and_word() {
    for (i, r) in Reason::ALL.iter().enumerate() {
        assert_eq!(r.index(), i);
    }
    let mut words: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    words.sort_unstable();
    words.dedup();
    assert_eq!(words.len(), Reason::ALL.len());
    assert_eq!(Failure::Refused.reason().as_str(), "refused");
    assert_eq!(
        Failure::Timeout { stage: Stage::Tls }.reason(),
        Reason::Timeout
    );
    assert_eq!(
        Failure::BadStatus { code: 500 }.reason().as_str(),
        "bad_status"
    );
    assert_eq!(Failure::ScriptTimeout.reason().as_str(), "script_timeout");
}
