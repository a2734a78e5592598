//! From a tree of statements to the typed [`Config`].
//!
//! Owns: keyword tables (canonical names, accepted aliases, which keywords
//! may repeat), typed readers of arguments, and the walk over each block.
//! Every problem becomes a located diagnostic and reading goes on, so one
//! run reports all of them. Must not: read files (that is [`super::syntax`])
//! or check relations between distant settings (that is [`super::validate`]).

mod appliance;
mod bgp;
mod global;
mod group;
mod inherit;
mod iproute;
mod keepalived;
mod lvs;
mod strict;
mod track;
mod value;
mod vrrp;

/// Every block's keyword table, for the console's candidate (path
/// walking, completion and `?`): the same tables the reader walks, so a
/// keyword added here is known there too.
pub(crate) mod tables {
    pub(crate) use super::appliance::{APPLIANCE, CONSOLE, INTERFACE, IPVS, WATCHDOG};
    pub(crate) use super::bgp::{BGP, NEIGHBOR};
    pub(crate) use super::global::{GLOBAL, METRICS};
    pub(crate) use super::lvs::{HTTP_CHECK, MISC_CHECK, REAL, SERVICE, TCP_CHECK, URL, WS_CHECK};
    pub(crate) use super::track::{SCRIPT, TRACK_FILE, TRACK_PROCESS};
    pub(crate) use super::vrrp::{AUTH, INSTANCE, SYNC_GROUP};
    pub(crate) use super::TOP;
}

use super::bounds::IfName;
use super::error::{Diagnostics, ErrorKind, Loc, WarningKind};
use super::model::{Config, LvsSyncDaemon};
use super::syntax::{Node, Token};
use super::validate::Places;
use crate::resolve::{ResolveError, Resolver};
use std::collections::HashMap;

/// How a spelling other than the canonical keyword is treated.
#[derive(Clone, Copy)]
pub(crate) enum AliasKind {
    /// keepalived knows it under an older name.
    Deprecated,
    /// keepalived does not know it at all (the seed's spellings); vigil
    /// reads it as what it evidently means, and says so.
    Foreign(Option<&'static str>),
}

pub(crate) struct Alias {
    pub alias: &'static str,
    pub canonical: &'static str,
    pub kind: AliasKind,
}

/// What a block may contain.
pub(crate) struct Section {
    /// Used in messages: "unknown keyword 'x' in vrrp_instance".
    pub name: &'static str,
    pub keywords: &'static [&'static str],
    /// More keywords, shared with other sections (checker options, notify
    /// scripts).
    pub shared: &'static [&'static str],
    /// Keywords that may appear more than once.
    pub repeatable: &'static [&'static str],
    /// keepalived keywords of this block that vigil does not read (see
    /// [`super::keepalived`]): refused as such, not as unknown words.
    pub keepalived: &'static [&'static str],
    /// Keywords keepalived accepts that change nothing in vigil, each with
    /// what happens: skipped with a warning.
    pub obsolete: &'static [Obsolete],
    /// Keywords of which keepalived keeps the first and ignores a repeat
    /// (notify scripts): a repeat is a warning, not an error.
    pub first_wins: &'static [&'static str],
    pub aliases: &'static [Alias],
}

/// What a walk has met so far in one block: where each keyword first
/// appeared, and its words (`None`: it had a block), to tell a repeat
/// that changes nothing from one that does.
///
/// A list searched in order, not a map: a block holds a handful of
/// keywords, and a config of 100,000 real servers walks 200,000 blocks
/// (two maps each, hashed, were a tenth of its read). The words are the
/// first statement's own tokens where the walk holds its block (nothing
/// copied for a statement that is never repeated), a copy only at the
/// top level, whose statements are dropped as soon as they are read.
#[derive(Default)]
pub(crate) struct Seen<'a> {
    /// The first keywords met, held in place (no allocation for a real
    /// server's or a checker's block).
    first: heapless::Vec<First<'a>, SEEN_INLINE>,
    /// The keywords met after those.
    more: Vec<First<'a>>,
}

/// How many keywords of a block [`Seen`] holds in place.
const SEEN_INLINE: usize = 8;

/// A keyword's first appearance in a block.
struct First<'a> {
    keyword: &'static str,
    at: Loc,
    words: Option<Words<'a>>,
}

/// The words of a keyword's first statement.
enum Words<'a> {
    Of(&'a [Token]),
    Kept(Vec<String>),
}

impl Words<'_> {
    fn same(&self, now: &[Token]) -> bool {
        match self {
            Words::Of(was) => was
                .iter()
                .map(|t| &*t.text)
                .eq(now.iter().map(|t| &*t.text)),
            Words::Kept(was) => was
                .iter()
                .map(String::as_str)
                .eq(now.iter().map(|t| &*t.text)),
        }
    }

    fn joined(&self) -> String {
        match self {
            Words::Of(was) => joined(was),
            Words::Kept(was) => was.join(" "),
        }
    }
}

/// A statement's words as a message quotes them.
fn joined(words: &[Token]) -> String {
    words.iter().map(|t| &*t.text).collect::<Vec<_>>().join(" ")
}

impl<'a> Seen<'a> {
    fn get(&self, keyword: &str) -> Option<&First<'a>> {
        (self.first.iter().chain(&self.more)).find(|f| f.keyword == keyword)
    }

    fn push(&mut self, first: First<'a>) {
        if let Err(first) = self.first.push(first) {
            self.more.push(first);
        }
    }

    /// Where each keyword first appeared.
    fn places(self) -> HashMap<&'static str, Loc> {
        (self.first.into_iter().chain(self.more))
            .map(|f| (f.keyword, f.at))
            .collect()
    }
}

/// A keyword read and dropped, and the warning's account of why.
pub(crate) struct Obsolete {
    pub keyword: &'static str,
    pub what: &'static str,
}

/// The reader: diagnostics plus the shared walking logic.
pub(crate) struct Reader<'d> {
    pub d: &'d mut Diagnostics,
    /// Host names, each resolved once per read.
    pub names: &'d mut Names,
    /// `lvs_sync_daemon_interface` found inside instances, settled against
    /// `global_defs` once the whole file is read.
    pub legacy_syncd: &'d mut Vec<LegacySyncd>,
}

/// The resolver of a read and what it has answered so far.
pub(crate) struct Names {
    resolver: Resolver,
    answers: HashMap<String, Result<Vec<std::net::IpAddr>, ResolveError>>,
}

impl Names {
    pub fn new(resolver: &Resolver) -> Self {
        Names {
            resolver: resolver.clone(),
            answers: HashMap::new(),
        }
    }

    pub fn resolve(&mut self, name: &str) -> Result<Vec<std::net::IpAddr>, ResolveError> {
        let key = name.to_ascii_lowercase();
        (self.answers.entry(key))
            .or_insert_with(|| self.resolver.resolve(name))
            .clone()
    }
}

/// keepalived's old `lvs_sync_daemon_interface IF` inside an instance.
pub(crate) struct LegacySyncd {
    pub loc: Loc,
    pub interface: IfName,
    pub instance: String,
}

impl Reader<'_> {
    /// Walk `nodes` as the contents of `section`: resolve aliases (with a
    /// warning), refuse unknown keywords (with a suggestion), refuse a
    /// non-repeatable keyword given twice, and hand each statement to `f`
    /// under its canonical name.
    ///
    /// Returns where each keyword (first) appeared, for validators that
    /// point at a setting rather than at its block.
    pub fn walk<'a>(
        &mut self,
        nodes: &'a [Node],
        section: &Section,
        f: impl FnMut(&mut Self, &'static str, &'a Node),
    ) -> HashMap<&'static str, Loc> {
        self.walk_seen(nodes, section, f).places()
    }

    /// [`Reader::walk`] for a caller that needs no places (a real server,
    /// a checker: 100,000 of each at the bound).
    pub fn walk_each<'a>(
        &mut self,
        nodes: &'a [Node],
        section: &Section,
        f: impl FnMut(&mut Self, &'static str, &'a Node),
    ) {
        self.walk_seen(nodes, section, f);
    }

    fn walk_seen<'a>(
        &mut self,
        nodes: &'a [Node],
        section: &Section,
        mut f: impl FnMut(&mut Self, &'static str, &'a Node),
    ) -> Seen<'a> {
        let mut seen = Seen::default();
        for node in nodes {
            if let Some(kw) = self.admit(&mut seen, node, section, || Words::Of(&node.args)) {
                f(self, kw, node);
            }
        }
        seen
    }

    /// One statement of a walk: its canonical keyword, or `None` (with
    /// the diagnostic) if it is unknown or a repeat that is not read.
    /// `seen` is where each keyword of the block first appeared.
    ///
    /// A keyword given twice that may not repeat: keepalived 2.2.7 takes
    /// any repeat silently, the last one counting for a statement (measured:
    /// `priority 100` then `priority 50` runs at 50) and a list block's
    /// items adding up (`virtual_ipaddress`, `unicast_peer`,
    /// `track_script`). vigil reads a repeat that says the same words as
    /// the first (a flag twice, `nopreempt`; a value twice) with a
    /// warning, as whichever counts the setting is the same. A repeat
    /// with other words stays an error: two values in one block are a
    /// template's default beside its override or a paste gone wrong, and
    /// keepalived running the last one is an accident of its reader, not
    /// something its manual promises; vigil says which one keepalived
    /// ran, so the box keeps its behaviour with a one-line edit instead of
    /// running silently on a value nobody may have meant. A repeated block
    /// stays an error too (keepalived merges them; vigil wants one).
    ///
    /// `words` gives the statement's words to keep for a later repeat.
    fn admit<'a>(
        &mut self,
        seen: &mut Seen<'a>,
        node: &Node,
        section: &Section,
        words: impl FnOnce() -> Words<'a>,
    ) -> Option<&'static str> {
        let kw = self.resolve(&node.keyword, section)?;
        let now = node.block.is_none().then_some(node.args.as_slice());
        match seen.get(kw) {
            Some(first) if section.first_wins.contains(&kw) => {
                self.d.warn(
                    &node.keyword.loc,
                    WarningKind::RepeatIgnored {
                        keyword: kw.to_owned(),
                        first: first.at,
                    },
                );
                None
            }
            Some(first) if !section.repeatable.contains(&kw) => {
                let at = first.at;
                match (&first.words, now) {
                    (Some(was), Some(now)) if was.same(now) => {
                        let w = WarningKind::RepeatSame {
                            keyword: kw.to_owned(),
                            first: at,
                        };
                        self.d.warn(&node.keyword.loc, w);
                    }
                    (Some(was), Some(now)) => {
                        let e = ErrorKind::RepeatOther {
                            keyword: kw.to_owned(),
                            first: at,
                            was: was.joined(),
                            now: joined(now),
                        };
                        self.d.error(&node.keyword.loc, e);
                    }
                    _ => self.d.error(
                        &node.keyword.loc,
                        ErrorKind::Duplicate {
                            what: format!("'{kw}'"),
                            first: at,
                        },
                    ),
                }
                None
            }
            Some(_) => Some(kw),
            None => {
                // The words are compared only when a keyword that may not
                // repeat comes again.
                let compared = !section.repeatable.contains(&kw);
                seen.push(First {
                    keyword: kw,
                    at: node.keyword.loc,
                    words: (compared && now.is_some()).then(words),
                });
                Some(kw)
            }
        }
    }

    fn resolve(&mut self, tok: &Token, section: &Section) -> Option<&'static str> {
        let word = tok.text.as_str();
        let mut known = section.keywords.iter().chain(section.shared);
        if let Some(kw) = known.find(|k| **k == word) {
            return Some(kw);
        }
        if let Some(a) = section.aliases.iter().find(|a| a.alias == word) {
            let w = match a.kind {
                AliasKind::Deprecated => WarningKind::DeprecatedAlias {
                    alias: word.to_owned(),
                    canonical: a.canonical,
                },
                AliasKind::Foreign(note) => WarningKind::ForeignAlias {
                    alias: word.to_owned(),
                    canonical: a.canonical,
                    note,
                },
            };
            self.d.warn(&tok.loc, w);
            return Some(a.canonical);
        }
        if let Some(o) = section.obsolete.iter().find(|o| o.keyword == word) {
            let w = WarningKind::Obsolete {
                keyword: word.to_owned(),
                what: o.what.to_owned(),
            };
            self.d.warn(&tok.loc, w);
            return None;
        }
        if section.keepalived.contains(&word) {
            self.d.not_in_vigil(&tok.loc, word, section.name);
            return None;
        }
        let suggestion = suggest(word, section.keywords.iter().chain(section.shared));
        self.d.unknown(&tok.loc, word, section.name, suggestion);
        None
    }
}

/// The known keyword that is `word` with or without keepalived's `vrrp_`
/// prefix (`garp_master_delay` in global_defs is `vrrp_garp_master_delay`
/// there), else the closest within two edits, if any.
pub(crate) fn suggest<'a>(
    word: &str,
    known: impl Iterator<Item = &'a &'static str>,
) -> Option<&'static str> {
    let known: Vec<&'static str> = known.copied().collect();
    let other_form = |k: &&'static str| match word.strip_prefix("vrrp_") {
        Some(bare) => *k == bare,
        None => k.strip_prefix("vrrp_") == Some(word),
    };
    if let Some(k) = known.iter().copied().find(other_form) {
        return Some(k);
    }
    known
        .into_iter()
        .map(|k| (edit_distance(word, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(crate) const TOP: Section = Section {
    name: "the top level",
    keywords: &[
        "global_defs",
        "appliance",
        "bgp",
        "vrrp_script",
        "track_file",
        "vrrp_track_process",
        "vrrp_sync_group",
        "vrrp_instance",
        "virtual_server_group",
        "virtual_server",
        "static_routes",
        "static_rules",
    ],
    shared: &[],
    repeatable: &[
        "vrrp_script",
        "track_file",
        "vrrp_track_process",
        "vrrp_sync_group",
        "vrrp_instance",
        "virtual_server_group",
        "virtual_server",
    ],
    keepalived: keepalived::TOP,
    obsolete: &[],
    first_wins: &[],
    aliases: &[Alias {
        alias: "vrrp_track_file",
        canonical: "track_file",
        kind: AliasKind::Deprecated,
    }],
};

/// Read a whole configuration. Semantic validation is separate
/// ([`super::validate`]).
pub(crate) fn config(nodes: &[Node], d: &mut Diagnostics, resolver: &Resolver) -> (Config, Places) {
    let mut top = TopLevel::new(resolver);
    for node in nodes {
        top.statement(node, d);
    }
    top.finish(d)
}

/// A configuration read one top-level statement at a time, as the syntax
/// layer hands them on: each block becomes model as soon as it is read,
/// so its tree is dropped before the next is built. `global_defs` blocks
/// are kept (small) and read at the end, merged as keepalived merges them.
pub(crate) struct TopLevel {
    c: Config,
    at: Places,
    names: Names,
    legacy_syncd: Vec<LegacySyncd>,
    defined: Defined,
    seen: Seen<'static>,
    globals: Vec<Node>,
}

impl TopLevel {
    pub fn new(resolver: &Resolver) -> Self {
        TopLevel {
            c: Config::default(),
            at: Places::default(),
            names: Names::new(resolver),
            legacy_syncd: Vec::new(),
            defined: Defined::default(),
            seen: Seen::default(),
            globals: Vec::new(),
        }
    }

    /// One statement of the top level, in file order.
    pub fn statement(&mut self, node: &Node, d: &mut Diagnostics) {
        if node.keyword.text == "global_defs" {
            self.globals.push(node.clone());
            return;
        }
        self.read(node, d);
    }

    /// The model, once every statement is read.
    pub fn finish(mut self, d: &mut Diagnostics) -> (Config, Places) {
        let globals = std::mem::take(&mut self.globals);
        for node in global::merge_blocks(&globals, d).iter() {
            self.read(node, d);
        }
        drop(globals);
        let TopLevel {
            mut c,
            mut at,
            mut names,
            mut legacy_syncd,
            ..
        } = self;
        let mut r = Reader {
            d,
            names: &mut names,
            legacy_syncd: &mut Vec::new(),
        };
        r.drop_unknown_track_scripts(&mut c, &mut at);
        r.versions(&mut c, &at);
        r.strict_modes(&mut c, &at);
        Self::name_vmacs(&mut c);
        for old in std::mem::take(&mut legacy_syncd) {
            r.legacy_sync_daemon(old, &mut c);
        }
        // A group's services are known once every group is read: only one
        // with addresses has a protocol that matters.
        for (v, a) in c.virtual_servers.iter().zip(&at.services) {
            let by_address = |g: &str| {
                c.virtual_server_group(g).is_some_and(|g| {
                    (g.members.iter()).any(|m| matches!(m, super::model::GroupMember::Addr { .. }))
                })
            };
            if let Some(g) = v.group.as_deref().filter(|g| by_address(g)) {
                if !a.kw.contains_key("protocol") {
                    r.no_protocol(&a.start, &format!("group {g}"));
                }
            }
        }
        (c, at)
    }

    /// `vmac_prefix` names the vmacs given no name, as keepalived names them
    /// once the whole file is read (a `global_defs` after the instance counts).
    fn name_vmacs(c: &mut Config) {
        let Some(prefix) = &c.global.vmac_prefix else {
            return;
        };
        for i in &mut c.vrrp_instances {
            let vrid = i.virtual_router_id;
            if let Some(v) = i.use_vmac.as_mut().filter(|v| v.name.is_none()) {
                v.name = super::model::vmac_default_name(Some(prefix), vrid);
            }
        }
    }

    /// A statement into the model, now.
    fn read(&mut self, node: &Node, d: &mut Diagnostics) {
        let mut r = Reader {
            d,
            names: &mut self.names,
            legacy_syncd: &mut self.legacy_syncd,
        };
        let words = || Words::Kept(node.args.iter().map(|t| t.text.to_string()).collect());
        if let Some(kw) = r.admit(&mut self.seen, node, &TOP, words) {
            let model = (&mut self.c, &mut self.at, &mut self.defined);
            top_statement(&mut r, kw, node, model);
        }
    }
}

/// One admitted top-level statement into the model.
fn top_statement(
    r: &mut Reader<'_>,
    kw: &'static str,
    node: &Node,
    (c, at, defined): (&mut Config, &mut Places, &mut Defined),
) {
    match kw {
        "global_defs" => {
            if let Some((g, places)) = r.global_defs(node) {
                c.global = g;
                at.global = Some(places);
            }
        }
        "appliance" => c.appliance = r.appliance(node),
        "bgp" => {
            c.bgp = r.bgp(node);
            at.bgp = Some(node.keyword.loc);
        }
        "vrrp_script" => {
            let first = defined.first(r.d, kw, node);
            if let Some((s, places)) = r.vrrp_script(node).filter(|_| first) {
                c.vrrp_scripts.push(s);
                at.scripts.push(places);
            }
        }
        "track_file" => {
            if let Some((f, places)) = r.track_file(node) {
                c.track_files.push(f);
                at.files.push(places);
            }
        }
        "vrrp_track_process" => {
            if let Some((p, places)) = r.track_process(node) {
                c.track_processes.push(p);
                at.processes.push(places);
            }
        }
        "vrrp_sync_group" => {
            let first = defined.first(r.d, kw, node);
            if let Some((g, places)) = r.sync_group(node).filter(|_| first) {
                c.vrrp_sync_groups.push(g);
                at.sync_groups.push(places);
            }
        }
        "vrrp_instance" => {
            let first = defined.first(r.d, kw, node);
            if let Some((i, places)) = r.vrrp_instance(node).filter(|_| first) {
                c.vrrp_instances.push(i);
                at.instances.push(places);
            }
        }
        "virtual_server_group" => {
            let first = defined.first(r.d, kw, node);
            if let Some((g, places)) = r.virtual_server_group(node).filter(|_| first) {
                c.virtual_server_groups.push(g);
                at.groups.push(places);
            }
        }
        "virtual_server" => {
            if let Some((v, places)) = r.virtual_server(node) {
                c.virtual_servers.push(v);
                at.services.push(places);
            }
        }
        "static_routes" => c.static_routes = r.ip_routes(node).unwrap_or_default().0,
        "static_rules" => c.static_rules = r.ip_rules(node).unwrap_or_default().0,
        _ => unreachable!("TOP lists only the keywords matched above"),
    }
}

/// The names of the top-level blocks others refer to (`vrrp_script`,
/// `vrrp_sync_group`, `vrrp_instance`, `virtual_server_group`), each with
/// where it was first given. keepalived skips a second `vrrp_instance` or
/// `vrrp_sync_group` of one name with an error and silently keeps both
/// scripts or groups; which block a reference means is unclear either way,
/// so vigil refuses the second block, naming the first.
#[derive(Default)]
struct Defined(HashMap<(&'static str, String), Loc>);

impl Defined {
    /// Whether `node` (a `kind NAME { ... }` block) is the first of its
    /// name; an error at it if not. A block without a name is the
    /// parser's to report.
    fn first(&mut self, d: &mut Diagnostics, kind: &'static str, node: &Node) -> bool {
        use std::collections::hash_map::Entry;
        let Some(name) = node.args.first() else {
            return true;
        };
        match self.0.entry((kind, name.text.to_string())) {
            Entry::Occupied(e) => {
                let what = format!("{kind} {}", name.text);
                let first = *e.get();
                d.error(node.loc(), ErrorKind::Duplicate { what, first });
                false
            }
            Entry::Vacant(v) => {
                v.insert(*node.loc());
                true
            }
        }
    }
}

impl Reader<'_> {
    /// keepalived reads the first `lvs_sync_daemon_interface` of an
    /// instance as the global `lvs_sync_daemon IF INSTANCE` and ignores it
    /// when that is already set; vigil does the same, each with a warning.
    fn legacy_sync_daemon(&mut self, old: LegacySyncd, c: &mut Config) {
        let what = match &c.global.lvs_sync_daemon {
            Some(d) => format!(
                "keepalived's old form of lvs_sync_daemon, ignored as keepalived does: \
                 lvs_sync_daemon is already {} {}",
                d.interface, d.vrrp_instance
            ),
            None => {
                let what = format!(
                    "keepalived's old form, read as keepalived does: \
                     global_defs {{ lvs_sync_daemon {} {} }}",
                    old.interface, old.instance
                );
                c.global.lvs_sync_daemon = Some(LvsSyncDaemon {
                    interface: old.interface,
                    vrrp_instance: old.instance,
                    id: None,
                    maxlen: None,
                    port: None,
                    ttl: None,
                    group: None,
                });
                what
            }
        };
        let w = WarningKind::Obsolete {
            keyword: "lvs_sync_daemon_interface".into(),
            what,
        };
        self.d.warn(&old.loc, w);
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
