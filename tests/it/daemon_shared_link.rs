//! Several VRRP instances on one interface all start: at start-up each
//! instance looks its interface's address up (an rtnetlink dump) at the
//! same moment as the others, over one shared netlink socket, where the
//! kernel runs one dump at a time and refuses a second with EBUSY. Before
//! `net::Net` took dumps one at a time, the second instance on an
//! interface stayed in ERROR ("netlink address dump failed") until vigil
//! was restarted.
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::time::Duration;

use netns::{serial, Lab};
use peers::start_vigil_with;

/// Six instances on eth0: four VRRPv3 at 100 ms, two VRRPv2 at 1 s.
fn conf() -> String {
    (0..6)
        .map(|i| {
            let (version, advert) = if i < 4 { (3, "0.1") } else { (2, "1") };
            format!(
                "vrrp_instance I{i} {{\n  interface eth0\n  virtual_router_id {}\n  \
                 priority 100\n  advert_int {advert}\n  version {version}\n  \
                 virtual_ipaddress {{\n    192.168.1.{}/24\n  }}\n}}\n",
                20 + i,
                210 + i
            )
        })
        .collect()
}

#[test]
fn every_instance_on_one_interface_starts() {
    let _g = serial();
    let lab = Lab::new(1);
    let d = start_vigil_with(&lab, 0, &conf(), "shared");
    // Alone on the link, every instance becomes MASTER: VRRPv2 after its
    // master-down interval (about 3.6 s at priority 100).
    d.wait_status("all six instances MASTER", Duration::from_secs(10), |v| {
        v["instances"]
            .as_array()
            .is_some_and(|a| a.len() == 6 && a.iter().all(|i| i["state"] == "MASTER"))
    });
    let log = std::fs::read_to_string(d.proc.log()).unwrap_or_default();
    assert!(
        !log.contains("address lookup"),
        "an address lookup failed at start-up:\n{log}"
    );
}
