//! Unit tests of `socket.rs`.

use super::*;

#[test]
fn garp_frame_layout() {
    let mac = [2, 0, 0, 0, 0, 1];
    let f = garp_frame(mac, Ipv4Addr::new(10, 9, 0, 200));
    assert_eq!(&f[0..6], &[0xff; 6]);
    assert_eq!(&f[12..14], &[0x08, 0x06]);
    assert_eq!(&f[20..22], &[0, 1], "request");
    assert_eq!(&f[28..32], &[10, 9, 0, 200], "sender ip");
    assert_eq!(&f[38..42], &[10, 9, 0, 200], "target ip");
    assert_eq!(&f[32..38], &[0; 6]);
}

#[test]
fn na_layout() {
    let t: Ipv6Addr = "fd00::200".parse().unwrap();
    let m = na_message([2, 0, 0, 0, 0, 1], t);
    assert_eq!(m[0], 136);
    assert_eq!(m[4], 0x20, "override, not solicited");
    assert_eq!(&m[8..24], &t.octets());
    assert_eq!(&m[24..26], &[2, 1]);
}
