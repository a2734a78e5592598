//! The line layer keepalived runs before it splits words: conditional lines
//! (`@ID`, `@^ID`) and parameters (`$NAME=VALUE`, `$NAME`, `${NAME}`).
//!
//! Owns: splitting a file into lines (a UTF-8 BOM and CRLF line ends
//! accepted), keeping or dropping `@` lines for the [`ConfigId`], parameter
//! definitions (one line, or several joined by a trailing `\`) and their
//! substitution, with the column each character was written at (a line
//! is its text and byte offsets; see [`Line`]). Must not:
//! split words (the [`lexer`](super::lexer) does, on what this yields),
//! know any keyword, or read files.
//!
//! # keepalived's rules, as vigil reads them
//!
//! - A line whose first word (after any whitespace) is `@ID` is kept, with
//!   `@ID` and the whitespace after it removed, when `ID` is the config id;
//!   `@^ID` keeps it when `ID` is NOT the config id. A line that is only
//!   `@ID` is dropped. The config id is `--config-id`, else the host name up
//!   to its first `.` ([`ConfigId::of_host`]).
//! - A line (after its `@ID`, if kept) that starts with `$NAME=` defines
//!   `NAME` (`[A-Za-z_][A-Za-z0-9_]*`, no space before `=`): the value is
//!   the rest of the line without its comment, trimmed; it may be empty. A
//!   later definition replaces an earlier one. Definitions hold across files
//!   from where they are read on (an included file's definitions hold after
//!   its `include`).
//! - A value that ends with `\` continues on the next lines, each ending in
//!   `\` but the last; a line empty once its comment is gone ends it too.
//!   Such a multi-line parameter may only be named at the end of a line: its
//!   first line takes the place of the name, its other lines follow as lines
//!   of their own.
//! - `$NAME` followed by whitespace, `,`, `)` or the end of the line, and
//!   `${NAME}` anywhere, are replaced by the value when the line is read
//!   (not when it was defined), and the result is read again, so values may
//!   name parameters; inside quotes too, not in comments. `${_INSTANCE}` is
//!   the config id, `${_PWD}` the directory of the file being read.
//! - Where keepalived would leave a name it does not know as written, vigil
//!   does the same only in a config that defines no parameter (a `$` in a
//!   script keeps working); once one is defined, a name not defined at its
//!   use is an error at the `$` (a warning with `--lenient`, the text kept).
//! - A character a parameter brought in is located at the `$` that named
//!   it, so every error points into the text as written.
//! - Not supported (an error naming them): `~SEQ(...)` lines and
//!   `${_RANDOM}`.
//!
//! # Bounds
//!
//! A line longer than [`MAX_LINE_CHARS`] after substitution, or more than
//! [`MAX_SUBSTITUTIONS`] substitutions on one line (a parameter that names
//! itself), is [`ErrorKind::ParameterLoop`] and the line is dropped; all
//! substitutions of one read bring in at most [`MAX_TOTAL_BYTES`]
//! characters ([`ErrorKind::ConfigTooLarge`] at the `$`).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use super::lexer::{byte_classes, comment_start, is_space, is_space_byte, Line};
use super::MAX_TOTAL_BYTES;
use crate::config::error::{Diagnostics, ErrorKind, FileName, Loc, WarningKind};

/// The longest line after substitution, in characters.
pub const MAX_LINE_CHARS: usize = 64 * 1024;
/// The most substitutions on one line.
pub const MAX_SUBSTITUTIONS: usize = 1024;

/// Which box of a pair a config is read for: the word `@ID` lines are
/// matched against (keepalived's `--config-id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigId(Arc<str>);

impl ConfigId {
    pub fn new(id: &str) -> Self {
        ConfigId(Arc::from(id))
    }

    /// keepalived's default: this host's name up to its first `.` (from
    /// `/proc/sys/kernel/hostname`, else `gethostname`); empty if it has none.
    pub fn of_host() -> Self {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| {
                nix::unistd::gethostname()
                    .ok()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_default();
        let name = name.trim();
        ConfigId::new(name.split('.').next().unwrap_or_default())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConfigId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parameter's value: one line, or the lines of a multi-line one.
#[derive(Debug, Clone)]
struct Value {
    lines: Vec<String>,
    multiline: bool,
}

/// The parameters of one read, shared by every file of it.
#[derive(Debug)]
pub(super) struct Params {
    config_id: ConfigId,
    defs: HashMap<String, Value>,
    /// Names used before they were defined, and where.
    undefined: Vec<(Loc, String)>,
    /// Characters brought in by substitution so far.
    brought: usize,
}

impl Params {
    pub fn new(config_id: ConfigId) -> Self {
        Params {
            config_id,
            defs: HashMap::new(),
            undefined: Vec::new(),
            brought: 0,
        }
    }

    /// At the end of a read: names used but not defined are errors (or,
    /// `--lenient`, warnings) once the config defines any parameter.
    pub fn finish(self, diags: &mut Diagnostics) {
        if self.defs.is_empty() {
            return;
        }
        let mut undefined = self.undefined;
        undefined.sort();
        undefined.dedup();
        for (loc, name) in undefined {
            if diags.lenient {
                diags.warn(&loc, WarningKind::UndefinedParameter { name });
            } else {
                diags.error(&loc, ErrorKind::UndefinedParameter { name });
            }
        }
    }

    /// The value of a built-in name, if `name` is one.
    fn builtin(&self, name: &str, dir: Option<&Path>) -> Option<Value> {
        let text = match name {
            "_INSTANCE" => self.config_id.as_str().to_owned(),
            "_PWD" => dir
                .map(Path::to_owned)
                .or_else(|| std::env::current_dir().ok())
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            _ => return None,
        };
        Some(Value {
            lines: vec![text],
            multiline: false,
        })
    }
}

/// A multi-line definition being read.
struct Collecting {
    name: String,
    lines: Vec<String>,
}

/// The lines of one file, as the lexer is to read them.
pub(super) struct Lines<'t> {
    file: FileName,
    dir: Option<&'t Path>,
    raw: RawLines<'t>,
    /// Lines a multi-line parameter brought in, next first.
    pending: VecDeque<Line>,
    collecting: Option<Collecting>,
    /// The last line of the file read so far, and its number.
    last: (u32, &'t str),
    /// A line lexed and handed back ([`Lines::recycle`]): its buffers take
    /// the next line of the file.
    spare: Option<Line>,
}

/// What one byte of a file tells the line splitter ([`RawLines`]): the end
/// of a line, a sign this layer acts on (a comment's `#` or `!`, a
/// conditional's `@`, a parameter's `$`, the `~` of `~SEQ`: a line with
/// none of them is left as it is), or a byte of a character beyond ASCII.
/// One table, so that the one pass that finds a line's end also learns
/// the rest.
const NEWLINE: u8 = 1;
const LAYER_SIGN: u8 = 2;
const NOT_ASCII: u8 = 4;
const CLASS: [u8; 256] = byte_classes(&[(b"\n", NEWLINE), (b"#!@$~", LAYER_SIGN)], NOT_ASCII);

/// One line of a file as written, with what [`CLASS`] found in it.
struct RawLine<'t> {
    n: usize,
    text: &'t str,
    /// [`LAYER_SIGN`] and [`NOT_ASCII`], each if some byte is one.
    seen: u8,
}

/// A file's lines as written, numbered from 0, split at `\n` as
/// `str::split` would. A loop over bytes: lines are short, and a search
/// that suits long texts cost a tenth of a read.
struct RawLines<'t> {
    rest: Option<&'t str>,
    n: usize,
}

impl<'t> Iterator for RawLines<'t> {
    type Item = RawLine<'t>;

    fn next(&mut self) -> Option<RawLine<'t>> {
        let rest = self.rest?;
        let mut seen = 0;
        let mut end = None;
        for (i, &b) in rest.as_bytes().iter().enumerate() {
            let class = CLASS[usize::from(b)];
            if class == NEWLINE {
                end = Some(i);
                break;
            }
            seen |= class;
        }
        let (text, after) = match end {
            Some(end) => (&rest[..end], Some(&rest[end + 1..])),
            None => (rest, None),
        };
        self.rest = after;
        self.n += 1;
        Some(RawLine {
            n: self.n - 1,
            text,
            seen,
        })
    }
}

/// `$NAME=` at the start of `s`: the name and the byte index after `=`.
fn definition(s: &str) -> Option<(&str, usize)> {
    let rest = s.strip_prefix('$')?;
    let len = name_len(rest.as_bytes());
    (len > 0 && rest.as_bytes().get(len) == Some(&b'=')).then(|| (&rest[..len], len + 2))
}

/// The length of the parameter name at the start of `bs` (0: none).
fn name_len(bs: &[u8]) -> usize {
    match bs.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            1 + bs[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count()
        }
        _ => 0,
    }
}

/// A reference at byte `i` of `s` (a `$`): the name and the index after it.
fn reference(s: &str, i: usize) -> Option<(String, usize)> {
    let rest = &s.as_bytes()[i + 1..];
    if rest.first() == Some(&b'{') {
        let len = name_len(&rest[1..]);
        return (len > 0 && rest.get(len + 1) == Some(&b'}'))
            .then(|| (s[i + 2..i + 2 + len].to_owned(), i + len + 3));
    }
    let len = name_len(rest);
    let ends = match rest.get(len) {
        None => true,
        Some(&c) => is_space_byte(c) || c == b',' || c == b')',
    };
    (len > 0 && ends).then(|| (s[i + 1..i + 1 + len].to_owned(), i + 1 + len))
}

fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

fn first_word_at(line: &Line) -> usize {
    line.text
        .bytes()
        .position(|c| !is_space_byte(c))
        .unwrap_or(line.text.len())
}

impl<'t> Lines<'t> {
    pub fn new(file: FileName, text: &'t str, dir: Option<&'t Path>) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Lines {
            file,
            dir,
            raw: RawLines {
                rest: Some(text),
                n: 0,
            },
            pending: VecDeque::new(),
            collecting: None,
            last: (1, ""),
            spare: None,
        }
    }

    /// The place just after the file's last character.
    pub fn eof(&self) -> Loc {
        let chars = u32::try_from(self.last.1.chars().count()).unwrap_or(u32::MAX);
        Loc::new(self.file, self.last.0, chars.saturating_add(1))
    }

    fn loc(&self, line: &Line, i: usize) -> Loc {
        Loc::new(self.file, line.line, line.col(i))
    }

    /// The next line to lex (possibly empty: a dropped line), or `None` at
    /// the end of the file.
    pub fn next(&mut self, params: &mut Params, diags: &mut Diagnostics) -> Option<Line> {
        let (line, plain) = match self.pending.pop_front() {
            Some(line) => (line, false),
            None => {
                let raw = self.raw.next()?;
                let text = raw.text.strip_suffix('\r').unwrap_or(raw.text);
                let mut line = self.spare.take().unwrap_or_default();
                let n = u32::try_from(raw.n + 1).unwrap_or(u32::MAX);
                line.fill_raw(n, text, raw.seen & NOT_ASCII == 0);
                self.last = (line.line, text);
                (line, raw.seen & LAYER_SIGN == 0)
            }
        };
        if self.collecting.is_some() {
            self.collect(&line, params);
            return Some(line.emptied());
        }
        // Most lines have nothing for this layer.
        if plain {
            return Some(line);
        }
        Some(self.process(line, params, diags))
    }

    /// Hands a line [`Lines::next`] gave back once lexed: the next line
    /// of the file is read into its buffers.
    pub fn recycle(&mut self, line: Line) {
        self.spare = Some(line);
    }

    /// One more line of a multi-line definition.
    fn collect(&mut self, line: &Line, params: &mut Params) {
        let text = trim(&line.text[..comment_start(&line.text)]);
        let Some(c) = self.collecting.as_mut() else {
            return;
        };
        let (text, more) = match text.strip_suffix('\\') {
            Some(head) => (trim(head), true),
            None => (text, false),
        };
        if !text.is_empty() {
            c.lines.push(text.to_owned());
        }
        // A line without a trailing `\` is the last; an empty one ends it.
        if !more {
            self.end_collecting(params);
        }
    }

    fn end_collecting(&mut self, params: &mut Params) {
        if let Some(c) = self.collecting.take() {
            let multiline = c.lines.len() > 1;
            let lines = if c.lines.is_empty() {
                vec![String::new()]
            } else {
                c.lines
            };
            params.defs.insert(c.name, Value { lines, multiline });
        }
    }

    /// A line after its `@ID`, definition and substitutions.
    fn process(&mut self, mut line: Line, params: &mut Params, diags: &mut Diagnostics) -> Line {
        // A line a parameter brought in: its signs not looked for yet.
        if !line
            .text
            .bytes()
            .any(|b| CLASS[usize::from(b)] == LAYER_SIGN)
        {
            return line;
        }
        let cut = comment_start(&line.text);
        line.truncate(cut);
        let mut rounds = 0;
        loop {
            if !self.conditional(&mut line, params) {
                return line.emptied();
            }
            let start = first_word_at(&line);
            if let Some((name, after)) = definition(&line.text[start..]) {
                let name = name.to_owned();
                self.define(name, &line.text[start + after..], params);
                return line.emptied();
            }
            if line.text[start..].starts_with("~SEQ") {
                diags.not_in_vigil(&self.loc(&line, start), "~SEQ", "a config line");
                return line.emptied();
            }
            match self.substitute(&mut line, params, diags, &mut rounds) {
                Err(()) => return line.emptied(),
                Ok(false) => return line,
                // Something was brought in: it may have made an `@ID` line
                // or a definition; read it again.
                Ok(true) => {
                    let start = first_word_at(&line);
                    let again = line.text.as_bytes().get(start) == Some(&b'@')
                        || definition(&line.text[start..]).is_some();
                    if !again {
                        return line;
                    }
                }
            }
        }
    }

    /// Applies an `@ID` / `@^ID` prefix: whether the line is kept (without
    /// its prefix).
    fn conditional(&self, line: &mut Line, params: &Params) -> bool {
        let start = first_word_at(line);
        let bytes = line.text.as_bytes();
        if bytes.get(start) != Some(&b'@') {
            return true;
        }
        let negate = bytes.get(start + 1) == Some(&b'^');
        let id_start = start + 1 + usize::from(negate);
        let Some(id_len) = bytes[id_start..].iter().position(|&c| is_space_byte(c)) else {
            // Nothing after the id: nothing to keep.
            return false;
        };
        let id = &line.text[id_start..id_start + id_len];
        if (id == params.config_id.as_str()) == negate {
            return false;
        }
        let rest = id_start + id_len;
        let rest = rest
            + bytes[rest..]
                .iter()
                .take_while(|&&c| is_space_byte(c))
                .count();
        line.replace(0..rest, "", 0);
        true
    }

    fn define(&mut self, name: String, value: &str, params: &mut Params) {
        let value = trim(value);
        match value.strip_suffix('\\') {
            Some(head) => {
                let first = trim(head);
                self.collecting = Some(Collecting {
                    name,
                    lines: if first.is_empty() {
                        Vec::new()
                    } else {
                        vec![first.to_owned()]
                    },
                });
            }
            None => {
                params.defs.insert(
                    name,
                    Value {
                        lines: vec![value.to_owned()],
                        multiline: false,
                    },
                );
            }
        }
    }

    /// Replaces every parameter named on the line, again and again until
    /// none is left. `Ok(true)`: something was replaced; `Err`: a bound was
    /// hit (reported) and the line is to be dropped.
    fn substitute(
        &mut self,
        line: &mut Line,
        params: &mut Params,
        diags: &mut Diagnostics,
        rounds: &mut usize,
    ) -> Result<bool, ()> {
        let mut replaced = false;
        let mut i = 0;
        while let Some(found) =
            (line.text.as_bytes().get(i..)).and_then(|rest| rest.iter().position(|&b| b == b'$'))
        {
            i += found;
            let Some((name, end)) = reference(&line.text, i) else {
                i += 1;
                continue;
            };
            let at = self.loc(line, i);
            if name == "_RANDOM" {
                diags.not_in_vigil(&at, "${_RANDOM}", "parameter substitution");
                i = end;
                continue;
            }
            let value = params
                .builtin(&name, self.dir)
                .or_else(|| params.defs.get(&name).cloned());
            let Some(value) = value else {
                params.undefined.push((at, name));
                i = end;
                continue;
            };
            if value.multiline && end != line.text.len() {
                diags.error(&at, ErrorKind::MultilineParameterInLine { name });
                i = end;
                continue;
            }
            *rounds += 1;
            let brought: usize = value.lines.iter().map(|l| l.chars().count()).sum();
            params.brought = params.brought.saturating_add(brought);
            if params.brought as u64 > MAX_TOTAL_BYTES {
                diags.error(
                    &at,
                    ErrorKind::ConfigTooLarge {
                        max: MAX_TOTAL_BYTES,
                    },
                );
                return Err(());
            }
            let col = line.col(i);
            let first = value.lines.first().map_or("", String::as_str);
            line.replace(i..end, first, col);
            for more in value.lines[1..].iter().rev() {
                self.pending.push_front(Line::brought(line.line, more, col));
            }
            let too_long =
                line.text.len() > MAX_LINE_CHARS && line.text.chars().count() > MAX_LINE_CHARS;
            if *rounds > MAX_SUBSTITUTIONS || too_long {
                diags.error(
                    &at,
                    ErrorKind::ParameterLoop {
                        name,
                        max_chars: MAX_LINE_CHARS,
                        max_substitutions: MAX_SUBSTITUTIONS,
                    },
                );
                return Err(());
            }
            replaced = true;
        }
        Ok(replaced)
    }
}

#[cfg(test)]
#[path = "preproc_tests.rs"]
mod tests;
