//! Sync groups (keepalived `vrrp_sync_group`) in virtual time on the
//! virtual LAN of `support/vlan.rs`: routers whose members are one
//! `vigil::vrrp::group::Machine`, the core the instance task runs, so the
//! delivery order and cascade cap are the shipped ones.
//!
//! Must not: sleep, or read the clock except once for a base `Instant`.

use crate::support::vlan;

use std::net::Ipv4Addr;
use std::time::Duration;

use vigil::vrrp::{Centiseconds, Input, Priority, State, Version, Vrid};
use vlan::{cfg, Lan, LATENCY};

/// A stopped router whose members have these priorities, VRIDs 1..=n,
/// v3 at 1 s.
fn group(lan: &mut Lan, prios: &[u8]) -> usize {
    let members = prios
        .iter()
        .enumerate()
        .map(|(i, p)| cfg(Version::V3, u8::try_from(i + 1).expect("few"), *p, 100))
        .collect();
    lan.router(members)
}

#[test]
fn one_master_pulls_the_others() {
    let mut lan = Lan::new();
    // Member 0 has the shortest master-down interval.
    let r = group(&mut lan, &[200, 100, 100]);
    lan.start(r);
    assert_eq!(lan.routers[r].states(), vec![State::Backup; 3]);
    let t = lan.routers[r]
        .machine(0)
        .poll_timeout()
        .expect("master down armed");
    lan.run_until(t, |_| {});
    assert_eq!(lan.routers[r].states(), vec![State::Master; 3]);
    // The followers became MASTER at the same instant, not at their own
    // master-down, and a later stale wakeup changes nothing.
    for m in 0..3 {
        assert_eq!(lan.changed_at(r, m, State::Master), Some(t));
    }
    lan.run_until(lan.t0 + Duration::from_secs(10), |_| {});
    lan.wake(r);
    assert_eq!(lan.routers[r].states(), vec![State::Master; 3]);
    // The group agreed on BACKUP at startup, then on MASTER once.
    let t0 = lan.t0;
    assert_eq!(
        lan.routers[r].agreed,
        vec![(t0, State::Backup), (t, State::Master)]
    );
}

#[test]
fn one_master_falling_back_pulls_the_others() {
    let mut lan = Lan::new();
    let r = group(&mut lan, &[200, 100]);
    lan.start(r);
    let t = lan.routers[r].machine(0).poll_timeout().expect("armed");
    lan.run_until(t, |_| {});
    assert_eq!(lan.routers[r].states(), vec![State::Master; 2]);
    // A peer outranks member 1 on its VRID.
    let peer = vlan::advert(
        Version::V3,
        Vrid::new(2).expect("nonzero"),
        Priority(250),
        Centiseconds(100),
    );
    lan.inject(
        r,
        vlan::emit(&peer, Ipv4Addr::new(10, 0, 0, 2)),
        Duration::from_millis(10),
    );
    lan.run_until(t + Duration::from_millis(10), |_| {});
    assert_eq!(lan.routers[r].states(), vec![State::Backup; 2]);
}

#[test]
fn one_fault_faults_all_until_it_recovers() {
    let mut lan = Lan::new();
    let r = group(&mut lan, &[100, 100, 100]);
    lan.start(r);
    lan.input(r, 1, Input::InterfaceDown);
    assert_eq!(lan.routers[r].states(), vec![State::Fault; 3]);
    // A second member faults on its own, then the first recovers: the
    // group stays in FAULT until the last own fault clears.
    lan.input(r, 2, Input::InterfaceDown);
    lan.input(r, 1, Input::InterfaceUp);
    assert_eq!(lan.routers[r].states(), vec![State::Fault; 3]);
    lan.input(r, 2, Input::InterfaceUp);
    assert_eq!(lan.routers[r].states(), vec![State::Backup; 3]);
    assert!(!lan.routers[r].group.faulted());
}

#[test]
fn a_faulted_master_group_hands_every_vrid_to_the_backup_group_at_once() {
    let mut lan = Lan::new();
    let a = group(&mut lan, &[200, 200]);
    let b = group(&mut lan, &[100, 100]);
    lan.start(a);
    lan.start(b);
    lan.run_until(lan.at(10.0), |_| {});
    assert_eq!(lan.masters(), vec![a]);
    // Member 1's link goes down: the group follows into FAULT. Member 0,
    // whose link is up, resigns with a priority-0 advert.
    let t_fault = lan.now;
    lan.input(a, 1, Input::InterfaceDown);
    assert_eq!(lan.routers[a].states(), vec![State::Fault; 2]);
    lan.run_until(lan.at(20.0), |_| {});
    assert_eq!(lan.masters(), vec![b]);
    // b's member 0 takes over Skew_Time after the resignation arrives and
    // pulls member 1 along at the same instant (its own wait would have
    // been Master_Down_Interval).
    let skew = lan.routers[b].machine(0).skew_time();
    let t0 = lan
        .changed_at(b, 0, State::Master)
        .expect("member 0 took over");
    assert_eq!(t0 - t_fault, LATENCY + skew);
    assert_eq!(lan.changed_at(b, 1, State::Master), Some(t0));
    assert_eq!(lan.routers[a].agreed.last(), Some(&(t_fault, State::Fault)));
    assert_eq!(lan.routers[b].agreed.last(), Some(&(t0, State::Master)));
}
