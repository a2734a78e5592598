//! The console's interpreter: operational mode (`show ...`, `configure`)
//! and configuration mode (a candidate, `set`/`delete`, `show | compare`,
//! `load keepalived`, `commit` and its variants, `rollback N`).
//!
//! Owns: the command grammar (one table, used to run a command, to
//! complete it and to say what can come next), the session's candidate
//! and the running commit it was made from, and the wording of what a
//! command did. Must not: touch a terminal, a file or the store: the
//! daemon is reached only through [`Backend`], which is also how tests
//! drive it.

use std::fmt::Write as _;

use super::candidate::{self, Candidate, Verb};
use super::line::{Assist, Completion};
use super::words;
use crate::config::{self, Config};
use crate::control::{
    render, CommitAsk, CommitOutcome, CommitReport, ConfigText, FrameError, HistoryEntry, Request,
    Response, Status,
};
use crate::daemon::confirm::{Window, WindowError};
use crate::store::listing;

/// What the console needs from the box.
pub trait Backend {
    /// One control-socket request.
    fn query(&mut self, req: &Request) -> Result<Response, FrameError>;
    /// The journal's last `lines` lines of vigil.
    fn journal(&mut self, lines: usize) -> Vec<String>;
    /// The box's facts `show system` prints.
    fn system(&mut self) -> System;
    /// `vigil doctor`'s lines on the running config (`show dr`).
    fn doctor(&mut self) -> Vec<String>;
}

/// The box's own facts.
#[derive(Debug, Clone, Default)]
pub struct System {
    pub hostname: String,
    /// Seconds since the kernel booted.
    pub uptime_s: u64,
    /// The kernel's release and the OS's name.
    pub kernel: String,
    pub os: String,
}

/// What the caller does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read the next command.
    Command,
    /// Read lines up to Ctrl-D and hand them to [`Shell::pasted`].
    Paste,
    /// Leave the console.
    Exit,
    /// Run a root shell on the terminal, then come back (`start shell`).
    Shell,
}

/// `show log` without a count.
const LOG_LINES: usize = 40;

/// One operator's console.
pub struct Shell<B> {
    backend: B,
    /// Who commits: kept with each commit.
    user: String,
    /// `Some`: configuration mode.
    session: Option<Session>,
}

/// Configuration mode: the candidate and what it was made from.
struct Session {
    candidate: Candidate,
    /// The running config when the candidate was made (`show | compare`
    /// compares against the running config of now).
    base: u64,
    /// The candidate is commit N's config, untouched since `rollback N`.
    rolled_from: Option<u64>,
}

/// A word of the grammar: what it is, and what may follow it.
struct Word {
    word: &'static str,
    help: &'static str,
    next: &'static [Word],
}

const fn w(word: &'static str, help: &'static str, next: &'static [Word]) -> Word {
    Word { word, help, next }
}

const SHOW: &[Word] = &[
    w("vrrp", "VRRP instances: state, priorities, master", &[]),
    w("ipvs", "the IPVS table as ipvsadm -Ln, with health", &[]),
    w(
        "health",
        "every real server's and tracked script's health",
        &[],
    ),
    w(
        "dr",
        "the DR/TUN real servers' set-up, as vigil doctor finds it (about a second)",
        &[],
    ),
    w("config", "the running config (keepalived.conf syntax)", &[]),
    w(
        "bgp",
        "anycast: BIRD, each neighbour's session, what is announced",
        &[],
    ),
    w("log", "vigil's journal: show log [LINES]", &[]),
    w(
        "system",
        "uptime, last reset, firmware, flash",
        &[w("commit", "the commit history on flash", &[])],
    ),
];

const OPERATIONAL: &[Word] = &[
    w("show", "show the box's state", SHOW),
    w(
        "configure",
        "enter configuration mode (a candidate copy of the running config)",
        &[],
    ),
    w(
        "drain",
        "take the box out of the anycast VIPs' new flows (the bgp block's drain)",
        &[],
    ),
    w("undrain", "take new anycast flows again", &[]),
    w("help", "what each command does", &[]),
    w("exit", "leave the console", &[]),
];

const COMMIT: &[Word] = &[
    w("check", "validate the candidate; change nothing", &[]),
    w(
        "confirmed",
        "commit confirmed 5 | 90s | 2h: rolled back unless confirmed in time",
        &[],
    ),
    w("comment", "comment TEXT: kept with the commit", &[]),
];

const CONFIGURATION: &[Word] = &[
    w("set", "set PATH VALUE: change the candidate", &[]),
    w(
        "delete",
        "delete PATH: remove a statement, an entry or a block",
        &[],
    ),
    w(
        "show",
        "the candidate; show | compare: its difference from the running config",
        &[w(
            "|",
            "",
            &[w("compare", "a unified diff, running -> candidate", &[])],
        )],
    ),
    w(
        "load",
        "load keepalived: paste a keepalived.conf, end with Ctrl-D",
        &[w(
            "keepalived",
            "replace the candidate with a pasted keepalived.conf",
            &[],
        )],
    ),
    w(
        "commit",
        "validate, write to flash and apply the candidate",
        COMMIT,
    ),
    w(
        "rollback",
        "rollback SEQ: load commit SEQ's config into the candidate",
        &[],
    ),
    w(
        "run",
        "run an operational command: run show vrrp",
        OPERATIONAL,
    ),
    w("help", "what each command does", &[]),
    w(
        "exit",
        "leave configuration mode; exit discard: drop the candidate",
        &[w("discard", "drop the candidate's changes", &[])],
    ),
];

impl<B: Backend> Shell<B> {
    pub fn new(backend: B, user: String) -> Self {
        Shell {
            backend,
            user,
            session: None,
        }
    }

    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// `lb1> ` in operational mode, `lb1# ` in configuration mode.
    pub fn prompt(&mut self) -> String {
        let host = self.backend.system().hostname;
        let mark = if self.session.is_some() { '#' } else { '>' };
        format!("{host}{mark} ")
    }

    /// Runs one command line; what it printed goes to `out`.
    pub fn execute(&mut self, line: &str, out: &mut String) -> Next {
        let words = match words::split(line) {
            Ok(w) => w,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                return Next::Command;
            }
        };
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        if words.is_empty() {
            return Next::Command;
        }
        if self.session.is_some() {
            self.configuration(&words, out)
        } else {
            self.operational(&words, out)
        }
    }

    /// The end of input: a candidate's changes are dropped, said once.
    pub fn hang_up(&mut self, out: &mut String) {
        if let Some(s) = self.session.take() {
            if self.changed(&s).unwrap_or(true) {
                let _ = writeln!(out, "uncommitted changes discarded");
            }
        }
    }

    fn operational(&mut self, words: &[&str], out: &mut String) -> Next {
        match words {
            ["show", rest @ ..] => self.show(rest, out),
            ["configure"] => self.configure(out),
            ["drain"] => self.drain(true, out),
            ["undrain"] => self.drain(false, out),
            ["start", "shell"] => return Next::Shell,
            ["help"] => help_table(OPERATIONAL, out),
            ["exit" | "quit" | "logout"] => return Next::Exit,
            _ => unknown(words, OPERATIONAL, out),
        }
        Next::Command
    }

    fn configuration(&mut self, words: &[&str], out: &mut String) -> Next {
        match words {
            ["set", path @ ..] => self.edit(path, true, out),
            ["delete", path @ ..] => self.edit(path, false, out),
            ["show"] => self.with_session(|s, _| s.candidate.text(), out),
            ["show", "|", "compare"] => self.compare(out),
            ["show", rest @ ..] if SHOW.iter().any(|w| w.word == rest[0]) => self.show(rest, out),
            ["load", "keepalived"] => {
                let _ = writeln!(
                    out,
                    "paste a keepalived.conf; end with Ctrl-D on a line of its own"
                );
                return Next::Paste;
            }
            ["commit", rest @ ..] => self.commit(rest, out),
            ["rollback", seq] => self.rollback(seq, out),
            ["run", rest @ ..] if !rest.is_empty() => {
                let session = self.session.take();
                let next = self.operational(rest, out);
                self.session = session;
                if next != Next::Command {
                    let _ = writeln!(
                        out,
                        "error: `run {}`: leave configuration mode first",
                        rest.join(" ")
                    );
                }
            }
            ["help"] => help_table(CONFIGURATION, out),
            ["exit"] => self.leave(false, out),
            ["exit", "discard"] => self.leave(true, out),
            _ => unknown(words, CONFIGURATION, out),
        }
        Next::Command
    }

    /// A pasted keepalived.conf replaces the candidate, if it reads.
    pub fn pasted(&mut self, text: &str, out: &mut String) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match Candidate::load(candidate::NAME, text) {
            Ok(l) => {
                s.candidate = l.candidate;
                s.rolled_from = None;
                for w in &l.warnings {
                    let _ = writeln!(out, "{w}");
                }
                let _ = writeln!(
                    out,
                    "candidate replaced ({} lines); show | compare to see the change, commit to apply it",
                    text.lines().count()
                );
            }
            Err(e) => {
                for line in e.lines() {
                    let _ = writeln!(out, "{line}");
                }
                let _ = writeln!(out, "the candidate is unchanged");
            }
        }
    }

    // -- operational ---------------------------------------------------

    fn show(&mut self, rest: &[&str], out: &mut String) {
        match rest {
            ["vrrp"] => self.status(out, render::vrrp_text),
            ["ipvs"] => self.status(out, |s| match &s.ipvs {
                Some(t) => render::ipvs_text(t),
                None => "no virtual_server: the IPVS table is not vigil's\n".to_owned(),
            }),
            ["health"] => self.status(out, render::health_text),
            ["bgp"] => self.status(out, |s| match &s.bgp {
                Some(b) => render::bgp_text(b),
                None => "no bgp block: this box announces nothing\n".to_owned(),
            }),
            ["config"] => {
                if let Some(r) = self.running(out) {
                    out.push_str(&r.text);
                }
            }
            ["log"] => self.log(LOG_LINES, out),
            ["log", n] => match n.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => self.log(n, out),
                _ => {
                    let _ = writeln!(
                        out,
                        "error: show log {n}: expected a number of lines from 1 to 10000"
                    );
                }
            },
            ["system"] => self.system(out),
            ["system", "commit"] => self.history(out),
            ["dr"] => {
                for line in self.backend.doctor() {
                    let _ = writeln!(out, "{line}");
                }
            }
            _ => unknown(&[&["show"], rest].concat(), OPERATIONAL, out),
        }
    }

    fn drain(&mut self, on: bool, out: &mut String) {
        match self.backend.query(&Request::Drain { on }) {
            Ok(Response::Drained { on: true, drain }) => {
                let _ = writeln!(out, "drained (drain {drain}); established flows go on");
            }
            Ok(Response::Drained { on: false, .. }) => {
                let _ = writeln!(
                    out,
                    "undrained: announced again where the services have quorum"
                );
            }
            other => daemon_error(other, out),
        }
    }

    fn status(&mut self, out: &mut String, f: impl FnOnce(&Status) -> String) {
        match self.backend.query(&Request::Status) {
            Ok(Response::Status(s)) => out.push_str(&f(&s)),
            other => daemon_error(other, out),
        }
    }

    fn log(&mut self, n: usize, out: &mut String) {
        for line in self.backend.journal(n) {
            let _ = writeln!(out, "{line}");
        }
    }

    fn system(&mut self, out: &mut String) {
        let sys = self.backend.system();
        let _ = writeln!(out, "hostname: {}", sys.hostname);
        let _ = writeln!(
            out,
            "firmware: vigil {}, {}, kernel {}",
            env!("CARGO_PKG_VERSION"),
            sys.os,
            sys.kernel
        );
        let _ = writeln!(out, "uptime: {}", duration(sys.uptime_s));
        match self.backend.query(&Request::Status) {
            Ok(Response::Status(s)) => {
                let reset = if s.watchdog.reset_by_watchdog {
                    "by the hardware watchdog"
                } else {
                    "not by the watchdog (power-on or a reboot)"
                };
                let _ = writeln!(out, "last reset: {reset}");
                let _ = writeln!(out, "{}", render::watchdog_line(&s.watchdog));
                let _ = writeln!(out, "config: {}", s.source);
                let _ = writeln!(out, "vigil up: {}", duration(s.uptime_ms / 1000));
                for l in render::commit_lines(&s.commit) {
                    let _ = writeln!(out, "{l}");
                }
            }
            other => daemon_error(other, out),
        }
        if let Some(list) = self.commits(out) {
            let bytes: u64 = list.iter().map(|e| u64::from(e.len)).sum();
            let boots = list.iter().find(|e| e.boots).map(|e| e.seq);
            let _ = writeln!(
                out,
                "flash: {} commits kept, {bytes} bytes of config; a reset boots {}",
                list.len(),
                boots.map_or("the factory default".to_owned(), |s| format!("commit {s}"))
            );
        }
    }

    fn history(&mut self, out: &mut String) {
        let Some(list) = self.commits(out) else {
            return;
        };
        if list.is_empty() {
            let _ = writeln!(out, "no commit on flash (the factory default runs)");
            return;
        }
        let _ = writeln!(out, "{}", listing::HEADING);
        for e in &list {
            let _ = writeln!(out, "{}", listing::head_line(&e.head(), e.boots));
        }
    }

    fn commits(&mut self, out: &mut String) -> Option<Vec<HistoryEntry>> {
        match self.backend.query(&Request::History) {
            Ok(Response::History(list)) => Some(list),
            other => {
                daemon_error(other, out);
                None
            }
        }
    }

    fn running(&mut self, out: &mut String) -> Option<ConfigText> {
        match self.backend.query(&Request::Running) {
            Ok(Response::Config(c)) => Some(c),
            other => {
                daemon_error(other, out);
                None
            }
        }
    }

    fn configure(&mut self, out: &mut String) {
        let Some(r) = self.running(out) else {
            return;
        };
        match Candidate::load("running", &r.text) {
            Ok(l) => {
                self.session = Some(Session {
                    candidate: l.candidate,
                    base: r.seq.unwrap_or(0),
                    rolled_from: None,
                });
                let _ = writeln!(
                    out,
                    "configuration mode: a candidate copy of {} (? lists the commands)",
                    r.source
                );
            }
            Err(e) => {
                let _ = writeln!(out, "error: the running config does not read back:");
                for line in e.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }

    // -- configuration -------------------------------------------------

    fn with_session(
        &mut self,
        f: impl FnOnce(&mut Session, &mut String) -> String,
        out: &mut String,
    ) {
        if let Some(s) = self.session.as_mut() {
            let text = f(s, out);
            out.push_str(&text);
        }
    }

    fn edit(&mut self, path: &[&str], set: bool, out: &mut String) {
        let verb = if set { "set" } else { "delete" };
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if path.is_empty() {
            let _ = writeln!(
                out,
                "error: {verb}: expected a path (? lists what can come next)"
            );
            return;
        }
        let path: Vec<String> = path.iter().map(|p| (*p).to_owned()).collect();
        let done = if set {
            s.candidate.set(&path).map(|_| ())
        } else {
            s.candidate.delete(&path).map(|_| ())
        };
        match done {
            Ok(()) => s.rolled_from = None,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
            }
        }
    }

    /// The running config of now, read back as a `Config`.
    fn running_config(&mut self, out: &mut String) -> Option<(Config, ConfigText)> {
        let r = self.running(out)?;
        match config::import_str("running", &r.text, false) {
            Ok(imp) => Some((imp.config, r)),
            Err(e) => {
                let _ = writeln!(out, "error: the running config does not read back:");
                for line in e.lines() {
                    let _ = writeln!(out, "  {line}");
                }
                None
            }
        }
    }

    fn compare(&mut self, out: &mut String) {
        let Some((running, _)) = self.running_config(out) else {
            return;
        };
        if let Some(s) = &self.session {
            out.push_str(&s.candidate.compare(&running));
        }
    }

    /// Whether the candidate differs from the running config; `None`: the
    /// daemon did not say.
    fn changed(&mut self, s: &Session) -> Option<bool> {
        let mut sink = String::new();
        let (running, _) = self.running_config(&mut sink)?;
        Some(!s.candidate.compare(&running).is_empty())
    }

    fn leave(&mut self, discard: bool, out: &mut String) {
        let Some(s) = self.session.take() else {
            return;
        };
        if !discard && self.changed(&s).unwrap_or(false) {
            let _ = writeln!(
                out,
                "error: the candidate has uncommitted changes: commit them, or exit discard to drop them"
            );
            self.session = Some(s);
            return;
        }
        if discard {
            let _ = writeln!(out, "candidate dropped");
        }
    }

    fn rollback(&mut self, seq: &str, out: &mut String) {
        let Ok(seq) = seq.parse::<u64>() else {
            let _ = writeln!(
                out,
                "error: rollback {seq}: expected a commit's seq (show system commit lists them)"
            );
            return;
        };
        let text = match self.backend.query(&Request::ConfigOf { seq }) {
            Ok(Response::Config(c)) => c.text,
            other => return daemon_error(other, out),
        };
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match Candidate::load(&format!("commit {seq}"), &text) {
            Ok(l) => {
                s.candidate = l.candidate;
                s.rolled_from = Some(seq);
                let _ = writeln!(
                    out,
                    "commit {seq} loaded into the candidate; show | compare to see it, commit to apply it"
                );
            }
            Err(e) => {
                let _ = writeln!(out, "error: commit {seq} does not read back:");
                for line in e.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }

    fn commit(&mut self, rest: &[&str], out: &mut String) {
        let ask = match commit_words(rest) {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                return;
            }
        };
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let (text, base, rolled_from) = (s.candidate.text(), s.base, s.rolled_from);
        let req = match ask {
            CommitWords::Check => Request::CommitCheck { config_text: text },
            CommitWords::Commit { confirm, comment } => {
                match self.confirm_instead(confirm, out) {
                    Some(true) => return self.report(Request::Confirm, out),
                    Some(false) => {}
                    None => return,
                }
                // An untouched `rollback N` is written as a rollback, when
                // nobody has committed since the candidate was made (else
                // the commit below is refused as stale).
                let mut unmoved = || {
                    let mut sink = String::new();
                    self.running(&mut sink).map(|r| r.seq.unwrap_or(0)) == Some(base)
                };
                match (rolled_from, confirm) {
                    (Some(of), None) if unmoved() => Request::Rollback { seq: of, comment },
                    _ => Request::Commit(CommitAsk {
                        config_text: text,
                        comment,
                        user: Some(self.user.clone()),
                        confirm,
                        base_seq: Some(base),
                    }),
                }
            }
        };
        self.report(req, out);
    }

    /// A plain `commit` of an unchanged candidate while a commit
    /// confirmed waits is its confirm (Some(true)); `None`: the daemon did
    /// not answer.
    fn confirm_instead(&mut self, confirm: Option<Window>, out: &mut String) -> Option<bool> {
        if confirm.is_some() {
            return Some(false);
        }
        let pending = match self.backend.query(&Request::Status) {
            Ok(Response::Status(st)) => st.commit.pending.is_some(),
            other => {
                daemon_error(other, out);
                return None;
            }
        };
        if !pending {
            return Some(false);
        }
        let s = self.session.take()?;
        let changed = self.changed(&s);
        self.session = Some(s);
        Some(!changed?)
    }

    fn report(&mut self, req: Request, out: &mut String) {
        let r = match self.backend.query(&req) {
            Ok(Response::Committed(r)) => r,
            other => return daemon_error(other, out),
        };
        let (shown, errors) = render::commit_report(&r);
        for line in errors.iter().chain(&shown) {
            let _ = writeln!(out, "{line}");
        }
        if r.confirm_by.is_some() {
            let _ = writeln!(out, "(here, a plain `commit` confirms it)");
        }
        if let CommitOutcome::Stale { .. } = r.outcome {
            let _ = writeln!(
                out,
                "your candidate is kept: show | compare shows it against the new running config; exit discard and configure again to start from it"
            );
        }
        if committed(&r) {
            self.fresh_candidate(out);
        }
    }

    /// After a commit: the candidate starts again from what now runs.
    fn fresh_candidate(&mut self, out: &mut String) {
        let Some(r) = self.running(out) else {
            return;
        };
        if let (Some(s), Ok(l)) = (self.session.as_mut(), Candidate::load("running", &r.text)) {
            s.candidate = l.candidate;
            s.base = r.seq.unwrap_or(0);
            s.rolled_from = None;
        }
    }
}

fn committed(r: &CommitReport) -> bool {
    r.outcome == CommitOutcome::Committed
}

/// The words after `commit`.
#[derive(Debug, PartialEq, Eq)]
enum CommitWords {
    Check,
    Commit {
        confirm: Option<Window>,
        comment: Option<String>,
    },
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum CommitWordsError {
    #[error("commit check: expected nothing after it")]
    CheckAlone,
    #[error("commit confirmed: expected a window (5 for minutes; 90s, 10m, 2h)")]
    NoWindow,
    #[error("commit confirmed {0}: {1}")]
    Window(String, WindowError),
    #[error("commit comment: expected the comment's text (quote it if it has spaces)")]
    NoComment,
    #[error("commit {0}: expected check, confirmed WINDOW or comment TEXT")]
    Unknown(String),
}

fn commit_words(rest: &[&str]) -> Result<CommitWords, CommitWordsError> {
    if rest.first() == Some(&"check") {
        return if rest.len() == 1 {
            Ok(CommitWords::Check)
        } else {
            Err(CommitWordsError::CheckAlone)
        };
    }
    let (mut confirm, mut comment) = (None, None);
    let mut it = rest.iter();
    while let Some(word) = it.next() {
        match *word {
            "confirmed" => {
                let w = *it.next().ok_or(CommitWordsError::NoWindow)?;
                confirm = Some(
                    w.parse::<Window>()
                        .map_err(|e| CommitWordsError::Window(w.to_owned(), e))?,
                );
            }
            "comment" => {
                comment = Some((*it.next().ok_or(CommitWordsError::NoComment)?).to_owned());
            }
            other => return Err(CommitWordsError::Unknown(other.to_owned())),
        }
    }
    Ok(CommitWords::Commit { confirm, comment })
}

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h {m:02}m")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {s:02}s")
    }
}

fn daemon_error(r: Result<Response, FrameError>, out: &mut String) {
    let _ = match r {
        Ok(Response::Error(e)) => writeln!(out, "error: the daemon answered: {e}"),
        Ok(other) => writeln!(out, "error: unexpected answer from the daemon: {other:?}"),
        Err(e) => {
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                why.push_str(&format!(": {c}"));
                cause = c.source();
            }
            writeln!(out, "error: the daemon is not reachable: {why}")
        }
    };
}

fn help_table(words: &[Word], out: &mut String) {
    for w in words {
        let _ = writeln!(out, "  {:<10} {}", w.word, w.help);
    }
}

/// A command the grammar does not know: where it goes wrong and what
/// was expected there.
fn unknown(words: &[&str], grammar: &[Word], out: &mut String) {
    let mut level = grammar;
    for (i, word) in words.iter().enumerate() {
        match level.iter().find(|w| w.word == *word) {
            Some(w) if !w.next.is_empty() => level = w.next,
            Some(_) => {
                let _ = writeln!(
                    out,
                    "error: `{}`: nothing may follow `{word}`",
                    words.join(" ")
                );
                return;
            }
            None => {
                let expected: Vec<&str> = level.iter().map(|w| w.word).collect();
                let _ = writeln!(
                    out,
                    "error: `{}`: unknown word `{word}` at word {}: expected one of {}",
                    words.join(" "),
                    i + 1,
                    expected.join(", ")
                );
                return;
            }
        }
    }
    let expected: Vec<&str> = level.iter().map(|w| w.word).collect();
    let _ = writeln!(
        out,
        "error: `{}` is incomplete: expected one of {}",
        words.join(" "),
        expected.join(", ")
    );
}

impl<B: Backend> Assist for Shell<B> {
    fn complete(&self, line: &str) -> Completion {
        let Some((done, partial, start)) = words::before_cursor(line) else {
            return Completion {
                start: line.len(),
                candidates: Vec::new(),
            };
        };
        let mut candidates: Vec<String> = match self.path_words(&done) {
            Some((s, verb, path)) => s.candidate.complete(verb, &path, &partial),
            None => self
                .grammar_after(&done)
                .iter()
                .map(|w| w.word.to_owned())
                .filter(|w| w.starts_with(&partial))
                .collect(),
        };
        candidates.retain(|c| c.starts_with(&partial));
        Completion { start, candidates }
    }

    fn help(&self, line: &str) -> Vec<String> {
        let Some((done, partial, _)) = words::before_cursor(line) else {
            return vec!["  (inside a quoted word)".to_owned()];
        };
        if let Some((s, verb, path)) = self.path_words(&done) {
            let lines = s.candidate.help(verb, &path, &partial);
            return if lines.is_empty() {
                vec!["  <Enter>".to_owned()]
            } else {
                lines
            };
        }
        let level = self.grammar_after(&done);
        let mut lines: Vec<String> = level
            .iter()
            .filter(|w| w.word.starts_with(&partial))
            .map(|w| format!("  {:<10} {}", w.word, w.help))
            .collect();
        if lines.is_empty() {
            lines.push("  <Enter>".to_owned());
        }
        lines
    }
}

impl<B> Shell<B> {
    /// In configuration mode, `set ...` / `delete ...`: the session and
    /// the path words typed so far.
    fn path_words(&self, done: &[String]) -> Option<(&Session, Verb, Vec<String>)> {
        let s = self.session.as_ref()?;
        let verb = match done.first().map(String::as_str) {
            Some("set") => Verb::Set,
            Some("delete") => Verb::Delete,
            _ => return None,
        };
        Some((s, verb, done[1..].to_vec()))
    }

    /// The grammar's words that may follow `done`.
    fn grammar_after(&self, done: &[String]) -> &'static [Word] {
        let mut level = if self.session.is_some() {
            CONFIGURATION
        } else {
            OPERATIONAL
        };
        for word in done {
            match level.iter().find(|w| w.word == word) {
                Some(w) => level = w.next,
                None => return &[],
            }
        }
        level
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
