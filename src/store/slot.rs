//! Slot codec: the on-flash byte layout of one slot, `encode` and `decode`.
//!
//! Owns: the header layout (see the table in [`crate::store`]), the CRC-32C,
//! and the classification of a slot's bytes into a [`SlotStatus`].
//!
//! Must not: do I/O, read a clock, choose between slots, or panic on any
//! input. `decode` is the function the fuzz target hammers with arbitrary
//! device bytes; every byte access goes through fixed-size arrays or
//! `get`, never an unchecked slice.

use core::fmt;

use super::CASTAGNOLI;

/// First four bytes of every written slot: "VGLC" (vigil config).
pub const MAGIC: [u8; 4] = *b"VGLC";
/// The only format version this reader understands.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes in a v1 header; also stored in the header itself.
pub const HEADER_LEN: usize = 24;

/// Named byte ranges of the header (all integers little-endian).
mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION: Range<usize> = 4..6;
    pub const HEADER_LEN: Range<usize> = 6..8;
    pub const SEQ: Range<usize> = 8..16;
    pub const LEN: Range<usize> = 16..20;
    pub const CRC: Range<usize> = 20..24;
}

// The CRC field is the last one and the header is exactly the fields.
const _: () = assert!(field::CRC.end == HEADER_LEN);
// HEADER_LEN is stored as a u16.
const HEADER_LEN_U16: u16 = HEADER_LEN as u16;
const _: () = assert!(HEADER_LEN_U16 as usize == HEADER_LEN);

/// What the bytes of one slot are.
///
/// Checks run in the order of the variants below; the first failure is
/// reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotStatus {
    /// A complete, checksummed copy: sequence number and payload length.
    Valid { seq: u64, len: u32 },
    /// The header is all 0x00 or all 0xFF: never written.
    Erased,
    /// The first four bytes are not [`MAGIC`].
    BadMagic,
    /// Magic matches but the format version is not [`FORMAT_VERSION`].
    UnsupportedVersion { found: u16 },
    /// The version is 1 but the stored header length is not [`HEADER_LEN`].
    BadHeaderLength { found: u16 },
    /// The payload length does not fit in the slot.
    BadLength { len: u32, max: u32 },
    /// The CRC over header and payload does not match the stored one
    /// (a torn write, a bit flip, or an unwritten tail).
    CrcMismatch { stored: u32, computed: u32 },
}

impl SlotStatus {
    /// True only for [`SlotStatus::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, SlotStatus::Valid { .. })
    }
}

impl fmt::Display for SlotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SlotStatus::Valid { seq, len } => write!(f, "valid (seq {seq}, {len} bytes)"),
            SlotStatus::Erased => f.write_str("erased"),
            SlotStatus::BadMagic => f.write_str("bad magic"),
            SlotStatus::UnsupportedVersion { found } => {
                write!(f, "unsupported format version {found}")
            }
            SlotStatus::BadHeaderLength { found } => {
                write!(f, "bad header length {found} (expected {HEADER_LEN})")
            }
            SlotStatus::BadLength { len, max } => {
                write!(f, "bad payload length {len} (max {max})")
            }
            SlotStatus::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "crc mismatch (stored {stored:#010x}, computed {computed:#010x})"
                )
            }
        }
    }
}

/// The result of [`decode`]: a status, and the payload exactly when the
/// status is [`SlotStatus::Valid`] (only `decode` builds one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    status: SlotStatus,
    payload: Option<&'a [u8]>,
}

impl<'a> Decoded<'a> {
    pub fn status(&self) -> SlotStatus {
        self.status
    }

    /// The payload bytes; `Some` if and only if the slot is valid.
    pub fn payload(&self) -> Option<&'a [u8]> {
        self.payload
    }

    fn invalid(status: SlotStatus) -> Self {
        Decoded {
            status,
            payload: None,
        }
    }
}

/// The payload does not fit in a slot of the given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub len: usize,
    pub max: usize,
}

/// Largest payload a slot of `slot_len` bytes can hold (also capped to what
/// the u32 length field can express).
pub fn max_payload(slot_len: usize) -> usize {
    slot_len.saturating_sub(HEADER_LEN).min(u32::MAX as usize)
}

/// Encodes header + payload: exactly the bytes a commit writes at the start
/// of a slot of `slot_len` bytes.
pub fn encode(seq: u64, payload: &[u8], slot_len: usize) -> Result<Vec<u8>, TooLarge> {
    let max = max_payload(slot_len);
    let too_large = TooLarge {
        len: payload.len(),
        max,
    };
    if payload.len() > max {
        return Err(too_large);
    }
    let len = u32::try_from(payload.len()).map_err(|_| too_large)?;

    let mut header = [0u8; HEADER_LEN];
    header[field::MAGIC].copy_from_slice(&MAGIC);
    header[field::VERSION].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[field::HEADER_LEN].copy_from_slice(&HEADER_LEN_U16.to_le_bytes());
    header[field::SEQ].copy_from_slice(&seq.to_le_bytes());
    header[field::LEN].copy_from_slice(&len.to_le_bytes());
    let crc = checksum(&header, payload);
    header[field::CRC].copy_from_slice(&crc.to_le_bytes());

    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Classifies one slot. `header` is the slot's first [`HEADER_LEN`] bytes,
/// `body` the rest of the slot (payload area; its length bounds the payload
/// length). Never panics.
pub fn decode<'a>(header: &[u8; HEADER_LEN], body: &'a [u8]) -> Decoded<'a> {
    if header.iter().all(|&b| b == 0x00) || header.iter().all(|&b| b == 0xFF) {
        return Decoded::invalid(SlotStatus::Erased);
    }
    let magic: [u8; 4] = array(header, field::MAGIC.start);
    if magic != MAGIC {
        return Decoded::invalid(SlotStatus::BadMagic);
    }
    let version = u16::from_le_bytes(array(header, field::VERSION.start));
    if version != FORMAT_VERSION {
        return Decoded::invalid(SlotStatus::UnsupportedVersion { found: version });
    }
    let header_len = u16::from_le_bytes(array(header, field::HEADER_LEN.start));
    if header_len != HEADER_LEN_U16 {
        return Decoded::invalid(SlotStatus::BadHeaderLength { found: header_len });
    }
    let seq = u64::from_le_bytes(array(header, field::SEQ.start));
    let len = u32::from_le_bytes(array(header, field::LEN.start));
    let max = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let payload = match usize::try_from(len).ok().and_then(|n| body.get(..n)) {
        Some(p) => p,
        None => return Decoded::invalid(SlotStatus::BadLength { len, max }),
    };
    let stored = u32::from_le_bytes(array(header, field::CRC.start));
    let computed = checksum(header, payload);
    if stored != computed {
        return Decoded::invalid(SlotStatus::CrcMismatch { stored, computed });
    }
    Decoded {
        status: SlotStatus::Valid { seq, len },
        payload: Some(payload),
    }
}

/// Splits a whole slot into header and body and decodes it; a buffer too
/// short to hold a header is reported as `BadLength { len: 0, max: 0 }`.
pub fn decode_slot(slot: &[u8]) -> Decoded<'_> {
    match slot.split_first_chunk::<HEADER_LEN>() {
        Some((header, body)) => decode(header, body),
        None => Decoded::invalid(SlotStatus::BadLength { len: 0, max: 0 }),
    }
}

/// CRC-32C over the header bytes before the CRC field, then the payload.
fn checksum(header: &[u8; HEADER_LEN], payload: &[u8]) -> u32 {
    let mut digest = CASTAGNOLI.digest();
    digest.update(&header[..field::CRC.start]);
    digest.update(payload);
    digest.finalize()
}

/// Copies `N` bytes at `at` out of the header. Only called with the
/// constant ranges of `field`, which lie inside the header (checked by the
/// `const` assertion above), so the fallback zero array is unreachable.
fn array<const N: usize>(header: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = header.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
#[path = "slot_tests.rs"]
mod tests;
