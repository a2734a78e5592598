//! The box's own set-up from the `appliance { }` block: hostname, each
//! NIC's addresses, MTU, routes and ARP sysctls, and `ip_forward`.
//!
//! Owns: [`plan`] (the pure core: desired block + the kernel's state →
//! the fewest [`plan::Op`]s), [`edge`] (reading the kernel's state and
//! applying ops through rtnetlink, `/proc/sys` and `sethostname`) and
//! [`live`] (when the daemon applies, and the block it applied last).
//! Must not: touch what vigil does not own (see below), the IPVS sysctls
//! (`ipvs::sysctl`, applied by the IPVS task once `ip_vs` is loaded), the
//! watchdog or the console.
//!
//! What vigil owns, and how it knows:
//! - routes: those of the main table with protocol [`RTPROT_VIGIL`] (86,
//!   'V'; unused in iproute2's `rt_protos` and in `linux/rtnetlink.h`).
//!   The mark lives in the kernel, so it survives a daemon restart. A
//!   route of another protocol (boot, static: an installer's, an
//!   operator's) to a destination the block routes is replaced by vigil's
//!   (the block is the box's word on it); a `kernel` route never is.
//! - addresses: the ones the block names now or the previously applied
//!   block named. The kernel keeps no owner for an address (IFA_PROTO
//!   exists only from Linux 6.3; Debian 12's 6.1, which the lab boots,
//!   lacks it), and the addresses die with the kernel, so "what we
//!   applied last" is exact across reloads; after a daemon restart the
//!   first apply only adds and changes (an address a restart's new config
//!   dropped stays until the next reboot).
//!
//! Never touched, whatever the blocks say: VRRP's VIPs (passed in by the
//! caller), link-local addresses (fe80::/10, 169.254.0.0/16, which the
//! kernel makes), routes of protocol `kernel`, and links that are not
//! named in the block. MTUs are set, never restored: with `mtu` removed
//! from the block the link keeps the last one.

pub mod edge;
pub mod live;
pub mod plan;

pub use edge::{apply, ApplyError, Host, Report};
pub use live::{Live, Mode};
pub use plan::{plan, Actual, Desired, Op, Plan, Refusal};

/// The route protocol number of vigil's routes (`ip route ... proto 86`).
pub const RTPROT_VIGIL: u8 = 86;
