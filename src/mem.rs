//! Memory housekeeping of the daemon (glibc's allocator, as in the static
//! build; with another libc both calls do nothing).
//!
//! Owns: the allocator's settings, set once at start ([`init`]), and giving
//! freed heap back to the system after the big, short-lived peaks
//! ([`trim`]): the start (the config's parse, once the daemon is ready:
//! the set-up reuses that heap meanwhile), the first IPVS pass (a cold
//! start's ops), a reload (the new config parsed, the old config,
//! check plan and tables freed once replaced), and a big status once it
//! is answered ([`status_was_peak`]: `vigil status` or a metrics scrape of
//! a large table).
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
//! And what only the start used ([`drop_start_only`]), unmapped once the
//! daemon runs and after each reload, as the kernel frees its `__init`
//! code: the init text, the code vigil runs only to start and to read a
//! config (the parser, clap, the set-up), a run of pages of its own
//! (link/hot-text.ld); the relocation table, which the start-up applies
//! once; and the main thread's stack below the running frames, which the
//! start's deep calls grew. File pages stay in the page cache; a reload
//! maps back what it runs.
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
    {
        let t0 = std::time::Instant::now();
        // SAFETY: malloc_trim only releases memory the allocator holds
        // free; it is thread-safe.
        let released = unsafe { nix::libc::malloc_trim(0) } != 0;
        tracing::debug!(
            released,
            "mem: heap trimmed in {:.1} ms",
            t0.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// A status of at least this many destination rows is a peak of its
/// own: some 200 bytes a row built, then its frame or metrics text
/// beside it, freed between allocations that live on, so the heap cannot
/// shrink by itself. Measured in the lab VM at 100,000 destinations: a
/// daemon at 61 MiB resident stayed at 87 MiB after one `vigil status`.
pub const STATUS_PEAK_ROWS: usize = 10_000;

/// Whether a status of `rows` destination rows, answered and dropped,
/// left a peak to [`trim`] (on the blocking pool). A smaller one's heap
/// is kept for the next status, which allocates it again.
pub fn status_was_peak(rows: usize) -> bool {
    rows >= STATUS_PEAK_ROWS
}

/// What the binary holds only for its start, as the linker bounds it
/// (link/hot-text.ld's symbols, handed over by `main`).
#[derive(Clone, Copy, Debug)]
pub struct StartOnly {
    /// The init text: the code vigil runs only to start and to read a
    /// config.
    pub text: (usize, usize),
    /// The relocation table (`.rela.dyn`): a static PIE applies it to
    /// itself once, before `main`, and never reads it again.
    pub relocations: (usize, usize),
}

/// Unset (a build without the init section, the tests): only the stack is
/// ever trimmed.
static START_ONLY: OnceLock<StartOnly> = OnceLock::new();

/// The whole pages of [`START_ONLY`] that may be dropped, worked out at the
/// first drop (a daemon's; a CLI command never gets there): those in one
/// clean mapping each.
static DROPPABLE: OnceLock<Vec<(usize, usize)>> = OnceLock::new();

/// Below the stack pointer, what a stack trim keeps: the frames of the
/// calls it makes, and a signal handler's, run meanwhile.
const STACK_MARGIN: usize = 64 * 1024;

/// `main` calls this first thing, once.
pub fn set_start_only(start_only: StartOnly) {
    let _ = START_ONLY.set(start_only);
}

/// The whole pages inside `start..end`, when they lie in one private,
/// file-backed mapping of the binary with permissions `perms` (never
/// writable) in `maps` (`/proc/self/maps`): dropping such a page loses
/// nothing, the next access reads it back.
fn droppable((start, end): (usize, usize), perms: &str, maps: &str) -> Option<(usize, usize)> {
    let page = page_size();
    let (a, b) = (start.next_multiple_of(page), end / page * page);
    (a < b && maps.lines().any(|l| clean_mapping(l, a, b, perms))).then_some((a, b))
}

/// A line of `/proc/self/maps` is a mapping with permissions `perms`
/// (private, not writable) of a file that holds all of `a..b`.
fn clean_mapping(line: &str, a: usize, b: usize, perms: &str) -> bool {
    let mut f = line.split_whitespace();
    let (Some(range), Some(p), Some(_off), Some(_dev), Some(inode)) =
        (f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return false;
    };
    let Some((lo, hi)) = range_of(range) else {
        return false;
    };
    p == perms && !p.contains('w') && p.ends_with('p') && inode != "0" && lo <= a && b <= hi
}

fn range_of(range: &str) -> Option<(usize, usize)> {
    let (lo, hi) = range.split_once('-')?;
    Some((
        usize::from_str_radix(lo, 16).ok()?,
        usize::from_str_radix(hi, 16).ok()?,
    ))
}

/// The whole pages of the main thread's stack (`[stack]` in `maps`) below
/// `sp` less [`STACK_MARGIN`], when `sp` is on it (the call is the main
/// thread's).
fn stack_below((maps, sp): (&str, usize), page: usize) -> Option<(usize, usize)> {
    let line = maps.lines().find(|l| l.trim_end().ends_with("[stack]"))?;
    let (lo, hi) = range_of(line.split_whitespace().next()?)?;
    let top = sp.checked_sub(STACK_MARGIN)? / page * page;
    (lo <= sp && sp < hi && lo < top).then_some((lo, top))
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(4096)
}

/// Drops what only the start used (see the module's header): the init
/// text, the relocation table and the main thread's stack below the
/// caller. The daemon calls it once it is ready and after every reload,
/// commit and rollback. File pages stay in the page cache: what runs there
/// next maps them again.
///
/// Never inlined: scripts/hot-text cuts its profiles where it returns.
#[inline(never)]
pub fn drop_start_only() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    // Everything is worked out before the first page goes: the code that
    // reads `maps` is the start-up's too, in the init text.
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    let stack = stack_below((&maps, sp), page_size());
    let files = START_ONLY.get().map_or(&[][..], |s| {
        DROPPABLE.get_or_init(|| {
            [(s.text, "r-xp"), (s.relocations, "r--p")]
                .into_iter()
                .filter_map(|(range, perms)| droppable(range, perms, &maps))
                .collect()
        })
    });
    for &range in files {
        // SAFETY: `range` is whole pages of a private mapping of the binary
        // that is never written (`droppable` checked it): MADV_DONTNEED on
        // it only drops page table entries, and a page nobody wrote is
        // read back from the file, the same bytes, when it is next used.
        unsafe { dont_need(range, "start-only pages") };
    }
    if let Some(range) = stack {
        // SAFETY: `range` is whole pages of this thread's own stack more
        // than STACK_MARGIN below its frame: no live frame is there, and
        // a call that reaches that deep again writes its frame before
        // reading it (the ABI's red zone is 128 bytes). A dropped page of
        // an anonymous private mapping reads back as zeros.
        unsafe { dont_need(range, "stack") };
    }
}

/// MADV_DONTNEED over `a..b`.
///
/// # Safety
/// Nothing may need what `a..b` holds (see the callers).
unsafe fn dont_need((a, b): (usize, usize), what: &str) {
    // SAFETY: the caller's.
    let r =
        unsafe { nix::libc::madvise(a as *mut nix::libc::c_void, b - a, nix::libc::MADV_DONTNEED) };
    if r != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "{what} not dropped");
    }
}

#[cfg(test)]
#[path = "mem_tests.rs"]
mod tests;
