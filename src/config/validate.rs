//! Cross-field checks on a parsed [`Config`], one named validator each.
//!
//! Owns: rules that relate settings to each other (VRID uniqueness, owner
//! priority, version vs interval/auth/family, sync-group members, duplicate
//! services and real servers, quorum, VIPs inside the appliance's subnets).
//! Must not: read text or change the config; each problem is reported at
//! the statement that opened the offending block.

use super::error::{Diagnostics, ErrorKind, Invalid, Loc};
use super::model::{Config, InitialState, ServiceKey, VirtualServer, VrrpInstance, VrrpVersion};
use std::collections::HashMap;
use std::net::IpAddr;

/// Where each top-level block began, by kind and index, so that errors
/// point at the right `vrrp_instance` or `virtual_server` line.
#[derive(Debug, Default, Clone)]
pub struct Places {
    pub global: Option<Loc>,
    pub appliance: Option<Loc>,
    pub sync_groups: Vec<Loc>,
    pub instances: Vec<Loc>,
    pub services: Vec<Loc>,
}

pub fn validate(c: &Config, at: &Places, d: &mut Diagnostics) {
    let fallback = Loc::new(&"<config>".into(), 1, 1);
    let place = |v: &Vec<Loc>, i: usize| v.get(i).cloned().unwrap_or_else(|| fallback.clone());
    for (n, i) in c.vrrp_instances.iter().enumerate() {
        let loc = place(&at.instances, n);
        for e in instance_problems(c, i) {
            d.error(&loc, ErrorKind::Invalid(e));
        }
    }
    for e in vrid_clashes(c) {
        let n = e.0;
        d.error(&place(&at.instances, n), ErrorKind::Invalid(e.1));
    }
    for (n, e) in sync_group_problems(c) {
        d.error(&place(&at.sync_groups, n), ErrorKind::Invalid(e));
    }
    if let Some(s) = &c.global.lvs_sync_daemon {
        if c.instance(&s.vrrp_instance).is_none() {
            let loc = at.global.clone().unwrap_or_else(|| fallback.clone());
            d.error(
                &loc,
                ErrorKind::Invalid(Invalid::SyncDaemonInstance {
                    instance: s.vrrp_instance.clone(),
                }),
            );
        }
    }
    for (n, e) in service_problems(c) {
        d.error(&place(&at.services, n), ErrorKind::Invalid(e));
    }
    if let Some(a) = &c.appliance {
        let loc = at.appliance.clone().unwrap_or(fallback);
        for i in &a.interfaces {
            for r in &i.routes {
                if !i.addresses.is_empty() && !i.addresses.iter().any(|x| x.contains(&r.via)) {
                    d.error(
                        &loc,
                        ErrorKind::Invalid(Invalid::GatewayUnreachable {
                            interface: i.name.to_string(),
                            gateway: r.via.to_string(),
                        }),
                    );
                }
            }
        }
    }
}

fn instance_problems(c: &Config, i: &VrrpInstance) -> Vec<Invalid> {
    let mut out = Vec::new();
    let name = || i.name.clone();
    if i.priority == 255 && i.state == InitialState::Backup {
        out.push(Invalid::OwnerNotMaster { instance: name() });
    }
    if i.nopreempt && i.state == InitialState::Master {
        out.push(Invalid::NopreemptWithMaster { instance: name() });
    }
    match i.effective_version(&c.global) {
        VrrpVersion::V2 => {
            if i.advert_int.0 % 1000 != 0 {
                out.push(Invalid::V2Interval {
                    instance: name(),
                    advert: i.advert_int.to_string(),
                });
            }
            if let Some(v6) = i.virtual_ipaddress.iter().find(|v| v.addr.is_ipv6()) {
                out.push(Invalid::V2Ipv6 {
                    instance: name(),
                    addr: v6.addr.to_string(),
                });
            }
        }
        VrrpVersion::V3 => {
            if i.authentication.is_some() {
                out.push(Invalid::V3Auth { instance: name() });
            }
            if i.advert_int.0 % 10 != 0 || i.advert_int.0 > 40_950 {
                out.push(Invalid::V3Interval {
                    instance: name(),
                    advert: i.advert_int.to_string(),
                });
            }
        }
    }
    out.extend(vip_problems(c, i));
    out
}

fn family(a: &IpAddr) -> u8 {
    if a.is_ipv4() {
        4
    } else {
        6
    }
}

fn vip_problems(c: &Config, i: &VrrpInstance) -> Vec<Invalid> {
    let mut out = Vec::new();
    let Some(first) = i.virtual_ipaddress.first() else {
        out.push(Invalid::NoVip {
            instance: i.name.clone(),
        });
        return out;
    };
    let want = family(&first.addr);
    for v in &i.virtual_ipaddress {
        if family(&v.addr) != want {
            out.push(Invalid::MixedFamily {
                instance: i.name.clone(),
                addr: v.addr.to_string(),
                got: family(&v.addr),
                want,
            });
        }
    }
    if let Some(src) = i.unicast_src_ip {
        if family(&src) != want {
            out.push(Invalid::UnicastFamily {
                instance: i.name.clone(),
                addr: src.to_string(),
            });
        }
    }
    for v in i
        .virtual_ipaddress
        .iter()
        .chain(&i.virtual_ipaddress_excluded)
    {
        let dev = v.dev.as_ref().unwrap_or(&i.interface);
        if let Some(label) = &v.label {
            if !label.as_str().starts_with(dev.as_str()) {
                out.push(Invalid::LabelNotDevice {
                    instance: i.name.clone(),
                    label: label.to_string(),
                    dev: dev.to_string(),
                });
            }
        }
        // The subnet rule only applies when the appliance block says what
        // addresses the interface has.
        let known = c
            .appliance
            .as_ref()
            .and_then(|a| a.interfaces.iter().find(|x| &x.name == dev))
            .filter(|x| !x.addresses.is_empty());
        if let Some(x) = known {
            let same_family: Vec<_> = x
                .addresses
                .iter()
                .filter(|a| a.addr.is_ipv4() == v.addr.is_ipv4())
                .collect();
            if !same_family.is_empty() && !same_family.iter().any(|a| a.contains(&v.addr)) {
                let subnets: Vec<String> = same_family
                    .iter()
                    .map(|a| format!("{}/{}", a.addr, a.prefix))
                    .collect();
                out.push(Invalid::VipOutsideSubnet {
                    instance: i.name.clone(),
                    addr: v.addr.to_string(),
                    interface: dev.to_string(),
                    subnets: subnets.join(", "),
                });
            }
        }
    }
    out
}

/// VRIDs must be unique per interface and address family (RFC 5798: the
/// VRID and family together name a virtual router on a LAN).
fn vrid_clashes(c: &Config) -> Vec<(usize, Invalid)> {
    let mut seen: HashMap<(&str, u8, bool), &str> = HashMap::new();
    let mut out = Vec::new();
    for (n, i) in c.vrrp_instances.iter().enumerate() {
        let key = (i.interface.as_str(), i.virtual_router_id, i.is_ipv6());
        match seen.get(&key) {
            Some(other) => out.push((
                n,
                Invalid::VridInUse {
                    instance: i.name.clone(),
                    vrid: i.virtual_router_id,
                    interface: i.interface.to_string(),
                    other: (*other).to_owned(),
                },
            )),
            None => {
                seen.insert(key, &i.name);
            }
        }
    }
    out
}

fn sync_group_problems(c: &Config) -> Vec<(usize, Invalid)> {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    for (n, g) in c.vrrp_sync_groups.iter().enumerate() {
        for m in &g.group {
            if c.instance(m).is_none() {
                out.push((
                    n,
                    Invalid::UnknownSyncMember {
                        group: g.name.clone(),
                        member: m.clone(),
                    },
                ));
            } else if let Some(other) = owner.insert(m, &g.name) {
                out.push((
                    n,
                    Invalid::SyncMemberTwice {
                        group: g.name.clone(),
                        member: m.clone(),
                        other: other.to_owned(),
                    },
                ));
            }
        }
    }
    out
}

fn service_problems(c: &Config) -> Vec<(usize, Invalid)> {
    let mut keys: HashMap<(ServiceKey, u8), ()> = HashMap::new();
    let mut out = Vec::new();
    for (n, v) in c.virtual_servers.iter().enumerate() {
        // Fwmark services are told apart by family as well as by mark.
        let proto = v.protocol as u8;
        if keys.insert((v.key, proto), ()).is_some() {
            out.push((
                n,
                Invalid::DuplicateService {
                    service: v.key.to_string(),
                },
            ));
        }
        out.extend(one_service(v).into_iter().map(|e| (n, e)));
    }
    out
}

fn one_service(v: &VirtualServer) -> Vec<Invalid> {
    let mut out = Vec::new();
    let service = || v.key.to_string();
    let v6 = v.key.is_ipv6();
    let fwmark = matches!(v.key, ServiceKey::Fwmark { .. });
    let mut seen = Vec::new();
    for r in &v.real_servers {
        let real = match r.port {
            Some(p) => format!("{} {}", r.addr, p),
            None => r.addr.to_string(),
        };
        if r.addr.is_ipv6() != v6 {
            out.push(Invalid::ServiceFamily {
                service: service(),
                what: "real_server",
                addr: r.addr.to_string(),
            });
        }
        if r.port.is_none() && !fwmark {
            out.push(Invalid::RealServerPort {
                service: service(),
                real: real.clone(),
            });
        }
        if seen.contains(&(r.addr, r.port)) {
            out.push(Invalid::DuplicateRealServer {
                service: service(),
                real,
            });
        }
        seen.push((r.addr, r.port));
    }
    if let Some(s) = &v.sorry_server {
        if s.addr.is_ipv6() != v6 {
            out.push(Invalid::ServiceFamily {
                service: service(),
                what: "sorry_server",
                addr: s.addr.to_string(),
            });
        }
    }
    if let Some(p) = v.persistence_granularity {
        let (max, family) = if v6 { (128, 6) } else { (32, 4) };
        if p > max {
            out.push(Invalid::Granularity {
                service: service(),
                prefix: p,
                family,
            });
        }
    }
    let total: u64 = v.real_servers.iter().map(|r| u64::from(r.weight)).sum();
    if !v.real_servers.is_empty() && u64::from(v.quorum) > total && total > 0 {
        out.push(Invalid::QuorumUnreachable {
            service: service(),
            quorum: v.quorum,
            total,
        });
    }
    if v.hysteresis >= v.quorum && v.hysteresis > 0 {
        out.push(Invalid::Hysteresis {
            service: service(),
            hysteresis: v.hysteresis,
            quorum: v.quorum,
        });
    }
    out
}
