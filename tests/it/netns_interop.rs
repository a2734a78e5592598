//! VRRP interop in network namespaces: vigil beside Debian's keepalived
//! 2.2.7 in one VRRP domain (VRID 51) on a shared bridge, plus
//! keepalived-keepalived (the harness's own control) and vigil-vigil.
//!
//! Each test walks one pair through the same script, with H the higher
//! priority node (150) and L the lower (100):
//!   1. L starts alone and becomes master;
//!   2. H starts later and preempts;
//!   3. H stops gracefully (SIGTERM, priority 0): L takes over fast;
//!   4. H restarts and preempts again;
//!   5. H dies (SIGKILL, link down at the same moment): L takes over after
//!      the master-down interval;
//!   6. H's link comes back, H restarts and preempts.
//!
//! After each convergence: never two masters, checked on both ends (who
//! holds the VIP) and on the wire (a tap on the bridge captures a few
//! advert intervals: one source only sends adverts for VRID 51, at the
//! master's priority).
//!
//! Running H = vigil and H = keepalived covers vigil as master and as
//! backup, preemption, graceful stop and kill both ways. VRRPv2 runs the
//! seed's PASS auth at 1 s; VRRPv3 (IPv4, IPv6) runs at 100 ms.
//! Needs root, iproute2 and keepalived (scripts/install-deps).

use crate::support::{netns, peers};

use std::time::{Duration, Instant};

use netns::{advert_senders, format_mac, serial, Capture, Lab};
use peers::{start, Daemon, Instance, Kind, Proto};

const HIGH: u8 = 150;
const LOW: u8 = 100;

/// Slack on top of the protocol's own timing for process start-up and a
/// loaded two-core host.
const SLACK: Duration = Duration::from_secs(3);

fn advert_ms(proto: Proto) -> u32 {
    match proto {
        Proto::V2 => 1000,
        Proto::V3v4 | Proto::V3v6 => 100,
    }
}

/// Never two masters: exactly `master` holds the VIP, and over a few
/// advert intervals only `master` sends adverts for the VRID, at its
/// configured priority.
pub(crate) fn assert_single_master(lab: &Lab, master: usize, inst: &Instance, what: &str) {
    check_single_master(lab, master, inst, what, true);
}

/// The checks of [`assert_single_master`]; `vip` false checks the wire only.
fn check_single_master(lab: &Lab, master: usize, inst: &Instance, what: &str, vip_check: bool) {
    let vip = inst.vip();
    let window = match inst.proto {
        Proto::V2 => inst.advert() * 5 / 2,
        _ => inst.advert() * 5,
    };
    let cap = Capture::start(&lab.tap.ns, "eth0");
    let before = lab.holders(vip);
    std::thread::sleep(window);
    let after = lab.holders(vip);
    let seen = cap.stop();
    if vip_check {
        assert_eq!(
            before,
            vec![master],
            "{what}: VIP {vip} holders at the start of the check (want only node{})",
            master + 1
        );
        assert_eq!(
            after,
            vec![master],
            "{what}: VIP {vip} holders at the end of the check (want only node{})",
            master + 1
        );
    }
    let senders = advert_senders(&seen, inst.vrid);
    let names: Vec<String> = senders
        .iter()
        .map(|(m, n)| format!("{} x{n}", lab.who(*m)))
        .collect();
    assert_eq!(
        senders.len(),
        1,
        "{what}: adverts for vrid {} came from {names:?} over {window:?}, want node{} only",
        inst.vrid,
        master + 1
    );
    let (mac, count) = senders.iter().next().expect("one sender");
    assert_eq!(
        *mac,
        lab.nodes[master].mac,
        "{what}: the only advertiser is {} ({}), want node{}",
        lab.who(*mac),
        format_mac(*mac),
        master + 1
    );
    assert!(
        *count >= 2,
        "{what}: only {count} advert(s) from the master in {window:?}"
    );
    let want_version = inst.proto.version();
    for s in seen.iter().filter(|s| s.vrid == inst.vrid && !s.outgoing) {
        assert_eq!(s.ttl, 255, "{what}: advert with ttl {}", s.ttl);
        assert_eq!(s.version, want_version, "{what}: advert version");
        assert_eq!(
            s.priority, inst.priority,
            "{what}: the master advertises priority {}, configured {}",
            s.priority, inst.priority
        );
    }
    let prios: Vec<u8> = seen
        .iter()
        .filter(|s| s.vrid == inst.vrid && !s.outgoing)
        .map(|s| s.priority)
        .collect();
    eprintln!(
        "  {what}: node{} sole master, {} adverts in {window:?}, priorities {:?}",
        master + 1,
        count,
        dedup(&prios)
    );
}

fn dedup(v: &[u8]) -> Vec<u8> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Steps one pair through the script described at the top of the file.
fn pair(proto: Proto, high: Kind, low: Kind) {
    let advert = advert_ms(proto);
    let mut hi = Instance::new(proto, HIGH, advert);
    hi.state_master = true;
    let lo = Instance::new(proto, LOW, advert);
    pair_of(high, &hi, low, &lo, |_| {});
}

/// The script with H running `hi` and L `lo` (one VRID, one protocol, H's
/// priority above L's); `at_end` checks each daemon still running at the
/// end (H's third run, then L).
pub(crate) fn pair_of(
    high: Kind,
    hi: &Instance,
    low: Kind,
    lo: &Instance,
    at_end: impl Fn(&Daemon),
) {
    let _turn = peers::turn(hi.proto, hi.advert_ms);
    let t_test = Instant::now();
    let lab = Lab::new(2);
    let (h, l) = (0usize, 1usize);
    let proto = hi.proto;
    let vip = hi.vip();
    eprintln!(
        "pair {proto:?}: node1 = {} prio {}, node2 = {} prio {}, advert {} ms",
        high.name(),
        hi.priority,
        low.name(),
        lo.priority,
        hi.advert_ms,
    );

    // 1. L alone becomes master.
    let dl = start(&lab, l, low, lo, "1");
    dl.wait_ready(Duration::from_secs(5));
    let t = lab.wait_sole_holder(l, vip, lo.master_down() + SLACK);
    eprintln!("  1. node2 ({}) alone: master after {t:?}", low.name());
    assert_single_master(&lab, l, lo, "1. L alone");

    // 2. H starts later and preempts.
    let mut dh = start(&lab, h, high, hi, "2");
    let t = lab.wait_sole_holder(h, vip, hi.master_down() + SLACK);
    eprintln!("  2. node1 ({}) preempts after {t:?}", high.name());
    assert_single_master(&lab, h, hi, "2. H preempted");

    // 3. Graceful stop of the master H: L takes over after its skew time.
    let t0 = Instant::now();
    dh.proc.signal(libc::SIGTERM);
    let t = lab.wait_sole_holder(l, vip, lo.master_down() + SLACK);
    eprintln!("  3. SIGTERM to node1: node2 sole holder after {t:?}");
    assert!(
        t < lo.advert() + Duration::from_secs(1),
        "graceful stop: takeover took {t:?}, expected about the skew time (priority 0 advert)"
    );
    let exit = dh.stop();
    eprintln!(
        "     node1 exited {:?} after SIGTERM",
        exit.map(|_| t0.elapsed())
    );
    assert!(exit.is_some(), "node1 did not exit within 10 s of SIGTERM");
    assert_single_master(&lab, l, lo, "3. after graceful stop of H");

    // 4. H restarts and preempts again.
    let mut dh = start(&lab, h, high, hi, "4");
    let t = lab.wait_sole_holder(h, vip, hi.master_down() + SLACK);
    eprintln!("  4. node1 restarted: preempts after {t:?}");
    assert_single_master(&lab, h, hi, "4. H preempted again");

    // 5. H dies with its link: L takes over after the master-down interval.
    dh.kill_with_link(&lab);
    let t0 = Instant::now();
    // H's VIP stays on its downed interface (nobody removed it), so only
    // L's side is meaningful here.
    assert!(
        netns::wait_for(lo.master_down() + SLACK, Duration::from_millis(5), || lab
            .nodes[l]
            .holds(vip)),
        "5. node2 did not take the VIP within {:?} of node1's death",
        lo.master_down() + SLACK
    );
    let t = t0.elapsed();
    eprintln!(
        "  5. SIGKILL + link down of node1: node2 holds the VIP after {t:?} (master down {:?})",
        lo.master_down()
    );
    assert!(
        t + Duration::from_millis(50) >= lo.master_down() - lo.advert(),
        "5. takeover after {t:?}: sooner than the master-down interval allows"
    );
    let cap = Capture::for_duration(&lab.tap.ns, "eth0", lo.advert() * 3);
    let senders = advert_senders(&cap, lo.vrid);
    assert_eq!(
        senders.keys().copied().collect::<Vec<_>>(),
        vec![lab.nodes[l].mac],
        "5. after node1's death only node2 advertises"
    );
    drop(dh);

    // 6. H comes back (its stale VIP still on eth0) and preempts.
    lab.nodes[h].link_up_fast();
    let dh = start(&lab, h, high, hi, "6");
    let t = lab.wait_sole_holder(h, vip, hi.master_down() + SLACK);
    eprintln!("  6. node1 back: sole holder after {t:?}");
    assert_single_master(&lab, h, hi, "6. H back");

    finish(vec![dh, dl], at_end);
    eprintln!("pair {proto:?} done in {:?}", t_test.elapsed());
}

/// Both daemons must still be running at the end (no crash on the way);
/// then `at_end` checks each.
fn finish(mut ds: Vec<Daemon>, at_end: impl Fn(&Daemon)) {
    for d in ds.iter_mut() {
        assert!(
            d.alive(),
            "{} on node{} exited during the test",
            d.kind.name(),
            d.node + 1
        );
    }
    ds.iter().for_each(at_end);
    for d in ds.iter_mut() {
        d.stop();
    }
}

// keepalived vs keepalived: the harness's own control (must pass before
// any vigil result means something).

#[test]
#[ignore = "harness control (keepalived against keepalived): make interop-controls"]
fn keepalived_pair_v2_pass() {
    pair(Proto::V2, Kind::Keepalived, Kind::Keepalived);
}

#[test]
#[ignore = "harness control (keepalived against keepalived): make interop-controls"]
fn keepalived_pair_v3_ipv4() {
    pair(Proto::V3v4, Kind::Keepalived, Kind::Keepalived);
}

#[test]
#[ignore = "harness control (keepalived against keepalived): make interop-controls"]
fn keepalived_pair_v3_ipv6() {
    pair(Proto::V3v6, Kind::Keepalived, Kind::Keepalived);
}

// vigil beside keepalived, both ways, and vigil against vigil. The
// whole-second VRRPv2 tests are a module of their own so that their names
// sort together: libtest starts tests in name order, and two of them
// share a turn only when they start one after the other (a VRRPv3 test
// between them waits to run alone, and new sharers wait behind it).

mod v2 {
    use super::*;

    #[test]
    fn vigil_master_keepalived_backup_pass() {
        pair(Proto::V2, Kind::Vigil, Kind::Keepalived);
    }

    #[test]
    fn keepalived_master_vigil_backup_pass() {
        pair(Proto::V2, Kind::Keepalived, Kind::Vigil);
    }

    #[test]
    fn vigil_pair_pass() {
        pair(Proto::V2, Kind::Vigil, Kind::Vigil);
    }
}

#[test]
fn vigil_master_keepalived_backup_v3_ipv4() {
    pair(Proto::V3v4, Kind::Vigil, Kind::Keepalived);
}

#[test]
fn keepalived_master_vigil_backup_v3_ipv4() {
    pair(Proto::V3v4, Kind::Keepalived, Kind::Vigil);
}

#[test]
fn vigil_master_keepalived_backup_v3_ipv6() {
    pair(Proto::V3v6, Kind::Vigil, Kind::Keepalived);
}

#[test]
fn keepalived_master_vigil_backup_v3_ipv6() {
    pair(Proto::V3v6, Kind::Keepalived, Kind::Vigil);
}

#[test]
fn vigil_pair_v3_ipv4() {
    pair(Proto::V3v4, Kind::Vigil, Kind::Vigil);
}

#[test]
fn vigil_pair_v3_ipv6() {
    pair(Proto::V3v6, Kind::Vigil, Kind::Vigil);
}

/// A valid VRRPv2 advert (VIP 192.168.1.200) as an IPv4 packet, from vigil's codec.
fn v2_advert(vrid: u8, priority: u8, key: &[u8], src: std::net::Ipv4Addr) -> Vec<u8> {
    use vigil::vrrp::packet::{Auth, V2Repr};
    use vigil::vrrp::{Priority, Repr, Vrid};
    let mut addrs = heapless::Vec::new();
    addrs
        .push(std::net::Ipv4Addr::new(192, 168, 1, 200))
        .expect("one address");
    let repr = Repr::V2(V2Repr {
        vrid: Vrid::new(vrid).expect("vrid"),
        priority: Priority(priority),
        adver_int_secs: std::num::NonZeroU8::new(1).expect("1 s"),
        auth: Auth::simple(key).expect("key"),
        addrs,
    });
    let mut buf = vec![0u8; repr.ipv4_buffer_len()];
    let n = repr
        .emit_ipv4(&mut buf, src, std::net::Ipv4Addr::new(224, 0, 0, 18))
        .expect("emit");
    buf.truncate(n);
    buf
}

/// The never-two-masters check must be able to fail, on either evidence:
/// a second holder of the VIP, or a second advertiser on the wire (a
/// third node sends valid lower-priority adverts for the same VRID).
#[test]
fn harness_detects_two_masters() {
    let _serial = serial();
    let lab = Lab::new(3);
    let mut a = Instance::new(Proto::V2, HIGH, 1000);
    a.state_master = true;
    let vip = a.vip();
    let _da = start(&lab, 0, Kind::Keepalived, &a, "a");
    lab.wait_sole_holder(0, vip, a.master_down() + SLACK);
    // It passes on a healthy domain...
    check_single_master(&lab, 0, &a, "healthy", true);

    // ...fails on a second holder...
    let n2 = &lab.nodes[1];
    n2.ns
        .exec(&["ip", "addr", "add", "192.168.1.200/24", "dev", "eth0"]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_single_master(&lab, 0, &a, "second holder", true)
    }));
    assert!(r.is_err(), "the VIP check accepted two holders");
    n2.ns
        .exec(&["ip", "addr", "del", "192.168.1.200/24", "dev", "eth0"]);

    // ...and on a second advertiser (bounded: 12 adverts, 250 ms apart).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let n3 = &lab.nodes[2];
    let sock = netns::PacketSocket::open(&n3.ns, "eth0");
    let frame = netns::eth_ipv4(n3.mac, &v2_advert(51, 50, b"1111", n3.v4));
    let injector = std::thread::spawn(move || {
        for _ in 0..12 {
            if flag.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            sock.send(&frame);
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_single_master(&lab, 0, &a, "second advertiser", false)
    }));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = injector.join();
    assert!(r.is_err(), "the wire check accepted a second advertiser");
}
