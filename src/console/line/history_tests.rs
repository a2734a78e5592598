use super::*;

#[test]
fn keeps_at_most_max_entries_dropping_the_oldest() {
    let mut h = History::new();
    for i in 0..MAX_ENTRIES + 5 {
        h.add(&format!("line {i}"));
    }
    assert_eq!(h.len(), MAX_ENTRIES);
    assert_eq!(h.entries().next(), Some("line 5"));
}

#[test]
fn skips_blank_lines_and_repeats_of_the_newest() {
    let mut h = History::new();
    for line in ["a", "a", "", "   ", "b", "a", "a"] {
        h.add(line);
    }
    assert_eq!(h.entries().collect::<Vec<_>>(), ["a", "b", "a"]);
}

#[test]
fn browsing_goes_back_to_the_oldest_and_forward_to_the_saved_line() {
    let mut h = History::new();
    assert_eq!(h.older("x"), None);
    assert_eq!(h.newer(), None);
    h.add("a");
    h.add("b");
    assert_eq!(h.older("draft"), Some("b"));
    assert_eq!(h.older("b"), Some("a"));
    assert_eq!(h.older("a"), None);
    assert_eq!(h.newer(), Some("b"));
    assert_eq!(h.newer(), Some("draft"));
    assert_eq!(h.newer(), None);
}
