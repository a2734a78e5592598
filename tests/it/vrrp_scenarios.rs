//! Two- and three-router VRRP scenarios in virtual time on the virtual
//! LAN of `support/vlan.rs`: one-instance routers exchange real advert
//! bytes over links with fixed latency and optional, seeded loss.
//!
//! Must not: sleep, read the clock (one base `Instant` only), or run
//! unbounded: every run has a step limit.

use crate::support::vlan;

use std::time::Duration;

use vigil::vrrp::machine::InitialState;
use vigil::vrrp::{State, Version};
use vlan::{Lan as Net, LATENCY};

/// Exactly one master once converged (transient overlaps of at most one
/// link latency are checked by `Net::track_dual` on every step).
fn one_master(net: &Net) {
    if net.dual_since.is_none() {
        assert!(net.masters().len() <= 1);
    }
}

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

#[test]
fn seed_pair_converges_to_one_master() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |_| {});
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(a);
    net.start(b);
    net.run_until(net.at(10.0), one_master);
    assert_eq!(net.masters(), vec![a]);
    // Master_Down_Interval(100) = 3 + 156/256 s.
    assert_eq!(
        net.changed_at(a, 0, State::Master).map(|t| t - net.t0),
        Some(ns(3_609_375_000))
    );
    assert_eq!(net.changed_at(b, 0, State::Master), None);
    net.run_until(net.at(120.0), |n| assert_eq!(n.masters(), vec![a]));
    let r = &net.routers[b];
    assert_eq!(
        r.drops.total(),
        0,
        "{:?}",
        r.drops.iter().filter(|(_, c)| *c > 0).collect::<Vec<_>>()
    );
}

#[test]
fn higher_priority_router_joining_preempts() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |_| {});
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(b);
    net.run_until(net.at(10.0), one_master);
    assert_eq!(net.masters(), vec![b]);
    net.start(a);
    net.run_until(net.at(30.0), one_master);
    assert_eq!(net.masters(), vec![a]);
    // a ignores b's lower-priority adverts: takes over one Master_Down_Interval after starting.
    let ta = net
        .changed_at(a, 0, State::Master)
        .expect("a became master");
    assert_eq!(ta - net.at(10.0), ns(3_609_375_000));
    // b yields when a's first advert arrives, one link latency later.
    assert_eq!(
        net.changed_at(b, 0, State::Backup).map(|t| t - ta),
        Some(LATENCY)
    );
    assert_eq!((net.dual_episodes, net.longest_dual), (1, LATENCY));
}

#[test]
fn nopreempt_router_joining_stays_backup() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |c| c.preempt = false);
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(b);
    net.run_until(net.at(10.0), one_master);
    net.start(a);
    net.run_until(net.at(100.0), |n| assert_eq!(n.masters(), vec![b]));
    assert_eq!(net.routers[a].state(0), State::Backup);
}

#[test]
fn preempt_delay_is_honoured() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |c| {
        c.preempt_delay = Duration::from_secs(20)
    });
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(b);
    net.run_until(net.at(10.0), one_master);
    net.start(a);
    net.run_until(net.at(60.0), one_master);
    assert_eq!(net.masters(), vec![a]);
    let ta = net.changed_at(a, 0, State::Master).expect("a preempted") - net.at(10.0);
    // Not before the delay; at most one Master_Down_Interval after it.
    assert!(ta >= Duration::from_secs(20), "{ta:?}");
    assert!(ta <= Duration::from_secs(20) + ns(3_609_375_000), "{ta:?}");
}

#[test]
fn graceful_shutdown_hands_over_within_skew_time() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |_| {});
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(a);
    net.start(b);
    net.run_until(net.at(10.5), one_master);
    assert_eq!(net.masters(), vec![a]);
    let t_stop = net.now;
    net.shutdown(a);
    assert!(!net.routers[a].members[0].holds_vip, "VIP removed at once");
    net.run_until(net.at(20.0), one_master);
    assert_eq!(net.masters(), vec![b]);
    // Priority-0 advert arrives after the latency; b waits Skew_Time(99).
    let tb = net.changed_at(b, 0, State::Master).expect("b took over") - t_stop;
    assert_eq!(tb, LATENCY + ns(613_281_250));
}

#[test]
fn killed_master_is_replaced_after_master_down_interval() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |_| {});
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(a);
    net.start(b);
    net.run_until(net.at(10.5), one_master);
    net.kill(a);
    let last_rx = net.routers[b].members[0].last_rx.expect("b heard a");
    net.run_until(net.at(20.0), |_| {});
    let tb = net.changed_at(b, 0, State::Master).expect("b took over");
    assert_eq!(tb - last_rx, ns(3_613_281_250));
}

#[test]
fn v3_fast_adverts_killed_master_replaced_in_180_ms() {
    let mut net = Net::new();
    let a = net.add(Version::V3, 100, 5, |_| {});
    let b = net.add(Version::V3, 99, 5, |_| {});
    net.start(a);
    net.start(b);
    net.run_until(net.at(2.0), one_master);
    assert_eq!(net.masters(), vec![a]);
    net.kill(a);
    let last_rx = net.routers[b].members[0].last_rx.expect("b heard a");
    net.run_until(net.at(3.0), |_| {});
    let tb = net.changed_at(b, 0, State::Master).expect("b took over");
    assert_eq!(tb - last_rx, ns(180_664_062));
    // And a graceful hand-back: a restarts (higher priority) and preempts.
    net.start(a);
    net.run_until(net.at(4.0), |_| {});
    assert_eq!(net.masters(), vec![a]);
}

#[test]
fn three_routers_converge_and_fail_over_in_priority_order() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |_| {});
    let b = net.add(Version::V2, 90, 100, |_| {});
    let c = net.add(Version::V2, 80, 100, |_| {});
    for i in [c, b, a] {
        net.start(i);
    }
    net.run_until(net.at(10.0), one_master);
    assert_eq!(net.masters(), vec![a]);
    net.kill(a);
    net.run_until(net.at(30.0), one_master);
    assert_eq!(net.masters(), vec![b]);
    assert_eq!(
        net.changed_at(c, 0, State::Master),
        None,
        "skew let b win without a flap"
    );
    net.shutdown(b);
    net.run_until(net.at(40.0), one_master);
    assert_eq!(net.masters(), vec![c]);
}

#[test]
fn master_hint_preempts_lower_master_after_skew() {
    let mut net = Net::new();
    let a = net.add(Version::V2, 100, 100, |c| {
        c.initial_state = InitialState::Master
    });
    let b = net.add(Version::V2, 99, 100, |_| {});
    net.start(b);
    net.run_until(net.at(10.0), one_master);
    net.start(a);
    net.run_until(net.at(20.0), one_master);
    assert_eq!(net.masters(), vec![a]);
    let ta = net.changed_at(a, 0, State::Master).expect("a preempted");
    let heard = ta - ns(609_375_000);
    // a took over Skew_Time(100) after the first advert it heard from b,
    // which arrived within one advert interval of a's start.
    assert!(
        heard >= net.at(10.0) && heard <= net.at(11.0) + LATENCY,
        "{:?}",
        ta - net.t0
    );
}

#[test]
fn lossy_link_heals_every_dual_master_within_a_few_intervals() {
    let mut net = Net::new();
    net.loss = 200; // 20 % of deliveries lost
    let a = net.add(Version::V2, 100, 100, |_| {});
    let _b = net.add(Version::V2, 90, 100, |_| {});
    let _c = net.add(Version::V2, 80, 100, |_| {});
    for i in 0..3 {
        net.start(i);
    }
    // A backup that misses three adverts takes over; the real master's next
    // advert to reach it (one interval later, or more after further losses)
    // sends it back. Bound the overlap by four intervals.
    net.max_dual = Duration::from_secs(4);
    net.run_until(net.at(600.0), |_| {});
    let (episodes, longest) = (net.dual_episodes, net.longest_dual);
    assert_eq!(
        net.masters(),
        vec![a],
        "after {episodes} dual-master episodes"
    );
    assert!(
        episodes > 0,
        "20 % loss over 10 minutes should cause some takeovers"
    );
    assert!(
        longest <= Duration::from_secs(4),
        "longest overlap {longest:?}"
    );
}
