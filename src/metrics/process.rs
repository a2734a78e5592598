//! The process's own facts for `process_*` metrics, from `/proc/self`.
//!
//! Owns: reading `/proc/self/stat`, `/proc/self/fd`, `/proc/stat`'s boot
//! time and the open-files limit, and the parse of `stat` (pure, tested).
//! Must not: cache anything (each scrape reads afresh) or fail a scrape:
//! what cannot be read is left out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::render::Process;

/// The fields of `/proc/PID/stat` used here, in clock ticks and pages
/// where the kernel counts so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub utime: u64,
    pub stime: u64,
    /// Ticks after boot.
    pub starttime: u64,
    pub vsize: u64,
    pub rss_pages: u64,
}

/// Parses `/proc/PID/stat`: the command name may hold spaces and
/// parentheses, so fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // After ")": field 3 (state) is index 0.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let at = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: at(14)?,
        stime: at(15)?,
        starttime: at(22)?,
        vsize: at(23)?,
        rss_pages: at(24)?,
    })
}

/// `btime` of `/proc/stat`: the boot, in seconds since the epoch.
pub fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads this process's facts; `None` when `/proc` is not there.
pub fn read() -> Option<Process> {
    let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let tick = ticks_per_second();
    let page = page_size();
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|t| parse_btime(&t));
    let start = match boot {
        Some(b) => b as f64 + stat.starttime as f64 / tick,
        // Without a boot time: now minus nothing better known.
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64(),
    };
    Some(Process {
        cpu_seconds: (stat.utime + stat.stime) as f64 / tick,
        resident_bytes: stat.rss_pages * page,
        virtual_bytes: stat.vsize,
        open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
        max_fds: nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(0, |(soft, _)| soft),
        start_time_seconds: start,
    })
}

fn ticks_per_second() -> f64 {
    use nix::unistd::{sysconf, SysconfVar};
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

fn page_size() -> u64 {
    use nix::unistd::{sysconf, SysconfVar};
    match sysconf(SysconfVar::PAGE_SIZE) {
        Ok(Some(p)) if p > 0 => p as u64,
        _ => 4096,
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
