//! Unit tests of `sysctl.rs`.

use super::*;

#[test]
fn a_drop_in_without_appliance_block_touches_nothing() {
    assert!(wanted(None, false).is_empty());
}

#[test]
fn the_appliance_gets_the_documented_defaults() {
    let got = wanted(None, true);
    let pairs: Vec<(&str, &str)> = got.iter().map(|s| (s.name, s.value.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("expire_nodest_conn", "1"),
            ("expire_quiescent_template", "1"),
            ("conn_reuse_mode", "1"),
            ("sloppy_tcp", "1"),
        ]
    );
}

#[test]
fn the_block_wins_in_both_modes() {
    let mut a = Appliance::default();
    a.ipvs.sloppy_tcp = false;
    a.ipvs.conn_reuse_mode = 2;
    for on_appliance in [true, false] {
        let got = wanted(Some(&a), on_appliance);
        assert!(got.contains(&Sysctl {
            name: "sloppy_tcp",
            value: "0".into()
        }));
        assert!(got.contains(&Sysctl {
            name: "conn_reuse_mode",
            value: "2".into()
        }));
    }
}

#[test]
fn the_appliance_keeps_idle_websockets_longer_unless_told() {
    let none = LvsTimeouts::default();
    assert_eq!(timeouts(&none, None, false), none, "drop-in: the kernel's");
    assert_eq!(timeouts(&none, None, true).tcp, Some(APPLIANCE_TCP_TIMEOUT));
    let set = LvsTimeouts {
        tcp: Some(600),
        tcpfin: None,
        udp: Some(30),
    };
    assert_eq!(timeouts(&set, None, true), set, "configured values win");
    let a = Appliance::default();
    assert_eq!(
        timeouts(&none, Some(&a), false).tcp,
        Some(APPLIANCE_TCP_TIMEOUT)
    );
}

#[test]
fn apply_writes_each_file_and_reports_failures() {
    let dir = tempfile::tempdir().unwrap();
    let settings = wanted(None, true);
    for s in &settings[..3] {
        std::fs::write(dir.path().join(s.name), "0\n").unwrap();
    }
    // sloppy_tcp's file exists too; a missing directory fails them all.
    std::fs::write(dir.path().join("sloppy_tcp"), "0\n").unwrap();
    assert!(apply(dir.path(), &settings).is_empty());
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("expire_nodest_conn"), "1\n");
    assert_eq!(read("sloppy_tcp"), "1\n");
    let failed = apply(&dir.path().join("missing"), &settings);
    assert_eq!(failed.len(), 4);
}
