//! Unit tests of `mem.rs`: which mappings and pages a drop may touch.

use super::*;

const CODE: &str = "55d0c7a00000-55d0c8200000 r-xp 001cd000 fe:00 10010867   /usr/bin/vigil";

#[test]
fn only_a_private_executable_file_mapping_holding_the_range_is_clean_code() {
    let (lo, hi) = (0x55d0_c7a0_0000, 0x55d0_c820_0000);
    let code = |line: &str, a, b| clean_mapping(line, a, b, "r-xp");
    assert!(code(CODE, lo, hi));
    assert!(code(CODE, lo + 0x1000, hi - 0x1000));
    assert!(!code(CODE, lo - 0x1000, hi), "starts before the mapping");
    assert!(!code(CODE, lo, hi + 0x1000), "ends after it");
    let writable = CODE.replace("r-xp", "rwxp");
    assert!(!code(&writable, lo, hi), "written pages would be lost");
    assert!(
        !clean_mapping(&writable, lo, hi, "rwxp"),
        "never a writable mapping, whatever is asked"
    );
    let shared = CODE.replace("r-xp", "r-xs");
    assert!(!code(&shared, lo, hi));
    let anon = "55d0c7a00000-55d0c8200000 r-xp 00000000 00:00 0";
    assert!(
        !code(anon, lo, hi),
        "anonymous code has no file to read back"
    );
    assert!(!code("garbage", lo, hi));
    assert!(!code("zz-55d0c8200000 r-xp 0 fe:00 1 /x", lo, hi));
}

#[test]
fn the_relocations_are_dropped_only_from_the_read_only_mapping() {
    let (lo, hi) = (0x55d0_c780_0000, 0x55d0_c79c_f000);
    let rodata = "55d0c7800000-55d0c79cf000 r--p 00000000 fe:00 10010867   /usr/bin/vigil";
    assert!(clean_mapping(rodata, lo + 0x1000, lo + 0x41000, "r--p"));
    assert!(!clean_mapping(rodata, lo, hi, "r-xp"), "not code");
    assert!(!clean_mapping(CODE, lo, hi, "r--p"));
    let relro = "55d0c7800000-55d0c79cf000 rw-p 00000000 fe:00 10010867   /usr/bin/vigil";
    assert!(!clean_mapping(relro, lo, hi, "r--p"));
}

#[test]
fn whole_pages_inside_the_bounds_are_dropped() {
    let maps =
        format!("{CODE}\n55d0c7800000-55d0c79cf000 r--p 00000000 fe:00 10010867 /usr/bin/vigil");
    let page = page_size();
    assert_eq!(
        droppable((0x55d0_c780_0328, 0x55d0_c784_1278), "r--p", &maps),
        Some((0x55d0_c780_0000 + page, 0x55d0_c784_1000)),
        "the partial pages at either end stay"
    );
    assert_eq!(
        droppable((0x55d0_c780_0328, 0x55d0_c780_0f00), "r--p", &maps),
        None
    );
    assert_eq!(
        droppable((0x55d0_c7a0_0000, 0x55d0_c7a1_0000), "r--p", &maps),
        None
    );
}

const STACK: &str =
    "7ffc1a000000-7ffc1a100000 rw-p 00000000 00:00 0                          [stack]";

#[test]
fn the_stack_is_trimmed_below_the_caller_less_a_margin() {
    let maps = format!("{CODE}\n{STACK}\n");
    let sp = 0x7ffc_1a0f_0123;
    assert_eq!(
        stack_below((&maps, sp), 4096),
        Some((0x7ffc_1a00_0000, (sp - STACK_MARGIN) / 4096 * 4096))
    );
    assert_eq!(
        stack_below((&maps, 0x7ffc_1a00_8000), 4096),
        None,
        "nothing below the margin"
    );
    assert_eq!(
        stack_below((&maps, 0x7f00_0000_8000), 4096),
        None,
        "another thread's stack is not the main one's"
    );
    assert_eq!(stack_below((CODE, sp), 4096), None, "no [stack] line");
}

#[test]
fn nothing_is_dropped_without_a_range() {
    // The test binary has no init section: set_start_only is never called,
    // and a test thread's stack is not the main one's: a drop is a no-op
    // (the code below still runs).
    drop_start_only();
    assert!(START_ONLY.get().is_none());
}
