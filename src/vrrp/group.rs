//! VRRP sync groups (keepalived `vrrp_sync_group`), sans-IO: [`Machine`],
//! the core of one instance task. A lone instance is a group of one and
//! runs through the same code.
//!
//! Owns: the members' `vrrp::machine::Machine`s, the group's fault
//! bookkeeping and the cascade that delivers group commands. The group
//! moves together: one member in FAULT puts all in FAULT (until no member
//! has a fault of its own); one member becoming MASTER makes the BACKUP
//! members MASTER; one member falling from MASTER to BACKUP makes the
//! MASTER members BACKUP. State changes forced by the group carry
//! `Reason::SyncGroup` and are not propagated again, so nothing loops; a
//! cascade is still capped at [`MAX_CASCADE`] deliveries per input.
//! Must not: read the clock (`now` is an argument), do I/O, spawn or depend
//! on `crate::config`. The edge (`vrrp::instance`) feeds inputs with
//! [`Machine::handle`], executes what [`Machine::poll_action`] hands out, in
//! order, and sleeps until [`Machine::poll_timeout`].
//!
//! Order (quinn's Endpoint/Connection split): `handle(member, input, now)`
//! feeds the input to that member, then takes its actions one by one; the
//! group commands an action causes are queued (FIFO) for the other
//! members, and each action is queued for the edge as it is taken. After
//! each delivery the member's [`Action::Status`] follows its actions, and
//! a change every running member agrees on follows the state change that
//! completed it.
//!
//! Not in the RFCs; follows keepalived's sync group behaviour.

use std::collections::VecDeque;
use std::time::Instant;

use super::machine::{
    self, GroupCommand, Input, InstanceConfig, InstanceConfigError, Reason, State,
};
use super::types::Priority;

/// Bound on group-command deliveries per input (the input itself counts
/// as the first): a bug that made members bounce commands forever stops
/// here instead of hanging the task.
pub const MAX_CASCADE: usize = 64;

/// What the edge must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// One action of member `member`'s machine.
    Member {
        member: usize,
        action: machine::Action,
    },
    /// Member `member` took an input (or a group command) and its actions
    /// are above: publish its status; `changed` if its state changed.
    Status { member: usize, changed: bool },
    /// Every running member is now in `state` (a new agreement; not after
    /// a hitless-restart resume, which the network never saw). `priority`
    /// is the first running member's. A named sync group notifies on it.
    Group { state: State, priority: Priority },
}

/// One sync group (or a lone instance) of running machines. Members are
/// indexes `0..len`; a member that never started is `None` and takes no
/// input.
#[derive(Debug, Clone)]
pub struct Machine {
    members: Vec<Option<machine::Machine>>,
    faults: Faults,
    /// The last state all running members agreed on.
    agreed: Option<State>,
    actions: VecDeque<Action>,
}

impl Machine {
    pub fn new(members: Vec<Option<machine::Machine>>) -> Self {
        Self {
            faults: Faults::new(members.len()),
            members,
            agreed: None,
            actions: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Member `i`'s machine, if it runs.
    pub fn member(&self, i: usize) -> Option<&machine::Machine> {
        self.members.get(i).and_then(Option::as_ref)
    }

    /// The running members' machines, with their indexes.
    pub fn running(&self) -> impl Iterator<Item = (usize, &machine::Machine)> {
        self.members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.as_ref().map(|m| (i, m)))
    }

    /// True while some member has a fault of its own.
    pub fn faulted(&self) -> bool {
        self.faults.any()
    }

    /// The last state every running member agreed on.
    pub fn agreed(&self) -> Option<State> {
        self.agreed
    }

    /// Member `i`, which did not start (its address came late), runs
    /// `machine` from now on, not yet started: the edge feeds its link
    /// states, then `Input::Startup`. False, and nothing changes, when `i`
    /// is out of range or runs already.
    pub fn start_late(&mut self, i: usize, machine: machine::Machine) -> bool {
        match self.members.get_mut(i) {
            Some(slot @ None) => {
                *slot = Some(machine);
                true
            }
            _ => false,
        }
    }

    /// Feeds `input` to member `member` and runs the cascade it causes.
    /// Unknown or stopped members take nothing (and yield nothing).
    pub fn handle(&mut self, member: usize, input: Input, now: Instant) {
        self.cascade(member, Some(input), now);
    }

    /// A wakeup: `Input::Timeout` to every member in turn, each with its
    /// own cascade. Spurious wakeups are harmless (the machines re-check
    /// their timers).
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.len() {
            self.handle(i, Input::Timeout, now);
        }
    }

    /// A committed config for member `member`, applied in place by its
    /// machine (see `machine::Machine::reconfigure`), then the actions it
    /// caused, cascaded like an input's. `Err` changed nothing.
    pub fn reconfigure(
        &mut self,
        member: usize,
        cfg: InstanceConfig,
        now: Instant,
    ) -> Result<(), ReconfigureError> {
        let m = self
            .members
            .get_mut(member)
            .and_then(Option::as_mut)
            .ok_or(ReconfigureError::NotRunning)?;
        let applied = m.reconfigure(cfg, now);
        self.cascade(member, None, now);
        Ok(applied?)
    }

    /// The next action, in the order the edge must perform them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When the edge must next call [`Machine::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.running().filter_map(|(_, m)| m.poll_timeout()).min()
    }

    /// Feeds `first` (or, with `None`, nothing: only the actions already
    /// pending) to `member`, then delivers the group commands its actions
    /// cause, breadth first, at most [`MAX_CASCADE`] deliveries in all.
    fn cascade(&mut self, member: usize, first: Option<Input>, now: Instant) {
        let mut queue = VecDeque::from([(member, first)]);
        let mut rounds = 0;
        while let Some((i, input)) = queue.pop_front() {
            rounds += 1;
            if rounds > MAX_CASCADE {
                tracing::error!("sync group command cascade exceeded {MAX_CASCADE}; stopped");
                break;
            }
            let Some(m) = self.members.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            if let Some(input) = input {
                m.handle(input, now);
            }
            let mut changed = false;
            while let Some(action) = self.members[i].as_mut().and_then(|m| m.poll_action()) {
                for (o, cmd) in self.faults.on_action(i, &action) {
                    queue.push_back((o, Some(Input::Group(cmd))));
                }
                self.actions.push_back(Action::Member { member: i, action });
                if let machine::Action::StateChange { reason, .. } = action {
                    changed = true;
                    self.check_agreement(reason);
                }
            }
            self.actions
                .push_back(Action::Status { member: i, changed });
        }
    }

    /// The state every running member is in, with the first one's
    /// priority; `None` while they differ (or none runs).
    fn agreement(&self) -> Option<(State, Priority)> {
        let mut states = self.running().map(|(_, m)| (m.state(), m.priority()));
        let (first, priority) = states.next()?;
        states.all(|(s, _)| s == first).then_some((first, priority))
    }

    /// After a state change: when every running member is now in the same
    /// state, and that is news, queue [`Action::Group`].
    fn check_agreement(&mut self, reason: Reason) {
        let Some((first, priority)) = self.agreement() else {
            return;
        };
        if self.agreed == Some(first) {
            return;
        }
        self.agreed = Some(first);
        // A resumed MASTER changed nothing the world sees.
        if reason != Reason::Resumed {
            self.actions.push_back(Action::Group {
                state: first,
                priority,
            });
        }
    }
}

/// Why [`Machine::reconfigure`] changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconfigureError {
    #[error("it did not start")]
    NotRunning,
    #[error(transparent)]
    Refused(#[from] InstanceConfigError),
}

/// Which members are in FAULT for a reason of their own, and the group
/// commands a member's action calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Faults {
    own: Vec<bool>,
}

impl Faults {
    fn new(members: usize) -> Self {
        Self {
            own: vec![false; members],
        }
    }

    fn len(&self) -> usize {
        self.own.len()
    }

    /// True while some member has a fault of its own.
    fn any(&self) -> bool {
        self.own.iter().any(|f| *f)
    }

    /// Takes one action of member `member`; returns `(member, command)`
    /// pairs to deliver as `Input::Group`, in order. Only `OwnFault` and
    /// `StateChange` matter; unknown members and group-forced changes
    /// (`Reason::SyncGroup`) yield nothing.
    fn on_action(&mut self, member: usize, action: &machine::Action) -> Vec<(usize, GroupCommand)> {
        use machine::Action as A;
        if member >= self.len() {
            return Vec::new();
        }
        let others = (0..self.len()).filter(move |m| *m != member);
        let to_others = |cmd| others.clone().map(|m| (m, cmd)).collect();
        match *action {
            A::OwnFault { faulted } => {
                let was = self.any();
                self.own[member] = faulted;
                if was == self.any() {
                    return Vec::new();
                }
                // To every member, the reporter included: a member whose
                // own fault clears stays in FAULT while the group is.
                let cmd = GroupCommand::Fault(self.any());
                (0..self.len()).map(|m| (m, cmd)).collect()
            }
            A::StateChange {
                reason: Reason::SyncGroup,
                ..
            } => Vec::new(),
            A::StateChange {
                to: State::Master, ..
            } => to_others(GroupCommand::Master),
            A::StateChange {
                from: State::Master,
                to: State::Backup,
                ..
            } => to_others(GroupCommand::Backup),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
