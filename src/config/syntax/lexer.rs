//! The lexer: one logical line -> words and braces.
//!
//! Owns: comments, quoted strings, the column of each word, the per-word
//! size bound. Must not: build the tree, read files, or know any keyword.
//! It never fails: problems are pushed to [`Diagnostics`] and the lexer
//! carries on, so one run reports every problem.
//!
//! Its input is a [`Line`] made by [`preproc`](super::preproc): the text of
//! one line after conditional lines and parameters, each character with
//! the column it was written at (a character a parameter brought in has
//! the column of the `$` that named it).

use std::sync::Arc;

use super::{Token, MAX_TOKEN_BYTES};
use crate::config::error::{Diagnostics, ErrorKind, Loc};

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

/// One line as the lexer reads it: its characters, each with the 1-based
/// column it came from, on line `line` of its file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Line {
    pub line: u32,
    pub chars: Vec<char>,
    pub cols: Vec<u32>,
}

impl Line {
    /// This line made line `line` of the file as written, `text`:
    /// character `i` is at column `i + 1`. In the buffers it has (a read of
    /// 100,000 lines allocates them once, not twice a line).
    pub fn fill_raw(&mut self, line: u32, text: &str) {
        self.line = line;
        self.chars.clear();
        self.chars.extend(text.chars());
        self.cols.clear();
        self.cols
            .extend((1..=self.chars.len()).map(|c| u32::try_from(c).unwrap_or(u32::MAX)));
    }

    /// This line dropped: empty, at its place, its buffers kept.
    pub fn emptied(mut self) -> Self {
        self.chars.clear();
        self.cols.clear();
        self
    }

    /// The column of character `i`; past the end, one after the last.
    pub fn col(&self, i: usize) -> u32 {
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

/// What [`scan`] finds, by character index.
enum Item {
    Word {
        start: usize,
        text: String,
        quoted: bool,
        /// A quoted word whose closing quote is missing.
        open_quote: bool,
    },
    Open(usize),
    Close(usize),
    /// A comment starts here and runs to the end of the line.
    Comment(usize),
}

/// The one scanner of a line's words, braces and comment. `texts`:
/// whether a word's text is wanted (finding the comment only needs where
/// words end, and the preprocessor asks that of every line).
fn scan(cs: &[char], texts: bool, mut found: impl FnMut(Item)) {
    let mut i = 0;
    while let Some(&c) = cs.get(i) {
        match c {
            c if is_space(c) => i += 1,
            '{' => {
                found(Item::Open(i));
                i += 1;
            }
            '}' => {
                found(Item::Close(i));
                i += 1;
            }
            // A comment only where a word would start.
            '#' | '!' => {
                found(Item::Comment(i));
                return;
            }
            '"' => {
                let start = i;
                i += 1;
                let mut text = String::new();
                let mut closed = false;
                while let Some(&ch) = cs.get(i) {
                    match ch {
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        '\\' if matches!(cs.get(i + 1), Some('"' | '\\')) => {
                            if texts {
                                text.push(cs[i + 1]);
                            }
                            i += 2;
                        }
                        ch => {
                            if texts {
                                text.push(ch);
                            }
                            i += 1;
                        }
                    }
                }
                found(Item::Word {
                    start,
                    text,
                    quoted: true,
                    open_quote: !closed,
                });
            }
            _ => {
                let start = i;
                while cs
                    .get(i)
                    .is_some_and(|&ch| !is_space(ch) && ch != '{' && ch != '}')
                {
                    i += 1;
                }
                found(Item::Word {
                    start,
                    text: if texts {
                        cs[start..i].iter().collect()
                    } else {
                        String::new()
                    },
                    quoted: false,
                    open_quote: false,
                });
            }
        }
    }
}

/// Where the line's comment starts (its length if it has none).
pub(super) fn comment_start(cs: &[char]) -> usize {
    let mut at = cs.len();
    // Most lines have no comment sign at all.
    if !cs.iter().any(|&c| c == '#' || c == '!') {
        return at;
    }
    scan(cs, false, |item| {
        if let Item::Comment(i) = item {
            at = i;
        }
    });
    at
}

/// Lexes one line into `out` (without its end of line).
pub(super) fn lex_line(
    file: &Arc<str>,
    line: &Line,
    out: &mut Vec<Lexeme>,
    diags: &mut Diagnostics,
) {
    let loc_at = |i: usize| Loc::new(file, line.line, line.col(i));
    scan(&line.chars, true, |item| match item {
        Item::Word {
            start,
            text,
            quoted,
            open_quote,
        } => {
            if open_quote {
                diags.error(&loc_at(start), ErrorKind::UnterminatedQuote);
            }
            out.push(word(text, quoted, loc_at(start), diags));
        }
        Item::Open(i) => out.push(Lexeme::Open(loc_at(i))),
        Item::Close(i) => out.push(Lexeme::Close(loc_at(i))),
        Item::Comment(_) => {}
    });
}

/// A word, checked against the size bound. A word that is too long is an
/// error but is kept whole (never truncated), so that the statement keeps
/// its shape for the passes after this one.
fn word(text: String, quoted: bool, loc: Loc, diags: &mut Diagnostics) -> Lexeme {
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
