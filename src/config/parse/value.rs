//! Typed readers for statement arguments.
//!
//! Owns: turning a statement's tokens into numbers, durations, addresses,
//! names and scripts, and the shape checks (how many arguments, block or
//! not). Each reader reports its own located error and returns `None`, so
//! callers just skip the setting. Must not: know which keyword means what.

use super::Reader;
use crate::config::bounds::{check_text, BoundError, IfName, Millis, TEXT_MAX};
use crate::config::error::{ErrorKind, WarningKind};
use crate::config::model::Script;
use crate::config::syntax::{Node, Token};
use std::net::IpAddr;

impl Reader<'_> {
    /// Report that `tok` (an argument of `kw`) is not `expected`.
    pub fn bad(&mut self, tok: &Token, kw: &str, expected: impl Into<String>) {
        self.d.error(
            &tok.loc,
            ErrorKind::InvalidValue {
                keyword: kw.to_owned(),
                value: tok.text.to_string(),
                expected: expected.into(),
            },
        );
    }

    /// A value read as keepalived reads it, with a warning saying how.
    pub fn as_keepalived(&mut self, tok: &Token, keyword: &'static str, what: String) {
        self.d
            .warn(&tok.loc, WarningKind::AsKeepalived { keyword, what });
    }

    /// A statement that must not have a block.
    fn no_block(&mut self, node: &Node) -> bool {
        match &node.block {
            Some(b) => {
                self.d.error(
                    &b.open,
                    ErrorKind::UnexpectedBlock {
                        keyword: node.keyword.text.to_string(),
                    },
                );
                false
            }
            None => true,
        }
    }

    /// Exactly `n` arguments and no block.
    pub fn args<'a>(
        &mut self,
        node: &'a Node,
        n: usize,
        expected: &'static str,
    ) -> Option<&'a [Token]> {
        self.args_between(node, n, n, expected)
    }

    /// Between `min` and `max` arguments and no block.
    pub fn args_between<'a>(
        &mut self,
        node: &'a Node,
        min: usize,
        max: usize,
        expected: &'static str,
    ) -> Option<&'a [Token]> {
        if !self.no_block(node) {
            return None;
        }
        let kw = &node.keyword;
        if node.args.len() < min {
            self.d.error(
                &kw.loc,
                ErrorKind::MissingArgument {
                    keyword: kw.text.to_string(),
                    expected,
                },
            );
            return None;
        }
        if let Some(extra) = node.args.get(max) {
            self.d.error(
                &extra.loc,
                ErrorKind::UnexpectedArgument {
                    keyword: kw.text.to_string(),
                    extra: extra.text.to_string(),
                    expected,
                },
            );
            return None;
        }
        Some(&node.args)
    }

    /// The single argument of a statement.
    pub fn one<'a>(&mut self, node: &'a Node, expected: &'static str) -> Option<&'a Token> {
        self.args(node, 1, expected).map(|a| &a[0])
    }

    /// A block with no arguments before it. An argument is an error, and
    /// the block is still handed back, so that what is wrong inside it is
    /// reported in the same run (the whole config is rejected anyway).
    pub fn block<'a>(&mut self, node: &'a Node) -> Option<&'a [Node]> {
        let kw = &node.keyword;
        if let Some(extra) = node.args.first() {
            self.d.error(
                &extra.loc,
                ErrorKind::UnexpectedArgument {
                    keyword: kw.text.to_string(),
                    extra: extra.text.to_string(),
                    expected: "'{' and a block",
                },
            );
            return node.block.as_ref().map(|b| b.nodes.as_slice());
        }
        self.named_block(node)
    }

    /// The block of a statement, whatever its arguments.
    pub fn named_block<'a>(&mut self, node: &'a Node) -> Option<&'a [Node]> {
        match &node.block {
            Some(b) => Some(&b.nodes),
            None => {
                self.d.error(
                    &node.keyword.loc,
                    ErrorKind::MissingBlock {
                        keyword: node.keyword.text.to_string(),
                    },
                );
                None
            }
        }
    }

    /// A flag: alone it means true; `on|off|true|false|yes|no` say it.
    pub fn flag(&mut self, node: &Node) -> Option<bool> {
        let args = self.args_between(node, 0, 1, "nothing, or one of on off true false yes no")?;
        match args.first() {
            None => Some(true),
            Some(t) => self.tok_bool(t, &node.keyword.text),
        }
    }

    /// A mandatory `on|off` style value.
    pub fn bool_value(&mut self, node: &Node) -> Option<bool> {
        let t = self.one(node, "one of on off true false yes no")?;
        self.tok_bool(t, &node.keyword.text)
    }

    pub fn tok_bool(&mut self, t: &Token, kw: &str) -> Option<bool> {
        match t.text.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => {
                self.bad(t, kw, "one of on off true false yes no");
                None
            }
        }
    }

    pub fn tok_u32(&mut self, t: &Token, kw: &str, min: u32, max: u32) -> Option<u32> {
        match t.text.parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) && t.text.bytes().all(|b| b.is_ascii_digit()) => {
                Some(v)
            }
            _ => {
                self.bad(t, kw, format!("an integer {min}..{max}"));
                None
            }
        }
    }

    pub fn u32_in(&mut self, node: &Node, min: u32, max: u32) -> Option<u32> {
        let t = self.one(node, "an integer")?;
        self.tok_u32(t, &node.keyword.text, min, max)
    }

    /// An integer that must fit `T`, within `min..=max`.
    pub fn int_in<T: TryFrom<u32>>(&mut self, node: &Node, min: u32, max: u32) -> Option<T> {
        self.u32_in(node, min, max)
            .and_then(|v| T::try_from(v).ok())
    }

    pub fn tok_i32(&mut self, t: &Token, kw: &str, min: i32, max: i32) -> Option<i32> {
        match t.text.parse::<i32>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            _ => {
                self.bad(t, kw, format!("an integer {min}..{max}"));
                None
            }
        }
    }

    pub fn tok_millis(&mut self, t: &Token, kw: &str, min: Millis, max: Millis) -> Option<Millis> {
        match Millis::parse_secs(&t.text) {
            Some(m) if (min..=max).contains(&m) => Some(m),
            _ => {
                self.bad(
                    t,
                    kw,
                    format!("seconds {min}..{max} with at most 3 decimals"),
                );
                None
            }
        }
    }

    /// Decimal seconds within `min..=max`.
    pub fn millis(&mut self, node: &Node, min: Millis, max: Millis) -> Option<Millis> {
        let t = self.one(node, "a duration in seconds")?;
        self.tok_millis(t, &node.keyword.text, min, max)
    }

    pub fn tok_ip(&mut self, t: &Token, kw: &str) -> Option<IpAddr> {
        match t.text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.bad(
                    t,
                    kw,
                    "an IPv4 or IPv6 address literal (vigil resolves no names)",
                );
                None
            }
        }
    }

    /// An address, or a host name where keepalived takes one: resolved
    /// (see `crate::resolve`) to its first address, IPv4 before IPv6.
    pub fn tok_host(&mut self, t: &Token, kw: &str) -> Option<IpAddr> {
        if let Ok(a) = t.text.parse::<IpAddr>() {
            return Some(a);
        }
        if !crate::resolve::is_host_name(&t.text) {
            self.bad(t, kw, "an IPv4 or IPv6 address, or a host name");
            return None;
        }
        match self.names.resolve(&t.text) {
            Ok(addrs) => addrs.first().copied(),
            Err(reason) => {
                let kind = ErrorKind::NameNotResolved {
                    keyword: kw.to_owned(),
                    name: t.text.to_string(),
                    reason,
                };
                self.d.error(&t.loc, kind);
                None
            }
        }
    }

    /// [`Reader::tok_host`] of a statement's one value.
    pub fn host(&mut self, node: &Node) -> Option<IpAddr> {
        let t = self.one(node, "an IP address or a host name")?;
        self.tok_host(t, &node.keyword.text)
    }

    pub fn ip(&mut self, node: &Node) -> Option<IpAddr> {
        let t = self.one(node, "an IP address")?;
        self.tok_ip(t, &node.keyword.text)
    }

    /// `ADDR[/PREFIX]`; without a prefix, a host prefix.
    pub fn tok_prefixed(&mut self, t: &Token, kw: &str) -> Option<(IpAddr, u8)> {
        let (addr, len) = match t.text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (t.text.as_str(), None),
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            self.bad(t, kw, "an address ADDR or ADDR/PREFIX");
            return None;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match len {
            None => Some((addr, max)),
            Some(l) => match l.parse::<u8>() {
                Ok(p) if p <= max && l.bytes().all(|b| b.is_ascii_digit()) => Some((addr, p)),
                _ => {
                    self.bad(t, kw, format!("a prefix length 0..{max} after '/'"));
                    None
                }
            },
        }
    }

    pub fn tok_port(&mut self, t: &Token, kw: &str) -> Option<u16> {
        self.tok_u32(t, kw, 0, 65535).map(|p| p as u16)
    }

    pub fn tok_ifname(&mut self, t: &Token, kw: &str) -> Option<IfName> {
        match IfName::new(&t.text) {
            Ok(n) => Some(n),
            Err(e) => {
                self.bad(t, kw, format!("an interface name of {e}"));
                None
            }
        }
    }

    pub fn ifname(&mut self, node: &Node) -> Option<IfName> {
        let t = self.one(node, "an interface name")?;
        self.tok_ifname(t, &node.keyword.text)
    }

    /// `use_vmac [NAME]`: `Some(None)` without a name (keepalived's
    /// default), `None` after an error.
    pub fn vmac_name(&mut self, node: &Node) -> Option<Option<IfName>> {
        let args = self.args_between(node, 0, 1, "nothing, or the vmac interface's name")?;
        match args.first() {
            None => Some(None),
            Some(t) => self.tok_ifname(t, &node.keyword.text).map(Some),
        }
    }

    pub fn tok_text(&mut self, t: &Token, kw: &str, max: usize) -> Option<String> {
        match check_text(&t.text, max) {
            Ok(()) => Some(t.text.to_string()),
            Err(e) => {
                let what = match e {
                    BoundError::TooLong { max } => format!("text of at most {max} bytes"),
                    other => format!("text: {other}"),
                };
                self.bad(t, kw, what);
                None
            }
        }
    }

    /// One word of free text, at most `max` bytes.
    pub fn text(&mut self, node: &Node, max: usize) -> Option<String> {
        let t = self.one(node, "one word (quote it if it has spaces)")?;
        self.tok_text(t, &node.keyword.text, max)
    }

    /// A command to run: an absolute path and its arguments, either as
    /// separate words or as one quoted string (split at whitespace, as
    /// keepalived does).
    pub fn script(&mut self, node: &Node) -> Option<Script> {
        self.command(node, false)
    }

    /// A command whose program may also be a bare name (`killall`), looked
    /// up in the standard PATH when it runs, as keepalived does for
    /// `vrrp_script`; a warning says so.
    pub fn searched_script(&mut self, node: &Node) -> Option<Script> {
        let s = self.command(node, true)?;
        if !s.argv[0].starts_with('/') {
            let w = WarningKind::PathSearch {
                program: s.argv[0].clone(),
            };
            self.d.warn(&node.args[0].loc, w);
        }
        Some(s)
    }

    fn command(&mut self, node: &Node, bare_ok: bool) -> Option<Script> {
        let args = self.args_between(node, 1, 64, "a command: an absolute path and arguments")?;
        let kw = node.keyword.text.as_str();
        let argv: Vec<String> = if args.len() == 1 {
            args[0]
                .text
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect()
        } else {
            args.iter().map(|t| t.text.to_string()).collect()
        };
        let total: usize = argv.iter().map(|a| a.len() + 1).sum();
        let bare = |p: &str| {
            bare_ok
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        };
        if argv.is_empty()
            || argv.iter().any(String::is_empty)
            || !(argv[0].starts_with('/') || bare(&argv[0]))
        {
            let expected = if bare_ok {
                "an absolute path to a program (or a program name found in PATH), then its arguments; no shell syntax"
            } else {
                "an absolute path to a program, then its arguments"
            };
            self.bad(&args[0], kw, expected);
            return None;
        }
        if total > TEXT_MAX || argv.iter().any(|a| a.chars().any(char::is_control)) {
            self.bad(
                &args[0],
                kw,
                format!("a command line of at most {TEXT_MAX} bytes without control characters"),
            );
            return None;
        }
        Some(Script { argv })
    }

    /// `name value` options after the fixed arguments (`id 7 ttl 255`).
    pub fn pairs<'a>(
        &mut self,
        args: &'a [Token],
        kw: &str,
    ) -> Option<Vec<(&'a Token, &'a Token)>> {
        let mut out = Vec::with_capacity(args.len() / 2);
        for pair in args.chunks(2) {
            match pair {
                [name, value] => out.push((name, value)),
                [name, ..] => {
                    self.bad(name, kw, format!("a value after '{}'", name.text));
                    return None;
                }
                [] => {}
            }
        }
        Some(out)
    }

    /// Check a collection has room, reporting at `t` when full.
    pub fn room<T>(&mut self, v: &[T], max: usize, t: &Token, what: &'static str) -> bool {
        if v.len() >= max {
            self.d.error(&t.loc, ErrorKind::TooMany { what, max });
            false
        } else {
            true
        }
    }

    /// Report a required keyword missing from a block opened by `node`.
    pub fn missing(&mut self, node: &Node, block: String, keyword: &'static str) {
        self.d.error(
            &node.keyword.loc,
            ErrorKind::MissingRequired { block, keyword },
        );
    }
}
