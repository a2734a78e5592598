//! `appliance { ... }`: vigil's own block for the box itself (hostname,
//! the two NICs, sysctls, watchdog, console). keepalived has no equivalent.
//!
//! Owns: reading that block. Must not: apply anything to the system.

use super::{Reader, Section};
use crate::config::bounds::{
    IfName, ADDRESSES_PER_INTERFACE_MAX, APPLIANCE_INTERFACES_MAX, MTU_MAX, MTU_MIN, NAME_MAX,
    ROUTES_PER_INTERFACE_MAX, TEXT_MAX, WATCHDOG_TIMEOUT_MAX,
};
use crate::config::error::{ErrorKind, Invalid};
use crate::config::model::{Appliance, ApplianceInterface, IfAddr, Route};
use crate::config::syntax::Node;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) const APPLIANCE: Section = Section {
    name: "appliance",
    keywords: &[
        "hostname",
        "interface",
        "ip_forward",
        "ipvs",
        "watchdog",
        "console",
    ],
    shared: &[],
    repeatable: &["interface"],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const INTERFACE: Section = Section {
    name: "appliance interface",
    keywords: &["address", "mtu", "route", "arp_ignore", "arp_announce"],
    shared: &[],
    repeatable: &["address", "route"],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const IPVS: Section = Section {
    name: "appliance ipvs",
    keywords: &[
        "expire_nodest_conn",
        "expire_quiescent_template",
        "conn_reuse_mode",
        "sloppy_tcp",
    ],
    shared: &[],
    repeatable: &[],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const WATCHDOG: Section = Section {
    name: "appliance watchdog",
    keywords: &["device", "timeout", "notify_reset"],
    shared: &[],
    repeatable: &[],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const CONSOLE: Section = Section {
    name: "appliance console",
    keywords: &["password_hash"],
    shared: &[],
    repeatable: &[],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

impl Reader<'_> {
    pub fn appliance(&mut self, node: &Node) -> Option<Appliance> {
        let nodes = self.block(node)?;
        let mut a = Appliance::default();
        self.walk(nodes, &APPLIANCE, |r, kw, n| match kw {
            "hostname" => a.hostname = r.hostname(n),
            "interface" => {
                let Some(i) = r.appliance_interface(n) else {
                    return;
                };
                if a.interfaces.iter().any(|x| x.name == i.name) {
                    r.d.error(
                        &n.keyword.loc,
                        ErrorKind::Invalid(Invalid::DuplicateInterface {
                            interface: i.name.to_string(),
                        }),
                    );
                } else if r.room(
                    &a.interfaces,
                    APPLIANCE_INTERFACES_MAX,
                    &n.keyword,
                    "appliance interfaces (the box has two NICs)",
                ) {
                    a.interfaces.push(i);
                }
            }
            "ip_forward" => {
                if let Some(b) = r.bool_value(n) {
                    a.ip_forward = b;
                }
            }
            "ipvs" => r.ipvs_sysctls(n, &mut a),
            "watchdog" => r.watchdog(n, &mut a),
            "console" => r.console(n, &mut a),
            _ => unreachable!("APPLIANCE lists only the keywords matched above"),
        });
        Some(a)
    }

    fn hostname(&mut self, n: &Node) -> Option<String> {
        let t = self.one(n, "a host name")?;
        let ok = !t.text.is_empty()
            && t.text.len() <= NAME_MAX
            && !t.text.starts_with('-')
            && t.text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if ok {
            Some(t.text.to_string())
        } else {
            self.bad(
                t,
                "hostname",
                format!("1..{NAME_MAX} letters, digits, '-' and '.'"),
            );
            None
        }
    }

    fn appliance_interface(&mut self, node: &Node) -> Option<ApplianceInterface> {
        let name = match node.args.as_slice() {
            [t] => self.tok_ifname(t, "interface"),
            _ => {
                self.missing(node, "appliance interface".into(), "an interface name");
                None
            }
        };
        // A bad name still has its block read, so its errors show too.
        let nodes = self.named_block(node)?;
        let mut i = ApplianceInterface {
            name: name.clone().or_else(|| IfName::new("-").ok())?,
            addresses: Vec::new(),
            mtu: None,
            routes: Vec::new(),
            arp_ignore: None,
            arp_announce: None,
        };
        let mut route_locs = Vec::new();
        self.walk(nodes, &INTERFACE, |r, kw, n| match kw {
            "address" => {
                let Some(t) = r.one(n, "ADDR/PREFIX") else {
                    return;
                };
                let Some((addr, prefix)) = r.tok_prefixed(t, kw) else {
                    return;
                };
                if i.addresses.iter().any(|x| x.addr == addr) {
                    r.bad(t, kw, "each address once");
                } else if r.room(&i.addresses, ADDRESSES_PER_INTERFACE_MAX, t, "addresses") {
                    i.addresses.push(IfAddr { addr, prefix });
                }
            }
            "mtu" => i.mtu = r.u32_in(n, MTU_MIN, MTU_MAX),
            "route" => {
                let Some(route) = r.route(n) else { return };
                if r.room(&i.routes, ROUTES_PER_INTERFACE_MAX, &n.keyword, "routes") {
                    i.routes.push(route);
                    route_locs.push(n.keyword.loc);
                }
            }
            // net.ipv4.conf.*.arp_ignore accepts 0-3 and 8.
            "arp_ignore" => match r.int_in::<u8>(n, 0, 8) {
                Some(v @ (0..=3 | 8)) => i.arp_ignore = Some(v),
                Some(_) => r.bad(&n.args[0], kw, "0, 1, 2, 3 or 8"),
                None => {}
            },
            "arp_announce" => i.arp_announce = r.int_in::<u8>(n, 0, 2),
            _ => unreachable!("INTERFACE lists only the keywords matched above"),
        });
        name.as_ref()?;
        self.check_gateways(&i, &route_locs);
        Some(i)
    }

    /// A gateway must be on a subnet of the interface (when it has any
    /// address), or the route cannot be installed.
    fn check_gateways(&mut self, i: &ApplianceInterface, locs: &[crate::config::error::Loc]) {
        if i.addresses.is_empty() {
            return;
        }
        for (route, loc) in i.routes.iter().zip(locs) {
            if !i.addresses.iter().any(|a| a.contains(&route.via)) {
                let e = Invalid::GatewayUnreachable {
                    interface: i.name.to_string(),
                    gateway: route.via.to_string(),
                };
                self.d.error(loc, ErrorKind::Invalid(e));
            }
        }
    }

    /// `route default|DEST/PREFIX via GATEWAY`
    fn route(&mut self, n: &Node) -> Option<Route> {
        const EXPECTED: &str = "'default via GATEWAY' or 'DEST/PREFIX via GATEWAY'";
        let args = self.args(n, 3, EXPECTED)?;
        if args[1].text != "via" {
            self.bad(&args[1], "route", EXPECTED);
            return None;
        }
        let via = self.tok_ip(&args[2], "route")?;
        let dest = if args[0].text == "default" {
            let any = if via.is_ipv4() {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            };
            IfAddr {
                addr: any,
                prefix: 0,
            }
        } else {
            let (addr, prefix) = self.tok_prefixed(&args[0], "route")?;
            let network = IfAddr { addr, prefix };
            // The kernel refuses a destination with host bits set.
            if !is_network(&network) {
                self.bad(
                    &args[0],
                    "route",
                    "a network address (no host bits set) or 'default'",
                );
                return None;
            }
            network
        };
        if dest.addr.is_ipv4() != via.is_ipv4() {
            self.bad(&args[2], "route", "a gateway of the destination's family");
            return None;
        }
        Some(Route { dest, via })
    }

    fn ipvs_sysctls(&mut self, n: &Node, a: &mut Appliance) {
        let Some(nodes) = self.block(n) else { return };
        let s = &mut a.ipvs;
        self.walk(nodes, &IPVS, |r, kw, n| match kw {
            "conn_reuse_mode" => {
                if let Some(v) = r.int_in::<u8>(n, 0, 2) {
                    s.conn_reuse_mode = v;
                }
            }
            _ => {
                let Some(b) = r.bool_value(n) else { return };
                match kw {
                    "expire_nodest_conn" => s.expire_nodest_conn = b,
                    "expire_quiescent_template" => s.expire_quiescent_template = b,
                    _ => s.sloppy_tcp = b,
                }
            }
        });
    }

    fn watchdog(&mut self, n: &Node, a: &mut Appliance) {
        let Some(nodes) = self.block(n) else { return };
        let w = &mut a.watchdog;
        self.walk(nodes, &WATCHDOG, |r, kw, n| match kw {
            "device" => {
                let Some(t) = r.one(n, "a device path") else {
                    return;
                };
                if t.text.starts_with("/dev/") && t.text.len() <= TEXT_MAX {
                    w.device = t.text.to_string();
                } else {
                    r.bad(t, kw, "a path under /dev/");
                }
            }
            "notify_reset" => {
                if let Some(s) = r.script(n) {
                    w.notify_reset = Some(s);
                }
            }
            _ => {
                if let Some(t) = r.u32_in(n, 1, WATCHDOG_TIMEOUT_MAX) {
                    w.timeout = t;
                }
            }
        });
    }

    fn console(&mut self, n: &Node, a: &mut Appliance) {
        let Some(nodes) = self.block(n) else { return };
        self.walk(nodes, &CONSOLE, |r, kw, n| {
            let Some(t) = r.one(n, "a SHA-crypt hash") else {
                return;
            };
            if is_sha_crypt(&t.text) {
                a.console_password_hash = Some(t.text.to_string());
            } else {
                r.bad(
                    t,
                    kw,
                    "a SHA-crypt hash '$6$salt$hash' or '$5$salt$hash' (mkpasswd -m sha-512)",
                );
            }
        });
    }
}

/// Whether `a` has no bits set beyond its prefix.
fn is_network(a: &IfAddr) -> bool {
    let shift = u32::from(a.prefix);
    match a.addr {
        IpAddr::V4(v) => u32::from(v) & u32::MAX.checked_shr(shift).unwrap_or(0) == 0,
        IpAddr::V6(v) => u128::from(v) & u128::MAX.checked_shr(shift).unwrap_or(0) == 0,
    }
}

/// `$5$` or `$6$`, an optional `rounds=N$`, a salt of up to 16 characters,
/// and the hash, all in crypt's base-64 alphabet.
fn is_sha_crypt(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("$6$").or_else(|| s.strip_prefix("$5$")) else {
        return false;
    };
    let rest = match rest.strip_prefix("rounds=") {
        Some(r) => match r.split_once('$') {
            Some((n, tail)) if n.parse::<u32>().is_ok() => tail,
            _ => return false,
        },
        None => rest,
    };
    let b64 = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    };
    match rest.split_once('$') {
        Some((salt, hash)) => {
            !salt.is_empty() && salt.len() <= 16 && b64(salt) && hash.len() >= 43 && b64(hash)
        }
        None => false,
    }
}

#[cfg(test)]
#[path = "appliance_tests.rs"]
mod tests;
