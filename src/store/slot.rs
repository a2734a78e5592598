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

use crc::{Crc, CRC_32_ISCSI};

/// First four bytes of every written slot: "VGLC" (vigil config).
pub const MAGIC: [u8; 4] = *b"VGLC";
/// The only format version this reader understands.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes in a v1 header; also stored in the header itself.
pub const HEADER_LEN: usize = 24;

/// CRC-32C (Castagnoli, `crc::CRC_32_ISCSI`).
const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

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
mod tests {
    use super::*;

    const SLOT: usize = 4096;

    fn slot_with(bytes: &[u8]) -> Vec<u8> {
        let mut slot = vec![0u8; SLOT];
        slot[..bytes.len()].copy_from_slice(bytes);
        slot
    }

    fn valid_slot(seq: u64, payload: &[u8]) -> Vec<u8> {
        slot_with(&encode(seq, payload, SLOT).expect("fits"))
    }

    #[test]
    fn crc_is_castagnoli() {
        // The published check value of CRC-32C over "123456789".
        assert_eq!(CASTAGNOLI.checksum(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn header_round_trip() {
        for (seq, payload) in [
            (1u64, &b""[..]),
            (2, b"hello"),
            (u64::MAX, &[0xA5; 1000][..]),
        ] {
            let slot = valid_slot(seq, payload);
            let d = decode_slot(&slot);
            assert_eq!(
                d.status(),
                SlotStatus::Valid {
                    seq,
                    len: payload.len() as u32
                }
            );
            assert_eq!(d.payload(), Some(payload));
        }
    }

    #[test]
    fn header_golden_bytes() {
        let bytes = encode(0x0102_0304_0506_0708, b"hi", SLOT).unwrap();
        let crc = {
            let mut d = CASTAGNOLI.digest();
            d.update(&bytes[..20]);
            d.update(b"hi");
            d.finalize()
        };
        let mut expected = vec![
            b'V', b'G', b'L', b'C', // magic
            0x01, 0x00, // version 1
            0x18, 0x00, // header length 24
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // seq
            0x02, 0x00, 0x00, 0x00, // payload length 2
        ];
        expected.extend_from_slice(&crc.to_le_bytes());
        expected.extend_from_slice(b"hi");
        assert_eq!(bytes, expected);
        // Cross-checked with an independent bitwise CRC-32C (poly 0x82F63B78).
        assert_eq!(
            crc, 0x507A_60AE,
            "format pinned: change only with a version bump"
        );
    }

    #[test]
    fn erased_all_zero_header() {
        assert_eq!(decode_slot(&[0u8; SLOT]).status(), SlotStatus::Erased);
        // Only the header decides: stale payload bytes behind it do not matter.
        let mut slot = vec![0u8; SLOT];
        slot[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(b"junk");
        assert_eq!(decode_slot(&slot).status(), SlotStatus::Erased);
    }

    #[test]
    fn erased_all_ff_header() {
        assert_eq!(decode_slot(&[0xFFu8; SLOT]).status(), SlotStatus::Erased);
    }

    #[test]
    fn bad_magic() {
        let mut slot = valid_slot(1, b"x");
        slot[0] = b'X';
        assert_eq!(decode_slot(&slot).status(), SlotStatus::BadMagic);
        // A header that is zero except one byte is not erased.
        let slot = slot_with(&[0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(decode_slot(&slot).status(), SlotStatus::BadMagic);
    }

    #[test]
    fn unsupported_version() {
        let mut slot = valid_slot(1, b"x");
        slot[4..6].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(
            decode_slot(&slot).status(),
            SlotStatus::UnsupportedVersion { found: 2 }
        );
    }

    #[test]
    fn bad_header_length() {
        let mut slot = valid_slot(1, b"x");
        slot[6..8].copy_from_slice(&32u16.to_le_bytes());
        assert_eq!(
            decode_slot(&slot).status(),
            SlotStatus::BadHeaderLength { found: 32 }
        );
    }

    #[test]
    fn bad_length() {
        let max = (SLOT - HEADER_LEN) as u32;
        let mut slot = valid_slot(1, b"x");
        slot[16..20].copy_from_slice(&(max + 1).to_le_bytes());
        assert_eq!(
            decode_slot(&slot).status(),
            SlotStatus::BadLength { len: max + 1, max }
        );
        slot[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_slot(&slot).status(),
            SlotStatus::BadLength { len: u32::MAX, max }
        );
    }

    #[test]
    fn largest_payload_is_valid() {
        let payload = vec![7u8; SLOT - HEADER_LEN];
        let slot = valid_slot(3, &payload);
        assert_eq!(slot.len(), SLOT);
        assert!(decode_slot(&slot).status().is_valid());
        assert_eq!(
            encode(3, &[0u8; SLOT - HEADER_LEN + 1], SLOT),
            Err(TooLarge {
                len: SLOT - HEADER_LEN + 1,
                max: SLOT - HEADER_LEN
            })
        );
    }

    #[test]
    fn crc_mismatch_in_payload() {
        let mut slot = valid_slot(1, b"payload");
        let stored = u32::from_le_bytes(slot[20..24].try_into().unwrap());
        slot[HEADER_LEN] ^= 0x01;
        let computed = checksum(slot[..HEADER_LEN].try_into().unwrap(), &slot[24..31]);
        let d = decode_slot(&slot);
        assert_eq!(d.status(), SlotStatus::CrcMismatch { stored, computed });
        assert_ne!(stored, computed);
        assert_eq!(d.payload(), None);
    }

    #[test]
    fn crc_mismatch_in_seq_and_crc_field() {
        let good = valid_slot(5, b"payload");
        let mut slot = good.clone();
        slot[8] ^= 0x80; // seq 5 -> 133
        assert!(matches!(
            decode_slot(&slot).status(),
            SlotStatus::CrcMismatch { .. }
        ));
        let mut slot = good;
        slot[23] ^= 0x01; // the CRC itself
        assert!(matches!(
            decode_slot(&slot).status(),
            SlotStatus::CrcMismatch { .. }
        ));
    }

    #[test]
    fn short_buffer_does_not_panic() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                decode_slot(&vec![0x5A; n]).status(),
                SlotStatus::BadLength { len: 0, max: 0 }
            );
        }
    }
}
