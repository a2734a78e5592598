//! Mail for real: aiosmtpd (PyPI) on 127.0.0.1 started by the test, a dead
//! port, a server that accepts and never answers, and one that refuses.
//!
//! Needs `python3` with aiosmtpd (`pip install aiosmtpd`); without it the
//! tests fail and say so. `VIGIL_PYTHON` overrides the interpreter.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as TokioBufReader};
use vigil::config::bounds::Millis;
use vigil::config::model::{GlobalDefs, Notify, SmtpServer};
use vigil::notify::{Backoff, Event, EventKind, Notifier, Options, State, Stats};

fn python() -> String {
    std::env::var("VIGIL_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Fails (never skips) when aiosmtpd is not there.
fn require_aiosmtpd() {
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "these tests need Python's aiosmtpd for {py}: pip install aiosmtpd"
    );
}

/// aiosmtpd writing every message it receives to a directory; killed (by
/// its PID) when dropped.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    async fn start(port: u16) -> Sink {
        require_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3 tests/it/support/smtp_sink.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut sink = Sink { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match rx.try_recv() {
                Ok(line) if line.trim() == "READY" => return sink,
                Ok(line) => {
                    let status = sink.child.wait();
                    panic!("smtp_sink.py did not start ({line:?}, {status:?}); is aiosmtpd installed? pip install aiosmtpd");
                }
                Err(_) => {
                    assert!(Instant::now() < deadline, "smtp_sink.py not ready in 20 s");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn mails(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    async fn wait_mails(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let m = self.mails();
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn global(port: u16, from: Option<&str>, timeout_ms: u32) -> GlobalDefs {
    GlobalDefs {
        router_id: Some("lb1".into()),
        notification_email: vec!["ops@example.com".into(), "noc@example.com".into()],
        notification_email_from: from.map(Into::into),
        smtp_server: Some(SmtpServer {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        }),
        smtp_connect_timeout: Millis(timeout_ms),
        smtp_alert: Some(true),
        ..GlobalDefs::default()
    }
}

fn event(name: &str, state: State, smtp_alert: bool) -> Event {
    Event {
        kind: EventKind::Instance,
        name: name.into(),
        state,
        priority: 100,
        scripts: Notify::default(),
        smtp_alert,
    }
}

fn fast_backoff(max_attempts: u32) -> Options {
    Options {
        backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(1))
            .give_up_after(max_attempts),
        ..Options::default()
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

/// The header block of a received mail, unfolded, as (name, value) pairs.
fn headers(mail: &str) -> Vec<(String, String)> {
    let head = mail.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            out.last_mut().unwrap().1.push_str(line);
        } else if let Some((k, v)) = line.split_once(": ") {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

fn header(mail: &str, name: &str) -> String {
    headers(mail)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no {name} header in {mail:?}"))
        .1
}

#[tokio::test]
async fn mail_arrives_with_from_to_subject() {
    let port = free_port();
    let sink = Sink::start(port).await;
    let n = Notifier::spawn(&global(port, Some("vigil-lb1@example.com"), 5000));
    n.notify(event("VI_1", State::Master, true));
    n.notify(event("VI_1", State::Backup, false)); // no smtp_alert: no mail
    n.notify(event("VI_1", State::Fault, true));
    let mails = sink.wait_mails(2, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 2, "{:?}", n.stats());
    let m = &mails[0];
    assert_eq!(header(m, "X-Envelope-From"), "vigil-lb1@example.com");
    assert_eq!(
        header(m, "X-Envelope-To"),
        "ops@example.com noc@example.com"
    );
    assert_eq!(header(m, "From"), "vigil-lb1@example.com");
    assert_eq!(header(m, "To"), "ops@example.com, noc@example.com");
    assert_eq!(
        header(m, "Subject"),
        "[lb1] VRRP Instance VI_1 - Entering MASTER state"
    );
    let date = header(m, "Date");
    assert!(date.ends_with(" +0000") && date.len() == 31, "{date:?}");
    assert!(m.contains("priority: 100"));
    assert_eq!(
        header(&mails[1], "Subject"),
        "[lb1] VRRP Instance VI_1 - Entering FAULT state"
    );
    let s = wait_stats(&n, Duration::from_secs(5), |s| s.mails_sent == 2).await;
    assert_eq!((s.mails_queued, s.mails_sent, s.mail_failures), (2, 2, 0));
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.mails().len(), 2);
}

#[tokio::test]
async fn default_from_is_vigil_at_router_id() {
    let port = free_port();
    let sink = Sink::start(port).await;
    let n = Notifier::spawn(&global(port, None, 5000));
    let mut ev = event("VG_1", State::Backup, true);
    ev.kind = EventKind::Group;
    n.notify(ev);
    let mails = sink.wait_mails(1, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 1, "{:?}", n.stats());
    assert_eq!(header(&mails[0], "From"), "vigil@lb1");
    assert_eq!(header(&mails[0], "X-Envelope-From"), "vigil@lb1");
    assert_eq!(
        header(&mails[0], "Subject"),
        "[lb1] VRRP Group VG_1 - Entering BACKUP state"
    );
}

#[tokio::test]
async fn dead_server_never_delays_notify_and_queued_mail_arrives_later() {
    let port = free_port(); // nothing listens there yet
    let n = Notifier::spawn_with(&global(port, None, 2000), fast_backoff(30));
    let states = [State::Master, State::Backup, State::Fault];
    for st in states {
        let t = Instant::now();
        n.notify(event("VI_1", st, true));
        let took = t.elapsed();
        // Blocking on the dead server would take its connect timeout
        // (seconds); 50 ms leaves room for a loaded 2-core CI machine.
        assert!(took < Duration::from_millis(50), "notify() took {took:?}");
    }
    // Refused connections are counted and retried (100, 200, 400 ms ...).
    let s = wait_stats(&n, Duration::from_secs(10), |s| s.mail_failures >= 3).await;
    assert!(s.mail_failures >= 3, "{s:?}");
    assert_eq!((s.mails_sent, s.mails_given_up, s.mails_dropped), (0, 0, 0));

    // The server comes up: the first mail's next attempt and the two
    // queued behind it go through, in order.
    let sink = Sink::start(port).await;
    let mails = sink.wait_mails(3, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 3, "{:?}", n.stats());
    for (m, st) in mails.iter().zip(states) {
        assert_eq!(
            header(m, "Subject"),
            format!("[lb1] VRRP Instance VI_1 - Entering {} state", st.as_str())
        );
    }
    // The sink has the third mail before the client has read the final
    // reply that counts it as sent.
    let s = wait_stats(&n, Duration::from_secs(5), |s| s.mails_sent == 3).await;
    assert_eq!((s.mails_sent, s.mails_given_up), (3, 0), "{s:?}");
}

#[tokio::test]
async fn silent_server_hits_the_timeout_and_gives_up() {
    // Accepts connections, holds them open, never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let acc = accepted.clone();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            acc.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    let n = Notifier::spawn_with(&global(port, None, 300), fast_backoff(3));
    let t0 = Instant::now();
    n.notify(event("VI_1", State::Master, true));
    let s = wait_stats(&n, Duration::from_secs(10), |s| s.mails_given_up == 1).await;
    let took = t0.elapsed();
    server.abort();
    assert_eq!(s.mails_given_up, 1, "{s:?}");
    assert_eq!((s.mail_failures, s.mail_timeouts, s.mails_sent), (3, 3, 0));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "one connection per attempt"
    );
    // 3 x 300 ms waiting for the greeting + 100 + 200 ms of backoff.
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// Plays a scripted server: greets, answers EHLO, then refuses MAIL FROM.
#[tokio::test]
async fn permanent_refusal_is_dropped_without_retry() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let acc = accepted.clone();
    let server = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            acc.fetch_add(1, Ordering::SeqCst);
            let (r, mut w) = sock.into_split();
            let mut lines = TokioBufReader::new(r).lines();
            w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            while let Ok(Some(l)) = lines.next_line().await {
                let reply: &[u8] = if l.starts_with("EHLO") {
                    b"250-fake\r\n250 8BITMIME\r\n"
                } else if l.starts_with("MAIL FROM") {
                    b"550 sender not allowed\r\n"
                } else {
                    b"221 bye\r\n"
                };
                if w.write_all(reply).await.is_err() {
                    break;
                }
            }
        }
    });
    let n = Notifier::spawn_with(&global(port, None, 2000), fast_backoff(5));
    n.notify(event("VI_1", State::Master, true));
    let s = wait_stats(&n, Duration::from_secs(10), |s| s.mails_rejected == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // a retry would be due by now
    server.abort();
    assert_eq!(
        (s.mails_rejected, s.mail_failures, s.mails_sent),
        (1, 1, 0),
        "{s:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
