//! An instance without `virtual_ipaddress`, which keepalived runs (people
//! move an address with a notify script, e.g. a cloud's elastic IP): vigil
//! runs it too. In namespaces, two nodes elect a MASTER over adverts that
//! carry no address, the MASTER's notify script runs, no address is
//! added, and the BACKUP takes over when the MASTER goes.
//!
//! Needs root and iproute2.

use crate::support::{netns, peers};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use netns::{serial, Lab};
use peers::{first_state, start_vigil_with};

const WITHIN: Duration = Duration::from_secs(5);

/// A v3 100 ms instance on `eth0` without addresses whose notify_master
/// appends `router` to master.log in `dir`.
fn conf(router: &str, priority: u8, dir: &Path) -> String {
    let d = dir.display();
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority {priority}
    advert_int 0.1
    version 3
    notify_master \"{d}/master.sh {router}\"
}}
"
    )
}

fn master_log(dir: &Path, want_last: &str) {
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(dir.join("master.log")).unwrap_or_default();
        if text.lines().last() == Some(want_last) {
            return;
        }
        assert!(
            t0.elapsed() < WITHIN,
            "master.log: {text:?}, want last {want_last:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn instances_without_addresses_elect_a_master_and_fail_over() {
    let _g = serial();
    let lab = Lab::new(2);
    let dir = lab.path("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("master.sh");
    let body = format!("#!/bin/sh\necho \"$1\" >> {}/master.log\n", dir.display());
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before: Vec<_> = (0..2).map(|n| lab.nodes[n].ns.addrs("eth0")).collect();

    let mut n1 = start_vigil_with(&lab, 0, &conf("lb1", 100, &dir), "n1");
    n1.wait_status("node 1 MASTER", WITHIN, |v| first_state(v) == "MASTER");
    master_log(&dir, "lb1");
    let n2 = start_vigil_with(&lab, 1, &conf("lb2", 90, &dir), "n2");
    n2.wait_status("node 2 BACKUP", WITHIN, |v| first_state(v) == "BACKUP");
    // Node 2 hears node 1's adverts (no address in them) and stays BACKUP.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(first_state(&n2.status_json()), "BACKUP");
    assert_eq!(first_state(&n1.status_json()), "MASTER");
    for (n, addrs) in before.iter().enumerate() {
        assert_eq!(&lab.nodes[n].ns.addrs("eth0"), addrs, "node {}", n + 1);
    }

    n1.stop();
    n2.wait_status("node 2 MASTER", WITHIN, |v| first_state(v) == "MASTER");
    master_log(&dir, "lb2");
}
