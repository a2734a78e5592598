//! What one health check concluded, as typed data.
//!
//! Owns: [`Outcome`] (`Ok(())` or a [`Failure`]) and the vocabulary of
//! causes: [`Stage`], [`TlsFailure`], plus the parser errors it wraps
//! ([`HttpError`], [`WsError`]). Every variant is `Copy`, holds no string
//! and no allocation, so the scheduler can keep the last result of 10,000
//! checkers and `vigil status` can print them.
//! Must not: do I/O or decide state (the scheduler does that).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::config::model::ServiceKey;

use thiserror::Error;

pub use super::http::HttpError;
pub use super::local::LocalError;
pub use super::ws::WsError;

/// A check's result: success, or why it failed.
pub type Outcome = Result<(), Failure>;

/// The step of a check a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// TCP connect (SYN to established).
    Connect,
    /// TLS handshake (SSL_GET).
    Tls,
    /// Writing the request.
    Send,
    /// Reading the status line and headers.
    Head,
    /// Reading the body (only when a `digest` needs it).
    Body,
    /// WS_CHECK: waiting for the server's close frame.
    WsClose,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Tls => "TLS handshake",
            Stage::Send => "sending the request",
            Stage::Head => "reading the response head",
            Stage::Body => "reading the response body",
            Stage::WsClose => "waiting for the websocket close frame",
        })
    }
}

/// Why a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Failure {
    /// The server answered the SYN with a reset (nothing listens).
    #[error("connection refused")]
    Refused,
    /// `connect_timeout` passed; the whole check shares that one deadline.
    #[error("timed out ({stage})")]
    Timeout { stage: Stage },
    /// Any other socket error (unreachable, reset, ...).
    #[error("{stage}: {kind}")]
    Io { stage: Stage, kind: io::ErrorKind },
    /// `bindto` could not be bound (address not on this box, wrong family).
    #[error("cannot bind the source address: {0}")]
    Bind(io::ErrorKind),
    /// The server closed the connection before a complete answer.
    #[error("connection closed by the server ({stage})")]
    Closed { stage: Stage },
    /// The response is not HTTP/1.x as RFC 9112 describes it.
    #[error("bad HTTP response: {0}")]
    Http(#[from] HttpError),
    /// A status code outside the configured ranges (default 200-299).
    #[error("bad status {code}")]
    BadStatus { code: u16 },
    /// The body's MD5 is not the configured `digest`.
    #[error("digest mismatch")]
    DigestMismatch,
    /// SSL_GET: the TLS layer failed.
    #[error("TLS: {0}")]
    Tls(TlsFailure),
    /// WS_CHECK: the upgrade or the closing handshake failed.
    #[error("websocket: {0}")]
    Ws(#[from] WsError),
    /// MISC_CHECK: the program exited with a status that means down.
    #[error("program exited with status {code}")]
    Exit { code: u8 },
    /// MISC_CHECK: the program was killed by a signal (not vigil's).
    #[error("program killed by signal {signal}")]
    Signal { signal: i32 },
    /// MISC_CHECK: `misc_timeout` passed; the program and its process
    /// group were killed.
    #[error("program timed out (killed)")]
    ScriptTimeout,
    /// MISC_CHECK: the program could not be run (not found, not
    /// executable, its user unknown, refused by enable_script_security).
    #[error("program could not be run")]
    NotRun,
    /// The check could not be made for a reason of this box (no file
    /// descriptor, no buffer, no local port): not the server's failure.
    /// The scheduler keeps the server's state and checks again at the
    /// next interval.
    #[error("local error {0}, not the server's")]
    Local(LocalError),
    /// A DR-path check (`ipvs::dr_path`) on `port` failed while the same
    /// check on the real server's own address passed: the server does not
    /// take what IPVS forwards to it for the VIP. ([`Failure::words`] names
    /// both addresses; they are left out here to keep a result small.)
    #[error("{}", dr_path_words(None, *port, *tunnel))]
    DrPath { port: u16, tunnel: bool },
}

/// The words every [`Failure::DrPath`] text holds (`vigil doctor` finds
/// the failure in `vigil status` by them).
pub const DR_PATH_FAILED: &str = "but not for the VIP";

/// What a [`Failure::DrPath`] says, with the likely fix; `at`: the real
/// server's and the VIP's addresses, when known.
fn dr_path_words(at: Option<(IpAddr, IpAddr)>, port: u16, tunnel: bool) -> String {
    // "the VIP" alone, or followed by its address.
    let (own, vip) = match at {
        Some((real, vip)) => (
            SocketAddr::new(real, port).to_string(),
            format!(" {}", SocketAddr::new(vip, port)),
        ),
        None => (format!("its own address, port {port},"), String::new()),
    };
    let how = if tunnel {
        "sent to it in an IPIP tunnel: does it decapsulate, with the VIP on its tunl0?"
    } else {
        "delivered to its MAC: is the VIP on its loopback?"
    };
    format!("answers on {own} {DR_PATH_FAILED}{vip} {how}")
}

impl Failure {
    /// What it says of real server `real` of virtual server `service`: a
    /// DR-path failure names the real server's address and the VIP.
    pub fn words(&self, service: ServiceKey, real: IpAddr) -> String {
        match (self, service) {
            (Failure::DrPath { port, tunnel }, ServiceKey::Addr { addr, .. }) => {
                dr_path_words(Some((real, addr)), *port, *tunnel)
            }
            _ => self.to_string(),
        }
    }
}

impl Failure {
    /// Whether the check failed for a reason of this box, not the server's.
    pub fn is_local(&self) -> bool {
        matches!(self, Failure::Local(_))
    }

    /// A socket error during `stage`, with refused and timed-out split out
    /// and the box's own faults ([`LocalError`]) told apart.
    pub fn from_io(stage: Stage, e: &io::Error) -> Failure {
        if let Some(l) = LocalError::of(e, stage == Stage::Connect) {
            return Failure::Local(l);
        }
        match e.kind() {
            io::ErrorKind::ConnectionRefused if stage == Stage::Connect => Failure::Refused,
            io::ErrorKind::TimedOut => Failure::Timeout { stage },
            io::ErrorKind::UnexpectedEof => Failure::Closed { stage },
            kind => Failure::Io { stage, kind },
        }
    }
}

/// A failure's kind as a metric label: one short word per [`Failure`]
/// variant, stable across versions (dashboards and alerts select on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Refused,
    Timeout,
    Io,
    Bind,
    Closed,
    Http,
    BadStatus,
    DigestMismatch,
    Tls,
    Websocket,
    Exit,
    Signal,
    ScriptTimeout,
    NotRun,
    Local,
    DrPath,
}

impl Reason {
    /// Every reason, in the order [`Reason::index`] counts them.
    pub const ALL: [Reason; 16] = [
        Reason::Refused,
        Reason::Timeout,
        Reason::Io,
        Reason::Bind,
        Reason::Closed,
        Reason::Http,
        Reason::BadStatus,
        Reason::DigestMismatch,
        Reason::Tls,
        Reason::Websocket,
        Reason::Exit,
        Reason::Signal,
        Reason::ScriptTimeout,
        Reason::NotRun,
        Reason::Local,
        Reason::DrPath,
    ];

    /// What every connection-based checker can fail with (by a DR path,
    /// `dr_path` too).
    pub const SOCKET: [Reason; 6] = [
        Reason::Refused,
        Reason::Timeout,
        Reason::Io,
        Reason::Bind,
        Reason::Closed,
        Reason::DrPath,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Refused => "refused",
            Reason::Timeout => "timeout",
            Reason::Io => "io",
            Reason::Bind => "bind",
            Reason::Closed => "closed",
            Reason::Http => "http",
            Reason::BadStatus => "bad_status",
            Reason::DigestMismatch => "digest_mismatch",
            Reason::Tls => "tls",
            Reason::Websocket => "websocket",
            Reason::Exit => "exit",
            Reason::Signal => "signal",
            Reason::ScriptTimeout => "script_timeout",
            Reason::NotRun => "not_run",
            Reason::Local => "local",
            Reason::DrPath => "dr_path",
        }
    }
}

impl Failure {
    /// Its [`Reason`].
    pub fn reason(&self) -> Reason {
        match self {
            Failure::Refused => Reason::Refused,
            Failure::Timeout { .. } => Reason::Timeout,
            Failure::Io { .. } => Reason::Io,
            Failure::Bind(_) => Reason::Bind,
            Failure::Closed { .. } => Reason::Closed,
            Failure::Http(_) => Reason::Http,
            Failure::BadStatus { .. } => Reason::BadStatus,
            Failure::DigestMismatch => Reason::DigestMismatch,
            Failure::Tls(_) => Reason::Tls,
            Failure::Ws(_) => Reason::Websocket,
            Failure::Exit { .. } => Reason::Exit,
            Failure::Signal { .. } => Reason::Signal,
            Failure::ScriptTimeout => Reason::ScriptTimeout,
            Failure::NotRun => Reason::NotRun,
            Failure::Local(_) => Reason::Local,
            Failure::DrPath { .. } => Reason::DrPath,
        }
    }
}

/// TLS failures without rustls' strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TlsFailure {
    /// The server sent a fatal alert (the TLS AlertDescription code).
    #[error("alert {0} from the server")]
    AlertReceived(u8),
    /// No protocol version or cipher suite in common.
    #[error("no common protocol version or cipher suite")]
    NoCommonParameters,
    /// Malformed or unexpected TLS messages.
    #[error("protocol violation by the server")]
    PeerMisbehaved,
    /// The server's handshake signature did not verify against its own
    /// certificate (the certificate itself is not judged: see `tls`).
    #[error("bad handshake signature")]
    BadSignature,
    /// The connection ended in the handshake or something else failed.
    #[error("handshake failed")]
    Other,
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
