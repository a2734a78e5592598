//! Hostile VRRP packets in virtual time, on the virtual LAN of
//! `support/vlan.rs`: the counterpart of netns_hostile without namespaces.
//! Each packet is chosen so that, were it accepted, the target's state
//! would change (priority 254 at a MASTER, priority 0 at a BACKUP); each
//! must be dropped, change nothing and be counted under its own name. A
//! well-formed packet from the same source closes each test and MUST
//! change the state: the positive control.
//!
//! Must not: sleep, or read the clock except once for a base `Instant`.

use crate::support::vlan;

use std::net::Ipv4Addr;
use std::time::Duration;

use vigil::vrrp::filter::DropReason;
use vigil::vrrp::packet::{Auth, V2Repr};
use vigil::vrrp::{Centiseconds, Priority, Repr, State, Version, Vrid};
use vlan::{Lan, LATENCY};

/// Where the hostile packets come from (not a router of the LAN).
const ATTACKER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 99);
/// Copies of each hostile packet.
const COPIES: u64 = 3;

/// The good advert for VRID 51 with `prio`, then edited by `f`.
fn with(version: Version, prio: u8, f: impl FnOnce(&mut Repr)) -> Repr {
    let interval = Centiseconds(100);
    let mut r = vlan::advert(
        version,
        Vrid::new(51).expect("nonzero"),
        Priority(prio),
        interval,
    );
    f(&mut r);
    r
}

fn v2(f: impl FnOnce(&mut V2Repr)) -> impl FnOnce(&mut Repr) {
    move |r| {
        if let Repr::V2(r) = r {
            f(r);
        }
    }
}

/// One hostile case: its name, the counter it must bump (`None`: the
/// receive socket's unknown VRID), and the IPv4 packet.
type Case = (&'static str, Option<&'static str>, Vec<u8>);

fn cases(version: Version, prio: u8, own: Ipv4Addr) -> Vec<Case> {
    let good = |f: Box<dyn FnOnce(&mut Repr)>| vlan::emit(&with(version, prio, f), ATTACKER);
    let other = match version {
        Version::V2 => Version::V3,
        Version::V3 => Version::V2,
    };
    let mut out: Vec<Case> = Vec::new();
    let mut ttl = good(Box::new(|_| {}));
    ttl[8] = 64;
    out.push(("ttl 64", Some("ttl_not_255"), ttl));
    let mut csum = good(Box::new(|_| {}));
    csum[20 + 6] ^= 0xff;
    out.push(("bad checksum", Some("checksum"), csum));
    let mut short = good(Box::new(|_| {}));
    short.truncate(30);
    out.push(("truncated", Some("total_length_mismatch"), short));
    out.push((
        "other version",
        Some("version_mismatch"),
        vlan::emit(&with(other, prio, |_| {}), ATTACKER),
    ));
    out.push((
        "own address",
        Some("own_packet"),
        vlan::emit(&with(version, prio, |_| {}), own),
    ));
    out.push((
        "other vrid",
        None,
        good(Box::new(|r| match r {
            Repr::V2(r) => r.vrid = Vrid::new(52).expect("nonzero"),
            Repr::V3(r) => r.vrid = Vrid::new(52).expect("nonzero"),
        })),
    ));
    match version {
        Version::V2 => {
            let key = |r: &mut V2Repr| r.auth = Auth::simple(b"1112").expect("short");
            out.push(("wrong key", Some("auth_mismatch"), good(Box::new(v2(key)))));
            let none = |r: &mut V2Repr| r.auth = Auth::None;
            out.push(("no auth", Some("auth_mismatch"), good(Box::new(v2(none)))));
            let slow = |r: &mut V2Repr| r.adver_int_secs = std::num::NonZeroU8::new(2).expect("2");
            out.push((
                "interval 2 s",
                Some("interval_mismatch"),
                good(Box::new(v2(slow))),
            ));
        }
        // v3 has no key, and a backup learns the master's interval.
        Version::V3 => {}
    }
    out
}

/// Sends every case at member 0 of router `r`, each after [`sync`], and checks
/// it is dropped, counted and changes nothing; then the positive control.
/// Waits (up to 2 s) until member 0 of router `r` next hears its peer, so
/// what follows lands early in the peer's advert interval (before the
/// peer's next advert could hide a takeover).
fn sync(lan: &mut Lan, r: usize) {
    let heard = lan.routers[r].members[0].last_rx;
    let until = lan.now + Duration::from_secs(2);
    while lan.now < until && lan.routers[r].members[0].last_rx == heard {
        let t = lan.now + Duration::from_millis(1);
        lan.run_until(t, |_| {});
    }
}

/// `after_control`: the state the well-formed packet moves member 0 to.
fn run_cases(lan: &mut Lan, r: usize, version: Version, prio: u8, after_control: State) {
    let before = lan.routers[r].state(0);
    let changes = lan.changes.len();
    let own = lan.routers[r].ip;
    let count = |lan: &Lan, counter: Option<&str>| {
        let router = &lan.routers[r];
        match counter {
            Some(c) => router.drops.iter().find(|(n, _)| *n == c).map(|(_, v)| v),
            None => Some(router.drops.get(DropReason::UnknownVrid)),
        }
    };
    for (name, counter, bytes) in cases(version, prio, own) {
        let was = count(lan, counter).expect("a known counter");
        sync(lan, r);
        for _ in 0..COPIES {
            lan.inject(r, bytes.clone(), LATENCY);
        }
        // Longer than any Skew_Time here: an accepted priority 0 would
        // have made the backup take over.
        let t = lan.now + Duration::from_millis(700);
        lan.run_until(t, |_| {});
        let router = &lan.routers[r];
        assert_eq!(
            count(lan, counter),
            Some(was + COPIES),
            "{name}: counted under {counter:?}"
        );
        assert_eq!(router.state(0), before, "{name}: no state change");
    }
    let counted: u64 = lan.routers[r].drops.total();
    assert_eq!(
        counted,
        COPIES * cases(version, prio, own).len() as u64,
        "only their own counters"
    );
    assert_eq!(lan.changes.len(), changes, "no transition and back");
    // The positive control: the same advert, well-formed, is acted on.
    sync(lan, r);
    let sent = lan.now;
    lan.inject(
        r,
        vlan::emit(&with(version, prio, |_| {}), ATTACKER),
        LATENCY,
    );
    let t = lan.now + Duration::from_secs(2);
    lan.run_until(t, |_| {});
    let acted = lan.changed_at(r, 0, after_control);
    assert!(acted.is_some_and(|t| t > sent), "positive control");
}

fn against_master(version: Version) {
    let mut lan = Lan::new();
    let a = lan.add(version, 100, 100, |_| {});
    lan.start(a);
    lan.run_until(lan.at(5.0), |_| {});
    assert_eq!(lan.routers[a].state(0), State::Master);
    // Priority 254 would make the master step down.
    run_cases(&mut lan, a, version, 254, State::Backup);
}

fn against_backup(version: Version) {
    let mut lan = Lan::new();
    let a = lan.add(version, 99, 100, |_| {});
    let b = lan.add(version, 100, 100, |_| {});
    lan.start(a);
    lan.start(b);
    lan.run_until(lan.at(10.0), |_| {});
    assert_eq!(lan.masters(), vec![b]);
    // Priority 0 would make the backup take over after Skew_Time; the
    // control does, and b's next advert then sends a back (both are
    // masters for at most one interval).
    lan.max_dual = Duration::from_secs(1) + LATENCY;
    run_cases(&mut lan, a, version, 0, State::Master);
}

#[test]
fn hostile_v2_to_master() {
    against_master(Version::V2);
}

#[test]
fn hostile_v3_to_master() {
    against_master(Version::V3);
}

#[test]
fn hostile_v2_to_backup() {
    against_backup(Version::V2);
}

#[test]
fn hostile_v3_to_backup() {
    against_backup(Version::V3);
}
