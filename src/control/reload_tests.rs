//! The reload vocabulary: it crosses the control socket intact, and each
//! line reads as `vigil reload` has always printed it.

use std::time::Duration;

use super::*;
use crate::control::render::{lines_joined, pending_line};
use crate::control::{decode_frame, encode_frame, Response};

fn one_of_each() -> Vec<Line> {
    let name = || "VI_1".to_owned();
    vec![
        Line::Applied {
            changes: 2,
            pending: true,
        },
        Line::Change(Change::Notifier),
        Line::Change(Change::InstanceNotApplied {
            name: name(),
            why: NotApplied::NoInterface {
                interface: "eth9".into(),
            },
        }),
        Line::Ipvs(IpvsApply::Refused {
            ops: 3,
            refused: vec!["add dest x: EEXIST".into()],
        }),
        Line::Pending(Pending::SyncGroup {
            name: "G".into(),
            diff: Diff::Removed,
        }),
        Line::Warning("x.conf:3:1: alias".into()),
        Line::ReadAborted("task cancelled".into()),
    ]
}

#[test]
fn a_report_crosses_the_socket_as_it_was_sent() {
    let resp = Response::Reloaded(ReloadReport {
        outcome: ReloadOutcome::Failed,
        lines: one_of_each(),
    });
    let f = encode_frame(&resp).unwrap();
    let (back, _) = decode_frame::<Response>(&f).unwrap();
    assert_eq!(back, resp);
}

#[test]
fn lines_read_as_before() {
    let text: Vec<String> = one_of_each().iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "2 changes applied live, others PENDING A RESTART",
            "notification and script settings applied",
            "vrrp_instance VI_1 NOT applied (no interface eth9): it runs as before until a restart",
            "ipvs: 1 of 3 ops refused (retried): add dest x: EEXIST",
            "pending a restart: vrrp_sync_group G removed",
            "x.conf:3:1: alias",
            "reading the config failed: task cancelled",
        ]
    );
    let head = Line::Applied {
        changes: 1,
        pending: false,
    };
    assert_eq!(
        lines_joined(&[head, Line::Change(Change::LvsTimeouts)]),
        "1 change applied live; lvs_timeouts changed"
    );
}

#[test]
fn ipvs_answers_read_as_before_and_say_whether_the_reload_failed() {
    let cases = [
        (
            IpvsApply::Started,
            "ipvs task and health checks started",
            false,
        ),
        (
            IpvsApply::NothingToProgram,
            "ipvs: nothing to program (no virtual_server, no lvs_timeouts)",
            false,
        ),
        (
            IpvsApply::Applied {
                ops: 1,
                draining: 2,
            },
            "ipvs: 1 op applied, 2 real servers draining",
            false,
        ),
        (
            IpvsApply::Unreachable("no module".into()),
            "ipvs: cannot program the kernel (retried): no module",
            true,
        ),
        (
            IpvsApply::Slow {
                bound: Duration::from_secs(30),
            },
            "ipvs: first pass not done within 30s; it goes on",
            true,
        ),
        (IpvsApply::Dropped, "ipvs task dropped the commit", true),
        (IpvsApply::Gone, "ipvs task is gone", true),
    ];
    for (a, text, failed) in cases {
        assert_eq!(a.to_string(), text);
        assert_eq!(a.failed(), failed, "{text}");
    }
}

#[test]
fn the_status_shows_the_last_reload_and_the_pending_list_in_one_line() {
    let last = LastReload {
        outcome: ReloadOutcome::Invalid,
        at_unix_secs: 0,
        first: Some(Line::Refused("x.conf:4:2: unknown keyword".into())),
    };
    assert_eq!(
        last.to_string(),
        "REFUSED (invalid config) at Thu, 01 Jan 1970 00:00:00 +0000: x.conf:4:2: unknown keyword"
    );
    let empty = LastReload {
        first: None,
        ..last
    };
    assert!(empty.to_string().ends_with("+0000: "));
    assert_eq!(pending_line(&[]), None);
    let p = [
        Pending::Instance {
            name: "VI_1".into(),
            diff: Diff::Added,
        },
        Pending::VrrpGlobals,
        Pending::LvsSyncDaemon,
        Pending::Appliance,
    ];
    assert_eq!(
        pending_line(&p).as_deref(),
        Some(
            "vrrp_instance VI_1 added; global_defs (VRRP, notification or script settings) changed; \
             lvs_sync_daemon changed; appliance watchdog changed"
        )
    );
}
