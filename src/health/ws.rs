//! WebSocket opening and closing handshakes for WS_CHECK: pure functions
//! over bytes (RFC 6455).
//!
//! Owns: the key and accept computation (section 4.2.2 point 5.4, [`accept_for`]),
//! the upgrade request ([`upgrade_request`], section 4.1), the validation
//! of the server's answer ([`validate_handshake`], section 4.1 "the client
//! MUST validate the server's response"), the masked close frame the
//! client sends ([`close_frame`], sections 5.2, 5.3, 5.5.1) and the reader
//! that waits for the server's close frame ([`CloseWaiter`]).
//! Must not: do I/O or randomness (the key and mask are arguments), or
//! panic on any server bytes.
//!
//! Choices: a configured `subprotocol` must be selected by the server
//! (RFC 6455 lets a server select none; a health check that names one
//! wants to know it is served). Data, ping and pong frames that arrive
//! before the server's close frame are skipped (section 5.5.1 allows
//! them), up to [`BEFORE_CLOSE_MAX`] bytes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use super::http::Head;

/// The GUID of RFC 6455 section 1.3.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Status code of a normal closure (section 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
/// "No status received" (section 7.4.1): a close frame without a body.
pub const CLOSE_NO_STATUS: u16 = 1005;
/// Most frame bytes skipped while waiting for the server's close frame.
pub const BEFORE_CLOSE_MAX: usize = 64 * 1024;

const OP_CLOSE: u8 = 0x8;

/// Why a WebSocket handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WsError {
    /// The server answered, but not `101 Switching Protocols`.
    #[error("upgrade refused with status {status}")]
    NotUpgraded { status: u16 },
    #[error("no `Upgrade: websocket` in the 101 response")]
    NoUpgradeHeader,
    #[error("no `Connection: Upgrade` in the 101 response")]
    NoConnectionUpgrade,
    #[error("no Sec-WebSocket-Accept in the 101 response")]
    MissingAccept,
    #[error("wrong Sec-WebSocket-Accept")]
    BadAccept,
    #[error("the server chose an extension that was not offered")]
    UnrequestedExtension,
    #[error("the server chose a subprotocol that was not offered")]
    UnrequestedSubprotocol,
    #[error("the server did not select the configured subprotocol")]
    SubprotocolNotSelected,
    #[error("masked frame from the server")]
    MaskedServerFrame,
    #[error("malformed frame")]
    BadFrame,
    #[error("malformed close frame body")]
    BadClosePayload,
    #[error("connection closed without a close frame")]
    NoCloseFrame,
    #[error("more than {cap} bytes of frames before the close frame")]
    TooMuchBeforeClose { cap: usize },
}

/// The Sec-WebSocket-Key for 16 random bytes (section 4.1 point 7).
pub fn encode_key(nonce: &[u8; 16]) -> String {
    B64.encode(nonce)
}

/// Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)).
pub fn accept_for(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    B64.encode(sha.digest().bytes())
}

/// The opening handshake request (section 4.1). Values come from the
/// validated config (no CR/LF).
pub fn upgrade_request(
    path: &str,
    host: &str,
    key: &str,
    origin: Option<&str>,
    subprotocol: Option<&str>,
) -> Vec<u8> {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(o) = origin {
        r.push_str(&format!("Origin: {o}\r\n"));
    }
    if let Some(p) = subprotocol {
        r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    r.push_str("User-Agent: vigil-health\r\n\r\n");
    r.into_bytes()
}

/// Check the server's answer to [`upgrade_request`] (section 4.1, the
/// client's validation steps 1 to 6).
pub fn validate_handshake(
    head: &Head,
    key: &str,
    subprotocol: Option<&str>,
) -> Result<(), WsError> {
    if head.status != 101 {
        return Err(WsError::NotUpgraded {
            status: head.status,
        });
    }
    if !head.has_token("upgrade", "websocket") {
        return Err(WsError::NoUpgradeHeader);
    }
    if !head.has_token("connection", "upgrade") {
        return Err(WsError::NoConnectionUpgrade);
    }
    let accept = head
        .get("sec-websocket-accept")
        .ok_or(WsError::MissingAccept)?;
    if accept != accept_for(key).as_bytes() {
        return Err(WsError::BadAccept);
    }
    if head.all("sec-websocket-extensions").any(|v| !v.is_empty()) {
        return Err(WsError::UnrequestedExtension);
    }
    match (head.get("sec-websocket-protocol"), subprotocol) {
        (Some(got), Some(want)) if got == want.as_bytes() => Ok(()),
        (Some(_), _) => Err(WsError::UnrequestedSubprotocol),
        (None, Some(_)) => Err(WsError::SubprotocolNotSelected),
        (None, None) => Ok(()),
    }
}

/// A masked close frame with `code` and no reason (sections 5.2, 5.3,
/// 5.5.1): FIN + opcode 8, MASK + length 2, the key, the masked code.
pub fn close_frame(mask: [u8; 4], code: u16) -> [u8; 8] {
    let c = code.to_be_bytes();
    [
        0x80 | OP_CLOSE,
        0x80 | 2,
        mask[0],
        mask[1],
        mask[2],
        mask[3],
        c[0] ^ mask[0],
        c[1] ^ mask[1],
    ]
}

/// A checked frame header from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    pub fin: bool,
    pub opcode: u8,
    pub payload_len: u64,
    pub header_len: usize,
}

/// Parse a server frame header at the start of `buf` (section 5.2).
/// `Ok(None)`: need more bytes.
pub fn parse_frame_head(buf: &[u8]) -> Result<Option<FrameHead>, WsError> {
    let [b0, b1, rest @ ..] = buf else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    if b0 & 0x70 != 0 {
        // RSV1-3 without a negotiated extension.
        return Err(WsError::BadFrame);
    }
    let opcode = b0 & 0x0f;
    if !matches!(opcode, 0x0..=0x2 | 0x8..=0xa) {
        return Err(WsError::BadFrame);
    }
    if b1 & 0x80 != 0 {
        // Section 5.1: a client closes on a masked frame.
        return Err(WsError::MaskedServerFrame);
    }
    let (payload_len, header_len) = match b1 & 0x7f {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 4),
            _ => return Ok(None),
        },
        127 => match rest.get(..8) {
            Some(b) => {
                let n = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                if n >> 63 != 0 {
                    return Err(WsError::BadFrame);
                }
                (n, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode >= 0x8 && (payload_len > 125 || !fin) {
        // Section 5.5: control frames are short and not fragmented.
        return Err(WsError::BadFrame);
    }
    Ok(Some(FrameHead {
        fin,
        opcode,
        payload_len,
        header_len,
    }))
}

/// Reads server frames until a close frame; skips the others.
#[derive(Debug, Clone, Default)]
pub struct CloseWaiter {
    buf: Vec<u8>,
    skip: u64,
    seen: usize,
}

impl CloseWaiter {
    pub fn new() -> Self {
        CloseWaiter::default()
    }

    /// Feed bytes. `Ok(Some(code))` once the close frame is complete
    /// (`1005` for a close frame without a body).
    pub fn push(&mut self, input: &[u8]) -> Result<Option<u16>, WsError> {
        self.seen = self.seen.saturating_add(input.len());
        let mut input = input;
        if self.skip > 0 {
            let n = input
                .len()
                .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
            self.skip -= n as u64;
            input = &input[n..];
        }
        self.buf.extend_from_slice(input);
        loop {
            if self.skip > 0 {
                let n = self
                    .buf
                    .len()
                    .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                self.skip -= n as u64;
                self.buf.drain(..n);
                if self.skip > 0 {
                    break;
                }
            }
            let Some(h) = parse_frame_head(&self.buf)? else {
                break;
            };
            if h.opcode == OP_CLOSE {
                // Control frames are at most 125 bytes: this fits.
                let end = h.header_len + h.payload_len as usize;
                let Some(payload) = self.buf.get(h.header_len..end) else {
                    break;
                };
                return close_code(payload).map(Some);
            }
            self.buf.drain(..h.header_len);
            self.skip = h.payload_len;
        }
        if self.seen > BEFORE_CLOSE_MAX {
            return Err(WsError::TooMuchBeforeClose {
                cap: BEFORE_CLOSE_MAX,
            });
        }
        Ok(None)
    }
}

/// The status code of a close frame body (section 5.5.1): empty, or two
/// bytes of code then a UTF-8 reason.
fn close_code(payload: &[u8]) -> Result<u16, WsError> {
    match payload {
        [] => Ok(CLOSE_NO_STATUS),
        [_] => Err(WsError::BadClosePayload),
        [a, b, reason @ ..] => {
            std::str::from_utf8(reason).map_err(|_| WsError::BadClosePayload)?;
            Ok(u16::from_be_bytes([*a, *b]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::http::parse_head;

    /// RFC 6455 section 1.3's example.
    #[test]
    fn accept_matches_rfc_6455_example() {
        assert_eq!(
            accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        // The key is the nonce "the sample nonce" in base64.
        assert_eq!(encode_key(b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    fn head(extra: &str, accept: &str) -> Head {
        let bytes = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        );
        parse_head(bytes.as_bytes()).unwrap().unwrap().0
    }

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    #[test]
    fn handshake_validation() {
        assert_eq!(validate_handshake(&head("", ACCEPT), KEY, None), Ok(()));
        assert_eq!(
            validate_handshake(&head("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), KEY, None),
            Err(WsError::BadAccept)
        );
        let refused = parse_head(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(
            validate_handshake(&refused, KEY, None),
            Err(WsError::NotUpgraded { status: 400 })
        );
        let no_upgrade = parse_head(
            format!(
                "HTTP/1.1 101 X\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(
            validate_handshake(&no_upgrade, KEY, None),
            Err(WsError::NoUpgradeHeader)
        );
        let no_conn = parse_head(
            format!(
                "HTTP/1.1 101 X\r\nUpgrade: WebSocket\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(
            validate_handshake(&no_conn, KEY, None),
            Err(WsError::NoConnectionUpgrade)
        );
        let no_accept =
            parse_head(b"HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
                .unwrap()
                .unwrap()
                .0;
        assert_eq!(
            validate_handshake(&no_accept, KEY, None),
            Err(WsError::MissingAccept)
        );
        assert_eq!(
            validate_handshake(
                &head("Sec-WebSocket-Extensions: permessage-deflate\r\n", ACCEPT),
                KEY,
                None
            ),
            Err(WsError::UnrequestedExtension)
        );
    }

    #[test]
    fn subprotocol_rules() {
        let chat = head("Sec-WebSocket-Protocol: chat\r\n", ACCEPT);
        assert_eq!(validate_handshake(&chat, KEY, Some("chat")), Ok(()));
        assert_eq!(
            validate_handshake(&chat, KEY, None),
            Err(WsError::UnrequestedSubprotocol)
        );
        assert_eq!(
            validate_handshake(&chat, KEY, Some("mqtt")),
            Err(WsError::UnrequestedSubprotocol)
        );
        assert_eq!(
            validate_handshake(&head("", ACCEPT), KEY, Some("chat")),
            Err(WsError::SubprotocolNotSelected)
        );
    }

    #[test]
    fn request_bytes() {
        let r = upgrade_request("/ws", "lb.example", KEY, Some("http://x"), Some("chat"));
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "GET /ws HTTP/1.1\r\nHost: lb.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Origin: http://x\r\nSec-WebSocket-Protocol: chat\r\nUser-Agent: vigil-health\r\n\r\n"
        );
    }

    #[test]
    fn close_frame_is_masked_1000() {
        let f = close_frame([1, 2, 3, 4], CLOSE_NORMAL);
        assert_eq!(f, [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]);
        // The server's view: unmasked, it reads 1000.
        assert_eq!(u16::from_be_bytes([f[6] ^ f[2], f[7] ^ f[3]]), 1000);
    }

    #[test]
    fn frame_heads() {
        assert_eq!(parse_frame_head(&[0x88]), Ok(None));
        assert_eq!(
            parse_frame_head(&[0x88, 0x02, 0x03, 0xe8]),
            Ok(Some(FrameHead {
                fin: true,
                opcode: 8,
                payload_len: 2,
                header_len: 2
            }))
        );
        assert_eq!(parse_frame_head(&[0x81, 126, 0x01]), Ok(None));
        assert_eq!(
            parse_frame_head(&[0x82, 126, 0x01, 0x00])
                .unwrap()
                .unwrap()
                .payload_len,
            256
        );
        assert_eq!(
            parse_frame_head(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
                .unwrap()
                .unwrap(),
            FrameHead {
                fin: true,
                opcode: 2,
                payload_len: 65536,
                header_len: 10
            }
        );
        for (bad, err) in [
            (&[0xc1u8, 0x00][..], WsError::BadFrame),    // RSV1
            (&[0x83, 0x00], WsError::BadFrame),          // reserved opcode
            (&[0x88, 0x82], WsError::MaskedServerFrame), // masked
            (&[0x89, 126, 0, 200], WsError::BadFrame),   // long ping
            (&[0x08, 0x00], WsError::BadFrame),          // fragmented close
            (&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0], WsError::BadFrame),
        ] {
            assert_eq!(parse_frame_head(bad), Err(err), "{bad:02x?}");
        }
    }

    #[test]
    fn close_waiter_skips_data_and_finds_close() {
        let mut w = CloseWaiter::new();
        // A text frame "hi", a ping, then close 1000 "bye", byte by byte.
        let stream = [
            &[0x81, 0x02, b'h', b'i'][..],
            &[0x89, 0x00],
            &[0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e'],
        ]
        .concat();
        let mut got = None;
        for (i, b) in stream.iter().enumerate() {
            got = w.push(std::slice::from_ref(b)).unwrap();
            if got.is_some() {
                assert_eq!(i, stream.len() - 1);
            }
        }
        assert_eq!(got, Some(1000));
        assert_eq!(
            CloseWaiter::new().push(&[0x88, 0x00]),
            Ok(Some(CLOSE_NO_STATUS))
        );
        assert_eq!(
            CloseWaiter::new().push(&[0x88, 0x01, 0x03]),
            Err(WsError::BadClosePayload)
        );
        assert_eq!(
            CloseWaiter::new().push(&[0x88, 0x04, 0x03, 0xe8, 0xff, 0xfe]),
            Err(WsError::BadClosePayload)
        );
        // A long data frame split over pushes is skipped.
        let mut w = CloseWaiter::new();
        let mut big = vec![0x82, 126, 0x01, 0x00];
        big.extend(std::iter::repeat_n(7u8, 256));
        assert_eq!(w.push(&big[..100]), Ok(None));
        assert_eq!(w.push(&big[100..]), Ok(None));
        assert_eq!(w.push(&[0x88, 0x02, 0x03, 0xe9]), Ok(Some(1001)));
    }

    #[test]
    fn close_waiter_is_bounded() {
        let mut w = CloseWaiter::new();
        // 65,000 bytes of payload (0xfde8): within the bound.
        let mut frame = vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0xfd, 0xe8];
        frame.resize(10 + 65_000, 0);
        assert_eq!(w.push(&frame), Ok(None));
        let mut more = vec![0x82, 126, 0x02, 0x58];
        more.resize(4 + 600, 0);
        assert_eq!(
            w.push(&more),
            Err(WsError::TooMuchBeforeClose {
                cap: BEFORE_CLOSE_MAX
            })
        );
    }
}
