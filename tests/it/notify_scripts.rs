//! Notify scripts for real: shell scripts in a temporary directory append
//! their arguments to a log, and the tests read it back.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vigil::config::model::{GlobalDefs, Notify, Script, ScriptUser};
use vigil::notify::{Event, EventKind, Notifier, Options, State, Stats};

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        Lab {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// A script that appends `<tag> <args>` to the log after running `pre`.
    fn script(&self, name: &str, tag: &str, pre: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let body = format!(
            "#!/bin/sh\n{pre}\necho \"{tag} $*\" >> '{}'\n",
            self.log().display()
        );
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits (bounded) until the log has `n` lines.
    async fn wait_lines(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let l = self.lines();
            if l.len() >= n || Instant::now() > deadline {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn argv(path: &Path, extra: &[&str]) -> Option<Script> {
    let mut argv = vec![path.display().to_string()];
    argv.extend(extra.iter().map(|s| s.to_string()));
    Some(Script { argv })
}

fn event(name: &str, state: State, priority: u8, scripts: &Notify) -> Event {
    Event {
        kind: EventKind::Instance,
        name: name.into(),
        state,
        priority,
        scripts: scripts.clone(),
        smtp_alert: false,
    }
}

async fn wait_stats(n: &Notifier, within: Duration, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + within;
    loop {
        let s = n.stats();
        if done(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn notify_gets_keepalived_args_and_notify_master_its_own() {
    let lab = Lab::new();
    let scripts = Notify {
        notify: argv(&lab.script("notify.sh", "notify", ""), &[]),
        master: argv(
            &lab.script("master.sh", "master", ""),
            &["--vip", "192.168.1.200"],
        ),
        ..Notify::default()
    };
    let n = Notifier::spawn(&GlobalDefs::default());
    n.notify(event("VI_1", State::Master, 100, &scripts));
    let lines = lab.wait_lines(2, Duration::from_secs(10)).await;
    assert_eq!(
        lines,
        vec![
            "master --vip 192.168.1.200",
            "notify INSTANCE VI_1 MASTER 100"
        ]
    );
    let s = wait_stats(&n, Duration::from_secs(5), |s| s.scripts_done() == 2).await;
    assert_eq!(s.scripts_ok, 2, "{s:?}");
}

#[tokio::test]
async fn burst_keeps_event_order_per_instance() {
    let lab = Lab::new();
    // The BACKUP script is slow: if a later MASTER script could overtake
    // it, the order in the log would show it.
    let notify = lab.script("notify.sh", "notify", "");
    let backup = lab.script("backup.sh", "backup", "sleep 0.05");
    let master = lab.script("master.sh", "master", "");
    let n = Notifier::spawn(&GlobalDefs::default());
    let count = 12u8;
    let mut expected: Vec<(&str, String)> = Vec::new();
    for i in 0..count {
        for vi in ["VI_1", "VI_2"] {
            // Each instance's scripts carry its name as a configured arg.
            let scripts = Notify {
                notify: argv(&notify, &[vi]),
                backup: argv(&backup, &[vi]),
                master: argv(&master, &[vi]),
                ..Notify::default()
            };
            let (state, tag) = if i % 2 == 0 {
                (State::Backup, "backup")
            } else {
                (State::Master, "master")
            };
            let prio = 50 + i;
            n.notify(event(vi, state, prio, &scripts));
            expected.push((vi, format!("{tag} {vi}")));
            let st = state.as_str();
            expected.push((vi, format!("notify {vi} INSTANCE {vi} {st} {prio}")));
        }
    }
    let lines = lab
        .wait_lines(expected.len(), Duration::from_secs(30))
        .await;
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for vi in ["VI_1", "VI_2"] {
        let want: Vec<&String> = expected
            .iter()
            .filter(|(v, _)| *v == vi)
            .map(|(_, l)| l)
            .collect();
        let got: Vec<&String> = lines
            .iter()
            .filter(|l| l.split(' ').nth(1) == Some(vi))
            .collect();
        assert_eq!(got, want, "scripts of {vi} out of event order");
    }
    let s = wait_stats(&n, Duration::from_secs(5), |s| {
        s.scripts_done() == expected.len() as u64
    })
    .await;
    assert_eq!(s.scripts_ok, expected.len() as u64, "{s:?}");
    assert_eq!(s.events_dropped + s.script_events_dropped, 0);
}

#[tokio::test]
async fn burst_of_one_instance_runs_strictly_in_order() {
    let lab = Lab::new();
    // A slow BACKUP script and a fast MASTER script, both tagged with the
    // priority so each line names its event.
    let scripts = Notify {
        backup: argv(&lab.script("backup.sh", "backup", "sleep 0.05"), &[]),
        master: argv(&lab.script("master.sh", "master", ""), &[]),
        ..Notify::default()
    };
    let n = Notifier::spawn(&GlobalDefs::default());
    let mut expected = Vec::new();
    for i in 0..16u8 {
        let mut s = scripts.clone();
        let (state, tag) = if i % 2 == 0 {
            (State::Backup, "backup")
        } else {
            (State::Master, "master")
        };
        let sc = if i % 2 == 0 {
            &mut s.backup
        } else {
            &mut s.master
        };
        sc.as_mut().unwrap().argv.push(i.to_string());
        n.notify(event("VI_1", state, 100, &s));
        expected.push(format!("{tag} {i}"));
    }
    let lines = lab
        .wait_lines(expected.len(), Duration::from_secs(30))
        .await;
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn hanging_script_is_killed_and_does_not_block() {
    let lab = Lab::new();
    let sleep_pid = lab.dir.path().join("sleep.pid");
    let hang = format!("sleep 30 &\necho $! > '{}'\nwait", sleep_pid.display());
    let hanging = Notify {
        master: argv(&lab.script("hang.sh", "hang-finished", &hang), &[]),
        backup: argv(&lab.script("backup.sh", "backup", ""), &[]),
        ..Notify::default()
    };
    let quick = Notify {
        master: argv(&lab.script("quick.sh", "quick", ""), &[]),
        ..Notify::default()
    };
    let timeout = Duration::from_millis(600);
    let opts = Options {
        script_timeout: timeout,
        ..Options::default()
    };
    let n = Notifier::spawn_with(&GlobalDefs::default(), opts);
    let t0 = Instant::now();
    n.notify(event("VI_1", State::Master, 100, &hanging));
    n.notify(event("VI_2", State::Master, 100, &quick));
    n.notify(event("VI_1", State::Backup, 100, &hanging));

    // Another instance does not wait for VI_1's hanging script.
    let first = lab.wait_lines(1, Duration::from_secs(10)).await;
    let t_quick = t0.elapsed();
    assert_eq!(first, vec!["quick "]);
    assert!(t_quick < timeout, "VI_2 waited for VI_1: {t_quick:?}");

    // VI_1's next event runs once the hanging script is killed.
    let lines = lab.wait_lines(2, Duration::from_secs(10)).await;
    let t_next = t0.elapsed();
    assert_eq!(lines, vec!["quick ", "backup "]);
    assert!(
        t_next >= timeout,
        "backup ran before the deadline: {t_next:?}"
    );
    assert!(
        t_next < Duration::from_secs(8),
        "backup waited too long: {t_next:?}"
    );
    let s = wait_stats(&n, Duration::from_secs(5), |s| s.scripts_done() == 3).await;
    assert_eq!((s.scripts_timed_out, s.scripts_ok), (1, 2), "{s:?}");

    // The script's own child went down with its process group.
    let pid: i32 = std::fs::read_to_string(&sleep_pid)
        .expect("hang.sh wrote its sleep's pid")
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if stat.is_empty() || state == Some("Z") {
            break;
        }
        assert!(Instant::now() < deadline, "sleep {pid} survived: {stat}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!lab.lines().iter().any(|l| l.starts_with("hang-finished")));
}

#[tokio::test]
async fn notify_never_waits_and_overflow_drops_the_oldest() {
    let lab = Lab::new();
    let scripts = Notify {
        notify: argv(&lab.script("notify.sh", "notify", ""), &[]),
        ..Notify::default()
    };
    let opts = Options {
        queue_capacity: 2,
        ..Options::default()
    };
    let n = Notifier::spawn_with(&GlobalDefs::default(), opts);
    // On this current-thread runtime nothing else runs until we await, so
    // all ten land in the two-slot queue at once.
    for i in 0..10u8 {
        let t = Instant::now();
        n.notify(event("VI_1", State::Master, i, &scripts));
        // Waiting for a script would take its run time; 50 ms leaves room
        // for a loaded CI machine.
        assert!(t.elapsed() < Duration::from_millis(50));
    }
    assert_eq!(n.stats().events_dropped, 8);
    let lines = lab.wait_lines(2, Duration::from_secs(10)).await;
    assert_eq!(
        lines,
        vec![
            "notify INSTANCE VI_1 MASTER 8",
            "notify INSTANCE VI_1 MASTER 9"
        ]
    );
}

#[tokio::test]
async fn group_events_get_group_args() {
    let lab = Lab::new();
    let scripts = Notify {
        notify: argv(&lab.script("notify.sh", "notify", ""), &["x"]),
        fault: argv(&lab.script("fault.sh", "fault", ""), &[]),
        ..Notify::default()
    };
    let n = Notifier::spawn(&GlobalDefs::default());
    let mut ev = event("VG_1", State::Fault, 0, &scripts);
    ev.kind = EventKind::Group;
    n.notify(ev);
    let lines = lab.wait_lines(2, Duration::from_secs(10)).await;
    assert_eq!(lines, vec!["fault ", "notify x GROUP VG_1 FAULT"]);
}

#[tokio::test]
async fn script_user_runs_scripts_as_that_user() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test needs root to switch to the script user");
    }
    let lab = Lab::new();
    std::fs::set_permissions(lab.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let pre = "set -- \"$(id -u):$(id -g):$(id -G)\"";
    let scripts = Notify {
        master: argv(&lab.script("master.sh", "ids", pre), &[]),
        ..Notify::default()
    };
    let global = GlobalDefs {
        script_user: Some(ScriptUser {
            user: "nobody".into(),
            group: Some("nogroup".into()),
        }),
        ..GlobalDefs::default()
    };
    let n = Notifier::spawn(&global);
    n.notify(event("VI_1", State::Master, 100, &scripts));
    let lines = lab.wait_lines(1, Duration::from_secs(10)).await;
    assert_eq!(lines, vec!["ids 65534:65534:65534"], "{:?}", n.stats());
}

#[tokio::test]
async fn unknown_script_user_runs_nothing() {
    let lab = Lab::new();
    let scripts = Notify {
        master: argv(&lab.script("master.sh", "ran", ""), &[]),
        ..Notify::default()
    };
    let global = GlobalDefs {
        script_user: Some(ScriptUser {
            user: "no-such-user-here".into(),
            group: None,
        }),
        ..GlobalDefs::default()
    };
    let n = Notifier::spawn(&global);
    n.notify(event("VI_1", State::Master, 100, &scripts));
    let s = wait_stats(&n, Duration::from_secs(5), |s| s.scripts_done() == 1).await;
    assert_eq!(s.scripts_not_run, 1, "{s:?}");
    assert!(lab.lines().is_empty());
}

#[tokio::test]
async fn script_security_refuses_a_world_writable_path() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test needs root: the script must be owned by root");
    }
    let lab = Lab::new();
    let script = lab.script("master.sh", "ran", "");
    let scripts = Notify {
        master: argv(&script, &[]),
        ..Notify::default()
    };
    let global = GlobalDefs {
        enable_script_security: true,
        ..GlobalDefs::default()
    };
    let n = Notifier::spawn(&global);
    // 0700 directory owned by root (under sticky /tmp): runs.
    n.notify(event("VI_1", State::Master, 100, &scripts));
    assert_eq!(
        lab.wait_lines(1, Duration::from_secs(10)).await,
        vec!["ran "]
    );
    // The same directory made world-writable: refused.
    std::fs::set_permissions(lab.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    n.notify(event("VI_1", State::Master, 100, &scripts));
    let s = wait_stats(&n, Duration::from_secs(5), |s| s.scripts_done() == 2).await;
    assert_eq!((s.scripts_ok, s.scripts_not_run), (1, 1), "{s:?}");
    assert_eq!(lab.lines().len(), 1);
}
