//! Arbitrary bytes as a commit-history device (32 records of 4 KiB, or a
//! two-slot store under them).
//!
//! Properties: reading never panics and never errors on a device of the
//! right size; every listed commit's payload reads back; `running` picks
//! a listed commit that is confirmed; a commit on top of any image becomes
//! the newest and boots, and what booted before it is still in the history
//! (unless nothing did); a checked commit reads back with its build's
//! stamp wherever the stamp fits after it, and a copy of a commit keeps
//! the stamp it read with.

use vigil::store::{BuildId, Geometry, History, MemFlash, Meta, Source};

const DEVICE: usize = 128 * 1024;

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    // Spread the input over the device so record headers are reached.
    let mut image = vec![0u8; DEVICE];
    for (i, chunk) in data.chunks(64).enumerate() {
        let at = (i * 4096) % DEVICE;
        image[at..at + chunk.len()].copy_from_slice(chunk);
    }
    let legacy = Geometry { slot_size: 4096 };
    let mut h = History::new(MemFlash::from_bytes(image), legacy).expect("device fits");
    let list = h.history().expect("memory reads do not fail");
    for e in &list {
        let (payload, _) = h.get_checked(e.seq()).expect("listed");
        assert_eq!(payload.len(), e.head.len as usize);
    }
    let before = h.running().expect("memory reads do not fail");
    if let Some(r) = &before {
        assert!(r.entry.is_confirmed());
        assert!(list.iter().any(|e| e.seq() == r.entry.seq()));
    }
    let payload = &data[..data.len().min(1000)];
    let meta = Meta::default();
    let build = BuildId::new(&[0x5a; 20]).expect("20 bytes");
    match h.commit_with(payload, Source::Import, &meta, None, Some(&build)) {
        Ok(c) => {
            let r = h.running().expect("reads").expect("just committed");
            assert_eq!((r.entry.seq(), r.payload.as_slice()), (c.seq, payload));
            // At most 1,000 bytes of payload: the stamp fits in the record.
            assert_eq!(r.entry.checked_by.as_ref(), Some(&build));
            if let Some(b) = before {
                assert_eq!(h.get(b.entry.seq()).ok(), Some(b.payload));
            }
            // A copy of it keeps the stamp.
            match h.rollback_to(c.seq, &meta) {
                Ok(copy) => {
                    let (again, by) = h.get_checked(copy.seq).expect("just written");
                    assert_eq!((again.as_slice(), by.as_ref()), (payload, Some(&build)));
                }
                Err(e) => assert!(
                    matches!(e, vigil::store::StoreError::SequenceExhausted { .. }),
                    "{e}"
                ),
            }
        }
        Err(e) => assert!(
            matches!(
                e,
                vigil::store::StoreError::SequenceExhausted { .. }
                    | vigil::store::StoreError::RecordTooLarge { .. }
            ),
            "{e}"
        ),
    }
}
