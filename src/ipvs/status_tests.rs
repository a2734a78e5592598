use super::*;
use crate::ipvs::wire::{Af, Service, IPPROTO_TCP};

fn persistent(netmask: u32) -> Service {
    Service {
        id: ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
        },
        scheduler: "wrr".into(),
        pe_name: None,
        flags: SVC_F_PERSISTENT,
        timeout: 300,
        netmask,
        stats: None,
    }
}

#[test]
fn the_mask_is_shown_only_when_persistent_and_wider_than_a_host() {
    assert_eq!(mask(&persistent(u32::MAX)), None, "one client address");
    let v4 = persistent(Service::netmask_for(Af::V4, 24));
    assert_eq!(mask(&v4).as_deref(), Some("255.255.255.0"));
    let not_persistent = Service { flags: 0, ..v4 };
    assert_eq!(mask(&not_persistent), None);
}

#[test]
fn methods_read_as_ipvsadm_prints_them() {
    assert_eq!(method_name(FwdMethod::Masq), "Masq");
    assert_eq!(method_name(FwdMethod::Route), "Route");
    assert_eq!(method_name(FwdMethod::Tunnel), "Tunnel");
}

/// A machine on the seed config, before any pass.
fn seed_machine() -> Machine {
    Machine::new(
        std::sync::Arc::new(crate::ipvs::machine::tests::seed()),
        None,
        std::time::Instant::now(),
    )
}

/// Before the first pass: every configured server, none in the table.
#[test]
fn before_any_pass_the_config_is_shown_as_wanted() {
    let machine = seed_machine();
    let st = view(&machine, None);
    assert_eq!(st.services.len(), 1);
    assert!(!st.services[0].in_table);
    let dests: Vec<(&str, Option<u32>)> = st.services[0]
        .dests
        .iter()
        .map(|d| (&*d.health, d.weight))
        .collect();
    assert_eq!(dests, [("up", None), ("up", None)]);
    assert_eq!(st.error, None);
    assert_eq!(st, machine.status(None));
}

#[test]
fn flags_are_named_as_their_scheduler_names_them() {
    use super::flag_names;
    use crate::ipvs::wire::{Af, Service, ServiceId, SVC_F_HASHED, SVC_F_ONEPACKET};
    use crate::ipvs::wire::{SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3};
    let svc = |sched: &str, flags| Service {
        id: ServiceId::Fwmark {
            af: Af::V4,
            mark: 1,
        },
        scheduler: sched.into(),
        pe_name: None,
        flags,
        timeout: 0,
        netmask: Service::netmask_for(Af::V4, 32),
        stats: None,
    };
    let all = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3 | SVC_F_ONEPACKET;
    let kernel = SVC_F_HASHED | SVC_F_PERSISTENT;
    assert_eq!(
        flag_names(&svc("sh", all | kernel)),
        ["sh-fallback", "sh-port", "flag-3", "ops"]
    );
    assert_eq!(flag_names(&svc("mh", SVC_F_SCHED2)), ["mh-port"]);
    assert_eq!(flag_names(&svc("rr", SVC_F_SCHED1)), ["flag-1"]);
    assert!(flag_names(&svc("wlc", kernel)).is_empty());
}

/// `servers` virtual servers of `reals` TCP-checked real servers each.
fn wide(servers: usize, reals: usize) -> crate::config::model::Config {
    use std::fmt::Write as _;
    let mut t = String::new();
    for v in 0..servers {
        let vip = std::net::Ipv4Addr::from(0x0a00_0001 + v as u32);
        let _ = writeln!(
            t,
            "virtual_server {vip} 80 {{\n lvs_method NAT\n protocol TCP"
        );
        for r in 0..reals {
            let rip = std::net::Ipv4Addr::from(0x0b00_0001 + (v * reals + r) as u32);
            let _ = writeln!(t, " real_server {rip} 8080 {{ TCP_CHECK {{ }} }}");
        }
        t.push_str("}\n");
    }
    match crate::config::import_str("wide.conf", &t, false) {
        Ok(i) => i.config,
        Err(e) => panic!("wide config: {:?}", e.errors),
    }
}

/// A table to time: a machine that has passed once against the fake
/// kernel (so its status lists the full table), and the health runner's
/// snapshot of the same config.
struct Timed {
    config: std::sync::Arc<crate::config::model::Config>,
    states: crate::health::States,
    machine: Machine,
}

impl Timed {
    fn new(config: crate::config::model::Config) -> Self {
        use crate::ipvs::kernel::FakeKernel;
        let plan = crate::health::Runner::new(&config, crate::health::RunnerConfig::default());
        let states = plan.expect("plan").snapshot();
        let config = std::sync::Arc::new(config);
        let t0 = std::time::Instant::now();
        let mut machine = Machine::new(config.clone(), Some(&states), t0);
        crate::ipvs::machine::tests::step(&mut machine, &mut FakeKernel::default(), t0)
            .expect("a pass is due");
        Timed {
            config,
            states,
            machine,
        }
    }

    /// Once: a new machine from the snapshot, and the full table's status.
    fn once(&self) -> std::time::Duration {
        let start = std::time::Instant::now();
        let fresh = Machine::new(self.config.clone(), Some(&self.states), start);
        let status = self.machine.status(Some(&self.states));
        let took = start.elapsed();
        drop(fresh);
        let listed: usize = status.services.iter().map(|s| s.dests.len()).sum();
        let dests = self
            .config
            .virtual_servers
            .iter()
            .map(|v| v.real_servers.len());
        assert_eq!(listed, dests.sum::<usize>());
        assert!(status.services.iter().all(|s| s.in_table));
        took
    }
}

/// Building the machine from the runner's snapshot and rendering its
/// status look up every checked real server; both must grow with the
/// table, not its square. Each once scanned every virtual server per
/// lookup, and the status every real server of its virtual server per
/// destination: seconds at 100,000 destinations, on the daemon's main
/// runtime. Eight times the table may cost at most sixteen times the
/// time (a linear cost is eight times, a quadratic one 64), for many
/// virtual servers of a few real servers and for a few of many.
#[test]
fn machine_and_status_cost_grows_linearly_with_the_table() {
    for (one, eight) in [((128, 10), (1_024, 10)), ((8, 128), (8, 1_024))] {
        let (small, large) = (
            Timed::new(wide(one.0, one.1)),
            Timed::new(wide(eight.0, eight.1)),
        );
        // Interleaved, the fastest of seven each: a busy machine slows
        // both alike, and the fastest run is the least disturbed. Up to
        // three such rounds (a machine busy with parallel tests can still
        // slow one round's small table alone); a quadratic cost fails
        // every round by four times the bound.
        let mut rounds = Vec::new();
        for _ in 0..3 {
            let (mut small_best, mut large_best) =
                (std::time::Duration::MAX, std::time::Duration::MAX);
            for _ in 0..7 {
                small_best = small_best.min(small.once());
                large_best = large_best.min(large.once());
            }
            let ratio = large_best.as_secs_f64() / small_best.as_secs_f64();
            rounds.push((small_best, large_best, ratio));
            if ratio < 16.0 {
                break;
            }
        }
        assert!(
            rounds.iter().any(|r| r.2 < 16.0),
            "{one:?} against {eight:?}, (small, large, ratio) per round: {rounds:?}"
        );
    }
}

fn real(addr: &str, last: Option<crate::health::Outcome>, failed: u64) -> health::RealStatus {
    health::RealStatus {
        service: ServiceKey::Addr {
            addr: "192.168.1.200".parse().unwrap(),
            port: 80,
        },
        real: (addr.parse().unwrap(), Some(80)),
        up: last.is_none_or(|o| o.is_ok()),
        last,
        last_check: None,
        consecutive_failures: u32::try_from(failed).unwrap(),
        checks_done: failed + 1,
        checks_failed: failed,
        weight: None,
    }
}

/// Each row finds its own server in the snapshot through the index (the
/// later of two entries for one server, as a map's insert kept it); a row
/// the snapshot lacks reads "none".
#[test]
fn each_row_shows_its_own_servers_check_detail() {
    let machine = seed_machine();
    let refused = Some(Err(crate::health::Failure::Refused));
    let mut states = health::States {
        servers: vec![
            real("192.168.1.103", None, 0),
            real("192.168.1.103", refused, 3),
        ],
        tallies: Vec::new(),
        stats: health::scheduler::Stats::default(),
        in_flight: 0,
        queued: 0,
    };
    let rows = |st: &IpvsStatus| -> Vec<(String, String, u32, u64, u64)> {
        (st.services[0].dests.iter())
            .map(|d| {
                let (dest, last) = (d.dest.clone(), d.last.to_string());
                (dest, last, d.failures, d.checks_done, d.checks_failed)
            })
            .collect()
    };
    let st = view(&machine, Some(&states));
    assert_eq!(
        rows(&st),
        [
            ("192.168.1.102:80".into(), "none".into(), 0, 0, 0),
            (
                "192.168.1.103:80".into(),
                "connection refused".into(),
                3,
                4,
                3
            ),
        ]
    );
    states.servers.push(real("192.168.1.102", Some(Ok(())), 0));
    let st = view(&machine, Some(&states));
    assert_eq!(
        rows(&st)[0],
        ("192.168.1.102:80".into(), "ok".into(), 0, 1, 0)
    );
}

/// The summary the service line reads counts what the status would show,
/// through a life with every kind of row: before the first pass, in the
/// table, a real server down, one draining, a retired service draining,
/// and the ip_vs error.
#[test]
fn the_summary_counts_what_the_status_shows() {
    use crate::ipvs::kernel::FakeKernel;
    use crate::ipvs::machine::tests::{event, seed, set_conns, sid, started, step, without};
    use std::sync::Arc;
    let same = |m: &Machine, when: &str| {
        let shown = crate::control::IpvsSummary::of(&view(m, None));
        assert_eq!(summary(m), shown, "{when}");
        shown
    };
    let t0 = std::time::Instant::now();
    same(&seed_machine(), "before any pass");
    let mut k = FakeKernel::default();
    let mut m = started(seed(), &mut k, t0);
    let s = same(&m, "in the table");
    assert_eq!((s.services, s.up, s.all), (1, 2, 2));
    m.handle_health(&event(102, false), t0);
    same(&m, "one down");
    set_conns(&mut k, sid(), 103, 2);
    m.reconfigure(Arc::new(without(seed(), 103)), t0);
    step(&mut m, &mut k, t0);
    same(&m, "one draining");
    let mut empty = seed();
    empty.virtual_servers.clear();
    m.reconfigure(Arc::new(empty), t0);
    step(&mut m, &mut k, t0);
    let s = same(&m, "a retired service draining");
    assert_eq!(s.services, 1, "the retired one, still in the table");
    let mut broken = FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    };
    let m = started(seed(), &mut broken, t0);
    let s = same(&m, "refused");
    assert!(s.error.is_some());
}
