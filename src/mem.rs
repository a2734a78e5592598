//! Memory housekeeping of the daemon (glibc's allocator, as in the static
//! build; with another libc both calls do nothing).
//!
//! Owns: the allocator's settings, set once at start ([`init`]), and giving
//! freed heap back to the system after the big, short-lived peaks
//! ([`trim`]): parsing a config at start, the first IPVS pass (a cold
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
//! [`room`]: whether the box has the memory for a reload's peak.

pub mod room;

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
