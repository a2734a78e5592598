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

#[test]
fn gzip_is_taken_when_accepted_and_not_refused() {
    let h = |v: &str| format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{v}\r\n\r\n");
    assert!(accepts_gzip(h("Accept-Encoding: gzip").as_bytes()));
    assert!(accepts_gzip(
        h("accept-encoding: deflate, GZIP;q=0.5").as_bytes()
    ));
    assert!(!accepts_gzip(h("Accept-Encoding: gzip;q=0").as_bytes()));
    assert!(!accepts_gzip(h("Accept-Encoding: identity").as_bytes()));
    assert!(!accepts_gzip(h("X-Other: gzip").as_bytes()));
    assert!(!accepts_gzip(b"GET /metrics HTTP/1.1\r\n\r\n"));
}

#[test]
fn gzip_members_carry_the_deflated_body_its_crc_and_length() {
    let body = "vigil_vrrp_state{instance=\"VI_1\"} 2\n".repeat(1000);
    let z = gzip(body.as_bytes());
    assert_eq!(&z[..3], &[0x1f, 0x8b, 8]);
    assert!(z.len() < body.len() / 10, "{} of {}", z.len(), body.len());
    let (deflated, trailer) = z[10..].split_at(z.len() - 18);
    let back = miniz_oxide::inflate::decompress_to_vec(deflated).unwrap();
    assert_eq!(back, body.as_bytes());
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(body.as_bytes());
    assert_eq!(&trailer[..4], &crc.to_le_bytes());
    assert_eq!(&trailer[4..], &(body.len() as u32).to_le_bytes());
}
