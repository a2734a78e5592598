//! Host names where keepalived takes them (`smtp_server`, `unicast_peer`,
//! `connect_ip`): resolved when the config is read, through the hosts file
//! of the resolver given (no DNS query leaves the machine here), kept as
//! addresses, and a name that does not resolve is an error at its place
//! saying why.

use std::collections::BTreeMap;
use std::net::IpAddr;

use vigil::config::{import_str_with, ImportOptions};
use vigil::resolve::{Resolver, System};

const CONF: &str = "global_defs {
    smtp_server mail.lan 2525
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    unicast_src_ip 192.168.1.1
    unicast_peer {
        lb2
    }
    virtual_ipaddress {
        192.168.1.200/24
    }
}
virtual_server 192.168.1.200 80 {
    lvs_method NAT
    protocol TCP
    real_server 10.0.0.11 80 {
        TCP_CHECK {
            connect_ip web1-mgmt
        }
    }
}
";

fn opts(resolver: Resolver) -> ImportOptions {
    ImportOptions {
        resolver,
        ..ImportOptions::new(false)
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn names_resolve_through_the_hosts_file_and_are_kept_as_addresses() {
    let dir = std::env::temp_dir().join(format!("vigil-config-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts"),
        "127.0.0.1 localhost\n10.0.0.25 mail.lan mail\n192.168.1.2 lb2 lb2.lan\n\
         2001:db8::11 web1-mgmt\n10.1.0.11 web1-mgmt\n",
    )
    .unwrap();
    // No name server: a name missing from the hosts file would be asked of
    // 127.0.0.1 and ::1 (glibc's default), which nothing here answers on a
    // port nobody uses.
    std::fs::write(dir.join("resolv.conf"), "options timeout:1 attempts:1\n").unwrap();
    let resolver = Resolver::System(System {
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
        port: 9,
        deadline: None,
    });
    let c = import_str_with("names.conf", CONF, &opts(resolver))
        .unwrap_or_else(|r| panic!("{:?}", r.lines()))
        .config;
    let smtp = c.global.smtp_server.unwrap();
    assert_eq!((smtp.addr, smtp.port), (ip("10.0.0.25"), 2525));
    assert_eq!(c.vrrp_instances[0].unicast_peer, [ip("192.168.1.2")]);
    // IPv4 first, whatever the file's order.
    let checker = &c.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(checker.connect_ip, Some(ip("10.1.0.11")));
    // The export holds the address, not the name.
    let text = vigil::config::export::export(&c);
    assert!(
        text.contains("unicast_peer {\n        192.168.1.2"),
        "{text}"
    );
    assert!(!text.contains("lb2"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_name_that_does_not_resolve_is_an_error_at_its_place() {
    let known = BTreeMap::from([
        ("mail.lan".to_owned(), vec![ip("10.0.0.25")]),
        ("web1-mgmt".to_owned(), vec![ip("10.1.0.11")]),
    ]);
    let r = import_str_with("names.conf", CONF, &opts(Resolver::Table(known))).unwrap_err();
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("names.conf:10:9: error: cannot resolve 'lb2' (unicast_peer): "),
        "{lines:?}"
    );
    // Neither an address nor a name.
    let bad = CONF.replace("lb2", "lb2/32");
    let r =
        import_str_with("names.conf", &bad, &opts(Resolver::Table(BTreeMap::new()))).unwrap_err();
    assert!(
        r.lines()
            .iter()
            .any(|l| l.starts_with("names.conf:10:9: error:")
                && l.contains("an IPv4 or IPv6 address, or a host name")),
        "{:?}",
        r.lines()
    );
}
