//! The netlink edge: [`Client`] sends IPVS requests on a generic-netlink
//! socket and returns typed replies.
//!
//! Owns: the socket (a plain blocking netlink socket; the family id is
//! resolved at connect with neli's types on a socket of its own, read in
//! place: neli's router would start a thread for it, and its background
//! thread would cost two thread switches per request), sequence
//! numbers, waiting for acks, and mapping kernel errnos to [`Error`]s with
//! their context (the command, the service or destination, the errno).
//! Must not: build or parse a byte of a message (the netlink header is
//! [`super::netlink`]'s, the IPVS payload [`super::wire`]'s), or decide
//! anything (it implements [`Kernel`] for the reconcile loop).
//!
//! Calls block: one request and its replies, or one pipelined batch
//! ([`Client::apply_batch`]: up to [`BATCH`] table changes per `send`,
//! acks matched by sequence number, each op keeping its own errno). The
//! daemon's single current-thread runtime calls them from
//! `spawn_blocking`. No call waits longer than [`RECV_TIMEOUT`] for the
//! kernel.
//!
//! Two errnos get their own variant because an operator acts on them:
//! - resolving the family "IPVS" fails with ENOENT while the `ip_vs` module
//!   is not loaded: [`Error::ModuleNotLoaded`];
//! - NEW/SET_SERVICE answer ENOENT when the scheduler's module
//!   (`ip_vs_<sched>`) cannot be loaded: [`Error::SchedulerMissing`].

use std::cell::Cell;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use neli::consts::genl::{CtrlAttr, CtrlCmd};
use neli::consts::nl::{GenlId, NlmF};
use neli::consts::socket::NlFamily;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::GenlBuffer;
use neli::utils::Groups;
use nix::sys::socket::{self as sock, sockopt, MsgFlags, NetlinkAddr};
use nix::sys::time::TimeVal;

use super::kernel::{Kernel, KernelError, Op};
use super::netlink::{self, Acks, Reply, NLM_F_ACK, NLM_F_DUMP};
use super::wire::{
    self, Cmd, DaemonState, DecodeError, Dest, DestId, Info, Request, Service, ServiceId,
    SyncDaemon, Timeouts,
};

const ENOENT: i32 = 2;

/// Table changes sent in one `send`, at most. Only the last asks for an
/// ack; the others are answered only when refused, and those answers must
/// fit the socket's receive buffer even if every op of the batch is
/// refused: the batch is cut to `receive buffer / ERROR_TRUESIZE` ops (an
/// answer the buffer cannot take is dropped by the kernel, and ops left
/// without one are reported with an unknown outcome).
pub const BATCH: usize = 1024;
/// The fewest ops per `send`, whatever the receive buffer.
const BATCH_MIN: usize = 16;
/// A bound on the receive-buffer charge of one refusal (an skb with the
/// error and the echoed request: about 1 KiB truesize).
const ERROR_TRUESIZE: usize = 2048;
/// The receive buffer asked for (capped by `net.core.rmem_max` unless the
/// process may force it; the kernel doubles it).
const RCVBUF: usize = 1 << 20;
/// The send buffer asked for: a `send` larger than it fails (EMSGSIZE).
const SNDBUF: usize = 1 << 20;
/// Bytes of requests per `send`, at most (a batch is cut below both this
/// and the send buffer the kernel granted).
const SEND_BYTES: usize = 256 * 1024;
/// The longest wait for the kernel's next message.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// One `recv`: large enough for any netlink message the kernel sends
/// (dump skbs are at most 32 KiB).
const RECV_BUF: usize = 64 * 1024;

/// What a request was about, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    None,
    Service(ServiceId),
    Dest(ServiceId, DestId),
    Daemon(DaemonState),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::None => Ok(()),
            Target::Service(s) => write!(f, " {s}"),
            Target::Dest(s, d) => write!(f, " {s} -> {d}"),
            Target::Daemon(st) => write!(f, " {st:?} daemon"),
        }
    }
}

impl From<&Op> for Target {
    fn from(op: &Op) -> Target {
        match op.dest() {
            Some(d) => Target::Dest(*op.service(), *d),
            None => Target::Service(*op.service()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The generic netlink family "IPVS" is not registered.
    #[error("generic netlink family IPVS not found: the ip_vs kernel module is not loaded (modprobe ip_vs)")]
    ModuleNotLoaded,
    /// The kernel could not load the scheduler's module.
    #[error("{cmd} {service}: scheduler {scheduler} unavailable: kernel module ip_vs_{scheduler} is missing")]
    SchedulerMissing {
        cmd: Cmd,
        service: ServiceId,
        scheduler: String,
    },
    /// The kernel refused a request.
    #[error("{cmd}{target}: {source}")]
    Refused {
        cmd: Cmd,
        target: Target,
        /// Positive errno.
        errno: i32,
        #[source]
        source: io::Error,
    },
    /// A reply did not decode.
    #[error("{cmd}{target}: bad reply")]
    Decode {
        cmd: Cmd,
        target: Target,
        #[source]
        source: DecodeError,
    },
    /// The socket or neli failed (not an answer from IPVS).
    #[error("{what}: netlink: {detail}")]
    Transport { what: String, detail: String },
    /// A request that wants a reply got none.
    #[error("{cmd}: no reply")]
    NoReply { cmd: Cmd },
}

impl Error {
    /// The kernel's errno, when the kernel answered with one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Refused { errno, .. } => Some(*errno),
            Error::SchedulerMissing { .. } | Error::ModuleNotLoaded => Some(ENOENT),
            _ => None,
        }
    }
}

impl KernelError for Error {
    fn errno(&self) -> Option<i32> {
        Error::errno(self)
    }
}

/// The kernel said `errno` to `req`.
pub fn refused(req: &Request, target: &Target, errno: i32) -> Error {
    if errno == ENOENT && matches!(req.cmd, Cmd::NewService | Cmd::SetService) {
        if let Target::Service(service) = target {
            if let Some(scheduler) = scheduler_of(req) {
                return Error::SchedulerMissing {
                    cmd: req.cmd,
                    service: *service,
                    scheduler,
                };
            }
        }
    }
    Error::Refused {
        cmd: req.cmd,
        target: target.clone(),
        errno,
        source: io::Error::from_raw_os_error(errno),
    }
}

/// The scheduler a NEW/SET_SERVICE request names (read back from its own
/// bytes, so the error names exactly what was sent).
fn scheduler_of(req: &Request) -> Option<String> {
    let svc = req
        .attrs
        .iter()
        .find(|a| a.kind == wire::cmd_attr::SERVICE)?;
    Service::decode(&svc.payload).ok().map(|s| s.scheduler)
}

/// A connected IPVS client.
pub struct Client {
    fd: OwnedFd,
    family: u16,
    /// The next sequence number.
    seq: Cell<u32>,
    /// Ops per `send` and bytes per `send`, from the buffers granted.
    batch: usize,
    send_bytes: usize,
}

/// A failed `recv`: the timeout says so.
fn recv_error(what: impl fmt::Display, e: nix::errno::Errno) -> Error {
    match e {
        nix::errno::Errno::EAGAIN => transport(
            what,
            format!("no answer within {} s", RECV_TIMEOUT.as_secs()),
        ),
        e => transport(what, e),
    }
}

fn transport(what: impl fmt::Display, detail: impl fmt::Display) -> Error {
    Error::Transport {
        what: what.to_string(),
        detail: detail.to_string(),
    }
}

/// The IPVS family's id, from the generic netlink controller: one
/// request on a socket of its own, read in place. (neli's router would
/// start a thread for the one answer: 12-16 ms of a cold start in the lab
/// VM.) The controller answers ENOENT while `ip_vs` is not loaded.
fn resolve_family() -> Result<u16, Error> {
    let what = "resolve family IPVS";
    let err = |e: &dyn fmt::Display| transport(what, e);
    let socket = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
        .map_err(|e| transport("connect", e))?;
    let timeout = TimeVal::new(RECV_TIMEOUT.as_secs() as _, 0);
    // SAFETY: the descriptor is the socket's, open for as long as it is.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(socket.as_raw_fd()) };
    sock::setsockopt(&fd, sockopt::ReceiveTimeout, &timeout)
        .map_err(|e| transport("netlink SO_RCVTIMEO", e))?;
    let name = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(CtrlAttr::FamilyName)
                .build()
                .map_err(|e| err(&e))?,
        )
        .nla_payload(wire::GENL_NAME)
        .build()
        .map_err(|e| err(&e))?;
    let genl = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr, NoUserHeader>::default()
        .cmd(CtrlCmd::Getfamily)
        .version(2)
        .attrs(std::iter::once(name).collect::<GenlBuffer<_, _>>())
        .build()
        .map_err(|e| err(&e))?;
    let request = NlmsghdrBuilder::default()
        .nl_type(GenlId::Ctrl)
        .nl_flags(NlmF::REQUEST | NlmF::ACK)
        .nl_seq(1)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|e| err(&e))?;
    socket.send(&request).map_err(|e| err(&e))?;
    let mut family = None;
    loop {
        let (replies, _) = socket
            .recv::<GenlId, Genlmsghdr<CtrlCmd, CtrlAttr>>()
            .map_err(|e| err(&e))?;
        for reply in replies {
            let reply = reply.map_err(|e| err(&e))?;
            match reply.nl_payload() {
                NlPayload::Payload(p) => {
                    let attrs = p.attrs().get_attr_handle();
                    family = attrs.get_attr_payload_as::<u16>(CtrlAttr::FamilyId).ok();
                }
                NlPayload::Err(e) if -*e.error() == ENOENT => return Err(Error::ModuleNotLoaded),
                NlPayload::Err(e) => {
                    let errno = nix::errno::Errno::from_raw(-*e.error());
                    return Err(transport(what, errno));
                }
                // The ack ends the answer.
                NlPayload::Ack(_) => {
                    return family.ok_or_else(|| transport(what, "no family id in the answer"))
                }
                _ => {}
            }
        }
    }
}

impl Client {
    /// Resolve the IPVS family, then open the socket requests go on.
    pub fn connect() -> Result<Client, Error> {
        let family = resolve_family()?;
        let fd = sock::socket(
            sock::AddressFamily::Netlink,
            sock::SockType::Raw,
            sock::SockFlag::SOCK_CLOEXEC,
            sock::SockProtocol::NetlinkGeneric,
        )
        .map_err(|e| transport("netlink socket", e))?;
        sock::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))
            .map_err(|e| transport("netlink bind", e))?;
        let timeout = TimeVal::new(RECV_TIMEOUT.as_secs() as _, 0);
        sock::setsockopt(&fd, sockopt::ReceiveTimeout, &timeout)
            .map_err(|e| transport("netlink SO_RCVTIMEO", e))?;
        // Bigger buffers mean fewer, larger sends; what the kernel grants
        // (read back) sizes the batches.
        if sock::setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
            let _ = sock::setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
        }
        if sock::setsockopt(&fd, sockopt::SndBufForce, &SNDBUF).is_err() {
            let _ = sock::setsockopt(&fd, sockopt::SndBuf, &SNDBUF);
        }
        let rcvbuf = sock::getsockopt(&fd, sockopt::RcvBuf)
            .map_err(|e| transport("netlink SO_RCVBUF", e))?;
        let sndbuf = sock::getsockopt(&fd, sockopt::SndBuf)
            .map_err(|e| transport("netlink SO_SNDBUF", e))?;
        let batch = (rcvbuf / ERROR_TRUESIZE).clamp(BATCH_MIN, BATCH);
        tracing::debug!(rcvbuf, sndbuf, batch, "ipvs: netlink socket");
        Ok(Client {
            fd,
            family,
            seq: Cell::new(1),
            batch,
            send_bytes: SEND_BYTES.min(sndbuf / 2),
        })
    }

    /// `n` fresh sequence numbers; the first.
    fn take_seq(&self, n: usize) -> u32 {
        let first = self.seq.get();
        self.seq.set(first.wrapping_add(n as u32));
        first
    }

    fn send(&self, buf: &[u8], what: &dyn fmt::Display) -> Result<(), Error> {
        match sock::send(self.fd.as_raw_fd(), buf, MsgFlags::empty()) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(n) => Err(transport(what, format!("sent {n} of {} bytes", buf.len()))),
            Err(e) => Err(transport(what, e)),
        }
    }

    /// One `recv` into `buf`; its length.
    fn recv(&self, buf: &mut [u8], what: &dyn fmt::Display) -> Result<usize, Error> {
        sock::recv(self.fd.as_raw_fd(), buf, MsgFlags::empty()).map_err(|e| recv_error(what, e))
    }

    /// Send `req`; each genl payload of the replies decoded by `each`, in
    /// order (none for a plain ack). Decoded in the receive buffer as it
    /// comes, not copied out first: a restart's adoption dump is 10,000
    /// such messages and more. The whole answer is read even past a
    /// payload `each` refuses, whose error is then the result.
    fn exchange<T>(
        &self,
        req: &Request,
        target: &Target,
        mut each: impl FnMut(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, Error> {
        let what = format!("{}{target}", req.cmd);
        let flags = if req.dump { NLM_F_DUMP } else { NLM_F_ACK };
        let seq = self.take_seq(1);
        let mut out = Vec::new();
        netlink::frame(&mut out, self.family, flags, seq, &req.emit());
        self.send(&out, &what)?;
        let mut buf = vec![0u8; RECV_BUF];
        let mut replies = Ok(Vec::new());
        loop {
            let n = self.recv(&mut buf, &what)?;
            let msgs = netlink::parse(&buf[..n]).map_err(|e| transport(&what, e))?;
            for m in msgs.iter().filter(|m| m.seq == seq) {
                match m.reply {
                    Reply::Data(p) => {
                        if let Ok(v) = &mut replies {
                            match each(p) {
                                Ok(x) => v.push(x),
                                Err(e) => replies = Err(e),
                            }
                        }
                    }
                    Reply::Ack | Reply::Done(0) => return Self::decode(req, target, replies),
                    Reply::Error(errno) | Reply::Done(errno) => {
                        return Err(refused(req, target, errno))
                    }
                    Reply::Other(_) => {}
                }
            }
        }
    }

    /// [`Client::exchange`] of a request answered by an ack alone.
    fn acked(&self, req: &Request, target: &Target) -> Result<(), Error> {
        self.exchange(req, target, |_| Ok(())).map(drop)
    }

    /// [`Client::exchange`] of a GET answered by one message: it, decoded.
    fn one<T>(
        &self,
        req: &Request,
        decode: impl FnMut(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<T, Error> {
        self.exchange(req, &Target::None, decode)?
            .into_iter()
            .next()
            .ok_or(Error::NoReply { cmd: req.cmd })
    }

    /// Table changes, pipelined: up to [`BATCH`] requests per `send`, only
    /// the last of them asking for an ack (see [`Acks::errors_only`]), then
    /// the answers. One result per op, in order: the kernel's errno for
    /// each refused op (the kernel goes on after a refusal, as one op at a
    /// time would), a transport error for an op whose outcome is unknown
    /// (no answer in time, or answers lost to a receive buffer overrun).
    pub fn apply_batch(&self, ops: &[Op]) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(ops.len());
        let mut buf = vec![0u8; RECV_BUF];
        let mut out = Vec::with_capacity(self.send_bytes.min(ops.len() * 128) + 512);
        let mut rest = ops;
        while !rest.is_empty() {
            let first = self.seq.get();
            out.clear();
            let mut n = 0;
            let mut last = 0;
            for op in rest {
                if n == self.batch || (n > 0 && out.len() >= self.send_bytes) {
                    break;
                }
                last = out.len();
                let seq = first.wrapping_add(n as u32);
                netlink::frame(&mut out, self.family, 0, seq, &op.request().emit());
                n += 1;
            }
            netlink::add_flags(&mut out[last..], NLM_F_ACK);
            self.seq.set(first.wrapping_add(n as u32));
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let what = format!("batch of {n} ops from {}", chunk[0].cmd());
            let mut acks = Acks::errors_only(first, n);
            let lost = self
                .send(&out, &what)
                .err()
                .or_else(|| self.answers(&mut acks, &mut buf, &what));
            for (op, r) in chunk.iter().zip(acks.outcomes()) {
                results.push(match r {
                    Some(0) => Ok(()),
                    Some(errno) => Err(refused(&op.request(), &Target::from(op), errno)),
                    None => Err(transport(
                        format!("{}{}", op.cmd(), Target::from(op)),
                        match &lost {
                            Some(e) => format!("outcome unknown: {e}"),
                            None => "outcome unknown".to_owned(),
                        },
                    )),
                });
            }
        }
        results
    }

    /// Receive a batch's answers until it is complete. An overrun (answers
    /// dropped by the kernel) marks the batch lossy and takes what is still
    /// queued; the error that ended the wait, if any, comes back.
    fn answers(&self, acks: &mut Acks, buf: &mut [u8], what: &str) -> Option<Error> {
        let mut flags = MsgFlags::empty();
        let mut ended = None;
        while !acks.complete() {
            match sock::recv(self.fd.as_raw_fd(), buf, flags) {
                Ok(n) => match netlink::parse(&buf[..n]) {
                    Ok(msgs) => {
                        for m in &msgs {
                            acks.record(m);
                        }
                    }
                    Err(e) => return Some(transport(what, e)),
                },
                Err(nix::errno::Errno::ENOBUFS) if ended.is_none() => {
                    // The kernel handled the whole send before `send`
                    // returned: what it did not drop is queued already.
                    acks.lost_some();
                    flags = MsgFlags::MSG_DONTWAIT;
                    ended = Some(transport(what, "receive buffer overrun: answers lost"));
                }
                Err(nix::errno::Errno::EAGAIN) if ended.is_some() => break,
                Err(e) => return Some(recv_error(what, e)),
            }
        }
        ended
    }

    fn decode<T>(req: &Request, target: &Target, r: Result<T, DecodeError>) -> Result<T, Error> {
        r.map_err(|source| Error::Decode {
            cmd: req.cmd,
            target: target.clone(),
            source,
        })
    }

    /// IPVS version and connection table size.
    pub fn info(&self) -> Result<Info, Error> {
        self.one(&Request::get_info(), |m| {
            wire::split_genl(m).and_then(|(_, a)| Info::decode(a))
        })
    }

    /// Every service in the kernel.
    pub fn services(&self) -> Result<Vec<Service>, Error> {
        self.exchange(
            &Request::get_services(),
            &Target::None,
            wire::decode_service_msg,
        )
    }

    /// The destinations of one service.
    pub fn dests(&self, service: &ServiceId) -> Result<Vec<Dest>, Error> {
        let af = service.af();
        self.exchange(
            &Request::get_dests(service),
            &Target::Service(*service),
            |m| wire::decode_dest_msg(m, af),
        )
    }

    /// One table change (NEW/SET/DEL of a service or destination).
    pub fn apply(&self, op: &Op) -> Result<(), Error> {
        self.acked(&op.request(), &Target::from(op))
    }

    pub fn new_service(&self, s: &Service) -> Result<(), Error> {
        self.apply(&Op::NewService(s.clone()))
    }
    pub fn set_service(&self, s: &Service) -> Result<(), Error> {
        self.apply(&Op::SetService(s.clone()))
    }
    pub fn del_service(&self, id: &ServiceId) -> Result<(), Error> {
        self.apply(&Op::DelService(*id))
    }
    pub fn new_dest(&self, service: &ServiceId, dest: &Dest) -> Result<(), Error> {
        self.apply(&Op::NewDest {
            service: *service,
            dest: dest.clone(),
        })
    }
    pub fn set_dest(&self, service: &ServiceId, dest: &Dest) -> Result<(), Error> {
        self.apply(&Op::SetDest {
            service: *service,
            dest: dest.clone(),
        })
    }
    pub fn del_dest(&self, service: &ServiceId, dest: &DestId) -> Result<(), Error> {
        self.apply(&Op::DelDest {
            service: *service,
            dest: *dest,
        })
    }

    /// `ipvsadm --set`: only the timeouts given change.
    pub fn set_timeouts(&self, t: &Timeouts) -> Result<(), Error> {
        self.acked(&Request::set_timeouts(t), &Target::None)
    }

    pub fn timeouts(&self) -> Result<Timeouts, Error> {
        self.one(&Request::get_timeouts(), |m| {
            wire::split_genl(m).and_then(|(_, a)| Timeouts::decode(a))
        })
    }

    /// Start a sync daemon (EEXIST if one of that state runs).
    pub fn new_daemon(&self, d: &SyncDaemon) -> Result<(), Error> {
        self.acked(&Request::new_daemon(d), &Target::Daemon(d.state))
    }

    pub fn del_daemon(&self, state: DaemonState) -> Result<(), Error> {
        self.acked(&Request::del_daemon(state), &Target::Daemon(state))
    }

    /// The running sync daemons (none, a master, a backup, or both).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>, Error> {
        self.exchange(
            &Request::get_daemons(),
            &Target::None,
            wire::decode_daemon_msg,
        )
    }
}

impl Kernel for Client {
    type Error = Error;

    fn services(&mut self) -> Result<Vec<Service>, Error> {
        Client::services(self)
    }
    fn dests(&mut self, service: &ServiceId) -> Result<Vec<Dest>, Error> {
        Client::dests(self, service)
    }
    fn apply(&mut self, op: &Op) -> Result<(), Error> {
        Client::apply(self, op)
    }
    fn apply_batch(&mut self, ops: &[Op]) -> Vec<Result<(), Error>> {
        Client::apply_batch(self, ops)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
