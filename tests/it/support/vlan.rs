//! One virtual LAN of VRRP routers in virtual time (quinn `Pair` style),
//! shared by the scenario, sync-group and hostile-packet tests.
//!
//! Owns: [`Lan`] (the clock as data, frames in flight with per-link
//! latency and seeded loss, invariant checks) and [`Router`] (one box: a
//! `vigil::vrrp::group::Machine` of one or more members, each with the
//! receive filter and drop counters the daemon gives it). Routers exchange
//! real advert bytes (`Repr::emit_ipv4` -> `decode_ipv4` -> demux by VRID
//! -> `filter` -> `Input::Advert`), and are driven through the same
//! `group::Machine` the instance task runs, so the sync-group order and
//! cascade cap under test are the shipped ones.
//! Must not: sleep, read the clock (one base `Instant` only), or run
//! unbounded: every run has a step limit.
//!
//! Invariants checked after every step: a member holds its VIP exactly
//! while MASTER, and no VRID has two masters for longer than `max_dual`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vigil::vrrp::filter::{classify, DropCounters, FilterConfig};
use vigil::vrrp::group;
use vigil::vrrp::packet::{decode_ipv4, Addrs, Auth, Family, V2Repr, V3Repr};
use vigil::vrrp::{
    Action, AdverInt, Centiseconds, Input, InstanceConfig, Machine, Priority, Repr, State, Version,
    Vrid,
};

/// The VRRP multicast group (RFC 5798 5.1.1.2).
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The one VIP every instance advertises and installs.
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 200);
/// The v2 simple-auth key every instance uses.
pub const KEY: &[u8] = b"1111";
/// Latency of a link unless [`Lan::set_latency`] says otherwise.
pub const LATENCY: Duration = Duration::from_millis(1);
const STEP_LIMIT: usize = 200_000;

/// Router `i`'s address, `192.168.1.(100 + i)`.
pub fn router_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, 100 + u8::try_from(i).expect("few routers"))
}

/// An instance config for `vrid` (its primary address is set when added
/// to a router).
pub fn cfg(version: Version, vrid: u8, prio: u8, interval_cs: u16) -> InstanceConfig {
    InstanceConfig::new(
        version,
        Vrid::new(vrid).expect("nonzero"),
        Priority(prio),
        Centiseconds(interval_cs),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    )
}

/// The advert an instance sends: our key (v2), our VIP.
pub fn advert(version: Version, vrid: Vrid, priority: Priority, interval: Centiseconds) -> Repr {
    let mut addrs = heapless::Vec::new();
    addrs.push(VIP).expect("capacity");
    match version {
        Version::V2 => Repr::V2(V2Repr {
            vrid,
            priority,
            adver_int_secs: std::num::NonZeroU8::new(interval.as_v2_secs().expect("v2"))
                .expect("nonzero"),
            auth: Auth::simple(KEY).expect("short"),
            addrs,
        }),
        Version::V3 => Repr::V3(V3Repr {
            vrid,
            priority,
            max_adver_int: AdverInt::new(interval.get()).expect("valid"),
            addrs: Addrs::V4(addrs),
        }),
    }
}

/// `repr` as an IPv4 packet from `src` to the multicast group.
pub fn emit(repr: &Repr, src: Ipv4Addr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.ipv4_buffer_len()];
    repr.emit_ipv4(&mut bytes, src, GROUP).expect("emits");
    bytes
}

/// What the daemon keeps beside one member's machine.
pub struct Member {
    pub filter: FilterConfig,
    pub holds_vip: bool,
    /// When this member last accepted an advert.
    pub last_rx: Option<Instant>,
}

/// One box on the LAN.
pub struct Router {
    pub group: group::Machine,
    pub ip: Ipv4Addr,
    pub alive: bool,
    pub members: Vec<Member>,
    /// The receive socket's counters: every datagram no member took,
    /// by reason, counted once (`filter::classify`, as the daemon does).
    pub drops: DropCounters,
    /// `group::Action::Group`: states all members agreed on, in order.
    pub agreed: Vec<(Instant, State)>,
}

impl Router {
    pub fn machine(&self, member: usize) -> &Machine {
        self.group.member(member).expect("member runs")
    }

    pub fn state(&self, member: usize) -> State {
        self.machine(member).state()
    }

    pub fn states(&self) -> Vec<State> {
        (0..self.members.len()).map(|m| self.state(m)).collect()
    }

    fn is_master(&self, vrid: Vrid) -> bool {
        self.group
            .running()
            .any(|(_, m)| m.config().vrid == vrid && m.state() == State::Master)
    }
}

/// One state change of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub at: Instant,
    pub router: usize,
    pub member: usize,
    pub to: State,
}

struct Frame {
    at: Instant,
    to: usize,
    bytes: Vec<u8>,
}

pub struct Lan {
    pub t0: Instant,
    pub now: Instant,
    pub routers: Vec<Router>,
    in_flight: Vec<Frame>,
    latency: HashMap<(usize, usize), Duration>,
    /// Per-mille loss on each delivery.
    pub loss: u32,
    rng: u64,
    pub changes: Vec<Change>,
    /// Longest tolerated overlap of two masters of one VRID: a preempted
    /// or duplicate master yields when the winner's advert arrives, one
    /// latency later.
    pub max_dual: Duration,
    pub dual_since: Option<Instant>,
    pub dual_episodes: usize,
    pub longest_dual: Duration,
}

impl Default for Lan {
    fn default() -> Self {
        Self::new()
    }
}

impl Lan {
    pub fn new() -> Self {
        let t0 = Instant::now();
        Self {
            t0,
            now: t0,
            routers: Vec::new(),
            in_flight: Vec::new(),
            latency: HashMap::new(),
            loss: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            changes: Vec::new(),
            max_dual: LATENCY,
            dual_since: None,
            dual_episodes: 0,
            longest_dual: Duration::ZERO,
        }
    }

    pub fn at(&self, secs_f: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs_f)
    }

    /// Seeds the loss generator (xorshift64; nonzero).
    #[allow(dead_code)] // the driver's knob; today's tests keep the default seed
    pub fn seed(&mut self, seed: u64) {
        assert_ne!(seed, 0, "xorshift needs a nonzero seed");
        self.rng = seed;
    }

    /// The one-way latency between routers `a` and `b`, both ways.
    #[allow(dead_code)] // the driver's knob; today's tests keep LATENCY
    pub fn set_latency(&mut self, a: usize, b: usize, d: Duration) {
        self.latency.insert((a.min(b), a.max(b)), d);
    }

    fn latency(&self, a: usize, b: usize) -> Duration {
        self.latency
            .get(&(a.min(b), a.max(b)))
            .copied()
            .unwrap_or(LATENCY)
    }

    /// Adds a stopped router `192.168.1.(100 + index)` running `members`
    /// as one sync group (one member: a lone instance).
    pub fn router(&mut self, members: Vec<InstanceConfig>) -> usize {
        let i = self.routers.len();
        let ip = router_ip(i);
        let (machines, members) = members
            .into_iter()
            .map(|mut cfg| {
                cfg.primary_ip = IpAddr::V4(ip);
                let member = Member {
                    filter: filter_for(&cfg),
                    holds_vip: false,
                    last_rx: None,
                };
                (Some(Machine::new(cfg).expect("valid config")), member)
            })
            .unzip();
        self.routers.push(Router {
            group: group::Machine::new(machines),
            ip,
            alive: false,
            members,
            drops: DropCounters::default(),
            agreed: Vec::new(),
        });
        i
    }

    /// Adds a stopped one-instance router for VRID 51; `tweak` edits its
    /// config.
    pub fn add(
        &mut self,
        version: Version,
        prio: u8,
        interval_cs: u16,
        tweak: impl FnOnce(&mut InstanceConfig),
    ) -> usize {
        let mut c = cfg(version, 51, prio, interval_cs);
        tweak(&mut c);
        self.router(vec![c])
    }

    /// Startup (RFC 5798 6.4.1) of every member, in order, as the instance
    /// task does.
    pub fn start(&mut self, r: usize) {
        self.routers[r].alive = true;
        for m in 0..self.routers[r].members.len() {
            self.input(r, m, Input::Startup);
        }
    }

    pub fn shutdown(&mut self, r: usize) {
        for m in 0..self.routers[r].members.len() {
            self.input(r, m, Input::Shutdown);
        }
        self.routers[r].alive = false;
    }

    /// SIGKILL: no more actions; the VIPs stay where they were (as
    /// keepalived's).
    pub fn kill(&mut self, r: usize) {
        self.routers[r].alive = false;
    }

    /// Feeds `input` to member `m` of router `r` now, and carries out what
    /// its group hands out.
    pub fn input(&mut self, r: usize, m: usize, input: Input) {
        self.routers[r].group.handle(m, input, self.now);
        self.carry_out(r);
    }

    /// A wakeup of router `r` now, due or not.
    pub fn wake(&mut self, r: usize) {
        self.routers[r].group.handle_timeout(self.now);
        self.carry_out(r);
    }

    /// Puts `bytes` (an IPv4 packet) on router `r`'s link, arriving `after`
    /// from now.
    pub fn inject(&mut self, r: usize, bytes: Vec<u8>, after: Duration) {
        self.in_flight.push(Frame {
            at: self.now + after,
            to: r,
            bytes,
        });
    }

    fn carry_out(&mut self, r: usize) {
        let now = self.now;
        while let Some(a) = self.routers[r].group.poll_action() {
            match a {
                group::Action::Member { member, action } => match action {
                    Action::SendAdvert { priority } => self.send(r, member, priority),
                    Action::AddVips => self.routers[r].members[member].holds_vip = true,
                    Action::RemoveVips => self.routers[r].members[member].holds_vip = false,
                    Action::StateChange { to, .. } => self.changes.push(Change {
                        at: now,
                        router: r,
                        member,
                        to,
                    }),
                    Action::SendGratuitous { .. } | Action::OwnFault { .. } => {}
                },
                group::Action::Group { state, .. } => self.routers[r].agreed.push((now, state)),
                group::Action::Status { .. } => {}
            }
        }
    }

    fn lost(&mut self) -> bool {
        if self.loss == 0 {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 1000) < u64::from(self.loss)
    }

    fn send(&mut self, from: usize, member: usize, priority: Priority) {
        let router = &self.routers[from];
        let cfg = router.machine(member).config();
        let repr = advert(cfg.version, cfg.vrid, priority, cfg.advert_interval);
        let bytes = emit(&repr, router.ip);
        for to in 0..self.routers.len() {
            if to != from && !self.lost() {
                self.in_flight.push(Frame {
                    at: self.now + self.latency(from, to),
                    to,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    /// What router `r`'s receive socket does with one packet: classified
    /// once against its members (`filter::classify`), counted there when
    /// dropped, handed to the one member that accepts it otherwise.
    fn receive(&mut self, r: usize, bytes: &[u8]) {
        let now = self.now;
        let decoded = decode_ipv4(bytes);
        let router = &mut self.routers[r];
        let listeners = router
            .members
            .iter()
            .map(|m| (m.filter.vrid, Some(&m.filter)));
        let verdict = classify(&decoded, listeners);
        router.drops.count(&verdict);
        if let Ok(d) = verdict {
            router.members[d.listener].last_rx = Some(now);
            self.input(r, d.listener, Input::Advert(d.accepted.advert));
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let frames = self.in_flight.iter().map(|f| f.at);
        let timers = self
            .routers
            .iter()
            .filter(|r| r.alive)
            .filter_map(|r| r.group.poll_timeout());
        frames.chain(timers).min()
    }

    /// Runs every event up to `until`, checking the invariants and `check`
    /// after each.
    pub fn run_until(&mut self, until: Instant, mut check: impl FnMut(&Lan)) {
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
                if self.routers[f.to].alive {
                    self.receive(f.to, &f.bytes);
                }
            }
            for r in 0..self.routers.len() {
                let router = &self.routers[r];
                if router.alive && router.group.poll_timeout().is_some_and(|d| d <= t) {
                    self.wake(r);
                }
            }
            self.check_vips();
            self.track_dual();
            check(self);
        }
        panic!("step limit reached");
    }

    fn check_vips(&self) {
        for r in self.routers.iter().filter(|r| r.alive) {
            for (m, member) in r.members.iter().enumerate() {
                assert_eq!(
                    member.holds_vip,
                    r.state(m) == State::Master,
                    "VIP follows MASTER"
                );
            }
        }
    }

    /// Routers with a MASTER member of `vrid`, alive.
    pub fn masters_of(&self, vrid: Vrid) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|i| self.routers[*i].alive && self.routers[*i].is_master(vrid))
            .collect()
    }

    /// Routers with a MASTER member, alive.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|i| {
                let r = &self.routers[*i];
                r.alive && r.group.running().any(|(_, m)| m.state() == State::Master)
            })
            .collect()
    }

    /// VRIDs with more than one master now.
    fn dual_vrids(&self) -> Vec<Vrid> {
        let mut vrids: Vec<Vrid> = self
            .routers
            .iter()
            .flat_map(|r| r.members.iter().map(|m| m.filter.vrid))
            .collect();
        vrids.sort_by_key(|v| v.get());
        vrids.dedup();
        vrids.retain(|v| self.masters_of(*v).len() > 1);
        vrids
    }

    /// Records dual-master episodes and fails on one longer than `max_dual`.
    fn track_dual(&mut self) {
        let dual = !self.dual_vrids().is_empty();
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

    /// Time of member `m` of router `r`'s last change to `to`.
    pub fn changed_at(&self, r: usize, m: usize, to: State) -> Option<Instant> {
        self.changes
            .iter()
            .rev()
            .find(|c| c.router == r && c.member == m && c.to == to)
            .map(|c| c.at)
    }
}

/// What peers of `cfg` must send: our VRID, version and interval, the v2
/// key, our VIP; our own address marks our own packets.
fn filter_for(cfg: &InstanceConfig) -> FilterConfig {
    FilterConfig {
        vrid: cfg.vrid,
        version: cfg.version,
        family: Family::V4,
        auth: if cfg.version == Version::V2 {
            Auth::simple(KEY).expect("short")
        } else {
            Auth::None
        },
        advert_interval: cfg.advert_interval,
        own_addrs: vec![cfg.primary_ip],
        unicast_peers: vec![],
        vips: vec![IpAddr::V4(VIP)],
        any_ttl: false,
        owner: cfg.priority.is_owner(),
        strict: false,
    }
}
