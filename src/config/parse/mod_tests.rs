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

const MISC: &str = concat!(
    "global_defs {\n",
    " script_user nobody\n",
    "}\n",
    "virtual_server fwmark 7 {\n",
    " lvs_method DR\n",
    " real_server 10.0.0.3 {\n",
    "  weight 10\n",
    "  MISC_CHECK {\n",
    "   misc_path \"/etc/keepalived/check_db.sh 10.0.0.3 3306\"\n",
    "   misc_timeout 4\n",
    "   misc_dynamic\n",
    "   user keepalived_script\n",
    "   retry 2\n",
    "  }\n",
    " }\n",
    "}\n",
);

#[test]
fn misc_check_reads_keepalived_s_keywords_and_defaults() {
    use crate::config::model::{CheckKind, ScriptUser};
    let imp = crate::config::import_str("t.conf", MISC, false).expect("valid");
    let c = &imp.config.virtual_servers[0].real_servers[0].checkers[0];
    let CheckKind::Misc(m) = &c.kind else {
        panic!("{c:?}")
    };
    assert_eq!(
        m.path.argv,
        ["/etc/keepalived/check_db.sh", "10.0.0.3", "3306"],
        "a quoted misc_path is split into argv, nothing added"
    );
    assert_eq!(m.timeout, Some(crate::config::bounds::Millis::secs(4)));
    assert!(m.dynamic);
    assert_eq!(
        m.user,
        Some(ScriptUser {
            user: "keepalived_script".into(),
            group: None
        })
    );
    assert_eq!(c.retry, 2);
    // keepalived's MISC_CHECK default is retry 0; misc_timeout defaults
    // to the virtual server's delay_loop (None here).
    let bare = MISC
        .replace("   misc_timeout 4\n", "")
        .replace("   retry 2\n", "");
    let imp = crate::config::import_str("t.conf", &bare, false).expect("valid");
    let c = &imp.config.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(c.retry, 0);
    let CheckKind::Misc(m) = &c.kind else {
        panic!("{c:?}")
    };
    assert_eq!(m.timeout, None);
}

fn misc_errors(text: &str) -> Vec<String> {
    match crate::config::import_str("t.conf", text, false) {
        Ok(i) => panic!("accepted: {:?}", i.config.virtual_servers),
        Err(r) => r.lines(),
    }
}

#[test]
fn misc_check_errors_are_located() {
    let no_path = MISC.replace(
        "   misc_path \"/etc/keepalived/check_db.sh 10.0.0.3 3306\"\n",
        "",
    );
    let e = misc_errors(&no_path);
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.conf:8:3: error:") && l.contains("misc_path")),
        "{e:?}"
    );
    let relative = MISC.replace("\"/etc/keepalived/", "\"./");
    let e = misc_errors(&relative);
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.conf:9:14: error:") && l.contains("misc_path")),
        "{e:?}"
    );
    // A connecting option is not MISC_CHECK's (keepalived has none there).
    let connect = MISC.replace("   retry 2\n", "   connect_port 80\n");
    let e = misc_errors(&connect);
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.conf:13:4: error:") && l.contains("connect_port")),
        "{e:?}"
    );
    let timeout = MISC.replace("misc_timeout 4", "misc_timeout 0");
    let e = misc_errors(&timeout);
    assert!(
        e.iter().any(|l| l.starts_with("t.conf:10:17: error:")),
        "{e:?}"
    );
}

#[test]
fn a_bare_misc_path_is_searched_with_a_warning_and_two_dynamic_checks_warn() {
    let bare = MISC.replace("\"/etc/keepalived/check_db.sh", "\"check_db.sh");
    let imp = crate::config::import_str("t.conf", &bare, false).expect("valid");
    let w: Vec<String> = imp.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|l| l.starts_with("t.conf:9:14: warning:") && l.contains("looked up in PATH")),
        "{w:?}"
    );
    let block = "  MISC_CHECK {\n   misc_path /bin/true\n   misc_dynamic\n  }\n";
    let two = MISC.replacen("  MISC_CHECK {\n", &format!("{block}  MISC_CHECK {{\n"), 1);
    let imp = crate::config::import_str("t.conf", &two, false).expect("valid");
    let w: Vec<String> = imp.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter().any(|l| l.starts_with("t.conf:6:2: warning:")
            && l.contains("2 MISC_CHECKs with misc_dynamic")),
        "{w:?}"
    );
}

#[test]
fn misc_check_exports_and_reads_back_the_same() {
    let c = crate::config::import_str("t.conf", MISC, false)
        .expect("valid")
        .config;
    let text = crate::config::export::export(&c);
    assert!(text.contains("MISC_CHECK {"), "{text}");
    let back = crate::config::import_str("x.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}\n{text}", r.lines()))
        .config;
    assert_eq!(back, c);
}
