//! Unit tests of `task.rs`'s pure helpers (the task itself runs against
//! BIRD in `tests/it/bgp_daemon.rs`).

#[test]
fn a_group_id_is_read_without_nss() {
    let g = "root:x:0:\nbirdwatch:x:7:\nbird:x:113:\n";
    assert_eq!(super::group_id("bird", g), Some(113));
    assert_eq!(super::group_id("root", g), Some(0));
    assert_eq!(super::group_id("nobody", g), None);
    assert_eq!(super::group_id("bird", "bird:x:notanumber:\n"), None);
}
