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
//! [`PlanError::NoPort`]); `Host` = the checker's `virtualhost`, else the
//! virtual server's, else the address, with `:port` unless the port is
//! the scheme's default (80, or 443 for SSL_GET).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use thiserror::Error;

use super::check::{CheckSpec, HttpSpec, Kind, UrlSpec, WsSpec};
use super::scheduler::Timing;
use super::tls;
use crate::config::model::{CheckKind, Checker, Config, RealServer, ServiceKey, VirtualServer};

/// One real server and its checkers.
#[derive(Debug, Clone)]
pub struct PlannedServer {
    pub service: ServiceKey,
    pub real: (IpAddr, Option<u16>),
    pub alpha: bool,
    /// `ha_suspend`: no checks while the service address is not local.
    pub ha_suspend: bool,
    /// Whether its checks are suspended now (set by the runner).
    pub suspended: bool,
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

/// Every real server of every virtual server, in config order.
pub fn plan(config: &Config) -> Result<Vec<PlannedServer>, PlanError> {
    let mut out = Vec::new();
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            // Sized exactly: collecting through `Result` would start at
            // four slots, for one checker in most real servers.
            let mut checks = Vec::with_capacity(rs.checkers.len());
            for c in &rs.checkers {
                checks.push(plan_check(vs, rs, c)?);
            }
            out.push(PlannedServer {
                service: vs.key,
                real: (rs.addr, rs.port),
                alpha: vs.alpha,
                ha_suspend: vs.ha_suspend,
                suspended: false,
                checks,
            });
        }
    }
    Ok(out)
}

fn plan_check(vs: &VirtualServer, rs: &RealServer, c: &Checker) -> Result<PlannedCheck, PlanError> {
    let delay_loop = c.delay_loop.unwrap_or(vs.delay_loop);
    let timing = Timing {
        delay_loop: delay_loop.as_duration(),
        retry: c.retry,
        delay_before_retry: c.delay_before_retry.as_duration(),
        warmup: c.warmup.unwrap_or(delay_loop).as_duration(),
    };
    let ip = c.connect_ip.unwrap_or(rs.addr);
    let port = c.connect_port.or(rs.port).ok_or(PlanError::NoPort {
        service: vs.key,
        real: rs.addr,
        keyword: c.kind.keyword(),
    })?;
    let host = |own: &Option<String>, default_port: u16| -> String {
        match own.as_ref().or(vs.virtualhost.as_ref()) {
            Some(h) => h.clone(),
            None => host_literal(ip, port, default_port),
        }
    };
    let http = |h: &crate::config::model::HttpCheck, default_port: u16| HttpSpec {
        host: host(&h.virtualhost, default_port),
        urls: h
            .urls
            .iter()
            .map(|u| UrlSpec {
                path: u.path.clone(),
                status: u.status_code.clone(),
                digest: u.digest,
            })
            .collect(),
    };
    let kind = match &c.kind {
        CheckKind::Tcp => Kind::Tcp,
        CheckKind::Http(h) => Kind::Http(http(h, 80)),
        CheckKind::Ssl(h) => Kind::Ssl {
            http: http(h, 443),
            server_name: tls::server_name(
                h.virtualhost.as_deref().or(vs.virtualhost.as_deref()),
                ip,
            ),
        },
        CheckKind::Ws(w) => Kind::Ws(WsSpec {
            path: w.path.clone(),
            host: host(&w.virtualhost, 80),
            origin: w.origin.clone(),
            subprotocol: w.subprotocol.clone(),
        }),
    };
    Ok(PlannedCheck {
        timing,
        spec: Arc::new(CheckSpec {
            target: SocketAddr::new(ip, port),
            bindto: c.bindto,
            timeout: c.connect_timeout.as_duration(),
            kind,
        }),
    })
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
mod tests {
    use super::*;
    use crate::config::bounds::Millis;
    use crate::config::model::*;
    use rustls::pki_types::ServerName;

    fn checker(kind: CheckKind) -> Checker {
        Checker {
            connect_timeout: Millis::secs(3),
            ..Checker::new(kind)
        }
    }

    fn config(vhost: Option<&str>, checkers: Vec<Checker>, port: Option<u16>) -> Config {
        let mut c = Config::default();
        let key = ServiceKey::Addr {
            addr: "192.168.1.200".parse().unwrap(),
            port: 80,
        };
        c.virtual_servers.push(VirtualServer {
            delay_loop: Millis::secs(5),
            scheduler: Scheduler::Wrr,
            method: Method::Dr,
            alpha: true,
            virtualhost: vhost.map(str::to_owned),
            real_servers: vec![RealServer {
                checkers,
                ..RealServer::new("192.168.1.102".parse().unwrap(), port)
            }],
            ..VirtualServer::new(key)
        });
        c
    }

    #[test]
    fn seed_tcp_check_inherits_the_service() {
        let p = plan(&config(None, vec![checker(CheckKind::Tcp)], Some(80))).unwrap();
        assert_eq!(p.len(), 1);
        assert!(p[0].alpha);
        let c = &p[0].checks[0];
        assert_eq!(
            c.timing,
            Timing {
                delay_loop: std::time::Duration::from_secs(5),
                retry: 1,
                delay_before_retry: std::time::Duration::from_secs(1),
                warmup: std::time::Duration::from_secs(5),
            }
        );
        assert_eq!(c.spec.target, "192.168.1.102:80".parse().unwrap());
        assert_eq!(c.spec.timeout, std::time::Duration::from_secs(3));
        assert_eq!(c.spec.kind, Kind::Tcp);
    }

    #[test]
    fn checker_overrides_and_hosts() {
        let mut ws = checker(CheckKind::Ws(WsCheck {
            path: "/ws".into(),
            virtualhost: None,
            origin: Some("http://o".into()),
            subprotocol: None,
        }));
        ws.connect_port = Some(8080);
        ws.connect_ip = Some("10.0.0.9".parse().unwrap());
        ws.delay_loop = Some(Millis(700));
        ws.warmup = Some(Millis(0));
        let ssl = checker(CheckKind::Ssl(HttpCheck {
            urls: vec![Url {
                path: "/h".into(),
                status_code: vec![(200, 204)],
                digest: None,
            }],
            virtualhost: Some("api.example.com".into()),
        }));
        let p = plan(&config(None, vec![ws, ssl], Some(443))).unwrap();
        let ws = &p[0].checks[0];
        assert_eq!(ws.timing.delay_loop, std::time::Duration::from_millis(700));
        assert_eq!(ws.timing.warmup, std::time::Duration::ZERO);
        assert_eq!(ws.spec.target, "10.0.0.9:8080".parse().unwrap());
        match &ws.spec.kind {
            Kind::Ws(w) => assert_eq!(w.host, "10.0.0.9:8080"),
            k => panic!("{k:?}"),
        }
        match &p[0].checks[1].spec.kind {
            Kind::Ssl { http, server_name } => {
                assert_eq!(http.host, "api.example.com");
                assert!(matches!(server_name, ServerName::DnsName(_)));
                assert_eq!(http.urls[0].status, vec![(200, 204)]);
            }
            k => panic!("{k:?}"),
        }
        // The service's virtualhost when the checker has none.
        let http = checker(CheckKind::Http(HttpCheck::default()));
        let p = plan(&config(Some("svc.example"), vec![http], Some(80))).unwrap();
        match &p[0].checks[0].spec.kind {
            Kind::Http(h) => assert_eq!(h.host, "svc.example"),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn host_literals() {
        assert_eq!(
            host_literal("192.0.2.1".parse().unwrap(), 80, 80),
            "192.0.2.1"
        );
        assert_eq!(
            host_literal("192.0.2.1".parse().unwrap(), 8080, 80),
            "192.0.2.1:8080"
        );
        assert_eq!(
            host_literal("2001:db8::1".parse().unwrap(), 443, 443),
            "[2001:db8::1]"
        );
        assert_eq!(
            host_literal("2001:db8::1".parse().unwrap(), 80, 443),
            "[2001:db8::1]:80"
        );
    }

    #[test]
    fn fwmark_real_server_needs_connect_port() {
        let mut c = config(None, vec![checker(CheckKind::Tcp)], None);
        c.virtual_servers[0].key = ServiceKey::Fwmark {
            mark: 7,
            ipv6: false,
        };
        assert!(matches!(
            plan(&c),
            Err(PlanError::NoPort {
                keyword: "TCP_CHECK",
                ..
            })
        ));
        c.virtual_servers[0].real_servers[0].checkers[0].connect_port = Some(80);
        assert!(plan(&c).is_ok());
    }
}
