//! Unit tests of `plan.rs`.

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

#[test]
fn a_group_s_real_servers_are_planned_once_under_its_first_service() {
    let text = "virtual_server_group G {\n 10.0.0.1-3 80\n fwmark 4\n}\nvirtual_server group G {\n protocol TCP\n lvs_method DR\n real_server 10.0.1.1 {\n  TCP_CHECK {\n   connect_port 8080\n  }\n }\n}\n";
    let c = crate::config::import_str("t", text, false)
        .expect("valid")
        .config;
    let p = plan(&c).unwrap();
    assert_eq!(p.len(), 1, "one real server, one plan");
    assert_eq!(p[0].service.to_string(), "10.0.0.1 80");
    assert_eq!(p[0].checks[0].spec.target.port(), 8080);
}
