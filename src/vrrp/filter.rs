//! The receive checks and their drop counters.
//!
//! Owns: [`FilterConfig`] (what an instance expects of a peer's advert),
//! [`check`] (decoded packet -> machine input, or the reason to drop it),
//! [`classify`] (one datagram against every instance listening on its
//! socket: which one gets it, or the one reason it is dropped),
//! [`FilterDrop`] and [`DropCounters`], indexed by [`DropReason`]: one
//! counter per `DecodeError` variant, per `FilterDrop` variant,
//! `InstanceNotReady`, plus `AddressListMismatch`, which is counted but
//! never drops.
//! Must not: touch bytes (that is `vrrp::packet`), do I/O, or change
//! machine state.
//!
//! The receive task of an (interface, family) runs [`classify`] once per
//! datagram, before any instance queue: junk of every kind is counted
//! there, once, and only an advert an instance accepts reaches that one
//! instance's queue (`vrrp::receive`).
//!
//! RFC 3768 section 7.1 (authentication type and key must match; the
//! advert interval must equal ours, else discard; an address owner takes
//! no advert) and RFC 5798 section 7.1 (same without authentication or the
//! interval check: v3 backups learn the interval). One deliberate
//! difference: an advert whose address list differs from ours is counted
//! (`AddressListMismatch`) and taken, where the RFCs drop it unless it
//! comes from the owner: boxes reloaded one at a time differ in their VIPs
//! for a while, and dropping the master's adverts then would make a
//! second master. In strict mode (`vrrp_strict`) such an advert is
//! dropped (`StrictAddressList`), as keepalived does there.
//! `vrrp::rfc_tests` lists every rule against the code.

use std::net::IpAddr;

use thiserror::Error;

use super::machine::Advert;
use super::packet::{Auth, DecodeError, Family, Received, Repr, VRRP_TTL};
use super::types::{Centiseconds, Version, Vrid};

/// What an instance accepts. Filled by the edge from the same config as
/// `machine::InstanceConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterConfig {
    pub vrid: Vrid,
    pub version: Version,
    pub family: Family,
    /// v2 only; v3 instances use `Auth::None`.
    pub auth: Auth,
    /// Our advert interval; v2 drops adverts with another one.
    pub advert_interval: Centiseconds,
    /// Addresses of this router on the VRRP interface (own-packet check).
    pub own_addrs: Vec<IpAddr>,
    /// Unicast peers; empty means multicast (any source accepted).
    pub unicast_peers: Vec<IpAddr>,
    /// Configured virtual addresses, compared (as a set) with the advert's.
    pub vips: Vec<IpAddr>,
    /// `unicast_ttl` set (with unicast peers): adverts of any TTL / hop
    /// limit are taken, as keepalived takes unicast ones; else 255 only.
    pub any_ttl: bool,
    /// We are the address owner (configured priority 255): every advert
    /// that passes the other checks is still dropped (RFC 3768 / RFC 5798
    /// section 7.1: only a non-owner processes adverts).
    pub owner: bool,
    /// Strict mode (`vrrp_strict`, `strict_mode`): an advert whose address
    /// list differs from ours is dropped, as the RFCs allow and keepalived
    /// does in strict mode, instead of counted and taken.
    pub strict: bool,
}

/// Why an instance ignored a well-formed advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FilterDrop {
    /// For another virtual router; the demux counts it as unknown VRID if
    /// no instance takes it.
    #[error("advert for vrid {vrid}, not ours")]
    VridMismatch { vrid: Vrid },
    #[error("advert is vrrp version {got:?}, we run {want:?}")]
    VersionMismatch { got: Version, want: Version },
    #[error("advert address family {got:?}, we run {want:?}")]
    FamilyMismatch { got: Family, want: Family },
    #[error("authentication type or key mismatch")]
    AuthMismatch,
    #[error("advert interval {got} differs from ours, {want}")]
    IntervalMismatch {
        got: Centiseconds,
        want: Centiseconds,
    },
    #[error("advert from one of our own addresses, {src}")]
    OwnPacket { src: IpAddr },
    #[error("advert from {src}, not a configured unicast peer")]
    UnknownUnicastPeer { src: IpAddr },
    /// RFC 5798 section 7.1, for an instance without `unicast_ttl`.
    #[error("ttl or hop limit {ttl}, must be 255")]
    TtlNot255 { ttl: u8 },
    /// RFC 3768 / RFC 5798 section 7.1: the address owner (priority 255)
    /// is MASTER whatever a peer says, so it takes no advert.
    #[error("advert from {src} for an instance that owns its addresses")]
    AddressOwner { src: IpAddr },
    /// RFC 3768 / RFC 5798 section 7.1 ("MAY drop"), in strict mode only.
    #[error("advert from {src} lists other virtual addresses than ours (strict mode drops it)")]
    StrictAddressList { src: IpAddr },
}

/// An advert the machine should see, and whether its address list differs
/// from ours (count `AddressListMismatch` and log; do not drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub advert: Advert,
    pub address_list_mismatch: bool,
}

/// RFC 3768 / RFC 5798 section 7.1 checks that need the instance's config.
pub fn check(cfg: &FilterConfig, rx: &Received) -> Result<Accepted, FilterDrop> {
    let repr = &rx.repr;
    if repr.vrid() != cfg.vrid {
        return Err(FilterDrop::VridMismatch { vrid: repr.vrid() });
    }
    if rx.ttl != VRRP_TTL && !cfg.any_ttl {
        return Err(FilterDrop::TtlNot255 { ttl: rx.ttl });
    }
    if repr.version() != cfg.version {
        return Err(FilterDrop::VersionMismatch {
            got: repr.version(),
            want: cfg.version,
        });
    }
    if repr.family() != cfg.family {
        return Err(FilterDrop::FamilyMismatch {
            got: repr.family(),
            want: cfg.family,
        });
    }
    if cfg.own_addrs.contains(&rx.src) {
        return Err(FilterDrop::OwnPacket { src: rx.src });
    }
    if !cfg.unicast_peers.is_empty() && !cfg.unicast_peers.contains(&rx.src) {
        return Err(FilterDrop::UnknownUnicastPeer { src: rx.src });
    }
    if let Repr::V2(_) = repr {
        if repr.auth() != cfg.auth {
            return Err(FilterDrop::AuthMismatch);
        }
        if repr.interval() != cfg.advert_interval {
            return Err(FilterDrop::IntervalMismatch {
                got: repr.interval(),
                want: cfg.advert_interval,
            });
        }
    }
    if cfg.owner {
        return Err(FilterDrop::AddressOwner { src: rx.src });
    }
    let address_list_mismatch =
        repr.addr_count() != cfg.vips.len() || repr.addrs().any(|a| !cfg.vips.contains(&a));
    if address_list_mismatch && cfg.strict {
        return Err(FilterDrop::StrictAddressList { src: rx.src });
    }
    Ok(Accepted {
        advert: Advert {
            src: rx.src,
            priority: repr.priority(),
            interval: repr.interval(),
        },
        address_list_mismatch,
    })
}

/// An advert the socket hands to one listener (its index in the list
/// [`classify`] was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub listener: usize,
    pub accepted: Accepted,
}

/// Judges one received datagram for a socket whose listeners are
/// `(VRID, filter)` pairs (`None`: the instance has not finished its setup
/// and takes nothing yet). The first listener of the advert's VRID whose
/// filter accepts it gets it; otherwise the reason is the decode error's,
/// `UnknownVrid` when no listener runs the VRID, or the filter's reason of
/// the first listener of that VRID. Pure: the caller counts and delivers.
pub fn classify<'a>(
    decoded: &Result<Received, DecodeError>,
    listeners: impl IntoIterator<Item = (Vrid, Option<&'a FilterConfig>)>,
) -> Result<Delivery, DropReason> {
    let rx = decoded.as_ref().map_err(DropReason::from)?;
    let mut first = None;
    for (n, (vrid, cfg)) in listeners.into_iter().enumerate() {
        if vrid != rx.repr.vrid() {
            continue;
        }
        let verdict = match cfg {
            None => Err(DropReason::InstanceNotReady),
            Some(cfg) => check(cfg, rx).map_err(|e| DropReason::from(&e)),
        };
        match verdict {
            Ok(accepted) => {
                return Ok(Delivery {
                    listener: n,
                    accepted,
                })
            }
            Err(r) => {
                first.get_or_insert(r);
            }
        }
    }
    Err(first.unwrap_or(DropReason::UnknownVrid))
}

macro_rules! drop_reasons {
    ($($name:ident => $label:literal,)*) => {
        /// One counter each; `DecodeError`, `FilterDrop` and the address
        /// list check map onto these.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DropReason { $($name,)* }

        impl DropReason {
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case name for status output and metrics.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$name => $label,)* }
            }

            /// Whether the advert was dropped (every reason but the
            /// address list mismatch, which is counted and accepted).
            pub const fn drops(self) -> bool {
                !matches!(self, DropReason::AddressListMismatch)
            }
        }
    };
}

drop_reasons! {
    Truncated => "truncated",
    NotIpv4 => "not_ipv4",
    BadIpHeaderLength => "bad_ip_header_length",
    TotalLengthMismatch => "total_length_mismatch",
    NotVrrpProtocol => "not_vrrp_protocol",
    TtlNot255 => "ttl_not_255",
    BadVersion => "bad_version",
    BadType => "bad_type",
    V2OverIpv6 => "v2_over_ipv6",
    AddressCountMismatch => "address_count_mismatch",
    Checksum => "checksum",
    ZeroVrid => "zero_vrid",
    AuthTypeUnsupported => "auth_type_unsupported",
    BadAdvertInterval => "bad_advert_interval",
    UnknownVrid => "unknown_vrid",
    VersionMismatch => "version_mismatch",
    FamilyMismatch => "family_mismatch",
    AuthMismatch => "auth_mismatch",
    IntervalMismatch => "interval_mismatch",
    OwnPacket => "own_packet",
    UnknownUnicastPeer => "unknown_unicast_peer",
    InstanceNotReady => "instance_not_ready",
    AddressOwner => "address_owner",
    StrictAddressList => "strict_address_list",
    AddressListMismatch => "address_list_mismatch",
}

impl From<&DecodeError> for DropReason {
    fn from(e: &DecodeError) -> Self {
        match e {
            DecodeError::Truncated { .. } => DropReason::Truncated,
            DecodeError::NotIpv4 { .. } => DropReason::NotIpv4,
            DecodeError::BadIpHeaderLength { .. } => DropReason::BadIpHeaderLength,
            DecodeError::TotalLengthMismatch { .. } => DropReason::TotalLengthMismatch,
            DecodeError::NotVrrpProtocol { .. } => DropReason::NotVrrpProtocol,
            DecodeError::TtlNot255 { .. } => DropReason::TtlNot255,
            DecodeError::BadVersion { .. } => DropReason::BadVersion,
            DecodeError::BadType { .. } => DropReason::BadType,
            DecodeError::V2OverIpv6 => DropReason::V2OverIpv6,
            DecodeError::AddressCountMismatch { .. } => DropReason::AddressCountMismatch,
            DecodeError::Checksum => DropReason::Checksum,
            DecodeError::ZeroVrid => DropReason::ZeroVrid,
            DecodeError::AuthTypeUnsupported { .. } => DropReason::AuthTypeUnsupported,
            DecodeError::BadAdvertInterval => DropReason::BadAdvertInterval,
        }
    }
}

impl From<&FilterDrop> for DropReason {
    fn from(e: &FilterDrop) -> Self {
        match e {
            FilterDrop::VridMismatch { .. } => DropReason::UnknownVrid,
            FilterDrop::VersionMismatch { .. } => DropReason::VersionMismatch,
            FilterDrop::FamilyMismatch { .. } => DropReason::FamilyMismatch,
            FilterDrop::AuthMismatch => DropReason::AuthMismatch,
            FilterDrop::IntervalMismatch { .. } => DropReason::IntervalMismatch,
            FilterDrop::OwnPacket { .. } => DropReason::OwnPacket,
            FilterDrop::UnknownUnicastPeer { .. } => DropReason::UnknownUnicastPeer,
            FilterDrop::TtlNot255 { .. } => DropReason::TtlNot255,
            FilterDrop::AddressOwner { .. } => DropReason::AddressOwner,
            FilterDrop::StrictAddressList { .. } => DropReason::StrictAddressList,
        }
    }
}

/// Drop counters, one per [`DropReason`]; saturating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCounters {
    counts: [u64; DropReason::COUNT],
}

impl Default for DropCounters {
    fn default() -> Self {
        Self {
            counts: [0; DropReason::COUNT],
        }
    }
}

impl DropCounters {
    pub fn bump(&mut self, reason: DropReason) {
        let c = &mut self.counts[reason as usize];
        *c = c.saturating_add(1);
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason as usize]
    }

    /// Adds every count of `other` to `drops` (see [`tally`]); false when
    /// `other` counted nothing.
    pub fn add_to(&self, drops: &mut Vec<(String, u64)>) -> bool {
        for r in DropReason::ALL {
            let n = self.get(*r);
            if n > 0 {
                tally(drops, *r, n);
            }
        }
        self.total() > 0
    }

    /// `(name, count)` for every reason, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL.iter().map(|r| (r.name(), self.get(*r)))
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Counts what [`classify`] decided (a drop's reason, or an accepted
    /// advert's address-list mismatch).
    pub fn count(&mut self, verdict: &Result<Delivery, DropReason>) {
        match verdict {
            Ok(d) if d.accepted.address_list_mismatch => self.bump(DropReason::AddressListMismatch),
            Ok(_) => {}
            Err(r) => self.bump(*r),
        }
    }

    /// Runs the filter of one instance on a decode result (as [`classify`]
    /// with that instance alone) and counts what it drops (and an
    /// address-list mismatch); returns the advert the machine should see.
    pub fn account(
        &mut self,
        cfg: &FilterConfig,
        decoded: &Result<Received, DecodeError>,
    ) -> Option<Advert> {
        let verdict = classify(decoded, [(cfg.vrid, Some(cfg))]);
        self.count(&verdict);
        verdict.ok().map(|d| d.accepted.advert)
    }
}

/// Adds `n` to `reason`'s entry of a `(name, count)` list (the status's
/// form of the counters) kept in the order of [`DropReason::ALL`]; an entry
/// appears at its first count.
pub fn tally(drops: &mut Vec<(String, u64)>, reason: DropReason, n: u64) {
    let name = reason.name();
    if let Some((_, c)) = drops.iter_mut().find(|(x, _)| x == name) {
        *c = c.saturating_add(n);
        return;
    }
    let rank = |n: &str| DropReason::ALL.iter().position(|r| r.name() == n);
    let at = drops
        .iter()
        .position(|(n, _)| rank(n) > rank(name))
        .unwrap_or(drops.len());
    drops.insert(at, (name.to_owned(), n));
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
