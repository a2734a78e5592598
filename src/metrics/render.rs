//! `vigil status` as Prometheus text exposition format 0.0.4.
//!
//! Owns: the metric names, their HELP and TYPE lines, units (`_seconds`,
//! `_bytes`, `_total` counters), label escaping, and the bound on
//! per-destination series. Pure: a [`Status`] and a [`Process`] in, text
//! out. Must not: read the system, a clock or a watch (the caller gathers
//! both inputs), or name anything the status does not hold.
//!
//! Every family's samples are contiguous and follow its `# HELP` and
//! `# TYPE` lines, written once, as the format requires. Enumerations are
//! numbers explained in HELP (`vigil_vrrp_state`: 0 INIT, 1 BACKUP, 2
//! MASTER, 3 FAULT, 4 ERROR) so a series never changes its label set when
//! the state changes. A VRRP instance's label is `vrrp_instance`, not
//! `instance`: Prometheus gives every target an `instance` label and would
//! rename ours to `exported_instance`.
//!
//! Cardinality: every per-service family is written for every service
//! (at most 1,024); per-destination families for the first
//! [`DEST_SERIES_MAX`] destinations in config order, and
//! `vigil_ipvs_destinations_omitted` says how many more there are (their
//! connections still count in the per-service sums). At the config bounds
//! (1,024 x 1,024, 255 instances) a scrape is about 15 MB and 142,000
//! lines instead of over 600 MB (`render_tests` measures it). The
//! health-check families are in `checks`.

use std::fmt::{Display, Write};

mod checks;

use crate::control::{
    InstanceStatus, IpvsCounters, IpvsDestStatus, IpvsServiceStatus, ReloadOutcome, Status,
    WatchdogState,
};
use crate::vrrp::filter::DropReason;

/// Destinations with series of their own; 100 x 100, the benchmarked
/// scale, is all of them.
pub const DEST_SERIES_MAX: usize = 10_000;

/// The process's own facts, from `/proc/self` (see `super::process`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Process {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: u64,
    /// Since the Unix epoch.
    pub start_time_seconds: f64,
}

/// The whole exposition: `s` and, when it could be read, `p`.
pub fn render(s: &Status, p: Option<&Process>) -> String {
    let mut o = Out::default();
    daemon(&mut o, s);
    vrrp(&mut o, &s.instances);
    receivers(&mut o, s);
    ipvs(&mut o, s);
    tasks(&mut o, s);
    runtimes(&mut o, s);
    watchdog(&mut o, s);
    scripts(&mut o, s);
    if let Some(p) = p {
        process(&mut o, p);
    }
    o.text
}

#[derive(Clone, Copy)]
enum Type {
    Gauge,
    Counter,
    Histogram,
}

#[derive(Default)]
struct Out {
    text: String,
}

impl Out {
    /// `# HELP` and `# TYPE` of a family; its samples follow.
    fn family(&mut self, name: &str, ty: Type, help: &str) {
        let ty = match ty {
            Type::Gauge => "gauge",
            Type::Counter => "counter",
            Type::Histogram => "histogram",
        };
        self.text.push_str("# HELP ");
        self.text.push_str(name);
        self.text.push(' ');
        escape_help(help, &mut self.text);
        self.text.push_str("\n# TYPE ");
        self.text.push_str(name);
        self.text.push(' ');
        self.text.push_str(ty);
        self.text.push('\n');
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (n, (k, v)) in labels.iter().enumerate() {
                if n > 0 {
                    self.text.push(',');
                }
                self.text.push_str(k);
                self.text.push_str("=\"");
                escape_label(v, &mut self.text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, " {value}");
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, ty: Type, help: &str, value: impl Display) {
        self.family(name, ty, help);
        self.sample(name, &[], value);
    }
}

/// Label values: backslash, double quote and line feed escaped.
pub fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text: backslash and line feed escaped.
fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

fn daemon(o: &mut Out, s: &Status) {
    o.family(
        "vigil_build_info",
        Type::Gauge,
        "Always 1; the running vigil's version.",
    );
    o.sample(
        "vigil_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    o.single(
        "vigil_uptime_seconds",
        Type::Gauge,
        "Seconds since this daemon started (a hitless restart starts again).",
        secs(s.uptime_ms),
    );
    o.single(
        "vigil_config_pending_restart",
        Type::Gauge,
        "Sections of the loaded config that wait for a restart to apply.",
        s.pending.len(),
    );
    o.single(
        "vigil_appliance_setup_errors",
        Type::Gauge,
        "Items of the appliance block's set-up that failed at its last apply.",
        s.appliance.len(),
    );
    let (ok, at) = match &s.reload {
        Some(r) => (
            matches!(r.outcome, ReloadOutcome::Applied | ReloadOutcome::Unchanged),
            r.at_unix_secs,
        ),
        None => (true, 0),
    };
    o.single(
        "vigil_reload_last_success",
        Type::Gauge,
        "1 when the last reload applied (or had nothing to apply), 0 when it was refused or failed; 1 before any.",
        flag(ok),
    );
    let r = &s.reloads;
    o.family(
        "vigil_reloads_total",
        Type::Counter,
        "Reloads (and commits) since the daemon started, by outcome.",
    );
    for (outcome, n) in [
        ("applied", r.applied),
        ("unchanged", r.unchanged),
        ("invalid", r.invalid),
        ("failed", r.failed),
    ] {
        o.sample("vigil_reloads_total", &[("outcome", outcome)], n);
    }
    o.single(
        "vigil_reload_last_timestamp_seconds",
        Type::Gauge,
        "When the last reload ran, in seconds since the Unix epoch; 0 before any.",
        at,
    );
}

/// The state names of `vigil_vrrp_state`, in value order.
const VRRP_STATES: [&str; 5] = ["INIT", "BACKUP", "MASTER", "FAULT", "ERROR"];

fn vrrp(o: &mut Out, instances: &[InstanceStatus]) {
    let vrid: Vec<String> = instances.iter().map(|i| i.vrid.to_string()).collect();
    let labels = |n: usize| {
        let i = &instances[n];
        [
            ("vrrp_instance", i.name.as_str()),
            ("vrid", vrid[n].as_str()),
            ("interface", i.interface.as_str()),
        ]
    };
    o.family(
        "vigil_vrrp_state",
        Type::Gauge,
        "VRRP state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 ERROR (could not start).",
    );
    for (n, i) in instances.iter().enumerate() {
        let v = VRRP_STATES.iter().position(|s| *s == i.state).unwrap_or(4);
        o.sample("vigil_vrrp_state", &labels(n), v);
    }
    o.family(
        "vigil_vrrp_state_seconds",
        Type::Gauge,
        "Seconds the instance has been in its current state.",
    );
    for (n, i) in instances.iter().enumerate() {
        o.sample("vigil_vrrp_state_seconds", &labels(n), secs(i.in_state_ms));
    }
    o.family(
        "vigil_vrrp_priority",
        Type::Gauge,
        "Configured VRRP priority.",
    );
    for (n, i) in instances.iter().enumerate() {
        o.sample("vigil_vrrp_priority", &labels(n), i.priority);
    }
    o.family(
        "vigil_vrrp_effective_priority",
        Type::Gauge,
        "Priority after tracked interfaces and scripts.",
    );
    for (n, i) in instances.iter().enumerate() {
        o.sample(
            "vigil_vrrp_effective_priority",
            &labels(n),
            i.effective_priority,
        );
    }
    o.family(
        "vigil_vrrp_advert_interval_seconds",
        Type::Gauge,
        "Advertisement interval.",
    );
    for (n, i) in instances.iter().enumerate() {
        let v = f64::from(i.advert_interval_ms) / 1000.0;
        o.sample("vigil_vrrp_advert_interval_seconds", &labels(n), v);
    }
    type Count = fn(&InstanceStatus) -> u64;
    let counters: [(&str, &str, Count); 5] = [
        (
            "vigil_vrrp_adverts_sent_total",
            "Adverts sent by the instance (since its task started).",
            |i| i.adverts_sent,
        ),
        (
            "vigil_vrrp_adverts_received_total",
            "Adverts received and accepted by the instance's receive checks.",
            |i| i.adverts_received,
        ),
        (
            "vigil_vrrp_transitions_total",
            "State changes of the instance (INIT to BACKUP counts).",
            |i| i.transitions,
        ),
        (
            "vigil_vrrp_route_errors_total",
            "Failed netlink calls for the instance's virtual_routes and virtual_rules.",
            |i| i.route_errors,
        ),
        (
            "vigil_vrrp_arp_theft_total",
            "ARP replies or gratuitous ARPs of another MAC claiming one of the instance's VIPs while MASTER.",
            |i| i.arp_theft,
        ),
    ];
    for (name, help, get) in counters {
        o.family(name, Type::Counter, help);
        for (n, i) in instances.iter().enumerate() {
            o.sample(name, &labels(n), get(i));
        }
    }
}

fn receivers(o: &mut Out, s: &Status) {
    let fam: Vec<String> = s
        .receivers
        .iter()
        .map(|r| format!("ipv{}", r.family))
        .collect();
    receive_drops(o, s, &fam);
    type Get = fn(&crate::control::ReceiverStatus) -> u64;
    let families: [(&str, &str, Get); 4] = [
        (
            "vigil_vrrp_rx_kernel_dropped_total",
            "Datagrams the kernel dropped before the receive checks, the socket's buffer being full.",
            |r| r.kernel_dropped,
        ),
        (
            "vigil_vrrp_rx_address_list_mismatch_total",
            "Adverts accepted whose address list differs from the instance's (RFC 5798 7.1: logged, not dropped).",
            |r| count_of(&r.drops, DropReason::AddressListMismatch),
        ),
        (
            "vigil_vrrp_receive_queue_full_total",
            "Adverts dropped because an instance's queue was full.",
            |r| r.queue_full,
        ),
        (
            "vigil_vrrp_receive_restarts_total",
            "Times the receive socket task was restarted after an error or a panic.",
            |r| r.restarts,
        ),
    ];
    for (name, help, get) in families {
        o.family(name, Type::Counter, help);
        for (r, f) in s.receivers.iter().zip(&fam) {
            let l = [("interface", r.interface.as_str()), ("family", f.as_str())];
            o.sample(name, &l, get(r));
        }
    }
}

/// Every drop reason of every receive socket, 0 included.
fn receive_drops(o: &mut Out, s: &Status, fam: &[String]) {
    const NAME: &str = "vigil_vrrp_rx_dropped_total";
    o.family(
        NAME,
        Type::Counter,
        "Received datagrams dropped by the receive socket's checks, by reason (decode errors, RFC 5798 7.1), counted once per interface.",
    );
    for (r, f) in s.receivers.iter().zip(fam) {
        for reason in DropReason::ALL.iter().filter(|x| x.drops()) {
            let l = [
                ("interface", r.interface.as_str()),
                ("family", f.as_str()),
                ("reason", reason.name()),
            ];
            o.sample(NAME, &l, count_of(&r.drops, *reason));
        }
    }
}

fn count_of(drops: &[(String, u64)], reason: DropReason) -> u64 {
    drops
        .iter()
        .find(|(n, _)| n == reason.name())
        .map_or(0, |(_, c)| *c)
}

/// How a destination's health reads as a number.
fn up(d: &IpvsDestStatus) -> u8 {
    flag(matches!(&*d.health, "up" | "unchecked" | "sorry"))
}

fn ipvs(o: &mut Out, s: &Status) {
    let Some(t) = &s.ipvs else {
        return;
    };
    o.single(
        "vigil_ipvs_error",
        Type::Gauge,
        "1 when the kernel could not be fully programmed at the last pass (see vigil status).",
        flag(t.error.is_some()),
    );
    o.single(
        "vigil_ipvs_foreign_services",
        Type::Gauge,
        "Services in the kernel's table that vigil does not own (left alone).",
        t.foreign.len(),
    );
    if let Some(ms) = t.counters_age_ms {
        o.single(
            "vigil_ipvs_counters_age_seconds",
            Type::Gauge,
            "Seconds since the kernel's whole table was last read: its counters and \
             connection counts here are at most this old (read every 2 s, a large table \
             less often).",
            secs(ms),
        );
    }
    services(o, &t.services);
    service_counters(o, &t.services);
    destinations(o, &t.services);
    destination_counters(o, &t.services);
    checks::health_checks(o, &t.services);
}

/// The kernel's counters of each service that has them (`ipvsadm -Ln
/// --stats`, as of the IPVS task's last read of them: see
/// `vigil_ipvs_counters_age_seconds`).
fn service_counters(o: &mut Out, services: &[IpvsServiceStatus]) {
    let with = || {
        services
            .iter()
            .filter_map(|v| Some((v.service.as_str(), v.counters?)))
    };
    let name = "vigil_ipvs_service_connections_total";
    o.family(
        name,
        Type::Counter,
        "Connections the kernel scheduled to the service.",
    );
    for (v, c) in with() {
        o.sample(name, &[("virtual_server", v)], c.connections);
    }
    let pairs = [
        (
            "vigil_ipvs_service_packets_total",
            "Packets of the service, by direction (in: from clients).",
            (|c| (c.in_packets, c.out_packets)) as fn(&IpvsCounters) -> (u64, u64),
        ),
        (
            "vigil_ipvs_service_bytes_total",
            "Bytes of the service, by direction (in: from clients).",
            |c| (c.in_bytes, c.out_bytes),
        ),
    ];
    for (name, help, get) in pairs {
        o.family(name, Type::Counter, help);
        for (v, c) in with() {
            let (i, out) = get(&c);
            o.sample(name, &[("virtual_server", v), ("direction", "in")], i);
            o.sample(name, &[("virtual_server", v), ("direction", "out")], out);
        }
    }
}

/// The kernel's counters of each destination with series of its own
/// (packets are left to the services: bytes tell the same story).
fn destination_counters(o: &mut Out, services: &[IpvsServiceStatus]) {
    let with = || dests(services).filter_map(|(v, d)| Some((v, d.dest.as_str(), d.counters?)));
    let name = "vigil_ipvs_destination_connections_total";
    o.family(
        name,
        Type::Counter,
        "Connections the kernel scheduled to the real server.",
    );
    for (v, d, c) in with() {
        o.sample(
            name,
            &[("virtual_server", v), ("real_server", d)],
            c.connections,
        );
    }
    let name = "vigil_ipvs_destination_bytes_total";
    o.family(
        name,
        Type::Counter,
        "Bytes to and from the real server, by direction (in: from clients).",
    );
    for (v, d, c) in with() {
        let l = |dir| {
            [
                ("virtual_server", v),
                ("real_server", d),
                ("direction", dir),
            ]
        };
        o.sample(name, &l("in"), c.in_bytes);
        o.sample(name, &l("out"), c.out_bytes);
    }
}

/// The destinations with series of their own: the first
/// [`DEST_SERIES_MAX`] in config order, with their service's name.
fn dests(services: &[IpvsServiceStatus]) -> impl Iterator<Item = (&str, &IpvsDestStatus)> {
    services
        .iter()
        .flat_map(|v| v.dests.iter().map(move |d| (v.service.as_str(), d)))
        .take(DEST_SERIES_MAX)
}

fn services(o: &mut Out, services: &[IpvsServiceStatus]) {
    let sum = |v: &IpvsServiceStatus, f: fn(&IpvsDestStatus) -> u64| -> u64 {
        v.dests.iter().map(f).sum()
    };
    let rows: Vec<[u64; 5]> = services
        .iter()
        .map(|v| {
            [
                u64::from(v.in_table),
                v.dests.len() as u64,
                sum(v, |d| u64::from(up(d))),
                sum(v, |d| u64::from(d.active)),
                sum(v, |d| u64::from(d.inactive)),
            ]
        })
        .collect();
    let families: [(&str, &str); 5] = [
        (
            "vigil_ipvs_service_in_table",
            "1 when the kernel has the service vigil wants.",
        ),
        (
            "vigil_ipvs_service_destinations",
            "Real servers of the service (configured, draining and the sorry server).",
        ),
        (
            "vigil_ipvs_service_destinations_up",
            "Real servers of the service that are up (or unchecked, or the sorry server in use).",
        ),
        (
            "vigil_ipvs_service_active_connections",
            "Active connections to the service, summed over its destinations.",
        ),
        (
            "vigil_ipvs_service_inactive_connections",
            "Inactive connections to the service, summed over its destinations.",
        ),
    ];
    for (k, (name, help)) in families.into_iter().enumerate() {
        o.family(name, Type::Gauge, help);
        for (v, row) in services.iter().zip(&rows) {
            o.sample(name, &[("virtual_server", v.service.as_str())], row[k]);
        }
    }
}

fn destinations(o: &mut Out, services: &[IpvsServiceStatus]) {
    let total: usize = services.iter().map(|v| v.dests.len()).sum();
    type Get = fn(&IpvsDestStatus) -> i64;
    let families: [(&str, &str, Get); 6] = [
        (
            "vigil_ipvs_destination_active_connections",
            "Active connections (ipvsadm's ActiveConn).",
            |d| i64::from(d.active),
        ),
        (
            "vigil_ipvs_destination_inactive_connections",
            "Inactive connections (ipvsadm's InActConn).",
            |d| i64::from(d.inactive),
        ),
        (
            "vigil_ipvs_destination_weight",
            "Weight in the kernel's table; -1 when the kernel does not have the destination.",
            |d| d.weight.map_or(-1, i64::from),
        ),
        (
            "vigil_real_server_up",
            "1 when the real server is up (or unchecked, or the sorry server), 0 when down, draining or removed.",
            |d| i64::from(up(d)),
        ),
        (
            "vigil_real_server_draining",
            "1 while a real server a commit removed drains (weight 0 until its connections end).",
            |d| i64::from(d.health == "draining"),
        ),
        (
            "vigil_health_check_consecutive_failures",
            "Consecutive failed checks of the real server (the longest streak of its checkers).",
            |d| i64::from(d.failures),
        ),
    ];
    for (name, help, get) in families {
        o.family(name, Type::Gauge, help);
        for (service, d) in dests(services) {
            let l = [
                ("virtual_server", service),
                ("real_server", d.dest.as_str()),
            ];
            o.sample(name, &l, get(d));
        }
    }
    o.single(
        "vigil_ipvs_destinations_omitted",
        Type::Gauge,
        "Destinations beyond the per-destination series bound (10000), counted in the per-service families only.",
        total.saturating_sub(DEST_SERIES_MAX),
    );
}

fn tasks(o: &mut Out, s: &Status) {
    let families: [(&str, Type, &str); 3] = [
        (
            "vigil_task_running",
            Type::Gauge,
            "1 when the supervised task is running, 0 when stalled, restarting or ended.",
        ),
        (
            "vigil_task_check_in_age_seconds",
            Type::Gauge,
            "Seconds since the supervised task last checked in (the watchdog's liveness).",
        ),
        (
            "vigil_task_restarts_total",
            Type::Counter,
            "Restarts of the supervised task since the daemon started.",
        ),
    ];
    for (k, (name, ty, help)) in families.into_iter().enumerate() {
        o.family(name, ty, help);
        for t in &s.tasks {
            let l = [("task", t.name.as_str()), ("kind", t.kind.as_str())];
            match k {
                0 => o.sample(name, &l, flag(t.state == "running")),
                1 => o.sample(name, &l, secs(t.check_in_age_ms)),
                _ => o.sample(name, &l, t.restarts),
            }
        }
    }
}

fn runtimes(o: &mut Out, s: &Status) {
    let families: [(&str, Type, &str); 2] = [
        (
            "vigil_runtime_worst_stall_seconds",
            Type::Gauge,
            "The latest the runtime's timers ran since the daemon started (a long step held its thread).",
        ),
        (
            "vigil_runtime_stalls_total",
            Type::Counter,
            "Times the runtime's timers ran at least 250 ms late.",
        ),
    ];
    for (k, (name, ty, help)) in families.into_iter().enumerate() {
        o.family(name, ty, help);
        for r in &s.runtimes {
            let l = [("runtime", r.name.as_str())];
            match k {
                0 => o.sample(name, &l, r.worst_stall_us as f64 / 1e6),
                _ => o.sample(name, &l, r.stalls),
            }
        }
    }
}

const WATCHDOG_STATES: [WatchdogState; 7] = [
    WatchdogState::Unused,
    WatchdogState::Opening,
    WatchdogState::Absent,
    WatchdogState::Failed,
    WatchdogState::Petting,
    WatchdogState::Withheld,
    WatchdogState::Disarmed,
];

fn watchdog(o: &mut Out, s: &Status) {
    let w = &s.watchdog;
    o.family(
        "vigil_watchdog_state",
        Type::Gauge,
        "The hardware watchdog: 1 for its current state, 0 for the others.",
    );
    for st in WATCHDOG_STATES {
        o.sample(
            "vigil_watchdog_state",
            &[("state", st.name())],
            flag(st == w.state),
        );
    }
    o.single(
        "vigil_watchdog_last_reset_by_watchdog",
        Type::Gauge,
        "1 when the hardware said at start that the last reset was its own.",
        flag(w.reset_by_watchdog),
    );
    o.single(
        "vigil_watchdog_timeout_seconds",
        Type::Gauge,
        "The hardware watchdog's timeout; 0 when it is not open.",
        w.timeout_s.unwrap_or(0),
    );
}

fn scripts(o: &mut Out, s: &Status) {
    o.family(
        "vigil_script_ok",
        Type::Gauge,
        "Tracked script (vrrp_script): 1 OK, 0 FAIL, -1 no result yet (INIT).",
    );
    for sc in &s.scripts {
        let v: i8 = match sc.state.as_str() {
            "OK" => 1,
            "FAIL" => 0,
            _ => -1,
        };
        o.sample("vigil_script_ok", &[("script", sc.name.as_str())], v);
    }
    o.family(
        "vigil_script_runs_total",
        Type::Counter,
        "Runs of the tracked script.",
    );
    for sc in &s.scripts {
        o.sample(
            "vigil_script_runs_total",
            &[("script", sc.name.as_str())],
            sc.runs,
        );
    }
    o.family(
        "vigil_track_file_value",
        Type::Gauge,
        "The number a tracked file (track_file) holds, as last read.",
    );
    for sc in &s.scripts {
        if let Some(v) = sc.value {
            o.sample("vigil_track_file_value", &[("file", sc.name.as_str())], v);
        }
    }
}

fn process(o: &mut Out, p: &Process) {
    o.single(
        "process_cpu_seconds_total",
        Type::Counter,
        "User and system CPU time spent, in seconds.",
        p.cpu_seconds,
    );
    o.single(
        "process_resident_memory_bytes",
        Type::Gauge,
        "Resident memory size in bytes.",
        p.resident_bytes,
    );
    o.single(
        "process_virtual_memory_bytes",
        Type::Gauge,
        "Virtual memory size in bytes.",
        p.virtual_bytes,
    );
    o.single(
        "process_open_fds",
        Type::Gauge,
        "Open file descriptors.",
        p.open_fds,
    );
    o.single(
        "process_max_fds",
        Type::Gauge,
        "The limit of open file descriptors.",
        p.max_fds,
    );
    o.single(
        "process_start_time_seconds",
        Type::Gauge,
        "Start time of the process since the Unix epoch, in seconds.",
        p.start_time_seconds,
    );
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
