use super::*;

fn seed() -> Config {
    let path = format!("{}/fixtures/seed/master.conf", env!("CARGO_MANIFEST_DIR"));
    crate::config::import_file(std::path::Path::new(&path), false)
        .expect("seed imports")
        .config
}

/// The lines as `vigil reload` prints them.
fn text<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

const VS: &str = "TCP 192.168.1.200:80";

fn real(r: &str) -> (String, String) {
    (VS.to_owned(), r.to_owned())
}

#[test]
fn the_same_config_changes_nothing() {
    let c = seed();
    assert!(changes(&c, &c, &c).is_empty());
}

#[test]
fn real_servers_added_removed_and_changed_are_live() {
    let old = seed();
    let mut new = old.clone();
    let vs = &mut new.virtual_servers[0];
    let mut rs3 = vs.real_servers[0].clone();
    rs3.addr = "192.168.1.104".parse().unwrap();
    vs.real_servers.remove(1);
    vs.real_servers[0].weight += 1;
    vs.real_servers.push(rs3);
    let c = changes(&old, &old, &new);
    assert!(c.pending.is_empty(), "{:?}", c.pending);
    let (s, r) = (real("192.168.1.102:80"), real("192.168.1.104:80"));
    let gone = real("192.168.1.103:80");
    assert_eq!(
        c.live,
        [
            Change::RealServerChanged {
                service: s.0,
                real: s.1
            },
            Change::RealServerAdded {
                service: r.0,
                real: r.1
            },
            Change::RealServerRemoved {
                service: gone.0,
                real: gone.1
            },
        ]
    );
    assert_eq!(
        text(&c.live),
        [
            "virtual server TCP 192.168.1.200:80: real server 192.168.1.102:80 changed",
            "virtual server TCP 192.168.1.200:80: real server 192.168.1.104:80 added",
            "virtual server TCP 192.168.1.200:80: real server 192.168.1.103:80 removed: draining (weight 0) until its connections end",
        ]
    );
}

#[test]
fn a_service_removed_and_one_added() {
    let old = seed();
    let mut new = old.clone();
    new.virtual_servers[0].key = crate::config::model::ServiceKey::Addr {
        addr: "192.168.1.201".parse().unwrap(),
        port: 80,
    };
    let c = changes(&old, &old, &new);
    assert_eq!(
        c.live,
        [
            Change::ServiceAdded {
                service: "TCP 192.168.1.201:80".into(),
                real_servers: 2
            },
            Change::ServiceRemoved { service: VS.into() },
        ]
    );
    assert_eq!(
        text(&c.live),
        [
            "virtual server TCP 192.168.1.201:80 added with 2 real servers",
            "virtual server TCP 192.168.1.200:80 removed: its real servers drain, then it is deleted",
        ]
    );
}

#[test]
fn vrrp_changes_are_pending_against_what_vrrp_runs() {
    let running = seed();
    let mut new = running.clone();
    new.vrrp_instances[0].priority = 150;
    new.global.lvs_timeouts.tcp = Some(7200);
    let c = changes(&running, &running, &new);
    assert_eq!(c.live, [Change::LvsTimeouts]);
    assert_eq!(text(&c.live), ["lvs_timeouts changed"]);
    assert_eq!(
        c.pending,
        [Pending::Instance {
            name: "VI_1".into(),
            diff: Diff::Changed
        }]
    );
    assert_eq!(text(&c.pending), ["vrrp_instance VI_1 changed"]);
    // Committing the running VRRP settings back clears the pending list.
    let back = changes(&running, &new, &running);
    assert!(back.pending.is_empty());
    assert_eq!(back.live, [Change::LvsTimeouts]);
}

#[test]
fn instances_and_groups_added_and_removed_are_pending_in_order() {
    let running = seed();
    let mut new = running.clone();
    let mut added = new.vrrp_instances[0].clone();
    added.name = "VI_NEW".into();
    new.vrrp_instances.remove(0);
    new.vrrp_instances.push(added);
    new.global.lvs_sync_daemon = None;
    let p = pending(&running, &new);
    let name = |n: &str| n.to_owned();
    assert_eq!(
        p.first(),
        Some(&Pending::Instance {
            name: name("VI_NEW"),
            diff: Diff::Added
        })
    );
    assert!(p.contains(&Pending::Instance {
        name: name(&running.vrrp_instances[0].name),
        diff: Diff::Removed
    }));
    let removed = format!("vrrp_instance {} removed", running.vrrp_instances[0].name);
    assert!(text(&p).contains(&removed), "{p:?}");
}

#[test]
fn the_appliance_set_up_is_live_and_only_watchdog_and_console_wait() {
    let mut old = seed();
    old.appliance.get_or_insert_with(Default::default);
    let mut new = old.clone();
    let a = new.appliance.as_mut().unwrap();
    a.hostname = Some("lb2".into());
    a.ip_forward = !a.ip_forward;
    let c = changes(&old, &old, &new);
    assert!(c.setup && !c.is_empty());
    assert!(c.pending.is_empty(), "{:?}", c.pending);
    assert!(c.live.is_empty(), "{:?}", c.live);
    let mut watched = new.clone();
    if let Some(a) = watched.appliance.as_mut() {
        a.watchdog.timeout += 1;
    }
    let c = changes(&new, &new, &watched);
    assert!(!c.setup);
    assert_eq!(c.pending, [Pending::Appliance]);
    // The console password is live: asked at the next login.
    let mut guarded = new.clone();
    if let Some(a) = guarded.appliance.as_mut() {
        a.console_password_hash = Some("$6$x$y".into());
    }
    let c = changes(&new, &new, &guarded);
    assert!(c.pending.is_empty(), "{:?}", c.pending);
    assert_eq!(c.live, [Change::ConsolePassword]);
}

#[test]
fn script_user_reaches_misc_checks_live_and_nothing_else_without_them() {
    use crate::config::model::{CheckKind, Checker, MiscCheck, Script, ScriptUser};
    let old = seed();
    let mut new = old.clone();
    new.global.script_user = Some(ScriptUser {
        user: "nobody".into(),
        group: None,
    });
    assert!(
        !changes(&old, &old, &new)
            .live
            .contains(&Change::MiscCheckScripts),
        "no MISC_CHECK: nothing to replace"
    );
    let mut with_misc = old.clone();
    with_misc.virtual_servers[0].real_servers[0]
        .checkers
        .push(Checker::new(CheckKind::Misc(Box::new(MiscCheck {
            path: Script {
                argv: vec!["/bin/true".into()],
            },
            timeout: None,
            dynamic: false,
            user: None,
        }))));
    let mut new = with_misc.clone();
    new.global.enable_script_security = true;
    let c = changes(&with_misc, &with_misc, &new);
    assert_eq!(c.live, vec![Change::MiscCheckScripts]);
    assert_eq!(
        text(&c.live),
        ["script_user / enable_script_security applied to the MISC_CHECKs (checks replaced)"]
    );
}

#[test]
fn static_routes_and_rules_are_live_and_an_instances_routes_are_its_settings() {
    use crate::config::model::{IfAddr, IpRoute, IpRule};
    let old = seed();
    let mut new = old.clone();
    new.static_rules.push(IpRule::lookup(200, false));
    let c = changes(&old, &old, &new);
    assert!(c.statics && c.live.is_empty() && c.pending.is_empty());
    assert!(!c.is_empty());
    // An instance's virtual_routes: its settings, applied in place.
    let mut new = old.clone();
    let dest = IfAddr {
        addr: "10.77.0.0".parse().unwrap(),
        prefix: 16,
    };
    new.vrrp_instances[0].virtual_routes.push(IpRoute::to(dest));
    let c = changes(&old, &old, &new);
    assert!(!c.statics);
    assert_eq!(text(&c.pending), text(&pending(&old, &new)));
    assert_eq!(c.pending.len(), 1);
    let line = Change::StaticRoutes {
        added: 1,
        removed: 2,
        failed: 0,
    };
    assert_eq!(
        line.to_string(),
        "static_routes / static_rules applied: 1 lines installed, 2 removed"
    );
    let failed = Change::StaticRoutes {
        added: 1,
        removed: 0,
        failed: 1,
    };
    assert!(failed
        .to_string()
        .ends_with("(1 kernel calls FAILED: see the journal)"));
}
