//! Unit tests of `calendar.rs`.

use super::*;

#[test]
fn civil_dates_agree_day_by_day_with_a_simple_calendar() {
    let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
    for days in 0..(200 * 366) {
        let t = Utc::from_unix(days * 86_400 + 86_399);
        assert_eq!((t.year, t.month, t.day), (y, m, d), "day {days}");
        assert_eq!((t.hour, t.minute, t.second), (23, 59, 59));
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        d += 1;
        if d > len[(m - 1) as usize] {
            d = 1;
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
    }
}
