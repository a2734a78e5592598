//! The lexer: one file's text -> words, braces and ends of lines.
//!
//! Owns: splitting lines, comments, quoted strings, column counting, the
//! per-word size bound. Must not: build the tree, read files, or know any
//! keyword. It never fails: problems are pushed to [`Diagnostics`] and the
//! lexer carries on, so one run reports every problem.

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

/// A lexed file: its items and the place just after its last character.
#[derive(Debug)]
pub(super) struct Lexed {
    pub lexemes: Vec<Lexeme>,
    pub eof: Loc,
}

/// keepalived splits words with `isspace()`: ASCII whitespace only. A
/// full-width space (U+3000) is therefore part of a word, as in keepalived.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// Lexes `text` (a leading UTF-8 BOM and CRLF line ends are accepted) whose
/// locations print as `file`.
pub(super) fn lex(file: &Arc<str>, text: &str, diags: &mut Diagnostics) -> Lexed {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lexemes = Vec::new();
    let mut line_no: u32 = 0;
    let mut last_len: u32 = 0;
    for raw in text.split('\n') {
        line_no = line_no.saturating_add(1);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        last_len = lex_line(file, line_no, line, &mut lexemes, diags);
        lexemes.push(Lexeme::Eol);
    }
    Lexed {
        lexemes,
        eof: Loc::new(file, line_no, last_len.saturating_add(1)),
    }
}

/// Lexes one line (without its line end); returns its length in chars.
fn lex_line(
    file: &Arc<str>,
    line_no: u32,
    line: &str,
    out: &mut Vec<Lexeme>,
    diags: &mut Diagnostics,
) -> u32 {
    let cs: Vec<char> = line.chars().collect();
    let loc_at = |i: usize| Loc::new(file, line_no, u32::try_from(i + 1).unwrap_or(u32::MAX));
    let mut i = 0;
    while let Some(&c) = cs.get(i) {
        match c {
            c if is_space(c) => i += 1,
            '{' => {
                out.push(Lexeme::Open(loc_at(i)));
                i += 1;
            }
            '}' => {
                out.push(Lexeme::Close(loc_at(i)));
                i += 1;
            }
            // A comment only where a word would start.
            '#' | '!' => break,
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
                            text.push(cs[i + 1]);
                            i += 2;
                        }
                        ch => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    diags.error(&loc_at(start), ErrorKind::UnterminatedQuote);
                }
                out.push(word(text, true, loc_at(start), diags));
            }
            _ => {
                let start = i;
                while cs
                    .get(i)
                    .is_some_and(|&ch| !is_space(ch) && ch != '{' && ch != '}')
                {
                    i += 1;
                }
                let text: String = cs[start..i].iter().collect();
                out.push(word(text, false, loc_at(start), diags));
            }
        }
    }
    u32::try_from(cs.len()).unwrap_or(u32::MAX)
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
