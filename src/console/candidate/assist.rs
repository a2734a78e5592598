//! What Tab and `?` offer after `set` or `delete` words.
//!
//! Owns: the next words at any point of a path: keywords of the block
//! (for `delete`, those the candidate has), names already in the config
//! (instances, services, real servers, scripts, interfaces), fixed
//! choices of a value, and a few words on each. Must not: edit the
//! candidate or print.

use super::path::{self, End, Resolved};
use super::schema::{self, Names, Naming};
use super::tree::Stmt;
use super::{find_block, Candidate, Verb};

/// One thing that may come next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The word, or a placeholder like `<1-255>` when `literal` is false.
    pub word: String,
    pub what: String,
    /// A word Tab may insert (a placeholder is for `?` only).
    pub literal: bool,
}

impl Choice {
    fn word(word: impl Into<String>, what: impl Into<String>) -> Choice {
        Choice {
            word: word.into(),
            what: what.into(),
            literal: true,
        }
    }

    fn placeholder(word: impl Into<String>, what: impl Into<String>) -> Choice {
        Choice {
            word: word.into(),
            what: what.into(),
            literal: false,
        }
    }
}

impl Candidate {
    /// Tab: the words that may follow `words` (after `set`/`delete`) and
    /// begin with `partial`, each once, in the order `?` shows them.
    pub fn complete(&self, verb: Verb, words: &[String], partial: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.next(verb, words) {
            if c.literal && c.word.starts_with(partial) && !out.contains(&c.word) {
                out.push(c.word);
            }
        }
        out
    }

    /// `?`: each possible next word (starting with `partial`) with what it
    /// is, one line each (`priority  <1-255> VRRP priority ...`); a path
    /// that cannot go on gives the one line saying why.
    pub fn help(&self, verb: Verb, words: &[String], partial: &str) -> Vec<String> {
        if let Err(cause) = path::resolve_open(words) {
            return vec![cause.to_string()];
        }
        let choices: Vec<Choice> = self
            .next(verb, words)
            .into_iter()
            .filter(|c| !c.literal || c.word.starts_with(partial))
            .collect();
        let width = choices
            .iter()
            .map(|c| c.word.len())
            .max()
            .unwrap_or(0)
            .min(28);
        choices
            .iter()
            .map(|c| {
                format!("{:width$}  {}", c.word, c.what)
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    /// Everything that may follow `words`.
    pub fn next(&self, verb: Verb, words: &[String]) -> Vec<Choice> {
        let Ok(r) = path::resolve_open(words) else {
            return Vec::new();
        };
        let here = find_block(&self.top, &r.segs).unwrap_or(&[]);
        match &r.end {
            End::AtBlock => self.keywords(verb, &r, here),
            End::Naming { kw, naming, got } => names_of(here, kw, *naming, got, verb),
            End::Leaf { kw, args } if args.is_empty() => self.values(verb, &r, here, kw),
            End::List { kw, entry } if entry.is_empty() => self.entries(verb, &r, here, kw),
            End::Leaf { .. } | End::List { .. } => Vec::new(),
        }
    }

    fn keywords(&self, verb: Verb, r: &Resolved, here: &[Stmt]) -> Vec<Choice> {
        schema::keywords(r.section)
            .filter(|kw| verb == Verb::Set || here.iter().any(|s| s.keyword() == *kw))
            .map(|kw| Choice::word(kw, schema::help(r.section, kw)))
            .collect()
    }

    fn values(&self, verb: Verb, r: &Resolved, here: &[Stmt], kw: &str) -> Vec<Choice> {
        if verb == Verb::Delete {
            return here
                .iter()
                .filter(|s| s.keyword() == kw)
                .filter_map(|s| s.args().first())
                .map(|a| Choice::word(a.clone(), "in the candidate"))
                .collect();
        }
        let mut out: Vec<Choice> = schema::choices(r.section, kw)
            .into_iter()
            .map(|c| Choice::word(c, ""))
            .collect();
        out.extend(self.config_names(r, kw));
        out.push(Choice::placeholder("<value>", schema::help(r.section, kw)));
        out
    }

    fn entries(&self, verb: Verb, r: &Resolved, here: &[Stmt], kw: &str) -> Vec<Choice> {
        if verb == Verb::Delete {
            return here
                .iter()
                .filter(|s| s.keyword() == kw)
                .flat_map(Stmt::children)
                .map(|e| Choice::word(e.keyword(), "in the candidate"))
                .collect();
        }
        let mut out = self.config_names(r, kw);
        out.push(Choice::placeholder("<entry>", schema::help(r.section, kw)));
        out
    }

    /// Names from the config that a value of `kw` may take.
    fn config_names(&self, r: &Resolved, kw: &str) -> Vec<Choice> {
        let (block, inside, what) = match schema::names(r.section, kw) {
            None => return Vec::new(),
            Some(Names::Interfaces) => ("appliance", "interface", "an appliance interface"),
            Some(Names::Scripts) => ("", "vrrp_script", "a vrrp_script"),
            Some(Names::Instances) => ("", "vrrp_instance", "a vrrp_instance"),
        };
        let top: &[Stmt] = &self.top;
        let scope = if block.is_empty() {
            top
        } else {
            top.iter()
                .find(|s| s.keyword() == block)
                .map(Stmt::children)
                .unwrap_or(&[])
        };
        scope
            .iter()
            .filter(|s| s.keyword() == inside)
            .filter_map(|s| s.args().first())
            .map(|n| Choice::word(n.clone(), what))
            .collect()
    }
}

/// The names of `kw` blocks in `here` that continue the `got` words, and
/// (for `set`) what a new name looks like.
fn names_of(here: &[Stmt], kw: &str, naming: Naming, got: &[String], verb: Verb) -> Vec<Choice> {
    let mut out: Vec<Choice> = here
        .iter()
        .filter(|s| s.keyword() == kw && s.block.is_some())
        .filter_map(|s| {
            let name: Vec<String> = match naming {
                Naming::ByPath => super::url_path(s).map(|p| vec![p.to_owned()])?,
                _ => s.args().to_vec(),
            };
            if !path::starts_with(&name, got) {
                return None;
            }
            name.get(got.len()).cloned()
        })
        .map(|w| Choice::word(w, format!("{kw} in the candidate")))
        .collect();
    if verb == Verb::Set {
        let form = match (naming, got.len()) {
            (Naming::Service | Naming::Real, 1) => "[<port>]",
            _ => schema::naming_help(naming),
        };
        out.push(Choice::placeholder(form, format!("a new {kw}")));
    }
    out
}
