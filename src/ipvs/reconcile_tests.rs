//! Op-count tests: each kind of change costs exactly the ops it needs.

use super::*;
use crate::ipvs::kernel::{apply_all, dump, Entry, FakeKernel};
use crate::ipvs::wire::{Af, ConnCounts, FwdMethod, IPPROTO_TCP, SVC_F_PERSISTENT};
use std::net::IpAddr;

fn sid(port: u16) -> ServiceId {
    ServiceId::Addr {
        protocol: IPPROTO_TCP,
        addr: "192.168.1.200".parse().unwrap(),
        port,
    }
}

fn svc(port: u16) -> Service {
    Service {
        id: sid(port),
        scheduler: "wrr".into(),
        pe_name: None,
        flags: SVC_F_PERSISTENT,
        timeout: 3600,
        netmask: Service::netmask_for(Af::V4, 32),
        stats: None,
    }
}

fn dest(last: u8, weight: u32) -> Dest {
    Dest {
        id: DestId {
            addr: IpAddr::from([192, 168, 1, last]),
            port: 80,
        },
        fwd: FwdMethod::Route,
        weight,
        u_thresh: 0,
        l_thresh: 0,
        tunnel: None,
        conns: None,
        stats: None,
    }
}

fn table(services: &[(u16, &[(u8, u32)])]) -> Table {
    let mut t = Table::default();
    for (port, dests) in services {
        let mut e = Entry::new(svc(*port));
        for (last, w) in *dests {
            let d = dest(*last, *w);
            e.dests.insert(d.id, d);
        }
        t.services.insert(sid(*port), e);
    }
    t
}

fn want(t: Table) -> Desired {
    Desired {
        table: t,
        ..Desired::default()
    }
}

/// A fake kernel holding `actual`, the plan, and the kernel after it.
fn run(desired: &Desired, actual: &Table, retired: &BTreeSet<ServiceId>) -> (Plan, FakeKernel) {
    let mut k = FakeKernel::with(actual);
    let before = dump(&mut k).unwrap();
    let plan = diff(desired, &before, retired);
    let failed = apply_all(&mut k, &plan.ops);
    assert!(failed.is_empty(), "{failed:?}");
    let after = dump(&mut k).unwrap();
    assert!(
        diff(desired, &after, retired).is_empty(),
        "second diff not empty"
    );
    (plan, k)
}

fn cmds(p: &Plan) -> Vec<&'static str> {
    p.ops.iter().map(|o| o.cmd().name()).collect()
}

#[test]
fn cold_start_adds_everything_then_adopts() {
    let t = table(&[(80, &[(102, 1), (103, 1)])]);
    let (p, _) = run(&want(t.clone()), &Table::default(), &BTreeSet::new());
    assert_eq!(cmds(&p), ["NEW_SERVICE", "NEW_DEST", "NEW_DEST"]);
    // A restart finds the same table: nothing to do.
    let (p, _) = run(&want(t.clone()), &t, &BTreeSet::new());
    assert!(p.is_empty());
}

#[test]
fn weight_change_is_one_set_dest() {
    let have = table(&[(80, &[(102, 1), (103, 1)])]);
    let t = table(&[(80, &[(102, 5), (103, 1)])]);
    let (p, _) = run(&want(t), &have, &BTreeSet::new());
    assert_eq!(cmds(&p), ["SET_DEST"]);
}

#[test]
fn method_and_threshold_changes_are_one_set_dest_each() {
    let have = table(&[(80, &[(102, 1), (103, 1)])]);
    let mut t = have.clone();
    let e = t.services.get_mut(&sid(80)).unwrap();
    e.dests.values_mut().next().unwrap().fwd = FwdMethod::Masq;
    e.dests.values_mut().nth(1).unwrap().u_thresh = 100;
    let (p, _) = run(&want(t), &have, &BTreeSet::new());
    assert_eq!(cmds(&p), ["SET_DEST", "SET_DEST"]);
}

#[test]
fn scheduler_or_persistence_change_is_one_set_service() {
    let have = table(&[(80, &[(102, 1)])]);
    for change in [
        |s: &mut Service| s.scheduler = "wlc".into(),
        |s: &mut Service| s.timeout = 7200,
        |s: &mut Service| s.netmask = 0xffff_ff00,
        |s: &mut Service| {
            s.flags = 0;
            s.timeout = 0
        },
    ] {
        let mut t = have.clone();
        change(&mut t.services.get_mut(&sid(80)).unwrap().service);
        let (p, _) = run(&want(t), &have, &BTreeSet::new());
        assert_eq!(cmds(&p), ["SET_SERVICE"]);
    }
}

#[test]
fn unwanted_dest_in_an_owned_service_goes() {
    let have = table(&[(80, &[(102, 1), (103, 1), (104, 1)])]);
    let t = table(&[(80, &[(102, 1), (103, 1)])]);
    let (p, _) = run(&want(t), &have, &BTreeSet::new());
    assert_eq!(cmds(&p), ["DEL_DEST"]);
}

#[test]
fn adds_come_before_deletes() {
    let have = table(&[(80, &[(102, 1)])]);
    let t = table(&[(80, &[(103, 1)])]);
    let (p, _) = run(&want(t), &have, &BTreeSet::new());
    assert_eq!(cmds(&p), ["NEW_DEST", "DEL_DEST"]);
}

#[test]
fn foreign_services_are_reported_and_untouched() {
    let have = table(&[(80, &[(102, 1)]), (8080, &[(110, 3)])]);
    let t = table(&[(80, &[(102, 1)])]);
    let (p, k) = run(&want(t), &have, &BTreeSet::new());
    assert!(p.is_empty());
    assert_eq!(p.foreign, vec![sid(8080)]);
    assert_eq!(k.table.services[&sid(8080)].dests.len(), 1);
}

#[test]
fn retired_service_is_deleted_whole() {
    let have = table(&[(80, &[(102, 1)]), (443, &[(102, 1)])]);
    let t = table(&[(80, &[(102, 1)])]);
    let (p, k) = run(&want(t), &have, &BTreeSet::from([sid(443)]));
    assert_eq!(cmds(&p), ["DEL_SERVICE"]);
    assert!(p.foreign.is_empty());
    assert!(!k.table.services.contains_key(&sid(443)));
}

#[test]
fn removed_real_server_drains_then_goes() {
    let have = table(&[(80, &[(102, 1), (103, 1)])]);
    let mut d = want(table(&[(80, &[(102, 1)])]));
    let drain = RealId {
        service: sid(80),
        dest: dest(103, 1).id,
    };
    d.draining.insert(drain);
    let (p, k) = run(&d, &have, &BTreeSet::new());
    assert_eq!(cmds(&p), ["SET_DEST"]);
    assert_eq!(k.table.services[&sid(80)].dests[&drain.dest].weight, 0);
    // Drain over: the caller drops it from the set.
    d.draining.clear();
    let (p, _) = run(&d, &k.table, &BTreeSet::new());
    assert_eq!(cmds(&p), ["DEL_DEST"]);
}

#[test]
fn retired_service_with_draining_dests_is_kept_until_drained() {
    let have = table(&[(443, &[(102, 1), (103, 1)])]);
    let mut d = want(Table::default());
    let r = |last| RealId {
        service: sid(443),
        dest: dest(last, 1).id,
    };
    d.draining = BTreeSet::from([r(102), r(103)]);
    let retired = BTreeSet::from([sid(443)]);
    let (p, k) = run(&d, &have, &retired);
    assert_eq!(cmds(&p), ["SET_DEST", "SET_DEST"]);
    d.draining.remove(&r(102));
    let (p, k) = run(&d, &k.table, &retired);
    assert_eq!(cmds(&p), ["DEL_DEST"]);
    d.draining.clear();
    let (p, k) = run(&d, &k.table, &retired);
    assert_eq!(cmds(&p), ["DEL_SERVICE"]);
    assert!(k.table.services.is_empty());
}

#[test]
fn kernel_only_fields_never_cause_ops() {
    let t = table(&[(80, &[(102, 1)])]);
    let mut k = FakeKernel::with(&t);
    let e = k.table.services.get_mut(&sid(80)).unwrap();
    e.service.stats.as_mut().unwrap().conns = 1000;
    let d = e.dests.values_mut().next().unwrap();
    d.conns.as_mut().unwrap().active = 42;
    assert!(e.service.flags & SVC_F_HASHED != 0);
    let actual = dump(&mut k).unwrap();
    assert!(diff(&want(t), &actual, &BTreeSet::new()).is_empty());
}

#[test]
fn a_flags_change_is_one_set_service_in_place() {
    use crate::ipvs::wire::{SVC_F_ONEPACKET, SVC_F_SCHED1, SVC_F_SCHED2};
    let have = table(&[(80, &[(102, 1), (103, 1)])]);
    // sh-port added, then ops, then both cleared: each one SET_SERVICE,
    // the destinations untouched (no flush, no delete + add).
    let mut before = have.clone();
    for flags in [
        SVC_F_PERSISTENT | SVC_F_SCHED2,
        SVC_F_PERSISTENT | SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_ONEPACKET,
        SVC_F_PERSISTENT,
    ] {
        let mut t = have.clone();
        t.services.get_mut(&sid(80)).unwrap().service.flags = flags;
        let (p, k) = run(&want(t), &before, &BTreeSet::new());
        assert_eq!(cmds(&p), ["SET_SERVICE"], "flags {flags:#x}");
        let e = &k.table.services[&sid(80)];
        assert_eq!(e.service.flags & !SVC_F_HASHED, flags);
        assert_eq!(e.dests.len(), 2);
        before = k.table.clone();
    }
}

/// An `mh` service on port 80 with `dests` (no order of its own).
fn mh_table(dests: &[(u8, u32)]) -> Table {
    let mut t = table(&[(80, dests)]);
    t.services.get_mut(&sid(80)).unwrap().service.scheduler = "mh".into();
    t
}

/// A desired anycast-like service on port 80: `dests` in config order,
/// the entry keeping the list order a fresh start gives (the reverse).
fn in_config_order(dests: &[(u8, u32)]) -> Desired {
    let mut t = mh_table(dests);
    let e = t.services.get_mut(&sid(80)).unwrap();
    e.order = dests
        .iter()
        .rev()
        .map(|(last, w)| dest(*last, *w).id)
        .collect();
    want(t)
}

fn kernel_order(k: &mut FakeKernel) -> Vec<u8> {
    let t = dump(k).unwrap();
    (t.services[&sid(80)].order.iter())
        .map(|d| match d.addr {
            IpAddr::V4(a) => a.octets()[3],
            IpAddr::V6(_) => unreachable!("v4 only here"),
        })
        .collect()
}

#[test]
fn an_ordered_service_is_added_in_config_order() {
    let d = in_config_order(&[(103, 1), (102, 1), (104, 1)]);
    let (p, mut k) = run(&d, &Table::default(), &BTreeSet::new());
    assert_eq!(
        cmds(&p),
        ["NEW_SERVICE", "NEW_DEST", "NEW_DEST", "NEW_DEST"]
    );
    assert_eq!(kernel_order(&mut k), [104, 102, 103]);
    assert!(p.misordered.is_empty());
}

#[test]
fn a_real_server_appended_to_an_ordered_service_is_one_add() {
    // The kernel as a fresh start with [102, 103] left it: 103 at the head.
    let actual = mh_table(&[(102, 1), (103, 1)]);
    let d = in_config_order(&[(102, 1), (103, 1), (101, 1)]);
    let (p, mut k) = run(&d, &actual, &BTreeSet::new());
    assert_eq!(cmds(&p), ["NEW_DEST"]);
    assert_eq!(kernel_order(&mut k), [101, 103, 102]);
}

#[test]
fn one_inserted_before_idle_ones_moves_them() {
    let actual = mh_table(&[(102, 1), (103, 1)]);
    let d = in_config_order(&[(102, 1), (101, 1), (103, 1)]);
    let (p, mut k) = run(&d, &actual, &BTreeSet::new());
    // 103 is taken out and added back after 101; 102 stays.
    assert_eq!(cmds(&p), ["DEL_DEST", "NEW_DEST", "NEW_DEST"]);
    assert_eq!(kernel_order(&mut k), [103, 101, 102]);
    assert!(p.misordered.is_empty());
}

#[test]
fn one_inserted_before_busy_ones_goes_first_and_is_reported() {
    let mut actual = mh_table(&[(102, 1), (103, 1)]);
    let busy = dest(103, 1).id;
    actual
        .services
        .get_mut(&sid(80))
        .unwrap()
        .dests
        .get_mut(&busy)
        .unwrap()
        .conns = Some(ConnCounts {
        active: 0,
        inactive: 1,
        persistent: 0,
    });
    let d = in_config_order(&[(102, 1), (101, 1), (103, 1)]);
    let (p, mut k) = run(&d, &actual, &BTreeSet::new());
    assert_eq!(cmds(&p), ["NEW_DEST"]);
    assert_eq!(kernel_order(&mut k), [101, 103, 102]);
    assert_eq!(p.misordered, [sid(80)]);
    // Once 103 is idle, the next pass puts it in place.
    let before = dump(&mut k).unwrap();
    let mut idle = before.clone();
    let e = idle.services.get_mut(&sid(80)).unwrap();
    e.dests.get_mut(&busy).unwrap().conns = Some(ConnCounts::default());
    let again = diff(&d, &idle, &BTreeSet::new());
    assert!(again.misordered.is_empty());
    assert_eq!(
        cmds(&again),
        ["DEL_DEST", "DEL_DEST", "NEW_DEST", "NEW_DEST"]
    );
    let mut k = FakeKernel::with(&Table::default());
    k.table = idle;
    assert!(apply_all(&mut k, &again.ops).is_empty());
    assert_eq!(kernel_order(&mut k), [103, 101, 102]);
}

/// The kernel's list order is kept for `mh` alone: another scheduler's
/// service has none in a dump, and its new destinations go in id order.
#[test]
fn only_an_mh_service_has_its_order_dumped() {
    let mut k = FakeKernel::with(&table(&[(80, &[(102, 1), (103, 1)])]));
    assert!(dump(&mut k).unwrap().services[&sid(80)].order.is_empty());
    let mut k = FakeKernel::with(&mh_table(&[(102, 1), (103, 1)]));
    assert_eq!(kernel_order(&mut k), [103, 102]);
}

#[test]
fn an_ordered_service_changes_weights_and_drops_dests_in_place() {
    let actual = mh_table(&[(101, 1), (102, 1), (103, 1)]);
    // Config order 101, 102, 103 is the fresh start's: 103 at the head.
    let d = in_config_order(&[(101, 1), (103, 0)]);
    let (p, mut k) = run(&d, &actual, &BTreeSet::new());
    assert_eq!(cmds(&p), ["SET_DEST", "DEL_DEST"]);
    assert_eq!(kernel_order(&mut k), [103, 101]);
    assert!(p.misordered.is_empty());
}
