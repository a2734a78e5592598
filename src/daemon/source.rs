//! Where the running daemon's config comes from, read at start and again
//! on every reload (SIGHUP, `vigil reload`).
//!
//! Owns: reading a keepalived.conf (with its includes) or a commit of the
//! flash store's history into a [`Config`], and saying precisely why that
//! failed. At boot the store's boot rule applies (an unconfirmed newest
//! commit is rolled back, and that is recorded); a reload or a restart's
//! check reads the newest commit, confirmed or not (a `commit confirmed`
//! is applied by a reload). Must not: print (the CLI prints at start, the
//! reload report carries the lines to `vigil reload`) or fall back to the
//! factory default on its own: at start the CLI decides that, and a reload
//! never does (a store with no valid commit leaves the running config in
//! place).

use std::path::{Path, PathBuf};

use crate::config::{self, envelope, Config, Rejected};
use crate::store::{BuildId, Entry, Geometry, History, StoreError};

/// The daemon's config source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A keepalived.conf, read with `options` (`--lenient`, `--config-id`).
    File {
        path: PathBuf,
        options: config::ImportOptions,
    },
    /// The flash store (the appliance); `slot_size` locates the slots of a
    /// two-slot (format 1) store not yet carried into the history.
    Store { path: PathBuf, slot_size: u32 },
}

/// A config read from its source.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Where it came from, for `vigil status` ("FILE", "STORE seq 4").
    pub describe: String,
    /// The store's commit it is; `None`: a file.
    pub seq: Option<u64>,
    /// At boot: the unconfirmed commit that was rolled back, said loudly.
    pub rolled_back: Option<String>,
    /// Warnings of the import (aliases, ignored keywords), one per line.
    pub warnings: Vec<String>,
    /// A commit this build checked as it wrote it (its stamp,
    /// `store::stamp`), so not checked again as it was read.
    pub checked_when_written: bool,
}

/// Why a config could not be read. Each variant keeps every line a user
/// needs (file:line:col for config errors).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The config has errors; nothing of it may be applied.
    #[error("{path}: {} error{}; nothing applied", errors.len(), if errors.len() == 1 { "" } else { "s" })]
    Invalid {
        path: PathBuf,
        errors: Vec<String>,
        /// Errors and warnings together, in file and line order.
        report: Vec<String>,
    },
    #[error("cannot read {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    /// A valid commit whose payload does not decode (a newer format?).
    #[error("{path}: commit {seq}: {source}")]
    Undecodable {
        path: PathBuf,
        seq: u64,
        #[source]
        source: envelope::EnvelopeError,
    },
    /// The store itself is missing (no partition labelled `config`, a
    /// path that does not exist).
    #[error("no config store at {path} (no partition labelled `config`?)")]
    NoStore { path: PathBuf },
    /// No commit to run: a blank store, or only an unconfirmed one.
    #[error("{path}: {why}")]
    NoValidCommit { path: PathBuf, why: String },
    /// A commit that decodes to a config a text import would refuse (a
    /// bug, or a downgrade that reads a newer meaning).
    #[error("{path}: commit {seq} holds a config that does not validate: {}", errors.join("; "))]
    StoredInvalid {
        path: PathBuf,
        seq: u64,
        errors: Vec<String>,
    },
}

impl LoadError {
    /// Every line to show: errors and warnings of the config in file and
    /// line order, then the summary with its causes.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let LoadError::Invalid { report, .. } = self {
            out.extend(report.iter().cloned());
        }
        out.push(self.to_string());
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push(format!("  caused by: {c}"));
            cause = c.source();
        }
        out
    }

    /// Bad input (1) or I/O (3), as the CLI's exit code contract has it.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            LoadError::Invalid { .. }
                | LoadError::Undecodable { .. }
                | LoadError::StoredInvalid { .. }
        )
    }
}

impl ConfigSource {
    /// Reads the config as it is now (a store: its newest commit).
    pub fn load(&self) -> Result<Loaded, LoadError> {
        match self {
            ConfigSource::File { path, options } => load_file(path, options),
            ConfigSource::Store { path, slot_size } => load_store(path, *slot_size),
        }
    }

    /// Reads the config to boot with: a store applies its boot rule and
    /// records the rollback of an unconfirmed commit (`now`: unix seconds).
    pub fn load_at_boot(&self, now: u64) -> Result<Loaded, LoadError> {
        match self {
            ConfigSource::File { .. } => self.load(),
            ConfigSource::Store { path, slot_size } => boot_store(path, *slot_size, now),
        }
    }

    pub fn is_store(&self) -> bool {
        matches!(self, ConfigSource::Store { .. })
    }
}

fn load_file(path: &Path, options: &config::ImportOptions) -> Result<Loaded, LoadError> {
    match config::import_file_with(path, options) {
        Ok(imp) => Ok(Loaded {
            config: imp.config,
            describe: path.display().to_string(),
            seq: None,
            warnings: imp.warnings.iter().map(ToString::to_string).collect(),
            checked_when_written: false,
            rolled_back: None,
        }),
        Err(Rejected {
            unreadable: Some(source),
            ..
        }) => Err(LoadError::Unreadable {
            path: path.to_owned(),
            source,
        }),
        Err(r) => Err(LoadError::Invalid {
            path: path.to_owned(),
            errors: r.errors.iter().map(ToString::to_string).collect(),
            report: r.lines(),
        }),
    }
}

fn open_store(path: &Path, slot_size: u32) -> Result<History, LoadError> {
    History::open(path, Geometry { slot_size }, false).map_err(|source| LoadError::Store {
        path: path.to_owned(),
        source,
    })
}

fn load_store(path: &Path, slot_size: u32) -> Result<Loaded, LoadError> {
    let store_err = |source| LoadError::Store {
        path: path.to_owned(),
        source,
    };
    let newest = open_store(path, slot_size)?.newest().map_err(store_err)?;
    let Some((entry, payload)) = newest else {
        return Err(LoadError::NoValidCommit {
            path: path.to_owned(),
            why: "no valid commit in the store".to_owned(),
        });
    };
    decoded(path, &entry, &payload, None)
}

/// The boot rule. When recording the rollback fails, the fallback still
/// boots (read without writing) and the failure is part of the notice.
fn boot_store(path: &Path, slot_size: u32, now: u64) -> Result<Loaded, LoadError> {
    let store_err = |source| LoadError::Store {
        path: path.to_owned(),
        source,
    };
    let mut store = open_store(path, slot_size)?;
    let (running, write_error) = match store.settle_at_boot(now) {
        Ok(r) => (r, None),
        Err(e) => (store.running().map_err(store_err)?, Some(e)),
    };
    let Some(r) = running else {
        let why = match store.pending().map_err(store_err)? {
            Some((e, _)) => format!(
                "the newest commit, seq {}, is unconfirmed and no confirmed commit precedes it",
                e.seq()
            ),
            None => "no valid commit in the store".to_owned(),
        };
        return Err(LoadError::NoValidCommit {
            path: path.to_owned(),
            why,
        });
    };
    let notice = r.rolled_back_from.map(|of| {
        let mut text = format!(
            "commit {of} was not confirmed before this boot: rolled back to the config of the last confirmed commit, now seq {}",
            r.entry.seq()
        );
        if let Some(e) = &write_error {
            text = format!("{text} (recording the rollback failed: {e})");
        }
        text
    });
    match decoded(path, &r.entry, &r.payload, notice.clone()) {
        Ok(l) => Ok(l),
        Err(e) => older_usable(path, &store, r.entry.seq(), e, notice),
    }
}

/// The boot rule's commit cannot be used (`why`): boot the newest older
/// confirmed commit that decodes and validates, saying which and why, as
/// a box must come up with the last config that worked rather than stop
/// (with `Restart=always` it would loop). None: `NoValidCommit`, which
/// the caller runs as the factory default.
fn older_usable(
    path: &Path,
    store: &History,
    bad: u64,
    why: LoadError,
    notice: Option<String>,
) -> Result<Loaded, LoadError> {
    let store_err = |source| LoadError::Store {
        path: path.to_owned(),
        source,
    };
    let older = store.history().map_err(store_err)?;
    for entry in older.iter().filter(|e| e.seq() < bad && e.is_confirmed()) {
        let Ok(payload) = store.get(entry.seq()) else {
            continue;
        };
        let said = format!(
            "commit {bad} cannot be used ({why}): booted commit {}, the newest older one that can; `vigil history` lists them, `vigil rollback SEQ` commits one again",
            entry.seq()
        );
        let said = match &notice {
            Some(n) => format!("{n}; {said}"),
            None => said,
        };
        if let Ok(mut l) = decoded(path, entry, &payload, Some(said.clone())) {
            l.describe = format!("{} (FALLBACK: commit {bad} cannot be used)", l.describe);
            return Ok(l);
        }
    }
    Err(LoadError::NoValidCommit {
        path: path.to_owned(),
        why: format!("no commit can be used: the newest, commit {bad}: {why}"),
    })
}

fn decoded(
    path: &Path,
    entry: &Entry,
    payload: &[u8],
    rolled_back: Option<String>,
) -> Result<Loaded, LoadError> {
    let config = envelope::decode(payload).map_err(|source| LoadError::Undecodable {
        path: path.to_owned(),
        seq: entry.seq(),
        source,
    })?;
    let checked_when_written =
        entry.checked_by.is_some() && entry.checked_by.as_ref() == crate::build_id::own();
    if !checked_when_written {
        revalidate(&config).map_err(|errors| LoadError::StoredInvalid {
            path: path.to_owned(),
            seq: entry.seq(),
            errors,
        })?;
    }
    Ok(Loaded {
        config,
        describe: format!("{} seq {}", path.display(), entry.seq()),
        seq: Some(entry.seq()),
        warnings: Vec::new(),
        rolled_back,
        checked_when_written,
    })
}

/// The build that vouches for `payload` as the stored form of `config`,
/// which this build's import accepted: this build, when the payload
/// decodes here to exactly `config`. What it vouches for is what
/// [`revalidate`] would find, as that holds the decoded config to the same
/// import. `None` (no build id, or a payload that does not give `config`
/// back): the commit is written without a stamp and checked as it is read.
pub fn vouch(config: &Config, payload: &[u8]) -> Option<&'static BuildId> {
    let id = crate::build_id::own()?;
    let back = envelope::decode(payload).ok()?;
    (back == *config).then_some(id)
}

/// A decoded config held to every bound and rule of a text import: its
/// export read back (names cannot occur in an export, and none is looked
/// up). `Err`: the errors, one per line.
pub fn revalidate(config: &Config) -> Result<(), Vec<String>> {
    let text = config::export::export(config);
    let opts = config::ImportOptions {
        resolver: crate::resolve::Resolver::Table(Default::default()),
        ..config::ImportOptions::new(false)
    };
    match config::import_str_with("stored config", &text, &opts) {
        Ok(_) => Ok(()),
        Err(r) => Err(r.errors.iter().map(ToString::to_string).collect()),
    }
}
