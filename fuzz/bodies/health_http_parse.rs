//! Fuzz target for the health checks' HTTP and WebSocket parsers
//! (`vigil::health::http`, `vigil::health::ws`).
//!
//! Owns: the properties every input must satisfy: `parse_response` never
//! panics, with or without EOF; feeding the same bytes to a
//! `ResponseReader` in two pieces (split at a point taken from the input)
//! gives the same head and body as feeding them whole; the body never
//! exceeds the cap; a parsed head validates as a WebSocket handshake
//! without panicking; `CloseWaiter` never panics on the same bytes.
//! Must not: do anything but call the parsers.
//!
//! RFC 9112 (message syntax, body framing) and RFC 6455 section 5 frames,
//! via the parsers.

use vigil::health::http::{parse_head, parse_response, Progress, ResponseReader};
use vigil::health::ws::{validate_handshake, CloseWaiter};

const CAP: usize = 4096;

fn feed(
    pieces: &[&[u8]],
) -> (
    Result<Progress, ()>,
    Option<vigil::health::http::Head>,
    Vec<u8>,
) {
    let mut reader = ResponseReader::new(CAP);
    let mut body = Vec::new();
    let mut last = Ok(Progress::NeedHead);
    for p in pieces {
        last = reader
            .push(p, &mut |b| body.extend_from_slice(b))
            .map_err(drop);
        if last.is_err() {
            break;
        }
    }
    (last, reader.head().cloned(), body)
}

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let whole = parse_response(data, true, CAP);
    let _ = parse_response(data, false, CAP);
    if let Ok(Some(r)) = &whole {
        assert!(r.body.len() <= CAP, "body over the cap");
    }

    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let (a, head_a, body_a) = feed(&[data]);
    let (b, head_b, body_b) = feed(&[&data[..split], &data[split..]]);
    assert_eq!(a, b, "split at {split}");
    if a.is_ok() {
        assert_eq!(head_a, head_b);
        assert_eq!(body_a, body_b);
    }

    if let Ok(Some((head, len))) = parse_head(data) {
        assert!(len <= data.len());
        let _ = validate_handshake(&head, "dGhlIHNhbXBsZSBub25jZQ==", Some("chat"));
    }
    let mut waiter = CloseWaiter::new();
    let _ = waiter.push(&data[..split]);
    let _ = waiter.push(&data[split..]);
}
