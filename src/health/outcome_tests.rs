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
