//! Unit tests of `handoff.rs`.

use super::*;
use crate::config::bounds::Millis;
use crate::config::model::ServiceKey;

fn inst(name: &str, advert_ms: u32) -> VrrpInstance {
    let text = format!(
        "vrrp_instance {name} {{\n interface eth0\n virtual_router_id 51\n priority 100\n \
             advert_int 1\n virtual_ipaddress {{\n 192.168.1.200/24\n }}\n}}\n"
    );
    let mut cfg = crate::config::import_str("t.conf", &text, false)
        .expect("parses")
        .config;
    let mut i = cfg.vrrp_instances.remove(0);
    i.advert_int = Millis(advert_ms);
    i
}

fn record(masters: Vec<Master>, at_ns: u64) -> Record {
    Record {
        format: FORMAT,
        at_ns,
        masters,
        health: vec![(
            ServiceKey::Addr {
                addr: "192.168.1.200".parse().unwrap(),
                port: 80,
            },
            "192.168.1.102".parse().unwrap(),
            Some(80),
            false,
        )],
    }
}

#[test]
fn round_trips_and_rejects_other_formats() {
    let r = record(vec![Master::of(&inst("VI_1", 1000))], 5);
    let bytes = r.encode().unwrap();
    assert_eq!(Record::decode(&bytes), Some(r.clone()));
    let other = Record { format: 2, ..r };
    assert_eq!(Record::decode(&other.encode().unwrap()), None);
    assert_eq!(Record::decode(&bytes[..bytes.len() - 1]), None);
    assert_eq!(Record::decode(b""), None);
}

#[test]
fn resumes_only_the_same_instance_within_three_intervals() {
    let i = inst("VI_1", 100);
    let at = 1_000_000_000;
    let r = record(vec![Master::of(&i)], at);
    assert!(r.resumes(&i, at));
    assert!(r.resumes(&i, at + 299_000_000));
    assert!(
        !r.resumes(&i, at + 300_000_000),
        "a backup may have taken over"
    );
    // A clock read before the record (it cannot be) is not stale.
    assert!(r.resumes(&i, at - 1));

    let mut other_vrid = i.clone();
    other_vrid.virtual_router_id = 52;
    assert!(!r.resumes(&other_vrid, at));
    let mut renamed = i.clone();
    renamed.name = "VI_2".into();
    assert!(!r.resumes(&renamed, at));
    assert!(!record(vec![], at).resumes(&i, at));
}

#[test]
fn path_sits_beside_the_control_socket() {
    assert_eq!(
        path_for(Path::new("/run/vigil/control.sock")),
        PathBuf::from("/run/vigil/control.handoff")
    );
}

#[test]
fn preflight_names_a_binary_that_does_not_run() {
    let e = preflight(Path::new("/nonexistent/vigil"), Duration::from_secs(1)).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/vigil"), "{e}");
    let e = preflight(Path::new("/bin/false"), Duration::from_secs(5)).unwrap_err();
    assert!(e.to_string().contains("exited"), "{e}");
    preflight(Path::new("/bin/true"), Duration::from_secs(5)).unwrap();
}
