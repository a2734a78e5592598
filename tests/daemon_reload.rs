//! `vigil reload` and SIGHUP on a running daemon: a config with errors is
//! refused with its file:line:col and changes nothing; an unchanged one
//! says so; VRRP changes are reported as pending a restart and never move
//! the VIP; `vigil status` shows the last reload and what is pending.
//! (The live IPVS part needs a kernel with ip_vs: unit tests in
//! `ipvs::task` and the lab cover it.)
//!
//! Needs root and iproute2 (scripts/install-deps).

#[path = "support/netns.rs"]
mod netns;
#[path = "support/peers.rs"]
mod peers;

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use netns::{serial, Lab};
use peers::{start_vigil_with, vigil_bin, Daemon};

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

fn wait_for(d: &Daemon, what: &str, within: Duration, ok: impl Fn(&serde_json::Value) -> bool) {
    let t0 = Instant::now();
    loop {
        let v = d.status_json();
        if ok(&v) {
            return;
        }
        assert!(
            t0.elapsed() < within,
            "{what} not seen within {within:?}: {v}\n{}",
            d.proc.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state(v: &serde_json::Value) -> &str {
    v["instances"][0]["state"].as_str().unwrap_or("")
}

#[test]
fn reload_refuses_errors_reports_vrrp_changes_as_pending_and_never_moves_the_vip() {
    let _g = serial();
    let lab = Lab::new(1);
    let node = &lab.nodes[0];
    let d = start_vigil_with(&lab, 0, &conf(100), "reload");
    let conf_path = d.conf.clone();
    wait_for(&d, "MASTER", Duration::from_secs(5), |v| {
        state(v) == "MASTER"
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
    assert_eq!(state(&v), "MASTER");

    // A VRRP change: accepted, pending a restart, the VIP stays.
    std::fs::write(&conf_path, conf(150)).unwrap();
    let (code, out) = reload(&d);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("pending a restart: vrrp_instance VI_R changed"),
        "{out}"
    );
    let v = d.status_json();
    assert_eq!(v["pending"], "vrrp_instance VI_R changed", "{v}");
    assert_eq!(state(&v), "MASTER");
    assert_eq!(v["instances"][0]["priority"], 100, "still the running one");
    assert!(vip_held());

    // SIGHUP with the running settings back: nothing pending any more.
    std::fs::write(&conf_path, conf(100)).unwrap();
    let pid = d.proc.pid().to_string();
    let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(hup.success());
    wait_for(&d, "pending cleared", Duration::from_secs(5), |v| {
        v["pending"].is_null()
            && v["reload"]
                .as_str()
                .is_some_and(|r| r.starts_with("unchanged"))
    });
    assert_eq!(state(&d.status_json()), "MASTER");
    assert!(vip_held());
}
