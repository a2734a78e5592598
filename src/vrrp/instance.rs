//! Instance tasks: one task per sync group (an instance outside any group
//! is a group of one), owning its members' `Machine`s, `FilterConfig`s and
//! `DropCounters`. No locks: the task is the only owner.
//!
//! Owns: [`GroupInput`] (everything a task merges: decoded packets from
//! the receive tasks, link events, shutdown), [`GroupSpec`] / [`MemberSpec`]
//! (what the daemon resolved before spawning), and [`run`], the loop that
//! feeds inputs and wakeups to the machines and executes their actions in
//! order: adverts (raw socket), VIPs (rtnetlink), gratuitous ARP / NA
//! bursts (paced in a child task, aborted when leaving MASTER), state
//! changes (status snapshot, notifier, log line), sync-group commands.
//! Must not: decide protocol behaviour (the machine does), block (netlink
//! calls are awaited, sockets are non-blocking), or hold locks.

use crate::daemon::supervisor::Heartbeat;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::filter::{DropCounters, FilterConfig};
use super::from_config::{from_config, EdgeConfig};
use super::group::SyncGroup;
use super::machine::{Action, Input, Machine, Reason, State};
use super::packet::{Addrs, DecodeError, Family, Received, Repr, V2Repr, V3Repr};
use super::socket::{Gratuitous, TxSocket};
use super::types::{AdverInt, Version};
use crate::config::model::{GlobalDefs, Notify, Vip, VrrpInstance};
use crate::control::{InstanceStatus, Snapshot};
use crate::net::Net;
use crate::notify::{self, Event, EventKind, Notifier};

/// What an instance task reacts to.
#[derive(Debug)]
pub enum GroupInput {
    /// A packet from the receive task of the member's interface.
    Packet {
        member: usize,
        rx: Box<Result<Received, DecodeError>>,
    },
    /// A link changed (or was re-read after an overrun).
    Link { index: u32, up: bool },
    /// Stop: masters resign (priority 0) and remove their VIPs; the sender
    /// is answered when done.
    Shutdown(oneshot::Sender<()>),
    /// Stop for a hitless restart (`vigil restart`): masters send one last
    /// advert (re-arming the backups' Master_Down_Timer) and keep their
    /// VIPs; nothing is notified. Answered with each running member's name
    /// and state; the task is gone after.
    Handoff(oneshot::Sender<Vec<(String, State)>>),
    /// A committed config for this task's members, applied in place (see
    /// [`Reconfig`]).
    Reconfigure(Box<Reconfig>),
}

/// A config commit for a running task: the same members, in order, with
/// their new settings. Each member applies what it can in place (priority,
/// advert interval, preemption, VIPs, tracking, scripts, garp, auth); the
/// answer has one result per member: `Err` says what needs a restart
/// instead (another interface, VRID, version, family, source or multicast
/// address), and that member keeps its running settings.
#[derive(Debug)]
pub struct Reconfig {
    pub members: Vec<(VrrpInstance, MemberLinks)>,
    pub group: Option<(String, Notify, bool)>,
    pub global: GlobalDefs,
    pub done: oneshot::Sender<Vec<Result<(), String>>>,
}

/// One instance, as resolved by the daemon.
pub struct MemberSpec {
    pub inst: VrrpInstance,
    pub links: MemberLinks,
    pub status: watch::Sender<Snapshot>,
    /// Start with [`Input::Resume`]: this instance was MASTER in the
    /// process that handed over to this one a moment ago.
    pub resume: bool,
}

/// The links an instance's config names, resolved to indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLinks {
    pub ifindex: u32,
    pub mac: Option<[u8; 6]>,
    /// Per `track_interface`; `None`: no such link (counted as down).
    pub track_ifindex: Vec<Option<u32>>,
    /// Per VIP then per excluded VIP: the link it goes on (its `dev`, or
    /// the instance's interface).
    pub vip_ifindex: Vec<u32>,
}

/// A task's members and, for a real sync group, its name and scripts.
pub struct GroupSpec {
    pub group: Option<(String, Notify, bool)>,
    pub members: Vec<MemberSpec>,
    pub global: GlobalDefs,
}

/// How long a member waits for its interface's primary address (an IPv6
/// link-local is usable only after DAD).
const PRIMARY_WAIT: Duration = Duration::from_secs(15);
const PRIMARY_POLL: Duration = Duration::from_millis(100);
/// Bound on sync-group command cascades per input.
const MAX_CASCADE: usize = 64;

struct Member {
    name: String,
    machine: Machine,
    filter: FilterConfig,
    counters: DropCounters,
    edge: EdgeConfig,
    ifindex: u32,
    track_ifindex: Vec<Option<u32>>,
    vip_ifindex: Vec<u32>,
    tx: TxSocket,
    advert: Repr,
    grat: Option<Arc<Gratuitous>>,
    garp_task: Option<JoinHandle<()>>,
    status: watch::Sender<Snapshot>,
    master: Option<IpAddr>,
}

enum Slot {
    Running(Box<Member>),
    Failed,
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

fn notify_state(s: State) -> notify::State {
    match s {
        State::Initialize => notify::State::Stop,
        State::Backup => notify::State::Backup,
        State::Master => notify::State::Master,
        State::Fault => notify::State::Fault,
    }
}

/// A status for a member that never started.
pub fn error_status(inst: &VrrpInstance, global: &GlobalDefs, error: String) -> InstanceStatus {
    InstanceStatus {
        name: inst.name.clone(),
        state: "ERROR".into(),
        interface: inst.interface.to_string(),
        vrid: inst.virtual_router_id,
        version: inst.effective_version(global).number(),
        family: if inst.is_ipv6() { 6 } else { 4 },
        priority: inst.priority,
        effective_priority: inst.priority,
        advert_interval_ms: inst.advert_int.0,
        error: Some(error),
        ..Default::default()
    }
}

/// The advert template of an instance (priority set per send).
fn advert_template(
    cfg: &super::machine::InstanceConfig,
    vips: &[Vip],
    auth: super::packet::Auth,
) -> Option<Repr> {
    match cfg.version {
        Version::V2 => {
            let mut addrs = heapless::Vec::new();
            for v in vips {
                if let IpAddr::V4(a) = v.addr {
                    addrs.push(a).ok()?;
                }
            }
            Some(Repr::V2(V2Repr {
                vrid: cfg.vrid,
                priority: cfg.priority,
                adver_int_secs: NonZeroU8::new(cfg.advert_interval.as_v2_secs()?)?,
                auth,
                addrs,
            }))
        }
        Version::V3 => {
            let addrs = match vips.first().map(|v| v.addr) {
                Some(IpAddr::V6(_)) => {
                    let mut a = heapless::Vec::new();
                    for v in vips {
                        if let IpAddr::V6(x) = v.addr {
                            a.push(x).ok()?;
                        }
                    }
                    Addrs::V6(a)
                }
                _ => {
                    let mut a = heapless::Vec::new();
                    for v in vips {
                        if let IpAddr::V4(x) = v.addr {
                            a.push(x).ok()?;
                        }
                    }
                    Addrs::V4(a)
                }
            };
            Some(Repr::V3(V3Repr {
                vrid: cfg.vrid,
                priority: cfg.priority,
                max_adver_int: AdverInt::new(cfg.advert_interval.get())?,
                addrs,
            }))
        }
    }
}

impl Member {
    fn snapshot(&self, since: Instant) -> Snapshot {
        let m = &self.machine;
        let cfg = m.config();
        let state = m.state();
        Snapshot {
            status: InstanceStatus {
                name: self.name.clone(),
                state: state_name(state).into(),
                interface: self.edge.interface.to_string(),
                vrid: cfg.vrid.get(),
                version: cfg.version.number(),
                family: match self.edge.family {
                    Family::V4 => 4,
                    Family::V6 => 6,
                },
                priority: cfg.priority.get(),
                effective_priority: m.priority().get(),
                master: match (state, self.master) {
                    (State::Master, _) => "self".into(),
                    (_, Some(a)) => a.to_string(),
                    _ => String::new(),
                },
                advert_interval_ms: u32::from(cfg.advert_interval.get()) * 10,
                in_state_ms: 0,
                drops: self
                    .counters
                    .iter()
                    .filter(|(_, c)| *c > 0)
                    .map(|(n, c)| (n.to_owned(), c))
                    .collect(),
                error: None,
            },
            since,
        }
    }

    /// Publishes the snapshot, keeping the time of the last state change.
    fn publish(&self, changed: bool) {
        let since = if changed {
            Instant::now()
        } else {
            self.status.borrow().since
        };
        let snap = self.snapshot(since);
        self.status.send_replace(snap);
    }

    fn all_vips(&self) -> impl Iterator<Item = (&Vip, u32)> {
        self.edge
            .vips
            .iter()
            .chain(self.edge.vips_excluded.iter())
            .zip(self.vip_ifindex.iter().copied())
    }

    fn send_advert(&mut self, priority: super::types::Priority) {
        match &mut self.advert {
            Repr::V2(r) => r.priority = priority,
            Repr::V3(r) => r.priority = priority,
        }
        let dsts: Vec<IpAddr> = if self.edge.unicast_peers.is_empty() {
            vec![self.edge.mcast_group]
        } else {
            self.edge.unicast_peers.clone()
        };
        for d in dsts {
            if let Err(e) = self.tx.send(&self.advert, d) {
                tracing::warn!(instance = %self.name, dst = %d, error = %e, "advert not sent");
            }
        }
    }

    async fn add_vips(&self, net: &Net) {
        for (v, idx) in self.all_vips() {
            if let Err(e) = net.add_vip(idx, v).await {
                tracing::error!(instance = %self.name, vip = %v.addr, error = %e, "cannot add vip");
            }
        }
    }

    async fn remove_vips(&mut self, net: &Net) {
        if let Some(t) = self.garp_task.take() {
            t.abort();
        }
        for (v, idx) in self.all_vips() {
            if let Err(e) = net.del_vip(idx, v).await {
                tracing::error!(instance = %self.name, vip = %v.addr, error = %e, "cannot remove vip");
            }
        }
    }

    /// Applies a committed config in place; `Err` says why it needs a
    /// restart instead, and then nothing changed.
    async fn reconfigure(
        &mut self,
        inst: &VrrpInstance,
        links: &MemberLinks,
        global: &GlobalDefs,
        net: &Net,
        now: Instant,
    ) -> Result<(), String> {
        if links.ifindex != self.ifindex {
            return Err("its interface changed".into());
        }
        let primary = self.machine.config().primary_ip;
        let mapped = from_config(inst, global, primary).map_err(|e| e.to_string())?;
        let e = &mapped.edge;
        if (e.family, e.src, e.mcast_group)
            != (self.edge.family, self.edge.src, self.edge.mcast_group)
        {
            return Err("its family, source or multicast address changed".into());
        }
        let advert = advert_template(&mapped.machine, &e.vips, mapped.filter.auth)
            .ok_or_else(|| "cannot build the advert".to_owned())?;
        self.machine
            .reconfigure(mapped.machine, now)
            .map_err(|e| e.to_string())?;
        let old: Vec<(Vip, u32)> = self.all_vips().map(|(v, i)| (v.clone(), i)).collect();
        self.filter = mapped.filter;
        self.edge = mapped.edge;
        self.advert = advert;
        self.vip_ifindex = links.vip_ifindex.clone();
        self.track_ifindex = links.track_ifindex.clone();
        let new: Vec<(Vip, u32)> = self.all_vips().map(|(v, i)| (v.clone(), i)).collect();
        if self.machine.state() == State::Master && old != new {
            for (v, idx) in old.iter().filter(|x| !new.contains(x)) {
                if let Err(e) = net.del_vip(*idx, v).await {
                    tracing::error!(instance = %self.name, vip = %v.addr, error = %e, "cannot remove vip");
                }
            }
            for (v, idx) in new.iter().filter(|x| !old.contains(x)) {
                if let Err(e) = net.add_vip(*idx, v).await {
                    tracing::error!(instance = %self.name, vip = %v.addr, error = %e, "cannot add vip");
                }
            }
            self.gratuitous(self.machine.config().garp.master_repeat);
        }
        tracing::info!(instance = %self.name, "config applied in place");
        Ok(())
    }

    fn gratuitous(&mut self, repeat: u8) {
        let Some(g) = self.grat.clone() else {
            return;
        };
        let vips: Vec<(IpAddr, u32)> = self.all_vips().map(|(v, i)| (v.addr, i)).collect();
        let (gi, ni) = (self.edge.garp_interval, self.edge.gna_interval);
        let name = self.name.clone();
        if let Some(t) = self.garp_task.take() {
            t.abort();
        }
        // keepalived: each burst sends `repeat` rounds over the VIPs;
        // garp_interval / gna_interval pace consecutive packets of a family.
        self.garp_task = Some(tokio::spawn(async move {
            let mut first = true;
            for _ in 0..repeat {
                for (vip, idx) in &vips {
                    let gap = if vip.is_ipv4() { gi } else { ni };
                    if !first && !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                    first = false;
                    if let Err(e) = g.send(*vip, *idx) {
                        tracing::warn!(instance = %name, vip = %vip, error = %e, "gratuitous arp/na not sent");
                    }
                }
            }
        }));
    }
}

/// Waits for the member's source address and builds its parts.
async fn setup(
    spec: &MemberSpec,
    global: &GlobalDefs,
    net: &Net,
    rx: &mut mpsc::Receiver<GroupInput>,
) -> Result<Member, String> {
    let inst = &spec.inst;
    let vip_addrs: Vec<IpAddr> = inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .map(|v| v.addr)
        .collect();
    let deadline = Instant::now() + PRIMARY_WAIT;
    let primary = loop {
        let found = if inst.is_ipv6() {
            net.link_local_v6(spec.links.ifindex)
                .await
                .map(|a| a.map(IpAddr::V6))
        } else {
            net.primary_v4(spec.links.ifindex, &vip_addrs)
                .await
                .map(|a| a.map(IpAddr::V4))
        };
        match found {
            Ok(Some(a)) => break a,
            Ok(None) if Instant::now() < deadline => {}
            Ok(None) => {
                return Err(format!(
                    "no {} address on {} after {:?}",
                    if inst.is_ipv6() {
                        "ipv6 link-local"
                    } else {
                        "primary ipv4"
                    },
                    inst.interface,
                    PRIMARY_WAIT
                ))
            }
            Err(e) => return Err(format!("address lookup on {}: {e}", inst.interface)),
        }
        tokio::time::sleep(PRIMARY_POLL).await;
        // Stay responsive to shutdown while waiting.
        match rx.try_recv() {
            Ok(GroupInput::Shutdown(ack)) => {
                let _ = ack.send(());
                return Err("shut down during startup".into());
            }
            Ok(GroupInput::Handoff(ack)) => {
                let _ = ack.send(Vec::new());
                return Err("handed over during startup".into());
            }
            _ => {}
        }
    };
    let mapped = from_config(inst, global, primary).map_err(|e| e.to_string())?;
    let machine = Machine::new(mapped.machine).map_err(|e| e.to_string())?;
    let tx = TxSocket::open(inst.interface.as_str(), spec.links.ifindex, mapped.edge.src)
        .map_err(|e| format!("advert socket on {}: {e}", inst.interface))?;
    let advert = advert_template(machine.config(), &mapped.edge.vips, mapped.filter.auth)
        .ok_or_else(|| "cannot build the advert".to_owned())?;
    let v4 = vip_addrs.iter().any(IpAddr::is_ipv4);
    let ll = if vip_addrs.iter().any(IpAddr::is_ipv6) {
        match primary {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => net.link_local_v6(spec.links.ifindex).await.ok().flatten(),
        }
    } else {
        None
    };
    let grat = match spec.links.mac {
        Some(mac) => {
            match Gratuitous::open(inst.interface.as_str(), spec.links.ifindex, mac, v4, ll) {
                Ok(g) => Some(Arc::new(g)),
                Err(e) => {
                    tracing::warn!(instance = %inst.name, error = %e, "no gratuitous arp/na socket");
                    None
                }
            }
        }
        None => None,
    };
    tracing::info!(
        instance = %inst.name,
        interface = %inst.interface,
        vrid = inst.virtual_router_id,
        src = %mapped.edge.src,
        "instance ready"
    );
    Ok(Member {
        name: inst.name.clone(),
        machine,
        filter: mapped.filter,
        counters: DropCounters::default(),
        edge: mapped.edge,
        ifindex: spec.links.ifindex,
        track_ifindex: spec.links.track_ifindex.clone(),
        vip_ifindex: spec.links.vip_ifindex.clone(),
        tx,
        advert,
        grat,
        garp_task: None,
        status: spec.status.clone(),
        master: None,
    })
}

struct Task {
    slots: Vec<Slot>,
    sync: SyncGroup,
    group: Option<(String, Notify, bool)>,
    group_state: Option<State>,
    net: Net,
    notifier: Notifier,
}

impl Task {
    fn live(&mut self) -> impl Iterator<Item = (usize, &mut Member)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Running(m) => Some((i, m.as_mut())),
                Slot::Failed => None,
            })
    }

    fn next_wakeup(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Running(m) => m.machine.poll_timeout(),
                Slot::Failed => None,
            })
            .min()
    }

    fn member(&mut self, i: usize) -> Option<&mut Member> {
        match self.slots.get_mut(i) {
            Some(Slot::Running(m)) => Some(m.as_mut()),
            _ => None,
        }
    }

    /// Feeds `input` to member `i`, then executes every resulting action,
    /// delivering sync-group commands as further inputs.
    async fn input(&mut self, i: usize, input: Input, now: Instant) {
        self.cascade(i, Some(input), now).await;
    }

    /// [`Task::input`], or with `None` only the actions member `i` already
    /// has pending.
    async fn cascade(&mut self, i: usize, first: Option<Input>, now: Instant) {
        let mut queue = VecDeque::from([(i, first)]);
        let mut rounds = 0;
        while let Some((i, input)) = queue.pop_front() {
            rounds += 1;
            if rounds > MAX_CASCADE {
                tracing::error!("sync group command cascade exceeded {MAX_CASCADE}; stopped");
                break;
            }
            let Some(m) = self.member(i) else { continue };
            if let Some(input) = input {
                m.machine.handle(input, now);
            }
            let mut changed = false;
            while let Some(a) = self.member(i).and_then(|m| m.machine.poll_action()) {
                for (o, cmd) in self.sync.on_action(i, &a) {
                    queue.push_back((o, Some(Input::Group(cmd))));
                }
                changed |= matches!(a, Action::StateChange { .. });
                self.execute(i, a).await;
            }
            if let Some(m) = self.member(i) {
                m.publish(changed);
            }
        }
    }

    async fn execute(&mut self, i: usize, a: Action) {
        let net = self.net.clone();
        let notifier = self.notifier.clone();
        let Some(m) = self.member(i) else { return };
        match a {
            Action::SendAdvert { priority } => m.send_advert(priority),
            Action::AddVips => m.add_vips(&net).await,
            Action::RemoveVips => m.remove_vips(&net).await,
            Action::SendGratuitous { repeat } => m.gratuitous(repeat),
            Action::StateChange { from, to, reason } => {
                if to == State::Master {
                    m.master = None;
                }
                tracing::info!(
                    instance = %m.name,
                    from = state_name(from),
                    to = state_name(to),
                    ?reason,
                    priority = m.machine.priority().get(),
                    "vrrp state change"
                );
                // A resumed MASTER changed nothing the world sees: no
                // scripts, no mail (the last ones said MASTER already).
                if reason != Reason::Resumed {
                    notifier.notify(Event {
                        kind: EventKind::Instance,
                        name: m.name.clone(),
                        state: notify_state(to),
                        priority: m.machine.priority().get(),
                        scripts: m.edge.notify.clone(),
                        smtp_alert: m.edge.smtp_alert,
                    });
                }
                self.group_change(reason);
            }
            Action::OwnFault { .. } => {}
        }
    }

    /// A sync group notifies when all its running members agree on a new
    /// state.
    fn group_change(&mut self, reason: Reason) {
        let Some((name, scripts, smtp)) = self.group.clone() else {
            return;
        };
        let mut states = self.slots.iter().filter_map(|s| match s {
            Slot::Running(m) => Some((m.machine.state(), m.machine.priority().get())),
            Slot::Failed => None,
        });
        let Some((first, prio)) = states.next() else {
            return;
        };
        if states.any(|(s, _)| s != first) || self.group_state == Some(first) {
            return;
        }
        self.group_state = Some(first);
        if reason == Reason::Resumed {
            return;
        }
        tracing::info!(group = %name, state = state_name(first), "sync group state change");
        self.notifier.notify(Event {
            kind: EventKind::Group,
            name,
            state: notify_state(first),
            priority: prio,
            scripts,
            smtp_alert: smtp,
        });
    }

    async fn packet(&mut self, i: usize, rx: &Result<Received, DecodeError>, now: Instant) {
        let Some(m) = self.member(i) else { return };
        let before = m.counters.total();
        let advert = m.counters.account(&m.filter, rx);
        if m.counters.total() != before {
            if let Err(e) = rx {
                tracing::debug!(instance = %m.name, error = %e, "packet dropped");
            }
        }
        match advert {
            Some(a) => {
                self.input(i, Input::Advert(a), now).await;
                if let Some(m) = self.member(i) {
                    if m.machine.state() == State::Backup && !a.priority.is_resign() {
                        m.master = Some(a.src);
                    }
                    m.publish(false);
                }
            }
            None => m.publish(false),
        }
    }

    async fn link(&mut self, index: u32, up: bool, now: Instant) {
        let mut inputs = Vec::new();
        for (i, m) in self.live() {
            if m.ifindex == index {
                inputs.push((
                    i,
                    if up {
                        Input::InterfaceUp
                    } else {
                        Input::InterfaceDown
                    },
                ));
            }
            for (t, idx) in m.track_ifindex.iter().enumerate() {
                if *idx == Some(index) {
                    inputs.push((i, Input::TrackedInterface { index: t, up }));
                }
            }
        }
        for (i, input) in inputs {
            self.input(i, input, now).await;
        }
    }

    /// A config commit: each member in place; returns what needs a restart.
    async fn reconfigure(
        &mut self,
        members: &[(VrrpInstance, MemberLinks)],
        group: Option<(String, Notify, bool)>,
        global: &GlobalDefs,
        now: Instant,
    ) -> Vec<Result<(), String>> {
        if members.len() != self.slots.len() {
            return vec![Err("its sync group's members changed".to_owned()); members.len()];
        }
        let net = self.net.clone();
        let mut results = Vec::with_capacity(members.len());
        for (i, (inst, links)) in members.iter().enumerate() {
            let applied = match self.member(i) {
                Some(m) => m.reconfigure(inst, links, global, &net, now).await,
                None => Err("it did not start".into()),
            };
            if let Err(e) = &applied {
                tracing::warn!(instance = %inst.name, "config not applied in place: {e}; restart vigil to apply it");
            }
            results.push(applied);
            self.cascade(i, None, now).await;
        }
        self.group = group;
        // Tracked interfaces may have changed: feed their current states.
        let links = self.net.links().await.unwrap_or_default();
        for (i, input) in link_inputs(self, &links, true) {
            self.input(i, input, now).await;
        }
        results
    }

    /// See [`GroupInput::Handoff`].
    fn handoff(&mut self) -> Vec<(String, State)> {
        let mut states = Vec::new();
        for (_, m) in self.live() {
            if let Some(t) = m.garp_task.take() {
                t.abort();
            }
            let state = m.machine.state();
            if state == State::Master {
                m.send_advert(m.machine.priority());
            }
            states.push((m.name.clone(), state));
        }
        states
    }

    async fn shutdown(&mut self) {
        let now = Instant::now();
        let n = self.slots.len();
        for i in 0..n {
            self.input(i, Input::Shutdown, now).await;
        }
        for (_, m) in self.live() {
            if let Some(t) = m.garp_task.take() {
                t.abort();
            }
        }
    }
}

/// Link-state inputs for every running member: its interface when down,
/// and each tracked interface when down (or, with `all`, also when up:
/// after a commit changed the tracked list).
fn link_inputs(task: &mut Task, links: &[crate::net::Link], all: bool) -> Vec<(usize, Input)> {
    let is_up = |idx: Option<u32>| {
        idx.and_then(|i| links.iter().find(|l| l.index == i))
            .is_some_and(|l| l.is_up())
    };
    let mut inputs = Vec::new();
    for (i, m) in task.live() {
        if !is_up(Some(m.ifindex)) {
            inputs.push((i, Input::InterfaceDown));
        }
        for (t, idx) in m.track_ifindex.iter().enumerate() {
            let up = is_up(*idx);
            if all || !up {
                inputs.push((i, Input::TrackedInterface { index: t, up }));
            }
        }
    }
    inputs
}

/// The instance task. Returns after a shutdown, or when every input
/// sender is gone. Checks in with `hb` on every turn of its loop (each
/// timer, packet or message) and on an idle tick: a BACKUP may sleep for
/// long between timers.
pub async fn run(
    spec: GroupSpec,
    mut rx: mpsc::Receiver<GroupInput>,
    net: Net,
    notifier: Notifier,
    hb: Heartbeat,
) {
    let mut slots = Vec::with_capacity(spec.members.len());
    for ms in &spec.members {
        match setup(ms, &spec.global, &net, &mut rx).await {
            Ok(m) => slots.push(Slot::Running(Box::new(m))),
            Err(e) => {
                tracing::error!(instance = %ms.inst.name, error = %e, "instance not started");
                ms.status.send_replace(Snapshot {
                    status: error_status(&ms.inst, &spec.global, e),
                    since: Instant::now(),
                });
                slots.push(Slot::Failed);
            }
        }
    }
    let mut task = Task {
        sync: SyncGroup::new(slots.len()),
        slots,
        group: spec.group,
        group_state: None,
        net: net.clone(),
        notifier,
    };

    let resume: Vec<bool> = spec.members.iter().map(|m| m.resume).collect();
    // Initial link states, then Startup (RFC 5798 6.4.1) or Resume.
    let links = net.links().await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read links at start: every link taken as down");
        Vec::new()
    });
    let now = Instant::now();
    let initial = link_inputs(&mut task, &links, false);
    for (i, input) in initial {
        task.input(i, input, now).await;
    }
    for (i, resume) in resume.into_iter().enumerate() {
        let input = if resume {
            Input::Resume
        } else {
            Input::Startup
        };
        task.input(i, input, now).await;
    }

    let mut idle = hb.ticker();
    loop {
        hb.check_in().await;
        let wake = task.next_wakeup();
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(GroupInput::Packet { member, rx }) => {
                    task.packet(member, &rx, Instant::now()).await;
                }
                Some(GroupInput::Link { index, up }) => {
                    task.link(index, up, Instant::now()).await;
                }
                Some(GroupInput::Shutdown(ack)) => {
                    task.shutdown().await;
                    let _ = ack.send(());
                    return;
                }
                Some(GroupInput::Handoff(ack)) => {
                    let _ = ack.send(task.handoff());
                    return;
                }
                Some(GroupInput::Reconfigure(r)) => {
                    let Reconfig { members, group, global, done } = *r;
                    let problems = task.reconfigure(&members, group, &global, Instant::now()).await;
                    let _ = done.send(problems);
                }
                None => {
                    task.shutdown().await;
                    return;
                }
            },
            () = sleep => {
                let now = Instant::now();
                for i in 0..task.slots.len() {
                    task.input(i, Input::Timeout, now).await;
                }
            }
            _ = idle.tick() => {}
        }
    }
}
