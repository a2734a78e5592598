//! The link dispatcher: rtnetlink events to every instance task, and the
//! box's addresses kept for `ha_suspend`.
//!
//! Owns: the set of (ifindex, address) pairs of the box, kept current from
//! the events (after a resync the monitor sends the differences), published as a set of addresses
//! to the health runner; the delivery of link state to every running
//! instance task (each picks its own links). Must not: decide what a link
//! change means to an instance (the instance task does), drop a link event
//! for a task that is alive (a full queue is awaited), or start and stop
//! tasks.

use std::collections::BTreeSet;
use std::net::IpAddr;

use tokio::sync::{mpsc, watch};

use super::supervisor::{Heartbeat, Supervisor};
use crate::net::{Net, NetEvent};

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
/// when the set of addresses changes), hands link changes to the
/// supervisor, which fans them out to every instance task, and the name of
/// every link it hears of to `seen` (the main loop applies the appliance
/// block again for a NIC it was waiting for).
pub(super) async fn dispatch_links(
    mut events: mpsc::Receiver<NetEvent>,
    sup: Supervisor,
    (mut addrs, local): (BTreeSet<(u32, IpAddr)>, watch::Sender<BTreeSet<IpAddr>>),
    seen: mpsc::UnboundedSender<String>,
    hb: Heartbeat,
) {
    let mut idle = hb.ticker();
    loop {
        hb.check_in().await;
        let ev = tokio::select! {
            ev = events.recv() => ev,
            _ = idle.tick() => continue,
        };
        let Some(ev) = ev else {
            // The monitor ended: its end is the one reported, and both
            // start again together.
            hb.retire();
            return;
        };
        match &ev {
            NetEvent::AddressAdded(a) => {
                addrs.insert((a.index, a.addr));
            }
            NetEvent::AddressRemoved(a) => {
                addrs.remove(&(a.index, a.addr));
            }
            _ => {}
        }
        local.send_if_modified(|l| {
            let now = local_set(&addrs);
            let changed = *l != now;
            *l = now;
            changed
        });
        match ev {
            NetEvent::LinkState { index, name, up } => {
                tracing::info!(interface = %name, index, up, "link state");
                sup.link(index, up);
                let _ = seen.send(name);
            }
            NetEvent::LinkGone { index } => sup.link(index, false),
            NetEvent::Resynced | NetEvent::AddressAdded(_) | NetEvent::AddressRemoved(_) => {}
        }
    }
}
