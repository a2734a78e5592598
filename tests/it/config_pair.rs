//! One keepalived.conf for both boxes of a pair (`@ID` lines, `$NAME`
//! parameters): each box imports its own config from it, and an error in a
//! substituted word points at the `$` that brought it in.

use vigil::config::{import_file_with, import_str_with, ConfigId, ImportOptions};

fn opts(id: &str) -> ImportOptions {
    ImportOptions {
        config_id: ConfigId::new(id),
        ..ImportOptions::new(false)
    }
}

#[test]
fn one_file_imports_as_each_box_of_the_pair() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pair/keepalived.conf");
    let lb1 =
        import_file_with(path.as_ref(), &opts("lb1")).unwrap_or_else(|r| panic!("{:?}", r.lines()));
    let lb2 =
        import_file_with(path.as_ref(), &opts("lb2")).unwrap_or_else(|r| panic!("{:?}", r.lines()));
    let (a, b) = (&lb1.config, &lb2.config);
    assert_eq!(a.global.router_id.as_deref(), Some("lb1"));
    assert_eq!(b.global.router_id.as_deref(), Some("lb2"));
    let (va, vb) = (&a.vrrp_instances[0], &b.vrrp_instances[0]);
    assert_eq!((va.priority, vb.priority), (150, 100));
    assert_eq!(va.virtual_router_id, 51);
    assert_eq!(format!("{:?}/{:?}", va.state, vb.state), "Master/Backup");
    assert_eq!(va.unicast_src_ip, Some("198.51.100.1".parse().unwrap()));
    assert_eq!(
        va.unicast_peer,
        ["198.51.100.2".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        vb.unicast_peer,
        ["198.51.100.1".parse::<std::net::IpAddr>().unwrap()]
    );
    // The multi-line parameter made both real servers.
    let reals: Vec<String> = a.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.addr.to_string())
        .collect();
    assert_eq!(reals, ["192.0.2.21", "192.0.2.22"]);
    // The stored config is the box's: the same on both but for what differs.
    assert_eq!(a.virtual_servers, b.virtual_servers);
}

#[test]
fn a_bad_substituted_value_is_located_at_its_dollar() {
    let text = "$PRIO=1500\nvrrp_instance V {\n    interface eth0\n    virtual_router_id 1\n    priority $PRIO\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n";
    let r = import_str_with("pair.conf", text, &opts("lb1")).unwrap_err();
    let lines = r.lines();
    assert!(lines[0].starts_with("pair.conf:5:14: error:"), "{lines:?}");
    assert!(lines[0].contains("'1500'"), "{lines:?}");
}
