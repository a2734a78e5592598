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
use super::packet::{Auth, Family};
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
    #[error("instance {name}: no virtual_ipaddress")]
    NoVip { name: String },
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
    let first = i
        .virtual_ipaddress
        .first()
        .ok_or_else(|| FromConfigError::NoVip {
            name: name.to_owned(),
        })?;
    let family = Family::of(first.addr);
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
        .map(|t| Track {
            weight: t.weight.unwrap_or(0),
        })
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
        vips: i.virtual_ipaddress.iter().map(|v| v.addr).collect(),
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
        vips: i.virtual_ipaddress.clone(),
        vips_excluded: i.virtual_ipaddress_excluded.clone(),
        garp_interval: garp.interval.as_duration(),
        gna_interval: garp.gna_interval.as_duration(),
        track: i.track_interface.iter().map(|t| t.name.clone()).collect(),
        notify: i.notify.clone(),
        smtp_alert: i.smtp_alert.or(g.smtp_alert).unwrap_or(false),
    };
    Ok(Mapped {
        machine: mc,
        filter,
        edge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::import_str;
    use std::net::Ipv4Addr;

    const PRIMARY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));

    fn one(text: &str) -> (VrrpInstance, GlobalDefs) {
        let imp = import_str("t.conf", text, false).expect("imports");
        let c = imp.config;
        (c.vrrp_instances[0].clone(), c.global)
    }

    fn map(text: &str) -> Mapped {
        let (i, g) = one(text);
        from_config(&i, &g, PRIMARY).expect("maps")
    }

    fn inst(extra: &str) -> String {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n \
             virtual_ipaddress {{\n 10.9.0.200/24\n }}\n{extra}\n}}\n"
        )
    }

    #[test]
    fn seed_v2_pass_one_second() {
        let m = map(&inst(
            "state MASTER\n advert_int 1\n authentication {\n auth_type PASS\n auth_pass 1111\n }",
        ));
        assert_eq!(m.machine.version, Version::V2);
        assert_eq!(m.machine.advert_interval, Centiseconds(100));
        assert_eq!(m.machine.initial_state, InitialState::Master);
        assert_eq!(m.machine.priority, Priority(100));
        assert_eq!(m.filter.auth, Auth::Simple(*b"1111\0\0\0\0"));
        assert_eq!(m.filter.advert_interval, Centiseconds(100));
        assert_eq!(m.filter.own_addrs, vec![PRIMARY]);
        assert_eq!(m.edge.mcast_group, "224.0.0.18".parse::<IpAddr>().unwrap());
        assert_eq!(m.edge.src, PRIMARY);
    }

    #[test]
    fn a_long_auth_pass_goes_on_the_wire_as_its_first_8_bytes_like_keepalived() {
        // keepalived 2.2.7: "Truncating auth_pass to 8 characters"; both
        // ends of a mixed pair must send and expect the same octets.
        let m = map(&inst(
            "authentication {\n auth_type PASS\n auth_pass 123456789012\n }",
        ));
        assert_eq!(m.filter.auth, Auth::Simple(*b"12345678"));
    }

    #[test]
    fn v2_interval_is_whole_seconds() {
        assert_eq!(
            advert_interval("x", Version::V2, Millis(3000)),
            Ok(Centiseconds(300))
        );
        assert!(advert_interval("x", Version::V2, Millis(1500)).is_err());
        assert!(advert_interval("x", Version::V2, Millis(256_000)).is_err());
    }

    #[test]
    fn v3_interval_is_centiseconds() {
        assert_eq!(
            advert_interval("x", Version::V3, Millis(50)),
            Ok(Centiseconds(5))
        );
        assert_eq!(
            advert_interval("x", Version::V3, Millis(1000)),
            Ok(Centiseconds(100))
        );
        assert!(advert_interval("x", Version::V3, Millis(55)).is_err());
        assert!(advert_interval("x", Version::V3, Millis(40_960)).is_err());
        let m = map(&format!(
            "global_defs {{\n vrrp_version 3\n}}\n{}",
            inst("advert_int 0.05")
        ));
        assert_eq!(m.machine.version, Version::V3);
        assert_eq!(m.machine.advert_interval, Centiseconds(5));
        // v3 carries no authentication even if configured.
        assert_eq!(m.filter.auth, Auth::None);
    }

    #[test]
    fn per_instance_version_overrides_global() {
        let m = map(&format!(
            "global_defs {{\n vrrp_version 3\n}}\n{}",
            inst("version 2")
        ));
        assert_eq!(m.machine.version, Version::V2);
        let m = map(&inst("version 3"));
        assert_eq!(m.machine.version, Version::V3);
    }

    #[test]
    fn nopreempt_and_preempt_delay() {
        let m = map(&inst("state BACKUP\n nopreempt"));
        assert!(!m.machine.preempt);
        let m = map(&inst("state BACKUP\n preempt_delay 30"));
        assert!(m.machine.preempt);
        assert_eq!(m.machine.preempt_delay, Duration::from_secs(30));
    }

    #[test]
    fn track_interface_weights() {
        let m = map(&inst(
            "track_interface {\n eth1\n eth2 weight -20\n eth3 weight 10\n }",
        ));
        let w: Vec<i16> = m.machine.track.iter().map(|t| t.weight).collect();
        assert_eq!(w, vec![0, -20, 10]);
        let names: Vec<&str> = m.edge.track.iter().map(IfName::as_str).collect();
        assert_eq!(names, vec!["eth1", "eth2", "eth3"]);
    }

    #[test]
    fn garp_effective_values() {
        // Defaults: keepalived's 5 s / 5 / off / 1.
        let m = map(&inst(""));
        assert_eq!(m.machine.garp, GarpConfig::default());
        assert_eq!(m.edge.garp_interval, Duration::ZERO);
        // global_defs sets, the instance overrides one.
        let m = map(&format!(
            "global_defs {{\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n \
             vrrp_garp_master_refresh 60\n vrrp_garp_interval 0.01\n vrrp_gna_interval 0.02\n}}\n{}",
            inst("garp_master_repeat 7")
        ));
        assert_eq!(m.machine.garp.master_delay, Duration::from_secs(2));
        assert_eq!(m.machine.garp.master_repeat, 7);
        assert_eq!(m.machine.garp.master_refresh, Duration::from_secs(60));
        assert_eq!(m.machine.garp.master_refresh_repeat, 1);
        assert_eq!(m.edge.garp_interval, Duration::from_millis(10));
        assert_eq!(m.edge.gna_interval, Duration::from_millis(20));
    }

    #[test]
    fn unicast_source_and_peers() {
        let m = map(&inst(
            "unicast_src_ip 10.9.0.5\n unicast_peer {\n 10.9.0.6\n 10.9.0.7\n }",
        ));
        let src: IpAddr = "10.9.0.5".parse().unwrap();
        assert_eq!(m.machine.primary_ip, src);
        assert_eq!(m.edge.src, src);
        assert_eq!(m.filter.own_addrs, vec![PRIMARY, src]);
        assert_eq!(m.edge.unicast_peers.len(), 2);
        assert_eq!(m.filter.unicast_peers, m.edge.unicast_peers);
    }

    #[test]
    fn ipv6_v3_uses_group6() {
        let text = "global_defs {\n vrrp_version 3\n}\nvrrp_instance V6 {\n interface eth0\n \
                    virtual_router_id 52\n priority 100\n virtual_ipaddress {\n fd00::200/64\n }\n}\n";
        let (i, g) = one(text);
        let ll: IpAddr = "fe80::1".parse().unwrap();
        let m = from_config(&i, &g, ll).expect("maps");
        assert_eq!(m.edge.family, Family::V6);
        assert_eq!(m.edge.mcast_group, "ff02::12".parse::<IpAddr>().unwrap());
        // An IPv4 primary for an IPv6 instance is refused.
        assert!(matches!(
            from_config(&i, &g, PRIMARY),
            Err(FromConfigError::PrimaryFamily { .. })
        ));
    }
}
