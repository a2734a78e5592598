//! A command's words as a path through the config: the blocks it names and
//! what it ends on.
//!
//! Owns: the path grammar. Every block keyword is followed by the words
//! that name it (see [`Naming`]); a list keyword by one entry; any other
//! keyword by its value words. Keywords are resolved against the parser's
//! tables, aliases to their canonical name. Must not: look at the
//! candidate (the caller finds or creates what the path names).
//!
//! # The grammar
//!
//! A path is the words of keepalived.conf statements from the top level
//! down: `BLOCK NAME... BLOCK NAME... KEYWORD VALUE...`.
//!
//! | block | named by | e.g. |
//! |---|---|---|
//! | `global_defs`, `appliance` | nothing | `global_defs router_id lb1` |
//! | `vrrp_instance`, `vrrp_script`, `vrrp_sync_group` | one name | `vrrp_instance VI_1 priority 150` |
//! | `virtual_server` | `IP PORT`, `IP` (port 0), `fwmark N` (`group NAME` is refused by the parser) | `virtual_server 192.168.1.10 80 lb_algo wrr` |
//! | `real_server` | `IP PORT` or `IP` (no port; port 0 is no port) | `... real_server 10.0.1.2 80 weight 2` |
//! | `authentication`, `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `WS_CHECK`, `MISC_CHECK`, appliance `ipvs`, `watchdog`, `console` | nothing: the first of that keyword | `... real_server 10.0.1.2 80 TCP_CHECK connect_timeout 3` |
//! | appliance `interface` | its name | `appliance interface eth0 address 10.0.0.1/24` |
//! | `url` (in HTTP_GET/SSL_GET) | its `path` (a new one is created with that `path`) | `... HTTP_GET url /health status_code 200` |
//!
//! List blocks (`virtual_ipaddress`, `virtual_ipaddress_excluded`,
//! `unicast_peer`, `track_interface`, `track_script`, a sync group's
//! `group`, `notification_email`) take one entry: `set` adds it, or
//! replaces the entry of the same first word (an address whatever its
//! prefix); `delete` names the entry by its first word, or the whole list
//! with no entry. Every other keyword takes its value words: `set`
//! replaces a single-valued keyword's statement, adds a line of a
//! repeatable one (appliance `address`, `route`) unless it is there;
//! `delete KEYWORD [WORDS]` removes every such statement whose arguments
//! begin with WORDS. A path that ends on a block deletes the block (and
//! `set` makes it, empty). Keywords may be given under keepalived's older
//! names (`lb_algo`); the candidate holds the canonical one. Addresses in
//! names compare as addresses (`2001:DB8::1` is `2001:db8::1`).

use super::error::Cause;
use super::schema::{self, Naming, Shape, Word};
use crate::config::error::ErrorKind;
use crate::config::parse::{self, Section};
use std::net::IpAddr;

/// One block on the way: its keyword and what names it.
#[derive(Clone)]
pub struct Seg {
    pub kw: &'static str,
    pub key: Key,
}

/// What tells a block from its siblings of the same keyword.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// The first block of that keyword.
    Single,
    /// Its arguments (`VI_1`; `192.168.1.10 80`; `fwmark 1`).
    Args(Vec<String>),
    /// A `url` block: the `path` statement inside it.
    Path(String),
}

/// Where the words end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// On a block (or the top level): a keyword of it may follow.
    AtBlock,
    /// Inside the name of block keyword `kw`: `got` name words so far.
    Naming {
        kw: &'static str,
        naming: Naming,
        got: Vec<String>,
    },
    /// A plain statement and its value words.
    Leaf { kw: &'static str, args: Vec<String> },
    /// A list block and one entry (empty: the list itself).
    List {
        kw: &'static str,
        entry: Vec<String>,
    },
}

/// A resolved path.
#[derive(Clone)]
pub struct Resolved {
    pub segs: Vec<Seg>,
    /// The table of the block the end is in.
    pub section: &'static Section,
    pub end: End,
}

/// Resolve `words` from the top level, for an edit: the words are all
/// there is (an address at the end names a service or real server
/// without a port).
pub fn resolve(words: &[String]) -> Result<Resolved, Cause> {
    walk(words, false)
}

/// Resolve `words` as far as they go, for Tab and `?`: more may follow,
/// so an address at the end may still get its port.
pub fn resolve_open(words: &[String]) -> Result<Resolved, Cause> {
    walk(words, true)
}

fn walk(words: &[String], open_end: bool) -> Result<Resolved, Cause> {
    let mut section = schema::top();
    let mut segs = Vec::new();
    let mut rest = words;
    loop {
        let Some((word, after)) = rest.split_first() else {
            return Ok(Resolved {
                segs,
                section,
                end: End::AtBlock,
            });
        };
        let kw = keyword(section, word)?;
        let tail = || after.to_vec();
        let (sub, naming) = match schema::shape(section, kw) {
            Shape::Leaf => {
                let end = End::Leaf { kw, args: tail() };
                return Ok(Resolved { segs, section, end });
            }
            Shape::List => {
                let end = End::List { kw, entry: tail() };
                return Ok(Resolved { segs, section, end });
            }
            Shape::Block(sub, naming) => (sub, naming),
        };
        let address_only = matches!(naming, Naming::Service | Naming::Real) && after.len() == 1;
        let name = take_name(kw, naming, sub, after)?.filter(|_| !address_only || !open_end);
        let Some((key, used)) = name else {
            let end = End::Naming {
                kw,
                naming,
                got: tail(),
            };
            return Ok(Resolved { segs, section, end });
        };
        segs.push(Seg { kw, key });
        section = sub;
        rest = &after[used..];
    }
}

/// `word` as a keyword of `section`, or why not.
fn keyword(section: &'static Section, word: &str) -> Result<&'static str, Cause> {
    match schema::resolve(section, word) {
        Word::Known(kw) => Ok(kw),
        Word::Keepalived => Err(Cause::NotInVigil {
            keyword: word.to_owned(),
            context: section.name,
        }),
        Word::Obsolete(what) => Err(Cause::Obsolete {
            keyword: word.to_owned(),
            what,
        }),
        Word::Unknown => Err(Cause::UnknownKeyword {
            keyword: word.to_owned(),
            context: section.name,
            suggestion: parse::suggest(word, section.keywords.iter().chain(section.shared)),
            expected: schema::keywords(section).collect(),
        }),
    }
}

/// The name of a block from the words after its keyword, and how many
/// words it took; `None` when the words end before the name does.
fn take_name(
    kw: &'static str,
    naming: Naming,
    sub: &'static Section,
    words: &[String],
) -> Result<Option<(Key, usize)>, Cause> {
    let first = match (naming, words.first()) {
        (Naming::Single, _) => return Ok(Some((Key::Single, 0))),
        (_, None) => return Ok(None),
        (_, Some(w)) => w,
    };
    if matches!(schema::resolve(sub, first), Word::Known(_)) {
        // `set vrrp_instance priority 100`: the name was left out.
        return Err(Cause::Incomplete {
            expected: format!("{} after {kw}", schema::naming_help(naming)),
        });
    }
    match naming {
        Naming::Single => Ok(Some((Key::Single, 0))),
        Naming::One => Ok(Some((Key::Args(vec![first.clone()]), 1))),
        Naming::ByPath => Ok(Some((Key::Path(first.clone()), 1))),
        Naming::Service if first == "fwmark" || first == "group" => match words.get(1) {
            Some(n) => Ok(Some((Key::Args(vec![first.clone(), n.clone()]), 2))),
            None => Ok(None),
        },
        Naming::Service | Naming::Real => {
            let addr = address(kw, first, naming)?;
            let port = words.get(1).filter(|p| is_port(p));
            let mut args = vec![addr];
            match (naming, port) {
                // A service without a port is port 0, as export writes it.
                (Naming::Service, None) => args.push("0".into()),
                // A real server's port 0 is no port, as export writes it.
                (Naming::Real, Some(p)) if p.trim_start_matches('0').is_empty() => {}
                (_, Some(p)) => args.push(p.trim_start_matches('0').to_owned()),
                (_, None) => {}
            }
            Ok(Some((Key::Args(args), 1 + usize::from(port.is_some()))))
        }
    }
}

fn is_port(w: &str) -> bool {
    !w.is_empty() && w.len() <= 5 && w.bytes().all(|b| b.is_ascii_digit())
}

/// An address naming a block, written as export writes it.
fn address(kw: &str, word: &str, naming: Naming) -> Result<String, Cause> {
    match word.parse::<IpAddr>() {
        Ok(a) => Ok(a.to_string()),
        Err(_) => Err(Cause::Config(vec![ErrorKind::InvalidValue {
            keyword: kw.to_owned(),
            value: word.to_owned(),
            expected: schema::naming_help(naming).to_owned(),
        }])),
    }
}

/// Whether two list entries' first words name the same entry: the same
/// address whatever the prefix (a list holds each address once), or the
/// same word.
pub fn same_entry(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Some((x, _)), Some((y, _))) => x == y,
        _ => a == b,
    }
}

/// Whether two words mean the same: equal text, or the same address
/// (`2001:DB8::1` and `2001:db8::1`), with the same prefix if any.
pub fn same_word(a: &str, b: &str) -> bool {
    a == b || (canonical(a).is_some() && canonical(a) == canonical(b))
}

fn canonical(w: &str) -> Option<(IpAddr, Option<&str>)> {
    let (addr, prefix) = match w.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (w, None),
    };
    Some((addr.parse().ok()?, prefix))
}

/// Whether `words` begin with `prefix`, word by word.
pub fn starts_with(words: &[String], prefix: &[String]) -> bool {
    words.len() >= prefix.len() && words.iter().zip(prefix).all(|(a, b)| same_word(a, b))
}
