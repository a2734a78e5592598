//! Hostile VRRP packets on a real segment: a third namespace (the tap)
//! writes Ethernet frames with an AF_PACKET socket (so every header byte
//! is ours: TTL, checksums, lengths) at a vigil instance, and checks that
//! each one is dropped, changes nothing, and is counted under its own name
//! in `vigil status --json`.
//!
//! Every hostile packet is chosen so that, were it accepted, the state
//! would visibly change:
//! - vigil MASTER alone: the packets claim priority 254/255, which would
//!   make a master step down and remove its VIP (RFC 3768 / 5798 6.4.3);
//! - vigil BACKUP behind a keepalived MASTER: the packets claim priority
//!   0, which would make the backup take over after its skew time.
//!
//! Between cases the VIP holders are polled every 10 ms; at the end the
//! instance must be in the same state with `in_state_ms` grown by the
//! whole run (no transition and back). A well-formed packet from the same
//! tap closes each test and MUST change the state: the positive control
//! that proves the injected frames reach the daemon at all. The same
//! cases run against keepalived (no counters) as the harness's control.
//! Needs root, iproute2 and keepalived (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU8;
use std::time::{Duration, Instant};

use netns::{eth_ipv4, reseal_ipv4_header, serial, Lab, PacketSocket};
use peers::{json_counter, json_str, start, Daemon, Instance, Kind, Proto};
use vigil::vrrp::packet::{Addrs, Auth, V2Repr, V3Repr};
use vigil::vrrp::{AdverInt, Priority, Repr, Vrid};

const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// How many copies of each hostile packet are sent.
const COPIES: u64 = 3;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Advert {
    version: u8,
    vrid: u8,
    priority: u8,
    /// v2: seconds; v3: centiseconds.
    interval: u16,
    key: Option<&'static [u8]>,
}

/// An IPv4 packet (header included, TTL 255) carrying `a`, sent from `src`
/// to 224.0.0.18, with the VIP 192.168.1.200, built by vigil's own codec.
pub(crate) fn build(a: Advert, src: Ipv4Addr) -> Vec<u8> {
    let mut addrs = heapless::Vec::new();
    addrs
        .push(Ipv4Addr::new(192, 168, 1, 200))
        .expect("one address");
    let repr = if a.version == 2 {
        Repr::V2(V2Repr {
            vrid: Vrid::new(a.vrid).expect("vrid"),
            priority: Priority(a.priority),
            adver_int_secs: NonZeroU8::new(a.interval as u8).expect("interval"),
            auth: match a.key {
                Some(k) => Auth::simple(k).expect("key <= 8 bytes"),
                None => Auth::None,
            },
            addrs,
        })
    } else {
        Repr::V3(V3Repr {
            vrid: Vrid::new(a.vrid).expect("vrid"),
            priority: Priority(a.priority),
            max_adver_int: AdverInt::new(a.interval).expect("interval"),
            addrs: Addrs::V4(addrs),
        })
    };
    let mut buf = vec![0u8; repr.ipv4_buffer_len()];
    let n = repr
        .emit_ipv4(&mut buf, src, VRRP_GROUP)
        .expect("emit advert");
    buf.truncate(n);
    buf
}

/// Sets byte `i` of the VRRP message (after a 20-byte IPv4 header) and
/// keeps its checksum right by the incremental update of RFC 1624
/// (HC' = ~(~HC + ~m + m')), which holds with or without the v3
/// pseudo-header.
fn patch(p: &mut [u8], i: usize, value: u8) {
    let at = 20 + i;
    let word = at & !1;
    let old_w = u16::from_be_bytes([p[word], p[word + 1]]);
    p[at] = value;
    let new_w = u16::from_be_bytes([p[word], p[word + 1]]);
    let hc = u16::from_be_bytes([p[26], p[27]]);
    let mut sum = u32::from(!hc) + u32::from(!old_w) + u32::from(new_w);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[26..28].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

/// One hostile case: the packet and the drop counter it must bump.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) counter: &'static str,
    /// An IP packet (IPv4, or IPv6 for the v6 cases), header included.
    pub(crate) packet: Vec<u8>,
}

/// An Ethernet frame to ff02::12's multicast MAC around an IPv6 packet.
fn eth_ipv6(src_mac: [u8; 6], ip_packet: &[u8]) -> Vec<u8> {
    let mut f = vec![0x33, 0x33, 0, 0, 0, 0x12];
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x86ddu16.to_be_bytes());
    f.extend_from_slice(ip_packet);
    f
}

/// An IPv6 packet (no extension headers) carrying a VRRPv3 advert for
/// fd00::200, checksum over the pseudo-header from vigil's codec.
fn build_v6(vrid: u8, priority: u8, cs: u16, src: Ipv6Addr, hop_limit: u8) -> Vec<u8> {
    let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
    let mut addrs = heapless::Vec::new();
    addrs
        .push(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x200))
        .expect("one address");
    let repr = Repr::V3(V3Repr {
        vrid: Vrid::new(vrid).expect("vrid"),
        priority: Priority(priority),
        max_adver_int: AdverInt::new(cs).expect("interval"),
        addrs: Addrs::V6(addrs),
    });
    let mut msg = vec![0u8; repr.buffer_len()];
    let n = repr
        .emit(&mut msg, IpAddr::V6(src), IpAddr::V6(group))
        .expect("emit v6 advert");
    msg.truncate(n);
    let mut p = vec![0x6c, 0, 0, 0];
    p.extend_from_slice(&(n as u16).to_be_bytes());
    p.push(112);
    p.push(hop_limit);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&group.octets());
    p.extend_from_slice(&msg);
    p
}

/// Hostile VRRPv3-over-IPv6 cases claiming priority 254 (the v6 receive
/// path reads the hop limit from a control message, not a header).
fn cases_v6(vrid: u8, cs: u16, src: Ipv6Addr) -> Vec<Case> {
    let mut v = vec![Case {
        name: "v6 hop limit 64",
        counter: "ttl_not_255",
        packet: build_v6(vrid, 254, cs, src, 64),
    }];
    let mut p = build_v6(vrid, 254, cs, src, 255);
    p[40 + 6] ^= 0x5a;
    v.push(Case {
        name: "v6 bad checksum",
        counter: "checksum",
        packet: p,
    });
    let mut p = build_v6(vrid, 254, cs, src, 255);
    p.truncate(40 + 6);
    p[4..6].copy_from_slice(&6u16.to_be_bytes());
    v.push(Case {
        name: "v6 truncated to 6 bytes",
        counter: "truncated",
        packet: p,
    });
    v.push(Case {
        name: "v6 wrong vrid (52), otherwise valid",
        counter: "unknown_vrid",
        packet: build_v6(vrid + 1, 254, cs, src, 255),
    });
    v
}

/// The hostile cases against an instance `good` describes (what a peer in
/// the domain would send), each claiming `prio`.
pub(crate) fn cases(good: Advert, prio: u8, src: Ipv4Addr) -> Vec<Case> {
    let claim = Advert {
        priority: prio,
        ..good
    };
    let mut v = Vec::new();

    let mut p = build(claim, src);
    p[8] = 64;
    reseal_ipv4_header(&mut p);
    v.push(Case {
        name: "ttl 64",
        counter: "ttl_not_255",
        packet: p,
    });

    let mut p = build(claim, src);
    p[20 + 6] ^= 0x5a;
    v.push(Case {
        name: "bad vrrp checksum",
        counter: "checksum",
        packet: p,
    });

    let mut p = build(claim, src);
    p.truncate(20 + 6);
    p[2..4].copy_from_slice(&26u16.to_be_bytes());
    reseal_ipv4_header(&mut p);
    v.push(Case {
        name: "truncated to 6 bytes",
        counter: "truncated",
        packet: p,
    });

    let mut p = build(claim, src);
    patch(&mut p, 3, 2);
    v.push(Case {
        name: "address count 2, one address",
        counter: "address_count_mismatch",
        packet: p,
    });

    let mut p = build(claim, src);
    let vt = 0x40 | (p[20] & 0x0f);
    patch(&mut p, 0, vt);
    v.push(Case {
        name: "vrrp version 4",
        counter: "bad_version",
        packet: p,
    });

    let mut p = build(claim, src);
    let vt = (p[20] & 0xf0) | 2;
    patch(&mut p, 0, vt);
    v.push(Case {
        name: "packet type 2",
        counter: "bad_type",
        packet: p,
    });

    v.push(Case {
        name: "wrong vrid (52), otherwise valid",
        counter: "unknown_vrid",
        packet: build(
            Advert {
                vrid: good.vrid + 1,
                ..claim
            },
            src,
        ),
    });

    if good.version == 2 {
        v.push(Case {
            name: "wrong PASS key",
            counter: "auth_mismatch",
            packet: build(
                Advert {
                    key: Some(b"2222"),
                    ..claim
                },
                src,
            ),
        });
        v.push(Case {
            name: "no authentication",
            counter: "auth_mismatch",
            packet: build(Advert { key: None, ..claim }, src),
        });
        v.push(Case {
            name: "interval 2 s (ours 1 s)",
            counter: "interval_mismatch",
            packet: build(
                Advert {
                    interval: 2,
                    ..claim
                },
                src,
            ),
        });
        v.push(Case {
            name: "vrrp v3, otherwise valid",
            counter: "version_mismatch",
            packet: build(
                Advert {
                    version: 3,
                    interval: 100,
                    key: None,
                    ..claim
                },
                src,
            ),
        });
        if prio != 0 {
            v.push(Case {
                name: "priority 255 (owner) with the wrong key",
                counter: "auth_mismatch",
                packet: build(
                    Advert {
                        priority: 255,
                        key: Some(b"hacked"),
                        ..claim
                    },
                    src,
                ),
            });
        }
    } else {
        v.push(Case {
            name: "vrrp v2, otherwise valid",
            counter: "version_mismatch",
            packet: build(
                Advert {
                    version: 2,
                    interval: 1,
                    key: None,
                    ..claim
                },
                src,
            ),
        });
    }
    v
}

/// Sum of every drop counter in a status (the receive sockets' drops by
/// reason), to prove each packet is counted once.
fn total_drops(v: &serde_json::Value) -> u64 {
    let mut t = 0;
    if let Some(rs) = v["receivers"].as_array() {
        for r in rs {
            if let Some(d) = r["drops"].as_object() {
                t += d.values().filter_map(|x| x.as_u64()).sum::<u64>();
            }
        }
    }
    t
}

/// Polls the VIP holders for `dur`; panics on the first deviation.
fn hold_steady(lab: &Lab, vip: IpAddr, want: &[usize], dur: Duration, what: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < dur {
        let h = lab.holders(vip);
        assert_eq!(
            h,
            want,
            "{what}: VIP holders changed {:?} after the packet (0-based node indices)",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Target<'a> {
    lab: &'a Lab,
    /// The daemon under attack, and its node.
    victim: &'a Daemon,
    /// Who must hold the VIP throughout.
    holders: Vec<usize>,
    /// Send each case right after a real advert from this MAC, so that an
    /// accepted priority-0 advert would surely promote the backup before
    /// the real master's next advert resets its timer.
    sync_after: Option<[u8; 6]>,
    inst: Instance,
}

/// Sends every case at the target, checking after each that nothing moved
/// and (vigil) that exactly its counter went up by `COPIES`.
fn run_cases(t: &Target, cases: Vec<Case>, wrap: fn([u8; 6], &[u8]) -> Vec<u8>) {
    let tap = PacketSocket::open(&t.lab.tap.ns, "eth0");
    let vip = t.inst.vip();
    let vigil = t.victim.kind == Kind::Vigil;
    // Long enough for an accepted priority-0 advert to promote a backup
    // (skew time), or for a demoted master's VIP to go.
    let settle = t.inst.advert() + Duration::from_millis(300);
    let (state0, in_state0, t_start) = if vigil {
        let s = t.victim.status_json();
        (
            json_str(&s, "state").map(str::to_string),
            json_counter(&s, "in_state_ms"),
            Instant::now(),
        )
    } else {
        (None, None, Instant::now())
    };
    let mut failures = Vec::new();
    for c in &cases {
        let before = vigil.then(|| t.victim.status_json());
        sync(t, &tap);
        for _ in 0..COPIES {
            tap.send(&wrap(t.lab.tap.mac, &c.packet));
            std::thread::sleep(Duration::from_millis(5));
        }
        hold_steady(t.lab, vip, &t.holders, settle, c.name);
        if let Some(before) = before {
            let after = t.victim.status_json();
            let got = json_counter(&after, c.counter).unwrap_or(0)
                - json_counter(&before, c.counter).unwrap_or(0);
            let total = total_drops(&after) - total_drops(&before);
            eprintln!(
                "  {:<40} {} +{got} (all drop counters +{total})",
                c.name, c.counter
            );
            if got != COPIES || total != COPIES {
                failures.push(format!(
                    "{}: counter {} went up by {got} and all drop counters by {total}, want {COPIES} and {COPIES}; status {after}",
                    c.name, c.counter
                ));
            }
        } else {
            eprintln!("  {:<40} dropped (no state change)", c.name);
        }
    }
    if vigil {
        let s = t.victim.status_json();
        let state1 = json_str(&s, "state").map(str::to_string);
        assert_eq!(state1, state0, "the instance changed state: {s}");
        let (Some(a), Some(b)) = (in_state0, json_counter(&s, "in_state_ms")) else {
            panic!("status has no in_state_ms: {s}");
        };
        let elapsed = t_start.elapsed().as_millis() as u64;
        assert!(
            b + 200 >= a + elapsed,
            "in_state_ms went from {a} to {b} over {elapsed} ms: the instance left its state and came back; {s}"
        );
    }
    assert!(
        failures.is_empty(),
        "hostile packets miscounted:\n{}",
        failures.join("\n")
    );
}

/// Waits for the real master's next advert when the target asks for it.
fn sync(t: &Target, tap: &PacketSocket) {
    if let Some(mac) = t.sync_after {
        let _ = tap;
        let s = PacketSocket::open(&t.lab.tap.ns, "eth0");
        assert!(
            s.next_advert(mac, t.inst.vrid, t.inst.advert() * 3),
            "no advert from the real master to sync on"
        );
    }
}

pub(crate) fn good_advert(inst: &Instance) -> Advert {
    Advert {
        version: inst.proto.version(),
        vrid: inst.vrid,
        priority: inst.priority,
        interval: if inst.proto == Proto::V2 {
            (inst.advert_ms / 1000) as u16
        } else {
            (inst.advert_ms / 10) as u16
        },
        key: inst.auth_pass.as_ref().map(|_| b"1111".as_slice()),
    }
}

/// `victim` runs alone as MASTER; hostile adverts claim priority 254.
fn against_master(kind: Kind, proto: Proto, advert_ms: u32) {
    let _turn = peers::turn(proto, advert_ms);
    let lab = Lab::new(1);
    let mut inst = Instance::new(proto, 150, advert_ms);
    inst.state_master = true;
    let vip = inst.vip();
    let d = start(&lab, 0, kind, &inst, "m");
    d.wait_ready(Duration::from_secs(5));
    lab.wait_sole_holder(0, vip, inst.master_down() + Duration::from_secs(3));
    eprintln!(
        "{} master alone ({proto:?}); hostile priority-254 adverts:",
        kind.name()
    );
    let src = lab.tap.v4;
    let t = Target {
        lab: &lab,
        victim: &d,
        holders: vec![0],
        sync_after: None,
        inst: inst.clone(),
    };
    run_cases(&t, cases(good_advert(&inst), 254, src), eth_ipv4);

    // Positive control: a valid higher-priority advert demotes the master.
    let tap = PacketSocket::open(&lab.tap.ns, "eth0");
    let good = Advert {
        priority: 254,
        ..good_advert(&inst)
    };
    tap.send(&eth_ipv4(lab.tap.mac, &build(good, src)));
    assert!(
        netns::wait_for(inst.advert(), Duration::from_millis(5), || !lab.nodes[0]
            .holds(vip)),
        "control: a valid priority-254 advert from the tap did not demote the master: \
         the injected frames do not reach it"
    );
    eprintln!("  control: a valid priority-254 advert demoted the master");
}

/// `victim` is BACKUP (prio 100) behind a keepalived MASTER (prio 150);
/// hostile adverts claim priority 0 (a resigning master).
fn against_backup(kind: Kind, proto: Proto, advert_ms: u32) {
    let _turn = peers::turn(proto, advert_ms);
    let lab = Lab::new(2);
    let mut hi = Instance::new(proto, 150, advert_ms);
    hi.state_master = true;
    let lo = Instance::new(proto, 100, advert_ms);
    let vip = hi.vip();
    let _master = start(&lab, 0, Kind::Keepalived, &hi, "m");
    lab.wait_sole_holder(0, vip, hi.master_down() + Duration::from_secs(3));
    let d = start(&lab, 1, kind, &lo, "b");
    d.wait_ready(Duration::from_secs(5));
    // Let the backup hear a few adverts.
    std::thread::sleep(lo.master_down());
    lab.wait_sole_holder(0, vip, Duration::from_secs(1));
    eprintln!(
        "{} backup behind keepalived ({proto:?}); hostile priority-0 adverts:",
        kind.name()
    );
    let src = lab.nodes[0].v4; // spoof the master's own address
    let t = Target {
        lab: &lab,
        victim: &d,
        holders: vec![0],
        sync_after: Some(lab.nodes[0].mac),
        inst: lo.clone(),
    };
    run_cases(&t, cases(good_advert(&hi), 0, src), eth_ipv4);

    // Positive control: right after a real advert the real master's link
    // goes down and the tap sends a valid priority-0 advert: accepted, the
    // backup takes over after its skew time (about 0.6 s); ignored, only
    // after the master-down interval (2.6 s or more from now).
    let tap = PacketSocket::open(&lab.tap.ns, "eth0");
    let good = Advert {
        priority: 0,
        ..good_advert(&hi)
    };
    sync(&t, &tap);
    lab.nodes[0].link_down_fast();
    let t0 = Instant::now();
    tap.send(&eth_ipv4(lab.tap.mac, &build(good, src)));
    let limit = lo.advert() * (256 - u32::from(lo.priority)) / 256 + Duration::from_millis(600);
    assert!(
        netns::wait_for(limit, Duration::from_millis(5), || lab.nodes[1].holds(vip)),
        "control: the backup did not take over within {limit:?} of a valid priority-0 advert: \
         the injected frames do not reach it"
    );
    eprintln!(
        "  control: a valid priority-0 advert promoted the backup in {:?}",
        t0.elapsed()
    );
}

#[test]
fn hostile_v2_to_vigil_master() {
    against_master(Kind::Vigil, Proto::V2, 1000);
}

#[test]
fn hostile_v2_to_vigil_backup() {
    against_backup(Kind::Vigil, Proto::V2, 1000);
}

#[test]
fn hostile_v3_to_vigil_master() {
    against_master(Kind::Vigil, Proto::V3v4, 100);
}

#[test]
fn hostile_v3_to_vigil_backup() {
    // 1 s so that the skew time (609 ms) is well inside one interval.
    against_backup(Kind::Vigil, Proto::V3v4, 1000);
}

/// vigil alone as a VRRPv3 IPv6 master (100 ms); hostile v6 adverts
/// claim priority 254 from the tap's link-local address.
#[test]
fn hostile_v3_ipv6_to_vigil_master() {
    let _serial = serial();
    let lab = Lab::new(1);
    let mut inst = Instance::new(Proto::V3v6, 150, 100);
    inst.state_master = true;
    let vip = inst.vip();
    let d = start(&lab, 0, Kind::Vigil, &inst, "m6");
    d.wait_ready(Duration::from_secs(5));
    lab.wait_sole_holder(0, vip, inst.master_down() + Duration::from_secs(3));
    let src = lab
        .tap
        .ns
        .addrs("eth0")
        .into_iter()
        .find_map(|a| match a {
            IpAddr::V6(a) if a.segments()[0] == 0xfe80 => Some(a),
            _ => None,
        })
        .expect("tap has a link-local address");
    eprintln!("vigil master alone (V3v6); hostile priority-254 adverts from {src}:");
    let t = Target {
        lab: &lab,
        victim: &d,
        holders: vec![0],
        sync_after: None,
        inst: inst.clone(),
    };
    run_cases(&t, cases_v6(inst.vrid, 10, src), eth_ipv6);

    // Positive control: a valid priority-254 v6 advert demotes the master.
    let tap = PacketSocket::open(&lab.tap.ns, "eth0");
    tap.send(&eth_ipv6(
        lab.tap.mac,
        &build_v6(inst.vrid, 254, 10, src, 255),
    ));
    assert!(
        netns::wait_for(inst.advert() * 2, Duration::from_millis(2), || !lab.nodes
            [0]
        .holds(vip)),
        "control: a valid priority-254 v6 advert did not demote the master"
    );
    eprintln!("  control: a valid priority-254 v6 advert demoted the master");
}

// The harness's control: keepalived drops the same packets (no counters
// to read) and takes the positive controls.

#[test]
#[ignore = "harness control (keepalived against keepalived): make interop-controls"]
fn hostile_v2_to_keepalived_master() {
    against_master(Kind::Keepalived, Proto::V2, 1000);
}

#[test]
#[ignore = "harness control (keepalived against keepalived): make interop-controls"]
fn hostile_v2_to_keepalived_backup() {
    against_backup(Kind::Keepalived, Proto::V2, 1000);
}
