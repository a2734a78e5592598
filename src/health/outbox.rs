//! The runner's events on their way to the IPVS task.
//!
//! Owns: [`Outbox`], the events the IPVS task's queue has no room for yet,
//! in order. The runner must never wait for that room in its loop: the
//! IPVS task, busy with one step of a reload at the config's bounds
//! (seconds), asks the runner for a snapshot before it reads its queue
//! again, and a runner stuck in a send could not answer it. So a full
//! queue only holds events here, and the runner's loop sends them as room
//! appears, answering requests meanwhile.
//!
//! What it holds is bounded by the state changes of the checks while the
//! IPVS task does not read: that task's own deadline (the supervisor
//! restarts both when it misses it) bounds that time.
//! Must not: drop or reorder an event while the queue is open.

use std::collections::VecDeque;

use tokio::sync::mpsc;

/// What an empty outbox keeps of its room, in events.
const KEPT: usize = 1024;

/// Events for a queue, held while it is full.
#[derive(Debug)]
pub struct Outbox<T> {
    tx: mpsc::Sender<T>,
    held: VecDeque<T>,
}

impl<T> Outbox<T> {
    pub fn new(tx: mpsc::Sender<T>) -> Self {
        Outbox {
            tx,
            held: VecDeque::new(),
        }
    }

    /// Queues `item` after every one held, now if there is room.
    pub fn push(&mut self, item: T) {
        self.held.push_back(item);
        self.flush();
    }

    /// Sends what room the queue has. A closed queue takes nothing again:
    /// what is held is dropped (checks go on without a reader).
    pub fn flush(&mut self) {
        while let Some(item) = self.held.pop_front() {
            match self.tx.try_send(item) {
                Ok(()) if self.held.is_empty() => self.give_back(),
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(item)) => {
                    self.held.push_front(item);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.held.clear();
                    return;
                }
            }
        }
    }

    /// Once emptied, the room a burst took (every real server of a
    /// reload's new services: 13 MB at the config's bound) is given back
    /// rather than kept for the life of the runner.
    fn give_back(&mut self) {
        if self.held.capacity() > KEPT {
            self.held = VecDeque::new();
        }
    }

    /// Events held, not yet in the queue.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Ready when the queue has room for what is held (then
    /// [`Outbox::flush`]); never while nothing is held. For a `select!`.
    pub async fn room(&self) {
        if self.held.is_empty() {
            return std::future::pending().await;
        }
        // The permit is given back at once: `flush` takes the room.
        let _ = self.tx.reserve().await;
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
