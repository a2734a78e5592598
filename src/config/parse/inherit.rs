//! Checker settings written one level up: keepalived lets `connect_timeout`,
//! `retry`, `delay_before_retry`, `delay_loop` and
//! `warmup` be given in a `real_server` or a `virtual_server`, as the
//! default of the checkers inside.
//!
//! Owns: reading those five at any level into [`Inherit`], and resolving
//! them into each checker's own fields once its virtual server is read,
//! checker > real_server > virtual_server > the checker kind's default.
//! Must not: add anything to the model: a stored config holds each
//! checker's resolved values (and `export` writes them in the checker).
//! A virtual server's `delay_loop` keeps its own model field (a checker
//! without one uses it), so only the real server's is resolved here.
//! `connect_timeout` does not reach a MISC_CHECK (it has `misc_timeout`).

use super::Reader;
use crate::config::bounds::{Millis, CONNECT_TIMEOUT_MAX, DAY, DELAY_LOOP_MIN, RETRY_MAX};
use crate::config::model::{CheckKind, Checker};
use crate::config::syntax::Node;

/// The inheritable settings written at one level (`None`: not written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Inherit {
    pub connect_timeout: Option<Millis>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Millis>,
    pub delay_loop: Option<Millis>,
    pub warmup: Option<Millis>,
}

/// The keywords [`Inherit`] reads.
pub(super) const KEYWORDS: [&str; 5] = [
    "connect_timeout",
    "retry",
    "delay_before_retry",
    "delay_loop",
    "warmup",
];

impl Inherit {
    /// What is written here, else what `outer` says.
    pub fn or(self, outer: Inherit) -> Inherit {
        Inherit {
            connect_timeout: self.connect_timeout.or(outer.connect_timeout),
            retry: self.retry.or(outer.retry),
            delay_before_retry: self.delay_before_retry.or(outer.delay_before_retry),
            delay_loop: self.delay_loop.or(outer.delay_loop),
            warmup: self.warmup.or(outer.warmup),
        }
    }

    /// Writes what is set into `c`.
    pub fn apply(self, c: &mut Checker) {
        if !matches!(c.kind, CheckKind::Misc(_)) {
            if let Some(t) = self.connect_timeout {
                c.connect_timeout = t;
            }
        }
        if let Some(r) = self.retry {
            c.retry = r;
        }
        if let Some(t) = self.delay_before_retry {
            c.delay_before_retry = t;
        }
        if self.delay_loop.is_some() {
            c.delay_loop = self.delay_loop;
        }
        if self.warmup.is_some() {
            c.warmup = self.warmup;
        }
    }
}

impl Reader<'_> {
    /// Reads `kw` (one of [`KEYWORDS`]) into `into`, with its bounds.
    pub(super) fn inherited(&mut self, n: &Node, kw: &str, into: &mut Inherit) {
        match kw {
            "connect_timeout" => {
                into.connect_timeout = self.millis(n, Millis(1), CONNECT_TIMEOUT_MAX);
            }
            "retry" => into.retry = self.u32_in(n, 0, RETRY_MAX),
            "delay_before_retry" => into.delay_before_retry = self.millis(n, Millis(0), DAY),
            "delay_loop" => into.delay_loop = self.millis(n, DELAY_LOOP_MIN, DAY),
            _ => into.warmup = self.millis(n, Millis(0), DAY),
        }
    }
}

#[cfg(test)]
#[path = "inherit_tests.rs"]
mod tests;
