//! The IPVS task's decisions, stepped in virtual time against FakeKernel.

use super::*;
use crate::config::model::{Config, ServiceKey};
use crate::health::Failure;
use crate::ipvs::kernel::{dump, FakeKernel, Kernel, Op};
use crate::ipvs::pass::pass;
use crate::ipvs::refresh::STATUS_REFRESH;
use crate::ipvs::wire::DestId;

pub(crate) fn seed() -> Config {
    let path = format!("{}/fixtures/seed/master.conf", env!("CARGO_MANIFEST_DIR"));
    crate::config::import_file(std::path::Path::new(&path), false)
        .expect("seed imports")
        .config
}

fn with_alpha(mut c: Config) -> Config {
    for vs in &mut c.virtual_servers {
        vs.alpha = true;
    }
    c
}

fn with_inhibit(mut c: Config) -> Config {
    for vs in &mut c.virtual_servers {
        vs.inhibit_on_failure = true;
    }
    c
}

fn vip() -> ServiceKey {
    ServiceKey::Addr {
        addr: "192.168.1.200".parse().unwrap(),
        port: 80,
    }
}

pub(crate) fn event(last: u8, up: bool) -> HealthEvent {
    HealthEvent {
        service: vip(),
        protocol: crate::config::model::Protocol::Tcp,
        real: (std::net::IpAddr::from([192, 168, 1, last]), Some(80)),
        up,
        checker: 0,
        keyword: "TCP_CHECK",
        cause: if up { Ok(()) } else { Err(Failure::Refused) },
        state_changed: true,
        weight: None,
    }
}

fn rs(last: u8) -> DestId {
    DestId {
        addr: std::net::IpAddr::from([192, 168, 1, last]),
        port: 80,
    }
}

/// `ops` is exactly one SET_DEST of 192.168.1.`last` at `weight`.
fn only_set(ops: &[Op], last: u8, weight: u32) {
    assert!(
        matches!(ops, [Op::SetDest { dest, .. }] if dest.id == rs(last) && dest.weight == weight),
        "{ops:?}"
    );
}

/// `ops` is exactly one NEW_DEST of 192.168.1.`last` at `weight`.
fn only_new(ops: &[Op], last: u8, weight: u32) {
    assert!(
        matches!(ops, [Op::NewDest { dest, .. }] if dest.id == rs(last) && dest.weight == weight),
        "{ops:?}"
    );
}

/// Run the pass the machine asks for at `now` against `k`; returns its ops.
/// One pass if due, run as the task runs it: over the machine's table,
/// lent, and given back when the pass fails.
pub(crate) fn step(machine: &mut Machine, k: &mut FakeKernel, now: Instant) -> Option<Vec<Op>> {
    let req = machine.poll_pass(now)?;
    Some(run(machine, k, req, now))
}

/// [`step`]'s pass, asked for already.
fn run(machine: &mut Machine, k: &mut FakeKernel, mut req: PassRequest, now: Instant) -> Vec<Op> {
    req.last = machine.lend_table();
    let before = k.log.len();
    let r = pass(k, &mut req).map_err(Unavailable::kernel);
    if r.is_err() {
        machine.table_back(req.last.take());
    }
    machine.handle_pass(r, now);
    k.log[before..].to_vec()
}

/// The machine's error as `vigil status` shows it.
fn error(machine: &Machine) -> Option<String> {
    machine.error().map(ToString::to_string)
}

pub(crate) fn started(config: Config, k: &mut FakeKernel, t0: Instant) -> Machine {
    let mut machine = Machine::new(Arc::new(config), None, t0);
    assert_eq!(machine.poll_timeout(), Some(t0), "first pass at once");
    step(&mut machine, k, t0).expect("due at start");
    machine
}

#[test]
fn cold_start_programs_the_seed_then_a_restart_adopts_it_with_zero_ops() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let machine = started(seed(), &mut k, t0);
    assert_eq!(k.log.len(), 3, "{:?}", k.log);
    assert_eq!(k.table.dest_count(), 2);
    assert_eq!(machine.poll_timeout(), None, "nothing left to do");
    assert_eq!(error(&machine), None);

    // A restart: a new machine against the kernel as it stands.
    let mut again = Machine::new(Arc::new(seed()), None, t0);
    let ops = step(&mut again, &mut k, t0).unwrap();
    assert!(ops.is_empty(), "adopted: {ops:?}");
}

#[test]
fn a_down_event_removes_the_real_server_and_an_up_event_returns_it() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);

    machine.handle_health(&event(102, false), t0);
    assert_eq!(machine.poll_timeout(), Some(t0 + COALESCE));
    assert!(machine.poll_pass(t0).is_none(), "coalescing: not yet");
    let ops = step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    let sid = desired::service_id(&seed().virtual_servers[0]);
    assert_eq!(
        ops,
        vec![Op::DelDest {
            service: sid,
            dest: rs(102)
        }]
    );

    machine.handle_health(&event(102, true), t0 + COALESCE);
    let ops = step(&mut machine, &mut k, t0 + 2 * COALESCE).unwrap();
    only_new(&ops, 102, 1);
}

#[test]
fn with_inhibit_on_failure_a_down_server_stays_at_weight_zero() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(with_inhibit(seed()), &mut k, t0);
    machine.handle_health(&event(103, false), t0);
    let ops = step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    only_set(&ops, 103, 0);
}

#[test]
fn a_burst_of_events_is_one_pass_and_repeats_are_none() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    machine.handle_health(&event(102, false), t0);
    machine.handle_health(&event(103, false), t0 + COALESCE / 2);
    // The second event does not push the pass later.
    assert_eq!(machine.poll_timeout(), Some(t0 + COALESCE));
    let ops = step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    assert_eq!(ops.len(), 2, "{ops:?}");
    // The same state again changes nothing and schedules nothing.
    machine.handle_health(&event(103, false), t0 + COALESCE);
    assert_eq!(machine.poll_timeout(), None);
}

#[test]
fn alpha_servers_start_out_of_the_table_from_the_runner_snapshot() {
    let config = with_alpha(seed());
    let runner = crate::health::Runner::new(&config, Default::default()).unwrap();
    let snap = runner.snapshot();
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = Machine::new(Arc::new(config), Some(&snap), t0);
    let ops = step(&mut machine, &mut k, t0).unwrap();
    assert_eq!(ops.len(), 1, "the service only: {ops:?}");
    machine.handle_health(&event(103, true), t0);
    let ops = step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    assert!(matches!(&ops[..], [Op::NewDest { dest, .. }] if dest.id == rs(103)));
    let st = machine.status(Some(&snap));
    let d: Vec<(&str, Option<u32>, &str)> = st.services[0]
        .dests
        .iter()
        .map(|d| (d.dest.as_str(), d.weight, &*d.health))
        .collect();
    assert_eq!(
        d,
        [
            ("192.168.1.103:80", Some(1), "up"),
            ("192.168.1.102:80", None, "down")
        ]
    );
}

/// The health map holds the checked servers only: an unchecked one is up
/// whatever it says (`desired::health_of`), so at 100,000 unchecked
/// servers an entry each was memory for nothing. The unchecked server is
/// programmed all the same, even in an `alpha` service.
#[test]
fn the_health_map_holds_checked_servers_only() {
    let mut config = with_alpha(seed());
    let vs = &mut config.virtual_servers[0];
    let unchecked = vs.real_servers.iter_mut().find(|r| r.addr == rs(102).addr);
    unchecked.expect("the seed's 102").checkers.clear();
    let runner = crate::health::Runner::new(&config, Default::default()).unwrap();
    let snap = runner.snapshot();
    assert!(snap.servers.len() >= 2, "the runner lists every server");
    let t0 = Instant::now();
    let mut machine = Machine::new(Arc::new(config), Some(&snap), t0);
    let held: Vec<DestId> = machine.health().keys().map(|r| r.dest).collect();
    assert_eq!(held, [rs(103)]);
    let ops = step(&mut machine, &mut FakeKernel::default(), t0).unwrap();
    let added: Vec<DestId> = (ops.iter())
        .filter_map(|op| match op {
            Op::NewDest { dest, .. } => Some(dest.id),
            _ => None,
        })
        .collect();
    assert_eq!(added, [rs(102)], "the alpha 103 waits for its check");
}

#[test]
fn module_missing_is_an_error_in_status_retried_with_backoff() {
    let t0 = Instant::now();
    let mut machine = Machine::new(Arc::new(seed()), None, t0);
    let missing = || {
        Err(Unavailable::from_client(
            crate::ipvs::client::Error::ModuleNotLoaded,
        ))
    };
    machine.poll_pass(t0).unwrap();
    machine.handle_pass(missing(), t0);
    assert_eq!(error(&machine).as_deref(), Some("ip_vs module not loaded"));
    assert_eq!(machine.poll_timeout(), Some(t0 + BACKOFF_MIN));
    let st = machine.status(None);
    assert_eq!(st.error.as_deref(), Some("ip_vs module not loaded"));
    assert!(!st.services[0].in_table);
    assert_eq!(st.services[0].dests.len(), 2);

    let t1 = t0 + BACKOFF_MIN;
    machine.poll_pass(t1).unwrap();
    machine.handle_pass(missing(), t1);
    assert_eq!(
        machine.poll_timeout(),
        Some(t1 + 2 * BACKOFF_MIN),
        "doubles"
    );

    // The module arrives: the next pass programs it and clears the error.
    let mut k = FakeKernel::default();
    let t2 = t1 + 2 * BACKOFF_MIN;
    let ops = step(&mut machine, &mut k, t2).unwrap();
    assert_eq!(ops.len(), 3);
    assert_eq!(error(&machine), None);
    assert_eq!(machine.poll_timeout(), None);
}

#[test]
fn backoff_is_bounded() {
    let mut machine = Machine::new(Arc::new(seed()), None, Instant::now());
    let mut t = Instant::now();
    for _ in 0..20 {
        t = machine.poll_timeout().unwrap();
        machine.poll_pass(t).unwrap();
        machine.handle_pass(Err(Unavailable::kernel(std::io::Error::other("x"))), t);
    }
    assert_eq!(machine.poll_timeout(), Some(t + BACKOFF_MAX));
}

#[test]
fn a_refused_op_is_reported_and_retried_next_pass() {
    let t0 = Instant::now();
    let mut k = FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    };
    let mut machine = started(seed(), &mut k, t0);
    let err = error(&machine).expect("error surfaced");
    assert!(err.contains("NEW_SERVICE TCP 192.168.1.200:80"), "{err}");
    assert_eq!(machine.poll_timeout(), Some(t0 + BACKOFF_MIN));
    k.missing_schedulers.clear();
    let ops = step(&mut machine, &mut k, t0 + BACKOFF_MIN).unwrap();
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert_eq!(error(&machine), None);
}

#[test]
fn a_spurious_wakeup_does_nothing() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    assert!(machine.poll_pass(t0 + Duration::from_secs(60)).is_none());
}

// ---------------------------------------------------------------------------
// Config commits: drains, retired services, adoption.

pub(crate) fn sid() -> ServiceId {
    desired::service_id(&seed().virtual_servers[0])
}

pub(crate) fn without(mut c: Config, last: u8) -> Config {
    c.virtual_servers[0]
        .real_servers
        .retain(|r| r.addr != std::net::IpAddr::from([192, 168, 1, last]));
    c
}

fn with_rs(mut c: Config, last: u8) -> Config {
    let mut r = c.virtual_servers[0].real_servers[0].clone();
    r.addr = std::net::IpAddr::from([192, 168, 1, last]);
    c.virtual_servers[0].real_servers.push(r);
    c
}

/// The kernel reports `active` connections on a destination.
pub(crate) fn set_conns(k: &mut FakeKernel, service: ServiceId, last: u8, active: u32) {
    let d = k
        .table
        .services
        .get_mut(&service)
        .and_then(|e| e.dests.get_mut(&rs(last)))
        .expect("dest in the kernel");
    d.conns = Some(crate::ipvs::wire::ConnCounts {
        active,
        inactive: 0,
        persistent: 3,
    });
}

fn weight(k: &FakeKernel, service: ServiceId, last: u8) -> Option<u32> {
    k.table.services[&service]
        .dests
        .get(&rs(last))
        .map(|d| d.weight)
}

#[test]
fn a_commit_adding_a_real_server_adds_it_at_once() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    machine.reconfigure(Arc::new(with_rs(seed(), 104)), t0);
    assert_eq!(machine.poll_timeout(), Some(t0), "a commit passes at once");
    let ops = step(&mut machine, &mut k, t0).unwrap();
    only_new(&ops, 104, 1);
    assert!(machine.draining().is_empty());
}

/// The seed's table with .103 holding 5 connections, then a commit
/// without .103 at `t0`: its pass sets .103 to weight 0 and drains it.
fn draining_103(k: &mut FakeKernel, t0: Instant) -> Machine {
    let mut machine = started(seed(), k, t0);
    set_conns(k, sid(), 103, 5);
    machine.reconfigure(Arc::new(without(seed(), 103)), t0);
    only_set(&step(&mut machine, k, t0).unwrap(), 103, 0);
    machine
}

#[test]
fn a_drain_ends_on_a_read_of_its_service_alone() {
    use crate::ipvs::kernel::dump_services_into;
    use crate::ipvs::refresh::{Schedule, Scope};
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = draining_103(&mut k, t0);

    // A table whose whole read is costly: the next refresh reads the
    // draining service only, and that is enough to end the drain.
    let mut reads = Schedule::new(t0);
    reads.full_read(t0, std::time::Duration::from_secs(1));
    let t1 = t0 + STATUS_REFRESH;
    let scope = reads.scope(t1, machine.draining().keys().map(|r| r.service));
    let Some(Scope::Services(ids)) = scope else {
        panic!("want the draining service, got {scope:?}")
    };
    assert_eq!(ids, BTreeSet::from([sid()]));
    set_conns(&mut k, sid(), 103, 0);
    let mut t = machine.lend_table().expect("the pass left a table");
    dump_services_into(&mut k, &mut t, &ids).unwrap();
    machine.handle_refresh(t, t1);
    assert!(machine.draining().is_empty());
    assert_eq!(
        step(&mut machine, &mut k, t1).unwrap(),
        vec![Op::DelDest {
            service: sid(),
            dest: rs(103)
        }]
    );
}

#[test]
fn a_removed_real_server_drains_at_weight_zero_until_its_connections_end() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = draining_103(&mut k, t0);
    assert_eq!(weight(&k, sid(), 103), Some(0));
    assert_eq!(machine.draining().len(), 1);
    assert_eq!(
        machine.status(None).services[0]
            .dests
            .iter()
            .find(|d| d.dest == "192.168.1.103:80")
            .map(|d| &*d.health),
        Some("draining")
    );
    assert_eq!(
        machine.poll_timeout(),
        Some(t0 + DRAIN_TIMEOUT),
        "only the drain timer"
    );

    // Connections still open at a status refresh: nothing happens.
    let t1 = t0 + STATUS_REFRESH;
    machine.handle_refresh(dump(&mut k).unwrap(), t1);
    assert!(machine.poll_pass(t1).is_none());
    // The last one ends (persistence templates do not count): deleted.
    set_conns(&mut k, sid(), 103, 0);
    let t2 = t1 + STATUS_REFRESH;
    machine.handle_refresh(dump(&mut k).unwrap(), t2);
    assert!(machine.draining().is_empty());
    let ops = step(&mut machine, &mut k, t2).unwrap();
    assert_eq!(
        ops,
        vec![Op::DelDest {
            service: sid(),
            dest: rs(103)
        }]
    );
    assert_eq!(weight(&k, sid(), 102), Some(1), "the other one untouched");
}

#[test]
fn a_drain_ends_at_its_timeout_with_connections_left() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    machine = machine.with_drain_timeout(Duration::from_secs(60));
    set_conns(&mut k, sid(), 103, 5);
    machine.reconfigure(Arc::new(without(seed(), 103)), t0);
    step(&mut machine, &mut k, t0).unwrap();
    let t1 = t0 + Duration::from_secs(59);
    machine.handle_refresh(dump(&mut k).unwrap(), t1);
    assert!(machine.poll_pass(t1).is_none());
    let t2 = t0 + Duration::from_secs(60);
    assert_eq!(machine.poll_timeout(), Some(t2));
    let ops = step(&mut machine, &mut k, t2).unwrap();
    assert_eq!(
        ops,
        vec![Op::DelDest {
            service: sid(),
            dest: rs(103)
        }]
    );
    assert_eq!(machine.poll_timeout(), None);
}

#[test]
fn a_real_server_committed_back_stops_draining_and_gets_its_weight() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    set_conns(&mut k, sid(), 103, 5);
    machine.reconfigure(Arc::new(without(seed(), 103)), t0);
    step(&mut machine, &mut k, t0).unwrap();
    machine.reconfigure(Arc::new(seed()), t0);
    assert!(machine.draining().is_empty());
    let ops = step(&mut machine, &mut k, t0).unwrap();
    only_set(&ops, 103, 1);
}

#[test]
fn a_removed_service_drains_then_is_deleted() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    set_conns(&mut k, sid(), 102, 2);
    let mut empty = seed();
    empty.virtual_servers.clear();
    machine.reconfigure(Arc::new(empty), t0);
    let ops = step(&mut machine, &mut k, t0).unwrap();
    // Both quiesced; the idle one's drain ends on the dump after the pass.
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(weight(&k, sid(), 102), Some(0));
    assert_eq!(
        machine
            .draining()
            .keys()
            .map(|r| r.dest)
            .collect::<Vec<_>>(),
        [rs(102)]
    );
    assert_eq!(
        machine.poll_timeout(),
        Some(t0),
        "the idle one goes at once"
    );
    let ops = step(&mut machine, &mut k, t0).unwrap();
    assert_eq!(
        ops,
        vec![Op::DelDest {
            service: sid(),
            dest: rs(103)
        }]
    );
    assert!(
        k.table.services.contains_key(&sid()),
        "kept while one drains"
    );
    let shown = machine.status(None);
    assert_eq!(shown.services.len(), 1, "the retired service is shown");
    assert_eq!(shown.services[0].dests[0].health, "draining");
    let t1 = t0 + STATUS_REFRESH;
    machine.handle_refresh(dump(&mut k).unwrap(), t1);
    assert!(machine.poll_pass(t1).is_none(), "102 still has connections");
    set_conns(&mut k, sid(), 102, 0);
    let t2 = t1 + STATUS_REFRESH;
    machine.handle_refresh(dump(&mut k).unwrap(), t2);
    let ops = step(&mut machine, &mut k, t2).unwrap();
    assert_eq!(ops, vec![Op::DelService(sid())]);
    // Nothing more: the retired service is forgotten once gone.
    assert_eq!(machine.poll_timeout(), None);
    assert!(step(&mut machine, &mut k, t2 + STATUS_REFRESH).is_none());
}

/// A restart on the table a DR-path config programmed: the path
/// service's destination (the real server at port 0, which no
/// `real_server` names) is wanted, so no stray: nothing drains, nothing
/// is said to be "not in the config".
#[test]
fn a_restart_adopts_dr_path_services_without_strays() {
    let text = "appliance {\n interface eth0 {\n  address 192.168.1.100/24\n }\n}\n\
                virtual_server 192.168.1.200 80 {\n lvs_method DR\n\
                 real_server 192.168.1.101 80 {\n  TCP_CHECK {\n  }\n }\n}\n";
    let config = || {
        crate::config::import_str("t.conf", text, false)
            .unwrap_or_else(|r| panic!("{:?}", r.lines()))
            .config
    };
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let first = started(config(), &mut k, t0);
    assert_eq!(first.paths().len(), 1, "one DR path");
    assert_eq!(k.table.services.len(), 2, "the service and its path's");
    let mut again = Machine::new(Arc::new(config()), None, t0);
    let ops = step(&mut again, &mut k, t0).unwrap();
    assert!(ops.is_empty(), "adopted: {ops:?}");
    assert!(
        again.draining().is_empty(),
        "strays: {:?}",
        again.draining()
    );
}

#[test]
fn at_start_a_stray_real_server_of_an_owned_service_is_drained_not_cut() {
    // The kernel holds an earlier config's table (rs 104 included); the
    // config vigil starts with lacks rs 104.
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    started(with_rs(seed(), 104), &mut k, t0);
    set_conns(&mut k, sid(), 104, 7);
    let mut machine = Machine::new(Arc::new(seed()), None, t0);
    let ops = step(&mut machine, &mut k, t0).unwrap();
    only_set(&ops, 104, 0);
    assert_eq!(machine.draining().len(), 1);
    // Later passes do not adopt again: a server whose drain ended goes.
    set_conns(&mut k, sid(), 104, 0);
    machine.handle_refresh(dump(&mut k).unwrap(), t0 + STATUS_REFRESH);
    let ops = step(&mut machine, &mut k, t0 + STATUS_REFRESH).unwrap();
    assert_eq!(
        ops,
        vec![Op::DelDest {
            service: sid(),
            dest: rs(104)
        }]
    );
}

#[test]
fn health_of_kept_servers_carries_over_a_commit() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    machine.handle_health(&event(102, false), t0);
    step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    assert_eq!(weight(&k, sid(), 102), None);
    // A commit that only adds a server: 102 stays out (still down).
    machine.reconfigure(Arc::new(with_rs(seed(), 104)), t0 + COALESCE);
    let ops = step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    assert!(
        matches!(&ops[..], [Op::NewDest { dest, .. }] if dest.id == rs(104)),
        "{ops:?}"
    );
}

#[test]
fn quorum_changes_are_handed_out_once() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut c = seed();
    c.virtual_servers[0].quorum = 2;
    let mut machine = started(c, &mut k, t0);
    assert!(machine.take_quorum_changes().is_empty());
    machine.handle_health(&event(102, false), t0);
    step(&mut machine, &mut k, t0 + COALESCE).unwrap();
    let q = machine.take_quorum_changes();
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(!q[0].up);
    assert!(machine.take_quorum_changes().is_empty());
    assert!(machine.virtual_server(&q[0].service).is_some());
}

#[test]
fn a_misc_dynamic_weight_is_set_in_place_and_kept_until_the_event_says_otherwise() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(seed(), &mut k, t0);
    let configured = k.table.services.values().next().unwrap().dests[&rs(102)].weight;

    // Exit 12 of a dynamic MISC_CHECK: weight 10, no state change.
    let mut ev = event(102, true);
    ev.state_changed = false;
    ev.weight = Some(10);
    machine.handle_health(&ev, t0);
    let t1 = t0 + COALESCE;
    let ops = step(&mut machine, &mut k, t1).expect("due");
    only_set(&ops, 102, 10);
    assert!(k.log.iter().all(|o| !matches!(o, Op::DelDest { .. })));

    // Down, then up again with the weight it last set: back at 10.
    let mut down = event(102, false);
    down.weight = Some(10);
    machine.handle_health(&down, t1);
    let t2 = t1 + COALESCE;
    let ops = step(&mut machine, &mut k, t2).expect("due");
    assert!(matches!(ops.as_slice(), [Op::DelDest { .. }]), "{ops:?}");
    let mut up = event(102, true);
    up.weight = Some(10);
    machine.handle_health(&up, t2);
    let t3 = t2 + COALESCE;
    only_new(&step(&mut machine, &mut k, t3).expect("due"), 102, 10);

    // The same weight again costs nothing; no weight: the configured one.
    machine.handle_health(&up, t3);
    assert_eq!(machine.poll_timeout(), None);
    machine.handle_health(&event(102, true), t3);
    let ops = step(&mut machine, &mut k, t3 + COALESCE).expect("due");
    only_set(&ops, 102, configured);
}

#[test]
fn one_health_event_of_a_group_s_real_server_moves_it_in_every_service_of_the_group() {
    let text = "virtual_server_group G {\n 10.0.0.1-3 80\n fwmark 4\n}\nvirtual_server group G {\n protocol TCP\n lvs_method DR\n real_server 192.168.1.5 {\n  TCP_CHECK {\n   connect_port 80\n  }\n }\n real_server 192.168.1.6 {\n }\n}\n";
    let c = crate::config::import_str("t", text, false)
        .expect("valid")
        .config;
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(c, &mut k, t0);
    let table = dump(&mut k).expect("dumps");
    assert_eq!(table.services.len(), 4, "three addresses and a mark");
    assert!(table.services.values().all(|e| e.dests.len() == 2));
    let mut ev = event(5, false);
    ev.service = ServiceKey::Addr {
        addr: "10.0.0.1".parse().unwrap(),
        port: 80,
    };
    ev.real = ("192.168.1.5".parse().unwrap(), None);
    machine.handle_health(&ev, t0);
    let ops = step(&mut machine, &mut k, t0 + Duration::from_secs(1)).expect("a pass");
    assert_eq!(ops.len(), 4, "one removal per service: {ops:?}");
    assert!(
        ops.iter().all(|o| matches!(o, Op::DelDest { .. })),
        "{ops:?}"
    );
}

const TWO_SERVICES: &str = "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 192.168.1.5 80 {\n  TCP_CHECK {\n  }\n }\n real_server 192.168.1.6 80 {\n }\n}\nvirtual_server 10.0.0.2 80 {\n protocol TCP\n lb_algo lc\n real_server 192.168.1.7 80 {\n  TCP_CHECK {\n  }\n }\n}\n";

fn two_services() -> (Config, ServiceId, ServiceId) {
    let c = crate::config::import_str("t", TWO_SERVICES, false)
        .expect("valid")
        .config;
    let id = |vs: usize| desired::service_id(&c.virtual_servers[vs]);
    let ids = (id(0), id(1));
    (c, ids.0, ids.1)
}

fn down(service: &str, last: u8) -> HealthEvent {
    HealthEvent {
        service: ServiceKey::Addr {
            addr: service.parse().unwrap(),
            port: 80,
        },
        ..event(last, false)
    }
}

#[test]
fn a_health_pass_covers_the_services_it_touches_and_a_commit_the_whole_table() {
    let (c, one, two) = two_services();
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let foreign = ServiceId::Fwmark {
        af: crate::ipvs::wire::Af::V4,
        mark: 99,
    };
    k.apply(&Op::NewService(crate::ipvs::wire::Service {
        id: foreign,
        scheduler: "rr".into(),
        pe_name: None,
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        stats: None,
    }))
    .unwrap();
    let mut machine = started(c.clone(), &mut k, t0);
    assert_eq!(machine.foreign(), &[foreign]);
    // Another program changes the second service behind vigil's back.
    let drift = |k: &FakeKernel| k.table.services[&two].dests[&rs(7)].weight;
    k.table
        .services
        .get_mut(&two)
        .unwrap()
        .dests
        .get_mut(&rs(7))
        .unwrap()
        .weight = 9;

    machine.handle_health(&down("10.0.0.1", 5), t0);
    let t1 = t0 + COALESCE;
    let req = machine.poll_pass(t1).expect("due");
    assert_eq!(req.scope, Some(BTreeSet::from([one])));
    assert_eq!(
        req.desired.table.services.keys().collect::<Vec<_>>(),
        [&one]
    );
    let ops = run(&mut machine, &mut k, req, t1);
    assert_eq!(
        ops,
        [Op::DelDest {
            service: one,
            dest: rs(5)
        }]
    );
    assert_eq!(drift(&k), 9, "the other service is not read or diffed");
    assert_eq!(machine.foreign(), &[foreign], "kept from the whole pass");
    let table = machine.table().expect("back from the pass");
    assert_eq!(table.services.len(), 3, "the rest of the table kept");
    assert!(!table.services[&one].dests.contains_key(&rs(5)));

    // A commit (here of the same config) passes over the whole table.
    machine.reconfigure(Arc::new(c), t1);
    let req = machine.poll_pass(t1).expect("due");
    assert_eq!(req.scope, None);
    let ops = run(&mut machine, &mut k, req, t1);
    assert_eq!(drift(&k), 1, "repaired: {ops:?}");
}

/// [`two_services`] started on a kernel without the second one's
/// scheduler (`lc`): the machine, the kernel, the two services.
fn started_with_lc_refused(t0: Instant) -> (Machine, FakeKernel, ServiceId, ServiceId) {
    let (c, one, two) = two_services();
    let mut k = FakeKernel {
        missing_schedulers: vec!["lc".into()],
        ..FakeKernel::default()
    };
    let machine = started(c, &mut k, t0);
    (machine, k, one, two)
}

#[test]
fn a_refusal_standing_makes_the_next_pass_whole() {
    let t0 = Instant::now();
    let (mut machine, mut k, one, two) = started_with_lc_refused(t0);
    assert!(error(&machine).is_some(), "the second service was refused");
    assert!(!k.table.services.contains_key(&two));
    k.missing_schedulers.clear();

    // A health change before the retry: the pass is whole, and retries.
    machine.handle_health(&down("10.0.0.1", 5), t0);
    let req = machine.poll_pass(t0 + COALESCE).expect("due");
    assert_eq!(req.scope, None);
    run(&mut machine, &mut k, req, t0 + COALESCE);
    assert!(k.table.services.contains_key(&two), "retried");
    assert_eq!(error(&machine), None);

    // With no error standing, the next one is scoped again.
    let mut up = down("10.0.0.1", 5);
    up.up = true;
    machine.handle_health(&up, t0 + COALESCE);
    let req = machine.poll_pass(t0 + 2 * COALESCE).expect("due");
    assert_eq!(req.scope, Some(BTreeSet::from([one])));
}

#[test]
fn a_service_gone_from_the_kernel_at_a_refresh_is_put_back_by_a_whole_pass() {
    let (c, _, two) = two_services();
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let mut machine = started(c, &mut k, t0);
    assert_eq!(machine.poll_timeout(), None, "nothing due");
    // Another program deletes the second service (`ipvsadm -D`).
    k.apply(&Op::DelService(two)).unwrap();
    let t1 = t0 + STATUS_REFRESH;
    machine.handle_refresh(dump(&mut k).unwrap(), t1);
    assert_eq!(machine.poll_timeout(), Some(t1), "due at once");
    let req = machine.poll_pass(t1).expect("due");
    assert_eq!(req.scope, None, "whole");
    let ops = run(&mut machine, &mut k, req, t1);
    assert!(k.table.services.contains_key(&two), "put back: {ops:?}");
    machine.handle_refresh(dump(&mut k).unwrap(), t1 + STATUS_REFRESH);
    assert_eq!(machine.poll_timeout(), None, "then nothing more");
}

#[test]
fn a_refused_service_missing_at_a_refresh_waits_for_its_retry() {
    let t0 = Instant::now();
    let (mut machine, mut k, _, two) = started_with_lc_refused(t0);
    let retry = machine.poll_timeout().expect("a retry after the refusal");
    assert!(retry > t0);
    assert!(!k.table.services.contains_key(&two));
    machine.handle_refresh(dump(&mut k).unwrap(), t0);
    assert_eq!(machine.poll_timeout(), Some(retry), "the backoff stands");
}

/// A hitless restart's handed table: the first pass plans against it
/// (no read: a service the kernel lost meanwhile is not seen), and a
/// whole pass that reads the kernel is due at once and repairs it. Only
/// a machine whose table the kernel is known to hold hands one over.
#[test]
fn a_handed_table_is_planned_against_then_the_kernel_is_read_at_once() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let old = started(seed(), &mut k, t0);
    let bytes = old.handover_table().expect("adopted, no error");
    let handed: Table = postcard::from_bytes(&bytes).expect("decodes");
    assert_eq!(Some(&handed), old.table());
    // Another program removes a destination after the handover.
    let sid = desired::service_id(&seed().virtual_servers[0]);
    k.apply(&Op::DelDest {
        service: sid,
        dest: rs(102),
    })
    .unwrap();

    let mut new = Machine::new(Arc::new(seed()), None, t0).with_handed_table(handed.clone());
    let req = new.poll_pass(t0).expect("due at start");
    assert!(req.trust_last && req.adopt.is_some());
    let ops = run(&mut new, &mut k, req, t0);
    assert!(ops.is_empty(), "planned against the handed table: {ops:?}");
    assert_eq!(new.table(), Some(&handed));
    assert!(new.handover_table().is_none(), "not adopted yet");
    assert_eq!(new.poll_timeout(), Some(t0), "the read is due at once");
    let req = new.poll_pass(t0).expect("due");
    assert!(!req.trust_last && req.scope.is_none() && req.adopt.is_some());
    let ops = run(&mut new, &mut k, req, t0);
    only_new(&ops, 102, 1);
    assert_eq!(new.poll_timeout(), None, "nothing left to do");
    assert!(new.handover_table().is_some());
    // Later passes read the kernel as usual.
    new.handle_health(&event(102, false), t0);
    let req = new.poll_pass(t0 + COALESCE).expect("due");
    assert!(!req.trust_last);

    // A machine whose last pass had an op refused hands nothing over.
    let mut k = FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    };
    let refused = started(seed(), &mut k, t0);
    assert!(error(&refused).is_some());
    assert!(refused.handover_table().is_none());
    // Nor does one that has not passed yet.
    assert!(Machine::new(Arc::new(seed()), None, t0)
        .handover_table()
        .is_none());
}

/// The trusting pass cannot reach the kernel: the handed table is given
/// back and the retry reads the kernel (it trusts nothing any more).
#[test]
fn a_failed_trusting_pass_is_retried_with_a_read() {
    let t0 = Instant::now();
    let mut k = FakeKernel::default();
    let old = started(seed(), &mut k, t0);
    let handed = old.table().cloned().expect("a table");
    let mut new = Machine::new(Arc::new(seed()), None, t0).with_handed_table(handed.clone());
    let req = new.poll_pass(t0).expect("due at start");
    assert!(req.trust_last);
    // As the task runs it: lent, and back when the pass fails.
    assert_eq!(new.lend_table(), Some(handed.clone()));
    new.table_back(Some(handed));
    new.handle_pass(Err(Unavailable::ModuleMissing), t0);
    let at = new.poll_timeout().expect("a retry");
    assert!(at > t0, "after a backoff");
    let req = new.poll_pass(at).expect("the retry");
    assert!(!req.trust_last && req.adopt.is_some());
}
