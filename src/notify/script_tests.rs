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
        open_checked(Path::new("relative.sh"), root),
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

#[test]
fn an_arp_theft_runs_notify_arp_theft_with_instance_vip_and_mac() {
    let scripts = Notify {
        notify: script(&["/etc/vigil/theft.sh", "--page"]),
        // Never run for a theft, whatever its state says.
        master: script(&["/etc/vigil/master.sh"]),
        ..Notify::default()
    };
    let mut ev = event(EventKind::ArpTheft, State::Master, scripts);
    ev.name = "VI 1 192.168.1.200 52:54:00:00:00:67".into();
    assert_eq!(
        commands(&ev),
        vec![vec![
            "/etc/vigil/theft.sh",
            "--page",
            "VI 1",
            "192.168.1.200",
            "52:54:00:00:00:67"
        ]]
    );
    ev.scripts = Notify::default();
    assert!(commands(&ev).is_empty(), "no notify_arp_theft, no command");
}

/// Who a test's scripts may belong to: whoever runs the test (its temp
/// dirs are theirs), so `enable_script_security` passes them.
fn me() -> (RunAs, Option<RunAs>) {
    let who = RunAs {
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    };
    (who, (who.uid != 0).then_some(who))
}

fn secure_policy() -> RunPolicy {
    RunPolicy {
        timeout: Duration::from_secs(10),
        output_cap: 1024,
        run_as: Ok(me().1),
        security: true,
        quiet: true,
    }
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn argv(v: &[&Path]) -> Vec<String> {
    v.iter().map(|p| p.display().to_string()).collect()
}

/// A symlink swapped between the check and the exec (the attack: point a
/// checked link at something else once the daemon has looked) does not
/// change what runs: the file that was checked does.
#[tokio::test]
async fn a_symlink_swapped_after_the_check_does_not_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (good, evil) = (dir.path().join("good.sh"), dir.path().join("evil.sh"));
    let out = dir.path().join("out");
    write_script(&good, "#!/bin/sh\necho good > \"$1\"\n");
    write_script(&evil, "#!/bin/sh\necho evil > \"$1\"\n");
    let link = dir.path().join("notify.sh");
    std::os::unix::fs::symlink(&good, &link).expect("symlink");

    let policy = secure_policy();
    let prepared = prepare(&argv(&[&link, &out]), &policy).expect("checks pass");
    // Swap the link atomically (rename over it), as an attacker would.
    let tmp = dir.path().join("notify.sh.new");
    std::os::unix::fs::symlink(&evil, &tmp).expect("symlink");
    std::fs::rename(&tmp, &link).expect("rename");
    std::fs::rename(&good, dir.path().join("moved.sh")).expect("rename");

    let outcome = execute(prepared, &policy).await;
    assert!(
        matches!(outcome, Outcome::Exited(s) if s.success()),
        "{outcome:?}"
    );
    assert_eq!(std::fs::read_to_string(&out).expect("output"), "good\n");
}

/// The walk checks what a link passes through: a link in a directory
/// others may write is refused even when its target is fine.
#[test]
fn a_link_in_a_world_writable_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.sh");
    write_script(&good, "#!/bin/sh\n");
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let link = open.join("notify.sh");
    std::os::unix::fs::symlink(&good, &link).expect("symlink");
    assert!(open_checked(&good, me().0).is_ok());
    assert_eq!(
        open_checked(&link, me().0).err(),
        Some(Insecure::WorldWritable { path: open.clone() })
    );
    // A relative link through `..` resolves from the link's directory.
    let rel = dir.path().join("rel.sh");
    std::os::unix::fs::symlink("open/../good.sh", &rel).expect("symlink");
    assert!(matches!(
        open_checked(&rel, me().0),
        Err(Insecure::WorldWritable { .. })
    ));
    std::os::unix::fs::symlink("./good.sh", dir.path().join("rel2.sh")).expect("symlink");
    assert!(open_checked(&dir.path().join("rel2.sh"), me().0).is_ok());
}

/// The environment a script sees is exactly [`SCRIPT_ENV`], whatever the
/// daemon's holds (read from /proc: what exec handed the interpreter,
/// before the shell adds its own variables).
#[tokio::test]
async fn a_script_sees_only_the_documented_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("env.sh");
    let out = dir.path().join("env");
    write_script(&script, "#!/bin/sh\ncat /proc/$$/environ > \"$1\"\n");
    for security in [false, true] {
        let policy = RunPolicy {
            security,
            ..secure_policy()
        };
        let outcome = run(&argv(&[&script, &out]), &policy).await;
        assert!(
            matches!(outcome, Outcome::Exited(s) if s.success()),
            "{outcome:?}"
        );
        let text = std::fs::read(&out).expect("output");
        let mut seen: Vec<String> = text
            .split(|&b| b == 0)
            .filter(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        seen.sort();
        let mut want: Vec<String> = SCRIPT_ENV.iter().map(|(k, v)| format!("{k}={v}")).collect();
        want.sort();
        assert_eq!(seen, want, "security {security}");
    }
}

/// Under `script_user`, the child has changed its uid before it execs
/// `/proc/self/fd/N` (and its interpreter opens that path): a process
/// may always use its own fd table, so a checked `#!` script still runs.
/// Needs root to change uid; skipped otherwise.
#[tokio::test]
async fn a_checked_script_runs_as_the_script_user() {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let script = dir.path().join("id.sh");
    let out = dir.path().join("out");
    write_script(&script, "#!/bin/sh\nid -u > \"$1\"\n");
    std::fs::write(&out, "").expect("create");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let nobody = RunAs {
        uid: 65534,
        gid: 65534,
    };
    let policy = RunPolicy {
        run_as: Ok(Some(nobody)),
        ..secure_policy()
    };
    let outcome = run(&argv(&[&script, &out]), &policy).await;
    assert!(
        matches!(outcome, Outcome::Exited(s) if s.success()),
        "{outcome:?}"
    );
    assert_eq!(std::fs::read_to_string(&out).expect("output"), "65534\n");
}

const ROOT_CONF: &str = "\
vrrp_script chk_own {
    script \"/usr/local/bin/chk_own\"
    user nobody
}
vrrp_script chk_root {
    script \"/usr/local/bin/chk_root\"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.1.200/24
    }
    notify_master \"/etc/vigil/master.sh arg\"
    notify_arp_theft /etc/vigil/theft.sh
    track_script {
        chk_own
        chk_root
    }
}
virtual_server 192.168.1.200 80 {
    quorum_up /etc/vigil/qup.sh
    real_server 192.168.1.102 80 {
        notify_down /etc/vigil/down.sh
        MISC_CHECK {
            misc_path /usr/local/bin/misc
        }
    }
}
";

/// Which scripts would run as root: every notify script and the tracked
/// and MISC_CHECK scripts without a `user`, until `script_user` is set.
#[test]
fn scripts_that_run_as_root_are_listed() {
    let config = crate::config::import_str("t.conf", ROOT_CONF, true)
        .expect("imports")
        .config;
    assert_eq!(
        root_scripts(&config),
        [
            "vrrp_instance VI_1 notify_master /etc/vigil/master.sh",
            "vrrp_instance VI_1 notify_arp_theft /etc/vigil/theft.sh",
            "vrrp_script chk_root /usr/local/bin/chk_root",
            "virtual_server 192.168.1.200 80 quorum_up /etc/vigil/qup.sh",
            "virtual_server 192.168.1.200 80 real_server 192.168.1.102 80 notify_down /etc/vigil/down.sh",
            "virtual_server 192.168.1.200 80 real_server 192.168.1.102 80 MISC_CHECK /usr/local/bin/misc",
        ]
    );
    let warning = root_warning(&config).expect("a warning");
    assert!(
        warning.starts_with("6 script(s) will run as root"),
        "{warning}"
    );
    let text = format!("global_defs {{\n    script_user nobody\n}}\n{ROOT_CONF}");
    let config = crate::config::import_str("t.conf", &text, true)
        .expect("imports")
        .config;
    assert_eq!(root_scripts(&config), Vec::<String>::new());
    assert_eq!(root_warning(&config), None);
}
