//! Unit tests of `build_id.rs`. The build script links every binary of the
//! crate with `--build-id`, so the test binary has one.

use std::path::Path;

use super::*;

#[test]
fn this_binary_has_a_build_id_and_reads_it_once() {
    let id = own().expect("linked with --build-id");
    assert_eq!(id.as_bytes().len(), 20, "SHA-1: {id}");
    let exe = std::env::current_exe().expect("the test binary's path");
    assert_eq!(of_file(&exe).as_ref(), Some(id));
    assert!(std::ptr::eq(own().expect("kept"), id));
}

#[test]
fn a_file_that_is_not_elf_has_none() {
    let dir = std::env::temp_dir().join(format!("vigil-build-id-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = dir.join("text");
    std::fs::write(&text, b"not an ELF file\n").expect("write");
    assert_eq!(of_file(&text), None);
    assert_eq!(of_file(&dir.join("missing")), None);
    assert_eq!(of_file(Path::new("/")), None);
    std::fs::remove_dir_all(&dir).expect("clean up");
}
