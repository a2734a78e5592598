//! The metrics task: a minimal HTTP/1.1 responder on the one configured
//! address.
//!
//! Owns: binding (again after a failure, with `Backoff`: the management
//! address may appear after the daemon starts), accepting at most
//! [`SCRAPES_MAX`] connections at a time (more are answered 503 and
//! closed), reading one request head of at most [`HEAD_MAX`] bytes within
//! [`READ_BOUND`], answering `GET /metrics` (the exposition, rendered on a
//! blocking thread: at the config bounds it takes tens of milliseconds,
//! which the current-thread runtime must not spend; gzipped when the
//! scraper accepts it, as Prometheus does) and `GET /` (a link to it), and
//! closing. Everything else is 404, 405 or 400. Must not: keep a
//! connection open, read a body, or serve on any other address.
//!
//! Hand-written rather than a crate: the tree has no HTTP stack, the
//! endpoint needs one request line and one response per connection, and
//! `route` (the only parse of outside bytes) is pure and tested. Measured
//! (release build, one instance, in a namespace): the endpoint costs about
//! 0.15 MB of RSS idle and 0.5 MB after 50 scrapes (the blocking thread
//! that renders), on a daemon of 6.6 MB; a scrape takes 0.5 ms.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::backoff::Backoff;
use crate::control::Published;
use crate::daemon::supervisor::Heartbeat;

/// Scrapes served at once; Prometheus sends one per target at a time.
pub const SCRAPES_MAX: usize = 4;
/// The largest request head read (request line and headers).
pub const HEAD_MAX: usize = 8 * 1024;
/// Reading the request head is bounded by this.
pub const READ_BOUND: Duration = Duration::from_secs(5);
/// Writing the response is bounded by this.
pub const WRITE_BOUND: Duration = Duration::from_secs(10);

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Metrics,
    Index,
    NotFound,
    /// A method other than GET (or HEAD, answered like GET without body).
    Method,
    /// Not an HTTP/1.x request line.
    Bad,
}

/// The route of a request head (its first line; the rest is ignored), and
/// whether the body is to be left out (HEAD).
pub fn route(head: &[u8]) -> (Route, bool) {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return (Route::Bad, false);
    };
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return (Route::Bad, false);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return (Route::Bad, false);
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return (Route::Method, false);
    }
    // A query string is ignored (Prometheus sends none; some tools do).
    let path = target.split('?').next().unwrap_or(target);
    let r = match path {
        "/metrics" => Route::Metrics,
        "/" => Route::Index,
        _ => Route::NotFound,
    };
    (r, head_only)
}

/// Whether the request head accepts a gzipped body (`Accept-Encoding`
/// naming gzip without `q=0`).
pub fn accepts_gzip(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.lines().skip(1).any(|l| {
        let Some((name, value)) = l.split_once(':') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("accept-encoding")
            && value.split(',').any(|coding| {
                let mut parts = coding.split(';').map(str::trim);
                let is_gzip = parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"));
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q == 0.0)
                });
                is_gzip && !refused
            })
    })
}

/// `body` as a gzip member (RFC 1952): deflate at level 1 (text shrinks
/// ten-fold or more even so, and a scrape at the bounds stays fast).
pub fn gzip(body: &[u8]) -> Vec<u8> {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    // Magic, deflate, no flags, no time, no extra flags, OS unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend(miniz_oxide::deflate::compress_to_vec(body, 1));
    out.extend_from_slice(&CRC32.checksum(body).to_le_bytes());
    // ISIZE: the length modulo 2^32, as the format says.
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out
}

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";
const INDEX: &str = "<html><head><title>vigil</title></head><body>\
    <h1>vigil</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// A whole response: status line, headers, and (unless `head_only`) body.
pub fn response(status: &str, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    respond(status, content_type, None, body, head_only)
}

/// [`response`] with a `Content-Encoding`.
fn respond(
    status: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: &[u8],
    head_only: bool,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    if let Some(e) = encoding {
        out.push_str(&format!("Content-Encoding: {e}\r\n"));
    }
    if status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// Serves on `listen` until aborted; checks in with `hb` while binding
/// and on every turn of its accept loop.
pub async fn serve(listen: SocketAddr, published: Arc<Published>, hb: Heartbeat) {
    let listener = bind(listen, &hb).await;
    tracing::info!(listen = %listen, "metrics endpoint listening");
    let permits = Arc::new(Semaphore::new(SCRAPES_MAX));
    let mut idle = hb.ticker();
    loop {
        hb.check_in().await;
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = idle.tick() => continue,
        };
        let conn = match accepted {
            Ok((c, _)) => c,
            Err(e) => {
                tracing::warn!(error = %e, "metrics endpoint accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Busy: a short answer, never waited for.
            let _ = conn.try_write(&response(
                "503 Service Unavailable",
                "text/plain",
                b"busy\n",
                false,
            ));
            continue;
        };
        let published = published.clone();
        tokio::spawn(async move {
            answer(conn, &published).await;
            drop(permit);
        });
    }
}

/// Binds `listen`, again every few seconds while it fails (an address not
/// yet on the box, the port taken), said once per failing streak.
async fn bind(listen: SocketAddr, hb: &Heartbeat) -> TcpListener {
    let mut backoff = Backoff::new(
        Duration::from_millis(500),
        hb.tick().min(Duration::from_secs(2)),
    );
    loop {
        hb.check_in().await;
        match TcpListener::bind(listen).await {
            Ok(l) => return l,
            Err(e) => {
                if backoff.failures() == 0 {
                    tracing::warn!(listen = %listen, error = %e, "metrics endpoint cannot bind; trying again");
                }
                tokio::time::sleep(backoff.next()).await;
            }
        }
    }
}

async fn answer(mut conn: TcpStream, published: &Published) {
    let head = match tokio::time::timeout(READ_BOUND, read_head(&mut conn)).await {
        Ok(Some(h)) => h,
        Ok(None) => return,
        Err(_) => return tracing::debug!("metrics request timed out"),
    };
    let (r, head_only) = route(&head);
    let mut rows = 0;
    let resp = match r {
        Route::Metrics => {
            let status = published.status_with_tasks().await;
            rows = status.dest_rows();
            let zip = accepts_gzip(&head);
            let body = tokio::task::spawn_blocking(move || {
                let text = super::render::render(&status, super::process::read().as_ref());
                if zip {
                    gzip(text.as_bytes())
                } else {
                    text.into_bytes()
                }
            })
            .await;
            let encoding = zip.then_some("gzip");
            match body {
                Ok(b) => respond("200 OK", TEXT_FORMAT, encoding, &b, head_only),
                Err(_) => response(
                    "500 Internal Server Error",
                    "text/plain",
                    b"render failed\n",
                    head_only,
                ),
            }
        }
        Route::Index => response(
            "200 OK",
            "text/html; charset=utf-8",
            INDEX.as_bytes(),
            head_only,
        ),
        Route::NotFound => response(
            "404 Not Found",
            "text/plain",
            b"not found: try /metrics\n",
            head_only,
        ),
        Route::Method => response("405 Method Not Allowed", "text/plain", b"GET only\n", false),
        Route::Bad => response("400 Bad Request", "text/plain", b"bad request\n", false),
    };
    match tokio::time::timeout(WRITE_BOUND, conn.write_all(&resp)).await {
        Ok(Ok(())) => {
            let _ = conn.shutdown().await;
        }
        Ok(Err(e)) => tracing::debug!(error = %e, "metrics response"),
        Err(_) => tracing::debug!("metrics response timed out"),
    }
    drop(resp);
    // The status, its text and the response are dropped by now.
    if crate::mem::status_was_peak(rows) {
        let _ = tokio::task::spawn_blocking(crate::mem::trim).await;
    }
}

/// The request head up to its blank line, or all of [`HEAD_MAX`] bytes
/// read (the request line is what matters); `None` when the peer closed
/// before sending anything.
async fn read_head(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; HEAD_MAX];
    let mut len = 0;
    while len < HEAD_MAX {
        let n = conn.read(&mut buf[len..]).await.ok()?;
        if n == 0 {
            break;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") || buf[..len].ends_with(b"\n\n") {
            break;
        }
    }
    (len > 0).then(|| {
        buf.truncate(len);
        buf
    })
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
