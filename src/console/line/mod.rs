//! The console's line editor: prompt, editing keys, history, Tab completion
//! and `?` help, on an 80x24 VT100 serial line at 115200 baud and on a
//! terminal that understands nothing (`TERM=dumb`).
//!
//! Owns: the decoding of the keys a terminal sends (`decode`), the edited
//! line and its redraw (`machine`, M: bytes in, actions out), the history
//! (`history`), the candidate list in columns (`columns`), and the tty edge
//! (`tty`, E: raw mode, reads, writes; plain lines when stdin is no tty).
//! Must not: know any command; what completes and what `?` shows comes from
//! the caller's [`Assist`].
//!
//! Output is restricted to printable text, CR, LF, BS and spaces, plus
//! `ESC [ K` (erase to the end of the line) on a VT100; with `TERM=dumb` no
//! ESC byte is ever written. A line longer than the screen scrolls
//! horizontally inside `width - 1` columns, so nothing depends on how the
//! terminal wraps, and the last column is never written.
//!
//! Why not a crate: rustyline (18.0.0, read in its source:
//! `tty/mod.rs` `UNSUPPORTED_TERM = ["dumb", "cons25", "emacs"]`, and
//! `Editor::readline_with`) treats `TERM=dumb` as an unsupported terminal
//! and falls back to `readline_direct`, a cooked-mode `read_line` of stdin
//! with no key handling at all: no Tab completion, no `?`, no history. The
//! issue asks for exactly those with `TERM=dumb`. Its rich mode moves the
//! cursor with `ESC [ n A/B/C/D` and wraps long lines over several rows.
//! reedline and crossterm always emit ANSI sequences. So this is a small
//! editor of our own, with a sans-IO core that the tests drive byte by byte.

pub mod columns;
pub mod decode;
pub mod history;
pub mod machine;
pub mod tty;

pub use machine::{Action, Input, Machine};
pub use tty::Reader;

/// What the terminal can do, from the `TERM` environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// A VT100 or better: `ESC [ K` may be written.
    Vt100,
    /// No escape sequence may be written: `TERM` is `dumb`, `unknown`,
    /// empty or unset.
    Dumb,
}

impl Term {
    /// The terminal a `TERM` value names (`None`: unset).
    pub fn from_term(value: Option<&str>) -> Term {
        match value.map(str::trim) {
            None | Some("" | "dumb" | "unknown") => Term::Dumb,
            Some(_) => Term::Vt100,
        }
    }

    /// The terminal of this process's `TERM`.
    pub fn from_env() -> Term {
        Term::from_term(std::env::var("TERM").ok().as_deref())
    }
}

/// What can come next on a command line; supplied by the command
/// interpreter.
pub trait Assist {
    /// The completions of the word that ends at the cursor; `line` is the
    /// text before the cursor.
    fn complete(&self, line: &str) -> Completion;
    /// The lines `?` prints for the text before the cursor.
    fn help(&self, line: &str) -> Vec<String>;
}

/// The answer to [`Assist::complete`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// Byte offset in `line` where the word being completed starts.
    pub start: usize,
    /// Every word that can stand there, each a whole word (not a suffix).
    pub candidates: Vec<String>,
}

/// An [`Assist`] that knows nothing: no completion, no help.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAssist;

impl Assist for NoAssist {
    fn complete(&self, line: &str) -> Completion {
        Completion {
            start: line.len(),
            candidates: Vec::new(),
        }
    }
    fn help(&self, _line: &str) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
