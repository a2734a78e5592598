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
mod tests {
    use super::*;

    /// A kernel answer: `NLMSG_ERROR` with `-errno` and the request's
    /// header echoed (as the kernel does), or a data/done message.
    fn answer(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        frame(&mut out, kind, 0, seq, body);
        // frame() sets NLM_F_REQUEST; the kernel's answers do not.
        out[6..8].copy_from_slice(&0u16.to_ne_bytes());
        out
    }

    fn err(seq: u32, errno: i32) -> Vec<u8> {
        let mut body = (-errno).to_ne_bytes().to_vec();
        body.extend_from_slice(&[0u8; NLMSG_HDRLEN]);
        answer(NLMSG_ERROR, seq, &body)
    }

    #[test]
    fn frame_writes_the_header_and_pads() {
        let mut out = Vec::new();
        frame(&mut out, 0x1d, NLM_F_ACK, 7, &[5, 1, 0, 0, 0xaa]);
        assert_eq!(out.len(), 24, "16 + 5 padded to 4");
        assert_eq!(u32_at(&out, 0), 21, "nlmsg_len excludes the padding");
        assert_eq!(u16_at(&out, 4), 0x1d);
        assert_eq!(u16_at(&out, 6), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(u32_at(&out, 8), 7);
        assert_eq!(u32_at(&out, 12), 0);
        assert_eq!(&out[16..21], &[5, 1, 0, 0, 0xaa]);
        assert_eq!(&out[21..], &[0, 0, 0]);
        // Two frames back to back parse as two messages.
        frame(&mut out, 0x1d, NLM_F_DUMP, 8, &[4, 1, 0, 0]);
        let m = parse(&out).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].reply, Reply::Data(&[5, 1, 0, 0, 0xaa]));
        assert_eq!((m[1].seq, m[1].flags), (8, NLM_F_REQUEST | NLM_F_DUMP));
    }

    #[test]
    fn parse_tells_acks_errors_done_and_data() {
        let mut buf = err(1, 0);
        buf.extend(err(2, 17));
        buf.extend(answer(0x1d, 3, &[1, 1, 0, 0, 9, 9, 9, 9]));
        buf.extend(answer(NLMSG_DONE, 3, &0i32.to_ne_bytes()));
        buf.extend(answer(NLMSG_DONE, 4, &(-22i32).to_ne_bytes()));
        buf.extend(answer(NLMSG_DONE, 5, &[]));
        buf.extend(answer(NLMSG_NOOP, 6, &[]));
        let m = parse(&buf).unwrap();
        let r: Vec<_> = m.iter().map(|m| (m.seq, m.reply)).collect();
        assert_eq!(
            r,
            vec![
                (1, Reply::Ack),
                (2, Reply::Error(17)),
                (3, Reply::Data(&[1, 1, 0, 0, 9, 9, 9, 9])),
                (3, Reply::Done(0)),
                (4, Reply::Done(22)),
                (5, Reply::Done(0)),
                (6, Reply::Other(NLMSG_NOOP)),
            ]
        );
    }

    #[test]
    fn parse_refuses_truncated_buffers() {
        let whole = err(1, 2);
        assert_eq!(
            parse(&whole[..10]),
            Err(FrameError::ShortHeader {
                offset: 0,
                left: 10
            })
        );
        let mut two = err(1, 0);
        two.extend(err(2, 0));
        let cut = &two[..two.len() - 4];
        assert!(matches!(
            parse(cut),
            Err(FrameError::BadLength { offset: 36, .. })
        ));
        let mut zero = err(1, 0);
        zero[0..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(matches!(
            parse(&zero),
            Err(FrameError::BadLength { len: 0, .. })
        ));
        let short = answer(NLMSG_ERROR, 1, &[0, 0]);
        assert!(matches!(
            parse(&short),
            Err(FrameError::ShortStatus {
                kind: "NLMSG_ERROR",
                ..
            })
        ));
        assert_eq!(parse(&[]), Ok(vec![]));
    }

    #[test]
    fn parse_never_panics_on_garbage() {
        // A cheap sweep; the fuzz target covers the rest.
        let base: Vec<u8> = [err(1, 0), err(2, 3), answer(0x1d, 3, &[1; 9])].concat();
        for cut in 0..=base.len() {
            let _ = parse(&base[..cut]);
        }
        for i in 0..base.len() {
            let mut b = base.clone();
            b[i] ^= 0xff;
            let _ = parse(&b);
        }
        let mut min = err(1, 0);
        min[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
        assert_eq!(parse(&min).unwrap()[0].reply, Reply::Error(i32::MAX));
    }

    #[test]
    fn acks_match_by_sequence_number_in_any_order() {
        let mut acks = Acks::new(100, 3);
        let buf = [err(102, 17), err(99, 0), err(100, 0), err(100, 2)].concat();
        let got: Vec<_> = parse(&buf)
            .unwrap()
            .iter()
            .map(|m| acks.record(m))
            .collect();
        // 99 is not ours; the second answer to 100 is a duplicate.
        assert_eq!(got, vec![Some(2), None, Some(0), None]);
        assert_eq!(acks.waiting(), 1);
        assert_eq!(acks.results(), &[Some(0), None, Some(17)]);
        let buf = err(101, 3);
        assert_eq!(acks.record(&parse(&buf).unwrap()[0]), Some(1));
        assert_eq!(acks.waiting(), 0);
        assert_eq!(acks.results(), &[Some(0), Some(3), Some(17)]);
    }

    #[test]
    fn acks_ignore_data_and_wrap_around() {
        let mut acks = Acks::new(u32::MAX, 2);
        let buf = [
            answer(0x1d, u32::MAX, &[1, 1, 0, 0]),
            answer(NLMSG_DONE, u32::MAX, &[0; 4]),
            err(0, 0),
            err(u32::MAX, 22),
        ]
        .concat();
        for m in parse(&buf).unwrap() {
            acks.record(&m);
        }
        assert_eq!(acks.results(), &[Some(22), Some(0)]);
        assert_eq!(acks.waiting(), 0);
    }

    #[test]
    fn add_flags_marks_only_the_given_frame() {
        let mut out = Vec::new();
        frame(&mut out, 0x1d, 0, 1, &[1, 1, 0, 0]);
        let last = out.len();
        frame(&mut out, 0x1d, 0, 2, &[1, 1, 0, 0]);
        add_flags(&mut out[last..], NLM_F_ACK);
        let m = parse(&out).unwrap();
        assert_eq!(m[0].flags, NLM_F_REQUEST);
        assert_eq!(m[1].flags, NLM_F_REQUEST | NLM_F_ACK);
        add_flags(&mut [0u8; 4], NLM_F_ACK); // too short: left alone, no panic
    }

    #[test]
    fn errors_only_batch_ends_at_the_barrier_and_silence_is_success() {
        let mut acks = Acks::errors_only(10, 4);
        assert!(!acks.complete());
        for m in parse(&[err(11, 17), err(9, 0)].concat()).unwrap() {
            acks.record(&m);
        }
        assert!(
            !acks.complete(),
            "an error before the barrier does not end the wait"
        );
        assert_eq!(acks.outcomes(), vec![None, Some(17), None, None]);
        acks.record(&parse(&err(13, 0)).unwrap()[0]);
        assert!(acks.complete());
        assert_eq!(acks.outcomes(), vec![Some(0), Some(17), Some(0), Some(0)]);
        // A refused barrier ends the batch too.
        let mut acks = Acks::errors_only(1, 2);
        acks.record(&parse(&err(2, 22)).unwrap()[0]);
        assert_eq!(acks.outcomes(), vec![Some(0), Some(22)]);
    }

    #[test]
    fn lost_answers_leave_silent_ops_unknown() {
        let mut acks = Acks::errors_only(1, 3);
        acks.record(&parse(&err(1, 2)).unwrap()[0]);
        acks.lost_some();
        acks.record(&parse(&err(3, 0)).unwrap()[0]);
        assert!(acks.complete());
        assert_eq!(acks.outcomes(), vec![Some(2), None, Some(0)]);
        // Every op acked: outcomes are exactly the answers.
        let mut acks = Acks::new(1, 2);
        acks.record(&parse(&err(2, 0)).unwrap()[0]);
        assert!(!acks.complete());
        assert_eq!(acks.outcomes(), vec![None, Some(0)]);
    }
}
