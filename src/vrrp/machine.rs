//! The per-instance VRRP state machine, sans-IO (quinn-proto style).
//!
//! Owns: [`InstanceConfig`] (the machine's own parameters, filled by the
//! daemon from `crate::config`), [`Machine`] with `handle(input, now)`,
//! `poll_action()` and `poll_timeout()`, the [`Input`] / [`Action`] /
//! [`State`] / [`Reason`] vocabulary.
//! Must not: read the clock (`now` is an argument), touch sockets,
//! addresses or ARP (it emits actions), spawn, or depend on `crate::config`.
//! Every wakeup re-checks timer expiry and state, so a stale wakeup does
//! nothing (unlike holo-vrrp, whose stale master-down timer could promote).
//!
//! RFC 5798 section 6 (6.1 parameters, 6.2 timers, 6.4.1 Initialize, 6.4.2
//! Backup, 6.4.3 Master), RFC 3768 section 6 for v2 timing, and keepalived
//! semantics for nopreempt, preempt_delay, track_interface weights,
//! garp_master_{delay,repeat,refresh,refresh_repeat} and the FAULT state.
//!
//! Choices (see also `InitialState`):
//! - `preempt_delay` (keepalived: "seconds after startup or seeing a lower
//!   priority master until preemption"): a deadline armed at startup, on
//!   leaving FAULT, and, if unarmed, when a backup first sees a
//!   lower-priority master (a passed deadline is disarmed by an advert from
//!   a master of equal or higher priority, so every new lower-priority
//!   master gets the full delay). Until it passes, lower-priority adverts are
//!   accepted like a higher one's (they reset the master-down timer); after,
//!   they are ignored and the master-down timer takes over (RFC).
//! - Leaving FAULT re-runs Initialize (RFC 5798 6.4.1): BACKUP, or MASTER
//!   for the address owner (priority 255).
//! - Entering FAULT from MASTER with the VRRP interface still up (tracked
//!   interface or sync group) sends a priority-0 advert, as on shutdown, so
//!   the backup takes over after Skew_Time instead of Master_Down_Interval.
//! - `dont_track_primary` (`InstanceConfig::track_primary` false): the
//!   own interface going down is no fault, as in keepalived; a reload that
//!   turns it on or off while the link is down enters or leaves FAULT.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::timers::{Timer, TimerTable};
use super::types::{master_down_interval, skew_time, Centiseconds, Priority, Version, Vrid};

/// Configured initial state (keepalived `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    /// Start as BACKUP and wait Master_Down_Interval (RFC 5798 6.4.1).
    Backup,
    /// A hint, as in keepalived: a non-owner still starts as BACKUP and, on
    /// a silent link, waits the full Master_Down_Interval (a shorter wait
    /// would make a dual master whenever one advert is lost, and a v3
    /// backup does not yet know the master's interval). What the hint buys:
    /// when preempting a lower-priority master, this router takes over
    /// Skew_Time after that master's advert instead of Master_Down_Interval
    /// after it (v2 1 s, priority 100: 0.61 s instead of 3.61 s). Several
    /// preempting backups are still arbitrated by skew, as after a
    /// priority-0 advert (RFC 5798 6.4.2).
    Master,
}

/// keepalived's gratuitous ARP / unsolicited NA settings for a new master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// Delay of the second burst after becoming MASTER; zero: no second
    /// burst (keepalived `garp_master_delay`, default 5 s).
    pub master_delay: Duration,
    /// Messages per burst (`garp_master_repeat`, default 5).
    pub master_repeat: u8,
    /// Period of refresh bursts while MASTER; zero: off
    /// (`garp_master_refresh`, default 0).
    pub master_refresh: Duration,
    /// Messages per refresh burst (`garp_master_refresh_repeat`, default 1).
    pub master_refresh_repeat: u8,
}

impl Default for GarpConfig {
    fn default() -> Self {
        Self {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
        }
    }
}

/// One tracked thing: an interface (keepalived `track_interface`, up or
/// down) or a script (`track_script`, OK or FAIL), addressed by its index
/// in [`InstanceConfig::track`] or [`InstanceConfig::scripts`].
///
/// keepalived's arithmetic, here and nowhere else: with weight 0 the
/// instance is in FAULT while the thing is down (with `reverse`: while it
/// is up). A positive weight is added while up, a negative one added
/// (so |W| subtracted) while down; `reverse` flips the sign of what is
/// added, not when. A script with no result yet adds nothing. The sum is
/// clamped to 1..=254 by [`Machine::priority`]; the owner's (255) never
/// moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    /// Range -254..=254 (scripts: -253..=253).
    pub weight: i16,
    pub reverse: bool,
}

impl Track {
    pub const fn weighted(weight: i16) -> Self {
        Track {
            weight,
            reverse: false,
        }
    }

    /// What it adds to the priority; `up`: `None` before a first result.
    pub fn adjust(&self, up: Option<bool>) -> i32 {
        let w = i32::from(self.weight);
        let sign = if self.reverse { -1 } else { 1 };
        match up {
            Some(up) if w != 0 && up == (w > 0) => w * sign,
            _ => 0,
        }
    }

    /// Whether it puts the instance in FAULT.
    pub fn faults(&self, up: Option<bool>) -> bool {
        self.weight == 0 && up == Some(self.reverse)
    }

    /// A `track_file`'s number times the weight (negated with `reverse`),
    /// kept to -254..=253 as keepalived keeps it; -254 is a FAULT. With
    /// weight 0: -254 (FAULT) for a non-zero number, with `reverse` for
    /// zero, else 0. `None` before the file was read: 0.
    fn file_status(&self, value: Option<i64>) -> i64 {
        let Some(v) = value else { return 0 };
        if self.weight == 0 {
            return if (v != 0) != self.reverse { -254 } else { 0 };
        }
        let sign = if self.reverse { -1 } else { 1 };
        v.saturating_mul(i64::from(self.weight) * sign)
            .clamp(-254, 253)
    }

    /// What a tracked file adds to the priority (0 while it faults).
    pub fn file_adjust(&self, value: Option<i64>) -> i32 {
        match self.file_status(value) {
            -254 => 0,
            s => s as i32,
        }
    }

    /// Whether a tracked file's number puts the instance in FAULT.
    pub fn file_faults(&self, value: Option<i64>) -> bool {
        self.file_status(value) == -254
    }
}

/// Parameters of one VRRP instance. The daemon fills this from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    pub version: Version,
    pub vrid: Vrid,
    /// Base priority, 1..=255 (255 = address owner).
    pub priority: Priority,
    /// Our advertisement interval. v2: whole seconds (100..=25500 cs in
    /// steps of 100); v3: 1..=4095 cs.
    pub advert_interval: Centiseconds,
    /// Our primary address on the interface, compared with a peer's as an
    /// unsigned integer to break priority ties (RFC 5798 6.4.3).
    pub primary_ip: IpAddr,
    pub initial_state: InitialState,
    /// `false` is keepalived `nopreempt` (requires initial BACKUP).
    pub preempt: bool,
    /// keepalived `preempt_delay`, 0..=1000 s (requires initial BACKUP).
    pub preempt_delay: Duration,
    /// RFC 5798 Accept_Mode; the machine only carries it for the edge.
    pub accept: bool,
    pub garp: GarpConfig,
    pub track: Vec<Track>,
    /// Tracked scripts (`track_script`), by position.
    pub scripts: Vec<Track>,
    /// Tracked files (`track_file`), by position: see
    /// [`Track::file_adjust`].
    pub files: Vec<Track>,
    /// `false` is keepalived `dont_track_primary`: the instance's own
    /// interface going down is no fault (its adverts just fail to go).
    pub track_primary: bool,
}

impl InstanceConfig {
    /// RFC defaults: initial BACKUP, preempt on, no delay, keepalived GARP
    /// defaults, nothing tracked.
    pub fn new(
        version: Version,
        vrid: Vrid,
        priority: Priority,
        advert_interval: Centiseconds,
        primary_ip: IpAddr,
    ) -> Self {
        Self {
            version,
            vrid,
            priority,
            advert_interval,
            primary_ip,
            initial_state: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: false,
            garp: GarpConfig::default(),
            track: Vec::new(),
            scripts: Vec::new(),
            files: Vec::new(),
            track_primary: true,
        }
    }

    /// Cross-field checks; `Machine::new` runs them.
    pub fn validate(&self) -> Result<(), InstanceConfigError> {
        if self.priority.is_resign() {
            return Err(InstanceConfigError::ZeroPriority);
        }
        let interval_ok = match self.version {
            Version::V2 => self.advert_interval.as_v2_secs().is_some(),
            Version::V3 => (1..=0x0fff).contains(&self.advert_interval.get()),
        };
        if !interval_ok {
            return Err(InstanceConfigError::AdvertInterval {
                version: self.version,
                interval: self.advert_interval,
            });
        }
        if !self.preempt && self.initial_state == InitialState::Master {
            return Err(InstanceConfigError::NoPreemptWithInitialMaster);
        }
        if !self.preempt_delay.is_zero() {
            if self.initial_state == InitialState::Master {
                return Err(InstanceConfigError::PreemptDelayWithInitialMaster);
            }
            if self.preempt_delay > MAX_PREEMPT_DELAY {
                return Err(InstanceConfigError::PreemptDelayTooLong {
                    delay: self.preempt_delay,
                });
            }
        }
        let all = self.track.iter().chain(&self.scripts).chain(&self.files);
        for (index, t) in all.enumerate() {
            if !(-254..=254).contains(&t.weight) {
                return Err(InstanceConfigError::TrackWeight {
                    index,
                    weight: t.weight,
                });
            }
        }
        Ok(())
    }
}

/// keepalived's upper bound for `preempt_delay`.
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);

/// An [`InstanceConfig`] the machine refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InstanceConfigError {
    #[error("priority 0 is reserved for a resigning master")]
    ZeroPriority,
    #[error("advert interval {interval} is out of range for vrrp {version:?}")]
    AdvertInterval {
        version: Version,
        interval: Centiseconds,
    },
    #[error("nopreempt requires initial state BACKUP")]
    NoPreemptWithInitialMaster,
    #[error("preempt_delay requires initial state BACKUP")]
    PreemptDelayWithInitialMaster,
    #[error("preempt_delay {delay:?} exceeds 1000 s")]
    PreemptDelayTooLong { delay: Duration },
    #[error("tracked item #{index}: weight {weight} outside -254..=254")]
    TrackWeight { index: usize, weight: i16 },
    /// A reconfiguration may not change version, VRID or primary address.
    #[error("version, VRID or primary address changed")]
    Identity,
}

/// A received advertisement that passed `vrrp::filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub src: IpAddr,
    pub priority: Priority,
    /// Advertised interval (v2 seconds carried as centiseconds).
    pub interval: Centiseconds,
}

/// Commands from a sync group (`vrrp::group`) to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupCommand {
    /// Another member is (true) or no member is any longer (false) in FAULT.
    Fault(bool),
    /// Another member became MASTER: follow if BACKUP.
    Master,
    /// Another member left MASTER for BACKUP: follow if MASTER.
    Backup,
}

/// Everything the machine reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Leave Initialize (RFC 5798 6.4.1).
    Startup,
    /// Leave Initialize as the MASTER this router was a moment ago: the
    /// process that ran it handed over without resigning (`vigil restart`),
    /// inside the backups' Master_Down_Interval. MASTER at once (VIPs
    /// kept, gratuitous ARP), unless faulted; its first advert follows
    /// `last_advert` (the previous process's, or the advert bridge's) by
    /// one interval, or goes at once if that is past. A peer that took
    /// over meanwhile is met by the usual advert arbitration.
    Resume {
        last_advert: Instant,
    },
    Advert(Advert),
    /// A wakeup; spurious or stale ones are harmless.
    Timeout,
    InterfaceUp,
    InterfaceDown,
    /// `index` into `InstanceConfig::track`; unknown indexes are ignored.
    TrackedInterface {
        index: usize,
        up: bool,
    },
    /// A tracked script's state (`index` into `InstanceConfig::scripts`);
    /// unknown indexes are ignored.
    TrackedScript {
        index: usize,
        ok: bool,
    },
    /// A tracked file's number (`index` into `InstanceConfig::files`);
    /// unknown indexes are ignored.
    TrackedFile {
        index: usize,
        value: i64,
    },
    Group(GroupCommand),
    /// Stop: back to Initialize (RFC 5798 6.4.2 / 6.4.3 Shutdown event).
    Shutdown,
}

/// Protocol state. Initialize doubles as "stopped".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Initialize,
    Backup,
    Master,
    Fault,
}

/// Why a state changed, for notifications and sync groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup as a non-owner, or as the owner (RFC 5798 6.4.1).
    Startup,
    /// Master_Down_Timer fired (includes takeover after a priority-0 advert).
    MasterDown,
    /// A higher priority (or equal priority, higher address) advert.
    HigherPriorityAdvert,
    InterfaceDown,
    InterfaceUp,
    TrackedInterfaceDown,
    TrackedInterfaceUp,
    /// A tracked script's state changed.
    TrackedScript,
    /// Forced by a sync group.
    SyncGroup,
    Shutdown,
    /// A committed config made this backup the address owner.
    Reconfigured,
    /// Still MASTER across a hitless restart ([`Input::Resume`]): no change
    /// the network sees.
    Resumed,
}

/// What the edge must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send one advert with this priority to the configured multicast group
    /// or unicast peers (the edge knows which), with our interval and VIPs.
    SendAdvert { priority: Priority },
    /// Install the virtual addresses (and virtual MAC if used).
    AddVips,
    /// Remove the virtual addresses.
    RemoveVips,
    /// Send `repeat` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) per VIP.
    SendGratuitous { repeat: u8 },
    StateChange {
        from: State,
        to: State,
        reason: Reason,
    },
    /// The instance's own fault condition (its interface, or a tracked
    /// interface without weight) started or stopped, whatever the state.
    /// Sync groups count these; others may ignore them.
    OwnFault { faulted: bool },
}

/// One VRRP instance.
#[derive(Debug, Clone)]
pub struct Machine {
    cfg: InstanceConfig,
    state: State,
    timers: TimerTable,
    actions: VecDeque<Action>,
    /// RFC 5798 Master_Adver_Interval: ours, or learned from the master (v3).
    master_adver_interval: Centiseconds,
    iface_up: bool,
    track_up: Vec<bool>,
    /// Per tracked script: `None` until its first result.
    script_ok: Vec<Option<bool>>,
    /// Tracked files' numbers (`None`: not read yet).
    file_value: Vec<Option<i64>>,
    /// Startup waits for the first result of every weight-0 script (as
    /// keepalived keeps such an instance in INIT).
    startup_pending: bool,
    group_fault: bool,
    /// Lower-priority masters are not pre-empted before this instant.
    preempt_deadline: Option<Instant>,
    /// When a lower-priority advert last made this master re-announce.
    lower_prio_answered: Option<Instant>,
}

impl Machine {
    pub fn new(cfg: InstanceConfig) -> Result<Self, InstanceConfigError> {
        cfg.validate()?;
        Ok(Self {
            master_adver_interval: cfg.advert_interval,
            track_up: vec![true; cfg.track.len()],
            script_ok: vec![None; cfg.scripts.len()],
            file_value: vec![None; cfg.files.len()],
            startup_pending: false,
            cfg,
            state: State::Initialize,
            timers: TimerTable::default(),
            actions: VecDeque::new(),
            iface_up: true,
            group_fault: false,
            preempt_deadline: None,
            lower_prio_answered: None,
        })
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Master_Adver_Interval in force (learned from the master in v3).
    pub fn master_adver_interval(&self) -> Centiseconds {
        self.master_adver_interval
    }

    /// Base priority adjusted by tracked-interface weights, clamped to
    /// 1..=254; the owner stays 255.
    pub fn priority(&self) -> Priority {
        let base = self.cfg.priority;
        if base.is_owner() {
            return base;
        }
        let files: i32 = self.files().map(|(t, v)| t.file_adjust(v)).sum();
        let p =
            i32::from(base.get()) + self.tracked().map(|(t, up)| t.adjust(up)).sum::<i32>() + files;
        Priority(p.clamp(1, 254) as u8)
    }

    /// Every tracked interface then script, with its state.
    fn tracked(&self) -> impl Iterator<Item = (&Track, Option<bool>)> {
        let ifs = self
            .cfg
            .track
            .iter()
            .zip(self.track_up.iter().map(|u| Some(*u)));
        ifs.chain(self.cfg.scripts.iter().zip(self.script_ok.iter().copied()))
    }

    /// Every tracked file with its last number.
    fn files(&self) -> impl Iterator<Item = (&Track, Option<i64>)> {
        self.cfg.files.iter().zip(self.file_value.iter().copied())
    }

    /// A weight-0 script has no result yet, or a weight-0 file was not
    /// read yet: startup waits for it.
    fn awaiting_scripts(&self) -> bool {
        let scripts = (self.cfg.scripts.iter().zip(&self.script_ok))
            .any(|(t, ok)| t.weight == 0 && ok.is_none());
        scripts || self.files().any(|(t, v)| t.weight == 0 && v.is_none())
    }

    /// Tracked files' numbers, by position (`None`: not read yet).
    pub fn file_values(&self) -> &[Option<i64>] {
        &self.file_value
    }

    /// Tracked scripts' states, by position (`None`: no result yet).
    pub fn script_states(&self) -> &[Option<bool>] {
        &self.script_ok
    }

    /// Skew_Time for our current priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        skew_time(
            self.cfg.version,
            self.priority(),
            self.master_adver_interval,
        )
    }

    /// Master_Down_Interval for our current priority.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.priority(),
            self.master_adver_interval,
        )
    }

    /// When the edge must next call `handle(Input::Timeout, ..)`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The next action, in the order the edge must perform them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::Startup => self.on_startup(now, None),
            Input::Resume { last_advert } => self.on_startup(now, Some(last_advert)),
            Input::Advert(a) => self.on_advert(a, now),
            Input::Timeout => self.on_timeout(now),
            Input::InterfaceUp => {
                let before = self.own_fault();
                self.iface_up = true;
                self.maybe_leave_fault(now, Reason::InterfaceUp);
                self.report_own_fault(before);
            }
            Input::InterfaceDown => {
                let before = self.own_fault();
                self.iface_up = false;
                self.maybe_enter_fault(Reason::InterfaceDown);
                self.report_own_fault(before);
            }
            Input::TrackedInterface { index, up } => {
                let before = self.own_fault();
                self.on_track(index, up, now);
                self.report_own_fault(before);
            }
            Input::TrackedScript { index, ok } => {
                let before = self.own_fault();
                self.on_script(index, ok, now);
                self.report_own_fault(before);
            }
            Input::TrackedFile { index, value } => {
                let before = self.own_fault();
                self.on_file(index, value, now);
                self.report_own_fault(before);
            }
            Input::Group(cmd) => self.on_group(cmd, now),
            Input::Shutdown => self.on_shutdown(),
        }
    }

    /// A committed config for this running instance (`vigil reload`),
    /// applied in place so that a reload never makes a master resign.
    /// Identity must not change (version, VRID, primary address: the edge
    /// restarts the instance for those and says so); `Err` leaves the
    /// machine as it was.
    ///
    /// - MASTER stays MASTER and advertises its new priority and interval
    ///   at once (a backup that now outranks it takes over, RFC 5798 6.4.2).
    /// - BACKUP re-arms Master_Down_Timer for the new priority from `now`
    ///   (never sooner than a fresh wait: a reload cannot cause a takeover
    ///   by itself), and becomes MASTER if it is now the address owner.
    /// - FAULT / INITIALIZE only take the new parameters.
    /// - Tracked interfaces: their up/down state is kept by position; the
    ///   edge re-feeds the states of a changed list.
    /// - preempt_delay: re-armed from `now` when it changed.
    pub fn reconfigure(
        &mut self,
        cfg: InstanceConfig,
        now: Instant,
    ) -> Result<(), InstanceConfigError> {
        cfg.validate()?;
        if (cfg.version, cfg.vrid, cfg.primary_ip)
            != (self.cfg.version, self.cfg.vrid, self.cfg.primary_ip)
        {
            return Err(InstanceConfigError::Identity);
        }
        let delay_changed = cfg.preempt_delay != self.cfg.preempt_delay;
        let (primary_was_down, own_before) = (self.primary_down(), self.own_fault());
        self.track_up.resize(cfg.track.len(), true);
        self.script_ok.resize(cfg.scripts.len(), None);
        self.file_value.resize(cfg.files.len(), None);
        self.cfg = cfg;
        if delay_changed {
            self.preempt_deadline =
                (!self.cfg.preempt_delay.is_zero()).then(|| now + self.cfg.preempt_delay);
        }
        match self.state {
            State::Master => {
                self.master_adver_interval = self.cfg.advert_interval;
                self.actions.push_back(Action::SendAdvert {
                    priority: self.priority(),
                });
                self.timers
                    .set(Timer::Advert, now + self.cfg.advert_interval.as_duration());
                self.timers.stop(Timer::GarpRefresh);
                if !self.cfg.garp.master_refresh.is_zero() {
                    self.timers
                        .set(Timer::GarpRefresh, now + self.cfg.garp.master_refresh);
                }
            }
            State::Backup if self.priority().is_owner() => {
                self.become_master(now, Reason::Reconfigured)
            }
            State::Backup => {
                if self.cfg.version == Version::V2 {
                    self.master_adver_interval = self.cfg.advert_interval;
                }
                self.timers
                    .set(Timer::MasterDown, now + self.master_down_interval());
            }
            State::Fault | State::Initialize => {}
        }
        // `dont_track_primary` given or taken away while the interface is
        // down: as if the link had just gone down, or come back.
        if primary_was_down != self.primary_down() {
            self.report_own_fault(own_before);
            match self.primary_down() {
                true => self.maybe_enter_fault(Reason::InterfaceDown),
                false => self.maybe_leave_fault(now, Reason::Reconfigured),
            }
        }
        Ok(())
    }

    /// Fault of this instance's own (not its sync group's).
    pub fn own_fault(&self) -> bool {
        self.primary_down()
            || self.tracked().any(|(t, up)| t.faults(up))
            || self.files().any(|(t, v)| t.file_faults(v))
    }

    fn faulted(&self) -> bool {
        self.own_fault() || self.group_fault
    }

    fn report_own_fault(&mut self, before: bool) {
        let now = self.own_fault();
        if now != before {
            self.actions.push_back(Action::OwnFault { faulted: now });
        }
    }

    /// The own interface is down and that counts (no `dont_track_primary`).
    fn primary_down(&self) -> bool {
        !self.iface_up && self.cfg.track_primary
    }

    fn fault_reason(&self) -> Reason {
        if self.primary_down() {
            Reason::InterfaceDown
        } else if self.group_fault {
            Reason::SyncGroup
        } else if (self.cfg.track.iter().zip(&self.track_up)).any(|(t, up)| t.faults(Some(*up))) {
            Reason::TrackedInterfaceDown
        } else {
            Reason::TrackedScript
        }
    }

    fn change(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.actions
            .push_back(Action::StateChange { from, to, reason });
    }

    /// RFC 5798 6.4.1; `resumed`: the last advert of a resumed MASTER,
    /// see [`Input::Resume`].
    fn on_startup(&mut self, now: Instant, resumed: Option<Instant>) {
        if self.state != State::Initialize {
            return;
        }
        let resume = resumed.is_some();
        // A resumed MASTER does not wait: its scripts' first results
        // follow within an interval, and a failure moves it then.
        self.startup_pending = !resume && self.awaiting_scripts();
        if self.startup_pending {
            return;
        }
        if self.faulted() {
            self.change(State::Fault, self.fault_reason());
            if resume {
                // The VIPs the previous process left must not stay on a
                // box that cannot be MASTER.
                self.actions.push_back(Action::RemoveVips);
            }
            return;
        }
        if let Some(last) = resumed {
            let due = last + self.cfg.advert_interval.as_duration();
            self.enter_master(now, Reason::Resumed, due);
        } else {
            self.initialize(now, Reason::Startup);
        }
    }

    /// RFC 5798 6.4.1: the owner becomes MASTER at once, others BACKUP with
    /// Master_Down_Timer = Master_Down_Interval.
    fn initialize(&mut self, now: Instant, reason: Reason) {
        self.master_adver_interval = self.cfg.advert_interval;
        self.preempt_deadline =
            (!self.cfg.preempt_delay.is_zero()).then(|| now + self.cfg.preempt_delay);
        if self.priority().is_owner() {
            self.become_master(now, reason);
        } else {
            self.become_backup(now, reason);
        }
    }

    /// Sends an advert and the first GARP burst, arms Adver_Timer and the
    /// GARP timers (RFC 5798 6.4.1 / 6.4.2 "transition to Master").
    fn become_master(&mut self, now: Instant, reason: Reason) {
        self.enter_master(now, reason, now);
    }

    /// [`Self::become_master`] with the first advert at `advert_due` (a
    /// resumed MASTER's follows its last by an interval): sent now if due.
    fn enter_master(&mut self, now: Instant, reason: Reason, advert_due: Instant) {
        self.timers.stop_all();
        self.preempt_deadline = None;
        self.change(State::Master, reason);
        self.actions.push_back(Action::AddVips);
        let next_advert = if advert_due <= now {
            self.actions.push_back(Action::SendAdvert {
                priority: self.priority(),
            });
            now + self.cfg.advert_interval.as_duration()
        } else {
            advert_due
        };
        self.actions.push_back(Action::SendGratuitous {
            repeat: self.cfg.garp.master_repeat,
        });
        self.timers.set(Timer::Advert, next_advert);
        let garp = self.cfg.garp;
        if !garp.master_delay.is_zero() {
            self.timers.set(Timer::GarpDelay, now + garp.master_delay);
        }
        if !garp.master_refresh.is_zero() {
            self.timers
                .set(Timer::GarpRefresh, now + garp.master_refresh);
        }
    }

    /// Arms Master_Down_Timer; removes the VIPs when leaving MASTER.
    fn become_backup(&mut self, now: Instant, reason: Reason) {
        let was_master = self.state == State::Master;
        self.timers.stop_all();
        self.change(State::Backup, reason);
        if was_master {
            self.actions.push_back(Action::RemoveVips);
        }
        self.timers
            .set(Timer::MasterDown, now + self.master_down_interval());
    }

    fn preempt_allowed(&self, now: Instant) -> bool {
        self.cfg.preempt && self.preempt_deadline.is_none_or(|d| now >= d)
    }

    fn on_advert(&mut self, a: Advert, now: Instant) {
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup => self.backup_advert(a, now),
            State::Master => self.master_advert(a, now),
        }
    }

    /// RFC 5798 6.4.2, ADVERTISEMENT received in Backup.
    fn backup_advert(&mut self, a: Advert, now: Instant) {
        let local = self.priority();
        if a.priority.is_resign() {
            // The master resigns: take over after Skew_Time unless another
            // backup's (shorter-skew) advert arrives first.
            self.timers.set(Timer::MasterDown, now + self.skew_time());
            return;
        }
        if !self.cfg.preempt_delay.is_zero() {
            if a.priority >= local {
                // A legitimate master: a passed deadline is spent, so the
                // next lower-priority master gets the full delay again.
                if self.preempt_deadline.is_some_and(|d| d <= now) {
                    self.preempt_deadline = None;
                }
            } else if self.preempt_deadline.is_none() {
                // keepalived: "seconds after ... seeing a lower priority master".
                self.preempt_deadline = Some(now + self.cfg.preempt_delay);
            }
        }
        if a.priority >= local || !self.preempt_allowed(now) {
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = a.interval;
            }
            self.timers
                .set(Timer::MasterDown, now + self.master_down_interval());
        } else if self.cfg.initial_state == InitialState::Master {
            // Lower-priority master, preemption allowed: see InitialState.
            let soon = now + self.skew_time();
            if self.timers.get(Timer::MasterDown).is_none_or(|t| soon < t) {
                self.timers.set(Timer::MasterDown, soon);
            }
        }
        // Else (RFC): discard; Master_Down_Timer keeps running.
    }

    /// RFC 5798 6.4.3, ADVERTISEMENT received in Master.
    fn master_advert(&mut self, a: Advert, now: Instant) {
        let local = self.priority();
        if a.priority.is_resign() {
            self.actions
                .push_back(Action::SendAdvert { priority: local });
            self.timers
                .set(Timer::Advert, now + self.cfg.advert_interval.as_duration());
            return;
        }
        let wins =
            a.priority > local || (a.priority == local && ip_greater(a.src, self.cfg.primary_ip));
        if wins {
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = a.interval;
            }
            self.become_backup(now, Reason::HigherPriorityAdvert);
        } else {
            self.answer_lower_priority(now);
        }
    }

    /// Another router is MASTER too, with a lower priority (a split brain
    /// healing: a link came back). The RFC has us discard its advert; as
    /// keepalived does by default, this master also advertises at once (so
    /// the other steps down now, not at our next advert) and sends a
    /// gratuitous ARP / NA burst, so that hosts which learned the other
    /// router's MAC for the VIPs come back. At most once per advert
    /// interval, so a misconfigured peer cannot make us flood.
    fn answer_lower_priority(&mut self, now: Instant) {
        let interval = self.cfg.advert_interval.as_duration();
        if self
            .lower_prio_answered
            .is_some_and(|t| now.saturating_duration_since(t) < interval)
        {
            return;
        }
        self.lower_prio_answered = Some(now);
        self.actions.push_back(Action::SendAdvert {
            priority: self.priority(),
        });
        self.actions.push_back(Action::SendGratuitous {
            repeat: self.cfg.garp.master_repeat,
        });
    }

    /// Every expired timer, each re-checked against the current state.
    fn on_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(Timer::MasterDown, now) && self.state == State::Backup {
            self.become_master(now, Reason::MasterDown);
        }
        if self.timers.take_expired(Timer::Advert, now) && self.state == State::Master {
            self.actions.push_back(Action::SendAdvert {
                priority: self.priority(),
            });
            self.timers
                .set(Timer::Advert, now + self.cfg.advert_interval.as_duration());
        }
        if self.timers.take_expired(Timer::GarpDelay, now) && self.state == State::Master {
            self.actions.push_back(Action::SendGratuitous {
                repeat: self.cfg.garp.master_repeat,
            });
        }
        if self.timers.take_expired(Timer::GarpRefresh, now) && self.state == State::Master {
            let garp = self.cfg.garp;
            self.actions.push_back(Action::SendGratuitous {
                repeat: garp.master_refresh_repeat,
            });
            self.timers
                .set(Timer::GarpRefresh, now + garp.master_refresh);
        }
    }

    fn on_track(&mut self, index: usize, up: bool, now: Instant) {
        let Some(slot) = self.track_up.get_mut(index) else {
            return;
        };
        if *slot == up {
            return;
        }
        *slot = up;
        if up {
            self.maybe_leave_fault(now, Reason::TrackedInterfaceUp);
        } else {
            self.maybe_enter_fault(Reason::TrackedInterfaceDown);
        }
        // A weight change takes effect in the next advert (Master) or the
        // next Master_Down_Timer reset (Backup), as in keepalived.
    }

    fn on_script(&mut self, index: usize, ok: bool, now: Instant) {
        let Some(slot) = self.script_ok.get_mut(index) else {
            return;
        };
        if *slot == Some(ok) {
            return;
        }
        *slot = Some(ok);
        self.on_tracked_change(now);
    }

    fn on_file(&mut self, index: usize, value: i64, now: Instant) {
        let Some(slot) = self.file_value.get_mut(index) else {
            return;
        };
        if *slot == Some(value) {
            return;
        }
        *slot = Some(value);
        self.on_tracked_change(now);
    }

    /// A tracked script's or file's state changed: startup, FAULT or a
    /// new priority follow.
    fn on_tracked_change(&mut self, now: Instant) {
        if self.startup_pending {
            if !self.awaiting_scripts() {
                self.on_startup(now, None);
            }
            return;
        }
        if self.faulted() {
            self.maybe_enter_fault(Reason::TrackedScript);
        } else {
            self.maybe_leave_fault(now, Reason::TrackedScript);
        }
        // A weight change takes effect as an interface's does (below).
    }

    fn on_group(&mut self, cmd: GroupCommand, now: Instant) {
        match cmd {
            GroupCommand::Fault(true) => {
                self.group_fault = true;
                self.maybe_enter_fault(Reason::SyncGroup);
            }
            GroupCommand::Fault(false) => {
                self.group_fault = false;
                self.maybe_leave_fault(now, Reason::SyncGroup);
            }
            GroupCommand::Master if self.state == State::Backup => {
                self.become_master(now, Reason::SyncGroup)
            }
            GroupCommand::Backup if self.state == State::Master => {
                self.become_backup(now, Reason::SyncGroup)
            }
            GroupCommand::Master | GroupCommand::Backup => {}
        }
    }

    fn maybe_enter_fault(&mut self, reason: Reason) {
        if !matches!(self.state, State::Backup | State::Master) || !self.faulted() {
            return;
        }
        let was_master = self.state == State::Master;
        self.timers.stop_all();
        self.change(State::Fault, reason);
        if was_master {
            // The resign advert first: the backup's Skew_Time starts when it
            // arrives, so it must not wait for the netlink round trips.
            if self.iface_up {
                self.actions.push_back(Action::SendAdvert {
                    priority: Priority::RESIGN,
                });
            }
            self.actions.push_back(Action::RemoveVips);
        }
    }

    fn maybe_leave_fault(&mut self, now: Instant, reason: Reason) {
        if self.state == State::Fault && !self.faulted() {
            self.initialize(now, reason);
        }
    }

    /// RFC 5798 6.4.2 / 6.4.3 Shutdown: a master removes its VIPs and sends
    /// a priority-0 advert; every state goes to Initialize.
    fn on_shutdown(&mut self) {
        self.startup_pending = false;
        if self.state == State::Initialize {
            return;
        }
        let was_master = self.state == State::Master;
        self.timers.stop_all();
        self.preempt_deadline = None;
        self.change(State::Initialize, Reason::Shutdown);
        if was_master {
            // Resign first, so the backup's Skew_Time starts at once.
            self.actions.push_back(Action::SendAdvert {
                priority: Priority::RESIGN,
            });
            self.actions.push_back(Action::RemoveVips);
        }
    }
}

/// RFC 5798 6.4.3: "the primary IP address of the sender is greater than
/// the local primary IP address", as unsigned integers. Mixed families
/// never compare greater.
pub fn ip_greater(theirs: IpAddr, ours: IpAddr) -> bool {
    match (theirs, ours) {
        (IpAddr::V4(t), IpAddr::V4(o)) => u32::from(t) > u32::from(o),
        (IpAddr::V6(t), IpAddr::V6(o)) => u128::from(t) > u128::from(o),
        _ => false,
    }
}
