//! The `no_accept` packet filter's life in the daemon.
//!
//! Owns: [`NoAccept`], the filter in force. It is put in place at start,
//! before VRRP (a VIP must never be up unguarded), as one transaction
//! that also replaces what an earlier run left; it changes on a reload
//! whose config guards other VIPs or services (one transaction again: no
//! packet ever sees a half-made filter); it is removed at a deliberate
//! stop, after every instance has resigned, and kept by the exec of a
//! hitless restart (the new process replaces it with its own). A config
//! that asks for the filter on a box that cannot have it (no nf_tables
//! in the kernel) does not start, and such a reload fails with the old
//! filter still in force. Must not: decide what the filter holds (that is
//! `net::no_accept`).

use crate::config::model::Config;
use crate::control::Change;
use crate::net::nft::NftError;
use crate::net::no_accept::Filter;

pub(super) struct NoAccept {
    filter: Filter,
}

/// Puts `filter` in the kernel, off the runtime (a blocking socket).
async fn install(filter: Filter) -> (Filter, Result<(), NftError>) {
    let done = tokio::task::spawn_blocking(move || {
        let r = crate::net::nft::apply(&filter.batch());
        (filter, r)
    });
    match done.await {
        Ok(done) => done,
        // The closure does not panic; if it ever did, nothing is known.
        Err(e) => (Filter::default(), Err(NftError::Frame(e.to_string()))),
    }
}

/// Whether an earlier run may have left its tables: not when the kernel
/// says neither is there. A read answered while it is sent, so it runs
/// in place; it spares most starts a transaction (a removal commits even
/// when there is nothing to remove: 15-30 ms of a cold start in the lab
/// VM). A read that fails says maybe, and the removal is tried as before.
fn maybe_left() -> bool {
    match crate::net::no_accept::any_in_place() {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!("no_accept filter: cannot read the tables: {e}");
            true
        }
    }
}

fn log(filter: &Filter) {
    let (v4, v6) = (&filter.v4, &filter.v6);
    tracing::info!(
        vips = v4.vips.len() + v6.vips.len(),
        ports = v4.ports.len() + v6.ports.len(),
        all_ports = v4.all_ports.len() + v6.all_ports.len(),
        marks = v4.marks.len() + v6.marks.len(),
        "no_accept filter in place"
    );
}

impl NoAccept {
    /// The config's filter, in place before anything else uses the VIPs.
    /// Without one, a table an earlier run left is removed, if a read
    /// finds one (a kernel without nf_tables has none, and that is fine).
    pub(super) async fn start(config: &Config) -> Result<Self, NftError> {
        let wanted = Filter::of(config);
        let needed = !wanted.is_empty();
        if !needed && !maybe_left() {
            return Ok(NoAccept { filter: wanted });
        }
        let (filter, result) = install(wanted).await;
        match result {
            Ok(()) if needed => log(&filter),
            Ok(()) => {}
            Err(e) if !needed => tracing::debug!("no_accept filter: none to remove: {e}"),
            Err(e) => return Err(e),
        }
        Ok(NoAccept { filter })
    }

    /// Whether `new` guards other VIPs or services than `old`.
    pub(super) fn changed(old: &Config, new: &Config) -> bool {
        Filter::of(old) != Filter::of(new)
    }

    /// Takes `new`'s filter; on failure the old one stays in force.
    pub(super) async fn reload(&mut self, new: &Config) -> (Change, bool) {
        let (filter, result) = install(Filter::of(new)).await;
        let vips = filter.v4.vips.len() + filter.v6.vips.len();
        match result {
            Ok(()) => {
                log(&filter);
                self.filter = filter;
                (Change::NoAcceptFilter { vips, error: None }, true)
            }
            Err(e) => {
                tracing::error!("no_accept filter not changed: {e}");
                let error = Some(e.to_string());
                (Change::NoAcceptFilter { vips, error }, false)
            }
        }
    }

    /// At a deliberate stop, after the instances resigned.
    pub(super) async fn stop(&mut self) {
        if self.filter.is_empty() {
            return;
        }
        if let (_, Err(e)) = install(Filter::default()).await {
            tracing::error!("no_accept filter not removed: {e}");
        }
    }
}
