//! Anycast VIPs over BGP, announced by BIRD: vigil decides what is
//! announced and writes BIRD's config; BIRD speaks BGP (and BFD).
//!
//! Owns: the pure parts ([`announce`]: which addresses the box announces
//! given the services' quorum, the kernel and the drain; [`bird`]: BIRD's
//! config text for that; [`reply`]: BIRD's control-socket replies, decoded
//! and bounded) and the edge that talks to BIRD ([`client`]). Must not:
//! speak BGP, touch the IPVS table or start processes (BIRD runs under
//! systemd as its own unit).
//!
//! ```text
//!   IPVS task --watch<Serving>--> announce::decide(targets, serving, drained)
//!        --> bird::render --> the file BIRD's unit reads --> client: configure
//!   client: show protocols all --> reply::protocols --> each neighbour's session
//! ```

pub mod announce;
pub mod bird;
pub mod client;
pub mod drain;
pub mod reply;
pub mod task;
