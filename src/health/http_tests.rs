//! Byte-fixture tests of the HTTP response parser.

use super::*;

fn parse(bytes: &[u8]) -> Result<Option<Response>, HttpError> {
    parse_response(bytes, true, BODY_MAX)
}

fn body_of(bytes: &[u8]) -> Vec<u8> {
    parse(bytes).unwrap().unwrap().body
}

#[test]
fn status_line_and_headers() {
    let r = parse(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A:  b c \r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(r.head.minor, 1);
    assert_eq!(r.head.status, 200);
    assert_eq!(r.head.get("content-type"), Some(&b"text/plain"[..]));
    assert_eq!(r.head.get("x-a"), Some(&b"b c"[..]));
    assert_eq!(r.head.get("nope"), None);
    assert!(r.body.is_empty());
    assert!(!r.framed, "no length: ends at close");
}

#[test]
fn status_line_variants() {
    for (line, status, minor) in [
        (&b"HTTP/1.0 503 Service Unavailable"[..], 503, 0),
        (b"HTTP/1.1 404 ", 404, 1),
        (b"HTTP/1.1 204", 204, 1),
        (b"HTTP/1.1 101 Switching Protocols", 101, 1),
        (b"HTTP/1.0 999 odd", 999, 0),
    ] {
        let mut bytes = line.to_vec();
        bytes.extend_from_slice(b"\r\n\r\n");
        let (head, len) = parse_head(&bytes).unwrap().unwrap();
        assert_eq!((head.status, head.minor, len), (status, minor, bytes.len()));
    }
    for (line, err) in [
        (&b"HTTP/2 200 OK"[..], HttpError::BadVersion),
        (b"HTTP/1.2 200 OK", HttpError::BadVersion),
        (b"ICY 200 OK", HttpError::BadStatusLine),
        (b"HTTP/1.1 20 OK", HttpError::BadStatusLine),
        (b"HTTP/1.1 2000 OK", HttpError::BadStatusLine),
        (b"HTTP/1.1 099 OK", HttpError::BadStatusLine),
        (b"HTTP/1.1  200 OK", HttpError::BadStatusLine),
        (b"HTTP/1.1 abc OK", HttpError::BadStatusLine),
        (b"", HttpError::BadStatusLine),
    ] {
        let mut bytes = line.to_vec();
        bytes.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse_head(&bytes),
            Err(err),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn bare_lf_line_ends_are_accepted() {
    let r = parse(b"HTTP/1.0 200 OK\nContent-Length: 2\n\nhi")
        .unwrap()
        .unwrap();
    assert_eq!(r.body, b"hi");
    assert!(r.framed);
}

#[test]
fn incomplete_head_needs_more() {
    assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nA: b\r\n"), Ok(None));
    assert_eq!(parse_head(b""), Ok(None));
    assert_eq!(
        parse_response(b"HTTP/1.1 200 OK\r\n", true, BODY_MAX),
        Err(HttpError::Truncated)
    );
    assert_eq!(
        parse_response(b"HTTP/1.1 200 OK\r\n", false, BODY_MAX),
        Ok(None)
    );
}

#[test]
fn malformed_headers() {
    for (bytes, err) in [
        (
            &b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"[..],
            HttpError::BadHeader,
        ),
        (b"HTTP/1.1 200 OK\r\n: empty\r\n\r\n", HttpError::BadHeader),
        (
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            HttpError::BadHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: x\r\n folded\r\n\r\n",
            HttpError::ObsoleteFold,
        ),
        (b"HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n", HttpError::BadHeader),
    ] {
        assert_eq!(
            parse_head(bytes),
            Err(err),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn head_size_and_field_count_are_bounded() {
    let mut big = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    big.resize(HEAD_MAX + 10, b'a');
    assert_eq!(
        parse_head(&big),
        Err(HttpError::HeadTooLong { max: HEAD_MAX })
    );
    let mut reader = ResponseReader::new(BODY_MAX);
    let mut r = Ok(Progress::NeedHead);
    for chunk in big.chunks(1000) {
        r = reader.push(chunk, &mut |_| {});
        if r.is_err() {
            break;
        }
    }
    assert_eq!(r, Err(HttpError::HeadTooLong { max: HEAD_MAX }));

    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=HEADERS_MAX {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_head(&many),
        Err(HttpError::TooManyHeaders { max: HEADERS_MAX })
    );
}

#[test]
fn content_length_framing() {
    let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more")
        .unwrap()
        .unwrap();
    assert_eq!(r.body, b"hello", "bytes after the length are ignored");
    assert!(r.framed);
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
        Err(HttpError::Truncated)
    );
    // Repeats that agree are one length; differing ones are refused.
    assert_eq!(
        body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok"),
        b"ok"
    );
    for bad in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
    ] {
        assert_eq!(parse(bad), Err(HttpError::BadContentLength));
    }
    let zero = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(zero.framed && zero.body.is_empty());
}

#[test]
fn no_body_statuses() {
    for status in ["101", "204", "304", "100"] {
        let bytes = format!("HTTP/1.1 {status} X\r\nContent-Length: 5\r\n\r\nhello");
        let r = parse_response(bytes.as_bytes(), false, BODY_MAX)
            .unwrap()
            .unwrap();
        assert!(r.body.is_empty() && r.framed, "{status}");
    }
}

#[test]
fn until_close_framing() {
    let bytes = b"HTTP/1.0 200 OK\r\n\r\nall of it";
    assert_eq!(parse_response(bytes, false, BODY_MAX), Ok(None));
    assert_eq!(body_of(bytes), b"all of it");
    // A transfer coding other than chunked also reads until close.
    assert_eq!(
        body_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nxyz"),
        b"xyz"
    );
}

#[test]
fn chunked_bodies() {
    let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nextra";
    let r = parse_response(bytes, false, BODY_MAX).unwrap().unwrap();
    assert_eq!(r.body, b"hello, world0123456789");
    assert!(r.framed);
    // Bare LF, upper-case hex, `gzip, chunked` (chunked last).
    assert_eq!(
        body_of(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\nB\nhello world\n0\n\n"
        ),
        b"hello world"
    );
    // Truncated before the last chunk.
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
        Err(HttpError::Truncated)
    );
    for bad in [
        &b"5\r\nhelloXX"[..],
        b"zz\r\n",
        b"\r\n",
        b"1234567890abcdef0\r\n",
        b"0\r\n\rX",
    ] {
        let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        bytes.extend_from_slice(bad);
        assert_eq!(
            parse(&bytes),
            Err(HttpError::BadChunk),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn body_cap() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    assert_eq!(
        parse_response(bytes, true, 9),
        Err(HttpError::BodyTooLarge { cap: 9 })
    );
    assert!(parse_response(bytes, true, 10).unwrap().is_some());
    let close = b"HTTP/1.0 200 OK\r\n\r\n0123456789";
    assert_eq!(
        parse_response(close, true, 4),
        Err(HttpError::BodyTooLarge { cap: 4 })
    );
}

/// Any split of the input gives the same result as the whole.
#[test]
fn byte_by_byte_equals_whole() {
    let bytes: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
    let whole = parse(bytes).unwrap().unwrap();
    for split in 0..bytes.len() {
        let mut reader = ResponseReader::new(BODY_MAX);
        let mut body = Vec::new();
        reader
            .push(&bytes[..split], &mut |b| body.extend_from_slice(b))
            .unwrap();
        let p = reader
            .push(&bytes[split..], &mut |b| body.extend_from_slice(b))
            .unwrap();
        assert_eq!(p, Progress::Complete, "split {split}");
        assert_eq!(body, whole.body, "split {split}");
        assert_eq!(reader.head(), Some(&whole.head));
    }
    let mut reader = ResponseReader::new(BODY_MAX);
    let mut body = Vec::new();
    let mut last = Progress::NeedHead;
    for b in bytes {
        last = reader
            .push(std::slice::from_ref(b), &mut |b| body.extend_from_slice(b))
            .unwrap();
    }
    assert_eq!(last, Progress::Complete);
    assert_eq!(body, whole.body);
}

#[test]
fn list_tokens() {
    let (head, _) = parse_head(
        b"HTTP/1.1 101 Switching\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n",
    )
    .unwrap()
    .unwrap();
    assert!(head.has_token("connection", "upgrade"));
    assert!(head.has_token("upgrade", "websocket"));
    assert!(!head.has_token("connection", "close"));
}

#[test]
fn request_bytes_in_each_http_protocol() {
    use crate::config::model::HttpProtocol;
    let req = |p| String::from_utf8(get_request("/health", "www.example.com", p)).unwrap();
    // keepalived's default, 1.0: no Connection field.
    assert_eq!(
        req(HttpProtocol::V10),
        "GET /health HTTP/1.0\r\nHost: www.example.com\r\nUser-Agent: vigil-health\r\n\
         Accept: */*\r\n\r\n"
    );
    assert_eq!(
        req(HttpProtocol::V10Close),
        "GET /health HTTP/1.0\r\nHost: www.example.com\r\nUser-Agent: vigil-health\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        req(HttpProtocol::V11),
        "GET /health HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: vigil-health\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
}
