//! No false failover under load (issue 14's load item, issue 20): the
//! master of a 50 ms VRRPv3 pair (vigil MASTER, keepalived BACKUP, as in
//! `netns_advgap`) checks 1,000 real servers that answer, every second,
//! while `vigil status` is asked 50 times a second over its control
//! socket; meanwhile it reloads to add a 100 x 100 table, then restarts
//! (hitless). Its worst gap between adverts stays under twice the
//! interval, the backup never takes over, the checks keep their rate and
//! the status keeps answering.
//!
//! Needs root, iproute2, python3 and keepalived (scripts/install-deps).

use crate::netns_advgap::{assert_adverts_kept, big_table, measure, pair, restart, vigil, Pair};
use crate::support::netns::{serial, Proc};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Real servers that answer: every address of 10.99.0.0/16 is the
/// master's own (a local route on lo), and one listener on port 8080
/// accepts and closes every connection.
fn answering_servers(p: &Pair) -> Proc {
    let ns = &p.lab.nodes[0].ns;
    ns.exec(&["ip", "route", "add", "local", "10.99.0.0/16", "dev", "lo"]);
    let script = "import socket\n\
                  s = socket.socket()\n\
                  s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
                  s.bind(('0.0.0.0', 8080))\n\
                  s.listen(4096)\n\
                  while True:\n    c, _ = s.accept()\n    c.close()\n";
    ns.spawn(
        "listener",
        &["python3", "-c", script],
        &p.lab.path("listener.log"),
    )
}

/// `servers` real servers of [`answering_servers`], checked every second,
/// in virtual servers of 100.
fn checked_every_second(servers: usize) -> String {
    let mut text = String::new();
    for v in 0..servers.div_ceil(100) {
        text.push_str(&format!(
            "virtual_server 10.2.0.{} 80 {{\n delay_loop 1\n lvs_method NAT\n protocol TCP\n",
            v + 1
        ));
        for r in (v * 100)..((v + 1) * 100).min(servers) {
            text.push_str(&format!(
                " real_server 10.99.{}.{} 8080 {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}\n",
                r / 250,
                r % 250 + 1
            ));
        }
        text.push_str("}\n");
    }
    text
}

/// The master's checks done so far, summed over its destinations.
fn checks_done(p: &Pair) -> u64 {
    let v = p.master.status_json();
    let services = v["ipvs"]["services"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (services.iter())
        .flat_map(|s| s["dests"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d["checks_done"].as_u64())
        .sum()
}

/// Asks the master's status over the control socket up to `per_second`
/// times a second (one at a time: a slower answer delays the next
/// question) until dropped; counts the questions and the answers.
struct Hammer {
    stop: Arc<AtomicBool>,
    asked: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hammer {
    fn start(p: &Pair, per_second: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::new(AtomicU64::new(0));
        let answered = Arc::new(AtomicU64::new(0));
        let (s, q, a) = (stop.clone(), asked.clone(), answered.clone());
        let path = p.master.control.clone();
        let every = Duration::from_secs(1) / per_second;
        let thread = std::thread::spawn(move || {
            let mut next = Instant::now();
            while !s.load(Ordering::Relaxed) {
                let req = vigil::control::Request::Status;
                q.fetch_add(1, Ordering::Relaxed);
                if let Ok(vigil::control::Response::Status(_)) =
                    vigil::control::query(&path, &req, Duration::from_secs(5))
                {
                    a.fetch_add(1, Ordering::Relaxed);
                }
                // Behind (a slow answer): no burst to catch up.
                next = (next + every).max(Instant::now());
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        Hammer {
            stop,
            asked,
            answered,
            thread: Some(thread),
        }
    }
}

impl Drop for Hammer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_master_under_load_keeps_its_adverts_through_a_reload_and_a_restart() {
    let _serial = serial();
    let p = pair();
    let _listener = answering_servers(&p);
    let load = checked_every_second(1_000);
    std::fs::write(&p.master.conf, format!("{}{load}", p.base)).expect("write conf");
    let said = vigil(&p, &["reload"]);
    assert!(!said.contains("refused"), "reload to the load: {said}");
    let (t0, done0) = (Instant::now(), checks_done(&p));
    let hammer = Hammer::start(&p, 50);
    std::thread::sleep(Duration::from_secs(4));
    let rate = (checks_done(&p) - done0) as f64 / t0.elapsed().as_secs_f64();
    eprintln!("advgap load: {rate:.0} checks a second");
    assert!(
        rate > 800.0,
        "the load runs {rate:.0} checks a second, not 1,000"
    );
    let includes = big_table(&p.lab, 100, 100);
    std::fs::write(&p.master.conf, format!("{}{load}{includes}", p.base)).expect("write conf");
    let mut said = String::new();
    let f = measure(&p, "reload under load", Duration::from_secs(2), || {
        said = vigil(&p, &["reload"]);
    });
    assert!(!said.contains("refused"), "reload: {said}");
    assert_adverts_kept(&f, "reload to 100 x 100 under load", &p);
    let (t1, done1) = (Instant::now(), checks_done(&p));
    std::thread::sleep(Duration::from_secs(3));
    let rate = (checks_done(&p) - done1) as f64 / t1.elapsed().as_secs_f64();
    eprintln!("advgap load after the reload: {rate:.0} checks a second");
    // The 10,000 new servers' first checks share the runner's slots.
    assert!(rate > 750.0, "after the reload: {rate:.0} checks a second");
    restart(&p, "restart under load");
    // The new image's counts start from its first checks.
    std::thread::sleep(Duration::from_secs(1));
    let (t2, done2) = (Instant::now(), checks_done(&p));
    std::thread::sleep(Duration::from_secs(3));
    let rate = checks_done(&p).saturating_sub(done2) as f64 / t2.elapsed().as_secs_f64();
    eprintln!("advgap load after the restart: {rate:.0} checks a second");
    assert!(rate > 750.0, "after the restart: {rate:.0} checks a second");
    let answered = hammer.answered.load(Ordering::Relaxed);
    let asked = hammer.asked.load(Ordering::Relaxed);
    let per_second = answered as f64 / t0.elapsed().as_secs_f64();
    eprintln!("advgap load: {answered} status answers of {asked} asked, {per_second:.0} a second");
    drop(hammer);
    // Unanswered: the ones asked while the restart's exec closed the
    // socket. A status of 11,000 destinations takes a debug build tens of
    // ms to encode and decode, which bounds the rate of one asker.
    assert!(
        answered as f64 > asked as f64 * 0.75 && per_second > 10.0,
        "{answered} status answers of {asked} asked, {per_second:.0} a second"
    );
}
