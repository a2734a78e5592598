//! Arbitrary bytes as a commit-history device (32 records of 4 KiB, or a
//! two-slot store under them).
//!
//! Properties: reading never panics and never errors on a device of the
//! right size; every listed commit's payload reads back; `running` picks
//! a listed commit that is confirmed; a commit on top of any image becomes
//! the newest and boots, and what booted before it is still in the history
//! (unless nothing did).

use vigil::store::{Geometry, History, MemFlash, Meta, Source};

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
        assert_eq!(h.get(e.seq()).expect("listed").len(), e.head.len as usize);
    }
    let before = h.running().expect("memory reads do not fail");
    if let Some(r) = &before {
        assert!(r.entry.is_confirmed());
        assert!(list.iter().any(|e| e.seq() == r.entry.seq()));
    }
    let payload = &data[..data.len().min(1000)];
    let meta = Meta::default();
    match h.commit(payload, Source::Import, &meta) {
        Ok(c) => {
            let r = h.running().expect("reads").expect("just committed");
            assert_eq!((r.entry.seq(), r.payload.as_slice()), (c.seq, payload));
            if let Some(b) = before {
                assert_eq!(h.get(b.entry.seq()).ok(), Some(b.payload));
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
