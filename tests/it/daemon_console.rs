//! `vigil console` against a running `vigil run --store FILE` in a
//! namespace, its input a pipe (a script, as a technician would type it):
//! the login of a factory-fresh box (a password chosen and committed),
//! a wrong password hung up on, a candidate edited, compared, committed
//! and applied live (the VIP moves), a stale candidate refused, and
//! `rollback N` + `commit` bringing commit N's config back exactly.
//! The serial line itself (raw mode, Tab, `?`, TERM=dumb) is the lab's
//! (lab/tests/test_console.py).
//!
//! Needs root and iproute2 (scripts/install-deps).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::daemon_commit::{conf, p, text, Boxed, VIP_A, VIP_B};
use crate::support::netns::{serial, Lab};
use crate::support::peers::vigil_bin;

/// `vigil console [--login]` fed `script` -> (exit code, everything printed).
fn console(b: &Boxed, login: bool, script: &str) -> (Option<i32>, String) {
    let mut args = vec!["console", "--control", p(&b.d.control)];
    if login {
        args.push("--login");
    }
    let mut child = Command::new(vigil_bin())
        .args(&args)
        .env("USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vigil console");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write the script");
    let out = child.wait_with_output().expect("vigil console ends");
    (out.status.code(), text(&out))
}

#[test]
fn a_factory_fresh_box_gets_its_password_then_its_config_from_the_console() {
    let _g = serial();
    let lab = Lab::new(1);
    let b = Boxed::start_blank(&lab, None);
    // No password yet: one is chosen (a short one refused first), committed.
    let (code, out) = console(
        &b,
        true,
        "short\nfirst-password\nfirst-password\nshow system commit\nexit\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no console password yet"), "{out}");
    assert!(out.contains("too short"), "{out}");
    assert!(out.contains("console password set and committed"), "{out}");
    assert!(out.contains("\"console password set\""), "{out}");
    // Now it is asked for; three wrong ones hang up.
    let (code, out) = console(&b, true, "nope-1\nnope-2\nnope-3\nshow vrrp\n");
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out.matches("wrong password").count(), 3, "{out}");
    // The right one, then the box's instance built with set commands.
    let script = format!(
        "first-password\nconfigure\n{}show | compare\ncommit comment \"first config\"\nexit\nshow config\n",
        [
            "set vrrp_instance VI_C interface eth0",
            "set vrrp_instance VI_C virtual_router_id 12",
            "set vrrp_instance VI_C priority 100",
            // Sub-second adverts need VRRPv3: set first, or the
            // advert_int is refused at once.
            "set vrrp_instance VI_C version 3",
            "set vrrp_instance VI_C advert_int 0.1",
            &format!("set vrrp_instance VI_C virtual_ipaddress {VIP_A}/24"),
        ]
        .map(|l| format!("{l}\n"))
        .concat()
    );
    let (code, out) = console(&b, true, &script);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("+vrrp_instance VI_C {"), "{out}");
    assert!(!out.contains("error"), "{out}");
    b.wait_vip(&lab, VIP_A, Duration::from_secs(10));
    let h = b.history();
    assert!(h.contains("\"first config\""), "{h}");
    assert!(h.contains("console@console"), "{h}");
    // The password survived the commit that did not mention it.
    assert!(
        b.export(None).contains("password_hash"),
        "{}",
        b.export(None)
    );
}

#[test]
fn the_console_commits_compares_refuses_a_stale_candidate_and_rolls_back() {
    let _g = serial();
    let lab = Lab::new(1);
    let b = Boxed::start(&lab, &conf(100, VIP_A));
    b.wait_vip(&lab, VIP_A, Duration::from_secs(5));
    let script = format!(
        "configure\n\
         set vrrp_instance VI_C virtual_ipaddress {VIP_B}/24\n\
         delete vrrp_instance VI_C virtual_ipaddress {VIP_A}\n\
         show | compare\n\
         commit comment \"move the VIP\"\n\
         show | compare\n\
         exit\n"
    );
    let (code, out) = console(&b, false, &script);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("-        {VIP_A}/24")), "{out}");
    assert!(out.contains(&format!("+        {VIP_B}/24")), "{out}");
    b.wait_vip(&lab, VIP_B, Duration::from_secs(5));
    let h = b.history();
    assert!(
        h.contains("\"move the VIP\"") && h.contains("tester@console"),
        "{h}"
    );

    // Two operators: the second's candidate was made before the first
    // committed. Its commit is refused; nothing is written.
    let mut first = std::process::Command::new(vigil_bin())
        .args(["console", "--control", p(&b.d.control)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vigil console");
    let mut stdin = first.stdin.take().expect("stdin");
    let mut stdout = first.stdout.take().expect("stdout");
    stdin
        .write_all(b"configure\nset vrrp_instance VI_C priority 90\n")
        .expect("write");
    // Its candidate exists (and holds the set) once it has prompted in
    // configuration mode twice: after `configure` and after the set.
    let mut seen = Vec::new();
    while String::from_utf8_lossy(&seen).matches("# ").count() < 2 {
        let mut byte = [0u8; 1];
        let n = stdout.read(&mut byte).expect("the first console's output");
        assert_eq!(
            n,
            1,
            "the first console ended: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
    }
    let (code, out) = console(
        &b,
        false,
        "configure\nset vrrp_instance VI_C priority 80\ncommit\nexit\n",
    );
    assert_eq!(code, Some(0), "{out}");
    stdin.write_all(b"commit\nexit discard\n").expect("write");
    drop(stdin);
    stdout
        .read_to_end(&mut seen)
        .expect("the first console's output");
    let rest = first.wait_with_output().expect("ends");
    let second = format!("{}{}", String::from_utf8_lossy(&seen), text(&rest));
    assert!(
        second.contains("the running config changed since your candidate was made"),
        "{second}"
    );
    assert!(second.contains("your candidate is kept"), "{second}");
    assert!(b.export(None).contains("priority 80"));

    // rollback 2 + commit: commit 2's config again, exactly.
    let (code, out) = console(
        &b,
        false,
        "configure\nrollback 2\ncommit\nshow | compare\nexit\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("commit 2 loaded"), "{out}");
    assert_eq!(b.export(None), b.export(Some(2)));
    assert!(b.history().contains("rollback"), "{}", b.history());
    b.wait_vip(&lab, VIP_B, Duration::from_secs(5));
}
