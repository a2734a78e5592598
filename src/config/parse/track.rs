//! `vrrp_script` blocks and the `track_script` lists of instances and sync
//! groups.
//!
//! Owns: reading a script's settings with keepalived's defaults and
//! bounds, and a `track_script` line (`NAME [weight W [reverse|noreverse]]`).
//! Must not: resolve names (validate checks that each tracked name is a
//! script and warns of unused scripts) or touch the script's file.

use super::{keepalived, Reader, Section};
use crate::config::bounds::{Millis, NAME_MAX};
use crate::config::model::{ScriptUser, TrackScript, VrrpScript, SCRIPT_WEIGHT_MAX};
use crate::config::syntax::{Node, Token};
use crate::config::validate::At;

/// vigil's bound for `interval` and `timeout`: an hour.
const INTERVAL_MAX: Millis = Millis::secs(3600);
/// Consecutive results a state change may wait for.
const RISE_FALL_MAX: u32 = 1000;
/// Scripts one instance or group may track.
pub(crate) const TRACK_SCRIPTS_MAX: usize = 64;

pub(crate) const SCRIPT: Section = Section {
    name: "vrrp_script",
    keywords: &[
        "script",
        "interval",
        "timeout",
        "weight",
        "rise",
        "fall",
        "user",
        "init_fail",
    ],
    shared: &[],
    repeatable: &[],
    keepalived: keepalived::SCRIPT,
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

impl Reader<'_> {
    pub fn vrrp_script(&mut self, node: &Node) -> Option<(VrrpScript, At)> {
        let name = self.one_name(node);
        let nodes = self.named_block(node)?;
        let errors_before = self.d.errors.len();
        let mut s = VrrpScript::new(
            String::new(),
            crate::config::model::Script { argv: Vec::new() },
        );
        let seen = self.walk(nodes, &SCRIPT, |r, kw, n| match kw {
            "script" => {
                if let Some(c) = r.searched_script(n) {
                    s.script = c;
                }
            }
            "interval" => {
                if let Some(v) = r.whole_secs(n, INTERVAL_MAX) {
                    s.interval = v;
                }
            }
            "timeout" => s.timeout = r.whole_secs(n, INTERVAL_MAX),
            "weight" => {
                if let Some((w, rev)) = r.script_weight("weight", &n.keyword, &n.args) {
                    s.weight = w;
                    s.reverse = rev.unwrap_or(false);
                }
            }
            "rise" => s.rise = r.u32_in(n, 1, RISE_FALL_MAX).unwrap_or(s.rise),
            "fall" => s.fall = r.u32_in(n, 1, RISE_FALL_MAX).unwrap_or(s.fall),
            "user" => s.user = r.run_as(n),
            "init_fail" => s.init_fail = r.flag(n).unwrap_or(true),
            _ => unreachable!("SCRIPT lists only the keywords matched above"),
        });
        let block = format!("vrrp_script {}", name.as_deref().unwrap_or("(unnamed)"));
        if !seen.contains_key("script") {
            self.missing(node, block, "script");
        }
        if self.d.errors.len() != errors_before {
            return None;
        }
        s.name = name?;
        Some((s, At::new(node.keyword.loc.clone(), seen)))
    }

    /// Whole seconds, 1..=`max` (keepalived reads these as integers).
    fn whole_secs(&mut self, n: &Node, max: Millis) -> Option<Millis> {
        let secs = self.u32_in(n, 1, max.0 / 1000)?;
        Some(Millis::secs(secs))
    }

    /// `W [reverse|noreverse]` from `args`; reverse is `None` when unsaid.
    fn script_weight(
        &mut self,
        kw: &str,
        at: &Token,
        args: &[Token],
    ) -> Option<(i16, Option<bool>)> {
        let max = i32::from(SCRIPT_WEIGHT_MAX);
        let (w, rest) = match args {
            [] => {
                self.bad(at, kw, format!("a weight {}..{max}", -max));
                return None;
            }
            [_, _, extra, ..] => {
                self.bad(extra, kw, "a weight and an optional 'reverse'");
                return None;
            }
            [w, rest @ ..] => (w, rest),
        };
        let w = self.tok_i32(w, kw, -max, max)? as i16;
        let reverse = match rest.first().map(|t| (t, t.text.as_str())) {
            None => None,
            Some((_, "reverse")) => Some(true),
            Some((_, "noreverse" | "no_reverse")) => Some(false),
            Some((t, _)) => {
                self.bad(t, kw, "'reverse' or 'noreverse' after the weight");
                return None;
            }
        };
        Some((w, reverse))
    }

    /// `user USER [GROUP]`.
    pub(super) fn run_as(&mut self, n: &Node) -> Option<ScriptUser> {
        let args = self.args_between(n, 1, 2, "a user name and an optional group")?;
        let kw = n.keyword.text.as_str();
        Some(ScriptUser {
            user: self.tok_text(&args[0], kw, NAME_MAX)?,
            group: match args.get(1) {
                Some(g) => Some(self.tok_text(g, kw, NAME_MAX)?),
                None => None,
            },
        })
    }

    /// `track_script { NAME [weight W [reverse|noreverse]] ... }`, with the
    /// place of each line for validate.
    pub(super) fn track_scripts(
        &mut self,
        n: &Node,
    ) -> Option<(Vec<TrackScript>, Vec<crate::config::error::Loc>)> {
        let nodes = self.block(n)?;
        let kw = "track_script";
        let (mut out, mut locs): (Vec<TrackScript>, Vec<_>) = (Vec::new(), Vec::new());
        for item in nodes {
            if item.block.is_some() {
                self.bad(&item.keyword, kw, "a script name, not a block");
                continue;
            }
            let Some(name) = self.name_tok(&item.keyword, kw) else {
                continue;
            };
            let (weight, reverse) = match item.args.split_first() {
                None => (None, None),
                Some((t, rest)) if t.text == "weight" => match self.script_weight(kw, t, rest) {
                    Some((w, r)) => (Some(w), r),
                    None => continue,
                },
                Some((t, _)) => {
                    self.bad(t, kw, "'weight W [reverse]' or nothing after the name");
                    continue;
                }
            };
            if out.iter().any(|t| t.name == name) {
                self.bad(&item.keyword, kw, "each script once");
            } else if self.room(&out, TRACK_SCRIPTS_MAX, &item.keyword, "tracked scripts") {
                out.push(TrackScript {
                    name,
                    weight,
                    reverse,
                });
                locs.push(item.keyword.loc.clone());
            }
        }
        Some((out, locs))
    }
}
