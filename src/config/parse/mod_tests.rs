//! Unit tests of `mod.rs`.

use super::*;

#[test]
fn suggestions_are_close_keywords_only() {
    let known = &["priority", "advert_int", "interface"];
    assert_eq!(suggest("priorty", known.iter()), Some("priority"));
    assert_eq!(suggest("advert_itn", known.iter()), Some("advert_int"));
    assert_eq!(suggest("completely_else", known.iter()), None);
    // keepalived's global and instance spellings of one setting.
    let global = &["vrrp_garp_master_delay", "router_id"];
    assert_eq!(
        suggest("garp_master_delay", global.iter()),
        Some("vrrp_garp_master_delay")
    );
    let instance = &["garp_master_delay", "priority"];
    assert_eq!(
        suggest("vrrp_garp_master_delay", instance.iter()),
        Some("garp_master_delay")
    );
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

const GROUPS: &str = concat!(
    "virtual_server_group WEB {\n",
    " 10.0.0.10-12 80\n",
    " 10.0.0.20\n",
    " fwmark 9\n",
    "}\n",
    "virtual_server group WEB {\n",
    " protocol TCP\n",
    " lvs_method DR\n",
    " persistence_timeout 60\n",
    " real_server 10.0.1.1 {\n",
    "  TCP_CHECK {\n",
    "   connect_port 80\n",
    "  }\n",
    " }\n",
    "}\n",
);

fn errors_of(text: &str) -> Vec<String> {
    match crate::config::import_str("t.conf", text, false) {
        Ok(i) => panic!("accepted: {:?}", i.warnings),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_group_reads_addresses_ranges_and_marks_and_expands_in_line_order() {
    use crate::config::model::{GroupMember, ServiceKey};
    let c = crate::config::import_str("t.conf", GROUPS, false)
        .expect("valid")
        .config;
    let g = &c.virtual_server_groups[0];
    assert_eq!(g.name, "WEB");
    assert_eq!(
        g.members[0],
        GroupMember::Addr {
            first: "10.0.0.10".parse().unwrap(),
            last: Some(12),
            port: 80
        }
    );
    assert_eq!(c.virtual_servers[0].group.as_deref(), Some("WEB"));
    let keys: Vec<String> = c
        .keys_of(&c.virtual_servers[0])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        keys,
        [
            "10.0.0.10 80",
            "10.0.0.11 80",
            "10.0.0.12 80",
            "10.0.0.20 0",
            "fwmark 9"
        ]
    );
    assert!(matches!(
        c.services()[4].key,
        ServiceKey::Fwmark {
            mark: 9,
            ipv6: false
        }
    ));
    let again = crate::config::import_str("x", &crate::config::export::export(&c), false)
        .expect("export reads back")
        .config;
    assert_eq!(again, c);
}

#[test]
fn ipv6_ranges_run_over_the_last_group_in_hex() {
    let text = GROUPS
        .replace("10.0.0.10-12 80", "2001:db8::a-f 80")
        .replace(" 10.0.0.20\n fwmark 9\n", "")
        .replace("10.0.1.1", "2001:db8:1::1");
    let c = crate::config::import_str("t.conf", &text, false)
        .expect("valid")
        .config;
    let keys = c.keys_of(&c.virtual_servers[0]);
    assert_eq!(keys.len(), 6);
    assert_eq!(keys[5].to_string(), "2001:db8::f 80");
    let again = crate::config::import_str("x", &crate::config::export::export(&c), false)
        .expect("export reads back")
        .config;
    assert_eq!(again, c);
}

#[test]
fn group_errors_name_the_line_and_the_bound() {
    let e = errors_of(&GROUPS.replace("10-12", "12-10"));
    assert!(e[0].starts_with("t.conf:2:2: error:"), "{e:?}");
    assert!(e[0].contains("the range's last byte"), "{e:?}");
    let e = errors_of(&GROUPS.replace("virtual_server group WEB", "virtual_server group WBE"));
    assert!(
        e.iter()
            .any(|e| e.contains("virtual_server group WBE: no virtual_server_group of that name")),
        "{e:?}"
    );
    let e = errors_of(&GROUPS.replace(" fwmark 9\n", " fwmark 9\n 10.0.0.11 80\n"));
    assert!(
        e.iter()
            .any(|e| e.contains("virtual_server 10.0.0.11 80 is given twice")),
        "{e:?}"
    );
    // 1024 services is the bound, ranges expanded.
    let many: String = (0..5).map(|b| format!(" 10.0.{b}.0-255 80\n")).collect();
    let e = errors_of(&GROUPS.replace(" 10.0.0.20\n", &many));
    assert!(
        e.iter().any(|e| e.starts_with("t.conf:6:2: error:")
            && e.contains("ranges expanded (VIRTUAL_SERVERS_MAX): at most 1024")),
        "{e:?}"
    );
    let e = errors_of(&GROUPS.replace(
        "virtual_server_group WEB {\n",
        "virtual_server_group WEB {\n 10.0.0.1 80 90\n",
    ));
    assert!(e[0].starts_with("t.conf:2:14: error:"), "{e:?}");
}

const FILES: &str = concat!(
    "vrrp_track_file maint {\n",
    " file /run/maint\n",
    " weight 0\n",
    "}\n",
    "track_file drain {\n",
    " file /run/drain\n",
    " weight -10 reverse\n",
    " init_file 2 overwrite\n",
    "}\n",
    "vrrp_sync_group G {\n",
    " group {\n  VI_1\n }\n",
    " track_file {\n  drain\n }\n",
    "}\n",
    "vrrp_instance VI_1 {\n",
    " interface eth0\n",
    " virtual_router_id 1\n",
    " virtual_ipaddress {\n  10.0.0.1\n }\n",
    " track_file {\n  maint\n }\n",
    "}\n",
);

#[test]
fn track_file_reads_keepalived_s_keywords_and_clears_a_group_member_s_weight() {
    use crate::config::model::InitFile;
    let imp = crate::config::import_str("t.conf", FILES, false).expect("valid");
    let c = &imp.config;
    assert_eq!(c.track_files.len(), 2);
    let d = &c.track_files[1];
    assert_eq!((d.weight, d.reverse), (-10, true));
    assert_eq!(
        d.init,
        Some(InitFile {
            value: 2,
            overwrite: true
        })
    );
    assert_eq!(c.track_files[0].weight, 0);
    let t = c.tracked_files(&c.vrrp_instances[0]);
    let names: Vec<(&str, i16)> = t
        .iter()
        .map(|t| (t.script.name.as_str(), t.weight))
        .collect();
    assert_eq!(
        names,
        [("maint", 0), ("drain", 0)],
        "the group's weight is cleared"
    );
    let w: Vec<String> = imp.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter().any(|w| w.contains(
            "vrrp_instance VI_1: the weight of track_file drain is cleared (a sync group's members must not differ in priority), as keepalived does: a non-zero value puts the instance in FAULT"
        )),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("'vrrp_track_file' is keepalived's deprecated name")),
        "{w:?}"
    );
    let again = crate::config::import_str("x", &crate::config::export::export(c), false)
        .expect("export reads back")
        .config;
    assert_eq!(&again, c);
    let bytes = crate::config::envelope::encode(c).unwrap();
    assert_eq!(crate::config::envelope::decode(&bytes).unwrap(), *c);
}

#[test]
fn track_file_errors_are_located() {
    let e = errors_of(&FILES.replace("  maint\n", "  mantain\n"));
    assert!(
        e.iter().any(|e| e.contains("vrrp_instance VI_1: track_file mantain names no track_file block")),
        "{e:?}"
    );
    let e = errors_of(&FILES.replace("file /run/maint", "file run/maint"));
    assert!(e[0].starts_with("t.conf:2:7: error:"), "{e:?}");
    let e = errors_of(&FILES.replace("weight -10", "weight -255"));
    assert!(e[0].starts_with("t.conf:7:9: error:"), "{e:?}");
    let e = errors_of(&FILES.replace(" file /run/drain\n", ""));
    assert!(e[0].contains("'file'"), "{e:?}");
}

#[test]
fn a_group_with_addresses_and_no_protocol_warns_a_fwmark_only_one_does_not() {
    let text =
        "virtual_server_group G {\n 10.0.0.1 80\n}\nvirtual_server_group M {\n fwmark 3\n}\n\
                virtual_server group G {\n real_server 10.0.1.1 80 {\n }\n}\n\
                virtual_server group M {\n real_server 10.0.1.1 {\n }\n}\n";
    let imp = crate::config::import_str("t.conf", text, false).expect("valid");
    let w: Vec<String> = imp.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("t.conf:7:1: warning: virtual_server group G: no 'protocol'"),
        "{w:?}"
    );
}

#[test]
fn vrrp_track_process_reads_keepalived_s_keywords_and_rides_as_a_script() {
    use crate::config::model::ParamMatch;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/track/process-pair.conf"
    ))
    .unwrap();
    let imp = crate::config::import_str("t.conf", &text, false).expect("valid");
    let c = &imp.config;
    let h = &c.track_processes[0];
    assert_eq!(h.process, ["haproxy"]);
    assert_eq!(h.fork_delay, Some(crate::config::bounds::Millis::secs(2)));
    assert_eq!(h.terminate_delay, h.fork_delay, "delay sets both");
    let n = &c.track_processes[1];
    assert_eq!(n.process, ["nginx", "worker process"]);
    assert_eq!(n.param_match, Some(ParamMatch::Partial));
    assert_eq!((n.quorum, n.quorum_max, n.weight), (2, Some(64), -30));
    let t = c.tracked_processes(&c.vrrp_instances[0]);
    assert_eq!(t.len(), 2);
    let again = crate::config::import_str("x", &crate::config::export::export(c), false)
        .expect("export reads back")
        .config;
    assert_eq!(&again, c);
    let bytes = crate::config::envelope::encode(c).unwrap();
    assert_eq!(crate::config::envelope::decode(&bytes).unwrap(), *c);
    let e = errors_of(&text.replace("        nginx_workers\n", "        nginx_worker\n"));
    assert!(
        e.iter()
            .any(|e| e.contains("track_process nginx_worker names no vrrp_track_process")),
        "{e:?}"
    );
    let e = errors_of(&text.replace(
        "vrrp_track_process nginx_workers",
        "vrrp_track_process haproxy",
    ));
    assert!(
        e.iter().any(|e| e.contains("haproxy is already the name")),
        "{e:?}"
    );
}

/// The error lines of a config that must not import.
fn rejected(text: &str) -> Vec<String> {
    let r = crate::config::import_str("t.conf", text, false).expect_err("must be refused");
    r.errors.iter().map(ToString::to_string).collect()
}

#[test]
fn a_name_given_twice_is_an_error_at_the_second_naming_the_first() {
    let text = concat!(
        "vrrp_script s {\n script /bin/true\n}\n",
        "vrrp_script s {\n script /bin/false\n}\n",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n",
        " virtual_ipaddress {\n  10.0.0.1/24\n }\n track_script {\n  s\n }\n}\n",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 2\n",
        " virtual_ipaddress {\n  10.0.0.2/24\n }\n}\n",
        "vrrp_sync_group G {\n group {\n  A\n }\n}\n",
        "vrrp_sync_group G {\n group {\n  A\n }\n}\n",
        "virtual_server_group X {\n 10.0.0.5 80\n}\n",
        "virtual_server_group X {\n 10.0.0.6 80\n}\n",
    );
    assert_eq!(
        rejected(text),
        [
            "t.conf:4:1: error: vrrp_script s is given twice (first at t.conf:1:1)",
            "t.conf:17:1: error: vrrp_instance A is given twice (first at t.conf:7:1)",
            "t.conf:29:1: error: vrrp_sync_group G is given twice (first at t.conf:24:1)",
            "t.conf:37:1: error: virtual_server_group X is given twice (first at t.conf:34:1)",
        ]
    );
}

#[test]
fn a_virtual_server_given_twice_names_the_first() {
    let vs = "virtual_server 10.0.0.9 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n }\n}\n";
    assert_eq!(
        rejected(&format!("{vs}{vs}")),
        ["t.conf:6:1: error: virtual_server 10.0.0.9 80 is given twice (first at t.conf:1:1)"]
    );
}

#[test]
fn a_sync_group_s_unknown_track_script_is_dropped_with_a_warning() {
    let text = concat!(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n",
        " virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
        "vrrp_sync_group G {\n group {\n  A\n }\n track_script {\n  nothing\n }\n}\n",
    );
    let imp = crate::config::import_str("t.conf", text, false).expect("imports");
    assert!(imp.config.vrrp_sync_groups[0].track_script.is_empty());
    let w: Vec<String> = imp.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        ["t.conf:13:3: warning: vrrp_sync_group G: track_script nothing names no vrrp_script: ignored, as keepalived does"]
    );
}

/// The table's one limit: destinations over the whole config, a group's
/// services each counting its real servers, refused at the service that
/// crosses it, naming the bound.
#[test]
fn destinations_past_the_largest_table_are_refused_at_the_service_that_crosses() {
    use crate::config::bounds::DESTINATIONS_MAX;
    let members = DESTINATIONS_MAX / 1000;
    let reals: String = (0..1000)
        .map(|i| format!(" real_server 10.1.{}.{} 80\n", i / 256, i % 256))
        .collect();
    let at_bound = format!(
        "virtual_server_group BIG {{\n 10.0.1.1-{members} 80\n}}\n\
         virtual_server group BIG {{\n protocol TCP\n{reals}}}\n"
    );
    assert!(crate::config::import_str("t.conf", &at_bound, false).is_ok());
    let line = at_bound.lines().count() + 1;
    let over = format!(
        "{at_bound}virtual_server 10.0.2.1 80 {{\n protocol TCP\n real_server 10.9.0.1 80\n}}\n"
    );
    let e = errors_of(&over);
    let want = format!(
        "t.conf:{line}:1: error: virtual_server 10.0.2.1 80: its real servers bring the config to {} destinations",
        DESTINATIONS_MAX + 1
    );
    assert!(e.len() == 1 && e[0].starts_with(&want), "{e:?}");
    assert!(
        e[0].contains(&format!("at most {DESTINATIONS_MAX} (DESTINATIONS_MAX)")),
        "{e:?}"
    );
}

/// A block's keywords past the ones [`Seen`] holds in place are still
/// known: a repeat of the tenth is told the same as a repeat of the first.
#[test]
fn a_repeat_is_found_past_the_keywords_held_in_place() {
    let head = "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n \
                advert_int 1\n version 2\n nopreempt\n garp_master_delay 5\n \
                garp_master_repeat 5\n garp_master_refresh 0\n priority 90\n";
    let tail = " virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
    const { assert!(SEEN_INLINE < 10) };
    let errors = |text: &str| -> Vec<String> {
        match crate::config::import_str("t.conf", text, false) {
            Ok(imp) => imp.warnings.iter().map(ToString::to_string).collect(),
            Err(e) => e.errors.iter().map(ToString::to_string).collect(),
        }
    };
    let same = format!("{head} priority 90\n state BACKUP\n{tail}");
    assert_eq!(
        errors(&same),
        [
            "t.conf:12:2: warning: 'priority' is given twice (first at t.conf:11:2) with the same value: the setting is the same whichever counts (keepalived 2.2.7 uses the last); this one changes nothing",
            "t.conf:13:2: warning: 'state' is given twice (first at t.conf:2:2) with the same value: the setting is the same whichever counts (keepalived 2.2.7 uses the last); this one changes nothing",
        ]
    );
    let other = format!("{head} priority 80\n{tail}");
    assert_eq!(
        errors(&other),
        ["t.conf:12:2: error: 'priority' is given twice with another value (first at t.conf:11:2: '90'; here: '80'): keepalived 2.2.7 runs the last one ('80') without a word; keep the one meant and remove the other"]
    );
}
