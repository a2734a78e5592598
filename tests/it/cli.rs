//! The `vigil config ...` command line as a user runs it: exit codes (0 fine,
//! 1 bad input, 2 usage, 3 I/O), what goes to stdout and stderr, and the
//! store it writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .expect("run vigil")
}

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seed")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn check_seed_is_fine_and_warns_about_aliases() {
    let out = vigil(&["config", "check", p(&seed("master.conf"))]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "master.conf:16:5: warning: 'advert_interval' is not a keepalived keyword; read as 'advert_int'"
        ),
        "{err}"
    );
    assert!(
        err.contains("ok (1 vrrp_instance, 1 virtual_server, 8 warnings)"),
        "{err}"
    );
}

#[test]
fn bad_input_is_exit_1_with_location_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "vrrp_instance VI_1 {\n    priorty 100\n}\n").unwrap();
    let store = dir.path().join("flash.img");
    let out = vigil(&[
        "config",
        "import",
        p(&conf),
        "--store",
        p(&store),
        "--create",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "bad.conf:2:5: error: unknown keyword 'priorty' in vrrp_instance (did you mean 'priority'?)"
        ),
        "{err}"
    );
    assert!(err.contains("nothing applied"), "{err}");
    assert!(
        !store.exists(),
        "a rejected import must not create the store"
    );
}

#[test]
fn lenient_turns_unknown_keywords_into_warnings_that_say_the_setting_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("x.conf");
    let body = "global_defs {\n    router_id A\n    enable_snmp_vrrp\n    frobnicate\n}\n";
    std::fs::write(&conf, body).unwrap();
    assert_eq!(vigil(&["config", "check", p(&conf)]).status.code(), Some(1));
    let out = vigil(&["config", "check", "--lenient", p(&conf)]);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    // A keepalived keyword vigil lacks is named as such (item 3 of issue
    // 13); any other word is an unknown keyword. Both are lost.
    assert!(err.contains(
        "x.conf:3:5: warning: keepalived's 'enable_snmp_vrrp' is not supported by vigil (in global_defs); ignored (--lenient): this setting is lost"
    ), "{err}");
    assert!(err.contains(
        "x.conf:4:5: warning: unknown keyword 'frobnicate' in global_defs ignored (--lenient): this setting is lost"
    ), "{err}");
}

#[test]
fn usage_errors_are_exit_2_and_help_exists_everywhere() {
    assert_eq!(vigil(&[]).status.code(), Some(2));
    assert_eq!(vigil(&["config", "frobnicate"]).status.code(), Some(2));
    assert_eq!(
        vigil(&["config", "import", "x.conf"]).status.code(),
        Some(2),
        "--store is required"
    );
    assert_eq!(
        vigil(&["config", "export"]).status.code(),
        Some(2),
        "a source is required"
    );
    for sub in [
        &["--help"][..],
        &["config", "--help"],
        &["config", "check", "--help"],
        &["config", "import", "--help"],
        &["config", "export", "--help"],
        &["config", "show", "--help"],
    ] {
        let out = vigil(sub);
        assert_eq!(out.status.code(), Some(0), "{sub:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{sub:?}");
    }
}

#[test]
fn io_errors_are_exit_3() {
    let out = vigil(&["config", "check", "/nonexistent/vigil.conf"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/vigil.conf"));
    let out = vigil(&["config", "show", "--store", "/nonexistent/flash.img"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("/nonexistent/flash.img"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn import_export_show_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("flash.img");
    let s = p(&store);
    let out = vigil(&[
        "config",
        "import",
        p(&seed("master.conf")),
        "--store",
        s,
        "--create",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("committed seq 1 to record 0 ("),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::metadata(&store).unwrap().len(), 1 << 20);

    let out = vigil(&[
        "config",
        "import",
        p(&seed("backup.conf")),
        "--store",
        s,
        "--comment",
        "the backup's config",
    ]);
    assert!(text(&out.stderr).contains("committed seq 2 to record 1"));

    let exported = vigil(&["config", "export", "--store", s]);
    assert_eq!(exported.status.code(), Some(0));
    let from_file = vigil(&["config", "export", "--file", p(&seed("backup.conf"))]);
    assert_eq!(text(&exported.stdout), text(&from_file.stdout));
    assert!(text(&exported.stdout).contains("router_id LVS2"));
    // Any commit of the history exports.
    let first = vigil(&["config", "export", "--store", s, "--commit", "1"]);
    let master = vigil(&["config", "export", "--file", p(&seed("master.conf"))]);
    assert_eq!(text(&first.stdout), text(&master.stdout));
    let none = vigil(&["config", "export", "--store", s, "--commit", "9"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("no commit 9 in the history"));

    let show = vigil(&["config", "show", "--store", s]);
    assert_eq!(show.status.code(), Some(0));
    let shown = text(&show.stdout);
    assert!(
        shown.contains(
            "store: 64 records of 16384 bytes (a config of at most 196544 bytes, in up to 12 records)"
        ),
        "{shown}"
    );
    assert!(shown.contains("store: boots seq 2\n"), "{shown}");
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines[3].starts_with("*      2  20"), "{shown}");
    assert!(
        lines[3].ends_with("import                        175  \"the backup's config\""),
        "{shown}"
    );
    assert!(lines[4].starts_with("       1  20"), "{shown}");
    assert!(shown.contains("vrrp_instance VI_1: BACKUP on eth0, VRID 51, priority 99, VRRPv2 advert 1 s, auth PASS, VIP 192.168.1.200/24"), "{shown}");
    assert!(shown.contains("virtual_server 192.168.1.200 80 TCP wrr DR, persistence 3600 s per /32: 2 real servers"), "{shown}");
    assert!(
        shown.contains(
            "real_server 192.168.1.102 80 weight 1: TCP_CHECK every 5 s, timeout 3 s, 3 retries"
        ),
        "{shown}"
    );
    let long = "x".repeat(257);
    let out = vigil(&[
        "config",
        "import",
        p(&seed("master.conf")),
        "--store",
        s,
        "--comment",
        &long,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("comment of 257 bytes is longer than 256"));
}

#[test]
fn blank_flash_is_factory_default_said_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("flash.img");
    std::fs::write(&store, vec![0u8; 2 * 64 * 1024]).unwrap();
    let out = vigil(&["config", "show", "--store", p(&store)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("FACTORY DEFAULT"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("store: FACTORY DEFAULT, no commit in the history"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_corrupted_newest_commit_falls_back_to_the_older_config() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("flash.img");
    let s = p(&store);
    vigil(&[
        "config",
        "import",
        p(&seed("master.conf")),
        "--store",
        s,
        "--create",
    ]);
    vigil(&["config", "import", p(&seed("backup.conf")), "--store", s]);
    // Flip one payload byte of record 1 (the newest, 16 KiB records).
    let mut img = std::fs::read(&store).unwrap();
    img[16 * 1024 + 80] ^= 0x01;
    std::fs::write(&store, img).unwrap();
    let out = vigil(&["config", "show", "--store", s]);
    let shown = text(&out.stdout);
    assert!(shown.contains("store: boots seq 1"), "{shown}");
    assert!(!shown.contains("      2  "), "{shown}");
    assert!(shown.contains("priority 100"), "the master config: {shown}");
}

#[test]
fn a_two_slot_store_is_read_then_carried_into_the_history() {
    use vigil::store::{Geometry, MemFlash, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("flash.img");
    let s = p(&store);
    // A 1 MiB lab flash as the format 1 import left it: master (seq 1,
    // slot A), then backup (seq 2, slot B).
    let encode = |name: &str| {
        let imp = vigil::config::import_file(&seed(name), false).unwrap();
        vigil::config::envelope::encode(&imp.config).unwrap()
    };
    let mut old = Store::new(MemFlash::new(1 << 20), Geometry::default()).unwrap();
    old.commit(&encode("master.conf")).unwrap();
    old.commit(&encode("backup.conf")).unwrap();
    std::fs::write(&store, old.into_flash().into_bytes()).unwrap();

    let backup = text(&vigil(&["config", "export", "--file", p(&seed("backup.conf"))]).stdout);
    let exported = vigil(&["config", "export", "--store", s]);
    assert_eq!(text(&exported.stdout), backup, "read as before");
    let shown = text(&vigil(&["config", "show", "--store", s]).stdout);
    assert!(
        shown.contains("carried into the history on the next commit"),
        "{shown}"
    );
    assert!(
        shown.contains("*      2  -                    two-slot store"),
        "{shown}"
    );

    let out = vigil(&["config", "import", p(&seed("master.conf")), "--store", s]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("carried the two-slot store's seq 2 into the history"),
        "{err}"
    );
    assert!(err.contains("committed seq 3 to record"), "{err}");
    let shown = text(&vigil(&["config", "show", "--store", s]).stdout);
    assert!(shown.contains("store: boots seq 3"), "{shown}");
    assert!(
        shown.contains("       2  -                    two-slot store"),
        "{shown}"
    );
    assert!(
        !shown.contains("carried into the history on the next"),
        "{shown}"
    );
    let two = vigil(&["config", "export", "--store", s, "--commit", "2"]);
    assert_eq!(text(&two.stdout), backup);
}

/// Run vigil with `input` on its standard input.
fn vigil_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vigil");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("vigil output")
}

#[test]
fn dash_reads_the_config_from_standard_input() {
    let seed_text = std::fs::read(seed("master.conf")).unwrap();
    let out = vigil_stdin(&["config", "check", "-"], &seed_text);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("<stdin>:16:5: warning: 'advert_interval' is not a keepalived keyword"),
        "{err}"
    );
    assert!(
        err.contains("<stdin>: ok (1 vrrp_instance, 1 virtual_server, 8 warnings)"),
        "{err}"
    );

    // Errors point into standard input, in line order, and nothing is
    // written.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("flash.img");
    let bad = b"vrrp_instance VI_1 {\n    priorty 100\n    nopreempt\n    state MASTER\n    interface eth0\n    virtual_router_id 5\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\n";
    let out = vigil_stdin(
        &["config", "import", "-", "--store", p(&store), "--create"],
        bad,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "<stdin>:2:5: error: unknown keyword 'priorty' in vrrp_instance (did you mean 'priority'?)\n\
         <stdin>:3:5: warning: vrrp_instance VI_1: nopreempt does not work with 'state MASTER': cleared, as keepalived does (this instance preempts)\n\
         <stdin>: 1 error; nothing applied\n"
    );
    assert!(!store.exists());

    // Import from standard input, export with --file -.
    let out = vigil_stdin(
        &["config", "import", "-", "--store", p(&store), "--create"],
        &seed_text,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = vigil_stdin(&["config", "export", "--file", "-"], &seed_text);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stored = vigil(&["config", "export", "--store", p(&store)]);
    assert_eq!(text(&out.stdout), text(&stored.stdout));
}

#[test]
fn slot_size_goes_with_the_store_for_import_show_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("flash.img");
    let conf = seed("master.conf");
    let s = p(&store);
    let out = vigil(&[
        "config",
        "import",
        p(&conf),
        "--store",
        s,
        "--create",
        "--slot-size",
        "4096",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for sub in ["show", "export"] {
        let out = vigil(&["config", sub, "--store", s, "--slot-size", "4096"]);
        assert_eq!(out.status.code(), Some(0), "{sub}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("VI_1"), "{sub}");
    }
    // Alone it names the missing source instead of exiting silently.
    let out = vigil(&["config", "export", "--slot-size", "4096"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("<--store <PATH>|--file <FILE>>"),
        "{}",
        text(&out.stderr)
    );
    // It means nothing for a file.
    let out = vigil(&["config", "show", "--file", p(&conf), "--slot-size", "4096"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

fn track_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/track")
        .join(name)
}

#[test]
fn config_check_accepts_vrrp_script_pairs_as_people_write_them() {
    let out = vigil(&["config", "check", p(&track_fixture("k8s-apiserver.conf"))]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = vigil(&["config", "check", p(&track_fixture("haproxy-pair.conf"))]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("haproxy-pair.conf:5:12: warning: 'killall' is looked up in PATH"),
        "{err}"
    );
}

#[test]
fn config_check_accepts_misc_checks_as_people_write_them() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/misc/lvs-dr-mysql.conf");
    let out = vigil(&["config", "check", p(&conf)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("ok (1 vrrp_instance, 2 virtual_server, 2 warnings)"),
        "{err}"
    );
}

#[test]
fn config_check_accepts_services_and_real_servers_without_a_port() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ipvs/every-port.conf");
    let out = vigil(&["config", "check", p(&conf)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("ok (0 vrrp_instance, 3 virtual_server, 6 warnings)"),
        "{}",
        text(&out.stderr)
    );
    // Every checker has somewhere to connect: the daemon can plan it.
    let c = vigil::config::import_file(&conf, false).unwrap().config;
    let plan = vigil::health::plan::plan(&c).expect("plans");
    assert_eq!(plan[0].checks[0].spec.target.port(), 22);
    assert_eq!(
        plan[2].checks[0].spec.target.port(),
        0,
        "MISC_CHECK: no port"
    );
    assert_eq!(plan[3].checks[0].spec.target.port(), 8080);
}

#[test]
fn config_check_accepts_virtual_server_groups_and_exports_them_back() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/groups/web-farm.conf");
    let out = vigil(&["config", "check", p(&conf)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("ok (1 vrrp_instance, 3 virtual_server, 0 warnings)"),
        "{}",
        text(&out.stderr)
    );
    let c = vigil::config::import_file(&conf, false).unwrap().config;
    assert_eq!(c.services().len(), 11, "7 + 1 + 3 services");
    let back = vigil::config::import_str("x", &vigil::config::export::export(&c), false)
        .unwrap()
        .config;
    assert_eq!(back, c);
    let plan = vigil::health::plan::plan(&c).expect("plans");
    assert_eq!(
        plan.len(),
        5,
        "each real server of each virtual_server once"
    );
}

#[test]
fn a_store_that_does_not_exist_is_refused_unless_create_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("sdz9");
    let out = vigil(&[
        "config",
        "import",
        p(&seed("master.conf")),
        "--store",
        p(&store),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "vigil: {} does not exist: no such device (give --create to make a store file there)\n",
            store.display()
        )
    );
    assert!(!store.exists(), "nothing made");
    let out = vigil(&[
        "config",
        "import",
        p(&seed("master.conf")),
        "--store",
        p(&store),
        "--create",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "{}: created a store file of 1048576 bytes",
            store.display()
        )),
        "{}",
        text(&out.stderr)
    );
}

/// A command whose reader goes away ends as a Unix tool does (SIGPIPE),
/// not with a panic on the write (`vigil config export ... | head`).
#[test]
fn a_command_whose_reader_goes_away_ends_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("big.conf");
    let mut conf_text = String::new();
    for v in 0..50 {
        conf_text += &format!("virtual_server 10.1.0.{} 80 {{\n protocol TCP\n", v + 1);
        for r in 0..100 {
            conf_text += &format!(
                " real_server 10.2.{v}.{} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n",
                r + 1
            );
        }
        conf_text += "}\n";
    }
    std::fs::write(&conf, conf_text).unwrap();
    let store = dir.path().join("flash.img");
    let out = vigil(&[
        "config",
        "import",
        p(&conf),
        "--store",
        p(&store),
        "--create",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["config", "export", "--store", p(&store)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The pipe's read end is closed here; the export has far more to write.
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.signal(),
        Some(13),
        "{:?}: {}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

/// `config import --store` stamps its commit with the build id of the
/// vigil that checked it (the binary's own, not the test's); a
/// `--lenient` import is not the check a read repeats, so it has none.
#[test]
fn import_stamps_the_commit_with_the_binarys_build_unless_lenient() {
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_vigil"));
    let own = vigil::build_id::of_file(bin).expect("vigil is linked with a build id");
    assert_ne!(Some(&own), vigil::build_id::own(), "another binary");
    let newest = |store: &Path| {
        let h = vigil::store::History::open(store, vigil::store::Geometry::default(), false);
        h.unwrap().newest().unwrap().unwrap().0
    };
    let conf = seed("master.conf");
    for (lenient, stamped) in [(false, Some(own.clone())), (true, None)] {
        let store = dir.path().join(format!("flash-{lenient}.img"));
        let mut args = vec![
            "config",
            "import",
            p(&conf),
            "--store",
            p(&store),
            "--create",
        ];
        if lenient {
            args.push("--lenient");
        }
        let out = vigil(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(newest(&store).checked_by, stamped, "lenient {lenient}");
    }
}
