//! Unit tests of `slot.rs`.

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
