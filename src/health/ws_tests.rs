//! Unit tests of `ws.rs`.

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
        format!("HTTP/1.1 101 X\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n")
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
        format!("HTTP/1.1 101 X\r\nUpgrade: WebSocket\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n")
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
