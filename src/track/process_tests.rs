//! Unit tests of `process.rs`.

use super::*;
use crate::config::bounds::Millis;

fn proc_(comm: &str, argv: &[&str]) -> Proc {
    Proc {
        comm: comm.into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
    }
}

fn tracked(words: &[&str], pm: Option<ParamMatch>) -> TrackProcess {
    TrackProcess {
        param_match: pm,
        ..TrackProcess::new("p".into(), words.iter().map(|s| s.to_string()).collect())
    }
}

#[test]
fn a_name_matches_comm_exactly_as_pgrep_with_anchors() {
    let t = tracked(&["haproxy"], None);
    assert!(matches(
        &t,
        &proc_("haproxy", &["/usr/sbin/haproxy", "-f", "x"])
    ));
    assert!(!matches(&t, &proc_("haproxy2", &["haproxy2"])));
    assert!(!matches(
        &tracked(&["ssh"], None),
        &proc_("sshd", &["sshd"])
    ));
    // The kernel cuts names at 15 bytes; so does the match.
    let long = tracked(&["kube-controller-manager"], None);
    assert!(matches(&long, &proc_("kube-controller", &[])));
}

#[test]
fn parameters_match_the_command_line_by_param_match() {
    let p = proc_("nginx", &["nginx", "-c", "/etc/nginx/a.conf", "-g"]);
    assert!(
        !matches(&tracked(&["nginx", "-c"], None), &p),
        "exact: all of them"
    );
    assert!(matches(
        &tracked(&["nginx", "-c", "/etc/nginx/a.conf", "-g"], None),
        &p
    ));
    assert!(matches(
        &tracked(&["nginx", "-c"], Some(ParamMatch::Partial)),
        &p
    ));
    assert!(matches(
        &tracked(&["nginx", "-c", "/etc/ng"], Some(ParamMatch::Initial)),
        &p
    ));
    assert!(!matches(
        &tracked(&["nginx", "-c", "/etc/ng"], Some(ParamMatch::Partial)),
        &p
    ));
    // param_match alone: the program and no parameter.
    assert!(!matches(&tracked(&["nginx"], Some(ParamMatch::Exact)), &p));
    assert!(matches(
        &tracked(&["nginx"], Some(ParamMatch::Exact)),
        &proc_("nginx", &["nginx"])
    ));
}

#[test]
fn quorum_counts_with_its_delays() {
    let t0 = Instant::now();
    let mut t = tracked(&["x"], None);
    t.quorum = 2;
    t.quorum_max = Some(3);
    t.terminate_delay = Some(Millis::secs(2));
    let mut q = Quorum::new();
    assert_eq!(
        q.handle(&t, 2, t0),
        Some(State::Ok),
        "the first scan decides"
    );
    assert_eq!(q.handle(&t, 1, t0), None, "lost: waits terminate_delay");
    assert_eq!(q.handle(&t, 1, t0 + Duration::from_secs(1)), None);
    assert_eq!(
        q.handle(&t, 2, t0 + Duration::from_secs(1)),
        None,
        "back in time"
    );
    assert_eq!(
        q.handle(&t, 4, t0 + Duration::from_secs(2)),
        None,
        "over quorum_max"
    );
    assert_eq!(
        q.handle(&t, 4, t0 + Duration::from_secs(4)),
        Some(State::Fail)
    );
    assert_eq!(
        q.handle(&t, 3, t0 + Duration::from_secs(4)),
        Some(State::Ok),
        "no fork_delay"
    );
}

#[test]
fn this_test_s_own_process_is_found_by_a_scan() {
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    let t = tracked(&[me.trim_end()], None);
    assert!(scan().iter().any(|p| matches(&t, p)));
}

#[test]
fn a_stat_line_gives_the_name_and_state() {
    assert_eq!(
        stat_fields("42 (nginx) S 1 42 42 0 -1"),
        Some(("nginx", 'S'))
    );
    assert_eq!(
        stat_fields("7 (a) b (c)) Z 1 7"),
        Some(("a) b (c)", 'Z')),
        "the name runs to the last ')'"
    );
    assert_eq!(stat_fields("7 (x"), None);
}

/// keepalived counts running processes only: a child that exited and is
/// not reaped yet (a zombie) is gone, while it ran it was there.
#[test]
fn a_zombie_is_no_running_process() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let dir = std::path::PathBuf::from(format!("/proc/{}", child.id()));
    let t0 = Instant::now();
    // Its command line is there once the exec has set it up.
    while read(&dir).is_none_or(|p| p.argv.is_empty()) {
        assert!(t0.elapsed() < Duration::from_secs(5), "no running sleep");
        std::thread::sleep(Duration::from_millis(5));
    }
    let running = read(&dir).expect("a running sleep");
    assert_eq!(running.comm, "sleep");
    assert_eq!(running.argv, ["sleep", "30"]);
    // SIGKILL without a wait: the child stays a zombie until reaped.
    // SAFETY: plain syscall on our own unreaped child's PID.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    while !std::fs::read_to_string(dir.join("stat"))
        .is_ok_and(|s| stat_fields(&s).is_some_and(|(_, st)| st == 'Z'))
    {
        assert!(t0.elapsed() < Duration::from_secs(5), "no zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(read(&dir), None, "a zombie counted");
    child.wait().unwrap();
}
