//! From a tree of statements to the typed [`Config`].
//!
//! Owns: keyword tables (canonical names, accepted aliases, which keywords
//! may repeat), typed readers of arguments, and the walk over each block.
//! Every problem becomes a located diagnostic and reading goes on, so one
//! run reports all of them. Must not: read files (that is [`super::syntax`])
//! or check relations between distant settings (that is [`super::validate`]).

mod appliance;
mod global;
mod lvs;
mod value;
mod vrrp;

use super::error::{Diagnostics, ErrorKind, Loc, WarningKind};
use super::model::Config;
use super::syntax::{Node, Token};
use super::validate::Places;
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
    pub aliases: &'static [Alias],
}

/// The reader: diagnostics plus the shared walking logic.
pub(crate) struct Reader<'d> {
    pub d: &'d mut Diagnostics,
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
        mut f: impl FnMut(&mut Self, &'static str, &'a Node),
    ) -> HashMap<&'static str, Loc> {
        let mut seen: HashMap<&'static str, Loc> = HashMap::new();
        for node in nodes {
            let Some(kw) = self.resolve(&node.keyword, section) else {
                continue;
            };
            match seen.get(kw) {
                Some(first) if !section.repeatable.contains(&kw) => {
                    self.d.error(
                        &node.keyword.loc,
                        ErrorKind::Duplicate {
                            what: format!("'{kw}'"),
                            first: first.clone(),
                        },
                    );
                    continue;
                }
                Some(_) => {}
                None => {
                    seen.insert(kw, node.keyword.loc.clone());
                }
            }
            f(self, kw, node);
        }
        seen
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
        let suggestion = suggest(word, section.keywords.iter().chain(section.shared));
        self.d.unknown(&tok.loc, word, section.name, suggestion);
        None
    }
}

/// The closest known keyword within two edits, if any.
fn suggest<'a>(word: &str, known: impl Iterator<Item = &'a &'static str>) -> Option<&'static str> {
    known
        .map(|k| (edit_distance(word, k), *k))
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

const TOP: Section = Section {
    name: "the top level",
    keywords: &[
        "global_defs",
        "appliance",
        "vrrp_sync_group",
        "vrrp_instance",
        "virtual_server",
    ],
    shared: &[],
    repeatable: &["vrrp_sync_group", "vrrp_instance", "virtual_server"],
    aliases: &[],
};

/// Read a whole configuration. Semantic validation is separate
/// ([`super::validate`]).
pub(crate) fn config(nodes: &[Node], d: &mut Diagnostics) -> (Config, Places) {
    let mut c = Config::default();
    let mut at = Places::default();
    let mut r = Reader { d };
    r.walk(nodes, &TOP, |r, kw, node| match kw {
        "global_defs" => {
            if let Some((g, places)) = r.global_defs(node) {
                c.global = g;
                at.global = Some(places);
            }
        }
        "appliance" => c.appliance = r.appliance(node),
        "vrrp_sync_group" => {
            if let Some((g, places)) = r.sync_group(node) {
                c.vrrp_sync_groups.push(g);
                at.sync_groups.push(places);
            }
        }
        "vrrp_instance" => {
            if let Some((i, places)) = r.vrrp_instance(node) {
                c.vrrp_instances.push(i);
                at.instances.push(places);
            }
        }
        "virtual_server" => {
            if let Some((v, places)) = r.virtual_server(node) {
                c.virtual_servers.push(v);
                at.services.push(places);
            }
        }
        _ => unreachable!("TOP lists only the keywords matched above"),
    });
    (c, at)
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
