//! The netlink edge: [`Client`] sends IPVS requests on a generic-netlink
//! socket (neli's blocking router) and returns typed replies.
//!
//! Owns: the socket, the family id, acks, and mapping kernel errnos to
//! [`Error`]s with their context (the command, the service or destination,
//! the errno). Must not: build or parse a byte of the IPVS payload (every
//! byte is [`super::wire`]'s; neli only frames the netlink header), or
//! decide anything (it implements [`Kernel`] for the reconcile loop).
//!
//! Calls block for one request/reply exchange; the daemon's single
//! current-thread runtime calls them from `spawn_blocking`.
//!
//! Two errnos get their own variant because an operator acts on them:
//! - resolving the family "IPVS" fails with ENOENT while the `ip_vs` module
//!   is not loaded: [`Error::ModuleNotLoaded`];
//! - NEW/SET_SERVICE answer ENOENT when the scheduler's module
//!   (`ip_vs_<sched>`) cannot be loaded: [`Error::SchedulerMissing`].

use std::fmt;
use std::io;

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::RouterError;
use neli::nl::NlPayload;
use neli::router::synchronous::NlRouter;
use neli::types::Buffer;
use neli::utils::Groups;

use super::kernel::{Kernel, Op};
use super::wire::{
    self, Cmd, DaemonState, DecodeError, Dest, DestId, Info, Request, Service, ServiceId,
    SyncDaemon, Timeouts,
};

const ENOENT: i32 = 2;
/// The end of a dump; its payload is no IPVS message.
const NLMSG_DONE: u16 = 3;

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

/// Map a neli error on `req` to ours.
fn map_err<T, P>(e: RouterError<T, P>, req: &Request, target: &Target) -> Error
where
    RouterError<T, P>: fmt::Display,
{
    let errno = match &e {
        RouterError::Nlmsgerr(m) => Some(-*m.error()),
        _ => None,
    };
    match errno {
        Some(errno) => refused(req, target, errno),
        None => Error::Transport {
            what: format!("{}{target}", req.cmd),
            detail: e.to_string(),
        },
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
    router: NlRouter,
    family: u16,
}

impl Client {
    /// Open a generic netlink socket and resolve the IPVS family.
    pub fn connect() -> Result<Client, Error> {
        let (router, _multicast) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::Transport {
                what: "connect".into(),
                detail: e.to_string(),
            })?;
        let family = match router.resolve_genl_family(wire::GENL_NAME) {
            Ok(id) => id,
            Err(RouterError::Nlmsgerr(m)) if -*m.error() == ENOENT => {
                return Err(Error::ModuleNotLoaded)
            }
            Err(e) => {
                return Err(Error::Transport {
                    what: "resolve family IPVS".into(),
                    detail: e.to_string(),
                })
            }
        };
        Ok(Client { router, family })
    }

    /// Send `req`; the genl payloads of the replies (none for a plain ack).
    fn exchange(&self, req: &Request, target: &Target) -> Result<Vec<Vec<u8>>, Error> {
        let flags = if req.dump { NlmF::DUMP } else { NlmF::ACK };
        let payload = NlPayload::Payload(Buffer::from(req.emit()));
        let recv = self
            .router
            .send::<u16, Buffer, u16, Buffer>(self.family, flags, payload)
            .map_err(|e| map_err(e, req, target))?;
        let mut out = Vec::new();
        for msg in recv {
            let msg = msg.map_err(|e| map_err(e, req, target))?;
            if *msg.nl_type() == NLMSG_DONE {
                continue;
            }
            if let Some(p) = msg.get_payload() {
                out.push(p.as_ref().to_vec());
            }
        }
        Ok(out)
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
        let req = Request::get_info();
        let replies = self.exchange(&req, &Target::None)?;
        let msg = replies.first().ok_or(Error::NoReply { cmd: req.cmd })?;
        let r = wire::split_genl(msg).and_then(|(_, a)| Info::decode(a));
        Self::decode(&req, &Target::None, r)
    }

    /// Every service in the kernel.
    pub fn services(&self) -> Result<Vec<Service>, Error> {
        let req = Request::get_services();
        let replies = self.exchange(&req, &Target::None)?;
        replies
            .iter()
            .map(|m| Self::decode(&req, &Target::None, wire::decode_service_msg(m)))
            .collect()
    }

    /// The destinations of one service.
    pub fn dests(&self, service: &ServiceId) -> Result<Vec<Dest>, Error> {
        let req = Request::get_dests(service);
        let target = Target::Service(*service);
        let replies = self.exchange(&req, &target)?;
        replies
            .iter()
            .map(|m| Self::decode(&req, &target, wire::decode_dest_msg(m, service.af())))
            .collect()
    }

    /// One table change (NEW/SET/DEL of a service or destination).
    pub fn apply(&self, op: &Op) -> Result<(), Error> {
        self.exchange(&op.request(), &Target::from(op)).map(drop)
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
        self.exchange(&Request::set_timeouts(t), &Target::None)
            .map(drop)
    }

    pub fn timeouts(&self) -> Result<Timeouts, Error> {
        let req = Request::get_timeouts();
        let replies = self.exchange(&req, &Target::None)?;
        let msg = replies.first().ok_or(Error::NoReply { cmd: req.cmd })?;
        let r = wire::split_genl(msg).and_then(|(_, a)| Timeouts::decode(a));
        Self::decode(&req, &Target::None, r)
    }

    /// Start a sync daemon (EEXIST if one of that state runs).
    pub fn new_daemon(&self, d: &SyncDaemon) -> Result<(), Error> {
        self.exchange(&Request::new_daemon(d), &Target::Daemon(d.state))
            .map(drop)
    }

    pub fn del_daemon(&self, state: DaemonState) -> Result<(), Error> {
        self.exchange(&Request::del_daemon(state), &Target::Daemon(state))
            .map(drop)
    }

    /// The running sync daemons (none, a master, a backup, or both).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>, Error> {
        let req = Request::get_daemons();
        let replies = self.exchange(&req, &Target::None)?;
        replies
            .iter()
            .map(|m| Self::decode(&req, &Target::None, wire::decode_daemon_msg(m)))
            .collect()
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::wire::{Af, IPPROTO_TCP};

    fn svc() -> Service {
        Service {
            id: ServiceId::Addr {
                protocol: IPPROTO_TCP,
                addr: "192.168.1.200".parse().unwrap(),
                port: 80,
            },
            scheduler: "twos".into(),
            pe_name: None,
            flags: 0,
            timeout: 0,
            netmask: Service::netmask_for(Af::V4, 32),
            stats: None,
        }
    }

    #[test]
    fn enoent_on_new_service_names_the_scheduler_module() {
        let op = Op::NewService(svc());
        let e = refused(&op.request(), &Target::from(&op), ENOENT);
        assert!(matches!(&e, Error::SchedulerMissing { scheduler, .. } if scheduler == "twos"));
        assert_eq!(
            e.to_string(),
            "NEW_SERVICE TCP 192.168.1.200:80: scheduler twos unavailable: \
             kernel module ip_vs_twos is missing"
        );
        assert_eq!(e.errno(), Some(ENOENT));
    }

    #[test]
    fn other_errnos_keep_their_context() {
        let op = Op::DelDest {
            service: svc().id,
            dest: DestId {
                addr: "192.168.1.102".parse().unwrap(),
                port: 80,
            },
        };
        let e = refused(&op.request(), &Target::from(&op), ENOENT);
        assert_eq!(e.errno(), Some(ENOENT));
        let s = e.to_string();
        assert!(
            s.starts_with("DEL_DEST TCP 192.168.1.200:80 -> 192.168.1.102:80: "),
            "{s}"
        );
        let e = refused(
            &Request::new_service(&svc()),
            &Target::Service(svc().id),
            17,
        );
        assert!(matches!(e, Error::Refused { errno: 17, .. }));
    }

    #[test]
    fn module_not_loaded_says_so() {
        assert!(Error::ModuleNotLoaded
            .to_string()
            .contains("ip_vs kernel module"));
    }
}
