//! `vigil doctor`: the L2 mistakes of a direct-routing (DR) or tunnelling
//! (TUN) set-up, found by asking the LAN, in plain words with the fix.
//!
//! Owns: the pure core: [`targets`] (a config to what to ask: each IPv4
//! VIP of a virtual server with DR or TUN real servers, the interface of
//! the VRRP instance holding it, the real servers), [`Facts`] (what the
//! edge learnt: who answered ARP for each VIP, each real server's MAC if
//! it answered), and [`report`] (facts to [`Finding`]s, one line each with
//! its fix); [`edge`] gathers the facts (ARP requests through
//! `net::arp_socket`, about a second of listening).
//! Must not: do I/O in the core (the edge does), or change anything on the
//! box or the LAN beyond sending ARP requests.
//!
//! A DR real server holds the VIP (on `lo`, most often) so that it accepts
//! the packets the director forwards by MAC; if it also answers ARP for
//! it, the LAN's routers learn the VIP at the real server and traffic
//! bypasses the director. Linux answers for any local address on any
//! interface unless `arp_ignore=1` (answer only for addresses of the
//! interface asked), and announces a local address as a request's sender
//! unless `arp_announce=2`.
//!
//! Whether each real server's DR-path check passes comes from the running
//! daemon's status ([`with_dr_paths`]): the check itself is the daemon's.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::config::model::{Config, Method, ServiceKey, VirtualServer};
use crate::control::IpvsStatus;
use crate::ipvs::wire::ServiceId;
use crate::ipvs::{desired, dr_path};
use crate::net::arp::{mac_text, Mac};

pub mod edge;

/// What to ask the LAN about one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub vip: Ipv4Addr,
    /// The VRRP instance whose VIPs hold it.
    pub instance: Option<String>,
    /// That instance's interface; `None`: the edge looks for the interface
    /// whose subnet holds the VIP.
    pub interface: Option<String>,
    /// The VRRP master's address when this box runs the instance as
    /// BACKUP (from the running daemon): its MAC answers for the VIP, as
    /// it should.
    pub master: Option<Ipv4Addr>,
    /// Its DR and TUN real servers (IPv4), each once.
    pub real_servers: Vec<Ipv4Addr>,
}

/// Each IPv4 VIP of a virtual server with DR or TUN real servers (a
/// `virtual_server_group`'s addresses included), in config order, its
/// real servers merged across ports. fwmark services name no address:
/// their VIPs are found through the VRRP instances' VIPs only when a
/// virtual server with an address names them too.
pub fn targets(config: &Config) -> Vec<Target> {
    let mut by_vip: BTreeMap<Ipv4Addr, Vec<Ipv4Addr>> = BTreeMap::new();
    let mut order = Vec::new();
    for vs in &config.virtual_servers {
        let reals: Vec<Ipv4Addr> = (vs.real_servers.iter())
            .filter(|r| matches!(r.method.unwrap_or(vs.method), Method::Dr | Method::Tun))
            .filter_map(|r| match r.addr {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .collect();
        if reals.is_empty() {
            continue;
        }
        for key in config.keys_of(vs) {
            let ServiceKey::Addr {
                addr: IpAddr::V4(vip),
                ..
            } = key
            else {
                continue;
            };
            let list = by_vip.entry(vip).or_insert_with(|| {
                order.push(vip);
                Vec::new()
            });
            for r in &reals {
                if !list.contains(r) {
                    list.push(*r);
                }
            }
        }
    }
    order
        .into_iter()
        .map(|vip| {
            let holder = (config.vrrp_instances.iter()).find(|i| {
                (i.virtual_ipaddress.iter())
                    .chain(&i.virtual_ipaddress_excluded)
                    .any(|v| v.addr == IpAddr::V4(vip))
            });
            Target {
                vip,
                instance: holder.map(|i| i.name.clone()),
                interface: holder.map(|i| i.interface.to_string()),
                master: None,
                real_servers: by_vip.remove(&vip).unwrap_or_default(),
            }
        })
        .collect()
}

/// Fills each target's [`Target::master`] from the running daemon's
/// instances, given as (name, state, current master): a BACKUP's master
/// address, when it is an IPv4 one.
pub fn with_masters(targets: &mut [Target], instances: &[(String, String, String)]) {
    for t in targets {
        t.master = (instances.iter())
            .find(|(name, state, _)| Some(name) == t.instance.as_ref() && state == "BACKUP")
            .and_then(|(_, _, master)| master.parse().ok());
    }
}

/// Fills each real server's [`RealFacts::dr_path`] from the running
/// daemon's table status: for a real server checked by its DR path (see
/// `ipvs::dr_path::goes_by_vip`) in a service of the VIP, `true` when its
/// last check passed, `false` when it failed with the DR-path failure
/// (answered on its own address, not for the VIP), unknown otherwise (not
/// checked yet, or down for a reason of its own, which `vigil status`
/// says). Any service saying `false` makes it `false`.
pub fn with_dr_paths(facts: &mut Facts, config: &Config, ipvs: &IpvsStatus) {
    for v in &mut facts.vips {
        for r in &mut v.real_servers {
            let mut known = None;
            for (id, _) in dr_path_services(config, v.vip, r.addr) {
                let Some(row) = ipvs.services.iter().find(|s| s.service == id) else {
                    continue;
                };
                let dests = row
                    .dests
                    .iter()
                    .filter(|d| dest_ip(&d.dest) == Some(r.addr));
                for d in dests {
                    let verdict = match d.last.as_ref() {
                        "ok" => Some(true),
                        last if last.contains(crate::health::outcome::DR_PATH_FAILED) => {
                            Some(false)
                        }
                        _ => None,
                    };
                    known = match (known, verdict) {
                        (Some(false), _) | (_, Some(false)) => Some(false),
                        (k, v) => k.or(v),
                    };
                }
            }
            r.dr_path = known;
        }
    }
}

/// The kernel names (as `vigil status` writes them) of the services of
/// `vip` whose checks reach `real` by its DR path, with their virtual
/// server.
fn dr_path_services<'c>(
    config: &'c Config,
    vip: Ipv4Addr,
    real: Ipv4Addr,
) -> impl Iterator<Item = (String, &'c VirtualServer)> + 'c {
    (config.virtual_servers.iter())
        .filter(move |vs| {
            (vs.real_servers.iter()).any(|rs| {
                rs.addr == IpAddr::V4(real)
                    && (rs.checkers.iter()).any(|c| dr_path::goes_by_vip(config, vs, rs, c))
            })
        })
        .flat_map(move |vs| {
            (config.keys_of(vs).into_iter())
                .filter(
                    move |k| matches!(k, ServiceKey::Addr { addr, .. } if *addr == IpAddr::V4(vip)),
                )
                .map(move |k| {
                    let id = match k {
                        ServiceKey::Addr { addr, port } => ServiceId::Addr {
                            protocol: desired::protocol(vs.protocol),
                            addr,
                            port,
                        },
                        ServiceKey::Fwmark { .. } => unreachable!("filtered to addresses"),
                    };
                    (id.to_string(), vs)
                })
        })
}

/// The address of a status row's destination (`ADDR:PORT`, `[ADDR]:PORT`).
fn dest_ip(dest: &str) -> Option<Ipv4Addr> {
    dest.parse::<std::net::SocketAddr>()
        .ok()
        .and_then(|a| match a.ip() {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        })
}

/// What the edge learnt about one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipFacts {
    pub vip: Ipv4Addr,
    /// The interface asked on; `None`: none found (no instance holds the
    /// VIP and no interface's subnet does).
    pub interface: Option<String>,
    /// MACs that answered ARP for the VIP, but this box's own and the
    /// VRRP virtual MACs.
    pub answers: Vec<Mac>,
    /// The VRRP master's MAC, when this box is BACKUP and it answered.
    pub master_mac: Option<Mac>,
    /// Its real servers.
    pub real_servers: Vec<RealFacts>,
}

/// What the edge learnt about one real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealFacts {
    pub addr: Ipv4Addr,
    /// Its MAC, if it answered ARP for its own address.
    pub mac: Option<Mac>,
    /// Whether its DR-path check passes (from the running daemon), when
    /// known.
    pub dr_path: Option<bool>,
}

/// Everything [`report`] judges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    pub vips: Vec<VipFacts>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A real server answers ARP for the VIP: it steals the VIP's traffic.
    RealAnswersForVip {
        real: Ipv4Addr,
        mac: Mac,
        vip: Ipv4Addr,
    },
    /// A box that is none of the VIP's real servers answers ARP for it.
    OtherAnswersForVip {
        mac: Mac,
        vip: Ipv4Addr,
        interface: String,
    },
    /// A real server gave no ARP answer on the interface.
    NotAtL2 { real: Ipv4Addr, interface: String },
    /// Its DR-path check fails (the daemon says so).
    DrPathFails { real: Ipv4Addr, vip: Ipv4Addr },
    /// No interface to ask on.
    NoInterface { vip: Ipv4Addr },
    /// Nothing wrong found with this real server for this VIP.
    Fine { real: Ipv4Addr, vip: Ipv4Addr },
}

impl Finding {
    /// Whether it is a problem to fix (exit 1).
    pub fn needs_fixing(&self) -> bool {
        !matches!(self, Finding::Fine { .. })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::RealAnswersForVip { real, mac, vip } => write!(
                f,
                "real server {real} ({}) answers ARP for the VIP {vip}: on it, \
                 sysctl net.ipv4.conf.all.arp_ignore=1 and net.ipv4.conf.all.arp_announce=2",
                mac_text(mac)
            ),
            Finding::OtherAnswersForVip {
                mac,
                vip,
                interface,
            } => write!(
                f,
                "{} answers ARP for the VIP {vip} on {interface} and is none of its real \
                 servers: if it is not the VRRP master (this box being BACKUP), find it \
                 (`ip neigh | grep {}`) and remove the VIP from it or set arp_ignore=1 \
                 and arp_announce=2 there",
                mac_text(mac),
                mac_text(mac)
            ),
            Finding::NotAtL2 { real, interface } => write!(
                f,
                "real server {real} does not answer ARP on {interface}: is it on this LAN? \
                 (DR and TUN forward by MAC or tunnel: a DR real server must be on the \
                 director's LAN)"
            ),
            Finding::DrPathFails { real, vip } => write!(
                f,
                "real server {real}: its DR-path check for the VIP {vip} fails: put the VIP \
                 on its lo (ip address add {vip}/32 dev lo) and let it accept it"
            ),
            Finding::NoInterface { vip } => write!(
                f,
                "VIP {vip}: no VRRP instance holds it and no interface's subnet does: add it \
                 to a vrrp_instance's virtual_ipaddress"
            ),
            Finding::Fine { real, .. } => write!(
                f,
                "real server {real}: answers at L2, does not answer ARP for the VIP"
            ),
        }
    }
}

/// Facts to findings, in the facts' order: per VIP, every MAC answering
/// for it (a real server's, named, or another's; the VRRP master's, when
/// this box is BACKUP, is no finding), then per real server
/// whether it is reachable at L2, its DR path, or that it is fine.
pub fn report(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for v in &facts.vips {
        let Some(interface) = &v.interface else {
            out.push(Finding::NoInterface { vip: v.vip });
            continue;
        };
        let owner = |mac: &Mac| (v.real_servers.iter()).find(|r| r.mac.as_ref() == Some(mac));
        let mut answering = Vec::new();
        for mac in v.answers.iter().filter(|m| Some(**m) != v.master_mac) {
            match owner(mac) {
                Some(r) => {
                    answering.push(r.addr);
                    out.push(Finding::RealAnswersForVip {
                        real: r.addr,
                        mac: *mac,
                        vip: v.vip,
                    });
                }
                None => out.push(Finding::OtherAnswersForVip {
                    mac: *mac,
                    vip: v.vip,
                    interface: interface.clone(),
                }),
            }
        }
        for r in &v.real_servers {
            if r.mac.is_none() {
                out.push(Finding::NotAtL2 {
                    real: r.addr,
                    interface: interface.clone(),
                });
            } else if r.dr_path == Some(false) {
                out.push(Finding::DrPathFails {
                    real: r.addr,
                    vip: v.vip,
                });
            } else if !answering.contains(&r.addr) {
                out.push(Finding::Fine {
                    real: r.addr,
                    vip: v.vip,
                });
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
