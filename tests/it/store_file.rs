//! The store on a real file: create, commit, reopen, size checks.

use std::error::Error as _;
use std::fs;
use std::io;

use vigil::store::{Geometry, SlotId, SlotStatus, Store, StoreError};

#[test]
fn create_commit_twice_reopen_loads_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.bin");
    {
        let mut store = Store::open(&path, Geometry::default(), true).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 128 * 1024);
        let loaded = store.load().unwrap();
        assert_eq!(loaded.newest, None);
        assert_eq!(
            (loaded.a, loaded.b),
            (SlotStatus::Erased, SlotStatus::Erased)
        );
        store.commit(b"first config").unwrap();
        let c = store.commit(b"second config").unwrap();
        assert_eq!((c.slot, c.seq), (SlotId::B, 2));
    }
    let store = Store::open(&path, Geometry::default(), false).unwrap();
    let loaded = store.load().unwrap();
    let newest = loaded.newest.unwrap();
    assert_eq!(
        (newest.slot, newest.seq, newest.payload.as_slice()),
        (SlotId::B, 2, &b"second config"[..])
    );
    assert_eq!(loaded.a, SlotStatus::Valid { seq: 1, len: 12 });
    // An open store is locked: let go before opening it again.
    drop(store);

    // Opening with `create` again keeps the existing contents.
    let store = Store::open(&path, Geometry::default(), true).unwrap();
    assert_eq!(store.load().unwrap().newest.unwrap().seq, 2);
    assert_eq!(fs::metadata(&path).unwrap().len(), 128 * 1024);
}

#[test]
fn small_geometry_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.bin");
    let geometry = Geometry { slot_size: 4096 };
    let mut store = Store::open(&path, geometry, true).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 8192);
    for i in 0..5u8 {
        store.commit(&[i; 100]).unwrap();
    }
    drop(store);
    let newest = Store::open(&path, geometry, false)
        .unwrap()
        .load()
        .unwrap()
        .newest
        .unwrap();
    assert_eq!(
        (newest.slot, newest.seq, newest.payload),
        (SlotId::A, 5, vec![4; 100])
    );
}

#[test]
fn file_too_small_is_device_too_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.bin");
    fs::write(&path, vec![0u8; 1000]).unwrap();
    for create in [false, true] {
        let err = Store::open(&path, Geometry::default(), create).unwrap_err();
        match &err {
            StoreError::DeviceTooSmall {
                path: p,
                len,
                needed,
            } => assert_eq!((p, *len, *needed), (&path, 1000, 128 * 1024)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "config store {}: device is 1000 bytes, needs at least 131072",
                path.display()
            )
        );
    }
    assert_eq!(fs::metadata(&path).unwrap().len(), 1000, "not resized");
}

#[test]
fn missing_file_without_create_is_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.bin");
    let err = Store::open(&path, Geometry::default(), false).unwrap_err();
    assert!(
        matches!(&err, StoreError::Io { op: "open", slot: None, source, .. }
            if source.kind() == io::ErrorKind::NotFound),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("config store {}: open failed", path.display())
    );
    assert!(err.source().is_some());
    assert!(!path.exists());
}

#[test]
fn bad_geometry_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.bin");
    let err = Store::open(&path, Geometry { slot_size: 1000 }, true).unwrap_err();
    assert!(matches!(err, StoreError::BadGeometry { slot_size: 1000 }));
    assert!(!path.exists());
}
