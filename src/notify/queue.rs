//! A bounded, drop-oldest, single-consumer queue between a caller that must
//! never wait and the task that works the queue.
//!
//! Owns: the buffered items and the wakeup. Must not: block for longer than
//! a `VecDeque` push under an uncontended lock, or grow past its capacity.
//! `push` never awaits; on overflow the oldest item is handed back so the
//! caller can count it. `pop` waits for an item; it returns `None` once the
//! queue is closed and drained.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

#[derive(Debug)]
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    wake: Notify,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    capacity: usize,
    closed: bool,
}

impl<T> Queue<T> {
    /// `capacity` is at least 1.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Queue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(64)),
                capacity,
                closed: false,
            }),
            wake: Notify::new(),
        }
    }

    /// Queues `item`. Returns the item that had to make room (the oldest),
    /// or `item` itself if the queue is closed.
    pub(crate) fn push(&self, item: T) -> Option<T> {
        let dropped = {
            let mut s = self.lock();
            if s.closed {
                return Some(item);
            }
            let dropped = if s.items.len() >= s.capacity {
                s.items.pop_front()
            } else {
                None
            };
            s.items.push_back(item);
            dropped
        };
        // Stores a permit when the consumer is not waiting yet: no lost wakeup.
        self.wake.notify_one();
        dropped
    }

    /// The next item; `None` once closed and empty.
    pub(crate) async fn pop(&self) -> Option<T> {
        loop {
            {
                let mut s = self.lock();
                if let Some(item) = s.items.pop_front() {
                    return Some(item);
                }
                if s.closed {
                    return None;
                }
            }
            self.wake.notified().await;
        }
    }

    /// No more pushes; `pop` drains what is left, then returns `None`.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves a consistent VecDeque
        // (push/pop are atomic from our side), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
