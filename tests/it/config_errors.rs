//! Every error path of config import, with its exact place and message.
//! Each case is a small config that breaks one rule; the expected lines are
//! the full `file:line:col: message` output, so a moved caret or a reworded
//! message fails here.

use vigil::config::import_str;

fn errors(text: &str) -> Vec<String> {
    match import_str("t.conf", text, false) {
        Ok(_) => vec![],
        Err(r) => r.errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn check(name: &str, text: &str, expected: &[&str]) {
    assert_eq!(errors(text), expected, "case {name}:\n{text}");
}

/// The config imports, with exactly these warnings.
fn check_warns(name: &str, text: &str, expected: &[&str]) {
    match import_str("t.conf", text, false) {
        Ok(imp) => {
            let got: Vec<String> = imp.warnings.iter().map(|w| w.to_string()).collect();
            assert_eq!(got, expected, "case {name}:\n{text}");
        }
        Err(r) => panic!("case {name} does not import: {:#?}", r.lines()),
    }
}

#[test]
fn unterminated_quote() {
    check(
        "unterminated_quote",
        "global_defs {\n    router_id \"LVS1\n}\n",
        &["t.conf:2:15: error: unterminated quoted string: expected a closing '\"' before the end of the line"],
    );
}

#[test]
fn stray_close() {
    check(
        "stray_close",
        "}\n",
        &["t.conf:1:1: error: unexpected '}': no block is open here"],
    );
}

#[test]
fn unclosed_block() {
    check(
        "unclosed_block",
        "global_defs {\n    router_id LVS1\n",
        &["t.conf:3:1: error: block opened with '{' at t.conf:1:13 is never closed: expected '}'"],
    );
}

#[test]
fn unknown_top() {
    check(
        "unknown_top",
        "bfd_instance chk {\n}\n",
        &["t.conf:1:1: error: keepalived's 'bfd_instance' is not supported by vigil (in the top level)"],
    );
}

#[test]
fn unknown_in_instance() {
    check(
        "unknown_in_instance",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priorty 100\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:5: error: unknown keyword 'priorty' in vrrp_instance (did you mean 'priority'?)"],
    );
}

#[test]
fn unknown_far() {
    check(
        "unknown_far",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    track_bfd\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:5: error: keepalived's 'track_bfd' is not supported by vigil (in vrrp_instance)"],
    );
}

#[test]
fn vrid_range() {
    check(
        "vrid_range",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 256\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:3:23: error: 'virtual_router_id': invalid value '256', expected an integer 1..255"],
    );
}

#[test]
fn vrid_zero() {
    check(
        "vrid_zero",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 0\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:3:23: error: 'virtual_router_id': invalid value '0', expected an integer 1..255"],
    );
}

#[test]
fn priority_range() {
    check(
        "priority_range",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 256\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:14: error: 'priority': invalid value '256', expected an integer 1..255"],
    );
}

#[test]
fn owner_backup() {
    check(
        "owner_backup",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    state BACKUP\n    priority 255\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:5: error: vrrp_instance VI_1: priority 255 means the address owner, which must start as MASTER, not BACKUP"],
    );
}

#[test]
fn nopreempt_master() {
    check_warns(
        "nopreempt_master",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    state MASTER\n    nopreempt\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:5: warning: vrrp_instance VI_1: nopreempt does not work with 'state MASTER': cleared, as keepalived does (this instance preempts)"],
    );
}

#[test]
fn state_lower() {
    // keepalived reads MASTER and BACKUP in upper case only and starts any
    // other word as BACKUP; so does vigil, with a warning.
    check_warns(
        "state_lower",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    state master\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:11: warning: 'state': unknown state 'master' (MASTER or BACKUP, upper case): the instance starts as BACKUP, as keepalived does"],
    );
}

#[test]
fn dup_priority() {
    check(
        "dup_priority",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    priority 90\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:5: error: 'priority' is given twice with another value (first at t.conf:4:5: '100'; here: '90'): keepalived 2.2.7 runs the last one ('90') without a word; keep the one meant and remove the other"],
    );
}

#[test]
fn repeat_same_value() {
    // keepalived 2.2.7 takes any repeat; one that says the same is harmless.
    check_warns(
        "repeat_same_value",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    nopreempt\n    priority 90\n    nopreempt\n    priority 90\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &[
            "t.conf:6:5: warning: 'nopreempt' is given twice (first at t.conf:4:5) with the same value: the setting is the same whichever counts (keepalived 2.2.7 uses the last); this one changes nothing",
            "t.conf:7:5: warning: 'priority' is given twice (first at t.conf:5:5) with the same value: the setting is the same whichever counts (keepalived 2.2.7 uses the last); this one changes nothing",
        ],
    );
    // A block twice stays an error (keepalived adds the lists up).
    check(
        "repeat_block",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n    virtual_ipaddress {\n        192.168.1.201/24\n    }\n}\n",
        &["t.conf:7:5: error: 'virtual_ipaddress' is given twice (first at t.conf:4:5)"],
    );
}

#[test]
fn missing_interface() {
    check(
        "missing_interface",
        "vrrp_instance VI_1 {\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
        &["t.conf:1:1: error: 'interface' is missing from vrrp_instance VI_1"],
    );
}

#[test]
fn missing_vrid() {
    check(
        "missing_vrid",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
        &["t.conf:1:1: error: 'virtual_router_id' is missing from vrrp_instance VI_1"],
    );
}

#[test]
fn no_vip() {
    check_warns(
        "no_vip",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n}\n",
        &["t.conf:1:1: warning: vrrp_instance VI_1: no virtual_ipaddress: the instance runs VRRP and its notify scripts but adds no address, as keepalived does"],
    );
}

#[test]
fn ifname_long() {
    check(
        "ifname_long",
        "vrrp_instance VI_1 {\n    interface abcdefghijklmnop\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:2:15: error: 'interface': invalid value 'abcdefghijklmnop', expected an interface name of at most 15 bytes"],
    );
}

#[test]
fn pass_long() {
    // keepalived uses the first 8 bytes; so does vigil, with a warning.
    check_warns(
        "pass_long",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass 123456789\n    }\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:6:19: warning: 'auth_pass' has 9 bytes: only the first 8 are used, as keepalived does (VRRP carries 8)"],
    );
}

#[test]
fn auth_ah() {
    check(
        "auth_ah",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type AH\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:19: error: 'auth_type AH' is not supported by vigil: IPsec AH authentication was removed from VRRP (RFC 3768 and 5798); use PASS or none"],
    );
}

#[test]
fn auth_no_pass() {
    check(
        "auth_no_pass",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n    }\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:5: error: 'auth_pass' is missing from authentication"],
    );
}

#[test]
fn v3_auth() {
    // keepalived 2.2.7: "VRRP version 3 does not support authentication.
    // Ignoring."
    check_warns(
        "v3_auth",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    version 3\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:5: warning: 'authentication': vrrp_instance VI_1: VRRPv3 has no authentication (RFC 5798 section 9): ignored, adverts carry none, as keepalived does"],
    );
}

#[test]
fn v2_fraction() {
    check(
        "v2_fraction",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    advert_int 0.5\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:5: error: vrrp_instance VI_1: VRRPv2 carries whole seconds 1..255, advert_int 0.5 is not one (use 'version 3' for sub-second adverts)"],
    );
}

#[test]
fn v3_interval() {
    check(
        "v3_interval",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    version 3\n    advert_int 0.015\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:5: error: vrrp_instance VI_1: advert_int 0.015 is outside VRRPv3's 0.01..40.95 s in steps of 0.01 s"],
    );
}

#[test]
fn advert_too_precise() {
    check(
        "advert_too_precise",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    advert_int 0.0001\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:16: error: 'advert_int': invalid value '0.0001', expected seconds 0.01..255 with at most 3 decimals"],
    );
}

#[test]
fn v2_ipv6() {
    // A written 'version 2' before IPv6 addresses: keepalived 2.2.7 sends
    // VRRPv2 over IPv6 (measured); vigil refuses.
    check(
        "v2_ipv6",
        "vrrp_instance VI_6 {\n    interface eth0\n    virtual_router_id 7\n    version 2\n    virtual_ipaddress {\n        2001:db8::1/64\n    }\n}\n",
        &["t.conf:4:5: error: vrrp_instance VI_6: VRRPv2 is IPv4 only; 2001:db8::1 needs VRRPv3: write 'version 3' or no version (keepalived 2.2.7 sends VRRPv2 over IPv6 when 'version 2' comes before the addresses, which no RFC defines and vigil does not speak; its peers must run VRRPv3 too)"],
    );
}

#[test]
fn ipv6_without_version_runs_v3() {
    // kolla-ansible's template: IPv6 VIPs, no version, authentication.
    check_warns(
        "ipv6_without_version_runs_v3",
        "global_defs {\n    vrrp_version 2\n}\nvrrp_instance VI_6 {\n    interface eth0\n    virtual_router_id 7\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n    virtual_ipaddress {\n        2001:db8::1/64\n    }\n}\n",
        &[
            "t.conf:4:1: warning: vrrp_instance VI_6: an IPv6 instance runs VRRPv3 (VRRPv2 is IPv4 only) when it names no version, as keepalived does, whatever vrrp_version says: read as 'version 3'",
            "t.conf:7:5: warning: 'authentication': vrrp_instance VI_6: VRRPv3 has no authentication (RFC 5798 section 9): ignored, adverts carry none, as keepalived does",
        ],
    );
    // 'version 2' after the addresses: keepalived 2.2.7 ignores it.
    check_warns(
        "ipv6_version_2_after_addresses",
        "vrrp_instance VI_6 {\n    interface eth0\n    virtual_router_id 7\n    virtual_ipaddress {\n        2001:db8::1/64\n    }\n    version 2\n}\n",
        &[
            "t.conf:1:1: warning: vrrp_instance VI_6: an IPv6 instance runs VRRPv3 (VRRPv2 is IPv4 only) when it names no version, as keepalived does, whatever vrrp_version says: read as 'version 3'",
            "t.conf:7:13: warning: 'version': 'version 2' after IPv6 addresses is ignored: the instance runs VRRPv3 (write 'version 3' or nothing), as keepalived does",
        ],
    );
}

#[test]
fn mixed_family() {
    check_warns(
        "mixed_family",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    version 3\n\n    virtual_ipaddress {\n        192.168.1.200/24\n        2001:db8::1\n    }\n}\n",
        &["t.conf:8:9: warning: vrrp_instance VI_1: 2001:db8::1 is IPv6 but the instance's first virtual address is IPv4: left out, as keepalived does (list it in virtual_ipaddress_excluded to have it added)"],
    );
}

#[test]
fn vip_bad() {
    check(
        "vip_bad",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.300/24\n    }\n}\n",
        &["t.conf:6:9: error: 'virtual_ipaddress': invalid value '192.168.1.300/24', expected an address ADDR or ADDR/PREFIX"],
    );
}

#[test]
fn vip_prefix() {
    check(
        "vip_prefix",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/33\n    }\n}\n",
        &["t.conf:6:9: error: 'virtual_ipaddress': invalid value '192.168.1.200/33', expected a prefix length 0..32 after '/'"],
    );
}

#[test]
fn vip_dup() {
    check(
        "vip_dup",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n        192.168.1.200/32\n    }\n}\n",
        &["t.conf:7:9: error: 'virtual_ipaddress': invalid value '192.168.1.200/32', expected each address once"],
    );
}

#[test]
fn vip_label() {
    check(
        "vip_label",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24 dev eth1 label eth0:vip\n    }\n}\n",
        &["t.conf:6:9: error: vrrp_instance VI_1: label 'eth0:vip' must start with the device name 'eth1' (kernel rule)"],
    );
}

#[test]
fn vip_opt() {
    check(
        "vip_opt",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24 scope galaxy home\n        192.168.1.201/24 brd 2001:db8::1\n        192.168.1.202/24 label\n    }\n}\n",
        &[
            "t.conf:6:32: error: 'scope': invalid value 'galaxy', expected one of global site link host nowhere",
            "t.conf:7:30: error: 'brd': invalid value '2001:db8::1', expected an IPv4 address",
            "t.conf:8:26: error: 'virtual_ipaddress': invalid value 'label', expected a value after 'label'",
        ],
    );
}

#[test]
fn vrid_clash() {
    check(
        "vrid_clash",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:11:5: error: vrrp_instance VI_2: virtual_router_id 51 on eth0 is already used by vrrp_instance VI_1"],
    );
}

#[test]
fn sync_unknown() {
    check(
        "sync_unknown",
        "vrrp_sync_group G {\n    group {\n        VI_9\n    }\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:3:9: error: vrrp_sync_group G: no vrrp_instance named VI_9"],
    );
}

#[test]
fn sync_twice() {
    check(
        "sync_twice",
        "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n}\nvrrp_sync_group H {\n    group {\n        VI_1\n    }\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:8:9: error: vrrp_sync_group H: vrrp_instance VI_1 is already in vrrp_sync_group G"],
    );
}

#[test]
fn sync_no_group() {
    check(
        "sync_no_group",
        "vrrp_sync_group G {\n}\n",
        &["t.conf:1:1: error: 'group' is missing from vrrp_sync_group G"],
    );
}

#[test]
fn hostname_smtp() {
    check(
        "hostname_smtp",
        "global_defs {\n    smtp_server mail.example.com:25\n}\n",
        &["t.conf:2:17: error: 'smtp_server': invalid value 'mail.example.com:25', expected an IPv4 or IPv6 address, or a host name"],
    );
}

#[test]
fn smtp_port() {
    check(
        "smtp_port",
        "global_defs {\n    smtp_server 127.0.0.1 70000\n}\n",
        &["t.conf:2:27: error: 'smtp_server': invalid value '70000', expected an integer 1..65535"],
    );
}

#[test]
fn email_bad() {
    check(
        "email_bad",
        "global_defs {\n    notification_email {\n        not-an-address\n    }\n}\n",
        &["t.conf:3:9: error: 'notification_email': invalid value 'not-an-address', expected an e-mail address user@domain"],
    );
}

#[test]
fn sync_daemon_unknown() {
    check(
        "sync_daemon_unknown",
        "global_defs {\n    lvs_sync_daemon eth1 VI_X id 7\n}\n",
        &["t.conf:2:5: error: lvs_sync_daemon: no vrrp_instance named VI_X"],
    );
}

#[test]
fn sync_daemon_opt() {
    check(
        "sync_daemon_opt",
        "global_defs {\n    lvs_sync_daemon eth1 VI_1 speed 7\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:2:31: error: 'lvs_sync_daemon': invalid value 'speed', expected one of id maxlen port ttl group"],
    );
}

#[test]
fn lvs_timeouts_bad() {
    check(
        "lvs_timeouts_bad",
        "global_defs {\n    lvs_timeouts tcp\n}\n",
        &["t.conf:2:5: error: 'lvs_timeouts' needs [tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]"],
    );
}

#[test]
fn vrrp_version() {
    check(
        "vrrp_version",
        "global_defs {\n    vrrp_version 4\n}\n",
        &["t.conf:2:18: error: 'vrrp_version': invalid value '4', expected 2 or 3"],
    );
}

#[test]
fn mcast4() {
    check(
        "mcast4",
        "global_defs {\n    vrrp_mcast_group4 10.0.0.1\n}\n",
        &["t.conf:2:23: error: 'vrrp_mcast_group4': invalid value '10.0.0.1', expected an IPv4 multicast address (224.0.0.0/4)"],
    );
}

#[test]
fn script_relative() {
    check(
        "script_relative",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    notify_master \"notify.sh master\"\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:4:19: error: 'notify_master': invalid value 'notify.sh master', expected an absolute path to a program, then its arguments"],
    );
}

#[test]
fn track_weight() {
    check(
        "track_weight",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    track_interface {\n        eth1 weight 300\n    }\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n",
        &["t.conf:5:21: error: 'track_interface': invalid value '300', expected an integer -254..254"],
    );
}

#[test]
fn vs_unknown_sched() {
    // keepalived 2.2.7: "Invalid lvs_scheduler ... - ignoring", then wlc.
    let sched = "keepalived knows rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos, as written";
    check_warns(
        "vs_unknown_sched",
        "virtual_server 10.0.0.1 80 {\n    lvs_sched fastest\n    protocol TCP\n}\nvirtual_server 10.0.0.1 81 {\n    lb_algo RR\n    protocol TCP\n}\n",
        &[
            &format!("t.conf:2:15: warning: 'lvs_sched': unknown scheduler 'fastest' ({sched}): the virtual server schedules by wlc, as keepalived does"),
            "t.conf:6:5: warning: 'lb_algo' is keepalived's deprecated name for 'lvs_sched'",
            &format!("t.conf:6:13: warning: 'lvs_sched': unknown scheduler 'RR' ({sched}; write 'rr' for rr): the virtual server schedules by wlc, as keepalived does"),
        ],
    );
}

#[test]
fn vs_method() {
    // keepalived 2.2.7: "unknown [dr] routing method", then NAT; a real
    // server's is left to its service.
    check_warns(
        "vs_method",
        "virtual_server 10.0.0.1 80 {\n    lb_kind dr\n    real_server 10.0.0.2 80 {\n        lvs_method DIRECT\n    }\n    protocol TCP\n}\n",
        &[
            "t.conf:2:5: warning: 'lb_kind' is keepalived's deprecated name for 'lvs_method'",
            "t.conf:2:13: warning: 'lvs_method': unknown method 'dr' (keepalived knows NAT DR TUN, as written; write 'DR' for DR): the virtual server forwards by NAT, as keepalived does",
            "t.conf:4:20: warning: 'lvs_method': unknown method 'DIRECT' (keepalived knows NAT DR TUN, as written): the real server forwards as its virtual server does, as keepalived does",
        ],
    );
}

#[test]
fn vs_port() {
    check(
        "vs_port",
        "virtual_server 10.0.0.1 http {\n}\n",
        &["t.conf:1:25: error: 'virtual_server': invalid value 'http', expected an integer 0..65535"],
    );
}

#[test]
fn vs_no_port() {
    check(
        "vs_no_port",
        "virtual_server {\n}\n",
        &["t.conf:1:1: error: 'virtual_server' needs 'IP [PORT]', 'fwmark N' or 'group NAME', then '{'"],
    );
    check(
        "vs_fwmark_alone",
        "virtual_server fwmark {\n}\n",
        &["t.conf:1:1: error: 'virtual_server' needs 'IP [PORT]', 'fwmark N' or 'group NAME', then '{'"],
    );
}

#[test]
fn vs_every_port_without_persistence_warns() {
    let warning = "t.conf:1:1: warning: virtual_server 10.0.0.1 0: a service of every port (port 0) needs persistence_timeout: without it the kernel accepts the service but forwards no connection (\"port zero only supported in persistent services\")";
    for header in ["virtual_server 10.0.0.1 {", "virtual_server 10.0.0.1 0 {"] {
        check_warns(
            "vs_every_port",
            &format!("{header}\n    protocol TCP\n    lvs_method DR\n    real_server 10.0.0.2 {{\n    }}\n}}\n"),
            &[warning],
        );
    }
    check_warns(
        "vs_every_port_persistent",
        "virtual_server 10.0.0.1 {\n    protocol TCP\n    persistence_timeout 300\n    real_server 10.0.0.2 {\n    }\n}\n",
        &[],
    );
}

#[test]
fn vs_group() {
    check(
        "vs_group",
        "virtual_server group WEB {\n}\n",
        &["t.conf:1:1: error: virtual_server group WEB: no virtual_server_group of that name"],
    );
    check(
        "vs_group_empty",
        "virtual_server_group WEB {\n}\nvirtual_server group WEB {\n}\n",
        &["t.conf:3:1: error: virtual_server group WEB: the virtual_server_group has no member"],
    );
}

#[test]
fn vs_dup() {
    check(
        "vs_dup",
        "virtual_server 10.0.0.1 80 {\n}\nvirtual_server 10.0.0.1 80 {\n}\n",
        &["t.conf:3:1: error: virtual_server 10.0.0.1 80 is given twice (first at t.conf:1:1)"],
    );
}

#[test]
fn rs_dup() {
    check(
        "rs_dup",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n    }\n    real_server 10.0.0.2 80 {\n    }\n}\n",
        &["t.conf:4:5: error: virtual_server 10.0.0.1 80: real_server 10.0.0.2 80 is given twice"],
    );
}

#[test]
fn rs_same_dr_destination() {
    // DR forwards to the service's port: 8080 and 80 are one destination
    // in the kernel. NAT (the default) keeps each real server's port.
    check(
        "rs_same_dr_destination",
        "virtual_server 10.0.0.1 80 {\n    lvs_method DR\n    real_server 10.0.0.2 80 {\n    }\n    real_server 10.0.0.2 8080 {\n    }\n}\n",
        &["t.conf:5:5: error: virtual_server 10.0.0.1 80: real_server 10.0.0.2 8080 is the same kernel destination as real_server 10.0.0.2 80: lvs_method DR forwards to the service's port, whatever the real server's"],
    );
    let nat = "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n    }\n    real_server 10.0.0.2 8080 {\n    }\n}\n";
    assert!(
        vigil::config::import_str("t.conf", nat, false).is_ok(),
        "NAT keeps each real server's port"
    );
}

#[test]
fn rs_family() {
    check(
        "rs_family",
        "virtual_server 10.0.0.1 80 {\n    real_server 2001:db8::2 80 {\n    }\n}\n",
        &["t.conf:2:5: error: virtual_server 10.0.0.1 80: real_server 2001:db8::2 is not the family of the service"],
    );
}

#[test]
fn rs_noport() {
    // keepalived reads a missing port (or 0) as 0: the service's port for
    // DR and TUN, the client's for NAT. A checker then needs connect_port.
    check_warns(
        "rs_noport",
        "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    real_server 10.0.0.2 {\n    }\n    real_server 10.0.0.3 0 {\n    }\n}\n",
        &[],
    );
    check(
        "rs_noport_checker",
        "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    real_server 10.0.0.2 {\n        TCP_CHECK {\n        }\n        MISC_CHECK {\n            misc_path /bin/true\n        }\n    }\n}\n",
        &["t.conf:3:5: error: virtual_server 10.0.0.1 80: real_server 10.0.0.2 has no port, so its TCP_CHECK has nothing to connect to: set connect_port (keepalived 2.2.7 takes this and connects to port 0, whatever lvs_method, though its log names the service's port: the server fails its first check and never comes back)"],
    );
    check_warns(
        "rs_noport_connect_port",
        "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    real_server 10.0.0.2 {\n        TCP_CHECK {\n            connect_port 80\n        }\n    }\n}\n",
        &[],
    );
}

#[test]
fn rs_weight() {
    check(
        "rs_weight",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        weight 70000\n    }\n}\n",
        &["t.conf:3:16: error: 'weight': invalid value '70000', expected an integer 0..65535"],
    );
}

#[test]
fn granularity_bad() {
    check(
        "granularity_bad",
        "virtual_server 10.0.0.1 80 {\n    persistence_granularity 255.0.255.0\n}\n",
        &["t.conf:2:29: error: 'persistence_granularity': invalid value '255.0.255.0', expected a contiguous netmask such as 255.255.255.0"],
    );
}

#[test]
fn granularity_v4_long() {
    check(
        "granularity_v4_long",
        "virtual_server 10.0.0.1 80 {\n    persistence_granularity 64\n}\n",
        &["t.conf:2:5: error: virtual_server 10.0.0.1 80: persistence_granularity /64 is longer than an IPv4 address"],
    );
}

#[test]
fn quorum() {
    check(
        "quorum",
        "virtual_server 10.0.0.1 80 {\n    quorum 5\n    real_server 10.0.0.2 80 {\n        weight 1\n    }\n}\n",
        &["t.conf:2:5: error: virtual_server 10.0.0.1 80: quorum 5 is larger than the total weight 1 of its real servers; the service could never be up"],
    );
}

#[test]
fn hysteresis() {
    check(
        "hysteresis",
        "virtual_server 10.0.0.1 80 {\n    quorum 2\n    hysteresis 2\n}\n",
        &["t.conf:3:5: error: virtual_server 10.0.0.1 80: hysteresis 2 must be less than quorum 2"],
    );
}

#[test]
fn http_no_url() {
    check(
        "http_no_url",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            connect_timeout 3\n        }\n    }\n}\n",
        &["t.conf:3:9: error: 'url' is missing from HTTP_GET"],
    );
}

#[test]
fn status_code() {
    check(
        "status_code",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                status_code 200-99\n            }\n        }\n    }\n}\n",
        &["t.conf:6:29: error: 'status_code': invalid value '200-99', expected a code 100..599 or a range LOW-HIGH"],
    );
}

#[test]
fn digest() {
    check(
        "digest",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        SSL_GET {\n            url {\n                path /\n                digest abc\n            }\n        }\n    }\n}\n",
        &["t.conf:6:24: error: 'digest': invalid value 'abc', expected 32 hex digits (an MD5 digest)"],
    );
}

#[test]
fn ws_no_path() {
    check(
        "ws_no_path",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        WS_CHECK {\n        }\n    }\n}\n",
        &["t.conf:3:9: error: 'path' is missing from WS_CHECK"],
    );
}

#[test]
fn tcp_url() {
    check(
        "tcp_url",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            url {\n                path /\n            }\n        }\n    }\n}\n",
        &["t.conf:4:13: error: unknown keyword 'url' in TCP_CHECK"],
    );
}

#[test]
fn misc_check_without_misc_path() {
    check(
        "misc_check",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        MISC_CHECK {\n        }\n    }\n}\n",
        &["t.conf:3:9: error: 'misc_path' is missing from MISC_CHECK"],
    );
}

#[test]
fn connect_timeout() {
    check(
        "connect_timeout",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            connect_timeout -1\n        }\n    }\n}\n",
        &["t.conf:4:29: error: 'connect_timeout': invalid value '-1', expected seconds 0.001..3600 with at most 3 decimals"],
    );
}

#[test]
fn extra_arg() {
    check(
        "extra_arg",
        "global_defs {\n    router_id LVS1 LVS2\n}\n",
        &["t.conf:2:20: error: 'router_id': unexpected 'LVS2', expected one word (quote it if it has spaces)"],
    );
}

#[test]
fn missing_arg() {
    check(
        "missing_arg",
        "global_defs {\n    router_id\n}\n",
        &["t.conf:2:5: error: 'router_id' needs one word (quote it if it has spaces)"],
    );
}

#[test]
fn unexpected_block() {
    check(
        "unexpected_block",
        "global_defs {\n    router_id LVS1 {\n    }\n}\n",
        &["t.conf:2:20: error: 'router_id' takes no block"],
    );
}

#[test]
fn missing_block() {
    check(
        "missing_block",
        "global_defs\n",
        &["t.conf:1:1: error: 'global_defs' needs a block '{ ... }'"],
    );
}

#[test]
fn vip_outside() {
    check(
        "vip_outside",
        "appliance {\n    interface eth0 {\n        address 192.168.1.100/24\n    }\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n\n    virtual_ipaddress {\n        10.1.1.1/24\n    }\n}\n",
        &["t.conf:11:9: error: vrrp_instance VI_1: 10.1.1.1 is not inside any subnet of eth0 (192.168.1.100/24)"],
    );
}

#[test]
fn gateway() {
    check(
        "gateway",
        "appliance {\n    interface eth0 {\n        address 192.168.1.100/24\n        route default via 10.0.0.1\n    }\n}\n",
        &["t.conf:4:9: error: appliance: route via 10.0.0.1 on eth0 is not reachable from any address of eth0"],
    );
}

#[test]
fn appliance_dup_if() {
    check(
        "appliance_dup_if",
        "appliance {\n    interface eth0 {\n    }\n    interface eth0 {\n    }\n}\n",
        &["t.conf:4:5: error: appliance: interface eth0 is given twice"],
    );
}

#[test]
fn appliance_three_if() {
    check(
        "appliance_three_if",
        "appliance {\n    interface eth0 {\n    }\n    interface eth1 {\n    }\n    interface eth2 {\n    }\n}\n",
        &["t.conf:6:5: error: too many appliance interfaces (the box has two NICs): at most 2"],
    );
}

#[test]
fn arp_ignore() {
    check(
        "arp_ignore",
        "appliance {\n    interface eth0 {\n        arp_ignore 5\n    }\n}\n",
        &["t.conf:3:20: error: 'arp_ignore': invalid value '5', expected 0, 1, 2, 3 or 8"],
    );
}

#[test]
fn hash() {
    check(
        "hash",
        "appliance {\n    console {\n        password_hash secret\n    }\n}\n",
        &["t.conf:3:23: error: 'password_hash': invalid value 'secret', expected a SHA-crypt hash '$6$salt$hash' or '$5$salt$hash' (mkpasswd -m sha-512)"],
    );
}

#[test]
fn watchdog_timeout() {
    check(
        "watchdog_timeout",
        "appliance {\n    watchdog {\n        timeout 0\n    }\n}\n",
        &["t.conf:3:17: error: 'timeout': invalid value '0', expected an integer 1..600"],
    );
}

#[test]
fn watchdog_notify_reset_relative() {
    check(
        "watchdog_notify_reset_relative",
        "appliance {\n    watchdog {\n        notify_reset reset-alert.sh\n    }\n}\n",
        &["t.conf:3:22: error: 'notify_reset': invalid value 'reset-alert.sh', expected an absolute path to a program, then its arguments"],
    );
}

#[test]
fn ip_forward() {
    check(
        "ip_forward",
        "appliance {\n    ip_forward maybe\n}\n",
        &["t.conf:2:16: error: 'ip_forward': invalid value 'maybe', expected one of on off true false yes no"],
    );
}

#[test]
fn route_with_host_bits() {
    check(
        "route_with_host_bits",
        "appliance {\n    interface eth0 {\n        address 10.0.0.2/24\n        route 10.1.0.5/16 via 10.0.0.1\n    }\n}\n",
        &["t.conf:4:15: error: 'route': invalid value '10.1.0.5/16', expected a network address (no host bits set) or 'default'"],
    );
}

#[test]
fn include_missing_literal_path() {
    check(
        "include_missing_literal_path",
        "include /nonexistent/vigil-test.conf\n",
        &["t.conf:1:9: error: include /nonexistent/vigil-test.conf: no such file"],
    );
}

#[test]
fn several_errors_are_all_reported_and_nothing_is_applied() {
    let text = "global_defs {\n    router_id\n}\nvrrp_instance VI_1 {\n    priority 0\n}\nvirtual_server 10.0.0.1 80 {\n    protocol nope\n}\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(import_str("t.conf", text, false).is_err());
}

#[test]
fn fwmark_twice_whatever_the_protocol() {
    check(
        "fwmark_twice_whatever_the_protocol",
        "virtual_server fwmark 7 {\n    protocol TCP\n}\nvirtual_server fwmark 7 {\n    protocol UDP\n}\n",
        &["t.conf:4:1: error: virtual_server fwmark 7 is given twice (first at t.conf:1:1)"],
    );
}

#[test]
fn lower_threshold_above_upper() {
    check(
        "lower_threshold_above_upper",
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        lthreshold 10\n    }\n}\n",
        &["t.conf:2:5: error: virtual_server 10.0.0.1 80: real_server 10.0.0.2 80: lthreshold 10 needs an uthreshold of at least 10 (the kernel refuses lower > upper; 0 means no upper limit)"],
    );
}

#[test]
fn strict_mode_refusals_and_resets_are_located() {
    check(
        "strict_mode",
        "global_defs {\n    vrrp_strict\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n}\n",
        &["t.conf:4:1: error: vrrp_instance VI_1: an instance needs at least one virtual_ipaddress in strict mode (vrrp_strict / strict_mode), as keepalived refuses it"],
    );
    check_warns(
        "strict_mode",
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    preempt_delay 3\n    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\nglobal_defs {\n    vrrp_strict\n}\n",
        &[
            "t.conf:2:5: warning: vrrp_instance VI_1: strict mode (vrrp_strict / strict_mode): 'state MASTER' is for the address owner (priority 255): starts as BACKUP, as keepalived does",
            "t.conf:5:5: warning: vrrp_instance VI_1: strict mode (vrrp_strict / strict_mode): preempt_delay is not allowed: reset to 0, as keepalived does",
        ],
    );
}

// --- issue 13 item 2: what keepalived tolerates, with a warning each -----

const VI: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n";
const VIP: &str = "    virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n";

fn imported(text: &str) -> vigil::config::Imported {
    import_str("t.conf", text, false)
        .unwrap_or_else(|r| panic!("does not import: {:#?}", r.lines()))
}

#[test]
fn long_auth_pass_keeps_its_first_8_bytes() {
    let text = format!(
        "{VI}    authentication {{\n        auth_type PASS\n        auth_pass abcdefghijkl\n    }}\n{VIP}"
    );
    let imp = imported(&text);
    let key = imp.config.vrrp_instances[0].authentication.as_ref();
    assert_eq!(key.map(|k| k.octets()), Some(*b"abcdefgh"));
    check_warns(
        "long_auth_pass",
        &text,
        &["t.conf:6:19: warning: 'auth_pass' has 12 bytes: only the first 8 are used, as keepalived does (VRRP carries 8)"],
    );
}

#[test]
fn auth_pass_cut_inside_a_character_is_refused() {
    let text = format!(
        "{VI}    authentication {{\n        auth_type PASS\n        auth_pass abcdefg\u{e9}\n    }}\n{VIP}"
    );
    check(
        "auth_pass_cut_inside_a_character",
        &text,
        &["t.conf:6:19: error: 'auth_pass': invalid value 'abcdefg\u{e9}', expected a password of at most 8 bytes (VRRP carries 8 bytes; a longer one must not cut a character at byte 8)"],
    );
}

#[test]
fn obsolete_keywords_are_ignored_with_a_warning() {
    let text = "global_defs {\n    vrrp_skip_check_adv_addr\n    max_auto_priority 10\n}\n\
                vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    skip_check_adv_addr\n\
                \x20   virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n\
                virtual_server 10.0.0.1 80 {\n    protocol TCP\n    nat_mask 255.255.255.0\n}\n";
    check_warns(
        "obsolete",
        text,
        &[
            "t.conf:2:5: warning: 'vrrp_skip_check_adv_addr' is obsolete: outside strict mode vigil never drops an advert over its address list (a mismatch is only counted), and in strict mode it checks every advert, so there is no check to skip; ignored",
            "t.conf:3:5: warning: 'max_auto_priority' is obsolete: it bounds the realtime scheduling priority keepalived gives itself; vigil does not raise its own, so it is ignored",
            "t.conf:8:5: warning: 'skip_check_adv_addr' is obsolete: outside strict mode vigil never drops an advert over its address list (a mismatch is only counted), and in strict mode it checks every advert, so there is no check to skip; ignored",
            "t.conf:15:5: warning: 'nat_mask' is obsolete: keepalived 2.2.7 ignores it (as a word it no longer knows), and so does vigil",
        ],
    );
}

#[test]
fn keepalived_keywords_vigil_always_acts_on_are_ignored_with_a_warning() {
    // What these ask of keepalived, vigil does anyway (issue #13's corpus).
    let text = "global_defs {\n    vrrp_check_unicast_src\n    dynamic_interfaces allow_if_changes\n    vrrp_iptables IN OUT\n    nftables keepalived\n    default_interface eth1\n}\n\
                vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    check_unicast_src\n\
                \x20   virtual_ipaddress {\n        192.168.1.200/24\n    }\n}\n";
    let src = "vigil always drops an advert whose source is none of the instance's unicast_peer addresses (counted as unknown_unicast_peer), which is what this turns on in keepalived; ignored";
    let global = format!("t.conf:2:5: warning: 'vrrp_check_unicast_src' is obsolete: {src}");
    let instance = format!("t.conf:11:5: warning: 'check_unicast_src' is obsolete: {src}");
    check_warns(
        "always_acts",
        text,
        &[
            &global,
            "t.conf:3:5: warning: 'dynamic_interfaces' is obsolete: vigil always waits for an instance's interface that does not exist yet and starts the instance when it appears, which is what this asks of keepalived (a sync group's member, though, starts only with vigil's next restart); ignored",
            "t.conf:4:5: warning: 'vrrp_iptables' is obsolete: vigil's no_accept filter is always its own nftables tables (ip vigil, ip6 vigil), never iptables chains (keepalived 2.2.7 uses nftables too: \"iptables not supported\"); ignored",
            "t.conf:5:5: warning: 'nftables' is obsolete: vigil's no_accept filter is always its own nftables tables (ip vigil, ip6 vigil, priority -1), whatever the table is called here; ignored",
            "t.conf:6:5: warning: 'default_interface' is obsolete: keepalived 2.2.7 uses it only as the device of static_ipaddress addresses without 'dev' (measured: an instance without 'interface' is refused there all the same, and a route without 'dev' goes where the kernel puts it); vigil has no static_ipaddress, so it changes nothing; ignored",
            &instance,
        ],
    );
}

#[test]
fn lvs_sync_daemon_interface_in_an_instance_is_the_global_lvs_sync_daemon() {
    let text = format!("{VI}    lvs_sync_daemon_interface eth1\n{VIP}");
    let imp = imported(&text);
    let d = imp.config.global.lvs_sync_daemon.expect("read as global");
    assert_eq!(
        (d.interface.as_str(), d.vrrp_instance.as_str()),
        ("eth1", "VI_1")
    );
    check_warns(
        "lvs_sync_daemon_interface",
        &text,
        &["t.conf:4:5: warning: 'lvs_sync_daemon_interface' is obsolete: keepalived's old form, read as keepalived does: global_defs { lvs_sync_daemon eth1 VI_1 }"],
    );
}

#[test]
fn lvs_sync_daemon_interface_is_ignored_when_the_global_one_is_set() {
    let text = format!(
        "global_defs {{\n    lvs_sync_daemon eth2 VI_1\n}}\n{VI}    lvs_sync_daemon_interface eth1\n{VIP}"
    );
    let imp = imported(&text);
    let d = imp.config.global.lvs_sync_daemon.expect("global");
    assert_eq!(d.interface.as_str(), "eth2");
    check_warns(
        "lvs_sync_daemon_interface_ignored",
        &text,
        &["t.conf:7:5: warning: 'lvs_sync_daemon_interface' is obsolete: keepalived's old form of lvs_sync_daemon, ignored as keepalived does: lvs_sync_daemon is already eth2 VI_1"],
    );
}

#[test]
fn other_family_vip_is_left_out_and_nopreempt_cleared_in_the_model() {
    let text = format!(
        "{VI}    state MASTER\n    nopreempt\n    virtual_ipaddress {{\n        10.0.0.1/24\n        fd00::1/64\n        10.0.0.2/24\n    }}\n}}\n"
    );
    let imp = imported(&text);
    let i = &imp.config.vrrp_instances[0];
    assert!(!i.nopreempt);
    let vips: Vec<String> = i
        .virtual_ipaddress
        .iter()
        .map(|v| v.addr.to_string())
        .collect();
    assert_eq!(vips, ["10.0.0.1", "10.0.0.2"]);
    assert!(i.virtual_ipaddress_excluded.is_empty());
    assert_eq!(imp.warnings.len(), 2, "{:?}", imp.warnings);
    assert_eq!(imp.warnings[1].loc.line, 8);
}

#[test]
fn repeated_notify_keeps_the_first_like_keepalived() {
    let text = format!(
        "{VI}    notify_master /bin/first\n    notify_master /bin/second\n{VIP}\
         vrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n    notify /bin/a\n    notify /bin/b\n}}\n"
    );
    let imp = imported(&text);
    let master = imp.config.vrrp_instances[0].notify.master.as_ref();
    assert_eq!(
        master.map(|s| s.argv.clone()),
        Some(vec!["/bin/first".to_owned()])
    );
    let group = imp.config.vrrp_sync_groups[0].notify.notify.as_ref();
    assert_eq!(
        group.map(|s| s.argv.clone()),
        Some(vec!["/bin/a".to_owned()])
    );
    check_warns(
        "repeated_notify",
        &text,
        &[
            "t.conf:5:5: warning: 'notify_master' is given twice (first at t.conf:4:5): the first is used, as keepalived does, and this one is ignored",
            "t.conf:15:5: warning: 'notify' is given twice (first at t.conf:14:5): the first is used, as keepalived does, and this one is ignored",
        ],
    );
}

// --- issue 13 item 3: errors people can act on ---------------------------

#[test]
fn keepalived_keywords_are_named_not_guessed() {
    // Each used to be "unknown keyword" (some with a guess at a vigil
    // keyword); now each is named for what it is.
    let text = format!(
        "global_defs {{\n    vrrp_ipsets\n}}\n{VI}    track_bfd {{\n        chk\n    }}\n    track_src_ip\n{VIP}\
         virtual_server 10.0.0.1 80 {{\n    protocol TCP\n    real_server 10.0.0.2 80 {{\n        HTTP_GET {{\n            url {{\n                path /\n                regex ok\n            }}\n            fast_recovery\n        }}\n    }}\n}}\n"
    );
    check(
        "keepalived_keywords",
        &text,
        &[
            "t.conf:2:5: error: keepalived's 'vrrp_ipsets' is not supported by vigil (in global_defs)",
            "t.conf:7:5: error: keepalived's 'track_bfd' is not supported by vigil (in vrrp_instance)",
            "t.conf:10:5: error: keepalived's 'track_src_ip' is not supported by vigil (in vrrp_instance)",
            "t.conf:21:17: error: keepalived's 'regex' is not supported by vigil (in url)",
            "t.conf:23:13: error: keepalived's 'fast_recovery' is not supported by vigil (in HTTP_GET/SSL_GET)",
        ],
    );
}

#[test]
fn errors_inside_a_block_with_a_bad_header_are_reported_too() {
    let text = "vrrp_instance {\n    priority 300\n}\n\
                vrrp_instance A B {\n    virtual_router_id 0\n}\n\
                vrrp_sync_group {\n    group {\n        bad/name\n    }\n}\n\
                virtual_server 10.0.0.1 99999 {\n    protocol nope\n    real_server 10.0.0.2 foo {\n        weight -1\n    }\n}\n\
                global_defs extra {\n    router_id\n}\n";
    check(
        "bad_headers",
        text,
        &[
            "t.conf:1:1: error: 'vrrp_instance' needs a name",
            "t.conf:1:1: error: 'interface' is missing from vrrp_instance (unnamed)",
            "t.conf:1:1: error: 'virtual_router_id' is missing from vrrp_instance (unnamed)",
            "t.conf:2:14: error: 'priority': invalid value '300', expected an integer 1..255",
            "t.conf:4:1: error: 'interface' is missing from vrrp_instance (unnamed)",
            "t.conf:4:17: error: 'vrrp_instance': unexpected 'B', expected a name and '{'",
            "t.conf:5:23: error: 'virtual_router_id': invalid value '0', expected an integer 1..255",
            "t.conf:7:1: error: 'vrrp_sync_group' needs a name",
            "t.conf:9:9: error: 'group': invalid value 'bad/name', expected a name of 1..64 letters, digits and _-.:@",
            "t.conf:12:25: error: 'virtual_server': invalid value '99999', expected an integer 0..65535",
            "t.conf:13:14: error: 'protocol': invalid value 'nope', expected one of TCP UDP SCTP",
            "t.conf:14:26: error: 'real_server': invalid value 'foo', expected an integer 0..65535",
            "t.conf:15:16: error: 'weight': invalid value '-1', expected an integer 0..65535",
            "t.conf:18:13: error: 'global_defs': unexpected 'extra', expected '{' and a block",
            "t.conf:19:5: error: 'router_id' needs one word (quote it if it has spaces)",
        ],
    );
}

#[test]
fn errors_and_warnings_print_in_file_and_line_order() {
    // The validator's error (owner not master) is found after the parser's
    // warnings but prints at its line; files print in the order they were
    // first read (the main file, then what it includes), each by line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inc.conf"),
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    protocol TCP\n}\n",
    )
    .unwrap();
    let main = dir.path().join("main.conf");
    std::fs::write(
        &main,
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    state BACKUP\n    priority 255\n    advert_interval 1\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\ninclude inc.conf\nglobal_defs {\n    lvs_id X\n}\n",
    )
    .unwrap();
    let r = vigil::config::import_file(&main, false).expect_err("owner must be MASTER");
    let m = main.display().to_string();
    let inc = dir.path().join("inc.conf").display().to_string();
    assert_eq!(
        r.lines(),
        [
            format!("{m}:5:5: error: vrrp_instance VI_1: priority 255 means the address owner, which must start as MASTER, not BACKUP"),
            format!("{m}:6:5: warning: 'advert_interval' is not a keepalived keyword; read as 'advert_int' (the interval between adverts, in seconds)"),
            format!("{m}:13:5: warning: 'lvs_id' is keepalived's deprecated name for 'router_id'"),
            format!("{inc}:2:5: warning: 'lb_algo' is keepalived's deprecated name for 'lvs_sched'"),
        ]
    );
}

#[test]
fn appliance_interface_with_a_bad_name_still_has_its_block_checked() {
    check(
        "appliance_bad_if_name",
        "appliance {\n    interface a/b {\n        mtu 10\n    }\n}\n",
        &[
            "t.conf:2:15: error: 'interface': invalid value 'a/b', expected an interface name of no '/' in it",
            "t.conf:3:13: error: 'mtu': invalid value '10', expected an integer 576..9216",
        ],
    );
}

const TRACKED_VI: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.1\n    }\n";

#[test]
fn track_script_errors_are_located() {
    let text = format!(
        "vrrp_script chk {{\n    script \"/bin/true\"\n    weight 300\n    rise 0\n}}\n\
         vrrp_script ok {{\n    script \"</dev/tcp/127.0.0.1/80\"\n}}\n\
         {TRACKED_VI}    track_script {{\n        nosuch\n        chk weight 5 sideways\n        chk\n        chk\n    }}\n}}\n"
    );
    check(
        "track_script",
        &text,
        &[
            "t.conf:3:12: error: 'weight': invalid value '300', expected an integer -253..253",
            "t.conf:4:10: error: 'rise': invalid value '0', expected an integer 1..1000",
            "t.conf:7:12: error: 'script': invalid value '</dev/tcp/127.0.0.1/80', expected an absolute path to a program (or a program name found in PATH), then its arguments; no shell syntax",
            "t.conf:17:22: error: 'track_script': invalid value 'sideways', expected 'reverse' or 'noreverse' after the weight",
            "t.conf:19:9: error: 'track_script': invalid value 'chk', expected each script once",
        ],
    );
}

#[test]
fn an_unknown_tracked_script_is_ignored_with_a_warning_at_its_line() {
    // keepalived ignores the entry, with a warning; so does vigil.
    let text = format!(
        "vrrp_script chk {{\n    script /bin/true\n}}\n{TRACKED_VI}    track_script {{\n        chk\n        chk_haproxy\n    }}\n}}\n"
    );
    check_warns(
        "unknown_track_script",
        &text,
        &["t.conf:12:9: warning: vrrp_instance VI_1: track_script chk_haproxy names no vrrp_script: ignored, as keepalived does"],
    );
    let imp = import_str("t.conf", &text, false).expect("imports");
    let names: Vec<&str> = (imp.config.vrrp_instances[0].track_script.iter())
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["chk"]);
}

#[test]
fn scripts_warn_when_unused_searched_or_unweighted() {
    let text = format!(
        "vrrp_script unused {{\n    script /bin/true\n}}\n\
         vrrp_script chk {{\n    script \"killall -0 haproxy\"\n    weight -20\n}}\n\
         vrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n}}\n\
         {TRACKED_VI}    track_script {{\n        chk\n    }}\n}}\n"
    );
    check_warns(
        "script_warnings",
        &text,
        &[
            "t.conf:1:1: warning: vrrp_script unused is not tracked by any vrrp_instance or vrrp_sync_group: it never runs",
            "t.conf:5:12: warning: 'killall' is looked up in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) each time it runs, as keepalived does; write its full path",
            "t.conf:19:5: warning: vrrp_instance VI_1: the weight of track_script chk is cleared (a sync group's members must not differ in priority), as keepalived does: a failing script puts the instance in FAULT",
        ],
    );
}

#[test]
fn reserved_fwmark() {
    check(
        "reserved_fwmark",
        "virtual_server fwmark 1986002945 {\n    lvs_method DR\n    real_server 192.168.1.102 80 {\n    }\n}\n",
        &["t.conf:1:1: error: virtual_server fwmark 1986002945: marks 1986002944..=1987051519 are vigil's own (the DR-path checks' services): use another mark"],
    );
}

#[test]
fn dr_path_check_value() {
    check(
        "dr_path_check_value",
        "virtual_server 192.168.1.200 80 {\n    lvs_method DR\n    protocol TCP\n    dr_path_check maybe\n}\n",
        &["t.conf:4:19: error: 'dr_path_check': invalid value 'maybe', expected one of on off true false yes no"],
    );
}
