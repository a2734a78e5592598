//! `bgp { ... }`: vigil's own block for announcing anycast VIPs through
//! BIRD (local AS, router id, neighbours, communities, how to drain).
//! keepalived has no equivalent.
//!
//! Owns: reading that block, and what can be checked inside it alone
//! (required keywords, a neighbour given twice, families). Must not: look
//! at virtual servers (which of them are anycast is `validate`'s), or
//! write BIRD's config (`bgp::bird` does).

use super::{Reader, Section};
use crate::config::bounds::{
    BFD_INTERVAL_MAX, BFD_INTERVAL_MIN, BGP_COMMUNITIES_MAX, BGP_NEIGHBORS_MAX, BGP_PASSWORD_MAX,
    BGP_PREPEND_MAX, TEXT_MAX,
};
use crate::config::error::{ErrorKind, Invalid};
use crate::config::model::{Bgp, BgpDrain, BgpNeighbor, LvsSyncDaemon};
use crate::config::syntax::{Node, Token};
use std::net::{IpAddr, Ipv4Addr};

pub(crate) const BGP: Section = Section {
    name: "bgp",
    keywords: &[
        "local_as",
        "router_id",
        "neighbor",
        "community",
        "drain",
        "bfd_interval",
        "bfd_multiplier",
        "bird_socket",
        "bird_config",
        "sync_daemon",
    ],
    shared: &[],
    repeatable: &["neighbor", "community"],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const NEIGHBOR: Section = Section {
    name: "bgp neighbor",
    keywords: &[
        "remote_as",
        "password",
        "bfd",
        "source_address",
        "multihop",
        "hold_time",
    ],
    shared: &[],
    repeatable: &[],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

/// AS_TRANS (RFC 6793): stands in for a 4-byte AS on old speakers, never
/// a real one.
const AS_TRANS: u32 = 23456;

impl Reader<'_> {
    pub fn bgp(&mut self, node: &Node) -> Option<Bgp> {
        let nodes = self.block(node)?;
        let errors_before = self.d.errors.len();
        let mut b = Bgp::new(0, Ipv4Addr::UNSPECIFIED);
        let (mut local_as, mut router_id) = (None, None);
        let seen = self.walk(nodes, &BGP, |r, kw, n| match kw {
            "local_as" => local_as = r.as_number(n),
            "router_id" => router_id = r.router_id(n),
            "neighbor" => {
                let Some(nb) = r.neighbor(n) else { return };
                if b.neighbors.iter().any(|x| x.address == nb.address) {
                    let e = Invalid::DuplicateNeighbor {
                        address: nb.address.to_string(),
                    };
                    r.d.error(&n.keyword.loc, ErrorKind::Invalid(e));
                } else if r.room(&b.neighbors, BGP_NEIGHBORS_MAX, &n.keyword, "bgp neighbors") {
                    b.neighbors.push(nb);
                }
            }
            "community" => {
                let Some(c) = r.community(n) else { return };
                if b.communities.contains(&c) {
                    r.bad(&n.args[0], kw, "each community once");
                } else if r.room(
                    &b.communities,
                    BGP_COMMUNITIES_MAX,
                    &n.keyword,
                    "communities",
                ) {
                    b.communities.push(c);
                }
            }
            "drain" => {
                if let Some(d) = r.drain(n) {
                    b.drain = d;
                }
            }
            "bfd_interval" => {
                if let Some(m) = r.millis(n, BFD_INTERVAL_MIN, BFD_INTERVAL_MAX) {
                    b.bfd_interval = m;
                }
            }
            "bfd_multiplier" => {
                if let Some(m) = r.int_in::<u8>(n, 1, 255) {
                    b.bfd_multiplier = m;
                }
            }
            "bird_socket" => {
                if let Some(p) = r.absolute_path(n) {
                    b.bird_socket = p;
                }
            }
            "bird_config" => {
                if let Some(p) = r.absolute_path(n) {
                    b.bird_config = p;
                }
            }
            "sync_daemon" => b.sync_daemon = r.anycast_sync_daemon(n),
            _ => unreachable!("BGP lists only the keywords matched above"),
        });
        // A neighbour written with errors has its own; none written is
        // this one.
        if !seen.contains_key("neighbor") {
            self.missing(node, "bgp".into(), "neighbor");
        }
        match (local_as, router_id) {
            (Some(a), Some(id)) if self.d.errors.len() == errors_before => {
                b.local_as = a;
                b.router_id = id;
                Some(b)
            }
            (a, id) => {
                if a.is_none() {
                    self.missing(node, "bgp".into(), "local_as");
                }
                if id.is_none() {
                    self.missing(node, "bgp".into(), "router_id");
                }
                None
            }
        }
    }

    /// `sync_daemon INTERFACE [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    fn anycast_sync_daemon(&mut self, n: &Node) -> Option<LvsSyncDaemon> {
        const EXPECTED: &str = "INTERFACE [id N] [maxlen N] [port N] [ttl N] [group IP]";
        let args = self.args_between(n, 1, 11, EXPECTED)?;
        let mut d = LvsSyncDaemon {
            interface: self.tok_ifname(&args[0], "sync_daemon")?,
            vrrp_instance: String::new(),
            id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        self.sync_options(&mut d, &args[1..], "sync_daemon")?;
        Some(d)
    }

    fn neighbor(&mut self, node: &Node) -> Option<BgpNeighbor> {
        let address = match node.args.as_slice() {
            [t] => self.tok_ip(t, "neighbor"),
            _ => {
                self.missing(node, "bgp neighbor".into(), "the neighbor's address");
                None
            }
        };
        // A bad address still has its block read, so its errors show too.
        let nodes = self.named_block(node)?;
        let mut nb = BgpNeighbor::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        let mut remote_as = None;
        let mut source_at = None;
        self.walk(nodes, &NEIGHBOR, |r, kw, n| match kw {
            "remote_as" => remote_as = r.as_number(n),
            "password" => nb.password = r.md5_password(n),
            "bfd" => nb.bfd = r.flag(n).unwrap_or(false),
            "source_address" => {
                nb.source_address = r.ip(n);
                source_at = n.args.first();
            }
            "multihop" => nb.multihop = r.int_in::<u8>(n, 1, 255),
            "hold_time" => nb.hold_time = r.int_in::<u16>(n, 3, 65535),
            _ => unreachable!("NEIGHBOR lists only the keywords matched above"),
        });
        nb.address = address?;
        let Some(remote_as) = remote_as else {
            self.missing(node, format!("bgp neighbor {}", nb.address), "remote_as");
            return None;
        };
        nb.remote_as = remote_as;
        if let (Some(s), Some(t)) = (nb.source_address, source_at) {
            if s.is_ipv4() != nb.address.is_ipv4() {
                let e = Invalid::NeighborSourceFamily {
                    address: nb.address.to_string(),
                    source_address: s.to_string(),
                };
                self.d.error(&t.loc, ErrorKind::Invalid(e));
                return None;
            }
        }
        Some(nb)
    }

    fn as_number(&mut self, n: &Node) -> Option<u32> {
        let t = self.one(n, "an AS number")?;
        match t.text.parse::<u32>() {
            Ok(a) if a != 0 && a != AS_TRANS => Some(a),
            _ => {
                self.bad(
                    t,
                    &n.keyword.text,
                    "an AS number 1..4294967295 (not 23456, AS_TRANS)",
                );
                None
            }
        }
    }

    fn router_id(&mut self, n: &Node) -> Option<Ipv4Addr> {
        let t = self.one(n, "a router id in IPv4 form")?;
        match t.text.parse::<Ipv4Addr>() {
            Ok(id) if !id.is_unspecified() => Some(id),
            _ => {
                self.bad(t, "router_id", "a router id in IPv4 form, not 0.0.0.0");
                None
            }
        }
    }

    /// `community ASN:VALUE`, each 0..65535.
    fn community(&mut self, n: &Node) -> Option<(u16, u16)> {
        let t = self.one(n, "ASN:VALUE")?;
        let pair = t.text.split_once(':');
        let parsed = pair.and_then(|(a, v)| Some((a.parse::<u16>().ok()?, v.parse::<u16>().ok()?)));
        if parsed.is_none() {
            self.bad(t, "community", "ASN:VALUE, each 0..65535");
        }
        parsed
    }

    /// `drain withdraw` or `drain prepend N`.
    fn drain(&mut self, n: &Node) -> Option<BgpDrain> {
        const EXPECTED: &str = "'withdraw' or 'prepend N'";
        let args = self.args_between(n, 1, 2, EXPECTED)?;
        match (args[0].text.as_str(), args.get(1)) {
            ("withdraw", None) => Some(BgpDrain::Withdraw),
            ("prepend", Some(t)) => {
                let count = self.tok_u32(t, "drain prepend", 1, BGP_PREPEND_MAX)?;
                Some(BgpDrain::Prepend(u8::try_from(count).ok()?))
            }
            _ => {
                self.bad(&args[0], "drain", EXPECTED);
                None
            }
        }
    }

    /// A TCP MD5 key as BIRD takes it in quotes: printable ASCII without
    /// `"` or `\`.
    fn md5_password(&mut self, n: &Node) -> Option<String> {
        let t = self.one(n, "a password (quote it if it has spaces)")?;
        if password_ok(&t.text) {
            Some(t.text.to_string())
        } else {
            let what =
                format!("1..{BGP_PASSWORD_MAX} printable ASCII characters, without '\"' or '\\'");
            self.bad(t, "password", what);
            None
        }
    }

    fn absolute_path(&mut self, n: &Node) -> Option<String> {
        let t: &Token = self.one(n, "an absolute path")?;
        let ok = t.text.starts_with('/')
            && t.text.len() <= TEXT_MAX
            && t.text.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
        if ok {
            Some(t.text.to_string())
        } else {
            let kw = n.keyword.text.to_string();
            self.bad(t, &kw, "an absolute path without spaces or quotes");
            None
        }
    }
}

fn password_ok(p: &str) -> bool {
    (1..=BGP_PASSWORD_MAX).contains(&p.len())
        && p.bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
#[path = "bgp_tests.rs"]
mod tests;
