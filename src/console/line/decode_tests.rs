use super::*;

fn keys(bytes: &[u8]) -> Vec<Key> {
    let mut d = Decoder::new();
    bytes.iter().filter_map(|&b| d.push(b)).collect()
}

#[test]
fn every_key() {
    let cases: &[(&[u8], Key)] = &[
        (b"a", Key::Char('a')),
        (b"\r", Key::Enter),
        (b"\n", Key::Enter),
        (b"\t", Key::Tab),
        (b"\x7f", Key::Backspace),
        (b"\x08", Key::Backspace),
        (b"\x1b[3~", Key::Delete),
        (b"\x1b[D", Key::Left),
        (b"\x1bOD", Key::Left),
        (b"\x02", Key::Left),
        (b"\x1b[C", Key::Right),
        (b"\x1bOC", Key::Right),
        (b"\x06", Key::Right),
        (b"\x1b[H", Key::Home),
        (b"\x1bOH", Key::Home),
        (b"\x1b[1~", Key::Home),
        (b"\x1b[7~", Key::Home),
        (b"\x01", Key::Home),
        (b"\x1b[F", Key::End),
        (b"\x1bOF", Key::End),
        (b"\x1b[4~", Key::End),
        (b"\x1b[8~", Key::End),
        (b"\x05", Key::End),
        (b"\x1b[A", Key::Up),
        (b"\x1bOA", Key::Up),
        (b"\x10", Key::Up),
        (b"\x1b[B", Key::Down),
        (b"\x1bOB", Key::Down),
        (b"\x0e", Key::Down),
        (b"\x1b[1;5C", Key::Right),
        (b"\x15", Key::KillStart),
        (b"\x0b", Key::KillEnd),
        (b"\x17", Key::KillWord),
        (b"\x0c", Key::Redraw),
        (b"\x03", Key::Interrupt),
        (b"\x04", Key::EndOfFile),
        (b"\x07", Key::Ignored),
        ("\u{e9}".as_bytes(), Key::Char('\u{e9}')),
        ("\u{20ac}".as_bytes(), Key::Char('\u{20ac}')),
        ("\u{1f600}".as_bytes(), Key::Char('\u{1f600}')),
    ];
    for (bytes, key) in cases {
        assert_eq!(keys(bytes), [*key], "{bytes:?}");
    }
}

#[test]
fn crlf_is_one_enter_and_cr_cr_two() {
    assert_eq!(keys(b"\r\n"), [Key::Enter]);
    assert_eq!(keys(b"\r\r"), [Key::Enter, Key::Enter]);
    assert_eq!(keys(b"\n\n"), [Key::Enter, Key::Enter]);
    assert_eq!(keys(b"\r\na"), [Key::Enter, Key::Char('a')]);
}

#[test]
fn unknown_sequences_are_one_ignored_key() {
    for bytes in [
        &b"\x1b[99~"[..],
        b"\x1b[Z",
        b"\x1b[200~",
        b"\x1b[1;2;3;4;5;6;7;8;9;10;11A",
        b"\x1bOx",
        b"\x1bx",
    ] {
        assert_eq!(keys(bytes), [Key::Ignored], "{bytes:?}");
    }
}

#[test]
fn a_control_byte_breaks_a_sequence_and_counts() {
    assert_eq!(keys(b"\x1b\r"), [Key::Enter]);
    assert_eq!(keys(b"\x1b[1\x03"), [Key::Interrupt]);
    assert_eq!(keys(b"\x1b\x1b[A"), [Key::Up]);
}

#[test]
fn broken_utf8_is_dropped_and_the_next_byte_decodes() {
    assert_eq!(keys(b"\xe2\x82a"), [Key::Char('a')]);
    assert_eq!(
        keys(b"\x80\xffa"),
        [Key::Ignored, Key::Ignored, Key::Char('a')]
    );
    // An encoded C1 control is not a printable char.
    assert_eq!(keys(b"\xc2\x9b"), [Key::Ignored]);
    // A surrogate is not UTF-8.
    assert_eq!(keys(b"\xed\xa0\x80"), [Key::Ignored]);
}

#[test]
fn mid_key_is_known() {
    let mut d = Decoder::new();
    assert!(!d.is_mid_key());
    d.push(0x1b);
    assert!(d.is_mid_key());
    d.push(b'[');
    d.push(b'A');
    assert!(!d.is_mid_key());
    d.push(b'\r');
    assert!(!d.is_mid_key());
}
