//! BIRD's control-socket replies (BIRD's `doc/reply_codes`): lines of a
//! four-digit code then `-` (more follows) or ` ` (the reply's last
//! line), or a space alone continuing the previous code; `+` lines are
//! spontaneous and skipped.
//!
//! Owns: framing those lines into a [`Reply`] within [`REPLY_MAX`] bytes,
//! and reading what vigil needs out of them ([`protocols`]: each
//! protocol's state, a BGP session's state and last error, the routes a
//! channel exports). Must not: do I/O. Every input is outside bytes: a
//! reply that breaks the framing or the bound is an error, never a panic.

use std::fmt;

/// The longest reply read: `show protocols all` with sixteen neighbours
/// is about 20 KB.
pub const REPLY_MAX: usize = 1 << 20;

/// One line of a reply: its code (a continuation takes the code before
/// it) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub code: u16,
    pub text: String,
}

/// A whole reply; `code` is its last line's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<Line>,
}

impl Reply {
    /// 8xxx (a run-time error) and 9xxx (a parse error) are failures, and
    /// so is 0006 (a reconfiguration ignored: BIRD is shutting down).
    pub fn is_error(&self) -> bool {
        self.code >= 8000 || self.code == 6
    }

    /// The last line's text (what an error says).
    pub fn last_text(&self) -> &str {
        self.lines.last().map_or("", |l| l.text.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("BIRD's reply is over {REPLY_MAX} bytes")]
    TooLong,
    #[error("BIRD's reply has a line that is not '<code>-', '<code> ', ' ' or '+': {0:?}")]
    Framing(String),
    #[error("BIRD's reply is not UTF-8")]
    NotText,
}

/// Reads a reply from bytes as they come.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    lines: Vec<Line>,
    size: usize,
}

impl Decoder {
    /// Takes `bytes`; a whole reply once its last line is in. Bytes after
    /// that line stay for the next reply.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Reply>, ReplyError> {
        self.size += bytes.len();
        if self.size > REPLY_MAX {
            return Err(ReplyError::TooLong);
        }
        self.buf.extend_from_slice(bytes);
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.buf.drain(..=end).collect();
            let text = std::str::from_utf8(&raw[..end]).map_err(|_| ReplyError::NotText)?;
            if let Some(code) = self.line(text)? {
                let lines = std::mem::take(&mut self.lines);
                self.size = self.buf.len();
                return Ok(Some(Reply { code, lines }));
            }
        }
        Ok(None)
    }

    /// One line into the reply; `Some(code)` when it was the last.
    fn line(&mut self, text: &str) -> Result<Option<u16>, ReplyError> {
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.starts_with('+') {
            return Ok(None);
        }
        if let Some(rest) = text.strip_prefix(' ') {
            let code = self
                .lines
                .last()
                .map(|l| l.code)
                .ok_or_else(|| framing(text))?;
            self.lines.push(Line {
                code,
                text: rest.to_owned(),
            });
            return Ok(None);
        }
        let (head, rest) = (text.get(..4), text.get(5..).unwrap_or(""));
        let code = head
            .filter(|h| h.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|h| h.parse::<u16>().ok())
            .ok_or_else(|| framing(text))?;
        let last = match text.as_bytes().get(4) {
            Some(b'-') => false,
            Some(b' ') | None => true,
            Some(_) => return Err(framing(text)),
        };
        self.lines.push(Line {
            code,
            text: rest.to_owned(),
        });
        Ok(last.then_some(code))
    }
}

fn framing(text: &str) -> ReplyError {
    ReplyError::Framing(text.chars().take(80).collect())
}

/// One protocol of `show protocols all`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Protocol {
    pub name: String,
    /// `BGP`, `Static`, `BFD`, ...
    pub proto: String,
    /// `up`, `start`, `down`, ...
    pub state: String,
    /// A BGP session's state (`Established`, `Active`, `Connect`, ...).
    pub bgp_state: Option<String>,
    /// What ended the session last, as BIRD says it.
    pub last_error: Option<String>,
    /// Routes its (first) channel exports.
    pub exported: Option<u32>,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.state)
    }
}

/// The protocols of a `show protocols all` reply: a 1002 line opens each
/// (name, protocol, table, state, since, info), the 1006 lines after it
/// tell the rest.
pub fn protocols(r: &Reply) -> Vec<Protocol> {
    let mut out: Vec<Protocol> = Vec::new();
    for l in &r.lines {
        match l.code {
            1002 => {
                let mut w = l.text.split_whitespace();
                let mut next = || w.next().unwrap_or("").to_owned();
                out.push(Protocol {
                    name: next(),
                    proto: next(),
                    state: {
                        let _table = next();
                        next()
                    },
                    ..Protocol::default()
                });
            }
            1006 => {
                if let Some(p) = out.last_mut() {
                    detail(p, l.text.trim());
                }
            }
            _ => {}
        }
    }
    out
}

fn detail(p: &mut Protocol, line: &str) {
    let Some((key, value)) = line.split_once(':') else {
        return;
    };
    let value = value.trim();
    match key.trim() {
        "BGP state" => p.bgp_state = Some(value.to_owned()),
        "Last error" => p.last_error = Some(value.to_owned()),
        "Routes" if p.exported.is_none() => {
            // "1 imported, 2 exported, 1 preferred"
            p.exported = (value.split(',').map(str::trim))
                .find_map(|part| part.strip_suffix(" exported"))
                .and_then(|n| n.trim().parse().ok());
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
