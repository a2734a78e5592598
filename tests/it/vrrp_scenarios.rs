//! Two- and three-router VRRP scenarios in virtual time (quinn `Pair`
//! style): machines exchange real advert bytes (`Repr::emit_ipv4` ->
//! `decode_ipv4` -> `filter` -> `Input::Advert`) over a simulated link with
//! fixed latency and optional, seeded loss.
//!
//! Must not: sleep, read the clock (one base `Instant` only), or run
//! unbounded: every run has a step limit.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vigil::vrrp::filter::{DropCounters, FilterConfig};
use vigil::vrrp::machine::InitialState;
use vigil::vrrp::packet::{decode_ipv4, Addrs, Auth, Family, V2Repr, V3Repr};
use vigil::vrrp::{
    Action, AdverInt, Centiseconds, Input, InstanceConfig, Machine, Priority, Repr, State, Version,
    Vrid,
};

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
const LATENCY: Duration = Duration::from_millis(1);
const STEP_LIMIT: usize = 200_000;

struct Router {
    m: Machine,
    ip: Ipv4Addr,
    alive: bool,
    holds_vip: bool,
    filter: FilterConfig,
    drops: DropCounters,
    /// When this router last received an advert (for master-down checks).
    last_rx: Option<Instant>,
}

struct Frame {
    at: Instant,
    to: usize,
    bytes: Vec<u8>,
}

struct Net {
    t0: Instant,
    now: Instant,
    routers: Vec<Router>,
    in_flight: Vec<Frame>,
    /// Per-mille loss on each delivery.
    loss: u32,
    rng: u64,
    /// (time, router, new state)
    changes: Vec<(Instant, usize, State)>,
    /// Longest tolerated overlap of two masters: a preempted or duplicate
    /// master yields when the winner's advert arrives, one latency later.
    max_dual: Duration,
    dual_since: Option<Instant>,
    dual_episodes: usize,
    longest_dual: Duration,
}

fn base_cfg(version: Version, prio: u8, interval_cs: u16, ip: Ipv4Addr) -> InstanceConfig {
    InstanceConfig::new(
        version,
        Vrid::new(51).expect("nonzero"),
        Priority(prio),
        Centiseconds(interval_cs),
        IpAddr::V4(ip),
    )
}

fn router_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, 100 + u8::try_from(i).expect("few routers"))
}

impl Net {
    fn new() -> Self {
        let t0 = Instant::now();
        Self {
            t0,
            now: t0,
            routers: Vec::new(),
            in_flight: Vec::new(),
            loss: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            changes: Vec::new(),
            max_dual: LATENCY,
            dual_since: None,
            dual_episodes: 0,
            longest_dual: Duration::ZERO,
        }
    }

    fn at(&self, secs_f: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs_f)
    }

    /// Adds a stopped router `192.168.1.(100 + index)`; `tweak` edits its config.
    fn add(
        &mut self,
        version: Version,
        prio: u8,
        interval_cs: u16,
        tweak: impl FnOnce(&mut InstanceConfig),
    ) -> usize {
        let i = self.routers.len();
        let ip = router_ip(i);
        let mut cfg = base_cfg(version, prio, interval_cs, ip);
        tweak(&mut cfg);
        let filter = FilterConfig {
            vrid: cfg.vrid,
            version,
            family: Family::V4,
            auth: if version == Version::V2 {
                Auth::simple(b"1111").expect("short")
            } else {
                Auth::None
            },
            advert_interval: cfg.advert_interval,
            own_addrs: vec![IpAddr::V4(ip)],
            unicast_peers: vec![],
            vips: vec![IpAddr::V4(VIP)],
        };
        let m = Machine::new(cfg).expect("valid config");
        self.routers.push(Router {
            m,
            ip,
            alive: false,
            holds_vip: false,
            filter,
            drops: DropCounters::default(),
            last_rx: None,
        });
        i
    }

    fn start(&mut self, i: usize) {
        self.routers[i].alive = true;
        self.input(i, Input::Startup);
    }

    fn shutdown(&mut self, i: usize) {
        self.input(i, Input::Shutdown);
        self.routers[i].alive = false;
    }

    /// SIGKILL: no more actions; the VIP stays where it was (as keepalived's).
    fn kill(&mut self, i: usize) {
        self.routers[i].alive = false;
    }

    fn lost(&mut self) -> bool {
        if self.loss == 0 {
            return false;
        }
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 1000) < u64::from(self.loss)
    }

    fn input(&mut self, i: usize, input: Input) {
        let now = self.now;
        self.routers[i].m.handle(input, now);
        while let Some(a) = self.routers[i].m.poll_action() {
            match a {
                Action::SendAdvert { priority } => self.send(i, priority),
                Action::AddVips => self.routers[i].holds_vip = true,
                Action::RemoveVips => self.routers[i].holds_vip = false,
                Action::StateChange { to, .. } => self.changes.push((now, i, to)),
                Action::SendGratuitous { .. } | Action::OwnFault { .. } => {}
            }
        }
    }

    fn send(&mut self, from: usize, priority: Priority) {
        let cfg = self.routers[from].m.config().clone();
        let mut addrs = heapless::Vec::new();
        addrs.push(VIP).expect("capacity");
        let repr = match cfg.version {
            Version::V2 => Repr::V2(V2Repr {
                vrid: cfg.vrid,
                priority,
                adver_int_secs: std::num::NonZeroU8::new(
                    cfg.advert_interval.as_v2_secs().expect("v2"),
                )
                .expect("nonzero"),
                auth: Auth::simple(b"1111").expect("short"),
                addrs,
            }),
            Version::V3 => Repr::V3(V3Repr {
                vrid: cfg.vrid,
                priority,
                max_adver_int: AdverInt::new(cfg.advert_interval.get()).expect("valid"),
                addrs: Addrs::V4(addrs),
            }),
        };
        let mut bytes = vec![0u8; repr.ipv4_buffer_len()];
        repr.emit_ipv4(&mut bytes, self.routers[from].ip, GROUP)
            .expect("emits");
        for to in 0..self.routers.len() {
            if to != from && !self.lost() {
                self.in_flight.push(Frame {
                    at: self.now + LATENCY,
                    to,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let frames = self.in_flight.iter().map(|f| f.at);
        let timers = self
            .routers
            .iter()
            .filter(|r| r.alive)
            .filter_map(|r| r.m.poll_timeout());
        frames.chain(timers).min()
    }

    /// Runs every event up to `until`, checking invariants after each.
    fn run_until(&mut self, until: Instant, mut check: impl FnMut(&Net)) {
        for _ in 0..STEP_LIMIT {
            let Some(t) = self.next_event().filter(|t| *t <= until) else {
                self.now = until;
                return;
            };
            self.now = t;
            let (due, rest): (Vec<Frame>, Vec<Frame>) = std::mem::take(&mut self.in_flight)
                .into_iter()
                .partition(|f| f.at <= t);
            self.in_flight = rest;
            for f in due {
                if !self.routers[f.to].alive {
                    continue;
                }
                let r = &mut self.routers[f.to];
                let decoded = decode_ipv4(&f.bytes);
                if let Some(adv) = r.drops.account(&r.filter, &decoded) {
                    r.last_rx = Some(t);
                    self.input(f.to, Input::Advert(adv));
                }
            }
            for i in 0..self.routers.len() {
                if self.routers[i].alive && self.routers[i].m.poll_timeout().is_some_and(|d| d <= t)
                {
                    self.input(i, Input::Timeout);
                }
            }
            for r in self.routers.iter().filter(|r| r.alive) {
                assert_eq!(
                    r.holds_vip,
                    r.m.state() == State::Master,
                    "VIP follows MASTER"
                );
            }
            self.track_dual();
            check(self);
        }
        panic!("step limit reached");
    }

    /// Records dual-master episodes and fails on one longer than `max_dual`.
    fn track_dual(&mut self) {
        let dual = self.masters().len() > 1;
        match (dual, self.dual_since) {
            (true, None) => {
                self.dual_since = Some(self.now);
                self.dual_episodes += 1;
            }
            (_, Some(since)) => {
                let d = self.now - since;
                self.longest_dual = self.longest_dual.max(d);
                assert!(
                    d <= self.max_dual,
                    "two masters for {d:?} from {:?}: {:?}",
                    since - self.t0,
                    self.masters()
                );
                if !dual {
                    self.dual_since = None;
                }
            }
            (false, None) => {}
        }
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|i| self.routers[*i].alive && self.routers[*i].m.state() == State::Master)
            .collect()
    }

    fn state(&self, i: usize) -> State {
        self.routers[i].m.state()
    }

    /// Time of router `i`'s last change to `to`.
    fn changed_at(&self, i: usize, to: State) -> Option<Instant> {
        self.changes
            .iter()
            .rev()
            .find(|(_, r, s)| *r == i && *s == to)
            .map(|(t, _, _)| *t)
    }
}

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
        net.changed_at(a, State::Master).map(|t| t - net.t0),
        Some(ns(3_609_375_000))
    );
    assert_eq!(net.changed_at(b, State::Master), None);
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
    let ta = net.changed_at(a, State::Master).expect("a became master");
    assert_eq!(ta - net.at(10.0), ns(3_609_375_000));
    // b yields when a's first advert arrives, one link latency later.
    assert_eq!(
        net.changed_at(b, State::Backup).map(|t| t - ta),
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
    assert_eq!(net.state(a), State::Backup);
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
    let ta = net.changed_at(a, State::Master).expect("a preempted") - net.at(10.0);
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
    assert!(!net.routers[a].holds_vip, "VIP removed at once");
    net.run_until(net.at(20.0), one_master);
    assert_eq!(net.masters(), vec![b]);
    // Priority-0 advert arrives after the latency; b waits Skew_Time(99).
    let tb = net.changed_at(b, State::Master).expect("b took over") - t_stop;
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
    let last_rx = net.routers[b].last_rx.expect("b heard a");
    net.run_until(net.at(20.0), |_| {});
    let tb = net.changed_at(b, State::Master).expect("b took over");
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
    let last_rx = net.routers[b].last_rx.expect("b heard a");
    net.run_until(net.at(3.0), |_| {});
    let tb = net.changed_at(b, State::Master).expect("b took over");
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
        net.changed_at(c, State::Master),
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
    let ta = net.changed_at(a, State::Master).expect("a preempted");
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
