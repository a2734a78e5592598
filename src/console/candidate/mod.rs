//! The candidate configuration of the console's configuration mode: a copy
//! of the running config the operator edits with `set` and `delete`, shows,
//! compares and finally commits as text.
//!
//! Owns: the candidate as a tree of keepalived.conf statements
//! ([`tree`]), the path grammar of `set`/`delete` ([`path`], the shapes in
//! [`schema`]), the judgement of an edit, `show | compare`, and what Tab
//! and `?` offer ([`assist`]). Must not: do I/O (no socket, no store, no
//! terminal: the console does), or judge a config by any rule of its own:
//! every value and relation is the parser's and the validators' verdict.
//!
//! # How an edit is judged
//!
//! The edit is made on a copy, the copy is written out and read back by
//! the parser and the validators, and their errors are compared (by kind,
//! ignoring places, which shift) with those of the candidate before. The
//! edit is refused, and the candidate left as it was, when it adds:
//! - any parser error (an unknown keyword, a value of the wrong type or out
//!   of range, a duplicate, ...), except `MissingRequired`: a block being
//!   built step by step lacks its required settings until the last step,
//!   and that is for `commit` to refuse;
//! - a validator's error located on the very statement the `set` wrote (a
//!   VIP outside every subnet of the appliance's interfaces, priority 255
//!   on a BACKUP, a VRID already used on that interface). Relations a
//!   `set` breaks elsewhere, and every relation inside a block that still
//!   lacks a required setting (the parser hands no incomplete block to the
//!   validators), are for `check`, which judges exactly as a commit does;
//! - a warning on that statement that an import reads it other than as
//!   written, as keepalived does (`state master` starts as BACKUP,
//!   `quorum 0` is 1, a track_script naming no vrrp_script is ignored):
//!   [`Cause::Tolerated`]; the console writes what it means.
//!
//! A `delete` is judged the same way, without the validator rule (it
//! writes no statement): deleting what another setting names is for
//! `check`.

pub mod assist;
pub mod error;
mod path;
mod schema;
mod tree;

pub use error::{Cause, EditError, Verb};

use crate::config::error::{Diagnostics, Error, ErrorKind, WarningKind};
use crate::config::{
    self, export, syntax, validate, Config, ConfigId, Imported, Rejected, Warning,
};
use path::{same_entry, starts_with, End, Key, Resolved, Seg};
use tree::Stmt;

/// The file name the candidate's text has in error locations, as on the
/// commit path (`candidate:LINE:COL`).
pub const NAME: &str = "candidate";

/// A candidate configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    top: Vec<Stmt>,
}

/// What an accepted edit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// A statement, entry or block was added.
    Added,
    /// A single-valued statement or a list entry got a new value.
    Replaced,
    /// It was already so.
    Unchanged,
    Deleted,
}

/// A `load keepalived` that read: the new candidate and what deserves a
/// word.
#[derive(Debug)]
pub struct Loaded {
    pub candidate: Candidate,
    pub warnings: Vec<Warning>,
}

impl Candidate {
    /// A candidate holding `running`, in canonical form.
    pub fn from_config(running: &Config) -> Candidate {
        let text = export::export(running);
        let mut d = Diagnostics::new(false);
        let nodes = syntax::read_str(NAME, &text, None, &ConfigId::of_host(), &mut d);
        Candidate {
            top: tree::from_nodes(&nodes),
        }
    }

    /// An empty candidate (a factory-fresh box).
    pub fn empty() -> Candidate {
        Candidate { top: Vec::new() }
    }

    /// `load keepalived`: `text` read exactly as `vigil config check` reads
    /// a file named `name` (the same errors, in the same order and
    /// wording). The new candidate is the config it means, in canonical
    /// form (aliases under their keyword, comments gone). On error the
    /// caller keeps its candidate. Note: an `include` in `text` reads
    /// files, as it does in `vigil config check`.
    pub fn load(name: &str, text: &str) -> Result<Loaded, Rejected> {
        let imp = config::import_str_with(name, text, &options())?;
        Ok(Loaded {
            candidate: Candidate::from_config(&imp.config),
            warnings: imp.warnings,
        })
    }

    /// Canonical keepalived.conf text: what `show` prints and a commit
    /// sends. For a candidate of a config, exactly `export` of it.
    pub fn text(&self) -> String {
        tree::render(&self.top, None).0
    }

    /// The whole config judged as a commit judges it (`commit check`).
    pub fn check(&self) -> Result<Imported, Rejected> {
        config::import_str_with(NAME, &self.text(), &options())
    }

    /// `show | compare`: a unified diff from `running` to the candidate in
    /// keepalived.conf text (`--- running` / `+++ candidate`); empty when
    /// they are the same.
    pub fn compare(&self, running: &Config) -> String {
        let (old, new) = (export::export(running), self.text());
        if old == new {
            return String::new();
        }
        similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header("running", "candidate")
            .to_string()
    }

    /// `set PATH [VALUE...]`: the words after `set`, unquoted.
    pub fn set(&mut self, words: &[String]) -> Result<Edit, EditError> {
        self.edit(Verb::Set, words)
    }

    /// `delete PATH`: a statement, a list entry or a whole block.
    pub fn delete(&mut self, words: &[String]) -> Result<Edit, EditError> {
        self.edit(Verb::Delete, words)
    }

    fn edit(&mut self, verb: Verb, words: &[String]) -> Result<Edit, EditError> {
        let refuse = |cause| EditError {
            verb,
            path: tree::join_words(words),
            cause,
        };
        let r = path::resolve(words).map_err(refuse)?;
        let mut copy = self.top.clone();
        let (edit, focus) = match verb {
            Verb::Set => set(&mut copy, &r),
            Verb::Delete => delete(&mut copy, &r).map(|e| (e, None)),
        }
        .map_err(refuse)?;
        if edit != Edit::Unchanged {
            judge(&self.top, &copy, focus.as_deref()).map_err(refuse)?;
            self.top = copy;
        }
        Ok(edit)
    }
}

/// Index path (one index per level) of a statement in the tree.
type IndexPath = Vec<usize>;

fn set(top: &mut Vec<Stmt>, r: &Resolved) -> Result<(Edit, Option<IndexPath>), Cause> {
    let mut at = IndexPath::new();
    let mut created = false;
    let block =
        descend(top, &r.segs, Some(&mut created), &mut at).map_err(|_| unreachable_cause())?;
    match &r.end {
        End::AtBlock if r.segs.is_empty() => Err(Cause::Incomplete {
            expected: "a keyword of the top level".into(),
        }),
        End::AtBlock => Ok((
            if created {
                Edit::Added
            } else {
                Edit::Unchanged
            },
            None,
        )),
        End::Naming { kw, naming, .. } => Err(Cause::Incomplete {
            expected: format!("{} after {kw}", schema::naming_help(*naming)),
        }),
        End::Leaf { kw, args } => {
            let words = with_keyword(kw, args);
            let repeatable = schema::repeatable(r.section, kw);
            let (edit, n) = set_leaf(block, words, repeatable);
            at.push(n);
            Ok((edit, Some(at)))
        }
        End::List { kw, entry } if entry.is_empty() => Err(Cause::Incomplete {
            expected: format!("an entry of {kw}: {}", schema::help(r.section, kw)),
        }),
        End::List { kw, entry } => {
            let n = match block.iter().position(|s| s.keyword() == *kw) {
                Some(n) => n,
                None => push(
                    block,
                    Stmt {
                        words: vec![(*kw).to_owned()],
                        block: Some(Vec::new()),
                    },
                ),
            };
            at.push(n);
            let list = block[n].block.get_or_insert_with(Vec::new);
            let found = list.iter().position(|s| same_entry(s.keyword(), &entry[0]));
            let stmt = Stmt {
                words: entry.clone(),
                block: None,
            };
            let (edit, k) = match found {
                Some(k) if list[k] == stmt => (Edit::Unchanged, k),
                Some(k) => {
                    list[k] = stmt;
                    (Edit::Replaced, k)
                }
                None => (Edit::Added, push(list, stmt)),
            };
            at.push(k);
            Ok((edit, Some(at)))
        }
    }
}

/// `descend` with `create` never fails; this is its error's stand-in.
fn unreachable_cause() -> Cause {
    Cause::Incomplete {
        expected: "a path".into(),
    }
}

fn with_keyword(kw: &str, args: &[String]) -> Vec<String> {
    std::iter::once(kw.to_owned())
        .chain(args.iter().cloned())
        .collect()
}

fn push(v: &mut Vec<Stmt>, s: Stmt) -> usize {
    v.push(s);
    v.len() - 1
}

/// A plain statement: a single-valued keyword replaces its statement (and
/// any repeat of it), a repeatable one adds a line unless it is there.
fn set_leaf(block: &mut Vec<Stmt>, words: Vec<String>, repeatable: bool) -> (Edit, usize) {
    let stmt = Stmt { words, block: None };
    let kw = stmt.keyword().to_owned();
    if repeatable {
        return match block.iter().position(|s| *s == stmt) {
            Some(n) => (Edit::Unchanged, n),
            None => (Edit::Added, push(block, stmt)),
        };
    }
    let Some(first) = block.iter().position(|s| s.keyword() == kw) else {
        return (Edit::Added, push(block, stmt));
    };
    let edit = if block[first] == stmt {
        Edit::Unchanged
    } else {
        Edit::Replaced
    };
    block[first] = stmt;
    let mut n = 0;
    block.retain(|s| {
        n += 1;
        n - 1 == first || s.keyword() != kw
    });
    (edit, first)
}

fn delete(top: &mut Vec<Stmt>, r: &Resolved) -> Result<Edit, Cause> {
    let not_there = |what: String| Cause::NotThere { what };
    match &r.end {
        End::AtBlock => {
            let Some((last, parents)) = r.segs.split_last() else {
                return Err(Cause::Incomplete {
                    expected: "a keyword of the top level".into(),
                });
            };
            let block = descend(top, parents, None, &mut Vec::new())
                .map_err(|n| not_there(describe(&r.segs[..=n])))?;
            let n = find(block, last).ok_or_else(|| not_there(describe(&r.segs)))?;
            block.remove(n);
        }
        End::Naming { kw, naming, .. } => {
            return Err(Cause::Incomplete {
                expected: format!("{} after {kw}", schema::naming_help(*naming)),
            })
        }
        End::Leaf { kw, args } => {
            let block = descend(top, &r.segs, None, &mut Vec::new())
                .map_err(|n| not_there(describe(&r.segs[..=n])))?;
            let before = block.len();
            block.retain(|s| !(s.keyword() == *kw && starts_with(s.args(), args)));
            if block.len() == before {
                let what = format!(
                    "{} {}",
                    describe(&r.segs),
                    tree::join_words(&with_keyword(kw, args))
                );
                return Err(not_there(what.trim().to_owned()));
            }
        }
        End::List { kw, entry } => {
            let block = descend(top, &r.segs, None, &mut Vec::new())
                .map_err(|n| not_there(describe(&r.segs[..=n])))?;
            let what = || {
                let w = format!(
                    "{} {}",
                    describe(&r.segs),
                    tree::join_words(&with_keyword(kw, entry))
                );
                w.trim().to_owned()
            };
            let n = block
                .iter()
                .position(|s| s.keyword() == *kw)
                .ok_or_else(|| not_there(what()))?;
            if !entry.is_empty() {
                let list = block[n].block.get_or_insert_with(Vec::new);
                let k = list
                    .iter()
                    .position(|s| {
                        same_entry(s.keyword(), &entry[0]) && starts_with(s.args(), &entry[1..])
                    })
                    .ok_or_else(|| not_there(what()))?;
                list.remove(k);
                if !list.is_empty() {
                    return Ok(Edit::Deleted);
                }
            }
            // An empty list is no list: export writes none.
            block.remove(n);
        }
    }
    Ok(Edit::Deleted)
}

/// The words of blocks `segs`, as a path in a message.
fn describe(segs: &[Seg]) -> String {
    let words: Vec<String> = segs
        .iter()
        .flat_map(|s| {
            let name = match &s.key {
                Key::Single => Vec::new(),
                Key::Args(a) => a.clone(),
                Key::Path(p) => vec![p.clone()],
            };
            with_keyword(s.kw, &name)
        })
        .collect();
    tree::join_words(&words)
}

/// The block the statements of `segs` lead to. With `created`, missing
/// blocks are made (and `created` says whether any was); without, the
/// index of the first missing one is the error. `at` gets the index path.
fn descend<'t>(
    top: &'t mut Vec<Stmt>,
    segs: &[Seg],
    mut created: Option<&mut bool>,
    at: &mut IndexPath,
) -> Result<&'t mut Vec<Stmt>, usize> {
    let mut block = top;
    for (depth, seg) in segs.iter().enumerate() {
        let n = match (find(block, seg), created.as_deref_mut()) {
            (Some(n), _) => n,
            (None, Some(c)) => {
                *c = true;
                push(block, new_block(seg))
            }
            (None, None) => return Err(depth),
        };
        at.push(n);
        block = block[n].block.get_or_insert_with(Vec::new);
    }
    Ok(block)
}

/// The statements inside the block `segs` lead to, if the candidate has it.
fn find_block<'t>(top: &'t [Stmt], segs: &[Seg]) -> Option<&'t [Stmt]> {
    let mut block = top;
    for seg in segs {
        block = block[find(block, seg)?].children();
    }
    Some(block)
}

/// The block statement `seg` names among `block`'s statements.
fn find(block: &[Stmt], seg: &Seg) -> Option<usize> {
    block.iter().position(|s| {
        s.keyword() == seg.kw
            && s.block.is_some()
            && match &seg.key {
                Key::Single => true,
                Key::Args(a) => s.args().len() == a.len() && starts_with(s.args(), a),
                Key::Path(p) => url_path(s) == Some(p.as_str()),
            }
    })
}

/// The `path` inside a `url` block.
fn url_path(s: &Stmt) -> Option<&str> {
    s.children()
        .iter()
        .find(|c| c.keyword() == "path")
        .and_then(|c| c.args().first())
        .map(String::as_str)
}

fn new_block(seg: &Seg) -> Stmt {
    let (words, inside) = match &seg.key {
        Key::Single => (vec![seg.kw.to_owned()], Vec::new()),
        Key::Args(a) => (with_keyword(seg.kw, a), Vec::new()),
        Key::Path(p) => (
            vec![seg.kw.to_owned()],
            vec![Stmt {
                words: vec!["path".into(), p.clone()],
                block: None,
            }],
        ),
    };
    Stmt {
        words,
        block: Some(inside),
    }
}

/// How the console reads: as `vigil config check` does, names resolved
/// with the deadline of someone waiting at a prompt.
fn options() -> config::ImportOptions {
    config::ImportOptions {
        resolver: crate::resolve::Resolver::interactive(),
        ..config::ImportOptions::new(false)
    }
}

/// The parser's and the validators' errors about `top`'s text, its
/// warnings, and the line of the statement at `focus`. Unlike an import,
/// the validators run even when the parser found errors (on the blocks
/// that did parse), so that an edit is judged by both at once.
fn problems(top: &[Stmt], focus: Option<&[usize]>) -> (Vec<Error>, Vec<Warning>, Option<u32>) {
    let (text, line) = tree::render(top, focus);
    let mut d = Diagnostics::new(false);
    let nodes = syntax::read_str(NAME, &text, None, &ConfigId::of_host(), &mut d);
    let (c, places) =
        config::parse::config(&nodes, &mut d, &crate::resolve::Resolver::interactive());
    validate::validate(&c, &places, &mut d);
    d.sort();
    (d.errors, d.warnings, line)
}

/// Refuse `after` when it adds errors `before` did not have (the rules in
/// this module's header), or when the edited statement is a value an
/// import would read other than as written (a warning there).
fn judge(before: &[Stmt], after: &[Stmt], focus: Option<&[usize]>) -> Result<(), Cause> {
    let mut old: Vec<ErrorKind> = problems(before, None)
        .0
        .into_iter()
        .map(|e| e.kind)
        .collect();
    let (new, warnings, line) = problems(after, focus);
    let mut added = Vec::new();
    for e in new {
        if let Some(k) = old.iter().position(|o| *o == e.kind) {
            old.swap_remove(k);
            continue;
        }
        let refused = match e.kind {
            ErrorKind::MissingRequired { .. } => false,
            ErrorKind::Invalid(_) => line == Some(e.loc.line),
            _ => true,
        };
        if refused {
            added.push(e.kind);
        }
    }
    if !added.is_empty() {
        return Err(Cause::Config(added));
    }
    // A value read other than as written, or an entry ignored: an import
    // warns, the console writes what it means.
    let tolerated = warnings.into_iter().find(|w| {
        line == Some(w.loc.line)
            && matches!(
                w.kind,
                WarningKind::AsKeepalived { .. } | WarningKind::UnknownTrackScript { .. }
            )
    });
    match tolerated {
        Some(w) => Err(Cause::Tolerated(Box::new(w.kind))),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
