//! Unit tests of `file.rs`.

use super::*;

#[test]
fn numbers_are_read_as_strtol_base_0_reads_them() {
    assert_eq!(value_of(b"1\n"), Some(1));
    assert_eq!(value_of(b"  -3 volts"), Some(-3));
    assert_eq!(value_of(b"0x10"), Some(16));
    assert_eq!(value_of(b"010"), Some(8));
    assert_eq!(value_of(b"0"), Some(0));
    assert_eq!(value_of(b""), Some(0));
    assert_eq!(value_of(b"maintenance"), Some(0));
    assert_eq!(value_of(b"+7"), Some(7));
    assert_eq!(value_of(b"2147483648"), Some(2_147_483_648));
    assert_eq!(value_of(b"99999999999"), None, "beyond 32 bits: refused");
    assert_eq!(value_of(b"99999999999999999999999"), None);
}

#[test]
fn a_missing_file_is_0_and_init_file_writes_only_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    assert_eq!(read(&path), Some(0));
    let p = |overwrite| Planned {
        name: "m".into(),
        path: path.clone(),
        init: Some(InitFile {
            value: 5,
            overwrite,
        }),
    };
    init(&p(false)).unwrap();
    assert_eq!(read(&path), Some(5));
    std::fs::write(&path, "2").unwrap();
    init(&p(false)).unwrap();
    assert_eq!(read(&path), Some(2), "kept without overwrite");
    init(&p(true)).unwrap();
    assert_eq!(read(&path), Some(5));
}
