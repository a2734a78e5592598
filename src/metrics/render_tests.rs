//! Unit tests of `render.rs`: the format's rules, values, and a scrape at
//! the config bounds.

use super::*;
use crate::control::{
    IpvsCheckStats, IpvsCounters, IpvsStatus, LastReload, ReceiverStatus, ScriptStatus, TaskStatus,
    WatchdogStatus,
};
use std::collections::HashSet;

fn instance(name: &str, state: &str) -> InstanceStatus {
    InstanceStatus {
        name: name.into(),
        state: state.into(),
        interface: "eth0".into(),
        vrid: 51,
        version: 2,
        family: 4,
        priority: 100,
        effective_priority: 90,
        advert_interval_ms: 1000,
        in_state_ms: 2500,
        adverts_sent: 40,
        adverts_received: 3,
        transitions: 2,
        route_errors: 1,
        arp_theft: 2,
        ..Default::default()
    }
}

fn dest(addr: &str, health: &str, active: u32) -> IpvsDestStatus {
    IpvsDestStatus {
        dest: addr.into(),
        method: "Masq".into(),
        weight: Some(1),
        active,
        inactive: 2,
        health: health.to_owned().into(),
        last: "ok".into(),
        failures: 0,
        dynamic_weight: None,
        counters: Some(IpvsCounters {
            connections: 100 + u64::from(active),
            in_packets: 1000,
            out_packets: 900,
            in_bytes: 64_000,
            out_bytes: 512_000,
        }),
        checks_done: 40 + u64::from(active),
        checks_failed: u64::from(health == "down") * 4,
    }
}

/// One HTTP_GET tally: 3 checks in the first bucket, 1 in the second, 2
/// above every bound, 2 of them timeouts.
fn http_tally() -> IpvsCheckStats {
    let mut latency_buckets = vec![0; crate::health::tally::BUCKETS];
    latency_buckets[0] = 3;
    latency_buckets[1] = 1;
    latency_buckets[crate::health::tally::BUCKETS - 1] = 2;
    IpvsCheckStats {
        checker: "HTTP_GET".into(),
        latency_buckets,
        latency_sum_us: 61_004_500,
        count: 6,
        failures: vec![("refused".into(), 0), ("timeout".into(), 2)],
        local_errors: vec![("EMFILE".into(), 5), ("ENOBUFS".into(), 0)],
    }
}

fn status() -> Status {
    Status {
        uptime_ms: 61_000,
        instances: vec![
            instance("VI_1", "MASTER"),
            instance("VI_\"2\"\\\n", "BACKUP"),
        ],
        receivers: vec![ReceiverStatus {
            interface: "eth0".into(),
            family: 4,
            drops: vec![
                ("ttl_not_255".into(), 7),
                ("address_list_mismatch".into(), 2),
            ],
            kernel_dropped: 11,
            queue_full: 0,
            restarts: 1,
        }],
        ipvs: Some(IpvsStatus {
            services: vec![IpvsServiceStatus {
                service: "TCP 192.168.1.200:80".into(),
                in_table: true,
                scheduler: "wlc".into(),
                dests: vec![
                    dest("10.0.0.2:80", "up", 5),
                    dest("10.0.0.3:80", "down", 0),
                    IpvsDestStatus {
                        weight: None,
                        ..dest("10.0.0.4:80", "draining", 1)
                    },
                ],
                counters: Some(IpvsCounters {
                    connections: 3,
                    in_packets: 7,
                    ..Default::default()
                }),
                checks: vec![http_tally()],
                ..Default::default()
            }],
            counters_age_ms: Some(38_250),
            counters_every_ms: Some(36_000),
            ..Default::default()
        }),
        reload: Some(LastReload {
            outcome: ReloadOutcome::Invalid,
            at_unix_secs: 1_700_000_000,
            first: None,
        }),
        reloads: crate::control::ReloadCounts {
            invalid: 2,
            ..Default::default()
        },
        tasks: vec![TaskStatus {
            name: "instance VI_1".into(),
            kind: "instance".into(),
            state: "running".into(),
            check_in_age_ms: 250,
            deadline_ms: Some(2000),
            restarts: 2,
            last_stop: None,
        }],
        watchdog: WatchdogStatus {
            state: WatchdogState::Petting,
            timeout_s: Some(20),
            reset_by_watchdog: true,
            ..Default::default()
        },
        scripts: vec![
            ScriptStatus {
                name: "chk".into(),
                state: "FAIL".into(),
                last: "exit 1".into(),
                runs: 9,
                value: None,
            },
            ScriptStatus {
                name: "maint".into(),
                state: "OK".into(),
                last: "0".into(),
                runs: 4,
                value: Some(3),
            },
        ],
        runtimes: vec![crate::control::RuntimeStatus {
            name: "main".into(),
            worst_stall_us: 1_500_000,
            stalls: 3,
        }],
        ..Default::default()
    }
}

/// The value of the one sample whose line starts with `prefix`.
fn value(text: &str, prefix: &str) -> String {
    let hits: Vec<&str> = text.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(hits.len(), 1, "{prefix}: {hits:?}");
    hits[0].rsplit(' ').next().unwrap().to_owned()
}

/// Checks the format's structure: each family's HELP then TYPE once, its
/// samples right after, each sample's name that of the family in force.
/// Returns the families.
fn families(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    let mut current: Option<String> = None;
    let mut histogram = false;
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if let Some(rest) = l.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap().to_owned();
            assert!(seen.insert(name.clone()), "{name} declared twice");
            let ty = lines.next().expect("TYPE after HELP");
            let want = format!("# TYPE {name} ");
            assert!(ty.starts_with(&want), "{ty}");
            let kind = &ty[want.len()..];
            assert!(matches!(kind, "gauge" | "counter" | "histogram"), "{ty}");
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "{name}: {kind}"
            );
            histogram = kind == "histogram";
            current = Some(name.clone());
            order.push(name);
            continue;
        }
        assert!(!l.starts_with('#'), "{l}");
        let mut name = l.split(['{', ' ']).next().unwrap();
        if histogram {
            name = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|x| name.strip_suffix(x))
                .unwrap_or_else(|| panic!("histogram sample without its suffix: {l}"));
        }
        assert_eq!(
            Some(name),
            current.as_deref(),
            "sample outside its family: {l}"
        );
        let v = l.rsplit(' ').next().unwrap();
        assert!(v.parse::<f64>().is_ok(), "{l}");
    }
    order
}

#[test]
fn every_family_has_help_and_type_once_and_its_samples_after() {
    let p = Process {
        cpu_seconds: 1.5,
        resident_bytes: 6 << 20,
        virtual_bytes: 100 << 20,
        open_fds: 12,
        max_fds: 1024,
        start_time_seconds: 1.7e9,
    };
    let text = render(&status(), Some(&p));
    let f = families(&text);
    assert!(f.len() > 30, "{f:?}");
    for name in [
        "vigil_vrrp_state",
        "vigil_vrrp_rx_dropped_total",
        "vigil_ipvs_destination_active_connections",
        "vigil_task_restarts_total",
        "vigil_runtime_stalls_total",
        "vigil_watchdog_state",
        "process_resident_memory_bytes",
    ] {
        assert!(f.iter().any(|x| x == name), "{name} missing");
    }
    // An empty status is as well formed.
    families(&render(&Status::default(), None));
}

#[test]
fn label_values_are_escaped() {
    let mut s = String::new();
    escape_label("a\\b\"c\nd", &mut s);
    assert_eq!(s, "a\\\\b\\\"c\\nd");
    let text = render(&status(), None);
    assert!(
        text.contains(
            "vigil_vrrp_state{vrrp_instance=\"VI_\\\"2\\\"\\\\\\n\",vrid=\"51\",interface=\"eth0\"} 1\n"
        ),
        "{text}"
    );
}

#[test]
fn values_follow_the_status() {
    let text = render(&status(), None);
    let vi = "{vrrp_instance=\"VI_1\",vrid=\"51\",interface=\"eth0\"";
    let vs = "{virtual_server=\"TCP 192.168.1.200:80\"";
    let d = |addr: &str| format!("{vs},real_server=\"{addr}\"");
    let t = "{task=\"instance VI_1\",kind=\"instance\"}";
    let rx = "{interface=\"eth0\",family=\"ipv4\"}";
    let rx_ = "{interface=\"eth0\",family=\"ipv4\"";
    let want: Vec<(String, &str)> = vec![
        (format!("vigil_vrrp_state{vi}}}"), "2"),
        (format!("vigil_vrrp_state_seconds{vi}}}"), "2.5"),
        (format!("vigil_vrrp_effective_priority{vi}}}"), "90"),
        (format!("vigil_vrrp_adverts_sent_total{vi}}}"), "40"),
        (format!("vigil_vrrp_adverts_received_total{vi}}}"), "3"),
        (format!("vigil_vrrp_transitions_total{vi}}}"), "2"),
        (format!("vigil_vrrp_route_errors_total{vi}}}"), "1"),
        (format!("vigil_vrrp_arp_theft_total{vi}}}"), "2"),
        (
            format!("vigil_vrrp_rx_dropped_total{rx_},reason=\"ttl_not_255\"}}"),
            "7",
        ),
        (
            format!("vigil_vrrp_rx_dropped_total{rx_},reason=\"truncated\"}}"),
            "0",
        ),
        (format!("vigil_vrrp_rx_kernel_dropped_total{rx}"), "11"),
        (
            format!("vigil_vrrp_rx_address_list_mismatch_total{rx}"),
            "2",
        ),
        (format!("vigil_vrrp_receive_restarts_total{rx}"), "1"),
        (
            format!(
                "vigil_ipvs_destination_active_connections{}}}",
                d("10.0.0.2:80")
            ),
            "5",
        ),
        (format!("vigil_real_server_up{}}}", d("10.0.0.2:80")), "1"),
        (format!("vigil_real_server_up{}}}", d("10.0.0.3:80")), "0"),
        (
            format!("vigil_real_server_draining{}}}", d("10.0.0.4:80")),
            "1",
        ),
        (
            format!("vigil_ipvs_destination_weight{}}}", d("10.0.0.4:80")),
            "-1",
        ),
        (
            format!(
                "vigil_ipvs_destination_connections_total{}}}",
                d("10.0.0.2:80")
            ),
            "105",
        ),
        (
            format!(
                "vigil_ipvs_destination_bytes_total{},direction=\"out\"}}",
                d("10.0.0.3:80")
            ),
            "512000",
        ),
        (format!("vigil_ipvs_service_active_connections{vs}}}"), "6"),
        (format!("vigil_ipvs_service_destinations_up{vs}}}"), "1"),
        (format!("vigil_ipvs_service_connections_total{vs}}}"), "3"),
        (
            format!("vigil_ipvs_service_packets_total{vs},direction=\"in\"}}"),
            "7",
        ),
        ("vigil_ipvs_destinations_omitted ".into(), "0"),
        ("vigil_ipvs_counters_age_seconds ".into(), "38.25"),
        ("vigil_reload_last_success ".into(), "0"),
        ("vigil_reloads_total{outcome=\"invalid\"}".into(), "2"),
        ("vigil_reloads_total{outcome=\"applied\"}".into(), "0"),
        ("vigil_reload_last_timestamp_seconds ".into(), "1700000000"),
        ("vigil_uptime_seconds ".into(), "61"),
        (format!("vigil_task_restarts_total{t}"), "2"),
        (format!("vigil_task_check_in_age_seconds{t}"), "0.25"),
        ("vigil_watchdog_state{state=\"petting\"}".into(), "1"),
        ("vigil_watchdog_state{state=\"withheld\"}".into(), "0"),
        ("vigil_watchdog_last_reset_by_watchdog ".into(), "1"),
        ("vigil_script_ok{script=\"chk\"}".into(), "0"),
        ("vigil_script_runs_total{script=\"chk\"}".into(), "9"),
        ("vigil_track_file_value{file=\"maint\"}".into(), "3"),
        (
            "vigil_runtime_worst_stall_seconds{runtime=\"main\"}".into(),
            "1.5",
        ),
        ("vigil_runtime_stalls_total{runtime=\"main\"}".into(), "3"),
    ];
    for (prefix, v) in &want {
        assert_eq!(value(&text, prefix), *v, "{prefix}");
    }
    let drops = text
        .lines()
        .filter(|x| x.starts_with("vigil_vrrp_rx_dropped_total{"))
        .count();
    // One receive socket; every reason but the address list mismatch,
    // which has a family of its own (the advert was taken).
    assert_eq!(drops, DropReason::COUNT - 1);
    assert!(!text.contains("reason=\"address_list_mismatch\""));
}

/// 1,024 services of 1,024 destinations each: the config's bounds.
fn at_bounds() -> Status {
    let services = (0..1024u32)
        .map(|s| IpvsServiceStatus {
            service: format!("TCP 192.168.{}.{}:80", s / 256, s % 256),
            in_table: true,
            scheduler: "wlc".into(),
            dests: (0..1024u32)
                .map(|d| {
                    dest(
                        &format!("10.{}.{}.{}:8080", s % 256, d / 256, d % 256),
                        "up",
                        d,
                    )
                })
                .collect(),
            checks: vec![http_tally()],
            ..Default::default()
        })
        .collect();
    Status {
        instances: (0..255)
            .map(|n| instance(&format!("VI_{n}"), "BACKUP"))
            .collect(),
        ipvs: Some(IpvsStatus {
            services,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn health_check_latency_is_a_cumulative_histogram_and_failures_count_by_reason() {
    let text = render(&status(), None);
    let l = r#"virtual_server="TCP 192.168.1.200:80",checker="HTTP_GET""#;
    let h = "vigil_health_check_duration_seconds";
    assert_eq!(
        value(&text, &format!(r#"{h}_bucket{{{l},le="0.001"}}"#)),
        "3"
    );
    assert_eq!(
        value(&text, &format!(r#"{h}_bucket{{{l},le="0.0025"}}"#)),
        "4"
    );
    assert_eq!(value(&text, &format!(r#"{h}_bucket{{{l},le="30"}}"#)), "4");
    assert_eq!(
        value(&text, &format!(r#"{h}_bucket{{{l},le="+Inf"}}"#)),
        "6"
    );
    assert_eq!(value(&text, &format!("{h}_sum{{{l}}}")), "61.0045");
    assert_eq!(value(&text, &format!("{h}_count{{{l}}}")), "6");
    let buckets = text
        .lines()
        .filter(|x| x.starts_with(&format!("{h}_bucket{{")))
        .count();
    assert_eq!(buckets, crate::health::tally::BUCKETS);
    let f = "vigil_health_check_failures_total";
    assert_eq!(
        value(&text, &format!(r#"{f}{{{l},reason="timeout"}}"#)),
        "2"
    );
    assert_eq!(
        value(&text, &format!(r#"{f}{{{l},reason="refused"}}"#)),
        "0"
    );
    let le = "vigil_health_check_local_errors_total";
    assert_eq!(value(&text, &format!(r#"{le}{{{l},errno="EMFILE"}}"#)), "5");
    let rs = r#"virtual_server="TCP 192.168.1.200:80",real_server="10.0.0.3:80""#;
    assert_eq!(
        value(&text, &format!("vigil_real_server_checks_total{{{rs}}}")),
        "40"
    );
    assert_eq!(
        value(
            &text,
            &format!("vigil_real_server_check_failures_total{{{rs}}}")
        ),
        "4"
    );
}

#[test]
fn a_scrape_at_the_config_bounds_is_bounded_in_size_and_time() {
    let s = at_bounds();
    // A scrape clones the published status first (`Published::status_with_tasks`).
    let t = std::time::Instant::now();
    let s = s.clone();
    eprintln!("status cloned in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let text = render(&s, None);
    let took = t.elapsed();
    eprintln!(
        "render at 1024 x 1024 destinations, 255 instances: {} bytes, {} lines, {took:?}",
        text.len(),
        text.lines().count()
    );
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    assert!(text.len() < 16 << 20, "{}", text.len());
    let t = std::time::Instant::now();
    let z = crate::metrics::serve::gzip(text.as_bytes());
    eprintln!("gzipped (level 1): {} bytes, {:?}", z.len(), t.elapsed());
    assert!(z.len() < text.len() / 8, "{}", z.len());
    assert_eq!(
        value(&text, "vigil_ipvs_destinations_omitted "),
        (1024 * 1024 - DEST_SERIES_MAX).to_string()
    );
    let per_dest = text
        .lines()
        .filter(|l| l.starts_with("vigil_real_server_up{"))
        .count();
    assert_eq!(per_dest, DEST_SERIES_MAX);
    families(&text);
}

#[test]
fn every_metric_the_grafana_dashboard_asks_for_is_rendered() {
    let dash = include_str!("../../contrib/grafana-vigil.json");
    let p = Process::default();
    let text = render(&status(), Some(&p));
    let families = families(&text);
    let mut asked = 0;
    for (at, _) in dash
        .match_indices("vigil_")
        .chain(dash.match_indices("process_"))
    {
        let name: String = dash[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // A histogram's series: its family's name and a suffix.
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|x| {
                name.strip_suffix(x)
                    .filter(|f| families.iter().any(|g| g == f))
            })
            .unwrap_or(&name);
        if families.iter().any(|f| f == family) {
            asked += 1;
            continue;
        }
        panic!("the dashboard asks for {name}, which is not rendered");
    }
    assert!(asked > 10, "{asked}");
}
