//! Random bit flips on the device: a damaged newest copy falls back to the
//! older one (and is reported invalid); damage to the older copy, or to the
//! unused tail of a slot, does not disturb the newest.

use vigil::store::{Geometry, MemFlash, SlotId, Store};

use crate::support::rng::Rng;

const CASES: u64 = 2000;

fn payload(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13) ^ tag.wrapping_mul(101) ^ (i >> 7) as u8)
        .collect()
}

struct Image {
    geometry: Geometry,
    bytes: Vec<u8>,
    a: Vec<u8>,
    b: Vec<u8>,
    /// Bytes of each slot's written region (header + payload).
    written_a: usize,
    written_b: usize,
}

/// A in slot A (seq 1), B in slot B (seq 2, newest).
fn image() -> Image {
    let geometry = Geometry::default();
    let a = payload(1, 3000);
    let b = payload(2, 2200);
    let mut store = Store::new(MemFlash::new(geometry.total_len() as usize), geometry).unwrap();
    let ca = store.commit(&a).unwrap();
    let cb = store.commit(&b).unwrap();
    assert_eq!((ca.slot, cb.slot), (SlotId::A, SlotId::B));
    let header = geometry.slot_size as usize - geometry.max_payload();
    Image {
        geometry,
        bytes: store.into_flash().into_bytes(),
        written_a: header + a.len(),
        written_b: header + b.len(),
        a,
        b,
    }
}

/// Flips 1..=8 distinct bits in `[start, start + len)` of a copy.
fn flip(rng: &mut Rng, bytes: &[u8], start: usize, len: usize) -> (Vec<u8>, Vec<usize>) {
    let mut out = bytes.to_vec();
    let n = 1 + rng.below(8);
    let mut bits: Vec<usize> = Vec::with_capacity(n);
    while bits.len() < n {
        let bit = rng.below(len * 8);
        if !bits.contains(&bit) {
            bits.push(bit);
        }
    }
    for &bit in &bits {
        out[start + bit / 8] ^= 1 << (bit % 8);
    }
    (out, bits)
}

fn load(geometry: Geometry, bytes: Vec<u8>) -> vigil::store::Loaded {
    Store::new(MemFlash::from_bytes(bytes), geometry)
        .unwrap()
        .load()
        .unwrap()
}

#[test]
fn flips_in_newest_fall_back_to_older() {
    let img = image();
    let slot_b = img.geometry.offset(SlotId::B) as usize;
    let mut rng = Rng(0xB17F_0001);
    for case in 0..CASES {
        let (bytes, bits) = flip(&mut rng, &img.bytes, slot_b, img.written_b);
        let loaded = load(img.geometry, bytes);
        assert!(
            !loaded.b.is_valid(),
            "case {case} bits {bits:?}: {:?}",
            loaded.b
        );
        let newest = loaded.newest.expect("older copy loads");
        assert_eq!(newest.slot, SlotId::A, "case {case} bits {bits:?}");
        assert_eq!(newest.payload, img.a, "case {case} bits {bits:?}");
    }
}

#[test]
fn flips_in_older_keep_newest() {
    let img = image();
    let slot_a = img.geometry.offset(SlotId::A) as usize;
    let slot_len = img.geometry.slot_size as usize;
    let mut rng = Rng(0xB17F_0002);
    for case in 0..CASES {
        // Anywhere in slot A: header, payload or unused tail.
        let (bytes, bits) = flip(&mut rng, &img.bytes, slot_a, slot_len);
        let loaded = load(img.geometry, bytes);
        let newest = loaded.newest.expect("newest loads");
        assert_eq!(newest.slot, SlotId::B, "case {case} bits {bits:?}");
        assert_eq!(newest.payload, img.b, "case {case} bits {bits:?}");
        if bits.iter().all(|&b| b / 8 >= img.written_a) {
            assert!(loaded.a.is_valid(), "tail flips do not hurt A");
        }
    }
}

#[test]
fn flips_in_unused_tail_of_newest_are_harmless() {
    let img = image();
    let slot_b = img.geometry.offset(SlotId::B) as usize;
    let tail = img.geometry.slot_size as usize - img.written_b;
    let mut rng = Rng(0xB17F_0003);
    for case in 0..CASES / 4 {
        let (bytes, bits) = flip(&mut rng, &img.bytes, slot_b + img.written_b, tail);
        let loaded = load(img.geometry, bytes);
        let newest = loaded.newest.expect("newest loads");
        assert_eq!(
            (newest.slot, &newest.payload),
            (SlotId::B, &img.b),
            "case {case} bits {bits:?}"
        );
    }
}

#[test]
fn flips_in_both_written_regions_load_nothing() {
    let img = image();
    let slot_b = img.geometry.offset(SlotId::B) as usize;
    let mut rng = Rng(0xB17F_0004);
    for case in 0..CASES / 4 {
        let (bytes, _) = flip(&mut rng, &img.bytes, 0, img.written_a);
        let (bytes, _) = flip(&mut rng, &bytes, slot_b, img.written_b);
        let loaded = load(img.geometry, bytes);
        assert_eq!(loaded.newest, None, "case {case}");
        assert!(!loaded.a.is_valid() && !loaded.b.is_valid());
    }
}
