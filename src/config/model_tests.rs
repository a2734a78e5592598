//! Unit tests of `model.rs`.

use super::*;

#[test]
fn prefix_containment() {
    let a: IpAddr = "192.168.1.100".parse().unwrap();
    assert!(prefix_contains(&a, 24, &"192.168.1.200".parse().unwrap()));
    assert!(!prefix_contains(&a, 24, &"192.168.2.1".parse().unwrap()));
    assert!(prefix_contains(&a, 0, &"10.0.0.1".parse().unwrap()));
    assert!(!prefix_contains(&a, 24, &"::1".parse().unwrap()));
    let b: IpAddr = "2001:db8::1".parse().unwrap();
    assert!(prefix_contains(&b, 64, &"2001:db8::ffff".parse().unwrap()));
    assert!(!prefix_contains(&b, 128, &"2001:db8::2".parse().unwrap()));
}

#[test]
fn keyword_enums_are_case_insensitive() {
    assert_eq!(Scheduler::from_keyword("WRR"), Some(Scheduler::Wrr));
    assert_eq!(Method::from_keyword("dr"), Some(Method::Dr));
    assert_eq!(Scheduler::from_keyword("nope"), None);
    assert!(Scheduler::expected().contains("twos"));
}
