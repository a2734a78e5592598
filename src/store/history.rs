//! The commit history on flash (format 2): a ring of records, a commit in
//! one record or in a run of them, with commit confirmed and the
//! carrying-over of a two-slot store.
//!
//! Owns: the ring's geometry (from the device size), choosing the record a
//! commit overwrites, sequence numbers, the boot rule for an unconfirmed
//! commit, migration from format 1, write-sync-verify, and their errors.
//! The payload is opaque bytes; times come from the caller.
//!
//! Must not: interpret the payload, read a clock, fall back to a factory
//! default (the caller does, loudly), retry, or panic on any device bytes.
//!
//! # Layout
//!
//! The device is cut into `records` records of `record_size` bytes each
//! ([`Ring::for_device`]): `record_size` is the largest power of two at most
//! `device / 64`, clamped to 4..=64 KiB, and `records = device /
//! record_size` (at least 20). The 1 MiB lab flash is 64 records of 16 KiB,
//! the image's 4 MiB partition 64 records of 64 KiB. Record `i` starts at
//! `i * record_size` (sector aligned). A commit is a header, the user name,
//! the comment and the payload, written from the start of a record; one
//! longer than a record runs on into the records after it (its *extent*,
//! never past the last record), at most [`Ring::max_span`] records: a
//! fifth of the ring (12 records, 768 KiB on the image's partition; 192
//! KiB on the lab's flash), so that beside the two commits a write must
//! not touch there is always a run of free records that long (the three
//! gaps around two extents of at most `s` records hold `N - 2s >= 3s`
//! records, so one of them holds `s`). The rest of a commit's last record
//! is not part of the record, and the start of every other record of its
//! extent is payload, not a header. Where 64 bytes fit in that rest, a
//! commit written by a build that checked its payload has the check stamp
//! right after the payload ([`super::stamp`]), written in the same write;
//! the record's checks never read it, so a vigil from before stamps reads
//! a stamped commit exactly as an unstamped one. A vigil from before
//! extents reads a commit longer than a record as not valid (its length
//! does not fit a record) and boots the newest commit it can read.
//!
//! | offset | size | field          | value                                         |
//! |-------:|-----:|----------------|-----------------------------------------------|
//! | 0      | 4    | magic          | `b"VGLC"`, as format 1                        |
//! | 4      | 2    | format version | u16 LE, `2` (`1` is a two-slot store's slot)  |
//! | 6      | 2    | header length  | u16 LE, `64`                                  |
//! | 8      | 8    | sequence       | u64 LE, +1 each commit                        |
//! | 16     | 8    | time           | u64 LE, unix seconds (0: unknown)             |
//! | 24     | 8    | deadline       | u64 LE, unix seconds to confirm by (0 if confirmed) |
//! | 32     | 8    | of             | u64 LE, the commit a rollback or confirm names, else 0 |
//! | 40     | 1    | source         | 1 import, 2 console, 3 rollback, 4 confirmed-rollback, 5 confirm, 6 two-slot store |
//! | 41     | 1    | user length    | at most 32                                    |
//! | 42     | 2    | comment length | u16 LE, at most 256                           |
//! | 44     | 4    | payload length | u32 LE, the extent holds all of it            |
//! | 48     | 1    | flags          | bit 0: unconfirmed; other bits 0              |
//! | 49     | 11   | reserved       | 0                                             |
//! | 60     | 4    | CRC-32C        | over bytes 0..60, then user, comment, payload |
//! | 64     | u+c+p| user, comment (UTF-8), payload |                               |
//!
//! A record is valid when every check passes (`record::RecordStatus`).
//! The history is the valid records ordered by sequence; the newest is the
//! one with the highest sequence (a tie, never written, goes to the lower
//! index).
//!
//! # Commit confirmed
//!
//! An unconfirmed commit carries its deadline. A confirm is a new record
//! with the same payload (source "confirm of N"); the automatic rollback is
//! a new record with the payload of the newest confirmed commit before it
//! (source "confirmed-rollback of N"). At boot ([`History::running`]): a
//! confirmed newest commit runs; an unconfirmed newest one means the box
//! was reset inside the window, and the newest *confirmed* commit older
//! than it runs instead ([`History::settle_at_boot`] also records that as a
//! confirmed-rollback commit). With no such commit: nothing (the factory
//! default).
//!
//! # Why power loss cannot lose the config
//!
//! What boots depends only on the newest valid record P1 and, when P1 is
//! unconfirmed, on P2, the newest valid confirmed record older than P1.
//!
//! * A commit writes exactly one extent, and never a byte of P1's or P2's
//!   extents (nor, while a two-slot store is carried over, any byte of its
//!   newest slot). Every other valid commit whose extent it does not
//!   overlap keeps its bytes: older history is never damaged, only the
//!   commits being recycled.
//! * The CRC covers every header field, the user, the comment and every
//!   payload byte. A record holding any mixture of old and new bytes (a
//!   write torn at any byte, or its sectors landing in any order) fails it
//!   unless it is byte for byte the new record (up to a 2^-32 collision);
//!   the old contents of the recycled record fail it the same way.
//! * So during a commit the device holds P1, P2 and an invalid record: it
//!   boots what it booted before. Once the write is complete the new record
//!   carries the highest sequence and becomes P1: a confirmed commit boots
//!   itself; an unconfirmed one boots the old P1 if that was confirmed, else
//!   the old P2, and both were protected.
//! * The overwritten record cannot change the choice: it was neither P1 nor
//!   P2, and any record between P2 and P1 is unconfirmed.
//! * `fdatasync`, dropping the range from the page cache, and a read-back
//!   compare follow every write: a commit returns `Ok` only once its
//!   record reads back from the device itself.
//! * A [`FileFlash`](super::FileFlash) holds an exclusive `flock` on the
//!   device while it is open, so two writers (two `vigil config import`,
//!   or one and the daemon's commit) take turns: neither reads the ring,
//!   picks the same record and overwrites the other's commit.
//!
//! # Migration from the two-slot store (format 1)
//!
//! Its slots sit at 0 and `slot_size` (`--slot-size`, default 64 KiB).
//! While no format 2 record is valid, the reader takes the newest valid
//! slot, exactly as format 1 did. The first commit first copies that
//! config into a record that overlaps none of that slot's written bytes
//! (source "two-slot store", time 0, same sequence), verifies it, and only
//! then writes the new commit as above. A cut before the copy is complete
//! leaves the slot readable; after, the copy is P1.
//!
//! A downgrade is not supported: a format 1 binary sees version 2 headers
//! as unsupported and may write its slots over records.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::record::{self, EncodeError, Head, RecordStatus, Source};
use super::stamp::{self, BuildId, Stamp};
use super::{slot, FileFlash, Flash, Geometry, SlotId, StoreError};

/// Record size and count of the ring on one device, and how many records
/// a commit may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    pub record_size: u32,
    pub records: u32,
}

impl Ring {
    pub const MIN_RECORD: u64 = 4 * 1024;
    pub const MAX_RECORD: u64 = 64 * 1024;
    /// Records the geometry aims at (between the record size bounds).
    pub const TARGET_RECORDS: u64 = 64;
    /// Fewest records: 16 commits kept, plus the record being written and
    /// the two a write must not touch (P1, P2), plus one spare.
    pub const MIN_RECORDS: u64 = 20;
    /// Size of a store file `vigil config import` creates (the lab's flash).
    pub const DEFAULT_DEVICE_LEN: u64 = 1 << 20;

    /// The ring on a device of `len` bytes; `None` when it holds fewer than
    /// [`Ring::MIN_RECORDS`] records of 4 KiB.
    pub fn for_device(len: u64) -> Option<Ring> {
        let per = (len / Self::TARGET_RECORDS).clamp(Self::MIN_RECORD, Self::MAX_RECORD);
        let record_size = 1u64 << (63 - per.leading_zeros());
        let records = (len / record_size).min(u64::from(u32::MAX));
        if records < Self::MIN_RECORDS {
            return None;
        }
        Some(Ring {
            record_size: u32::try_from(record_size).ok()?,
            records: u32::try_from(records).ok()?,
        })
    }

    /// The smallest device a ring fits on.
    pub fn min_device_len() -> u64 {
        Self::MIN_RECORDS * Self::MIN_RECORD
    }

    /// Largest payload of a commit with no user name and no comment.
    pub fn max_payload(self) -> usize {
        record::max_payload(self.room(), 0, 0)
    }

    /// The most records one commit may take (see the module's Layout).
    pub fn max_span(self) -> u32 {
        (self.records / 5).max(1)
    }

    /// The most bytes one commit may take.
    fn room(self) -> usize {
        self.max_span() as usize * self.size()
    }

    /// The most bytes a commit starting at record `index` may take.
    fn room_at(self, index: u32) -> usize {
        let left = self.records.saturating_sub(index);
        self.max_span().min(left) as usize * self.size()
    }

    /// The records a commit of `bytes` (header included) takes.
    fn span(self, bytes: usize) -> u32 {
        u32::try_from(bytes.div_ceil(self.size()).max(1)).unwrap_or(u32::MAX)
    }

    /// Whether a stamp fits after a commit of `bytes` (header included)
    /// inside the records it takes.
    fn stamp_fits(self, bytes: usize) -> bool {
        bytes + stamp::LEN <= self.span(bytes) as usize * self.size()
    }

    /// The bytes of records `index..index + span`.
    fn run(self, index: u32, span: u32) -> Range<u64> {
        let start = self.range(index).start;
        start..start + u64::from(span) * u64::from(self.record_size)
    }

    /// Where the commit `head` that starts at record `index` lies.
    fn extent(self, index: u32, head: &Head) -> Range<u64> {
        let bytes = record::HEADER_LEN + head.user.len() + head.comment.len() + head.len as usize;
        self.run(index, self.span(bytes))
    }

    fn size(self) -> usize {
        self.record_size as usize
    }

    fn range(self, index: u32) -> Range<u64> {
        let start = u64::from(index) * u64::from(self.record_size);
        start..start + u64::from(self.record_size)
    }
}

/// Who made a commit, when, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Unix seconds.
    pub time: u64,
    /// At most [`record::MAX_USER`] bytes; empty: not recorded.
    pub user: String,
    /// At most [`record::MAX_COMMENT`] bytes.
    pub comment: String,
}

/// Where an entry lives on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Record `i` of the ring.
    Record(u32),
    /// A slot of a two-slot store not carried over yet.
    Slot(SlotId),
}

/// One commit of the history (everything but the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub head: Head,
    pub location: Location,
    /// The build whose stamp covers this commit's payload
    /// ([`stamp`](super::stamp)): known only for an entry read with its
    /// payload (`newest`, `running`, `settle_at_boot`, `get_checked`),
    /// else `None`.
    pub checked_by: Option<BuildId>,
}

impl Entry {
    pub fn seq(&self) -> u64 {
        self.head.seq
    }

    pub fn is_confirmed(&self) -> bool {
        self.head.deadline.is_none()
    }
}

/// What to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub entry: Entry,
    pub payload: Vec<u8>,
    /// The unconfirmed newest commit that does *not* run, if any.
    pub rolled_back_from: Option<u64>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub seq: u64,
    pub record: u32,
    pub len: u32,
    /// The sequence of a two-slot store's config carried over first.
    pub migrated: Option<u64>,
}

/// The newest valid slot of a two-slot store.
#[derive(Debug, Clone)]
struct Legacy {
    slot: SlotId,
    seq: u64,
    payload: Vec<u8>,
    /// Its header and payload on the device.
    written: Range<u64>,
}

/// A valid commit read from its record: head, payload, and the build
/// whose stamp covers the payload.
type Read = (Head, Vec<u8>, Option<BuildId>);

/// What one pass over the device found.
#[derive(Debug, Default)]
struct Scan {
    /// Valid format 2 records by index.
    records: Vec<(u32, Head)>,
    /// Valid format 1 slots, newest first; read only when `records` is
    /// empty.
    legacy: Vec<Legacy>,
}

/// The records the boot rule looks at: P1 and, when P1 is unconfirmed, P2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Choice<'a> {
    newest: &'a (u32, Head),
    fallback: Option<&'a (u32, Head)>,
}

impl Scan {
    fn newest(&self) -> Option<&(u32, Head)> {
        self.records
            .iter()
            .max_by(|a, b| a.1.seq.cmp(&b.1.seq).then(b.0.cmp(&a.0)))
    }

    fn choice(&self) -> Option<Choice<'_>> {
        let newest = self.newest()?;
        let fallback = if newest.1.deadline.is_some() {
            self.records
                .iter()
                .filter(|(_, h)| h.deadline.is_none() && h.seq < newest.1.seq)
                .max_by(|a, b| a.1.seq.cmp(&b.1.seq).then(b.0.cmp(&a.0)))
        } else {
            None
        };
        Some(Choice { newest, fallback })
    }

    fn entries(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = if self.records.is_empty() {
            self.legacy.iter().map(Legacy::entry).collect()
        } else {
            self.records
                .iter()
                .map(|(i, h)| Entry {
                    head: h.clone(),
                    location: Location::Record(*i),
                    checked_by: None,
                })
                .collect()
        };
        out.sort_by_key(|e| std::cmp::Reverse(e.head.seq));
        out
    }
}

impl Legacy {
    fn entry(&self) -> Entry {
        Entry {
            head: Head {
                seq: self.seq,
                time: 0,
                deadline: None,
                source: Source::FormatOne,
                user: String::new(),
                comment: String::new(),
                len: self.payload.len() as u32,
            },
            location: Location::Slot(self.slot),
            checked_by: None,
        }
    }
}

/// The commit history on a [`Flash`] device.
#[derive(Debug)]
pub struct History<F: Flash = FileFlash> {
    flash: F,
    ring: Ring,
    /// The device's size in bytes.
    len: u64,
    /// Where a two-slot store's slots are, to read and carry it over.
    legacy: Geometry,
}

impl History<FileFlash> {
    /// Opens the history at `path` (a block device or a plain file). With
    /// `create`, a missing file is created as [`Ring::DEFAULT_DEVICE_LEN`]
    /// zero bytes. `legacy` locates a two-slot store's slots.
    pub fn open(
        path: impl AsRef<Path>,
        legacy: Geometry,
        create: bool,
    ) -> Result<Self, StoreError> {
        let legacy = legacy.validate()?;
        let flash = super::open_flash(path.as_ref(), create.then_some(Ring::DEFAULT_DEVICE_LEN))?;
        History::new(flash, legacy)
    }
}

impl<F: Flash> History<F> {
    /// Wraps a device; the ring's geometry comes from its size.
    pub fn new(flash: F, legacy: Geometry) -> Result<Self, StoreError> {
        let legacy = legacy.validate()?;
        let len = flash.len().map_err(|source| StoreError::Io {
            path: flash.path().to_path_buf(),
            op: "size",
            slot: None,
            source,
        })?;
        let ring = Ring::for_device(len).ok_or_else(|| StoreError::DeviceTooSmall {
            path: flash.path().to_path_buf(),
            len,
            needed: Ring::min_device_len(),
        })?;
        Ok(History {
            flash,
            ring,
            len,
            legacy,
        })
    }

    pub fn ring(&self) -> Ring {
        self.ring
    }

    pub fn flash(&self) -> &F {
        &self.flash
    }

    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Every valid commit, newest first (a two-slot store not carried over
    /// yet: its valid slots).
    pub fn history(&self) -> Result<Vec<Entry>, StoreError> {
        Ok(self.scan()?.entries())
    }

    /// The newest commit, confirmed or not: what a reload applies.
    pub fn newest(&self) -> Result<Option<(Entry, Vec<u8>)>, StoreError> {
        let scan = self.scan()?;
        match scan.newest() {
            Some((i, _)) => self.read_valid(*i).map(Some),
            None => Ok(scan
                .legacy
                .into_iter()
                .next()
                .map(|l| (l.entry(), l.payload))),
        }
    }

    /// The payload of commit `seq`.
    pub fn get(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        self.get_checked(seq).map(|(payload, _)| payload)
    }

    /// The payload of commit `seq` and the build whose stamp covers it.
    pub fn get_checked(&self, seq: u64) -> Result<(Vec<u8>, Option<BuildId>), StoreError> {
        let scan = self.scan()?;
        if let Some((i, _)) = scan.records.iter().find(|(_, h)| h.seq == seq) {
            let (entry, payload) = self.read_valid(*i)?;
            return Ok((payload, entry.checked_by));
        }
        if scan.records.is_empty() {
            if let Some(l) = scan.legacy.into_iter().find(|l| l.seq == seq) {
                return Ok((l.payload, None));
            }
        }
        Err(StoreError::NoSuchCommit {
            path: self.path(),
            seq,
        })
    }

    /// What to boot, without writing anything: the newest commit if it is
    /// confirmed, else the newest confirmed one before it; `None` when
    /// there is none (the factory default).
    pub fn running(&self) -> Result<Option<Running>, StoreError> {
        let scan = self.scan()?;
        let Some(choice) = scan.choice() else {
            return Ok(scan.legacy.into_iter().next().map(|l| Running {
                entry: l.entry(),
                payload: l.payload,
                rolled_back_from: None,
            }));
        };
        let rolled_back_from = choice.newest.1.deadline.map(|_| choice.newest.1.seq);
        let boot = match (rolled_back_from, choice.fallback) {
            (None, _) => choice.newest,
            (Some(_), Some(fallback)) => fallback,
            (Some(_), None) => return Ok(None),
        };
        let (entry, payload) = self.read_valid(boot.0)?;
        Ok(Some(Running {
            entry,
            payload,
            rolled_back_from,
        }))
    }

    /// [`History::running`] at boot: if the newest commit is unconfirmed,
    /// also records the rollback to the one that runs (a confirmed-rollback
    /// commit at `time`), which then is the entry returned.
    pub fn settle_at_boot(&mut self, time: u64) -> Result<Option<Running>, StoreError> {
        let running = self.running()?;
        let Some(r) = running else { return Ok(None) };
        let Some(of) = r.rolled_back_from else {
            return Ok(Some(r));
        };
        let meta = Meta {
            time,
            ..Meta::default()
        };
        let source = Source::ConfirmedRollback { of };
        let checked_by = r.entry.checked_by.as_ref();
        let done = self.commit_with(&r.payload, source, &meta, None, checked_by)?;
        let (entry, payload) = self.read_valid(done.record)?;
        Ok(Some(Running {
            entry,
            payload,
            rolled_back_from: Some(of),
        }))
    }

    /// A confirmed commit of `payload`.
    pub fn commit(
        &mut self,
        payload: &[u8],
        source: Source,
        meta: &Meta,
    ) -> Result<Recorded, StoreError> {
        self.commit_with(payload, source, meta, None, None)
    }

    /// An unconfirmed commit, to be confirmed by `deadline` (unix seconds).
    pub fn commit_unconfirmed(
        &mut self,
        payload: &[u8],
        source: Source,
        meta: &Meta,
        deadline: u64,
    ) -> Result<Recorded, StoreError> {
        self.commit_with(payload, source, meta, Some(deadline), None)
    }

    /// Confirms the newest commit `seq`, which must be unconfirmed: a new
    /// confirmed commit of the same config.
    pub fn confirm(&mut self, seq: u64, meta: &Meta) -> Result<Recorded, StoreError> {
        let newest = self.pending()?;
        if newest.as_ref().map(|(e, _)| e.seq()) != Some(seq) {
            return Err(StoreError::NotPending {
                path: self.path(),
                seq,
            });
        }
        let (entry, payload) = self.read_valid_seq(seq)?;
        let checked_by = entry.checked_by.as_ref();
        self.commit_with(
            &payload,
            Source::Confirm { of: seq },
            meta,
            None,
            checked_by,
        )
    }

    /// Rolls back the newest commit, which must be unconfirmed, to the
    /// newest confirmed one before it (its deadline passed).
    pub fn rollback_unconfirmed(&mut self, meta: &Meta) -> Result<Recorded, StoreError> {
        let Some((newest, _)) = self.pending()? else {
            let newest = self.scan()?.newest().map_or(0, |(_, h)| h.seq);
            return Err(StoreError::NotPending {
                path: self.path(),
                seq: newest,
            });
        };
        let running = self
            .running()?
            .ok_or_else(|| StoreError::NothingToRollBackTo {
                path: self.path(),
                unconfirmed: newest.seq(),
            })?;
        let of = newest.seq();
        self.commit_with(
            &running.payload,
            Source::ConfirmedRollback { of },
            meta,
            None,
            running.entry.checked_by.as_ref(),
        )
    }

    /// A new confirmed commit with the config of commit `seq`.
    pub fn rollback_to(&mut self, seq: u64, meta: &Meta) -> Result<Recorded, StoreError> {
        let (payload, checked_by) = self.get_checked(seq)?;
        let source = Source::Rollback { of: seq };
        self.commit_with(&payload, source, meta, None, checked_by.as_ref())
    }

    /// The newest commit when it is unconfirmed, with its fallback's seq.
    pub fn pending(&self) -> Result<Option<(Entry, Option<u64>)>, StoreError> {
        let scan = self.scan()?;
        Ok(scan.choice().and_then(|c| {
            c.newest.1.deadline.map(|_| {
                let entry = Entry {
                    head: c.newest.1.clone(),
                    location: Location::Record(c.newest.0),
                    checked_by: None,
                };
                (entry, c.fallback.map(|f| f.1.seq))
            })
        }))
    }

    /// Writes one commit of `payload`, unconfirmed when it has a
    /// `deadline`: carries a two-slot store over first if there is one,
    /// then the new record into a free or the oldest record that is neither
    /// P1 nor P2. A commit that does not fit writes nothing. When build
    /// `checked_by` checked the payload, its stamp follows the payload
    /// where it fits in the commit's last record (see
    /// [`stamp`](super::stamp)); a copy of a commit (confirm, rollback)
    /// carries the stamp it was read with, as the bytes are the same.
    pub fn commit_with(
        &mut self,
        payload: &[u8],
        source: Source,
        meta: &Meta,
        deadline: Option<u64>,
        checked_by: Option<&BuildId>,
    ) -> Result<Recorded, StoreError> {
        let mut head = Head {
            seq: 0,
            time: meta.time,
            deadline,
            source,
            user: meta.user.clone(),
            comment: meta.comment.clone(),
            len: 0,
        };
        let span = self.ring.span(self.encode(&head, payload)?.len()); // size checks before any write
        let mut scan = self.scan()?;
        let mut migrated = None;
        if scan.records.is_empty() {
            if let Some(l) = scan.legacy.first() {
                let copy = Legacy::entry(l).head;
                let copy_span = self.ring.span(self.encode(&copy, &l.payload)?.len());
                let target = self.target(&scan, std::slice::from_ref(&l.written), copy_span)?;
                self.write(target, &copy, &l.payload, None)?;
                migrated = Some(l.seq);
                scan = self.scan()?;
            }
        }
        head.seq = match scan.newest() {
            None => 1,
            Some((_, h)) => h
                .seq
                .checked_add(1)
                .ok_or_else(|| StoreError::SequenceExhausted { path: self.path() })?,
        };
        let protected: Vec<Range<u64>> = scan
            .choice()
            .into_iter()
            .flat_map(|c| std::iter::once(c.newest).chain(c.fallback))
            .map(|(i, h)| self.ring.extent(*i, h))
            .collect();
        let target = self.target(&scan, &protected, span)?;
        let len = self.write(target, &head, payload, checked_by)?;
        Ok(Recorded {
            seq: head.seq,
            record: target,
            len,
            migrated,
        })
    }

    /// Where a commit of `span` records goes: the lowest-index run of
    /// records no valid commit lies in, else the run whose newest commit
    /// overwritten is the oldest (lowest index on a tie); never a run
    /// overlapping `protected`. With one record a commit, that is the
    /// lowest free record, else the oldest.
    fn target(&self, scan: &Scan, protected: &[Range<u64>], span: u32) -> Result<u32, StoreError> {
        let overlap = |a: &Range<u64>, b: &Range<u64>| a.start < b.end && b.start < a.end;
        let extents: Vec<(Range<u64>, u64)> = (scan.records.iter())
            .map(|(i, h)| (self.ring.extent(*i, h), h.seq))
            .collect();
        let last = self.ring.records.saturating_sub(span);
        (0..=last)
            .map(|i| (i, self.ring.run(i, span)))
            .filter(|(_, run)| {
                span <= self.ring.records && !protected.iter().any(|p| overlap(p, run))
            })
            .map(|(i, run)| {
                let newest_lost = (extents.iter())
                    .filter(|(e, _)| overlap(e, &run))
                    .map(|(_, seq)| *seq)
                    .max();
                (newest_lost.unwrap_or(0), i)
            })
            .min()
            .map(|(_, i)| i)
            .ok_or_else(|| StoreError::NoFreeRecord { path: self.path() })
    }

    fn encode(&self, head: &Head, payload: &[u8]) -> Result<Vec<u8>, StoreError> {
        record::encode(head, payload, self.ring.room()).map_err(|e| match e {
            EncodeError::TooLarge { len, max } => StoreError::RecordTooLarge {
                len,
                max,
                records: self.ring.max_span(),
                record_size: self.ring.record_size,
            },
            EncodeError::UserTooLong { len } => StoreError::UserTooLong {
                len,
                max: record::MAX_USER,
            },
            EncodeError::CommentTooLong { len } => StoreError::CommentTooLong {
                len,
                max: record::MAX_COMMENT,
            },
        })
    }

    /// Writes the commit at record `index` (and `checked_by`'s stamp after
    /// it, in the same write, where it fits), syncs, reads it back; the
    /// payload length.
    fn write(
        &mut self,
        index: u32,
        head: &Head,
        payload: &[u8],
        checked_by: Option<&BuildId>,
    ) -> Result<u32, StoreError> {
        let mut image = self.encode(head, payload)?;
        if let Some(build) = checked_by.filter(|_| self.ring.stamp_fits(image.len())) {
            image.extend_from_slice(&Stamp::of(build, payload).encode());
        }
        let offset = self.ring.range(index).start;
        let err = |op| move |source| (op, source);
        let done = self
            .flash
            .write_at(offset, &image)
            .map_err(err("write"))
            .and_then(|()| self.flash.sync().map_err(err("sync")))
            .and_then(|()| {
                (self.flash.drop_cached(offset, image.len() as u64)).map_err(err("drop cache"))
            });
        if let Err((op, source)) = done {
            return Err(self.record_io(op, index, source));
        }
        let mut back = vec![0u8; image.len()];
        self.flash
            .read_at(offset, &mut back)
            .map_err(|e| self.record_io("read back", index, e))?;
        if let Some(first_mismatch) = image.iter().zip(&back).position(|(w, r)| w != r) {
            return Err(StoreError::RecordVerifyFailed {
                path: self.path(),
                record: index,
                seq: head.seq,
                first_mismatch,
            });
        }
        Ok(payload.len() as u32) // encode bounded it
    }

    /// Reads every record's header and body, and the two-slot store's
    /// slots when no record is valid.
    fn scan(&self) -> Result<Scan, StoreError> {
        let mut scan = Scan::default();
        for i in 0..self.ring.records {
            if let Ok((head, _, _)) = self.read_record(i, false)? {
                scan.records.push((i, head));
            }
        }
        if scan.records.is_empty() {
            scan.legacy = self.read_legacy()?;
        }
        Ok(scan)
    }

    /// The commit at record `index`: its head, payload and (`with_stamp`)
    /// the build whose stamp covers the payload, or why it is not valid.
    /// The scan reads no stamps: checking one is a second CRC over the
    /// payload, and a scan reads every commit.
    fn read_record(
        &self,
        index: u32,
        with_stamp: bool,
    ) -> Result<Result<Read, RecordStatus>, StoreError> {
        let offset = self.ring.range(index).start;
        let mut header = [0u8; record::HEADER_LEN];
        self.flash
            .read_at(offset, &mut header)
            .map_err(|e| self.record_io("read", index, e))?;
        let framed = match record::decode_header(&header, self.ring.room_at(index)) {
            Ok(f) => f,
            Err(status) => return Ok(Err(status)),
        };
        let stamped = with_stamp && self.ring.stamp_fits(record::HEADER_LEN + framed.body_len());
        let mut body = vec![0u8; framed.body_len() + if stamped { stamp::LEN } else { 0 }];
        self.flash
            .read_at(offset + record::HEADER_LEN as u64, &mut body)
            .map_err(|e| self.record_io("read", index, e))?;
        Ok(record::verify(&header, framed, &body).map(|(head, range)| {
            let stamp = Stamp::decode(&body[range.end..]);
            body.truncate(range.end);
            body.drain(..range.start);
            let checked_by = stamp.and_then(|s| s.build_for(&body).cloned());
            (head, body, checked_by)
        }))
    }

    /// A record the scan found valid, read again (it may have changed).
    fn read_valid(&self, index: u32) -> Result<(Entry, Vec<u8>), StoreError> {
        match self.read_record(index, true)? {
            Ok((head, payload, checked_by)) => Ok((
                Entry {
                    head,
                    location: Location::Record(index),
                    checked_by,
                },
                payload,
            )),
            Err(status) => Err(StoreError::RecordChanged {
                path: self.path(),
                record: index,
                status,
            }),
        }
    }

    fn read_valid_seq(&self, seq: u64) -> Result<(Entry, Vec<u8>), StoreError> {
        let scan = self.scan()?;
        match scan.records.iter().find(|(_, h)| h.seq == seq) {
            Some((i, _)) => self.read_valid(*i),
            None => Err(StoreError::NoSuchCommit {
                path: self.path(),
                seq,
            }),
        }
    }

    /// The valid slots of a two-slot store, newest first (slot A first on
    /// equal sequences, as format 1 reads them). A slot past the end of the
    /// device is absent.
    fn read_legacy(&self) -> Result<Vec<Legacy>, StoreError> {
        let size = u64::from(self.legacy.slot_size);
        let mut out = Vec::new();
        for slot in [SlotId::A, SlotId::B] {
            let offset = self.legacy.offset(slot);
            if offset + size > self.len {
                continue;
            }
            let mut buf = vec![0u8; size as usize];
            self.flash
                .read_at(offset, &mut buf)
                .map_err(|source| StoreError::Io {
                    path: self.path(),
                    op: "read",
                    slot: Some(slot),
                    source,
                })?;
            let d = slot::decode_slot(&buf);
            if let (slot::SlotStatus::Valid { seq, len }, Some(p)) = (d.status(), d.payload()) {
                let end = offset + slot::HEADER_LEN as u64 + u64::from(len);
                out.push(Legacy {
                    slot,
                    seq,
                    payload: p.to_vec(),
                    written: offset..end,
                });
            }
        }
        out.sort_by_key(|l| std::cmp::Reverse(l.seq));
        Ok(out)
    }

    fn path(&self) -> PathBuf {
        self.flash.path().to_path_buf()
    }

    fn record_io(&self, op: &'static str, record: u32, source: std::io::Error) -> StoreError {
        StoreError::RecordIo {
            path: self.path(),
            op,
            record,
            source,
        }
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
