//! Unit tests of `serve.rs`: the request line's routes.

use super::*;

#[test]
fn routes_of_request_lines() {
    let r = |s: &str| route(s.as_bytes());
    assert_eq!(
        r("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
        (Route::Metrics, false)
    );
    assert_eq!(
        r("GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
        (Route::Metrics, false)
    );
    assert_eq!(r("HEAD /metrics HTTP/1.1\r\n\r\n"), (Route::Metrics, true));
    assert_eq!(r("GET / HTTP/1.1\n\n"), (Route::Index, false));
    assert_eq!(r("GET /other HTTP/1.1\r\n\r\n"), (Route::NotFound, false));
    assert_eq!(r("POST /metrics HTTP/1.1\r\n\r\n"), (Route::Method, false));
    assert_eq!(r("GET /metrics\r\n\r\n"), (Route::Bad, false));
    assert_eq!(r("GET metrics HTTP/1.1\r\n"), (Route::Bad, false));
    assert_eq!(r("GET /metrics SPDY/3\r\n"), (Route::Bad, false));
    assert_eq!(r("GET  /metrics HTTP/1.1\r\n"), (Route::Bad, false));
    assert_eq!(
        route(b"\xff\xfe /metrics HTTP/1.1\r\n"),
        (Route::Bad, false)
    );
    assert_eq!(route(b""), (Route::Bad, false));
}

#[test]
fn responses_carry_length_close_and_no_body_for_head() {
    let full = response("200 OK", "text/plain", b"abc", false);
    let text = String::from_utf8(full).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Length: 3\r\n") && text.contains("Connection: close\r\n"));
    assert!(text.ends_with("\r\n\r\nabc"), "{text}");
    let head = String::from_utf8(response("200 OK", "text/plain", b"abc", true)).unwrap();
    assert!(
        head.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"),
        "{head}"
    );
    let m =
        String::from_utf8(response("405 Method Not Allowed", "text/plain", b"", false)).unwrap();
    assert!(m.contains("Allow: GET, HEAD\r\n"), "{m}");
}
