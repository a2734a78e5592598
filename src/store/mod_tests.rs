//! Unit tests of `Store` on `MemFlash`: slot choice, sequence numbers,
//! TooLarge, verify and error context. Byte-level codec tests live in
//! `slot_tests.rs`; tear and bit-flip sweeps in `tests/it/store_*.rs`.

use std::error::Error as _;
use std::io;
use std::path::Path;

use super::*;
use crate::store::slot::HEADER_LEN;

const GEO: Geometry = Geometry { slot_size: 4096 };

fn mem_store() -> Store<MemFlash> {
    Store::new(MemFlash::new(2 * 4096), GEO).unwrap()
}

/// Writes a valid slot image directly, bypassing `commit`.
fn put(store: Store<MemFlash>, slot: SlotId, seq: u64, payload: &[u8]) -> Store<MemFlash> {
    let mut flash = store.into_flash();
    let image = slot::encode(seq, payload, 4096).unwrap();
    let at = GEO.offset(slot) as usize;
    flash.as_bytes_mut()[at..at + image.len()].copy_from_slice(&image);
    Store::new(flash, GEO).unwrap()
}

#[test]
fn empty_device_loads_nothing() {
    let loaded = mem_store().load().unwrap();
    assert_eq!(
        loaded,
        Loaded {
            newest: None,
            a: SlotStatus::Erased,
            b: SlotStatus::Erased
        }
    );
}

#[test]
fn seq_increments_and_slots_alternate() {
    let mut store = mem_store();
    let expected = [SlotId::A, SlotId::B, SlotId::A, SlotId::B, SlotId::A];
    for (i, &slot) in expected.iter().enumerate() {
        let payload = format!("config {i}").into_bytes();
        let c = store.commit(&payload).unwrap();
        let seq = i as u64 + 1;
        assert_eq!(
            c,
            Committed {
                slot,
                seq,
                len: payload.len() as u32
            }
        );
        let loaded = store.load().unwrap();
        assert_eq!(loaded.newest, Some(Newest { slot, seq, payload }));
        if i > 0 {
            assert!(loaded.status(slot.other()).is_valid(), "older copy kept");
        }
    }
}

#[test]
fn newest_valid_wins_even_in_slot_a() {
    let store = put(mem_store(), SlotId::A, 9, b"newer in A");
    let mut store = put(store, SlotId::B, 3, b"older in B");
    let loaded = store.load().unwrap();
    assert_eq!(
        loaded.newest,
        Some(Newest {
            slot: SlotId::A,
            seq: 9,
            payload: b"newer in A".to_vec()
        })
    );
    assert_eq!(loaded.b, SlotStatus::Valid { seq: 3, len: 10 });
    // The next commit overwrites the older slot B with seq 10.
    let c = store.commit(b"next").unwrap();
    assert_eq!((c.slot, c.seq), (SlotId::B, 10));
}

#[test]
fn newest_valid_wins_in_slot_b() {
    let store = put(mem_store(), SlotId::A, 3, b"older");
    let store = put(store, SlotId::B, 4, b"newer");
    let newest = store.load().unwrap().newest.unwrap();
    assert_eq!((newest.slot, newest.seq), (SlotId::B, 4));
}

#[test]
fn equal_seq_prefers_a() {
    let store = put(mem_store(), SlotId::A, 5, b"a");
    let store = put(store, SlotId::B, 5, b"b");
    let newest = store.load().unwrap().newest.unwrap();
    assert_eq!((newest.slot, newest.payload), (SlotId::A, b"a".to_vec()));
}

#[test]
fn invalid_newer_slot_is_ignored() {
    let store = put(mem_store(), SlotId::A, 1, b"good");
    let mut store = put(store, SlotId::B, 2, b"bad soon");
    store.flash.as_bytes_mut()[4096 + HEADER_LEN] ^= 0x10;
    let loaded = store.load().unwrap();
    assert_eq!(loaded.newest.unwrap().payload, b"good");
    assert!(matches!(loaded.b, SlotStatus::CrcMismatch { .. }));
    // A commit goes to B (not holding the newest valid copy) with seq 2.
    let c = store.commit(b"again").unwrap();
    assert_eq!((c.slot, c.seq), (SlotId::B, 2));
}

#[test]
fn first_commit_over_garbage_goes_to_a() {
    let mut store = mem_store();
    store.flash.as_bytes_mut().fill(0x5A);
    let loaded = store.load().unwrap();
    assert_eq!(
        (loaded.a, loaded.b),
        (SlotStatus::BadMagic, SlotStatus::BadMagic)
    );
    let c = store.commit(b"x").unwrap();
    assert_eq!((c.slot, c.seq), (SlotId::A, 1));
}

#[test]
fn too_large_writes_nothing() {
    let mut store = put(mem_store(), SlotId::A, 1, b"keep me");
    let before = store.flash().clone();
    let max = 4096 - HEADER_LEN;
    let err = store.commit(&vec![1u8; max + 1]).unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { len, max: m } if len == max + 1 && m == max),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "payload of 4073 bytes does not fit in a slot (max 4072)"
    );
    assert_eq!(store.flash(), &before, "nothing written");
    // Exactly the maximum fits and fills slot B to its last byte.
    let c = store.commit(&vec![2u8; max]).unwrap();
    assert_eq!((c.slot, c.len), (SlotId::B, max as u32));
    assert_eq!(store.flash().as_bytes()[2 * 4096 - 1], 2);
}

#[test]
fn sequence_exhausted() {
    let mut store = put(mem_store(), SlotId::B, u64::MAX, b"last");
    let err = store.commit(b"one more").unwrap_err();
    assert!(
        matches!(err, StoreError::SequenceExhausted { .. }),
        "{err:?}"
    );
    assert_eq!(store.load().unwrap().newest.unwrap().seq, u64::MAX);
}

#[test]
fn geometry_rules() {
    for bad in [0, 512, 4095, 4097, 4096 + 256] {
        assert!(matches!(
            Geometry { slot_size: bad }.validate(),
            Err(StoreError::BadGeometry { slot_size }) if slot_size == bad
        ));
    }
    for good in [4096, 4608, 64 * 1024] {
        assert!(Geometry { slot_size: good }.validate().is_ok());
    }
    assert_eq!(Geometry::default().slot_size, 64 * 1024);
    assert_eq!(Geometry::default().total_len(), 128 * 1024);
    assert!(Store::new(MemFlash::new(1 << 20), Geometry { slot_size: 1000 }).is_err());
}

#[test]
fn device_too_small() {
    let err = Store::new(MemFlash::new(2 * 4096 - 1), GEO).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::DeviceTooSmall {
                len: 8191,
                needed: 8192,
                ..
            }
        ),
        "{err:?}"
    );
    // A larger device is fine; only the first two slots are used.
    assert!(Store::new(MemFlash::new(3 * 4096), GEO).is_ok());
}

/// A device that loses or corrupts writes, or fails an operation.
struct Faulty {
    inner: MemFlash,
    flip_on_write: bool,
    fail: Option<&'static str>,
}

impl Flash for Faulty {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if self.fail == Some("read") {
            return Err(io::Error::other("injected read error"));
        }
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.fail == Some("write") {
            return Err(io::Error::other("injected write error"));
        }
        self.inner.write_at(offset, data)?;
        if self.flip_on_write {
            let at = offset as usize + data.len() - 1;
            self.inner.as_bytes_mut()[at] ^= 0x01; // a stuck bit
        }
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        if self.fail == Some("sync") {
            return Err(io::Error::other("injected sync error"));
        }
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn path(&self) -> &Path {
        Path::new("/dev/mtdblock-test")
    }
}

fn faulty(flip_on_write: bool, fail: Option<&'static str>) -> Store<Faulty> {
    let flash = Faulty {
        inner: MemFlash::new(2 * 4096),
        flip_on_write,
        fail,
    };
    Store::new(flash, GEO).unwrap()
}

#[test]
fn verify_failed_on_bad_flash() {
    let mut store = faulty(true, None);
    let err = store.commit(b"abc").unwrap_err();
    match &err {
        StoreError::VerifyFailed {
            slot,
            seq,
            first_mismatch,
            ..
        } => assert_eq!(
            (*slot, *seq, *first_mismatch),
            (SlotId::A, 1, HEADER_LEN + 2)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "config store /dev/mtdblock-test: slot A read back different bytes after \
         writing seq 1 (first at slot byte 26)"
    );
}

#[test]
fn io_errors_name_path_op_slot_and_chain_source() {
    for (op, msg) in [
        (
            "read",
            "config store /dev/mtdblock-test: read slot A failed",
        ),
        (
            "write",
            "config store /dev/mtdblock-test: write slot A failed",
        ),
        (
            "sync",
            "config store /dev/mtdblock-test: sync slot A failed",
        ),
    ] {
        let mut store = faulty(false, Some(op));
        let err = store.commit(b"abc").unwrap_err();
        assert_eq!(err.to_string(), msg);
        let source = err.source().expect("source chained");
        assert!(source.to_string().starts_with("injected"), "{source}");
    }
    let err = faulty(false, Some("read")).load().unwrap_err();
    assert!(matches!(
        err,
        StoreError::Io {
            op: "read",
            slot: Some(SlotId::A),
            ..
        }
    ));
}

#[test]
fn status_display_is_lowercase() {
    for s in [
        SlotStatus::Valid { seq: 1, len: 2 },
        SlotStatus::Erased,
        SlotStatus::BadMagic,
        SlotStatus::UnsupportedVersion { found: 7 },
        SlotStatus::BadHeaderLength { found: 7 },
        SlotStatus::BadLength { len: 9, max: 8 },
        SlotStatus::CrcMismatch {
            stored: 1,
            computed: 2,
        },
    ] {
        let text = s.to_string();
        assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
    }
}
