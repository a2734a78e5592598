//! Unit tests of `History` on `MemFlash`: geometry, sequence numbers,
//! recycling, commit confirmed and the boot rule, rollback, migration from
//! a two-slot store, and errors. Power cuts: `tests/it/store_history.rs`.

use std::io;

use super::*;
use crate::store::{MemFlash, Store};

const SMALL: usize = 128 * 1024; // 32 records of 4 KiB
const LAB: usize = 1 << 20;

fn mem(len: usize) -> History<MemFlash> {
    History::new(MemFlash::new(len), Geometry::default()).unwrap()
}

fn meta(time: u64) -> Meta {
    Meta {
        time,
        ..Meta::default()
    }
}

fn by(user: &str, time: u64, comment: &str) -> Meta {
    Meta {
        time,
        user: user.into(),
        comment: comment.into(),
    }
}

fn boots(h: &History<MemFlash>) -> Option<(u64, Vec<u8>, Option<u64>)> {
    h.running()
        .unwrap()
        .map(|r| (r.entry.seq(), r.payload, r.rolled_back_from))
}

#[test]
fn geometry_from_device_size() {
    let ring = |len| Ring::for_device(len).map(|r| (r.record_size, r.records));
    assert_eq!(ring(1 << 20), Some((16 * 1024, 64)), "the lab's flash");
    assert_eq!(
        ring(4 << 20),
        Some((64 * 1024, 64)),
        "the image's partition"
    );
    assert_eq!(
        ring(128 * 1024),
        Some((4096, 32)),
        "a format 1 default file"
    );
    assert_eq!(ring(80 * 1024), Some((4096, 20)));
    assert_eq!(ring(80 * 1024 - 1), None);
    assert_eq!(ring(64 << 20), Some((64 * 1024, 1024)));
    assert_eq!(
        ring(3 << 20),
        Some((32 * 1024, 96)),
        "rounded down to a power of two"
    );
    assert_eq!(Ring::min_device_len(), 80 * 1024);
    let err = History::new(MemFlash::new(8192), Geometry::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config store <memory>: device is 8192 bytes, needs at least 81920"
    );
}

#[test]
fn empty_device_has_no_history_and_boots_nothing() {
    let h = mem(SMALL);
    assert_eq!(h.history().unwrap(), vec![]);
    assert_eq!(h.running().unwrap(), None);
    assert_eq!(h.newest().unwrap(), None);
}

#[test]
fn commits_number_from_one_and_list_newest_first() {
    let mut h = mem(SMALL);
    let a = h
        .commit(b"config a", Source::Import, &by("", 100, "first"))
        .unwrap();
    let b = h
        .commit(b"config b", Source::Console, &by("alice", 200, "second"))
        .unwrap();
    assert_eq!((a.seq, a.record, a.len, a.migrated), (1, 0, 8, None));
    assert_eq!((b.seq, b.record), (2, 1));
    let list = h.history().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0].head,
        Head {
            seq: 2,
            time: 200,
            deadline: None,
            source: Source::Console,
            user: "alice".into(),
            comment: "second".into(),
            len: 8
        }
    );
    assert_eq!(list[1].location, Location::Record(0));
    assert_eq!(h.get(1).unwrap(), b"config a");
    assert_eq!(boots(&h), Some((2, b"config b".to_vec(), None)));
    assert!(matches!(
        h.get(3),
        Err(StoreError::NoSuchCommit { seq: 3, .. })
    ));
}

#[test]
fn the_ring_keeps_the_last_records_and_recycles_the_oldest() {
    let mut h = mem(SMALL);
    let n = h.ring().records as u64;
    for i in 1..=3 * n + 5 {
        let c = h
            .commit(format!("c{i}").as_bytes(), Source::Import, &meta(i))
            .unwrap();
        assert_eq!(c.seq, i);
        assert_eq!(u64::from(c.record), (i - 1) % n, "round robin");
    }
    let list = h.history().unwrap();
    assert_eq!(list.len() as u64, n, "every record holds a commit");
    assert_eq!(list[0].seq(), 3 * n + 5);
    assert_eq!(list.last().unwrap().seq(), 2 * n + 6);
    assert!(list.len() >= 16);
}

#[test]
fn a_config_that_does_not_fit_writes_nothing() {
    let mut h = mem(SMALL);
    h.commit(b"keep", Source::Import, &meta(1)).unwrap();
    let before = h.flash().clone();
    // 32 records: a commit may take 6.
    assert_eq!(h.ring().max_span(), 6);
    let max = 6 * 4096 - record::HEADER_LEN - 5;
    let err = h
        .commit(&vec![0; max + 1], Source::Import, &by("", 2, "hello"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "config of {} bytes does not fit in the 6 records of 4096 bytes a commit may take (max {max} beside this user name and comment)",
            max + 1
        )
    );
    let err = h
        .commit(b"x", Source::Import, &by("", 2, &"c".repeat(257)))
        .unwrap_err();
    assert_eq!(err.to_string(), "comment of 257 bytes is longer than 256");
    let err = h
        .commit(b"x", Source::Console, &by(&"u".repeat(33), 2, ""))
        .unwrap_err();
    assert_eq!(err.to_string(), "user name of 33 bytes is longer than 32");
    assert_eq!(h.flash(), &before, "nothing written");
    h.commit(&vec![1; max], Source::Import, &by("", 2, "hello"))
        .unwrap();
}

#[test]
fn unconfirmed_newest_boots_the_previous_confirmed() {
    let mut h = mem(SMALL);
    h.commit(b"good", Source::Import, &meta(1)).unwrap();
    let u = h
        .commit_unconfirmed(b"risky", Source::Console, &by("bob", 2, "try"), 62)
        .unwrap();
    assert_eq!(u.seq, 2);
    // A reload applies the newest; a boot the confirmed one.
    let (newest, payload) = h.newest().unwrap().unwrap();
    assert_eq!((newest.seq(), newest.head.deadline), (2, Some(62)));
    assert_eq!(payload, b"risky");
    assert_eq!(boots(&h), Some((1, b"good".to_vec(), Some(2))));
    let (pending, fallback) = h.pending().unwrap().unwrap();
    assert_eq!((pending.seq(), fallback), (2, Some(1)));
    // Booting records the rollback once; then the rollback runs.
    let r = h.settle_at_boot(100).unwrap().unwrap();
    assert_eq!((r.entry.seq(), r.rolled_back_from), (3, Some(2)));
    assert_eq!(r.entry.head.source, Source::ConfirmedRollback { of: 2 });
    assert_eq!(
        (r.entry.head.time, r.payload.as_slice()),
        (100, &b"good"[..])
    );
    assert_eq!(boots(&h), Some((3, b"good".to_vec(), None)));
    let again = h.settle_at_boot(200).unwrap().unwrap();
    assert_eq!(again.entry.seq(), 3, "nothing more written");
    assert_eq!(h.history().unwrap().len(), 3);
    assert_eq!(h.pending().unwrap(), None);
}

#[test]
fn several_unconfirmed_commits_fall_back_to_the_last_confirmed() {
    let mut h = mem(SMALL);
    h.commit(b"base", Source::Import, &meta(1)).unwrap();
    let n = u64::from(h.ring().records);
    // More unconfirmed commits than records: the confirmed one survives.
    for i in 0..n + 3 {
        h.commit_unconfirmed(
            format!("u{i}").as_bytes(),
            Source::Console,
            &meta(2 + i),
            999,
        )
        .unwrap();
        assert_eq!(boots(&h).map(|b| (b.0, b.1)), Some((1, b"base".to_vec())));
    }
    let c = h.rollback_unconfirmed(&meta(5000)).unwrap();
    assert_eq!(h.get(c.seq).unwrap(), b"base");
    assert_eq!(
        h.history().unwrap()[0].head.source,
        Source::ConfirmedRollback { of: n + 4 }
    );
    assert_eq!(boots(&h), Some((c.seq, b"base".to_vec(), None)));
}

#[test]
fn an_unconfirmed_first_commit_boots_the_factory_default() {
    let mut h = mem(SMALL);
    h.commit_unconfirmed(b"new box", Source::Console, &meta(1), 61)
        .unwrap();
    assert_eq!(h.running().unwrap(), None);
    assert_eq!(h.settle_at_boot(5).unwrap(), None);
    assert_eq!(h.history().unwrap().len(), 1, "nothing to record");
    assert!(matches!(
        h.rollback_unconfirmed(&meta(70)),
        Err(StoreError::NothingToRollBackTo { unconfirmed: 1, .. })
    ));
}

#[test]
fn confirm_is_a_new_commit_of_the_same_config() {
    let mut h = mem(SMALL);
    h.commit(b"one", Source::Import, &meta(1)).unwrap();
    assert!(matches!(
        h.confirm(1, &meta(2)),
        Err(StoreError::NotPending { seq: 1, .. })
    ));
    h.commit_unconfirmed(b"two", Source::Console, &meta(3), 63)
        .unwrap();
    assert!(matches!(
        h.confirm(1, &meta(4)),
        Err(StoreError::NotPending { seq: 1, .. })
    ));
    let c = h.confirm(2, &by("carol", 5, "")).unwrap();
    assert_eq!(c.seq, 3);
    assert_eq!(boots(&h), Some((3, b"two".to_vec(), None)));
    let top = &h.history().unwrap()[0];
    assert_eq!(top.head.source, Source::Confirm { of: 2 });
    assert_eq!(top.head.user, "carol");
    assert!(top.is_confirmed());
    assert!(matches!(
        h.rollback_unconfirmed(&meta(6)),
        Err(StoreError::NotPending { seq: 3, .. })
    ));
}

#[test]
fn rollback_to_recommits_an_old_config() {
    let mut h = mem(SMALL);
    for (i, p) in [&b"v1"[..], b"v2", b"v3"].iter().enumerate() {
        h.commit(p, Source::Import, &meta(i as u64)).unwrap();
    }
    let c = h.rollback_to(1, &by("dave", 10, "undo")).unwrap();
    assert_eq!(c.seq, 4);
    assert_eq!(boots(&h), Some((4, b"v1".to_vec(), None)));
    assert_eq!(
        h.history().unwrap()[0].head.source,
        Source::Rollback { of: 1 }
    );
    assert!(matches!(
        h.rollback_to(99, &meta(11)),
        Err(StoreError::NoSuchCommit { seq: 99, .. })
    ));
}

#[test]
fn an_invalid_newest_record_is_skipped_and_its_seq_reused() {
    let mut h = mem(SMALL);
    h.commit(b"a", Source::Import, &meta(1)).unwrap();
    let b = h.commit(b"b", Source::Import, &meta(2)).unwrap();
    let at = h.ring().range(b.record).start as usize + record::HEADER_LEN;
    let mut flash = h.into_flash();
    flash.as_bytes_mut()[at] ^= 1;
    let mut h = History::new(flash, Geometry::default()).unwrap();
    assert_eq!(boots(&h), Some((1, b"a".to_vec(), None)));
    // The damaged record is free: the next commit reuses it and seq 2.
    let c = h.commit(b"c", Source::Import, &meta(3)).unwrap();
    assert_eq!((c.seq, c.record), (2, b.record));
}

/// A two-slot store written by the format 1 writer, on a `len`-byte device.
fn format_one(len: usize, slot_size: u32, payloads: &[&[u8]]) -> MemFlash {
    let geometry = Geometry { slot_size };
    let mut old = Store::new(MemFlash::new(len), geometry).unwrap();
    for p in payloads {
        old.commit(p).unwrap();
    }
    old.into_flash()
}

#[test]
fn a_two_slot_store_reads_as_before_and_is_carried_over_on_the_first_commit() {
    let flash = format_one(LAB, 64 * 1024, &[b"old one", b"old two", b"old three"]);
    let mut h = History::new(flash, Geometry::default()).unwrap();
    // Read as format 1 did: the newest valid slot (seq 3 in slot A).
    let list = h.history().unwrap();
    assert_eq!(
        list.iter()
            .map(|e| (e.seq(), e.location))
            .collect::<Vec<_>>(),
        [
            (3, Location::Slot(SlotId::A)),
            (2, Location::Slot(SlotId::B))
        ]
    );
    assert_eq!(list[0].head.source, Source::FormatOne);
    assert_eq!(boots(&h), Some((3, b"old three".to_vec(), None)));
    assert_eq!(h.get(2).unwrap(), b"old two");

    let c = h.commit(b"new", Source::Import, &meta(50)).unwrap();
    assert_eq!((c.seq, c.migrated), (4, Some(3)));
    let list = h.history().unwrap();
    assert_eq!(
        list.len(),
        2,
        "the newest slot carried over, then the commit"
    );
    assert_eq!((list[1].seq(), list[1].head.source), (3, Source::FormatOne));
    assert_eq!(list[1].head.time, 0, "time unknown");
    assert_eq!(h.get(3).unwrap(), b"old three");
    assert_eq!(boots(&h), Some((4, b"new".to_vec(), None)));
    // The copy went to a record outside slot A's written bytes (record 0
    // holds slot A's header), the commit next to it.
    let Location::Record(copy) = list[1].location else {
        panic!("{:?}", list[1].location)
    };
    assert_ne!(copy, 0);
    // Later commits are plain.
    assert_eq!(
        h.commit(b"x", Source::Import, &meta(51)).unwrap().migrated,
        None
    );
}

#[test]
fn a_small_slot_two_slot_store_is_carried_over_too() {
    let flash = format_one(SMALL, 4096, &[b"first", b"second"]);
    let mut h = History::new(flash, Geometry { slot_size: 4096 }).unwrap();
    assert_eq!(boots(&h), Some((2, b"second".to_vec(), None)));
    let c = h
        .commit_unconfirmed(b"third", Source::Console, &meta(9), 99)
        .unwrap();
    assert_eq!((c.seq, c.migrated), (3, Some(2)));
    // The carried-over config is the confirmed fallback.
    assert_eq!(boots(&h), Some((2, b"second".to_vec(), Some(3))));
}

#[test]
fn a_two_slot_config_too_large_for_a_record_is_refused_untouched() {
    // 20 records of 4 KiB: a commit may take 4, 16 KiB.
    let big = vec![7u8; 20_000];
    let flash = format_one(20 * 4096, 32 * 1024, &[&big]);
    let mut h = History::new(
        flash,
        Geometry {
            slot_size: 32 * 1024,
        },
    )
    .unwrap();
    let before = h.flash().clone();
    let err = h.commit(b"small", Source::Import, &meta(1)).unwrap_err();
    assert!(
        matches!(err, StoreError::RecordTooLarge { len: 20_000, .. }),
        "{err}"
    );
    assert_eq!(h.flash(), &before);
    assert_eq!(boots(&h).unwrap().1, big);
}

/// A device whose writes or syncs fail, or that flips a bit on write.
struct Faulty {
    inner: MemFlash,
    fail: Option<&'static str>,
    flip: bool,
}

impl Flash for Faulty {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.fail == Some("write") {
            return Err(io::Error::other("injected"));
        }
        self.inner.write_at(offset, data)?;
        if self.flip {
            self.inner.as_bytes_mut()[offset as usize + 70] ^= 4;
        }
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        match self.fail {
            Some("sync") => Err(io::Error::other("injected")),
            _ => Ok(()),
        }
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn path(&self) -> &std::path::Path {
        std::path::Path::new("/dev/test")
    }
}

#[test]
fn write_errors_name_the_record() {
    for (fail, flip, msg) in [
        (Some("write"), false, "config store /dev/test: write record 0 failed"),
        (Some("sync"), false, "config store /dev/test: sync record 0 failed"),
        (
            None,
            true,
            "config store /dev/test: record 0 read back different bytes after writing seq 1 (first at record byte 70)",
        ),
    ] {
        let flash = Faulty {
            inner: MemFlash::new(SMALL),
            fail,
            flip,
        };
        let mut h = History::new(flash, Geometry::default()).unwrap();
        let err = h.commit(&[1; 100], Source::Import, &meta(1)).unwrap_err();
        assert_eq!(err.to_string(), msg);
    }
}

/// A device behind a write-back cache whose medium loses a byte at every
/// sync: reads come from the cache while it holds the range.
struct CachedFlash {
    medium: MemFlash,
    cache: std::cell::RefCell<Option<(u64, Vec<u8>)>>,
}

impl Flash for CachedFlash {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if let Some((at, bytes)) = &*self.cache.borrow() {
            if *at == offset && bytes.len() == buf.len() {
                buf.copy_from_slice(bytes);
                return Ok(());
            }
        }
        self.medium.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        *self.cache.borrow_mut() = Some((offset, data.to_vec()));
        let mut torn = data.to_vec();
        torn[data.len() / 2] ^= 0x40;
        self.medium.write_at(offset, &torn)
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn drop_cached(&self, _offset: u64, _len: u64) -> io::Result<()> {
        *self.cache.borrow_mut() = None;
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        self.medium.len()
    }
    fn path(&self) -> &std::path::Path {
        self.medium.path()
    }
}

#[test]
fn the_read_back_sees_the_medium_not_the_cache() {
    let flash = CachedFlash {
        medium: MemFlash::new(LAB),
        cache: std::cell::RefCell::new(None),
    };
    let mut h = History::new(flash, Geometry::default()).unwrap();
    let e = h.commit(b"config", Source::Import, &meta(1)).unwrap_err();
    assert!(
        matches!(e, StoreError::RecordVerifyFailed { seq: 1, .. }),
        "{e:?}"
    );
}

/// A commit longer than a record takes the run of records after its first
/// (its extent): written, listed and read back whole, and the next commit
/// goes after it, not into it.
#[test]
fn a_commit_longer_than_a_record_takes_a_run_of_records() {
    let mut h = mem(SMALL);
    h.commit(b"small", Source::Import, &meta(1)).unwrap();
    let big: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let b = h.commit(&big, Source::Import, &meta(2)).unwrap();
    // 64 + 10,000 bytes: records 1, 2 and 3.
    assert_eq!((b.seq, b.record, b.len), (2, 1, 10_000));
    let c = h.commit(b"after", Source::Import, &meta(3)).unwrap();
    assert_eq!(c.record, 4, "after the extent");
    assert_eq!(h.get(2).unwrap(), big);
    let seqs: Vec<u64> = h.history().unwrap().iter().map(Entry::seq).collect();
    assert_eq!(seqs, [3, 2, 1]);
    // The largest commit fits, and boots.
    let max = vec![9u8; h.ring().max_payload()];
    h.commit(&max, Source::Import, &meta(4)).unwrap();
    assert_eq!(boots(&h), Some((4, max, None)));
}

/// Once the ring is full, a commit of several records overwrites the run
/// whose newest commit is the oldest, never P1's or P2's extent, and
/// every commit it does not overlap keeps its bytes.
#[test]
fn a_long_commit_recycles_the_oldest_run_and_spares_p1_and_p2() {
    let mut h = mem(SMALL);
    let span = h.ring().max_span() as usize;
    let long = |n: u8| vec![n; (span - 1) * 4096];
    // Confirmed long commits, then an unconfirmed long one: P2 and P1.
    let mut seq = 0;
    for n in 0..8u8 {
        seq = h
            .commit(&long(n), Source::Import, &meta(u64::from(n)))
            .unwrap()
            .seq;
    }
    let p1 = h
        .commit_unconfirmed(&long(100), Source::Console, &meta(50), 99)
        .unwrap();
    let before: Vec<(u64, Vec<u8>)> = (h.history().unwrap().iter())
        .map(|e| (e.seq(), h.get(e.seq()).unwrap()))
        .collect();
    for n in 0..20u8 {
        let done = h
            .commit_unconfirmed(&long(200 + n), Source::Console, &meta(60), 99)
            .unwrap();
        assert!(done.seq > p1.seq);
        // The newest unconfirmed, and the newest confirmed before it,
        // are still there: P2 is the last confirmed long commit.
        assert_eq!(boots(&h).map(|b| b.0), Some(seq));
        assert_eq!(h.get(seq).unwrap(), long(7));
    }
    let after = h.history().unwrap();
    assert!(after.len() >= 3, "{after:?}");
    for (s, p) in &before {
        if let Ok(now) = h.get(*s) {
            assert_eq!(&now, p, "commit {s} changed");
        }
    }
}

fn build(n: u8) -> BuildId {
    BuildId::new(&[n; 20]).unwrap()
}

fn checked(h: &mut History<MemFlash>, payload: &[u8], by: Option<&BuildId>) -> Recorded {
    h.commit_with(payload, Source::Import, &meta(1), None, by)
        .unwrap()
}

fn newest_checked_by(h: &History<MemFlash>) -> Option<BuildId> {
    h.newest().unwrap().unwrap().0.checked_by
}

/// A checked commit has its build's stamp right after the payload, inside
/// its record; it reads back with the commit, and the record itself is
/// byte for byte what an unstamped commit writes (a vigil from before the
/// stamp reads it the same).
#[test]
fn a_checked_commit_is_stamped_after_its_payload() {
    let mut plain = mem(SMALL);
    let mut stamped = mem(SMALL);
    checked(&mut plain, b"config", None);
    let c = checked(&mut stamped, b"config", Some(&build(1)));
    assert_eq!(newest_checked_by(&plain), None);
    assert_eq!(newest_checked_by(&stamped), Some(build(1)));
    let (p, s) = (plain.flash().as_bytes(), stamped.flash().as_bytes());
    let end = h_end(&stamped, c.record, b"config".len());
    assert_eq!(p[..end], s[..end], "the record is unchanged");
    let stamp = stamp::Stamp::decode(&s[end..]).expect("stamp after the payload");
    assert_eq!(stamp, stamp::Stamp::of(&build(1), b"config"));
    assert!(p[end..].iter().all(|&b| b == 0) && s[end + stamp::LEN..].iter().all(|&b| b == 0));
    // Listing does not read stamps; reads with the payload do.
    assert_eq!(stamped.history().unwrap()[0].checked_by, None);
    let r = stamped.running().unwrap().unwrap();
    assert_eq!(r.entry.checked_by, Some(build(1)));
    assert_eq!(
        stamped.get_checked(1).unwrap(),
        (b"config".to_vec(), Some(build(1)))
    );
}

/// Where the payload ends: header, no user, no comment, payload.
fn h_end(h: &History<MemFlash>, record: u32, payload: usize) -> usize {
    h.ring().range(record).start as usize + record::HEADER_LEN + payload
}

/// A commit whose last record has no room for the stamp is written
/// without one (never a record more for it); with exactly enough room it
/// has one.
#[test]
fn a_stamp_is_written_only_where_it_fits_in_the_extent() {
    let size = mem(SMALL).ring().record_size as usize;
    let fits = size - record::HEADER_LEN - stamp::LEN;
    for (len, stamped) in [
        (fits, true),
        (fits + 1, false),
        (size - record::HEADER_LEN, false),
    ] {
        let mut h = mem(SMALL);
        let c = checked(&mut h, &vec![7u8; len], Some(&build(2)));
        assert_eq!(newest_checked_by(&h).is_some(), stamped, "payload {len}");
        let next = checked(&mut h, b"next", None);
        assert_eq!(next.record, c.record + 1, "payload {len}: one record");
    }
}

/// A stamp is about payload bytes: a stale stamp left in a recycled
/// record, after an unstamped commit of other bytes, vouches for nothing;
/// a damaged stamp is none; a damaged payload fails the record.
#[test]
fn only_an_intact_stamp_of_the_same_payload_counts() {
    let mut h = mem(SMALL);
    let long = vec![1u8; 3000];
    let a = checked(&mut h, &long, Some(&build(3)));
    let flash = h.into_flash();
    // A's stamp put after an unstamped commit of as many other bytes, as
    // a recycled record may hold one.
    let end = a.record as usize * 4096 + record::HEADER_LEN + long.len();
    let stale = flash.as_bytes()[end..end + stamp::LEN].to_vec();
    let mut h = History::new(flash, Geometry::default()).unwrap();
    let b = checked(&mut h, &[2u8; 3000], None);
    assert_ne!(a.record, b.record);
    let mut flash = h.into_flash();
    let at = b.record as usize * 4096 + record::HEADER_LEN + 3000;
    flash.as_bytes_mut()[at..at + stamp::LEN].copy_from_slice(&stale);
    let mut h = History::new(flash, Geometry::default()).unwrap();
    assert_eq!(newest_checked_by(&h), None, "a stamp of other bytes");
    // Its own stamp, one bit off: no stamp.
    let c = checked(&mut h, b"mine", Some(&build(3)));
    let mut flash = h.into_flash();
    let at = c.record as usize * 4096 + record::HEADER_LEN + 4;
    flash.as_bytes_mut()[at + 20] ^= 0x10;
    let h = History::new(flash, Geometry::default()).unwrap();
    let n = h.newest().unwrap().unwrap();
    assert_eq!((n.0.seq(), n.0.checked_by), (c.seq, None));
}

/// Confirm and rollbacks write the payload of another commit: its stamp
/// goes with it, and an unstamped one stays unstamped.
#[test]
fn copies_of_a_commit_keep_its_stamp() {
    let mut h = mem(SMALL);
    checked(&mut h, b"v1", Some(&build(4)));
    checked(&mut h, b"v2", None);
    h.rollback_to(1, &meta(2)).unwrap();
    assert_eq!(newest_checked_by(&h), Some(build(4)));
    h.rollback_to(2, &meta(3)).unwrap();
    assert_eq!(newest_checked_by(&h), None);
    h.commit_with(b"v5", Source::Console, &meta(4), Some(99), Some(&build(5)))
        .unwrap();
    assert_eq!(newest_checked_by(&h), Some(build(5)));
    h.confirm(5, &meta(5)).unwrap();
    assert_eq!(newest_checked_by(&h), Some(build(5)));
    h.commit_with(b"v7", Source::Console, &meta(6), Some(99), None)
        .unwrap();
    h.rollback_unconfirmed(&meta(7)).unwrap();
    let n = h.newest().unwrap().unwrap();
    assert_eq!(
        (n.0.head.source, n.1.as_slice()),
        (Source::ConfirmedRollback { of: 7 }, &b"v5"[..])
    );
    assert_eq!(n.0.checked_by, Some(build(5)));
    // The boot rule's rollback, too.
    h.commit_with(b"v9", Source::Console, &meta(8), Some(99), None)
        .unwrap();
    let r = h.settle_at_boot(100).unwrap().unwrap();
    assert_eq!(
        (r.payload.as_slice(), r.entry.checked_by),
        (&b"v5"[..], Some(build(5)))
    );
}
