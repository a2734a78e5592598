//! BIRD control-socket replies from arbitrary bytes (`vigil::bgp::reply`):
//! the input is what a BIRD (or whatever listens on its socket) sends,
//! fed to a `Decoder` whole and in pieces of every size from 1 to 7.
//!
//! Properties: `feed` never panics; the same bytes give the same replies
//! (or the same first error) however they are cut; every reply has at
//! least one line and its code is its last line's; the bound holds (no
//! reply is decoded from more than `REPLY_MAX` bytes); `protocols` of
//! each reply never panics and yields at most one protocol per line.
//! Must not: do anything but call the decoder.

use vigil::bgp::reply::{protocols, Decoder, Reply, ReplyError, REPLY_MAX};

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let whole = decode(data, data.len().max(1));
    for piece in 1..=7 {
        assert_eq!(decode(data, piece), whole, "cut in pieces of {piece}");
    }
    for r in whole.0 {
        assert!(!r.lines.is_empty());
        assert_eq!(r.lines.last().map(|l| l.code), Some(r.code));
        let size: usize = r.lines.iter().map(|l| l.text.len() + 6).sum();
        assert!(size <= REPLY_MAX + 6 * r.lines.len());
        assert!(protocols(&r).len() <= r.lines.len());
    }
}

/// Every reply in `data` fed `piece` bytes at a time, and the error that
/// stopped it.
fn decode(data: &[u8], piece: usize) -> (Vec<Reply>, Option<ReplyError>) {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    for chunk in data.chunks(piece) {
        let mut next = d.feed(chunk);
        loop {
            match next {
                Ok(Some(r)) => out.push(r),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
            next = d.feed(&[]);
        }
    }
    (out, None)
}
