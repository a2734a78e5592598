//! What a commit says, as data: the commit-family requests' answers
//! (`vigil commit`, `confirm`, `rollback`, `history`, and later the
//! console), and what `vigil status` carries of a commit confirmed.
//!
//! Owns: the protocol's mirror of the store's history entries
//! ([`HistoryEntry`], [`CommitSource`]) and the mapping from
//! `store::Entry`, so the store's record format can change without
//! changing the frame; the commit report ([`CommitReport`]) and the
//! commit-confirmed status ([`CommitStatus`]). Must not: word anything
//! (that is [`super::render`], and `store::listing` for history lines) or
//! touch the store.

use serde::{Deserialize, Serialize};

use super::reload::{Line, ReloadReport};
use crate::store::{self, record::Head};

/// What a commit-family request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CommitReport {
    pub outcome: CommitOutcome,
    /// The commit written (the confirm or rollback record for those).
    pub seq: Option<u64>,
    /// A commit confirmed: unix seconds by which it must be confirmed.
    pub confirm_by: Option<u64>,
    /// Warnings of the import, or every error of a refused config
    /// (file:line:col), or why the store refused the write.
    pub lines: Vec<Line>,
    /// The reload that applied it; `None` when nothing was written.
    pub reload: Option<ReloadReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CommitOutcome {
    /// Written to the store and applied (see `reload` for how it went).
    #[default]
    Committed,
    /// `CommitCheck`: the config would commit; nothing written.
    Valid,
    /// The config has errors: nothing written.
    Invalid,
    /// The candidate was made on another running config: nothing written.
    Stale { base: u64, newest: u64 },
    /// `Confirm` with no commit waiting for one.
    NothingPending,
    /// The store could not be read or written.
    Failed,
}

impl CommitReport {
    /// A report of nothing written, for `outcome` and its lines.
    pub fn refused(outcome: CommitOutcome, lines: Vec<Line>) -> Self {
        CommitReport {
            outcome,
            lines,
            ..CommitReport::default()
        }
    }
}

/// Where a commit came from (the store's `record::Source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitSource {
    Import,
    Console,
    Rollback { of: u64 },
    ConfirmedRollback { of: u64 },
    Confirm { of: u64 },
    FormatOne,
}

impl From<store::Source> for CommitSource {
    fn from(s: store::Source) -> Self {
        use store::Source as S;
        match s {
            S::Import => CommitSource::Import,
            S::Console => CommitSource::Console,
            S::Rollback { of } => CommitSource::Rollback { of },
            S::ConfirmedRollback { of } => CommitSource::ConfirmedRollback { of },
            S::Confirm { of } => CommitSource::Confirm { of },
            S::FormatOne => CommitSource::FormatOne,
        }
    }
}

impl From<CommitSource> for store::Source {
    fn from(s: CommitSource) -> Self {
        use store::Source as S;
        match s {
            CommitSource::Import => S::Import,
            CommitSource::Console => S::Console,
            CommitSource::Rollback { of } => S::Rollback { of },
            CommitSource::ConfirmedRollback { of } => S::ConfirmedRollback { of },
            CommitSource::Confirm { of } => S::Confirm { of },
            CommitSource::FormatOne => S::FormatOne,
        }
    }
}

/// One commit of the history, as `History` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    /// Unix seconds; 0: unknown.
    pub time: u64,
    /// Unconfirmed: unix seconds by which it must be confirmed.
    pub deadline: Option<u64>,
    pub source: CommitSource,
    pub user: String,
    pub comment: String,
    /// Payload bytes.
    pub len: u32,
    /// The one a reset would boot.
    pub boots: bool,
}

impl HistoryEntry {
    pub fn new(e: &store::Entry, boots: bool) -> Self {
        let h = &e.head;
        HistoryEntry {
            seq: h.seq,
            time: h.time,
            deadline: h.deadline,
            source: h.source.into(),
            user: h.user.clone(),
            comment: h.comment.clone(),
            len: h.len,
            boots,
        }
    }

    /// The store's head again, for `store::listing`.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            time: self.time,
            deadline: self.deadline,
            source: self.source.into(),
            user: self.user.clone(),
            comment: self.comment.clone(),
            len: self.len,
        }
    }
}

/// A commit confirmed as `vigil status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CommitStatus {
    /// The commit waiting for a confirm, if any.
    pub pending: Option<PendingCommit>,
    /// The last automatic rollback since the daemon started.
    pub last_rollback: Option<AutoRollback>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCommit {
    pub seq: u64,
    /// Unix seconds: rolled back then unless confirmed.
    pub deadline: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoRollback {
    /// The unconfirmed commit rolled back.
    pub of: u64,
    /// The rollback's own commit; `None`: writing it failed.
    pub seq: Option<u64>,
    /// Unix seconds.
    pub at: u64,
    /// Why it could not be written, when it could not.
    pub error: Option<String>,
}
