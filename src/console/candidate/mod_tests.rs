use super::*;
use crate::config::error::{Invalid, WarningKind};
use std::path::{Path, PathBuf};

fn w(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn seed() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed/master.conf");
    config::import_file(&path, false)
        .expect("seed imports")
        .config
}

fn with_box() -> Candidate {
    let mut c = Candidate::from_config(&seed());
    c.set(&w("appliance interface eth0 address 192.168.1.100/24"))
        .unwrap();
    c
}

/// The config the candidate means; panics with every error otherwise.
fn config_of(c: &Candidate) -> Config {
    match c.check() {
        Ok(imp) => imp.config,
        Err(r) => panic!("{}\n{}", r.lines().join("\n"), c.text()),
    }
}

fn cause(r: Result<Edit, EditError>) -> Cause {
    r.expect_err("refused").cause
}

// --- the fresh box ---------------------------------------------------------

#[test]
fn fresh_box_commands_build_a_config_that_checks() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/console/fresh-box.cmds");
    let text = std::fs::read_to_string(path).unwrap();
    let mut c = Candidate::empty();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = w(line);
        assert_eq!(words[0], "set", "{line}");
        c.set(&words[1..]).unwrap_or_else(|e| panic!("{e}"));
    }
    let got = config_of(&c);
    let seed = seed();
    assert_eq!(got.vrrp_instances, seed.vrrp_instances);
    assert_eq!(got.virtual_servers, seed.virtual_servers);
    let a = got.appliance.expect("appliance");
    assert_eq!(a.hostname.as_deref(), Some("lb1"));
    assert_eq!(a.interfaces.len(), 2);
    assert_eq!(got.global.router_id.as_deref(), Some("LVS1"));
}

// --- text, round trip, compare ----------------------------------------------

fn fixture_confs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            fixture_confs(&p, out);
        } else if p.extension().is_some_and(|x| x == "conf") {
            out.push(p);
        }
    }
}

#[test]
fn every_fixture_round_trips_through_the_candidate() {
    let mut files = Vec::new();
    fixture_confs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    let mut checked = 0;
    for f in files {
        let Ok(imp) = config::import_file(&f, false) else {
            continue;
        };
        let c = Candidate::from_config(&imp.config);
        assert_eq!(c.text(), export::export(&imp.config), "{}", f.display());
        assert_eq!(config_of(&c), imp.config, "{}", f.display());
        assert_eq!(c.compare(&imp.config), "", "{}", f.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures imported");
}

#[test]
fn quoted_values_read_back_as_written() {
    let mut c = with_box();
    c.set(&[
        "vrrp_instance".into(),
        "VI_1".into(),
        "notify_master".into(),
        "/usr/bin/logger".into(),
        "went master".into(),
    ])
    .unwrap();
    c.set(&w("vrrp_instance VI_1 authentication auth_pass a#b"))
        .unwrap();
    assert!(c
        .text()
        .contains("notify_master /usr/bin/logger \"went master\"\n"));
    let got = config_of(&c);
    let i = &got.vrrp_instances[0];
    assert_eq!(
        i.notify.master.as_ref().unwrap().argv,
        ["/usr/bin/logger", "went master"]
    );
    assert_eq!(i.authentication.as_ref().unwrap().as_str(), "a#b");
}

#[test]
fn compare_shows_exactly_a_one_line_change() {
    let running = seed();
    let mut c = Candidate::from_config(&running);
    assert_eq!(c.compare(&running), "");
    c.set(&w("vrrp_instance VI_1 priority 150")).unwrap();
    let diff = c.compare(&running);
    let changed: Vec<&str> = diff.lines().filter(|l| l.starts_with(['-', '+'])).collect();
    assert_eq!(
        changed,
        [
            "--- running",
            "+++ candidate",
            "-    priority 100",
            "+    priority 150"
        ],
        "{diff}"
    );
}

// --- set: every path form ----------------------------------------------------

#[test]
fn set_replaces_a_single_valued_keyword() {
    let mut c = with_box();
    assert_eq!(c.set(&w("global_defs router_id lb1")), Ok(Edit::Replaced));
    assert_eq!(c.set(&w("global_defs router_id lb1")), Ok(Edit::Unchanged));
    assert_eq!(
        c.set(&w("vrrp_instance VI_1 priority 150")),
        Ok(Edit::Replaced)
    );
    let got = config_of(&c);
    assert_eq!(got.global.router_id.as_deref(), Some("lb1"));
    assert_eq!(got.vrrp_instances[0].priority, 150);
    assert_eq!(c.text().matches("priority").count(), 1);
}

#[test]
fn set_adds_to_a_list_and_replaces_an_entry_of_the_same_address() {
    let mut c = with_box();
    let vip = "vrrp_instance VI_1 virtual_ipaddress";
    assert_eq!(
        c.set(&w(&format!("{vip} 192.168.1.201/24"))),
        Ok(Edit::Added)
    );
    assert_eq!(
        c.set(&w(&format!("{vip} 192.168.1.201/24"))),
        Ok(Edit::Unchanged)
    );
    assert_eq!(
        c.set(&w(&format!("{vip} 192.168.1.201/24 dev eth0"))),
        Ok(Edit::Replaced)
    );
    let vips = &config_of(&c).vrrp_instances[0].virtual_ipaddress;
    assert_eq!(vips.len(), 2);
    assert_eq!(vips[1].dev.as_ref().unwrap().as_str(), "eth0");
}

#[test]
fn set_adds_a_repeatable_keyword() {
    let mut c = with_box();
    let eth0 = "appliance interface eth0";
    assert_eq!(
        c.set(&w(&format!("{eth0} address 192.168.2.1/24"))),
        Ok(Edit::Added)
    );
    assert_eq!(
        c.set(&w(&format!("{eth0} route default via 192.168.1.1"))),
        Ok(Edit::Added)
    );
    let a = config_of(&c).appliance.unwrap();
    assert_eq!(a.interfaces[0].addresses.len(), 2);
    assert_eq!(a.interfaces[0].routes.len(), 1);
}

#[test]
fn set_reaches_nested_blocks_and_reads_aliases_as_their_keyword() {
    let mut c = with_box();
    c.set(&w("vrrp_instance VI_1 authentication auth_pass secret"))
        .unwrap();
    let vs = "virtual_server 192.168.1.200 80";
    assert_eq!(c.set(&w(&format!("{vs} lb_algo rr"))), Ok(Edit::Replaced));
    c.set(&w(&format!("{vs} real_server 192.168.1.102 80 weight 2")))
        .unwrap();
    c.set(&w(&format!(
        "{vs} real_server 192.168.1.102 80 TCP_CHECK connect_timeout 7"
    )))
    .unwrap();
    c.set(&w(&format!(
        "{vs} real_server 192.168.1.104 80 HTTP_GET url /health status_code 200"
    )))
    .unwrap();
    c.set(&w(&format!("{vs} real_server 192.168.1.104 80 HTTP_GET url /health digest 0123456789abcdef0123456789abcdef")))
        .unwrap();
    c.set(&w(&format!(
        "{vs} real_server 192.168.1.104 80 HTTP_GET url /ready"
    )))
    .unwrap();
    assert!(!c.text().contains("lb_algo"));
    let got = config_of(&c);
    assert_eq!(
        got.vrrp_instances[0]
            .authentication
            .as_ref()
            .unwrap()
            .as_str(),
        "secret"
    );
    let v = &got.virtual_servers[0];
    assert_eq!(v.scheduler, crate::config::model::Scheduler::Rr);
    assert_eq!(v.real_servers[0].weight, 2);
    assert_eq!(v.real_servers[0].checkers[0].connect_timeout.0, 7000);
    let crate::config::model::CheckKind::Http(h) = &v.real_servers[2].checkers[0].kind else {
        panic!("an HTTP_GET");
    };
    assert_eq!(h.urls.len(), 2);
    assert_eq!(h.urls[0].status_code, [(200, 200)]);
    assert!(h.urls[0].digest.is_some());
}

#[test]
fn services_are_named_by_address_and_port_fwmark_or_address_alone() {
    let mut c = Candidate::empty();
    c.set(&w("virtual_server fwmark 7 lvs_sched rr")).unwrap();
    c.set(&w("virtual_server 10.0.0.5 lvs_sched rr")).unwrap();
    c.set(&w("virtual_server 10.0.0.5 persistence_timeout 60"))
        .unwrap();
    c.set(&w("virtual_server 2001:DB8::5 443 protocol TCP"))
        .unwrap();
    c.set(&w(
        "virtual_server 2001:db8::5 443 real_server 2001:db8::9 weight 3",
    ))
    .unwrap();
    let got = config_of(&c);
    assert_eq!(got.virtual_servers.len(), 3);
    assert_eq!(got.virtual_servers[1].persistence_timeout, Some(60));
    assert_eq!(got.virtual_servers[2].real_servers[0].port, None);
    assert_eq!(got.virtual_servers[2].real_servers[0].weight, 3);
}

#[test]
fn the_appliance_block_takes_every_setting() {
    let mut c = with_box();
    let hash = format!("$6$salt${}", "a".repeat(86));
    c.set(&w("appliance hostname box")).unwrap();
    c.set(&w("appliance interface eth1 mtu 9000")).unwrap();
    c.set(&w("appliance ip_forward on")).unwrap();
    c.set(&w("appliance ipvs conn_reuse_mode 0")).unwrap();
    c.set(&w("appliance watchdog timeout 30")).unwrap();
    c.set(&[
        "appliance".into(),
        "console".into(),
        "password_hash".into(),
        hash.clone(),
    ])
    .unwrap();
    let a = config_of(&c).appliance.unwrap();
    assert_eq!(a.hostname.as_deref(), Some("box"));
    assert_eq!(a.interfaces[1].mtu, Some(9000));
    assert!(a.ip_forward);
    assert_eq!(a.ipvs.conn_reuse_mode, 0);
    assert_eq!(a.watchdog.timeout, 30);
    assert_eq!(a.console_password_hash, Some(hash));
}

// --- delete ------------------------------------------------------------------

#[test]
fn delete_removes_a_statement_an_entry_or_a_block() {
    let mut c = with_box();
    let vip = "vrrp_instance VI_1 virtual_ipaddress";
    c.set(&w(&format!("{vip} 192.168.1.201/24"))).unwrap();
    assert_eq!(
        c.delete(&w(&format!("{vip} 192.168.1.200"))),
        Ok(Edit::Deleted)
    );
    assert_eq!(c.delete(&w("global_defs smtp_server")), Ok(Edit::Deleted));
    c.delete(&w(
        "virtual_server 192.168.1.200 80 real_server 192.168.1.103 80",
    ))
    .unwrap();
    let got = config_of(&c);
    assert_eq!(got.vrrp_instances[0].virtual_ipaddress.len(), 1);
    assert!(got.global.smtp_server.is_none());
    assert_eq!(got.virtual_servers[0].real_servers.len(), 1);
    assert_eq!(c.delete(&w("vrrp_instance VI_1")), Ok(Edit::Deleted));
    assert!(config_of(&c).vrrp_instances.is_empty());
}

#[test]
fn deleting_the_last_entry_removes_the_list() {
    let mut c = with_box();
    c.delete(&w("vrrp_instance VI_1 virtual_ipaddress 192.168.1.200/24"))
        .unwrap();
    assert!(!c.text().contains("virtual_ipaddress"));
    // The instance now has no VIP: keepalived runs that, with a warning.
    let imp = c.check().expect("an instance without VIP is valid");
    assert!(
        (imp.warnings.iter()).any(|w| matches!(w.kind, WarningKind::NoVip { .. })),
        "{:?}",
        imp.warnings
    );
}

#[test]
fn delete_of_what_is_not_there_is_refused() {
    let mut c = with_box();
    let before = c.clone();
    for path in [
        "vrrp_instance VI_9",
        "vrrp_instance VI_1 nopreempt",
        "vrrp_instance VI_1 virtual_ipaddress 10.9.9.9",
        "vrrp_instance VI_1 unicast_peer",
        "virtual_server 192.168.1.200 81",
        "virtual_server 192.168.1.200 80 real_server 192.168.1.9 80 weight",
    ] {
        let e = c.delete(&w(path)).expect_err(path);
        assert!(matches!(e.cause, Cause::NotThere { .. }), "{path}: {e}");
    }
    assert_eq!(c, before);
    let e = c.delete(&w("vrrp_instance VI_9")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "delete vrrp_instance VI_9: nothing to delete: the candidate has no vrrp_instance VI_9"
    );
}

// --- refusals ----------------------------------------------------------------

#[test]
fn an_unknown_keyword_says_what_is_expected() {
    let mut c = with_box();
    let before = c.clone();
    let e = c.set(&w("vrrp_instance VI_1 priorty 150")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "set vrrp_instance VI_1 priorty 150: unknown keyword 'priorty' in vrrp_instance, \
         expected 'priority' (did you mean it?)"
    );
    let e = c.set(&w("appliance frobnicate 1")).unwrap_err();
    assert!(
        e.to_string().ends_with(
            "unknown keyword 'frobnicate' in appliance, expected one of hostname interface \
         ip_forward ipvs watchdog console"
        ),
        "{e}"
    );
    assert!(matches!(
        cause(c.set(&w("vrrp_instance VI_1 track_bfd"))),
        Cause::NotInVigil { .. }
    ));
    assert_eq!(c, before);
}

#[test]
fn an_out_of_range_value_is_the_parsers_own_error() {
    let mut c = with_box();
    let before = c.clone();
    let e = c.set(&w("vrrp_instance VI_1 priority 300")).unwrap_err();
    let Cause::Config(kinds) = &e.cause else {
        panic!("{e}")
    };
    assert!(
        matches!(&kinds[..], [ErrorKind::InvalidValue { keyword, value, .. }]
        if keyword == "priority" && value == "300")
    );
    assert!(
        e.to_string().starts_with(
            "set vrrp_instance VI_1 priority 300: 'priority': invalid value '300', expected"
        ),
        "{e}"
    );
    // keepalived starts `state master` as BACKUP: an import warns, the
    // console refuses it.
    let e = cause(c.set(&w("vrrp_instance VI_1 state master")));
    assert!(matches!(e, Cause::Tolerated(_)), "{e}");
    assert!(
        e.to_string()
            .ends_with("as keepalived does; write what you mean"),
        "{e}"
    );
    // keepalived forwards by NAT for an unknown method: refused likewise.
    let e = cause(c.set(&w("virtual_server 192.168.1.200 80 lb_kind FOO")));
    assert!(matches!(e, Cause::Tolerated(_)), "{e}");
    for bad in [
        "vrrp_instance VI_1 priority",
        "vrrp_instance VI_1 virtual_ipaddress 192.168.1.300/24",
        "appliance interface eth0 mtu 10",
    ] {
        assert!(matches!(cause(c.set(&w(bad))), Cause::Config(_)), "{bad}");
    }
    assert_eq!(c, before);
}

#[test]
fn a_missing_block_name_is_refused() {
    let mut c = with_box();
    assert_eq!(
        c.set(&w("vrrp_instance priority 100"))
            .unwrap_err()
            .to_string(),
        "set vrrp_instance priority 100: expected <name> after vrrp_instance"
    );
    assert!(matches!(
        cause(c.set(&w("vrrp_instance"))),
        Cause::Incomplete { .. }
    ));
    assert!(matches!(
        cause(c.set(&w("virtual_server lb_algo rr"))),
        Cause::Incomplete { .. }
    ));
    assert!(matches!(
        cause(c.set(&w("virtual_server www 80 lb_algo rr"))),
        Cause::Config(_)
    ));
    assert!(matches!(
        cause(c.set(&w("vrrp_instance VI_1 virtual_ipaddress"))),
        Cause::Incomplete { .. }
    ));
}

#[test]
fn missing_required_settings_wait_for_the_commit() {
    let mut c = Candidate::empty();
    assert_eq!(c.set(&w("vrrp_instance VI_2 priority 50")), Ok(Edit::Added));
    c.set(&w(
        "virtual_server 10.0.0.1 80 real_server 10.0.1.1 80 HTTP_GET connect_timeout 2",
    ))
    .unwrap();
    let errs = c.check().unwrap_err().errors;
    let missing: Vec<&str> = errs
        .iter()
        .filter_map(|e| match &e.kind {
            ErrorKind::MissingRequired { keyword, .. } => Some(*keyword),
            _ => None,
        })
        .collect();
    assert_eq!(missing, ["interface", "virtual_router_id", "url"]);
    // A wrong value inside the incomplete block is still refused at once.
    assert!(matches!(
        cause(c.set(&w("vrrp_instance VI_2 priority 0"))),
        Cause::Config(_)
    ));
}

#[test]
fn a_vip_outside_every_subnet_is_refused_on_set() {
    let mut c = with_box();
    let before = c.clone();
    let e = c
        .set(&w("vrrp_instance VI_1 virtual_ipaddress 10.9.9.9/24"))
        .unwrap_err();
    assert!(
        matches!(&e.cause, Cause::Config(k)
        if matches!(k[..], [ErrorKind::Invalid(Invalid::VipOutsideSubnet { .. })])),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("10.9.9.9 is not inside any subnet of eth0"),
        "{e}"
    );
    // Priority 255 on a BACKUP is refused where it is set.
    c.set(&w("vrrp_instance VI_1 state BACKUP")).unwrap();
    assert!(matches!(
        cause(c.set(&w("vrrp_instance VI_1 priority 255"))),
        Cause::Config(_)
    ));
    c.set(&w("vrrp_instance VI_1 state MASTER")).unwrap();
    assert_eq!(c, before);
}

#[test]
fn a_relation_broken_elsewhere_is_left_for_check() {
    let mut c = with_box();
    // The VIP stays where it was; the interface's address moves away.
    c.delete(&w("appliance interface eth0 address")).unwrap();
    c.set(&w("appliance interface eth0 address 10.0.0.1/24"))
        .unwrap();
    let errs = c.check().unwrap_err().errors;
    assert!(matches!(
        errs[0].kind,
        ErrorKind::Invalid(Invalid::VipOutsideSubnet { .. })
    ));
}

// --- load --------------------------------------------------------------------

#[test]
fn load_errors_are_config_checks_and_load_canonicalises() {
    let broken = "vrrp_instance VI_1 {\n    priority 300\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\nbogus 1\n";
    let path = std::env::temp_dir().join(format!("vigil-candidate-{}.conf", std::process::id()));
    std::fs::write(&path, broken).unwrap();
    let by_check = config::import_file(&path, false).unwrap_err().lines();
    std::fs::remove_file(&path).unwrap();
    let name = path.display().to_string();
    let by_load = Candidate::load(&name, broken).unwrap_err().lines();
    assert_eq!(by_load, by_check);
    assert_eq!(by_load.len(), 2, "{by_load:?}");

    let seed_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed/master.conf"),
    )
    .unwrap();
    let loaded = Candidate::load("paste", &seed_text).unwrap();
    assert!(!loaded.warnings.is_empty(), "the seed's spellings warn");
    assert_eq!(loaded.candidate.compare(&seed()), "");
}

// --- completion and help ----------------------------------------------------

#[test]
fn completion_offers_keywords_names_and_choices() {
    let c = with_box();
    let set = |words: &str, partial: &str| c.complete(Verb::Set, &w(words), partial);
    assert_eq!(
        set("", "vrrp_"),
        [
            "vrrp_script",
            "vrrp_track_process",
            "vrrp_sync_group",
            "vrrp_instance"
        ]
    );
    assert_eq!(set("vrrp_instance", ""), ["VI_1"]);
    // The tracked things are named blocks, their lists lists.
    let mut c2 = with_box();
    for line in [
        "set track_file maint file /run/maint",
        "set track_file maint weight -20",
        "set vrrp_instance VI_1 track_file maint",
    ] {
        let words = w(line);
        c2.set(&words[1..])
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    let text = c2.text();
    assert!(text.contains("track_file maint {"), "{text}");
    assert!(
        text.contains("    track_file {\n        maint\n    }"),
        "{text}"
    );
    assert_eq!(set("vrrp_instance VI_1", "pri"), ["priority"]);
    assert_eq!(set("vrrp_instance VI_1 state", ""), ["MASTER", "BACKUP"]);
    assert_eq!(set("vrrp_instance VI_1 interface", ""), ["eth0"]);
    assert_eq!(set("virtual_server", ""), ["192.168.1.200"]);
    assert_eq!(set("virtual_server 192.168.1.200", ""), ["80"]);
    assert_eq!(
        set("virtual_server 192.168.1.200 80 real_server", ""),
        ["192.168.1.102", "192.168.1.103"]
    );
    assert_eq!(
        set("virtual_server 192.168.1.200 80 lb_kind", ""),
        ["NAT", "DR", "TUN"]
    );
    assert!(set("virtual_server 192.168.1.200 80 lvs_sched", "w").contains(&"wrr".to_owned()));
    assert_eq!(
        set(
            "virtual_server 192.168.1.200 80 real_server 192.168.1.102 80",
            "TCP"
        ),
        ["TCP_CHECK"]
    );
    let del = |words: &str| c.complete(Verb::Delete, &w(words), "");
    assert_eq!(
        del("vrrp_instance VI_1"),
        [
            "state",
            "interface",
            "virtual_router_id",
            "priority",
            "advert_int",
            "authentication",
            "virtual_ipaddress"
        ]
    );
    assert_eq!(
        del("vrrp_instance VI_1 virtual_ipaddress"),
        ["192.168.1.200/24"]
    );
    assert!(c.complete(Verb::Set, &w("bogus"), "").is_empty());
}

#[test]
fn help_says_what_each_next_word_is() {
    let c = with_box();
    let help = c.help(Verb::Set, &w("vrrp_instance VI_1"), "pri");
    assert_eq!(help.len(), 1);
    assert!(
        help[0].starts_with("priority  <1-255> VRRP priority"),
        "{help:?}"
    );
    let help = c.help(Verb::Set, &w("vrrp_instance VI_1 priority"), "");
    assert_eq!(
        help,
        ["<value>  <1-255> VRRP priority (higher wins, 255 owner)"]
    );
    let help = c.help(Verb::Set, &w("vrrp_instance"), "");
    assert_eq!(help[0], "VI_1    vrrp_instance in the candidate");
    assert!(help[1].starts_with("<name>  a new vrrp_instance"));
    let help = c.help(Verb::Set, &w("vrrp_instance VI_1 prio"), "");
    assert_eq!(help.len(), 1);
    assert!(help[0].starts_with("unknown keyword 'prio'"), "{help:?}");
}

#[test]
fn urls_are_named_by_their_path_and_lists_complete_with_config_names() {
    let mut c = with_box();
    let rs = "virtual_server 192.168.1.200 80 real_server 192.168.1.102 80";
    c.set(&w(&format!("{rs} HTTP_GET url /health status_code 200")))
        .unwrap();
    c.set(&w(&format!("{rs} HTTP_GET url /ready"))).unwrap();
    c.set(&w("vrrp_script chk script /bin/true")).unwrap();
    c.set(&w("vrrp_sync_group G group VI_1")).unwrap();
    assert_eq!(
        c.complete(Verb::Delete, &w(&format!("{rs} HTTP_GET url")), ""),
        ["/health", "/ready"]
    );
    assert_eq!(
        c.complete(Verb::Set, &w("vrrp_instance VI_1 track_script"), ""),
        ["chk"]
    );
    assert_eq!(
        c.complete(Verb::Set, &w("vrrp_sync_group G group"), ""),
        ["VI_1"]
    );
    c.delete(&w(&format!("{rs} HTTP_GET url /health"))).unwrap();
    let v = &config_of(&c).virtual_servers[0];
    let crate::config::model::CheckKind::Http(h) = &v.real_servers[0].checkers[1].kind else {
        panic!("an HTTP_GET after the TCP_CHECK");
    };
    assert_eq!(h.urls.len(), 1);
    assert_eq!(h.urls[0].path, "/ready");
    // A track_script naming no vrrp_script is refused where it is set
    // (an import ignores it with a warning, as keepalived does).
    let e = cause(c.set(&w("vrrp_instance VI_1 track_script nope")));
    assert!(matches!(e, Cause::Tolerated(_)), "{e}");
}

#[test]
fn set_global_defs_metrics_listen_builds_the_endpoint_setting() {
    let mut c = with_box();
    c.set(&w("global_defs metrics listen 192.168.1.100:9100"))
        .unwrap();
    let m = config_of(&c).global.metrics.expect("metrics");
    assert_eq!(m.listen, "192.168.1.100:9100".parse().unwrap());
    c.delete(&w("global_defs metrics")).unwrap();
    assert_eq!(config_of(&c).global.metrics, None);
}

/// keepalived 2.2.7 ignores any word after `nopreempt` (and `preempt`):
/// `set ... nopreempt off` would not preempt, so the console refuses it;
/// `delete` is how to preempt again, and the text it keeps says exactly
/// what the box does.
#[test]
fn nopreempt_is_set_and_deleted_never_set_off() {
    let mut c = with_box();
    c.set(&w("vrrp_instance VI_1 state BACKUP")).unwrap();
    c.set(&w("vrrp_instance VI_1 nopreempt")).unwrap();
    assert!(config_of(&c).vrrp_instances[0].nopreempt);
    let before = c.clone();
    for said in ["nopreempt off", "nopreempt no", "preempt off"] {
        let e = cause(c.set(&w(&format!("vrrp_instance VI_1 {said}"))));
        assert!(matches!(e, Cause::Tolerated(_)), "{said}: {e}");
        assert_eq!(c, before, "{said}");
    }
    c.delete(&w("vrrp_instance VI_1 nopreempt")).unwrap();
    assert!(!config_of(&c).vrrp_instances[0].nopreempt);
    assert!(!c.text().contains("preempt"), "{}", c.text());
}
