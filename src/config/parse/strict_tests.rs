//! Unit tests of `strict.rs`: what strict mode does to an instance when
//! read, as keepalived 2.2.7 does it, and that the result writes back.

use crate::config::model::{Config, InitialState};

fn import(text: &str) -> (Config, Vec<String>) {
    let imp = crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()));
    let w = imp.warnings.iter().map(ToString::to_string).collect();
    (imp.config, w)
}

fn refused(text: &str) -> Vec<String> {
    match crate::config::import_str("t.conf", text, false) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(r) => r.lines(),
    }
}

/// `global_defs { vrrp_strict }` after the instance (the global is
/// settled once the whole file is read).
fn strict_after(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body}}}\nglobal_defs {{\n vrrp_strict\n}}\n"
    )
}

fn round_trip(c: &Config) -> String {
    let text = crate::config::export::export(c);
    let back = crate::config::import_str("x.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}\n{text}", r.lines()));
    assert!(back.warnings.is_empty(), "{:?}\n{text}", back.warnings);
    assert_eq!(&back.config, c, "\n{text}");
    text
}

const VIP: &str = " virtual_ipaddress {\n  192.168.1.200\n }\n";

#[test]
fn what_strict_mode_forbids_is_dropped_with_a_warning_at_its_line() {
    let body = format!(
        " state MASTER\n priority 100\n authentication {{\n  auth_type PASS\n  auth_pass 1111\n }}\n preempt_delay 5\n accept\n{VIP}"
    );
    let (c, w) = import(&strict_after(&body));
    let i = &c.vrrp_instances[0];
    assert!(i.strict);
    assert_eq!(i.state, InitialState::Backup);
    assert!(i.authentication.is_none());
    assert_eq!(i.preempt_delay.0, 0);
    assert!(!i.accept, "VRRPv2 has no accept mode");
    let at = |line: usize, what: &str| {
        assert!(
            w.iter()
                .any(|l| l.starts_with(&format!("t.conf:{line}:")) && l.contains(what)),
            "no warning at line {line} about {what}: {w:?}"
        );
    };
    at(4, "starts as BACKUP");
    at(6, "authentication is not allowed");
    at(10, "preempt_delay");
    at(11, "'accept' is not allowed with VRRPv2");
    assert_eq!(w.len(), 4, "{w:?}");
    let text = round_trip(&c);
    assert!(text.contains("strict_mode\n"), "{text}");
}

#[test]
fn accept_defaults_to_the_owner_s_and_an_explicit_v3_accept_stays() {
    let (c, w) = import(&strict_after(&format!(" priority 100\n{VIP}")));
    assert!(w.is_empty(), "{w:?}");
    assert!(!c.vrrp_instances[0].accept, "below 255: no_accept");
    round_trip(&c);

    let owner = format!(" state MASTER\n priority 255\n{VIP}");
    let (c, w) = import(&strict_after(&owner));
    assert!(w.is_empty(), "{w:?}");
    let i = &c.vrrp_instances[0];
    assert!(
        i.accept && i.state == InitialState::Master,
        "the owner accepts"
    );
    round_trip(&c);

    let (c, w) = import(&strict_after(&format!(" version 3\n accept\n{VIP}")));
    assert!(w.is_empty(), "{w:?}");
    assert!(c.vrrp_instances[0].accept);
    let text = round_trip(&c);
    assert!(text.contains("accept\n"), "{text}");
}

#[test]
fn strict_mode_of_an_instance_overrides_the_global() {
    let (c, _) = import(&strict_after(&format!(" strict_mode off\n{VIP}")));
    let i = &c.vrrp_instances[0];
    assert!(!i.strict && i.accept, "outside strict mode the VIPs accept");

    let text = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n strict_mode\n{VIP}}}\n"
    );
    let (c, w) = import(&text);
    assert!(w.is_empty(), "{w:?}");
    assert!(c.vrrp_instances[0].strict && !c.vrrp_instances[0].accept);
}

#[test]
fn unicast_peers_run_with_a_warning_and_no_accept_alone_needs_no_strict() {
    let body = format!(" unicast_peer {{\n  192.168.1.2\n }}\n{VIP}");
    let (c, w) = import(&strict_after(&body));
    assert_eq!(c.vrrp_instances[0].unicast_peer.len(), 1);
    assert!(
        w.len() == 1 && w[0].starts_with("t.conf:4:") && w[0].contains("unicast"),
        "{w:?}"
    );

    let plain = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n no_accept\n{VIP}}}\n"
    );
    let (c, w) = import(&plain);
    assert!(w.is_empty(), "{w:?}");
    let i = &c.vrrp_instances[0];
    assert!(!i.strict && !i.accept);
    round_trip(&c);
}

#[test]
fn an_instance_strict_mode_cannot_run_is_refused_where_it_is() {
    let lines = refused(&strict_after(" priority 100\n"));
    assert!(
        lines[0].starts_with("t.conf:1:1: error:") && lines[0].contains("virtual_ipaddress"),
        "{lines:?}"
    );
    let v6 = " version 3\n virtual_ipaddress {\n  2001:db8::1\n  fe80::1\n }\n";
    let lines = refused(&strict_after(v6));
    assert!(
        lines[0].starts_with("t.conf:6:3: error:") && lines[0].contains("link-local"),
        "{lines:?}"
    );
}
