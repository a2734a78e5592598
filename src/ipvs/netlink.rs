//! Netlink framing for the IPVS client, sans-IO: the 16-byte `nlmsghdr`
//! around a request, the messages of a receive buffer (data, ack, error,
//! end of dump), and [`Acks`], the bookkeeping of a pipelined batch.
//!
//! Owns: every byte of the netlink header (length, type, flags, sequence
//! number, port id; host order, 4-byte alignment, `NLMSG_ERROR`'s errno
//! and `NLMSG_DONE`'s status). Must not: touch a socket (that is
//! [`super::client`]) or look inside the genl payload (that is
//! [`super::wire`]).
//!
//! Pipelining (what [`super::client::Client::apply_batch`] does with it):
//! several requests, each with its own sequence number, go out in one
//! `send`, only the last with `NLM_F_ACK`; the kernel handles them in order
//! and answers a refused one with an `NLMSG_ERROR` carrying -errno, also
//! when an earlier one failed (`netlink_rcv_skb` goes on after an error),
//! and the last with 0 or -errno (see [`Acks::errors_only`]). The acks are
//! matched back to their request by sequence number, so every op keeps its
//! own errno. Messages with a sequence number outside the batch (late
//! answers to an earlier, abandoned exchange) are ignored.
//!
//! Parsing never panics on any input (the kernel is trusted, but a
//! truncated read must be an error, not an out-of-bounds slice).

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_ROOT | NLM_F_MATCH`.
pub const NLM_F_DUMP: u16 = 0x300;

/// `NLMSG_ALIGN`.
fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Append one request to `out`: header (length, `family` as the type,
/// `NLM_F_REQUEST | flags`, `seq`, port id 0: the kernel answers the
/// sending socket) and `payload`, padded to 4 bytes.
pub fn frame(out: &mut Vec<u8>, family: u16, flags: u16, seq: u32, payload: &[u8]) {
    let len = NLMSG_HDRLEN + payload.len();
    let len32 = u32::try_from(len).expect("a request fits in u32");
    out.extend_from_slice(&len32.to_ne_bytes());
    out.extend_from_slice(&family.to_ne_bytes());
    out.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + align(len) - len, 0);
}

/// What one received message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A message of the family: its genl payload (a dump entry, a GET reply).
    Data(&'a [u8]),
    /// `NLMSG_ERROR` with 0: the request was carried out.
    Ack,
    /// `NLMSG_ERROR` with -errno: refused; the positive errno.
    Error(i32),
    /// `NLMSG_DONE`: the end of a dump; a positive errno if the dump
    /// failed part-way, else 0.
    Done(i32),
    /// `NLMSG_NOOP` / `NLMSG_OVERRUN` or another control type: nothing to act on.
    Other(u16),
}

/// One message of a receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub seq: u32,
    pub flags: u16,
    pub reply: Reply<'a>,
}

/// A receive buffer that does not hold whole netlink messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("netlink message at byte {offset}: header truncated ({left} bytes left)")]
    ShortHeader { offset: usize, left: usize },
    #[error("netlink message at byte {offset}: length {len} outside 16..={left}")]
    BadLength {
        offset: usize,
        len: usize,
        left: usize,
    },
    #[error("netlink message at byte {offset}: {kind} without its 4-byte status")]
    ShortStatus { offset: usize, kind: &'static str },
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(w)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// The messages of one receive buffer, in order.
pub fn parse(buf: &[u8]) -> Result<Vec<Message<'_>>, FrameError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let left = buf.len() - at;
        if left < NLMSG_HDRLEN {
            return Err(FrameError::ShortHeader { offset: at, left });
        }
        let len = u32_at(buf, at) as usize;
        if !(NLMSG_HDRLEN..=left).contains(&len) {
            return Err(FrameError::BadLength {
                offset: at,
                len,
                left,
            });
        }
        let kind = u16_at(buf, at + 4);
        let flags = u16_at(buf, at + 6);
        let seq = u32_at(buf, at + 8);
        let body = &buf[at + NLMSG_HDRLEN..at + len];
        let status = |what: &'static str| -> Result<i32, FrameError> {
            if body.len() < 4 {
                return Err(FrameError::ShortStatus {
                    offset: at,
                    kind: what,
                });
            }
            // The kernel sends 0 or -errno; i32::MIN has no positive twin.
            Ok((u32_at(body, 0) as i32).checked_neg().unwrap_or(i32::MAX))
        };
        let reply = match kind {
            NLMSG_ERROR => match status("NLMSG_ERROR")? {
                0 => Reply::Ack,
                errno => Reply::Error(errno),
            },
            NLMSG_DONE if body.is_empty() => Reply::Done(0),
            NLMSG_DONE => Reply::Done(status("NLMSG_DONE")?),
            k if k < 16 => Reply::Other(k),
            _ => Reply::Data(body),
        };
        out.push(Message { seq, flags, reply });
        at += align(len).min(left);
    }
    Ok(out)
}

/// OR `flags` into the header of the request framed at the start of
/// `frame` (the last request of a batch gets `NLM_F_ACK` once the batch
/// is known to end there). A buffer too short for a header is left alone.
pub fn add_flags(frame: &mut [u8], flags: u16) {
    if frame.len() >= NLMSG_HDRLEN {
        let f = u16_at(frame, 6) | flags;
        frame[6..8].copy_from_slice(&f.to_ne_bytes());
    }
}

/// The answers to a batch of `n` requests numbered `first`, `first + 1`,
/// .. (wrapping): which have been answered, and how.
///
/// Two kinds of batch:
/// - [`Acks::new`]: every request carries `NLM_F_ACK`; each is answered.
/// - [`Acks::errors_only`]: only the last carries `NLM_F_ACK` (the
///   barrier); the kernel answers the others only when it refuses them
///   (`netlink_rcv_skb` acks an op without the flag only on error) and
///   handles the requests of a `send` in order, so every refusal is queued
///   before the barrier's answer: once the barrier is answered, a request
///   without an answer was carried out. Unless an answer was lost
///   ([`Acks::lost_some`], a receive buffer overrun): then silence proves
///   nothing and such a request's outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acks {
    first: u32,
    /// Per request: `None` until answered, then 0 (done) or a positive errno.
    results: Vec<Option<i32>>,
    waiting: usize,
    errors_only: bool,
    lost: bool,
}

impl Acks {
    /// Every request asks for an ack.
    pub fn new(first: u32, n: usize) -> Self {
        Acks {
            first,
            results: vec![None; n],
            waiting: n,
            errors_only: false,
            lost: false,
        }
    }

    /// Only the last request asks for an ack (see the type's doc).
    pub fn errors_only(first: u32, n: usize) -> Self {
        Acks {
            errors_only: true,
            ..Acks::new(first, n)
        }
    }

    /// An answer to this batch may have been dropped (ENOBUFS).
    pub fn lost_some(&mut self) {
        self.lost = true;
    }

    /// Nothing more to wait for: every request answered, or the barrier
    /// of an errors-only batch.
    pub fn complete(&self) -> bool {
        if self.errors_only {
            self.results.last().is_none_or(Option::is_some)
        } else {
            self.waiting == 0
        }
    }

    /// Per request, in order: `Some(0)` done, `Some(errno)` refused, `None`
    /// outcome unknown (no answer, and silence does not prove success).
    pub fn outcomes(&self) -> Vec<Option<i32>> {
        let silence_is_done = self.errors_only && self.complete() && !self.lost;
        self.results
            .iter()
            .map(|r| r.or(silence_is_done.then_some(0)))
            .collect()
    }

    /// Record a message. Returns the request's index if it answered one
    /// of ours for the first time; anything else (a data message, another
    /// sequence number, a duplicate) is ignored.
    pub fn record(&mut self, m: &Message<'_>) -> Option<usize> {
        let errno = match m.reply {
            Reply::Ack => 0,
            Reply::Error(e) => e,
            _ => return None,
        };
        let i = m.seq.wrapping_sub(self.first) as usize;
        let slot = self.results.get_mut(i)?;
        if slot.is_some() {
            return None;
        }
        *slot = Some(errno);
        self.waiting -= 1;
        Some(i)
    }

    /// Requests still unanswered.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Per request, in order: `Some(0)` done, `Some(errno)` refused,
    /// `None` never answered.
    pub fn results(&self) -> &[Option<i32>] {
        &self.results
    }
}

#[cfg(test)]
#[path = "netlink_tests.rs"]
mod tests;
