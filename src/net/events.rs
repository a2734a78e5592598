//! The subscription to link and address events.
//!
//! Owns: [`Monitor`], the task that reads rtnetlink's multicast groups
//! RTNLGRP_LINK, IPV4_IFADDR and IPV6_IFADDR and hands [`NetEvent`]s to
//! one bounded channel of [`QUEUE`] events, and [`Told`], what its
//! receiver has been told of links and addresses. Whenever the monitor
//! may have missed something it reads every link and address again and
//! delivers only the differences ([`Told::diff`]): at start, after the
//! kernel's overrun (ENOBUFS), after its own channel was full (the event
//! that did not fit is not lost: the resync carries it), and after the
//! socket closed or failed (it subscribes again first, with a backoff).
//! A socket that dies therefore costs one resync, not the links: an
//! instance hears of a link that went down in the gap.
//! Must not: decide what a link change means (the instance tasks do),
//! drop a change without a resync to follow, or end while its receiver
//! lives (it retires when the receiver is gone).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::MulticastGroup;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;

use super::{Addr, Link, Net, NetError};
use crate::backoff::Backoff;
use crate::daemon::supervisor::Heartbeat;

/// The event channel's size. A resync is a few events per link and per
/// address, so a burst of this many unread events means the receiver is
/// behind: the monitor stops sending single events and resyncs once it
/// has room.
pub const QUEUE: usize = 1024;

/// The waits between attempts to subscribe again, or to read everything
/// again after a failed dump.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// What the event stream reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link's up/down state or name changed (or it was first seen).
    LinkState {
        index: u32,
        name: String,
        up: bool,
    },
    /// A link disappeared.
    LinkGone {
        index: u32,
    },
    AddressAdded(Addr),
    AddressRemoved(Addr),
    /// Something may have been missed (an overrun, a full channel, a
    /// socket subscribed again) and everything was read again; the
    /// differences from what was told before follow.
    Resynced,
}

/// What the receiver has been told: each link's name and up state, and
/// each address by (ifindex, address).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Told {
    links: BTreeMap<u32, (String, bool)>,
    addrs: BTreeMap<(u32, IpAddr), Addr>,
}

impl Told {
    /// The state a dump of `links` and `addrs` shows.
    pub fn of(links: &[Link], addrs: Vec<Addr>) -> Self {
        Told {
            links: (links.iter())
                .map(|l| (l.index, (l.name.clone(), l.is_up())))
                .collect(),
            addrs: addrs.into_iter().map(|a| ((a.index, a.addr), a)).collect(),
        }
    }

    /// Whether `ev` tells the receiver something it does not know.
    pub fn is_news(&self, ev: &NetEvent) -> bool {
        match ev {
            NetEvent::LinkState { index, name, up } => self
                .links
                .get(index)
                .is_none_or(|(n, u)| n != name || u != up),
            NetEvent::LinkGone { index } => self.links.contains_key(index),
            NetEvent::AddressAdded(a) => self.addrs.get(&(a.index, a.addr)) != Some(a),
            NetEvent::AddressRemoved(a) => self.addrs.contains_key(&(a.index, a.addr)),
            NetEvent::Resynced => true,
        }
    }

    /// Records that the receiver was told `ev`.
    pub fn record(&mut self, ev: &NetEvent) {
        match ev {
            NetEvent::LinkState { index, name, up } => {
                self.links.insert(*index, (name.clone(), *up));
            }
            NetEvent::LinkGone { index } => {
                self.links.remove(index);
            }
            NetEvent::AddressAdded(a) => {
                self.addrs.insert((a.index, a.addr), a.clone());
            }
            NetEvent::AddressRemoved(a) => {
                self.addrs.remove(&(a.index, a.addr));
            }
            NetEvent::Resynced => {}
        }
    }

    /// The events that bring a receiver told `self` to `now`: addresses
    /// gone, links gone, links new or changed, addresses new or changed.
    pub fn diff(&self, now: &Told) -> Vec<NetEvent> {
        let mut out: Vec<NetEvent> = (self.addrs.iter())
            .filter(|(k, _)| !now.addrs.contains_key(k))
            .map(|(_, a)| NetEvent::AddressRemoved(a.clone()))
            .collect();
        out.extend(
            (self.links.keys())
                .filter(|i| !now.links.contains_key(i))
                .map(|&index| NetEvent::LinkGone { index }),
        );
        out.extend(
            (now.links.iter())
                .filter(|(i, l)| self.links.get(i) != Some(l))
                .map(|(&index, (name, up))| NetEvent::LinkState {
                    index,
                    name: name.clone(),
                    up: *up,
                }),
        );
        out.extend(
            (now.addrs.iter())
                .filter(|(k, a)| self.addrs.get(k) != Some(a))
                .map(|(_, a)| NetEvent::AddressAdded(a.clone())),
        );
        out
    }
}

/// One multicast subscription: its messages, and the connection task
/// that reads the socket (aborted with it, so an old socket does not
/// linger subscribed).
struct Subscription {
    messages: BoxStream<
        'static,
        (
            NetlinkMessage<RouteNetlinkMessage>,
            rtnetlink::sys::SocketAddr,
        ),
    >,
    conn: JoinHandle<()>,
}

impl Subscription {
    fn open() -> Result<Self, NetError> {
        let (conn, _h, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetError::Socket)?;
        Ok(Subscription {
            messages: messages.boxed(),
            conn: tokio::spawn(conn),
        })
    }

    /// Closes the socket as a failure would: the stream ends.
    #[cfg(feature = "fault-hooks")]
    fn break_it(&mut self) {
        self.conn.abort();
        self.messages = futures::stream::empty().boxed();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

/// The task that turns the event socket's messages into [`NetEvent`]s
/// (see [`events`]); run it with [`Monitor::run`].
pub struct Monitor {
    net: Net,
    tx: mpsc::Sender<NetEvent>,
    sub: Subscription,
}

/// Subscribes to link and address events: their receiver, and the
/// monitor task that fills it (its first act: every link and address as
/// it is now).
pub fn events() -> Result<(mpsc::Receiver<NetEvent>, Monitor), NetError> {
    let sub = Subscription::open()?;
    let net = Net::connect()?;
    let (tx, rx) = mpsc::channel(QUEUE);
    Ok((rx, Monitor { net, tx, sub }))
}

/// Why the monitor reads everything again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Start,
    Overrun,
    Behind,
    Subscribed,
}

/// What one message of the socket means.
enum Read {
    Event(NetEvent),
    Overrun,
    Nothing,
}

fn read(msg: NetlinkMessage<RouteNetlinkMessage>) -> Read {
    use RouteNetlinkMessage as M;
    let ev = match msg.payload {
        NetlinkPayload::InnerMessage(M::NewLink(l)) => {
            let link = Link::from_msg(&l);
            NetEvent::LinkState {
                index: link.index,
                up: link.is_up(),
                name: link.name,
            }
        }
        NetlinkPayload::InnerMessage(M::DelLink(l)) => NetEvent::LinkGone {
            index: l.header.index,
        },
        NetlinkPayload::InnerMessage(M::NewAddress(a)) => match Addr::from_msg(&a) {
            Some(a) => NetEvent::AddressAdded(a),
            None => return Read::Nothing,
        },
        NetlinkPayload::InnerMessage(M::DelAddress(a)) => match Addr::from_msg(&a) {
            Some(a) => NetEvent::AddressRemoved(a),
            None => return Read::Nothing,
        },
        NetlinkPayload::Overrun(_) => return Read::Overrun,
        _ => return Read::Nothing,
    };
    Read::Event(ev)
}

impl Monitor {
    /// Runs until the receiver is dropped; checks in with `hb` per
    /// message and on an idle tick. A closed or failed socket is
    /// subscribed again (with [`RETRY`]) and followed by a resync.
    pub async fn run(self, hb: Heartbeat) {
        let Monitor { net, tx, mut sub } = self;
        let mut told = Told::default();
        let mut pending = Some(Why::Start);
        let mut retry = RETRY;
        let mut idle = hb.ticker();
        loop {
            hb.check_in().await;
            #[cfg(feature = "fault-hooks")]
            if hb.disconnect_asked() {
                tracing::warn!("fault hook: netlink event socket broken");
                sub.break_it();
            }
            if let Some(why) = pending.take() {
                match resync(&net, &tx, &mut told, why).await {
                    Ok(()) => retry = RETRY,
                    Err(Some(e)) => {
                        tracing::error!(error = %e, "netlink: cannot read links and addresses again");
                        pending = Some(why);
                        pause(&hb, retry.next()).await;
                        continue;
                    }
                    Err(None) => break,
                }
            }
            let next = tokio::select! {
                m = sub.messages.next() => m,
                _ = idle.tick() => continue,
                () = tx.closed() => break,
            };
            let Some((msg, _)) = next else {
                tracing::error!("netlink event socket closed: subscribing again");
                sub = subscribe_again(&hb, &mut retry).await;
                pending = Some(Why::Subscribed);
                continue;
            };
            let ev = match read(msg) {
                Read::Event(ev) => ev,
                Read::Overrun => {
                    tracing::warn!("netlink event socket overran (ENOBUFS): full resync");
                    pending = Some(Why::Overrun);
                    continue;
                }
                Read::Nothing => continue,
            };
            match deliver(&tx, &mut told, ev) {
                Delivery::Sent | Delivery::Old => {}
                Delivery::Full => {
                    tracing::warn!(queue = QUEUE, "link event queue full: full resync");
                    pending = Some(Why::Behind);
                }
                Delivery::Gone => break,
            }
        }
        // The dispatcher is gone (told to end, or restarting).
        hb.retire();
    }
}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Sent,
    /// Nothing the receiver does not know: not sent.
    Old,
    /// The channel was full: not sent, and `told` does not count it, so
    /// the resync that must follow carries it.
    Full,
    /// The receiver is gone.
    Gone,
}

/// Sends `ev` if it is news, without waiting, and records what was sent.
fn deliver(tx: &mpsc::Sender<NetEvent>, told: &mut Told, ev: NetEvent) -> Delivery {
    if !told.is_news(&ev) {
        return Delivery::Old;
    }
    match tx.try_send(ev.clone()) {
        Ok(()) => {
            told.record(&ev);
            Delivery::Sent
        }
        Err(TrySendError::Full(_)) => Delivery::Full,
        Err(TrySendError::Closed(_)) => Delivery::Gone,
    }
}

/// Sleeps `wait`, checking in on the way (a retry is not a stall).
async fn pause(hb: &Heartbeat, wait: Duration) {
    let end = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < end {
        hb.check_in().await;
        tokio::time::sleep_until(end.min(tokio::time::Instant::now() + hb.tick())).await;
    }
}

/// Subscribes again until it works, waiting `retry` between attempts.
async fn subscribe_again(hb: &Heartbeat, retry: &mut Backoff) -> Subscription {
    loop {
        match Subscription::open() {
            Ok(s) => return s,
            Err(e) => {
                tracing::error!(error = %e, "netlink: cannot subscribe to link events");
                pause(hb, retry.next()).await;
            }
        }
    }
}

/// Reads every link and address and tells the receiver what differs
/// from `told` (after [`NetEvent::Resynced`], except at start). Awaits
/// room in the channel. `Err(None)`: the receiver is gone.
async fn resync(
    net: &Net,
    tx: &mpsc::Sender<NetEvent>,
    told: &mut Told,
    why: Why,
) -> Result<(), Option<NetError>> {
    let links = net.links().await.map_err(Some)?;
    let addrs = net.addresses(None).await.map_err(Some)?;
    let now = Told::of(&links, addrs);
    let mut events = told.diff(&now);
    if why != Why::Start {
        tracing::warn!(
            ?why,
            changes = events.len(),
            "links and addresses read again"
        );
        events.insert(0, NetEvent::Resynced);
    }
    for ev in events {
        tx.send(ev).await.map_err(|_| None::<NetError>)?;
    }
    *told = now;
    Ok(())
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
