//! Unit tests of `socket.rs`.

use super::*;

#[test]
fn na_layout() {
    let t: Ipv6Addr = "fd00::200".parse().unwrap();
    let m = na_message([2, 0, 0, 0, 0, 1], t);
    assert_eq!(m[0], 136);
    assert_eq!(m[4], 0x20, "override, not solicited");
    assert_eq!(&m[8..24], &t.octets());
    assert_eq!(&m[24..26], &[2, 1]);
}
