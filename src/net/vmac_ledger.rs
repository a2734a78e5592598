//! The values a vmac's parent had before vigil changed them
//! ([`super::vmac::PARENT_SYSCTLS`]), so that the last vmac on a parent
//! to go puts them back; and, in the [`RP_FILTER`] entry, every
//! interface's `rp_filter` before the first IPv4 vmac moved `all`'s onto
//! them, put back by the last IPv4 vmac.
//!
//! Owns: the ledger file (beside the control socket,
//! `control.vmac-sysctls`: one line a parent, `PARENT KEY=VALUE... vmacs
//! NAME...`, interface names holding no white space, as the kernel
//! requires), what it records (a parent's values are read once, by the
//! first vmac made on it, and kept while any vmac it lists is there) and
//! what a vmac going away gives back ([`Entries::release`]). The file, not
//! the process, holds it: a hitless restart (the same file, read again by
//! the new image, the vmacs kept) and a crash followed by a start (the
//! vmacs still there) restore the values found before the first vmac, not
//! the ones vigil set. /run is emptied at boot, as the sysctls are.
//! Must not: write sysctls or touch links (`net::vmac` does), or decide
//! when a vmac goes (the daemon does).
//!
//! Each change is read, changed and written (to a temporary file renamed
//! over the ledger) with no await in between, so the daemon's tasks on
//! its one runtime never interleave inside one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The word between a parent's values and its vmacs.
const VMACS: &str = "vmacs";

/// The entry of the `rp_filter` values every interface had before the
/// first IPv4 vmac moved `all`'s onto them (its keys are interface
/// names, `all` and `default` among them; held by every IPv4 vmac). No
/// interface is named so: a name holds no `/`.
pub const RP_FILTER: &str = "rp_filter/all";

/// Why the ledger could not be read or written.
#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {why}", path.display())]
    Bad {
        path: PathBuf,
        line: usize,
        why: &'static str,
    },
}

/// A parent's values before the first vmac on it, and the vmacs on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// `(key, value)` under `net/ipv4/conf/<parent>/`, as read.
    pub values: Vec<(String, String)>,
    pub vmacs: BTreeSet<String>,
}

/// The ledger's content: by parent name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries(pub BTreeMap<String, Saved>);

impl Entries {
    /// Whether `parent`'s values are recorded already.
    pub fn holds(&self, parent: &str) -> bool {
        self.0.contains_key(parent)
    }

    /// `vmac` is on `parent`, whose values before any vmac were `values`
    /// (`None`: recorded already, kept as they are). A vmac listed under
    /// another parent (a reload moved it) leaves that one: its values
    /// come back when it was the last there.
    pub fn record(
        &mut self,
        parent: &str,
        vmac: &str,
        values: Option<Vec<(String, String)>>,
    ) -> Vec<(String, Vec<(String, String)>)> {
        let moved = (self.0.iter())
            .filter(|(p, _)| p.as_str() != parent && parent != RP_FILTER && p.as_str() != RP_FILTER)
            .filter(|(_, s)| s.vmacs.contains(vmac))
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>();
        let mut back = Vec::new();
        for p in moved {
            back.extend(self.release_from(&p, vmac));
        }
        let saved = self.0.entry(parent.to_owned()).or_default();
        if let Some(values) = values {
            if saved.values.is_empty() {
                saved.values = values;
            }
        }
        saved.vmacs.insert(vmac.to_owned());
        back
    }

    /// `vmac` is gone: each entry it was the last vmac of (its parent's,
    /// [`RP_FILTER`]), with the values to put back.
    pub fn release(&mut self, vmac: &str) -> Vec<(String, Vec<(String, String)>)> {
        let held: Vec<String> = (self.0.iter())
            .filter(|(_, s)| s.vmacs.contains(vmac))
            .map(|(p, _)| p.clone())
            .collect();
        (held.iter())
            .filter_map(|p| self.release_from(p, vmac))
            .collect()
    }

    fn release_from(
        &mut self,
        parent: &str,
        vmac: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        let saved = self.0.get_mut(parent)?;
        saved.vmacs.remove(vmac);
        if !saved.vmacs.is_empty() {
            return None;
        }
        let saved = self.0.remove(parent)?;
        Some((parent.to_owned(), saved.values))
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (parent, s) in &self.0 {
            out.push_str(parent);
            for (k, v) in &s.values {
                out.push_str(&format!(" {k}={v}"));
            }
            out.push(' ');
            out.push_str(VMACS);
            for m in &s.vmacs {
                out.push(' ');
                out.push_str(m);
            }
            out.push('\n');
        }
        out
    }

    /// Reads [`Entries::render`]'s text; `Err((line, why))` at the first
    /// line that is not one.
    pub fn parse(text: &str) -> Result<Entries, (usize, &'static str)> {
        let mut e = Entries::default();
        for (n, line) in text.lines().enumerate() {
            let mut words = line.split_whitespace();
            let Some(parent) = words.next() else {
                continue;
            };
            let mut saved = Saved::default();
            let mut in_vmacs = false;
            for w in words {
                if in_vmacs {
                    saved.vmacs.insert(w.to_owned());
                } else if w == VMACS {
                    in_vmacs = true;
                } else {
                    let (k, v) = w.rsplit_once('=').ok_or((n + 1, "expected KEY=VALUE"))?;
                    let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
                    if k.is_empty() || !digits {
                        return Err((n + 1, "expected KEY=VALUE, the value a number"));
                    }
                    saved.values.push((k.to_owned(), v.to_owned()));
                }
            }
            if saved.vmacs.is_empty() {
                return Err((n + 1, "a parent without 'vmacs NAME...'"));
            }
            if e.0.insert(parent.to_owned(), saved).is_some() {
                return Err((n + 1, "a parent given twice"));
            }
        }
        Ok(e)
    }
}

/// The ledger file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    /// The ledger of the daemon whose control socket is `control`.
    pub fn beside(control: &Path) -> Ledger {
        Ledger {
            path: control.with_extension("vmac-sysctls"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds; nothing when there is no file.
    pub fn load(&self) -> Result<Entries, LedgerError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entries::default()),
            Err(source) => {
                return Err(LedgerError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        Entries::parse(&text).map_err(|(line, why)| LedgerError::Bad {
            path: self.path.clone(),
            line,
            why,
        })
    }

    /// Writes `e` (a temporary file renamed over the ledger); an empty
    /// ledger removes the file.
    pub fn store(&self, e: &Entries) -> Result<(), LedgerError> {
        let io = |source| LedgerError::Io {
            path: self.path.clone(),
            source,
        };
        if e.0.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(x) if x.kind() != std::io::ErrorKind::NotFound => Err(io(x)),
                _ => Ok(()),
            };
        }
        let tmp = self.path.with_extension("vmac-sysctls.tmp");
        std::fs::write(&tmp, e.render()).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Load, change with `f`, store: one step, nothing awaited inside. A
    /// file that does not read (logged) is started afresh: what it held
    /// is lost either way, and a new record is better than none.
    pub fn update<T>(&self, f: impl FnOnce(&mut Entries) -> T) -> Result<T, LedgerError> {
        let mut e = match self.load() {
            Ok(e) => e,
            Err(bad @ LedgerError::Bad { .. }) => {
                tracing::error!(error = %bad, "vmac ledger unreadable: started afresh");
                Entries::default()
            }
            Err(e) => return Err(e),
        };
        let out = f(&mut e);
        self.store(&e)?;
        Ok(out)
    }
}

#[cfg(test)]
#[path = "vmac_ledger_tests.rs"]
mod tests;
