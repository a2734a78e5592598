//! `vrrp_script` and `track_file` blocks and the `track_script` and
//! `track_file` lists of instances and sync groups.
//!
//! Owns: reading a script's settings with keepalived's defaults and
//! bounds, and a `track_script` line (`NAME [weight W [reverse|noreverse]]`).
//! Once the whole file is read, drops a `track_script` entry naming no
//! `vrrp_script`, with a warning, as keepalived does
//! ([`Reader::drop_unknown_track_scripts`]). Must not: resolve other
//! names (validate checks track_file and track_process names and warns of
//! unused scripts) or touch the script's file.

use super::{keepalived, Reader, Section};
use crate::config::bounds::{Millis, NAME_MAX};
use crate::config::error::WarningKind;
use crate::config::model::Config;
use crate::config::model::{
    InitFile, ParamMatch, ScriptUser, TrackFile, TrackProcess, TrackScript, VrrpScript,
    FILE_WEIGHT_MAX, SCRIPT_WEIGHT_MAX,
};
use crate::config::syntax::{Node, Token};
use crate::config::validate::At;
use crate::config::validate::Places;

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

pub(crate) const TRACK_FILE: Section = Section {
    name: "track_file",
    keywords: &["file", "weight", "init_file"],
    shared: &[],
    repeatable: &[],
    keepalived: keepalived::TRACK_FILE,
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

pub(crate) const TRACK_PROCESS: Section = Section {
    name: "vrrp_track_process",
    keywords: &[
        "process",
        "param_match",
        "weight",
        "quorum",
        "quorum_max",
        "fork_delay",
        "terminate_delay",
        "delay",
        "full_command",
    ],
    shared: &[],
    repeatable: &[],
    keepalived: keepalived::TRACK_PROCESS,
    obsolete: &[],
    first_wins: &[],
    aliases: &[],
};

/// Words of `process` (the name and its parameters).
const PROCESS_WORDS_MAX: usize = 32;
/// vigil's bound for the delays: an hour.
const PROCESS_DELAY_MAX: Millis = Millis::secs(3600);

impl Reader<'_> {
    /// `vrrp_track_process NAME { process NAME [PARAM..] param_match
    /// [initial|partial] weight W [reverse] quorum N quorum_max N
    /// fork_delay S terminate_delay S delay S full_command }`.
    pub fn track_process(&mut self, node: &Node) -> Option<(TrackProcess, At)> {
        let name = self.one_name(node);
        let nodes = self.named_block(node)?;
        let errors_before = self.d.errors.len();
        let mut p = TrackProcess::new(String::new(), Vec::new());
        let seen = self.walk(nodes, &TRACK_PROCESS, |r, kw, n| match kw {
            "process" => {
                if let Some(args) =
                    r.args_between(n, 1, PROCESS_WORDS_MAX, "a process name and its parameters")
                {
                    p.process = args.iter().map(|t| t.text.to_string()).collect();
                }
            }
            "param_match" => {
                p.param_match = match n.args.as_slice() {
                    [] => Some(ParamMatch::Exact),
                    [t] if t.text == "partial" => Some(ParamMatch::Partial),
                    [t] if t.text == "initial" => Some(ParamMatch::Initial),
                    [t, ..] => {
                        r.bad(t, kw, "nothing, 'partial' or 'initial'");
                        None
                    }
                }
            }
            "weight" => {
                let max = i32::from(FILE_WEIGHT_MAX);
                if let Some((w, rev)) = r.track_weight("weight", &n.keyword, &n.args, max) {
                    p.weight = w;
                    p.reverse = rev.unwrap_or(false);
                }
            }
            "quorum" => p.quorum = r.u32_in(n, 0, u32::MAX).unwrap_or(1),
            "quorum_max" => p.quorum_max = r.u32_in(n, 0, u32::MAX),
            "fork_delay" => p.fork_delay = r.millis(n, Millis(0), PROCESS_DELAY_MAX),
            "terminate_delay" => p.terminate_delay = r.millis(n, Millis(0), PROCESS_DELAY_MAX),
            "delay" => {
                let d = r.millis(n, Millis(0), PROCESS_DELAY_MAX);
                (p.fork_delay, p.terminate_delay) = (d, d);
            }
            "full_command" => p.full_command = r.flag(n).unwrap_or(true),
            _ => unreachable!("TRACK_PROCESS lists only the keywords matched above"),
        });
        let block = format!(
            "vrrp_track_process {}",
            name.as_deref().unwrap_or("(unnamed)")
        );
        if !seen.contains_key("process") {
            self.missing(node, block, "process");
        }
        if self.d.errors.len() != errors_before {
            return None;
        }
        p.name = name?;
        Some((p, At::new(node.keyword.loc, seen)))
    }

    /// `track_file NAME { file PATH weight W [reverse] init_file [V] [overwrite] }`.
    pub fn track_file(&mut self, node: &Node) -> Option<(TrackFile, At)> {
        let name = self.one_name(node);
        let nodes = self.named_block(node)?;
        let errors_before = self.d.errors.len();
        let mut f = TrackFile {
            name: String::new(),
            file: String::new(),
            weight: 1,
            reverse: false,
            init: None,
        };
        let seen = self.walk(nodes, &TRACK_FILE, |r, kw, n| match kw {
            "file" => {
                if let Some(t) = r.one(n, "an absolute path") {
                    if t.text.starts_with('/') && !t.text.contains('\0') {
                        f.file = t.text.to_string();
                    } else {
                        r.bad(t, kw, "an absolute path");
                    }
                }
            }
            "weight" => {
                let max = i32::from(FILE_WEIGHT_MAX);
                if let Some((w, rev)) = r.track_weight("weight", &n.keyword, &n.args, max) {
                    f.weight = w;
                    f.reverse = rev.unwrap_or(false);
                }
            }
            "init_file" => f.init = r.init_file(n),
            _ => unreachable!("TRACK_FILE lists only the keywords matched above"),
        });
        let block = format!("track_file {}", name.as_deref().unwrap_or("(unnamed)"));
        if !seen.contains_key("file") {
            self.missing(node, block, "file");
        }
        if self.d.errors.len() != errors_before {
            return None;
        }
        f.name = name?;
        Some((f, At::new(node.keyword.loc, seen)))
    }

    /// `init_file [VALUE] [overwrite]`.
    fn init_file(&mut self, n: &Node) -> Option<InitFile> {
        let mut init = InitFile {
            value: 0,
            overwrite: false,
        };
        let max = i32::from(FILE_WEIGHT_MAX);
        for t in &n.args {
            match t.text.as_str() {
                "overwrite" if !init.overwrite => init.overwrite = true,
                _ if t.text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                    init.value = self.tok_i32(t, "init_file", -max, max)? as i16;
                }
                _ => {
                    self.bad(t, "init_file", "a value and/or 'overwrite'");
                    return None;
                }
            }
        }
        Some(init)
    }

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
                let max = i32::from(SCRIPT_WEIGHT_MAX);
                if let Some((w, rev)) = r.track_weight("weight", &n.keyword, &n.args, max) {
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
        Some((s, At::new(node.keyword.loc, seen)))
    }

    /// Whole seconds, 1..=`max` (keepalived reads these as integers).
    fn whole_secs(&mut self, n: &Node, max: Millis) -> Option<Millis> {
        let secs = self.u32_in(n, 1, max.0 / 1000)?;
        Some(Millis::secs(secs))
    }

    /// `W [reverse|noreverse]` from `args`, W in -max..=max; reverse is
    /// `None` when unsaid.
    fn track_weight(
        &mut self,
        kw: &str,
        at: &Token,
        args: &[Token],
        max: i32,
    ) -> Option<(i16, Option<bool>)> {
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
    /// keepalived ignores a `track_script` entry naming no `vrrp_script`
    /// (with a warning); vigil drops it from the instance or sync group the
    /// same way, with its place.
    pub(super) fn drop_unknown_track_scripts(&mut self, c: &mut Config, at: &mut Places) {
        let scripts: Vec<String> = c.vrrp_scripts.iter().map(|s| s.name.clone()).collect();
        let instances = (c.vrrp_instances.iter_mut())
            .zip(&mut at.instances)
            .map(|(i, a)| (format!("vrrp_instance {}", i.name), &mut i.track_script, a));
        let groups = (c.vrrp_sync_groups.iter_mut())
            .zip(&mut at.sync_groups)
            .map(|(g, a)| {
                (
                    format!("vrrp_sync_group {}", g.name),
                    &mut g.track_script,
                    a,
                )
            });
        for (block, list, a) in instances.chain(groups) {
            let mut locs = a.items.remove("track_script").unwrap_or_default();
            let mut k = 0;
            while k < list.len() {
                if scripts.contains(&list[k].name) {
                    k += 1;
                    continue;
                }
                let t = list.remove(k);
                let loc = if k < locs.len() {
                    locs.remove(k)
                } else {
                    a.start
                };
                let w = WarningKind::UnknownTrackScript {
                    block: block.clone(),
                    script: t.name,
                };
                self.d.warn(&loc, w);
            }
            a.items.insert("track_script", locs);
        }
    }

    pub(super) fn track_scripts(&mut self, n: &Node) -> Option<TrackLines> {
        self.track_lines(n, "track_script", i32::from(SCRIPT_WEIGHT_MAX))
    }

    /// `track_file { NAME [weight W [reverse|noreverse]] ... }`.
    pub(super) fn track_files(&mut self, n: &Node) -> Option<TrackLines> {
        self.track_lines(n, "track_file", i32::from(FILE_WEIGHT_MAX))
    }

    /// `track_process { NAME [weight W [reverse|noreverse]] ... }`.
    pub(super) fn track_processes(&mut self, n: &Node) -> Option<TrackLines> {
        self.track_lines(n, "track_process", i32::from(FILE_WEIGHT_MAX))
    }

    fn track_lines(&mut self, n: &Node, kw: &'static str, max: i32) -> Option<TrackLines> {
        let nodes = self.block(n)?;
        let (mut out, mut locs): (Vec<TrackScript>, Vec<_>) = (Vec::new(), Vec::new());
        for item in nodes {
            if item.block.is_some() {
                self.bad(&item.keyword, kw, "a name, not a block");
                continue;
            }
            let Some(name) = self.name_tok(&item.keyword, kw) else {
                continue;
            };
            let (weight, reverse) = match item.args.split_first() {
                None => (None, None),
                Some((t, rest)) if t.text == "weight" => {
                    match self.track_weight(kw, t, rest, max) {
                        Some((w, r)) => (Some(w), r),
                        None => continue,
                    }
                }
                Some((t, _)) => {
                    self.bad(t, kw, "'weight W [reverse]' or nothing after the name");
                    continue;
                }
            };
            if out.iter().any(|t| t.name == name) {
                let once = match kw {
                    "track_script" => "each script once",
                    "track_process" => "each process once",
                    _ => "each file once",
                };
                self.bad(&item.keyword, kw, once);
            } else if self.room(&out, TRACK_SCRIPTS_MAX, &item.keyword, "tracked names") {
                out.push(TrackScript {
                    name,
                    weight,
                    reverse,
                });
                locs.push(item.keyword.loc);
            }
        }
        Some((out, locs))
    }
}

/// A `track_script` or `track_file` list and the place of each line.
pub(super) type TrackLines = (Vec<TrackScript>, Vec<crate::config::error::Loc>);
