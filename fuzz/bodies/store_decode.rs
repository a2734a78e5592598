//! Arbitrary bytes as a config-store device image (two 4 KiB slots).
//!
//! Properties: `load` never panics and never errors on a device of the right
//! size; a payload it returns re-verifies through the pure codec; the
//! statuses it reports are the codec's; a commit on top of any image loads
//! back as the newest copy with the next sequence number, and keeps the
//! copy that was newest before.

use vigil::store::slot::{self, SlotStatus};
use vigil::store::{Geometry, MemFlash, SlotId, Store};

const GEOMETRY: Geometry = Geometry { slot_size: 4096 };
const SLOT: usize = 4096;

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let mut image = data.to_vec();
    image.resize(2 * SLOT, 0);
    let before = image.clone();

    let mut store = Store::new(MemFlash::from_bytes(image), GEOMETRY).expect("device fits");
    let loaded = store.load().expect("memory reads do not fail");

    for (id, status) in [(SlotId::A, loaded.a), (SlotId::B, loaded.b)] {
        let at = GEOMETRY.offset(id) as usize;
        assert_eq!(slot::decode_slot(&before[at..at + SLOT]).status(), status);
    }

    if let Some(newest) = &loaded.newest {
        let at = GEOMETRY.offset(newest.slot) as usize;
        let d = slot::decode_slot(&before[at..at + SLOT]);
        assert_eq!(
            d.status(),
            SlotStatus::Valid {
                seq: newest.seq,
                len: newest.payload.len() as u32
            }
        );
        assert_eq!(d.payload(), Some(newest.payload.as_slice()));
        // Re-encoding what was loaded reproduces the stored bytes exactly.
        let again = slot::encode(newest.seq, &newest.payload, SLOT).expect("fits");
        assert_eq!(again[..], before[at..at + again.len()]);
        if let SlotStatus::Valid { seq, .. } = loaded.status(newest.slot.other()) {
            assert!(seq <= newest.seq);
        }
    }

    // Commit something derived from the input over whatever is there.
    let payload = &data[..data.len().min(GEOMETRY.max_payload())];
    match store.commit(payload) {
        Ok(c) => {
            let expected_seq = loaded.newest.as_ref().map_or(1, |n| n.seq + 1);
            assert_eq!(c.seq, expected_seq);
            let after = store.load().expect("memory reads do not fail");
            let newest = after.newest.as_ref().expect("just committed");
            assert_eq!((newest.slot, newest.seq), (c.slot, c.seq));
            assert_eq!(newest.payload.as_slice(), payload);
            if let Some(old) = &loaded.newest {
                assert_eq!(c.slot, old.slot.other());
                assert_eq!(after.status(old.slot), loaded.status(old.slot));
            }
        }
        Err(e) => {
            assert!(
                matches!(e, vigil::store::StoreError::SequenceExhausted { .. }),
                "{e}"
            );
            assert_eq!(loaded.newest.map(|n| n.seq), Some(u64::MAX));
        }
    }
}
