//! `virtual_server`, `real_server` and health checker blocks.
//!
//! Owns: reading IPVS services (with the scheduler flags and `ops`), their
//! real servers and checkers (HTTP_GET/SSL_GET's `http_protocol`, SNI and
//! `virtualhost` at every level), with keepalived's older names (`lb_algo`,
//! `lb_kind`, `nb_get_retry` where keepalived reads it: HTTP_GET, SSL_GET)
//! and the seed's own (`nb_get_replies`,
//! `persistence_granularity SOURCE_IP`).
//! Must not: check families, duplicates or quorum across servers
//! (validate does).

use super::inherit::{self, Inherit};
use super::{keepalived, Alias, AliasKind, Reader, Section};
use crate::config::bounds::{
    Millis, CHECKERS_MAX, DAY, DELAY_LOOP_MIN, NAME_MAX, PERSISTENCE_TIMEOUT_MAX, REAL_SERVERS_MAX,
    TEXT_MAX, URLS_MAX, VIRTUALHOST_MAX,
};
use crate::config::error::Loc;
use crate::config::error::{ErrorKind, Invalid, WarningKind};
use crate::config::model::{
    CheckKind, Checker, HttpProtocol, Method, MiscCheck, Protocol, RealServer, Scheduler, Script,
    ServiceFlags, ServiceKey, SorryServer, Url, VirtualServer, WsCheck, WEIGHT_MAX,
};
use std::collections::HashMap;
use std::net::IpAddr;

/// vigil's bound for `misc_timeout`: an hour, as a `vrrp_script`'s.
const MISC_TIMEOUT_MAX: Millis = Millis::secs(3600);
use crate::config::syntax::{Node, Token};
use crate::config::validate::At;

const SCHED_ALIAS: Alias = Alias {
    alias: "lb_algo",
    canonical: "lvs_sched",
    kind: AliasKind::Deprecated,
};
const METHOD_ALIAS: Alias = Alias {
    alias: "lb_kind",
    canonical: "lvs_method",
    kind: AliasKind::Deprecated,
};

pub(crate) const SERVICE: Section = Section {
    name: "virtual_server",
    keywords: &[
        "ip_family",
        "delay_loop",
        "lvs_sched",
        "lvs_method",
        "protocol",
        "persistence_timeout",
        "persistence_granularity",
        "quorum",
        "hysteresis",
        "quorum_up",
        "quorum_down",
        "sorry_server",
        "sorry_server_inhibit",
        "inhibit_on_failure",
        "alpha",
        "omega",
        "ha_suspend",
        "virtualhost",
        "dr_path_check",
        "anycast",
        "real_server",
        "flag-1",
        "flag-2",
        "flag-3",
        "sh-fallback",
        "sh-port",
        "mh-fallback",
        "mh-port",
        "ops",
        "connect_timeout",
        "retry",
        "delay_before_retry",
        "warmup",
    ],
    shared: &[],
    repeatable: &["real_server"],
    keepalived: keepalived::SERVICE,
    obsolete: keepalived::SERVICE_OBSOLETE,
    first_wins: &[],
    aliases: &[SCHED_ALIAS, METHOD_ALIAS, NB_GET_REPLIES],
};

pub(crate) const REAL: Section = Section {
    name: "real_server",
    keywords: &[
        "weight",
        "inhibit_on_failure",
        "lvs_method",
        "uthreshold",
        "lthreshold",
        "notify_up",
        "notify_down",
        "TCP_CHECK",
        "HTTP_GET",
        "SSL_GET",
        "WS_CHECK",
        "MISC_CHECK",
        "virtualhost",
        "connect_timeout",
        "retry",
        "delay_before_retry",
        "delay_loop",
        "warmup",
    ],
    shared: &[],
    repeatable: &["TCP_CHECK", "HTTP_GET", "SSL_GET", "WS_CHECK", "MISC_CHECK"],
    keepalived: keepalived::REAL,
    obsolete: keepalived::REAL_OBSOLETE,
    first_wins: &[],
    aliases: &[METHOD_ALIAS, NB_GET_REPLIES],
};

const COMMON_CHECK: [&str; 8] = [
    "connect_ip",
    "connect_port",
    "bindto",
    "connect_timeout",
    "retry",
    "delay_before_retry",
    "delay_loop",
    "warmup",
];

/// MISC_CHECK runs a program: keepalived gives it only the checker
/// options that do not connect.
const MISC_COMMON: [&str; 4] = ["retry", "delay_before_retry", "delay_loop", "warmup"];

const NB_GET_RETRY: Alias = Alias {
    alias: "nb_get_retry",
    canonical: "retry",
    kind: AliasKind::Deprecated,
};
const NB_GET_REPLIES: Alias = Alias {
    alias: "nb_get_replies",
    canonical: "retry",
    kind: AliasKind::Foreign(Some(
        "a misspelling of keepalived's nb_get_retry: failed attempts before the server is taken out",
    )),
};
/// keepalived 2.2.7 reads `nb_get_retry` in HTTP_GET and SSL_GET only
/// (elsewhere it is dropped as unknown: `keepalived::*_OBSOLETE`);
/// WS_CHECK is vigil's own, so it takes it as HTTP_GET does.
const RETRY_ALIASES: &[Alias] = &[NB_GET_RETRY, NB_GET_REPLIES];

pub(crate) const TCP_CHECK: Section = Section {
    name: "TCP_CHECK",
    keywords: &[],
    shared: &COMMON_CHECK,
    repeatable: &[],
    keepalived: keepalived::CHECK,
    obsolete: keepalived::TCP_CHECK_OBSOLETE,
    first_wins: &[],
    aliases: &[NB_GET_REPLIES],
};

pub(crate) const HTTP_CHECK: Section = Section {
    name: "HTTP_GET/SSL_GET",
    keywords: &[
        "url",
        "virtualhost",
        "http_protocol",
        "enable_sni",
        "sni_name",
    ],
    shared: &COMMON_CHECK,
    repeatable: &["url"],
    keepalived: keepalived::HTTP_CHECK,
    obsolete: &[],
    first_wins: &[],
    aliases: RETRY_ALIASES,
};

pub(crate) const MISC_CHECK: Section = Section {
    name: "MISC_CHECK",
    keywords: &["misc_path", "misc_timeout", "misc_dynamic", "user"],
    shared: &MISC_COMMON,
    repeatable: &[],
    keepalived: keepalived::CHECK,
    obsolete: keepalived::MISC_CHECK_OBSOLETE,
    first_wins: &[],
    aliases: &[NB_GET_REPLIES],
};

pub(crate) const WS_CHECK: Section = Section {
    name: "WS_CHECK",
    keywords: &["path", "virtualhost", "origin", "subprotocol"],
    shared: &COMMON_CHECK,
    repeatable: &[],
    keepalived: keepalived::CHECK,
    obsolete: &[],
    first_wins: &[],
    aliases: RETRY_ALIASES,
};

pub(crate) const URL: Section = Section {
    name: "url",
    keywords: &["path", "status_code", "digest", "virtualhost"],
    shared: &[],
    repeatable: &[],
    keepalived: keepalived::URL,
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

impl Reader<'_> {
    pub fn virtual_server(&mut self, node: &Node) -> Option<(VirtualServer, At)> {
        let errors_before = self.d.errors.len();
        // A bad header still has its block read, so its errors show too;
        // the placeholder key never leaves this function.
        let (key, group) = match node.args.as_slice() {
            [g, name] if g.text == "group" => (
                Some(VirtualServer::group_placeholder(false)),
                self.name_tok(name, "virtual_server group"),
            ),
            _ => (self.service_key(node), None),
        };
        let nodes = self.named_block(node)?;
        let mut v = VirtualServer::new(key.unwrap_or(VirtualServer::group_placeholder(false)));
        v.group = group;
        let mut reals = Vec::new();
        // What each checker inherits from below the virtual server.
        let mut inherits: Vec<Vec<Inherit>> = Vec::new();
        let mut level = Inherit::default();
        let mut anycast = None;
        let seen = self.walk(nodes, &SERVICE, |r, kw, n| match kw {
            "ip_family" => r.ip_family(n, &mut v.key),
            "delay_loop" => {
                if let Some(d) = r.millis(n, DELAY_LOOP_MIN, DAY) {
                    v.delay_loop = d;
                }
            }
            "lvs_sched" => {
                let or = "the virtual server schedules by wlc";
                if let Some(s) = r.as_written(n, Scheduler::ALL, ("lvs_sched", "scheduler"), or) {
                    v.scheduler = s;
                }
            }
            "lvs_method" => {
                let or = "the virtual server forwards by NAT";
                if let Some(m) = r.as_written(n, Method::ALL, ("lvs_method", "method"), or) {
                    v.method = m;
                }
            }
            "protocol" => {
                if let Some(p) = r.keyword_value(n, Protocol::from_keyword, Protocol::expected) {
                    v.protocol = p;
                }
            }
            "persistence_timeout" => v.persistence_timeout = r.persistence_timeout(n),
            "persistence_granularity" => {
                v.persistence_granularity = r.granularity(n, v.key.is_ipv6());
            }
            "quorum" => v.quorum = r.quorum(n),
            "hysteresis" => v.hysteresis = r.u32_in(n, 0, u32::MAX).unwrap_or(0),
            "quorum_up" => v.quorum_up = r.script(n),
            "quorum_down" => v.quorum_down = r.script(n),
            "sorry_server" => v.sorry_server = r.sorry_server(n),
            "sorry_server_inhibit" => v.sorry_server_inhibit = r.flag(n).unwrap_or(false),
            "inhibit_on_failure" => v.inhibit_on_failure = r.flag(n).unwrap_or(false),
            "alpha" => v.alpha = r.flag(n).unwrap_or(false),
            "omega" => v.omega = r.flag(n).unwrap_or(false),
            "ha_suspend" => v.ha_suspend = r.flag(n).unwrap_or(false),
            "virtualhost" => v.virtualhost = r.text(n, VIRTUALHOST_MAX),
            "dr_path_check" => v.dr_path_check = r.flag(n),
            "anycast" => anycast = r.anycast(n),
            "connect_timeout" | "retry" | "delay_before_retry" | "warmup" => {
                r.inherited(n, kw, &mut level);
            }
            "real_server" => {
                if let Some((rs, inherit)) = r.real_server(n) {
                    if r.room(
                        &v.real_servers,
                        REAL_SERVERS_MAX,
                        &n.keyword,
                        "real servers",
                    ) {
                        v.real_servers.push(rs);
                        inherits.push(inherit);
                        reals.push(n.keyword.loc);
                    }
                }
            }
            flag if flag == "ops" || ServiceFlags::of_keyword(flag).is_some() => {
                // A bare keyword, as keepalived reads it.
                r.args_between(n, 0, 0, "nothing: the keyword alone sets the flag");
            }
            _ => unreachable!("SERVICE lists only the keywords matched above"),
        });
        if self.d.errors.len() != errors_before {
            return None;
        }
        self.service_flags(&seen, &mut v);
        if let (Some(written), Some(loc)) = (anycast, seen.get("anycast")) {
            v.anycast = self.anycast_address(written, &v, loc);
        }
        // The virtual server's delay_loop is its own field: a checker
        // without one uses it.
        for (rs, inherit) in v.real_servers.iter_mut().zip(inherits) {
            for (c, own) in rs.checkers.iter_mut().zip(inherit) {
                own.or(level).apply(c);
            }
        }
        if matches!(v.key, ServiceKey::Addr { .. }) && !seen.contains_key("protocol") {
            // Found by the lab's differential test: the same file gives a
            // UDP service under keepalived 2.2.7 and a TCP one under vigil.
            self.no_protocol(&node.keyword.loc, &v.key.to_string());
        }
        if matches!(v.key, ServiceKey::Addr { port: 0, .. })
            && v.persistence_timeout.unwrap_or(0) == 0
        {
            // The kernel takes it (as keepalived sends it) but schedules
            // no connection to it; ipvsadm refuses to make one.
            let note = format!(
                "virtual_server {}: a service of every port (port 0) needs persistence_timeout: \
                 without it the kernel accepts the service but forwards no connection \
                 (\"port zero only supported in persistent services\")",
                v.key
            );
            self.d.warn(&node.keyword.loc, WarningKind::Note(note));
        }
        v.real_servers.shrink_to_fit();
        reals.shrink_to_fit();
        let mut at = At::new(node.keyword.loc, seen);
        at.items.insert("real_server", reals);
        Some((v, at))
    }

    /// `anycast` alone or `anycast ADDRESS`: `Some(None)` for the first.
    fn anycast(&mut self, n: &Node) -> Option<Option<IpAddr>> {
        let args = self.args_between(n, 0, 1, "nothing, or the address to announce")?;
        match args.first() {
            None => Some(None),
            Some(t) => Some(Some(self.tok_ip(t, "anycast")?)),
        }
    }

    /// What an `anycast` line announces: the address written, which must
    /// be the service's own when it has one, or the service's address.
    fn anycast_address(
        &mut self,
        written: Option<IpAddr>,
        v: &VirtualServer,
        loc: &Loc,
    ) -> Option<IpAddr> {
        let service = || v.label();
        let own = match (&v.key, &v.group) {
            (ServiceKey::Addr { addr, .. }, None) => Some(*addr),
            _ => None,
        };
        let e = match (written, own) {
            (Some(a), Some(own)) if a != own => Invalid::AnycastNotOwn {
                service: service(),
                address: a.to_string(),
                own: own.to_string(),
            },
            (Some(a), _) => return Some(a),
            (None, Some(own)) => return Some(own),
            (None, None) => Invalid::AnycastNeedsAddress { service: service() },
        };
        self.d.error(loc, ErrorKind::Invalid(e));
        None
    }

    /// The scheduler flags and `ops` the block set. A flag named for one
    /// scheduler (`sh-port`) under another is ignored with a warning, as
    /// keepalived does; vigil judges by the block's `lvs_sched` wherever
    /// it is written (keepalived by the one read before the flag).
    fn service_flags(&mut self, seen: &HashMap<&'static str, Loc>, v: &mut VirtualServer) {
        let mut set: Vec<(&Loc, &'static str)> = seen.iter().map(|(k, l)| (l, *k)).collect();
        set.sort();
        for (loc, kw) in set {
            if kw == "ops" {
                v.flags.ops = true;
                if v.protocol != Protocol::Udp {
                    let note = format!(
                        "virtual_server {}: 'ops' (one-packet scheduling) acts on UDP only: \
                         the kernel ignores it for this {} service",
                        v.key, v.protocol
                    );
                    self.d.warn(loc, WarningKind::Note(note));
                }
                continue;
            }
            let Some((n, owner)) = ServiceFlags::of_keyword(kw) else {
                continue;
            };
            match owner {
                Some(s) if s != v.scheduler => {
                    let w = WarningKind::SchedFlagIgnored {
                        keyword: kw,
                        owner: s.keyword(),
                        scheduler: v.scheduler.keyword(),
                    };
                    self.d.warn(loc, w);
                }
                _ => v.flags.sched[n] = true,
            }
        }
    }

    /// The warning for an address service without `protocol` (`name`:
    /// its key, or `group NAME` when the group has addresses).
    pub(super) fn no_protocol(&mut self, at: &crate::config::error::Loc, name: &str) {
        let note = format!(
            "virtual_server {name}: no 'protocol': vigil uses TCP, keepalived 2.2.7 uses UDP \
             (write 'protocol TCP' to mean the same to both)"
        );
        self.d.warn(at, WarningKind::Note(note));
    }

    /// `IP [PORT]` or `fwmark N`; no port, or port 0, is a service of
    /// every port of its protocol (keepalived reads a missing port as 0).
    fn service_key(&mut self, node: &Node) -> Option<ServiceKey> {
        const EXPECTED: &str = "'IP [PORT]', 'fwmark N' or 'group NAME', then '{'";
        let kw = node.keyword.text.as_str();
        match node.args.as_slice() {
            [f, mark] if f.text == "fwmark" => Some(ServiceKey::Fwmark {
                mark: self.tok_u32(mark, kw, 1, u32::MAX)?,
                ipv6: false,
            }),
            [addr, port] => Some(ServiceKey::Addr {
                addr: self.tok_ip(addr, kw)?,
                port: self.tok_u32(port, kw, 0, 65535)? as u16,
            }),
            [addr] if addr.text != "fwmark" && addr.text != "group" => Some(ServiceKey::Addr {
                addr: self.tok_ip(addr, kw)?,
                port: 0,
            }),
            [] | [_] => {
                self.d.error(
                    &node.keyword.loc,
                    ErrorKind::MissingArgument {
                        keyword: kw.to_owned(),
                        expected: EXPECTED,
                    },
                );
                None
            }
            [_, _, extra, ..] => {
                self.d.error(
                    &extra.loc,
                    ErrorKind::UnexpectedArgument {
                        keyword: kw.to_owned(),
                        extra: extra.text.to_string(),
                        expected: EXPECTED,
                    },
                );
                None
            }
        }
    }

    /// `ip_family inet|inet6`: only meaningful for fwmark services.
    fn ip_family(&mut self, n: &Node, key: &mut ServiceKey) {
        let Some(t) = self.one(n, "inet or inet6") else {
            return;
        };
        let ipv6 = match t.text.as_str() {
            "inet" => false,
            "inet6" => true,
            _ => return self.bad(t, "ip_family", "inet or inet6"),
        };
        match key {
            ServiceKey::Fwmark { ipv6: f, .. } => *f = ipv6,
            ServiceKey::Addr { addr, .. } if addr.is_ipv6() == ipv6 => {}
            ServiceKey::Addr { .. } => {
                self.bad(t, "ip_family", "the family of the service address")
            }
        }
    }

    fn keyword_value<T>(
        &mut self,
        n: &Node,
        from: fn(&str) -> Option<T>,
        expected: fn() -> String,
    ) -> Option<T> {
        let t = self.one(n, "a keyword")?;
        let v = from(&t.text);
        if v.is_none() {
            self.bad(t, &n.keyword.text, expected());
        }
        v
    }

    /// `lvs_method` (`lb_kind`) and `lvs_sched` (`lb_algo`): keepalived
    /// 2.2.7 takes only the names as written (NAT, DR, TUN in upper case;
    /// schedulers in lower case) and reports any other word, then runs
    /// without it (measured: `lb_kind dr`, `FNAT` forward by NAT, the
    /// default; `lb_algo RR`, `loadbalance` schedule by wlc; a real
    /// server's `lvs_method dr` leaves it to its service). vigil reads
    /// them the same way with a warning, naming the spelling that was
    /// likely meant; `None` is that fallback.
    fn as_written<T: Copy + std::fmt::Display>(
        &mut self,
        n: &Node,
        all: &[T],
        (kw, what): (&'static str, &str),
        fallback: &str,
    ) -> Option<T> {
        let t = self.one(n, "a keyword")?;
        let word = t.text.as_str();
        let name = |v: &T| v.to_string();
        if let Some(v) = all.iter().find(|v| name(v) == word) {
            return Some(*v);
        }
        let names: Vec<String> = all.iter().map(name).collect();
        let meant = names.iter().find(|k| k.eq_ignore_ascii_case(word));
        let hint = match meant {
            Some(k) => format!("; write '{k}' for {k}"),
            None => String::new(),
        };
        let said = format!(
            "unknown {what} '{word}' (keepalived knows {}, as written{hint}): {fallback}",
            names.join(" ")
        );
        self.as_keepalived(t, kw, said);
        None
    }

    fn persistence_timeout(&mut self, n: &Node) -> Option<u32> {
        // keepalived: the keyword alone means 360 s.
        let args = self.args_between(n, 0, 1, "seconds")?;
        match args.first() {
            None => Some(360),
            Some(t) => match self.tok_u32(t, &n.keyword.text, 0, PERSISTENCE_TIMEOUT_MAX)? {
                0 => {
                    let what = "0 is no timeout and is ignored: no persistence".to_owned();
                    self.as_keepalived(t, "persistence_timeout", what);
                    None
                }
                secs => Some(secs),
            },
        }
    }

    /// keepalived reads `quorum 0` as 1, with a warning; so does vigil.
    fn quorum(&mut self, n: &Node) -> u32 {
        match self.u32_in(n, 0, u32::MAX) {
            Some(0) => {
                let what = "0 is read as 1 (the least weight a service can be up with)";
                self.as_keepalived(&n.args[0], "quorum", what.to_owned());
                1
            }
            Some(q) => q,
            None => 1,
        }
    }

    /// A netmask (IPv4 dotted, or a prefix length), or the seed's
    /// `SOURCE_IP`: one client address.
    fn granularity(&mut self, n: &Node, ipv6: bool) -> Option<u8> {
        let t = self.one(n, "a netmask")?;
        let kw = n.keyword.text.as_str();
        if t.text == "SOURCE_IP" {
            let host = if ipv6 { 128 } else { 32 };
            self.d.warn(
                &t.loc,
                WarningKind::ForeignAlias {
                    alias: "persistence_granularity SOURCE_IP".into(),
                    canonical: if ipv6 {
                        "persistence_granularity 128"
                    } else {
                        "persistence_granularity 255.255.255.255"
                    },
                    note: Some("one persistence entry per client address"),
                },
            );
            return Some(host);
        }
        if let Ok(mask) = t.text.parse::<std::net::Ipv4Addr>() {
            let m = u32::from(mask);
            if m.leading_ones() + m.trailing_zeros() == 32 {
                return Some(m.leading_ones() as u8);
            }
            self.bad(t, kw, "a contiguous netmask such as 255.255.255.0");
            return None;
        }
        match t.text.parse::<u8>() {
            Ok(p) if p <= 128 && t.text.bytes().all(|b| b.is_ascii_digit()) => Some(p),
            _ => {
                self.bad(t, kw, "a netmask like 255.255.255.0, or a prefix length");
                None
            }
        }
    }

    fn sorry_server(&mut self, n: &Node) -> Option<SorryServer> {
        let args = self.args_between(n, 1, 2, "an IP address and an optional port")?;
        let kw = n.keyword.text.as_str();
        Some(SorryServer {
            addr: self.tok_ip(&args[0], kw)?,
            port: match args.get(1) {
                Some(p) => Some(self.tok_port(p, kw)?),
                None => None,
            },
        })
    }

    /// A real server, with what each of its checkers has of the inherited
    /// settings (its own, else the real server's).
    fn real_server(&mut self, node: &Node) -> Option<(RealServer, Vec<Inherit>)> {
        let header = self.real_server_header(node);
        // A bad header still has its block read, so its errors show too.
        let (addr, port) = header.unwrap_or((std::net::Ipv4Addr::UNSPECIFIED.into(), None));
        let mut rs = RealServer::new(addr, port);
        // `real_server IP PORT` without a block is allowed: no checker.
        let Some(block) = &node.block else {
            return header.map(|_| (rs, Vec::new()));
        };
        let mut level = Inherit::default();
        let mut own = Vec::new();
        self.walk_each(&block.nodes, &REAL, |r, kw, n| match kw {
            "weight" => rs.weight = r.u32_in(n, 0, WEIGHT_MAX).unwrap_or(1),
            "inhibit_on_failure" => rs.inhibit_on_failure = r.flag(n),
            "lvs_method" => {
                let or = "the real server forwards as its virtual server does";
                rs.method = r.as_written(n, Method::ALL, ("lvs_method", "method"), or);
            }
            "uthreshold" => rs.uthreshold = r.u32_in(n, 0, u32::MAX),
            "lthreshold" => rs.lthreshold = r.u32_in(n, 0, u32::MAX),
            "notify_up" => rs.notify_up = r.script(n).map(Box::new),
            "notify_down" => rs.notify_down = r.script(n).map(Box::new),
            "virtualhost" => rs.virtualhost = r.text(n, VIRTUALHOST_MAX).map(Box::new),
            kw if inherit::KEYWORDS.contains(&kw) => r.inherited(n, kw, &mut level),
            check => {
                if let Some((c, inherit)) = r.checker(n, check) {
                    if r.room(
                        &rs.checkers,
                        CHECKERS_MAX,
                        &n.keyword,
                        "checkers per real server",
                    ) {
                        // Room for one first: a real server has one
                        // checker as a rule, and keeps what it has.
                        if rs.checkers.is_empty() {
                            rs.checkers.reserve_exact(1);
                        }
                        rs.checkers.push(c);
                        own.push(inherit);
                    }
                }
            }
        });
        let inherit = own.into_iter().map(|o| o.or(level)).collect();
        // Growth leaves room for four: a real server is held for as long
        // as its config, so it keeps what it has (half the model's size at
        // a hundred thousand real servers).
        rs.checkers.shrink_to_fit();
        let dynamic = rs
            .checkers
            .iter()
            .filter(|c| matches!(&c.kind, CheckKind::Misc(m) if m.dynamic))
            .count();
        if dynamic > 1 {
            let real = match rs.port {
                Some(p) => format!("{} {p}", rs.addr),
                None => rs.addr.to_string(),
            };
            let w = WarningKind::SeveralDynamicMisc {
                real,
                count: dynamic,
            };
            self.d.warn(&node.keyword.loc, w);
        }
        header.map(|_| (rs, inherit))
    }

    /// `IP [PORT]` after `real_server`; port 0 is no port (keepalived
    /// reads a missing one as 0).
    fn real_server_header(&mut self, node: &Node) -> Option<(std::net::IpAddr, Option<u16>)> {
        let kw = node.keyword.text.as_str();
        match node.args.as_slice() {
            [a] => Some((self.tok_ip(a, kw)?, None)),
            [a, p] => Some((
                self.tok_ip(a, kw)?,
                Some(self.tok_u32(p, kw, 0, 65535)? as u16).filter(|&p| p != 0),
            )),
            [] => {
                self.missing(node, "real_server".into(), "an address");
                None
            }
            [_, _, extra, ..] => {
                self.bad(extra, kw, "'IP [PORT]', then '{'");
                None
            }
        }
    }

    /// A checker with its kind's defaults, and the inheritable settings it
    /// writes itself (resolved by the virtual server, see [`inherit`]).
    fn checker(&mut self, node: &Node, kw: &str) -> Option<(Checker, Inherit)> {
        let nodes = self.block(node)?;
        let (mut kind, section) = match kw {
            "TCP_CHECK" => (CheckKind::Tcp, &TCP_CHECK),
            "HTTP_GET" => (CheckKind::Http(Box::default()), &HTTP_CHECK),
            "SSL_GET" => (CheckKind::Ssl(Box::default()), &HTTP_CHECK),
            "MISC_CHECK" => (
                CheckKind::Misc(Box::new(MiscCheck {
                    path: Script { argv: Vec::new() },
                    timeout: None,
                    dynamic: false,
                    user: None,
                })),
                &MISC_CHECK,
            ),
            _ => (
                CheckKind::Ws(Box::new(WsCheck {
                    path: String::new(),
                    virtualhost: None,
                    origin: None,
                    subprotocol: None,
                })),
                &WS_CHECK,
            ),
        };
        // The defaults of this kind; `kind` itself (urls, path) is filled
        // in by the walk and set at the end.
        let mut c = Checker::new(kind.clone());
        let mut own = Inherit::default();
        self.walk_each(nodes, section, |r, kw, n| match kw {
            "connect_ip" => c.connect_ip = r.host(n),
            "connect_port" => c.connect_port = r.int_in::<u16>(n, 1, 65535),
            "bindto" => c.bindto = r.ip(n),
            kw if inherit::KEYWORDS.contains(&kw) => r.inherited(n, kw, &mut own),
            other => r.check_specific(n, other, &mut kind),
        });
        let has_target = match &kind {
            CheckKind::Http(h) | CheckKind::Ssl(h) => !h.urls.is_empty(),
            CheckKind::Ws(w) => !w.path.is_empty(),
            CheckKind::Misc(m) => !m.path.argv.is_empty(),
            CheckKind::Tcp => true,
        };
        if !has_target {
            let needed = match kind {
                CheckKind::Ws(_) => "path",
                CheckKind::Misc(_) => "misc_path",
                _ => "url",
            };
            self.missing(node, kw.to_owned(), needed);
            return None;
        }
        c.kind = kind;
        Some((c, own))
    }

    /// Keywords of one checker kind only.
    fn check_specific(&mut self, n: &Node, kw: &str, kind: &mut CheckKind) {
        match (kind, kw) {
            (CheckKind::Http(h) | CheckKind::Ssl(h), "url") => {
                if let Some(u) = self.url(n) {
                    if self.room(&h.urls, URLS_MAX, &n.keyword, "urls per checker") {
                        h.urls.push(u);
                    }
                }
            }
            (CheckKind::Http(h) | CheckKind::Ssl(h), "virtualhost") => {
                h.virtualhost = self.text(n, VIRTUALHOST_MAX)
            }
            (CheckKind::Http(h) | CheckKind::Ssl(h), "http_protocol") => {
                let expected = || "one of 1.0 1.0C 1.1".to_owned();
                if let Some(p) = self.keyword_value(n, HttpProtocol::from_keyword, expected) {
                    h.protocol = p;
                }
            }
            // In file order, as keepalived: `sni_name` turns SNI on, a
            // later `enable_sni off` turns it off again.
            (CheckKind::Ssl(h), "enable_sni") => {
                if let Some(on) = self.flag(n) {
                    h.enable_sni = on;
                }
            }
            (CheckKind::Ssl(h), "sni_name") => {
                if let Some(name) = self.text(n, VIRTUALHOST_MAX) {
                    h.sni_name = Some(name);
                    h.enable_sni = true;
                }
            }
            (CheckKind::Http(_), "enable_sni" | "sni_name") => {
                let note = format!(
                    "'{kw}' applies to SSL_GET only: HTTP_GET has no TLS, so it is ignored \
                     (as keepalived ignores it there)"
                );
                self.d.warn(&n.keyword.loc, WarningKind::Note(note));
            }
            (CheckKind::Ws(w), "path") => {
                if let Some(p) = self.url_path(n) {
                    w.path = p;
                }
            }
            (CheckKind::Ws(w), "virtualhost") => w.virtualhost = self.text(n, VIRTUALHOST_MAX),
            (CheckKind::Ws(w), "origin") => w.origin = self.text(n, TEXT_MAX),
            (CheckKind::Ws(w), "subprotocol") => w.subprotocol = self.text(n, NAME_MAX),
            (CheckKind::Misc(m), "misc_path") => {
                if let Some(s) = self.searched_script(n) {
                    m.path = s;
                }
            }
            (CheckKind::Misc(m), "misc_timeout") => {
                m.timeout = self
                    .u32_in(n, 1, MISC_TIMEOUT_MAX.0 / 1000)
                    .map(Millis::secs)
            }
            (CheckKind::Misc(m), "misc_dynamic") => m.dynamic = self.flag(n).unwrap_or(true),
            (CheckKind::Misc(m), "user") => m.user = self.run_as(n),
            _ => unreachable!("checker sections list only keywords of their kind"),
        }
    }

    fn url_path(&mut self, n: &Node) -> Option<String> {
        let t = self.one(n, "a path starting with '/'")?;
        let ok = t.text.starts_with('/')
            && t.text.len() <= TEXT_MAX
            && t.text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Some(t.text.to_string())
        } else {
            self.bad(
                t,
                "path",
                "a path starting with '/' of printable ASCII (percent-encode the rest)",
            );
            None
        }
    }

    fn url(&mut self, node: &Node) -> Option<Url> {
        let nodes = self.block(node)?;
        let mut u = Url {
            path: String::new(),
            status_code: Vec::new(),
            digest: None,
            virtualhost: None,
        };
        self.walk_each(nodes, &URL, |r, kw, n| match kw {
            "path" => u.path = r.url_path(n).unwrap_or_default(),
            "status_code" => u.status_code = r.status_codes(n).unwrap_or_default(),
            "digest" => u.digest = r.digest(n),
            "virtualhost" => u.virtualhost = r.text(n, VIRTUALHOST_MAX),
            _ => unreachable!("URL lists only path, status_code, digest and virtualhost"),
        });
        if u.path.is_empty() {
            self.missing(node, "url".into(), "path");
            return None;
        }
        Some(u)
    }

    /// `200`, `200-299`, several separated by spaces.
    fn status_codes(&mut self, n: &Node) -> Option<Vec<(u16, u16)>> {
        let args = self.args_between(n, 1, 16, "status codes like 200 or 200-299")?;
        let mut out = Vec::new();
        for t in args {
            let (lo, hi) = t.text.split_once('-').unwrap_or((&t.text, &t.text));
            let code = |s: &str| s.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
            match (code(lo), code(hi)) {
                (Some(lo), Some(hi)) if lo <= hi => out.push((lo, hi)),
                _ => {
                    self.bad(t, "status_code", "a code 100..599 or a range LOW-HIGH");
                    return None;
                }
            }
        }
        Some(out)
    }

    fn digest(&mut self, n: &Node) -> Option<[u8; 16]> {
        let t = self.one(n, "32 hex digits (an MD5 digest)")?;
        let hex = t.text.as_bytes();
        let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 16];
        if hex.len() == 32 {
            for (i, pair) in hex.chunks(2).enumerate() {
                match (nibble(pair[0]), nibble(pair[1])) {
                    (Some(h), Some(l)) => out[i] = h << 4 | l,
                    _ => return self.bad_digest(t),
                }
            }
            return Some(out);
        }
        self.bad_digest(t)
    }

    fn bad_digest(&mut self, t: &Token) -> Option<[u8; 16]> {
        self.bad(t, "digest", "32 hex digits (an MD5 digest)");
        None
    }
}

#[cfg(test)]
#[path = "lvs_tests.rs"]
mod tests;
