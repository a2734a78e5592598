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
#[path = "ws_tests.rs"]
mod tests;
