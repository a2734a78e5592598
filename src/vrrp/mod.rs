//! VRRP (RFC 3768 v2, RFC 5798 v3): the sans-IO core of vigil's failover.
//!
//! Owns: units and timer maths (`types`), the wire codec (`packet`),
//! the receive checks, their once-per-socket classification and drop
//! counters (`filter`), the timer
//! table (`timers`), the per-instance state machine (`machine`) and the
//! sync-group core that owns an instance task's machines (`group`).
//! Must not (the sans-IO core: `types`, `packet`, `filter`, `timers`,
//! `machine`, `group`): open sockets, read the clock, spawn tasks, or depend
//! on `crate::config`.
//!
//! The edge lives beside the core and is the only part that does I/O or
//! reads the config: `from_config` (config -> core parameters, in one
//! place), `socket` (raw protocol-112 sockets, gratuitous ARP / NA),
//! `receive` (receive tasks: classify once, deliver to one instance), `member` (one member's
//! sockets, VIPs, status and setup), `routes` (its `virtual_routes` and
//! `virtual_rules`, installed with the VIPs), `arpwatch` (while MASTER: another
//! MAC claiming a VIP at L2, judged purely, one AF_PACKET watch per interface)
//! and `instance` (one task per sync
//! group executing what its `group::Machine` hands out). The edge fills
//! `machine::InstanceConfig` from the config, feeds decoded packets,
//! interface events and wakeups in, and carries the returned actions out
//! (packets, addresses, ARP/NA, notifications, status).
//!
//! ```text
//!  raw socket bytes --decode_ipv4/6--> Received --filter::classify--> Input::Advert
//!        (per socket: DecodeError, unknown VRID, FilterDrop -> its DropCounters)
//!                                                        |
//!  netlink link events --> Input::InterfaceUp/Down/TrackedInterface
//!  group::Machine::poll_timeout() --> edge sleeps --> Input::Timeout
//!                                                        v
//!                             group::Machine::handle(member, input, now)
//!                                   |   machine::Machine::handle(input, now)
//!                                   |   its actions; OwnFault / StateChange
//!                                   |   --> Input::Group to the other members
//!                                   |   (FIFO, at most MAX_CASCADE deliveries)
//!                                                        v
//!                 group::Machine::poll_action() -> Member { member, Action (SendAdvert,
//!                 AddVips, RemoveVips, SendGratuitous, StateChange) } | Status | Group
//! ```

pub mod arpwatch;
pub mod filter;
pub mod from_config;
pub mod group;
pub mod instance;
pub mod machine;
pub mod member;
pub mod packet;
pub mod receive;
pub(crate) mod routes;
pub mod socket;
pub mod timers;
pub mod types;

#[cfg(test)]
mod rfc_tests;

pub use machine::{Action, Input, InstanceConfig, Machine, Reason, State};
pub use packet::{decode_ipv4, decode_ipv6, DecodeError, Received, Repr};
pub use types::{AdverInt, Centiseconds, Priority, Version, Vrid};
