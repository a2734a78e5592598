//! The Prometheus endpoint of a running daemon (`global_defs { metrics {
//! listen } }`), scraped over TCP from another namespace on the LAN and
//! parsed by the Prometheus client library's own text parser
//! (`support/prom_parse.py`, Debian's python3-prometheus-client): it is
//! valid, every family has HELP and TYPE, and a failed health check, a
//! failed tracked script, the failover it causes and a reload that moves
//! the endpoint change the right series. Only GET `/metrics` and `/` are served.
//!
//! Needs root, iproute2 and python3-prometheus-client
//! (scripts/install-deps).

use crate::support::{netns, peers};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns::{require_program, serial, Lab};
use peers::{first_state, start_vigil_with, vigil_bin, Daemon};

fn conf(node: u8, priority: u8, port: u16, flag: &Path) -> String {
    format!(
        "global_defs {{
    metrics {{
        listen 192.168.1.{node}:{port}
    }}
}}
vrrp_script chk_flag {{
    script \"/usr/bin/test -e {flag}\"
    interval 1
    weight -150
    fall 1
    rise 1
}}
vrrp_instance VI_M {{
    interface eth0
    virtual_router_id 77
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        192.168.1.200/24
    }}
    track_script {{
        chk_flag
    }}
}}
virtual_server 192.168.1.200 80 {{
    delay_loop 0.2
    lvs_method NAT
    protocol TCP
    real_server 192.168.1.251 9 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
",
        flag = flag.display()
    )
}

/// One HTTP/1.1 request from the client namespace: (status line, body).
fn get(lab: &Lab, addr: SocketAddr, request: &str) -> std::io::Result<(String, String)> {
    let (head, body) = get_raw(lab, addr, request)?;
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One request: (response head, body bytes).
fn get_raw(lab: &Lab, addr: SocketAddr, request: &str) -> std::io::Result<(String, Vec<u8>)> {
    let request = request.to_owned();
    let client = lab.client.as_ref().expect("a client node");
    client.ns.enter(move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(request.as_bytes())?;
        let mut all = Vec::new();
        s.read_to_end(&mut all)?;
        let end = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(all.len());
        let head = String::from_utf8_lossy(&all[..end]).into_owned();
        Ok((head, all.get(end + 4..).unwrap_or_default().to_vec()))
    })
}

fn scrape_text(lab: &Lab, addr: SocketAddr) -> String {
    let req = "GET /metrics HTTP/1.1\r\nHost: lb\r\nAccept: text/plain\r\n\r\n";
    let (status, body) = get(lab, addr, req).unwrap_or_else(|e| panic!("scrape {addr}: {e}"));
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    eprintln!(
        "scrape of {addr}: {} bytes, {} lines",
        body.len(),
        body.lines().count()
    );
    body
}

/// The families of a scrape, as the real parser reads them.
fn scrape(lab: &Lab, addr: SocketAddr) -> serde_json::Value {
    parse(scrape_text(lab, addr).as_bytes(), false)
}

/// `body` (gzipped with `gzip`) through prometheus_client's parser.
fn parse(body: &[u8], gzip: bool) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/prom_parse.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .args(gzip.then_some("--gzip"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refuses the scrape: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(body)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The value of sample `name` whose labels include `labels`.
fn sample(v: &serde_json::Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    v.as_array()?
        .iter()
        .flat_map(|f| f["samples"].as_array().into_iter().flatten())
        .find(|s| {
            s[0] == name
                && labels
                    .iter()
                    .all(|(k, want)| s[1][*k].as_str() == Some(want))
        })
        .and_then(|s| s[2].as_f64())
}

/// Scrapes `addr` until `ok` holds of the parsed families.
fn wait_scrape(
    lab: &Lab,
    addr: SocketAddr,
    what: &str,
    d: &Daemon,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let v = scrape(lab, addr);
        if ok(&v) {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{what} not seen on {addr}: {v}\n{}",
            d.proc.log_tail(30)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const VI: [(&str, &str); 3] = [
    ("vrrp_instance", "VI_M"),
    ("vrid", "77"),
    ("interface", "eth0"),
];

fn state(v: &serde_json::Value) -> Option<f64> {
    sample(v, "vigil_vrrp_state", &VI)
}

fn reload(d: &Daemon) -> String {
    let out = Command::new(vigil_bin())
        .args(["reload", "--control"])
        .arg(&d.control)
        .output()
        .expect("run vigil reload");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn metrics_parse_and_follow_a_failed_script_the_failover_and_a_reload() {
    let _g = serial();
    require_program("/usr/bin/python3", "install python3 (scripts/install-deps)");
    let lab = Lab::with_client(2);
    let flag: PathBuf = lab.path("flag");
    let flag2: PathBuf = lab.path("flag2");
    std::fs::write(&flag, "").unwrap();
    std::fs::write(&flag2, "").unwrap();
    let d1 = start_vigil_with(&lab, 0, &conf(1, 200, 9100, &flag), "metrics1");
    d1.wait_status("MASTER", Duration::from_secs(5), |v| {
        first_state(v) == "MASTER"
    });
    let mut d2 = start_vigil_with(&lab, 1, &conf(2, 100, 9100, &flag2), "metrics2");
    d2.wait_status("BACKUP", Duration::from_secs(5), |v| {
        first_state(v) == "BACKUP"
    });
    let (m1, m2): (SocketAddr, SocketAddr) = (
        "192.168.1.1:9100".parse().unwrap(),
        "192.168.1.2:9100".parse().unwrap(),
    );

    // Valid, with what the status holds.
    let v1 = wait_scrape(&lab, m1, "the script OK", &d1, |v| {
        sample(v, "vigil_script_ok", &[("script", "chk_flag")]) == Some(1.0)
    });
    assert_eq!(state(&v1), Some(2.0), "node1 MASTER: {v1}");
    let v2 = scrape(&lab, m2);
    assert_eq!(state(&v2), Some(1.0), "node2 BACKUP: {v2}");
    for name in [
        "vigil_vrrp_rx_dropped",
        "vigil_task_restarts",
        "process_resident_memory_bytes",
        "vigil_watchdog_state",
    ] {
        assert!(
            v1.as_array().unwrap().iter().any(|f| f["name"] == name),
            "{name} missing: {v1}"
        );
    }
    assert!(sample(&v1, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    // As Prometheus asks: gzipped.
    let req = "GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n";
    let (head, body) = get_raw(&lab, m1, req).unwrap();
    assert!(head.contains("\r\nContent-Encoding: gzip"), "{head}");
    let z = parse(&body, true);
    assert_eq!(state(&z), Some(2.0), "{z}");
    let metrics_task = [("task", "metrics"), ("kind", "metrics")];
    assert_eq!(sample(&v1, "vigil_task_running", &metrics_task), Some(1.0));

    // A failed health check: nothing listens on the client's port 9, so
    // every TCP_CHECK is refused; the histogram and the counters say so.
    let vs = ("virtual_server", "TCP 192.168.1.200:80");
    let rs = [vs, ("real_server", "192.168.1.251:9")];
    let tcp = [vs, ("checker", "TCP_CHECK")];
    let refused = [vs, ("checker", "TCP_CHECK"), ("reason", "refused")];
    let failures = "vigil_health_check_failures_total";
    let v1 = wait_scrape(&lab, m1, "refused checks counted", &d1, |v| {
        sample(v, failures, &refused) >= Some(2.0)
    });
    assert_eq!(sample(&v1, "vigil_real_server_up", &rs), Some(0.0), "{v1}");
    let count = sample(&v1, "vigil_health_check_duration_seconds_count", &tcp).unwrap();
    assert!(count >= sample(&v1, failures, &refused).unwrap(), "{v1}");
    let inf = [vs, ("checker", "TCP_CHECK"), ("le", "+Inf")];
    let bucket = "vigil_health_check_duration_seconds_bucket";
    assert_eq!(sample(&v1, bucket, &inf), Some(count), "{v1}");
    // A refusal on a LAN comes back well inside a second.
    let le_1 = [vs, ("checker", "TCP_CHECK"), ("le", "1")];
    assert_eq!(sample(&v1, bucket, &le_1), Some(count), "{v1}");
    let timeouts = [vs, ("checker", "TCP_CHECK"), ("reason", "timeout")];
    assert_eq!(sample(&v1, failures, &timeouts), Some(0.0), "{v1}");
    let rs_failed = sample(&v1, "vigil_real_server_check_failures_total", &rs).unwrap();
    assert!(rs_failed >= 2.0, "{v1}");
    assert_eq!(
        sample(&v1, "vigil_real_server_checks_total", &rs),
        Some(rs_failed),
        "every check of it failed: {v1}"
    );

    // A failed check: node1's script fails, its priority drops below
    // node2's, node2 takes over.
    std::fs::remove_file(&flag).unwrap();
    let v1 = wait_scrape(&lab, m1, "the script FAIL on node1", &d1, |v| {
        sample(v, "vigil_script_ok", &[("script", "chk_flag")]) == Some(0.0)
            && sample(v, "vigil_vrrp_effective_priority", &VI) == Some(50.0)
    });
    assert!(sample(&v1, "vigil_script_runs_total", &[("script", "chk_flag")]).unwrap() >= 2.0);
    let sent = |v: &serde_json::Value| sample(v, "vigil_vrrp_adverts_sent_total", &VI);
    let transitions = |v: &serde_json::Value| sample(v, "vigil_vrrp_transitions_total", &VI);
    let received = |v: &serde_json::Value| sample(v, "vigil_vrrp_adverts_received_total", &VI);
    let was = scrape(&lab, m2);
    assert!(received(&was).unwrap() > 5.0, "node2 heard node1: {was}");
    let v2 = wait_scrape(&lab, m2, "node2 MASTER", &d2, |v| state(v) == Some(2.0));
    // INIT -> BACKUP -> MASTER.
    assert!(transitions(&v2) >= Some(2.0), "{v2}");
    let v1 = wait_scrape(&lab, m1, "node1 BACKUP", &d1, |v| state(v) == Some(1.0));
    assert!(sent(&v1).unwrap() > 5.0, "node1 sent as master: {v1}");
    // INIT -> BACKUP -> MASTER -> BACKUP.
    assert!(transitions(&v1) >= Some(3.0), "{v1}");
    // node2, now master, sends.
    wait_scrape(&lab, m2, "node2's adverts counted", &d2, |v| {
        sent(v) > sent(&v2)
    });

    // A reload that moves node2's endpoint: bound again on the new port.
    let before = scrape(&lab, m2);
    assert_eq!(
        sample(&before, "vigil_reload_last_timestamp_seconds", &[]),
        Some(0.0)
    );
    std::fs::write(&d2.conf, conf(2, 100, 9101, &flag2)).unwrap();
    let said = reload(&d2);
    assert!(
        said.contains("metrics endpoint bound again on 192.168.1.2:9101"),
        "{said}"
    );
    let moved: SocketAddr = "192.168.1.2:9101".parse().unwrap();
    let t0 = Instant::now();
    let v = loop {
        match get(&lab, moved, "GET /metrics HTTP/1.1\r\n\r\n") {
            Ok(_) => break scrape(&lab, moved),
            Err(e) => assert!(t0.elapsed() < Duration::from_secs(5), "{moved}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(sample(&v, "vigil_reload_last_success", &[]), Some(1.0));
    assert_eq!(
        sample(&v, "vigil_reloads_total", &[("outcome", "applied")]),
        Some(1.0)
    );
    assert!(sample(&v, "vigil_reload_last_timestamp_seconds", &[]).unwrap() > 1.6e9);
    assert_eq!(state(&v), Some(2.0));
    let t0 = Instant::now();
    while get(&lab, m2, "GET /metrics HTTP/1.1\r\n\r\n").is_ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the old port still answers"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Nothing but GET /metrics and /.
    let (s, body) = get(&lab, moved, "GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(s, "HTTP/1.1 200 OK");
    assert!(body.contains("href=\"/metrics\""), "{body}");
    let (s, _) = get(&lab, moved, "GET /etc/passwd HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(s, "HTTP/1.1 404 Not Found");
    let (s, _) = get(
        &lab,
        moved,
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(s, "HTTP/1.1 405 Method Not Allowed");
    let (s, _) = get(&lab, moved, "\x16\x03\x01 hello\r\n\r\n").unwrap();
    assert_eq!(s, "HTTP/1.1 400 Bad Request");
    d2.stop();
}
