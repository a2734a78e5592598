//! Unix seconds to UTC calendar fields, for the dates vigil writes (mail
//! headers, the commit history, `vigil status`).
//!
//! Owns: the proleptic Gregorian arithmetic (H. Hinnant's unsigned
//! `civil_from_days`: 400-year eras of 146,097 days, years starting in
//! March). Must not: read a clock or format text (callers choose the
//! layout).

/// One instant in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: u64,
    /// 1..=12
    pub month: u64,
    /// 1..=31
    pub day: u64,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
    /// 0 = Thursday (1970-01-01 was one) .. 6 = Wednesday.
    pub weekday_from_thursday: u64,
}

impl Utc {
    pub fn from_unix(secs: u64) -> Utc {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            weekday_from_thursday: days % 7,
        }
    }
}

/// Days since 1970-01-01 -> (year, month 1..=12, day 1..=31).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
