//! The supervisor: one task that knows every long-lived task of the daemon
//! and whether it is alive.
//!
//! Owns: the owner task ([`run`], spawned by [`Supervisor::start`]) and
//! its handle [`Supervisor`]. The owner alone holds the [registry]
//! (`registry::Machine`), every task's join handle and the table of
//! running instance tasks ([`instances`]); everything else talks to it
//! over one command channel: register (spawn) a task, let one end as
//! told, ask for the status, the liveness or the instance tasks, and hand
//! a link event to every instance task (the owner fans it out). It notices a task that
//! returns, panics, or misses its deadline (then aborts it), and reports
//! each to the daemon's main loop as an [`Event`]; the main loop applies
//! the written [policy] (restart, remove an instance's VIPs first, or exit
//! non-zero). Must not: restart anything itself (it does not know how to
//! build a task), or share the registry behind a lock.
//!
//! ```text
//!   main loop --spawn/deregister--> [supervisor owner] --Event--> main loop
//!   control server --status------->   registry::Machine
//!   watchdog ------liveness------->   join handles, abort handles
//!                                        ^ reads
//!   task --Heartbeat::check_in--> Pulse (an atomic: ms since the epoch)
//! ```
//!
//! Panics are caught, not aborted on (Cargo.toml keeps `panic = "unwind"`):
//! with `panic = "abort"` a panicking instance task would end the process
//! at once, leaving its VIPs on the interface with no adverts until
//! systemd starts vigil again and it removes them as stale; with unwind,
//! tokio hands the panic to the task's join handle, the supervisor reports
//! it, and the main loop removes that instance's VIPs first, while every
//! other instance and the IPVS table carry on. A panic in the main loop
//! or in the supervisor itself still ends the process (exit 101).
//!
//! Where a task runs is its kind's ([`Kind::thread`]): given the VRRP
//! thread's runtime ([`Supervisor::start_with_vrrp`]), instance and
//! receive tasks are built and spawned there, and their join handles
//! come back to the owner like any other (a join handle and an abort
//! handle work across runtimes). Without one (the unit tests), every task
//! runs on the caller's runtime.
//!
//! For the hardware watchdog: [`Supervisor::liveness`] answers "is every
//! task alive within its deadline, and if not, who?". The query goes
//! through the owner, so a watchdog must bound it: no answer in time means
//! the supervisor itself is stuck, which is as bad as a late task.

pub mod heartbeat;
pub mod instances;
pub mod policy;
pub mod registry;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinError, JoinHandle};

pub use heartbeat::{Fault, Heartbeat, Pulse};
pub use instances::RunningGroup;
pub use policy::{Kind, Policy, Remedy, Thread};
pub use registry::{Event, How, Late, State, TaskId, TaskView, Verdict};

/// Why a fault could not be injected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("no running task named {0:?}")]
    NoSuchTask(String),
    #[error("the supervisor is gone")]
    Gone,
}

/// A command to the owner task.
enum Command {
    Register {
        name: String,
        kind: Kind,
        deadline: Option<Duration>,
        pulse: Arc<Pulse>,
        id: TaskId,
        handle: JoinHandle<()>,
        /// Set for an instance task.
        instance: Option<Box<RunningGroup>>,
    },
    /// A loop that is no spawned task (the main loop): its deadline is
    /// watched, its end is not.
    Watch {
        name: String,
        kind: Kind,
        pulse: Arc<Pulse>,
        id: TaskId,
    },
    Instances(oneshot::Sender<Vec<RunningGroup>>),
    Link {
        index: u32,
        up: bool,
    },
    Deregister(TaskId),
    Stop(TaskId),
    DeregisterAll,
    Status(oneshot::Sender<Vec<TaskView>>),
    Liveness(oneshot::Sender<Result<(), Vec<Late>>>),
    #[cfg_attr(not(feature = "fault-hooks"), allow(dead_code))]
    Inject {
        name: String,
        fault: Fault,
        done: oneshot::Sender<Result<(), FaultError>>,
    },
}

/// The handle to the owner task: cheap to clone, every call is a message.
#[derive(Debug, Clone)]
pub struct Supervisor {
    commands: mpsc::UnboundedSender<Command>,
    epoch: Instant,
    next_id: Arc<AtomicU64>,
    /// The VRRP thread's runtime; `None`: every task on the caller's.
    vrrp: Option<tokio::runtime::Handle>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("supervisor command")
    }
}

impl Supervisor {
    /// Spawns the owner task; its events come out of the receiver.
    /// Every task runs on the caller's runtime.
    pub fn start() -> (Supervisor, mpsc::UnboundedReceiver<Event>) {
        Self::start_on(None)
    }

    /// As [`Supervisor::start`], with the tasks of [`Thread::Vrrp`] kinds
    /// on `vrrp`'s runtime.
    pub fn start_with_vrrp(
        vrrp: tokio::runtime::Handle,
    ) -> (Supervisor, mpsc::UnboundedReceiver<Event>) {
        Self::start_on(Some(vrrp))
    }

    fn start_on(
        vrrp: Option<tokio::runtime::Handle>,
    ) -> (Supervisor, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (etx, erx) = mpsc::unbounded_channel();
        tokio::spawn(run(registry::Machine::default(), rx, etx));
        let sup = Supervisor {
            commands: tx,
            epoch: Instant::now(),
            next_id: Arc::new(AtomicU64::new(1)),
            vrrp,
        };
        (sup, erx)
    }

    /// The runtime a task of `kind` runs on; `None`: the caller's.
    fn home(&self, kind: Kind) -> Option<&tokio::runtime::Handle> {
        match kind.thread() {
            Thread::Vrrp => self.vrrp.as_ref(),
            Thread::Main => None,
        }
    }

    /// Builds a task's future inside its home runtime's context, so what
    /// it creates before its first poll (a timer, a socket) belongs there.
    fn build<Fut>(&self, kind: Kind, build: impl FnOnce() -> Fut) -> Fut {
        let _home = self.home(kind).map(tokio::runtime::Handle::enter);
        build()
    }

    /// Spawns `task` under `name` with the deadline of its kind and
    /// registers it; the task gets its [`Heartbeat`].
    pub fn spawn<F, Fut>(&self, name: &str, kind: Kind, task: F) -> TaskId
    where
        F: FnOnce(Heartbeat) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn_with_deadline(name, kind, kind.policy().deadline, task)
    }

    /// [`Supervisor::spawn`] with another deadline than its kind's.
    pub fn spawn_with_deadline<F, Fut>(
        &self,
        name: &str,
        kind: Kind,
        deadline: Option<Duration>,
        task: F,
    ) -> TaskId
    where
        F: FnOnce(Heartbeat) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let id = TaskId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let pulse = Arc::new(Pulse::new(self.epoch));
        let hb = Heartbeat::new(name, pulse.clone(), deadline);
        let fut = self.build(kind, || task(hb));
        self.register(name.to_owned(), kind, deadline, pulse, id, fut, None);
        id
    }

    /// Spawns an instance task and enters it in the table of instance
    /// tasks (its link events, [`Supervisor::instances`]); `group` gets
    /// the task's id.
    pub fn spawn_instance<F, Fut>(
        &self,
        group: impl FnOnce(TaskId) -> RunningGroup,
        task: F,
    ) -> TaskId
    where
        F: FnOnce(Heartbeat) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let id = TaskId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let group = group(id);
        let name = group.task.clone();
        let kind = Kind::Instance;
        let deadline = kind.policy().deadline;
        let pulse = Arc::new(Pulse::new(self.epoch));
        let hb = Heartbeat::new(&name, pulse.clone(), deadline);
        let fut = self.build(kind, || task(hb));
        self.register(name, kind, deadline, pulse, id, fut, Some(Box::new(group)));
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn register(
        &self,
        name: String,
        kind: Kind,
        deadline: Option<Duration>,
        pulse: Arc<Pulse>,
        id: TaskId,
        fut: impl Future<Output = ()> + Send + 'static,
        instance: Option<Box<RunningGroup>>,
    ) {
        let fut = with_fault_hooks(fut, pulse.clone());
        let handle = match self.home(kind) {
            Some(rt) => rt.spawn(fut),
            None => tokio::spawn(fut),
        };
        let _ = self.commands.send(Command::Register {
            name,
            kind,
            deadline,
            pulse,
            id,
            handle,
            instance,
        });
    }

    /// Watches a loop that is not a spawned task (the daemon's main loop)
    /// for its deadline: the heartbeat it checks in with. Nothing can
    /// restart it; a late one shows in [`Supervisor::liveness`].
    pub fn watch(&self, name: &str, kind: Kind) -> Heartbeat {
        let deadline = kind.policy().deadline;
        let pulse = Arc::new(Pulse::new(self.epoch));
        let id = TaskId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let _ = self.commands.send(Command::Watch {
            name: name.to_owned(),
            kind,
            pulse: pulse.clone(),
            id,
        });
        Heartbeat::new(name, pulse, deadline)
    }

    /// Every instance task in the table (running, or awaiting its
    /// restart); empty when the owner is gone.
    pub async fn instances(&self) -> Vec<RunningGroup> {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Command::Instances(tx));
        rx.await.unwrap_or_default()
    }

    /// A link's state, for every instance task (each picks its own).
    pub fn link(&self, index: u32, up: bool) {
        let _ = self.commands.send(Command::Link { index, up });
    }

    /// The task `id` is ending as told: its end is nobody's concern.
    pub fn deregister(&self, id: TaskId) {
        let _ = self.commands.send(Command::Deregister(id));
    }

    /// Ends the task `id` (aborts it) without reporting it: the daemon
    /// replaces it (the IPVS task and health runner start again as one).
    /// A task that already stopped keeps its restart history.
    pub fn stop(&self, id: TaskId) {
        let _ = self.commands.send(Command::Stop(id));
    }

    /// Every task is ending as told (the shutdown).
    pub fn deregister_all(&self) {
        let _ = self.commands.send(Command::DeregisterAll);
    }

    /// Every task, for `vigil status`; empty when the owner is gone.
    pub async fn status(&self) -> Vec<TaskView> {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Command::Status(tx));
        rx.await.unwrap_or_default()
    }

    /// Is every task alive within its deadline, and if not, who is late?
    /// `None`: the owner is gone (treat as not alive). Bound the wait.
    pub async fn liveness(&self) -> Option<Result<(), Vec<Late>>> {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Command::Liveness(tx));
        rx.await.ok()
    }

    /// Makes the running task `name` panic, stall or end at its next
    /// check-in.
    #[cfg(feature = "fault-hooks")]
    pub async fn inject(&self, name: &str, fault: Fault) -> Result<(), FaultError> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Inject {
            name: name.to_owned(),
            fault,
            done: tx,
        };
        if self.commands.send(cmd).is_err() {
            return Err(FaultError::Gone);
        }
        rx.await.unwrap_or(Err(FaultError::Gone))
    }
}

/// In a `fault-hooks` build, a task that took an `End` fault returns here.
#[cfg(feature = "fault-hooks")]
async fn with_fault_hooks(task: impl Future<Output = ()>, pulse: Arc<Pulse>) {
    tokio::select! {
        () = task => {}
        () = pulse.ended() => {}
    }
}

#[cfg(not(feature = "fault-hooks"))]
fn with_fault_hooks<F: Future<Output = ()>>(task: F, _pulse: Arc<Pulse>) -> F {
    task
}

/// How a join handle resolved.
fn how(r: Result<(), JoinError>) -> How {
    match r {
        Ok(()) => How::Returned,
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string payload".to_owned());
            How::Panicked(msg)
        }
        Err(_) => How::Cancelled,
    }
}

/// The owner task: runs until every [`Supervisor`] handle is dropped.
async fn run(
    mut machine: registry::Machine,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut joins = FuturesUnordered::new();
    let mut aborts: BTreeMap<TaskId, AbortHandle> = BTreeMap::new();
    let mut table = instances::Instances::default();
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                registry::Action::Abort(id) => {
                    if let Some(a) = aborts.get(&id) {
                        a.abort();
                    }
                }
                registry::Action::Report(ev) => {
                    log_event(&ev);
                    let _ = events.send(ev);
                }
            }
        }
        let wake = machine.poll_timeout();
        tokio::select! {
            // Commands first: a deregistration sent before a task was told
            // to end is seen before that end.
            biased;
            cmd = commands.recv() => match cmd {
                None => return,
                Some(Command::Register { name, kind, deadline, pulse, id, handle, instance }) => {
                    aborts.insert(id, handle.abort_handle());
                    joins.push(async move { (id, handle.await) });
                    machine.register(&name, kind, deadline, pulse, id, Instant::now());
                    if let Some(g) = instance {
                        table.insert(*g);
                    }
                }
                Some(Command::Watch { name, kind, pulse, id }) => {
                    let deadline = kind.policy().deadline;
                    machine.register(&name, kind, deadline, pulse, id, Instant::now());
                }
                Some(Command::Instances(tx)) => { let _ = tx.send(table.list()); }
                Some(Command::Link { index, up }) => table.link(index, up),
                Some(Command::Deregister(id)) => {
                    machine.deregister(id);
                    table.remove(id);
                }
                Some(Command::Stop(id)) => {
                    machine.replace(id);
                    if let Some(a) = aborts.get(&id) {
                        a.abort();
                    }
                }
                Some(Command::DeregisterAll) => {
                    machine.deregister_all();
                    table.clear();
                }
                Some(Command::Status(tx)) => { let _ = tx.send(machine.status(Instant::now())); }
                Some(Command::Liveness(tx)) => { let _ = tx.send(machine.liveness(Instant::now())); }
                Some(Command::Inject { name, fault, done }) => {
                    let _ = done.send(inject(&machine, &name, fault));
                }
            },
            Some((id, r)) = joins.next(), if !joins.is_empty() => {
                aborts.remove(&id);
                machine.handle_stop(id, how(r), Instant::now());
            }
            () = sleep_until(wake) => machine.handle_timeout(Instant::now()),
        }
    }
}

#[cfg(feature = "fault-hooks")]
fn inject(machine: &registry::Machine, name: &str, fault: Fault) -> Result<(), FaultError> {
    let pulse = machine
        .pulse(name)
        .ok_or_else(|| FaultError::NoSuchTask(name.to_owned()))?;
    tracing::warn!(task = %name, ?fault, "fault hook armed");
    pulse.inject(fault);
    Ok(())
}

#[cfg(not(feature = "fault-hooks"))]
fn inject(_: &registry::Machine, name: &str, _: Fault) -> Result<(), FaultError> {
    Err(FaultError::NoSuchTask(name.to_owned()))
}

fn log_event(ev: &Event) {
    match ev {
        Event::Stopped {
            name,
            how,
            verdict: Verdict::Restart,
            ..
        } => tracing::error!(task = %name, how = %how, "task stopped; restarting it"),
        Event::Stopped {
            name,
            how,
            verdict: Verdict::Exit,
            ..
        } => {
            tracing::error!(task = %name, how = %how, "task stopped; no restart left: vigil exits")
        }
        Event::RestartDue { name, .. } => tracing::info!(task = %name, "restarting task"),
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
