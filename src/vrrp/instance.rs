//! Instance tasks: one task per sync group (an instance outside any group
//! is a group of one). The task owns the group's sans-IO core
//! (`vrrp::group::Machine`, which owns the members' machines) and each
//! member's I/O edge (`vrrp::member::Member`). No locks: the task is the
//! only owner.
//!
//! Owns: [`GroupInput`] (everything a task merges: decoded packets from
//! the receive tasks, link events, shutdown, handoff, reconfiguration),
//! [`GroupSpec`] / [`MemberSpec`] / [`MemberLinks`] (what the daemon
//! resolved before spawning), [`Reconfig`], and [`run`], the loop that
//! feeds inputs and wakeups to the core and executes what it polls, in
//! order: adverts (raw socket), VIPs (rtnetlink), gratuitous ARP / NA
//! bursts (paced in a child task, aborted when leaving MASTER), state
//! changes (notifier, log line), status snapshots, group notifications;
//! and, from the ARP-theft watches (`vrrp::arpwatch`, guarded while a
//! member is MASTER), each theft's count, warning, re-assertion and mail.
//! Must not: decide protocol or sync-group behaviour (the core does),
//! block (netlink calls are awaited, sockets are non-blocking), or hold
//! locks.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use super::arpwatch::Stolen;
use super::filter::FilterConfig;
use super::group;
use super::machine::{Action, Advert, Input, Reason, State, Track};
use super::member::{notify_state, setup, setup_late, state_name, Member};
use crate::backoff::Backoff;
use crate::config::model::{GlobalDefs, Notify, VrrpInstance};
use crate::control::Snapshot;
use crate::daemon::bridge::Takeover;
use crate::daemon::handoff;
use crate::daemon::supervisor::Heartbeat;
use crate::logfields::Chain;
use crate::net::Net;
use crate::notify::{Event, EventKind, Notifier};
use crate::track::Table;

pub use super::member::{error_status, starting_status, ReconfigError, SetupError};

/// Reports of ARP theft waiting for an instance task.
const THEFT_QUEUE: usize = 16;

/// What an instance task reacts to.
#[derive(Debug)]
pub enum GroupInput {
    /// An advert the receive task of the member's interface judged, and
    /// the member's filter accepted (`filter::classify`).
    Advert { member: usize, advert: Advert },
    /// A link changed (or was re-read after an overrun).
    Link { index: u32, up: bool },
    /// Stop: masters resign (priority 0) and remove their VIPs; the sender
    /// is answered when done.
    Shutdown(oneshot::Sender<()>),
    /// Stop for a hitless restart (`vigil restart`): masters send one last
    /// advert (re-arming the backups' Master_Down_Timer) and keep their
    /// VIPs; nothing is notified. Answered with each running member's
    /// name, state and (a master's) advert; the task is gone after.
    Handoff(oneshot::Sender<Vec<HandedOver>>),
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
    pub done: oneshot::Sender<Vec<Result<(), ReconfigError>>>,
}

/// One instance, as resolved by the daemon.
pub struct MemberSpec {
    pub inst: VrrpInstance,
    pub links: MemberLinks,
    pub status: watch::Sender<Snapshot>,
    /// Where the member publishes its receive checks for the receive task
    /// of its interface (set at setup, replaced by a commit).
    pub filter: watch::Sender<Option<FilterConfig>>,
    /// Start with [`Input::Resume`]: this instance was MASTER in the
    /// process that handed over to this one a moment ago, and the advert
    /// bridge has sent its adverts since; taking over stops the bridge's
    /// and gives the time of its last advert.
    pub resume: Option<Takeover>,
}

/// One member's state at a handoff, with its advert if MASTER (what the
/// new image's advert bridge sends until the member resumes).
#[derive(Debug)]
pub struct HandedOver {
    pub name: String,
    pub state: State,
    pub advert: Option<handoff::Advert>,
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
    /// The scripts it tracks by name, with their effective weights (its
    /// own `track_script` and its sync group's), in
    /// `InstanceConfig::scripts` order.
    pub scripts: Vec<(String, Track)>,
    /// Likewise its `track_file`s, in `InstanceConfig::files` order.
    pub files: Vec<(String, Track)>,
    /// Its vmac (`use_vmac`), made before the task starts.
    pub vmac: Option<VmacLink>,
}

/// An instance's vmac link: its VIPs (those without a `dev`) and their
/// gratuitous ARP / NA go through it, and so do its adverts, sent and
/// received, unless `vmac_xmit_base` keeps those on the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacLink {
    pub index: u32,
    pub name: String,
    pub mac: [u8; 6],
    pub xmit_base: bool,
}

impl MemberLinks {
    /// The link adverts are sent and received on, by index and name
    /// (`interface` names the parent).
    pub fn advert_link<'a>(&'a self, interface: &'a str) -> (u32, &'a str) {
        match &self.vmac {
            Some(v) if !v.xmit_base => (v.index, v.name.as_str()),
            _ => (self.ifindex, interface),
        }
    }

    /// The link gratuitous ARP / NA go out of, and the MAC they announce:
    /// the vmac's when there is one.
    pub fn gratuitous_link<'a>(&'a self, interface: &'a str) -> (u32, &'a str, Option<[u8; 6]>) {
        match &self.vmac {
            Some(v) => (v.index, v.name.as_str(), Some(v.mac)),
            None => (self.ifindex, interface, self.mac),
        }
    }
}

/// What an instance tracks in the track task's table, by name, with
/// effective weights: its scripts, then its files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tracks {
    pub scripts: Vec<(String, Track)>,
    pub files: Vec<(String, Track)>,
}

/// A task's members and, for a real sync group, its name and scripts.
pub struct GroupSpec {
    pub group: Option<(String, Notify, bool)>,
    pub members: Vec<MemberSpec>,
    pub global: GlobalDefs,
}

struct Task {
    core: group::Machine,
    /// Where the ARP-theft watches report to this task (`vrrp::arpwatch`).
    theft_tx: mpsc::Sender<Stolen>,
    /// Per member: its edge, or `None` if it did not start.
    members: Vec<Option<Member>>,
    /// Members that did not start for want of their address (or their
    /// link): tried again, with backoff, until they start.
    late: Late,
    group: Option<(String, Notify, bool)>,
    net: Net,
    notifier: Notifier,
}

impl Task {
    fn live(&mut self) -> impl Iterator<Item = (usize, &mut Member)> {
        self.members
            .iter_mut()
            .enumerate()
            .filter_map(|(i, m)| m.as_mut().map(|m| (i, m)))
    }

    fn member(&mut self, i: usize) -> Option<&mut Member> {
        self.members.get_mut(i).and_then(Option::as_mut)
    }

    /// Feeds `input` to member `i` through the core, then executes every
    /// resulting action.
    async fn input(&mut self, i: usize, input: Input, now: Instant) {
        self.core.handle(i, input, now);
        self.execute_all().await;
    }

    async fn timeout(&mut self, now: Instant) {
        self.core.handle_timeout(now);
        self.execute_all().await;
    }

    /// Executes what the core hands out, in order; then the routes of a
    /// member that became MASTER (after its first advert: they are off
    /// the advert's path).
    async fn execute_all(&mut self) {
        self.execute_polled().await;
        let net = self.net.clone();
        for (_, m) in self.live() {
            m.install_due_routes(&net).await;
        }
    }

    async fn execute_polled(&mut self) {
        while let Some(a) = self.core.poll_action() {
            match a {
                group::Action::Member { member, action } => self.execute(member, action).await,
                group::Action::Status { member, changed } => {
                    if let (Some(Some(m)), Some(machine)) =
                        (self.members.get_mut(member), self.core.member(member))
                    {
                        m.publish(machine, changed);
                    }
                }
                group::Action::Group { state, priority } => self.notify_group(state, priority),
            }
        }
    }

    async fn execute(&mut self, i: usize, a: Action) {
        let Some(machine) = self.core.member(i) else {
            return;
        };
        let priority = machine.priority();
        let Some(Some(m)) = self.members.get_mut(i) else {
            return;
        };
        match a {
            Action::SendAdvert { priority } => m.send_advert(priority),
            Action::AddVips => m.add_vips(&self.net).await,
            Action::RemoveVips => m.remove_vips(&self.net).await,
            Action::SendGratuitous { repeat } => m.gratuitous(repeat),
            Action::StateChange { from, to, reason } => {
                if to == State::Master {
                    m.master = None;
                    m.guard_arp(&self.theft_tx, i);
                } else {
                    m.unguard_arp(&self.theft_tx, i);
                }
                tracing::info!(
                    instance = %m.name,
                    vrid = %m.filter.vrid,
                    interface = %m.interface(),
                    family = %m.family(),
                    state = %state_name(to),
                    from = %state_name(from),
                    ?reason,
                    vrrp_priority = priority.get(),
                    "vrrp state change"
                );
                // A resumed MASTER changed nothing the world sees: no
                // scripts, no mail (the last ones said MASTER already).
                if reason != Reason::Resumed {
                    let (scripts, smtp_alert) = m.notify_scripts();
                    self.notifier.notify(Event {
                        kind: EventKind::Instance,
                        name: m.name.clone(),
                        state: notify_state(to),
                        priority: priority.get(),
                        scripts,
                        smtp_alert,
                    });
                }
            }
            Action::OwnFault { .. } => {}
        }
    }

    /// A sync group notifies when all its running members agree on a new
    /// state (the core says when).
    fn notify_group(&mut self, state: State, priority: super::types::Priority) {
        let Some((name, scripts, smtp)) = self.group.clone() else {
            return;
        };
        tracing::info!(group = %name, state = %state_name(state), "sync group state change");
        self.notifier.notify(Event {
            kind: EventKind::Group,
            name,
            state: notify_state(state),
            priority: priority.get(),
            scripts,
            smtp_alert: smtp,
        });
    }

    /// A watch saw another MAC claim a VIP of member `s.member`: acted on
    /// only while it is MASTER (a report queued before it left is stale).
    fn stolen(&mut self, s: Stolen, now: Instant) {
        let master = (self.core.member(s.member)).is_some_and(|m| m.state() == State::Master);
        let Some(m) = self.member(s.member).filter(|_| master) else {
            return;
        };
        if let Some(ev) = m.arp_theft(s.theft, now) {
            self.notifier.notify(ev);
        }
    }

    async fn advert(&mut self, i: usize, advert: Advert, now: Instant) {
        if self.member(i).is_none() {
            return;
        }
        self.input(i, Input::Advert(advert), now).await;
        let (Some(Some(m)), Some(machine)) = (self.members.get_mut(i), self.core.member(i)) else {
            return;
        };
        m.received += 1;
        if machine.state() == State::Backup && !advert.priority.is_resign() {
            m.master = Some(advert.src);
        }
        m.publish(machine, false);
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

    /// Tracked scripts' states from the track task's table: each member
    /// gets the states of its scripts that differ from its machine's.
    async fn scripts(&mut self, table: &Table, now: Instant) {
        let mut inputs = Vec::new();
        for (i, m) in self.live() {
            for (k, name) in m.scripts.iter().enumerate() {
                if let Some(ok) = table
                    .iter()
                    .find(|s| &s.name == name)
                    .and_then(|s| s.state.ok())
                {
                    inputs.push((i, k, ok));
                }
            }
        }
        for (i, index, ok) in inputs {
            let known = self
                .core
                .member(i)
                .and_then(|m| m.script_states().get(index).copied().flatten());
            if known != Some(ok) {
                self.input(i, Input::TrackedScript { index, ok }, now).await;
            }
        }
        self.files(table, now).await;
    }

    /// Tracked files' numbers from the same table: each member gets those
    /// that differ from its machine's.
    async fn files(&mut self, table: &Table, now: Instant) {
        let mut inputs = Vec::new();
        for (i, m) in self.live() {
            for (index, name) in m.files.iter().enumerate() {
                let value = table.iter().find(|s| &s.name == name).and_then(|s| s.value);
                if let Some(value) = value {
                    inputs.push((i, index, value));
                }
            }
        }
        for (i, index, value) in inputs {
            let known = self
                .core
                .member(i)
                .and_then(|c| c.file_values().get(index).copied().flatten());
            if known != Some(value) {
                self.input(i, Input::TrackedFile { index, value }, now)
                    .await;
            }
        }
    }

    /// A config commit: each member in place; returns what needs a restart.
    async fn reconfigure(
        &mut self,
        members: &[(VrrpInstance, MemberLinks)],
        group: Option<(String, Notify, bool)>,
        global: &GlobalDefs,
        now: Instant,
    ) -> Vec<Result<(), ReconfigError>> {
        if members.len() != self.members.len() {
            return members
                .iter()
                .map(|_| Err(ReconfigError::GroupMembersChanged))
                .collect();
        }
        let mut results = Vec::with_capacity(members.len());
        for (i, (inst, links)) in members.iter().enumerate() {
            if self.late.members.contains(&i) {
                // Still waiting for its address: it starts with the new
                // settings (`Late::take`).
                results.push(Ok(()));
                continue;
            }
            let applied = self.reconfigure_member(i, inst, links, global, now).await;
            if let Err(e) = &applied {
                tracing::warn!(
                    instance = %inst.name,
                    vrid = inst.virtual_router_id,
                    error = %e,
                    "config not applied in place; restart vigil to apply it"
                );
            }
            results.push(applied);
            self.execute_all().await;
        }
        self.group = group;
        // A MASTER's VIPs or links may have changed: guard the new ones.
        let tx = self.theft_tx.clone();
        for (i, m) in self.live() {
            if m.guarding_arp() {
                m.guard_arp(&tx, i);
            }
        }
        // Tracked interfaces may have changed: feed their current states.
        let links = self.net.links().await.unwrap_or_default();
        for (i, input) in link_inputs(self, &links, true) {
            self.input(i, input, now).await;
        }
        results
    }

    /// Checks member `i`'s commit, has its machine take it (queuing the
    /// actions that causes), then its edge.
    async fn reconfigure_member(
        &mut self,
        i: usize,
        inst: &VrrpInstance,
        links: &MemberLinks,
        global: &GlobalDefs,
        now: Instant,
    ) -> Result<(), ReconfigError> {
        let (Some(Some(m)), Some(machine)) = (self.members.get_mut(i), self.core.member(i)) else {
            return Err(group::ReconfigureError::NotRunning.into());
        };
        let checked = m.check(inst, links, global, machine.config().primary_ip)?;
        self.core.reconfigure(i, checked.machine.clone(), now)?;
        let machine = self.core.member(i).expect("reconfigured above");
        let repeat =
            (machine.state() == State::Master).then_some(machine.config().garp.master_repeat);
        m.take(checked, links, repeat, &self.net).await;
        Ok(())
    }

    /// See [`GroupInput::Handoff`].
    fn handoff(&mut self) -> Vec<HandedOver> {
        let mut states = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            let (Some(m), Some(machine)) = (m, self.core.member(i)) else {
                continue;
            };
            m.stop_gratuitous();
            m.unguard_arp(&self.theft_tx, i);
            let state = machine.state();
            let advert = (state == State::Master).then(|| {
                m.send_advert(machine.priority());
                m.handoff_advert(machine.config().advert_interval)
            });
            states.push(HandedOver {
                name: m.name.clone(),
                state,
                advert: advert.flatten(),
            });
        }
        states
    }

    async fn shutdown(&mut self) {
        let now = Instant::now();
        for i in 0..self.members.len() {
            self.input(i, Input::Shutdown, now).await;
        }
        let tx = self.theft_tx.clone();
        for (i, m) in self.live() {
            m.stop_gratuitous();
            m.unguard_arp(&tx, i);
        }
    }
}

/// Link-state inputs for every running member: its interface when down,
/// and each tracked interface when down (or, with `all`, also when up:
/// after a commit changed the tracked list).
fn link_inputs(task: &mut Task, links: &[crate::net::Link], all: bool) -> Vec<(usize, Input)> {
    link_inputs_of(task, links, all, |_| true)
}

/// [`link_inputs`] for the running members `which` picks.
fn link_inputs_of(
    task: &mut Task,
    links: &[crate::net::Link],
    all: bool,
    which: impl Fn(usize) -> bool,
) -> Vec<(usize, Input)> {
    let is_up = |idx: Option<u32>| {
        idx.and_then(|i| links.iter().find(|l| l.index == i))
            .is_some_and(|l| l.is_up())
    };
    let mut inputs = Vec::new();
    for (i, m) in task.live().filter(|(i, _)| which(*i)) {
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

/// Sets up every member; one that fails shows ERROR and takes no input.
async fn start(
    spec: &GroupSpec,
    rx: &mut mpsc::Receiver<GroupInput>,
    net: Net,
    notifier: Notifier,
    hb: &Heartbeat,
    theft_tx: mpsc::Sender<Stolen>,
) -> Task {
    let mut members = Vec::with_capacity(spec.members.len());
    let mut machines = Vec::with_capacity(spec.members.len());
    let mut late = Late::default();
    for (i, ms) in spec.members.iter().enumerate() {
        match setup(ms, &spec.global, &net, rx, hb).await {
            Ok((member, machine)) => {
                members.push(Some(member));
                machines.push(Some(machine));
            }
            Err(e) => {
                let retry = e.retryable();
                tracing::error!(
                    instance = %ms.inst.name,
                    vrid = ms.inst.virtual_router_id,
                    interface = %ms.inst.interface,
                    error = %Chain(&e),
                    retry,
                    "instance not started"
                );
                let mut msg = Chain(&e).to_string();
                if retry {
                    msg.push_str("; trying again");
                    late.members.push(i);
                }
                ms.status.send_replace(Snapshot {
                    status: error_status(&ms.inst, &spec.global, msg),
                    since: Instant::now(),
                });
                members.push(None);
                machines.push(None);
            }
        }
    }
    late.arm(Instant::now());
    Task {
        core: group::Machine::new(machines),
        theft_tx,
        late,
        members,
        group: spec.group.clone(),
        net,
        notifier,
    }
}

/// The instance task. Returns after a shutdown, or when every input
/// sender is gone. Checks in with `hb` on every turn of its loop (each
/// timer, packet or message) and on an idle tick: a BACKUP may sleep for
/// long between timers.
pub async fn run(
    mut spec: GroupSpec,
    mut rx: mpsc::Receiver<GroupInput>,
    net: Net,
    notifier: Notifier,
    mut scripts: watch::Receiver<Table>,
    hb: Heartbeat,
) {
    // Thefts the ARP watches report; a full queue drops a report (the
    // next claim reports again).
    let (theft_tx, mut theft_rx) = mpsc::channel(THEFT_QUEUE);
    let mut task = start(&spec, &mut rx, net.clone(), notifier, &hb, theft_tx).await;

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
    // Scripts' states known already (a restart, a reload) apply before
    // Startup; weight-0 scripts with no result yet hold it back.
    let table = scripts.borrow_and_update().clone();
    task.scripts(&table, now).await;
    for (i, ms) in spec.members.iter_mut().enumerate() {
        // The advert bridge stops here; this task's first advert follows
        // the bridge's last by an interval.
        let input = match ms.resume.take() {
            Some(t) => Input::Resume {
                last_advert: t.take_over(),
            },
            None => Input::Startup,
        };
        task.input(i, input, Instant::now()).await;
    }

    let mut idle = hb.ticker();
    loop {
        hb.check_in().await;
        let sleep = sleep_until(task.core.poll_timeout());
        let retry = sleep_until(task.late.due);
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(GroupInput::Advert { member, advert }) => {
                    task.advert(member, advert, Instant::now()).await;
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
                    task.late.take(&mut spec, &members, &global);
                    let _ = done.send(problems);
                    let table = scripts.borrow().clone();
                    task.scripts(&table, Instant::now()).await;
                }
                None => {
                    task.shutdown().await;
                    return;
                }
            },
            Some(stolen) = theft_rx.recv() => task.stolen(stolen, Instant::now()),
            Ok(()) = scripts.changed() => {
                let table = scripts.borrow_and_update().clone();
                task.scripts(&table, Instant::now()).await;
            }
            () = sleep => task.timeout(Instant::now()).await,
            () = retry => {
                let table = scripts.borrow().clone();
                task.start_late(&spec, &table).await;
            }
            _ = idle.tick() => {}
        }
    }
}

/// Sleeps until `t`; never, for `None`.
async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending::<()>().await,
    }
}

/// The members waiting for their address, and when they are tried next.
struct Late {
    members: Vec<usize>,
    due: Option<Instant>,
    backoff: Backoff,
}

impl Default for Late {
    fn default() -> Self {
        Late {
            members: Vec::new(),
            due: None,
            backoff: Backoff::new(LATE_RETRY_MIN, LATE_RETRY_MAX),
        }
    }
}

/// A member waiting for its address is tried again after 1 s, then
/// further apart, up to 10 s: one address lookup each time.
const LATE_RETRY_MIN: std::time::Duration = std::time::Duration::from_secs(1);
const LATE_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(10);

impl Late {
    /// The next try, after the next wait, while a member waits.
    fn arm(&mut self, now: Instant) {
        self.due = (!self.members.is_empty()).then(|| now + self.backoff.next());
    }

    /// A commit for the task: a member still waiting takes its new
    /// settings into its spec, to start with them.
    fn take(
        &self,
        spec: &mut GroupSpec,
        members: &[(VrrpInstance, MemberLinks)],
        global: &GlobalDefs,
    ) {
        if self.members.is_empty() || members.len() != spec.members.len() {
            return;
        }
        spec.global = global.clone();
        for &i in &self.members {
            if let (Some((inst, links)), Some(ms)) = (members.get(i), spec.members.get_mut(i)) {
                ms.inst = inst.clone();
                ms.links = links.clone();
            }
        }
    }
}

impl Task {
    /// Tries each waiting member again; one that starts takes its links'
    /// states, its tracked scripts' and files', then `Input::Startup`.
    async fn start_late(&mut self, spec: &GroupSpec, table: &Table) {
        let waiting = std::mem::take(&mut self.late.members);
        let mut started = Vec::new();
        for i in waiting {
            let Some(ms) = spec.members.get(i) else {
                continue;
            };
            match setup_late(ms, &spec.global, &self.net).await {
                Ok(Some((member, machine))) => {
                    if self.core.start_late(i, machine) {
                        self.members[i] = Some(member);
                        started.push(i);
                        tracing::info!(
                            instance = %ms.inst.name,
                            vrid = ms.inst.virtual_router_id,
                            interface = %ms.inst.interface,
                            "instance started late: its address is there now"
                        );
                    }
                }
                Ok(None) => self.late.members.push(i),
                Err(e) if e.retryable() => {
                    tracing::debug!(instance = %ms.inst.name, error = %Chain(&e), "not yet");
                    self.late.members.push(i);
                }
                Err(e) => {
                    tracing::error!(
                        instance = %ms.inst.name,
                        error = %Chain(&e),
                        "instance not started"
                    );
                    ms.status.send_replace(Snapshot {
                        status: error_status(&ms.inst, &spec.global, Chain(&e).to_string()),
                        since: Instant::now(),
                    });
                }
            }
        }
        self.late.arm(Instant::now());
        if started.is_empty() {
            return;
        }
        let now = Instant::now();
        let links = self.net.links().await.unwrap_or_default();
        for (i, input) in link_inputs_of(self, &links, false, |i| started.contains(&i)) {
            self.input(i, input, now).await;
        }
        self.scripts(table, now).await;
        for i in started {
            self.input(i, Input::Startup, now).await;
        }
    }
}
