//! The running binary's build id: the GNU build id note the linker writes
//! (a hash over the linked output, so two binaries share one only when
//! they are the same build), read once from /proc/self/exe.
//!
//! Owns: finding the note in an ELF file and keeping this process's id.
//! Must not: decide what an id is good for (`store::stamp` and
//! `daemon::source` do), or fail its caller: a binary without the note, or
//! a /proc that cannot be read, is `None`, and every stored config is then
//! checked as it is read.

use std::path::Path;
use std::sync::OnceLock;

use object::read::{Object, ReadCache};

use crate::store::BuildId;

/// This process's build id, read on the first call.
pub fn own() -> Option<&'static BuildId> {
    static ID: OnceLock<Option<BuildId>> = OnceLock::new();
    ID.get_or_init(|| of_file(Path::new("/proc/self/exe")))
        .as_ref()
}

/// The build id of the ELF file at `path`; only its headers and the note
/// are read.
pub fn of_file(path: &Path) -> Option<BuildId> {
    let file = std::fs::File::open(path).ok()?;
    let cache = ReadCache::new(file);
    let elf = object::File::parse(&cache).ok()?;
    BuildId::new(elf.build_id().ok()??)
}

#[cfg(test)]
#[path = "build_id_tests.rs"]
mod tests;
