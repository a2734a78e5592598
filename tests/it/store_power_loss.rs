//! Power loss during `commit`: whatever part of the write reaches the
//! device, `load` returns exactly the old config or exactly the new one.
//!
//! The write is not re-derived: a recording `Flash` wrapper captures the
//! bytes `commit` actually hands to the device, and the tear is applied to
//! a copy of the device image taken just before the commit.

use std::cell::RefCell;
use std::io;
use std::path::Path;

use vigil::store::{Flash, Geometry, MemFlash, SlotId, Store};

use crate::support::rng::Rng;

const SECTOR: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Read { offset: u64, len: usize },
    Write { offset: u64, data: Vec<u8> },
    Sync,
}

/// Passes everything to a `MemFlash` and logs every operation.
struct Recording {
    inner: MemFlash,
    log: RefCell<Vec<Op>>,
}

impl Flash for Recording {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.log.borrow_mut().push(Op::Read {
            offset,
            len: buf.len(),
        });
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.log.borrow_mut().push(Op::Write {
            offset,
            data: data.to_vec(),
        });
        self.inner.write_at(offset, data)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.log.borrow_mut().push(Op::Sync);
        self.inner.sync()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

/// A write as it was handed to the device.
struct CapturedWrite {
    /// The device image just before the commit.
    before: Vec<u8>,
    offset: usize,
    data: Vec<u8>,
    target: SlotId,
}

/// Deterministic, distinct payloads: `tag` selects the sequence.
fn payload(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(tag.wrapping_mul(97))
                ^ (i >> 8) as u8
        })
        .collect()
}

/// Commits `history` in order on a fresh device, then commits `new`
/// through a recording wrapper and returns the one write it made.
fn capture(geometry: Geometry, history: &[&[u8]], new: &[u8]) -> CapturedWrite {
    let mut store = Store::new(MemFlash::new(geometry.total_len() as usize), geometry).unwrap();
    for p in history {
        store.commit(p).unwrap();
    }
    let before = store.into_flash().into_bytes();
    let recording = Recording {
        inner: MemFlash::from_bytes(before.clone()),
        log: RefCell::new(Vec::new()),
    };
    let mut store = Store::new(recording, geometry).unwrap();
    let committed = store.commit(new).unwrap();
    let log = store.into_flash().log.into_inner();

    // Reads of both slots, one write, a sync, a read-back of that range.
    let writes: Vec<_> = log
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::Write { offset, data } => Some((i, *offset, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(writes.len(), 1, "commit makes exactly one write: {log:?}");
    let (i, offset, data) = writes.into_iter().next().unwrap();
    assert!(
        log[..i].iter().all(|op| matches!(op, Op::Read { .. })),
        "only reads before the write"
    );
    assert_eq!(
        log[i + 1..],
        [
            Op::Sync,
            Op::Read {
                offset,
                len: data.len()
            }
        ],
        "sync, then read back exactly what was written"
    );
    assert_eq!(offset, geometry.offset(committed.slot));
    assert_eq!(offset as usize % SECTOR, 0, "slots are sector aligned");
    CapturedWrite {
        before,
        offset: offset as usize,
        data,
        target: committed.slot,
    }
}

/// Loads a torn image and checks the result is exactly `old` or exactly
/// `new`, and `new` only if the target range holds the complete write.
fn check(
    image: Vec<u8>,
    geometry: Geometry,
    w: &CapturedWrite,
    old: &[u8],
    new: &[u8],
    what: &str,
) {
    let complete = image[w.offset..w.offset + w.data.len()] == w.data[..];
    let store = Store::new(MemFlash::from_bytes(image), geometry).unwrap();
    let loaded = store.load().unwrap();
    let Some(newest) = loaded.newest else {
        panic!("{what}: nothing loads (a {}, b {})", loaded.a, loaded.b);
    };
    if complete {
        assert_eq!(newest.payload, new, "{what}: complete write must load new");
        assert_eq!(newest.slot, w.target, "{what}");
    } else {
        assert!(
            newest.payload == old,
            "{what}: partial write must load the old config, got {} bytes from slot {} seq {}",
            newest.payload.len(),
            newest.slot,
            newest.seq
        );
        assert_eq!(newest.slot, w.target.other(), "{what}");
    }
}

/// Applies only the first `k` bytes of the write, for every k.
fn sweep_every_byte(geometry: Geometry, history: &[&[u8]], new: &[u8]) {
    let old = *history.last().expect("an old config");
    let w = capture(geometry, history, new);
    for k in 0..=w.data.len() {
        let mut image = w.before.clone();
        image[w.offset..w.offset + k].copy_from_slice(&w.data[..k]);
        check(image, geometry, &w, old, new, &format!("prefix k={k}"));
    }
}

/// Splits the write into 512-byte sectors; the device persists a prefix of
/// a random order of them, and possibly a byte prefix of the next one.
fn sweep_torn_sectors(geometry: Geometry, history: &[&[u8]], new: &[u8], seed: u64, cases: usize) {
    let old = *history.last().expect("an old config");
    let w = capture(geometry, history, new);
    let sectors = w.data.len().div_ceil(SECTOR);
    assert!(sectors >= 2, "a multi-sector write");
    let mut rng = Rng(seed);
    for case in 0..cases {
        let mut order: Vec<usize> = (0..sectors).collect();
        for i in (1..sectors).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let landed = rng.below(sectors + 1);
        let tear = if landed < sectors && rng.below(2) == 0 {
            Some(rng.below(SECTOR))
        } else {
            None
        };
        let mut image = w.before.clone();
        let mut apply = |s: usize, upto: usize| {
            let start = s * SECTOR;
            let end = (start + upto).min(w.data.len());
            if start < end {
                image[w.offset + start..w.offset + end].copy_from_slice(&w.data[start..end]);
            }
        };
        for &s in &order[..landed] {
            apply(s, SECTOR);
        }
        if let Some(bytes) = tear {
            apply(order[landed], bytes);
        }
        let what = format!(
            "seed {seed:#x} case {case}: sectors {:?} then tear {tear:?}",
            &order[..landed]
        );
        check(image, geometry, &w, old, new, &what);
    }
}

fn default_geometry() -> Geometry {
    Geometry::default()
}

#[test]
fn every_byte_prefix_distinct_payloads() {
    let a = payload(1, 3000);
    let b = payload(2, 4000);
    sweep_every_byte(default_geometry(), &[&a], &b);
}

#[test]
fn every_byte_prefix_new_shorter_than_old() {
    let a = payload(1, 5000);
    let b = payload(2, 700);
    sweep_every_byte(default_geometry(), &[&a], &b);
}

#[test]
fn every_byte_prefix_multi_sector() {
    // 7 full sectors and a partial eighth, over an erased slot.
    let a = payload(3, 2000);
    let b = payload(4, 7 * SECTOR + 100);
    sweep_every_byte(default_geometry(), &[&a], &b);
}

#[test]
fn every_byte_prefix_never_resurrects_older_c() {
    // Slot A holds C (seq 1), slot B holds A (seq 2); B goes over C.
    let c = payload(5, 4500);
    let a = payload(6, 2500);
    for b in [payload(7, 3500), payload(7, 600), payload(7, 6000)] {
        sweep_every_byte(default_geometry(), &[&c, &a], &b);
    }
}

#[test]
fn every_byte_prefix_new_differs_from_older_c_in_last_byte() {
    // The stale bytes under the write already match the new payload except
    // its last byte: the tear must still not validate early.
    let c = payload(8, 3000);
    let a = payload(9, 1000);
    let mut b = c.clone();
    *b.last_mut().unwrap() ^= 0xFF;
    sweep_every_byte(default_geometry(), &[&c, &a], &b);
}

#[test]
fn every_byte_prefix_recommit_same_payload() {
    // Recommitting C over C: once the header is new the slot is the full
    // write byte for byte, and loading the new copy is correct.
    let c = payload(10, 2000);
    let a = payload(11, 1000);
    sweep_every_byte(default_geometry(), &[&c, &a], &c);
}

#[test]
fn every_byte_prefix_small_geometry_full_slot() {
    // A payload that fills a 4 KiB slot to the last byte.
    let geometry = Geometry { slot_size: 4096 };
    let a = payload(12, 100);
    let b = payload(13, geometry.max_payload());
    sweep_every_byte(geometry, &[&a], &b);
}

#[test]
fn torn_sectors_over_erased_slot() {
    let a = payload(20, 3000);
    let b = payload(21, 6 * SECTOR + 300);
    sweep_torn_sectors(default_geometry(), &[&a], &b, 0x5EED_0001, 1500);
}

#[test]
fn torn_sectors_over_older_c() {
    let c = payload(22, 9 * SECTOR);
    let a = payload(23, 2000);
    let b = payload(24, 5 * SECTOR + 17);
    sweep_torn_sectors(default_geometry(), &[&c, &a], &b, 0x5EED_0002, 1500);
    let b_short = payload(25, SECTOR + 1);
    sweep_torn_sectors(default_geometry(), &[&c, &a], &b_short, 0x5EED_0003, 500);
}

#[test]
fn torn_sectors_after_many_commits() {
    // Several rounds: both slots have been rewritten a few times.
    let history: Vec<Vec<u8>> = (0..5)
        .map(|i| payload(30 + i, 1500 + 700 * i as usize))
        .collect();
    let refs: Vec<&[u8]> = history.iter().map(|p| p.as_slice()).collect();
    let b = payload(40, 4 * SECTOR);
    sweep_torn_sectors(default_geometry(), &refs, &b, 0x5EED_0004, 1000);
}
