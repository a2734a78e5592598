//! Unit tests of `listing.rs`.

use super::*;
use crate::store::history::Location;
use crate::store::record::{Head, Source};

#[test]
fn utc_dates() {
    assert_eq!(utc(0), "-");
    assert_eq!(utc(1), "1970-01-01 00:00:01");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
    assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
    assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59");
}

#[test]
fn line_shows_mark_source_user_state_comment() {
    let entry = Entry {
        head: Head {
            seq: 12,
            time: 1_700_000_000,
            deadline: Some(1_700_000_600),
            source: Source::Rollback { of: 9 },
            user: "alice".into(),
            comment: "back to \"9\"".into(),
            len: 175,
        },
        location: Location::Record(3),
        checked_by: None,
    };
    assert_eq!(
        line(&entry, true),
        "*     12  2023-11-14 22:13:20  rollback of 9 (alice)         175  \
         UNCONFIRMED, confirm by 2023-11-14 22:23:20; \"back to \\\"9\\\"\""
    );
    let mut plain = entry;
    plain.head.deadline = None;
    plain.head.comment.clear();
    plain.head.user.clear();
    plain.head.source = Source::Import;
    assert_eq!(
        line(&plain, false),
        "      12  2023-11-14 22:13:20  import                        175"
    );
}
