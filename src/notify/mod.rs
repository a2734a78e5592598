//! Notifications on VRRP state changes: keepalived's notify scripts and
//! mail through `smtp_server` to `notification_email`.
//!
//! Owns: the queues between the VRRP side and the scripts and mail, the
//! per-instance script order, the mail retry policy, and their counters.
//! Must not: block, await or slow down the caller. `Notifier::notify` takes
//! a short lock, pushes, and returns; everything else happens on tasks
//! spawned here. Nothing in this module feeds back into VRRP.
//!
//! ```text
//!  VRRP task                  dispatcher task            per-instance worker
//!  notify(ev) --push--> [ingress, drop-oldest] --+--> [VI_1 queue] --> script, script, ...
//!  (never awaits)                                |--> [VG_1 queue] --> ...   (in event order;
//!                                                |                           instances run
//!                                                |                           side by side)
//!                                                +--> [mail queue] --> mail sender task
//!                                                     format_mail()    smtp::Dialogue over TCP,
//!                                                                      Backoff between attempts
//! ```
//!
//! Sans-IO parts: `smtp::Dialogue` (the SMTP conversation fed with reply
//! lines), `mail::format_mail` / `mail::rfc2822` (the text), `Backoff`
//! (the retry schedule, `crate::backoff`), `script::commands` (argv per event),
//! `script::resolve_user` / `script::check_secure` (identity and path checks).
//! Edges: `script::run` (a child process), `mailer::deliver` (a socket).
//!
//! Every queue is bounded; on overflow the oldest entry goes and a counter
//! in `Stats` says so. The SMTP client is our own (see `smtp` for why not
//! `lettre`): no TLS, no AUTH, like keepalived.

pub mod mail;
mod mailer;
mod queue;
pub mod script;
pub mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use crate::backoff::Backoff;
pub use mailer::deliver;

use crate::config::model::{GlobalDefs, Notify};
use mailer::Outgoing;
use queue::Queue;
use script::{Outcome, RunPolicy};
use tracing::Instrument as _;

/// One state change, as the VRRP side reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub name: String,
    pub state: State,
    pub priority: u8,
    pub scripts: Notify,
    /// Mail this change (the caller resolves instance, group and global).
    pub smtp_alert: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Instance,
    Group,
    /// A virtual server gained (`State::Master`) or lost (`State::Backup`)
    /// quorum. Its `quorum_up` rides in `scripts.master` and its
    /// `quorum_down` in `scripts.backup`; the script gets no arguments
    /// beyond its own (as in keepalived). `name` is the service as ipvsadm
    /// prints it.
    VirtualServer,
    /// A real server went up (`State::Master`: its `notify_up` in
    /// `scripts.master`) or down (`State::Backup`: `notify_down` in
    /// `scripts.backup`), as its checkers decided. `name` is
    /// "SERVICE -> REAL".
    RealServer,
    /// The box was last reset by its hardware watchdog (said once, at
    /// start; `state` is [`State::Reset`], `name` the device). keepalived
    /// has no such event: the `watchdog` block's `notify_reset` rides in
    /// `scripts.notify` and gets `WATCHDOG <device> RESET` appended.
    Watchdog,
    /// While MASTER, another MAC claimed one of the instance's VIPs at L2
    /// (`vrrp::arpwatch`). `name` is "INSTANCE VIP MAC", `state` MASTER;
    /// it mails (`smtp_alert`) and runs the instance's `notify_arp_theft`,
    /// carried in `scripts.notify`, with INSTANCE VIP MAC appended.
    ArpTheft,
}

impl EventKind {
    /// As mails and logs spell it.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Instance => "VRRP Instance",
            EventKind::Group => "VRRP Group",
            EventKind::VirtualServer => "Virtual Server",
            EventKind::RealServer => "Real Server",
            EventKind::Watchdog => "Watchdog",
            EventKind::ArpTheft => "ARP theft",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Master,
    Backup,
    Fault,
    Stop,
    /// The hardware watchdog reset the box ([`EventKind::Watchdog`]).
    Reset,
}

impl State {
    /// As scripts and mails spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Master => "MASTER",
            State::Backup => "BACKUP",
            State::Fault => "FAULT",
            State::Stop => "STOP",
            State::Reset => "RESET",
        }
    }
}

/// Knobs with production defaults; tests shorten the times.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events between `notify` and the dispatcher.
    pub queue_capacity: usize,
    /// Events waiting for one instance's scripts.
    pub instance_queue_capacity: usize,
    /// Mails waiting behind the one being sent.
    pub mail_queue_capacity: usize,
    /// A script still running after this is killed with its process group.
    pub script_timeout: Duration,
    /// Bytes of a script's stdout, and of its stderr, kept for the log.
    pub script_output_cap: usize,
    pub backoff: Backoff,
    pub passwd_path: PathBuf,
    pub group_path: PathBuf,
    /// Used when `router_id` is unset; `None` reads the kernel's hostname.
    pub hostname: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            queue_capacity: 256,
            instance_queue_capacity: 64,
            mail_queue_capacity: 64,
            script_timeout: Duration::from_secs(30),
            script_output_cap: 4096,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300))
                .give_up_after(8),
            passwd_path: "/etc/passwd".into(),
            group_path: "/etc/group".into(),
            hostname: None,
        }
    }
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed to `notify`.
    pub events: u64,
    /// Events dropped (oldest first) because the ingress queue was full.
    pub events_dropped: u64,
    /// Events dropped because one instance's script queue was full.
    pub script_events_dropped: u64,
    pub scripts_ok: u64,
    /// Exited non-zero or by a signal.
    pub scripts_failed: u64,
    /// Killed at the deadline.
    pub scripts_timed_out: u64,
    /// Could not start, unknown `script_user`, or refused by
    /// `enable_script_security`.
    pub scripts_not_run: u64,
    pub mails_queued: u64,
    /// Dropped (oldest first) because the mail queue was full.
    pub mails_dropped: u64,
    pub mails_sent: u64,
    /// Failed attempts, each logged with its cause.
    pub mail_failures: u64,
    /// Of those, connect or reply timeouts.
    pub mail_timeouts: u64,
    /// Dropped after the last attempt of the backoff schedule.
    pub mails_given_up: u64,
    /// Dropped at once: refused with a 5xx.
    pub mails_rejected: u64,
    /// Recipients refused while others took the mail.
    pub mail_rcpts_refused: u64,
}

impl Stats {
    /// Scripts that have finished one way or another.
    pub fn scripts_done(&self) -> u64 {
        self.scripts_ok + self.scripts_failed + self.scripts_timed_out + self.scripts_not_run
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Events whose scripts have not finished (or been dropped) yet.
    pending: AtomicU64,
    events: AtomicU64,
    events_dropped: AtomicU64,
    script_events_dropped: AtomicU64,
    scripts_ok: AtomicU64,
    scripts_failed: AtomicU64,
    scripts_timed_out: AtomicU64,
    scripts_not_run: AtomicU64,
    mails_queued: AtomicU64,
    mails_dropped: AtomicU64,
    pub(crate) mails_sent: AtomicU64,
    pub(crate) mail_failures: AtomicU64,
    pub(crate) mail_timeouts: AtomicU64,
    pub(crate) mails_given_up: AtomicU64,
    pub(crate) mails_rejected: AtomicU64,
    pub(crate) mail_rcpts_refused: AtomicU64,
}

/// Adds one and returns the new value.
fn bump(c: &AtomicU64) -> u64 {
    c.fetch_add(1, Ordering::Relaxed) + 1
}

/// Hands events to the notification tasks. Cheap to clone; when the last
/// clone is dropped the tasks finish what is queued and end.
#[derive(Debug, Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// The current dispatcher's queue; replaced by [`Notifier::reconfigure`].
    ingress: std::sync::RwLock<Arc<Queue<Envelope>>>,
    counters: Arc<Counters>,
    opts: Options,
}

impl Shared {
    fn ingress(&self) -> Arc<Queue<Envelope>> {
        match self.ingress.read() {
            Ok(q) => q.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.ingress().close();
    }
}

#[derive(Debug)]
struct Envelope {
    ev: Event,
    at: SystemTime,
}

struct MailSetup {
    queue: Arc<Queue<Outgoing>>,
    router_id: String,
    from: String,
    to: Vec<String>,
}

struct Ctx {
    policy: RunPolicy,
    instance_queue_capacity: usize,
    mail: Option<MailSetup>,
    counters: Arc<Counters>,
}

impl Notifier {
    /// Spawns the notifier's task(s) on the current tokio runtime (must be
    /// called from inside one).
    pub fn spawn(global: &GlobalDefs) -> Notifier {
        Self::spawn_with(global, Options::default())
    }

    /// `spawn` with explicit knobs.
    pub fn spawn_with(global: &GlobalDefs, opts: Options) -> Notifier {
        let counters = Arc::new(Counters::default());
        let ingress = start(global, &opts, &counters);
        Notifier {
            shared: Arc::new(Shared {
                ingress: std::sync::RwLock::new(ingress),
                counters,
                opts,
            }),
        }
    }

    /// New settings (a config commit: script user and security, mail
    /// server and addresses, router id): events from now on go to a new
    /// dispatcher; the old one finishes what it has queued, then ends.
    /// Counters carry on.
    pub fn reconfigure(&self, global: &GlobalDefs) {
        let fresh = start(global, &self.shared.opts, &self.shared.counters);
        let old = match self.shared.ingress.write() {
            Ok(mut q) => std::mem::replace(&mut *q, fresh),
            Err(p) => std::mem::replace(&mut *p.into_inner(), fresh),
        };
        old.close();
    }

    /// Never blocks and never awaits: queues the event and returns.
    pub fn notify(&self, ev: Event) {
        let c = &self.shared.counters;
        bump(&c.events);
        bump(&c.pending);
        let env = Envelope {
            ev,
            at: SystemTime::now(),
        };
        if let Some(old) = self.shared.ingress().push(env) {
            settled(c);
            let n = bump(&c.events_dropped);
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, event = %old.ev.name, "notification queue full; dropped the oldest event");
            }
        }
    }

    /// Waits until every event notified so far has had its scripts run
    /// (mail is not waited for: it has its own retries), at most `within`.
    /// Returns whether it settled. The daemon calls this on shutdown so
    /// that `notify_stop` scripts run before it exits.
    pub async fn settle(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.shared.counters.pending.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            events: g(&c.events),
            events_dropped: g(&c.events_dropped),
            script_events_dropped: g(&c.script_events_dropped),
            scripts_ok: g(&c.scripts_ok),
            scripts_failed: g(&c.scripts_failed),
            scripts_timed_out: g(&c.scripts_timed_out),
            scripts_not_run: g(&c.scripts_not_run),
            mails_queued: g(&c.mails_queued),
            mails_dropped: g(&c.mails_dropped),
            mails_sent: g(&c.mails_sent),
            mail_failures: g(&c.mail_failures),
            mail_timeouts: g(&c.mail_timeouts),
            mails_given_up: g(&c.mails_given_up),
            mails_rejected: g(&c.mails_rejected),
            mail_rcpts_refused: g(&c.mail_rcpts_refused),
        }
    }
}

/// Spawns a dispatcher (and a mail sender) for `global`; returns its queue.
fn start(global: &GlobalDefs, opts: &Options, counters: &Arc<Counters>) -> Arc<Queue<Envelope>> {
    let run_as = match &global.script_user {
        None => Ok(None),
        Some(su) => script::resolve_user_from(&opts.passwd_path, &opts.group_path, su)
            .map(Some)
            .inspect_err(|e| tracing::error!(error = %e, "notify scripts will not run")),
    };
    if global.script_user.is_none() && !global.enable_script_security {
        tracing::debug!("notify scripts run as root without enable_script_security");
    }
    let hostname = opts.hostname.clone().unwrap_or_else(kernel_hostname);
    let router_id = global.router_id.clone().unwrap_or(hostname);
    let mail = match (&global.smtp_server, global.notification_email.is_empty()) {
        (Some(server), false) => {
            let queue = Arc::new(Queue::new(opts.mail_queue_capacity));
            let timeout = match global.smtp_connect_timeout.as_duration() {
                d if d.is_zero() => Duration::from_secs(30),
                d => d,
            };
            tokio::spawn(mailer::run(
                queue.clone(),
                SocketAddr::new(server.addr, server.port),
                timeout,
                opts.backoff,
                counters.clone(),
            ));
            Some(MailSetup {
                queue,
                from: global
                    .notification_email_from
                    .clone()
                    .unwrap_or_else(|| format!("vigil@{router_id}")),
                router_id,
                to: global.notification_email.clone(),
            })
        }
        _ => None,
    };
    let ctx = Arc::new(Ctx {
        policy: RunPolicy {
            timeout: opts.script_timeout,
            output_cap: opts.script_output_cap,
            run_as,
            security: global.enable_script_security,
            quiet: false,
        },
        instance_queue_capacity: opts.instance_queue_capacity,
        mail,
        counters: counters.clone(),
    });
    let ingress = Arc::new(Queue::new(opts.queue_capacity));
    tokio::spawn(dispatch(ingress.clone(), ctx));
    ingress
}

fn kernel_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Scripts of one event, for one instance's worker.
struct Job {
    kind: EventKind,
    name: String,
    commands: Vec<Vec<String>>,
}

impl Job {
    /// The span its scripts' log lines run in: the field of the thing the
    /// event is about (`instance`, `group`), or `event` with the name an
    /// IPVS-side event carries (ipvsadm's words).
    fn span(&self) -> tracing::Span {
        let name = self.name.as_str();
        match self.kind {
            EventKind::Instance => tracing::info_span!("notify", instance = %name),
            EventKind::Group => tracing::info_span!("notify", group = %name),
            EventKind::VirtualServer | EventKind::RealServer => {
                tracing::info_span!("notify", event = %name)
            }
            EventKind::Watchdog => tracing::info_span!("notify", device = %name),
            EventKind::ArpTheft => tracing::info_span!("notify", event = %name),
        }
    }
}

async fn dispatch(ingress: Arc<Queue<Envelope>>, ctx: Arc<Ctx>) {
    let c = &ctx.counters;
    // Keyed by (kind, name): instances, groups and services may share a name.
    let mut workers: HashMap<(&'static str, String), Arc<Queue<Job>>> = HashMap::new();
    while let Some(Envelope { ev, at }) = ingress.pop().await {
        if ev.smtp_alert {
            match &ctx.mail {
                Some(m) => {
                    let text = mail::format_mail(&mail::MailFields {
                        router_id: &m.router_id,
                        from: &m.from,
                        to: &m.to,
                        kind: ev.kind,
                        name: &ev.name,
                        state: ev.state,
                        priority: ev.priority,
                        at,
                    });
                    bump(&c.mails_queued);
                    let out = Outgoing {
                        from: m.from.clone(),
                        to: m.to.clone(),
                        text,
                        what: format!("{} {} {}", ev.kind.label(), ev.name, ev.state.as_str()),
                    };
                    if let Some(old) = m.queue.push(out) {
                        let n = bump(&c.mails_dropped);
                        if n.is_power_of_two() {
                            tracing::warn!(dropped = n, mail = %old.what, "mail queue full; dropped the oldest mail");
                        }
                    }
                }
                None => tracing::debug!(
                    event = %ev.name,
                    "smtp_alert set but no smtp_server or notification_email"
                ),
            }
        }
        let commands = script::commands(&ev);
        if commands.is_empty() {
            settled(c);
            continue;
        }
        let q = workers
            .entry((ev.kind.label(), ev.name.clone()))
            .or_insert_with(|| {
                let q = Arc::new(Queue::new(ctx.instance_queue_capacity));
                tokio::spawn(work(q.clone(), ctx.clone()));
                q
            });
        let job = Job {
            kind: ev.kind,
            name: ev.name,
            commands,
        };
        if let Some(old) = q.push(job) {
            settled(c);
            let n = bump(&c.script_events_dropped);
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, event = %old.name, "script queue full; dropped the oldest event's scripts");
            }
        }
    }
    for q in workers.values() {
        q.close();
    }
    if let Some(m) = &ctx.mail {
        m.queue.close();
    }
}

/// One instance's (or group's) scripts, strictly in event order.
async fn work(q: Arc<Queue<Job>>, ctx: Arc<Ctx>) {
    let c = &ctx.counters;
    while let Some(job) = q.pop().await {
        let span = job.span();
        for argv in &job.commands {
            let run = script::run(argv, &ctx.policy).instrument(span.clone());
            let counter = match run.await {
                Outcome::Exited(s) if s.success() => &c.scripts_ok,
                Outcome::Exited(_) => &c.scripts_failed,
                Outcome::TimedOut => &c.scripts_timed_out,
                Outcome::NotRun | Outcome::NoResources(_) => &c.scripts_not_run,
            };
            bump(counter);
        }
        settled(c);
    }
}

/// One event's scripts are done (run or dropped).
fn settled(c: &Counters) {
    c.pending.fetch_sub(1, Ordering::AcqRel);
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
