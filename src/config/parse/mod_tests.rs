//! Unit tests of `mod.rs`.

use super::*;

#[test]
fn suggestions_are_close_keywords_only() {
    let known = &["priority", "advert_int", "interface"];
    assert_eq!(suggest("priorty", known.iter()), Some("priority"));
    assert_eq!(suggest("advert_itn", known.iter()), Some("advert_int"));
    assert_eq!(suggest("completely_else", known.iter()), None);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

#[test]
fn a_service_without_protocol_warns_keepalived_would_use_udp() {
    let text = "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n\
                    virtual_server fwmark 1 {\n real_server 10.0.0.3 {\n }\n}\n";
    let imp = crate::config::import_str("t.conf", text, false).expect("valid");
    let w: Vec<String> = imp.warnings.iter().map(|w| w.to_string()).collect();
    // One for the address service; a fwmark service has no protocol.
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("t.conf:1:1: warning: virtual_server 10.0.0.1 80: no 'protocol': vigil uses TCP, keepalived 2.2.7 uses UDP"), "{w:?}");
    let with = text.replacen("80 {\n", "80 {\n protocol TCP\n", 1);
    let imp = crate::config::import_str("t.conf", &with, false).expect("valid");
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
}
