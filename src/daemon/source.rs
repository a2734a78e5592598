//! Where the running daemon's config comes from, read at start and again
//! on every reload (SIGHUP, `vigil reload`).
//!
//! Owns: reading a keepalived.conf (with its includes) or the flash
//! store's newest valid slot into a [`Config`], and saying precisely why
//! that failed. Must not: print (the CLI prints at start, the reload report
//! carries the lines to `vigil reload`) or fall back to the factory default
//! on its own: at start the CLI decides that, and a reload never does (a
//! store with no valid slot leaves the running config in place).

use std::path::{Path, PathBuf};

use crate::config::{self, envelope, Config, Rejected};
use crate::store::{Geometry, Store, StoreError};

/// The daemon's config source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A keepalived.conf; `lenient` turns unknown keywords into warnings.
    File { path: PathBuf, lenient: bool },
    /// The flash store (the appliance).
    Store { path: PathBuf, slot_size: u32 },
}

/// A config read from its source.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Where it came from, for `vigil status` ("FILE", "STORE slot A seq 4").
    pub describe: String,
    /// Warnings of the import (aliases, ignored keywords), one per line.
    pub warnings: Vec<String>,
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
    /// A valid slot whose payload does not decode (a newer format?).
    #[error("{path}: slot {slot} seq {seq}: {source}")]
    Undecodable {
        path: PathBuf,
        slot: String,
        seq: u64,
        #[source]
        source: envelope::EnvelopeError,
    },
    /// The store itself is missing (no partition labelled `config`, a
    /// path that does not exist).
    #[error("no config store at {path} (no partition labelled `config`?)")]
    NoStore { path: PathBuf },
    /// Neither slot holds a valid config.
    #[error("{path}: no valid config in either slot (A: {a}; B: {b})")]
    NoValidSlot { path: PathBuf, a: String, b: String },
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
            LoadError::Invalid { .. } | LoadError::Undecodable { .. }
        )
    }
}

impl ConfigSource {
    /// Reads the config as it is now.
    pub fn load(&self) -> Result<Loaded, LoadError> {
        match self {
            ConfigSource::File { path, lenient } => load_file(path, *lenient),
            ConfigSource::Store { path, slot_size } => load_store(path, *slot_size),
        }
    }

    pub fn is_store(&self) -> bool {
        matches!(self, ConfigSource::Store { .. })
    }
}

fn load_file(path: &Path, lenient: bool) -> Result<Loaded, LoadError> {
    match config::import_file(path, lenient) {
        Ok(imp) => Ok(Loaded {
            config: imp.config,
            describe: path.display().to_string(),
            warnings: imp.warnings.iter().map(ToString::to_string).collect(),
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

fn load_store(path: &Path, slot_size: u32) -> Result<Loaded, LoadError> {
    let store_err = |source| LoadError::Store {
        path: path.to_owned(),
        source,
    };
    let loaded = Store::open(path, Geometry { slot_size }, false)
        .and_then(|s| s.load())
        .map_err(store_err)?;
    let Some(n) = &loaded.newest else {
        return Err(LoadError::NoValidSlot {
            path: path.to_owned(),
            a: loaded.a.to_string(),
            b: loaded.b.to_string(),
        });
    };
    match envelope::decode(&n.payload) {
        Ok(config) => Ok(Loaded {
            config,
            describe: format!("{} slot {} seq {}", path.display(), n.slot, n.seq),
            warnings: Vec::new(),
        }),
        Err(source) => Err(LoadError::Undecodable {
            path: path.to_owned(),
            slot: n.slot.to_string(),
            seq: n.seq,
            source,
        }),
    }
}
