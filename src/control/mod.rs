//! Control protocol: request/response over a unix stream socket.
//!
//! Owns: the wire format of the control socket ([`encode_frame`] /
//! [`decode_frame`]: one version byte, a big-endian u32 length, then a
//! postcard payload, at most [`MAX_FRAME`] bytes; a request the server
//! reads at most [`MAX_REQUEST`]), the messages ([`Request`],
//! [`Response`], [`Status`]), the daemon-side server ([`serve`], at most
//! [`CONNECTIONS_MAX`] connections at once, each peer's rights from its
//! credentials: see [`access`]) and the blocking client ([`query`])
//! `vigil status` uses. A frame's bytes are read as they come, never
//! allocated ahead from the length a peer claims.
//! Must not: hold protocol state or locks around it: the server reads the
//! instance tasks' published snapshots (`tokio::sync::watch`), never the
//! machines.
//!
//! postcard is not self-describing: any change to a message's fields
//! changes the format, so it needs a new [`PROTOCOL_VERSION`]; a peer with
//! another version gets a clear error, not garbage.

pub mod access;
pub mod commit;
pub mod reload;
pub mod render;

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

#[cfg(feature = "fault-hooks")]
use crate::daemon::supervisor::Fault;
use crate::daemon::supervisor::{Heartbeat, Supervisor, TaskView};
use crate::watchdog;
pub use commit::{
    AutoRollback, CommitOutcome, CommitReport, CommitSource, CommitStatus, HistoryEntry,
    PendingCommit,
};
pub use reload::{
    Change, Diff, IpvsApply, LastReload, Line, NotApplied, Pending, ReloadCounts, ReloadOutcome,
    ReloadReport,
};

/// Version byte of every frame.
pub const PROTOCOL_VERSION: u8 = 23;
/// Header: version byte + u32 length.
pub const HEADER_LEN: usize = 5;
/// Largest payload either side accepts: a status of ten times the
/// largest table the config allows (1,024 x 1,024 destinations) fits.
pub const MAX_FRAME: usize = 256 << 20;
/// Largest request the server reads: a commit of the largest config file
/// (`config::syntax::MAX_FILE_BYTES`) and its comment fit.
pub const MAX_REQUEST: usize = crate::config::syntax::MAX_FILE_BYTES as usize + (64 << 10);
/// Request bytes being read at once over every connection, in KiB: two
/// requests at the bound. Connections whose requests would pass it wait
/// their turn (inside the request's time bound), so sixteen peers cannot
/// make the daemon hold sixteen of the largest requests.
const REQUESTS_IN_FLIGHT_KIB: usize = 2 * MAX_REQUEST / 1024;
/// Connections served at once; more wait in the listen backlog.
pub const CONNECTIONS_MAX: usize = 16;
/// Where `vigil run` listens and `vigil status` connects by default.
pub const DEFAULT_PATH: &str = "/run/vigil/control.sock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Status,
    /// Re-read the config source and apply what changed (`vigil reload`).
    Reload,
    /// A hitless restart (`vigil restart`): exec the binary again in place,
    /// handing over VRRP and health states.
    Restart,
    /// Validate `config_text` as `vigil config check` does, write it to
    /// the store as a new commit and apply it as a reload does (`vigil
    /// commit`). Only a daemon run with `--store`.
    Commit(CommitAsk),
    /// Validate `config_text` only; nothing is written.
    CommitCheck {
        config_text: String,
    },
    /// Confirm the pending commit confirmed.
    Confirm,
    /// A new commit of commit `seq`'s config, applied.
    Rollback {
        seq: u64,
        comment: Option<String>,
    },
    /// The store's commit history, newest first.
    History,
    /// The config the daemon runs, as text, and the commit it is (the
    /// console's candidate starts from it).
    Running,
    /// The config of commit `seq` of the store's history, as text (the
    /// console's `rollback N`).
    ConfigOf {
        seq: u64,
    },
    /// Drain the box (`true`: `vigil drain`) or take it back
    /// (`vigil undrain`): what the `bgp` block's `drain` says is done to
    /// the announced routes.
    Drain {
        on: bool,
    },
    /// Test builds only (`fault-hooks`): make a supervised task panic,
    /// stall or end at its next check-in.
    #[cfg(feature = "fault-hooks")]
    Fault {
        task: String,
        fault: Fault,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Status(Box<Status>),
    Reloaded(ReloadReport),
    Restarting(RestartReport),
    /// The answer to `Commit`, `CommitCheck`, `Confirm` and `Rollback`.
    Committed(CommitReport),
    History(Vec<HistoryEntry>),
    /// The answer to `Running` and `ConfigOf`.
    Config(ConfigText),
    Error(String),
    /// The answer to `Drain`: the box's drain now, and what it does.
    Drained {
        on: bool,
        drain: String,
    },
    /// A [`Request::Fault`] was armed.
    #[cfg(feature = "fault-hooks")]
    FaultArmed,
}

/// A commit asked for ([`Request::Commit`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CommitAsk {
    /// The whole config, keepalived.conf syntax.
    pub config_text: String,
    /// Kept with the commit (at most 256 bytes).
    pub comment: Option<String>,
    /// Who commits (at most 32 bytes).
    pub user: Option<String>,
    /// A commit confirmed: rolled back unless confirmed within this
    /// window.
    pub confirm: Option<crate::daemon::confirm::Window>,
    /// The newest seq the candidate was made from: refused when the store
    /// has moved on since.
    pub base_seq: Option<u64>,
}

/// A config as text: the answer to [`Request::Running`] and
/// [`Request::ConfigOf`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConfigText {
    /// keepalived.conf syntax, as `vigil config export` writes it.
    pub text: String,
    /// The store's commit it is; `None`: a file or the factory default.
    /// A commit based on the running one sends this (0 for none) as its
    /// base.
    pub seq: Option<u64>,
    /// Where it came from, as `vigil status` says it.
    pub source: String,
}

/// The answer to [`Request::Restart`], sent before the exec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RestartReport {
    /// `false`: refused, nothing stopped (the reasons are in `lines`).
    pub accepted: bool,
    pub lines: Vec<String>,
}

/// What `vigil status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    /// Where the config came from (file path or store).
    pub source: String,
    pub uptime_ms: u64,
    pub instances: Vec<InstanceStatus>,
    /// One per (interface, family) receive socket.
    pub receivers: Vec<ReceiverStatus>,
    /// The IPVS table; `None` when the IPVS task does not run (a config
    /// without virtual_server).
    pub ipvs: Option<IpvsStatus>,
    /// The last reload; `None` before the first.
    pub reload: Option<LastReload>,
    /// Reloads since the daemon started, by outcome.
    pub reloads: ReloadCounts,
    /// Settings of the loaded config the running daemon has not applied
    /// (they need a restart); empty: everything applies.
    pub pending: Vec<Pending>,
    /// What this process took over from the one before it (a hitless
    /// restart), in one line; `None` after a plain start.
    pub resumed: Option<String>,
    /// Every supervised task, by name.
    pub tasks: Vec<TaskStatus>,
    /// What of the `appliance` block's set-up failed at its last apply
    /// (a missing NIC, a refused address or route, an unwritable sysctl),
    /// one line each; empty: all of it applied (or it does not apply).
    pub appliance: Vec<String>,
    /// The hardware watchdog and systemd's.
    pub watchdog: WatchdogStatus,
    /// Every tracked script (`vrrp_script` some instance tracks).
    pub scripts: Vec<ScriptStatus>,
    /// A commit confirmed waiting, and the last automatic rollback.
    pub commit: CommitStatus,
    /// Warnings about the loaded config, one line each (scripts that run
    /// as root: `notify::script::root_warning`); empty: none.
    pub warnings: Vec<String>,
    /// How late each of the daemon's runtimes ran its timers
    /// (`daemon::stall`): main, vrrp.
    pub runtimes: Vec<RuntimeStatus>,
    /// The anycast side (`bgp` block); `None` without one.
    pub bgp: Option<BgpStatus>,
}

impl Status {
    /// Its IPVS destination rows, every service's together: what its size
    /// grows with.
    pub fn dest_rows(&self) -> usize {
        self.ipvs
            .as_ref()
            .map_or(0, |t| t.services.iter().map(|v| v.dests.len()).sum())
    }
}

/// What the BGP task (`bgp::task`) knows: BIRD, its sessions, what is
/// announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BgpStatus {
    /// Why BIRD's control socket did not answer the last time; `None`:
    /// it answered.
    pub bird_error: Option<String>,
    /// For how long it has not answered.
    pub bird_down_secs: Option<u64>,
    /// The pid of the BIRD that last answered.
    pub bird_pid: Option<i32>,
    /// BIRDs seen to replace another (a new pid answering) since this
    /// task started: a restart between two reads is counted too.
    pub bird_restarts: u32,
    /// Writing BIRD's config failed, or BIRD refused it.
    pub config_error: Option<String>,
    pub neighbors: Vec<BgpNeighborStatus>,
    /// Anycast addresses announced now.
    pub announced: Vec<String>,
    /// Anycast addresses not announced: a service of theirs has no quorum
    /// or is not in the kernel's table, or the box is drained.
    pub withheld: Vec<String>,
    pub drained: bool,
    /// What a drain does: `withdraw` or `prepend N`.
    pub drain: String,
    /// The IPVS task's first pass has not said yet what serves (BIRD
    /// keeps what it announced).
    pub waiting_first_pass: bool,
}

/// One neighbour's session, as BIRD reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BgpNeighborStatus {
    pub address: String,
    pub remote_as: u32,
    /// BIRD's BGP state (`Established`, `Active`, `Connect`, ...).
    pub session: String,
    pub last_error: Option<String>,
    /// Routes exported to it.
    pub exported: Option<u32>,
}

/// One runtime's stalls since the daemon started (`daemon::stall`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeStatus {
    /// "main" (control, IPVS, health, supervisor) or "vrrp".
    pub name: String,
    /// The latest its timers ever ran, in microseconds.
    pub worst_stall_us: u64,
    /// Times its timers ran at least 250 ms late.
    pub stalls: u64,
}

/// The box's watchdogs as `vigil status` shows them (from
/// `watchdog::Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WatchdogStatus {
    pub state: WatchdogState,
    /// The device path; empty when unused.
    pub device: String,
    /// The driver's name for itself, once open ("i6300ESB timer").
    pub identity: Option<String>,
    /// The timeout the hardware runs with, once open.
    pub timeout_s: Option<u64>,
    /// Withheld: the tasks that were late.
    pub late: Vec<String>,
    /// Failed: why.
    pub error: Option<String>,
    /// The hardware said at start that the last reset was its own
    /// (WDIOF_CARDRESET).
    pub reset_by_watchdog: bool,
    /// The boot status in words, once open ("last reset by the watchdog").
    pub boot: Option<String>,
    /// systemd's `WatchdogSec`, when it watches vigil.
    pub systemd_ms: Option<u64>,
}

/// Where the hardware watchdog stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum WatchdogState {
    /// Not the appliance: left alone.
    #[default]
    Unused,
    /// Waiting for the device to appear (a driver loading late).
    Opening,
    /// No device: vigil runs without one.
    Absent,
    /// There, but vigil cannot drive it.
    Failed,
    /// Open and petted while every task is alive.
    Petting,
    /// A task was late: no more pets, the box resets.
    Withheld,
    /// Disarmed by a deliberate stop.
    Disarmed,
}

impl WatchdogState {
    pub const fn name(self) -> &'static str {
        match self {
            WatchdogState::Unused => "unused",
            WatchdogState::Opening => "opening",
            WatchdogState::Absent => "absent",
            WatchdogState::Failed => "failed",
            WatchdogState::Petting => "petting",
            WatchdogState::Withheld => "withheld",
            WatchdogState::Disarmed => "disarmed",
        }
    }
}

impl From<&watchdog::Status> for WatchdogStatus {
    fn from(w: &watchdog::Status) -> Self {
        use watchdog::{HardwareState as H, Pets};
        let mut out = WatchdogStatus {
            systemd_ms: w.systemd.map(|d| d.as_millis() as u64),
            ..WatchdogStatus::default()
        };
        match &w.hardware {
            H::Unused => {}
            H::Opening { device } => {
                out.state = WatchdogState::Opening;
                out.device = device.display().to_string();
            }
            H::Absent { device } => {
                out.state = WatchdogState::Absent;
                out.device = device.display().to_string();
            }
            H::Failed(e) => {
                out.state = WatchdogState::Failed;
                out.device = match &**e {
                    watchdog::Error::Open { device, .. }
                    | watchdog::Error::Ioctl { device, .. }
                    | watchdog::Error::MagicClose { device, .. } => device.display().to_string(),
                    watchdog::Error::Notify { .. } => String::new(),
                };
                out.error = Some(e.to_string());
            }
            H::Armed { armed, pets } => {
                out.state = match pets {
                    Pets::Petting => WatchdogState::Petting,
                    Pets::Withheld { late } => {
                        out.late = late.clone();
                        WatchdogState::Withheld
                    }
                    Pets::Disarmed => WatchdogState::Disarmed,
                };
                out.device = armed.device.display().to_string();
                out.identity = Some(armed.identity.clone());
                out.timeout_s = Some(armed.timeout.as_secs());
                out.reset_by_watchdog = armed.boot.reset_by_watchdog();
                out.boot = Some(armed.boot.to_string());
            }
        }
        out
    }
}

/// A tracked script as `vigil status` shows it (`track::Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScriptStatus {
    pub name: String,
    /// INIT (no result yet), OK or FAIL.
    pub state: String,
    /// How its last run ended ("exit 0", "signal 9", "timed out", "not
    /// run"); empty before the first.
    pub last: String,
    /// Runs of a script, reads of a file.
    pub runs: u64,
    /// A `track_file`'s number (its `state` is OK at 0, else FAIL);
    /// `None` for a script. Since protocol 13.
    pub value: Option<i64>,
}

impl From<&crate::track::Status> for ScriptStatus {
    fn from(s: &crate::track::Status) -> Self {
        use crate::track::Run;
        let last = match s.last {
            None => String::new(),
            Some(Run::Exited(c)) => format!("exit {c}"),
            Some(Run::Signaled(sig)) => format!("signal {sig}"),
            Some(Run::TimedOut) => "timed out".into(),
            Some(Run::NotRun) => "not run".into(),
        };
        ScriptStatus {
            name: s.name.clone(),
            state: s.state.as_str().into(),
            last,
            runs: s.runs,
            value: s.value,
        }
    }
}

/// A supervised task as `vigil status` shows it (`daemon::supervisor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskStatus {
    /// "instance VI_1", "receive eth0 v4", "ipvs", ...
    pub name: String,
    /// instance, receive, link dispatcher, netlink monitor, ipvs, ipvs
    /// sync, health, control, main.
    pub kind: String,
    /// running, stalled (missed its deadline), restarting, ended.
    pub state: String,
    /// Since its last check-in.
    pub check_in_age_ms: u64,
    /// `None`: only its end is watched.
    pub deadline_ms: Option<u64>,
    /// Restarts since the daemon started.
    pub restarts: u32,
    /// How its last incarnation stopped, in words.
    pub last_stop: Option<String>,
}

impl From<&TaskView> for TaskStatus {
    fn from(v: &TaskView) -> Self {
        TaskStatus {
            name: v.name.clone(),
            kind: v.kind.name().to_owned(),
            state: v.state.name().to_owned(),
            check_in_age_ms: v.check_in_age.as_millis() as u64,
            deadline_ms: v.deadline.map(|d| d.as_millis() as u64),
            restarts: v.restarts,
            last_stop: v.last_stop.as_ref().map(ToString::to_string),
        }
    }
}

/// The counts of the IPVS status the service line shows on every tick
/// (`daemon::service::line`), kept current by the IPVS task after every
/// pass and table refresh (`ipvs::status::summary`) without building the
/// status itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpvsSummary {
    /// The config's services and the retired ones still in the table.
    pub services: usize,
    /// Their destinations up or unchecked, of `all`.
    pub up: usize,
    pub all: usize,
    /// As [`IpvsStatus::error`].
    pub error: Option<String>,
}

impl IpvsSummary {
    /// The counts of a built status: what the summary stands for (the
    /// tests' measure of `ipvs::status::summary`, which counts without
    /// building the status).
    #[cfg(test)]
    pub fn of(t: &IpvsStatus) -> Self {
        let dests = t.services.iter().flat_map(|v| &v.dests);
        let (up, all) = dests.fold((0, 0), |(up, all), d| {
            let counted = d.health == "up" || d.health == "unchecked";
            (up + usize::from(counted), all + 1)
        });
        IpvsSummary {
            services: t.services.len(),
            up,
            all,
            error: t.error.clone(),
        }
    }
}

/// How long a reader waits for the IPVS task to build its status (a pass
/// at the config's bounds keeps the task busy for seconds): below
/// `vigil status`'s own bound of 5 s, so that it shows why.
pub const IPVS_ASK_BOUND: Duration = Duration::from_secs(4);

/// The IPVS task's status as its readers reach it: built when asked (a
/// status of 100,000 destinations is some 35 MB and was most of the
/// daemon's idle CPU when it was rebuilt every 2 s), and the summary,
/// always current. Cheap to clone.
#[derive(Debug, Clone)]
pub struct IpvsReader {
    pub ask: mpsc::Sender<oneshot::Sender<IpvsStatus>>,
    pub summary: watch::Receiver<IpvsSummary>,
    /// False until the task's first pass: its status is then
    /// `ipvs::FIRST_PASS_PENDING` alone, answered without asking.
    pub passed: watch::Receiver<bool>,
}

impl IpvsReader {
    /// The status, built now by the IPVS task; before its first pass, or
    /// when it does not answer within [`IPVS_ASK_BOUND`], the summary's
    /// error alone (or why it did not answer).
    pub async fn status(&self) -> IpvsStatus {
        let only = |error: String| IpvsStatus {
            error: Some(error),
            ..IpvsStatus::default()
        };
        if !*self.passed.borrow() {
            let pending = self.summary.borrow().error.clone();
            return only(pending.unwrap_or_default());
        }
        let (tx, rx) = oneshot::channel();
        if self.ask.send(tx).await.is_err() {
            return only("the IPVS task is not running".into());
        }
        match tokio::time::timeout(IPVS_ASK_BOUND, rx).await {
            Ok(Ok(t)) => t,
            Ok(Err(_)) => only("the IPVS task is not running".into()),
            Err(_) => only(format!(
                "the IPVS task did not answer within {} s (a pass at this size?)",
                IPVS_ASK_BOUND.as_secs()
            )),
        }
    }
}

/// The IPVS table as `vigil status` shows it (built by `ipvs::task` when
/// asked: [`IpvsReader`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IpvsStatus {
    /// The services the config owns, in config order.
    pub services: Vec<IpvsServiceStatus>,
    /// Services in the kernel that vigil leaves alone.
    pub foreign: Vec<String>,
    /// Why the kernel cannot be (fully) programmed, e.g. "ip_vs module not
    /// loaded"; `None` when the last pass applied everything.
    pub error: Option<String>,
    /// The connection sync daemon in one line (`ipvs::sync::status_line`);
    /// `None` without `lvs_sync_daemon`.
    pub sync_daemon: Option<String>,
    /// How long ago, in ms, the whole table was last read: the kernel's
    /// counters and connection counts shown are at most this old. A large
    /// table is read less often than every 2 s (`ipvs::refresh`). `None`:
    /// not read yet.
    pub counters_age_ms: Option<u64>,
    /// The time, in ms, from one read of the whole table to the next at
    /// its size (2,000 for a small table); `None` with `counters_age_ms`.
    pub counters_every_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IpvsServiceStatus {
    /// As the kernel names it: "TCP 192.168.1.200:80", "FWM 1".
    pub service: String,
    /// Whether the kernel has it (else: what vigil wants, not yet there).
    pub in_table: bool,
    pub scheduler: String,
    /// Persistence timeout in seconds, when persistent.
    pub persistent: Option<u32>,
    /// Persistence mask when persistent and not one client address, as
    /// ipvsadm prints it ("255.255.255.0"; a prefix length for IPv6).
    pub mask: Option<String>,
    pub dests: Vec<IpvsDestStatus>,
    /// The kernel's counters of the service (`ipvsadm -Ln --stats`), as of
    /// the IPVS task's last dump; `None`: not in the table.
    pub counters: Option<IpvsCounters>,
    /// Its health checks by checker kind (a group's, under its first
    /// service).
    pub checks: Vec<IpvsCheckStats>,
    /// The scheduler flags and `ops` set, by keepalived's names
    /// ("sh-port", "flag-3", "ops").
    pub flags: Vec<String>,
    /// An anycast service whose kernel destination list is not in config
    /// order: a box starting afresh would build another `mh` table.
    pub misordered: bool,
}

/// Health checks of one kind on the real servers of a service, since
/// the daemon started (commits carry them over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IpvsCheckStats {
    /// The checker's keyword (TCP_CHECK, HTTP_GET, ...).
    pub checker: String,
    /// Checks by latency, not cumulative: one count per bound of
    /// `health::tally::BOUNDS_US`, then the one above them all.
    pub latency_buckets: Vec<u64>,
    pub latency_sum_us: u64,
    pub count: u64,
    /// Failed checks by reason (`health::outcome::Reason`'s words), every
    /// reason the checker can report, 0 included.
    pub failures: Vec<(String, u64)>,
    /// Checks not made for a reason of this box (no file descriptor, no
    /// buffer, no local port), by errno (`health::local::LocalError`'s
    /// words), every one, 0 included: not failures.
    #[serde(default)]
    pub local_errors: Vec<(String, u64)>,
}

/// The kernel's cumulative counters of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IpvsCounters {
    pub connections: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IpvsDestStatus {
    pub dest: String,
    /// ipvsadm's word: Route, Masq, Tunnel. The words here and in
    /// `health` and `last` are borrowed when they are fixed: a status at
    /// the config's bound has 100,000 rows, built every 2 s beside the one
    /// published.
    pub method: Cow<'static, str>,
    /// `None`: configured but not in the kernel's table (failed, removed).
    pub weight: Option<u32>,
    pub active: u32,
    pub inactive: u32,
    /// up, down, unchecked (no checker), sorry (the sorry server),
    /// draining (removed by config, see `ipvs::task`), removed, unknown.
    pub health: Cow<'static, str>,
    /// The last check result: "ok", the failure, or "none" yet.
    pub last: Cow<'static, str>,
    /// Consecutive failed checks (the longest streak of its checkers).
    pub failures: u32,
    /// The weight a `misc_dynamic` MISC_CHECK set (exit status - 2), which
    /// vigil puts in the table in place of the configured one; `None`:
    /// none set.
    pub dynamic_weight: Option<u32>,
    /// The kernel's counters of the destination; `None`: not in the table.
    pub counters: Option<IpvsCounters>,
    /// Health checks done, all its checkers together, since the daemon
    /// started (commits carry them over).
    pub checks_done: u64,
    /// Of those, the failed ones.
    pub checks_failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InstanceStatus {
    pub name: String,
    /// MASTER, BACKUP, FAULT, INIT, or ERROR (could not start, see `error`).
    pub state: String,
    pub interface: String,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// 4 or 6.
    pub family: u8,
    pub priority: u8,
    pub effective_priority: u8,
    /// "self" when MASTER, the source of the last accepted advert, or "".
    pub master: String,
    pub advert_interval_ms: u32,
    /// Filled by the server at request time.
    pub in_state_ms: u64,
    pub error: Option<String>,
    /// Adverts this instance's task sent, accepted (past the receive
    /// checks), and its state changes, since the task started.
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub transitions: u64,
    /// Netlink calls for its `virtual_routes` and `virtual_rules` that
    /// failed (each logged), since the task started.
    pub route_errors: u64,
    /// Times another MAC claimed one of its VIPs while it was MASTER
    /// (`vrrp::arpwatch`).
    pub arp_theft: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReceiverStatus {
    pub interface: String,
    pub family: u8,
    /// Datagrams the receive checks dropped, by `vrrp::filter::DropReason`
    /// name, non-zero ones only, in that enum's order (plus
    /// `address_list_mismatch`: adverts taken whose address list differs).
    /// Each datagram is judged once here, for every instance on the
    /// socket; the one count of it.
    pub drops: Vec<(String, u64)>,
    /// Datagrams the kernel dropped before the checks, the socket's
    /// buffer being full (SO_RXQ_OVFL).
    pub kernel_dropped: u64,
    /// Accepted adverts dropped because their instance's queue was full.
    pub queue_full: u64,
    /// Times the receive task was restarted after an error or a panic.
    pub restarts: u64,
}

/// An instance task's published state; `since` becomes `in_state_ms`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: InstanceStatus,
    pub since: Instant,
}

/// Frame errors, each with what was wrong.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("frame truncated: have {have} bytes, need {need}")]
    Truncated { have: usize, need: usize },
    #[error("protocol version {got}, this vigil speaks {want}")]
    Version { got: u8, want: u8 },
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("bad payload")]
    Payload(#[source] postcard::Error),
    #[error("control socket i/o")]
    Io(#[source] io::Error),
}

/// Encodes one message as a frame.
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let payload = postcard::to_allocvec(msg).map_err(FrameError::Payload)?;
    if payload.len() > MAX_FRAME {
        return Err(FrameError::TooLarge {
            len: payload.len(),
            max: MAX_FRAME,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(PROTOCOL_VERSION);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Checks a header; returns the payload length.
pub fn decode_header(h: &[u8]) -> Result<usize, FrameError> {
    if h.len() < HEADER_LEN {
        return Err(FrameError::Truncated {
            have: h.len(),
            need: HEADER_LEN,
        });
    }
    if h[0] != PROTOCOL_VERSION {
        return Err(FrameError::Version {
            got: h[0],
            want: PROTOCOL_VERSION,
        });
    }
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    Ok(len)
}

/// Decodes one whole frame; returns the message and the bytes used.
pub fn decode_frame<T: for<'de> Deserialize<'de>>(buf: &[u8]) -> Result<(T, usize), FrameError> {
    let len = decode_header(buf)?;
    let need = HEADER_LEN + len;
    let Some(payload) = buf.get(HEADER_LEN..need) else {
        return Err(FrameError::Truncated {
            have: buf.len(),
            need,
        });
    };
    let msg = postcard::from_bytes(payload).map_err(FrameError::Payload)?;
    Ok((msg, need))
}

fn read_frame_sync<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> Result<T, FrameError> {
    let mut h = [0u8; HEADER_LEN];
    r.read_exact(&mut h).map_err(FrameError::Io)?;
    let len = decode_header(&h)?;
    let mut buf = h.to_vec();
    r.take(len as u64)
        .read_to_end(&mut buf)
        .map_err(FrameError::Io)?;
    decode_frame(&buf).map(|(m, _)| m)
}

/// Blocking client: one request, one response, bounded by `timeout`.
pub fn query(path: &Path, req: &Request, timeout: Duration) -> Result<Response, FrameError> {
    let mut s = std::os::unix::net::UnixStream::connect(path).map_err(FrameError::Io)?;
    s.set_read_timeout(Some(timeout)).map_err(FrameError::Io)?;
    s.set_write_timeout(Some(timeout)).map_err(FrameError::Io)?;
    s.write_all(&encode_frame(req)?).map_err(FrameError::Io)?;
    read_frame_sync(&mut s)
}

impl From<crate::daemon::stall::Reading> for RuntimeStatus {
    fn from(r: crate::daemon::stall::Reading) -> Self {
        RuntimeStatus {
            name: r.name.to_owned(),
            worst_stall_us: r.worst_us,
            stalls: r.stalls,
        }
    }
}

/// A reload asked for over the socket, and where its report goes.
pub type ReloadRequest = oneshot::Sender<ReloadReport>;

/// A commit-family request handed to the main loop, and where its answer
/// goes (one at a time: the main loop serializes them).
pub struct CommitJob {
    pub request: Request,
    pub reply: oneshot::Sender<Response>,
}

/// A restart asked for over the socket: where its report goes, and the
/// signal that the report was written to the client (the daemon execs only
/// after it, or after a bound).
pub struct RestartRequest {
    pub reply: oneshot::Sender<RestartReport>,
    pub written: oneshot::Receiver<()>,
}

/// What the server answers from.
pub struct Published {
    pub started: Instant,
    /// The sync daemon task's line, when `lvs_sync_daemon` is configured.
    pub sync_daemon: Option<watch::Receiver<String>>,
    /// What a reload changes: source, instances, IPVS task, last reload,
    /// pending.
    pub config: watch::Receiver<ConfigState>,
    /// Where `Request::Reload` goes (the daemon's main loop).
    pub reload: mpsc::Sender<ReloadRequest>,
    /// Where `Request::Restart` goes (the daemon's main loop).
    pub restart: mpsc::Sender<RestartRequest>,
    /// Where the commit-family requests go (the daemon's main loop).
    pub commit: mpsc::Sender<CommitJob>,
    /// See [`Status::resumed`].
    pub resumed: Option<String>,
    /// The supervisor, asked for [`Status::tasks`] at request time.
    pub tasks: Option<Supervisor>,
    /// The watchdog task's state; `None`: no watchdog task.
    pub watchdog: Option<watch::Receiver<watchdog::Status>>,
    /// The tracked scripts' table (`daemon::scripts`).
    pub scripts: Option<watch::Receiver<crate::track::Table>>,
    /// The runtimes' stall meters.
    pub runtimes: Vec<std::sync::Arc<crate::daemon::stall::Meter>>,
    /// The BGP task's status (`None` inside: no `bgp` block).
    pub bgp: watch::Receiver<Option<BgpStatus>>,
    /// The box's drain (`vigil drain`).
    pub drain: Option<std::sync::Arc<crate::bgp::drain::Drain>>,
}

/// The part of [`Published`] a reload replaces.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    /// Where the config came from (file path or store slot).
    pub source: String,
    /// Every configured VRRP instance, in config order.
    pub instances: Vec<watch::Receiver<Snapshot>>,
    /// One per (interface, family) receive socket.
    pub receivers: Vec<watch::Receiver<ReceiverStatus>>,
    /// The IPVS task's status, when it runs.
    pub ipvs: Option<IpvsReader>,
    pub reload: Option<LastReload>,
    pub reloads: ReloadCounts,
    pub pending: Vec<Pending>,
    /// The appliance set-up's failures at its last apply.
    pub appliance: Vec<String>,
    /// A commit confirmed waiting, and the last automatic rollback.
    pub commit: CommitStatus,
    /// Warnings about the loaded config (see [`Status::warnings`]).
    pub warnings: Vec<String>,
}

/// How long the server waits for the daemon to finish a reload.
pub const RELOAD_BOUND: Duration = Duration::from_secs(60);

impl Published {
    /// The status without the IPVS table (`ipvs: None`): cheap whatever
    /// the table's size; [`Published::ipvs_summary`] has its counts.
    pub fn status_without_ipvs(&self) -> Status {
        let now = Instant::now();
        let config = self.config.borrow().clone();
        Status {
            source: config.source.clone(),
            uptime_ms: now.duration_since(self.started).as_millis() as u64,
            instances: config
                .instances
                .iter()
                .map(|r| {
                    let s = r.borrow();
                    let mut st = s.status.clone();
                    st.in_state_ms = now.duration_since(s.since).as_millis() as u64;
                    st
                })
                .collect(),
            receivers: config
                .receivers
                .iter()
                .map(|r| r.borrow().clone())
                .collect(),
            ipvs: None,
            reload: config.reload,
            reloads: config.reloads,
            pending: config.pending,
            resumed: self.resumed.clone(),
            tasks: Vec::new(),
            appliance: config.appliance,
            warnings: config.warnings,
            commit: config.commit,
            watchdog: self
                .watchdog
                .as_ref()
                .map(|w| WatchdogStatus::from(&*w.borrow()))
                .unwrap_or_default(),
            scripts: self
                .scripts
                .as_ref()
                .map(|t| t.borrow().iter().map(ScriptStatus::from).collect())
                .unwrap_or_default(),
            runtimes: (self.runtimes.iter())
                .map(|m| RuntimeStatus::from(m.reading()))
                .collect(),
            bgp: self.bgp.borrow().clone(),
        }
    }

    /// Drains or undrains the box (`vigil drain` / `vigil undrain`).
    async fn drain(&self, on: bool) -> Response {
        let (Some(d), Some(s)) = (&self.drain, self.bgp.borrow().clone()) else {
            return Response::Error("no bgp block: this box announces nothing to drain".into());
        };
        let d = d.clone();
        match tokio::task::spawn_blocking(move || d.set(on)).await {
            Ok(Ok(())) => {
                tracing::warn!(
                    drained = on,
                    "bgp: box {}",
                    if on { "drained" } else { "undrained" }
                );
                Response::Drained { on, drain: s.drain }
            }
            Ok(Err(e)) => Response::Error(format!("cannot record the drain: {e}")),
            Err(e) => Response::Error(format!("cannot record the drain: {e}")),
        }
    }

    /// The IPVS status's counts (`None`: no IPVS task).
    pub fn ipvs_summary(&self) -> Option<IpvsSummary> {
        let c = self.config.borrow();
        c.ipvs.as_ref().map(|r| r.summary.borrow().clone())
    }

    /// The whole status, with the supervised tasks (what `vigil status`
    /// and the metrics endpoint show). The IPVS task builds its part now
    /// (on its blocking pool, not on the runtime that runs the daemon's
    /// tasks).
    pub async fn status_with_tasks(&self) -> Status {
        let mut s = self.status_without_ipvs();
        let (reader, sync) = (self.config.borrow().ipvs.clone(), self.sync_daemon.clone());
        s.ipvs = ipvs_with_sync(reader.as_ref(), sync.as_ref()).await;
        if let Some(sup) = &self.tasks {
            s.tasks = sup.status().await.iter().map(TaskStatus::from).collect();
        }
        s
    }

    /// Arms a fault in a supervised task.
    #[cfg(feature = "fault-hooks")]
    async fn fault(&self, task: &str, fault: Fault) -> Response {
        let Some(sup) = &self.tasks else {
            return Response::Error("no supervisor".into());
        };
        match sup.inject(task, fault).await {
            Ok(()) => Response::FaultArmed,
            Err(e) => Response::Error(e.to_string()),
        }
    }

    /// Hands a reload to the daemon and waits for its report.
    async fn reload(&self) -> Response {
        let (tx, rx) = oneshot::channel();
        if self.reload.send(tx).await.is_err() {
            return Response::Error("the daemon is shutting down".into());
        }
        match tokio::time::timeout(RELOAD_BOUND, rx).await {
            Ok(Ok(r)) => Response::Reloaded(r),
            Ok(Err(_)) => Response::Error("the reload was dropped".into()),
            Err(_) => Response::Error(format!(
                "no reload report within {RELOAD_BOUND:?}; see the journal"
            )),
        }
    }

    /// Hands a commit-family request to the daemon and waits for its
    /// answer.
    async fn commit(&self, request: Request) -> Response {
        let (reply, rx) = oneshot::channel();
        if self
            .commit
            .send(CommitJob { request, reply })
            .await
            .is_err()
        {
            return Response::Error("the daemon is shutting down".into());
        }
        match tokio::time::timeout(RELOAD_BOUND, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Response::Error("the commit was dropped".into()),
            Err(_) => Response::Error(format!(
                "no commit report within {RELOAD_BOUND:?}; see the journal"
            )),
        }
    }

    /// Hands a restart to the daemon; with its report, the sender to
    /// answer once the report is written.
    async fn restart(&self) -> (Response, Option<oneshot::Sender<()>>) {
        let (tx, rx) = oneshot::channel();
        let (written, wrx) = oneshot::channel();
        let req = RestartRequest {
            reply: tx,
            written: wrx,
        };
        if self.restart.send(req).await.is_err() {
            return (Response::Error("the daemon is shutting down".into()), None);
        }
        match tokio::time::timeout(RELOAD_BOUND, rx).await {
            Ok(Ok(r)) => (Response::Restarting(r), Some(written)),
            Ok(Err(_)) => (Response::Error("the restart was dropped".into()), None),
            Err(_) => (
                Response::Error(format!(
                    "no restart report within {RELOAD_BOUND:?}; see the journal"
                )),
                None,
            ),
        }
    }
}

/// The IPVS task's status with the sync daemon's line; the line alone
/// when only `lvs_sync_daemon` is configured.
async fn ipvs_with_sync(
    ipvs: Option<&IpvsReader>,
    sync_daemon: Option<&watch::Receiver<String>>,
) -> Option<IpvsStatus> {
    let mut t = match ipvs {
        Some(r) => Some(r.status().await),
        None => None,
    };
    if let Some(line) = sync_daemon {
        t.get_or_insert_with(IpvsStatus::default).sync_daemon = Some(line.borrow().clone());
    }
    t
}

/// Binds the control socket: creates the directory, removes a stale
/// socket file (only a socket, never another kind of file; the caller
/// holds the [`access::lock`], so it is not another daemon's), and
/// restricts the file to root or `group` ([`access::restrict`]).
pub fn bind(path: &Path, group: Option<u32>) -> io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    if let Ok(md) = std::fs::symlink_metadata(path) {
        if md.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    access::restrict(path, group)?;
    Ok(listener)
}

/// Serves requests forever; each connection is its own short task, at
/// most [`CONNECTIONS_MAX`] at once. Checks in with `hb` on every turn of
/// its accept loop and idle tick.
pub async fn serve(
    listener: tokio::net::UnixListener,
    published: std::sync::Arc<Published>,
    hb: Heartbeat,
) {
    let mut idle = hb.ticker();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTIONS_MAX));
    let budget = std::sync::Arc::new(tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT_KIB));
    let own_uid = access::own_uid();
    loop {
        hb.check_in().await;
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s,
            _ = idle.tick() => continue,
        };
        let Ok(slot) = slot else { return };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = idle.tick() => continue,
        };
        let (mut conn, _) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (published, budget) = (published.clone(), budget.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let read = tokio::time::timeout(REQUEST_BOUND, read_request(&mut conn, &budget)).await;
            let mut after = None;
            let resp = match read {
                Ok(Ok(Ok(req))) => match permitted(&conn, &req, own_uid) {
                    Ok(()) => answer(req, &published, &mut after).await,
                    Err(denied) => Response::Error(denied),
                },
                Ok(Ok(Err(e))) => Response::Error(e.to_string()),
                Ok(Err(e)) => return tracing::debug!(error = %e, "control connection"),
                Err(_) => return tracing::debug!("control connection timed out"),
            };
            let rows = match &resp {
                Response::Status(s) => s.dest_rows(),
                _ => 0,
            };
            // A status at the config's bounds is a frame of over 100 MB:
            // encoded on the blocking pool, not the daemon's runtime.
            let write = async {
                let frame = tokio::task::spawn_blocking(move || encode_frame(&resp))
                    .await
                    .map_err(|e| FrameError::Io(io::Error::other(e)))??;
                conn.write_all(&frame).await.map_err(FrameError::Io)
            };
            match tokio::time::timeout(REQUEST_BOUND, write).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "control connection"),
                Err(_) => tracing::debug!("control connection timed out"),
            }
            // Written or not: the daemon need not wait any longer.
            if let Some(w) = after {
                let _ = w.send(());
            }
            // The status and its frame are dropped by now.
            if crate::mem::status_was_peak(rows) {
                let _ = tokio::task::spawn_blocking(crate::mem::trim).await;
            }
        });
    }
}

/// Whether the peer of `conn` may send `req` (see [`access`]); a peer
/// whose credentials cannot be read may only read.
fn permitted(conn: &tokio::net::UnixStream, req: &Request, own_uid: u32) -> Result<(), String> {
    let uid = conn.peer_cred().map_or(u32::MAX, |c| c.uid());
    let verdict = access::allowed(req, access::access_of(uid, own_uid), uid);
    if verdict.is_err() {
        tracing::warn!(
            peer_uid = uid,
            "control request refused: only root may change anything"
        );
    }
    verdict
}

/// The daemon's answer to an allowed request; `after` is set for a
/// restart (signalled once the answer is written).
async fn answer(
    req: Request,
    published: &Published,
    after: &mut Option<oneshot::Sender<()>>,
) -> Response {
    match req {
        Request::Status => Response::Status(Box::new(published.status_with_tasks().await)),
        #[cfg(feature = "fault-hooks")]
        Request::Fault { task, fault } => published.fault(&task, fault).await,
        Request::Reload => published.reload().await,
        Request::Drain { on } => published.drain(on).await,
        r @ (Request::Commit(_)
        | Request::CommitCheck { .. }
        | Request::Confirm
        | Request::Rollback { .. }
        | Request::History
        | Request::Running
        | Request::ConfigOf { .. }) => published.commit(r).await,
        Request::Restart => {
            let (resp, written) = published.restart().await;
            *after = written;
            resp
        }
    }
}

/// Reading a request and writing a response are each bounded by this.
const REQUEST_BOUND: Duration = Duration::from_secs(5);

/// One request: `Err` when the connection failed, `Ok(Err)` when the
/// frame was bad (answered with an error).
async fn read_request(
    conn: &mut tokio::net::UnixStream,
    budget: &tokio::sync::Semaphore,
) -> Result<Result<Request, FrameError>, FrameError> {
    let mut h = [0u8; HEADER_LEN];
    conn.read_exact(&mut h).await.map_err(FrameError::Io)?;
    let len = match decode_header(&h) {
        Ok(len) if len > MAX_REQUEST => {
            return Ok(Err(FrameError::TooLarge {
                len,
                max: MAX_REQUEST,
            }))
        }
        Ok(len) => len,
        Err(e) => return Ok(Err(e)),
    };
    // Its share of the bytes in flight, held until the frame is decoded.
    let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX);
    let _share = budget
        .acquire_many(kib)
        .await
        .map_err(|e| FrameError::Io(io::Error::other(e)))?;
    // Grown as the bytes come: a peer that claims 8 MiB and sends 5 bytes
    // costs 5 bytes.
    let mut buf = h.to_vec();
    (&mut *conn)
        .take(len as u64)
        .read_to_end(&mut buf)
        .await
        .map_err(FrameError::Io)?;
    if buf.len() < HEADER_LEN + len {
        // The peer went away mid-frame: nobody to answer.
        return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(decode_frame::<Request>(&buf).map(|(r, _)| r))
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
