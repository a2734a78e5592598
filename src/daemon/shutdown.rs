//! The bounded shutdown (SIGTERM/SIGINT): every instance task resigns and
//! removes its VIPs, the sync daemon task stops the master sync daemon and
//! keeps the backup one, the notify scripts of the STOP events run, and
//! the control socket goes.
//!
//! Owns: the order of those steps and [`SHUTDOWN_BOUND`]. Must not: touch
//! the IPVS table (it stays in the kernel as it is, adopted by the next
//! `vigil run`) or wait past the bound.

use std::path::Path;
use std::time::Duration;

use tokio::sync::oneshot;

use super::groups::{current, Senders};
use super::ipvs_side::SyncHandle;
use crate::notify::Notifier;
use crate::vrrp::instance::GroupInput;

/// The whole shutdown (resign adverts, VIP removal) is bounded by this.
pub(super) const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);

/// Runs the shutdown sequence; each step waits at most until the bound.
pub(super) async fn shutdown(
    senders: &Senders,
    sync: Option<&SyncHandle>,
    notifier: &Notifier,
    control_path: &Path,
) {
    // Every task resigns (priority 0) and removes its VIPs, bounded.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_BOUND;
    let mut acks = Vec::new();
    for s in &current(senders) {
        let (atx, arx) = oneshot::channel();
        if tokio::time::timeout_at(deadline, s.send(GroupInput::Shutdown(atx)))
            .await
            .is_ok()
        {
            acks.push(arx);
        }
    }
    for a in acks {
        if tokio::time::timeout_at(deadline, a).await.is_err() {
            tracing::error!("an instance did not finish its shutdown in {SHUTDOWN_BOUND:?}");
        }
    }
    // The sync daemon: master stopped, backup kept (bounded).
    if let Some((_, tx)) = sync {
        let (atx, arx) = oneshot::channel();
        let sent = tokio::time::timeout_at(deadline, tx.send(atx)).await;
        if !matches!(sent, Ok(Ok(())))
            || !matches!(tokio::time::timeout_at(deadline, arx).await, Ok(Ok(())))
        {
            tracing::error!(
                "the sync daemon task did not finish its shutdown in {SHUTDOWN_BOUND:?}"
            );
        }
    }
    // The STOP notifications' scripts run before we exit (bounded).
    if !notifier.settle(SHUTDOWN_BOUND).await {
        tracing::warn!("notify scripts still running after {SHUTDOWN_BOUND:?}; exiting anyway");
    }
    let _ = std::fs::remove_file(control_path);
}
