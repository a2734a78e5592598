//! Unit tests of `drain.rs`.

use super::*;

#[test]
fn the_file_carries_the_drain_to_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("vigil.sock");
    let d = Drain::beside(&control);
    assert!(!d.is_drained());
    let mut rx = d.subscribe();
    d.set(true).unwrap();
    assert!(*rx.borrow_and_update());
    assert!(dir.path().join("vigil.drained").exists());
    assert!(
        Drain::beside(&control).is_drained(),
        "a restart finds it drained"
    );
    d.set(false).unwrap();
    d.set(false).unwrap();
    assert!(!*rx.borrow_and_update());
    assert!(!Drain::beside(&control).is_drained());
}
