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
    let t = crate::calendar::Utc::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
