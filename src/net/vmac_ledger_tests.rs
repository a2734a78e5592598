//! Unit tests of `vmac_ledger.rs`: what is recorded, what comes back and
//! when, and the file.

use super::*;

fn vals(ignore: &str, filter: &str) -> Vec<(String, String)> {
    vec![
        ("arp_ignore".into(), ignore.into()),
        ("arp_filter".into(), filter.into()),
    ]
}

#[test]
fn the_first_vmac_on_a_parent_records_and_the_last_gives_back() {
    let mut e = Entries::default();
    assert!(!e.holds("eth0"));
    assert!(e.record("eth0", "vrrp.51", Some(vals("2", "0"))).is_empty());
    assert!(e.holds("eth0"));
    // A second vmac on it finds the values recorded: vigil's own (1, 1)
    // must never replace them.
    assert!(e.record("eth0", "vrrp.52", Some(vals("1", "1"))).is_empty());
    assert_eq!(e.release("vrrp.51"), []);
    assert_eq!(e.release("vrrp.52"), [("eth0".into(), vals("2", "0"))]);
    assert!(e.0.is_empty());
    // One never recorded, or released twice: nothing.
    assert_eq!(e.release("vrrp.52"), []);
}

#[test]
fn a_vmac_moved_to_another_parent_gives_the_old_one_back() {
    let mut e = Entries::default();
    e.record("eth0", "vrrp.51", Some(vals("0", "0")));
    let back = e.record("eth1", "vrrp.51", Some(vals("2", "1")));
    assert_eq!(back, [("eth0".to_owned(), vals("0", "0"))]);
    assert_eq!(e.release("vrrp.51"), [("eth1".into(), vals("2", "1"))]);
}

#[test]
fn rp_filter_is_held_by_every_ipv4_vmac_and_given_back_by_the_last() {
    let mut e = Entries::default();
    let found = vec![
        ("all".to_owned(), "1".to_owned()),
        ("eth0".into(), "0".into()),
    ];
    e.record("eth0", "vrrp.51", Some(vals("0", "0")));
    e.record(RP_FILTER, "vrrp.51", Some(found.clone()));
    e.record("eth1", "vrrp.52", Some(vals("2", "0")));
    // Recording on a parent never takes the vmac out of RP_FILTER's.
    assert!(e.record(RP_FILTER, "vrrp.52", None).is_empty());
    assert_eq!(e.release("vrrp.52"), [("eth1".into(), vals("2", "0"))]);
    let mut back = e.release("vrrp.51");
    back.sort();
    assert_eq!(
        back,
        [("eth0".into(), vals("0", "0")), (RP_FILTER.into(), found)]
    );
    // An interface name with '=' in it reads back.
    let mut e = Entries::default();
    e.record(RP_FILTER, "v", Some(vec![("a=b".into(), "1".into())]));
    assert_eq!(Entries::parse(&e.render()), Ok(e));
}

#[test]
fn the_file_round_trips_and_a_bad_line_is_named() {
    let mut e = Entries::default();
    e.record("eth0", "vrrp.51", Some(vals("2", "0")));
    e.record("eth0", "v2", None);
    e.record("bond0.7", "vrrp.9", Some(vals("0", "1")));
    let text = e.render();
    assert_eq!(
        text,
        "bond0.7 arp_ignore=0 arp_filter=1 vmacs vrrp.9\neth0 arp_ignore=2 arp_filter=0 vmacs v2 vrrp.51\n"
    );
    assert_eq!(Entries::parse(&text), Ok(e));
    for (bad, line, why) in [
        ("eth0 arp_ignore=2\n", 1, "a parent without 'vmacs NAME...'"),
        ("\neth0 arp_ignore vmacs v\n", 2, "expected KEY=VALUE"),
        (
            "eth0 arp_ignore=x vmacs v\n",
            1,
            "expected KEY=VALUE, the value a number",
        ),
        ("eth0 vmacs a\neth0 vmacs b\n", 2, "a parent given twice"),
    ] {
        assert_eq!(Entries::parse(bad), Err((line, why)), "{bad}");
    }
}

#[test]
fn the_ledger_file_is_kept_beside_the_control_socket_and_removed_when_empty() {
    let dir = std::env::temp_dir().join(format!("vigil-ledger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let l = Ledger::beside(&dir.join("control.sock"));
    assert_eq!(l.path(), dir.join("control.vmac-sysctls"));
    assert_eq!(l.load().unwrap(), Entries::default());
    l.update(|e| e.record("eth0", "vrrp.51", Some(vals("2", "0"))))
        .unwrap();
    assert!(l.load().unwrap().holds("eth0"));
    // A file that does not read is started afresh.
    std::fs::write(l.path(), "eth0 junk\n").unwrap();
    assert!(matches!(l.load(), Err(LedgerError::Bad { line: 1, .. })));
    l.update(|e| e.record("eth1", "vrrp.52", Some(vals("0", "0"))))
        .unwrap();
    assert!(!l.load().unwrap().holds("eth0"));
    let back = l.update(|e| e.release("vrrp.52")).unwrap();
    assert_eq!(back, [("eth1".into(), vals("0", "0"))]);
    assert!(!l.path().exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
