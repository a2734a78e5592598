//! Reading files and expanding `include`.
//!
//! Owns: file I/O of the syntax layer, the size bounds on files, UTF-8
//! decoding, and `include PATTERN`. Must not: interpret statements other
//! than `include`.
//!
//! # `include`
//!
//! - `include PATTERN` takes exactly one argument and no block; otherwise
//!   [`ErrorKind::MissingArgument`] (at the keyword),
//!   [`ErrorKind::UnexpectedArgument`] (at the second argument) or
//!   [`ErrorKind::UnexpectedBlock`] (at the keyword), and nothing is included.
//! - A relative pattern resolves against the directory of the file holding
//!   the include (for [`read_str`](super::read_str): its `base_dir`, or the
//!   current directory). Tokens of an included file carry that joined path
//!   as their file (`conf.d/a.conf`, not canonicalized), as the user typed it.
//! - A pattern with `*`, `?` or `[` is a glob (POSIX rules: `*` does not
//!   cross `/` nor match a leading `.`; `**` is the glob crate's recursive
//!   wildcard, which keepalived's glob(3) would read as `*`). The directory
//!   of the including file is taken literally, even if it holds `[` or `*`.
//!   Matched directories are skipped;
//!   files are included in sorted path order. No match is the warning
//!   [`WarningKind::IncludeEmpty`]; a malformed glob is
//!   [`ErrorKind::IncludeBadPattern`].
//! - A literal path that does not exist is [`ErrorKind::IncludeMissing`].
//! - An include nested more than [`MAX_INCLUDE_DEPTH`] deep is
//!   [`ErrorKind::IncludeTooDeep`]; a file that is already being read (same
//!   canonical path) is [`ErrorKind::IncludeCycle`] naming the joined path.
//!   Including the same file twice side by side is fine.
//! - Errors about an included file as a whole (the include errors above,
//!   [`ErrorKind::Read`], [`ErrorKind::FileTooLarge`],
//!   [`ErrorKind::ConfigTooLarge`]) are located at the pattern argument of
//!   the `include`; errors inside it at their place in it. For the main file
//!   they are located at `file:1:1`.
//! - Braces do not cross files: an included file's blocks must close in it.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::preproc::{ConfigId, Params};
use super::tree::build;
use super::{Node, Sink, Token, MAX_FILE_BYTES, MAX_INCLUDE_DEPTH, MAX_TOTAL_BYTES};
use crate::config::error::{Diagnostics, ErrorKind, FileName, Loc, WarningKind};

/// The file being built: how its locations print and where its includes
/// resolve.
pub(super) struct Source {
    pub file: FileName,
    pub base_dir: Option<PathBuf>,
    /// 0 for the main file.
    pub include_depth: usize,
    /// Blocks open around this file (it was included inside them).
    pub block_depth: usize,
}

/// State of one read: the diagnostics, where top-level statements go, the
/// files being read and the bytes read so far.
pub(super) struct Reader<'d> {
    pub diags: &'d mut Diagnostics,
    pub sink: Sink<'d>,
    /// Canonical paths of the files being read, outermost first.
    reading: Vec<PathBuf>,
    total: u64,
    /// The parameters defined so far, and the config id.
    pub params: Params,
}

/// How a path prints in locations and messages.
pub(super) fn display(path: &Path) -> FileName {
    FileName::intern(&path.display().to_string())
}

/// Reads at most `MAX_FILE_BYTES + 1` bytes, so a longer file is seen as too
/// large without reading all of it.
fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

pub(super) fn read_root<'d>(
    path: &Path,
    id: &ConfigId,
    diags: &'d mut Diagnostics,
    sink: Sink<'d>,
) -> io::Result<()> {
    let bytes = read_bytes(path)?;
    let file = display(path);
    let mut reader = Reader::new(diags, id, sink);
    if !reader.admit(path, bytes.len(), &Loc::new(file, 1, 1)) {
        return Ok(());
    }
    reader
        .reading
        .push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()));
    let text = reader.decode(file, bytes);
    let src = Source {
        file,
        base_dir: path.parent().map(Path::to_owned),
        include_depth: 0,
        block_depth: 0,
    };
    reader.parse(&text, &src);
    reader.finish();
    Ok(())
}

pub(super) fn read_str<'d>(
    name: &str,
    text: &str,
    base_dir: Option<&Path>,
    id: &ConfigId,
    (diags, sink): (&'d mut Diagnostics, Sink<'d>),
) {
    read_main(name, text.len(), (base_dir, id), (diags, sink), |_, _| {
        Cow::Borrowed(text)
    })
}

/// Bytes read elsewhere (standard input) as the main file `name`: checked
/// against the size bounds and decoded as a file is.
pub(super) fn read_bytes_named<'d>(
    name: &str,
    bytes: Vec<u8>,
    base_dir: Option<&Path>,
    id: &ConfigId,
    (diags, sink): (&'d mut Diagnostics, Sink<'d>),
) {
    read_main(
        name,
        bytes.len(),
        (base_dir, id),
        (diags, sink),
        |reader, file| Cow::Owned(reader.decode(file, bytes)),
    )
}

/// A main file of `len` bytes not read from a path: admitted against the
/// size bounds, then its text (from `text`) parsed as the top level.
fn read_main<'t, 'd>(
    name: &str,
    len: usize,
    (base_dir, id): (Option<&Path>, &ConfigId),
    (diags, sink): (&'d mut Diagnostics, Sink<'d>),
    text: impl FnOnce(&mut Reader<'_>, FileName) -> Cow<'t, str>,
) {
    let file = FileName::intern(name);
    let mut reader = Reader::new(diags, id, sink);
    if !reader.admit(Path::new(name), len, &Loc::new(file, 1, 1)) {
        return;
    }
    let text = text(&mut reader, file);
    let src = Source {
        file,
        base_dir: base_dir.map(Path::to_owned),
        include_depth: 0,
        block_depth: 0,
    };
    reader.parse(&text, &src);
    reader.finish();
}

impl<'d> Reader<'d> {
    fn new(diags: &'d mut Diagnostics, id: &ConfigId, sink: Sink<'d>) -> Self {
        Reader {
            diags,
            sink,
            reading: Vec::new(),
            total: 0,
            params: Params::new(id.clone()),
        }
    }

    /// The end of a read: what only the whole read can tell.
    fn finish(self) {
        self.params.finish(self.diags);
    }
}

impl Reader<'_> {
    fn parse(&mut self, text: &str, src: &Source) -> Vec<Node> {
        self.diags.files.note(src.file);
        build(text, self, src)
    }

    /// Checks a file of `len` bytes against the size bounds and counts it.
    fn admit(&mut self, path: &Path, len: usize, at: &Loc) -> bool {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        if len > MAX_FILE_BYTES {
            self.diags.error(
                at,
                ErrorKind::FileTooLarge {
                    path: path.to_owned(),
                    max: MAX_FILE_BYTES,
                },
            );
            return false;
        }
        if self.total.saturating_add(len) > MAX_TOTAL_BYTES {
            self.diags.error(
                at,
                ErrorKind::ConfigTooLarge {
                    max: MAX_TOTAL_BYTES,
                },
            );
            return false;
        }
        self.total += len;
        true
    }

    /// UTF-8 text of a file; bytes that are not UTF-8 are an error at the
    /// first one and read as U+FFFD.
    fn decode(&mut self, file: FileName, bytes: Vec<u8>) -> String {
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let bytes = e.as_bytes();
                let good = &bytes[..e.utf8_error().valid_up_to()];
                let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let line = u32::try_from(line).unwrap_or(u32::MAX);
                // `good` is valid UTF-8, so this counts its chars.
                let mut before = String::from_utf8_lossy(&good[line_start..]).into_owned();
                if line_start == 0 && before.starts_with('\u{feff}') {
                    before.remove(0);
                }
                let col = before.chars().count() + 1;
                let col = u32::try_from(col).unwrap_or(u32::MAX);
                self.diags
                    .error(&Loc::new(file, line, col), ErrorKind::NotUtf8 { line });
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    /// Expands `include` with `args` found in `src` inside `open_blocks`
    /// blocks of that file: the statements of the files it names.
    pub(super) fn include(
        &mut self,
        keyword: &Token,
        args: &[Token],
        src: &Source,
        open_blocks: usize,
    ) -> Vec<Node> {
        let pattern = match args {
            [pattern] => pattern,
            [] => {
                self.diags.error(
                    &keyword.loc,
                    ErrorKind::MissingArgument {
                        keyword: keyword.text.to_string(),
                        expected: "a file path or glob pattern",
                    },
                );
                return Vec::new();
            }
            [_, extra, ..] => {
                self.diags.error(
                    &extra.loc,
                    ErrorKind::UnexpectedArgument {
                        keyword: keyword.text.to_string(),
                        extra: extra.text.to_string(),
                        expected: "one file path or glob pattern",
                    },
                );
                return Vec::new();
            }
        };
        let at = &pattern.loc;
        if src.include_depth >= MAX_INCLUDE_DEPTH {
            self.diags.error(
                at,
                ErrorKind::IncludeTooDeep {
                    max: MAX_INCLUDE_DEPTH,
                },
            );
            return Vec::new();
        }
        let text = pattern.text.as_str();
        let base = src.base_dir.as_deref().unwrap_or(Path::new(""));
        let paths = if is_glob(text) {
            match self.glob(base, text, at) {
                Some(paths) => paths,
                None => return Vec::new(),
            }
        } else {
            vec![base.join(text)]
        };
        let depths = (src.include_depth + 1, src.block_depth + open_blocks);
        let mut nodes = Vec::new();
        for path in paths {
            nodes.extend(self.include_file(&path, !is_glob(text), text, at, depths));
        }
        nodes
    }

    /// The files a glob pattern names, sorted, or `None` after an error.
    fn glob(&mut self, base: &Path, pattern: &str, at: &Loc) -> Option<Vec<PathBuf>> {
        // The directory of the including file is taken literally.
        let full = if Path::new(pattern).is_absolute() || base.as_os_str().is_empty() {
            pattern.to_owned()
        } else {
            let base = glob::Pattern::escape(&base.to_string_lossy());
            Path::new(&base)
                .join(pattern)
                .to_string_lossy()
                .into_owned()
        };
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let matches = match glob::glob_with(&full, options) {
            Ok(m) => m,
            Err(e) => {
                self.diags.error(
                    at,
                    ErrorKind::IncludeBadPattern {
                        pattern: pattern.to_owned(),
                        reason: e.msg.to_owned(),
                    },
                );
                return None;
            }
        };
        let mut paths = Vec::new();
        for m in matches {
            match m {
                Ok(p) if p.is_dir() => {}
                Ok(p) => paths.push(p),
                Err(e) => self.diags.error(
                    at,
                    ErrorKind::Read {
                        path: e.path().to_owned(),
                        reason: e.error().to_string(),
                    },
                ),
            }
        }
        if paths.is_empty() {
            self.diags.warn(
                at,
                WarningKind::IncludeEmpty {
                    pattern: pattern.to_owned(),
                },
            );
        }
        paths.sort();
        Some(paths)
    }

    /// The statements of one included file at `(include_depth, block_depth)`.
    fn include_file(
        &mut self,
        path: &Path,
        literal: bool,
        pattern: &str,
        at: &Loc,
        (include_depth, block_depth): (usize, usize),
    ) -> Vec<Node> {
        let bytes = match read_bytes(path) {
            Ok(bytes) => bytes,
            Err(e) if literal && e.kind() == io::ErrorKind::NotFound => {
                self.diags.error(
                    at,
                    ErrorKind::IncludeMissing {
                        pattern: pattern.to_owned(),
                    },
                );
                return Vec::new();
            }
            Err(e) => {
                self.diags.error(
                    at,
                    ErrorKind::Read {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    },
                );
                return Vec::new();
            }
        };
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        if self.reading.contains(&canonical) {
            self.diags.error(
                at,
                ErrorKind::IncludeCycle {
                    path: path.to_owned(),
                },
            );
            return Vec::new();
        }
        if !self.admit(path, bytes.len(), at) {
            return Vec::new();
        }
        let file = display(path);
        let text = self.decode(file, bytes);
        let src = Source {
            file,
            base_dir: path.parent().map(Path::to_owned),
            include_depth,
            block_depth,
        };
        self.reading.push(canonical);
        let nodes = self.parse(&text, &src);
        self.reading.pop();
        nodes
    }
}
