//! Unit tests of `lvs.rs`: keepalived's real-world virtual_server and
//! checker options.

use crate::config::model::{Config, Scheduler, ServiceFlags};

fn import(text: &str) -> (Config, Vec<String>) {
    let imp = crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()));
    let w = imp.warnings.iter().map(ToString::to_string).collect();
    (imp.config, w)
}

fn errors_of(text: &str) -> Vec<String> {
    match crate::config::import_str("t.conf", text, false) {
        Ok(i) => panic!("accepted: {:?}", i.warnings),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

/// Import, export, import: the same model.
fn round_trip(c: &Config) -> String {
    let text = crate::config::export::export(c);
    let (back, w) = import(&text);
    assert!(w.is_empty(), "{w:?}\n{text}");
    assert_eq!(&back, c, "\n{text}");
    text
}

fn service(sched: &str, proto: &str, flags: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n lvs_sched {sched}\n protocol {proto}\n{flags} real_server 10.0.0.2 80\n}}\n"
    )
}

#[test]
fn scheduler_flags_take_their_scheduler_s_names_and_flag_n() {
    let (c, w) = import(&service("sh", "UDP", " sh-port\n sh-fallback\n ops\n"));
    assert!(w.is_empty(), "{w:?}");
    let f = c.virtual_servers[0].flags;
    assert_eq!(
        f,
        ServiceFlags {
            sched: [true, true, false],
            ops: true
        }
    );
    let text = round_trip(&c);
    assert!(
        text.contains("lvs_sched sh\n    sh-fallback\n    sh-port\n    ops\n"),
        "{text}"
    );

    let (c, w) = import(&service("mh", "TCP", " mh-port\n flag-3\n"));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.virtual_servers[0].flags.sched, [false, true, true]);
    assert!(round_trip(&c).contains("mh-port\n    flag-3\n"));

    // flag-N under any scheduler; written back as the scheduler names it.
    let (c, _) = import(&service("rr", "TCP", " flag-1\n flag-2\n"));
    assert_eq!(c.virtual_servers[0].flags.sched, [true, true, false]);
    round_trip(&c);
    let (c, _) = import(&service("sh", "TCP", " flag-2\n"));
    assert!(round_trip(&c).contains("sh-port"));
    assert_eq!(ServiceFlags::keyword(Scheduler::Wrr, 1), "flag-2");
}

#[test]
fn another_scheduler_s_flag_and_ops_outside_udp_warn() {
    let (c, w) = import(&service("wlc", "TCP", " sh-port\n ops\n"));
    let f = c.virtual_servers[0].flags;
    assert_eq!(f.sched, [false; 3], "sh-port under wlc is ignored");
    assert!(f.ops, "ops is kept: the kernel ignores it outside UDP");
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].starts_with("t.conf:4:2: warning: 'sh-port' is a flag of the sh scheduler and this service's is wlc: ignored"), "{w:?}");
    assert!(w[1].starts_with("t.conf:5:2: warning: virtual_server 10.0.0.1 80: 'ops' (one-packet scheduling) acts on UDP only"), "{w:?}");
    let (_, w) = import(&service("sh", "UDP", " mh-fallback\n"));
    assert!(w[0].contains("'mh-fallback' is a flag of the mh scheduler and this service's is sh"));
}

#[test]
fn a_scheduler_flag_takes_no_argument() {
    let e = errors_of(&service("sh", "TCP", " sh-port on\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:4:10: error:"), "{e:?}");
}

fn checker(kind: &str, body: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 443 {{\n protocol TCP\n real_server 10.0.0.2 443 {{\n  virtualhost rs.example\n  {kind} {{\n{body}   url {{\n    path /\n    virtualhost url.example\n   }}\n  }}\n }}\n}}\n"
    )
}

fn http_of(c: &Config) -> &crate::config::model::HttpCheck {
    use crate::config::model::CheckKind;
    match &c.virtual_servers[0].real_servers[0].checkers[0].kind {
        CheckKind::Http(h) | CheckKind::Ssl(h) => h,
        k => panic!("{k:?}"),
    }
}

#[test]
fn http_protocol_sni_and_virtualhosts_read_and_write_back() {
    use crate::config::model::HttpProtocol;
    let (c, w) = import(&checker(
        "SSL_GET",
        "   http_protocol 1.0C\n   sni_name sni.example\n",
    ));
    assert!(w.is_empty(), "{w:?}");
    let h = http_of(&c);
    assert_eq!(h.protocol, HttpProtocol::V10Close);
    assert_eq!(
        (h.enable_sni, h.sni_name.as_deref()),
        (true, Some("sni.example"))
    );
    assert_eq!(h.urls[0].virtualhost.as_deref(), Some("url.example"));
    let rs = &c.virtual_servers[0].real_servers[0];
    assert_eq!(
        rs.virtualhost.as_deref().map(String::as_str),
        Some("rs.example")
    );
    round_trip(&c);
    // keepalived's lower-case spelling; 1.1; enable_sni alone.
    let (c, _) = import(&checker("SSL_GET", "   http_protocol 1.0c\n"));
    assert_eq!(http_of(&c).protocol, HttpProtocol::V10Close);
    let (c, _) = import(&checker("SSL_GET", "   http_protocol 1.1\n   enable_sni\n"));
    assert_eq!(http_of(&c).protocol, HttpProtocol::V11);
    assert!(http_of(&c).enable_sni && http_of(&c).sni_name.is_none());
    round_trip(&c);
    // In file order: a later `enable_sni off` turns sni_name's SNI off.
    let (c, _) = import(&checker(
        "SSL_GET",
        "   sni_name s.example\n   enable_sni off\n",
    ));
    assert!(!http_of(&c).enable_sni);
    assert!(round_trip(&c).contains("sni_name s.example\n            enable_sni off\n"));
}

#[test]
fn http_protocol_errors_and_sni_on_http_get_warn() {
    let e = errors_of(&checker("HTTP_GET", "   http_protocol 2\n"));
    assert_eq!(
        e,
        ["t.conf:6:18: error: 'http_protocol': invalid value '2', expected one of 1.0 1.0C 1.1"]
    );
    let (c, w) = import(&checker("HTTP_GET", "   enable_sni\n"));
    assert!(!http_of(&c).enable_sni);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("t.conf:6:4: warning: 'enable_sni' applies to SSL_GET only"),
        "{w:?}"
    );
}

#[test]
fn quorum_0_and_persistence_timeout_0_are_read_as_keepalived_reads_them() {
    let (c, w) = import(&service("rr", "TCP", " quorum 0\n persistence_timeout 0\n"));
    let v = &c.virtual_servers[0];
    assert_eq!(v.quorum, 1);
    assert_eq!(v.persistence_timeout, None);
    assert_eq!(
        w,
        [
            "t.conf:4:9: warning: 'quorum': 0 is read as 1 (the least weight a service can be up with), as keepalived does",
            "t.conf:5:22: warning: 'persistence_timeout': 0 is no timeout and is ignored: no persistence, as keepalived does",
        ]
    );
    round_trip(&c);
}
