//! The lexer: one logical line -> words and braces.
//!
//! Owns: comments, quoted strings, the column of each word, the per-word
//! size bound. Must not: build the tree, read files, or know any keyword.
//! It never fails: problems are pushed to [`Diagnostics`] and the lexer
//! carries on, so one run reports every problem.
//!
//! Its input is a [`Line`] made by [`preproc`](super::preproc): the text of
//! one line after conditional lines and parameters, each character at the
//! column it was written at (a character a parameter brought in is at the
//! column of the `$` that named it). The lexer walks the text's bytes
//! (every sign it looks for is ASCII); a column is counted, in characters,
//! only for a word or a brace it locates, and a word's text goes into its
//! token without an allocation when it is short ([`Text`]).

use super::{Text, Token, MAX_TOKEN_BYTES};
use crate::config::error::{Diagnostics, ErrorKind, FileName, Loc};

/// One lexical item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Lexeme {
    Word(Token),
    /// `{`, at its place.
    Open(Loc),
    /// `}`, at its place.
    Close(Loc),
    /// The end of a line: statements end here.
    Eol,
}

/// One line as the lexer reads it: its text, on line `line` of its
/// file, and where each byte of it was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Line {
    pub line: u32,
    pub text: String,
    /// The column of each byte of `text`, once the line is no longer the
    /// file's text as written (a prefix dropped, a parameter brought in).
    /// Empty: byte `i` is at the column of the character it is part of,
    /// counted from 1 (no column is counted until one is asked for).
    cols: Vec<u32>,
    /// `text` is as written and ASCII: byte `i` is at column `i + 1`.
    ascii: bool,
}

fn col_of(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX).saturating_add(1)
}

impl Line {
    /// This line made line `line` of the file as written, `text` (which
    /// the caller has seen to be `ascii` or not). In the buffers it has (a
    /// read of 100,000 lines allocates them once, not once a line).
    pub fn fill_raw(&mut self, line: u32, text: &str, ascii: bool) {
        self.line = line;
        self.text.clear();
        self.text.push_str(text);
        self.cols.clear();
        self.ascii = ascii;
    }

    /// A line a multi-line parameter brought in: every character at `col`.
    pub fn brought(line: u32, text: &str, col: u32) -> Self {
        Line {
            line,
            text: text.to_owned(),
            cols: vec![col; text.len()],
            ascii: false,
        }
    }

    /// This line dropped: empty, at its place, its buffers kept.
    pub fn emptied(mut self) -> Self {
        self.text.clear();
        self.cols.clear();
        self.ascii = true;
        self
    }

    /// The line cut at byte `at` (a character boundary).
    pub fn truncate(&mut self, at: usize) {
        self.text.truncate(at);
        self.cols.truncate(at);
    }

    /// Replaces bytes `range` with `with`, whose characters are at column
    /// `col`.
    pub fn replace(&mut self, range: std::ops::Range<usize>, with: &str, col: u32) {
        if self.cols.is_empty() && !self.text.is_empty() {
            // Each byte's column, now that they are about to move.
            for (n, c) in self.text.chars().enumerate() {
                self.cols
                    .extend(std::iter::repeat_n(col_of(n), c.len_utf8()));
            }
        }
        self.text.replace_range(range.clone(), with);
        self.cols
            .splice(range, std::iter::repeat_n(col, with.len()));
        self.ascii = false;
    }

    /// The column of byte `i` (a character boundary); past the end, one
    /// after the last character.
    pub fn col(&self, i: usize) -> u32 {
        if self.ascii {
            return col_of(i.min(self.text.len()));
        }
        if self.cols.is_empty() {
            let head = self.text.get(..i).unwrap_or(&self.text);
            return col_of(head.chars().count());
        }
        match self.cols.get(i) {
            Some(&c) => c,
            None => self.cols.last().map_or(1, |c| c.saturating_add(1)),
        }
    }
}

/// keepalived splits words with `isspace()`: ASCII whitespace only. A
/// full-width space (U+3000) is therefore part of a word, as in keepalived.
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// [`is_space`] of one byte of UTF-8 text (no byte of a multi-byte
/// character is ASCII, so bytes can be tested one by one).
pub(super) fn is_space_byte(b: u8) -> bool {
    BYTE[usize::from(b)] == SPACE
}

/// A table of what each byte is to a scan over a config's bytes (every
/// byte of a config passes through one): `class` for each byte of each
/// `(bytes, class)`, `beyond_ascii` for every byte of 0x80 and above, 0
/// for the rest.
pub(super) const fn byte_classes(marks: &[(&[u8], u8)], beyond_ascii: u8) -> [u8; 256] {
    let mut t = [0; 256];
    let mut b = 0x80;
    while b < 256 {
        t[b] = beyond_ascii;
        b += 1;
    }
    let mut m = 0;
    while m < marks.len() {
        let (bytes, class) = marks[m];
        let mut i = 0;
        while i < bytes.len() {
            t[bytes[i] as usize] = class;
            i += 1;
        }
        m += 1;
    }
    t
}

/// What a byte is to [`scan`]: a space, a brace, or (0) part of a word
/// (a comment's sign or a quote is that too, except where a word starts).
const SPACE: u8 = 1;
const BRACE: u8 = 2;
const BYTE: [u8; 256] = byte_classes(&[(b" \t\r\x0b\x0c", SPACE), (b"{}", BRACE)], 0);

/// What [`scan`] finds, by byte index.
enum Item {
    Word {
        start: usize,
        /// The word's text as written: inside the quotes for a quoted one.
        body: std::ops::Range<usize>,
        quoted: bool,
        /// A quoted word that holds `\"` or `\\`.
        escaped: bool,
        /// A quoted word whose closing quote is missing.
        open_quote: bool,
    },
    Open(usize),
    Close(usize),
    /// A comment starts here and runs to the end of the line.
    Comment(usize),
}

/// The one scanner of a line's words, braces and comment. Every sign it
/// looks for is ASCII, so it walks bytes.
fn scan(text: &str, mut found: impl FnMut(Item)) {
    let cs = text.as_bytes();
    let mut i = 0;
    while let Some(&c) = cs.get(i) {
        match c {
            c if is_space_byte(c) => i += 1,
            b'{' => {
                found(Item::Open(i));
                i += 1;
            }
            b'}' => {
                found(Item::Close(i));
                i += 1;
            }
            // A comment only where a word would start.
            b'#' | b'!' => {
                found(Item::Comment(i));
                return;
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut escaped = false;
                let mut closed = false;
                while let Some(&ch) = cs.get(i) {
                    match ch {
                        b'"' => {
                            closed = true;
                            break;
                        }
                        b'\\' if matches!(cs.get(i + 1), Some(b'"' | b'\\')) => {
                            escaped = true;
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                found(Item::Word {
                    start,
                    body: start + 1..i,
                    quoted: true,
                    escaped,
                    open_quote: !closed,
                });
                i += usize::from(closed);
            }
            _ => {
                let start = i;
                i += cs[i..]
                    .iter()
                    .position(|&ch| BYTE[usize::from(ch)] != 0)
                    .unwrap_or(cs.len() - i);
                found(Item::Word {
                    start,
                    body: start..i,
                    quoted: false,
                    escaped: false,
                    open_quote: false,
                });
            }
        }
    }
}

/// Where the line's comment starts, in bytes (its length if it has none).
pub(super) fn comment_start(text: &str) -> usize {
    let mut at = text.len();
    // Most lines have no comment sign at all.
    if !text.bytes().any(|c| c == b'#' || c == b'!') {
        return at;
    }
    scan(text, |item| {
        if let Item::Comment(i) = item {
            at = i;
        }
    });
    at
}

/// The text of a quoted word with its escapes (`\"`, `\\`) resolved.
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.clone().next() {
                Some(n @ ('"' | '\\')) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where [`lex_line`] puts what it finds, as it finds it: the tree
/// builder takes each lexeme at once (no list of a line's lexemes in
/// between), and the problems go to its diagnostics.
pub(super) trait Lexemes {
    fn lexeme(&mut self, lexeme: Lexeme);
    fn diags(&mut self) -> &mut Diagnostics;
}

/// Lexes one line into `out`, its end of line last.
pub(super) fn lex_line(file: FileName, line: &Line, out: &mut impl Lexemes) {
    let loc_at = |i: usize| Loc::new(file, line.line, line.col(i));
    scan(&line.text, |item| match item {
        Item::Word {
            start,
            body,
            quoted,
            escaped,
            open_quote,
        } => {
            if open_quote {
                out.diags()
                    .error(&loc_at(start), ErrorKind::UnterminatedQuote);
            }
            let body = &line.text[body];
            let text = if escaped {
                Text::from(unescape(body))
            } else {
                Text::new(body)
            };
            let word = word(text, quoted, loc_at(start), out.diags());
            out.lexeme(word);
        }
        Item::Open(i) => out.lexeme(Lexeme::Open(loc_at(i))),
        Item::Close(i) => out.lexeme(Lexeme::Close(loc_at(i))),
        Item::Comment(_) => {}
    });
    out.lexeme(Lexeme::Eol);
}

/// A word, checked against the size bound. A word that is too long is an
/// error but is kept whole (never truncated), so that the statement keeps
/// its shape for the passes after this one.
fn word(text: Text, quoted: bool, loc: Loc, diags: &mut Diagnostics) -> Lexeme {
    if text.len() > MAX_TOKEN_BYTES {
        diags.error(
            &loc,
            ErrorKind::TokenTooLong {
                max: MAX_TOKEN_BYTES,
            },
        );
    }
    Lexeme::Word(Token { text, quoted, loc })
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
