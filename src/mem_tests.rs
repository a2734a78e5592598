//! Unit tests of `mem.rs`: which mapping the init text may be dropped from.

use super::*;

const CODE: &str = "55d0c7a00000-55d0c8200000 r-xp 001cd000 fe:00 10010867   /usr/bin/vigil";

#[test]
fn only_a_private_executable_file_mapping_holding_the_range_is_clean_code() {
    let (lo, hi) = (0x55d0_c7a0_0000, 0x55d0_c820_0000);
    assert!(clean_code(CODE, lo, hi));
    assert!(clean_code(CODE, lo + 0x1000, hi - 0x1000));
    assert!(
        !clean_code(CODE, lo - 0x1000, hi),
        "starts before the mapping"
    );
    assert!(!clean_code(CODE, lo, hi + 0x1000), "ends after it");
    let writable = CODE.replace("r-xp", "rwxp");
    assert!(
        !clean_code(&writable, lo, hi),
        "written pages would be lost"
    );
    let shared = CODE.replace("r-xp", "r-xs");
    assert!(!clean_code(&shared, lo, hi));
    let anon = "55d0c7a00000-55d0c8200000 r-xp 00000000 00:00 0";
    assert!(
        !clean_code(anon, lo, hi),
        "anonymous code has no file to read back"
    );
    assert!(!clean_code("garbage", lo, hi));
    assert!(!clean_code("zz-55d0c8200000 r-xp 0 fe:00 1 /x", lo, hi));
}

#[test]
fn nothing_is_dropped_without_a_range() {
    // The test binary has no init section: set_init_text is never called,
    // and a drop must be a no-op (the code below still runs).
    drop_init_text();
    assert!(INIT_TEXT.get().is_none());
}
