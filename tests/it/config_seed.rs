//! The seed's two keepalived configs: they import with warnings that name
//! each alias, mean what the seed means, and survive export + re-import.

use std::net::IpAddr;
use vigil::config::bounds::Millis;
use vigil::config::model::{CheckKind, InitialState, Method, Scheduler, ServiceKey, VrrpVersion};
use vigil::config::{envelope, export::export, import_file, import_str, Config};

fn seed(name: &str) -> (Config, Vec<String>) {
    let path = format!("{}/fixtures/seed/{name}", env!("CARGO_MANIFEST_DIR"));
    let imp = import_file(path.as_ref(), false).unwrap_or_else(|r| panic!("{:?}", r.errors));
    let prefix = format!("{path}:");
    let warnings = imp
        .warnings
        .iter()
        .map(|w| w.to_string().replacen(&prefix, "", 1))
        .collect();
    (imp.config, warnings)
}

const SEED_WARNINGS: [&str; 8] = [
    "16:5: warning: 'advert_interval' is not a keepalived keyword; read as 'advert_int' (the interval between adverts, in seconds)",
    "18:9: warning: 'type' is not a keepalived keyword; read as 'auth_type'",
    "19:9: warning: 'password' is not a keepalived keyword; read as 'auth_pass'",
    "27:5: warning: 'lb_algo' is keepalived's deprecated name for 'lvs_sched'",
    "28:5: warning: 'lb_kind' is keepalived's deprecated name for 'lvs_method'",
    "30:29: warning: 'persistence_granularity SOURCE_IP' is not a keepalived keyword; read as 'persistence_granularity 255.255.255.255' (one persistence entry per client address)",
    "37:13: warning: 'nb_get_replies' is not a keepalived keyword; read as 'retry' (a misspelling of keepalived's nb_get_retry: failed attempts before the server is taken out)",
    "45:13: warning: 'nb_get_replies' is not a keepalived keyword; read as 'retry' (a misspelling of keepalived's nb_get_retry: failed attempts before the server is taken out)",
];

#[test]
fn seed_warnings_name_every_alias_at_its_place() {
    for name in ["master.conf", "backup.conf"] {
        let (_, warnings) = seed(name);
        assert_eq!(warnings, SEED_WARNINGS, "{name}");
    }
}

#[test]
fn seed_master_means_what_the_tutorial_means() {
    let (c, _) = seed("master.conf");
    assert_eq!(c.global.router_id.as_deref(), Some("LVS1"));
    assert_eq!(c.global.notification_email, ["your_email@example.com"]);
    assert_eq!(
        c.global.notification_email_from.as_deref(),
        Some("keepalived@localhost")
    );
    let smtp = c.global.smtp_server.unwrap();
    assert_eq!((smtp.addr, smtp.port), ("127.0.0.1".parse().unwrap(), 25));
    assert_eq!(c.global.smtp_connect_timeout, Millis::secs(30));

    let [i] = c.vrrp_instances.as_slice() else {
        panic!("one instance")
    };
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.state, InitialState::Master);
    assert_eq!(i.interface.as_str(), "eth0");
    assert_eq!(i.virtual_router_id, 51);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int, Millis::secs(1));
    assert_eq!(i.effective_version(&c.global), VrrpVersion::V2);
    assert_eq!(
        i.authentication.as_ref().unwrap().octets(),
        *b"1111\0\0\0\0"
    );
    assert_eq!(i.virtual_ipaddress.len(), 1);
    let vip = &i.virtual_ipaddress[0];
    assert_eq!(
        (vip.addr, vip.prefix),
        ("192.168.1.200".parse().unwrap(), 24)
    );

    let [v] = c.virtual_servers.as_slice() else {
        panic!("one service")
    };
    let vip: IpAddr = "192.168.1.200".parse().unwrap();
    assert_eq!(
        v.key,
        ServiceKey::Addr {
            addr: vip,
            port: 80
        }
    );
    assert_eq!(v.scheduler, Scheduler::Wrr);
    assert_eq!(v.method, Method::Dr);
    assert_eq!(v.persistence_timeout, Some(3600));
    assert_eq!(
        v.persistence_granularity,
        Some(32),
        "SOURCE_IP is one client address"
    );
    let reals: Vec<String> = v.real_servers.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(reals, ["192.168.1.102", "192.168.1.103"]);
    for r in &v.real_servers {
        assert_eq!((r.port, r.weight), (Some(80), 1));
        let [check] = r.checkers.as_slice() else {
            panic!("one checker")
        };
        assert_eq!(check.kind, CheckKind::Tcp);
        assert_eq!(check.connect_timeout, Millis::secs(3));
        assert_eq!(check.retry, 3, "nb_get_replies 3 means three attempts");
        assert_eq!(check.delay_loop, Some(Millis::secs(5)));
    }
}

#[test]
fn seed_pair_differs_only_where_the_tutorial_says() {
    let (m, _) = seed("master.conf");
    let (mut b, _) = seed("backup.conf");
    assert_eq!(b.global.router_id.as_deref(), Some("LVS2"));
    assert_eq!(b.vrrp_instances[0].state, InitialState::Backup);
    assert_eq!(b.vrrp_instances[0].priority, 99);
    b.global.router_id = m.global.router_id.clone();
    b.vrrp_instances[0].state = InitialState::Master;
    b.vrrp_instances[0].priority = 100;
    assert_eq!(m, b);
}

#[test]
fn seed_configs_export_and_reimport_identically() {
    for name in ["master.conf", "backup.conf"] {
        let (c, _) = seed(name);
        let text = export(&c);
        let again = import_str("exported", &text, false)
            .unwrap_or_else(|r| panic!("{name}: {:?}\n{text}", r.errors));
        assert!(
            again.warnings.is_empty(),
            "canonical text has no aliases: {:?}",
            again.warnings
        );
        assert_eq!(again.config, c, "{name}");
        assert_eq!(export(&again.config), text, "export is a fixed point");
        let bytes = envelope::encode(&c).unwrap();
        assert_eq!(envelope::decode(&bytes).unwrap(), c);
    }
}
