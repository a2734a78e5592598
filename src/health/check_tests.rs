//! Unit tests of `check.rs`.

use super::*;

#[test]
fn status_ranges() {
    let mut u = UrlSpec {
        path: "/".into(),
        status: vec![],
        digest: None,
        virtualhost: None,
    };
    assert!(u.status_ok(200) && u.status_ok(299));
    assert!(!u.status_ok(199) && !u.status_ok(300) && !u.status_ok(503));
    u.status = vec![(200, 200), (400, 499), (503, 503)];
    assert!(u.status_ok(200) && u.status_ok(404) && u.status_ok(503));
    assert!(!u.status_ok(201) && !u.status_ok(500));
}
