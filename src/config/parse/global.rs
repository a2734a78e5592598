//! `global_defs { ... }`: mail, router id, VRRP defaults, IPVS sync daemon
//! and timeouts.
//!
//! Owns: reading the global block into [`GlobalDefs`], and merging
//! repeated `global_defs` blocks into one as keepalived does
//! ([`merge_blocks`]). Must not: check that `lvs_sync_daemon` names an
//! existing instance (validate does).

use super::{keepalived, Alias, AliasKind, Reader, Section};
use crate::config::bounds::{
    check_text, Millis, DAY, EMAILS_MAX, GARP_INTERVAL_MAX, GARP_REPEAT_MAX, LVS_TIMEOUT_MAX,
    NAME_MAX, SMTP_TIMEOUT_MAX, TEXT_MAX,
};
use crate::config::error::{Diagnostics, Loc, WarningKind};
use crate::config::model::{
    Garp, GarpOverride, GlobalDefs, LvsSyncDaemon, LvsTimeouts, Metrics, SmtpServer, VrrpVersion,
};
use crate::config::syntax::{Node, Token};
use crate::config::validate::At;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// vigil's `metrics { listen ADDR:PORT }` inside `global_defs` (not in
/// `appliance`: it serves a drop-in too, where the appliance block is
/// inert without `--apply-appliance`).
pub(crate) const METRICS: Section = Section {
    name: "global_defs metrics",
    keywords: &["listen"],
    shared: &[],
    repeatable: &[],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const GLOBAL: Section = Section {
    name: "global_defs",
    keywords: &[
        "router_id",
        "notification_email",
        "notification_email_from",
        "smtp_server",
        "smtp_connect_timeout",
        "smtp_alert",
        "vrrp_version",
        "vrrp_mcast_group4",
        "vrrp_mcast_group6",
        "vrrp_garp_master_delay",
        "vrrp_garp_master_repeat",
        "vrrp_garp_master_refresh",
        "vrrp_garp_master_refresh_repeat",
        "vrrp_garp_interval",
        "vrrp_gna_interval",
        "lvs_sync_daemon",
        "lvs_timeouts",
        "script_user",
        "enable_script_security",
        "vrrp_strict",
        "metrics",
        "vmac_prefix",
    ],
    shared: &[],
    repeatable: &[],
    keepalived: keepalived::GLOBAL,
    obsolete: keepalived::GLOBAL_OBSOLETE,
    first_wins: &[],
    aliases: &[Alias {
        alias: "lvs_id",
        canonical: "router_id",
        kind: AliasKind::Deprecated,
    }],
};

/// keepalived reads every `global_defs` block into one set of globals: a
/// setting given again replaces the earlier one, and `notification_email`
/// addresses add up. vigil merges the blocks into the first the same way
/// before reading it, with a warning at each later block and at each
/// setting given again. The top level is borrowed as is when there is at
/// most one block.
pub(super) fn merge_blocks<'n>(nodes: &'n [Node], d: &mut Diagnostics) -> Cow<'n, [Node]> {
    let is_block = |n: &Node| n.keyword.text == "global_defs" && n.block.is_some();
    if nodes.iter().filter(|n| is_block(n)).count() < 2 {
        return Cow::Borrowed(nodes);
    }
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    let mut first: Option<usize> = None;
    for n in nodes {
        let Some(k) = first.filter(|_| is_block(n)) else {
            if is_block(n) {
                first = Some(out.len());
            }
            out.push(n.clone());
            continue;
        };
        let into = &mut out[k];
        let what = format!(
            "given again (first at {}): its settings are read into the first block, \
             a setting given in both from the later",
            into.keyword.loc
        );
        d.warn(&n.keyword.loc, as_keepalived(what));
        let Some(theirs) = into.block.as_mut() else {
            continue;
        };
        for s in n.block.iter().flat_map(|b| &b.nodes) {
            merge_setting(&mut theirs.nodes, s, d);
        }
    }
    Cow::Owned(out)
}

/// One setting of a later `global_defs` block into the first's.
fn merge_setting(into: &mut Vec<Node>, s: &Node, d: &mut Diagnostics) {
    let Some(k) = into.iter().position(|e| e.keyword.text == s.keyword.text) else {
        into.push(s.clone());
        return;
    };
    let earlier: &Loc = &into[k].keyword.loc;
    let list = s.keyword.text == "notification_email";
    let what = if list {
        format!("'notification_email' is also given at {earlier}: the addresses of both are used")
    } else {
        format!(
            "'{}' is also given at {earlier}: this later one is used",
            s.keyword.text
        )
    };
    d.warn(&s.keyword.loc, as_keepalived(what));
    match (list, into[k].block.as_mut(), &s.block) {
        (true, Some(mine), Some(theirs)) => mine.nodes.extend(theirs.nodes.iter().cloned()),
        _ => {
            into.remove(k);
            into.push(s.clone());
        }
    }
}

fn as_keepalived(what: String) -> WarningKind {
    WarningKind::AsKeepalived {
        keyword: "global_defs",
        what,
    }
}

impl Reader<'_> {
    pub fn global_defs(&mut self, node: &Node) -> Option<(GlobalDefs, At)> {
        let nodes = self.block(node)?;
        let mut g = GlobalDefs::default();
        let mut garp = GarpOverride::default();
        let seen = self.walk(nodes, &GLOBAL, |r, kw, n| match kw {
            "router_id" => g.router_id = r.text(n, NAME_MAX),
            "notification_email" => g.notification_email = r.emails(n).unwrap_or_default(),
            "notification_email_from" => g.notification_email_from = r.text(n, TEXT_MAX),
            "smtp_server" => g.smtp_server = r.smtp_server(n),
            "smtp_connect_timeout" => {
                if let Some(t) = r.millis(n, Millis::secs(1), SMTP_TIMEOUT_MAX) {
                    g.smtp_connect_timeout = t;
                }
            }
            "smtp_alert" => g.smtp_alert = r.flag(n),
            "vrrp_version" => {
                if let Some(v) = r.vrrp_version(n) {
                    g.vrrp_version = v;
                }
            }
            "vrrp_mcast_group4" => match r.ip(n) {
                Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                Some(_) => r.bad(&n.args[0], kw, "an IPv4 multicast address (224.0.0.0/4)"),
                None => {}
            },
            "vrrp_mcast_group6" => match r.ip(n) {
                Some(IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                Some(_) => r.bad(&n.args[0], kw, "an IPv6 multicast address (ff00::/8)"),
                None => {}
            },
            "lvs_sync_daemon" => g.lvs_sync_daemon = r.lvs_sync_daemon(n),
            "lvs_timeouts" => {
                if let Some(t) = r.lvs_timeouts(n) {
                    g.lvs_timeouts = t;
                }
            }
            "script_user" => g.script_user = r.run_as(n),
            "enable_script_security" => {
                g.enable_script_security = r.flag(n).unwrap_or(false);
            }
            "metrics" => g.metrics = r.metrics(n),
            // Settled with the instances (`parse::strict`): its place is
            // what is kept.
            "vrrp_strict" => {
                r.args_between(n, 0, 0, "nothing");
            }
            // Up to an interface name's 15 bytes: keepalived cuts a
            // longer one as it cuts this one, to fit the VRID after it.
            "vmac_prefix" => g.vmac_prefix = r.ifname(n),
            garp_kw => {
                let kw = garp_kw.trim_start_matches("vrrp_");
                r.garp_setting(n, kw, &mut garp);
            }
        });
        g.garp = garp.over(&Garp::default());
        Some((g, At::new(node.keyword.loc, seen)))
    }

    /// One of the `garp_*` / `gna_interval` settings (without the `vrrp_`
    /// prefix the global forms carry), into an override.
    pub fn garp_setting(&mut self, n: &Node, kw: &str, o: &mut GarpOverride) {
        let secs = |r: &mut Self| r.millis(n, Millis(0), DAY);
        match kw {
            "garp_master_delay" => o.master_delay = secs(self),
            "garp_master_repeat" => o.master_repeat = self.u32_in(n, 1, GARP_REPEAT_MAX),
            "garp_master_refresh" => o.master_refresh = secs(self),
            "garp_master_refresh_repeat" => {
                o.master_refresh_repeat = self.u32_in(n, 1, GARP_REPEAT_MAX)
            }
            "garp_interval" => o.interval = self.millis(n, Millis(0), GARP_INTERVAL_MAX),
            "gna_interval" => o.gna_interval = self.millis(n, Millis(0), GARP_INTERVAL_MAX),
            _ => unreachable!("section tables list only these garp keywords"),
        }
    }

    pub fn vrrp_version(&mut self, n: &Node) -> Option<VrrpVersion> {
        let t = self.one(n, "2 or 3")?;
        match t.text.as_str() {
            "2" => Some(VrrpVersion::V2),
            "3" => Some(VrrpVersion::V3),
            _ => {
                self.bad(t, &n.keyword.text, "2 or 3");
                None
            }
        }
    }

    fn emails(&mut self, n: &Node) -> Option<Vec<String>> {
        let nodes = self.block(n)?;
        let mut out = Vec::new();
        for e in nodes {
            // Each line of the block is one address (the keyword slot).
            let t = &e.keyword;
            if let Some(extra) = e.args.first() {
                self.bad(extra, "notification_email", "one address per line");
                continue;
            }
            if e.block.is_some() {
                self.bad(t, "notification_email", "an address, not a block");
                continue;
            }
            if !t.text.contains('@') || check_text(&t.text, TEXT_MAX).is_err() {
                self.bad(t, "notification_email", "an e-mail address user@domain");
                continue;
            }
            if self.room(&out, EMAILS_MAX, t, "notification_email addresses") {
                out.push(t.text.to_string());
            }
        }
        Some(out)
    }

    /// `metrics { listen ADDR:PORT }`: one specific address (an IPv6 one
    /// in brackets) and a port; a wildcard is refused, the endpoint binds
    /// the management address only.
    fn metrics(&mut self, n: &Node) -> Option<Metrics> {
        let nodes = self.block(n)?;
        let mut listen = None;
        let seen = self.walk(nodes, &METRICS, |r, kw, n| {
            let Some(t) = r.one(n, "ADDR:PORT") else {
                return;
            };
            const EXPECTED: &str = "a specific ADDR:PORT ([ADDR]:PORT for IPv6), not a wildcard";
            match t.text.parse::<SocketAddr>() {
                Ok(a) if !a.ip().is_unspecified() && !a.ip().is_multicast() && a.port() != 0 => {
                    listen = Some(a)
                }
                _ => r.bad(t, kw, EXPECTED),
            }
        });
        if listen.is_none() && !seen.contains_key("listen") {
            self.missing(n, "metrics".into(), "listen");
        }
        Some(Metrics { listen: listen? })
    }

    fn smtp_server(&mut self, n: &Node) -> Option<SmtpServer> {
        let args = self.args_between(n, 1, 2, "an IP address and an optional port")?;
        let kw = &n.keyword.text;
        let addr = self.tok_host(&args[0], kw)?;
        let port = match args.get(1) {
            Some(p) => self.tok_u32(p, kw, 1, 65535)? as u16,
            None => 25,
        };
        Some(SmtpServer { addr, port })
    }

    fn lvs_sync_daemon(&mut self, n: &Node) -> Option<LvsSyncDaemon> {
        const EXPECTED: &str =
            "INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]";
        let args = self.args_between(n, 2, 12, EXPECTED)?;
        let kw = n.keyword.text.as_str();
        let mut d = LvsSyncDaemon {
            interface: self.tok_ifname(&args[0], kw)?,
            vrrp_instance: self.tok_text(&args[1], kw, NAME_MAX)?,
            id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        self.sync_options(&mut d, &args[2..], kw)?;
        Some(d)
    }

    /// `[id N] [maxlen N] [port N] [ttl N] [group IP]` of a sync daemon
    /// line (here and the `bgp` block's `sync_daemon`).
    pub(super) fn sync_options(
        &mut self,
        d: &mut LvsSyncDaemon,
        args: &[Token],
        kw: &str,
    ) -> Option<()> {
        for (name, value) in self.pairs(args, kw)? {
            match name.text.as_str() {
                "id" => d.id = Some(self.tok_u32(value, kw, 0, 255)? as u8),
                "maxlen" => d.maxlen = Some(self.tok_u32(value, kw, 1, 65535)? as u16),
                "port" => d.port = Some(self.tok_u32(value, kw, 1, 65535)? as u16),
                "ttl" => d.ttl = Some(self.tok_u32(value, kw, 1, 255)? as u8),
                "group" => d.group = Some(self.tok_ip(value, kw)?),
                _ => {
                    self.bad(name, kw, "one of id maxlen port ttl group");
                    return None;
                }
            }
        }
        Some(())
    }

    fn lvs_timeouts(&mut self, n: &Node) -> Option<LvsTimeouts> {
        let args = self.args_between(n, 2, 6, "[tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]")?;
        let kw = n.keyword.text.as_str();
        let mut t = LvsTimeouts::default();
        for (name, value) in self.pairs(args, kw)? {
            let v = Some(self.tok_u32(value, kw, 1, LVS_TIMEOUT_MAX)?);
            match name.text.as_str() {
                "tcp" => t.tcp = v,
                "tcpfin" => t.tcpfin = v,
                "udp" => t.udp = v,
                _ => {
                    self.bad(name, kw, "one of tcp tcpfin udp");
                    return None;
                }
            }
        }
        Some(t)
    }
}

#[cfg(test)]
#[path = "global_tests.rs"]
mod tests;
