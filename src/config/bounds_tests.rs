//! Unit tests of `bounds.rs`.

use super::*;

#[test]
fn ifname_bounds() {
    assert!(IfName::new("eth0").is_ok());
    assert!(IfName::new("a23456789012345").is_ok());
    assert_eq!(
        IfName::new("a234567890123456"),
        Err(BoundError::TooLong { max: 15 })
    );
    assert_eq!(IfName::new(""), Err(BoundError::Empty));
    assert_eq!(IfName::new("a/b"), Err(BoundError::BadChar { ch: '/' }));
}

#[test]
fn pass_key_is_eight_bytes_zero_padded() {
    let k = PassKey::new("1111").unwrap();
    assert_eq!(k.octets(), *b"1111\0\0\0\0");
    assert!(PassKey::new("12345678").is_ok());
    assert_eq!(
        PassKey::new("123456789"),
        Err(BoundError::TooLong { max: 8 })
    );
}

#[test]
fn millis_parse_and_display_round_trip() {
    for (text, ms) in [
        ("1", 1000),
        ("0.05", 50),
        ("3.5", 3500),
        ("0.001", 1),
        (".5", 500),
        ("40.95", 40950),
    ] {
        let m = Millis::parse_secs(text).unwrap();
        assert_eq!(m, Millis(ms), "{text}");
        assert_eq!(Millis::parse_secs(&m.to_string()), Some(m));
    }
    for bad in ["", ".", "1.", "1.0001", "-1", "1e3", "x", "4294968"] {
        assert_eq!(Millis::parse_secs(bad), None, "{bad}");
    }
    assert_eq!(Millis(50).to_string(), "0.05");
    assert_eq!(Millis(1000).to_string(), "1");
}

#[test]
fn pass_key_first_bytes_cuts_at_eight_as_keepalived() {
    let (k, cut) = PassKey::first_bytes("123456789012").unwrap();
    assert!(cut);
    assert_eq!(k.octets(), *b"12345678");
    let (k, cut) = PassKey::first_bytes("1111").unwrap();
    assert!(!cut);
    assert_eq!(k.octets(), *b"1111\0\0\0\0");
    // Exactly 8 bytes is not a cut.
    assert!(!PassKey::first_bytes("abcdefgh").unwrap().1);
    // A cut inside a character cannot be text.
    assert_eq!(
        PassKey::first_bytes("abcdefg\u{e9}x"),
        Err(BoundError::TooLong { max: 8 })
    );
    assert_eq!(PassKey::first_bytes(""), Err(BoundError::Empty));
}
