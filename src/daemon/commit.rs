//! The commit path: commits asked on the control socket (`vigil commit`,
//! `confirm`, `rollback`, `history`, the console later) written to the
//! store's history and applied live; the commit-confirmed timer's edge.
//!
//! Owns: [`Commits`], what the main loop keeps for them (the store, the
//! [`confirm::Machine`], the last automatic rollback), the validation of a
//! candidate's text (exactly `vigil config check`'s import, then what a
//! reload would refuse: the health plan and the envelope), and the order
//! of one commit: validate, check the base, write (on a blocking thread:
//! store writes sync), then apply through [`Reloader::reload`], which reads
//! the newest commit back. Must not: write anything for a config with an
//! error or a stale base, hold the store open between requests, or run
//! two commits at once (the main loop hands them over one at a time).
//!
//! After every write the store's pending commit is read again and handed
//! to the timer, so the timer follows the store whoever wrote it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::confirm;
use super::reload::Reloader;
use super::source::ConfigSource;
use crate::config::{self, envelope, Config};
use crate::control::{
    AutoRollback, CommitAsk, CommitOutcome, CommitReport, CommitStatus, ConfigText, HistoryEntry,
    Line, PendingCommit, Request, Response,
};
use crate::health;
use crate::store::{Geometry, History, Meta, Source, StoreError};

/// What located errors of a candidate name as its file.
pub const CANDIDATE: &str = "candidate";

/// How long a `commit confirmed` minute lasts unless a test says otherwise.
pub const MINUTE: Duration = Duration::from_secs(60);

/// The main loop's commit side.
pub(super) struct Commits {
    /// `None`: the daemon runs a file (`--config`); commits are refused.
    store: Option<(PathBuf, Geometry)>,
    /// How long a `commit confirmed` minute lasts.
    unit: Duration,
    timer: confirm::Machine,
    last_rollback: Option<AutoRollback>,
}

/// A store job's answer: its value and the store's pending commit after it.
type Done<T> = (T, Option<PendingCommit>);

impl Commits {
    pub(super) fn new(source: &ConfigSource, unit: Duration) -> Self {
        let store = match source {
            ConfigSource::Store { path, slot_size } => Some((
                path.clone(),
                Geometry {
                    slot_size: *slot_size,
                },
            )),
            ConfigSource::File { .. } => None,
        };
        Commits {
            store,
            unit,
            timer: confirm::Machine::default(),
            last_rollback: None,
        }
    }

    /// Reads the store's pending commit again: at start (a hitless restart
    /// inside a window keeps its deadline; a boot has rolled it back
    /// already) and after a reload (`vigil config import` may have written
    /// a commit behind the timer's back).
    pub(super) async fn resync(&mut self, reloader: &Reloader) {
        if self.store.is_none() {
            return;
        }
        match self.job(|_| Ok(())).await {
            Ok(((), pending)) => self.follow(pending, reloader),
            Err(r) => tracing::warn!(
                "commit confirmed: cannot read the store's pending commit: {}",
                crate::control::render::lines_joined(&r.lines)
            ),
        }
    }

    /// When the timer wants [`Commits::expired`].
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.timer.poll_timeout()
    }

    /// Whether `request` applies a config (for systemd's RELOADING=1).
    pub(super) fn applies(request: &Request) -> bool {
        matches!(
            request,
            Request::Commit(_) | Request::Confirm | Request::Rollback { .. }
        )
    }

    /// Answers one commit-family request.
    pub(super) async fn handle(&mut self, request: Request, reloader: &mut Reloader) -> Response {
        if request == Request::Running {
            return Response::Config(running(reloader));
        }
        if self.store.is_none() {
            return Response::Error(
                "this daemon runs a config file (--config): commits need the flash store (vigil run --store); edit the file and run vigil reload".into(),
            );
        }
        match request {
            Request::Commit(ask) => Response::Committed(self.commit(ask, reloader).await),
            Request::CommitCheck { config_text } => Response::Committed(check_only(&config_text)),
            Request::Confirm => Response::Committed(self.confirm(reloader).await),
            Request::Rollback { seq, comment } => {
                Response::Committed(self.rollback(seq, comment, reloader).await)
            }
            Request::ConfigOf { seq } => match self.job(move |h| config_of(h, seq)).await {
                Ok((text, pending)) => {
                    self.follow(pending, reloader);
                    Response::Config(text)
                }
                Err(r) => Response::Error(crate::control::render::lines_joined(&r.lines)),
            },
            Request::History => match self.job(history).await {
                Ok((list, pending)) => {
                    self.follow(pending, reloader);
                    Response::History(list)
                }
                Err(r) => Response::Error(crate::control::render::lines_joined(&r.lines)),
            },
            other => Response::Error(format!("not a commit request: {other:?}")),
        }
    }

    async fn commit(&mut self, ask: CommitAsk, reloader: &mut Reloader) -> CommitReport {
        let now = unix_now();
        let deadline = ask.confirm.map(|w| confirm::deadline(now, w, self.unit));
        let written = self
            .job(move |h| {
                let Validated {
                    payload,
                    warnings,
                    config,
                } = validate(&ask.config_text)?;
                let checked_by = super::source::vouch(&config, &payload);
                drop(config);
                if let Some(base) = ask.base_seq {
                    let newest = h.newest().map_err(|e| store_refusal(&e))?;
                    let newest = newest.map_or(0, |(e, _)| e.seq());
                    if base != newest {
                        return Err(CommitReport::refused(
                            CommitOutcome::Stale { base, newest },
                            Vec::new(),
                        ));
                    }
                }
                let meta = Meta {
                    time: now,
                    user: ask.user.unwrap_or_default(),
                    comment: ask.comment.unwrap_or_default(),
                };
                let done = h.commit_with(&payload, Source::Console, &meta, deadline, checked_by);
                let done = done.map_err(|e| store_refusal(&e))?;
                Ok((done.seq, warnings))
            })
            .await;
        match written {
            Ok(((seq, warnings), pending)) => {
                tracing::info!(
                    commit = seq,
                    confirm_by = deadline,
                    "commit written; applying it"
                );
                let mut report = self.applied(seq, pending, reloader).await;
                report.confirm_by = deadline;
                report.lines = warnings.into_iter().map(Line::Warning).collect();
                report
            }
            Err(r) => r,
        }
    }

    async fn confirm(&mut self, reloader: &mut Reloader) -> CommitReport {
        let meta = Meta {
            time: unix_now(),
            ..Meta::default()
        };
        let written = self
            .job(move |h| {
                let pending = h.pending().map_err(|e| store_refusal(&e))?;
                let Some((entry, _)) = pending else {
                    return Err(CommitReport::refused(
                        CommitOutcome::NothingPending,
                        Vec::new(),
                    ));
                };
                let done = h.confirm(entry.seq(), &meta);
                done.map(|d| d.seq).map_err(|e| store_refusal(&e))
            })
            .await;
        match written {
            Ok((seq, pending)) => {
                tracing::info!(commit = seq, "commit confirmed: confirmed");
                self.applied(seq, pending, reloader).await
            }
            Err(r) => r,
        }
    }

    async fn rollback(
        &mut self,
        of: u64,
        comment: Option<String>,
        reloader: &mut Reloader,
    ) -> CommitReport {
        let meta = Meta {
            time: unix_now(),
            user: String::new(),
            comment: comment.unwrap_or_default(),
        };
        let written = self
            .job(move |h| {
                let done = h.rollback_to(of, &meta);
                done.map(|d| d.seq).map_err(|e| store_refusal(&e))
            })
            .await;
        match written {
            Ok((seq, pending)) => {
                tracing::info!(commit = seq, of, "rollback written; applying it");
                self.applied(seq, pending, reloader).await
            }
            Err(r) => r,
        }
    }

    /// The deadline passed: the pending commit is rolled back to the
    /// newest confirmed one before it, which is applied. A store that
    /// cannot write it leaves the unconfirmed config running (a reset
    /// would still boot the confirmed one): said in the log and status.
    pub(super) async fn expired(&mut self, reloader: &mut Reloader) {
        let Some(of) = self.timer.handle_timeout(Instant::now()) else {
            return;
        };
        let at = unix_now();
        let meta = Meta {
            time: at,
            ..Meta::default()
        };
        let written = self
            .job(move |h| match h.rollback_unconfirmed(&meta) {
                Ok(d) => Ok(Some(d.seq)),
                // Confirmed or replaced meanwhile (another writer).
                Err(StoreError::NotPending { .. }) => Ok(None),
                Err(e) => Err(store_refusal(&e)),
            })
            .await;
        let rollback = match written {
            Ok((None, pending)) => return self.follow(pending, reloader),
            Ok((Some(seq), pending)) => {
                self.follow(pending, reloader);
                tracing::warn!(
                    of,
                    commit = seq,
                    "commit confirmed: not confirmed in time, rolled back to the last confirmed config"
                );
                let report = reloader.reload().await;
                tracing::info!(outcome = ?report.outcome, "commit confirmed: rollback applied");
                AutoRollback {
                    of,
                    seq: Some(seq),
                    at,
                    error: None,
                }
            }
            Err(r) => {
                let error = crate::control::render::lines_joined(&r.lines);
                tracing::error!(of, error = %error, "commit confirmed: the rollback could not be written; the unconfirmed config runs until a reset");
                AutoRollback {
                    of,
                    seq: None,
                    at,
                    error: Some(error),
                }
            }
        };
        self.last_rollback = Some(rollback);
        self.publish(reloader);
    }

    /// A commit `seq` is on the store: the timer follows it and the
    /// reload applies it.
    async fn applied(
        &mut self,
        seq: u64,
        pending: Option<PendingCommit>,
        reloader: &mut Reloader,
    ) -> CommitReport {
        self.follow(pending, reloader);
        CommitReport {
            outcome: CommitOutcome::Committed,
            seq: Some(seq),
            confirm_by: None,
            lines: Vec::new(),
            reload: Some(reloader.reload().await),
        }
    }

    fn follow(&mut self, pending: Option<PendingCommit>, reloader: &Reloader) {
        self.timer.follow(pending, unix_now(), Instant::now());
        self.publish(reloader);
    }

    fn publish(&self, reloader: &Reloader) {
        let status = CommitStatus {
            pending: self.timer.pending(),
            last_rollback: self.last_rollback.clone(),
        };
        reloader.vrrp.published.send_modify(|c| c.commit = status);
    }

    /// Opens the store on a blocking thread, runs `f` on it, and reads the
    /// pending commit after it.
    async fn job<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut History) -> Result<T, CommitReport> + Send + 'static,
    ) -> Result<Done<T>, CommitReport> {
        let Some((path, geometry)) = self.store.clone() else {
            return Err(CommitReport::refused(CommitOutcome::Failed, Vec::new()));
        };
        let run = move || {
            let mut h = History::open(&path, geometry, false).map_err(|e| store_refusal(&e))?;
            let value = f(&mut h)?;
            let pending = h.pending().map_err(|e| store_refusal(&e))?;
            let pending = pending.and_then(|(e, _)| {
                e.head.deadline.map(|deadline| PendingCommit {
                    seq: e.seq(),
                    deadline,
                })
            });
            Ok((value, pending))
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(r) => r,
            Err(e) => Err(CommitReport::refused(
                CommitOutcome::Failed,
                vec![Line::ReadAborted(e.to_string())],
            )),
        }
    }
}

/// What the daemon runs, as a candidate starts from it.
fn running(reloader: &Reloader) -> ConfigText {
    ConfigText {
        text: config::export::export(&reloader.current),
        seq: reloader.running_seq,
        source: reloader.vrrp.published.borrow().source.clone(),
    }
}

/// `CommitCheck`: the validation alone.
fn check_only(text: &str) -> CommitReport {
    match validate(text) {
        Ok(Validated { warnings, .. }) => CommitReport {
            outcome: CommitOutcome::Valid,
            lines: warnings.into_iter().map(Line::Warning).collect(),
            ..CommitReport::default()
        },
        Err(r) => r,
    }
}

/// A candidate that may be committed.
pub struct Validated {
    /// What the commit writes.
    pub payload: Vec<u8>,
    /// The import's warnings, one per line.
    pub warnings: Vec<String>,
    /// What the import made of the text (the payload's config).
    pub config: Config,
}

/// A candidate's text to the payload a commit writes, with the import's
/// warnings; or every reason it cannot commit.
pub fn validate(text: &str) -> Result<Validated, CommitReport> {
    let invalid = |lines| CommitReport::refused(CommitOutcome::Invalid, lines);
    let imported = config::import_str(CANDIDATE, text, false).map_err(|r| {
        let n = r.errors.len();
        let mut lines: Vec<Line> = r.lines().into_iter().map(Line::Refused).collect();
        lines.push(Line::Refused(format!(
            "{CANDIDATE}: {n} error{}; nothing committed",
            if n == 1 { "" } else { "s" }
        )));
        invalid(lines)
    })?;
    if let Err(e) = health::plan::check(&imported.config) {
        return Err(invalid(vec![Line::Refused(e.to_string())]));
    }
    // What the reload after the write would refuse: refused before it.
    let destinations = imported.config.destinations();
    if let Err(e) = crate::mem::room::check(destinations, crate::mem::room::available()) {
        let lines = vec![Line::Refused(e.to_string())];
        return Err(CommitReport::refused(CommitOutcome::Failed, lines));
    }
    let payload = envelope::encode(&imported.config)
        .map_err(|e| invalid(vec![Line::Refused(e.to_string())]))?;
    let warnings = imported.warnings.iter().map(ToString::to_string).collect();
    Ok(Validated {
        payload,
        warnings,
        config: imported.config,
    })
}

/// The history, newest first, marking the commit a reset would boot.
fn history(h: &mut History) -> Result<Vec<HistoryEntry>, CommitReport> {
    let list = h.history().map_err(|e| store_refusal(&e))?;
    let boots = h.running().map_err(|e| store_refusal(&e))?;
    let boots = boots.map(|r| r.entry.seq());
    Ok(list
        .iter()
        .map(|e| HistoryEntry::new(e, Some(e.seq()) == boots))
        .collect())
}

/// Commit `seq`'s config as text.
fn config_of(h: &mut History, seq: u64) -> Result<ConfigText, CommitReport> {
    let payload = h.get(seq).map_err(|e| store_refusal(&e))?;
    let config = envelope::decode(&payload).map_err(|e| {
        CommitReport::refused(
            CommitOutcome::Failed,
            vec![Line::Refused(format!("commit {seq}: {e}"))],
        )
    })?;
    Ok(ConfigText {
        text: config::export::export(&config),
        seq: Some(seq),
        source: format!("commit {seq}"),
    })
}

/// A store error as a report: bad input (too large, no such commit) or a
/// failure, with its causes.
fn store_refusal(e: &StoreError) -> CommitReport {
    let outcome = match e {
        StoreError::TooLarge { .. }
        | StoreError::RecordTooLarge { .. }
        | StoreError::CommentTooLong { .. }
        | StoreError::UserTooLong { .. }
        | StoreError::NoSuchCommit { .. } => CommitOutcome::Invalid,
        _ => CommitOutcome::Failed,
    };
    let mut lines = vec![Line::Refused(e.to_string())];
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        lines.push(Line::Refused(format!("  caused by: {c}")));
        cause = c.source();
    }
    CommitReport::refused(outcome, lines)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
