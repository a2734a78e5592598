//! Who may drive a running daemon, and that there is only one per socket:
//! the control socket is 0600 (root only) by default, 0660 for the group of
//! `--control-group`, whose members may read (status) but not change
//! (reload is refused with "permission denied"); a second `vigil run` on
//! the same socket is refused naming the first, which keeps serving.
//!
//! Needs root (to run the clients as nobody) and iproute2.

use crate::support::{netns, peers};

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use std::time::Duration;

use netns::{serial, Lab};
use peers::{first_state, run_argv, start_vigil_args, vigil_bin};

const CONF: &str = "vrrp_instance VI_A {
    interface eth0
    virtual_router_id 61
    priority 100
    advert_int 0.1
    version 3
    virtual_ipaddress {
        192.168.1.200/24
    }
}
";

const NOBODY: u32 = 65534;

/// `vigil ARGS --control SOCK` as root, or as nobody:nogroup.
fn vigil(args: &[&str], sock: &std::path::Path, as_nobody: bool) -> Output {
    let mut c = Command::new(vigil_bin());
    c.args(args).arg("--control").arg(sock);
    if as_nobody {
        c.uid(NOBODY).gid(NOBODY);
    }
    c.output().expect("run vigil")
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn only_root_changes_the_group_reads_and_one_daemon_per_socket() {
    let _g = serial();
    let lab = Lab::new(1);
    // nobody must reach the socket's directory (the lab's is 0700).
    std::fs::set_permissions(&lab.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = start_vigil_args(&lab, 0, CONF, "grp", &["--control-group", "nogroup"]);
    d.wait_status("MASTER", Duration::from_secs(5), |v| {
        first_state(v) == "MASTER"
    });
    let md = std::fs::metadata(&d.control).unwrap();
    assert_eq!((md.mode() & 0o777, md.gid()), (0o660, NOBODY));

    // The group reads...
    let st = vigil(&["status"], &d.control, true);
    assert!(st.status.success(), "{}", said(&st));
    assert!(said(&st).contains("VI_A"), "{}", said(&st));
    // ...but does not change anything.
    let rl = vigil(&["reload"], &d.control, true);
    assert!(!rl.status.success(), "{}", said(&rl));
    assert!(
        said(&rl).contains("permission denied: uid 65534"),
        "{}",
        said(&rl)
    );
    let rl = vigil(&["reload"], &d.control, false);
    assert!(rl.status.success(), "root reloads: {}", said(&rl));

    // A second daemon on the same socket is refused, and says whose it is.
    let log = lab.path("second.log");
    let argv = run_argv(&d.conf, &d.control);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut second = lab.nodes[0].ns.spawn("second vigil", &args, &log);
    let code = second.wait_exit(Duration::from_secs(20));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(matches!(code, Some(c) if c != 0), "{code:?}: {text}");
    let pid = d.pids()[0];
    let want = format!(
        "another vigil (pid {pid}) already serves {}",
        d.control.display()
    );
    assert!(text.contains(&want), "{text}");
    // The first one still serves.
    assert!(vigil(&["status"], &d.control, false).status.success());

    // Without --control-group: root only, nobody cannot even connect.
    let solo = start_vigil_args(
        &lab,
        0,
        &CONF.replace("VI_A", "VI_B").replace("61", "62"),
        "solo",
        &[],
    );
    let md = std::fs::metadata(&solo.control).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    let st = vigil(&["status"], &solo.control, true);
    assert!(!st.status.success(), "{}", said(&st));
}
