//! Unit tests of `record.rs`: round trips, the pinned header bytes, and
//! every status `decode` can give.

use super::*;

const RECORD: usize = 4096;

fn head(seq: u64) -> Head {
    Head {
        seq,
        time: 1_700_000_000,
        deadline: None,
        source: Source::Import,
        user: String::new(),
        comment: String::new(),
        len: 0,
    }
}

fn with(h: Head, payload: &[u8]) -> Head {
    Head {
        len: payload.len() as u32,
        ..h
    }
}

/// Re-seals a hand-edited record with a correct CRC.
fn reseal(bytes: &mut [u8]) {
    let crc = checksum(bytes);
    bytes[field::CRC].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn round_trip_every_source_and_state() {
    let sources = [
        Source::Import,
        Source::Console,
        Source::Rollback { of: 3 },
        Source::ConfirmedRollback { of: 4 },
        Source::Confirm { of: 5 },
        Source::FormatOne,
    ];
    for (i, source) in sources.into_iter().enumerate() {
        let payload = vec![i as u8; 100 * i];
        let h = with(
            Head {
                source,
                deadline: (i % 2 == 1).then_some(1_700_000_600),
                user: "ops".repeat(i),
                comment: "é".repeat(i * 10),
                ..head(i as u64 + 1)
            },
            &payload,
        );
        let bytes = encode(&h, &payload, RECORD).unwrap();
        let (back, p) = decode(&bytes, RECORD).unwrap();
        assert_eq!((back, p), (h, &payload[..]));
    }
}

#[test]
fn header_golden_bytes() {
    let h = Head {
        user: "al".into(),
        comment: "c".into(),
        deadline: Some(0x10),
        source: Source::Rollback { of: 7 },
        ..with(head(0x0102_0304_0506_0708), b"hi")
    };
    let bytes = encode(&h, b"hi", RECORD).unwrap();
    let mut expected = b"VGLC".to_vec();
    expected.extend_from_slice(&[2, 0, 64, 0]);
    expected.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
    expected.extend_from_slice(&1_700_000_000u64.to_le_bytes());
    expected.extend_from_slice(&0x10u64.to_le_bytes());
    expected.extend_from_slice(&7u64.to_le_bytes());
    expected.extend_from_slice(&[3, 2, 1, 0, 2, 0, 0, 0, 1]);
    expected.extend_from_slice(&[0; 11]);
    assert_eq!(bytes[..60], expected[..]);
    assert_eq!(&bytes[64..], b"alchi");
    let crc = u32::from_le_bytes(bytes[60..64].try_into().unwrap());
    assert_eq!(crc, checksum(&bytes));
    // Cross-checked with an independent bitwise CRC-32C (poly 0x82F63B78).
    assert_eq!(
        crc, 0x6BE0_91F4,
        "format pinned: change only with a version bump"
    );
}

#[test]
fn erased_and_magic_and_versions() {
    let h = |b: [u8; HEADER_LEN]| decode_header(&b, RECORD);
    assert_eq!(h([0; HEADER_LEN]), Err(RecordStatus::Erased));
    assert_eq!(h([0xFF; HEADER_LEN]), Err(RecordStatus::Erased));
    let good = encode(&head(1), b"", RECORD).unwrap();
    let mut b: [u8; HEADER_LEN] = good[..HEADER_LEN].try_into().unwrap();
    b[0] = b'X';
    assert_eq!(h(b), Err(RecordStatus::BadMagic));
    b[0] = b'V';
    b[4] = 1;
    assert_eq!(h(b), Err(RecordStatus::FormatOne));
    b[4] = 3;
    assert_eq!(h(b), Err(RecordStatus::UnsupportedVersion { found: 3 }));
    b[4] = 2;
    b[6] = 65;
    assert_eq!(h(b), Err(RecordStatus::BadHeaderLength { found: 65 }));
    // A format 1 slot as written by `slot::encode` reads as FormatOne.
    let v1 = crate::store::slot::encode(1, b"old", 4096).unwrap();
    let mut v1h = [0u8; HEADER_LEN];
    v1h[..v1.len()].copy_from_slice(&v1);
    assert_eq!(h(v1h), Err(RecordStatus::FormatOne));
}

#[test]
fn lengths_are_bounded() {
    let mut b: [u8; HEADER_LEN] = encode(&head(1), b"", RECORD).unwrap()[..HEADER_LEN]
        .try_into()
        .unwrap();
    b[field::USER_LEN] = MAX_USER as u8 + 1;
    assert_eq!(decode_header(&b, RECORD), Err(RecordStatus::BadLength));
    b[field::USER_LEN] = 0;
    b[field::COMMENT_LEN].copy_from_slice(&(MAX_COMMENT as u16 + 1).to_le_bytes());
    assert_eq!(decode_header(&b, RECORD), Err(RecordStatus::BadLength));
    b[field::COMMENT_LEN].copy_from_slice(&0u16.to_le_bytes());
    let max = (RECORD - HEADER_LEN) as u32;
    b[field::PAYLOAD_LEN].copy_from_slice(&(max + 1).to_le_bytes());
    assert_eq!(decode_header(&b, RECORD), Err(RecordStatus::BadLength));
    b[field::PAYLOAD_LEN].copy_from_slice(&max.to_le_bytes());
    assert!(decode_header(&b, RECORD).is_ok());
    // A body shorter than the header says is a bad length, not a panic.
    let bytes = encode(&head(1), b"abc", RECORD).unwrap();
    assert_eq!(
        decode(&bytes[..bytes.len() - 1], RECORD),
        Err(RecordStatus::BadLength)
    );
    assert_eq!(decode(&bytes[..10], RECORD), Err(RecordStatus::BadLength));
}

#[test]
fn encode_refuses_what_does_not_fit() {
    let user = Head {
        user: "u".repeat(MAX_USER + 1),
        ..head(1)
    };
    assert_eq!(
        encode(&user, b"", RECORD),
        Err(EncodeError::UserTooLong { len: 33 })
    );
    let comment = Head {
        comment: "c".repeat(MAX_COMMENT + 1),
        ..head(1)
    };
    assert_eq!(
        encode(&comment, b"", RECORD),
        Err(EncodeError::CommentTooLong { len: 257 })
    );
    let h = Head {
        comment: "c".repeat(10),
        ..head(1)
    };
    let max = RECORD - HEADER_LEN - 10;
    assert_eq!(
        encode(&h, &vec![0; max + 1], RECORD),
        Err(EncodeError::TooLarge { len: max + 1, max })
    );
    let full = encode(&h, &vec![0; max], RECORD).unwrap();
    assert_eq!(full.len(), RECORD);
}

#[test]
fn any_flipped_bit_fails_the_crc() {
    let h = Head {
        user: "bob".into(),
        comment: "x".into(),
        ..head(9)
    };
    let bytes = encode(&h, b"payload bytes", RECORD).unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        let got = decode(&b, RECORD);
        assert!(got.is_err(), "bit {bit}: {got:?}");
        // Past magic, version and header length, the CRC or a length
        // check is what catches it.
        if bit / 8 >= 8 {
            assert!(
                matches!(
                    got,
                    Err(RecordStatus::CrcMismatch { .. } | RecordStatus::BadLength)
                ),
                "bit {bit}: {got:?}"
            );
        }
    }
}

#[test]
fn checksummed_nonsense_is_bad_field() {
    let bytes = encode(&head(1), b"p", RECORD).unwrap();
    for (at, value) in [
        (field::KIND, 0u8),
        (field::KIND, 7),
        (field::FLAGS, 2),
        (50, 1),
    ] {
        let mut b = bytes.clone();
        b[at] = value;
        reseal(&mut b);
        assert_eq!(decode(&b, RECORD), Err(RecordStatus::BadField), "byte {at}");
    }
    let h = Head {
        user: "ab".into(),
        ..head(1)
    };
    let mut b = encode(&h, b"p", RECORD).unwrap();
    b[HEADER_LEN] = 0xFF; // not UTF-8
    reseal(&mut b);
    assert_eq!(decode(&b, RECORD), Err(RecordStatus::BadField));
}

#[test]
fn status_display_is_lowercase() {
    for s in [
        RecordStatus::Valid { seq: 1, len: 2 },
        RecordStatus::Erased,
        RecordStatus::BadMagic,
        RecordStatus::FormatOne,
        RecordStatus::UnsupportedVersion { found: 7 },
        RecordStatus::BadHeaderLength { found: 7 },
        RecordStatus::BadLength,
        RecordStatus::CrcMismatch {
            stored: 1,
            computed: 2,
        },
        RecordStatus::BadField,
    ] {
        let text = s.to_string();
        assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
    }
}
