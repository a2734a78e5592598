//! The written policy: what the daemon does when a supervised task ends,
//! panics or misses its liveness deadline, per kind of task.
//!
//! Owns: [`Kind`], [`Policy`] and the table [`Kind::policy`], and the
//! restart [`BUDGET`]. Must not: act on anything (the daemon's main loop
//! applies the policy; the registry only decides when it is spent).
//!
//! | kind            | deadline | on an unexpected end / panic / stall                |
//! |-----------------|----------|-----------------------------------------------------|
//! | instance        | 2 s      | its VIPs removed at once, then restarted fresh      |
//! | receive         | 10 s     | restarted (the socket is opened again, routes kept) |
//! | link dispatcher | 10 s     | restarted (links and addresses re-read)             |
//! | netlink monitor | 10 s     | restarted (subscribed again, everything re-read)    |
//! | ipvs            | 60 s     | restarted with the health runner, adopting the      |
//! |                 |          | kernel's table; the live runner's states carry over |
//! | ipvs sync       | 60 s     | restarted (follows its instance again)              |
//! | health          | 10 s     | restarted with the IPVS task, as at start: table    |
//! |                 |          | adopted, checks from their initial states           |
//! | control         | 10 s     | restarted (the socket bound again)                  |
//! | track           | 10 s     | restarted; every script keeps its state             |
//! | metrics         | 10 s     | restarted (bound again on the configured address)   |
//! | bgp             | 10 s     | restarted; BIRD keeps announcing meanwhile, and the |
//! |                 |          | new task writes its config again from the IPVS side |
//! | main            | 90 s     | none possible: liveness fails, the watchdog acts    |
//!
//! Where each kind runs ([`Kind::thread`]): instance and receive tasks on
//! the VRRP thread (`daemon::vrrp_thread`), everything else on the main
//! runtime, so no work of the main runtime can delay an advert.
//!
//! The IPVS task and the health runner hold each other's channel, so
//! either one's stop starts both again (the survivor is stopped quietly).
//!
//! Every restart counts against the task's [`BUDGET`] (3 in 5 minutes): the
//! one past it ends the daemon non-zero after the bounded shutdown, and
//! systemd starts it again (with the hardware watchdog, a loop of those
//! ends in a reset). A task that misses its deadline (stuck awaiting
//! something) is aborted and then handled as one that ended.
//!
//! Why an instance task is not simply restarted: a MASTER whose task died
//! sends no adverts, so its peer takes over after the master-down interval
//! (3.6 s at one advert a second) while this box still holds the VIPs: two
//! boxes would answer for them. So the daemon removes them first, then
//! starts the task as at start (BACKUP, or MASTER at priority 255).
//!
//! The deadlines: an instance task checks in on every timer it handles and
//! on an idle tick of a quarter of its deadline, so 2 s leaves a loaded box
//! room while the VIPs go well before a peer with the default advert takes
//! over. The IPVS and sync tasks wait on blocking netlink calls (a full
//! pass of 10,000 ops takes seconds in a TCG VM), hence 60 s; the IPVS
//! task and the health runner check in while a step of theirs runs on the
//! blocking pool or in the kernel (`Heartbeat::waiting`, for at most
//! two minutes), so a step at the config's bounds is not a stall. The main
//! loop waits for a reload to apply (the IPVS task's first pass up to
//! 30 s, each instance task's reconfiguration), hence 90 s.

use std::time::Duration;

/// What a supervised task is, which decides its [`Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The task of one VRRP instance, or of one sync group.
    Instance,
    /// A VRRP receive socket of one (interface, family).
    Receive,
    /// Routes link and address events to the instance tasks.
    LinkDispatcher,
    /// A netlink connection (events, or requests).
    NetlinkMonitor,
    /// The IPVS table task.
    Ipvs,
    /// The IPVS connection-sync daemon task.
    IpvsSync,
    /// The health-check runner.
    Health,
    /// The control socket server.
    Control,
    /// The tracked-script runner (`vrrp_script`).
    Track,
    /// The Prometheus endpoint (`global_defs { metrics }`).
    Metrics,
    /// BIRD's config and sessions (`bgp` block).
    Bgp,
    /// The daemon's main loop (signals, reloads, supervisor events).
    Main,
}

/// The runtime a kind of task runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    /// The daemon's main current-thread runtime.
    Main,
    /// The VRRP thread's own small runtime: timers, adverts and receive
    /// only, so nothing else the daemon does can delay them.
    Vrrp,
}

/// What the daemon does when a task of a kind stops unexpectedly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Start it again; it rebuilds its state from what others keep.
    Restart,
    /// Remove the instance's VIPs at once, then start it again fresh.
    WithdrawThenRestart,
    /// Nothing restarts it: the daemon exits non-zero.
    Exit,
}

/// The policy of one kind of task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub remedy: Remedy,
    /// How long it may go without checking in; `None`: only its end is
    /// watched (a task with no loop of its own to check in from).
    pub deadline: Option<Duration>,
    /// The pause between its end and its restart (no tight crash loop;
    /// `vigil status` shows it stalled or restarting meanwhile).
    pub restart_after: Duration,
}

/// How many restarts a task may have within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub restarts: usize,
    pub window: Duration,
}

/// Three restarts in five minutes per task; the fourth end exits.
pub const BUDGET: Budget = Budget {
    restarts: 3,
    window: Duration::from_secs(300),
};

const fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

impl Kind {
    /// The table of the module header.
    pub const fn policy(self) -> Policy {
        let restart_after = Duration::from_secs(1);
        let (remedy, deadline) = match self {
            Kind::Instance => (Remedy::WithdrawThenRestart, secs(2)),
            Kind::Receive
            | Kind::LinkDispatcher
            | Kind::NetlinkMonitor
            | Kind::Health
            | Kind::Control
            | Kind::Track
            | Kind::Metrics
            | Kind::Bgp => (Remedy::Restart, secs(10)),
            Kind::Ipvs | Kind::IpvsSync => (Remedy::Restart, secs(60)),
            Kind::Main => (Remedy::Exit, secs(90)),
        };
        Policy {
            remedy,
            deadline,
            restart_after,
        }
    }

    /// Where a task of this kind runs: VRRP's own tasks on the VRRP
    /// thread (a reload's parse, a big status or IPVS diff on the main
    /// runtime cannot hold back their timers), the rest on the main one.
    pub const fn thread(self) -> Thread {
        match self {
            Kind::Instance | Kind::Receive => Thread::Vrrp,
            _ => Thread::Main,
        }
    }

    /// The word `vigil status` shows.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Receive => "receive",
            Kind::LinkDispatcher => "link dispatcher",
            Kind::NetlinkMonitor => "netlink monitor",
            Kind::Ipvs => "ipvs",
            Kind::IpvsSync => "ipvs sync",
            Kind::Health => "health",
            Kind::Control => "control",
            Kind::Track => "track",
            Kind::Metrics => "metrics",
            Kind::Bgp => "bgp",
            Kind::Main => "main",
        }
    }
}
