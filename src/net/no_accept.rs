//! The filter that makes `no_accept` (and `vrrp_strict`, which implies it
//! for a non-owner) true: a VIP of such an instance takes the traffic the
//! box balances for it and nothing else.
//!
//! Owns: [`Filter`], what the filter holds, derived from the config alone
//! ([`Filter::of`]), and the nftables tables that enforce it
//! ([`Filter::tables`]: `ip vigil` and `ip6 vigil`, each with two base
//! chains at priority -1, before IPVS's hooks). Must not: touch the
//! kernel (the daemon applies the tables through [`super::nft`]) or
//! follow VRRP states.
//!
//! What passes, to (input) or from (output) a VIP of a `no_accept`
//! instance: the protocol and port of a virtual server on that VIP (every
//! port of a port-0 one), a packet carrying the mark of a fwmark virtual
//! server (input only: a reply does not carry it), the ICMP errors a
//! balanced connection needs (unreachable and fragmentation needed, time
//! exceeded, parameter problem; for IPv6 also packet too big and
//! neighbour discovery, without which the address cannot be reached).
//! Everything else to or from such a VIP is dropped: pings, SSH, the
//! box's own services. keepalived's filter drops everything, the balanced
//! traffic too (its table sits before IPVS's hooks), which makes a
//! `vrrp_strict` balancer balance nothing; vigil keeps the meaning the
//! option was written for.
//!
//! The sets hold a VIP whether its instance is MASTER or not: a BACKUP
//! does not hold the address, so no packet for it is delivered locally
//! (input) or sent from it (output) and the entry is inert. So the filter
//! changes with the config only, never at a failover.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::nft::{self, Base, Batch, Chain, Expr, Family, MetaKey, Reg, Set, Table, Verdict};
use crate::config::model::Config;
use crate::ipvs::desired;
use crate::ipvs::wire::ServiceId;

/// The name of vigil's tables, in both families.
pub const TABLE: &str = "vigil";
/// Before the IPVS hooks (which sit at about 100) and before a default
/// filter table (0), as keepalived's.
const PRIORITY: i32 = -1;
const HOOK_INPUT: u32 = 1;
const HOOK_OUTPUT: u32 = 3;

/// nft's data type numbers (only `nft list` reads them).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_INET_PROTOCOL: u32 = 12;
const TYPE_INET_SERVICE: u32 = 13;
const TYPE_ICMP_TYPE: u32 = 14;
const TYPE_MARK: u32 = 19;
const TYPE_ICMP6_TYPE: u32 = 29;

/// One family's part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyFilter {
    pub vips: BTreeSet<IpAddr>,
    /// (VIP, IP protocol, port): a virtual server of one port.
    pub ports: BTreeSet<(IpAddr, u8, u16)>,
    /// (VIP, IP protocol): a virtual server of every port.
    pub all_ports: BTreeSet<(IpAddr, u8)>,
    pub marks: BTreeSet<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub v4: FamilyFilter,
    pub v6: FamilyFilter,
}

impl Filter {
    /// The VIPs (and excluded VIPs) of every instance that does not
    /// accept, and the virtual servers on them.
    pub fn of(c: &Config) -> Filter {
        let mut f = Filter::default();
        // The address owner takes everything (keepalived: "unless the
        // vrrp_instance has priority 255").
        for i in (c.vrrp_instances.iter()).filter(|i| !i.accept && i.priority != 255) {
            for vip in i
                .virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded)
            {
                f.family(vip.addr).vips.insert(vip.addr);
            }
        }
        if f.is_empty() {
            return f;
        }
        for id in desired::owned(c) {
            match id {
                ServiceId::Addr {
                    protocol,
                    addr,
                    port,
                } => {
                    let fam = f.family(addr);
                    if !fam.vips.contains(&addr) {
                        continue;
                    }
                    let proto = protocol as u8;
                    match port {
                        0 => fam.all_ports.insert((addr, proto)),
                        p => fam.ports.insert((addr, proto, p)),
                    };
                }
                ServiceId::Fwmark { af, mark } => {
                    let fam = match af {
                        crate::ipvs::wire::Af::V4 => &mut f.v4,
                        crate::ipvs::wire::Af::V6 => &mut f.v6,
                    };
                    fam.marks.insert(mark);
                }
            }
        }
        f
    }

    fn family(&mut self, a: IpAddr) -> &mut FamilyFilter {
        match a {
            IpAddr::V4(_) => &mut self.v4,
            IpAddr::V6(_) => &mut self.v6,
        }
    }

    /// No instance refuses traffic: no table at all.
    pub fn is_empty(&self) -> bool {
        self.v4.vips.is_empty() && self.v6.vips.is_empty()
    }

    /// The two tables, each `Some` when that family has a VIP to guard
    /// (`None`: the table must not exist).
    pub fn tables(&self) -> [(Family, Option<Table>); 2] {
        let table =
            |fam: &FamilyFilter, layout: &Layout| (!fam.vips.is_empty()).then(|| layout.table(fam));
        [
            (Family::Ip, table(&self.v4, &V4)),
            (Family::Ip6, table(&self.v6, &V6)),
        ]
    }

    /// The one transaction that puts both tables as [`Filter::tables`]
    /// says (a family without a VIP to guard loses its table).
    pub fn batch(&self) -> Batch {
        let [(f4, t4), (f6, t6)] = self.tables();
        nft::transaction(&[(f4, TABLE, t4.as_ref()), (f6, TABLE, t6.as_ref())])
    }
}

/// Whether either family's table is in the kernel (an earlier run's).
pub fn any_in_place() -> Result<bool, nft::NftError> {
    nft::any_table(&[(Family::Ip, TABLE), (Family::Ip6, TABLE)])
}

/// Where one family keeps its addresses, and its ICMP.
struct Layout {
    family: Family,
    addr_type: u32,
    addr_len: u32,
    saddr: u32,
    daddr: u32,
    icmp_proto: u8,
    icmp_type: u32,
    /// The ICMP types a balanced connection needs.
    icmp_ok: &'static [u8],
}

const V4: Layout = Layout {
    family: Family::Ip,
    addr_type: TYPE_IPADDR,
    addr_len: 4,
    saddr: 12,
    daddr: 16,
    icmp_proto: 1,
    icmp_type: TYPE_ICMP_TYPE,
    // destination unreachable (with fragmentation needed), time exceeded,
    // parameter problem
    icmp_ok: &[3, 11, 12],
};

const V6: Layout = Layout {
    family: Family::Ip6,
    addr_type: TYPE_IP6ADDR,
    addr_len: 16,
    saddr: 8,
    daddr: 24,
    icmp_proto: 58,
    icmp_type: TYPE_ICMP6_TYPE,
    // destination unreachable, packet too big, time exceeded, parameter
    // problem; neighbour solicitation and advertisement
    icmp_ok: &[1, 2, 3, 4, 135, 136],
};

/// A key field padded to 4 bytes, as a register holds it.
fn padded(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let pad = (4 - bytes.len() % 4) % 4;
    bytes.iter().copied().chain(std::iter::repeat_n(0, pad))
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn key(fields: &[&[u8]]) -> Vec<u8> {
    fields.iter().flat_map(|f| padded(f)).collect()
}

/// Which direction a chain guards.
#[derive(Clone, Copy)]
enum Way {
    In,
    Out,
}

impl Layout {
    fn table(&self, f: &FamilyFilter) -> Table {
        let sets = vec![
            Set {
                name: "vips",
                key_type: self.addr_type,
                key_len: self.addr_len,
                elements: f.vips.iter().map(addr_bytes).collect(),
            },
            Set {
                name: "ports",
                key_type: (self.addr_type << 12) | (TYPE_INET_PROTOCOL << 6) | TYPE_INET_SERVICE,
                key_len: self.addr_len + 8,
                elements: (f.ports.iter())
                    .map(|(a, proto, port)| key(&[&addr_bytes(a), &[*proto], &port.to_be_bytes()]))
                    .collect(),
            },
            Set {
                name: "all_ports",
                key_type: (self.addr_type << 6) | TYPE_INET_PROTOCOL,
                key_len: self.addr_len + 4,
                elements: (f.all_ports.iter())
                    .map(|(a, proto)| key(&[&addr_bytes(a), &[*proto]]))
                    .collect(),
            },
            Set {
                name: "marks",
                key_type: TYPE_MARK,
                key_len: 4,
                // The mark register holds the mark as the host does.
                elements: f.marks.iter().map(|m| m.to_ne_bytes().to_vec()).collect(),
            },
            Set {
                name: "icmp_ok",
                key_type: self.icmp_type,
                key_len: 1,
                elements: self.icmp_ok.iter().map(|t| vec![*t]).collect(),
            },
        ];
        Table {
            family: self.family,
            name: TABLE,
            sets,
            chains: vec![self.chain("in", Way::In), self.chain("out", Way::Out)],
        }
    }

    /// The rules of one chain: a packet whose address (destination in,
    /// source out) is a guarded VIP is accepted when it is balanced
    /// traffic or a needed ICMP type, and dropped otherwise.
    fn chain(&self, name: &'static str, way: Way) -> Chain {
        let (addr_at, port_at) = match way {
            Way::In => (self.daddr, 2),
            Way::Out => (self.saddr, 0),
        };
        let vip = Reg(0);
        // The register after the address's.
        let next = Reg((self.addr_len / 4) as u8);
        let after = Reg(next.0 + 1);
        let guarded = || {
            vec![
                Expr::Payload {
                    base: Base::Network,
                    offset: addr_at,
                    len: self.addr_len,
                    dreg: vip,
                },
                Expr::Lookup {
                    set: "vips",
                    sreg: vip,
                },
            ]
        };
        let rule = |tail: Vec<Expr>| {
            let mut r = guarded();
            r.extend(tail);
            r
        };
        let proto = Expr::Meta {
            key: MetaKey::L4Proto,
            dreg: next,
        };
        let accept = Expr::Verdict(Verdict::Accept);
        let mut rules = vec![
            rule(vec![
                proto.clone(),
                Expr::Payload {
                    base: Base::Transport,
                    offset: port_at,
                    len: 2,
                    dreg: after,
                },
                Expr::Lookup {
                    set: "ports",
                    sreg: vip,
                },
                accept.clone(),
            ]),
            rule(vec![
                proto.clone(),
                Expr::Lookup {
                    set: "all_ports",
                    sreg: vip,
                },
                accept.clone(),
            ]),
        ];
        if let Way::In = way {
            rules.push(rule(vec![
                Expr::Meta {
                    key: MetaKey::Mark,
                    dreg: next,
                },
                Expr::Lookup {
                    set: "marks",
                    sreg: next,
                },
                accept.clone(),
            ]));
        }
        rules.push(rule(vec![
            proto,
            Expr::CmpEq {
                sreg: next,
                data: vec![self.icmp_proto],
            },
            Expr::Payload {
                base: Base::Transport,
                offset: 0,
                len: 1,
                dreg: next,
            },
            Expr::Lookup {
                set: "icmp_ok",
                sreg: next,
            },
            accept,
        ]));
        rules.push(rule(vec![Expr::Verdict(Verdict::Drop)]));
        Chain {
            name,
            hook: match way {
                Way::In => HOOK_INPUT,
                Way::Out => HOOK_OUTPUT,
            },
            priority: PRIORITY,
            rules,
        }
    }
}

#[cfg(test)]
#[path = "no_accept_tests.rs"]
mod tests;
