//! HTTP/1.x response parsing for HTTP_GET, SSL_GET and WS_CHECK: pure
//! functions over bytes, fuzzed (`fuzz/fuzz_targets/health_http_parse.rs`).
//!
//! Owns: the request bytes ([`get_request`]), the response head
//! ([`parse_head`] -> [`Head`]), body framing ([`Framing`]) and the
//! incremental [`ResponseReader`] that feeds decoded body bytes to a sink
//! (the MD5 of a `digest` check) without keeping them.
//! Must not: do I/O, allocate without a bound, or panic on any input: the
//! head is at most [`HEAD_MAX`] bytes and [`HEADERS_MAX`] fields, the body
//! at most the reader's cap.
//!
//! What is supported (RFC 9112): status line `HTTP/1.0` or `HTTP/1.1`, a
//! three-digit code and any reason; header fields `name: value` with
//! token names (obsolete line folding is refused, section 5.2); CRLF or
//! bare LF line ends (section 2.2 allows a recipient to accept LF). Body
//! framing (section 6.3): none for 1xx/204/304; `Transfer-Encoding` whose
//! final coding is `chunked` (chunk extensions skipped, trailers read and
//! dropped); other transfer codings and no `Content-Length`: until close;
//! `Content-Length` (identical repeats allowed, differing ones refused).
//! The checks send HTTP/1.0 by default (`http_protocol 1.1` sends
//! HTTP/1.1 with `Connection: close`), so a conforming server mostly does
//! not chunk; the decoder is there for those that do, so a `digest` is
//! always over the entity body, as keepalived's genhash sees it.

use crate::config::model::HttpProtocol;
use thiserror::Error;

/// Most bytes of a status line plus header fields.
pub const HEAD_MAX: usize = 16 * 1024;
/// Most header fields.
pub const HEADERS_MAX: usize = 64;
/// Default cap on body bytes read (for a `digest`).
pub const BODY_MAX: usize = 1024 * 1024;

/// Why a response is not acceptable HTTP/1.x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HttpError {
    #[error("response head longer than {max} bytes")]
    HeadTooLong { max: usize },
    #[error("more than {max} header fields")]
    TooManyHeaders { max: usize },
    #[error("malformed status line")]
    BadStatusLine,
    #[error("not HTTP/1.0 or HTTP/1.1")]
    BadVersion,
    #[error("malformed header field")]
    BadHeader,
    #[error("obsolete line folding in a header field")]
    ObsoleteFold,
    #[error("invalid or conflicting Content-Length")]
    BadContentLength,
    #[error("malformed chunked body")]
    BadChunk,
    #[error("body longer than {cap} bytes")]
    BodyTooLarge { cap: usize },
    #[error("connection closed before the end of the response")]
    Truncated,
}

/// One header field; the name is lower-cased (field names are
/// case-insensitive), the value has its surrounding blanks trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// The checked status line and header fields of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// 0 or 1 (HTTP/1.0, HTTP/1.1).
    pub minor: u8,
    /// 100..=999.
    pub status: u16,
    pub headers: Vec<Header>,
}

impl Head {
    /// The value of the first field called `name` (lower case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_slice())
    }

    /// Every value of fields called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_slice())
    }

    /// Whether a comma-separated list field `name` holds `token`
    /// (case-insensitively), over every occurrence of the field.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
        })
    }
}

/// `GET` request bytes with the given `Host`, in `http_protocol`'s
/// version: `1.0` is HTTP/1.0 alone (the server closes after the answer
/// anyway), `1.0C` adds `Connection: close`, `1.1` is HTTP/1.1 with
/// `Connection: close` (keepalived's three). `path` and `host` come from
/// the validated config (no CR/LF in them).
pub fn get_request(path: &str, host: &str, protocol: HttpProtocol) -> Vec<u8> {
    let (minor, close) = match protocol {
        HttpProtocol::V10 => (0, ""),
        HttpProtocol::V10Close => (0, "Connection: close\r\n"),
        HttpProtocol::V11 => (1, "Connection: close\r\n"),
    };
    format!(
        "GET {path} HTTP/1.{minor}\r\nHost: {host}\r\nUser-Agent: vigil-health\r\n\
         Accept: */*\r\n{close}\r\n"
    )
    .into_bytes()
}

/// Parse a response head from the start of `buf`. `Ok(None)`: not
/// complete yet (and below [`HEAD_MAX`]). `Ok(Some((head, len)))`: the
/// head took `len` bytes; what follows is body (or WebSocket frames).
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let Some(len) = head_end(&buf[..buf.len().min(HEAD_MAX)]) else {
        return if buf.len() >= HEAD_MAX {
            Err(HttpError::HeadTooLong { max: HEAD_MAX })
        } else {
            Ok(None)
        };
    };
    let mut lines = buf[..len].split(|&b| b == b'\n').map(strip_cr);
    let status_line = lines.next().ok_or(HttpError::BadStatusLine)?;
    let (minor, status) = parse_status_line(status_line)?;
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(HttpError::ObsoleteFold);
        }
        if headers.len() == HEADERS_MAX {
            return Err(HttpError::TooManyHeaders { max: HEADERS_MAX });
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HttpError::BadHeader)?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(HttpError::BadHeader);
        }
        let value = trim(&line[colon + 1..]);
        if value.iter().any(|&b| b == 0 || b == b'\r') {
            return Err(HttpError::BadHeader);
        }
        headers.push(Header {
            // tchar is ASCII, so this is valid UTF-8.
            name: String::from_utf8_lossy(name).to_ascii_lowercase(),
            value: value.to_vec(),
        });
    }
    Ok(Some((
        Head {
            minor,
            status,
            headers,
        },
        len,
    )))
}

/// Length of the head including its blank line, if complete.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        // The next line is empty: "\n\n" or "\n\r\n".
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

fn parse_status_line(line: &[u8]) -> Result<(u8, u16), HttpError> {
    let rest = line
        .strip_prefix(b"HTTP/1.")
        .ok_or(if line.starts_with(b"HTTP/") {
            HttpError::BadVersion
        } else {
            HttpError::BadStatusLine
        })?;
    let minor = match rest.first() {
        Some(b'0') => 0,
        Some(b'1') => 1,
        _ => return Err(HttpError::BadVersion),
    };
    let rest = rest[1..]
        .strip_prefix(b" ")
        .ok_or(HttpError::BadStatusLine)?;
    if rest.len() < 3 || !rest[..3].iter().all(u8::is_ascii_digit) {
        return Err(HttpError::BadStatusLine);
    }
    if rest.len() > 3 && rest[3] != b' ' {
        return Err(HttpError::BadStatusLine);
    }
    let status = rest[..3]
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if status < 100 {
        return Err(HttpError::BadStatusLine);
    }
    Ok((minor, status))
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// RFC 9110 5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// How the body of a response to a GET ends (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

impl Framing {
    pub fn of(head: &Head) -> Result<Framing, HttpError> {
        if head.status < 200 || head.status == 204 || head.status == 304 {
            return Ok(Framing::None);
        }
        if head.get("transfer-encoding").is_some() {
            let last = head
                .all("transfer-encoding")
                .flat_map(|v| v.split(|&b| b == b','))
                .map(trim)
                .filter(|t| !t.is_empty())
                .last();
            return Ok(match last {
                Some(t) if t.eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
                _ => Framing::UntilClose,
            });
        }
        let mut length: Option<u64> = None;
        for v in head.all("content-length") {
            for part in v.split(|&b| b == b',') {
                let n = parse_decimal(trim(part)).ok_or(HttpError::BadContentLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(HttpError::BadContentLength);
                }
                length = Some(n);
            }
        }
        Ok(length.map_or(Framing::UntilClose, Framing::Length))
    }
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// Where a chunked body decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size; `digits` so far.
    Size {
        value: u64,
        digits: u8,
    },
    /// Skipping a chunk extension (or blanks) to the end of the size line.
    Ext {
        value: u64,
    },
    Data {
        remaining: u64,
    },
    /// After the data: CR LF (or a bare LF).
    DataEnd {
        seen_cr: bool,
    },
    /// Trailer fields, dropped; `line_start`: at the start of a line.
    Trailer {
        line_start: bool,
        seen_cr: bool,
    },
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Head {
        buf: Vec<u8>,
    },
    Body {
        framing: Framing,
        chunk: Chunk,
        remaining: u64,
    },
    Done,
}

/// Progress of a [`ResponseReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The head is not complete yet.
    NeedHead,
    /// The head is known ([`ResponseReader::head`]); the body is not done.
    NeedBody,
    /// The response is complete.
    Complete,
}

/// An incremental response parser: feed it what the socket reads.
#[derive(Debug, Clone)]
pub struct ResponseReader {
    state: State,
    head: Option<Head>,
    body_cap: usize,
    body_seen: usize,
}

impl ResponseReader {
    /// `body_cap`: most body bytes (as received, framing included).
    pub fn new(body_cap: usize) -> Self {
        ResponseReader {
            state: State::Head { buf: Vec::new() },
            head: None,
            body_cap,
            body_seen: 0,
        }
    }

    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Feed bytes; decoded body bytes go to `sink`. Bytes after a complete
    /// response are ignored.
    pub fn push(
        &mut self,
        input: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Progress, HttpError> {
        match &mut self.state {
            State::Head { buf } => {
                let room = HEAD_MAX.saturating_sub(buf.len());
                let take = input.len().min(room);
                buf.extend_from_slice(&input[..take]);
                match parse_head(buf)? {
                    None => Ok(Progress::NeedHead),
                    Some((head, len)) => {
                        let framing = Framing::of(&head)?;
                        // Body bytes: those of `buf` after the head, then
                        // the rest of `input` not copied into `buf`.
                        let buffered = std::mem::take(buf);
                        self.head = Some(head);
                        let remaining = match framing {
                            Framing::Length(n) => n,
                            _ => 0,
                        };
                        self.state = State::Body {
                            framing,
                            chunk: Chunk::Size {
                                value: 0,
                                digits: 0,
                            },
                            remaining,
                        };
                        if framing == Framing::None || framing == Framing::Length(0) {
                            self.state = State::Done;
                            return Ok(Progress::Complete);
                        }
                        self.body(&buffered[len..], sink)?;
                        self.body(&input[take..], sink)
                    }
                }
            }
            State::Body { .. } => self.body(input, sink),
            State::Done => Ok(Progress::Complete),
        }
    }

    /// The connection ended: complete if the framing allows it.
    pub fn eof(&mut self) -> Result<Progress, HttpError> {
        match &self.state {
            State::Done => Ok(Progress::Complete),
            State::Body {
                framing: Framing::UntilClose,
                ..
            } => {
                self.state = State::Done;
                Ok(Progress::Complete)
            }
            _ => Err(HttpError::Truncated),
        }
    }

    fn body(&mut self, input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<Progress, HttpError> {
        let State::Body {
            framing,
            chunk,
            remaining,
        } = &mut self.state
        else {
            return Ok(Progress::Complete);
        };
        if input.is_empty() {
            return Ok(Progress::NeedBody);
        }
        let done = match framing {
            Framing::None => true,
            Framing::Length(_) => {
                let n = input
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                count(&mut self.body_seen, n, self.body_cap)?;
                sink(&input[..n]);
                *remaining -= n as u64;
                *remaining == 0
            }
            Framing::UntilClose => {
                count(&mut self.body_seen, input.len(), self.body_cap)?;
                sink(input);
                false
            }
            Framing::Chunked => {
                let used = dechunk(chunk, input, sink)?;
                count(&mut self.body_seen, used, self.body_cap)?;
                *chunk == Chunk::Done
            }
        };
        if done {
            self.state = State::Done;
            Ok(Progress::Complete)
        } else {
            Ok(Progress::NeedBody)
        }
    }
}

fn count(seen: &mut usize, n: usize, cap: usize) -> Result<(), HttpError> {
    *seen = seen.saturating_add(n);
    if *seen > cap {
        Err(HttpError::BodyTooLarge { cap })
    } else {
        Ok(())
    }
}

/// Run the chunked decoder over `input`; data goes to `sink`. Returns the
/// bytes used (all of them, unless the body ended inside `input`).
fn dechunk(
    state: &mut Chunk,
    input: &[u8],
    sink: &mut dyn FnMut(&[u8]),
) -> Result<usize, HttpError> {
    let mut i = 0;
    while i < input.len() {
        match *state {
            Chunk::Done => return Ok(i),
            Chunk::Data { remaining } => {
                let n = (input.len() - i).min(usize::try_from(remaining).unwrap_or(usize::MAX));
                sink(&input[i..i + n]);
                i += n;
                let left = remaining - n as u64;
                *state = if left == 0 {
                    Chunk::DataEnd { seen_cr: false }
                } else {
                    Chunk::Data { remaining: left }
                };
                continue;
            }
            _ => {}
        }
        let b = input[i];
        i += 1;
        *state = match *state {
            Chunk::Size { value, digits } => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    if digits == 15 {
                        return Err(HttpError::BadChunk);
                    }
                    let d = (b as char).to_digit(16).expect("hex digit");
                    Chunk::Size {
                        value: value << 4 | u64::from(d),
                        digits: digits + 1,
                    }
                }
                _ if digits == 0 => return Err(HttpError::BadChunk),
                b';' | b' ' | b'\t' | b'\r' => Chunk::Ext { value },
                b'\n' => after_size(value),
                _ => return Err(HttpError::BadChunk),
            },
            Chunk::Ext { value } => match b {
                b'\n' => after_size(value),
                0 => return Err(HttpError::BadChunk),
                _ => Chunk::Ext { value },
            },
            Chunk::DataEnd { seen_cr } => match b {
                b'\r' if !seen_cr => Chunk::DataEnd { seen_cr: true },
                b'\n' => Chunk::Size {
                    value: 0,
                    digits: 0,
                },
                _ => return Err(HttpError::BadChunk),
            },
            Chunk::Trailer {
                line_start,
                seen_cr,
            } => match b {
                b'\n' if line_start => Chunk::Done,
                b'\n' => Chunk::Trailer {
                    line_start: true,
                    seen_cr: false,
                },
                b'\r' if line_start && !seen_cr => Chunk::Trailer {
                    line_start: true,
                    seen_cr: true,
                },
                _ if seen_cr => return Err(HttpError::BadChunk),
                _ => Chunk::Trailer {
                    line_start: false,
                    seen_cr: false,
                },
            },
            Chunk::Data { .. } | Chunk::Done => unreachable!("handled above"),
        };
    }
    Ok(i)
}

fn after_size(value: u64) -> Chunk {
    if value == 0 {
        Chunk::Trailer {
            line_start: true,
            seen_cr: false,
        }
    } else {
        Chunk::Data { remaining: value }
    }
}

/// A whole response, parsed at once (tests, fuzzing, tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
    /// The body ended by its framing (not by the end of `bytes`).
    pub framed: bool,
}

/// Parse `bytes` as one complete response; `eof`: the connection ended
/// after them. `Ok(None)`: incomplete.
pub fn parse_response(
    bytes: &[u8],
    eof: bool,
    body_cap: usize,
) -> Result<Option<Response>, HttpError> {
    let mut reader = ResponseReader::new(body_cap);
    let mut body = Vec::new();
    let mut progress = reader.push(bytes, &mut |b| body.extend_from_slice(b))?;
    let framed = progress == Progress::Complete;
    if progress != Progress::Complete && eof {
        progress = reader.eof()?;
    }
    if progress != Progress::Complete {
        return Ok(None);
    }
    Ok(reader.head.map(|head| Response { head, body, framed }))
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
