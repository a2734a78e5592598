//! Whether the box has the memory for a reload's peak.
//!
//! Owns: what memory this process may still take ([`available`]: the
//! kernel's `MemAvailable`, and the room left under the memory limit of
//! its cgroup, v2 or v1, whichever is less), the estimate of what a reload
//! of a table needs at its peak ([`reload_need`]), and the refusal
//! ([`NoRoom`]). Must not: refuse on a figure it could not read (no
//! `/proc/meminfo`, no cgroup: the reload goes on), or hold anything.
//!
//! Why: a reload builds the new table beside the running one (the new
//! model, its check plan and runner, the IPVS side's tables) before the
//! old is freed. On a box without that memory the OOM killer would end
//! the daemon mid-apply; refusing first leaves it running its config.

use std::fmt;
use std::path::Path;

/// A reload's peak beyond what the daemon holds, per destination of the
/// new table. Measured at 100,000 destinations (`make bench`,
/// `config-reload-*`): 1.2 KB when the new runner was built beside a
/// snapshot of the old, now 0.39 KB on the host (no `ip_vs`: no kernel
/// table in the pass) and 0.54 KB in the lab VM for a daemon's first
/// reload (`make bench-config-lab`, the kernel's table of 100,000 dumped
/// and programmed; later reloads 0.45-0.48 KB). The estimate is about
/// twice that: a status rebuild or a burst of check results may fall in
/// the reload's peak, and a refusal too early is a reload the operator
/// can retry on a bigger box, one too late is the OOM killer.
pub const RELOAD_BYTES_PER_DESTINATION: u64 = 1024;
/// And what any reload takes whatever its size (parse, plans, status).
pub const RELOAD_BASE_BYTES: u64 = 8 << 20;

/// What a reload to a table of `destinations` needs at its peak.
pub fn reload_need(destinations: usize) -> u64 {
    RELOAD_BASE_BYTES + destinations as u64 * RELOAD_BYTES_PER_DESTINATION
}

/// A reload refused for want of memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoom {
    pub need: u64,
    pub available: u64,
    pub destinations: usize,
}

impl fmt::Display for NoRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not enough memory for this config: its reload needs about {} MB at its peak \
             ({} destinations), this box has {} MB available; nothing was changed",
            self.need >> 20,
            self.destinations,
            self.available >> 20
        )
    }
}

/// `Err` when what is `available` is short of a reload to `destinations`.
pub fn check(destinations: usize, available: Option<u64>) -> Result<(), NoRoom> {
    let need = reload_need(destinations);
    match available {
        Some(available) if available < need => Err(NoRoom {
            need,
            available,
            destinations,
        }),
        _ => Ok(()),
    }
}

/// What this process may still take, in bytes: the least of the kernel's
/// `MemAvailable` and the room under its cgroup's limit; `None` when
/// neither could be read.
pub fn available() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let meminfo = read("/proc/meminfo").and_then(|t| mem_available(&t));
    let cgroup = read("/proc/self/cgroup").and_then(|t| {
        cgroup_room(&t, Path::new("/sys/fs/cgroup"), &|p| {
            std::fs::read_to_string(p).ok()
        })
    });
    match (meminfo, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `MemAvailable` of a `/proc/meminfo`, in bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The room under the memory limit of the cgroup a `/proc/self/cgroup`
/// names, its files read through `read` under `root`: cgroup v2's
/// `memory.max` less `memory.current`, or v1's `memory.limit_in_bytes`
/// less `memory.usage_in_bytes`. `None`: no limit (`max`, or v1's
/// "unlimited", a page-rounded `i64::MAX`) or nothing readable.
pub fn cgroup_room(
    self_cgroup: &str,
    root: &Path,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Option<u64> {
    let number = |p: &Path| read(p).and_then(|t| t.trim().parse::<u64>().ok());
    for line in self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        let (dir, limit, usage) = if controllers.is_empty() {
            (root.join(path), "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory").join(path),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let Some(max) = number(&dir.join(limit)) else {
            continue;
        };
        if max >= 1 << 62 {
            continue;
        }
        return Some(max.saturating_sub(number(&dir.join(usage)).unwrap_or(0)));
    }
    None
}

#[cfg(test)]
#[path = "room_tests.rs"]
mod tests;
