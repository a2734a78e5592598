use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use super::*;

#[test]
fn the_watchdog_timeout_comes_from_watchdog_usec() {
    let t = parse_watchdog(Some("20000000"), None, 42);
    assert_eq!(t, Ok(Some(Duration::from_secs(20))));
    assert_eq!(
        parse_watchdog(Some("1500"), Some("42"), 42),
        Ok(Some(Duration::from_micros(1500)))
    );
}

#[test]
fn no_watchdog_without_usec_or_for_another_process() {
    assert_eq!(parse_watchdog(None, None, 42), Ok(None));
    assert_eq!(parse_watchdog(None, Some("42"), 42), Ok(None));
    // Inherited from a parent: WATCHDOG_PID names it, not us.
    assert_eq!(parse_watchdog(Some("20000000"), Some("41"), 42), Ok(None));
}

#[test]
fn malformed_variables_are_errors_that_quote_them() {
    for bad in ["", "0", "-5", "20s", "1e6"] {
        assert_eq!(
            parse_watchdog(Some(bad), None, 42),
            Err(EnvError::Usec(bad.to_owned())),
            "{bad:?}"
        );
    }
    let e = parse_watchdog(Some("1000"), Some("me"), 42).unwrap_err();
    assert_eq!(e.to_string(), "WATCHDOG_PID=\"me\" is not a process id");
}

#[test]
fn a_status_stays_one_line() {
    assert_eq!(one_line("MASTER\nREADY=1"), "MASTER READY=1");
}

#[test]
fn the_service_watchdog_cannot_be_disarmed_and_is_named_systemd() {
    let s = Service {
        timeout: Duration::from_secs(3),
    };
    assert_eq!(s.name(), "systemd");
    assert_eq!(s.timeout(), Duration::from_secs(3));
    assert!(Box::new(s).disarm().is_ok());
}

const CHILD: &str = "VIGIL_NOTIFY_TEST_CHILD";

/// Runs in a child process with NOTIFY_SOCKET set by the test below (the
/// variable is process-wide: setting it in this test binary's threads
/// would race the other tests).
#[test]
#[ignore = "run by sends_every_message_to_the_notify_socket in a child process"]
fn child_sends_every_message() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    ready("MASTER VI_1; 2 services").unwrap();
    status("BACKUP VI_1\n").unwrap();
    Service {
        timeout: Duration::from_secs(1),
    }
    .keepalive()
    .unwrap();
    stopping().unwrap();
}

#[test]
fn sends_every_message_to_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "watchdog::systemd::tests::child_sends_every_message",
        ])
        .args(["--ignored", "--test-threads=1"])
        .env("NOTIFY_SOCKET", &path)
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    for _ in 0..4 {
        let n = sock.recv(&mut buf).unwrap();
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(
        got,
        [
            "READY=1\nSTATUS=MASTER VI_1; 2 services\n",
            "STATUS=BACKUP VI_1 \n",
            "WATCHDOG=1\n",
            "STOPPING=1\n",
        ]
    );
}

#[test]
fn without_notify_socket_nothing_is_sent_and_nothing_fails() {
    // NOTIFY_SOCKET is not set for `cargo test` (the child test sets it
    // only in its own process).
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        return;
    }
    assert!(ready("up").is_ok());
    assert!(stopping().is_ok());
}
