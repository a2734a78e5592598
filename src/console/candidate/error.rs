//! Why a `set` or `delete` was refused: the command's path and the typed
//! cause, in one line.
//!
//! Owns: the refusal types. Must not: print (the console does).

use crate::config::error::{ErrorKind, WarningKind};
use std::fmt;

/// The two edits of the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Set,
    Delete,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Set => "set",
            Verb::Delete => "delete",
        })
    }
}

/// A refused edit; the candidate is unchanged. Prints as
/// `set vrrp_instance VI_1 priority 300: 'priority': invalid value '300', expected ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{verb} {path}: {cause}")]
pub struct EditError {
    pub verb: Verb,
    /// The words as typed, quoted where needed.
    pub path: String,
    pub cause: Cause,
}

/// What is wrong with an edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Cause {
    /// The words stop where more is needed.
    #[error("expected {expected}")]
    Incomplete { expected: String },
    /// A word that is no keyword of the block it is in.
    #[error("unknown keyword '{keyword}' in {context}, expected {}", expected_words(.suggestion, .expected))]
    UnknownKeyword {
        keyword: String,
        context: &'static str,
        suggestion: Option<&'static str>,
        /// Every keyword of that block.
        expected: Vec<&'static str>,
    },
    /// keepalived reads it there, vigil does not.
    #[error("keepalived's '{keyword}' is not supported by vigil (in {context})")]
    NotInVigil {
        keyword: String,
        context: &'static str,
    },
    /// keepalived accepts it and it changes nothing in vigil.
    #[error("'{keyword}' is obsolete: {what}")]
    Obsolete { keyword: String, what: &'static str },
    /// `delete` of something the candidate does not have.
    #[error("nothing to delete: the candidate has no {what}")]
    NotThere { what: String },
    /// A value the block does not take: keywords that take none, or a
    /// block keyword given a value.
    #[error("'{keyword}' {what}")]
    Shape { keyword: String, what: &'static str },
    /// The parser's (or a validator's) errors about the edited text: the
    /// ones the edit added, in file order.
    #[error("{}", join(.0))]
    Config(Vec<ErrorKind>),
    /// A value keepalived reads other than as written (`state master`
    /// starts as BACKUP): an import warns, the console refuses it.
    #[error("{0}; write what you mean")]
    Tolerated(Box<WarningKind>),
}

fn expected_words(suggestion: &Option<&'static str>, expected: &[&'static str]) -> String {
    match suggestion {
        Some(s) => format!("'{s}' (did you mean it?)"),
        None => format!("one of {}", expected.join(" ")),
    }
}

fn join(errors: &[ErrorKind]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    all.join("; ")
}
