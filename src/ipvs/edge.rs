//! The netlink edge of the IPVS tasks: the one place a task reaches the
//! kernel's IPVS family.
//!
//! Owns: a task's [`Client`], connected on first use and dropped after a
//! failed call so that the next call reconnects ([`Link`]); the blocking
//! call that moves the link onto tokio's blocking pool and back, a panic
//! there coming back as [`Panicked`] with a fresh unconnected link rather
//! than a dead task ([`Edge::call`]); and `modprobe ip_vs`, run at most
//! once per edge when the family is missing ([`Edge::modprobe_once`]).
//! Must not: decide what to dump or change (the table task and the sync
//! task pass that in), or block the runtime (VRRP shares it).
//!
//! ```text
//!   [ipvs::task] / [ipvs::sync] --Edge::call(f)--> spawn_blocking: f(&mut Link)
//!                                                     Link::with: connect? -> f(&mut Client)
//!                               <--Ok(T) | Err(Panicked)--+
//! ```
//!
//! The table task and the sync task each hold their own [`Edge`]: their
//! calls run at the same time on different threads, and a netlink socket
//! carries one conversation at a time.

use std::fmt;
use std::time::{Duration, Instant};

use super::client::{self, Client};

/// How long `modprobe ip_vs` may take.
const MODPROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking netlink call panicked (a bug in the netlink stack). The
/// client it held is gone; the next call reconnects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("netlink call panicked: {0}")]
pub struct Panicked(String);

/// The client of one task, connected lazily. Used only inside
/// [`Edge::call`]: its calls block.
pub struct Link {
    /// The task's name in log lines ("ipvs", "ipvs sync").
    name: &'static str,
    client: Option<Client>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("name", &self.name)
            .field("connected", &self.client.is_some())
            .finish()
    }
}

impl Link {
    fn new(name: &'static str) -> Self {
        Link { name, client: None }
    }

    /// `f` on the client, connecting first if needed. An error (from the
    /// connect or from `f`) drops the client: the next call reconnects.
    /// Blocking.
    pub fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, client::Error>,
    ) -> Result<T, client::Error> {
        if self.client.is_none() {
            let t0 = Instant::now();
            self.client = Some(Client::connect()?);
            tracing::info!(
                task = %self.name,
                took_ms = format_args!("{:.1}", t0.elapsed().as_secs_f64() * 1000.0),
                "connected to the kernel's IPVS family"
            );
        }
        self.if_connected(f).expect("connected above")
    }

    /// `f` on the client if it is connected (`None` otherwise); an error
    /// drops it as in [`Link::with`]. Blocking.
    pub fn if_connected<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, client::Error>,
    ) -> Option<Result<T, client::Error>> {
        let r = f(self.client.as_mut()?);
        if r.is_err() {
            self.client = None;
        }
        Some(r)
    }
}

/// One task's way to the kernel: its [`Link`] and whether `modprobe
/// ip_vs` was tried.
#[derive(Debug)]
pub struct Edge {
    name: &'static str,
    link: Link,
    modprobe_tried: bool,
}

impl Edge {
    /// `name`: the task's name in log lines.
    pub fn new(name: &'static str) -> Self {
        Edge {
            name,
            link: Link::new(name),
            modprobe_tried: false,
        }
    }

    /// Runs `f` with the link on the blocking pool and takes the link
    /// back. If `f` panicked, the link comes back unconnected and the
    /// panic as [`Panicked`]: the task goes on, the daemon never goes down.
    pub async fn call<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Link) -> T + Send + 'static,
    ) -> Result<T, Panicked> {
        let mut link = std::mem::replace(&mut self.link, Link::new(self.name));
        let done = tokio::task::spawn_blocking(move || {
            let t = f(&mut link);
            (link, t)
        })
        .await;
        match done {
            Ok((link, t)) => {
                self.link = link;
                Ok(t)
            }
            Err(e) => {
                tracing::error!(task = %self.name, error = %e, "netlink call panicked; reconnecting");
                Err(Panicked(e.to_string()))
            }
        }
    }

    /// After a call found the IPVS family missing: `modprobe ip_vs`, the
    /// first time only (bounded, logged). Later calls just retry.
    pub async fn modprobe_once(&mut self) {
        if std::mem::replace(&mut self.modprobe_tried, true) {
            return;
        }
        let name = self.name;
        tracing::warn!(task = %name, "ip_vs not loaded; running modprobe ip_vs");
        let child = tokio::process::Command::new("modprobe")
            .arg("ip_vs")
            .kill_on_drop(true)
            .status();
        match tokio::time::timeout(MODPROBE_TIMEOUT, child).await {
            Ok(Ok(s)) if s.success() => tracing::info!(task = %name, "modprobe ip_vs done"),
            Ok(Ok(s)) => tracing::error!(task = %name, status = %s, "modprobe ip_vs failed"),
            Ok(Err(e)) => tracing::error!(task = %name, error = %e, "cannot run modprobe"),
            Err(_) => tracing::error!(task = %name, "modprobe ip_vs timed out after 10 s"),
        }
    }
}

#[cfg(test)]
#[path = "edge_tests.rs"]
mod tests;
