//! Unit tests of `stamp.rs`: the pinned bytes, round trips, what a stamp
//! covers, and that every damaged stamp reads as none.

use super::*;

fn id(n: u8, len: usize) -> BuildId {
    BuildId::new(&vec![n; len]).expect("1..=32 bytes")
}

#[test]
fn a_build_id_is_one_to_thirty_two_bytes() {
    assert!(BuildId::new(&[]).is_none());
    assert!(BuildId::new(&[7; 33]).is_none());
    assert_eq!(BuildId::new(&[7; 32]).map(|b| b.as_bytes().len()), Some(32));
    assert_eq!(id(0xab, 3).to_string(), "ababab");
}

#[test]
fn the_bytes_are_pinned() {
    let s = Stamp::of(&id(0x11, 20), b"payload");
    let b = s.encode();
    assert_eq!(&b[0..4], b"VGLS");
    assert_eq!(b[4], 1);
    assert_eq!(b[5], 20);
    assert_eq!(&b[6..8], &[0, 0]);
    assert_eq!(&b[8..12], &7u32.to_le_bytes());
    assert_eq!(&b[12..16], &CASTAGNOLI.checksum(b"payload").to_le_bytes());
    assert_eq!(&b[16..36], &[0x11; 20]);
    assert!(b[36..60].iter().all(|&x| x == 0));
    assert_eq!(&b[60..64], &CASTAGNOLI.checksum(&b[..60]).to_le_bytes());
}

#[test]
fn a_stamp_reads_back_as_written() {
    for len in [1, 20, 32] {
        let s = Stamp::of(&id(0x5a, len), b"some payload bytes");
        assert_eq!(Stamp::decode(&s.encode()), Some(s.clone()));
        // Bytes after the stamp are not its business.
        let mut longer = s.encode().to_vec();
        longer.extend_from_slice(&[0xff; 9]);
        assert_eq!(Stamp::decode(&longer), Some(s));
    }
}

#[test]
fn a_stamp_covers_its_payload_only() {
    let s = Stamp::of(&id(1, 20), b"abc");
    assert!(s.covers(b"abc"));
    assert_eq!(s.build_for(b"abc"), Some(&id(1, 20)));
    assert!(!s.covers(b"abd"));
    assert!(!s.covers(b"abcd"));
    assert!(!s.covers(b""));
    assert_eq!(s.build_for(b"abd"), None);
    // Same CRC would not do with another length: the length is checked too.
    let mut other = s.clone();
    other.payload_len = 4;
    assert!(!other.covers(b"abc"));
}

#[test]
fn every_changed_byte_makes_it_no_stamp() {
    let good = Stamp::of(&id(9, 20), b"x").encode();
    for at in 0..LEN {
        for bit in 0..8 {
            let mut b = good;
            b[at] ^= 1 << bit;
            assert_eq!(Stamp::decode(&b), None, "byte {at} bit {bit}");
        }
    }
}

/// Fields that the CRC covers but that no writer sets: refused even when
/// the CRC is made to match, so a decoded stamp is always one `encode`
/// writes.
#[test]
fn a_resealed_stamp_with_bad_fields_is_no_stamp() {
    let reseal = |mut b: [u8; LEN]| {
        let crc = CASTAGNOLI.checksum(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    };
    let good = Stamp::of(&id(9, 20), b"x").encode();
    assert!(Stamp::decode(&reseal(good)).is_some());
    type Edit = fn(&mut [u8; LEN]);
    let cases: [(&str, Edit); 7] = [
        ("version", |b| b[4] = 2),
        ("empty id", |b| b[5] = 0),
        ("id longer than its field", |b| b[5] = 33),
        ("padding after the id", |b| b[40] = 1),
        ("reserved after the length", |b| b[6] = 1),
        ("reserved after the id", |b| b[59] = 1),
        ("magic", |b| b[0] = b'X'),
    ];
    for (what, edit) in cases {
        let mut b = good;
        edit(&mut b);
        assert_eq!(Stamp::decode(&reseal(b)), None, "{what}");
    }
}

#[test]
fn short_erased_or_blank_bytes_are_no_stamp() {
    let good = Stamp::of(&id(9, 20), b"x").encode();
    assert_eq!(Stamp::decode(&good[..LEN - 1]), None);
    assert_eq!(Stamp::decode(&[]), None);
    assert_eq!(Stamp::decode(&[0; LEN]), None);
    assert_eq!(Stamp::decode(&[0xff; LEN]), None);
}
