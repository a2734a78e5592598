//! Each check against real servers on 127.0.0.0/8, started in-process by
//! the test on tokio (TCP, HTTP, TLS with a self-signed rcgen certificate,
//! WebSocket good and broken in each way WS_CHECK must notice).
//!
//! Must not: leave loopback, sleep longer than a check's timeout, or loop
//! without a bound. Every server task ends with the test's runtime.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vigil::health::check::{self, CheckSpec, Context, HttpSpec, Kind, SslSpec, UrlSpec, WsSpec};
use vigil::health::ws::WsError;
use vigil::health::{tls, Failure, HttpError, Stage, TlsFailure};

const TIMEOUT: Duration = Duration::from_millis(500);
/// Slack for a loaded 2-core box.
const SLACK: Duration = Duration::from_millis(400);

fn spec(target: SocketAddr, kind: Kind) -> CheckSpec {
    CheckSpec {
        target,
        bindto: None,
        timeout: TIMEOUT,
        kind,
        dr: None,
    }
}

fn url(path: &str, status: Vec<(u16, u16)>, digest: Option<[u8; 16]>) -> UrlSpec {
    UrlSpec {
        path: path.into(),
        status,
        digest,
        virtualhost: None,
    }
}

fn http(urls: Vec<UrlSpec>) -> Box<HttpSpec> {
    Box::new(HttpSpec {
        host: "www.example.com".into(),
        urls,
        ..Default::default()
    })
}

fn md5_of(bytes: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(bytes).into()
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Read a request head (bounded), return it as text.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn header<'a>(req: &'a str, name: &str) -> Option<&'a str> {
    req.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An HTTP server answering every request with `response`; records the
/// requests it saw.
async fn http_server(response: &'static [u8]) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let (l, addr) = listener().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let req = read_request(&mut s).await;
                log.lock().unwrap().push(req);
                let _ = s.write_all(response).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, seen)
}

/// Accepts and holds connections without a byte of answer.
async fn silent_server() -> SocketAddr {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    addr
}

async fn run(spec: &CheckSpec) -> (Result<(), Failure>, Duration) {
    let t = Instant::now();
    let r = check::run(spec, &Context::new()).await;
    (r, t.elapsed())
}

// ---------------------------------------------------------------- TCP_CHECK

#[tokio::test]
async fn tcp_up_then_refused_when_the_listener_closes() {
    let (l, addr) = listener().await;
    let s = spec(addr, Kind::Tcp);
    assert_eq!(run(&s).await.0, Ok(()));
    drop(l);
    let (r, took) = run(&s).await;
    assert_eq!(r, Err(Failure::Refused));
    assert!(took < TIMEOUT, "a refusal is immediate: {took:?}");
}

/// A listener whose accept queue is full drops SYNs: connect times out.
/// (backlog 0 admits one connection; it is never accepted.)
#[tokio::test]
async fn tcp_timeout_when_the_accept_queue_is_full() {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the accept queue never filled");
    let (r, took) = run(&spec(addr, Kind::Tcp)).await;
    assert_eq!(
        r,
        Err(Failure::Timeout {
            stage: Stage::Connect
        })
    );
    assert!(took >= TIMEOUT && took < TIMEOUT + SLACK, "{took:?}");
}

/// What the server reads on a connection the check has closed: a reset
/// for TCP_CHECK (no FIN handshake, no TIME_WAIT on the checker's side).
async fn read_after_check(l: &TcpListener) -> std::io::Result<usize> {
    let (mut s, _) = tokio::time::timeout(TIMEOUT, l.accept())
        .await
        .expect("the check connected")
        .unwrap();
    let mut b = [0u8; 16];
    tokio::time::timeout(TIMEOUT, s.read(&mut b))
        .await
        .expect("the check closed its connection")
}

#[tokio::test]
async fn tcp_check_closes_with_a_reset_both_ways_of_running_it() {
    let (l, addr) = listener().await;
    let s = spec(addr, Kind::Tcp);
    assert_eq!(run(&s).await.0, Ok(()));
    let r = read_after_check(&l).await;
    assert_eq!(
        r.as_ref().map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "{r:?}"
    );
    // The runner's way: a tagged future.
    let (tag, verdict, took) = check::start(7u32, &Arc::new(s), &Context::new()).await;
    assert_eq!((tag, verdict.outcome, verdict.weight), (7, Ok(()), None));
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    let r = read_after_check(&l).await;
    assert_eq!(
        r.as_ref().map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "{r:?}"
    );
}

#[tokio::test]
async fn tcp_bindto_sets_the_source_address() {
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move { l.accept().await.unwrap().1.ip() });
    let mut s = spec(addr, Kind::Tcp);
    s.bindto = Some("127.0.0.2".parse().unwrap());
    assert_eq!(run(&s).await.0, Ok(()));
    assert_eq!(peer.await.unwrap(), "127.0.0.2".parse::<IpAddr>().unwrap());
    // An address that is not on this box cannot be bound.
    s.bindto = Some("192.0.2.1".parse().unwrap());
    assert_eq!(
        run(&s).await.0,
        Err(Failure::Bind(std::io::ErrorKind::AddrNotAvailable))
    );
}

// ----------------------------------------------------------------- HTTP_GET

#[tokio::test]
async fn http_status_in_and_out_of_range() {
    let (ok, seen) = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
    let (down, _) =
        http_server(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!(
        run(&spec(ok, Kind::Http(http(vec![url("/h", vec![], None)]))))
            .await
            .0,
        Ok(())
    );
    let req = seen.lock().unwrap()[0].clone();
    assert!(req.starts_with("GET /h HTTP/1.0\r\n"), "{req}");
    assert_eq!(header(&req, "host"), Some("www.example.com"));
    // http_protocol 1.0 (keepalived's default): no Connection field.
    assert_eq!(header(&req, "connection"), None);

    assert_eq!(
        run(&spec(down, Kind::Http(http(vec![url("/", vec![], None)]))))
            .await
            .0,
        Err(Failure::BadStatus { code: 503 })
    );
    // status_code 500-599: 503 is fine, 200 is not.
    let five = vec![(500, 599)];
    assert_eq!(
        run(&spec(
            down,
            Kind::Http(http(vec![url("/", five.clone(), None)]))
        ))
        .await
        .0,
        Ok(())
    );
    assert_eq!(
        run(&spec(ok, Kind::Http(http(vec![url("/", five, None)]))))
            .await
            .0,
        Err(Failure::BadStatus { code: 200 })
    );
}

#[tokio::test]
async fn http_digest_match_and_mismatch() {
    let (addr, _) = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
    let good = md5_of(b"hello");
    assert_eq!(
        run(&spec(
            addr,
            Kind::Http(http(vec![url("/", vec![], Some(good))]))
        ))
        .await
        .0,
        Ok(())
    );
    assert_eq!(
        run(&spec(
            addr,
            Kind::Http(http(vec![url("/", vec![], Some(md5_of(b"other")))]))
        ))
        .await
        .0,
        Err(Failure::DigestMismatch)
    );
    // Several URLs: all must pass, in order.
    let both = vec![
        url("/a", vec![], Some(good)),
        url("/b", vec![(300, 399)], None),
    ];
    assert_eq!(
        run(&spec(addr, Kind::Http(http(both)))).await.0,
        Err(Failure::BadStatus { code: 200 })
    );
}

#[tokio::test]
async fn http_digest_of_chunked_and_until_close_bodies() {
    let (chunked, _) = http_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
    )
    .await;
    let (close, _) = http_server(b"HTTP/1.0 200 OK\r\n\r\nhello").await;
    for addr in [chunked, close] {
        let s = spec(
            addr,
            Kind::Http(http(vec![url("/", vec![], Some(md5_of(b"hello")))])),
        );
        assert_eq!(run(&s).await.0, Ok(()), "{addr}");
    }
}

#[tokio::test]
async fn http_server_that_never_answers_times_out() {
    let addr = silent_server().await;
    let (r, took) = run(&spec(addr, Kind::Http(http(vec![url("/", vec![], None)])))).await;
    assert_eq!(r, Err(Failure::Timeout { stage: Stage::Head }));
    assert!(took >= TIMEOUT && took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn http_bad_and_truncated_responses() {
    let (closed, _) = http_server(b"").await;
    let (garbage, _) = http_server(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
    let (short, _) = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello").await;
    let h = |d| Kind::Http(http(vec![url("/", vec![], d)]));
    assert_eq!(
        run(&spec(closed, h(None))).await.0,
        Err(Failure::Closed { stage: Stage::Head })
    );
    assert_eq!(
        run(&spec(garbage, h(None))).await.0,
        Err(Failure::Http(HttpError::BadStatusLine))
    );
    // Without a digest the body does not matter; with one it must be whole.
    assert_eq!(run(&spec(short, h(None))).await.0, Ok(()));
    assert_eq!(
        run(&spec(short, h(Some(md5_of(b"hello"))))).await.0,
        Err(Failure::Closed { stage: Stage::Body })
    );
}

// ------------------------------------------------------------------ SSL_GET

/// A TLS server with a fresh self-signed certificate for "localhost";
/// records the SNI each client sent.
async fn tls_server(
    response: &'static [u8],
    close_notify: bool,
) -> (SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (l, addr) = listener().await;
    let snis = Arc::new(Mutex::new(Vec::new()));
    let log = snis.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                log.lock()
                    .unwrap()
                    .push(tls.get_ref().1.server_name().map(str::to_owned));
                read_request(&mut tls).await;
                let _ = tls.write_all(response).await;
                let _ = tls.flush().await;
                if close_notify {
                    let _ = tls.shutdown().await;
                } else {
                    // Close TCP without a TLS close_notify.
                    let _ = tls.into_inner().0.shutdown().await;
                }
            });
        }
    });
    (addr, snis)
}

fn ssl(addr: SocketAddr, vhost: Option<&str>, u: UrlSpec) -> CheckSpec {
    spec(
        addr,
        Kind::Ssl(Box::new(SslSpec {
            http: HttpSpec {
                host: vhost.unwrap_or("127.0.0.1").into(),
                urls: vec![u],
                ..Default::default()
            },
            server_name: tls::server_name(vhost, addr.ip()),
            url_sni: false,
        })),
    )
}

#[tokio::test]
async fn ssl_get_with_a_self_signed_certificate() {
    let (addr, snis) = tls_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true).await;
    // No certificate verification (keepalived's default): passes.
    let digest = Some(md5_of(b"ok"));
    assert_eq!(
        run(&ssl(
            addr,
            Some("api.example.com"),
            url("/", vec![], digest)
        ))
        .await
        .0,
        Ok(())
    );
    assert_eq!(
        run(&ssl(addr, None, url("/", vec![], Some(md5_of(b"ko")))))
            .await
            .0,
        Err(Failure::DigestMismatch)
    );
    assert_eq!(
        run(&ssl(addr, None, url("/", vec![(500, 599)], None)))
            .await
            .0,
        Err(Failure::BadStatus { code: 200 })
    );
    // SNI is the virtualhost; none for an address.
    let snis = snis.lock().unwrap().clone();
    assert_eq!(snis[0].as_deref(), Some("api.example.com"));
    assert_eq!(snis[1], None);
}

/// A config's SSL_GET (one real server on `addr`, urls `/a` with its own
/// virtualhost and `/b` without), planned as the daemon plans it.
fn planned_ssl(addr: SocketAddr, checker: &str) -> CheckSpec {
    let text = format!(
        "virtual_server 10.0.0.1 443 {{\n protocol TCP\n virtualhost svc.example\n \
         real_server {} {} {{\n  virtualhost rs.example\n  SSL_GET {{\n{checker}   \
         url {{\n    path /a\n    virtualhost url.example\n   }}\n   url {{\n    path /b\n   }}\n  \
         }}\n }}\n}}\n",
        addr.ip(),
        addr.port()
    );
    let c = vigil::config::import_str("t.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()))
        .config;
    let p = vigil::health::plan::plan(&c).unwrap();
    (*p[0].checks[0].spec).clone()
}

#[tokio::test]
async fn ssl_get_sends_sni_only_with_enable_sni_in_keepalived_s_order() {
    let (addr, snis) = tls_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true).await;
    let cases: [(&str, [Option<&str>; 2]); 4] = [
        // keepalived sends no SNI without enable_sni.
        ("", [None, None]),
        // The url's own virtualhost, then the service's (not the real
        // server's: keepalived skips it for SNI).
        (
            "   enable_sni\n",
            [Some("url.example"), Some("svc.example")],
        ),
        (
            "   enable_sni\n   virtualhost chk.example\n",
            [Some("url.example"), Some("chk.example")],
        ),
        // sni_name turns SNI on and wins over every virtualhost.
        ("   sni_name sni.example\n", [Some("sni.example"); 2]),
    ];
    for (n, (checker, want)) in cases.iter().enumerate() {
        let spec = planned_ssl(addr, checker);
        assert_eq!(run(&spec).await.0, Ok(()), "{checker}");
        let got = snis.lock().unwrap()[2 * n..].to_vec();
        let want: Vec<Option<String>> = want.iter().map(|w| w.map(str::to_owned)).collect();
        assert_eq!(got, want, "{checker}");
    }
}

#[tokio::test]
async fn http_get_host_per_url_and_http_protocol_1_1() {
    let (addr, seen) = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n protocol TCP\n virtualhost svc.example\n \
         real_server {} {} {{\n  virtualhost rs.example\n  HTTP_GET {{\n   http_protocol 1.1\n   \
         url {{\n    path /a\n    virtualhost url.example\n   }}\n   url {{\n    path /b\n   }}\n  \
         }}\n }}\n}}\n",
        addr.ip(),
        addr.port()
    );
    let c = vigil::config::import_str("t.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()))
        .config;
    let spec = vigil::health::plan::plan(&c).unwrap()[0].checks[0]
        .spec
        .clone();
    assert_eq!(run(&spec).await.0, Ok(()));
    let reqs = seen.lock().unwrap().clone();
    assert!(reqs[0].starts_with("GET /a HTTP/1.1\r\n"), "{reqs:?}");
    assert_eq!(header(&reqs[0], "host"), Some("url.example"));
    assert_eq!(header(&reqs[0], "connection"), Some("close"));
    // No url virtualhost: the real server's, before the service's.
    assert!(reqs[1].starts_with("GET /b HTTP/1.1\r\n"), "{reqs:?}");
    assert_eq!(header(&reqs[1], "host"), Some("rs.example"));
}

/// A body that ends at close, from a server that closes TCP without a
/// close_notify: still a whole body (keepalived accepts it too).
#[tokio::test]
async fn ssl_get_without_close_notify() {
    let (addr, _) = tls_server(b"HTTP/1.0 200 OK\r\n\r\nuntil close", false).await;
    let digest = Some(md5_of(b"until close"));
    assert_eq!(
        run(&ssl(addr, None, url("/", vec![], digest))).await.0,
        Ok(())
    );
}

#[tokio::test]
async fn ssl_get_against_plain_http_is_a_tls_failure() {
    // A plain-text server that speaks first (its answer to the
    // ClientHello): not a TLS record.
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            let mut rest = [0u8; 1024];
            let _ = s.read(&mut rest).await;
        }
    });
    let r = run(&ssl(addr, None, url("/", vec![], None))).await.0;
    assert!(
        matches!(
            r,
            Err(Failure::Tls(TlsFailure::PeerMisbehaved)) | Err(Failure::Tls(TlsFailure::Other))
        ),
        "{r:?}"
    );
}

// ----------------------------------------------------------------- WS_CHECK

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ws {
    /// A correct server: 101, right accept, answers the close frame.
    Good,
    /// Accepts TCP, refuses the upgrade with this status.
    Refuse(u16),
    WrongAccept,
    /// Upgrades, then never sends a close frame (holds the connection).
    Mute,
    /// Upgrades, then closes TCP without a close frame.
    Hangup,
}

/// What the good server verified about the client's closing frame.
type CloseLog = Arc<Mutex<Vec<(String, Option<u16>)>>>;

fn accept_of(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes())
}

async fn ws_server(mode: Ws) -> (SocketAddr, CloseLog) {
    let (l, addr) = listener().await;
    let log: CloseLog = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(ws_conn(s, mode, seen.clone()));
        }
    });
    (addr, log)
}

async fn ws_conn(mut s: TcpStream, mode: Ws, log: CloseLog) {
    let req = read_request(&mut s).await;
    if req.is_empty() {
        return; // a TCP_CHECK: connect and close
    }
    let key = header(&req, "sec-websocket-key").unwrap_or("").to_owned();
    let accept = match mode {
        Ws::WrongAccept => accept_of("not the key"),
        _ => accept_of(&key),
    };
    let answer = match mode {
        Ws::Refuse(code) => format!("HTTP/1.1 {code} No\r\nContent-Length: 0\r\n\r\n"),
        _ => format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{}\r\n",
            header(&req, "sec-websocket-protocol")
                .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
                .unwrap_or_default()
        ),
    };
    if s.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    match mode {
        Ws::Refuse(_) => {
            let _ = s.shutdown().await;
            return;
        }
        Ws::Hangup => {
            // FIN without a close frame; drain what the client sends (its
            // close frame) until it closes too, so it sees EOF, not RST.
            let _ = s.shutdown().await;
            let mut rest = [0u8; 64];
            for _ in 0..16 {
                if matches!(s.read(&mut rest).await, Ok(0) | Err(_)) {
                    break;
                }
            }
            return;
        }
        _ => {}
    }
    // The client's close frame: FIN|close, MASK|2, key, masked code.
    let mut f = [0u8; 8];
    let code = match s.read_exact(&mut f).await {
        Ok(_) if f[0] == 0x88 && f[1] == 0x82 => {
            Some(u16::from_be_bytes([f[6] ^ f[2], f[7] ^ f[3]]))
        }
        _ => None,
    };
    log.lock().unwrap().push((req, code));
    if mode == Ws::Mute {
        // Hold until the client gives up.
        let mut rest = [0u8; 64];
        let _ = s.read(&mut rest).await;
        return;
    }
    let _ = s.write_all(&[0x88, 0x02, 0x03, 0xe8]).await;
    let _ = s.shutdown().await;
}

fn ws_spec(addr: SocketAddr, origin: Option<&str>, subprotocol: Option<&str>) -> CheckSpec {
    spec(
        addr,
        Kind::Ws(Box::new(WsSpec {
            path: "/chat".into(),
            host: "ws.example.com".into(),
            origin: origin.map(str::to_owned),
            subprotocol: subprotocol.map(str::to_owned),
        })),
    )
}

#[tokio::test]
async fn ws_check_passes_a_correct_server_and_closes_cleanly() {
    let (addr, log) = ws_server(Ws::Good).await;
    let (r, took) = run(&ws_spec(addr, Some("http://lb.example"), Some("chat"))).await;
    assert_eq!(r, Ok(()));
    assert!(took < TIMEOUT, "{took:?}");
    let (req, code) = log.lock().unwrap()[0].clone();
    assert!(req.starts_with("GET /chat HTTP/1.1\r\n"), "{req}");
    assert_eq!(header(&req, "host"), Some("ws.example.com"));
    assert_eq!(header(&req, "upgrade"), Some("websocket"));
    assert_eq!(header(&req, "connection"), Some("Upgrade"));
    assert_eq!(header(&req, "sec-websocket-version"), Some("13"));
    assert_eq!(header(&req, "origin"), Some("http://lb.example"));
    assert_eq!(header(&req, "sec-websocket-protocol"), Some("chat"));
    let key = header(&req, "sec-websocket-key").unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    assert_eq!(raw.len(), 16, "a 16-byte nonce");
    assert_eq!(code, Some(1000), "a masked close frame with 1000");
    // A fresh key each time.
    assert_eq!(run(&ws_spec(addr, None, None)).await.0, Ok(()));
    let keys: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(r, _)| header(r, "sec-websocket-key").unwrap().to_owned())
        .collect();
    assert_ne!(keys[0], keys[1]);
}

/// The scenario: a server that accepts TCP but refuses the
/// upgrade passes TCP_CHECK and fails WS_CHECK.
#[tokio::test]
async fn ws_refused_upgrade_fails_ws_check_but_passes_tcp_check() {
    for code in [200, 400] {
        let (addr, _) = ws_server(Ws::Refuse(code)).await;
        assert_eq!(run(&spec(addr, Kind::Tcp)).await.0, Ok(()), "{code}");
        assert_eq!(
            run(&ws_spec(addr, None, None)).await.0,
            Err(Failure::Ws(WsError::NotUpgraded { status: code }))
        );
    }
}

#[tokio::test]
async fn ws_wrong_accept_key_fails() {
    let (addr, _) = ws_server(Ws::WrongAccept).await;
    assert_eq!(
        run(&ws_spec(addr, None, None)).await.0,
        Err(Failure::Ws(WsError::BadAccept))
    );
}

#[tokio::test]
async fn ws_without_a_close_frame_fails() {
    let (mute, _) = ws_server(Ws::Mute).await;
    let (r, took) = run(&ws_spec(mute, None, None)).await;
    assert_eq!(
        r,
        Err(Failure::Timeout {
            stage: Stage::WsClose
        })
    );
    assert!(took >= TIMEOUT && took < TIMEOUT + SLACK, "{took:?}");
    let (hangup, _) = ws_server(Ws::Hangup).await;
    assert_eq!(
        run(&ws_spec(hangup, None, None)).await.0,
        Err(Failure::Ws(WsError::NoCloseFrame))
    );
}

// DR-path checks (`ipvs::dr_path`) without IPVS: the "VIP" is another
// loopback address on the same port, where nothing listens, so the path
// fails as a real server without the VIP on its loopback makes it fail,
// while the server answers on its own address. (The mark rides on the
// socket and changes nothing on loopback; the lab runs the real path.)

fn dr_spec(target: SocketAddr, kind: Kind) -> CheckSpec {
    CheckSpec {
        dr: Some(vigil::ipvs::dr_path::CheckPath {
            vip: SocketAddr::new("127.0.0.2".parse().unwrap(), target.port()),
            mark: vigil::ipvs::dr_path::MARK_FIRST,
            tunnel: false,
        }),
        ..spec(target, kind)
    }
}

#[tokio::test]
async fn a_dr_path_that_fails_where_the_server_answers_says_so_from_its_second_run() {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        loop {
            let _ = l.accept().await;
        }
    });
    let (s, ctx) = (dr_spec(addr, Kind::Tcp), Context::new());
    // First failure: the path's own failure, no comparison yet.
    assert_eq!(check::run(&s, &ctx).await, Err(Failure::Refused));
    // Next: the server's own address is asked beside the path.
    let f = check::run(&s, &ctx).await.unwrap_err();
    assert_eq!(
        f,
        Failure::DrPath {
            port: addr.port(),
            tunnel: false
        }
    );
    let service = vigil::config::model::ServiceKey::Addr {
        addr: "127.0.0.2".parse().unwrap(),
        port: addr.port(),
    };
    assert_eq!(
        f.words(service, addr.ip()),
        format!(
            "answers on {addr} but not for the VIP 127.0.0.2:{} delivered to its MAC: is the VIP on its loopback?",
            addr.port()
        )
    );
}

#[tokio::test]
async fn a_dr_path_failing_where_the_server_is_down_too_reports_the_servers_own_failure() {
    let (l, addr) = listener().await;
    drop(l);
    let (s, ctx) = (dr_spec(addr, Kind::Tcp), Context::new());
    assert_eq!(check::run(&s, &ctx).await, Err(Failure::Refused));
    assert_eq!(check::run(&s, &ctx).await, Err(Failure::Refused));
}

#[tokio::test]
async fn a_dr_path_that_answers_passes_and_asks_the_path_alone() {
    // The "VIP" listens (as a real server holding it would answer); the
    // server's own address does not: a path check never asks it while the
    // path passes.
    let vip = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = vip.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let _ = vip.accept().await;
        }
    });
    let own = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
    let (s, ctx) = (dr_spec(own, Kind::Tcp), Context::new());
    assert_eq!(check::run(&s, &ctx).await, Ok(()));
    assert_eq!(check::run(&s, &ctx).await, Ok(()));
}

#[tokio::test]
async fn a_dr_path_check_waits_while_its_path_is_not_in_the_kernel() {
    let (l, addr) = listener().await;
    drop(l);
    let s = dr_spec(addr, Kind::Tcp);
    let (tx, rx) = tokio::sync::watch::channel(vigil::ipvs::dr_path::Ready::default());
    let ctx = Context::new().with_dr_ready(rx);
    assert_eq!(
        check::run(&s, &ctx).await,
        Err(Failure::Local(
            vigil::health::local::LocalError::DrPathNotReady
        ))
    );
    let path = s.dr.unwrap().service();
    tx.send_replace(std::sync::Arc::new([path].into_iter().collect()));
    assert_eq!(check::run(&s, &ctx).await, Err(Failure::Refused));
}
