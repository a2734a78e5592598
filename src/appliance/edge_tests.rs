use super::*;

#[test]
fn a_sysctl_is_written_with_a_newline_and_a_failure_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("net/ipv4")).unwrap();
    write_sysctl(dir.path(), "net/ipv4/ip_forward", "1").unwrap();
    let got = std::fs::read_to_string(dir.path().join("net/ipv4/ip_forward")).unwrap();
    assert_eq!(got, "1\n");
    let e = write_sysctl(dir.path(), "net/ipv4/conf/eth9/arp_ignore", "1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "appliance: cannot set sysctl net/ipv4/conf/eth9/arp_ignore to 1"
    );
    assert!(matches!(e, ApplyError::Sysctl { .. }));
}

#[test]
fn etc_hostname_is_rewritten_only_when_it_differs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostname");
    std::fs::write(&path, "lb1\n").unwrap();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    persist_hostname(&path, "lb1").unwrap();
    let after = std::fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(before, after, "same name: not written");
    persist_hostname(&path, "lb2").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "lb2\n");
    let missing = dir.path().join("no/such/dir/hostname");
    let e = persist_hostname(&missing, "lb1").unwrap_err();
    assert!(e.to_string().contains("no/such/dir/hostname"), "{e}");
}

#[test]
fn a_read_only_root_is_not_a_failure() {
    let ro = io::Error::from(io::ErrorKind::ReadOnlyFilesystem);
    assert!(read_only(&ro));
    assert!(!read_only(&io::Error::from(io::ErrorKind::NotFound)));
}

#[test]
fn refusals_become_errors_that_name_the_item() {
    let e = ApplyError::from(Refusal::NoSuchInterface {
        interface: "eth1".into(),
    });
    assert_eq!(
        e.to_string(),
        "appliance: no interface eth1: its addresses, routes and sysctls wait"
    );
    let route = Route {
        dest: IfAddr {
            addr: "10.0.0.0".parse().unwrap(),
            prefix: 24,
        },
        via: "10.0.0.1".parse().unwrap(),
    };
    let e = ApplyError::from(Refusal::KernelRoute {
        interface: "eth1".into(),
        route,
    });
    assert!(
        e.to_string().contains("10.0.0.0/24 via 10.0.0.1 on eth1"),
        "{e}"
    );
}

#[test]
fn ops_read_as_sentences() {
    let op = Op::AddAddress {
        interface: "eth1".into(),
        index: 3,
        addr: IfAddr {
            addr: "10.1.0.10".parse().unwrap(),
            prefix: 24,
        },
    };
    assert_eq!(describe(&op), "eth1: address 10.1.0.10/24 added");
}
