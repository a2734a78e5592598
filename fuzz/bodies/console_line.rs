//! Arbitrary bytes as what a terminal sends the console's line editor.
//!
//! Properties: the machine never panics; on a dumb terminal it never
//! writes an ESC byte; on a VT100 the only ESC it writes begins `ESC [ K`;
//! every byte written is printable text, CR, LF, BS or that sequence; a
//! line never exceeds `MAX_LINE` chars; and input is consumed (after each
//! line's end the next `start` goes on with what is queued).

use vigil::console::line::machine::{Action, Input, Machine, MAX_LINE};
use vigil::console::line::{Assist, Completion, Term};

/// Completes and helps with whatever the input says, escape bytes and all.
struct Echo;

impl Assist for Echo {
    fn complete(&self, line: &str) -> Completion {
        let start = line.rfind(' ').map_or(0, |i| i + 1);
        let word = &line[start..];
        Completion {
            start,
            candidates: vec![format!("{word}a\x1b[2J"), format!("{word}b"), line.into()],
        }
    }
    fn help(&self, line: &str) -> Vec<String> {
        vec![line.into(), "\x1b]0;title\x07".into()]
    }
}

fn check_written(bytes: &[u8], term: Term) {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x1b => {
                assert_eq!(term, Term::Vt100, "ESC on a dumb terminal");
                assert_eq!(bytes.get(i + 1..i + 3), Some(&b"[K"[..]));
                i += 3;
                continue;
            }
            b'\r' | b'\n' | 0x08 => {}
            b => assert!(b >= 0x20 && b != 0x7f, "control byte {b:#x} written"),
        }
        i += 1;
    }
    // Whatever is written is whole UTF-8.
    assert!(std::str::from_utf8(bytes).is_ok());
}

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let term = if first & 1 == 0 {
        Term::Dumb
    } else {
        Term::Vt100
    };
    let input = match first >> 1 & 3 {
        0 => Input::Password,
        1 => Input::Text,
        _ => Input::Command,
    };
    let mut m = Machine::new(term);
    m.set_width(usize::from(first >> 3) * 8);
    m.start("vigil> ", input);
    let chunk = 1 + usize::from(first >> 5);
    for piece in rest.chunks(chunk) {
        let mut bytes = piece;
        loop {
            for action in m.handle(bytes, &Echo) {
                match action {
                    Action::Write(b) => check_written(&b, term),
                    Action::Line(line) => assert!(line.chars().count() <= MAX_LINE),
                    Action::Eof | Action::Interrupt => {}
                }
            }
            bytes = &[];
            if m.is_reading() {
                break;
            }
            m.start("vigil> ", input);
        }
        assert!(!m.has_pending());
    }
}
