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

fn tracking_config() -> Config {
    let text = "vrrp_script a {\n script /bin/true\n weight -20 reverse\n}\n\
                vrrp_script b {\n script /bin/true\n weight 5\n}\n\
                vrrp_sync_group G {\n group {\n  M\n }\n track_script {\n  b\n }\n}\n\
                vrrp_instance L {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n track_script {\n  a\n  b weight 7 noreverse\n }\n}\n\
                vrrp_instance M {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  10.0.0.2\n }\n track_script {\n  a\n }\n}\n\
                vrrp_instance O {\n state MASTER\n priority 255\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n  10.0.0.3\n }\n track_script {\n  b\n }\n}\n";
    crate::config::import_str("t", text, false)
        .expect("imports")
        .config
}

#[test]
fn tracked_scripts_take_line_then_script_settings() {
    let c = tracking_config();
    let l = c.tracked_scripts(c.instance("L").unwrap());
    let got: Vec<(&str, i16, bool, Option<Cleared>)> = l
        .iter()
        .map(|t| (t.script.name.as_str(), t.weight, t.reverse, t.cleared))
        .collect();
    assert_eq!(got, vec![("a", -20, true, None), ("b", 7, false, None)]);
}

#[test]
fn sync_group_members_and_the_owner_have_their_weights_cleared() {
    let c = tracking_config();
    let m = c.tracked_scripts(c.instance("M").unwrap());
    let got: Vec<(&str, i16, Option<Cleared>)> = m
        .iter()
        .map(|t| (t.script.name.as_str(), t.weight, t.cleared))
        .collect();
    // Its own line, then the group's; both weights cleared.
    assert_eq!(
        got,
        vec![
            ("a", 0, Some(Cleared::SyncGroup)),
            ("b", 0, Some(Cleared::SyncGroup))
        ]
    );
    let o = c.tracked_scripts(c.instance("O").unwrap());
    assert_eq!((o[0].weight, o[0].cleared), (0, Some(Cleared::Owner)));
}
