//! The syntax layer of keepalived.conf import: text -> a tree of statements.
//!
//! Owns: reading files (with their size bounds), lexing, the statement tree,
//! and `include` expansion. Must not: know any keyword other than `include`,
//! check values, or stop at the first problem: every problem is pushed to
//! [`Diagnostics`] and what could be read is still returned, so that the
//! parser can report more in the same run.
//!
//! # The syntax we accept
//!
//! - Words are separated by ASCII whitespace (as keepalived's `isspace()`; a
//!   full-width space U+3000 is part of a word). `{` and `}` are always words
//!   of their own, even glued to a word (`80{`, `}}`), except inside quotes.
//! - A `#` or `!` where a word would start (at line start, after whitespace,
//!   right after `{` / `}` or a closing quote) comments out the rest of the
//!   line. A `#` or `!` INSIDE a word is part of the word: `password ab#c`
//!   has the argument `ab#c`. Comments may hold any UTF-8.
//! - `"..."` is one word with `quoted: true` and the quotes removed. The only
//!   escapes are `\"` and `\\`; any other backslash is kept as written
//!   (`"a\n"` is the 4 characters `a\n`). A quoted word ends at its closing
//!   quote (`"a"b` is two words); a `"` inside a bare word is part of it.
//!   A quote must close on its line, else [`ErrorKind::UnterminatedQuote`] at
//!   the opening quote (the word runs to the end of the line).
//! - A statement is a keyword and its arguments up to the end of the line, a
//!   `{` or a `}`. A `{` opens the block of the statement before it on the
//!   same line. A line that starts with `{` opens the block of the statement
//!   on the previous non-blank line if that statement ended at its line end
//!   (`vrrp_instance X` newline `{`). Any other `{` without a keyword is
//!   [`ErrorKind::BlockWithoutKeyword`]; its block is matched but dropped.
//!   Statements may follow a `}` on the same line. A stray `}` is
//!   [`ErrorKind::UnexpectedClose`]. Blocks still open at the end of a file
//!   are each [`ErrorKind::UnclosedBlock`], located at the end of the file
//!   with `opened_at` the `{`; their contents are kept.
//! - No line continuation with a trailing backslash (keepalived has none).
//! - CRLF line ends and a UTF-8 BOM are accepted. Bytes that are not UTF-8
//!   are [`ErrorKind::NotUtf8`] at the first bad byte; the file is then read
//!   with U+FFFD in their place.
//! - `include PATTERN` (one argument, no block) at any nesting level is
//!   replaced by the statements of the files it names, in sorted path order.
//!   See [`include`](self::include) for paths, globs, cycles and depth.
//!
//! # Bounds (never a truncation; each is an error)
//!
//! A word of more than [`MAX_TOKEN_BYTES`] bytes ([`ErrorKind::TokenTooLong`],
//! the word is kept whole); a file of more than [`MAX_FILE_BYTES`]
//! ([`ErrorKind::FileTooLarge`], the file is not read); more than
//! [`MAX_TOTAL_BYTES`] over the main file and all includes
//! ([`ErrorKind::ConfigTooLarge`]; bounds `include` fan-out); blocks nested
//! more than [`MAX_NESTING`] deep ([`ErrorKind::NestedTooDeep`], reported once
//! at the first `{` too deep; everything inside it is matched and dropped);
//! includes nested more than [`MAX_INCLUDE_DEPTH`] deep
//! ([`ErrorKind::IncludeTooDeep`]). With these the tree is at most
//! [`MAX_NESTING`] deep, so recursive walks, `Drop` and `Debug` of a [`Node`]
//! cannot overflow the stack; building it is iterative.

mod include;
mod lexer;
mod preproc;
mod text;
mod tree;

pub use preproc::{ConfigId, MAX_LINE_CHARS, MAX_SUBSTITUTIONS};
pub use text::Text;

use std::path::Path;

use crate::config::bounds::DESTINATIONS_MAX;
use crate::config::error::{Diagnostics, ErrorKind, Loc};

/// The longest word, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// The most bytes read for one configuration, the main file and every
/// included file (each time it is included) together: 256 bytes for each
/// destination of the largest table ([`DESTINATIONS_MAX`]), 25.6 MB. A
/// config at that bound written as `vigil config export` writes it takes
/// under 100 bytes a destination; the rest is room for comments.
pub const MAX_TOTAL_BYTES: u64 = DESTINATIONS_MAX as u64 * 256;
/// The largest file, in bytes: the whole config may be one file. The text
/// of the file being read is the one thing a read holds whole.
pub const MAX_FILE_BYTES: u64 = MAX_TOTAL_BYTES;
/// The deepest nest of blocks `{ ... }`, counted across includes.
pub const MAX_NESTING: usize = 64;
/// The deepest nest of includes: the main file may include a file that
/// includes a file ... up to this many levels.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// One word of the text: a bare word or a quoted string (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: Text,
    pub quoted: bool,
    pub loc: Loc,
}

/// One statement: a keyword, its arguments on the same line, and an optional block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub keyword: Token,
    pub args: Vec<Token>,
    pub block: Option<Block>,
}

impl Node {
    /// Where the statement starts: its keyword.
    pub fn loc(&self) -> &Loc {
        &self.keyword.loc
    }
}

/// A block `{ ... }`: where it opens and closes, and its statements. A block
/// never closed has `close` at the end of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Loc,
    pub close: Loc,
    pub nodes: Vec<Node>,
}

/// Where a read hands each statement of the top level, once it is
/// complete, with the read's diagnostics. A read through a sink holds one
/// top-level block at a time (plus the text of the file being read).
pub type Sink<'d> = &'d mut dyn FnMut(Node, &mut Diagnostics);

/// Read a file (following includes) into statements. Problems go to `diags`;
/// what could be read is still returned so that later passes can report more.
///
/// A main file that cannot be opened or read is [`ErrorKind::Read`] located
/// at `path:1:1` (and nothing is returned). To tell that case apart without
/// matching on the location, use [`read_root`].
pub fn read_file(path: &Path, id: &ConfigId, diags: &mut Diagnostics) -> Vec<Node> {
    match read_root(path, id, diags) {
        Ok(nodes) => nodes,
        Err(e) => {
            let file = include::display(path);
            diags.error(
                &Loc::new(file, 1, 1),
                ErrorKind::Read {
                    path: path.to_owned(),
                    reason: e.to_string(),
                },
            );
            Vec::new()
        }
    }
}

/// [`read_file`], except that a main file that cannot be opened or read is
/// returned as `Err` and pushes nothing (the CLI maps it to its own exit
/// code). Every other problem, including an included file that cannot be
/// read, goes to `diags` as in [`read_file`].
pub fn read_root(
    path: &Path,
    id: &ConfigId,
    diags: &mut Diagnostics,
) -> std::io::Result<Vec<Node>> {
    let mut nodes = Vec::new();
    stream_root(path, id, diags, &mut |n, _| nodes.push(n))?;
    Ok(nodes)
}

/// [`read_root`] through a sink.
pub fn stream_root<'d>(
    path: &Path,
    id: &ConfigId,
    diags: &'d mut Diagnostics,
    sink: Sink<'d>,
) -> std::io::Result<()> {
    include::read_root(path, id, diags, sink)
}

/// The same for text in memory; `name` is what locations print as the file.
/// Relative includes resolve against `base_dir` (None: the current directory).
pub fn read_str(
    name: &str,
    text: &str,
    base_dir: Option<&Path>,
    id: &ConfigId,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    stream_str(name, text, base_dir, id, (diags, &mut |n, _| nodes.push(n)));
    nodes
}

/// [`read_str`] through a sink.
pub fn stream_str<'d>(
    name: &str,
    text: &str,
    base_dir: Option<&Path>,
    id: &ConfigId,
    to: (&'d mut Diagnostics, Sink<'d>),
) {
    include::read_str(name, text, base_dir, id, to);
}

/// The same for bytes read elsewhere (standard input): bounded and decoded
/// as a file's, with `name` as the file in locations. Relative includes
/// resolve against `base_dir` (None: the current directory).
pub fn read_bytes(
    name: &str,
    bytes: Vec<u8>,
    base_dir: Option<&Path>,
    id: &ConfigId,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    stream_bytes(
        name,
        bytes,
        base_dir,
        id,
        (diags, &mut |n, _| nodes.push(n)),
    );
    nodes
}

/// [`read_bytes`] through a sink.
pub fn stream_bytes<'d>(
    name: &str,
    bytes: Vec<u8>,
    base_dir: Option<&Path>,
    id: &ConfigId,
    to: (&'d mut Diagnostics, Sink<'d>),
) {
    include::read_bytes_named(name, bytes, base_dir, id, to);
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
