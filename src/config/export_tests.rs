//! Unit tests of export: golden text, quoting, and each value format.

use super::*;
use crate::config::bounds::{IfName, PassKey};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn script(argv: &[&str]) -> Option<Script> {
    let argv = argv.iter().map(|s| s.to_string()).collect();
    Some(Script { argv })
}

fn instance() -> VrrpInstance {
    VrrpInstance {
        name: "VI_1".into(),
        state: InitialState::Master,
        interface: IfName::new("eth0").unwrap(),
        virtual_router_id: 51,
        priority: DEFAULT_PRIORITY,
        advert_int: Millis::secs(1),
        version: None,
        authentication: None,
        unicast_ttl: None,
        dont_track_primary: false,
        use_vmac: None,
        virtual_ipaddress: vec![Vip {
            addr: ip("192.0.2.10"),
            prefix: 24,
            dev: None,
            label: Some(IfName::new("eth0:1").unwrap()),
            ..Vip::new(ip("192.0.2.10"), 24)
        }],
        virtual_ipaddress_excluded: vec![],
        unicast_src_ip: None,
        unicast_peer: vec![],
        nopreempt: false,
        preempt_delay: Millis(0),
        accept: true,
        track_interface: vec![],
        notify: Notify::default(),
        smtp_alert: None,
        garp: GarpOverride::default(),
        track_script: vec![],
        track_file: Vec::new(),
        track_process: Vec::new(),
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        strict: false,
        notify_arp_theft: None,
    }
}

fn service(key: ServiceKey) -> VirtualServer {
    VirtualServer {
        scheduler: Scheduler::Wrr,
        method: Method::Dr,
        ..VirtualServer::new(key)
    }
}

fn checker(kind: CheckKind) -> Checker {
    Checker::new(kind)
}

/// The trimmed lines of the export of `c`.
fn lines(c: &Config) -> Vec<String> {
    export(c).lines().map(|l| l.trim().to_owned()).collect()
}

fn assert_has(c: &Config, line: &str) {
    let ls = lines(c);
    assert!(
        ls.iter().any(|l| l == line),
        "{line:?} not in\n{}",
        export(c)
    );
}

#[test]
fn golden_small_config() {
    let mut vs = service(ServiceKey::Addr {
        addr: ip("192.0.2.10"),
        port: 80,
    });
    let mut tcp = checker(CheckKind::Tcp);
    tcp.connect_timeout = Millis(2500);
    vs.real_servers.push(RealServer {
        checkers: vec![tcp],
        ..RealServer::new(ip("10.0.0.2"), Some(8080))
    });
    let c = Config {
        global: GlobalDefs {
            router_id: Some("lb 1".into()),
            ..Default::default()
        },
        vrrp_instances: vec![instance()],
        virtual_servers: vec![vs],
        ..Default::default()
    };
    let want = r#"# vigil canonical config

global_defs {
    router_id "lb 1"
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24 label eth0:1
    }
}

virtual_server 192.0.2.10 80 {
    delay_loop 60
    lvs_sched wrr
    lvs_method DR
    protocol TCP
    real_server 10.0.0.2 8080 {
        TCP_CHECK {
            connect_timeout 2.5
        }
    }
}
"#;
    assert_eq!(export(&c), want);
    assert_eq!(export(&Config::default()), "# vigil canonical config\n");
}

#[test]
fn quoting() {
    for (raw, want) in [
        ("plain", "plain"),
        ("", r#""""#),
        ("a b", r#""a b""#),
        ("tab\there", "\"tab\there\""),
        ("{", r#""{""#),
        ("x}", r#""x}""#),
        (r#"say "hi""#, r#""say \"hi\"""#),
        (r"back\slash", r#""back\\slash""#),
        ("#comment", r##""#comment""##),
        ("!bang", r#""!bang""#),
        ("mid#and!", "mid#and!"),
        ("中文", "中文"),
        ("全\u{3000}角", "\"全\u{3000}角\""),
    ] {
        assert_eq!(Q(raw).to_string(), want, "{raw:?}");
    }
    let s = Script {
        argv: vec!["/usr/bin/x".into(), "a b".into(), "".into()],
    };
    assert_eq!(ScriptArgs(&s).to_string(), r#"/usr/bin/x "a b" """#);
}

#[test]
fn global_values() {
    let mut g = GlobalDefs {
        notification_email: vec!["ops@example.com".into(), "a b@c".into()],
        smtp_server: Some(SmtpServer {
            addr: ip("192.0.2.1"),
            port: 25,
        }),
        smtp_alert: Some(false),
        vrrp_version: VrrpVersion::V3,
        lvs_timeouts: LvsTimeouts {
            tcp: Some(900),
            tcpfin: None,
            udp: Some(30),
        },
        script_user: Some(ScriptUser {
            user: "nobody".into(),
            group: Some("nogroup".into()),
        }),
        enable_script_security: true,
        lvs_sync_daemon: Some(LvsSyncDaemon {
            interface: IfName::new("eth1").unwrap(),
            vrrp_instance: "VI_1".into(),
            id: Some(7),
            maxlen: None,
            port: None,
            ttl: Some(2),
            group: Some(ip("239.1.1.1")),
        }),
        ..Default::default()
    };
    g.garp.master_delay = Millis(50);
    g.garp.interval = Millis(1);
    let mut c = Config {
        global: g,
        ..Default::default()
    };
    for l in [
        "\"a b@c\"",
        "ops@example.com",
        "smtp_server 192.0.2.1",
        "smtp_alert false",
        "vrrp_version 3",
        "vrrp_garp_master_delay 0.05",
        "vrrp_garp_interval 0.001",
        "lvs_timeouts tcp 900 udp 30",
        "script_user nobody nogroup",
        "enable_script_security",
        "lvs_sync_daemon eth1 VI_1 id 7 ttl 2 group 239.1.1.1",
    ] {
        assert_has(&c, l);
    }
    assert!(!export(&c).contains("vrrp_garp_master_repeat"));
    c.global.smtp_server = Some(SmtpServer {
        addr: ip("2001:db8::1"),
        port: 587,
    });
    c.global.lvs_timeouts = LvsTimeouts::default();
    assert_has(&c, "smtp_server 2001:db8::1 587");
    assert!(!export(&c).contains("lvs_timeouts"));
}

#[test]
fn instance_values() {
    let mut i = instance();
    i.state = InitialState::Backup;
    i.version = Some(VrrpVersion::V2);
    i.advert_int = Millis(40950);
    i.authentication = Some(PassKey::new("se cret").unwrap());
    i.virtual_ipaddress[0].dev = Some(IfName::new("eth1").unwrap());
    i.unicast_peer = vec![ip("192.0.2.2"), ip("192.0.2.3")];
    i.nopreempt = true;
    i.accept = false;
    i.track_interface = vec![
        TrackInterface {
            name: IfName::new("eth2").unwrap(),
            weight: Some(-20),
        },
        TrackInterface {
            name: IfName::new("eth3").unwrap(),
            weight: None,
        },
    ];
    i.notify.master = script(&["/usr/bin/x", "a b"]);
    i.smtp_alert = Some(true);
    i.garp.master_refresh = Some(Millis::secs(60));
    let c = Config {
        vrrp_instances: vec![i],
        ..Default::default()
    };
    for l in [
        "state BACKUP",
        "advert_int 40.95",
        "version 2",
        "auth_type PASS",
        "auth_pass \"se cret\"",
        "192.0.2.10/24 dev eth1 label eth0:1",
        "192.0.2.3",
        "nopreempt",
        "no_accept",
        "eth2 weight -20",
        "eth3",
        "notify_master /usr/bin/x \"a b\"",
        "smtp_alert",
        "garp_master_refresh 60",
    ] {
        assert_has(&c, l);
    }
}

#[test]
fn service_values() {
    let mut v4 = service(ServiceKey::Fwmark {
        mark: 7,
        ipv6: false,
    });
    v4.persistence_granularity = Some(32);
    v4.quorum = 3;
    v4.sorry_server = Some(SorryServer {
        addr: ip("10.0.0.9"),
        port: None,
    });
    v4.alpha = true;
    let mut http = HttpCheck {
        virtualhost: Some("www.example.com".into()),
        ..Default::default()
    };
    http.urls.push(Url {
        path: "/health check".into(),
        status_code: vec![(200, 200), (300, 399)],
        digest: Some([0xab; 16]),
        virtualhost: None,
    });
    let mut ssl = checker(CheckKind::Ssl(Box::new(http)));
    ssl.retry = 1;
    let ws = WsCheck {
        path: "/ws".into(),
        virtualhost: None,
        origin: None,
        subprotocol: Some("chat".into()),
    };
    v4.real_servers.push(RealServer {
        virtualhost: None,
        addr: ip("10.0.0.2"),
        port: None,
        weight: 0,
        inhibit_on_failure: Some(false),
        method: Some(Method::Nat),
        uthreshold: Some(10),
        lthreshold: None,
        notify_up: script(&["/bin/up"]).map(Box::new),
        notify_down: None,
        checkers: vec![ssl, checker(CheckKind::Ws(Box::new(ws)))],
    });
    let mut v6 = service(ServiceKey::Fwmark {
        mark: 8,
        ipv6: true,
    });
    v6.persistence_granularity = Some(64);
    let c = Config {
        virtual_servers: vec![v4, v6],
        ..Default::default()
    };
    for l in [
        "virtual_server fwmark 7 {",
        "persistence_granularity 255.255.255.255",
        "quorum 3",
        "sorry_server 10.0.0.9",
        "alpha",
        "real_server 10.0.0.2 {",
        "weight 0",
        "inhibit_on_failure false",
        "lvs_method NAT",
        "uthreshold 10",
        "notify_up /bin/up",
        "SSL_GET {",
        "retry 1",
        "virtualhost www.example.com",
        "path \"/health check\"",
        "status_code 200 300-399",
        "digest abababababababababababababababab",
        "WS_CHECK {",
        "path /ws",
        "subprotocol chat",
        "persistence_granularity 64",
    ] {
        assert_has(&c, l);
    }
    let ls = lines(&c);
    let at = ls
        .iter()
        .position(|l| l == "virtual_server fwmark 8 {")
        .unwrap();
    assert_eq!(ls[at + 1], "ip_family inet6");
    assert_eq!(netmask4(24), Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(netmask4(0), Ipv4Addr::UNSPECIFIED);
}

#[test]
fn appliance_values() {
    let mut a = Appliance {
        hostname: Some("lb-1".into()),
        ..Default::default()
    };
    a.interfaces.push(ApplianceInterface {
        name: IfName::new("eth0").unwrap(),
        addresses: vec![IfAddr {
            addr: ip("192.0.2.5"),
            prefix: 24,
        }],
        mtu: Some(9000),
        routes: vec![
            Route {
                dest: IfAddr {
                    addr: ip("0.0.0.0"),
                    prefix: 0,
                },
                via: ip("192.0.2.1"),
            },
            Route {
                dest: IfAddr {
                    addr: ip("10.0.0.0"),
                    prefix: 8,
                },
                via: ip("192.0.2.2"),
            },
        ],
        arp_ignore: Some(1),
        arp_announce: Some(2),
    });
    let mut c = Config {
        appliance: Some(a.clone()),
        ..Default::default()
    };
    for l in [
        "hostname lb-1",
        "interface eth0 {",
        "address 192.0.2.5/24",
        "mtu 9000",
        "route default via 192.0.2.1",
        "route 10.0.0.0/8 via 192.0.2.2",
        "arp_ignore 1",
        "arp_announce 2",
    ] {
        assert_has(&c, l);
    }
    for absent in ["ip_forward", "ipvs", "watchdog", "console"] {
        assert!(!export(&c).contains(absent), "{absent}");
    }
    a.ip_forward = false;
    a.ipvs.sloppy_tcp = false;
    a.watchdog.timeout = 30;
    a.watchdog.notify_reset = script(&["/usr/libexec/reset-alert", "--mail"]);
    a.console_password_hash = Some("$6$salt$hash".into());
    c.appliance = Some(a);
    for l in [
        "ip_forward off",
        "expire_nodest_conn on",
        "expire_quiescent_template on",
        "conn_reuse_mode 1",
        "sloppy_tcp off",
        "device /dev/watchdog",
        "timeout 30",
        "notify_reset /usr/libexec/reset-alert --mail",
        "password_hash $6$salt$hash",
    ] {
        assert_has(&c, l);
    }
}

#[test]
fn sync_group_block() {
    let g = SyncGroup {
        name: "G1".into(),
        group: vec!["VI_1".into(), "VI_2".into()],
        notify: Notify {
            fault: script(&["/bin/f"]),
            ..Default::default()
        },
        smtp_alert: Some(true),
        track_script: vec![],
        track_file: Vec::new(),
        track_process: Vec::new(),
    };
    let c = Config {
        vrrp_sync_groups: vec![g],
        ..Default::default()
    };
    let want = "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n    \
                notify_fault /bin/f\n    smtp_alert\n}\n";
    assert!(export(&c).ends_with(want), "{}", export(&c));
}

#[test]
fn vrrp_script_and_track_script_blocks() {
    let mut s = VrrpScript::new(
        "chk".into(),
        Script {
            argv: vec!["killall".into(), "-0".into(), "haproxy".into()],
        },
    );
    s.weight = -20;
    s.fall = 3;
    s.init_fail = true;
    let mut i = instance();
    i.track_script = vec![
        TrackScript {
            name: "chk".into(),
            weight: None,
            reverse: None,
        },
        TrackScript {
            name: "other".into(),
            weight: Some(5),
            reverse: Some(true),
        },
    ];
    let c = Config {
        vrrp_scripts: vec![s],
        vrrp_instances: vec![i],
        ..Default::default()
    };
    let text = export(&c);
    let want = "vrrp_script chk {\n    script killall -0 haproxy\n    interval 1\n    weight -20\n    fall 3\n    init_fail\n}\n";
    assert!(text.contains(want), "{text}");
    assert!(
        text.contains("    track_script {\n        chk\n        other weight 5 reverse\n    }\n"),
        "{text}"
    );
}

/// A real server's line is written without the formatting machinery:
/// its address and port read as `IpAddr`'s and `u16`'s own `Display` write
/// them.
#[test]
fn a_real_server_line_is_written_as_the_standard_library_writes_it() {
    let mut addrs: Vec<std::net::IpAddr> = ["::", "2001:db8::1", "::ffff:10.0.0.1", "fe80::1:2"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    for octets in [
        [0, 0, 0, 0],
        [255, 255, 255, 255],
        [10, 0, 100, 9],
        [1, 20, 199, 200],
    ] {
        addrs.push(std::net::IpAddr::from(octets));
    }
    for n in 0..=255u8 {
        addrs.push(std::net::IpAddr::from([n, n.wrapping_mul(7), 100, n / 3]));
    }
    for (n, a) in addrs.into_iter().enumerate() {
        let port = [None, Some(0), Some(9), Some(80), Some(10_000), Some(65_535)][n % 6];
        let mut w = Writer {
            out: String::new(),
            depth: 1,
        };
        real_server(&mut w, &RealServer::new(a, port));
        let head = match port {
            Some(p) => format!("    real_server {a} {p} {{\n"),
            None => format!("    real_server {a} {{\n"),
        };
        assert_eq!(w.out, format!("{head}    }}\n"));
    }
    for v in [0, 7, 10, 99, 100, 4_095, 65_536, u32::MAX] {
        let mut s = String::new();
        push_decimal(&mut s, v);
        assert_eq!(s, v.to_string());
    }
}
