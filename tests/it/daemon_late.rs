//! An instance whose interface does not exist when vigil starts (a NIC
//! renamed late by udev, a VLAN created afterwards) starts by itself once
//! the interface appears, without a restart; instances that could start
//! are not held back meanwhile.
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::IpAddr;
use std::time::Duration;

use netns::{serial, Lab};
use peers::{start_vigil_with, Daemon};

const CONF: &str = "vrrp_instance LATE {
    interface eth1
    virtual_router_id 7
    priority 100
    advert_int 0.1
    version 3
    virtual_ipaddress {
        10.77.0.100/24
    }
}

vrrp_instance NOW {
    interface eth0
    virtual_router_id 8
    priority 100
    advert_int 0.1
    version 3
    virtual_ipaddress {
        192.168.1.200/24
    }
}
";

fn state_of(d: &Daemon, name: &str) -> (String, String) {
    let v = d.status_json();
    let inst = v["instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name))
        .cloned()
        .unwrap_or_default();
    (
        inst["state"].as_str().unwrap_or("").to_owned(),
        inst["error"].as_str().unwrap_or("").to_owned(),
    )
}

/// Waits until instance `name` reports `want` (the failure shows the whole
/// status, the instance's error included).
fn wait_state(d: &Daemon, name: &str, want: &str, within: Duration) {
    d.wait_status(&format!("{name} {want}"), within, |v| {
        v["instances"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["name"] == name))
            .is_some_and(|i| i["state"] == want)
    });
}

/// eth1 appears on the node, up, with `addr` before it comes up: a veth
/// pair inside the namespace (this kernel has no dummy driver).
fn add_eth1(node: &netns::Node, addr: Option<&str>) {
    let ip = |args: &[&str]| node.ns.exec(args);
    ip(&[
        "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ]);
    if let Some(a) = addr {
        ip(&["ip", "addr", "add", a, "dev", "eth1"]);
    }
    ip(&["ip", "link", "set", "eth1p", "up"]);
    ip(&["ip", "link", "set", "eth1", "up"]);
}

#[test]
fn an_instance_starts_when_its_interface_appears() {
    let _g = serial();
    let lab = Lab::new(1);
    let node = &lab.nodes[0];
    let d = start_vigil_with(&lab, 0, CONF, "late");

    // The instance on eth0 runs; the one on eth1 waits, saying why.
    wait_state(&d, "NOW", "MASTER", Duration::from_secs(5));
    let (_, error) = state_of(&d, "LATE");
    assert!(error.contains("no interface eth1"), "{error:?}");

    // eth1 appears: LATE starts by itself and takes its VIP.
    add_eth1(node, Some("10.77.0.1/24"));
    wait_state(&d, "LATE", "MASTER", Duration::from_secs(5));
    let vip: IpAddr = "10.77.0.100".parse().unwrap();
    assert!(
        node.ns.addrs("eth1").contains(&vip),
        "{:?}",
        node.ns.addrs("eth1")
    );
    // The other instance was not disturbed.
    assert_eq!(state_of(&d, "NOW").0, "MASTER");
}

/// The restarts of the supervised task `task`, from `vigil status --json`.
fn restarts(d: &Daemon, task: &str) -> u64 {
    let v = d.status_json();
    v["tasks"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == task))
        .and_then(|t| t["restarts"].as_u64())
        .unwrap_or_else(|| panic!("no task {task:?} in {v}"))
}

#[test]
fn an_instance_waiting_for_its_address_keeps_checking_in() {
    // At boot a NIC can appear before anything has given it an address:
    // the instance waits for its primary address (up to 15 s), longer
    // than its task's 2 s deadline, and must not be taken for stalled.
    let _g = serial();
    let lab = Lab::new(1);
    let node = &lab.nodes[0];
    let d = start_vigil_with(&lab, 0, CONF, "noaddr");
    wait_state(&d, "NOW", "MASTER", Duration::from_secs(5));
    add_eth1(node, None);
    std::thread::sleep(Duration::from_secs(4));
    node.ns
        .exec(&["ip", "addr", "add", "10.77.0.1/24", "dev", "eth1"]);
    wait_state(&d, "LATE", "MASTER", Duration::from_secs(5));
    assert_eq!(restarts(&d, "instance LATE"), 0, "{}", d.status_json());
}

#[test]
fn an_instance_whose_address_comes_after_the_wait_starts_when_it_comes() {
    // A NIC that gets its address later than the 15 s wait (an appliance
    // set-up held up, an operator adding it by hand): the instance shows
    // ERROR meanwhile, then starts by itself, without a restart.
    let _g = serial();
    let lab = Lab::new(1);
    let node = &lab.nodes[0];
    add_eth1(node, None);
    let d = start_vigil_with(&lab, 0, CONF, "lateaddr");
    wait_state(&d, "NOW", "MASTER", Duration::from_secs(5));
    wait_state(&d, "LATE", "ERROR", Duration::from_secs(25));
    let (_, error) = state_of(&d, "LATE");
    assert!(
        error.contains("no primary ipv4 address on eth1") && error.contains("trying again"),
        "{error:?}"
    );
    node.ns
        .exec(&["ip", "addr", "add", "10.77.0.1/24", "dev", "eth1"]);
    // Tried again within 10 s (the longest wait between tries), then
    // MASTER after its Master_Down_Interval.
    wait_state(&d, "LATE", "MASTER", Duration::from_secs(15));
    let vip: IpAddr = "10.77.0.100".parse().unwrap();
    assert!(
        node.ns.addrs("eth1").contains(&vip),
        "{:?}",
        node.ns.addrs("eth1")
    );
    assert_eq!(restarts(&d, "instance LATE"), 0, "{}", d.status_json());
    assert_eq!(state_of(&d, "NOW").0, "MASTER");
    let log = std::fs::read_to_string(d.proc.log()).unwrap_or_default();
    assert!(log.contains("instance started late"), "{log}");
}
