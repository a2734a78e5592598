//! Unit tests of `script.rs`.

use super::*;
use crate::config::model::{Notify, Script};

fn script(argv: &[&str]) -> Option<Script> {
    Some(Script {
        argv: argv.iter().map(|s| s.to_string()).collect(),
    })
}

fn event(kind: EventKind, state: State, scripts: Notify) -> Event {
    Event {
        kind,
        name: "VI_1".into(),
        state,
        priority: 100,
        scripts,
        smtp_alert: false,
    }
}

fn all_scripts() -> Notify {
    Notify {
        notify: script(&["/etc/vigil/notify.sh", "--verbose"]),
        master: script(&["/etc/vigil/master.sh", "up", "eth0"]),
        backup: script(&["/etc/vigil/backup.sh"]),
        fault: None,
        stop: script(&["/etc/vigil/stop.sh"]),
    }
}

#[test]
fn notify_master_keeps_its_args_and_notify_gets_keepalived_args() {
    let c = commands(&event(EventKind::Instance, State::Master, all_scripts()));
    assert_eq!(
        c,
        vec![
            vec!["/etc/vigil/master.sh", "up", "eth0"],
            vec![
                "/etc/vigil/notify.sh",
                "--verbose",
                "INSTANCE",
                "VI_1",
                "MASTER",
                "100"
            ],
        ]
    );
}

#[test]
fn state_without_its_own_script_runs_only_notify() {
    let c = commands(&event(EventKind::Instance, State::Fault, all_scripts()));
    assert_eq!(
        c,
        vec![vec![
            "/etc/vigil/notify.sh",
            "--verbose",
            "INSTANCE",
            "VI_1",
            "FAULT",
            "100"
        ]]
    );
    let c = commands(&event(EventKind::Instance, State::Stop, Notify::default()));
    assert!(c.is_empty());
    let c = commands(&event(EventKind::Instance, State::Backup, all_scripts()));
    assert_eq!(c[0], vec!["/etc/vigil/backup.sh"]);
    assert_eq!(c[1][3..], ["VI_1", "BACKUP", "100"]);
}

#[test]
fn a_virtual_servers_quorum_runs_its_own_script_only() {
    let up = commands(&event(
        EventKind::VirtualServer,
        State::Master,
        all_scripts(),
    ));
    assert_eq!(up, vec![vec!["/etc/vigil/master.sh", "up", "eth0"]]);
    let down = commands(&event(
        EventKind::VirtualServer,
        State::Backup,
        all_scripts(),
    ));
    assert_eq!(down, vec![vec!["/etc/vigil/backup.sh"]]);
}

#[test]
fn group_gets_no_priority() {
    let c = commands(&event(EventKind::Group, State::Backup, all_scripts()));
    assert_eq!(
        c[1],
        vec![
            "/etc/vigil/notify.sh",
            "--verbose",
            "GROUP",
            "VI_1",
            "BACKUP"
        ]
    );
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        # comment\n\
        broken line\n\
        keepalived_script:x:998:997::/nonexistent:/usr/sbin/nologin\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\nscripts:x:997:\nops:x:1200:alice,bob\n";

fn su(user: &str, group: Option<&str>) -> ScriptUser {
    ScriptUser {
        user: user.into(),
        group: group.map(Into::into),
    }
}

#[test]
fn users_and_groups_from_the_files() {
    let r = resolve_user(PASSWD, GROUP, &su("keepalived_script", None));
    assert_eq!(r, Ok(RunAs { uid: 998, gid: 997 }));
    let r = resolve_user(PASSWD, GROUP, &su("nobody", Some("ops")));
    assert_eq!(
        r,
        Ok(RunAs {
            uid: 65534,
            gid: 1200
        })
    );
    let r = resolve_user(PASSWD, GROUP, &su("4242", Some("4343")));
    assert_eq!(
        r,
        Ok(RunAs {
            uid: 4242,
            gid: 4343
        })
    );
    let r = resolve_user(PASSWD, GROUP, &su("4242", None));
    assert_eq!(
        r,
        Ok(RunAs {
            uid: 4242,
            gid: 4242
        })
    );
    assert_eq!(
        resolve_user(PASSWD, GROUP, &su("mallory", None)),
        Err(LookupError::NoUser {
            user: "mallory".into()
        })
    );
    assert_eq!(
        resolve_user(PASSWD, GROUP, &su("nobody", Some("wheel"))),
        Err(LookupError::NoGroup {
            group: "wheel".into()
        })
    );
}

fn node(path: &str, uid: u32, gid: u32, mode: u32, is_dir: bool) -> PathNode {
    PathNode {
        path: path.into(),
        uid,
        gid,
        mode,
        is_dir,
    }
}

#[test]
fn script_security() {
    let root = RunAs { uid: 0, gid: 0 };
    let ok = [
        node("/tmp/d/s.sh", 0, 0, 0o100755, false),
        node("/tmp/d", 0, 0, 0o40700, true),
        node("/tmp", 0, 0, 0o41777, true),
        node("/", 0, 0, 0o40755, true),
    ];
    assert_eq!(check_secure(&ok, root), Ok(()));
    let mut bad = ok.clone();
    bad[1].mode = 0o40777;
    assert!(matches!(
        check_secure(&bad, root),
        Err(Insecure::WorldWritable { .. })
    ));
    let mut bad = ok.clone();
    bad[0].uid = 1000;
    assert!(matches!(
        check_secure(&bad, root),
        Err(Insecure::Owner { uid: 1000, .. })
    ));
    assert_eq!(
        check_secure(
            &bad,
            RunAs {
                uid: 1000,
                gid: 1000
            }
        ),
        Ok(())
    );
    let mut bad = ok.clone();
    bad[0].gid = 50;
    bad[0].mode = 0o100775;
    assert!(matches!(
        check_secure(&bad, root),
        Err(Insecure::GroupWritable { gid: 50, .. })
    ));
    assert!(matches!(
        path_nodes(Path::new("relative.sh")),
        Err(Insecure::Relative { .. })
    ));
}

#[test]
fn a_watchdog_reset_runs_notify_reset_with_watchdog_device_reset() {
    let scripts = Notify {
        notify: script(&["/usr/libexec/reset-alert", "--page"]),
        ..Notify::default()
    };
    let mut ev = event(EventKind::Watchdog, State::Reset, scripts);
    ev.name = "/dev/watchdog".into();
    assert_eq!(
        commands(&ev),
        vec![vec![
            "/usr/libexec/reset-alert",
            "--page",
            "WATCHDOG",
            "/dev/watchdog",
            "RESET"
        ]]
    );
}
