//! vigil: the always-on daemon of a two-NIC LVS load-balancer appliance.
//!
//! The library holds every part; `main.rs` only maps argv to a subcommand.
//! Cores are sans-IO (they take `now` and return actions); sockets, files
//! and netlink live at thin edges.

pub mod appliance;
pub mod backoff;
pub mod bgp;
pub mod build_id;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod console;
pub mod control;
pub mod daemon;
pub mod doctor;
pub mod health;
pub mod ipvs;
pub mod logfields;
pub mod mem;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod offload;
pub mod resolve;
pub mod startup;
pub mod store;
pub mod track;
pub mod vrrp;
pub mod watchdog;
