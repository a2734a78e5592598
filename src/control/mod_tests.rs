//! Unit tests of `mod.rs`.

use super::*;

fn sample() -> Status {
    Status {
        source: "x.conf".into(),
        uptime_ms: 5,
        instances: vec![InstanceStatus {
            name: "VI_1".into(),
            state: "MASTER".into(),
            ..Default::default()
        }],
        receivers: vec![ReceiverStatus {
            interface: "eth0".into(),
            family: 4,
            drops: vec![("ttl_not_255".into(), 3)],
            ..Default::default()
        }],
        ipvs: None,
        reloads: Default::default(),
        reload: Some(LastReload {
            outcome: ReloadOutcome::Applied,
            at_unix_secs: 1_700_000_000,
            first: Some(Line::Applied {
                changes: 1,
                pending: true,
            }),
        }),
        pending: vec![Pending::Instance {
            name: "VI_1".into(),
            diff: Diff::Changed,
        }],
        resumed: None,
        tasks: vec![TaskStatus {
            name: "instance VI_1".into(),
            kind: "instance".into(),
            state: "stalled".into(),
            check_in_age_ms: 2500,
            deadline_ms: Some(2000),
            restarts: 1,
            last_stop: Some("panicked: boom".into()),
        }],
        appliance: vec!["appliance: no interface eth1".into()],
        watchdog: WatchdogStatus {
            state: WatchdogState::Withheld,
            device: "/dev/watchdog".into(),
            late: vec!["health (late by 1s)".into()],
            reset_by_watchdog: true,
            boot: Some("last reset by the watchdog".into()),
            systemd_ms: Some(5000),
            ..Default::default()
        },
        scripts: vec![ScriptStatus {
            name: "chk".into(),
            state: "OK".into(),
            last: "exit 0".into(),
            runs: 3,
            value: None,
        }],
        commit: CommitStatus {
            pending: Some(PendingCommit {
                seq: 7,
                deadline: 1_700_000_000,
            }),
            last_rollback: Some(AutoRollback {
                of: 5,
                seq: Some(6),
                at: 1_699_999_000,
                error: None,
            }),
        },
        warnings: vec!["1 script(s) will run as root (no script_user in global_defs): vrrp_script chk /bin/true".into()],
        runtimes: vec![crate::control::RuntimeStatus {
            name: "main".into(),
            worst_stall_us: 12_345,
            stalls: 1,
        }],
        bgp: Some(crate::control::BgpStatus {
            bird_error: Some("BIRD's control socket /run/bird/bird.ctl: No such file".into()),
            bird_down_secs: Some(4),
            announced: vec!["192.0.2.1".into()],
            withheld: vec!["192.0.2.2".into()],
            drain: "prepend 2".into(),
            neighbors: vec![crate::control::BgpNeighborStatus {
                address: "10.0.0.254".into(),
                remote_as: 65000,
                session: "Established".into(),
                last_error: None,
                exported: Some(1),
            }],
            ..Default::default()
        }),
    }
}

#[test]
fn round_trip() {
    let resp = Response::Status(Box::new(sample()));
    let f = encode_frame(&resp).unwrap();
    assert_eq!(f[0], PROTOCOL_VERSION);
    let (back, used) = decode_frame::<Response>(&f).unwrap();
    assert_eq!(back, resp);
    assert_eq!(used, f.len());
    let (r, _) = decode_frame::<Request>(&encode_frame(&Request::Status).unwrap()).unwrap();
    assert_eq!(r, Request::Status);
}

#[test]
fn truncated_frame() {
    let f = encode_frame(&Response::Status(Box::new(sample()))).unwrap();
    for cut in [0, 3, HEADER_LEN, f.len() - 1] {
        assert!(
            matches!(
                decode_frame::<Response>(&f[..cut]),
                Err(FrameError::Truncated { .. })
            ),
            "cut at {cut}"
        );
    }
}

#[test]
fn wrong_version_byte() {
    let mut f = encode_frame(&Request::Status).unwrap();
    f[0] = 1;
    assert!(matches!(
        decode_frame::<Request>(&f),
        Err(FrameError::Version {
            got: 1,
            want: PROTOCOL_VERSION
        })
    ));
}

#[test]
fn oversized_frame_refused() {
    let mut h = vec![PROTOCOL_VERSION];
    h.extend_from_slice(&((MAX_FRAME as u32) + 1).to_be_bytes());
    assert!(matches!(
        decode_header(&h),
        Err(FrameError::TooLarge { .. })
    ));
}

/// A request the server reads is bounded well below any frame, and its
/// bytes are read as they come: a header that claims more than
/// MAX_REQUEST is refused before anything else is read.
#[tokio::test]
async fn a_request_over_its_bound_is_refused_before_its_body_is_read() {
    let (mut a, mut b) = tokio::net::UnixStream::pair().unwrap();
    let mut h = vec![PROTOCOL_VERSION];
    h.extend_from_slice(&((MAX_REQUEST as u32) + 1).to_be_bytes());
    tokio::io::AsyncWriteExt::write_all(&mut a, &h)
        .await
        .unwrap();
    let budget = tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT_KIB);
    let got = read_request(&mut b, &budget).await.unwrap();
    assert!(
        matches!(
            got,
            Err(FrameError::TooLarge {
                max: MAX_REQUEST,
                ..
            })
        ),
        "{got:?}"
    );
    // A claim within the bound whose bytes never come: the read ends with
    // the connection (nobody to answer), having allocated only what
    // arrived.
    let mut h = vec![PROTOCOL_VERSION];
    h.extend_from_slice(&(MAX_REQUEST as u32).to_be_bytes());
    tokio::io::AsyncWriteExt::write_all(&mut a, &h)
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut a, &[0u8; 3])
        .await
        .unwrap();
    drop(a);
    let got = read_request(&mut b, &budget).await;
    assert!(matches!(got, Err(FrameError::Io(_))), "{got:?}");
    assert_eq!(
        budget.available_permits(),
        REQUESTS_IN_FLIGHT_KIB,
        "its share is back"
    );
}

/// Two peers that each claim the largest request take the whole budget
/// of request bytes in flight: a third request waits for one of them,
/// however small it is, then is read.
#[tokio::test]
async fn requests_being_read_share_one_budget_of_bytes() {
    use tokio::io::AsyncWriteExt;
    let budget = std::sync::Arc::new(tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT_KIB));
    let read = |mut conn: tokio::net::UnixStream| {
        let budget = budget.clone();
        tokio::spawn(async move { read_request(&mut conn, &budget).await })
    };
    let mut largest = vec![PROTOCOL_VERSION];
    largest.extend_from_slice(&(MAX_REQUEST as u32).to_be_bytes());
    let (mut a1, b1) = tokio::net::UnixStream::pair().unwrap();
    let (mut a2, b2) = tokio::net::UnixStream::pair().unwrap();
    a1.write_all(&largest).await.unwrap();
    a2.write_all(&largest).await.unwrap();
    let (r1, _r2) = (read(b1), read(b2));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(budget.available_permits(), 0);
    let (mut a3, b3) = tokio::net::UnixStream::pair().unwrap();
    a3.write_all(&encode_frame(&Request::Status).unwrap())
        .await
        .unwrap();
    let r3 = read(b3);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!r3.is_finished(), "the small request waits for room");
    drop(a1);
    assert!(matches!(r1.await.unwrap(), Err(FrameError::Io(_))));
    let got = tokio::time::timeout(Duration::from_secs(5), r3).await;
    assert!(matches!(got, Ok(Ok(Ok(Ok(Request::Status))))), "{got:?}");
    drop(a2);
}

#[test]
fn garbage_payload_is_an_error() {
    let f = [PROTOCOL_VERSION, 0, 0, 0, 1, 0xff];
    assert!(matches!(
        decode_frame::<Request>(&f),
        Err(FrameError::Payload(_))
    ));
}

#[test]
fn commit_requests_and_answers_round_trip() {
    let requests = [
        Request::Commit(CommitAsk {
            config_text: "global_defs {\n}\n".into(),
            comment: Some("new VIP".into()),
            user: Some("tech".into()),
            confirm: crate::daemon::confirm::Window::from_secs(300).ok(),
            base_seq: Some(3),
        }),
        Request::CommitCheck {
            config_text: "x".into(),
        },
        Request::Confirm,
        Request::Rollback {
            seq: 2,
            comment: None,
        },
        Request::History,
    ];
    for req in requests {
        let (back, _) = decode_frame::<Request>(&encode_frame(&req).unwrap()).unwrap();
        assert_eq!(back, req);
    }
    let answers = [
        Response::Committed(CommitReport {
            outcome: CommitOutcome::Stale { base: 3, newest: 4 },
            ..CommitReport::default()
        }),
        Response::History(vec![HistoryEntry {
            seq: 4,
            time: 1_700_000_000,
            deadline: Some(1_700_000_060),
            source: CommitSource::Rollback { of: 2 },
            user: "tech".into(),
            comment: "back".into(),
            len: 175,
            boots: false,
        }]),
    ];
    for resp in answers {
        let (back, _) = decode_frame::<Response>(&encode_frame(&resp).unwrap()).unwrap();
        assert_eq!(back, resp);
    }
}

#[test]
fn a_history_entry_gives_back_the_stores_head() {
    let e = HistoryEntry {
        seq: 9,
        time: 5,
        deadline: None,
        source: CommitSource::ConfirmedRollback { of: 8 },
        user: String::new(),
        comment: "c".into(),
        len: 10,
        boots: true,
    };
    let head = e.head();
    assert_eq!(
        head.source,
        crate::store::Source::ConfirmedRollback { of: 8 }
    );
    let entry = crate::store::Entry {
        head,
        location: crate::store::Location::Record(0),
        checked_by: None,
    };
    assert_eq!(HistoryEntry::new(&entry, true), e);
}

/// A status of the largest table the config bounds allow (1,024 virtual
/// servers of 1,024 real servers, every one checked and in the table)
/// fits one frame, and decodes back.
#[test]
fn a_status_at_the_config_bounds_fits_one_frame() {
    let dest = |s: u32, d: u32| IpvsDestStatus {
        dest: format!("10.{}.{}.{}:8080", s % 256, d / 256, d % 256),
        method: "Masq".into(),
        weight: Some(1),
        active: 1000,
        inactive: 1000,
        health: "up".into(),
        last: "ok".into(),
        failures: 0,
        dynamic_weight: None,
        counters: Some(IpvsCounters {
            connections: u64::MAX,
            in_packets: u64::MAX,
            out_packets: u64::MAX,
            in_bytes: u64::MAX,
            out_bytes: u64::MAX,
        }),
        checks_done: u64::MAX,
        checks_failed: u64::MAX,
    };
    let services = (0..1024u32)
        .map(|s| IpvsServiceStatus {
            service: format!("TCP 192.168.{}.{}:80", s / 256, s % 256),
            in_table: true,
            scheduler: "wlc".into(),
            dests: (0..1024).map(|d| dest(s, d)).collect(),
            ..Default::default()
        })
        .collect();
    let status = Status {
        ipvs: Some(IpvsStatus {
            services,
            ..Default::default()
        }),
        ..Default::default()
    };
    let f = encode_frame(&Response::Status(Box::new(status))).unwrap();
    eprintln!("status at the bounds: {} bytes", f.len());
    assert!(f.len() < MAX_FRAME, "{}", f.len());
    let (back, _) = decode_frame::<Response>(&f).unwrap();
    let Response::Status(s) = back else { panic!() };
    assert_eq!(s.ipvs.unwrap().services[1023].dests.len(), 1024);
}
