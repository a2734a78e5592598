//! Unit tests of `process.rs`.

use super::*;

#[test]
fn stat_fields_are_counted_after_the_last_parenthesis() {
    let line = "4242 (vigil (x) y) S 1 4242 4242 0 -1 4194560 1500 0 0 0 \
                120 30 0 0 20 0 3 0 98765 123456789 2048 18446744073709551615";
    let s = parse_stat(line).expect("parses");
    assert_eq!(s.utime, 120);
    assert_eq!(s.stime, 30);
    assert_eq!(s.starttime, 98765);
    assert_eq!(s.vsize, 123_456_789);
    assert_eq!(s.rss_pages, 2048);
    assert_eq!(parse_stat("garbage"), None);
    assert_eq!(parse_stat("1 (x) S 1 2"), None);
}

#[test]
fn btime_is_found_among_the_lines() {
    assert_eq!(
        parse_btime("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n"),
        Some(1_700_000_000)
    );
    assert_eq!(parse_btime("cpu 1 2 3\n"), None);
}

#[test]
fn this_process_reads_sensibly() {
    let p = read().expect("/proc is there");
    assert!(p.resident_bytes > 1 << 20, "{p:?}");
    assert!(p.open_fds >= 3 && p.open_fds <= p.max_fds, "{p:?}");
    assert!(p.start_time_seconds > 1.6e9, "{p:?}");
}
