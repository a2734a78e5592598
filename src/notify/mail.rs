//! Pure parts of the state-change mail: the message text and its RFC 2822
//! `Date:` (the retry schedule is a [`crate::backoff::Backoff`]).
//!
//! Owns: what a notification mail says. Must not: read the clock (time is an argument) or do I/O.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{EventKind, State};

/// Everything the text of one mail depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFields<'a> {
    pub router_id: &'a str,
    pub from: &'a str,
    pub to: &'a [String],
    pub kind: EventKind,
    pub name: &'a str,
    pub state: State,
    pub priority: u8,
    pub at: SystemTime,
}

/// The RFC 5322 message, CRLF line endings, headers then a short body.
/// Control characters in names become '?' so no header can be forged.
pub fn format_mail(f: &MailFields<'_>) -> String {
    let kind = f.kind.label();
    let name = clean(f.name);
    let rid = clean(f.router_id);
    let state = f.state.as_str();
    let date = rfc2822(f.at);
    let mut m = String::with_capacity(512);
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!("From: {}\r\n", clean(f.from)));
    // One recipient per line, folded, so a long list never exceeds 998 octets.
    m.push_str("To: ");
    for (i, to) in f.to.iter().enumerate() {
        if i > 0 {
            m.push_str(",\r\n ");
        }
        m.push_str(&clean(to));
    }
    m.push_str("\r\n");
    let change = match (f.kind, f.state) {
        (EventKind::VirtualServer, State::Master) => "Quorum gained".to_owned(),
        (EventKind::VirtualServer, _) => "Quorum lost".to_owned(),
        (EventKind::RealServer, State::Master) => "UP".to_owned(),
        (EventKind::RealServer, _) => "DOWN".to_owned(),
        (EventKind::Watchdog, _) => "Last reset by the watchdog".to_owned(),
        (EventKind::ArpTheft, _) => "VIP claimed by another MAC".to_owned(),
        _ => format!("Entering {state} state"),
    };
    m.push_str(&format!("Subject: [{rid}] {kind} {name} - {change}\r\n"));
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    m.push_str("X-Mailer: vigil\r\n");
    m.push_str("\r\n");
    let what = match (f.kind, f.state) {
        (EventKind::Instance, State::Master) => "is now owning its virtual addresses",
        (EventKind::Instance, _) => "no longer owns its virtual addresses",
        (EventKind::Group, _) => "moved all its instances together",
        (EventKind::VirtualServer, State::Master) => "has gained quorum",
        (EventKind::VirtualServer, _) => "has lost quorum",
        (EventKind::RealServer, State::Master) => "is up",
        (EventKind::RealServer, _) => "is down",
        (EventKind::Watchdog, _) => "reset the box: vigil or the kernel hung, or a task stalled",
        (EventKind::ArpTheft, _) => "- that MAC claimed the VIP at L2; vigil re-asserted it",
    };
    m.push_str(&format!("=> {kind} {name} {what} <=\r\n\r\n"));
    m.push_str(&format!("router:   {rid}\r\n"));
    m.push_str(&format!("state:    {state}\r\n"));
    if f.kind == EventKind::Instance {
        m.push_str(&format!("priority: {}\r\n", f.priority));
    }
    m.push_str(&format!("time:     {date}\r\n"));
    m
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// RFC 2822 3.3 date in UTC, e.g. `Thu, 01 Jan 1970 00:00:00 +0000`. Times
/// before the epoch are written as the epoch.
pub fn rfc2822(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let t = crate::calendar::Utc::from_unix(secs);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[t.weekday_from_thursday as usize],
        t.day,
        MONTHS[(t.month - 1) as usize],
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
