//! The check stamp: 64 bytes written right after a commit's payload, in
//! the unused rest of the commit's last record, naming the build of vigil
//! that checked those payload bytes.
//!
//! Why: a config read from the store is held to every rule of a text
//! import again (`daemon::source`), because the bytes may have been
//! written by another build with other rules. When the build reading them
//! is the one that checked them as it wrote them, that second check can
//! only repeat the first; the stamp lets it be skipped. It is a cache of
//! a check, never a reason to accept bytes: a stamp that is missing, torn,
//! of another build or of other payload bytes means "check again".
//!
//! Owns: the stamp's layout, its CRC, and whether a stamp vouches for a
//! payload. Must not: do I/O, decide where a stamp goes (`history` does:
//! only where it fits inside the commit's extent), read the build's id
//! (`crate::build_id` does), or panic on any input.
//!
//! Readers from before the stamp ignore it: the history's layout has
//! always left the rest of a commit's last record out of the record and
//! its CRC.
//!
//! | offset | size | field          | value                                   |
//! |-------:|-----:|----------------|-----------------------------------------|
//! | 0      | 4    | magic          | `b"VGLS"`                               |
//! | 4      | 1    | version        | `1`                                     |
//! | 5      | 1    | build id length| 1..=32                                  |
//! | 6      | 2    | reserved       | 0                                       |
//! | 8      | 4    | payload length | u32 LE                                  |
//! | 12     | 4    | payload CRC    | CRC-32C of the payload                  |
//! | 16     | 32   | build id       | the id's bytes, then zeros              |
//! | 48     | 12   | reserved       | 0                                       |
//! | 60     | 4    | CRC-32C        | over bytes 0..60                        |

use core::fmt;

use super::CASTAGNOLI;

/// Bytes of a stamp.
pub const LEN: usize = 64;
const MAGIC: [u8; 4] = *b"VGLS";
const VERSION: u8 = 1;
/// Longest build id kept (a GNU build id is 20 bytes, SHA-1).
pub const MAX_BUILD_ID: usize = 32;

mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION: usize = 4;
    pub const ID_LEN: usize = 5;
    pub const RESERVED_A: Range<usize> = 6..8;
    pub const PAYLOAD_LEN: Range<usize> = 8..12;
    pub const PAYLOAD_CRC: Range<usize> = 12..16;
    pub const ID: Range<usize> = 16..48;
    pub const RESERVED_B: Range<usize> = 48..60;
    pub const CRC: Range<usize> = 60..64;
}

const _: () = assert!(field::CRC.end == LEN);
const _: () = assert!(field::ID.end - field::ID.start == MAX_BUILD_ID);

/// The identity of one build of the binary (its GNU build id): two
/// binaries with the same id are the same code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BuildId(heapless::Vec<u8, MAX_BUILD_ID>);

impl BuildId {
    /// `None` when `bytes` is empty or longer than [`MAX_BUILD_ID`].
    pub fn new(bytes: &[u8]) -> Option<BuildId> {
        if bytes.is_empty() {
            return None;
        }
        heapless::Vec::from_slice(bytes).ok().map(BuildId)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuildId({self})")
    }
}

/// A decoded stamp: build `build` checked a payload of `payload_len`
/// bytes whose CRC-32C is `payload_crc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub build: BuildId,
    pub payload_len: u32,
    pub payload_crc: u32,
}

impl Stamp {
    /// The stamp of `build` for `payload`.
    pub fn of(build: &BuildId, payload: &[u8]) -> Stamp {
        Stamp {
            build: build.clone(),
            payload_len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
            payload_crc: CASTAGNOLI.checksum(payload),
        }
    }

    /// Whether this stamp says `payload`, exactly, was checked.
    pub fn covers(&self, payload: &[u8]) -> bool {
        usize::try_from(self.payload_len).is_ok_and(|n| n == payload.len())
            && self.payload_crc == CASTAGNOLI.checksum(payload)
    }

    /// The build that checked `payload`, if this stamp covers it.
    pub fn build_for(&self, payload: &[u8]) -> Option<&BuildId> {
        self.covers(payload).then_some(&self.build)
    }

    pub fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[field::MAGIC].copy_from_slice(&MAGIC);
        out[field::VERSION] = VERSION;
        let id = self.build.as_bytes();
        out[field::ID_LEN] = id.len() as u8; // at most MAX_BUILD_ID
        out[field::PAYLOAD_LEN].copy_from_slice(&self.payload_len.to_le_bytes());
        out[field::PAYLOAD_CRC].copy_from_slice(&self.payload_crc.to_le_bytes());
        out[field::ID.start..field::ID.start + id.len()].copy_from_slice(id);
        let crc = CASTAGNOLI.checksum(&out[..field::CRC.start]);
        out[field::CRC].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// A stamp from the bytes after a payload; `None` for anything that is
    /// not exactly a stamp this layout writes (too short, another magic or
    /// version, a bad length, reserved bytes set, padding after the id, or
    /// a CRC that does not match).
    pub fn decode(bytes: &[u8]) -> Option<Stamp> {
        let b: &[u8; LEN] = bytes.get(..LEN)?.try_into().ok()?;
        let stored = u32::from_le_bytes(b[field::CRC].try_into().ok()?);
        if b[field::MAGIC] != MAGIC
            || b[field::VERSION] != VERSION
            || stored != CASTAGNOLI.checksum(&b[..field::CRC.start])
        {
            return None;
        }
        let id_len = usize::from(b[field::ID_LEN]);
        let (id, padding) = b[field::ID].split_at_checked(id_len)?;
        let zero = |r: &[u8]| r.iter().all(|&x| x == 0);
        if !zero(padding) || !zero(&b[field::RESERVED_A]) || !zero(&b[field::RESERVED_B]) {
            return None;
        }
        Some(Stamp {
            build: BuildId::new(id)?,
            payload_len: u32::from_le_bytes(b[field::PAYLOAD_LEN].try_into().ok()?),
            payload_crc: u32::from_le_bytes(b[field::PAYLOAD_CRC].try_into().ok()?),
        })
    }
}

#[cfg(test)]
#[path = "stamp_tests.rs"]
mod tests;
