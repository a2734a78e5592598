//! Memory housekeeping of the daemon (glibc's allocator, as in the static
//! build; with another libc both calls do nothing).
//!
//! Owns: the allocator's settings, set once at start ([`init`]), and giving
//! freed heap back to the system after the big, short-lived peaks
//! ([`trim`]): the start (the config's parse, once the daemon is ready:
//! the set-up reuses that heap meanwhile), the first IPVS pass (a cold
//! start's ops), and a reload (the new config parsed, the old config,
//! check plan and tables freed once replaced).
//! Must not: be called per check, per packet or per IPVS pass or
//! dump: a trim walks the whole heap holding the one arena's lock (some
//! 0.5 s at 204,800 real servers, every thread's allocations waiting), and
//! what a pass or the status dump every 2 s frees, the next one allocates
//! again; nor change what any allocation holds.
//!
//! Why: glibc keeps freed memory for reuse. After the parse peak the heap
//! stays at its high-water mark, and every thread that allocates gets an
//! arena of its own (tokio's blocking threads for IPVS netlink), each
//! keeping its own freed memory. One arena ([`init`]) and a trim after the
//! peaks keep the resident set near what is in use.
//!
//! And the init text ([`drop_init_text`]): the code vigil runs only to
//! start and to read a config (the parser, clap, the set-up), a run of
//! pages of its own (link/hot-text.ld), unmapped once the daemon runs and
//! after each reload, as the kernel frees its `__init` code. Its pages stay
//! in the page cache; a reload maps back what it runs.
//!
//! [`room`]: whether the box has the memory for a reload's peak.

pub mod room;

use std::sync::OnceLock;

/// One malloc arena for every thread. The daemon's threads are the
/// runtime's and a few blocking ones for IPVS netlink: they never contend
/// enough for a per-thread arena to pay for the memory it keeps.
pub fn init() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a tunable of the allocator; called before
    // any other thread exists.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 1);
    }
}

/// Gives free heap pages back to the system (glibc `malloc_trim(0)`: the
/// top of the heap and whole free pages inside it).
pub fn trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases memory the allocator holds free;
    // it is thread-safe.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// The init text's bounds, as the linker gave them. Unset (a build
/// without the section, the tests): nothing is ever dropped.
static INIT_TEXT: OnceLock<(usize, usize)> = OnceLock::new();

/// The whole pages of the init text that may be dropped, worked out at the
/// first drop (a daemon's; a CLI command never gets there): `None` when
/// they are not in one clean mapping.
static DROPPABLE: OnceLock<Option<(usize, usize)>> = OnceLock::new();

/// The init text is `start..end` (the linker's symbols; `main` calls this
/// first thing, once).
pub fn set_init_text(start: usize, end: usize) {
    let _ = INIT_TEXT.set((start, end));
}

/// The whole pages inside `start..end`, when they lie in one file-backed,
/// executable, never-written mapping of the binary (`/proc/self/maps`):
/// dropping such a page loses nothing, the next call into it reads it
/// back.
fn droppable((start, end): (usize, usize)) -> Option<(usize, usize)> {
    let page = page_size();
    let (a, b) = (start.next_multiple_of(page), end / page * page);
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    (a < b && maps.lines().any(|l| clean_code(l, a, b))).then_some((a, b))
}

/// A line of `/proc/self/maps` is a private, read-only, executable mapping
/// of a file that holds all of `a..b`.
fn clean_code(line: &str, a: usize, b: usize) -> bool {
    let mut f = line.split_whitespace();
    let (Some(range), Some(perms), Some(_off), Some(_dev), Some(inode)) =
        (f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return false;
    };
    let Some((lo, hi)) = range.split_once('-') else {
        return false;
    };
    let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) else {
        return false;
    };
    perms == "r-xp" && inode != "0" && lo <= a && b <= hi
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(4096)
}

/// Unmaps the init text (see the module's header): the daemon calls it
/// once it is ready and after every reload and commit. The pages stay in
/// the page cache; what runs there next maps them again.
pub fn drop_init_text() {
    let Some(&bounds) = INIT_TEXT.get() else {
        return;
    };
    let Some((a, b)) = *DROPPABLE.get_or_init(|| droppable(bounds)) else {
        return;
    };
    // SAFETY: `a..b` is whole pages of a private, read-only mapping of the
    // binary's code (`droppable` checked it). MADV_DONTNEED on such a
    // mapping only drops the page table entries: a page nobody wrote is
    // read back from the file, the same bytes, when it is next executed.
    let r =
        unsafe { nix::libc::madvise(a as *mut nix::libc::c_void, b - a, nix::libc::MADV_DONTNEED) };
    if r != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "init text not dropped");
    }
}

#[cfg(test)]
#[path = "mem_tests.rs"]
mod tests;
