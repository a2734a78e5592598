//! The health-check families: per virtual server and checker kind, a
//! latency histogram, failures by reason and local errors by errno (checks
//! not made for a reason of this box); per real server with series
//! of its own, checks done and failed.
//!
//! Owns: those families' names, labels and the histogram's `le` series.
//! Must not: bound the per-destination series itself (it takes
//! `super::dests`, the same first destinations as every per-destination
//! family) or know how a latency is measured (`health::tally` does).
//!
//! The histogram is a Prometheus histogram: cumulative `_bucket` series
//! with an `le` label ending at `+Inf`, then `_sum` (seconds) and
//! `_count`, per series.

use super::{dests, Out, Type};
use crate::control::IpvsServiceStatus;
use crate::health::tally::BOUNDS_US;

pub(super) fn health_checks(o: &mut Out, services: &[IpvsServiceStatus]) {
    latency(o, services);
    failures(o, services);
    local_errors(o, services);
    per_real_server(o, services);
}

fn latency(o: &mut Out, services: &[IpvsServiceStatus]) {
    let name = "vigil_health_check_duration_seconds";
    o.family(
        name,
        Type::Histogram,
        "How long health checks took, from connect to verdict (a timed-out check counts at its timeout), by virtual server and checker.",
    );
    let le: Vec<String> = (BOUNDS_US.iter())
        .map(|&us| (us as f64 / 1e6).to_string())
        .chain(std::iter::once("+Inf".to_owned()))
        .collect();
    let bucket = format!("{name}_bucket");
    for v in services {
        for c in &v.checks {
            let labels = [
                ("virtual_server", v.service.as_str()),
                ("checker", &c.checker),
            ];
            let mut cumulative = 0u64;
            for (le, n) in le.iter().zip(&c.latency_buckets) {
                cumulative += n;
                let l = [labels[0], labels[1], ("le", le.as_str())];
                o.sample(&bucket, &l, cumulative);
            }
            o.sample(
                &format!("{name}_sum"),
                &labels,
                c.latency_sum_us as f64 / 1e6,
            );
            o.sample(&format!("{name}_count"), &labels, c.count);
        }
    }
}

fn failures(o: &mut Out, services: &[IpvsServiceStatus]) {
    let name = "vigil_health_check_failures_total";
    o.family(
        name,
        Type::Counter,
        "Failed health checks by virtual server, checker and reason (every reason the checker can report, 0 included).",
    );
    for v in services {
        for c in &v.checks {
            for (reason, n) in &c.failures {
                let l = [
                    ("virtual_server", v.service.as_str()),
                    ("checker", c.checker.as_str()),
                    ("reason", reason.as_str()),
                ];
                o.sample(name, &l, n);
            }
        }
    }
}

fn local_errors(o: &mut Out, services: &[IpvsServiceStatus]) {
    let name = "vigil_health_check_local_errors_total";
    o.family(
        name,
        Type::Counter,
        "Health checks not made for a reason of this box (no file descriptor, no buffer, no local port), by virtual server, checker and errno; not failures: the real server keeps its state.",
    );
    for v in services {
        for c in &v.checks {
            for (errno, n) in &c.local_errors {
                let l = [
                    ("virtual_server", v.service.as_str()),
                    ("checker", c.checker.as_str()),
                    ("errno", errno.as_str()),
                ];
                o.sample(name, &l, n);
            }
        }
    }
}

/// All of a real server's checkers together (their kinds are told apart
/// in the per-service families).
fn per_real_server(o: &mut Out, services: &[IpvsServiceStatus]) {
    let families = [
        (
            "vigil_real_server_checks_total",
            "Health checks of the real server, all its checkers together.",
        ),
        (
            "vigil_real_server_check_failures_total",
            "Failed health checks of the real server, all its checkers together.",
        ),
    ];
    for (k, (name, help)) in families.into_iter().enumerate() {
        o.family(name, Type::Counter, help);
        for (v, d) in dests(services) {
            let l = [("virtual_server", v), ("real_server", d.dest.as_str())];
            let n = if k == 0 {
                d.checks_done
            } else {
                d.checks_failed
            };
            o.sample(name, &l, n);
        }
    }
}
