//! RFC 5798 section 6.4 transitions of one `vigil::vrrp::Machine`, in
//! virtual time, each with its exact timing (nanoseconds; see
//! `vrrp::types` for the rounding: floor to the nanosecond).
//!
//! Must not: sleep or read the clock except once for a base `Instant`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vigil::vrrp::machine::{
    Advert, GarpConfig, GroupCommand, InitialState, InstanceConfigError, Track,
};
use vigil::vrrp::{
    Action, Centiseconds, Input, InstanceConfig, Machine, Priority, Reason, State, Version, Vrid,
};

const OUR_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 101);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 100);

fn cfg(version: Version, prio: u8, interval_cs: u16) -> InstanceConfig {
    InstanceConfig::new(
        version,
        Vrid::new(51).expect("nonzero"),
        Priority(prio),
        Centiseconds(interval_cs),
        IpAddr::V4(OUR_IP),
    )
}

fn started(c: InstanceConfig, t0: Instant) -> Machine {
    let mut m = Machine::new(c).expect("valid config");
    m.handle(Input::Startup, t0);
    drain(&mut m);
    m
}

fn drain(m: &mut Machine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn advert(prio: u8, interval_cs: u16) -> Input {
    advert_from(PEER_IP, prio, interval_cs)
}

fn advert_from(src: Ipv4Addr, prio: u8, interval_cs: u16) -> Input {
    Input::Advert(Advert {
        src: IpAddr::V4(src),
        priority: Priority(prio),
        interval: Centiseconds(interval_cs),
    })
}

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

/// Fires the pending timer, asserting it is at `t0 + after`, and that one
/// nanosecond earlier nothing happens.
fn fire_at(m: &mut Machine, t0: Instant, after: Duration) -> Vec<Action> {
    let at = m.poll_timeout().expect("a timer is armed");
    assert_eq!(at - t0, after, "timer deadline");
    m.handle(Input::Timeout, at - ns(1));
    assert_eq!(drain(m), vec![], "nothing before the deadline");
    m.handle(Input::Timeout, at);
    drain(m)
}

fn became_master(reason: Reason, prio: u8) -> Vec<Action> {
    vec![
        Action::StateChange {
            from: State::Backup,
            to: State::Master,
            reason,
        },
        Action::AddVips,
        Action::SendAdvert {
            priority: Priority(prio),
        },
        Action::SendGratuitous { repeat: 5 },
    ]
}

// ---- 6.4.1 Initialize ----

/// The `StateChange` action, shorter to read in the expected lists.
fn change(from: State, to: State, reason: Reason) -> Action {
    Action::StateChange { from, to, reason }
}

#[test]
fn init_owner_becomes_master_at_once() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(Version::V3, 255, 100)).expect("valid");
    m.handle(Input::Startup, t0);
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Initialize, State::Master, Reason::Startup),
            Action::AddVips,
            Action::SendAdvert {
                priority: Priority(255)
            },
            Action::SendGratuitous { repeat: 5 },
        ]
    );
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(1)));
}

#[test]
fn init_backup_v2_seed_master_down_is_3_613_28_ms() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(Version::V2, 99, 100)).expect("valid");
    m.handle(Input::Startup, t0);
    assert_eq!(
        drain(&mut m),
        vec![change(State::Initialize, State::Backup, Reason::Startup)]
    );
    // 3 s + (256 - 99) / 256 s = 3.61328125 s (keepalived measured 3.614 s).
    let acts = fire_at(&mut m, t0, ns(3_613_281_250));
    assert_eq!(acts, became_master(Reason::MasterDown, 99));
    assert_eq!(m.state(), State::Master);
}

#[test]
fn init_state_master_hint_still_waits_master_down_on_a_silent_link() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.initial_state = InitialState::Master;
    let mut m = started(c, t0);
    assert_eq!(m.state(), State::Backup);
    let acts = fire_at(&mut m, t0, ns(3_609_375_000));
    assert_eq!(acts, became_master(Reason::MasterDown, 100));
}

#[test]
fn startup_with_interface_down_goes_to_fault_then_backup() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(Version::V2, 99, 100)).expect("valid");
    m.handle(Input::InterfaceDown, t0);
    assert_eq!(drain(&mut m), vec![Action::OwnFault { faulted: true }]);
    m.handle(Input::Startup, t0);
    assert_eq!(
        drain(&mut m),
        vec![change(
            State::Initialize,
            State::Fault,
            Reason::InterfaceDown
        )]
    );
    assert_eq!(m.poll_timeout(), None);
    let t1 = t0 + Duration::from_secs(7);
    m.handle(Input::InterfaceUp, t1);
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Fault, State::Backup, Reason::InterfaceUp),
            Action::OwnFault { faulted: false },
        ]
    );
    assert_eq!(m.poll_timeout(), Some(t1 + ns(3_613_281_250)));
}

/// keepalived's `dont_track_primary`: the own interface going down is no
/// fault; given back (a reload) while it is down, the instance goes FAULT.
#[test]
fn dont_track_primary_ignores_the_own_interface_until_reconfigured() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 99, 100);
    c.track_primary = false;
    let mut m = started(c.clone(), t0);
    let acts = fire_at(&mut m, t0, ns(3_613_281_250));
    assert_eq!(acts, became_master(Reason::MasterDown, 99));
    let t1 = t0 + Duration::from_secs(5);
    m.handle(Input::InterfaceDown, t1);
    assert_eq!(drain(&mut m), vec![], "no fault, no resign");
    assert_eq!(m.state(), State::Master);
    assert!(!m.own_fault());
    // The instance tracks its interface again: FAULT at once, its VIPs
    // removed; the resign advert is not sent on a link that is down.
    let t2 = t1 + Duration::from_secs(1);
    c.track_primary = true;
    m.reconfigure(c.clone(), t2).expect("same identity");
    let acts = drain(&mut m);
    assert!(
        acts.ends_with(&[
            Action::OwnFault { faulted: true },
            change(State::Master, State::Fault, Reason::InterfaceDown),
            Action::RemoveVips,
        ]),
        "{acts:?}"
    );
    // And taken away again while the link is still down: out of FAULT.
    c.track_primary = false;
    m.reconfigure(c, t2).expect("same identity");
    let acts = drain(&mut m);
    assert_eq!(acts[0], Action::OwnFault { faulted: false }, "{acts:?}");
    assert_eq!(
        acts[1],
        change(State::Fault, State::Backup, Reason::Reconfigured)
    );
}

// ---- 6.4.2 Backup ----

#[test]
fn backup_advert_from_higher_priority_resets_master_down() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    let t1 = t0 + Duration::from_millis(2500);
    m.handle(advert(100, 100), t1);
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.poll_timeout(), Some(t1 + ns(3_613_281_250)));
}

#[test]
fn backup_advert_with_priority_0_takes_over_after_skew() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    let t1 = t0 + Duration::from_millis(1000);
    m.handle(advert(0, 100), t1);
    // Skew_Time = 157/256 s = 613.28125 ms (keepalived measured 0.613 s).
    let acts = fire_at(&mut m, t1, ns(613_281_250));
    assert_eq!(acts, became_master(Reason::MasterDown, 99));
}

#[test]
fn backup_ignores_lower_priority_advert_when_preempting() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    for s in 1..=3 {
        m.handle(advert(50, 100), t0 + Duration::from_secs(s));
    }
    // The timer armed at startup still rules: take over, then the lower
    // master yields (6.4.3 on its side).
    let acts = fire_at(&mut m, t0, ns(3_613_281_250));
    assert_eq!(acts, became_master(Reason::MasterDown, 99));
}

#[test]
fn backup_with_nopreempt_accepts_lower_priority_master() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 99, 100);
    c.preempt = false;
    let mut m = started(c, t0);
    for s in 1..=30 {
        let t = t0 + Duration::from_secs(s);
        m.handle(Input::Timeout, t);
        m.handle(advert(50, 100), t);
        assert_eq!(m.poll_timeout(), Some(t + ns(3_613_281_250)));
    }
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn v3_backup_learns_master_adver_interval() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 99, 100), t0);
    let t1 = t0 + Duration::from_millis(100);
    m.handle(advert(100, 5), t1);
    assert_eq!(m.master_adver_interval(), Centiseconds(5));
    // 3 * 50 ms + 157 * 5 / 256 cs = 150 ms + 30.6640625 ms, floored.
    let acts = fire_at(&mut m, t1, ns(180_664_062));
    assert_eq!(acts, became_master(Reason::MasterDown, 99));
}

#[test]
fn v3_at_50_ms_master_down_and_skew() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 99, 5), t0);
    let t1 = t0 + Duration::from_millis(50);
    m.handle(advert(100, 5), t1);
    assert_eq!(m.poll_timeout(), Some(t1 + ns(180_664_062)));
    assert_eq!((m.poll_timeout().expect("armed") - t1).as_millis(), 180);
    let t2 = t1 + Duration::from_millis(50);
    m.handle(advert(0, 5), t2);
    let acts = fire_at(&mut m, t2, ns(30_664_062));
    assert_eq!(acts, became_master(Reason::MasterDown, 99));
    // As master, adverts every 50 ms.
    let acts = fire_at(&mut m, t2 + ns(30_664_062), Duration::from_millis(50));
    assert_eq!(
        acts,
        vec![Action::SendAdvert {
            priority: Priority(99)
        }]
    );
}

#[test]
fn v2_backup_does_not_learn_interval() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    m.handle(advert(100, 300), t0);
    assert_eq!(m.master_adver_interval(), Centiseconds(100));
}

#[test]
fn backup_shutdown_goes_to_initialize_silently() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    m.handle(Input::Shutdown, t0 + Duration::from_secs(1));
    assert_eq!(
        drain(&mut m),
        vec![change(State::Backup, State::Initialize, Reason::Shutdown)]
    );
    assert_eq!(m.poll_timeout(), None);
}

// ---- 6.4.3 Master ----

fn master_v2(prio: u8, t0: Instant) -> (Machine, Instant) {
    let mut m = started(cfg(Version::V2, prio, 100), t0);
    let at = m.poll_timeout().expect("armed");
    m.handle(Input::Timeout, at);
    drain(&mut m);
    assert_eq!(m.state(), State::Master);
    (m, at)
}

#[test]
fn master_sends_advert_every_interval() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(100, t0);
    // (The second GARP burst joins the advert at +5 s; stop before it.)
    for k in 1..=4u32 {
        let acts = fire_at(&mut m, tm, Duration::from_secs(1) * k);
        assert_eq!(
            acts,
            vec![Action::SendAdvert {
                priority: Priority(100)
            }]
        );
    }
}

#[test]
fn master_answers_priority_0_with_an_advert_and_resets_the_timer() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(100, t0);
    let t1 = tm + Duration::from_millis(400);
    m.handle(advert(0, 100), t1);
    assert_eq!(
        drain(&mut m),
        vec![Action::SendAdvert {
            priority: Priority(100)
        }]
    );
    assert_eq!(m.poll_timeout(), Some(t1 + Duration::from_secs(1)));
}

#[test]
fn master_yields_to_higher_priority() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(99, t0);
    let t1 = tm + Duration::from_millis(200);
    m.handle(advert(100, 100), t1);
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Master, State::Backup, Reason::HigherPriorityAdvert),
            Action::RemoveVips,
        ]
    );
    assert_eq!(m.poll_timeout(), Some(t1 + ns(3_613_281_250)));
}

#[test]
fn master_equal_priority_tie_broken_by_primary_address() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(100, t0);
    // Lower address (our .101 > .100): we stay, and answer it.
    m.handle(advert_from(Ipv4Addr::new(192, 168, 1, 100), 100, 100), tm);
    assert_eq!(drain(&mut m), reannounce(100));
    assert_eq!(m.state(), State::Master);
    // Higher address: yield.
    m.handle(advert_from(Ipv4Addr::new(192, 168, 1, 102), 100, 100), tm);
    assert_eq!(m.state(), State::Backup);
}

/// What a master answers a lower-priority master with (keepalived's
/// default): its own advert at once, and a gratuitous ARP burst.
fn reannounce(prio: u8) -> Vec<Action> {
    vec![
        Action::SendAdvert {
            priority: Priority(prio),
        },
        Action::SendGratuitous { repeat: 5 },
    ]
}

/// A split brain heals: the other master (lower priority) is told at
/// once, and hosts that learned its MAC get ours back; at most once per
/// advert interval.
#[test]
fn master_stays_and_reannounces_to_a_lower_priority_master() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(100, t0);
    let other = Ipv4Addr::new(192, 168, 1, 250);
    m.handle(advert_from(other, 99, 100), tm);
    assert_eq!(drain(&mut m), reannounce(100));
    assert_eq!(m.state(), State::Master);
    m.handle(advert_from(other, 99, 100), tm + Duration::from_millis(999));
    assert_eq!(drain(&mut m), vec![], "not twice within an interval");
    m.handle(advert_from(other, 99, 100), tm + Duration::from_secs(1));
    assert_eq!(drain(&mut m), reannounce(100));
}

#[test]
fn v3_master_yielding_learns_the_interval() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 99, 100), t0);
    let tm = m.poll_timeout().expect("armed");
    m.handle(Input::Timeout, tm);
    m.handle(advert(200, 5), tm);
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.poll_timeout(), Some(tm + ns(180_664_062)));
}

#[test]
fn master_shutdown_resigns_then_removes_vips() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(100, t0);
    m.handle(Input::Shutdown, tm + Duration::from_millis(10));
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Master, State::Initialize, Reason::Shutdown),
            Action::SendAdvert {
                priority: Priority(0)
            },
            Action::RemoveVips,
        ]
    );
    assert_eq!(m.poll_timeout(), None);
}

// ---- stale timers (holo-vrrp's bug) ----

#[test]
fn stale_master_down_wakeup_does_not_promote() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    // The edge sleeps until the deadline it was given...
    let stale = m.poll_timeout().expect("armed");
    // ...but an advert arrives just before and pushes the timer back.
    m.handle(advert(100, 100), stale - Duration::from_millis(1));
    m.handle(Input::Timeout, stale);
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.state(), State::Backup);
    m.handle(Input::Timeout, stale + Duration::from_millis(500));
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn stale_wakeups_after_leaving_a_state_do_nothing() {
    let t0 = Instant::now();
    // Master-down deadline, then the interface fails.
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    let stale = m.poll_timeout().expect("armed");
    m.handle(Input::InterfaceDown, t0 + Duration::from_secs(1));
    drain(&mut m);
    m.handle(Input::Timeout, stale);
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.state(), State::Fault);
    // Advert and GARP deadlines of a master that then yields.
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(99, t0);
    m.handle(advert(100, 100), tm + Duration::from_millis(1));
    drain(&mut m);
    for d in [1, 2, 3] {
        m.handle(Input::Timeout, tm + Duration::from_secs(d));
        assert_eq!(drain(&mut m), vec![], "advert wakeup at +{d} s");
    }
    // The new master keeps advertising; the old GARP delay (+5 s) is stale.
    m.handle(advert(100, 100), tm + Duration::from_secs(3));
    m.handle(Input::Timeout, tm + Duration::from_secs(5));
    assert_eq!(drain(&mut m), vec![], "garp wakeup at +5 s");
    // Shut down: nothing wakes it again.
    m.handle(Input::Shutdown, tm + Duration::from_secs(2));
    drain(&mut m);
    m.handle(Input::Timeout, tm + Duration::from_secs(100));
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.state(), State::Initialize);
}

#[test]
fn spurious_timeout_does_nothing() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    m.handle(Input::Timeout, t0 + Duration::from_secs(1));
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.poll_timeout(), Some(t0 + ns(3_613_281_250)));
}

// ---- gratuitous ARP ----

#[test]
fn garp_bursts_follow_keepalived_settings() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V3, 255, 100);
    c.garp = GarpConfig {
        master_delay: Duration::from_secs(5),
        master_repeat: 3,
        master_refresh: Duration::from_secs(60),
        master_refresh_repeat: 2,
    };
    let mut m = Machine::new(c).expect("valid");
    m.handle(Input::Startup, t0);
    assert!(drain(&mut m).contains(&Action::SendGratuitous { repeat: 3 }));
    let mut garps = Vec::new();
    while let Some(at) = m.poll_timeout() {
        if at > t0 + Duration::from_secs(130) {
            break;
        }
        m.handle(Input::Timeout, at);
        for a in drain(&mut m) {
            if let Action::SendGratuitous { repeat } = a {
                garps.push(((at - t0).as_secs(), repeat));
            }
        }
    }
    assert_eq!(garps, vec![(5, 3), (60, 2), (120, 2)]);
}

#[test]
fn garp_second_burst_disabled_by_zero_delay() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V3, 255, 100);
    c.garp.master_delay = Duration::ZERO;
    let mut m = Machine::new(c).expect("valid");
    m.handle(Input::Startup, t0);
    drain(&mut m);
    m.handle(Input::Timeout, t0 + Duration::from_secs(5));
    assert!(!drain(&mut m)
        .iter()
        .any(|a| matches!(a, Action::SendGratuitous { .. })));
}

// ---- track_interface, fault ----

#[test]
fn track_weights_adjust_priority_with_clamping() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.track = vec![
        Track::weighted(50),
        Track::weighted(-30),
        Track::weighted(200),
    ];
    let mut m = started(c, t0);
    // All up: +50 +200, clamped to 254.
    assert_eq!(m.priority(), Priority(254));
    m.handle(
        Input::TrackedInterface {
            index: 2,
            up: false,
        },
        t0,
    );
    assert_eq!(m.priority(), Priority(150));
    m.handle(
        Input::TrackedInterface {
            index: 1,
            up: false,
        },
        t0,
    );
    assert_eq!(m.priority(), Priority(120));
    m.handle(
        Input::TrackedInterface {
            index: 0,
            up: false,
        },
        t0,
    );
    assert_eq!(m.priority(), Priority(70));
    assert_eq!(m.state(), State::Backup, "weighted tracks never fault");
    assert_eq!(drain(&mut m), vec![]);
    // Unknown index: ignored.
    m.handle(
        Input::TrackedInterface {
            index: 9,
            up: false,
        },
        t0,
    );
    assert_eq!(m.priority(), Priority(70));
    // Clamped at 1.
    let mut c = cfg(Version::V2, 10, 100);
    c.track = vec![Track::weighted(-100)];
    let mut m = started(c, t0);
    m.handle(
        Input::TrackedInterface {
            index: 0,
            up: false,
        },
        t0,
    );
    assert_eq!(m.priority(), Priority(1));
    // The owner keeps 255.
    let mut c = cfg(Version::V2, 255, 100);
    c.track = vec![Track::weighted(-100)];
    let mut m = started(c, t0);
    m.handle(
        Input::TrackedInterface {
            index: 0,
            up: false,
        },
        t0,
    );
    assert_eq!(m.priority(), Priority(255));
}

#[test]
fn weight_lowered_master_advertises_new_priority_and_the_timer_uses_it() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.track = vec![Track::weighted(-60)];
    let mut m = started(c, t0);
    let tm = m.poll_timeout().expect("armed");
    m.handle(Input::Timeout, tm);
    drain(&mut m);
    m.handle(
        Input::TrackedInterface {
            index: 0,
            up: false,
        },
        tm,
    );
    let acts = fire_at(&mut m, tm, Duration::from_secs(1));
    assert_eq!(
        acts,
        vec![Action::SendAdvert {
            priority: Priority(40)
        }]
    );
}

#[test]
fn tracked_interface_without_weight_faults_and_recovers() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.track = vec![Track::weighted(0)];
    let mut m = started(c, t0);
    let tm = m.poll_timeout().expect("armed");
    m.handle(Input::Timeout, tm);
    drain(&mut m);
    m.handle(
        Input::TrackedInterface {
            index: 0,
            up: false,
        },
        tm,
    );
    // The VRRP interface is up: resign with priority 0 for a fast handover.
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Master, State::Fault, Reason::TrackedInterfaceDown),
            Action::SendAdvert {
                priority: Priority(0)
            },
            Action::RemoveVips,
            Action::OwnFault { faulted: true },
        ]
    );
    assert_eq!(m.poll_timeout(), None);
    m.handle(advert(50, 100), tm + Duration::from_secs(1));
    assert_eq!(m.state(), State::Fault, "adverts are ignored in FAULT");
    let t2 = tm + Duration::from_secs(2);
    m.handle(Input::TrackedInterface { index: 0, up: true }, t2);
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Fault, State::Backup, Reason::TrackedInterfaceUp),
            Action::OwnFault { faulted: false },
        ]
    );
    assert_eq!(m.poll_timeout(), Some(t2 + ns(3_609_375_000)));
}

#[test]
fn interface_down_as_master_removes_vips_without_advert() {
    let t0 = Instant::now();
    let (mut m, tm) = master_v2(100, t0);
    m.handle(Input::InterfaceDown, tm);
    assert_eq!(
        drain(&mut m),
        vec![
            change(State::Master, State::Fault, Reason::InterfaceDown),
            Action::RemoveVips,
            Action::OwnFault { faulted: true },
        ]
    );
}

#[test]
fn owner_recovering_from_fault_is_master_again() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 255, 100), t0);
    m.handle(Input::InterfaceDown, t0);
    m.handle(Input::InterfaceUp, t0 + Duration::from_secs(1));
    assert_eq!(m.state(), State::Master);
}

#[test]
fn group_commands_force_states() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    m.handle(Input::Group(GroupCommand::Master), t0);
    assert_eq!(drain(&mut m), became_master(Reason::SyncGroup, 99));
    m.handle(Input::Group(GroupCommand::Backup), t0);
    assert_eq!(m.state(), State::Backup);
    m.handle(Input::Group(GroupCommand::Fault(true)), t0);
    assert_eq!(m.state(), State::Fault);
    m.handle(Input::Group(GroupCommand::Master), t0);
    assert_eq!(m.state(), State::Fault, "FAULT does not follow MASTER");
    m.handle(Input::Group(GroupCommand::Fault(false)), t0);
    assert_eq!(m.state(), State::Backup);
}

// ---- preempt_delay, MASTER hint ----

#[test]
fn preempt_delay_defers_preemption_after_startup() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 150, 100);
    c.preempt_delay = Duration::from_secs(10);
    let mut m = started(c, t0);
    // A lower-priority master advertises every second.
    let mut t = t0;
    let takeover = loop {
        t += Duration::from_secs(1);
        if let Some(at) = m.poll_timeout().filter(|at| *at <= t) {
            m.handle(Input::Timeout, at);
            if m.state() == State::Master {
                break at;
            }
        }
        m.handle(advert(100, 100), t);
        assert!(t < t0 + Duration::from_secs(60), "never preempted");
    };
    // Adverts until t0+10 s reset the timer (the one at 10 s is ignored):
    // takeover at 9 s + Master_Down_Interval(150) = 9 s + 3.4140625 s.
    assert_eq!(takeover - t0, ns(12_414_062_500));
}

#[test]
fn preempt_delay_restarts_for_a_new_lower_priority_master() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 150, 100);
    c.preempt_delay = Duration::from_secs(10);
    let mut m = started(c, t0);
    // A higher-priority master for a minute: the startup delay is spent.
    let mut t = t0;
    for _ in 0..60 {
        t += Duration::from_secs(1);
        m.handle(advert(200, 100), t);
    }
    // Then a lower-priority master appears: its adverts are accepted for
    // 10 s, so takeover is at (last accepted advert) + Master_Down_Interval.
    let first_low = t + Duration::from_secs(1);
    let mut takeover = None;
    for k in 1..=30u64 {
        let at = t + Duration::from_secs(k);
        if let Some(due) = m.poll_timeout().filter(|d| *d <= at) {
            m.handle(Input::Timeout, due);
            if m.state() == State::Master {
                takeover = Some(due);
                break;
            }
        }
        m.handle(advert(100, 100), at);
    }
    // Accepted at first_low + 0..9 s; the one at +10 s is ignored.
    let takeover = takeover.expect("preempted");
    assert_eq!(
        takeover - first_low,
        Duration::from_secs(9) + ns(3_414_062_500)
    );
}

#[test]
fn master_hint_preempts_a_lower_master_after_skew() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.initial_state = InitialState::Master;
    let mut m = started(c, t0);
    let t1 = t0 + Duration::from_millis(300);
    m.handle(advert(50, 100), t1);
    // Skew_Time(100) = 156/256 s = 609.375 ms after the lower master's advert.
    let acts = fire_at(&mut m, t1, ns(609_375_000));
    assert_eq!(acts, became_master(Reason::MasterDown, 100));
}

#[test]
fn config_validation() {
    let ok = cfg(Version::V2, 100, 100);
    assert_eq!(ok.validate(), Ok(()));
    let mut c = ok.clone();
    c.priority = Priority(0);
    assert_eq!(c.validate(), Err(InstanceConfigError::ZeroPriority));
    let mut c = ok.clone();
    c.advert_interval = Centiseconds(150);
    assert!(matches!(
        c.validate(),
        Err(InstanceConfigError::AdvertInterval { .. })
    ));
    let mut c = cfg(Version::V3, 100, 4096);
    assert!(matches!(
        c.validate(),
        Err(InstanceConfigError::AdvertInterval { .. })
    ));
    c.advert_interval = Centiseconds(4095);
    assert_eq!(c.validate(), Ok(()));
    let mut c = ok.clone();
    c.initial_state = InitialState::Master;
    c.preempt = false;
    assert_eq!(
        c.validate(),
        Err(InstanceConfigError::NoPreemptWithInitialMaster)
    );
    c.preempt = true;
    c.preempt_delay = Duration::from_secs(1);
    assert_eq!(
        c.validate(),
        Err(InstanceConfigError::PreemptDelayWithInitialMaster)
    );
    let mut c = ok.clone();
    c.preempt_delay = Duration::from_secs(1001);
    assert!(matches!(
        c.validate(),
        Err(InstanceConfigError::PreemptDelayTooLong { .. })
    ));
    let mut c = ok;
    c.track = vec![Track::weighted(255)];
    assert_eq!(
        c.validate(),
        Err(InstanceConfigError::TrackWeight {
            index: 0,
            weight: 255
        })
    );
    assert!(Machine::new(c).is_err());
}

// ---- reconfigure (a config commit, applied in place) ----

#[test]
fn reconfigure_keeps_a_master_and_advertises_the_new_priority_at_once() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 255, 100), t0);
    assert_eq!(m.state(), State::Master);
    let t1 = t0 + Duration::from_millis(300);
    m.reconfigure(cfg(Version::V3, 150, 50), t1).expect("valid");
    assert_eq!(m.state(), State::Master, "a reload never resigns");
    assert_eq!(
        drain(&mut m),
        vec![Action::SendAdvert {
            priority: Priority(150)
        }]
    );
    // The next advert at the new interval.
    let acts = fire_at(&mut m, t1, Duration::from_millis(500));
    assert_eq!(
        acts,
        vec![Action::SendAdvert {
            priority: Priority(150)
        }]
    );
    // A peer that now outranks it takes over, as the RFC has it.
    m.handle(advert(200, 100), t1 + Duration::from_secs(1));
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn reconfigure_of_a_backup_restarts_its_wait_and_never_promotes_early() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V2, 99, 100), t0);
    let t1 = t0 + Duration::from_secs(3);
    m.reconfigure(cfg(Version::V2, 200, 100), t1)
        .expect("valid");
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.state(), State::Backup);
    // 3 s + (256 - 200) / 256 s from the reload, not from startup.
    let acts = fire_at(&mut m, t1, ns(3_218_750_000));
    assert_eq!(acts, became_master(Reason::MasterDown, 200));
}

#[test]
fn reconfigure_to_the_address_owner_takes_over_at_once() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 100, 100), t0);
    let t1 = t0 + Duration::from_millis(10);
    m.reconfigure(cfg(Version::V3, 255, 100), t1)
        .expect("valid");
    assert_eq!(
        drain(&mut m),
        became_master(Reason::Reconfigured, 255),
        "the owner does not wait"
    );
}

#[test]
fn reconfigure_refuses_a_new_identity_or_an_invalid_config_and_changes_nothing() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 100, 100), t0);
    let before = m.poll_timeout();
    let mut other = cfg(Version::V3, 120, 100);
    other.vrid = Vrid::new(52).expect("nonzero");
    assert!(matches!(
        m.reconfigure(other, t0),
        Err(InstanceConfigError::Identity)
    ));
    assert!(matches!(
        m.reconfigure(cfg(Version::V2, 100, 100), t0),
        Err(InstanceConfigError::Identity)
    ));
    let mut bad = cfg(Version::V3, 100, 100);
    bad.preempt = false;
    bad.initial_state = InitialState::Master;
    assert!(m.reconfigure(bad, t0).is_err());
    assert_eq!(m.config().priority, Priority(100));
    assert_eq!(m.poll_timeout(), before);
    assert_eq!(drain(&mut m), vec![]);
}

#[test]
fn reconfigure_keeps_tracked_states_by_position() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V3, 100, 100);
    c.track = vec![Track::weighted(-30)];
    let mut m = started(c.clone(), t0);
    m.handle(
        Input::TrackedInterface {
            index: 0,
            up: false,
        },
        t0,
    );
    drain(&mut m);
    assert_eq!(m.priority(), Priority(70));
    c.priority = Priority(110);
    c.track.push(Track::weighted(20));
    m.reconfigure(c, t0).expect("valid");
    // The first still down, the new one counted up until told otherwise.
    assert_eq!(m.priority(), Priority(100));
}

// ---------------------------------------------------------------------------
// Resume: a hitless restart (`vigil restart`)

#[test]
fn resume_is_master_at_once_with_an_advert_and_a_timer() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(Version::V3, 100, 100)).expect("valid config");
    m.handle(
        Input::Resume {
            last_advert: t0 - Duration::from_secs(1),
        },
        t0,
    );
    assert_eq!(m.state(), State::Master);
    assert_eq!(
        drain(&mut m),
        vec![
            Action::StateChange {
                from: State::Initialize,
                to: State::Master,
                reason: Reason::Resumed,
            },
            Action::AddVips,
            Action::SendAdvert {
                priority: Priority(100),
            },
            Action::SendGratuitous { repeat: 5 },
        ]
    );
    // Then it advertises every interval, as any master.
    assert_eq!(
        fire_at(&mut m, t0, Duration::from_secs(1)),
        vec![Action::SendAdvert {
            priority: Priority(100)
        }]
    );
    // A higher-priority master met after the resume wins, as usual.
    m.handle(advert(150, 100), t0 + Duration::from_millis(1500));
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn a_resumed_master_s_first_advert_follows_the_bridge_s_last_by_an_interval() {
    // The advert bridge sent the last advert 300 ms ago (interval 1 s):
    // no advert now (it would be a double), the next 700 ms from now.
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(Version::V3, 100, 100)).expect("valid config");
    m.handle(
        Input::Resume {
            last_advert: t0 - Duration::from_millis(300),
        },
        t0,
    );
    assert_eq!(m.state(), State::Master);
    assert_eq!(
        drain(&mut m),
        vec![
            Action::StateChange {
                from: State::Initialize,
                to: State::Master,
                reason: Reason::Resumed,
            },
            Action::AddVips,
            Action::SendGratuitous { repeat: 5 },
        ]
    );
    assert_eq!(
        fire_at(&mut m, t0, Duration::from_millis(700)),
        vec![Action::SendAdvert {
            priority: Priority(100)
        }]
    );
    // Then every interval from there.
    let t1 = t0 + Duration::from_millis(700);
    assert_eq!(
        fire_at(&mut m, t1, Duration::from_secs(1)),
        vec![Action::SendAdvert {
            priority: Priority(100)
        }]
    );
}

#[test]
fn resume_with_the_interface_down_is_fault_without_vips() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(Version::V3, 100, 100)).expect("valid config");
    m.handle(Input::InterfaceDown, t0);
    drain(&mut m);
    m.handle(
        Input::Resume {
            last_advert: t0 - Duration::from_secs(1),
        },
        t0,
    );
    assert_eq!(m.state(), State::Fault);
    // The VIPs the previous process kept go: a FAULT box must not hold them.
    assert_eq!(
        drain(&mut m),
        vec![
            Action::StateChange {
                from: State::Initialize,
                to: State::Fault,
                reason: Reason::InterfaceDown,
            },
            Action::RemoveVips,
        ]
    );
}

#[test]
fn resume_after_startup_changes_nothing() {
    let t0 = Instant::now();
    let mut m = started(cfg(Version::V3, 100, 100), t0);
    assert_eq!(m.state(), State::Backup);
    m.handle(
        Input::Resume {
            last_advert: t0 - Duration::from_secs(1),
        },
        t0,
    );
    assert_eq!(m.state(), State::Backup);
    assert_eq!(drain(&mut m), vec![]);
}

// ---- track_script: keepalived's weights, reverse, FAULT, clamping, owner ----

fn script(m: &mut Machine, index: usize, ok: bool, t: Instant) -> Vec<Action> {
    m.handle(Input::TrackedScript { index, ok }, t);
    drain(m)
}

fn scripted(prio: u8, scripts: Vec<Track>, t0: Instant) -> Machine {
    let mut c = cfg(Version::V2, prio, 100);
    c.scripts = scripts;
    started(c, t0)
}

#[test]
fn script_weights_follow_keepalived_signs_and_reverse() {
    let t0 = Instant::now();
    let rev = |weight| Track {
        weight,
        reverse: true,
    };
    let mut m = scripted(
        100,
        vec![Track::weighted(10), Track::weighted(-20), rev(5), rev(-7)],
        t0,
    );
    // No result yet: nothing added.
    assert_eq!(m.priority(), Priority(100));
    // All OK: +10, and +5 reversed is -5.
    for i in 0..4 {
        script(&mut m, i, true, t0);
    }
    assert_eq!(m.priority(), Priority(105));
    // All failing: -20, and -7 reversed is +7.
    for i in 0..4 {
        script(&mut m, i, false, t0);
    }
    assert_eq!(m.priority(), Priority(87));
    assert_eq!(m.state(), State::Backup, "weighted scripts never fault");
}

#[test]
fn script_priority_is_clamped_and_the_owner_never_moves() {
    let t0 = Instant::now();
    let mut m = scripted(20, vec![Track::weighted(-100)], t0);
    script(&mut m, 0, false, t0);
    assert_eq!(m.priority(), Priority(1));
    let mut m = scripted(200, vec![Track::weighted(100)], t0);
    script(&mut m, 0, true, t0);
    assert_eq!(m.priority(), Priority(254));
    let mut c = cfg(Version::V2, 255, 100);
    c.initial_state = InitialState::Master;
    c.scripts = vec![Track::weighted(-100)];
    let mut m = Machine::new(c).expect("valid");
    m.handle(
        Input::TrackedScript {
            index: 0,
            ok: false,
        },
        t0,
    );
    m.handle(Input::Startup, t0);
    assert_eq!(m.priority(), Priority(255));
}

#[test]
fn a_failing_weight_zero_script_is_a_fault_and_a_master_resigns() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.scripts = vec![Track::weighted(0)];
    let mut m = Machine::new(c).expect("valid");
    // Startup waits for the script's first result, as keepalived's INIT.
    m.handle(Input::Startup, t0);
    assert_eq!(drain(&mut m), vec![]);
    assert_eq!(m.state(), State::Initialize);
    let acts = script(&mut m, 0, true, t0);
    assert_eq!(m.state(), State::Backup, "{acts:?}");
    // Becomes MASTER, then the script fails: resign, VIPs go, FAULT.
    let down = t0 + m.master_down_interval();
    m.handle(Input::Timeout, down);
    assert_eq!(m.state(), State::Master);
    drain(&mut m);
    let acts = script(&mut m, 0, false, down);
    assert_eq!(
        acts,
        vec![
            Action::StateChange {
                from: State::Master,
                to: State::Fault,
                reason: Reason::TrackedScript,
            },
            Action::SendAdvert {
                priority: Priority::RESIGN
            },
            Action::RemoveVips,
            Action::OwnFault { faulted: true },
        ]
    );
    // OK again: Initialize re-runs, BACKUP.
    let acts = script(&mut m, 0, true, down);
    assert_eq!(m.state(), State::Backup, "{acts:?}");
    assert!(acts.contains(&Action::OwnFault { faulted: false }));
}

#[test]
fn weight_zero_reverse_faults_while_the_script_succeeds() {
    let t0 = Instant::now();
    let mut m = scripted(
        100,
        vec![Track {
            weight: 0,
            reverse: true,
        }],
        t0,
    );
    script(&mut m, 0, false, t0);
    assert_eq!(m.state(), State::Backup);
    script(&mut m, 0, true, t0);
    assert_eq!(m.state(), State::Fault);
}

#[test]
fn a_failed_first_result_starts_in_fault_and_resume_does_not_wait() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.scripts = vec![Track::weighted(0)];
    let mut m = Machine::new(c.clone()).expect("valid");
    m.handle(Input::Startup, t0);
    script(&mut m, 0, false, t0);
    assert_eq!(m.state(), State::Fault);
    let mut m = Machine::new(c).expect("valid");
    m.handle(
        Input::Resume {
            last_advert: t0 - Duration::from_secs(1),
        },
        t0,
    );
    assert_eq!(m.state(), State::Master);
}

// ---- track_file: the number times the weight, FAULT at -254, weight 0 ----

fn file(m: &mut Machine, index: usize, value: i64, t: Instant) -> Vec<Action> {
    m.handle(Input::TrackedFile { index, value }, t);
    drain(m)
}

#[test]
fn a_tracked_file_s_number_times_its_weight_moves_the_priority() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.files = vec![
        Track::weighted(-10),
        Track {
            weight: 3,
            reverse: true,
        },
    ];
    let mut m = started(c, t0);
    assert_eq!(m.priority(), Priority(100), "not read yet");
    file(&mut m, 0, 2, t0);
    assert_eq!(m.priority(), Priority(80));
    file(&mut m, 1, -4, t0);
    assert_eq!(m.priority(), Priority(92), "-4 x 3, reversed: +12");
    file(&mut m, 1, 0, t0);
    // Clamped to 253 each, then the sum to 1..=254.
    file(&mut m, 0, -1000, t0);
    assert_eq!(m.priority(), Priority(254));
    assert_eq!(m.state(), State::Backup);
    // -254 or below is a FAULT, as keepalived's file tracking.
    let acts = file(&mut m, 0, 26, t0);
    assert_eq!(m.state(), State::Fault, "{acts:?}");
    assert!(acts.contains(&Action::OwnFault { faulted: true }));
    let acts = file(&mut m, 0, 1, t0);
    assert_eq!(m.state(), State::Backup, "{acts:?}");
    assert_eq!(m.priority(), Priority(90));
}

#[test]
fn a_weight_zero_file_faults_on_non_zero_and_reversed_on_zero() {
    let t0 = Instant::now();
    let mut c = cfg(Version::V2, 100, 100);
    c.files = vec![Track::weighted(0)];
    let mut m = Machine::new(c.clone()).expect("valid");
    // Startup waits for the first reading, as for a weight-0 script.
    m.handle(Input::Startup, t0);
    assert_eq!(m.state(), State::Initialize);
    file(&mut m, 0, 0, t0);
    assert_eq!(m.state(), State::Backup);
    file(&mut m, 0, 1, t0);
    assert_eq!(m.state(), State::Fault);
    assert_eq!(m.priority(), Priority(100), "weight 0 never moves it");
    file(&mut m, 0, 0, t0);
    assert_eq!(m.state(), State::Backup);
    c.files = vec![Track {
        weight: 0,
        reverse: true,
    }];
    let mut m = Machine::new(c).expect("valid");
    m.handle(Input::Startup, t0);
    file(&mut m, 0, 0, t0);
    assert_eq!(m.state(), State::Fault, "reversed: zero is the failure");
    file(&mut m, 0, 5, t0);
    assert_eq!(m.state(), State::Backup);
}
