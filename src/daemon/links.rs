//! The link dispatcher: rtnetlink events to every instance task, and the
//! box's addresses kept for `ha_suspend`.
//!
//! Owns: the set of (ifindex, address) pairs of the box, kept current from
//! the events (re-read whole on a resync), published as a set of addresses
//! to the health runner; the delivery of link state to every running
//! instance task (each picks its own links). Must not: decide what a link
//! change means to an instance (the instance task does), drop a link event
//! for a task that is alive (a full queue is awaited), or start and stop
//! tasks.

use std::collections::BTreeSet;
use std::net::IpAddr;

use tokio::sync::{mpsc, watch};

use super::groups::{current, Senders};
use crate::net::{Net, NetEvent};
use crate::vrrp::instance::GroupInput;

/// The box's addresses as (ifindex, address) pairs; empty when they
/// cannot be read.
pub(super) async fn box_addresses(net: &Net) -> BTreeSet<(u32, IpAddr)> {
    net.addresses(None)
        .await
        .map(|v| v.into_iter().map(|a| (a.index, a.addr)).collect())
        .unwrap_or_default()
}

/// The addresses of (ifindex, address) pairs.
pub(super) fn local_set(addrs: &BTreeSet<(u32, IpAddr)>) -> BTreeSet<IpAddr> {
    addrs.iter().map(|(_, a)| *a).collect()
}

/// Runs until the event stream ends: keeps `addrs` (published on `local`
/// when the set of addresses changes) and hands link changes to every
/// task in `senders`.
pub(super) async fn dispatch_links(
    mut events: mpsc::UnboundedReceiver<NetEvent>,
    net: Net,
    senders: Senders,
    mut addrs: BTreeSet<(u32, IpAddr)>,
    local: watch::Sender<BTreeSet<IpAddr>>,
) {
    while let Some(ev) = events.recv().await {
        match &ev {
            NetEvent::AddressAdded(a) => {
                addrs.insert((a.index, a.addr));
            }
            NetEvent::AddressRemoved(a) => {
                addrs.remove(&(a.index, a.addr));
            }
            NetEvent::Resynced => {
                if let Ok(v) = net.addresses(None).await {
                    addrs = v.into_iter().map(|a| (a.index, a.addr)).collect();
                }
            }
            _ => {}
        }
        local.send_if_modified(|l| {
            let now = local_set(&addrs);
            let changed = *l != now;
            *l = now;
            changed
        });
        let tasks = current(&senders);
        match ev {
            NetEvent::LinkState { index, name, up } => {
                tracing::info!(interface = %name, index, up, "link state");
                for s in &tasks {
                    if s.try_send(GroupInput::Link { index, up }).is_err() && !s.is_closed() {
                        // A full queue: deliver anyway, awaiting room.
                        let _ = s.send(GroupInput::Link { index, up }).await;
                    }
                }
            }
            NetEvent::LinkGone { index } => {
                for s in &tasks {
                    let _ = s.send(GroupInput::Link { index, up: false }).await;
                }
            }
            NetEvent::Resynced => tracing::warn!("links and addresses re-read"),
            NetEvent::AddressAdded(_) | NetEvent::AddressRemoved(_) => {}
        }
    }
}
