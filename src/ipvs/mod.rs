//! IPVS: the kernel's load-balancing table, programmed over generic netlink.
//!
//! ```text
//!   config + health ──> desired::build ──> Desired (table, draining, quorum)
//!                                              │
//!   Kernel::services/dests ──> actual Table ──>│ reconcile::diff
//!                                              ▼
//!                      Plan { ops, foreign, misordered } ──> Kernel::apply
//! ```
//!
//! - [`wire`]: the pure codec of the IPVS family (every byte lives there).
//! - [`kernel`]: the [`kernel::Kernel`] trait the reconcile loop drives, its
//!   operations, the table type, and an in-memory fake with the kernel's
//!   rules for tests.
//! - [`netlink`]: the netlink header, acks and pipelined batches (pure).
//! - [`client`]: the socket edge implementing `Kernel` (pipelined applies).
//! - [`desired`]: config + health -> the table vigil wants (pure).
//! - [`dr_path`]: the fwmark services DR-path checks travel by (pure).
//! - [`reconcile`]: desired vs actual -> the fewest operations (pure).
//! - [`pass`]: one reconcile pass (dump, diff, apply, dump) against any
//!   `Kernel`, and its typed errors ([`pass::RefusedOp`],
//!   [`pass::Unavailable`]).
//! - [`machine`]: the IPVS task's sans-IO core: health and commits in,
//!   when to pass and what for, drains, retry backoff.
//! - [`names`]: the config's real servers indexed by the health runner's
//!   names and by kernel dest (lookups in the size of the answer).
//! - [`refresh`]: when the table is read back between passes, and how
//!   much of it (the drains' services, or all of it at a bounded cost).
//! - [`status`]: the machine's state as `vigil status` shows it.
//! - [`edge`]: the netlink edge both tasks share: lazy connect, a
//!   panic-safe blocking call, `modprobe ip_vs` once.
//! - [`task`]: the daemon's IPVS task: runs what the machine decides,
//!   sets the kernel settings, runs the quorum and real-server scripts.
//! - [`sync`]: the connection sync daemon following a VRRP instance.
//!
//! The kernel is the source of truth: vigil never flushes; it dumps, diffs
//! and edits in place, so a restart adopts the table as it stands and no
//! established connection is dropped. vigil owns exactly the services its
//! config names and the DR-path services it needs (`dr_path`), plus those
//! it just retired; others are reported, never touched.

pub mod client;
pub mod desired;
pub mod dr_path;
pub mod edge;
pub mod kernel;
pub mod machine;
pub mod names;
pub mod netlink;
pub mod pass;
pub mod reconcile;
pub mod refresh;
pub mod status;
pub mod sync;
pub mod sysctl;
pub mod task;
pub mod wire;
