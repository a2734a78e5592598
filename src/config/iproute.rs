//! keepalived's route and rule lines (`virtual_routes`, `virtual_rules`,
//! `static_routes`, `static_rules`), as the model holds them: the part of
//! `ip route add` / `ip rule add` vigil installs.
//!
//! Owns: [`IpRoute`], [`IpRule`] and their small enums, each a checked
//! meaning (a route's addresses are of one family, a rule's action is
//! one of its kinds). Must not: talk to the kernel (`net::iproute` does)
//! or read text (`config::parse::iproute` does).

use super::{AddrScope, IfAddr};
use crate::config::bounds::IfName;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

keyword_enum!(
    /// A route's type (`ip route add TYPE PREFIX`): what the kernel does
    /// with a packet it matches.
    RouteKind {
        Unicast = "unicast", Blackhole = "blackhole", Unreachable = "unreachable",
        Prohibit = "prohibit", Throw = "throw",
    }
);

/// The main routing table's number (`table main`).
pub const TABLE_MAIN: u32 = 254;

/// Table names every Linux knows (`/etc/iproute2/rt_tables`' fixed lines).
pub const TABLE_NAMES: [(&str, u32); 3] = [("default", 253), ("main", 254), ("local", 255)];

/// One route line: `[TYPE] [src ADDR] [to] PREFIX [via|gw ADDR] [dev IF]
/// [onlink] [scope S] [table N] [metric N] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRoute {
    pub kind: RouteKind,
    pub dest: IfAddr,
    /// `src`: the preferred source address of packets the route sends.
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<IfName>,
    pub onlink: bool,
    /// `None`: the kernel's (link without a gateway, else global).
    pub scope: Option<AddrScope>,
    /// `None`: the main table.
    pub table: Option<u32>,
    pub metric: Option<u32>,
    /// keepalived's: the route being deleted behind its back does not
    /// move the instance. vigil follows no route's deletion either way.
    pub no_track: bool,
}

impl IpRoute {
    /// A unicast route to `dest`, nothing else said.
    pub fn to(dest: IfAddr) -> Self {
        IpRoute {
            kind: RouteKind::Unicast,
            dest,
            src: None,
            via: None,
            dev: None,
            onlink: false,
            scope: None,
            table: None,
            metric: None,
            no_track: false,
        }
    }

    pub fn is_ipv6(&self) -> bool {
        self.dest.addr.is_ipv6()
    }

    pub fn table_id(&self) -> u32 {
        self.table.unwrap_or(TABLE_MAIN)
    }
}

impl fmt::Display for IpRoute {
    /// The line as keepalived.conf (and `ip route`) writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", self.kind)?;
        }
        if let Some(s) = self.src {
            write!(f, "src {s} to ")?;
        }
        write!(f, "{}/{}", self.dest.addr, self.dest.prefix)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        if let Some(s) = self.scope {
            write!(f, " scope {s}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if self.no_track {
            f.write_str(" no_track")?;
        }
        Ok(())
    }
}

/// What a rule does with a packet it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleAction {
    /// `table N`: look the packet up in table N.
    Table(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// `fwmark MARK[/MASK]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FwMark {
    pub mark: u32,
    pub mask: Option<u32>,
}

/// One rule line: `[from PREFIX] [to PREFIX] [iif IF] [oif IF] [fwmark
/// M[/MASK]] [priority N] (table N | blackhole | unreachable | prohibit)
/// [inet6] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRule {
    pub from: Option<IfAddr>,
    pub to: Option<IfAddr>,
    /// The family: from `from`/`to`, or `inet6` on a line without either.
    pub ipv6: bool,
    pub iif: Option<IfName>,
    pub oif: Option<IfName>,
    pub fwmark: Option<FwMark>,
    /// `priority` (`preference`, `prio`); `None`: the kernel picks one.
    pub priority: Option<u32>,
    pub action: RuleAction,
    pub no_track: bool,
}

impl IpRule {
    /// A rule sending every packet of one family to `table`.
    pub fn lookup(table: u32, ipv6: bool) -> Self {
        IpRule {
            from: None,
            to: None,
            ipv6,
            iif: None,
            oif: None,
            fwmark: None,
            priority: None,
            action: RuleAction::Table(table),
            no_track: false,
        }
    }
}

impl fmt::Display for IpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = Vec::new();
        let prefix = |a: &IfAddr| format!("{}/{}", a.addr, a.prefix);
        if let Some(a) = &self.from {
            words.push(format!("from {}", prefix(a)));
        }
        if let Some(a) = &self.to {
            words.push(format!("to {}", prefix(a)));
        }
        if self.ipv6 && self.from.is_none() && self.to.is_none() {
            words.push("inet6".into());
        }
        if let Some(i) = &self.iif {
            words.push(format!("iif {i}"));
        }
        if let Some(o) = &self.oif {
            words.push(format!("oif {o}"));
        }
        if let Some(m) = self.fwmark {
            words.push(match m.mask {
                Some(k) => format!("fwmark {:#x}/{k:#x}", m.mark),
                None => format!("fwmark {:#x}", m.mark),
            });
        }
        if let Some(p) = self.priority {
            words.push(format!("priority {p}"));
        }
        words.push(match self.action {
            RuleAction::Table(t) => format!("table {t}"),
            RuleAction::Blackhole => "blackhole".into(),
            RuleAction::Unreachable => "unreachable".into(),
            RuleAction::Prohibit => "prohibit".into(),
        });
        if self.no_track {
            words.push("no_track".into());
        }
        f.write_str(&words.join(" "))
    }
}
