//! Tracked files (`track_file`): what a file's text means as a number,
//! reading it, and `init_file`.
//!
//! Owns: [`value_of`] (keepalived's reading of the text: C `strtol` with
//! base 0, so `0x10` is 16 and `010` is 8; no number at all, an empty or a
//! missing file is 0; a number beyond 32 bits is refused and the last one
//! stays), [`read`] and [`init`], and [`Planned`] / [`plan`]. Must not:
//! weigh numbers (the VRRP machine does: `vrrp::machine::Track`), or
//! block: files are read by the track task once a second (polling, not
//! inotify: simpler, and a second is the granularity of a script too),
//! at most [`READ_MAX`] bytes each.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::model::{Config, InitFile, TrackFile};

/// Bytes of a file read for its number (keepalived reads 127).
pub const READ_MAX: u64 = 127;

/// One tracked file as the task reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub path: PathBuf,
    pub init: Option<InitFile>,
}

/// The files some instance or sync group tracks, in config order
/// (keepalived reads no file nothing tracks).
pub fn plan(config: &Config) -> Vec<Planned> {
    let tracked = |f: &TrackFile| {
        config.vrrp_instances.iter().any(|i| {
            config
                .tracked_files(i)
                .iter()
                .any(|t| t.script.name == f.name)
        })
    };
    config
        .track_files
        .iter()
        .filter(|f| tracked(f))
        .map(|f| Planned {
            name: f.name.clone(),
            path: PathBuf::from(&f.file),
            init: f.init,
        })
        .collect()
}

/// The number `text` holds; `None`: not a number vigil takes (beyond
/// -2^31..=2^31), the last one stays.
pub fn value_of(text: &[u8]) -> Option<i64> {
    let s = String::from_utf8_lossy(text);
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let n = match &digits[..end] {
        "" => 0,
        d => i64::from_str_radix(d, radix).ok()?,
    };
    let n = if neg { -n } else { n };
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&n)
        .then_some(n)
}

/// The file's number now: 0 when it is missing or unreadable.
pub fn read(path: &Path) -> Option<i64> {
    let Ok(f) = std::fs::File::open(path) else {
        return Some(0);
    };
    let mut buf = Vec::with_capacity(READ_MAX as usize);
    match f.take(READ_MAX).read_to_end(&mut buf) {
        Ok(_) => value_of(&buf),
        Err(_) => Some(0),
    }
}

/// `init_file`: write the value when the file is missing, or always with
/// `overwrite`. Done when the daemon starts and when a commit changes the
/// tracked files.
pub fn init(p: &Planned) -> std::io::Result<()> {
    let Some(init) = p.init else { return Ok(()) };
    if !init.overwrite && p.path.exists() {
        return Ok(());
    }
    std::fs::write(&p.path, format!("{}\n", init.value))
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
