//! Power-loss-safe config store on a raw partition or a file.
//!
//! Two formats. [`History`] (format 2, `history.rs`) is what vigil reads
//! and writes: the commit history, a ring of records with commit
//! confirmed; its header comment has the layout and the power-loss
//! argument. [`Store`] below is format 1, the two-slot store of earlier
//! releases: `History` reads its slots until the first commit carries its
//! config over, and tests use its writer to build old stores. Nothing else
//! should write format 1 any more.
//!
//! # Format 1: two slots
//!
//! Owns: choosing which slot to read (newest valid) and which to write (the
//! other one), sequence numbers, write-sync-verify, and the errors of all
//! that. The payload is opaque bytes.
//!
//! Must not: interpret the payload (the config model lives in
//! `crate::config`), fall back to a factory default (the caller does, and
//! says so loudly), retry, or panic on any device contents.
//!
//! Layout: slot A at offset 0, slot B at offset `slot_size` (default
//! 64 KiB each). Each slot is a header followed by the payload; the rest of
//! the slot is ignored.
//!
//! | offset | size | field          | value                                        |
//! |-------:|-----:|----------------|----------------------------------------------|
//! | 0      | 4    | magic          | `b"VGLC"` (56 47 4C 43)                      |
//! | 4      | 2    | format version | u16 LE, `1`                                  |
//! | 6      | 2    | header length  | u16 LE, `24`                                 |
//! | 8      | 8    | sequence       | u64 LE, 1 for the first commit, +1 each time |
//! | 16     | 4    | payload length | u32 LE, at most `slot_size - 24`             |
//! | 20     | 4    | CRC-32C        | u32 LE, `CRC_32_ISCSI` over bytes 0..20, then the payload |
//! | 24     | len  | payload        | opaque                                       |
//!
//! A header of all 0x00 or all 0xFF is `Erased` (never written). Checks run
//! in the order magic, version, header length, payload length, CRC; the
//! first failure names the [`SlotStatus`].
//!
//! # Why power loss cannot lose the config
//!
//! * A commit writes only the slot that does *not* hold the newest valid
//!   copy, so that copy is never touched; whatever happens to the write,
//!   it still loads.
//! * The CRC covers every header field and every payload byte, so a slot
//!   holding any mixture of old and new bytes (a torn write at any byte, or
//!   sectors landing in any order) fails the CRC unless it is byte-for-byte
//!   the new copy (up to a 2^-32 CRC collision). A half-overwritten older
//!   copy C fails the same way, so it can never come back.
//! * The new copy carries seq = newest + 1, so once it is complete and
//!   valid it wins; until then the old one does. The reader never needs to
//!   know whether a commit was in flight.
//! * The write is followed by `fdatasync` and a read-back compare, so
//!   `commit` returns `Ok` only once the new copy is on the device.
//!
//! Equal sequence numbers in both slots (never produced by `commit`) are
//! resolved in favour of slot A.

mod flash;
pub mod history;
pub mod listing;
pub mod record;
pub mod slot;
pub mod stamp;

use std::fmt;
use std::path::{Path, PathBuf};

pub use flash::{FileFlash, Flash, MemFlash};

/// The box's store: the partition labelled `config` (udev's name for it),
/// what `vigil run --store` reads when given no path.
pub const DEFAULT_PATH: &str = "/dev/disk/by-partlabel/config";
pub use history::{Entry, History, Location, Meta, Recorded, Ring, Running};
pub use record::{RecordStatus, Source};
pub use slot::SlotStatus;
pub use stamp::BuildId;

/// CRC-32C (Castagnoli, `crc::CRC_32_ISCSI`): the check of every slot,
/// record and stamp, one copy for all three. Slice-by-16 tables (16 KiB)
/// rather than the bytewise one: the power-cut soak of the history,
/// which checks commits of up to 190 KB over and over, runs in 21.9 s
/// instead of 43.3 s in a debug build.
pub(crate) static CASTAGNOLI: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// Size of the two slots. `slot_size` must be a multiple of 512 and at
/// least 4 KiB; the device must hold `2 * slot_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub slot_size: u32,
}

impl Geometry {
    pub const DEFAULT_SLOT_SIZE: u32 = 64 * 1024;
    pub const MIN_SLOT_SIZE: u32 = 4 * 1024;
    pub const SECTOR: u32 = 512;

    /// Returns the geometry if `slot_size` is acceptable.
    pub fn validate(self) -> Result<Self, StoreError> {
        if self.slot_size < Self::MIN_SLOT_SIZE || self.slot_size % Self::SECTOR != 0 {
            return Err(StoreError::BadGeometry {
                slot_size: self.slot_size,
            });
        }
        Ok(self)
    }

    /// Bytes the device must hold: both slots.
    pub fn total_len(self) -> u64 {
        2 * u64::from(self.slot_size)
    }

    /// Largest payload a commit accepts.
    pub fn max_payload(self) -> usize {
        slot::max_payload(self.slot_len())
    }

    /// Byte offset of a slot on the device.
    pub fn offset(self, slot: SlotId) -> u64 {
        match slot {
            SlotId::A => 0,
            SlotId::B => u64::from(self.slot_size),
        }
    }

    fn slot_len(self) -> usize {
        // u32 always fits in usize on the 32- and 64-bit targets vigil runs on.
        usize::try_from(self.slot_size).unwrap_or(usize::MAX)
    }
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry {
            slot_size: Self::DEFAULT_SLOT_SIZE,
        }
    }
}

/// One of the two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotId {
    A,
    B,
}

impl SlotId {
    pub fn other(self) -> SlotId {
        match self {
            SlotId::A => SlotId::B,
            SlotId::B => SlotId::A,
        }
    }
}

impl fmt::Display for SlotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlotId::A => "A",
            SlotId::B => "B",
        })
    }
}

/// What `load` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The valid slot with the highest sequence; `None` when neither slot is
    /// valid (the caller boots the factory default).
    pub newest: Option<Newest>,
    pub a: SlotStatus,
    pub b: SlotStatus,
}

impl Loaded {
    pub fn status(&self, slot: SlotId) -> SlotStatus {
        match slot {
            SlotId::A => self.a,
            SlotId::B => self.b,
        }
    }
}

/// The copy `load` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    pub slot: SlotId,
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// What `commit` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub slot: SlotId,
    pub seq: u64,
    pub len: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("config store {}: {op}{} failed", path.display(), on_slot(*slot))]
    Io {
        path: PathBuf,
        op: &'static str,
        slot: Option<SlotId>,
        #[source]
        source: std::io::Error,
    },
    #[error("config store {}: device is {len} bytes, needs at least {needed}", path.display())]
    DeviceTooSmall {
        path: PathBuf,
        len: u64,
        needed: u64,
    },
    #[error("slot size {slot_size} is not a multiple of 512 of at least 4096 bytes")]
    BadGeometry { slot_size: u32 },
    #[error("payload of {len} bytes does not fit in a slot (max {max})")]
    TooLarge { len: usize, max: usize },
    #[error(
        "config store {}: slot {slot} read back different bytes after writing seq {seq} (first at slot byte {first_mismatch})",
        path.display()
    )]
    VerifyFailed {
        path: PathBuf,
        slot: SlotId,
        seq: u64,
        first_mismatch: usize,
    },
    #[error("config store {}: sequence number exhausted", path.display())]
    SequenceExhausted { path: PathBuf },
    #[error("config store {}: {op} record {record} failed", path.display())]
    RecordIo {
        path: PathBuf,
        op: &'static str,
        record: u32,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "config store {}: record {record} read back different bytes after writing seq {seq} (first at record byte {first_mismatch})",
        path.display()
    )]
    RecordVerifyFailed {
        path: PathBuf,
        record: u32,
        seq: u64,
        first_mismatch: usize,
    },
    #[error("config store {}: record {record} changed while read ({status})", path.display())]
    RecordChanged {
        path: PathBuf,
        record: u32,
        status: RecordStatus,
    },
    #[error(
        "config of {len} bytes does not fit in the {records} records of {record_size} bytes a commit may take (max {max} beside this user name and comment)"
    )]
    RecordTooLarge {
        len: usize,
        max: usize,
        records: u32,
        record_size: u32,
    },
    #[error("user name of {len} bytes is longer than {max}")]
    UserTooLong { len: usize, max: usize },
    #[error("comment of {len} bytes is longer than {max}")]
    CommentTooLong { len: usize, max: usize },
    #[error("config store {}: no commit {seq} in the history", path.display())]
    NoSuchCommit { path: PathBuf, seq: u64 },
    #[error("config store {}: commit {seq} is not the newest unconfirmed commit", path.display())]
    NotPending { path: PathBuf, seq: u64 },
    #[error(
        "config store {}: unconfirmed commit {unconfirmed} has no confirmed commit before it to roll back to",
        path.display()
    )]
    NothingToRollBackTo { path: PathBuf, unconfirmed: u64 },
    #[error("config store {}: every record is in use", path.display())]
    NoFreeRecord { path: PathBuf },
}

fn on_slot(slot: Option<SlotId>) -> String {
    slot.map(|s| format!(" slot {s}")).unwrap_or_default()
}

/// The two-slot store (format 1) on a [`Flash`] device.
#[derive(Debug)]
pub struct Store<F: Flash = FileFlash> {
    flash: F,
    geometry: Geometry,
}

impl Store<FileFlash> {
    /// Opens the store at `path` (a block device or a plain file). With
    /// `create`, a missing file is created as `2 * slot_size` zero bytes
    /// (both slots erased).
    pub fn open(
        path: impl AsRef<Path>,
        geometry: Geometry,
        create: bool,
    ) -> Result<Self, StoreError> {
        let geometry = geometry.validate()?;
        let flash = open_flash(path.as_ref(), create.then(|| geometry.total_len()))?;
        Store::new(flash, geometry)
    }
}

/// Opens the store's device or file; with `create_len`, a missing file is
/// first made that many zero bytes long.
pub(crate) fn open_flash(path: &Path, create_len: Option<u64>) -> Result<FileFlash, StoreError> {
    let io = |op| {
        move |source| StoreError::Io {
            path: path.to_path_buf(),
            op,
            slot: None,
            source,
        }
    };
    match create_len.map(|len| FileFlash::create_new(path, len)) {
        Some(Ok(flash)) => Ok(flash),
        Some(Err(e)) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io("create")(e)),
        _ => FileFlash::open(path).map_err(io("open")),
    }
}

impl<F: Flash> Store<F> {
    /// Wraps a device; fails if the geometry is bad or the device smaller
    /// than both slots.
    pub fn new(flash: F, geometry: Geometry) -> Result<Self, StoreError> {
        let geometry = geometry.validate()?;
        let len = flash.len().map_err(|source| StoreError::Io {
            path: flash.path().to_path_buf(),
            op: "size",
            slot: None,
            source,
        })?;
        let needed = geometry.total_len();
        if len < needed {
            return Err(StoreError::DeviceTooSmall {
                path: flash.path().to_path_buf(),
                len,
                needed,
            });
        }
        Ok(Store { flash, geometry })
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    pub fn flash(&self) -> &F {
        &self.flash
    }

    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Reads both slots and returns the newest valid payload, if any, with
    /// both statuses. Only device I/O errors are errors; bad contents are
    /// statuses.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let a = self.read_slot(SlotId::A)?;
        let b = self.read_slot(SlotId::B)?;
        let (da, db) = (slot::decode_slot(&a), slot::decode_slot(&b));
        let newest = match newest(da.status(), db.status()) {
            Some((slot, seq)) => {
                let d = if slot == SlotId::A { da } else { db };
                d.payload().map(|p| Newest {
                    slot,
                    seq,
                    payload: p.to_vec(),
                })
            }
            None => None,
        };
        Ok(Loaded {
            newest,
            a: da.status(),
            b: db.status(),
        })
    }

    /// Writes `payload` as the new newest copy into the slot not holding the
    /// current newest valid copy (slot A if neither is valid), syncs, and
    /// reads it back. A payload that does not fit writes nothing.
    pub fn commit(&mut self, payload: &[u8]) -> Result<Committed, StoreError> {
        let slot_len = self.geometry.slot_len();
        let max = self.geometry.max_payload();
        if payload.len() > max {
            return Err(StoreError::TooLarge {
                len: payload.len(),
                max,
            });
        }
        let len = u32::try_from(payload.len()).map_err(|_| StoreError::TooLarge {
            len: payload.len(),
            max,
        })?;

        let a = self.read_slot(SlotId::A)?;
        let b = self.read_slot(SlotId::B)?;
        let current = newest(
            slot::decode_slot(&a).status(),
            slot::decode_slot(&b).status(),
        );
        let (target, seq) = match current {
            None => (SlotId::A, 1),
            Some((slot, seq)) => {
                let next = seq
                    .checked_add(1)
                    .ok_or_else(|| StoreError::SequenceExhausted { path: self.path() })?;
                (slot.other(), next)
            }
        };

        let image = slot::encode(seq, payload, slot_len).map_err(|e| StoreError::TooLarge {
            len: e.len,
            max: e.max,
        })?;
        let offset = self.geometry.offset(target);
        self.flash
            .write_at(offset, &image)
            .map_err(|e| self.io_error("write", Some(target), e))?;
        self.flash
            .sync()
            .map_err(|e| self.io_error("sync", Some(target), e))?;
        let mut back = vec![0u8; image.len()];
        self.flash
            .read_at(offset, &mut back)
            .map_err(|e| self.io_error("read back", Some(target), e))?;
        if let Some(first_mismatch) = image.iter().zip(&back).position(|(w, r)| w != r) {
            return Err(StoreError::VerifyFailed {
                path: self.path(),
                slot: target,
                seq,
                first_mismatch,
            });
        }
        Ok(Committed {
            slot: target,
            seq,
            len,
        })
    }

    fn read_slot(&self, slot: SlotId) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0u8; self.geometry.slot_len()];
        self.flash
            .read_at(self.geometry.offset(slot), &mut buf)
            .map_err(|e| self.io_error("read", Some(slot), e))?;
        Ok(buf)
    }

    fn path(&self) -> PathBuf {
        self.flash.path().to_path_buf()
    }

    fn io_error(
        &self,
        op: &'static str,
        slot: Option<SlotId>,
        source: std::io::Error,
    ) -> StoreError {
        StoreError::Io {
            path: self.path(),
            op,
            slot,
            source,
        }
    }
}

/// The valid slot with the highest sequence; a tie goes to slot A.
fn newest(a: SlotStatus, b: SlotStatus) -> Option<(SlotId, u64)> {
    match (a, b) {
        (SlotStatus::Valid { seq: sa, .. }, SlotStatus::Valid { seq: sb, .. }) => {
            if sb > sa {
                Some((SlotId::B, sb))
            } else {
                Some((SlotId::A, sa))
            }
        }
        (SlotStatus::Valid { seq, .. }, _) => Some((SlotId::A, seq)),
        (_, SlotStatus::Valid { seq, .. }) => Some((SlotId::B, seq)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
