use super::*;

fn config(text: &str) -> Config {
    crate::config::import_str("t.conf", text, false)
        .expect("imports")
        .config
}

const TWO: &str = "
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress { 192.168.1.100/24 }
    virtual_ipaddress_excluded { 192.168.1.101 }
}
appliance {
    hostname lb1
    interface eth0 { address 192.168.1.10/24 }
}
";

#[test]
fn every_vip_and_excluded_vip_is_protected() {
    let got = vips(&config(TWO));
    let want: Vec<IpAddr> = vec![
        "192.168.1.100".parse().unwrap(),
        "192.168.1.101".parse().unwrap(),
    ];
    assert_eq!(got, want);
}

#[test]
fn only_hostname_interfaces_and_forwarding_are_the_set_up() {
    let old = config(TWO);
    let mut new = old.clone();
    let a = new.appliance.as_mut().unwrap();
    a.ipvs.sloppy_tcp = !a.ipvs.sloppy_tcp;
    a.watchdog.timeout += 1;
    assert!(
        !setup_changed(&old, &new),
        "ipvs and watchdog are not the set-up's"
    );
    new.appliance.as_mut().unwrap().interfaces[0].mtu = Some(9000);
    assert!(setup_changed(&old, &new));
    let mut none = old.clone();
    none.appliance = None;
    assert!(setup_changed(&old, &none));
}

#[test]
fn errors_keep_their_causes_on_one_line() {
    let e = super::super::ApplyError::Sysctl {
        key: "net/ipv4/ip_forward".into(),
        value: "1".into(),
        source: std::io::Error::from_raw_os_error(30),
    };
    assert!(
        error_chain(&e).starts_with("appliance: cannot set sysctl net/ipv4/ip_forward to 1: "),
        "{}",
        error_chain(&e)
    );
}
