//! Record codec: the on-flash bytes of one commit of the history (format 2),
//! `encode` and the two-step decode (`decode_header`, then `verify` once the
//! body is read).
//!
//! Owns: the header layout (the table in [`crate::store::history`]), the
//! bounds of the user name and comment, the CRC-32C over everything, and
//! the classification of a record's bytes into a [`RecordStatus`].
//!
//! Must not: do I/O, read a clock, choose where a record goes, or panic on
//! any input: `decode_header` and `verify` see arbitrary device bytes.

use core::fmt;

use super::CASTAGNOLI;

/// Same magic as format 1: one family of headers, told apart by version.
pub const MAGIC: [u8; 4] = *b"VGLC";
/// The history's format.
pub const FORMAT_VERSION: u16 = 2;
/// Bytes of the fixed header; also stored in the header itself.
pub const HEADER_LEN: usize = 64;
/// Longest user name, in bytes (UTF-8).
pub const MAX_USER: usize = 32;
/// Longest comment, in bytes (UTF-8).
pub const MAX_COMMENT: usize = 256;

/// Named byte ranges of the header (integers little-endian).
mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION: Range<usize> = 4..6;
    pub const HEADER_LEN: Range<usize> = 6..8;
    pub const SEQ: Range<usize> = 8..16;
    pub const TIME: Range<usize> = 16..24;
    pub const DEADLINE: Range<usize> = 24..32;
    pub const OF: Range<usize> = 32..40;
    pub const KIND: usize = 40;
    pub const USER_LEN: usize = 41;
    pub const COMMENT_LEN: Range<usize> = 42..44;
    pub const PAYLOAD_LEN: Range<usize> = 44..48;
    pub const FLAGS: usize = 48;
    pub const RESERVED: Range<usize> = 49..60;
    pub const CRC: Range<usize> = 60..64;
}

const _: () = assert!(field::CRC.end == HEADER_LEN);
const HEADER_LEN_U16: u16 = HEADER_LEN as u16;
/// Flag bit: the commit waits for a confirm before its deadline.
const UNCONFIRMED: u8 = 0x01;

/// Where a commit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// `vigil config import`.
    Import,
    /// A `commit` on the console (the user is in the record).
    Console,
    /// A new commit carrying the config of commit `of`.
    Rollback { of: u64 },
    /// The automatic rollback of the unconfirmed commit `of` (its deadline
    /// passed, or the box booted inside the window).
    ConfirmedRollback { of: u64 },
    /// The confirm of the unconfirmed commit `of` (same config).
    Confirm { of: u64 },
    /// The config of a two-slot (format 1) store, carried into the history.
    FormatOne,
}

impl Source {
    fn kind(self) -> (u8, u64) {
        match self {
            Source::Import => (1, 0),
            Source::Console => (2, 0),
            Source::Rollback { of } => (3, of),
            Source::ConfirmedRollback { of } => (4, of),
            Source::Confirm { of } => (5, of),
            Source::FormatOne => (6, 0),
        }
    }

    fn from_kind(kind: u8, of: u64) -> Option<Source> {
        Some(match kind {
            1 => Source::Import,
            2 => Source::Console,
            3 => Source::Rollback { of },
            4 => Source::ConfirmedRollback { of },
            5 => Source::Confirm { of },
            6 => Source::FormatOne,
            _ => return None,
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Import => f.write_str("import"),
            Source::Console => f.write_str("console"),
            Source::Rollback { of } => write!(f, "rollback of {of}"),
            Source::ConfirmedRollback { of } => write!(f, "confirmed-rollback of {of}"),
            Source::Confirm { of } => write!(f, "confirm of {of}"),
            Source::FormatOne => f.write_str("two-slot store"),
        }
    }
}

/// Everything of a record but its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    /// Unix seconds (0: unknown, e.g. a carried-over format 1 config).
    pub time: u64,
    /// `Some(unix seconds)`: unconfirmed, to be confirmed by then.
    pub deadline: Option<u64>,
    pub source: Source,
    /// Who committed (empty: not recorded).
    pub user: String,
    pub comment: String,
    pub len: u32,
}

/// What the bytes of one record are. Checks run in the order below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    Valid {
        seq: u64,
        len: u32,
    },
    /// Header all 0x00 or all 0xFF.
    Erased,
    BadMagic,
    /// A format 1 slot header (a two-slot store's slot A or B).
    FormatOne,
    UnsupportedVersion {
        found: u16,
    },
    BadHeaderLength {
        found: u16,
    },
    /// User name or comment longer than allowed, or header, user, comment
    /// and payload longer than the record.
    BadLength,
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// Checksummed but meaningless: unknown kind or flags, reserved bytes
    /// set, a name or comment that is not UTF-8.
    BadField,
}

impl RecordStatus {
    pub fn is_valid(&self) -> bool {
        matches!(self, RecordStatus::Valid { .. })
    }
}

impl fmt::Display for RecordStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecordStatus::Valid { seq, len } => write!(f, "valid (seq {seq}, {len} bytes)"),
            RecordStatus::Erased => f.write_str("erased"),
            RecordStatus::BadMagic => f.write_str("bad magic"),
            RecordStatus::FormatOne => f.write_str("format 1 slot"),
            RecordStatus::UnsupportedVersion { found } => {
                write!(f, "unsupported format version {found}")
            }
            RecordStatus::BadHeaderLength { found } => write!(f, "bad header length {found}"),
            RecordStatus::BadLength => f.write_str("bad length"),
            RecordStatus::CrcMismatch { stored, computed } => write!(
                f,
                "crc mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            RecordStatus::BadField => f.write_str("bad field"),
        }
    }
}

/// A header whose lengths are plausible: how many body bytes to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    user_len: usize,
    comment_len: usize,
    payload_len: usize,
}

impl Framed {
    /// Bytes after the header: user, comment, payload.
    pub fn body_len(&self) -> usize {
        self.user_len + self.comment_len + self.payload_len
    }
}

/// Why `encode` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    UserTooLong {
        len: usize,
    },
    CommentTooLong {
        len: usize,
    },
    /// The payload does not fit in a record of the given size next to
    /// this user name and comment.
    TooLarge {
        len: usize,
        max: usize,
    },
}

/// Largest payload a commit of at most `room` bytes (one record, or the
/// run of records it may take) holds beside `user` and `comment` bytes of
/// text.
pub fn max_payload(room: usize, user: usize, comment: usize) -> usize {
    room.saturating_sub(HEADER_LEN + user + comment)
        .min(u32::MAX as usize)
}

/// The bytes of a commit: header, user, comment, payload, at most `room`.
pub fn encode(head: &Head, payload: &[u8], room: usize) -> Result<Vec<u8>, EncodeError> {
    let (user, comment) = (head.user.as_bytes(), head.comment.as_bytes());
    if user.len() > MAX_USER {
        return Err(EncodeError::UserTooLong { len: user.len() });
    }
    if comment.len() > MAX_COMMENT {
        return Err(EncodeError::CommentTooLong { len: comment.len() });
    }
    let max = max_payload(room, user.len(), comment.len());
    let too_large = EncodeError::TooLarge {
        len: payload.len(),
        max,
    };
    let len = u32::try_from(payload.len()).map_err(|_| too_large)?;
    if payload.len() > max {
        return Err(too_large);
    }
    let (kind, of) = head.source.kind();
    let mut h = [0u8; HEADER_LEN];
    h[field::MAGIC].copy_from_slice(&MAGIC);
    h[field::VERSION].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[field::HEADER_LEN].copy_from_slice(&HEADER_LEN_U16.to_le_bytes());
    h[field::SEQ].copy_from_slice(&head.seq.to_le_bytes());
    h[field::TIME].copy_from_slice(&head.time.to_le_bytes());
    h[field::DEADLINE].copy_from_slice(&head.deadline.unwrap_or(0).to_le_bytes());
    h[field::OF].copy_from_slice(&of.to_le_bytes());
    h[field::KIND] = kind;
    h[field::USER_LEN] = user.len() as u8; // <= MAX_USER
    h[field::COMMENT_LEN].copy_from_slice(&(comment.len() as u16).to_le_bytes());
    h[field::PAYLOAD_LEN].copy_from_slice(&len.to_le_bytes());
    h[field::FLAGS] = if head.deadline.is_some() {
        UNCONFIRMED
    } else {
        0
    };
    let mut out = Vec::with_capacity(HEADER_LEN + user.len() + comment.len() + payload.len());
    out.extend_from_slice(&h);
    out.extend_from_slice(user);
    out.extend_from_slice(comment);
    out.extend_from_slice(payload);
    let crc = checksum(&out);
    out[field::CRC].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// First step of decoding: is this a format 2 header whose lengths fit in
/// `room` bytes? Never panics.
pub fn decode_header(header: &[u8; HEADER_LEN], room: usize) -> Result<Framed, RecordStatus> {
    if header.iter().all(|&b| b == 0x00) || header.iter().all(|&b| b == 0xFF) {
        return Err(RecordStatus::Erased);
    }
    if array::<4>(header, field::MAGIC.start) != MAGIC {
        return Err(RecordStatus::BadMagic);
    }
    let version = u16::from_le_bytes(array(header, field::VERSION.start));
    if version == super::slot::FORMAT_VERSION {
        return Err(RecordStatus::FormatOne);
    }
    if version != FORMAT_VERSION {
        return Err(RecordStatus::UnsupportedVersion { found: version });
    }
    let header_len = u16::from_le_bytes(array(header, field::HEADER_LEN.start));
    if header_len != HEADER_LEN_U16 {
        return Err(RecordStatus::BadHeaderLength { found: header_len });
    }
    let user_len = usize::from(header[field::USER_LEN]);
    let comment_len = usize::from(u16::from_le_bytes(array(header, field::COMMENT_LEN.start)));
    let payload_len = u32::from_le_bytes(array(header, field::PAYLOAD_LEN.start));
    let payload_len = usize::try_from(payload_len).map_err(|_| RecordStatus::BadLength)?;
    if user_len > MAX_USER
        || comment_len > MAX_COMMENT
        || payload_len > max_payload(room, user_len, comment_len)
    {
        return Err(RecordStatus::BadLength);
    }
    Ok(Framed {
        user_len,
        comment_len,
        payload_len,
    })
}

/// Second step: `body` holds at least `framed.body_len()` bytes read after
/// the header. Returns the head and the payload's range in `body`.
pub fn verify(
    header: &[u8; HEADER_LEN],
    framed: Framed,
    body: &[u8],
) -> Result<(Head, core::ops::Range<usize>), RecordStatus> {
    let body = body
        .get(..framed.body_len())
        .ok_or(RecordStatus::BadLength)?;
    let stored = u32::from_le_bytes(array(header, field::CRC.start));
    let mut digest = CASTAGNOLI.digest();
    digest.update(&header[..field::CRC.start]);
    digest.update(body);
    let computed = digest.finalize();
    if stored != computed {
        return Err(RecordStatus::CrcMismatch { stored, computed });
    }
    let of = u64::from_le_bytes(array(header, field::OF.start));
    let source = Source::from_kind(header[field::KIND], of).ok_or(RecordStatus::BadField)?;
    let flags = header[field::FLAGS];
    let reserved_clear = header[field::RESERVED].iter().all(|&b| b == 0);
    if flags & !UNCONFIRMED != 0 || !reserved_clear {
        return Err(RecordStatus::BadField);
    }
    let (user, rest) = body.split_at(framed.user_len);
    let (comment, _) = rest.split_at(framed.comment_len);
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| RecordStatus::BadField);
    let deadline = u64::from_le_bytes(array(header, field::DEADLINE.start));
    let head = Head {
        seq: u64::from_le_bytes(array(header, field::SEQ.start)),
        time: u64::from_le_bytes(array(header, field::TIME.start)),
        deadline: (flags & UNCONFIRMED != 0).then_some(deadline),
        source,
        user: text(user)?,
        comment: text(comment)?,
        len: framed.payload_len as u32, // bounded by max_payload
    };
    let start = framed.user_len + framed.comment_len;
    Ok((head, start..start + framed.payload_len))
}

/// Decodes a whole record buffer (header and at least the body), for tests
/// and the fuzz target.
pub fn decode(record: &[u8], room: usize) -> Result<(Head, &[u8]), RecordStatus> {
    let (header, body) = record
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(RecordStatus::BadLength)?;
    let framed = decode_header(header, room)?;
    let (head, range) = verify(header, framed, body)?;
    let payload = body.get(range).ok_or(RecordStatus::BadLength)?;
    Ok((head, payload))
}

/// CRC-32C over a whole encoded record, skipping the CRC field.
fn checksum(record: &[u8]) -> u32 {
    let mut digest = CASTAGNOLI.digest();
    digest.update(&record[..field::CRC.start]);
    digest.update(&record[HEADER_LEN..]);
    digest.finalize()
}

/// `N` bytes at `at` of the header; only called with the constant ranges of
/// `field`, inside the header (the zero fallback is unreachable).
fn array<const N: usize>(header: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = header.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
