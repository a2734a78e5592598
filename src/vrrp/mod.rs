//! VRRP (RFC 3768 v2, RFC 5798 v3): the sans-IO core of vigil's failover.
//!
//! Owns: units and timer maths (`types`), the wire codec (`packet`),
//! per-instance receive checks and drop counters (`filter`), the timer
//! table (`timers`), the per-instance state machine (`machine`) and sync
//! groups (`group`).
//! Must not (the sans-IO core: `types`, `packet`, `filter`, `timers`,
//! `machine`, `group`): open sockets, read the clock, spawn tasks, or depend
//! on `crate::config`.
//!
//! The edge lives beside the core and is the only part that does I/O or
//! reads the config: `from_config` (config -> core parameters, in one
//! place), `socket` (raw protocol-112 sockets, gratuitous ARP / NA),
//! `receive` (receive tasks, demux by VRID) and `instance` (one task per
//! sync group driving the machines). The edge fills `machine::InstanceConfig`
//! from the config, feeds decoded packets, interface events and wakeups in,
//! and carries the returned actions out (packets, addresses, ARP/NA,
//! notifications).
//!
//! ```text
//!  raw socket bytes --decode_ipv4/6--> Received --filter::check--> Input::Advert
//!        (DecodeError -> DropCounters)        (FilterDrop -> DropCounters)
//!                                                        |
//!  netlink link events --> Input::InterfaceUp/Down/TrackedInterface
//!  poll_timeout() ------> edge sleeps --> Input::Timeout  |
//!                                                        v
//!                                      Machine::handle(input, now)
//!                                                        |
//!                                    poll_action() -> Action (SendAdvert, AddVips,
//!                                    RemoveVips, SendGratuitous, StateChange)
//!                                                        |
//!                          StateChange --> group::SyncGroup --> Inputs to peers
//! ```

pub mod filter;
pub mod from_config;
pub mod group;
pub mod instance;
pub mod machine;
pub mod packet;
pub mod receive;
pub mod socket;
pub mod timers;
pub mod types;

pub use machine::{Action, Input, InstanceConfig, Machine, Reason, State};
pub use packet::{decode_ipv4, decode_ipv6, DecodeError, Received, Repr};
pub use types::{AdverInt, Centiseconds, Priority, Version, Vrid};
