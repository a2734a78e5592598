//! Whether the operator has drained the box (`vigil drain` / `vigil
//! undrain`).
//!
//! Owns: the state and its file beside the control socket (`<socket>.drained`,
//! under `/run`): a restart of vigil, hitless or not, keeps the box drained;
//! a reboot does not (a box that comes back by itself takes traffic). Must
//! not: decide what a drain does to the routes (the `bgp` block's `drain`
//! and [`super::announce`] do).

use std::path::{Path, PathBuf};

use tokio::sync::watch;

pub struct Drain {
    path: PathBuf,
    tx: watch::Sender<bool>,
}

impl Drain {
    /// The drain of the daemon whose control socket is `control`, as its
    /// file says.
    pub fn beside(control: &Path) -> Drain {
        let path = control.with_extension("drained");
        let on = path.exists();
        Drain {
            path,
            tx: watch::channel(on).0,
        }
    }

    pub fn is_drained(&self) -> bool {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// Drains (`true`) or undrains the box; the file first, so what is
    /// announced never runs ahead of what a restart would find.
    pub fn set(&self, on: bool) -> std::io::Result<()> {
        if on {
            std::fs::write(&self.path, b"drained by vigil drain\n")?;
        } else {
            match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        self.tx.send_replace(on);
        Ok(())
    }
}

#[cfg(test)]
#[path = "drain_tests.rs"]
mod tests;
