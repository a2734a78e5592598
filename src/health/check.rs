//! The I/O of one check, on tokio: TCP_CHECK, HTTP_GET, SSL_GET, WS_CHECK,
//! and MISC_CHECK through `misc`.
//!
//! Owns: [`CheckSpec`] (a checker resolved from the config: address, bind
//! address, timeout, what to ask), [`run`], which performs one check
//! and returns its [`Outcome`], and [`start`], the same as a boxed future
//! for the runner. The runner makes a plain TCP_CHECK (no DR path) with
//! `connects` instead: the same connect and close, without a future.
//! Must not: decide up/down, retry, or log (the scheduler and the runner
//! do); parse bytes itself (the pure `http` and `ws` modules do).
//!
//! Time bound: `connect_timeout` bounds the WHOLE check (connect, TLS,
//! request, response, and for WS_CHECK the closing handshake), one
//! deadline for every step; a timeout names the step it hit
//! ([`Stage`]). keepalived instead re-arms `connect_timeout` for each
//! read; one deadline makes "a check ends within connect_timeout" true,
//! which the down-time formula of the scheduler relies on. HTTP_GET and
//! SSL_GET with several `url` blocks check them in order, each on its own
//! connection with its own `connect_timeout` (keepalived checks one URL
//! per delay_loop); the first failure ends the check.
//!
//! Steps: TCP_CHECK connects (binding `bindto` if set) and closes.
//! HTTP_GET sends `GET path HTTP/1.x` with `Host` (the url's own
//! `virtualhost`, else the checker's resolved one) as `http_protocol`
//! says (see `http::get_request`), reads the head, fails on a status outside the ranges (default
//! 200-299), and, with a `digest`, MD5s the body (at most
//! [`http::BODY_MAX`] bytes) and compares. Without a digest the rest of
//! the body is drained politely until the deadline but cannot fail the
//! check. SSL_GET is the same over TLS (see `tls`). WS_CHECK sends the
//! RFC 6455 upgrade with a random 16-byte key, requires `101` with the
//! right `Sec-WebSocket-Accept`, sends a masked close frame (1000), and
//! requires the server's close frame back; then it closes TCP.
//!
//! Closing: a TCP_CHECK connection, once made, is closed with SO_LINGER
//! {on, 0}, i.e. a RST (as HAProxy closes its connect-only checks): no
//! FIN/ACK exchange, and no socket left in TIME_WAIT on this box for 60 s
//! (at 1,000 checks/s a FIN-closing checker keeps some 60,000). The
//! checked server sees a reset instead of an orderly close of a
//! connection that never carried data. HTTP_GET, SSL_GET and WS_CHECK
//! close normally: their servers end the exchange.
//!
//! DR-path checks (a spec with `dr`, see `ipvs::dr_path`): the same
//! check, to the VIP and port, the socket marked (SO_MARK) for the real
//! server's path service and bound to `bindto`, else to the box's address
//! toward the real server (asked of the routes, kept [`SOURCE_FOR`]: the
//! VIP would be chosen on the MASTER, and the real server would answer
//! itself). Not made (a local error, `DrPathNotReady`) while the IPVS task
//! has not put the path in the kernel. While the path fails for a reason
//! of the server's, each check also runs on the server's own address at
//! once, with the same deadline: answered there, the failure is
//! [`Failure::DrPath`]; failed there too, it is that failure.
//!
//! `bindto`: the socket is bound with IP_BIND_ADDRESS_NO_PORT, so the
//! source port is chosen at connect, unique per destination, instead of
//! at bind, where each port taken (TIME_WAIT ones included) is taken for
//! every destination: bind-time choice runs out after some 28,000
//! sockets (the default ip_local_port_range).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::{Digest as _, Md5};
use nix::sys::socket::{setsockopt, sockopt};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::TlsConnector;

use crate::config::model::HttpProtocol;
use crate::ipvs::dr_path::{self, CheckPath};

use super::http::{self, HttpError, Progress, ResponseReader};
use super::misc::{self, MiscSpec, Verdict};
use super::outcome::{Failure, LocalError, Outcome, Reason, Stage};
use super::tls;
use super::ws::{self, CloseWaiter, WsError};

/// One checker, resolved: what to connect to and what to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSpec {
    /// Where it connects; for MISC_CHECK, the real server it speaks for
    /// (port 0 without one), shown in `vigil status`.
    pub target: SocketAddr,
    pub bindto: Option<IpAddr>,
    /// `connect_timeout` (`misc_timeout` for MISC_CHECK): the bound of
    /// the whole check.
    pub timeout: Duration,
    pub kind: Kind,
    /// A DR-path check: by the VIP, marked for this real server's path
    /// (see `ipvs::dr_path`); `target` is then only asked when the path
    /// fails, to tell the operator what is wrong.
    pub dr: Option<CheckPath>,
}

/// What a checker asks. All but TCP_CHECK's are boxed: a spec is held per
/// checker (100,000 at the bounds, nearly all TCP_CHECK in a large
/// table), and an unboxed kind would size every spec for the largest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Http(Box<HttpSpec>),
    Ssl(Box<SslSpec>),
    Ws(Box<WsSpec>),
    Misc(Box<MiscSpec>),
}

/// SSL_GET: an HTTP_GET over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslSpec {
    pub http: HttpSpec,
    /// The name presented: a DNS name is sent as SNI, an address is none.
    pub server_name: ServerName<'static>,
    /// SNI is on without `sni_name`: a url's own `virtualhost` is that
    /// url's SNI, before `server_name` (keepalived's order).
    pub url_sni: bool,
}

impl Kind {
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::Tcp => "TCP_CHECK",
            Kind::Http(_) => "HTTP_GET",
            Kind::Ssl(_) => "SSL_GET",
            Kind::Ws(_) => "WS_CHECK",
            Kind::Misc(_) => "MISC_CHECK",
        }
    }

    /// The failure reasons a checker of this kind can report, so their
    /// counters exist before the first failure (a counter that appears on
    /// its first increment hides that increment from `rate()`).
    pub fn reasons(&self) -> Vec<Reason> {
        let extra: &[Reason] = match self {
            Kind::Tcp => &[],
            Kind::Http(_) => &[Reason::Http, Reason::BadStatus, Reason::DigestMismatch],
            Kind::Ssl(_) => &[
                Reason::Http,
                Reason::BadStatus,
                Reason::DigestMismatch,
                Reason::Tls,
            ],
            Kind::Ws(_) => &[Reason::Websocket],
            Kind::Misc(_) => {
                return vec![
                    Reason::Exit,
                    Reason::Signal,
                    Reason::ScriptTimeout,
                    Reason::NotRun,
                ]
            }
        };
        Reason::SOCKET.iter().chain(extra).copied().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpSpec {
    /// The `Host` header of a url without its own `virtualhost`.
    pub host: String,
    pub protocol: HttpProtocol,
    pub urls: Vec<UrlSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlSpec {
    pub path: String,
    /// Inclusive ranges; empty: 200..=299.
    pub status: Vec<(u16, u16)>,
    pub digest: Option<[u8; 16]>,
    /// The url's own `virtualhost`: its `Host`, before the checker's.
    pub virtualhost: Option<String>,
}

impl HttpSpec {
    /// The `Host` of `url`.
    pub fn host_of<'a>(&'a self, url: &'a UrlSpec) -> &'a str {
        url.virtualhost.as_deref().unwrap_or(&self.host)
    }
}

impl UrlSpec {
    pub fn status_ok(&self, code: u16) -> bool {
        if self.status.is_empty() {
            (200..=299).contains(&code)
        } else {
            self.status
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&code))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsSpec {
    pub path: String,
    pub host: String,
    pub origin: Option<String>,
    pub subprotocol: Option<String>,
}

/// What every check shares: the TLS client, the random source, and for
/// DR-path checks which paths the kernel holds, the source address toward
/// each real server, and which paths failed last time.
#[derive(Clone)]
pub struct Context {
    provider: Arc<CryptoProvider>,
    tls: TlsConnector,
    /// One reference for a DR-path TCP_CHECK to take along.
    dr: Arc<DrShared>,
}

/// What DR-path checks share.
#[derive(Default)]
struct DrShared {
    /// `None`: no IPVS task tells (a check run on its own): every path is
    /// taken to be there.
    ready: Option<watch::Receiver<dr_path::Ready>>,
    sources: Mutex<HashMap<IpAddr, (IpAddr, Instant)>>,
    /// DR-path checks whose last result was a failure of the server's:
    /// their next run also asks the real server's own address.
    suspect: Mutex<HashSet<(SocketAddr, SocketAddr)>>,
}

/// How long a source address found for a real server is used before the
/// routes are asked again (addresses and routes change rarely; asking on
/// every check would add four system calls to each).
const SOURCE_FOR: Duration = Duration::from_secs(10);

impl Context {
    pub fn new() -> Self {
        let provider = tls::provider();
        let tls = TlsConnector::from(tls::client_config(provider.clone()));
        Context {
            provider,
            tls,
            dr: Arc::default(),
        }
    }

    /// The IPVS task's DR-path services, which a DR-path check waits for.
    pub fn with_dr_ready(mut self, ready: watch::Receiver<dr_path::Ready>) -> Self {
        self.dr = Arc::new(DrShared {
            ready: Some(ready),
            ..DrShared::default()
        });
        self
    }

    fn random<const N: usize>(&self) -> Result<[u8; N], Failure> {
        let mut b = [0u8; N];
        self.provider
            .secure_random
            .fill(&mut b)
            .map_err(|_| Failure::Io {
                stage: Stage::Send,
                kind: std::io::ErrorKind::Other,
            })?;
        Ok(b)
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl DrShared {
    fn path_ready(&self, path: &CheckPath) -> bool {
        (self.ready.as_ref()).is_none_or(|r| r.borrow().contains(&path.service()))
    }

    /// The box's address toward `real` (never the VIP: the reply must come
    /// back to the box, not stay on the real server that holds the VIP).
    fn source_for(&self, real: IpAddr) -> Result<IpAddr, Failure> {
        let now = Instant::now();
        let mut sources = lock(&self.sources);
        if let Some(&(ip, at)) = sources.get(&real) {
            if now < at + SOURCE_FOR {
                return Ok(ip);
            }
        }
        let ip = route_source(real).map_err(|e| Failure::from_io(Stage::Connect, &e))?;
        sources.insert(real, (ip, now));
        Ok(ip)
    }

    fn is_suspect(&self, key: (SocketAddr, SocketAddr)) -> bool {
        lock(&self.suspect).contains(&key)
    }

    fn set_suspect(&self, key: (SocketAddr, SocketAddr), failed: bool) {
        let mut s = lock(&self.suspect);
        if failed {
            s.insert(key);
        } else {
            s.remove(&key);
        }
    }
}

/// A lock that a panic elsewhere did not spoil (the sets stay valid
/// whatever a holder did).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The source address the routes give toward `real`: a UDP socket's
/// connect chooses it and sends nothing.
fn route_source(real: IpAddr) -> std::io::Result<IpAddr> {
    let any = match real {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let socket = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(SocketAddr::new(real, 9))?;
    Ok(socket.local_addr()?.ip())
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Context")
    }
}

/// A started check, tagged with `T` (the runner's check id); its
/// [`Verdict`] carries a weight only from a `misc_dynamic` MISC_CHECK,
/// and the duration is how long the check itself took (see `tally`).
pub type Started<T> = Pin<Box<dyn Future<Output = (T, Verdict, Duration)> + Send>>;

fn verdict(outcome: Outcome) -> Verdict {
    Verdict {
        outcome,
        weight: None,
    }
}

/// `f`'s output and the time from its first poll to its end.
async fn timed<F: Future>(f: F) -> (F::Output, Duration) {
    let t0 = Instant::now();
    let out = f.await;
    (out, t0.elapsed())
}

/// Start one check, to be polled by the runner. TCP_CHECK (here: by a DR
/// path, or when the runner has no `connects` set) gets a future of its
/// own of a few hundred bytes that holds no reference: [`run`]'s also
/// holds the TLS and HTTP states (about 3 KB, allocated and moved per
/// check).
pub fn start<T: Send + 'static>(tag: T, spec: &Arc<CheckSpec>, ctx: &Context) -> Started<T> {
    match spec.kind {
        Kind::Tcp => {
            let (route, timeout) = (Route::plain(spec), spec.timeout);
            match spec.dr {
                None => Box::pin(async move {
                    let (o, took) = timed(tcp_check(route, timeout)).await;
                    (tag, verdict(o), took)
                }),
                Some(path) => {
                    let (own, dr) = ((route.to, route.from), ctx.dr.clone());
                    Box::pin(async move {
                        let check = dr_check(own, path, &dr, |r| tcp_check(r, timeout));
                        let (o, took) = timed(check).await;
                        (tag, verdict(o), took)
                    })
                }
            }
        }
        Kind::Misc(_) => {
            let spec = spec.clone();
            Box::pin(async move {
                let Kind::Misc(m) = &spec.kind else {
                    unreachable!("matched above")
                };
                let (v, took) = timed(misc::run(m, spec.timeout)).await;
                (tag, v, took)
            })
        }
        _ => {
            let (spec, ctx) = (spec.clone(), ctx.clone());
            Box::pin(async move {
                let (o, took) = timed(run(&spec, &ctx)).await;
                (tag, verdict(o), took)
            })
        }
    }
}

/// Perform one check (a dynamic MISC_CHECK's weight is left out: see
/// [`start`]).
pub async fn run(spec: &CheckSpec, ctx: &Context) -> Outcome {
    let own = (spec.target, spec.bindto);
    match (spec.dr, &spec.kind) {
        (Some(path), Kind::Tcp) => {
            dr_check(own, path, &ctx.dr, |r| tcp_check(r, spec.timeout)).await
        }
        (Some(path), _) => dr_check(own, path, &ctx.dr, |r| run_on(spec, ctx, r)).await,
        (None, _) => run_on(spec, ctx, Route::plain(spec)).await,
    }
}

/// Where a check's connections go, from where, with which mark.
#[derive(Debug, Clone, Copy)]
struct Route {
    to: SocketAddr,
    from: Option<IpAddr>,
    mark: Option<u32>,
}

impl Route {
    /// To the checker's own target (the real server's address).
    fn plain(spec: &CheckSpec) -> Route {
        Route {
            to: spec.target,
            from: spec.bindto,
            mark: None,
        }
    }
}

/// A DR-path check: the check by the path; while the path fails for a
/// reason of the server's, the same check on the real server's own
/// address beside it, at once (the same deadline for both), so that a
/// server that answers there but not for the VIP is named as such. The
/// first failure has no such comparison: it costs a second check only
/// while a server fails.
///
/// `body` is the check along a route: for TCP_CHECK the small connect of
/// [`tcp_check`] alone (the most common check keeps a future of its own
/// size), for the others [`run_on`].
async fn dr_check<F, Fut>(
    (target, bindto): (SocketAddr, Option<IpAddr>),
    path: CheckPath,
    ctx: &DrShared,
    body: F,
) -> Outcome
where
    F: Fn(Route) -> Fut,
    Fut: Future<Output = Outcome>,
{
    if !ctx.path_ready(&path) {
        return Err(Failure::Local(LocalError::DrPathNotReady));
    }
    let from = match bindto {
        Some(ip) => ip,
        None => ctx.source_for(target.ip())?,
    };
    let route = Route {
        to: path.vip,
        from: Some(from),
        mark: Some(path.mark),
    };
    let own = Route {
        to: target,
        from: bindto,
        mark: None,
    };
    let key = (target, path.vip);
    let result = if ctx.is_suspect(key) {
        match tokio::join!(body(route), body(own)) {
            (Err(e), Ok(())) if !e.is_local() => Err(Failure::DrPath {
                port: path.vip.port(),
                tunnel: path.tunnel,
            }),
            (Err(e), Err(own)) if !e.is_local() => Err(own),
            (r, _) => r,
        }
    } else {
        body(route).await
    };
    ctx.set_suspect(key, result.as_ref().is_err_and(|e| !e.is_local()));
    result
}

/// One check along `route`.
async fn run_on(spec: &CheckSpec, ctx: &Context, route: Route) -> Outcome {
    match &spec.kind {
        Kind::Misc(m) => misc::run(m, spec.timeout).await.outcome,
        Kind::Tcp => tcp_check(route, spec.timeout).await,
        Kind::Http(h) => {
            for url in &h.urls {
                let deadline = Instant::now() + spec.timeout;
                let stream = connect(route, deadline).await?;
                http_get(stream, h, url, deadline).await?;
            }
            Ok(())
        }
        Kind::Ssl(ssl) => {
            let SslSpec {
                http,
                server_name,
                url_sni,
            } = &**ssl;
            for url in &http.urls {
                let deadline = Instant::now() + spec.timeout;
                let tcp = connect(route, deadline).await?;
                let name = match (&url.virtualhost, url_sni) {
                    (Some(h), true) => tls::server_name(Some(h), spec.target.ip()),
                    _ => server_name.clone(),
                };
                let stream = match timeout_at(deadline, ctx.tls.connect(name, tcp)).await {
                    Err(_) => return Err(Failure::Timeout { stage: Stage::Tls }),
                    Ok(Err(e)) => {
                        return Err(tls::failure_of_io(&e)
                            .map(Failure::Tls)
                            .unwrap_or_else(|| Failure::from_io(Stage::Tls, &e)))
                    }
                    Ok(Ok(s)) => s,
                };
                http_get(stream, http, url, deadline).await?;
            }
            Ok(())
        }
        Kind::Ws(w) => {
            let deadline = Instant::now() + spec.timeout;
            let stream = connect(route, deadline).await?;
            ws_check(stream, w, ctx, deadline).await
        }
    }
}

/// TCP_CHECK: connect within `timeout`, then close with a reset.
async fn tcp_check(route: Route, timeout: Duration) -> Outcome {
    let stream = connect(route, Instant::now() + timeout).await?;
    // Reset, not FIN: see "Closing" above. Should the option not take, the
    // close is an ordinary FIN close, and the check has still succeeded.
    let _ = stream.set_zero_linger();
    Ok(())
}

async fn connect(route: Route, deadline: Instant) -> Result<TcpStream, Failure> {
    let io = |e: std::io::Error| Failure::from_io(Stage::Connect, &e);
    let socket = match route.to {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(io)?;
    if let Some(mark) = route.mark {
        setsockopt(&socket, sockopt::Mark, &mark).map_err(|e| io(e.into()))?;
    }
    if let Some(ip) = route.from {
        // The port comes at connect (see the header); without the option
        // (an old kernel) bind picks it, as it always did.
        let _ = setsockopt(&socket, sockopt::IpBindAddressNoPort, &true);
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| Failure::Bind(e.kind()))?;
    }
    match timeout_at(deadline, socket.connect(route.to)).await {
        Err(_) => Err(Failure::Timeout {
            stage: Stage::Connect,
        }),
        Ok(r) => r.map_err(io),
    }
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8], deadline: Instant) -> Outcome {
    match timeout_at(deadline, async {
        s.write_all(bytes).await?;
        s.flush().await
    })
    .await
    {
        Err(_) => Err(Failure::Timeout { stage: Stage::Send }),
        Ok(r) => r.map_err(|e| Failure::from_io(Stage::Send, &e)),
    }
}

/// One read within the deadline; `Ok(0)` at EOF. A TLS peer that closes
/// TCP without close_notify (rustls: `UnexpectedEof`) is an EOF too: many
/// servers do it, keepalived accepts it, and HTTP framing still tells a
/// truncated response.
async fn recv<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut [u8],
    stage: Stage,
    deadline: Instant,
) -> Result<usize, Failure> {
    match timeout_at(deadline, s.read(buf)).await {
        Err(_) => Err(Failure::Timeout { stage }),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Ok(r) => r.map_err(|e| Failure::from_io(stage, &e)),
    }
}

async fn http_get<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    h: &HttpSpec,
    url: &UrlSpec,
    deadline: Instant,
) -> Outcome {
    let request = http::get_request(&url.path, h.host_of(url), h.protocol);
    send(&mut s, &request, deadline).await?;
    let mut reader = ResponseReader::new(http::BODY_MAX);
    let mut md5 = url.digest.map(|_| Md5::new());
    let mut status_checked = false;
    let mut buf = vec![0u8; 8192];
    loop {
        let stage = if reader.head().is_some() {
            Stage::Body
        } else {
            Stage::Head
        };
        let read = recv(&mut s, &mut buf, stage, deadline).await;
        // Without a digest, once the status is good the rest is courtesy.
        let courtesy = status_checked && md5.is_none();
        let n = match read {
            Ok(n) => n,
            Err(_) if courtesy => return Ok(()),
            Err(e) => return Err(e),
        };
        let progress = if n == 0 {
            reader.eof()
        } else {
            reader.push(&buf[..n], &mut |b| {
                if let Some(h) = md5.as_mut() {
                    h.update(b);
                }
            })
        };
        let progress = match progress {
            Ok(p) => p,
            Err(_) if courtesy => return Ok(()),
            Err(HttpError::Truncated) => return Err(Failure::Closed { stage }),
            Err(e) => return Err(Failure::Http(e)),
        };
        if !status_checked {
            if let Some(head) = reader.head() {
                if !url.status_ok(head.status) {
                    return Err(Failure::BadStatus { code: head.status });
                }
                status_checked = true;
            }
        }
        if progress == Progress::Complete {
            return match (md5, url.digest) {
                (Some(h), Some(want)) => {
                    if h.finalize().as_slice() == want.as_slice() {
                        Ok(())
                    } else {
                        Err(Failure::DigestMismatch)
                    }
                }
                _ => Ok(()),
            };
        }
    }
}

async fn ws_check(mut s: TcpStream, w: &WsSpec, ctx: &Context, deadline: Instant) -> Outcome {
    let key = ws::encode_key(&ctx.random::<16>()?);
    let request = ws::upgrade_request(
        &w.path,
        &w.host,
        &key,
        w.origin.as_deref(),
        w.subprotocol.as_deref(),
    );
    send(&mut s, &request, deadline).await?;

    // The 101 head; bytes after it are already frames.
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 4096];
    let (head, len) = loop {
        let n = recv(&mut s, &mut chunk, Stage::Head, deadline).await?;
        if n == 0 {
            return Err(Failure::Closed { stage: Stage::Head });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(found) = http::parse_head(&buf)? {
            break found;
        }
    };
    ws::validate_handshake(&head, &key, w.subprotocol.as_deref())?;

    // Closing handshake (RFC 6455 section 7.1.2): our close, then theirs.
    let frame = ws::close_frame(ctx.random::<4>()?, ws::CLOSE_NORMAL);
    send(&mut s, &frame, deadline).await?;
    let mut waiter = CloseWaiter::new();
    let mut pending = buf.split_off(len);
    loop {
        if waiter.push(&pending)?.is_some() {
            break;
        }
        let n = recv(&mut s, &mut chunk, Stage::WsClose, deadline).await?;
        if n == 0 {
            return Err(Failure::Ws(WsError::NoCloseFrame));
        }
        pending.clear();
        pending.extend_from_slice(&chunk[..n]);
    }
    // The server closes TCP first (section 7.1.1); we do not wait for it.
    let _ = timeout_at(deadline, s.shutdown()).await;
    Ok(())
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
