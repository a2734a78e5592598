//! Unit tests of `global.rs`: the `metrics` block, repeated blocks.

use crate::config::{export, import_str};

fn errors(text: &str) -> Vec<String> {
    match import_str("t.conf", text, false) {
        Ok(imp) => panic!("accepted: {:?}", imp.config.global.metrics),
        Err(r) => r.errors.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn metrics_listen_reads_exports_and_reads_back() {
    for addr in ["192.168.1.100:9100", "[2001:db8::1]:9100"] {
        let text = format!("global_defs {{\n metrics {{\n  listen {addr}\n }}\n}}\n");
        let c = import_str("t.conf", &text, false).expect("valid").config;
        let m = c.global.metrics.expect("metrics");
        assert_eq!(m.listen, addr.parse().unwrap());
        let out = export::export(&c);
        assert!(
            out.contains(&format!("    metrics {{\n        listen {addr}\n    }}\n")),
            "{out}"
        );
        let back = import_str("t.conf", &out, false).expect("valid").config;
        assert_eq!(back, c);
    }
}

#[test]
fn metrics_are_off_by_default() {
    let c = import_str("t.conf", "global_defs {\n router_id a\n}\n", false)
        .expect("valid")
        .config;
    assert_eq!(c.global.metrics, None);
    assert!(!export::export(&c).contains("metrics"));
}

#[test]
fn a_wildcard_a_port_0_or_no_port_is_refused_at_its_place() {
    for bad in [
        "0.0.0.0:9100",
        "[::]:9100",
        "10.0.0.1:0",
        "10.0.0.1",
        "lb1:9100",
    ] {
        let e = errors(&format!(
            "global_defs {{\n metrics {{\n  listen {bad}\n }}\n}}\n"
        ));
        assert_eq!(e.len(), 1, "{bad}: {e:?}");
        assert!(e[0].starts_with("t.conf:3:10: "), "{e:?}");
        assert!(e[0].contains("not a wildcard"), "{e:?}");
    }
}

#[test]
fn an_empty_metrics_block_names_what_is_missing() {
    let e = errors("global_defs {\n metrics {\n }\n}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.conf:2:2: ") && e[0].contains("listen"),
        "{e:?}"
    );
}

#[test]
fn on_a_box_metrics_listen_on_an_appliance_address_only() {
    let text = |addr: &str| {
        format!(
            "global_defs {{\n metrics {{\n  listen {addr}:9100\n }}\n}}\n\
             appliance {{\n interface eth0 {{\n  address 192.168.1.100/24\n }}\n}}\n"
        )
    };
    import_str("t.conf", &text("192.168.1.100"), false).expect("the box's address");
    let e = errors(&text("192.168.1.200"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:2:2: "), "{e:?}");
    assert!(
        e[0].contains("no address of an appliance interface"),
        "{e:?}"
    );
}

#[test]
fn a_second_global_defs_is_merged_into_the_first_as_keepalived_does() {
    let text = concat!(
        "global_defs {\n router_id FIRST\n notification_email {\n  a@x.org\n }\n",
        " vrrp_garp_master_delay 7\n}\n",
        "global_defs {\n router_id SECOND\n notification_email {\n  b@x.org\n }\n}\n",
    );
    let imp = import_str("t.conf", text, false).expect("valid");
    let g = &imp.config.global;
    // What keepalived 2.2.7 -d dumps for the same file.
    assert_eq!(g.router_id.as_deref(), Some("SECOND"));
    assert_eq!(g.notification_email, ["a@x.org", "b@x.org"]);
    assert_eq!(g.garp.master_delay.0, 7000);
    let w: Vec<String> = imp.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:8:1: warning: 'global_defs': given again (first at t.conf:1:1): its settings are read into the first block, a setting given in both from the later, as keepalived does",
            "t.conf:9:2: warning: 'global_defs': 'router_id' is also given at t.conf:2:2: this later one is used, as keepalived does",
            "t.conf:10:2: warning: 'global_defs': 'notification_email' is also given at t.conf:3:2: the addresses of both are used, as keepalived does",
        ]
    );
    // Within one block a repeat stays an error.
    let twice = "global_defs {\n router_id A\n router_id B\n}\n";
    assert_eq!(
        errors(twice),
        ["t.conf:3:2: error: 'router_id' is given twice with another value (first at t.conf:2:2: 'A'; here: 'B'): keepalived 2.2.7 runs the last one ('B') without a word; keep the one meant and remove the other"]
    );
}
