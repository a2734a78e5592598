//! End to end: the runner task with real checks against real servers on
//! 127.0.0.1, in real (short) time: a server that stops listening is
//! declared DOWN within delay_loop + (retry + 1) * connect_timeout + retry *
//! delay_before_retry and not sooner than its retries allow, and is UP
//! again after one good check once it listens again.
//!
//! Must not: leave loopback or wait without a bound (every wait is a
//! `timeout`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use vigil::config::import_str;
use vigil::health::outcome::Reason;
use vigil::health::{
    channel, max_down_detection, tally, Failure, HealthEvent, Runner, RunnerConfig, Stage, Timing,
};

const DELAY_LOOP: Duration = Duration::from_millis(300);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
const RETRY: u32 = 2;
const DELAY_BEFORE_RETRY: Duration = Duration::from_millis(100);
/// Scheduling noise on a shared 2-core box.
const SLACK: Duration = Duration::from_millis(300);

const TIMING: Timing = Timing {
    delay_loop: DELAY_LOOP,
    retry: RETRY,
    delay_before_retry: DELAY_BEFORE_RETRY,
    warmup: Duration::ZERO,
};

fn config(port: u16, checker: &str, alpha: bool) -> vigil::config::Config {
    let text = format!(
        "virtual_server 127.0.0.1 {port} {{
            delay_loop 0.3
            lb_algo rr
            lb_kind NAT
            protocol TCP
            {}
            real_server 127.0.0.1 {port} {{
                weight 1
                {checker} {{
                    connect_timeout 0.2
                    retry 2
                    delay_before_retry 0.1
                    warmup 0
                    {}
                }}
            }}
        }}\n",
        if alpha { "alpha" } else { "" },
        if checker == "HTTP_GET" {
            "url { path /health }"
        } else {
            ""
        }
    );
    import_str("test.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.errors))
        .config
}

/// Serve HTTP 200 while `healthy`, else accept and never answer; on a
/// fixed listener (so the port stays).
fn http_server(l: TcpListener, healthy: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = l.accept().await {
            if !healthy.load(Ordering::SeqCst) {
                held.push(s);
                continue;
            }
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
                let _ = s.shutdown().await;
            });
        }
    });
}

/// Accept and drop connections (a TCP_CHECK target).
fn tcp_server(l: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    })
}

async fn next_event(rx: &mut mpsc::Receiver<HealthEvent>, within: Duration) -> HealthEvent {
    tokio::time::timeout(within, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within {within:?}"))
        .expect("runner alive")
}

#[test]
fn bound_of_the_test_timing() {
    // 300 + 3 * 200 + 2 * 100
    assert_eq!(
        max_down_detection(&TIMING, CONNECT_TIMEOUT),
        Duration::from_millis(1100)
    );
}

/// The seed config (TCP_CHECK delay_loop 5, connect_timeout 3, and the
/// seed's `nb_get_replies 3` read as retry 3): 5 + 4 * 3 + 3 * 1 = 20 s.
#[test]
fn seed_config_worst_case_is_20s() {
    let path = format!("{}/fixtures/seed/master.conf", env!("CARGO_MANIFEST_DIR"));
    let config = vigil::config::import_file(path.as_ref(), false)
        .unwrap()
        .config;
    let plan = vigil::health::plan::plan(&config).unwrap();
    assert_eq!(plan.len(), 2);
    for s in &plan {
        let c = &s.checks[0];
        assert_eq!(c.timing.retry, 3);
        assert_eq!(
            max_down_detection(&c.timing, c.spec.timeout),
            Duration::from_secs(20)
        );
    }
}

#[tokio::test]
async fn stopped_server_goes_down_within_the_bound_and_comes_back() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = l.local_addr().unwrap();
    let server = tcp_server(l);

    let runner = Runner::new(
        &config(addr.port(), "TCP_CHECK", false),
        RunnerConfig::default(),
    )
    .unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(runner.run(tx, requests));

    // Healthy: a few checks, no event, UP in the snapshot.
    tokio::time::sleep(DELAY_LOOP * 2).await;
    assert!(rx.try_recv().is_err(), "no event while healthy");
    let snap = handle.snapshot().await.unwrap();
    let rs = &snap.servers[0];
    assert!(rs.up);
    assert!(rs.checks_done >= 2, "{rs:?}");
    assert_eq!(rs.last, Some(Ok(())));

    // Stop listening: connects are refused.
    server.abort();
    let _ = server.await;
    let stopped = Instant::now();
    let bound = max_down_detection(&TIMING, CONNECT_TIMEOUT);
    let ev = next_event(&mut rx, bound + SLACK).await;
    let took = stopped.elapsed();
    assert!(!ev.up);
    assert_eq!(ev.cause, Err(Failure::Refused));
    assert_eq!((ev.keyword, ev.checker), ("TCP_CHECK", 0));
    assert_eq!(ev.real, (addr.ip(), Some(addr.port())));
    // Not sooner than the retries allow, not later than the bound.
    assert!(took >= DELAY_BEFORE_RETRY * RETRY, "{took:?}");
    assert!(took <= bound + SLACK, "{took:?}");
    let snap = handle.snapshot().await.unwrap();
    let rs = &snap.servers[0];
    assert!(!rs.up);
    assert_eq!(rs.consecutive_failures, RETRY + 1);
    assert_eq!(rs.last, Some(Err(Failure::Refused)));
    assert!(rs.last_check.is_some());

    // Listen again on the same port: one good check brings it back,
    // within delay_loop (+ the check itself).
    let l = TcpListener::bind(addr).await.unwrap();
    let _server = tcp_server(l);
    let restarted = Instant::now();
    let ev = next_event(&mut rx, DELAY_LOOP + CONNECT_TIMEOUT + SLACK).await;
    let took = restarted.elapsed();
    assert!(ev.up);
    assert_eq!(ev.cause, Ok(()));
    assert!(took <= DELAY_LOOP + CONNECT_TIMEOUT + SLACK, "{took:?}");
    assert!(handle.snapshot().await.unwrap().servers[0].up);

    drop(handle);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("runner stops when its handles are gone")
        .unwrap();
}

/// Checks that time out: the first failing check starts within
/// delay_loop of the server going mute, and each failure takes the whole
/// connect_timeout, so DOWN comes at least (retry + 1) * connect_timeout +
/// retry * delay_before_retry after the mute, and at most delay_loop more.
#[tokio::test]
async fn mute_http_server_goes_down_by_timeouts_within_both_bounds() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let healthy = Arc::new(AtomicBool::new(true));
    http_server(l, healthy.clone());

    let runner = Runner::new(
        &config(addr.port(), "HTTP_GET", false),
        RunnerConfig::default(),
    )
    .unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    tokio::spawn(runner.run(tx, requests));
    tokio::time::sleep(DELAY_LOOP).await;
    assert!(rx.try_recv().is_err());

    healthy.store(false, Ordering::SeqCst);
    let muted = Instant::now();
    let bound = max_down_detection(&TIMING, CONNECT_TIMEOUT);
    let ev = next_event(&mut rx, bound + SLACK).await;
    let took = muted.elapsed();
    assert!(!ev.up);
    assert_eq!(ev.cause, Err(Failure::Timeout { stage: Stage::Head }));
    let floor = CONNECT_TIMEOUT * (RETRY + 1) + DELAY_BEFORE_RETRY * RETRY;
    assert!(took >= floor, "{took:?} < {floor:?}");
    assert!(took <= bound + SLACK, "{took:?}");

    // The metrics' view: each timed-out check counted as a timeout, at no
    // less than connect_timeout in the latency histogram.
    let snap = handle.snapshot().await.unwrap();
    let checker = &snap.servers[0];
    assert!(checker.checks_failed > u64::from(RETRY), "{checker:?}");
    assert!(checker.checks_done > checker.checks_failed, "{checker:?}");
    let [t] = &snap.tallies[..] else {
        panic!("one tally: {:?}", snap.tallies)
    };
    assert_eq!(t.keyword, "HTTP_GET");
    assert!(t.reasons.contains(&Reason::BadStatus), "{:?}", t.reasons);
    let timeouts = t.tally.failures[Reason::Timeout.index()];
    assert_eq!(timeouts, checker.checks_failed);
    assert_eq!(t.tally.count, checker.checks_done);
    assert!(t.tally.sum >= CONNECT_TIMEOUT * timeouts as u32, "{t:?}");
    let at_least_timeout = tally::BOUNDS_US.partition_point(|&b| b < 200_000);
    let slow: u64 = t.tally.buckets[at_least_timeout..].iter().sum();
    assert!(slow >= timeouts, "{t:?}");

    healthy.store(true, Ordering::SeqCst);
    let ev = next_event(&mut rx, DELAY_LOOP + CONNECT_TIMEOUT + SLACK).await;
    assert!(ev.up);
    drop(handle);
}

/// alpha: DOWN from the start (no event for that), UP at the first
/// success.
#[tokio::test]
async fn alpha_server_starts_down_and_comes_up_at_the_first_success() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _server = tcp_server(l);
    let runner = Runner::new(
        &config(addr.port(), "TCP_CHECK", true),
        RunnerConfig::default(),
    )
    .unwrap();
    let before = runner.snapshot();
    assert!(!before.servers[0].up);
    assert_eq!(before.servers[0].checks_done, 0);
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    let started = Instant::now();
    tokio::spawn(runner.run(tx, requests));
    let ev = next_event(&mut rx, CONNECT_TIMEOUT + SLACK).await;
    assert!(ev.up);
    assert!(started.elapsed() <= CONNECT_TIMEOUT + SLACK);
    drop(handle);
}

/// A commit hands the runner a new plan: a kept server keeps its state
/// (DOWN stays DOWN with no event, until a check succeeds), a new one
/// starts as a fresh runner starts it, and checks go on with the new plan.
#[tokio::test]
async fn a_replaced_plan_carries_each_kept_servers_state_over() {
    // Nothing listens on `dead`: its server goes DOWN.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let runner = Runner::new(
        &config(dead.port(), "TCP_CHECK", false),
        RunnerConfig::default(),
    )
    .unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    tokio::spawn(runner.run(tx, requests));
    let bound = max_down_detection(&TIMING, CONNECT_TIMEOUT) + SLACK;
    let ev = next_event(&mut rx, bound).await;
    assert!(!ev.up, "{ev:?}");

    // The same server under a new plan (which alone would start it UP):
    // DOWN carried over at the hand-over, no event.
    let before = handle.snapshot().await.unwrap();
    let again = config(dead.port(), "TCP_CHECK", false);
    let replaced = Runner::new(&again, RunnerConfig::default()).unwrap();
    assert!(replaced.snapshot().servers[0].up, "a fresh plan starts UP");
    assert!(handle.replace(replaced).await);
    let after = handle.snapshot().await.unwrap();
    assert!(!after.servers[0].up, "carried over DOWN");
    // Counters go on from where they were, not from zero.
    let (was, now) = (&before.servers[0], &after.servers[0]);
    assert!(was.checks_failed > 0, "{was:?}");
    assert!(now.checks_failed >= was.checks_failed, "{now:?} < {was:?}");
    assert!(now.checks_done >= was.checks_done, "{now:?} < {was:?}");
    assert!(after.tallies[0].tally.count >= before.tallies[0].tally.count);
    assert!(
        tokio::time::timeout(bound, rx.recv()).await.is_err(),
        "no event for a server that stays down"
    );

    // Something listens now: one good check brings it back, as always.
    let l = std::net::TcpListener::bind(dead).unwrap();
    l.set_nonblocking(true).unwrap();
    let _server = tcp_server(TcpListener::from_std(l).unwrap());
    let ev = next_event(&mut rx, DELAY_LOOP + CONNECT_TIMEOUT + SLACK).await;
    assert!(ev.up, "{ev:?}");

    // A server the replaced plan lacks starts as new ones do (alpha: DOWN,
    // though the old plan's server on another port is UP now).
    let other = Runner::new(
        &config(dead.port() ^ 1, "TCP_CHECK", true),
        RunnerConfig::default(),
    )
    .unwrap();
    assert!(handle.replace(other).await);
    assert!(!handle.snapshot().await.unwrap().servers[0].up);
    drop(handle);
}

/// `ha_suspend`: while the service address is not on the box the checks
/// pause and a dead server keeps its state; once it is, they run again.
#[tokio::test]
async fn ha_suspend_pauses_checks_while_the_service_address_is_away() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let text = config(dead.port(), "TCP_CHECK", false);
    let mut c = text.clone();
    c.virtual_servers[0].ha_suspend = true;
    let (local_tx, local_rx) =
        tokio::sync::watch::channel(std::collections::BTreeSet::<std::net::IpAddr>::new());
    let runner = Runner::new(&c, RunnerConfig::default())
        .unwrap()
        .with_local_addresses(local_rx);
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    tokio::spawn(runner.run(tx, requests));
    let bound = max_down_detection(&TIMING, CONNECT_TIMEOUT) + SLACK;
    assert!(
        tokio::time::timeout(bound, rx.recv()).await.is_err(),
        "suspended: no check, no event"
    );
    let snap = handle.snapshot().await.unwrap();
    assert!(snap.servers[0].up);
    assert_eq!(snap.servers[0].checks_done, 0);
    // The address arrives (this box became master): checks resume.
    local_tx.send_replace(["127.0.0.1".parse().unwrap()].into_iter().collect());
    let ev = next_event(&mut rx, bound + DELAY_LOOP).await;
    assert!(!ev.up, "{ev:?}");
    drop(handle);
}

/// A runner whose events nobody reads (the IPVS task busy with one step of
/// a big reload, waiting for this very snapshot) still answers: its
/// events wait in its outbox, not in a send. 200 servers on a closed port
/// of 127.0.0.1 fail at once, far more events than the queue of 1 holds.
#[tokio::test]
async fn a_runner_with_a_full_event_queue_still_answers_snapshots() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut text = format!(
        "virtual_server 127.0.0.1 {port} {{\n delay_loop 0.3\n lb_kind NAT\n protocol TCP\n"
    );
    for i in 0..200 {
        text.push_str(&format!(
            " real_server 127.0.{}.{} {port} {{\n  TCP_CHECK {{\n   connect_timeout 0.2\n   retry 0\n   warmup 0\n  }}\n }}\n",
            i / 200 + 1,
            i % 200 + 1
        ));
    }
    text.push_str("}\n");
    let c = import_str("full.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.errors))
        .config;
    let runner = Runner::new(&c, RunnerConfig::default()).unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(1);
    let task = tokio::spawn(runner.run(tx, requests));
    // Every server down, by the runner's own count, while the queue stays
    // full: the answers come from a runner that is not stuck in a send.
    let t0 = Instant::now();
    loop {
        let snap = tokio::time::timeout(Duration::from_secs(2), handle.snapshot())
            .await
            .expect("a runner with a full queue answers")
            .expect("a snapshot");
        if snap.servers.iter().all(|s| !s.up) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "not all down yet");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then every event arrives, once each, when the reader comes back.
    let mut downs = std::collections::BTreeSet::new();
    while downs.len() < 200 {
        let ev = next_event(&mut rx, Duration::from_secs(2)).await;
        assert!(!ev.up && ev.state_changed, "{ev:?}");
        assert!(downs.insert(ev.real), "{:?} reported twice", ev.real);
    }
    drop(handle);
    let _ = task.await;
}
