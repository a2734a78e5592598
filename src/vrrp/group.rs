//! VRRP sync groups (keepalived `vrrp_sync_group`), sans-IO.
//!
//! Owns: [`SyncGroup`], which turns one member's `Action::OwnFault` and
//! `Action::StateChange` into `GroupCommand`s for the other members, so the
//! group moves together:
//! one member in FAULT puts all in FAULT (until no member has a fault of
//! its own); one member becoming MASTER makes the BACKUP members MASTER;
//! one member falling from MASTER to BACKUP makes the MASTER members BACKUP.
//! Must not: hold machines, read the clock or do I/O. The edge feeds each
//! member's actions here and hands the returned commands to the named
//! members as `Input::Group`; state changes those commands cause carry
//! `Reason::SyncGroup` and are not propagated again, so nothing loops.
//!
//! Not in the RFCs; follows keepalived's sync group behaviour.

use super::machine::{Action, GroupCommand, Reason, State};

/// Membership and fault bookkeeping of one sync group. Members are indexes
/// `0..len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    /// Members in FAULT for a reason of their own (not forced by the group).
    own_fault: Vec<bool>,
}

impl SyncGroup {
    pub fn new(members: usize) -> Self {
        Self {
            own_fault: vec![false; members],
        }
    }

    pub fn len(&self) -> usize {
        self.own_fault.len()
    }

    pub fn is_empty(&self) -> bool {
        self.own_fault.is_empty()
    }

    /// True while some member has a fault of its own.
    pub fn faulted(&self) -> bool {
        self.own_fault.iter().any(|f| *f)
    }

    /// Feed one action of member `member`; returns `(member, command)`
    /// pairs to deliver as `Input::Group`, in order. Only `OwnFault` and
    /// `StateChange` matter; unknown members and group-forced changes
    /// (`Reason::SyncGroup`) yield nothing.
    pub fn on_action(&mut self, member: usize, action: &Action) -> Vec<(usize, GroupCommand)> {
        if member >= self.len() {
            return Vec::new();
        }
        let others = (0..self.len()).filter(move |m| *m != member);
        let to_others = |cmd| others.clone().map(|m| (m, cmd)).collect();
        match *action {
            Action::OwnFault { faulted } => {
                let was = self.faulted();
                self.own_fault[member] = faulted;
                if was == self.faulted() {
                    return Vec::new();
                }
                // To every member, the reporter included: a member whose
                // own fault clears stays in FAULT while the group is.
                let cmd = GroupCommand::Fault(self.faulted());
                (0..self.len()).map(|m| (m, cmd)).collect()
            }
            Action::StateChange {
                reason: Reason::SyncGroup,
                ..
            } => Vec::new(),
            Action::StateChange {
                to: State::Master, ..
            } => to_others(GroupCommand::Master),
            Action::StateChange {
                from: State::Master,
                to: State::Backup,
                ..
            } => to_others(GroupCommand::Backup),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::vrrp::machine::{Action, Input, InstanceConfig, Machine};
    use crate::vrrp::types::{Centiseconds, Priority, Version, Vrid};

    /// A group of machines on one box, driven like the edge would.
    struct Box_ {
        group: SyncGroup,
        members: Vec<Machine>,
        log: Vec<(usize, Action)>,
    }

    impl Box_ {
        fn new(prios: &[u8]) -> Self {
            let members = prios
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let vrid = Vrid::new(u8::try_from(i + 1).expect("small")).expect("nonzero");
                    let cfg = InstanceConfig::new(
                        Version::V3,
                        vrid,
                        Priority(*p),
                        Centiseconds(100),
                        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                    );
                    Machine::new(cfg).expect("valid")
                })
                .collect::<Vec<_>>();
            Self {
                group: SyncGroup::new(members.len()),
                members,
                log: Vec::new(),
            }
        }

        fn input(&mut self, member: usize, input: Input, now: Instant) {
            let mut queue = vec![(member, input)];
            while let Some((m, input)) = queue.pop() {
                self.members[m].handle(input, now);
                while let Some(a) = self.members[m].poll_action() {
                    for (o, cmd) in self.group.on_action(m, &a) {
                        queue.push((o, Input::Group(cmd)));
                    }
                    self.log.push((m, a));
                }
            }
        }

        fn states(&self) -> Vec<State> {
            self.members.iter().map(Machine::state).collect()
        }

        fn start(&mut self, now: Instant) {
            for m in 0..self.members.len() {
                self.input(m, Input::Startup, now);
            }
        }
    }

    #[test]
    fn one_master_pulls_the_others() {
        let t0 = Instant::now();
        // Member 0 has the shortest master-down interval.
        let mut b = Box_::new(&[200, 100, 100]);
        b.start(t0);
        assert_eq!(b.states(), vec![State::Backup; 3]);
        let t = b.members[0].poll_timeout().expect("master down armed");
        b.input(0, Input::Timeout, t);
        assert_eq!(b.states(), vec![State::Master; 3]);
        // The followers became MASTER at the same instant, not at their own
        // master-down, and a later stale wakeup changes nothing.
        let later = t0 + Duration::from_secs(10);
        for m in 1..3 {
            b.input(m, Input::Timeout, later);
        }
        assert_eq!(b.states(), vec![State::Master; 3]);
    }

    #[test]
    fn one_master_falling_back_pulls_the_others() {
        let t0 = Instant::now();
        let mut b = Box_::new(&[200, 100]);
        b.start(t0);
        let t = b.members[0].poll_timeout().expect("armed");
        b.input(0, Input::Timeout, t);
        assert_eq!(b.states(), vec![State::Master; 2]);
        let peer = crate::vrrp::machine::Advert {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            priority: Priority(250),
            interval: Centiseconds(100),
        };
        b.input(1, Input::Advert(peer), t + Duration::from_millis(10));
        assert_eq!(b.states(), vec![State::Backup; 2]);
    }

    #[test]
    fn one_fault_faults_all_until_it_recovers() {
        let t0 = Instant::now();
        let mut b = Box_::new(&[100, 100, 100]);
        b.start(t0);
        b.input(1, Input::InterfaceDown, t0);
        assert_eq!(b.states(), vec![State::Fault; 3]);
        // A second member faults on its own, then the first recovers: the
        // group stays in FAULT until the last own fault clears.
        b.input(2, Input::InterfaceDown, t0);
        b.input(1, Input::InterfaceUp, t0);
        assert_eq!(b.states(), vec![State::Fault; 3]);
        b.input(2, Input::InterfaceUp, t0);
        assert_eq!(b.states(), vec![State::Backup; 3]);
        assert!(!b.group.faulted());
    }

    #[test]
    fn forced_changes_are_not_propagated_again() {
        let mut g = SyncGroup::new(3);
        let forced = Action::StateChange {
            from: State::Backup,
            to: State::Master,
            reason: Reason::SyncGroup,
        };
        assert!(g.on_action(0, &forced).is_empty());
        let own = Action::StateChange {
            from: State::Backup,
            to: State::Master,
            reason: Reason::MasterDown,
        };
        assert!(g.on_action(7, &own).is_empty());
        assert_eq!(
            g.on_action(2, &own),
            vec![(0, GroupCommand::Master), (1, GroupCommand::Master)]
        );
        let cmds = g.on_action(0, &Action::OwnFault { faulted: true });
        let all = |f| {
            (0..3)
                .map(|m| (m, GroupCommand::Fault(f)))
                .collect::<Vec<_>>()
        };
        assert_eq!(cmds, all(true));
        // Already faulted: no second broadcast; cleared only by the last.
        assert!(g
            .on_action(1, &Action::OwnFault { faulted: true })
            .is_empty());
        assert!(g
            .on_action(0, &Action::OwnFault { faulted: false })
            .is_empty());
        let cmds = g.on_action(1, &Action::OwnFault { faulted: false });
        assert_eq!(cmds, all(false));
    }
}
