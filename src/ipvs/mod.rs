//! IPVS: the kernel's load-balancing table, programmed over generic netlink.
//!
//! ```text
//!   config + health ──> desired::build ──> Desired (table, draining, quorum)
//!                                              │
//!   Kernel::services/dests ──> actual Table ──>│ reconcile::diff
//!                                              ▼
//!                                  Plan { ops, foreign } ──> Kernel::apply
//! ```
//!
//! - [`wire`]: the pure codec of the IPVS family (every byte lives there).
//! - [`kernel`]: the [`kernel::Kernel`] trait the reconcile loop drives, its
//!   operations, the table type, and an in-memory fake with the kernel's
//!   rules for tests.
//! - [`netlink`]: the netlink header, acks and pipelined batches (pure).
//! - [`client`]: the socket edge implementing `Kernel` (pipelined applies).
//! - [`desired`]: config + health -> the table vigil wants (pure).
//! - [`reconcile`]: desired vs actual -> the fewest operations (pure).
//! - [`sync`]: the connection sync daemon following a VRRP instance.
//! - [`task`]: the daemon's IPVS task: health events in, passes out,
//!   backoff, `modprobe ip_vs`, the status `vigil status` shows.
//!
//! The kernel is the source of truth: vigil never flushes; it dumps, diffs
//! and edits in place, so a restart adopts the table as it stands and no
//! established connection is dropped. vigil owns exactly the services its
//! config names (plus those it just retired); others are reported, never
//! touched.

pub mod client;
pub mod desired;
pub mod kernel;
pub mod netlink;
pub mod reconcile;
pub mod sync;
pub mod sysctl;
pub mod task;
pub mod wire;
