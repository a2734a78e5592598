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

/// A v3 advert of VRID 51, priority 100, as a member emits it.
fn advert(interval_ms: u32) -> Advert {
    use crate::vrrp::packet::{Addrs, V3Repr};
    use crate::vrrp::types::{AdverInt, Priority, Vrid};
    let repr = Repr::V3(V3Repr {
        vrid: Vrid::new(51).unwrap(),
        priority: Priority(100),
        max_adver_int: AdverInt::new((interval_ms / 10) as u16).unwrap(),
        addrs: Addrs::V4(heapless::Vec::from_slice(&["192.168.1.200".parse().unwrap()]).unwrap()),
    });
    let (src, dst): (IpAddr, IpAddr) = (
        "192.168.1.1".parse().unwrap(),
        "224.0.0.18".parse().unwrap(),
    );
    let mut buf = vec![0; 256];
    let n = repr.emit(&mut buf, src, dst).unwrap();
    buf.truncate(n);
    Advert {
        ifindex: 7,
        src,
        dsts: vec![dst],
        ttl: 255,
        interval_ms,
        vrrp: buf,
    }
}

fn master(i: &VrrpInstance) -> Master {
    Master::of(i, advert(i.advert_int.0))
}

fn states() -> Vec<crate::health::KnownState> {
    vec![(
        ServiceKey::Addr {
            addr: "192.168.1.200".parse().unwrap(),
            port: 80,
        },
        "192.168.1.102".parse().unwrap(),
        Some(80),
        false,
    )]
}

fn record(masters: Vec<Master>, at_ns: u64) -> Record {
    Record {
        format: FORMAT,
        at_ns,
        masters,
        health: Health::encode(&states()).unwrap(),
        build: None,
        config: None,
        table: Bytes::default(),
    }
}

#[test]
fn round_trips_and_rejects_other_formats() {
    let r = record(vec![master(&inst("VI_1", 1000))], 5);
    let bytes = r.encode().unwrap();
    assert_eq!(Record::decode(&bytes), Some(r.clone()));
    assert_eq!(Record::decode(&bytes).unwrap().health.decode(), states());
    // No health states (no virtual server): none come back.
    let bare = Record {
        health: Health::default(),
        ..r.clone()
    };
    let back = Record::decode(&bare.encode().unwrap()).unwrap();
    assert_eq!(back.health.decode(), vec![]);
    assert_eq!(back.masters, r.masters);
    let other = Record {
        format: 1,
        ..r.clone()
    };
    assert_eq!(Record::decode(&other.encode().unwrap()), None);
    // A record cut anywhere is no record.
    for end in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(Record::decode(&bytes[..end]), None, "cut at {end}");
    }
}

/// Format 2, as the previous release writes it (the head, then the
/// health states' bytes to the end): its masters and states come back, no
/// config or table, so an upgrade from it is hitless.
#[test]
fn a_record_of_format_2_gives_its_masters_and_states() {
    let r = record(vec![master(&inst("VI_1", 1000))], 5);
    let mut v2 = postcard::to_allocvec(&(2u8, r.at_ns, &r.masters)).unwrap();
    v2.extend_from_slice(&r.health.0 .0);
    let back = Record::decode(&v2).expect("format 2 reads");
    assert_eq!((back.format, back.at_ns), (2, 5));
    assert_eq!(back.masters, r.masters);
    assert_eq!(back.health.decode(), states());
    let own = crate::store::BuildId::new(&[1]).unwrap();
    assert!(back.build.is_none() && back.config(Some(&own)).is_none());
    assert!(back.table(Some(&own)).is_none());
    // Its head cut: nothing.
    assert_eq!(Record::decode(&v2[..3]), None);
}

/// The config and the table come back to a process of the build that
/// wrote them, and to no other (nor to a process without a build id).
#[test]
fn config_and_table_are_for_the_same_build_only() {
    use crate::ipvs::kernel::Table;
    let text = "virtual_server 192.168.1.200 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                real_server 192.168.1.102 80 {\n weight 1\n }\n}\n";
    let loaded = super::super::Loaded {
        config: crate::config::import_str("t.conf", text, false)
            .expect("parses")
            .config,
        describe: "t.conf".into(),
        seq: None,
        warnings: vec!["t.conf:1:1: a warning".into()],
        checked_when_written: false,
        rolled_back: None,
    };
    let mut table = Table::default();
    let desired = crate::ipvs::desired::build(
        &loaded.config,
        &Default::default(),
        &Default::default(),
        &Default::default(),
    );
    table.services.extend(desired.table.services);
    assert_eq!(table.dest_count(), 1);
    let ours = crate::store::BuildId::new(&[1, 2, 3]).unwrap();
    let theirs = crate::store::BuildId::new(&[1, 2, 4]).unwrap();
    let r = Record {
        build: Some(Bytes(ours.as_bytes().to_vec())),
        config: HandedConfig::of(&loaded),
        table: Bytes(postcard::to_allocvec(&table).unwrap()),
        ..record(vec![], 5)
    };
    let back = Record::decode(&r.encode().unwrap()).expect("decodes");
    let config = back.config(Some(&ours)).expect("the same build");
    assert_eq!(config.config, loaded.config);
    assert_eq!(
        (config.describe, config.warnings),
        (loaded.describe, loaded.warnings)
    );
    assert_eq!(back.table(Some(&ours)), Some(table));
    for other in [Some(&theirs), None] {
        assert!(back.config(other).is_none() && back.table(other).is_none());
    }
    // Written without a build id: for nobody.
    let anon = Record {
        build: None,
        ..back.clone()
    };
    assert!(anon.config(Some(&ours)).is_none() && anon.table(Some(&ours)).is_none());
    // Bytes that do not decode: nothing, and no panic.
    let bad = Record {
        table: Bytes(vec![0xff; 3]),
        config: Some(HandedConfig {
            payload: Bytes(vec![9, 9]),
            ..back.config.clone().unwrap()
        }),
        ..back
    };
    assert!(bad.config(Some(&ours)).is_none() && bad.table(Some(&ours)).is_none());
}

#[test]
fn a_record_of_format_1_is_a_plain_start() {
    // Format 1 (before the advert bridge): the same fields without the
    // masters' adverts. Written by hand as postcard lays it out.
    let mut v1 = vec![1u8, 5, 1];
    for field in ["VI_1", "eth0"] {
        v1.push(field.len() as u8);
        v1.extend_from_slice(field.as_bytes());
    }
    v1.extend_from_slice(&[51, 0, 0]);
    assert_eq!(Record::decode(&v1), None);
}

#[test]
fn the_advert_decodes_back_to_what_was_sent() {
    let a = advert(50);
    let repr = a.repr().expect("decodes");
    assert_eq!(repr.vrid().get(), 51);
    assert_eq!(repr.priority().get(), 100);
    assert_eq!(repr.interval().get(), 5);
    // Through the record's encoding too.
    let r = record(vec![master(&inst("VI_1", 50))], 5);
    let back = Record::decode(&r.encode().unwrap()).unwrap();
    assert_eq!(back.masters[0].advert.repr(), Some(repr));
    // Damaged bytes, or no destination, decode to nothing.
    let mut bad = a.clone();
    bad.vrrp[6] ^= 0xff;
    assert_eq!(bad.repr(), None);
    assert_eq!(Advert { dsts: vec![], ..a }.repr(), None);
}

#[test]
fn resumes_only_the_same_instance_within_three_intervals_of_its_last_advert() {
    let i = inst("VI_1", 100);
    let at = 1_000_000_000;
    let r = record(vec![master(&i)], at);
    assert!(r.resumes(&i, at, at));
    assert!(r.resumes(&i, at, at + 299_000_000));
    assert!(
        !r.resumes(&i, at, at + 300_000_000),
        "a backup may have taken over"
    );
    // A clock read before the record (it cannot be) is not stale.
    assert!(r.resumes(&i, at, at - 1));
    // The bridge's adverts keep it fresh long after the handoff.
    let bridged = at + 5_000_000_000;
    assert!(r.resumes(&i, bridged, bridged + 250_000_000));
    assert!(!r.resumes(&i, bridged, bridged + 300_000_000));

    let mut other_vrid = i.clone();
    other_vrid.virtual_router_id = 52;
    assert!(!r.resumes(&other_vrid, at, at));
    let mut renamed = i.clone();
    renamed.name = "VI_2".into();
    assert!(!r.resumes(&renamed, at, at));
    assert!(!record(vec![], at).resumes(&i, at, at));
}

#[test]
fn freshness_counts_the_shorter_of_the_old_and_new_intervals() {
    let at = 1_000_000_000;
    // Handed over at 100 ms; the new config says 1 s: still 300 ms.
    let r = record(vec![master(&inst("VI_1", 100))], at);
    assert!(!r.resumes(&inst("VI_1", 1000), at, at + 300_000_000));
    // Handed over at 1 s; the new config says 100 ms: 300 ms too.
    let r = record(vec![master(&inst("VI_1", 1000))], at);
    assert!(!r.resumes(&inst("VI_1", 100), at, at + 300_000_000));
    assert!(r.resumes(&inst("VI_1", 100), at, at + 299_000_000));
    assert!(fresh(at, at + 2_999_999_999, 1000));
    assert!(!fresh(at, at + 3_000_000_000, 1000));
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
