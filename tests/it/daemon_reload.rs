//! `vigil reload` and SIGHUP on a running daemon: a config with errors is
//! refused with its file:line:col and changes nothing; an unchanged one
//! says so; VRRP changes apply in place (a master stays master, VIPs are
//! added and removed) and what cannot (a new VRID) is reported as pending
//! a restart; `vigil status` shows the last reload and what is pending.
//! (The live IPVS part needs a kernel with ip_vs: unit tests in
//! `ipvs::task` and the lab cover it.)
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use netns::{serial, Lab};
use peers::{first_state, start_vigil_with, vigil_bin, Daemon};

fn conf(priority: u8) -> String {
    format!(
        "vrrp_instance VI_R {{
    interface eth0
    virtual_router_id 9
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        192.168.1.200/24
    }}
}}
"
    )
}

fn reload(d: &Daemon) -> (i32, String) {
    let out = Command::new(vigil_bin())
        .args(["reload", "--control"])
        .arg(&d.control)
        .output()
        .expect("run vigil reload");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn reload_refuses_errors_applies_vrrp_changes_in_place_and_reports_the_rest_as_pending() {
    let _g = serial();
    let lab = Lab::new(1);
    let node = &lab.nodes[0];
    let d = start_vigil_with(&lab, 0, &conf(100), "reload");
    let conf_path = d.conf.clone();
    d.wait_status("MASTER", Duration::from_secs(5), |v| {
        first_state(v) == "MASTER"
    });
    let vip: IpAddr = "192.168.1.200".parse().unwrap();
    let vip_held = || node.ns.addrs("eth0").contains(&vip);
    assert!(vip_held());

    // Unchanged.
    let (code, out) = reload(&d);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("no change"), "{out}");

    // An error: exit 1, the position of the error, nothing applied.
    std::fs::write(
        &conf_path,
        conf(100).replace("priority 100", "priority 300"),
    )
    .unwrap();
    let (code, out) = reload(&d);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("reload.conf:4:"),
        "file:line:col expected: {out}"
    );
    assert!(out.contains("nothing applied"), "{out}");
    let v = d.status_json();
    assert!(
        v["reload"].as_str().unwrap_or("").starts_with("REFUSED"),
        "{v}"
    );
    assert_eq!(first_state(&v), "MASTER");

    // VRRP changes apply in place: the master stays master, with its
    // new priority, and a VIP added by the commit appears at once.
    let two_vips = conf(150).replace(
        "192.168.1.200/24\n",
        "192.168.1.200/24\n        192.168.1.201/24\n",
    );
    std::fs::write(&conf_path, &two_vips).unwrap();
    let (code, out) = reload(&d);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("vrrp_instance VI_R applied in place"), "{out}");
    assert!(!out.contains("pending"), "{out}");
    let v = d.status_json();
    assert!(v["pending"].is_null(), "{v}");
    assert_eq!(first_state(&v), "MASTER");
    assert_eq!(v["instances"][0]["priority"], 150, "{v}");
    assert!(vip_held());
    let vip2: IpAddr = "192.168.1.201".parse().unwrap();
    assert!(
        node.ns.addrs("eth0").contains(&vip2),
        "{:?}",
        node.ns.addrs("eth0")
    );

    // What cannot change in place (the VRID) is reported, and pending;
    // the instance runs on as it was, VIPs and all.
    std::fs::write(
        &conf_path,
        two_vips.replace("virtual_router_id 9", "virtual_router_id 10"),
    )
    .unwrap();
    let (code, out) = reload(&d);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("vrrp_instance VI_R NOT applied (version, VRID or primary address changed)"),
        "{out}"
    );
    assert!(
        out.contains("pending a restart: vrrp_instance VI_R changed"),
        "{out}"
    );
    let v = d.status_json();
    assert_eq!(v["pending"], "vrrp_instance VI_R changed", "{v}");
    assert_eq!(v["instances"][0]["vrid"], 9, "{v}");
    assert_eq!(first_state(&v), "MASTER");
    assert!(vip_held() && node.ns.addrs("eth0").contains(&vip2));

    // An instance added by a commit starts; removed again, it stops (as
    // on shutdown: resign, VIP removed). The other one is not disturbed.
    let second = "vrrp_instance VI_S {
    interface eth0
    virtual_router_id 11
    priority 100
    advert_int 0.1
    version 3
    virtual_ipaddress {
        192.168.1.202/24
    }
}
";
    let vip3: IpAddr = "192.168.1.202".parse().unwrap();
    std::fs::write(&conf_path, format!("{two_vips}{second}")).unwrap();
    let (code, out) = reload(&d);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("vrrp_instance VI_S added: started"), "{out}");
    d.wait_status("VI_S MASTER", Duration::from_secs(5), |v| {
        v["instances"][1]["name"] == "VI_S" && v["instances"][1]["state"] == "MASTER"
    });
    assert!(node.ns.addrs("eth0").contains(&vip3));
    std::fs::write(&conf_path, &two_vips).unwrap();
    let (code, out) = reload(&d);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("vrrp_instance VI_S removed: stopped"), "{out}");
    let v = d.status_json();
    assert_eq!(v["instances"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(!node.ns.addrs("eth0").contains(&vip3));
    assert_eq!(first_state(&v), "MASTER");
    assert!(vip_held() && node.ns.addrs("eth0").contains(&vip2));

    // SIGHUP with the running settings back: nothing pending any more.
    std::fs::write(&conf_path, conf(100)).unwrap();
    let pid = d.proc.pid().to_string();
    let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(hup.success());
    // The VIP the last applied commit added goes again.
    d.wait_status("pending cleared", Duration::from_secs(5), |v| {
        v["pending"].is_null() && v["instances"][0]["priority"] == 100
    });
    assert_eq!(first_state(&d.status_json()), "MASTER");
    assert!(vip_held());
    assert!(!node.ns.addrs("eth0").contains(&vip2));
}

/// VI_R at priority 100 tracking `chk` (a file test) with `weight`.
fn tracked_conf(flag: &std::path::Path, weight: i16, tracked: bool) -> String {
    let base = conf(100);
    let track = if tracked {
        "    track_script {\n        chk\n    }\n}\n"
    } else {
        "}\n"
    };
    format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -e {}\"\n    weight {weight}\n}}\n\n{}{track}",
        flag.display(),
        base.trim_end().trim_end_matches('}')
    )
}

/// A changed `vrrp_script` set applies live: the new weight moves the
/// effective priority at once (the script keeps its FAIL state), and an
/// instance that stops tracking it is back at its base priority.
#[test]
fn reload_applies_a_changed_vrrp_script_live() {
    let _g = serial();
    let lab = Lab::new(1);
    let flag = lab.path("absent-flag");
    let d = start_vigil_with(&lab, 0, &tracked_conf(&flag, -20, true), "reload-track");
    let conf_path = d.conf.clone();
    let prio = |v: &serde_json::Value| v["instances"][0]["effective_priority"].as_u64();
    d.wait_status("priority 80", Duration::from_secs(5), |v| {
        prio(v) == Some(80) && v["scripts"][0]["state"] == "FAIL"
    });
    std::fs::write(&conf_path, tracked_conf(&flag, -50, true)).expect("write");
    let (code, text) = reload(&d);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("vrrp_script settings applied"), "{text}");
    d.wait_status("priority 50", Duration::from_secs(5), |v| {
        prio(v) == Some(50)
    });
    std::fs::write(&conf_path, tracked_conf(&flag, -50, false)).expect("write");
    let (code, text) = reload(&d);
    assert_eq!(code, 0, "{text}");
    d.wait_status("priority 100", Duration::from_secs(5), |v| {
        prio(v) == Some(100)
    });
    let v = d.status_json();
    assert_eq!(v["pending"], serde_json::Value::Null, "{v}");
}

/// A script no instance tracked does not run; once a reload makes an
/// instance track it, it runs (the task starts again with it).
#[test]
fn reload_starts_a_script_an_instance_begins_to_track() {
    let _g = serial();
    let lab = Lab::new(1);
    let flag = lab.path("absent-flag");
    let d = start_vigil_with(&lab, 0, &tracked_conf(&flag, -20, false), "reload-track2");
    let v = d.status_json();
    assert_eq!(v["scripts"], serde_json::Value::Null, "unused: not run {v}");
    std::fs::write(&d.conf, tracked_conf(&flag, -20, true)).expect("write");
    let (code, text) = reload(&d);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("vrrp_script set applied"), "{text}");
    d.wait_status("script FAIL, priority 80", Duration::from_secs(5), |v| {
        v["scripts"][0]["state"] == "FAIL"
            && v["instances"][0]["effective_priority"].as_u64() == Some(80)
    });
}
