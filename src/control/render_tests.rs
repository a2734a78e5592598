//! Unit tests of `render.rs`.

use super::super::{IpvsCheckStats, ReceiverStatus};
use super::*;

fn sample() -> Status {
    Status {
        source: "/etc/keepalived/keepalived.conf".into(),
        uptime_ms: 12_345,
        instances: vec![InstanceStatus {
            name: "VI_1".into(),
            state: "BACKUP".into(),
            interface: "eth0".into(),
            vrid: 51,
            version: 2,
            family: 4,
            priority: 99,
            effective_priority: 99,
            master: "10.9.0.1".into(),
            advert_interval_ms: 1000,
            in_state_ms: 1500,
            error: None,
            ..Default::default()
        }],
        receivers: vec![ReceiverStatus {
            interface: "eth0".into(),
            family: 4,
            drops: vec![("ttl_not_255".into(), 1), ("auth_mismatch".into(), 2)],
            kernel_dropped: 0,
            queue_full: 0,
            restarts: 0,
        }],
        ipvs: None,
        reload: None,
        reloads: Default::default(),
        pending: Vec::new(),
        resumed: None,
        tasks: vec![],
        appliance: Vec::new(),
        watchdog: WatchdogStatus::default(),
        scripts: Vec::new(),
        commit: CommitStatus::default(),
        warnings: vec![],
        runtimes: vec![],
        bgp: None,
    }
}

/// The JSON without its last key, the watchdog (tested on its own).
fn without_watchdog(j: &str) -> String {
    let i = j.rfind(",\"watchdog\":").expect("the watchdog key");
    format!("{}}}", &j[..i])
}

fn tasks() -> Vec<TaskStatus> {
    vec![
        TaskStatus {
            name: "control".into(),
            kind: "control".into(),
            state: "running".into(),
            check_in_age_ms: 120,
            deadline_ms: Some(10_000),
            restarts: 0,
            last_stop: None,
        },
        TaskStatus {
            name: "instance VI_1".into(),
            kind: "instance".into(),
            state: "stalled".into(),
            check_in_age_ms: 2500,
            deadline_ms: Some(2000),
            restarts: 1,
            last_stop: Some("panicked: boom".into()),
        },
    ]
}

#[test]
fn text_lists_tasks_and_shouts_a_stalled_one() {
    let s = Status {
        tasks: tasks(),
        ..sample()
    };
    assert!(
        text(&s).ends_with(
            "task control: running, checked in 0.120s ago (deadline 10s), 0 restarts\n\
                 task instance VI_1: STALLED, checked in 2.500s ago (deadline 2s), 1 restart, \
                 last stop: panicked: boom\n"
        ),
        "{}",
        text(&s)
    );
}

#[test]
fn json_lists_tasks() {
    let s = Status {
        tasks: tasks(),
        ..sample()
    };
    let j = without_watchdog(&json(&s));
    assert!(
        j.ends_with(
            ",\"tasks\":[{\"name\":\"control\",\"kind\":\"control\",\"state\":\"running\",\
                 \"check_in_age_ms\":120,\"deadline_ms\":10000,\"restarts\":0,\"last_stop\":null},\
                 {\"name\":\"instance VI_1\",\"kind\":\"instance\",\"state\":\"stalled\",\
                 \"check_in_age_ms\":2500,\"deadline_ms\":2000,\"restarts\":1,\
                 \"last_stop\":\"panicked: boom\"}]}"
        ),
        "{j}"
    );
}

#[test]
fn appliance_failures_show_in_text_and_json() {
    let mut s = sample();
    assert!(!json(&s).contains("appliance"), "absent when all applied");
    s.appliance =
        vec!["appliance: no interface eth1: its addresses, routes and sysctls wait".into()];
    assert!(text(&s).contains(
        "APPLIANCE ERROR: appliance: no interface eth1: its addresses, routes and sysctls wait\n"
    ));
    assert!(without_watchdog(&json(&s)).ends_with(
        ",\"appliance\":[\"appliance: no interface eth1: its addresses, routes and sysctls wait\"]}"
    ));
}

#[test]
fn text_layout() {
    assert_eq!(
        text(&sample()),
        "vigil: config /etc/keepalived/keepalived.conf, up 12.345s\n\
             watchdog: not the appliance, hardware watchdog unused\n\
             VI_1 BACKUP on eth0 vrid 51 v2 ipv4: priority 99 (effective 99), master 10.9.0.1, advert 1s, 1.500s in state\n\
             receiver eth0 ipv4: kernel_dropped 0, queue_full 0, restarts 0\n\
             \x20 dropped: ttl_not_255 1, auth_mismatch 2\n"
    );
}

#[test]
fn text_without_instances() {
    let s = Status {
        source: "factory default".into(),
        ..Default::default()
    };
    assert!(text(&s).contains("no vrrp instance"));
}

#[test]
fn json_shape() {
    assert_eq!(
        without_watchdog(&json(&sample())),
        "{\"source\":\"/etc/keepalived/keepalived.conf\",\"uptime_ms\":12345,\"reload\":null,\"pending\":null,\"resumed\":null,\"instances\":[\
             {\"name\":\"VI_1\",\"state\":\"BACKUP\",\"interface\":\"eth0\",\"vrid\":51,\"version\":2,\
             \"family\":4,\"priority\":99,\"effective_priority\":99,\"master\":\"10.9.0.1\",\
             \"advert_interval_ms\":1000,\"in_state_ms\":1500,\"route_errors\":0,\"arp_theft\":0,\"error\":null}],\
             \"receivers\":[{\"interface\":\"eth0\",\"family\":4,\
             \"drops\":{\"ttl_not_255\":1,\"auth_mismatch\":2},\"kernel_dropped\":0,\
             \"queue_full\":0,\"restarts\":0}]}"
    );
}

fn ipvs_sample() -> IpvsStatus {
    use super::super::{IpvsDestStatus, IpvsServiceStatus};
    IpvsStatus {
        services: vec![IpvsServiceStatus {
            service: "TCP 192.168.1.200:80".into(),
            in_table: true,
            scheduler: "wrr".into(),
            persistent: Some(3600),
            mask: None,
            dests: vec![
                IpvsDestStatus {
                    dest: "192.168.1.102:80".into(),
                    method: "Route".into(),
                    weight: Some(1),
                    active: 2,
                    inactive: 1,
                    health: "up".into(),
                    last: "ok".into(),
                    failures: 0,
                    dynamic_weight: Some(1),
                    counters: None,
                    checks_done: 0,
                    checks_failed: 0,
                },
                IpvsDestStatus {
                    dest: "192.168.1.103:80".into(),
                    method: "Route".into(),
                    weight: None,
                    health: "down".into(),
                    last: "connection refused".into(),
                    failures: 4,
                    ..Default::default()
                },
            ],
            counters: None,
            flags: Vec::new(),
            checks: Vec::new(),
            misordered: false,
        }],
        foreign: vec!["UDP 10.0.0.1:53".into()],
        error: None,
        sync_daemon: None,
        counters_age_ms: None,
        counters_every_ms: None,
    }
}

#[test]
fn ipvs_text_is_ipvsadm_with_health() {
    assert_eq!(
        ipvs_text(&ipvs_sample()),
        "ipvs:\n\
             Prot LocalAddress:Port Scheduler Flags\n\
             \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Health Fails Last\n\
             TCP  192.168.1.200:80 wrr persistent 3600\n\
             \x20 -> 192.168.1.102:80             Route   1      2          1          up     0     ok\n\
             \x20 -> 192.168.1.103:80             Route   -      0          0          down   4     connection refused\n\
             not vigil's, left alone: UDP 10.0.0.1:53\n"
    );
}

#[test]
fn ipvs_text_and_json_show_the_scheduler_flags() {
    let mut t = ipvs_sample();
    t.services[0].scheduler = "sh".into();
    t.services[0].flags = vec!["sh-fallback".into(), "sh-port".into(), "ops".into()];
    let text = ipvs_text(&t);
    assert!(
        text.contains("TCP  192.168.1.200:80 sh (sh-fallback,sh-port,ops) persistent 3600\n"),
        "{text}"
    );
    let json = ipvs_json(&t);
    assert!(
        json.contains(r#""scheduler":"sh","flags":["sh-fallback","sh-port","ops"],"#),
        "{json}"
    );
}

/// An anycast service whose destinations are out of config order says so
/// on its line, in capitals, and in the JSON.
#[test]
fn a_misordered_service_says_so() {
    let mut t = ipvs_sample();
    let text = ipvs_text(&t);
    assert!(!text.contains("OUT OF CONFIG ORDER"), "{text}");
    t.services[0].misordered = true;
    let text = ipvs_text(&t);
    assert!(
        text.contains("persistent 3600 (DESTINATIONS OUT OF CONFIG ORDER: another box's mh"),
        "{text}"
    );
    assert!(ipvs_json(&t).contains(r#""in_table":true,"misordered":true,"#));
}

#[test]
fn health_text_is_a_line_per_real_server_and_says_when_nothing_is_checked() {
    let s = Status {
        ipvs: Some(ipvs_sample()),
        ..Status::default()
    };
    assert_eq!(
        health_text(&s),
        "TCP 192.168.1.200:80 -> 192.168.1.102:80: up, 0 consecutive failures, last check: ok\n\
         TCP 192.168.1.200:80 -> 192.168.1.103:80: down, 4 consecutive failures, last check: connection refused\n"
    );
    assert_eq!(
        health_text(&Status::default()),
        "nothing is health-checked: no real server, no tracked script\n"
    );
}

/// Checks not made for a reason of this box show on the service's line
/// and in the JSON, all checkers together, the non-zero errnos only.
#[test]
fn local_errors_show_by_errno_on_the_service() {
    let mut t = ipvs_sample();
    let stats = |n| IpvsCheckStats {
        checker: "TCP_CHECK".into(),
        local_errors: vec![("EMFILE".into(), n), ("ENOBUFS".into(), 0)],
        ..IpvsCheckStats::default()
    };
    t.services[0].checks = vec![stats(2), stats(3)];
    let text = ipvs_text(&t);
    assert!(
        text.contains("(checks not made, this box's fault, not counted: EMFILE 5)"),
        "{text}"
    );
    let mut s = sample();
    s.ipvs = Some(t);
    assert!(json(&s).contains("\"local_errors\":{\"EMFILE\":5}"));
}

#[test]
fn ipvs_json_shape() {
    let mut s = sample();
    assert!(!json(&s).contains("\"ipvs\""));
    s.ipvs = Some(IpvsStatus {
        error: Some("ip_vs module not loaded".into()),
        sync_daemon: Some(
            "master sync daemon (mcast=eth1, syncid=51); follows VI_1 (MASTER)".into(),
        ),
        counters_age_ms: Some(38_250),
        counters_every_ms: Some(36_000),
        ..ipvs_sample()
    });
    let j = without_watchdog(&json(&s));
    assert!(
        j.ends_with(
            ",\"ipvs\":{\"services\":[{\"service\":\"TCP 192.168.1.200:80\",\"in_table\":true,\
             \"misordered\":false,\"scheduler\":\"wrr\",\"flags\":[],\"persistent\":3600,\"mask\":null,\"local_errors\":{},\"dests\":[\
             {\"dest\":\"192.168.1.102:80\",\"method\":\"Route\",\"weight\":1,\"active\":2,\
             \"inactive\":1,\"health\":\"up\",\"last\":\"ok\",\"failures\":0,\"dynamic_weight\":1,\
             \"checks_done\":0,\"checks_failed\":0},\
             {\"dest\":\"192.168.1.103:80\",\"method\":\"Route\",\"weight\":null,\"active\":0,\
             \"inactive\":0,\"health\":\"down\",\"last\":\"connection refused\",\"failures\":4,\
             \"dynamic_weight\":null,\"checks_done\":0,\"checks_failed\":0}]}],\
             \"foreign\":[\"UDP 10.0.0.1:53\"],\"error\":\"ip_vs module not loaded\",\
             \"sync_daemon\":\"master sync daemon (mcast=eth1, syncid=51); follows VI_1 (MASTER)\",\
             \"counters_age_ms\":38250,\"counters_every_ms\":36000}}"
        ),
        "{j}"
    );
}

#[test]
fn ipvs_text_shows_the_sync_daemon() {
    let t = IpvsStatus {
        sync_daemon: Some(
            "backup sync daemon (mcast=eth1, syncid=51); follows VI_1 (BACKUP)".into(),
        ),
        ..Default::default()
    };
    assert!(ipvs_text(&t).starts_with(
        "ipvs:\nsync daemon: backup sync daemon (mcast=eth1, syncid=51); follows VI_1 (BACKUP)\n"
    ));
}

/// A large table's counters, read less often than a small one's, say
/// how old they are; fresh ones (a small table's) add no line.
#[test]
fn ipvs_text_says_how_old_stale_counters_are() {
    let aged = |age, every| IpvsStatus {
        counters_age_ms: age,
        counters_every_ms: every,
        ..ipvs_sample()
    };
    let line = "counters and connection counts as read 38 s ago \
                (the whole table is read every 36 s at its size)\n";
    assert!(ipvs_text(&aged(Some(38_250), Some(36_000))).starts_with(&format!("ipvs:\n{line}")));
    let fresh = ipvs_text(&aged(Some(1_900), Some(2_000)));
    assert!(!fresh.contains("as read"), "{fresh}");
    assert_eq!(fresh, ipvs_text(&aged(None, None)));
    // The bound itself is said.
    assert!(ipvs_text(&aged(Some(STALE_SHOWN_MS), Some(2_000))).contains("as read 5 s ago"));
}

#[test]
fn json_escapes() {
    assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

fn armed(state: WatchdogState) -> WatchdogStatus {
    WatchdogStatus {
        state,
        device: "/dev/watchdog".into(),
        identity: Some("i6300ESB timer".into()),
        timeout_s: Some(20),
        reset_by_watchdog: true,
        boot: Some("last reset by the watchdog".into()),
        systemd_ms: Some(5000),
        ..Default::default()
    }
}

#[test]
fn the_watchdog_line_says_the_last_reset_and_each_state() {
    let s = Status {
        watchdog: armed(WatchdogState::Petting),
        ..sample()
    };
    assert!(
        text(&s).contains(
            "watchdog /dev/watchdog (i6300ESB timer) 20s: petting; last reset by the watchdog; \
             systemd WatchdogSec 5s\n"
        ),
        "{}",
        text(&s)
    );
    let absent = WatchdogStatus {
        state: WatchdogState::Absent,
        device: "/dev/watchdog".into(),
        ..Default::default()
    };
    assert_eq!(
        watchdog_line(&absent),
        "watchdog: no watchdog device (/dev/watchdog): running without one"
    );
    assert_eq!(
        watchdog_line(&WatchdogStatus::default()),
        "watchdog: not the appliance, hardware watchdog unused"
    );
    let failed = WatchdogStatus {
        state: WatchdogState::Failed,
        device: "/dev/watchdog".into(),
        error: Some("cannot open watchdog /dev/watchdog: busy".into()),
        ..Default::default()
    };
    assert!(watchdog_line(&failed).contains("FAILED (cannot open watchdog /dev/watchdog: busy)"));
    assert!(watchdog_line(&armed(WatchdogState::Disarmed)).contains("20s: disarmed"));
}

#[test]
fn json_carries_the_watchdog() {
    let s = Status {
        watchdog: armed(WatchdogState::Petting),
        ..sample()
    };
    let j = json(&s);
    assert!(
        j.ends_with(
            ",\"watchdog\":{\"state\":\"petting\",\"device\":\"/dev/watchdog\",\
             \"identity\":\"i6300ESB timer\",\"timeout_s\":20,\"late\":[],\"error\":null,\
             \"reset_by_watchdog\":true,\"boot\":\"last reset by the watchdog\",\"systemd_ms\":5000}}"
        ),
        "{j}"
    );
}

#[test]
fn tracked_scripts_show_state_last_run_and_runs() {
    let mut s = sample();
    s.scripts = vec![
        ScriptStatus {
            name: "chk_haproxy".into(),
            state: "FAIL".into(),
            last: "exit 1".into(),
            runs: 12,
            value: None,
        },
        ScriptStatus {
            name: "chk_new".into(),
            state: "INIT".into(),
            last: String::new(),
            runs: 0,
            value: None,
        },
    ];
    s.scripts.push(ScriptStatus {
        name: "maint".into(),
        state: "FAIL".into(),
        last: String::new(),
        runs: 40,
        value: Some(1),
    });
    let t = text(&s);
    assert!(t.contains("track_file maint: value 1, 40 reads\n"), "{t}");
    assert!(
        t.contains("script chk_haproxy: FAIL, last exit 1, 12 runs\n"),
        "{t}"
    );
    assert!(
        t.contains("script chk_new: INIT, no run yet, 0 runs\n"),
        "{t}"
    );
    let j = json(&s);
    assert!(
        j.contains(",\"scripts\":[{\"name\":\"chk_haproxy\",\"state\":\"FAIL\",\"last\":\"exit 1\",\"runs\":12},"),
        "{j}"
    );
}

#[test]
fn status_says_a_pending_commit_confirmed_and_the_last_automatic_rollback() {
    let mut s = sample();
    assert!(commit_lines(&s.commit).is_empty());
    assert!(!json(&s).contains("\"commit\""));
    // 2023-11-14 22:13:20 UTC
    s.commit.pending = Some(crate::control::PendingCommit {
        seq: 7,
        deadline: 1_700_000_000,
    });
    s.commit.last_rollback = Some(crate::control::AutoRollback {
        of: 5,
        seq: Some(6),
        at: 1_699_999_000,
        error: None,
    });
    let t = text(&s);
    assert!(
        t.contains("COMMIT CONFIRMED pending: seq 7 rolls back at 22:13:20 UTC unless confirmed"),
        "{t}"
    );
    assert!(
        t.contains("last automatic rollback: commit 5 not confirmed in time, rolled back at 2023-11-14 21:56:40 (now seq 6)"),
        "{t}"
    );
    let j = json(&s);
    assert!(
        j.contains("\"commit\":{\"pending\":{\"seq\":7,\"deadline\":1700000000},\"last_rollback\":{\"of\":5,\"seq\":6,\"at\":1699999000,\"error\":null}}"),
        "{j}"
    );
}

#[test]
fn a_commit_report_says_what_was_written_or_why_not() {
    let stale = CommitReport {
        outcome: CommitOutcome::Stale { base: 3, newest: 4 },
        ..CommitReport::default()
    };
    let (out, err) = commit_report(&stale);
    assert!(out.is_empty());
    assert_eq!(
        err,
        ["vigil: the running config changed since your candidate was made (seq 3, now 4): reload it; nothing committed"]
    );
    let done = CommitReport {
        outcome: CommitOutcome::Committed,
        seq: Some(5),
        reload: Some(crate::control::ReloadReport {
            outcome: ReloadOutcome::Unchanged,
            lines: vec![Line::NoChange],
        }),
        ..CommitReport::default()
    };
    let (out, err) = commit_report(&done);
    assert_eq!(out, ["committed seq 5", "no change"]);
    assert!(err.is_empty());
}

/// A config warning (scripts run as root) shows in the text and the JSON,
/// and neither has a trace of it when there is none.
#[test]
fn warnings_show_when_present() {
    let mut s = sample();
    assert!(!text(&s).contains("WARNING"));
    assert!(!json(&s).contains("\"warnings\""));
    s.warnings = vec!["2 script(s) will run as root (no script_user in global_defs): a, b".into()];
    assert!(text(&s).contains("WARNING: 2 script(s) will run as root"));
    assert!(json(&s).contains("\"warnings\":[\"2 script(s) will run as root"));
}

#[test]
fn runtimes_show_their_worst_stall_and_count_in_text_and_json() {
    let mut s = sample();
    s.runtimes = vec![
        crate::control::RuntimeStatus {
            name: "main".into(),
            worst_stall_us: 1_234_567,
            stalls: 2,
        },
        crate::control::RuntimeStatus {
            name: "vrrp".into(),
            worst_stall_us: 800,
            stalls: 0,
        },
    ];
    let t = text(&s);
    assert!(
        t.contains("runtime main: worst stall 1234.6 ms, 2 stalls over 250 ms\n"),
        "{t}"
    );
    assert!(
        t.contains("runtime vrrp: worst stall 0.8 ms, 0 stalls over 250 ms\n"),
        "{t}"
    );
    let j = json(&s);
    assert!(
        j.contains(
            ",\"runtimes\":[{\"name\":\"main\",\"worst_stall_us\":1234567,\"stalls\":2},\
             {\"name\":\"vrrp\",\"worst_stall_us\":800,\"stalls\":0}],\"watchdog\":"
        ),
        "{j}"
    );
    assert!(!json(&sample()).contains("runtimes"));
}

#[test]
fn arp_theft_shows_under_its_instance_once_counted() {
    let mut s = sample();
    assert!(
        !text(&s).contains("arp theft"),
        "nothing counted, nothing said"
    );
    s.instances[0].arp_theft = 3;
    let t = text(&s);
    assert!(
        t.contains(
            "  arp theft: another MAC claimed a VIP 3 times (see the journal; `vigil doctor`)\n"
        ),
        "{t}"
    );
    assert!(json(&s).contains("\"arp_theft\":3"), "{}", json(&s));
}

/// BIRD's pid and the restarts vigil saw, in the text and the JSON.
#[test]
fn bgp_shows_birds_pid_and_restarts() {
    let mut b = super::super::BgpStatus {
        bird_pid: Some(267),
        drain: "withdraw".into(),
        ..Default::default()
    };
    assert!(bgp_text(&b).starts_with("bgp: BIRD answering (pid 267); not drained"));
    b.bird_restarts = 2;
    assert!(bgp_text(&b).starts_with("bgp: BIRD answering (pid 267, 2 restarts seen);"));
    assert!(bgp_json(&b).contains("\"bird_pid\":267,\"bird_restarts\":2,"));
    b.bird_error = Some("gone".into());
    assert!(bgp_text(&b).starts_with("bgp: BIRD NOT ANSWERING for 0 s: gone;"));
}
