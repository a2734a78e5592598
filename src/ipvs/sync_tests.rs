use super::*;
use crate::config::model::LvsSyncDaemon;
use std::net::{IpAddr, Ipv4Addr};

fn cfg() -> LvsSyncDaemon {
    LvsSyncDaemon {
        interface: crate::config::bounds::IfName::new("eth1").expect("ifname"),
        vrrp_instance: "VI_1".into(),
        id: Some(51),
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    }
}

/// As the kernel reports a daemon it started: defaults filled in.
fn kernel(state: DaemonState, ifname: &str, id: u32) -> SyncDaemon {
    SyncDaemon {
        state,
        ifname: ifname.into(),
        sync_id: id,
        maxlen: Some(1472),
        group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
        port: Some(8848),
        ttl: Some(1),
    }
}

const M: DaemonState = DaemonState::Master;
const B: DaemonState = DaemonState::Backup;

#[test]
fn wanted_follows_the_instance() {
    let c = cfg();
    assert_eq!(wanted("MASTER", Some(&c)), Some(M));
    for s in ["BACKUP", "FAULT", "INIT", "ERROR", ""] {
        assert_eq!(wanted(s, Some(&c)), Some(B), "{s}");
    }
    assert_eq!(wanted("MASTER", None), None);
    assert_eq!(wanted("BACKUP", None), None);
}

#[test]
fn daemon_from_config() {
    let d = daemon(&cfg(), M);
    assert_eq!(d.ifname, "eth1");
    assert_eq!(d.sync_id, 51);
    assert_eq!(d.state, M);
    assert_eq!((d.maxlen, d.group, d.port, d.ttl), (None, None, None, None));
    let mut c = cfg();
    c.id = None;
    assert_eq!(daemon(&c, B).sync_id, 0);
}

#[test]
fn no_config_leaves_the_kernel_alone() {
    assert!(diff(None, &[kernel(M, "eth1", 51), kernel(B, "eth0", 3)]).is_empty());
}

#[test]
fn nothing_running_starts_the_wanted_one() {
    let w = daemon(&cfg(), M);
    assert_eq!(diff(Some(&w), &[]), vec![SyncOp::Start(w.clone())]);
    let w = daemon(&cfg(), B);
    assert_eq!(diff(Some(&w), &[]), vec![SyncOp::Start(w.clone())]);
}

#[test]
fn already_running_with_the_same_parameters_is_a_no_op() {
    let w = daemon(&cfg(), M);
    assert!(diff(Some(&w), &[kernel(M, "eth1", 51)]).is_empty());
    let w = daemon(&cfg(), B);
    assert!(diff(Some(&w), &[kernel(B, "eth1", 51)]).is_empty());
}

#[test]
fn backup_to_master_stops_backup_then_starts_master() {
    let w = daemon(&cfg(), M);
    assert_eq!(
        diff(Some(&w), &[kernel(B, "eth1", 51)]),
        vec![SyncOp::Stop(B), SyncOp::Start(w.clone())]
    );
}

#[test]
fn master_to_backup_stops_master_then_starts_backup() {
    let w = daemon(&cfg(), B);
    assert_eq!(
        diff(Some(&w), &[kernel(M, "eth1", 51)]),
        vec![SyncOp::Stop(M), SyncOp::Start(w.clone())]
    );
}

#[test]
fn both_running_keeps_only_the_wanted_one() {
    let both = [kernel(M, "eth1", 51), kernel(B, "eth1", 51)];
    assert_eq!(diff(Some(&daemon(&cfg(), M)), &both), vec![SyncOp::Stop(B)]);
    assert_eq!(diff(Some(&daemon(&cfg(), B)), &both), vec![SyncOp::Stop(M)]);
}

#[test]
fn parameters_changed_stop_then_start() {
    let w = daemon(&cfg(), M);
    for have in [
        kernel(M, "eth0", 51),
        kernel(M, "eth1", 52),
        kernel(M, "eth1", 0),
    ] {
        assert_eq!(
            diff(Some(&w), std::slice::from_ref(&have)),
            vec![SyncOp::Stop(M), SyncOp::Start(w.clone())],
            "{have:?}"
        );
    }
    // A parameter the config sets differs from the kernel's.
    let mut c = cfg();
    c.port = Some(9000);
    c.ttl = Some(2);
    c.maxlen = Some(1400);
    c.group = Some(IpAddr::V4(Ipv4Addr::new(239, 1, 1, 1)));
    let w = daemon(&c, B);
    assert_eq!(
        diff(Some(&w), &[kernel(B, "eth1", 51)]),
        vec![SyncOp::Stop(B), SyncOp::Start(w.clone())]
    );
    // ... and the same once the kernel runs it.
    let mut have = kernel(B, "eth1", 51);
    have.port = Some(9000);
    have.ttl = Some(2);
    have.maxlen = Some(1400);
    have.group = c.group;
    assert!(diff(Some(&w), &[have]).is_empty());
}

#[test]
fn parameters_changed_with_the_other_one_running() {
    // Backup with the wrong id, master running: stop both, start backup.
    let w = daemon(&cfg(), B);
    assert_eq!(
        diff(Some(&w), &[kernel(M, "eth1", 51), kernel(B, "eth1", 7)]),
        vec![SyncOp::Stop(M), SyncOp::Stop(B), SyncOp::Start(w.clone())]
    );
}

#[test]
fn unset_parameters_take_the_kernel_defaults() {
    let w = daemon(&cfg(), M);
    let mut have = kernel(M, "eth1", 51);
    have.maxlen = Some(8972);
    have.port = None;
    assert!(matches(&have, &w));
}

#[test]
fn shutdown_stops_master_keeps_backup() {
    let c = cfg();
    let b = daemon(&c, B);
    assert_eq!(
        shutdown_ops(&c, &[kernel(M, "eth1", 51)]),
        vec![SyncOp::Stop(M), SyncOp::Start(b.clone())]
    );
    assert!(shutdown_ops(&c, &[kernel(B, "eth1", 51)]).is_empty());
    assert_eq!(shutdown_ops(&c, &[]), vec![SyncOp::Start(b)]);
}

#[test]
fn describe_as_ipvsadm() {
    assert_eq!(
        describe(&kernel(M, "eth1", 51)),
        "master sync daemon (mcast=eth1, syncid=51)"
    );
    assert_eq!(SyncOp::Stop(B).to_string(), "stop backup sync daemon");
    let c = cfg();
    assert_eq!(
        status_line(&c, "BACKUP", Some(&[kernel(B, "eth1", 51)]), None),
        "backup sync daemon (mcast=eth1, syncid=51); follows VI_1 (BACKUP)"
    );
    assert_eq!(
        status_line(&c, "MASTER", None, Some("ip_vs module not loaded")),
        "unknown; follows VI_1 (MASTER); error: ip_vs module not loaded"
    );
    assert_eq!(
        status_line(&c, "INIT", Some(&[]), None),
        "none running; follows VI_1 (INIT)"
    );
}

#[test]
fn anycast_wants_both_daemons_whatever_vrrp_says() {
    let any = LvsSyncDaemon {
        vrrp_instance: String::new(),
        ..cfg()
    };
    for s in ["", "MASTER", "BACKUP", "FAULT"] {
        assert_eq!(wanted_all(s, &any), vec![M, B], "{s}");
    }
    assert_eq!(wanted_all("MASTER", &cfg()), vec![M]);
    assert_eq!(wanted_all("BACKUP", &cfg()), vec![B]);
    let want = [daemon(&any, M), daemon(&any, B)];
    // Nothing running: both start. Both running as asked: nothing.
    assert_eq!(
        diff_all(&want, &[]),
        vec![
            SyncOp::Start(want[0].clone()),
            SyncOp::Start(want[1].clone())
        ]
    );
    let both = [kernel(M, "eth1", 51), kernel(B, "eth1", 51)];
    assert!(diff_all(&want, &both).is_empty());
    // A backup of another sync id: replaced, the master kept.
    let other = [kernel(M, "eth1", 51), kernel(B, "eth1", 7)];
    assert_eq!(
        diff_all(&want, &other),
        vec![SyncOp::Stop(B), SyncOp::Start(want[1].clone())]
    );
    // The shutdown keeps the backup only, as for a pair.
    assert_eq!(shutdown_ops(&any, &both), vec![SyncOp::Stop(M)]);
    let line = status_line(&any, "", Some(&both), None);
    assert!(line.ends_with("; both, for anycast"), "{line}");
}
