//! From the config model to what the health checker runs.
//!
//! Owns: [`plan`], which resolves every (service, real server, checker) of
//! a [`Config`] into scheduler [`Timing`] and a [`CheckSpec`]: defaults
//! inherited from the virtual server, the address and port to connect to,
//! the `Host` header and the TLS server name.
//! Must not: do I/O, or change the model.
//!
//! Resolution (keepalived's): `delay_loop` = checker's, else the virtual
//! server's; `warmup` = checker's, else `delay_loop` (keepalived: "enabled
//! by default, with the maximum at delay_loop"); address = `connect_ip`,
//! else the real server's; port = `connect_port`, else the real server's
//! (a fwmark service's real server has none: then the checker must say,
//! [`PlanError::NoPort`]); `Host` = the url's `virtualhost`, else the
//! checker's, else the real server's, else the virtual server's, else the
//! address, with `:port` unless the port is the scheme's default (80, or
//! 443 for SSL_GET); SNI (SSL_GET) only with `enable_sni` or `sni_name`:
//! `sni_name`, else the url's, the checker's, the virtual server's
//! `virtualhost` (keepalived's order, which skips the real server's); a
//! name that is an address is no SNI.
//!
//! DR-path checks: a checker of a DR or TUN real server that connects to
//! the server itself (not MISC_CHECK, no `connect_ip` elsewhere) in a
//! virtual server with an address goes by the VIP when DR-path checks are
//! on for it (`ipvs::dr_path::enabled`): its spec carries the path, and
//! its default `Host` is the VIP.
//!
//! A `virtual_server group`'s real servers are planned once, under the
//! group's first service: the IPVS side applies their health to every
//! service of the group (keepalived runs one checker per real server of
//! a group too).
//!
//! MISC_CHECK connects nowhere: it needs no port (a real server of a
//! fwmark service is fine), its target is the real server (port 0
//! without one), its bound is `misc_timeout`, else the virtual server's
//! `delay_loop` (keepalived's default), and it runs as its `user`, else
//! `script_user`, resolved here from the `/etc/passwd` and `/etc/group`
//! of [`Users`] (an unknown user: the program never runs, a failure).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

use super::check::{CheckSpec, HttpSpec, Kind, SslSpec, UrlSpec, WsSpec};
use super::misc::MiscSpec;
use super::scheduler::Timing;
use super::tls;
use crate::config::model::{
    CheckKind, Checker, Config, HttpCheck, MiscCheck, Protocol, RealServer, ServiceKey,
    VirtualServer,
};
use crate::ipvs::dr_path::{CheckPath, Paths};
use crate::notify::script;

/// Where MISC_CHECK users are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Users {
    pub passwd: &'static Path,
    pub group: &'static Path,
}

impl Users {
    /// The box's own files.
    pub fn system() -> Self {
        Users {
            passwd: Path::new("/etc/passwd"),
            group: Path::new("/etc/group"),
        }
    }
}

/// One real server and its checkers.
#[derive(Debug, Clone)]
pub struct PlannedServer {
    pub service: ServiceKey,
    /// Its virtual server's protocol: with `service`, the `virtual_server`
    /// of its log lines.
    pub protocol: Protocol,
    pub real: (IpAddr, Option<u16>),
    pub alpha: bool,
    /// `ha_suspend`: no checks while the service address is not local.
    pub ha_suspend: bool,
    pub checks: Vec<PlannedCheck>,
}

#[derive(Debug, Clone)]
pub struct PlannedCheck {
    pub timing: Timing,
    pub spec: Arc<CheckSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error(
        "{keyword} of real server {real} in virtual server {service} has no port: set connect_port"
    )]
    NoPort {
        service: ServiceKey,
        real: IpAddr,
        keyword: &'static str,
    },
}

/// Every real server of every virtual server, in config order, with
/// MISC_CHECK users from the system's files.
pub fn plan(config: &Config) -> Result<Vec<PlannedServer>, PlanError> {
    plan_with(config, Users::system())
}

/// [`plan`] with MISC_CHECK users from `users`.
pub fn plan_with(config: &Config, users: Users) -> Result<Vec<PlannedServer>, PlanError> {
    // Sized exactly: a plan of 100,000 real servers is 7 MB, and a vector
    // grown by doubling would hold up to twice that.
    let mut out = Vec::with_capacity(size(config).0);
    each_planned(config, users, |s| out.push(s))?;
    Ok(out)
}

/// Whether `config` can be planned, without holding its plan: each real
/// server is planned and dropped in turn (a reload or a commit checks
/// this before anything applies; the plan itself is built where it runs).
/// `Ok`: how many real servers are checked.
pub fn check(config: &Config) -> Result<usize, PlanError> {
    let mut n = 0;
    each_planned(config, Users::system(), |_| n += 1)?;
    Ok(n)
}

/// Every real server of every virtual server, in config order, planned
/// and handed to `f` one at a time (the runner takes each in: a whole plan
/// is never held beside it).
pub fn each_planned(
    config: &Config,
    users: Users,
    mut f: impl FnMut(PlannedServer),
) -> Result<(), PlanError> {
    let paths = Paths::of(config);
    for vs in &config.virtual_servers {
        let Some(key) = checked_as(config, vs) else {
            continue;
        };
        for rs in &vs.real_servers {
            // Sized exactly: collecting through `Result` would start at
            // four slots, for one checker in most real servers.
            let mut checks = Vec::with_capacity(rs.checkers.len());
            for c in &rs.checkers {
                checks.push(plan_check(config, users, &paths, (key, vs), rs, c)?);
            }
            f(PlannedServer {
                service: key,
                protocol: vs.protocol,
                real: (rs.addr, rs.port),
                alpha: vs.alpha,
                ha_suspend: vs.ha_suspend,
                checks,
            });
        }
    }
    Ok(())
}

/// How many real servers, and checkers in all, a plan of `config` holds:
/// those of every virtual server it includes (see [`checked_as`]).
pub fn size(config: &Config) -> (usize, usize) {
    (config.virtual_servers.iter())
        .filter(|vs| checked_as(config, vs).is_some())
        .flat_map(|vs| &vs.real_servers)
        .fold((0, 0), |(s, c), rs| (s + 1, c + rs.checkers.len()))
}

/// The service under which a virtual server's real servers are checked:
/// its own, or, for a `virtual_server group`, the group's first service
/// (checked once, their result feeds every service of the group: the IPVS
/// side fans it out). `None`: a group with no service (validate refuses
/// it).
fn checked_as(config: &Config, vs: &VirtualServer) -> Option<ServiceKey> {
    if vs.group.is_none() {
        return Some(vs.key);
    }
    config.keys_of(vs).first().copied()
}

/// One checker of real server `rs` of `vs`, checked under service `key`.
fn plan_check(
    config: &Config,
    users: Users,
    paths: &Paths,
    (key, vs): (ServiceKey, &VirtualServer),
    rs: &RealServer,
    c: &Checker,
) -> Result<PlannedCheck, PlanError> {
    let delay_loop = c.delay_loop.unwrap_or(vs.delay_loop);
    let timing = Timing {
        delay_loop: delay_loop.as_duration(),
        retry: c.retry,
        delay_before_retry: c.delay_before_retry.as_duration(),
        warmup: c.warmup.unwrap_or(delay_loop).as_duration(),
    };
    if let CheckKind::Misc(m) = &c.kind {
        return Ok(PlannedCheck {
            timing,
            spec: Arc::new(misc_spec(config, users, vs, rs, m)),
        });
    }
    let ip = c.connect_ip.unwrap_or(rs.addr);
    let port = c.connect_port.or(rs.port).ok_or(PlanError::NoPort {
        service: key,
        real: rs.addr,
        keyword: c.kind.keyword(),
    })?;
    let dr = CheckPath::of(paths, config, vs, rs, c, port);
    // keepalived's order: the checker's, the real server's, the virtual
    // server's (a url's own comes first, per url); else the address asked:
    // by a DR path, the VIP, as a client writes it.
    let asked = dr.map_or(SocketAddr::new(ip, port), |p| p.vip);
    let host = |own: &Option<String>, default_port: u16| -> String {
        match (own.as_ref())
            .or(rs.virtualhost.as_deref())
            .or(vs.virtualhost.as_ref())
        {
            Some(h) => h.clone(),
            None => host_literal(asked.ip(), asked.port(), default_port),
        }
    };
    let http = |h: &crate::config::model::HttpCheck, default_port: u16| HttpSpec {
        host: host(&h.virtualhost, default_port),
        protocol: h.protocol,
        urls: h
            .urls
            .iter()
            .map(|u| UrlSpec {
                path: u.path.clone(),
                status: u.status_code.clone(),
                digest: u.digest,
                virtualhost: u.virtualhost.clone(),
            })
            .collect(),
    };
    let kind = match &c.kind {
        CheckKind::Tcp => Kind::Tcp,
        CheckKind::Http(h) => Kind::Http(Box::new(http(h, 80))),
        CheckKind::Ssl(h) => Kind::Ssl(Box::new(SslSpec {
            http: http(h, 443),
            server_name: tls::server_name(sni_of(h, vs), ip),
            url_sni: h.enable_sni && h.sni_name.is_none(),
        })),
        CheckKind::Ws(w) => Kind::Ws(Box::new(WsSpec {
            path: w.path.clone(),
            host: host(&w.virtualhost, 80),
            origin: w.origin.clone(),
            subprotocol: w.subprotocol.clone(),
        })),
        CheckKind::Misc(_) => unreachable!("planned above"),
    };
    Ok(PlannedCheck {
        timing,
        spec: Arc::new(CheckSpec {
            target: SocketAddr::new(ip, port),
            bindto: c.bindto,
            timeout: c.connect_timeout.as_duration(),
            kind,
            dr,
        }),
    })
}

fn misc_spec(
    config: &Config,
    users: Users,
    vs: &VirtualServer,
    rs: &RealServer,
    m: &MiscCheck,
) -> CheckSpec {
    let user = m.user.as_ref().or(config.global.script_user.as_ref());
    CheckSpec {
        target: SocketAddr::new(rs.addr, rs.port.unwrap_or(0)),
        bindto: None,
        dr: None,
        timeout: m.timeout.unwrap_or(vs.delay_loop).as_duration(),
        kind: Kind::Misc(Box::new(MiscSpec {
            argv: m.path.argv.clone(),
            dynamic: m.dynamic,
            run_as: user
                .map(|u| script::resolve_user_from(users.passwd, users.group, u))
                .transpose(),
            security: config.global.enable_script_security,
        })),
    }
}

/// The SNI of an SSL_GET without a url's own `virtualhost`: none unless
/// `enable_sni` (or `sni_name`); then `sni_name`, else the checker's
/// `virtualhost`, else the virtual server's (keepalived skips the real
/// server's here).
fn sni_of<'a>(h: &'a HttpCheck, vs: &'a VirtualServer) -> Option<&'a str> {
    if !h.enable_sni {
        return None;
    }
    (h.sni_name.as_deref())
        .or(h.virtualhost.as_deref())
        .or(vs.virtualhost.as_deref())
}

/// `Host` for an address: `192.0.2.1`, `[2001:db8::1]`, with `:port`
/// unless it is the default.
fn host_literal(ip: IpAddr, port: u16, default_port: u16) -> String {
    let addr = match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    if port == default_port {
        addr
    } else {
        format!("{addr}:{port}")
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
