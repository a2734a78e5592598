//! PLACEHOLDER, to be replaced at merge by the notify engineer's module.
//!
//! Owns (in this placeholder): only the API the daemon calls, exactly as
//! agreed: [`Notifier::spawn`], [`Notifier::notify`] and [`Event`]. The real
//! module runs notify scripts and sends mail; this one only logs.
//! Must not: block or await in `notify` (the VRRP tasks call it inline).

use crate::config::model::{GlobalDefs, Notify};

/// Whose state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Instance,
    Group,
}

/// The state reported to scripts and mail (keepalived's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Master,
    Backup,
    Fault,
    Stop,
}

/// One state change to report.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub name: String,
    pub state: State,
    pub priority: u8,
    pub scripts: Notify,
    pub smtp_alert: bool,
}

/// Handle to the notification task (placeholder: no task, logs only).
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    _private: (),
}

impl Notifier {
    /// Spawns the notification task on the current runtime (placeholder:
    /// nothing to spawn).
    pub fn spawn(_global: &GlobalDefs) -> Notifier {
        Notifier { _private: () }
    }

    /// Queues one event; never blocks, never awaits.
    pub fn notify(&self, ev: Event) {
        tracing::info!(
            kind = ?ev.kind,
            name = %ev.name,
            state = ?ev.state,
            priority = ev.priority,
            smtp_alert = ev.smtp_alert,
            "notify (placeholder: no script run, no mail sent)"
        );
    }
}
