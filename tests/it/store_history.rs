//! Power cuts over long random runs of the commit history: commits,
//! unconfirmed commits, confirms, rollbacks, automatic rollbacks and boots,
//! on a fresh device or a two-slot store carried over.
//!
//! The fault model extends `store_power_loss.rs`: each write is split into
//! 512-byte sectors that land in a random order, and the power fails after
//! an arbitrary number of bytes (a prefix of a sector tears). After every
//! cut, `running()` must return exactly the config the model says booted
//! before the operation or the one it says boots after it (the latter only
//! when every byte of the operation landed, or its unwritten bytes already
//! held the same values), never an error, never a mix; and every commit the
//! device held outside the records written is still there.
//!
//! `VIGIL_SOAK_OPS` sets the operations per run (default 150); `make soak`
//! runs 20,000.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use vigil::store::{Flash, Geometry, History, Location, MemFlash, Meta, Source, Store};

use crate::support::rng::Rng;

const SECTOR: usize = 512;

/// A device that loses power after `budget` bytes: each write lands sector
/// by sector in a shuffled order; the sector in flight when the budget
/// runs out lands as a byte prefix; every later write and sync fails.
struct Cutting {
    inner: MemFlash,
    budget: usize,
    rng: Rng,
    /// Byte ranges the operation wrote (complete or not).
    written: Vec<(usize, Vec<u8>)>,
    cut: bool,
}

impl Flash for Cutting {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = offset as usize;
        self.written.push((start, data.to_vec()));
        if self.cut {
            return Err(io::Error::other("power is off"));
        }
        let mut sectors: Vec<(usize, usize)> = Vec::new();
        let mut at = start;
        while at < start + data.len() {
            let end = ((at / SECTOR + 1) * SECTOR).min(start + data.len());
            sectors.push((at, end));
            at = end;
        }
        for i in (1..sectors.len()).rev() {
            sectors.swap(i, self.rng.below(i + 1));
        }
        let bytes = self.inner.as_bytes_mut();
        for (s, e) in sectors {
            let n = (e - s).min(self.budget);
            bytes[s..s + n].copy_from_slice(&data[s - start..s - start + n]);
            self.budget -= n;
            if n < e - s {
                self.cut = true;
                return Err(io::Error::other("power failed mid-write"));
            }
        }
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        if self.cut {
            return Err(io::Error::other("power is off"));
        }
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn path(&self) -> &Path {
        Path::new("<cutting>")
    }
}

#[derive(Debug, Clone)]
enum Op {
    Commit(Vec<u8>),
    Unconfirmed(Vec<u8>),
    Confirm,
    RollbackTo(u64),
    RollbackUnconfirmed,
    Boot,
}

/// What was fully committed, in order: payload, confirmed.
#[derive(Debug, Clone, Default)]
struct Model(Vec<(Vec<u8>, bool)>);

impl Model {
    /// The boot rule, from the model alone.
    fn boots(&self) -> Option<&[u8]> {
        let (newest, confirmed) = self.0.last()?;
        if *confirmed {
            return Some(newest);
        }
        self.0[..self.0.len() - 1]
            .iter()
            .rev()
            .find(|(_, c)| *c)
            .map(|(p, _)| p.as_slice())
    }

    fn pending(&self) -> bool {
        matches!(self.0.last(), Some((_, false)))
    }

    /// The model after `op` completes (`payload_of`: a commit's config).
    fn after(&self, op: &Op, payload_of: &dyn Fn(u64) -> Vec<u8>) -> Model {
        let mut m = self.clone();
        let fallback = self.boots().map(<[u8]>::to_vec);
        match op {
            Op::Commit(p) => m.0.push((p.clone(), true)),
            Op::Unconfirmed(p) => m.0.push((p.clone(), false)),
            Op::Confirm => {
                let p = self.0.last().expect("pending").0.clone();
                m.0.push((p, true));
            }
            Op::RollbackTo(seq) => m.0.push((payload_of(*seq), true)),
            Op::RollbackUnconfirmed | Op::Boot => {
                if let (true, Some(p)) = (self.pending(), fallback) {
                    m.0.push((p, true));
                }
            }
        }
        m
    }
}

fn meta(i: u64) -> Meta {
    Meta {
        time: 1_700_000_000 + i,
        user: if i % 3 == 0 {
            "op".into()
        } else {
            String::new()
        },
        comment: "c".repeat((i % 40) as usize),
    }
}

fn run_op<F: Flash>(h: &mut History<F>, op: &Op, i: u64) -> bool {
    let seq = h.history().ok().and_then(|l| l.first().map(|e| e.seq()));
    let r = match op {
        Op::Commit(p) => h.commit(p, Source::Import, &meta(i)).map(|_| ()),
        Op::Unconfirmed(p) => h
            .commit_unconfirmed(p, Source::Console, &meta(i), 1_800_000_000)
            .map(|_| ()),
        Op::Confirm => h.confirm(seq.unwrap_or(0), &meta(i)).map(|_| ()),
        Op::RollbackTo(s) => h.rollback_to(*s, &meta(i)).map(|_| ()),
        Op::RollbackUnconfirmed => h.rollback_unconfirmed(&meta(i)).map(|_| ()),
        Op::Boot => h.settle_at_boot(1_700_000_000 + i).map(|_| ()),
    };
    r.is_ok()
}

fn payload(rng: &mut Rng, n: u64, max: usize) -> Vec<u8> {
    let len = 1 + rng.below(max);
    let mut p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    p[..8.min(len)].copy_from_slice(&n.to_le_bytes()[..8.min(len)]);
    p
}

/// One random operation that makes sense in the model's state.
fn pick(rng: &mut Rng, model: &Model, seqs: &[u64], n: u64, max: usize) -> Op {
    loop {
        return match rng.below(10) {
            0..=3 => Op::Commit(payload(rng, n, max)),
            4 | 5 => Op::Unconfirmed(payload(rng, n, max)),
            6 if model.pending() => Op::Confirm,
            7 if !seqs.is_empty() => Op::RollbackTo(seqs[rng.below(seqs.len())]),
            8 if model.pending() => Op::RollbackUnconfirmed,
            9 => Op::Boot,
            _ => continue,
        };
    }
}

/// Valid commits by seq: (record index, payload, bytes on the device
/// with the header, user and comment).
fn contents(bytes: &[u8], legacy: Geometry) -> BTreeMap<u64, (Location, Vec<u8>, usize)> {
    let h = History::new(MemFlash::from_bytes(bytes.to_vec()), legacy).unwrap();
    h.history()
        .unwrap()
        .into_iter()
        .map(|e| {
            let head = &e.head;
            let len = vigil::store::record::HEADER_LEN + head.user.len() + head.comment.len();
            let len = len + head.len as usize;
            (e.seq(), (e.location, h.get(e.seq()).unwrap(), len))
        })
        .collect()
}

fn soak(seed: u64, device: usize, legacy_start: bool, max_payload: usize) {
    let ops: u64 = std::env::var("VIGIL_SOAK_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let legacy = Geometry { slot_size: 8192 };
    let mut rng = Rng(seed);
    let mut model = Model::default();
    let mut image = vec![0u8; device];
    if legacy_start {
        let mut old = Store::new(MemFlash::from_bytes(image), legacy).unwrap();
        for i in 0..3u64 {
            let p = payload(&mut rng, 1000 + i, 3000);
            old.commit(&p).unwrap();
            model.0.push((p, true));
        }
        image = old.into_flash().into_bytes();
    }
    let record_size = History::new(MemFlash::new(device), legacy)
        .unwrap()
        .ring()
        .record_size as usize;
    for i in 0..ops {
        let before = contents(&image, legacy);
        let seqs: Vec<u64> = before.keys().copied().collect();
        let op = pick(&mut rng, &model, &seqs, i, max_payload);
        let payload_of = |s: u64| before[&s].1.clone();
        let expected_after = model.after(&op, &payload_of);

        // The whole operation, to know how many bytes it writes.
        let mut full = Cutting {
            inner: MemFlash::from_bytes(image.clone()),
            budget: usize::MAX,
            rng: Rng(rng.next()),
            written: Vec::new(),
            cut: false,
        };
        let done = run_op(&mut History::new(&mut full, legacy).unwrap(), &op, i);
        assert!(done, "step {i}: {op:?} failed uncut");
        let total: usize = full.written.iter().map(|(_, d)| d.len()).sum();

        // The same operation cut after `k` bytes, in a shuffled order.
        let k = if rng.below(8) == 0 {
            total
        } else {
            rng.below(total + 1)
        };
        let mut cut = Cutting {
            inner: MemFlash::from_bytes(image.clone()),
            budget: k,
            rng: Rng(rng.next()),
            written: Vec::new(),
            cut: false,
        };
        let ok = run_op(&mut History::new(&mut cut, legacy).unwrap(), &op, i);
        let torn = cut.inner.into_bytes();
        let landed = full
            .written
            .iter()
            .all(|(at, d)| torn[*at..*at + d.len()] == d[..]);
        assert_eq!(
            ok,
            k == total,
            "step {i}: {op:?} result with {k} of {total} bytes"
        );

        let h = History::new(MemFlash::from_bytes(torn.clone()), legacy).unwrap();
        let boots = h
            .running()
            .unwrap_or_else(|e| panic!("step {i}: {op:?} cut at {k}/{total}: {e}"))
            .map(|r| r.payload);
        let what = format!("seed {seed:#x} step {i}: {op:?} cut at {k}/{total}");
        if landed {
            assert_eq!(boots.as_deref(), expected_after.boots(), "{what}: complete");
        } else {
            assert!(
                boots.as_deref() == model.boots() || boots.as_deref() == expected_after.boots(),
                "{what}: boots neither the old nor the new config"
            );
        }
        // Older history is never damaged by a write elsewhere.
        let after = contents(&torn, legacy);
        // A commit's extent: the records its bytes run over.
        let hit = |loc: &Location, len: usize| match loc {
            Location::Record(r) => full.written.iter().any(|(at, d)| {
                let s = *r as usize * record_size;
                let e = s + len.div_ceil(record_size) * record_size;
                *at < e && s < *at + d.len()
            }),
            Location::Slot(_) => true,
        };
        for (seq, (loc, p, len)) in &before {
            if !hit(loc, *len) {
                assert_eq!(
                    after.get(seq).map(|x| &x.1),
                    Some(p),
                    "{what}: seq {seq} lost"
                );
            }
        }
        // Go on from the cut device half of the time (the box reboots and
        // carries on), else from the completed operation.
        if rng.below(2) == 0 {
            if landed {
                model = expected_after;
            }
            image = torn;
        } else {
            model = expected_after;
            image = full.inner.into_bytes();
        }
    }
}

impl Flash for &mut Cutting {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        (**self).write_at(offset, data)
    }
    fn sync(&mut self) -> io::Result<()> {
        (**self).sync()
    }
    fn len(&self) -> io::Result<u64> {
        (**self).len()
    }
    fn path(&self) -> &Path {
        Path::new("<cutting>")
    }
}

#[test]
fn power_cuts_small_ring_multi_sector_records() {
    // 32 records of 4 KiB: the ring wraps every few dozen operations.
    soak(0x415C_0001, 128 * 1024, false, 3000);
}

#[test]
fn power_cuts_lab_flash_seed_sized() {
    soak(0x415C_0002, 1 << 20, false, 400);
}

/// Commits of up to the most records one may take (6 of 4 KiB; 12 of 16
/// KiB on the lab's flash): extents recycled over each other and cut.
#[test]
fn power_cuts_with_commits_of_several_records() {
    soak(0x415C_0005, 128 * 1024, false, 24_000);
    soak(0x415C_0006, 1 << 20, false, 190_000);
}

#[test]
fn power_cuts_from_a_two_slot_store() {
    soak(0x415C_0003, 128 * 1024, true, 2500);
    soak(0x415C_0004, 1 << 20, true, 300);
}
