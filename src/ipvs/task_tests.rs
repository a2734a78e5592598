//! The IPVS task's pure helpers and its scripts.

use super::*;
use crate::config::model::Config;
use crate::ipvs::kernel::FakeKernel;
use crate::ipvs::machine::tests::{event, seed, started, step};
use crate::ipvs::machine::COALESCE;

#[test]
fn a_timeout_the_commit_drops_goes_back_to_the_kernels() {
    let t = |tcp, tcp_fin, udp| Timeouts { tcp, tcp_fin, udp };
    let old = Some(t(Some(7200), Some(5), None));
    let new = Some(t(Some(3600), None, None));
    assert_eq!(
        timeouts_after_commit(old, new),
        Some(t(Some(3600), Some(120), None))
    );
    assert_eq!(
        timeouts_after_commit(old, None),
        Some(t(Some(900), Some(120), None))
    );
    assert_eq!(timeouts_after_commit(None, None), None);
    assert_eq!(timeouts_after_commit(None, new), new);
}

#[test]
fn a_status_says_how_old_its_counters_are() {
    let t0 = Instant::now();
    let mut reads = refresh::Schedule::new(t0);
    let mut st = IpvsStatus::default();
    read_age(&mut st, &reads, t0);
    assert_eq!((st.counters_age_ms, st.counters_every_ms), (None, None));
    // A read of 2 s: the next waits 19 times as long.
    reads.full_read(t0, Duration::from_secs(2));
    read_age(&mut st, &reads, t0 + Duration::from_millis(7_500));
    assert_eq!(st.counters_age_ms, Some(7_500));
    assert_eq!(st.counters_every_ms, Some(38_000));
}

#[test]
fn timeouts_only_when_set() {
    let mut c = seed();
    assert_eq!(timeouts(&c.global.lvs_timeouts), None);
    c.global.lvs_timeouts.tcp = Some(7200);
    assert_eq!(
        timeouts(&c.global.lvs_timeouts),
        Some(Timeouts {
            tcp: Some(7200),
            tcp_fin: None,
            udp: None
        })
    );
    assert!(wanted(&seed()));
    assert!(!wanted(&Config::default()));
}

/// notify_up / notify_down of a real server and quorum_up / quorum_down
/// of its service run through the notifier, with their own arguments.
#[tokio::test]
async fn real_server_and_quorum_scripts_run() {
    let dir = std::env::temp_dir().join(format!("vigil-task-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let script = |word: &str| {
        Some(Script {
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                format!("echo {word} >> {}", log.display()),
            ],
        })
    };
    let mut c = seed();
    c.virtual_servers[0].quorum = 2;
    c.virtual_servers[0].quorum_down = script("quorum-down");
    c.virtual_servers[0].real_servers[0].notify_down = script("rs1-down").map(Box::new);
    let notifier = Notifier::spawn(&c.global);
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(c, &mut k, t0);
    let ev = event(102, false);
    machine.handle_health(&ev, t0);
    run_real_server_script(&machine, &ev, &notifier);
    step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    run_quorum_scripts(&mut machine, &notifier);
    assert!(notifier.settle(Duration::from_secs(10)).await);
    let got = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    // Different names run side by side: the order between them is free.
    let mut lines: Vec<&str> = got.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["quorum-down", "rs1-down"]);
}
