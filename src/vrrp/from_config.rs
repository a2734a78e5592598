//! The one place a config instance becomes the VRRP core's parameters.
//!
//! Owns: [`from_config`], mapping `config::model::VrrpInstance` +
//! `GlobalDefs` to `machine::InstanceConfig` (timers, priority, preempt,
//! tracking, GARP), `filter::FilterConfig` (what peers must send) and
//! [`EdgeConfig`] (what only the I/O edge needs: addresses, groups, pacing).
//! Must not: touch the system. The caller looks up the interface's primary
//! address and passes it in.
//!
//! Units: the config holds milliseconds; the core holds centiseconds. v2
//! carries whole seconds (RFC 3768 5.3.7), v3 centiseconds (RFC 5798
//! 5.2.7); an interval that does not fit its version exactly is an error,
//! never rounded.

use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;

use super::filter::FilterConfig;
use super::machine::{GarpConfig, InitialState, InstanceConfig, InstanceConfigError, Track};
use super::packet::{Auth, Family, VRRP_TTL};
use super::types::{Centiseconds, Priority, Version, Vrid};
use crate::config::bounds::{IfName, Millis};
use crate::config::model::{self, GlobalDefs, Vip, VrrpInstance, VrrpVersion};

/// What the socket, address and ARP edge needs besides the core's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    pub name: String,
    pub interface: IfName,
    pub family: Family,
    /// Adverts go here unless `unicast_peers` is non-empty.
    pub mcast_group: IpAddr,
    /// Source of our adverts: `unicast_src_ip` or the interface's primary.
    pub src: IpAddr,
    pub unicast_peers: Vec<IpAddr>,
    /// TTL / hop limit of the adverts sent: `unicast_ttl` to unicast
    /// peers, else 255.
    pub ttl: u8,
    /// Advertised (in adverts) and installed on MASTER.
    pub vips: Vec<Vip>,
    /// Installed on MASTER, not advertised.
    pub vips_excluded: Vec<Vip>,
    /// Gap between gratuitous ARPs (IPv4 VIPs) inside a burst.
    pub garp_interval: Duration,
    /// Gap between unsolicited NAs (IPv6 VIPs) inside a burst.
    pub gna_interval: Duration,
    /// Names of `track_interface`s, in `InstanceConfig::track` order.
    pub track: Vec<IfName>,
    pub notify: model::Notify,
    /// `notify_arp_theft`: run on an ARP theft while MASTER.
    pub notify_arp_theft: Option<model::Script>,
    pub smtp_alert: bool,
}

/// Everything one instance task needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub machine: InstanceConfig,
    pub filter: FilterConfig,
    pub edge: EdgeConfig,
}

/// A config instance the core cannot run. The config validator should
/// have refused all of these; they are checked again here because the
/// store may hold a config written by another version.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FromConfigError {
    #[error("instance {name}: virtual_router_id 0")]
    ZeroVrid { name: String },
    #[error("instance {name}: advert_int {interval:?} is not a whole number of {unit} for vrrp {version}")]
    AdvertInterval {
        name: String,
        interval: Millis,
        version: u8,
        unit: &'static str,
    },
    #[error("instance {name}: vrrp version 2 cannot run over ipv6")]
    V2OverIpv6 { name: String },
    #[error("instance {name}: {setting} {value} does not fit")]
    OutOfRange {
        name: String,
        setting: &'static str,
        value: u64,
    },
    #[error("instance {name}: the primary address {primary} is not of the instance's family")]
    PrimaryFamily { name: String, primary: IpAddr },
    #[error("instance {name}")]
    Machine {
        name: String,
        #[source]
        source: InstanceConfigError,
    },
}

/// Interval in the core's unit: whole seconds for v2, centiseconds for v3.
pub fn advert_interval(
    name: &str,
    version: Version,
    interval: Millis,
) -> Result<Centiseconds, FromConfigError> {
    let bad = |unit| FromConfigError::AdvertInterval {
        name: name.to_owned(),
        interval,
        version: version.number(),
        unit,
    };
    match version {
        Version::V2 => {
            if interval.0 % 1000 != 0 {
                return Err(bad("seconds"));
            }
            let secs = u8::try_from(interval.0 / 1000).map_err(|_| bad("seconds"))?;
            if secs == 0 {
                return Err(bad("seconds"));
            }
            Ok(Centiseconds::from_secs(secs))
        }
        Version::V3 => {
            if interval.0 % 10 != 0 {
                return Err(bad("centiseconds"));
            }
            let cs = u16::try_from(interval.0 / 10).map_err(|_| bad("centiseconds"))?;
            if cs == 0 || cs > super::types::AdverInt::MAX {
                return Err(bad("centiseconds"));
            }
            Ok(Centiseconds(cs))
        }
    }
}

fn small(name: &str, setting: &'static str, v: u32) -> Result<u8, FromConfigError> {
    u8::try_from(v).map_err(|_| FromConfigError::OutOfRange {
        name: name.to_owned(),
        setting,
        value: u64::from(v),
    })
}

/// Maps one instance. `primary` is the interface's primary address of the
/// instance's family (IPv4 primary, or IPv6 link-local); `unicast_src_ip`
/// replaces it as our source when set.
pub fn from_config(
    i: &VrrpInstance,
    g: &GlobalDefs,
    primary: IpAddr,
) -> Result<Mapped, FromConfigError> {
    let name = i.name.as_str();
    let vrid = Vrid::new(i.virtual_router_id).ok_or_else(|| FromConfigError::ZeroVrid {
        name: name.to_owned(),
    })?;
    let version = match i.effective_version(g) {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    // Without an address (keepalived runs such an instance) the family is
    // the unicast addresses', else IPv4.
    let family = if i.is_ipv6() { Family::V6 } else { Family::V4 };
    if family == Family::V6 && version == Version::V2 {
        return Err(FromConfigError::V2OverIpv6 {
            name: name.to_owned(),
        });
    }
    let src = i.unicast_src_ip.unwrap_or(primary);
    if Family::of(src) != family {
        return Err(FromConfigError::PrimaryFamily {
            name: name.to_owned(),
            primary: src,
        });
    }
    let interval = advert_interval(name, version, i.advert_int)?;
    let garp = i.effective_garp(g);
    let mut mc = InstanceConfig::new(version, vrid, Priority(i.priority), interval, src);
    mc.initial_state = match i.state {
        model::InitialState::Master => InitialState::Master,
        model::InitialState::Backup => InitialState::Backup,
    };
    mc.preempt = !i.nopreempt;
    mc.preempt_delay = i.preempt_delay.as_duration();
    mc.accept = i.accept;
    mc.track_primary = !i.dont_track_primary;
    mc.garp = GarpConfig {
        master_delay: garp.master_delay.as_duration(),
        master_repeat: small(name, "garp_master_repeat", garp.master_repeat)?,
        master_refresh: garp.master_refresh.as_duration(),
        master_refresh_repeat: small(
            name,
            "garp_master_refresh_repeat",
            garp.master_refresh_repeat,
        )?,
    };
    mc.track = i
        .track_interface
        .iter()
        .map(|t| Track::weighted(t.weight.unwrap_or(0)))
        .collect();
    mc.validate().map_err(|source| FromConfigError::Machine {
        name: name.to_owned(),
        source,
    })?;

    let auth = match (version, &i.authentication) {
        (Version::V2, Some(k)) => Auth::Simple(k.octets()),
        _ => Auth::None,
    };
    let mut own_addrs = vec![primary];
    if src != primary {
        own_addrs.push(src);
    }
    let filter = FilterConfig {
        vrid,
        version,
        family,
        auth,
        advert_interval: interval,
        own_addrs,
        unicast_peers: i.unicast_peer.clone(),
        any_ttl: i.unicast_ttl.is_some() && !i.unicast_peer.is_empty(),
        vips: i.virtual_ipaddress.iter().map(|v| v.addr).collect(),
        owner: mc.priority.is_owner(),
        strict: i.strict,
    };
    let edge = EdgeConfig {
        name: name.to_owned(),
        interface: i.interface.clone(),
        family,
        mcast_group: match family {
            Family::V4 => IpAddr::V4(g.vrrp_mcast_group4),
            Family::V6 => IpAddr::V6(g.vrrp_mcast_group6),
        },
        src,
        unicast_peers: i.unicast_peer.clone(),
        ttl: (i.unicast_ttl)
            .filter(|_| !i.unicast_peer.is_empty())
            .unwrap_or(VRRP_TTL),
        vips: i.virtual_ipaddress.clone(),
        vips_excluded: i.virtual_ipaddress_excluded.clone(),
        garp_interval: garp.interval.as_duration(),
        gna_interval: garp.gna_interval.as_duration(),
        track: i.track_interface.iter().map(|t| t.name.clone()).collect(),
        notify: i.notify.clone(),
        notify_arp_theft: i.notify_arp_theft.clone(),
        smtp_alert: i.smtp_alert.or(g.smtp_alert).unwrap_or(false),
    };
    Ok(Mapped {
        machine: mc,
        filter,
        edge,
    })
}

#[cfg(test)]
#[path = "from_config_tests.rs"]
mod tests;
