//! Route and rule lines: `virtual_routes` / `virtual_rules` in an
//! instance, `static_routes` / `static_rules` at the top level.
//!
//! Owns: reading one line the way `ip route add` / `ip rule add` read
//! theirs (options in any order, full option names only, as keepalived
//! asks), the options vigil installs, and the list of keepalived's other
//! options, each refused by name at its place ("keepalived's 'X' option
//! of virtual_routes is not supported by vigil"), never skipped.
//! Must not: resolve interfaces or talk to the kernel; check relations
//! between lines beyond "each once".

use super::Reader;
use crate::config::bounds::ROUTES_MAX;
use crate::config::error::{ErrorKind, Loc};
use crate::config::model::{
    AddrScope, FwMark, IfAddr, IpRoute, IpRule, RouteKind, RuleAction, TABLE_NAMES,
};
use crate::config::syntax::{Node, Token};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's route options (keepalived.conf(5), `ip route add`) that
/// vigil does not install.
const ROUTE_REFUSED: &[&str] = &[
    "or",
    "nexthop",
    "from",
    "tos",
    "dsfield",
    "protocol",
    "proto",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "lock",
    "realms",
    "realm",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "fastopen_no_cookie",
    "expires",
    "vrf",
    "append",
    "track_group",
    "encap",
    "ttl-propagate",
    "weight",
    "nhid",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "nat",
];

/// keepalived's rule options (`ip rule add`) that vigil does not install.
const RULE_REFUSED: &[&str] = &[
    "tos",
    "dsfield",
    "realms",
    "goto",
    "nop",
    "uidrange",
    "l3mdev",
    "protocol",
    "ip_proto",
    "ipproto",
    "sport",
    "dport",
    "suppress_prefixlength",
    "suppress_ifgroup",
    "track_group",
    "not",
    "nat",
    "map-to",
    "type",
];

/// Route options followed by a value.
const ROUTE_VALUED: &[&str] = &[
    "src",
    "via",
    "gw",
    "dev",
    "oif",
    "scope",
    "table",
    "metric",
    "priority",
    "preference",
    "to",
];

/// Rule options followed by a value.
const RULE_VALUED: &[&str] = &[
    "from",
    "to",
    "iif",
    "dev",
    "oif",
    "fwmark",
    "priority",
    "preference",
    "prio",
    "table",
    "lookup",
];

const ROUTE_EXPECTED: &str = "a route: [TYPE] [src ADDR] [to] PREFIX [via ADDR] [dev IF] [onlink] [scope SCOPE] [table N] [metric N] [no_track]";
const RULE_EXPECTED: &str = "a rule: [from PREFIX] [to PREFIX] [iif IF] [oif IF] [fwmark M[/MASK]] [priority N] [table N | blackhole | unreachable | prohibit] [inet6] [no_track]";
const TABLE_EXPECTED: &str =
    "a table number 1..4294967295 or default, main, local (vigil reads no /etc/iproute2/rt_tables)";

/// The words of a line, keyword first, with a cursor.
struct Words<'a> {
    all: Vec<&'a Token>,
    next: usize,
}

impl<'a> Words<'a> {
    fn of(item: &'a Node) -> Self {
        let all = std::iter::once(&item.keyword).chain(&item.args).collect();
        Words { all, next: 0 }
    }

    fn take(&mut self) -> Option<&'a Token> {
        let t = self.all.get(self.next).copied();
        self.next += 1;
        t
    }
}

impl Reader<'_> {
    /// A `{ ... }` block of route lines.
    pub(super) fn ip_routes(&mut self, n: &Node) -> Option<(Vec<IpRoute>, Vec<Loc>)> {
        self.lines(n, Self::ip_route)
    }

    pub(super) fn ip_rules(&mut self, n: &Node) -> Option<(Vec<IpRule>, Vec<Loc>)> {
        self.lines(n, Self::ip_rule)
    }

    fn lines<T: PartialEq>(
        &mut self,
        n: &Node,
        one: fn(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<(Vec<T>, Vec<Loc>)> {
        let nodes = self.block(n)?;
        let kw = n.keyword.text.as_str();
        let (mut out, mut locs) = (Vec::new(), Vec::new());
        for item in nodes {
            if item.block.is_some() {
                self.bad(&item.keyword, kw, "one line per entry, not a block");
                continue;
            }
            let Some(line) = one(self, item, kw) else {
                continue;
            };
            if out.contains(&line) {
                self.bad(&item.keyword, kw, "each line once");
            } else if self.room(
                &out,
                ROUTES_MAX,
                &item.keyword,
                "routes or rules in one block",
            ) {
                out.push(line);
                locs.push(item.keyword.loc);
            }
        }
        Some((out, locs))
    }

    /// The token after an option, or an error naming the option.
    fn value<'a>(&mut self, w: &mut Words<'a>, opt: &Token, kw: &str) -> Option<&'a Token> {
        let v = w.take();
        if v.is_none() {
            self.bad(opt, kw, format!("a value after '{}'", opt.text));
        }
        v
    }

    fn refused(&mut self, t: &Token, of: &str) {
        self.d.error(
            &t.loc,
            ErrorKind::NotInVigilOption {
                option: t.text.to_string(),
                of: of.to_owned(),
            },
        );
    }

    /// One route line (see [`ROUTE_EXPECTED`]); `default` is `0.0.0.0/0`
    /// (`::/0` with `inet6`).
    fn ip_route(&mut self, item: &Node, kw: &str) -> Option<IpRoute> {
        let mut w = Words::of(item);
        let mut r = IpRoute::to(IfAddr {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix: 0,
        });
        let (mut dest, mut inet6, mut kind_at) = (None::<&Token>, None::<bool>, None::<&Token>);
        while let Some(t) = w.take() {
            let word = t.text.as_str();
            let valued = ROUTE_VALUED.contains(&word) && !(word == "to" && dest.is_some());
            let v = if valued {
                self.value(&mut w, t, kw)?
            } else {
                t
            };
            match word {
                "src" => r.src = Some(self.tok_ip(v, word)?),
                "via" | "gw" => r.via = Some(self.tok_ip(v, word)?),
                "dev" | "oif" => r.dev = Some(self.tok_ifname(v, word)?),
                "onlink" => r.onlink = true,
                "no_track" => r.no_track = true,
                "inet" | "inet6" => inet6 = Some(word == "inet6"),
                "scope" => r.scope = Some(self.scope(v)?),
                "table" => r.table = Some(self.table(v)?),
                "metric" | "priority" | "preference" => {
                    r.metric = Some(self.tok_u32(v, word, 0, u32::MAX)?)
                }
                "to" if dest.is_none() => dest = Some(v),
                _ if ROUTE_REFUSED.contains(&word) => {
                    self.refused(t, kw);
                    return None;
                }
                _ if dest.is_none()
                    && kind_at.is_none()
                    && RouteKind::from_keyword(word).is_some() =>
                {
                    r.kind = RouteKind::from_keyword(word)?;
                    kind_at = Some(t);
                }
                _ if dest.is_none() => dest = Some(t),
                _ => {
                    self.bad(t, kw, ROUTE_EXPECTED);
                    return None;
                }
            }
        }
        let Some(dest) = dest else {
            self.bad(&item.keyword, kw, ROUTE_EXPECTED);
            return None;
        };
        r.dest = self.route_dest(dest, inet6, kw)?;
        self.route_fits(&r, dest, kw).then_some(r)
    }

    fn route_dest(&mut self, t: &Token, inet6: Option<bool>, kw: &str) -> Option<IfAddr> {
        if t.text == "default" {
            let addr = match inet6 {
                Some(true) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            };
            return Some(IfAddr { addr, prefix: 0 });
        }
        let (addr, prefix) = self.tok_prefixed(t, kw)?;
        if inet6.is_some_and(|v6| v6 != addr.is_ipv6()) {
            self.bad(t, kw, "an address of the family 'inet'/'inet6' names");
            return None;
        }
        Some(IfAddr { addr, prefix })
    }

    /// The addresses of one family; a gateway only on a unicast route.
    fn route_fits(&mut self, r: &IpRoute, at: &Token, kw: &str) -> bool {
        let v6 = r.is_ipv6();
        let mixed = [r.src, r.via].iter().flatten().any(|a| a.is_ipv6() != v6);
        if mixed {
            self.bad(at, kw, "'src' and 'via' of the destination's family");
            return false;
        }
        if r.kind != RouteKind::Unicast && (r.via.is_some() || r.onlink) {
            self.bad(at, kw, format!("no gateway on a {} route", r.kind));
            return false;
        }
        true
    }

    fn scope(&mut self, t: &Token) -> Option<AddrScope> {
        let s = AddrScope::from_keyword(&t.text);
        if s.is_none() {
            self.bad(t, "scope", AddrScope::expected());
        }
        s
    }

    fn table(&mut self, t: &Token) -> Option<u32> {
        let named = TABLE_NAMES
            .iter()
            .find(|(n, _)| *n == t.text)
            .map(|(_, id)| *id);
        let number = t.text.parse::<u32>().ok().filter(|n| *n > 0);
        let id = named.or(number);
        if id.is_none() {
            self.bad(t, "table", TABLE_EXPECTED);
        }
        id
    }

    /// One rule line (see [`RULE_EXPECTED`]); without an action, `table
    /// main`, as `ip rule add` does.
    fn ip_rule(&mut self, item: &Node, kw: &str) -> Option<IpRule> {
        let mut w = Words::of(item);
        let mut r = IpRule::lookup(crate::config::model::TABLE_MAIN, false);
        let mut family: Option<bool> = None;
        let mut action = None;
        while let Some(t) = w.take() {
            let word = t.text.as_str();
            let v = if RULE_VALUED.contains(&word) {
                self.value(&mut w, t, kw)?
            } else {
                t
            };
            match word {
                "from" => r.from = self.rule_prefix(v, word)?,
                "to" => r.to = self.rule_prefix(v, word)?,
                "iif" | "dev" => r.iif = Some(self.tok_ifname(v, word)?),
                "oif" => r.oif = Some(self.tok_ifname(v, word)?),
                "fwmark" => r.fwmark = Some(self.fwmark(v)?),
                "priority" | "preference" | "prio" => {
                    r.priority = Some(self.tok_u32(v, word, 0, u32::MAX)?)
                }
                "table" | "lookup" => action = Some(RuleAction::Table(self.table(v)?)),
                "blackhole" => action = Some(RuleAction::Blackhole),
                "unreachable" => action = Some(RuleAction::Unreachable),
                "prohibit" => action = Some(RuleAction::Prohibit),
                "inet" | "inet6" => family = Some(word == "inet6"),
                "no_track" => r.no_track = true,
                _ if RULE_REFUSED.contains(&word) => {
                    self.refused(t, kw);
                    return None;
                }
                _ => {
                    self.bad(t, kw, RULE_EXPECTED);
                    return None;
                }
            }
        }
        if let Some(a) = action {
            r.action = a;
        }
        let families: Vec<bool> = [r.from, r.to]
            .iter()
            .flatten()
            .map(|a| a.addr.is_ipv6())
            .collect();
        r.ipv6 = families.first().copied().or(family).unwrap_or(false);
        if families.iter().chain(&family).any(|f| *f != r.ipv6) {
            self.bad(
                &item.keyword,
                kw,
                "'from', 'to' and 'inet'/'inet6' of one family",
            );
            return None;
        }
        Some(r)
    }

    /// `PREFIX` or `all` (any address: no selector).
    fn rule_prefix(&mut self, t: &Token, kw: &str) -> Option<Option<IfAddr>> {
        if t.text == "all" {
            return Some(None);
        }
        let (addr, prefix) = self.tok_prefixed(t, kw)?;
        Some(Some(IfAddr { addr, prefix }))
    }

    /// `MARK[/MASK]`, each decimal or `0x` hexadecimal.
    fn fwmark(&mut self, t: &Token) -> Option<FwMark> {
        let num = |s: &str| match s.strip_prefix("0x").or(s.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse::<u32>().ok(),
        };
        let (mark, mask) = match t.text.split_once('/') {
            Some((m, k)) => (num(m), num(k).map(Some)),
            None => (num(&t.text), Some(None)),
        };
        match (mark, mask) {
            (Some(mark), Some(mask)) => Some(FwMark { mark, mask }),
            _ => {
                self.bad(t, "fwmark", "MARK or MARK/MASK, decimal or 0x hexadecimal");
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "iproute_tests.rs"]
mod tests;
