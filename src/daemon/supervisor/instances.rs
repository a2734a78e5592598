//! The running instance tasks, as the supervisor's owner task keeps them.
//!
//! Owns: [`RunningGroup`] (an instance task's members, input queue and
//! published states) and [`Instances`], the table of them by task name,
//! with the fan-out of link events to every task. Must not: await (the
//! owner answers the watchdog's liveness query; a full instance queue
//! must not hold it up) or reorder one task's link events.
//!
//! A full queue (packets pile up in a busy task) hands that task's link
//! events to a forwarder that awaits room, in order; from then on all of
//! that task's link events go through it, so an "up" never overtakes the
//! "down" before it.

use std::collections::BTreeMap;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use super::registry::TaskId;
use crate::control::Snapshot;
use crate::vrrp::instance::GroupInput;

/// A running instance task: the names of its members, in order, and its
/// input.
#[derive(Debug, Clone)]
pub struct RunningGroup {
    pub members: Vec<String>,
    pub tx: mpsc::Sender<GroupInput>,
    /// Its name with the supervisor ("instance VI_1", "sync group G1").
    pub task: String,
    pub id: TaskId,
    /// Where each member publishes its state: kept across a restart, so
    /// `vigil status` and the sync daemon task follow the new task.
    pub statuses: Vec<watch::Sender<Snapshot>>,
}

struct Entry {
    group: RunningGroup,
    /// Set once the queue was found full: the forwarder of its link
    /// events, in order.
    slow: Option<mpsc::UnboundedSender<GroupInput>>,
}

/// Every running (or restarting) instance task, by task name.
#[derive(Default)]
pub(super) struct Instances {
    by_name: BTreeMap<String, Entry>,
}

impl Instances {
    /// A task started: replaces the entry of the same name (a restart).
    pub(super) fn insert(&mut self, group: RunningGroup) {
        let entry = Entry { group, slow: None };
        self.by_name.insert(entry.group.task.clone(), entry);
    }

    /// The task of `id` ends as told.
    pub(super) fn remove(&mut self, id: TaskId) {
        self.by_name.retain(|_, e| e.group.id != id);
    }

    pub(super) fn clear(&mut self) {
        self.by_name.clear();
    }

    pub(super) fn list(&self) -> Vec<RunningGroup> {
        self.by_name.values().map(|e| e.group.clone()).collect()
    }

    /// A link's state to every task (each picks its own links).
    pub(super) fn link(&mut self, index: u32, up: bool) {
        for e in self.by_name.values_mut() {
            deliver(e, GroupInput::Link { index, up });
        }
    }
}

fn deliver(e: &mut Entry, input: GroupInput) {
    if let Some(slow) = &e.slow {
        if slow.send(input).is_ok() {
            return;
        }
        // The forwarder ended (the task is gone).
        e.slow = None;
        return;
    }
    let input = match e.group.tx.try_send(input) {
        Ok(()) | Err(TrySendError::Closed(_)) => return,
        Err(TrySendError::Full(input)) => input,
    };
    let (slow, mut queue) = mpsc::unbounded_channel();
    let tx = e.group.tx.clone();
    tokio::spawn(async move {
        while let Some(i) = queue.recv().await {
            if tx.send(i).await.is_err() {
                return;
            }
        }
    });
    let _ = slow.send(input);
    e.slow = Some(slow);
}

#[cfg(test)]
#[path = "instances_tests.rs"]
mod tests;
