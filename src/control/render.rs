//! Rendering of `vigil status` (a human table and JSON) and of what a
//! reload says (`vigil reload`, the status' last reload and pending list,
//! the journal).
//!
//! Owns: wording, layout and the JSON shape of the status, and the text of
//! every reload line ([`super::reload`]'s types, through `Display`). The JSON is
//! written by hand (serde_json is not a dependency; the shape is small and
//! flat): strings are escaped per RFC 8259, numbers are integers.
//! Must not: talk to the daemon.

use std::fmt::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use super::commit::{CommitOutcome, CommitReport, CommitStatus};
use super::reload::{
    Change, Diff, IpvsApply, LastReload, Line, NotApplied, Pending, ReloadOutcome,
};
use super::{
    BgpStatus, InstanceStatus, IpvsStatus, RuntimeStatus, ScriptStatus, Status, TaskStatus,
    WatchdogState, WatchdogStatus,
};

fn secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Human-readable status, one block per instance.
pub fn text(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "vigil: config {}, up {}", s.source, secs(s.uptime_ms));
    if let Some(r) = &s.reload {
        let _ = writeln!(out, "last reload: {r}");
    }
    if let Some(r) = &s.resumed {
        let _ = writeln!(out, "{r}");
    }
    if let Some(p) = pending_line(&s.pending) {
        let _ = writeln!(out, "PENDING A RESTART: {p}");
    }
    for l in commit_lines(&s.commit) {
        let _ = writeln!(out, "{l}");
    }
    for e in &s.appliance {
        let _ = writeln!(out, "APPLIANCE ERROR: {e}");
    }
    for w in &s.warnings {
        let _ = writeln!(out, "WARNING: {w}");
    }
    let _ = writeln!(out, "{}", watchdog_line(&s.watchdog));
    for r in &s.runtimes {
        let _ = writeln!(out, "{}", runtime_text(r));
    }
    out.push_str(&vrrp_text(s));
    if let Some(ipvs) = &s.ipvs {
        out.push_str(&ipvs_text(ipvs));
    }
    if let Some(b) = &s.bgp {
        out.push_str(&bgp_text(b));
    }
    for t in &s.tasks {
        let _ = writeln!(out, "{}", task_text(t));
    }
    out
}

/// The VRRP part of the status: one block per instance, the tracked
/// scripts, and receive sockets that dropped anything.
pub fn vrrp_text(s: &Status) -> String {
    let mut out = String::new();
    if s.instances.is_empty() {
        let _ = writeln!(out, "no vrrp instance");
    }
    for i in &s.instances {
        let _ = writeln!(
            out,
            "{} {} on {} vrid {} v{} ipv{}: priority {} (effective {}), master {}, advert {}, {} in state",
            i.name,
            i.state,
            i.interface,
            i.vrid,
            i.version,
            i.family,
            i.priority,
            i.effective_priority,
            if i.master.is_empty() { "unknown" } else { &i.master },
            secs(u64::from(i.advert_interval_ms)),
            secs(i.in_state_ms),
        );
        if let Some(e) = &i.error {
            let _ = writeln!(out, "  error: {e}");
        }
        if i.route_errors > 0 {
            let _ = writeln!(
                out,
                "  virtual route and rule calls failed: {} (see the journal)",
                i.route_errors
            );
        }
        if i.arp_theft > 0 {
            let _ = writeln!(
                out,
                "  arp theft: another MAC claimed a VIP {} times (see the journal; `vigil doctor`)",
                i.arp_theft
            );
        }
    }
    for sc in &s.scripts {
        let _ = writeln!(out, "{}", script_text(sc));
    }
    for r in &s.receivers {
        if !r.drops.is_empty() || r.kernel_dropped + r.queue_full + r.restarts > 0 {
            let _ = writeln!(
                out,
                "receiver {} ipv{}: kernel_dropped {}, queue_full {}, restarts {}",
                r.interface, r.family, r.kernel_dropped, r.queue_full, r.restarts
            );
        }
        if !r.drops.is_empty() {
            let d: Vec<String> = r.drops.iter().map(|(n, c)| format!("{n} {c}")).collect();
            let _ = writeln!(out, "  dropped: {}", d.join(", "));
        }
    }
    out
}

/// Health of every real server and tracked script, one line each.
pub fn health_text(s: &Status) -> String {
    let mut out = String::new();
    if let Some(t) = &s.ipvs {
        for svc in &t.services {
            for d in &svc.dests {
                let _ = writeln!(
                    out,
                    "{} -> {}: {}, {} consecutive failure{}, last check: {}",
                    svc.service,
                    d.dest,
                    d.health,
                    d.failures,
                    if d.failures == 1 { "" } else { "s" },
                    d.last
                );
            }
        }
    }
    for sc in &s.scripts {
        let _ = writeln!(out, "{}", script_text(sc));
    }
    if out.is_empty() {
        out.push_str("nothing is health-checked: no real server, no tracked script\n");
    }
    out
}

/// `runtime main: worst stall 3.2 ms, 0 stalls over 250 ms`.
fn runtime_text(r: &RuntimeStatus) -> String {
    format!(
        "runtime {}: worst stall {:.1} ms, {} stall{} over 250 ms",
        r.name,
        r.worst_stall_us as f64 / 1000.0,
        r.stalls,
        if r.stalls == 1 { "" } else { "s" }
    )
}

fn runtime_json(r: &RuntimeStatus) -> String {
    format!(
        "{{\"name\":{},\"worst_stall_us\":{},\"stalls\":{}}}",
        json_str(&r.name),
        r.worst_stall_us,
        r.stalls
    )
}

/// One supervised task in one line; a stalled one says so in capitals.
fn task_text(t: &TaskStatus) -> String {
    let state = if t.state == "stalled" {
        "STALLED".to_owned()
    } else {
        t.state.clone()
    };
    let deadline = t.deadline_ms.map_or("no deadline".to_owned(), |d| {
        format!("deadline {}", secs(d))
    });
    let mut line = format!(
        "task {}: {state}, checked in {} ago ({deadline}), {} restart{}",
        t.name,
        secs(t.check_in_age_ms),
        t.restarts,
        if t.restarts == 1 { "" } else { "s" }
    );
    if let Some(l) = &t.last_stop {
        let _ = write!(line, ", last stop: {l}");
    }
    line
}

/// The watchdogs in one line: "watchdog /dev/watchdog (i6300ESB timer)
/// 20s: petting; last reset by the watchdog; systemd WatchdogSec 5s".
pub fn watchdog_line(w: &WatchdogStatus) -> String {
    let mut out = match w.state {
        WatchdogState::Unused => "watchdog: not the appliance, hardware watchdog unused".to_owned(),
        WatchdogState::Opening => format!("watchdog {}: waiting for the device", w.device),
        WatchdogState::Absent => {
            format!(
                "watchdog: no watchdog device ({}): running without one",
                w.device
            )
        }
        WatchdogState::Failed => format!(
            "watchdog {}: FAILED ({}): running without it",
            w.device,
            w.error.as_deref().unwrap_or("unknown error")
        ),
        WatchdogState::Petting | WatchdogState::Withheld | WatchdogState::Disarmed => {
            let mut s = format!("watchdog {}", w.device);
            if let Some(id) = &w.identity {
                let _ = write!(s, " ({id})");
            }
            if let Some(t) = w.timeout_s {
                let _ = write!(s, " {t}s");
            }
            match w.state {
                WatchdogState::Withheld => {
                    let _ = write!(
                        s,
                        ": WITHHELD, the box resets (late: {})",
                        w.late.join(", ")
                    );
                }
                st => {
                    let _ = write!(s, ": {}", st.name());
                }
            }
            s
        }
    };
    if let Some(b) = &w.boot {
        let _ = write!(out, "; {b}");
    }
    if let Some(ms) = w.systemd_ms {
        let _ = write!(out, "; systemd WatchdogSec {}", secs(ms));
    }
    out
}

fn watchdog_json(w: &WatchdogStatus) -> String {
    let opt = |v: Option<&str>| v.map_or("null".to_owned(), json_str);
    let num = |v: Option<u64>| v.map_or("null".to_owned(), |n| n.to_string());
    let late: Vec<String> = w.late.iter().map(|l| json_str(l)).collect();
    format!(
        "{{\"state\":{},\"device\":{},\"identity\":{},\"timeout_s\":{},\"late\":[{}],\
         \"error\":{},\"reset_by_watchdog\":{},\"boot\":{},\"systemd_ms\":{}}}",
        json_str(w.state.name()),
        json_str(&w.device),
        opt(w.identity.as_deref()),
        num(w.timeout_s),
        late.join(","),
        opt(w.error.as_deref()),
        w.reset_by_watchdog,
        opt(w.boot.as_deref()),
        num(w.systemd_ms),
    )
}

fn task_json(t: &TaskStatus) -> String {
    format!(
        "{{\"name\":{},\"kind\":{},\"state\":{},\"check_in_age_ms\":{},\"deadline_ms\":{},\
         \"restarts\":{},\"last_stop\":{}}}",
        json_str(&t.name),
        json_str(&t.kind),
        json_str(&t.state),
        t.check_in_age_ms,
        t.deadline_ms.map_or("null".to_owned(), |d| d.to_string()),
        t.restarts,
        t.last_stop.as_deref().map_or("null".to_owned(), json_str),
    )
}

/// "TCP 1.2.3.4:80" -> "TCP  1.2.3.4:80", as ipvsadm spaces it.
fn ipvsadm_service(s: &str) -> String {
    match s.split_once(' ') {
        Some((proto, rest)) => format!("{proto}  {rest}"),
        None => s.to_owned(),
    }
}

/// The table the way `ipvsadm -Ln` prints it, with three more columns per
/// real server: health, consecutive failures, last check result. A
/// configured real server absent from the kernel shows `-` as its weight.
pub fn ipvs_text(t: &IpvsStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ipvs:");
    if let Some(e) = &t.error {
        let _ = writeln!(out, "  error: {e}");
    }
    if let Some(d) = &t.sync_daemon {
        let _ = writeln!(out, "sync daemon: {d}");
    }
    if let Some(line) = counters_age(t) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "Prot LocalAddress:Port Scheduler Flags");
    let _ = writeln!(
        out,
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Health Fails Last"
    );
    for svc in &t.services {
        let mut line = format!("{} {}", ipvsadm_service(&svc.service), svc.scheduler);
        if !svc.flags.is_empty() {
            let _ = write!(line, " ({})", svc.flags.join(","));
        }
        if let Some(p) = svc.persistent {
            let _ = write!(line, " persistent {p}");
            if let Some(m) = &svc.mask {
                let _ = write!(line, " mask {m}");
            }
        }
        if !svc.in_table {
            line.push_str(" (not in the kernel)");
        }
        if svc.misordered {
            line.push_str(" (DESTINATIONS OUT OF CONFIG ORDER: another box's mh table may differ)");
        }
        let local = local_errors(svc);
        if !local.is_empty() {
            let words: Vec<String> = local.iter().map(|(e, n)| format!("{e} {n}")).collect();
            let _ = write!(
                line,
                " (checks not made, this box's fault, not counted: {})",
                words.join(", ")
            );
        }
        let _ = writeln!(out, "{line}");
        for d in &svc.dests {
            let w = d.weight.map_or("-".to_owned(), |w| w.to_string());
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10} {:<6} {:<5} {}",
                d.dest, d.method, w, d.active, d.inactive, d.health, d.failures, d.last
            );
        }
    }
    for f in &t.foreign {
        let _ = writeln!(out, "not vigil's, left alone: {f}");
    }
    out
}

/// Counters and connection counts older than this are said to be: a
/// small table's are read every 2 s, a large one's less often
/// (`ipvs::refresh`), and the table alone does not say which.
const STALE_SHOWN_MS: u64 = 5_000;

/// How old the table's counters and connection counts are, when over
/// [`STALE_SHOWN_MS`].
fn counters_age(t: &IpvsStatus) -> Option<String> {
    let age = t.counters_age_ms.filter(|&ms| ms >= STALE_SHOWN_MS)?;
    let secs = |ms: u64| (ms + 500) / 1000;
    let every = t.counters_every_ms.map_or(String::new(), |e| {
        format!(" (the whole table is read every {} s at its size)", secs(e))
    });
    Some(format!(
        "counters and connection counts as read {} s ago{every}",
        secs(age)
    ))
}

/// A service's local errors by errno, all its checkers together, the
/// non-zero ones.
fn local_errors(svc: &super::IpvsServiceStatus) -> Vec<(&str, u64)> {
    let mut by: Vec<(&str, u64)> = Vec::new();
    for (e, n) in svc.checks.iter().flat_map(|c| &c.local_errors) {
        match by.iter_mut().find(|(w, _)| w == e) {
            Some(p) => p.1 += n,
            None => by.push((e.as_str(), *n)),
        }
    }
    by.retain(|p| p.1 > 0);
    by
}

fn ipvs_json(t: &IpvsStatus) -> String {
    let opt = |v: Option<u32>| v.map_or("null".to_owned(), |v| v.to_string());
    let services: Vec<String> = t
        .services
        .iter()
        .map(|s| {
            let dests: Vec<String> = s
                .dests
                .iter()
                .map(|d| {
                    format!(
                        "{{\"dest\":{},\"method\":{},\"weight\":{},\"active\":{},\"inactive\":{},\
                         \"health\":{},\"last\":{},\"failures\":{},\"dynamic_weight\":{},\
                         \"checks_done\":{},\"checks_failed\":{}}}",
                        json_str(&d.dest),
                        json_str(&d.method),
                        opt(d.weight),
                        d.active,
                        d.inactive,
                        json_str(&d.health),
                        json_str(&d.last),
                        d.failures,
                        opt(d.dynamic_weight),
                        d.checks_done,
                        d.checks_failed
                    )
                })
                .collect();
            format!(
                "{{\"service\":{},\"in_table\":{},\"misordered\":{},\"scheduler\":{},\
                 \"flags\":[{}],\"persistent\":{},\"mask\":{},\"local_errors\":{{{}}},\
                 \"dests\":[{}]}}",
                json_str(&s.service),
                s.in_table,
                s.misordered,
                json_str(&s.scheduler),
                s.flags
                    .iter()
                    .map(|f| json_str(f))
                    .collect::<Vec<_>>()
                    .join(","),
                opt(s.persistent),
                s.mask.as_deref().map_or("null".to_owned(), json_str),
                local_errors(s)
                    .iter()
                    .map(|(e, n)| format!("{}:{n}", json_str(e)))
                    .collect::<Vec<_>>()
                    .join(","),
                dests.join(",")
            )
        })
        .collect();
    let foreign: Vec<String> = t.foreign.iter().map(|f| json_str(f)).collect();
    let ms = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
    format!(
        "{{\"services\":[{}],\"foreign\":[{}],\"error\":{},\"sync_daemon\":{},\
         \"counters_age_ms\":{},\"counters_every_ms\":{}}}",
        services.join(","),
        foreign.join(","),
        t.error.as_deref().map_or("null".to_owned(), json_str),
        t.sync_daemon.as_deref().map_or("null".to_owned(), json_str),
        ms(t.counters_age_ms),
        ms(t.counters_every_ms)
    )
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn instance_json(i: &InstanceStatus) -> String {
    format!(
        "{{\"name\":{},\"state\":{},\"interface\":{},\"vrid\":{},\"version\":{},\"family\":{},\
         \"priority\":{},\"effective_priority\":{},\"master\":{},\"advert_interval_ms\":{},\
         \"in_state_ms\":{},\"route_errors\":{},\"arp_theft\":{},\"error\":{}}}",
        json_str(&i.name),
        json_str(&i.state),
        json_str(&i.interface),
        i.vrid,
        i.version,
        i.family,
        i.priority,
        i.effective_priority,
        json_str(&i.master),
        i.advert_interval_ms,
        i.in_state_ms,
        i.route_errors,
        i.arp_theft,
        i.error.as_deref().map_or("null".to_owned(), json_str),
    )
}

/// The status as one line of JSON.
pub fn json(s: &Status) -> String {
    let inst: Vec<String> = s.instances.iter().map(instance_json).collect();
    let recv: Vec<String> = s
        .receivers
        .iter()
        .map(|r| {
            let drops: Vec<String> = r
                .drops
                .iter()
                .map(|(n, c)| format!("{}:{c}", json_str(n)))
                .collect();
            format!(
                "{{\"interface\":{},\"family\":{},\"drops\":{{{}}},\"kernel_dropped\":{},\"queue_full\":{},\"restarts\":{}}}",
                json_str(&r.interface),
                r.family,
                drops.join(","),
                r.kernel_dropped,
                r.queue_full,
                r.restarts
            )
        })
        .collect();
    // "ipvs" only when the IPVS task runs: the lab probes for the key.
    let ipvs = s
        .ipvs
        .as_ref()
        .map_or(String::new(), |t| format!(",\"ipvs\":{}", ipvs_json(t)));
    // "tasks" only when the daemon has a supervisor (it always does).
    let tasks = if s.tasks.is_empty() {
        String::new()
    } else {
        let t: Vec<String> = s.tasks.iter().map(task_json).collect();
        format!(",\"tasks\":[{}]", t.join(","))
    };
    // "scripts" only when some script is tracked.
    let scripts = if s.scripts.is_empty() {
        String::new()
    } else {
        let t: Vec<String> = s.scripts.iter().map(script_json).collect();
        format!(",\"scripts\":[{}]", t.join(","))
    };
    // "appliance" only when something of the set-up failed.
    let appliance: Vec<String> = s.appliance.iter().map(|e| json_str(e)).collect();
    let appliance = if appliance.is_empty() {
        String::new()
    } else {
        format!(",\"appliance\":[{}]", appliance.join(","))
    };
    // "runtimes" only from a daemon (it always has them).
    let runtimes: Vec<String> = s.runtimes.iter().map(runtime_json).collect();
    let runtimes = if runtimes.is_empty() {
        String::new()
    } else {
        format!(",\"runtimes\":[{}]", runtimes.join(","))
    };
    // "warnings" only when there are some.
    let warnings: Vec<String> = s.warnings.iter().map(|w| json_str(w)).collect();
    let warnings = if warnings.is_empty() {
        String::new()
    } else {
        format!(",\"warnings\":[{}]", warnings.join(","))
    };
    let opt = |v: Option<String>| v.as_deref().map_or("null".to_owned(), json_str);
    // "commit" only when a commit confirmed waits or was rolled back.
    let commit = commit_lines(&s.commit);
    let commit = if commit.is_empty() {
        String::new()
    } else {
        let pending = s.commit.pending.map_or("null".to_owned(), |p| {
            format!("{{\"seq\":{},\"deadline\":{}}}", p.seq, p.deadline)
        });
        let rollback = s
            .commit
            .last_rollback
            .as_ref()
            .map_or("null".to_owned(), |r| {
                format!(
                    "{{\"of\":{},\"seq\":{},\"at\":{},\"error\":{}}}",
                    r.of,
                    r.seq.map_or("null".to_owned(), |s| s.to_string()),
                    r.at,
                    opt(r.error.clone())
                )
            });
        format!(",\"commit\":{{\"pending\":{pending},\"last_rollback\":{rollback}}}")
    };
    // "bgp" only with a bgp block.
    let bgp = s
        .bgp
        .as_ref()
        .map_or(String::new(), |b| format!(",\"bgp\":{}", bgp_json(b)));
    format!(
        "{{\"source\":{},\"uptime_ms\":{},\"reload\":{},\"pending\":{},\"resumed\":{},\"instances\":[{}],\"receivers\":[{}]{}{}{}{}{}{}{}{},\"watchdog\":{}}}",
        json_str(&s.source),
        s.uptime_ms,
        opt(s.reload.as_ref().map(ToString::to_string)),
        opt(pending_line(&s.pending)),
        opt(s.resumed.clone()),
        inst.join(","),
        recv.join(","),
        ipvs,
        tasks,
        appliance,
        warnings,
        scripts,
        commit,
        runtimes,
        bgp,
        // Last: tools that look for the first "state" find an instance's.
        watchdog_json(&s.watchdog)
    )
}

/// The anycast side: BIRD, the drain, what is announced, each session.
pub fn bgp_text(b: &BgpStatus) -> String {
    let mut out = String::new();
    let bird = match (&b.bird_error, b.bird_down_secs) {
        (None, _) => format!(
            "BIRD answering ({}{})",
            b.bird_pid
                .map_or("pid unknown".to_owned(), |p| format!("pid {p}")),
            match b.bird_restarts {
                0 => String::new(),
                1 => ", 1 restart seen".to_owned(),
                n => format!(", {n} restarts seen"),
            }
        ),
        (Some(e), secs) => format!("BIRD NOT ANSWERING for {} s: {e}", secs.unwrap_or(0)),
    };
    let drained = if b.drained { "DRAINED" } else { "not drained" };
    let _ = writeln!(out, "bgp: {bird}; {drained} (drain {})", b.drain);
    if let Some(e) = &b.config_error {
        let _ = writeln!(out, "  CONFIG ERROR: {e}");
    }
    if b.waiting_first_pass {
        let _ = writeln!(
            out,
            "  waiting for the first IPVS pass: BIRD keeps what it announced"
        );
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "  announced: {}", list(&b.announced));
    if !b.withheld.is_empty() {
        let _ = writeln!(
            out,
            "  withheld: {} (no quorum, not in the kernel, or drained)",
            list(&b.withheld)
        );
    }
    for n in &b.neighbors {
        let _ = write!(
            out,
            "  neighbor {} AS {}: {}",
            n.address, n.remote_as, n.session
        );
        if let Some(x) = n.exported {
            let _ = write!(out, ", {x} route{} exported", plural(x as usize));
        }
        if let Some(e) = &n.last_error {
            let _ = write!(out, " (last error: {e})");
        }
        out.push('\n');
    }
    out
}

fn bgp_json(b: &BgpStatus) -> String {
    let opt = |v: &Option<String>| v.as_deref().map_or("null".to_owned(), json_str);
    let strs = |v: &[String]| v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",");
    let neighbors: Vec<String> = (b.neighbors.iter())
        .map(|n| {
            format!(
                "{{\"address\":{},\"remote_as\":{},\"session\":{},\"last_error\":{},\"exported\":{}}}",
                json_str(&n.address),
                n.remote_as,
                json_str(&n.session),
                opt(&n.last_error),
                n.exported.map_or("null".to_owned(), |x| x.to_string())
            )
        })
        .collect();
    format!(
        "{{\"bird_error\":{},\"bird_down_secs\":{},\"bird_pid\":{},\"bird_restarts\":{},\"config_error\":{},\"drained\":{},\"drain\":{},\"waiting_first_pass\":{},\"announced\":[{}],\"withheld\":[{}],\"neighbors\":[{}]}}",
        opt(&b.bird_error),
        b.bird_down_secs.map_or("null".to_owned(), |s| s.to_string()),
        b.bird_pid.map_or("null".to_owned(), |p| p.to_string()),
        b.bird_restarts,
        opt(&b.config_error),
        b.drained,
        json_str(&b.drain),
        b.waiting_first_pass,
        strs(&b.announced),
        strs(&b.withheld),
        neighbors.join(",")
    )
}

/// `script chk_haproxy: OK, last exit 0, 12 runs`.
pub fn script_text(sc: &ScriptStatus) -> String {
    if let Some(v) = sc.value {
        return format!("track_file {}: value {v}, {} reads", sc.name, sc.runs);
    }
    let last = if sc.last.is_empty() {
        "no run yet".to_owned()
    } else {
        format!("last {}", sc.last)
    };
    format!("script {}: {}, {last}, {} runs", sc.name, sc.state, sc.runs)
}

fn script_json(sc: &ScriptStatus) -> String {
    let value = sc
        .value
        .map(|v| format!(",\"value\":{v}"))
        .unwrap_or_default();
    format!(
        "{{\"name\":{},\"state\":{},\"last\":{},\"runs\":{}{value}}}",
        json_str(&sc.name),
        json_str(&sc.state),
        json_str(&sc.last),
        sc.runs
    )
}

/// `HH:MM:SS UTC` of unix seconds (the date too when not today's is
/// beside the point: a window is at most a day).
fn clock(unix: u64) -> String {
    let full = crate::store::listing::utc(unix);
    match full.split_once(' ') {
        Some((_, time)) => format!("{time} UTC"),
        None => full,
    }
}

/// What `vigil status` says of a commit confirmed: the one waiting, the
/// last automatic rollback.
pub fn commit_lines(c: &CommitStatus) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &c.pending {
        out.push(format!(
            "COMMIT CONFIRMED pending: seq {} rolls back at {} unless confirmed",
            p.seq,
            clock(p.deadline)
        ));
    }
    if let Some(r) = &c.last_rollback {
        out.push(match (&r.seq, &r.error) {
            (Some(seq), _) => format!(
                "last automatic rollback: commit {} not confirmed in time, rolled back at {} (now seq {seq})",
                r.of,
                crate::store::listing::utc(r.at)
            ),
            (None, e) => format!(
                "last automatic rollback: commit {} not confirmed in time, rollback FAILED at {}: {}; a reset boots the last confirmed config",
                r.of,
                crate::store::listing::utc(r.at),
                e.as_deref().unwrap_or("unknown")
            ),
        });
    }
    out
}

/// A commit report as lines for standard output (what was committed and
/// applied) and standard error (warnings, errors, why nothing was
/// written).
pub fn commit_report(r: &CommitReport) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut err: Vec<String> = r.lines.iter().map(ToString::to_string).collect();
    match r.outcome {
        CommitOutcome::Committed => {
            let seq = r.seq.map_or_else(|| "?".to_owned(), |s| s.to_string());
            out.push(match r.confirm_by {
                Some(d) => format!(
                    "committed seq {seq}, CONFIRMED COMMIT: rolls back at {} unless `vigil confirm` comes first",
                    clock(d)
                ),
                None => format!("committed seq {seq}"),
            });
            if let Some(reload) = &r.reload {
                out.extend(reload.lines.iter().map(ToString::to_string));
                if matches!(reload.outcome, ReloadOutcome::Failed | ReloadOutcome::Invalid) {
                    err.push(format!(
                        "vigil: commit {seq} is written but did not apply fully ({}); see the journal",
                        reload.outcome
                    ));
                }
            }
        }
        CommitOutcome::Valid => err.push(format!("{}: ok, nothing written", "candidate")),
        CommitOutcome::Invalid => err.push("vigil: nothing committed".to_owned()),
        CommitOutcome::Stale { base, newest } => err.push(format!(
            "vigil: the running config changed since your candidate was made (seq {base}, now {newest}): reload it; nothing committed"
        )),
        CommitOutcome::NothingPending => {
            err.push("vigil: no commit confirmed waits for a confirm".to_owned());
        }
        CommitOutcome::Failed => err.push("vigil: nothing committed".to_owned()),
    }
    (out, err)
}

/// The pending list in one line ("a; b"); `None` when nothing waits.
pub fn pending_line(pending: &[Pending]) -> Option<String> {
    (!pending.is_empty()).then(|| {
        let parts: Vec<String> = pending.iter().map(ToString::to_string).collect();
        parts.join("; ")
    })
}

/// A report's lines in one line ("a; b"), as the journal has them.
pub fn lines_joined(lines: &[Line]) -> String {
    let parts: Vec<String> = lines.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::NoChange => f.write_str("no change"),
            Line::Applied { changes, pending } => write!(
                f,
                "{changes} change{} applied live{}",
                plural(*changes),
                if *pending {
                    ", others PENDING A RESTART"
                } else {
                    ""
                }
            ),
            Line::Change(c) => c.fmt(f),
            Line::Ipvs(i) => i.fmt(f),
            Line::Pending(p) => write!(f, "pending a restart: {p}"),
            Line::Warning(w) | Line::Refused(w) => f.write_str(w),
            Line::ReadAborted(e) => write!(f, "reading the config failed: {e}"),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::ServiceAdded {
                service,
                real_servers: n,
            } => write!(
                f,
                "virtual server {service} added with {n} real server{}",
                plural(*n)
            ),
            Change::ServiceRemoved { service } => write!(
                f,
                "virtual server {service} removed: its real servers drain, then it is deleted"
            ),
            Change::ServiceSettings { service } => {
                write!(f, "virtual server {service}: settings changed")
            }
            Change::RealServerAdded { service, real } => {
                write!(f, "virtual server {service}: real server {real} added")
            }
            Change::RealServerChanged { service, real } => {
                write!(f, "virtual server {service}: real server {real} changed")
            }
            Change::RealServerRemoved { service, real } => write!(
                f,
                "virtual server {service}: real server {real} removed: draining (weight 0) until its connections end"
            ),
            Change::LvsTimeouts => f.write_str("lvs_timeouts changed"),
            Change::ApplianceIpvs => f.write_str("appliance ipvs settings changed"),
            Change::ApplianceSetup { ops } => {
                write!(f, "appliance set-up applied ({ops} kernel changes)")
            }
            Change::ApplianceFailed { error } => f.write_str(error),
            Change::Metrics { listen: Some(a) } => {
                write!(f, "metrics endpoint bound again on {a}")
            }
            Change::Metrics { listen: None } => f.write_str("metrics endpoint stopped"),
            Change::Bgp {
                announced: Some(n),
            } => write!(f, "bgp: BIRD's config written again ({n} anycast addresses)"),
            Change::Bgp { announced: None } => {
                f.write_str("bgp: block removed, every route withdrawn")
            }
            Change::StaticRoutes {
                added,
                removed,
                failed,
            } => {
                write!(
                    f,
                    "static_routes / static_rules applied: {added} lines installed, {removed} removed"
                )?;
                match failed {
                    0 => Ok(()),
                    n => write!(f, " ({n} kernel calls FAILED: see the journal)"),
                }
            }
            Change::NoAcceptFilter { vips, error: None } => {
                write!(f, "no_accept filter applied: {vips} VIPs take balanced traffic only")
            }
            Change::NoAcceptFilter {
                vips,
                error: Some(e),
            } => write!(
                f,
                "no_accept filter for {vips} VIPs FAILED, the previous one stays in force: {e}"
            ),
            Change::MiscCheckScripts => f.write_str(
                "script_user / enable_script_security applied to the MISC_CHECKs (checks replaced)",
            ),
            Change::Notifier => f.write_str("notification and script settings applied"),
            Change::ConsolePassword => {
                f.write_str("console password changed: asked at the next console login")
            }
            Change::VrrpScripts { restarted: true } => {
                f.write_str("vrrp_script set applied: tracked scripts started again (unchanged ones kept their states)")
            }
            Change::VrrpScripts { restarted: false } => f.write_str("vrrp_script settings applied"),
            Change::InstanceStarted { name } => write!(f, "vrrp_instance {name} added: started"),
            Change::InstanceStopped { name } => write!(
                f,
                "vrrp_instance {name} removed: stopped (a master resigned first)"
            ),
            Change::InstanceApplied { name } => write!(f, "vrrp_instance {name} applied in place"),
            Change::InstanceNotApplied { name, why } => write!(
                f,
                "vrrp_instance {name} NOT applied ({why}): it runs as before until a restart"
            ),
            Change::SyncGroupApplied { name } => {
                write!(f, "vrrp_sync_group {name} applied in place")
            }
        }
    }
}

impl fmt::Display for NotApplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotApplied::NoInterface { interface } => write!(f, "no interface {interface}"),
            NotApplied::Refused(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for IpvsApply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsApply::Started => f.write_str("ipvs task and health checks started"),
            IpvsApply::NothingToProgram => {
                f.write_str("ipvs: nothing to program (no virtual_server, no lvs_timeouts)")
            }
            IpvsApply::Applied { ops, draining } => write!(
                f,
                "ipvs: {ops} op{} applied, {draining} real server{} draining",
                plural(*ops),
                plural(*draining)
            ),
            IpvsApply::Refused { ops, refused } => write!(
                f,
                "ipvs: {} of {ops} ops refused (retried): {}",
                refused.len(),
                refused.join("; ")
            ),
            IpvsApply::Unreachable(e) => {
                write!(f, "ipvs: cannot program the kernel (retried): {e}")
            }
            IpvsApply::Unplannable(e) => f.write_str(e),
            IpvsApply::Slow { bound } => {
                write!(f, "ipvs: first pass not done within {bound:?}; it goes on")
            }
            IpvsApply::Dropped => f.write_str("ipvs task dropped the commit"),
            IpvsApply::Gone => f.write_str("ipvs task is gone"),
        }
    }
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pending::Instance { name, diff } => write!(f, "vrrp_instance {name} {diff}"),
            Pending::SyncGroup { name, diff } => write!(f, "vrrp_sync_group {name} {diff}"),
            Pending::VrrpGlobals => {
                f.write_str("global_defs (VRRP, notification or script settings) changed")
            }
            Pending::LvsSyncDaemon => f.write_str("lvs_sync_daemon changed"),
            Pending::VrrpScripts => f.write_str("vrrp_script blocks changed"),
            Pending::Appliance => f.write_str("appliance watchdog changed"),
        }
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Diff::Added => "added",
            Diff::Changed => "changed",
            Diff::Removed => "removed",
        })
    }
}

impl fmt::Display for ReloadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReloadOutcome::Applied => "applied",
            ReloadOutcome::Unchanged => "unchanged",
            ReloadOutcome::Invalid => "REFUSED (invalid config)",
            ReloadOutcome::Failed => "FAILED",
        })
    }
}

/// "applied at Tue, 01 Dec 2026 10:00:00 +0000: 2 changes applied live".
impl fmt::Display for LastReload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = UNIX_EPOCH + Duration::from_secs(self.at_unix_secs);
        write!(
            f,
            "{} at {}: ",
            self.outcome,
            crate::notify::mail::rfc2822(at)
        )?;
        match &self.first {
            Some(l) => l.fmt(f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
