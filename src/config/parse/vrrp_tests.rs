//! Unit tests of `vrrp.rs`: keepalived's real-world instance and VIP
//! options.

use crate::config::model::{AddrScope, Config, Vip};

fn import(text: &str) -> (Config, Vec<String>) {
    let imp = crate::config::import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()));
    let w = imp.warnings.iter().map(ToString::to_string).collect();
    (imp.config, w)
}

fn round_trip(c: &Config) -> String {
    let text = crate::config::export::export(c);
    let back = crate::config::import_str("x.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}\n{text}", r.lines()));
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert_eq!(&back.config, c, "\n{text}");
    text
}

fn instance(body: &str) -> String {
    format!("vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body}}}\n")
}

#[test]
fn vip_options_in_any_order_and_written_back() {
    let (c, w) = import(&instance(
        " virtual_ipaddress {\n  192.168.1.200/24 no_track scope link brd 192.168.1.127 dev eth0 label eth0:v\n  192.168.1.201/24\n }\n virtual_ipaddress_excluded {\n  10.0.0.1 scope host\n }\n",
    ));
    assert!(w.is_empty(), "{w:?}");
    let i = &c.vrrp_instances[0];
    let v = &i.virtual_ipaddress[0];
    assert_eq!(v.brd, Some("192.168.1.127".parse().unwrap()));
    assert_eq!(v.scope, Some(AddrScope::Link));
    assert!(v.no_track);
    assert_eq!(v.label.as_ref().map(|l| l.as_str()), Some("eth0:v"));
    assert_eq!(
        i.virtual_ipaddress[1],
        Vip::new("192.168.1.201".parse().unwrap(), 24)
    );
    assert_eq!(i.virtual_ipaddress_excluded[0].scope, Some(AddrScope::Host));
    let text = round_trip(&c);
    assert!(
        text.contains(
            "192.168.1.200/24 dev eth0 label eth0:v brd 192.168.1.127 scope link no_track\n"
        ),
        "{text}"
    );
}

#[test]
fn unicast_ttl_and_dont_track_primary_read_and_write_back() {
    let (c, w) = import(&instance(
        " unicast_src_ip 10.0.0.1\n unicast_peer {\n  10.0.1.1\n }\n unicast_ttl 64\n dont_track_primary\n virtual_ipaddress {\n  192.168.1.200\n }\n",
    ));
    assert!(w.is_empty(), "{w:?}");
    let i = &c.vrrp_instances[0];
    assert_eq!((i.unicast_ttl, i.dont_track_primary), (Some(64), true));
    let text = round_trip(&c);
    assert!(text.contains("unicast_ttl 64\n") && text.contains("dont_track_primary\n"));
}

#[test]
fn unicast_ttl_without_peers_is_cleared_with_a_warning() {
    let (c, w) = import(&instance(
        " unicast_ttl 5\n virtual_ipaddress {\n  192.168.1.200\n }\n",
    ));
    assert_eq!(c.vrrp_instances[0].unicast_ttl, None);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("t.conf:4:2: warning: vrrp_instance VI_1: 'unicast_ttl' without 'unicast_peer' is cleared"),
        "{w:?}"
    );
}

#[test]
fn brd_is_for_ipv4_and_unicast_ttl_a_byte() {
    let errors = |text: &str| match crate::config::import_str("t.conf", text, false) {
        Ok(i) => panic!("accepted: {:?}", i.warnings),
        Err(e) => e.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    let e = errors(&instance(
        " virtual_ipaddress {\n  2001:db8::1/64 brd 10.0.0.255\n }\n",
    ));
    assert_eq!(
        e,
        ["t.conf:5:22: error: 'brd': invalid value '10.0.0.255', expected nothing: an IPv6 address has no broadcast address"]
    );
    let e = errors(&instance(
        " unicast_peer {\n  10.0.1.1\n }\n unicast_ttl 256\n virtual_ipaddress {\n  10.0.0.9\n }\n",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.conf:7:14: error: 'unicast_ttl': invalid value '256'"),
        "{e:?}"
    );
}

#[test]
fn use_vmac_takes_an_optional_name_and_keepalived_default() {
    let (c, w) = import(&instance(
        " use_vmac\n vmac_xmit_base\n virtual_ipaddress {\n  192.168.1.200/24\n }\n",
    ));
    assert!(w.is_empty(), "{w:?}");
    let i = &c.vrrp_instances[0];
    let v = i.use_vmac.as_ref().expect("use_vmac");
    assert_eq!((v.name.as_ref(), v.xmit_base), (None, true));
    assert_eq!(i.vmac_name().unwrap().as_str(), "vrrp.51");
    assert_eq!(i.vmac_mac(), Some([0, 0, 0x5e, 0, 1, 51]));
    assert_eq!(i.vip_link(&i.virtual_ipaddress[0]).as_str(), "vrrp.51");
    let text = round_trip(&c);
    assert!(
        text.contains("use_vmac\n") && text.contains("vmac_xmit_base\n"),
        "{text}"
    );

    let (c, _) = import(&instance(
        " version 3\n use_vmac vm51\n virtual_ipaddress {\n  fe80::51\n  2001:db8::51/64 dev eth1\n }\n",
    ));
    let i = &c.vrrp_instances[0];
    assert_eq!(i.vmac_name().unwrap().as_str(), "vm51");
    assert_eq!(
        i.vmac_mac(),
        Some([0, 0, 0x5e, 0, 2, 51]),
        "IPv6: 00-00-5E-00-02-XX"
    );
    assert_eq!(
        i.vip_link(&i.virtual_ipaddress[1]).as_str(),
        "eth1",
        "a dev wins"
    );
    let text = round_trip(&c);
    assert!(
        text.contains("use_vmac \"vm51\"\n") || text.contains("use_vmac vm51\n"),
        "{text}"
    );
}

#[test]
fn vmac_errors_are_located() {
    let e = |body: &str| match crate::config::import_str("t.conf", &instance(body), false) {
        Ok(_) => panic!("accepted: {body}"),
        Err(r) => r.lines(),
    };
    let lines = e(" use_vmac a b\n virtual_ipaddress {\n  10.0.0.9\n }\n");
    assert!(lines[0].starts_with("t.conf:4:13: error:"), "{lines:?}");
    let lines = e(" use_vmac this-name-is-too-long\n virtual_ipaddress {\n  10.0.0.9\n }\n");
    assert!(lines[0].starts_with("t.conf:4:11: error:"), "{lines:?}");
    let lines = e(" use_vmac\n vmac_xmit_base yes\n virtual_ipaddress {\n  10.0.0.9\n }\n");
    assert!(lines[0].starts_with("t.conf:5:17: error:"), "{lines:?}");
    // A label must name the link the address goes on: the vmac.
    let lines = e(" use_vmac\n virtual_ipaddress {\n  10.0.0.9/24 label eth0:1\n }\n");
    assert!(
        lines[0].starts_with("t.conf:6:3: error:") && lines[0].contains("'vrrp.51'"),
        "{lines:?}"
    );
}

#[test]
fn vmac_names_clash_with_other_links() {
    let two = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  10.0.0.9\n }\n}\n\
               vrrp_instance B {\n interface eth1\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  10.1.0.9\n }\n}\n";
    let lines = match crate::config::import_str("t.conf", two, false) {
        Ok(_) => panic!("accepted"),
        Err(r) => r.lines(),
    };
    assert!(
        lines[0].starts_with("t.conf:12:2: error: vrrp_instance B: use_vmac link vrrp.51 is also the vmac of vrrp_instance A"),
        "{lines:?}"
    );
    let own = instance(" use_vmac eth0\n virtual_ipaddress {\n  10.0.0.9\n }\n");
    assert!(crate::config::import_str("t.conf", &own, false).is_err());
}

#[test]
fn vmac_xmit_base_alone_is_ignored_with_a_warning() {
    let (c, w) = import(&instance(
        " vmac_xmit_base\n virtual_ipaddress {\n  10.0.0.9\n }\n",
    ));
    assert_eq!(c.vrrp_instances[0].use_vmac, None);
    assert!(
        w[0].starts_with("t.conf:4:2: warning:") && w[0].contains("without 'use_vmac'"),
        "{w:?}"
    );
}

#[test]
fn an_instance_without_addresses_runs_with_a_warning_that_says_which() {
    let (c, w) = import(&instance(" notify_master /usr/local/bin/move-eip\n"));
    assert!(c.vrrp_instances[0].virtual_ipaddress.is_empty());
    assert_eq!(
        w,
        ["t.conf:1:1: warning: vrrp_instance VI_1: no virtual_ipaddress: the instance runs VRRP and its notify scripts but adds no address, as keepalived does"]
    );
    let (_, w) = import(&instance(" virtual_ipaddress {\n }\n"));
    assert_eq!(
        w,
        ["t.conf:4:2: warning: vrrp_instance VI_1: virtual_ipaddress is empty: the instance runs VRRP and its notify scripts but adds no address, as keepalived does"]
    );
    // The family then comes from the unicast addresses.
    let (c, _) = import(&instance(
        " version 3\n unicast_src_ip fe80::1\n unicast_peer {\n  fe80::2\n }\n",
    ));
    assert!(c.vrrp_instances[0].is_ipv6());
}

#[test]
fn an_unknown_state_starts_as_backup_as_keepalived_does() {
    use crate::config::model::InitialState;
    for (state, warning) in [
        ("SLAVE", "t.conf:4:8: warning: 'state': unknown state 'SLAVE' (MASTER or BACKUP, upper case): the instance starts as BACKUP, as keepalived does"),
        ("master", "t.conf:4:8: warning: 'state': unknown state 'master' (MASTER or BACKUP, upper case): the instance starts as BACKUP, as keepalived does"),
    ] {
        let (c, w) = import(&instance(&format!(" state {state}\n priority 100\n")));
        assert_eq!(c.vrrp_instances[0].state, InitialState::Backup);
        assert!(w.iter().any(|x| x == warning), "{w:?}");
    }
    let (c, w) = import(&instance(
        " state MASTER or BACKUP\n virtual_ipaddress {\n  10.0.0.1\n }\n",
    ));
    assert_eq!(c.vrrp_instances[0].state, InitialState::Master);
    assert_eq!(
        w,
        ["t.conf:4:15: warning: 'state': 'or BACKUP' after 'MASTER' is ignored, as keepalived does"]
    );
}

/// keepalived 2.2.7 reads no word after `nopreempt` or `preempt` (its
/// config dump, `keepalived -d`, says "Preempt = disabled" for every
/// `nopreempt X` and "enabled" for every `preempt X`, off and no
/// included), and the later of the two in an instance decides.
#[test]
fn preempt_and_nopreempt_ignore_their_argument_as_keepalived_does() {
    let vip = " virtual_ipaddress {\n  10.0.0.1\n }\n";
    for (body, nopreempt, warning) in [
        (" nopreempt\n", true, None),
        (" preempt\n", false, None),
        (" nopreempt off\n", true, Some("t.conf:4:12: warning: 'nopreempt': 'off' is ignored: the instance does not preempt (to preempt, leave 'nopreempt' out), as keepalived does")),
        (" nopreempt no\n", true, Some("t.conf:4:12: warning: 'nopreempt': 'no' is ignored: the instance does not preempt (to preempt, leave 'nopreempt' out), as keepalived does")),
        (" nopreempt 1\n", true, Some("t.conf:4:12: warning: 'nopreempt': '1' is ignored: the instance does not preempt (to preempt, leave 'nopreempt' out), as keepalived does")),
        (" nopreempt on\n", true, Some("t.conf:4:12: warning: 'nopreempt': 'on' is ignored: the instance does not preempt (to preempt, leave 'nopreempt' out), as keepalived does")),
        (" preempt off\n", false, Some("t.conf:4:10: warning: 'preempt': 'off' is ignored: the instance preempts (to stop it, write 'nopreempt'), as keepalived does")),
        (" preempt false now\n", false, Some("t.conf:4:10: warning: 'preempt': 'false now' is ignored: the instance preempts (to stop it, write 'nopreempt'), as keepalived does")),
        (" nopreempt\n preempt\n", false, None),
        (" preempt\n nopreempt\n", true, None),
        (" preempt off\n nopreempt off\n", true, None),
    ] {
        let (c, w) = import(&instance(&format!("{body}{vip}")));
        assert_eq!(c.vrrp_instances[0].nopreempt, nopreempt, "{body}");
        match warning {
            None if body.contains("off") => assert_eq!(w.len(), 2, "{body}: {w:?}"),
            None => assert!(w.is_empty(), "{body}: {w:?}"),
            Some(x) => assert_eq!(w, [x], "{body}"),
        }
        // What vigil writes back reads as the same, without a warning.
        let text = round_trip(&c);
        assert_eq!(text.contains("nopreempt\n"), nopreempt, "{text}");
        assert!(!text.contains("preempt off"), "{text}");
    }
}

#[test]
fn an_instance_without_addresses_made_ipv6_by_its_peers_runs_v3() {
    let (c, w) = import(&instance(" unicast_peer {\n  fe80::2\n }\n"));
    let i = &c.vrrp_instances[0];
    assert_eq!(i.version, Some(crate::config::model::VrrpVersion::V3));
    assert_eq!(w.len(), 2, "{w:?}"); // the version, and no virtual_ipaddress
    assert!(w[1].contains("an IPv6 instance runs VRRPv3"), "{w:?}");
    // Export says so, and reads back without the warning.
    let (c, _) = import(&instance(" virtual_ipaddress {\n  2001:db8::1\n }\n"));
    let text = round_trip(&c);
    assert!(text.contains(" version 3\n"), "{text}");
    // With a written 'version 2' it is refused, at that line.
    let text = instance(" version 2\n unicast_peer {\n  fe80::2\n }\n");
    let r = crate::config::import_str("t.conf", &text, false).expect_err("VRRPv2 over IPv6");
    let e: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "t.conf:4:2: error: vrrp_instance VI_1: VRRPv2 is IPv4 only; fe80::2 needs VRRPv3"
        ),
        "{e:?}"
    );
}

/// keepalived 2.2.7 names a vmac given no name `<vmac_prefix>.<VRID>`,
/// cutting the prefix to fit 15 bytes, with `global_defs` anywhere in the
/// file (measured: `vm.51`, `abcdefghijk.251` for `abcdefghijkl`, and a
/// `global_defs` after the instance still counts).
#[test]
fn vmac_prefix_names_the_vmacs_given_no_name_and_is_written_back() {
    use crate::config::model::vmac_default_name;
    let inst = |vrid: u8, vmac: &str| {
        format!(
            "vrrp_instance V{vrid} {{\n interface eth0\n virtual_router_id {vrid}\n {vmac}\n virtual_ipaddress {{\n  10.0.0.{vrid}\n }}\n}}\n"
        )
    };
    let names = |c: &Config| -> Vec<String> {
        (c.vrrp_instances.iter())
            .map(|i| i.vmac_name().map(|n| n.to_string()).unwrap_or_default())
            .collect()
    };
    let text = format!(
        "{}{}global_defs {{\n vmac_prefix vm\n}}\n",
        inst(51, "use_vmac"),
        inst(52, "use_vmac mine")
    );
    let (c, w) = import(&text);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(names(&c), ["vm.51", "mine"]);
    let back = round_trip(&c);
    assert!(back.contains("vmac_prefix vm\n"), "{back}");
    assert!(
        back.contains("use_vmac\n") && back.contains("use_vmac mine\n"),
        "{back}"
    );
    // The name the prefix gives, written out, is the same config.
    let (same, _) = import(&format!(
        "global_defs {{\n vmac_prefix vm\n}}\n{}{}",
        inst(51, "use_vmac vm.51"),
        inst(52, "use_vmac mine")
    ));
    assert_eq!(same, c);
    // Cut to fit, the VRID kept.
    let (c, _) = import(&format!(
        "global_defs {{\n vmac_prefix abcdefghijkl\n}}\n{}{}",
        inst(251, "use_vmac"),
        inst(1, "use_vmac")
    ));
    assert_eq!(names(&c), ["abcdefghijk.251", "abcdefghijkl.1"]);
    round_trip(&c);
    // Without a prefix: keepalived's `vrrp`, as before.
    assert_eq!(
        vmac_default_name(None, 7).map(|n| n.to_string()).as_deref(),
        Some("vrrp.7")
    );
    // Not an interface name: an error at the word.
    let bad = format!(
        "global_defs {{\n vmac_prefix a/b\n}}\n{}",
        inst(51, "use_vmac")
    );
    let r = crate::config::import_str("t.conf", &bad, false).expect_err("a/b");
    let e: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert!(e[0].starts_with("t.conf:2:14: error:"), "{e:?}");
    // Two instances the prefix gives the same name clash as any two.
    let clash = format!(
        "global_defs {{\n vmac_prefix vm\n}}\n{}{}",
        inst(51, "use_vmac"),
        inst(52, "use_vmac vm.51")
    );
    assert!(crate::config::import_str("t.conf", &clash, false).is_err());
}

/// keepalived 2.2.7 reads `vmac_garp_intvl` as `garp_extra_if`, which
/// sends nothing for an instance's own vmac or a plain `dev` interface
/// (measured): vigil ignores it with a warning that says why.
#[test]
fn vmac_garp_intvl_is_ignored_with_why() {
    let (c, w) = import(&instance(
        " use_vmac\n vmac_xmit_base\n vmac_garp_intvl 60\n virtual_ipaddress {\n  10.0.0.9\n }\n",
    ));
    assert!(c.vrrp_instances[0].use_vmac.is_some());
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("t.conf:6:2: warning: 'vmac_garp_intvl' is obsolete: keepalived sends these gratuitous ARPs only on the vmacs use_vmac_addr makes"),
        "{w:?}"
    );
    let (_, w) = import(&format!(
        "global_defs {{\n vrrp_vmac_garp_intvl 60\n}}\n{}",
        instance(" virtual_ipaddress {\n  10.0.0.9\n }\n")
    ));
    assert!(
        w.len() == 1 && w[0].starts_with("t.conf:2:2: warning: 'vrrp_vmac_garp_intvl' is obsolete"),
        "{w:?}"
    );
}

/// keepalived 2.2.7 sets `vmac_xmit_base` for an instance with
/// `use_vmac` and unicast peers ("unicast with use_vmac requires
/// vmac_xmit_base - setting", and its dump says xmit_base = true).
#[test]
fn use_vmac_with_unicast_peers_sends_from_the_parent_as_keepalived_does() {
    let body = " unicast_src_ip 10.0.0.1\n unicast_peer {\n  10.0.0.2\n }\n use_vmac\n virtual_ipaddress {\n  10.0.0.9\n }\n";
    let (c, w) = import(&instance(body));
    assert_eq!(
        c.vrrp_instances[0].use_vmac.as_ref().map(|v| v.xmit_base),
        Some(true)
    );
    assert_eq!(
        w,
        ["t.conf:8:2: warning: vrrp_instance VI_1: unicast adverts with 'use_vmac' go from the parent interface: 'vmac_xmit_base' is set, as keepalived does"]
    );
    assert!(round_trip(&c).contains("vmac_xmit_base\n"));
    // Multicast: as written.
    let (c, w) = import(&instance(
        " use_vmac\n virtual_ipaddress {\n  10.0.0.9\n }\n",
    ));
    assert_eq!(
        c.vrrp_instances[0].use_vmac.as_ref().map(|v| v.xmit_base),
        Some(false)
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn an_ipv6_instance_under_vrrp_version_3_needs_no_warning() {
    let text = format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        instance(" virtual_ipaddress {\n  2001:db8::1\n }\n")
    );
    let (c, w) = import(&text);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        c.vrrp_instances[0].effective_version(&c.global),
        crate::config::model::VrrpVersion::V3
    );
}

#[test]
fn unicast_addresses_with_a_prefix_are_read_as_the_address() {
    // keepalived 2.2.7 runs these as 192.168.0.91 and 192.168.0.92
    // (its dump; the adverts' ARP for the peers).
    let (c, w) = import(&instance(
        " unicast_src_ip 192.168.0.91/24\n unicast_peer {\n  192.168.0.92/24\n  192.168.0.93/x\n }\n virtual_ipaddress {\n  192.168.0.100\n }\n",
    ));
    let i = &c.vrrp_instances[0];
    assert_eq!(i.unicast_src_ip, Some("192.168.0.91".parse().unwrap()));
    assert_eq!(
        i.unicast_peer,
        [
            "192.168.0.92".parse::<std::net::IpAddr>().unwrap(),
            "192.168.0.93".parse().unwrap()
        ]
    );
    assert_eq!(
        w,
        [
            "t.conf:4:17: warning: 'unicast_src_ip': '/24' is ignored: the address is 192.168.0.91, as keepalived does",
            "t.conf:6:3: warning: 'unicast_peer': '/24' is ignored: the address is 192.168.0.92, as keepalived does",
            "t.conf:7:3: warning: 'unicast_peer': '/x' is ignored: the address is 192.168.0.93, as keepalived does",
        ]
    );
    // The export writes the bare addresses.
    let (c, _) = import(&instance(
        " unicast_src_ip 192.168.0.91/24\n unicast_peer {\n  192.168.0.92/24\n }\n virtual_ipaddress {\n  192.168.0.100\n }\n",
    ));
    let text = round_trip(&c);
    assert!(text.contains("unicast_src_ip 192.168.0.91\n"), "{text}");
}

#[test]
fn notify_arp_theft_is_read_and_written_back() {
    let (c, w) = import(&instance(
        " virtual_ipaddress {\n  192.168.1.200/24\n }\n notify_arp_theft \"/etc/vigil/theft.sh --page\"\n",
    ));
    assert!(w.is_empty(), "{w:?}");
    let argv = &c.vrrp_instances[0]
        .notify_arp_theft
        .as_ref()
        .expect("read")
        .argv;
    assert_eq!(argv, &["/etc/vigil/theft.sh", "--page"]);
    let text = round_trip(&c);
    assert!(
        text.contains("notify_arp_theft /etc/vigil/theft.sh --page\n"),
        "{text}"
    );
}
