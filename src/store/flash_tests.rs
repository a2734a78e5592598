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
