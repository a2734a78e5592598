//! Keys from the bytes a terminal sends, one byte at a time, so a key split
//! across two reads (an escape sequence, a UTF-8 character, CR LF) decodes
//! the same as in one read.
//!
//! Owns: the byte-to-key table (VT100 / xterm / linux console sequences for
//! the arrows, Home, End, Delete; the control keys) and the rule that an
//! unknown escape sequence is swallowed whole.
//! Must not: edit anything; `machine` gives the keys their meaning.

/// One key, as the editor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character (never a control character).
    Char(char),
    /// CR, LF or CR LF.
    Enter,
    Tab,
    /// DEL (0x7f) or BS (0x08).
    Backspace,
    /// `ESC [ 3 ~`.
    Delete,
    Left,
    Right,
    /// `ESC [ H`, `ESC [ 1 ~`, `ESC [ 7 ~`, `ESC O H`, Ctrl-A.
    Home,
    /// `ESC [ F`, `ESC [ 4 ~`, `ESC [ 8 ~`, `ESC O F`, Ctrl-E.
    End,
    /// Up arrow or Ctrl-P.
    Up,
    /// Down arrow or Ctrl-N.
    Down,
    /// Ctrl-U: delete from the start of the line to the cursor.
    KillStart,
    /// Ctrl-K: delete from the cursor to the end of the line.
    KillEnd,
    /// Ctrl-W: delete the word before the cursor.
    KillWord,
    /// Ctrl-L: draw the line again.
    Redraw,
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D.
    EndOfFile,
    /// Ctrl-B / Ctrl-F are Left / Right; every other control key is this.
    Ignored,
}

const ESC: u8 = 0x1b;
/// Parameter and intermediate bytes kept of one CSI sequence; a longer one
/// is unknown and swallowed up to its final byte.
const CSI_MAX: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum State {
    #[default]
    Ground,
    /// The byte after a CR: an LF there is part of the same Enter.
    AfterCr,
    Esc,
    /// `ESC [` and the bytes after it so far (`None`: too many, unknown).
    Csi(Option<Vec<u8>>),
    /// `ESC O`: one more byte names the key.
    Ss3,
    /// A UTF-8 character: the bytes so far and how many it has.
    Utf8 {
        bytes: [u8; 4],
        have: usize,
        need: usize,
    },
}

/// The byte-at-a-time key decoder.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    state: State,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Whether a key has begun and not ended (an escape sequence or a
    /// UTF-8 character); a pending CR's LF does not count.
    pub fn is_mid_key(&self) -> bool {
        !matches!(self.state, State::Ground | State::AfterCr)
    }

    /// Feeds one byte; returns the key it completes, if any.
    pub fn push(&mut self, byte: u8) -> Option<Key> {
        match std::mem::take(&mut self.state) {
            State::Ground => self.ground(byte),
            State::AfterCr if byte == b'\n' => None,
            State::AfterCr => self.ground(byte),
            State::Esc => self.esc(byte),
            State::Csi(params) => self.csi(params, byte),
            State::Ss3 => self.ss3(byte),
            State::Utf8 { bytes, have, need } => self.utf8(bytes, have, need, byte),
        }
    }

    fn ground(&mut self, byte: u8) -> Option<Key> {
        match byte {
            b'\r' => {
                self.state = State::AfterCr;
                Some(Key::Enter)
            }
            ESC => {
                self.state = State::Esc;
                None
            }
            0x00..=0x1f | 0x7f => Some(control(byte)),
            0x20..=0x7e => Some(Key::Char(char::from(byte))),
            _ => self.utf8_start(byte),
        }
    }

    /// After ESC: `[` and `O` open a sequence; ESC again starts over; a
    /// control byte cancels the ESC and counts as itself; any other byte
    /// (Alt + key) is swallowed with it.
    fn esc(&mut self, byte: u8) -> Option<Key> {
        match byte {
            b'[' => {
                self.state = State::Csi(Some(Vec::new()));
                None
            }
            b'O' => {
                self.state = State::Ss3;
                None
            }
            ESC => {
                self.state = State::Esc;
                None
            }
            0x00..=0x1f => self.ground(byte),
            _ => Some(Key::Ignored),
        }
    }

    fn csi(&mut self, params: Option<Vec<u8>>, byte: u8) -> Option<Key> {
        match byte {
            0x20..=0x3f => {
                let params = params.filter(|p| p.len() < CSI_MAX).map(|mut p| {
                    p.push(byte);
                    p
                });
                self.state = State::Csi(params);
                None
            }
            0x40..=0x7e => Some(params.map_or(Key::Ignored, |p| csi_key(&p, byte))),
            // Anything else breaks the sequence off and counts as itself.
            _ => self.ground(byte),
        }
    }

    fn ss3(&mut self, byte: u8) -> Option<Key> {
        match byte {
            0x40..=0x7e => Some(final_key(byte).unwrap_or(Key::Ignored)),
            _ => self.ground(byte),
        }
    }

    fn utf8_start(&mut self, byte: u8) -> Option<Key> {
        let need = match byte {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            // A stray continuation byte or one no UTF-8 text contains.
            _ => return Some(Key::Ignored),
        };
        let mut bytes = [0; 4];
        bytes[0] = byte;
        self.state = State::Utf8 {
            bytes,
            have: 1,
            need,
        };
        None
    }

    fn utf8(&mut self, mut bytes: [u8; 4], have: usize, need: usize, byte: u8) -> Option<Key> {
        if !(0x80..=0xbf).contains(&byte) {
            // The character was cut short: drop it, decode this byte afresh.
            return self.ground(byte);
        }
        bytes[have] = byte;
        if have + 1 < need {
            self.state = State::Utf8 {
                bytes,
                have: have + 1,
                need,
            };
            return None;
        }
        let c = std::str::from_utf8(&bytes[..need])
            .ok()
            .and_then(|s| s.chars().next());
        Some(match c {
            Some(c) if !c.is_control() => Key::Char(c),
            _ => Key::Ignored,
        })
    }
}

/// The key of a control byte (CR is handled before, for CR LF).
fn control(byte: u8) -> Key {
    match byte {
        0x01 => Key::Home,
        0x02 => Key::Left,
        0x03 => Key::Interrupt,
        0x04 => Key::EndOfFile,
        0x05 => Key::End,
        0x06 => Key::Right,
        0x08 | 0x7f => Key::Backspace,
        0x09 => Key::Tab,
        0x0a => Key::Enter,
        0x0b => Key::KillEnd,
        0x0c => Key::Redraw,
        0x0e => Key::Down,
        0x10 => Key::Up,
        0x15 => Key::KillStart,
        0x17 => Key::KillWord,
        _ => Key::Ignored,
    }
}

/// The key a CSI or SS3 final byte names without parameters.
fn final_key(byte: u8) -> Option<Key> {
    Some(match byte {
        b'A' => Key::Up,
        b'B' => Key::Down,
        b'C' => Key::Right,
        b'D' => Key::Left,
        b'H' => Key::Home,
        b'F' => Key::End,
        _ => return None,
    })
}

/// The key of `ESC [ params final`; modifiers (`1;5C`) are ignored, so
/// Ctrl+Right moves like Right.
fn csi_key(params: &[u8], byte: u8) -> Key {
    if byte == b'~' {
        return match params {
            b"1" | b"7" => Key::Home,
            b"3" => Key::Delete,
            b"4" | b"8" => Key::End,
            _ => Key::Ignored,
        };
    }
    let plain = params.is_empty() || params.starts_with(b"1;");
    match final_key(byte) {
        Some(key) if plain => key,
        _ => Key::Ignored,
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
