//! The group core's bookkeeping and its cascade: delivery order and cap.
//! Scenarios with members on a virtual LAN are in tests/vrrp_groups.rs.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::*;
use crate::vrrp::machine::{Action as M, InstanceConfig};
use crate::vrrp::types::{Centiseconds, Priority, Version, Vrid};

/// A started group of `n` v3 members of priority 100, VRIDs 1..=n.
fn started(n: usize, t0: Instant) -> Machine {
    let members = (0..n)
        .map(|i| Some(fresh(u8::try_from(i + 1).expect("small"))))
        .collect();
    let mut g = Machine::new(members);
    for i in 0..n {
        g.handle(i, Input::Startup, t0);
    }
    while g.poll_action().is_some() {}
    g
}

fn drain(g: &mut Machine) -> Vec<Action> {
    std::iter::from_fn(|| g.poll_action()).collect()
}

fn change(member: usize, from: State, to: State, reason: Reason) -> Action {
    Action::Member {
        member,
        action: M::StateChange { from, to, reason },
    }
}

#[test]
fn commands_are_delivered_first_in_first_out_with_each_members_status() {
    let t0 = Instant::now();
    let mut g = started(3, t0);
    g.handle(1, Input::InterfaceDown, t0);
    let fault = |m, reason| change(m, State::Backup, State::Fault, reason);
    let status = |member| Action::Status {
        member,
        changed: true,
    };
    assert_eq!(
        drain(&mut g),
        vec![
            // The reporter's own change and fault come with the input; the
            // group's commands follow in member order (the LIFO copy the
            // tests used to drive delivered to 2 before 0).
            fault(1, Reason::InterfaceDown),
            Action::Member {
                member: 1,
                action: M::OwnFault { faulted: true },
            },
            status(1),
            fault(0, Reason::SyncGroup),
            status(0),
            Action::Status {
                member: 1,
                changed: false,
            },
            fault(2, Reason::SyncGroup),
            Action::Group {
                state: State::Fault,
                priority: Priority(100),
            },
            status(2),
        ]
    );
}

#[test]
fn a_cascade_stops_after_max_cascade_deliveries() {
    let t0 = Instant::now();
    let n = MAX_CASCADE + 6;
    let mut g = started(n, t0);
    // One fault is broadcast to all n members; the input is the first of
    // MAX_CASCADE deliveries, so members 0..MAX_CASCADE - 1 get it.
    g.handle(n - 1, Input::InterfaceDown, t0);
    let states: Vec<State> = (0..n).map(|i| g.member(i).expect("runs").state()).collect();
    let reached = MAX_CASCADE - 1;
    assert!(states[..reached].iter().all(|s| *s == State::Fault));
    assert!(states[reached..n - 1].iter().all(|s| *s == State::Backup));
    assert_eq!(states[n - 1], State::Fault, "the reporter itself");
    assert!(g.faulted());
}

#[test]
fn a_member_that_never_started_takes_nothing_and_counts_for_nothing() {
    let t0 = Instant::now();
    let mut g = started(2, t0);
    let mut members: Vec<Option<machine::Machine>> = (0..2).map(|i| g.member(i).cloned()).collect();
    members.insert(1, None);
    g = Machine::new(members);
    g.handle(1, Input::InterfaceDown, t0);
    assert_eq!(drain(&mut g), vec![]);
    assert_eq!(
        g.reconfigure(1, g.member(0).expect("runs").config().clone(), t0),
        Err(ReconfigureError::NotRunning)
    );
    g.handle(0, Input::InterfaceDown, t0);
    assert_eq!(g.member(2).expect("runs").state(), State::Fault);
    assert_eq!(g.agreed(), Some(State::Fault));
}

#[test]
fn a_member_started_late_takes_input_and_moves_with_the_group() {
    let t0 = Instant::now();
    let g0 = started(2, t0);
    let late = g0.member(1).cloned().expect("runs");
    let mut g = Machine::new(vec![g0.member(0).cloned(), None]);
    assert!(!g.start_late(0, late.clone()), "member 0 runs already");
    assert!(!g.start_late(2, late.clone()), "no member 2");
    assert!(g.start_late(1, fresh(2)));
    assert!(!g.start_late(1, late), "started once");
    g.handle(1, Input::Startup, t0);
    assert_eq!(g.member(1).expect("runs").state(), State::Backup);
    while g.poll_action().is_some() {}
    // It counts now: member 0's fault takes it along.
    g.handle(0, Input::InterfaceDown, t0);
    assert_eq!(g.member(1).expect("runs").state(), State::Fault);
}

/// A member not yet started: v3, priority 100, VRID `vrid`.
fn fresh(vrid: u8) -> machine::Machine {
    let cfg = InstanceConfig::new(
        Version::V3,
        Vrid::new(vrid).expect("nonzero"),
        Priority(100),
        Centiseconds(100),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    );
    machine::Machine::new(cfg).expect("valid")
}

#[test]
fn forced_changes_are_not_propagated_again() {
    let mut g = Faults::new(3);
    let forced = M::StateChange {
        from: State::Backup,
        to: State::Master,
        reason: Reason::SyncGroup,
    };
    assert!(g.on_action(0, &forced).is_empty());
    let own = M::StateChange {
        from: State::Backup,
        to: State::Master,
        reason: Reason::MasterDown,
    };
    assert!(g.on_action(7, &own).is_empty());
    assert_eq!(
        g.on_action(2, &own),
        vec![(0, GroupCommand::Master), (1, GroupCommand::Master)]
    );
    let cmds = g.on_action(0, &M::OwnFault { faulted: true });
    let all = |f| {
        (0..3)
            .map(|m| (m, GroupCommand::Fault(f)))
            .collect::<Vec<_>>()
    };
    assert_eq!(cmds, all(true));
    // Already faulted: no second broadcast; cleared only by the last.
    assert!(g.on_action(1, &M::OwnFault { faulted: true }).is_empty());
    assert!(g.on_action(0, &M::OwnFault { faulted: false }).is_empty());
    let cmds = g.on_action(1, &M::OwnFault { faulted: false });
    assert_eq!(cmds, all(false));
}
