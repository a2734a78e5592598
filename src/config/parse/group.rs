//! `virtual_server_group NAME { .. }`: the lines of a group of services.
//!
//! Owns: reading a group's lines (`IP [PORT]`, `IP-LAST [PORT]`,
//! `fwmark N`) and the bound on how many services one group expands to.
//! Must not: resolve which virtual server uses which group, or check
//! families and duplicates across the config (validate does).
//!
//! A range runs over the last byte of an IPv4 address (decimal, as in
//! `192.168.1.10-20`) or the last 16-bit group of an IPv6 one (hex, as
//! in `2001:db8::a-1f`), both ends included, as keepalived reads it.

use super::Reader;
use crate::config::bounds::VIRTUAL_SERVERS_MAX;
use crate::config::error::ErrorKind;
use crate::config::model::{range_tail, GroupMember, VirtualServerGroup};
use crate::config::syntax::{Node, Token};
use crate::config::validate::At;
use std::collections::HashMap;
use std::net::IpAddr;

const KW: &str = "virtual_server_group";
const LINE: &str = "'IP [PORT]', 'IP-LAST [PORT]' or 'fwmark N'";

impl Reader<'_> {
    pub fn virtual_server_group(&mut self, node: &Node) -> Option<(VirtualServerGroup, At)> {
        let errors_before = self.d.errors.len();
        // A bad name still has its block read, so its errors show too.
        let name = self.one_name(node);
        let nodes = self.named_block(node)?;
        let mut members = Vec::new();
        let mut locs = Vec::new();
        let mut services = 0usize;
        for item in nodes {
            let Some(m) = self.group_member(item) else {
                continue;
            };
            services += m.len();
            if services > VIRTUAL_SERVERS_MAX {
                self.d.error(
                    &item.keyword.loc,
                    ErrorKind::TooMany {
                        what: "services in a virtual_server_group, ranges expanded (VIRTUAL_SERVERS_MAX)",
                        max: VIRTUAL_SERVERS_MAX,
                    },
                );
                break;
            }
            members.push(m);
            locs.push(item.keyword.loc);
        }
        if self.d.errors.len() != errors_before {
            return None;
        }
        let mut at = At::new(node.keyword.loc, HashMap::new());
        at.items.insert("member", locs);
        Some((
            VirtualServerGroup {
                name: name?,
                members,
            },
            at,
        ))
    }

    fn group_member(&mut self, item: &Node) -> Option<GroupMember> {
        if item.block.is_some() {
            self.bad(&item.keyword, KW, format!("{LINE}, not a block"));
            return None;
        }
        match (item.keyword.text.as_str(), item.args.as_slice()) {
            ("fwmark", [mark]) => Some(GroupMember::Fwmark(self.tok_u32(
                mark,
                "fwmark",
                1,
                u32::MAX,
            )?)),
            ("fwmark", []) => {
                self.d.error(
                    &item.keyword.loc,
                    ErrorKind::MissingArgument {
                        keyword: "fwmark".into(),
                        expected: "a mark, 1..",
                    },
                );
                None
            }
            (_, [] | [_]) => {
                let (first, last) = self.addr_range(&item.keyword)?;
                let port = match item.args.first() {
                    Some(p) => self.tok_u32(p, KW, 0, 65535)? as u16,
                    None => 0,
                };
                Some(GroupMember::Addr { first, last, port })
            }
            (_, [_, extra, ..]) => {
                self.d.error(
                    &extra.loc,
                    ErrorKind::UnexpectedArgument {
                        keyword: KW.into(),
                        extra: extra.text.to_string(),
                        expected: LINE,
                    },
                );
                None
            }
        }
    }

    /// `IP` or `IP-LAST`.
    fn addr_range(&mut self, t: &Token) -> Option<(IpAddr, Option<u16>)> {
        let Some((addr, last)) = t.text.split_once('-') else {
            return Some((self.tok_ip(t, KW)?, None));
        };
        let Ok(first) = addr.parse::<IpAddr>() else {
            self.bad(t, KW, LINE);
            return None;
        };
        let (radix, max, what) = match first {
            IpAddr::V4(_) => (
                10,
                255,
                "the range's last byte, decimal, not below the first",
            ),
            IpAddr::V6(_) => (
                16,
                0xffff,
                "the range's last group, hex, not below the first",
            ),
        };
        match u32::from_str_radix(last, radix) {
            Ok(l) if l <= max && l >= u32::from(range_tail(&first)) => {
                Some((first, Some(l as u16)))
            }
            _ => {
                self.bad(t, KW, what);
                None
            }
        }
    }
}
