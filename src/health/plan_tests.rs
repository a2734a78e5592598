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
    let mut ws = checker(CheckKind::Ws(Box::new(WsCheck {
        path: "/ws".into(),
        virtualhost: None,
        origin: Some("http://o".into()),
        subprotocol: None,
    })));
    ws.connect_port = Some(8080);
    ws.connect_ip = Some("10.0.0.9".parse().unwrap());
    ws.delay_loop = Some(Millis(700));
    ws.warmup = Some(Millis(0));
    let ssl = checker(CheckKind::Ssl(Box::new(HttpCheck {
        urls: vec![Url {
            path: "/h".into(),
            status_code: vec![(200, 204)],
            digest: None,
            virtualhost: None,
        }],
        virtualhost: Some("api.example.com".into()),
        ..Default::default()
    })));
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
        Kind::Ssl(ssl) => {
            assert_eq!(ssl.http.host, "api.example.com");
            // No enable_sni: no SNI, as keepalived.
            assert!(matches!(ssl.server_name, ServerName::IpAddress(_)));
            assert_eq!(ssl.http.urls[0].status, vec![(200, 204)]);
        }
        k => panic!("{k:?}"),
    }
    // The service's virtualhost when the checker has none.
    let http = checker(CheckKind::Http(Box::default()));
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

fn url(path: &str, vhost: Option<&str>) -> Url {
    Url {
        path: path.into(),
        status_code: Vec::new(),
        digest: None,
        virtualhost: vhost.map(str::to_owned),
    }
}

/// The `Host` and SNI of an SSL_GET, as keepalived resolves them.
fn ssl_of(c: &Config) -> (HttpSpec, ServerName<'static>, bool) {
    match &plan(c).unwrap()[0].checks[0].spec.kind {
        Kind::Ssl(ssl) => (ssl.http.clone(), ssl.server_name.clone(), ssl.url_sni),
        k => panic!("{k:?}"),
    }
}

#[test]
fn host_order_is_url_checker_real_server_service_and_sni_needs_enable_sni() {
    let h = HttpCheck {
        urls: vec![url("/a", Some("a.example")), url("/b", None)],
        protocol: HttpProtocol::V11,
        ..Default::default()
    };
    let mut c = config(
        Some("svc.example"),
        vec![checker(CheckKind::Ssl(Box::new(h)))],
        Some(443),
    );
    c.virtual_servers[0].real_servers[0].virtualhost = Some(Box::new("rs.example".into()));
    let (http, name, url_sni) = ssl_of(&c);
    // The real server's before the service's; the url's own before both.
    assert_eq!(http.host, "rs.example");
    assert_eq!(http.host_of(&http.urls[0]), "a.example");
    assert_eq!(http.host_of(&http.urls[1]), "rs.example");
    assert_eq!(http.protocol, HttpProtocol::V11);
    // No enable_sni: no SNI at all.
    assert!(matches!(name, ServerName::IpAddress(_)));
    assert!(!url_sni);

    // enable_sni: the service's virtualhost (keepalived skips the real
    // server's for SNI); a url's own first, per url.
    let set = |c: &mut Config, f: &dyn Fn(&mut HttpCheck)| match &mut c.virtual_servers[0]
        .real_servers[0]
        .checkers[0]
        .kind
    {
        CheckKind::Ssl(h) => f(h),
        _ => unreachable!(),
    };
    set(&mut c, &|h| h.enable_sni = true);
    let (_, name, url_sni) = ssl_of(&c);
    assert_eq!(name, ServerName::try_from("svc.example").unwrap());
    assert!(url_sni);
    set(&mut c, &|h| h.virtualhost = Some("chk.example".into()));
    let (http, name, _) = ssl_of(&c);
    assert_eq!(name, ServerName::try_from("chk.example").unwrap());
    assert_eq!(http.host, "chk.example");
    // sni_name wins over every virtualhost, the url's too.
    set(&mut c, &|h| h.sni_name = Some("sni.example".into()));
    let (_, name, url_sni) = ssl_of(&c);
    assert_eq!(name, ServerName::try_from("sni.example").unwrap());
    assert!(!url_sni);
}
