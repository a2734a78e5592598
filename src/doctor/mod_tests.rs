//! Unit tests of the doctor's core: which VIPs and real servers a config
//! asks about, and one test per finding.

use super::*;

const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
const R1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 101);
const R2: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 102);
const MAC1: Mac = [0x52, 0x54, 0, 0, 0, 0x65];
const MAC2: Mac = [0x52, 0x54, 0, 0, 0, 0x66];
const STRANGER: Mac = [0x52, 0x54, 0, 0, 0, 0x99];

fn config(text: &str) -> Config {
    crate::config::import_str("t.conf", text, false)
        .expect("valid config")
        .config
}

const CONF: &str = "
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.1.200/24
    }
}
virtual_server 192.168.1.200 80 {
    lvs_method DR
    protocol TCP
    real_server 192.168.1.101 80 {
    }
    real_server 192.168.1.102 80 {
    }
}
virtual_server 192.168.1.200 443 {
    lvs_method DR
    protocol TCP
    real_server 192.168.1.101 443 {
    }
}
virtual_server 10.0.0.1 80 {
    lvs_method NAT
    protocol TCP
    real_server 10.1.0.1 80 {
    }
}
virtual_server 10.0.0.2 80 {
    lvs_method NAT
    protocol TCP
    real_server 10.1.0.2 80 {
        lvs_method TUN
    }
}
";

#[test]
fn targets_are_the_dr_and_tun_vips_with_their_real_servers_once() {
    let t = targets(&config(CONF));
    assert_eq!(
        t,
        vec![
            Target {
                vip: VIP,
                instance: Some("VI_1".into()),
                interface: Some("eth0".into()),
                master: None,
                real_servers: vec![R1, R2],
            },
            Target {
                vip: Ipv4Addr::new(10, 0, 0, 2),
                instance: None,
                interface: None,
                master: None,
                real_servers: vec![Ipv4Addr::new(10, 1, 0, 2)],
            },
        ],
        "NAT-only services are left out; a TUN real server of a NAT service is in"
    );
}

fn real(addr: Ipv4Addr, mac: Option<Mac>) -> RealFacts {
    RealFacts {
        addr,
        mac,
        dr_path: None,
    }
}

fn facts(answers: Vec<Mac>, reals: Vec<RealFacts>) -> Facts {
    Facts {
        vips: vec![VipFacts {
            vip: VIP,
            interface: Some("eth0".into()),
            answers,
            master_mac: None,
            real_servers: reals,
        }],
    }
}

#[test]
fn a_correct_set_up_is_fine_for_every_real_server() {
    let f = report(&facts(
        vec![],
        vec![real(R1, Some(MAC1)), real(R2, Some(MAC2))],
    ));
    assert_eq!(
        f,
        vec![
            Finding::Fine { real: R1, vip: VIP },
            Finding::Fine { real: R2, vip: VIP }
        ]
    );
    assert!(f.iter().all(|f| !f.needs_fixing()));
    assert_eq!(
        f[0].to_string(),
        "real server 192.168.1.101: answers at L2, does not answer ARP for the VIP"
    );
}

#[test]
fn a_real_server_answering_for_the_vip_is_named_with_the_fix() {
    let f = report(&facts(
        vec![MAC2],
        vec![real(R1, Some(MAC1)), real(R2, Some(MAC2))],
    ));
    assert_eq!(
        f,
        vec![
            Finding::RealAnswersForVip {
                real: R2,
                mac: MAC2,
                vip: VIP
            },
            Finding::Fine { real: R1, vip: VIP },
        ]
    );
    assert!(f[0].needs_fixing());
    assert_eq!(
        f[0].to_string(),
        "real server 192.168.1.102 (52:54:00:00:00:66) answers ARP for the VIP 192.168.1.200: \
         on it, sysctl net.ipv4.conf.all.arp_ignore=1 and net.ipv4.conf.all.arp_announce=2"
    );
}

#[test]
fn another_box_answering_for_the_vip_is_named_by_its_mac() {
    let f = report(&facts(vec![STRANGER], vec![real(R1, Some(MAC1))]));
    assert_eq!(
        f[0],
        Finding::OtherAnswersForVip {
            mac: STRANGER,
            vip: VIP,
            interface: "eth0".into()
        }
    );
    assert!(f[0].needs_fixing());
    let text = f[0].to_string();
    assert!(
        text.starts_with("52:54:00:00:00:99 answers ARP for the VIP 192.168.1.200 on eth0"),
        "{text}"
    );
    assert!(text.contains("arp_ignore=1"), "{text}");
}

#[test]
fn a_silent_real_server_is_not_at_l2() {
    let f = report(&facts(vec![], vec![real(R1, None)]));
    assert_eq!(
        f,
        vec![Finding::NotAtL2 {
            real: R1,
            interface: "eth0".into()
        }]
    );
    assert!(f[0].needs_fixing());
    assert!(f[0]
        .to_string()
        .starts_with("real server 192.168.1.101 does not answer ARP on eth0: is it on this LAN?"));
}

#[test]
fn a_failing_dr_path_is_a_finding_once_known() {
    let mut r = real(R1, Some(MAC1));
    r.dr_path = Some(false);
    let f = report(&facts(vec![], vec![r.clone()]));
    assert_eq!(f, vec![Finding::DrPathFails { real: R1, vip: VIP }]);
    assert!(f[0].needs_fixing());
    assert!(f[0]
        .to_string()
        .contains("ip address add 192.168.1.200/32 dev lo"));
    r.dr_path = Some(true);
    assert_eq!(
        report(&facts(vec![], vec![r])),
        vec![Finding::Fine { real: R1, vip: VIP }]
    );
}

#[test]
fn a_vip_without_an_interface_is_a_finding() {
    let f = report(&Facts {
        vips: vec![VipFacts {
            vip: VIP,
            interface: None,
            answers: vec![],
            master_mac: None,
            real_servers: vec![real(R1, None)],
        }],
    });
    assert_eq!(f, vec![Finding::NoInterface { vip: VIP }]);
    assert!(f[0].needs_fixing());
    assert!(f[0].to_string().contains("no VRRP instance holds it"));
}

#[test]
fn the_vrrp_masters_answer_is_no_finding_on_a_backup() {
    let mut t = targets(&config(CONF));
    let running = [
        (
            "VI_1".to_owned(),
            "BACKUP".to_owned(),
            "192.168.1.2".to_owned(),
        ),
        (
            "VI_9".to_owned(),
            "BACKUP".to_owned(),
            "192.168.1.9".to_owned(),
        ),
    ];
    with_masters(&mut t, &running);
    assert_eq!(t[0].master, Some(Ipv4Addr::new(192, 168, 1, 2)));
    assert_eq!(t[1].master, None, "no instance holds it");
    let master_too = [("VI_1".to_owned(), "MASTER".to_owned(), "self".to_owned())];
    with_masters(&mut t, &master_too);
    assert_eq!(t[0].master, None, "a MASTER has no other master");

    let mut f = facts(vec![STRANGER], vec![real(R1, Some(MAC1))]);
    f.vips[0].master_mac = Some(STRANGER);
    assert_eq!(report(&f), vec![Finding::Fine { real: R1, vip: VIP }]);
}

/// A status row of `dest` whose last check said `last`.
fn row(dest: &str, last: &str) -> crate::control::IpvsDestStatus {
    crate::control::IpvsDestStatus {
        dest: dest.to_owned(),
        last: last.to_owned().into(),
        ..Default::default()
    }
}

#[test]
fn the_dr_path_fact_comes_from_the_daemons_last_check_of_each_path_checked_server() {
    let r3 = Ipv4Addr::new(192, 168, 1, 103);
    let c = config(
        "virtual_server 192.168.1.200 80 {
    lvs_method DR
    protocol TCP
    dr_path_check on
    real_server 192.168.1.101 80 {
        TCP_CHECK {
        }
    }
    real_server 192.168.1.102 80 {
        TCP_CHECK {
        }
    }
    real_server 192.168.1.103 80 {
        TCP_CHECK {
        }
    }
}
virtual_server 192.168.1.200 81 {
    lvs_method DR
    protocol TCP
    real_server 192.168.1.101 81 {
        TCP_CHECK {
        }
    }
}
",
    );
    let failed = crate::health::Failure::DrPath {
        port: 80,
        tunnel: false,
    }
    .words(
        ServiceKey::Addr {
            addr: IpAddr::V4(VIP),
            port: 80,
        },
        IpAddr::V4(R2),
    );
    let ipvs = IpvsStatus {
        services: vec![
            crate::control::IpvsServiceStatus {
                service: "TCP 192.168.1.200:80".into(),
                dests: vec![
                    row("192.168.1.101:80", "ok"),
                    row("192.168.1.102:80", &failed),
                    row("192.168.1.103:80", "connection refused"),
                ],
                ..Default::default()
            },
            // Not checked by the path (no appliance block, no
            // dr_path_check): what it says is no DR-path fact.
            crate::control::IpvsServiceStatus {
                service: "TCP 192.168.1.200:81".into(),
                dests: vec![row("192.168.1.101:81", &failed)],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let real = |addr| RealFacts {
        addr,
        mac: Some(MAC1),
        dr_path: None,
    };
    let mut facts = Facts {
        vips: vec![VipFacts {
            vip: VIP,
            interface: Some("eth0".into()),
            answers: vec![],
            master_mac: None,
            real_servers: vec![real(R1), real(R2), real(r3)],
        }],
    };
    with_dr_paths(&mut facts, &c, &ipvs);
    let got: Vec<Option<bool>> = facts.vips[0]
        .real_servers
        .iter()
        .map(|r| r.dr_path)
        .collect();
    assert_eq!(got, vec![Some(true), Some(false), None]);
    let lines: Vec<String> = report(&facts).iter().map(ToString::to_string).collect();
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "real server {R2}: its DR-path check for the VIP {VIP} fails"
        ))),
        "{lines:?}"
    );
}
