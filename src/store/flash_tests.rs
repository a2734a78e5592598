//! Unit tests of `flash.rs`.

use super::*;

#[test]
fn mem_flash_bounds() {
    let mut f = MemFlash::new(16);
    f.write_at(12, b"abcd").unwrap();
    let mut buf = [0u8; 4];
    f.read_at(12, &mut buf).unwrap();
    assert_eq!(&buf, b"abcd");
    assert_eq!(
        f.write_at(13, b"abcd").unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
    assert!(f.read_at(u64::MAX, &mut buf).is_err());
    assert_eq!(f.len().unwrap(), 16);
}

#[test]
fn a_file_store_is_held_by_one_opener_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flash.img");
    let first = FileFlash::create_new(&path, 4096).unwrap();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
    });
    let t0 = Instant::now();
    let mut second = FileFlash::open(&path).unwrap();
    let waited = t0.elapsed();
    holder.join().unwrap();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    // And its cache drop is what the kernel accepts for a file.
    second.write_at(0, b"abcd").unwrap();
    second.sync().unwrap();
    second.drop_cached(0, 4096).unwrap();
    let mut buf = [0u8; 4];
    second.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"abcd");
}
