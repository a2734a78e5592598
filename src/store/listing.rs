//! The history as text, for `vigil config show --store` and the console's
//! `show system commit`: one line per commit.
//!
//! Owns: the line format and the UTC rendering of unix seconds. Must not:
//! read the device or a clock (the caller passes what it read).

use super::history::Entry;
use super::record::Head;

/// The heading of [`line`]'s columns.
pub const HEADING: &str =
    "    seq  time (UTC)           source                      bytes  comment";

/// One commit: `*` marks the one that boots; an unconfirmed commit says by
/// when it must be confirmed.
pub fn line(entry: &Entry, boots: bool) -> String {
    head_line(&entry.head, boots)
}

/// [`line`] from a commit's head alone (what the control protocol carries).
pub fn head_line(h: &Head, boots: bool) -> String {
    let source = if h.user.is_empty() {
        h.source.to_string()
    } else {
        format!("{} ({})", h.source, h.user)
    };
    let mut notes = Vec::new();
    if let Some(deadline) = h.deadline {
        notes.push(format!("UNCONFIRMED, confirm by {}", utc(deadline)));
    }
    if !h.comment.is_empty() {
        notes.push(format!("{:?}", h.comment));
    }
    format!(
        "{} {:>6}  {:<19}  {:<26} {:>6}  {}",
        if boots { '*' } else { ' ' },
        h.seq,
        utc(h.time),
        source,
        h.len,
        notes.join("; ")
    )
    .trim_end()
    .to_owned()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC; `-` for 0 (unknown).
pub fn utc(secs: u64) -> String {
    if secs == 0 {
        return "-".to_owned();
    }
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (the era-based
/// method: 400-year eras of 146097 days, years starting in March).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
