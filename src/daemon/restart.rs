//! The daemon's side of a hitless restart (see [`super::handoff`] for the
//! record and the exec): what is refused before anything stops, the order
//! of the handover, and what the new process takes from the record.
//!
//! Owns: the checks before a restart, collecting the instance tasks'
//! states and masters' adverts, the health runner's states, the config
//! the check read and the IPVS task's last table, and, in
//! the new process, marking what resumes (each resuming member gets its
//! end of the advert bridge, [`super::bridge::Takeover`]; the bridge of
//! every other handed-over master stops then). Must not: write or read
//! the record itself, send adverts, or touch VIPs and the IPVS table (a
//! restart leaves both exactly as they are).

use std::path::Path;
use std::time::Duration;

use tokio::sync::oneshot;

use super::handoff::{self, Master, Record};
use super::reload::Reloader;
use super::shutdown::SHUTDOWN_BOUND;
use super::DaemonError;
use super::Handover;
use crate::control::{RestartReport, RestartRequest};
use crate::health;
use crate::ipvs::task as ipvs_task;
use crate::vrrp::instance::{GroupInput, GroupSpec, HandedOver};
use crate::vrrp::machine::State;

/// How long `<binary> --version` may take before a restart is refused.
const PREFLIGHT_BOUND: Duration = Duration::from_secs(10);
/// How long the handover waits for the report to reach the client, for
/// the health snapshot, and for notify scripts in flight.
const HANDOVER_STEP: Duration = Duration::from_secs(2);

/// Hands each member `record` lets resume MASTER its end of the advert
/// bridge (fresh by the bridge's last advert), stops the bridge of every
/// other handed-over master, and says so; the line for `vigil status`.
pub(super) fn mark_resumed(h: &Handover, health_states: usize, groups: &mut [GroupSpec]) -> String {
    let record = &h.record;
    let now = handoff::monotonic_ns();
    let ago_ms = now.saturating_sub(record.at_ns) / 1_000_000;
    let mut resumed = Vec::new();
    for m in groups.iter_mut().flat_map(|g| g.members.iter_mut()) {
        let last = h.bridge.last_sent(&m.inst.name).unwrap_or(record.at_ns);
        if record.resumes(&m.inst, last, now) {
            m.resume = h.bridge.takeover(&m.inst.name);
        }
        if m.resume.is_some() {
            resumed.push(m.inst.name.clone());
        } else if record.masters.iter().any(|r| r.name == m.inst.name) {
            tracing::warn!(
                instance = %m.inst.name,
                handed_over_ms_ago = ago_ms,
                "was MASTER, but too long ago or as another instance: starts as any instance"
            );
        }
    }
    h.bridge
        .stop_unless(|name| resumed.iter().any(|r| r == name));
    tracing::info!(
        resumed = ?resumed,
        handed_over_ms_ago = ago_ms,
        health_states,
        "hitless restart: taking over from the previous process"
    );
    format!(
        "hitless restart at {} ({ago_ms} ms after the handover): resumed MASTER: {}; {} real server states carried",
        crate::notify::mail::rfc2822(std::time::SystemTime::now()),
        if resumed.is_empty() {
            "none".to_owned()
        } else {
            resumed.join(", ")
        },
        health_states
    )
}

/// A hitless restart, asked for by `req` (or SIGUSR2). Refused, with the
/// reasons and nothing stopped, unless the config source loads and plans
/// and the binary runs. Else the report goes out, the instance tasks hand
/// over (masters keep their VIPs), and this process execs the binary
/// again. Returns `Ok` when refused; `Err` when the exec failed (the
/// instance tasks are gone: the daemon must exit).
pub(super) async fn restart(
    r: &Reloader,
    exe: Option<&Path>,
    control: &Path,
    req: Option<RestartRequest>,
) -> Result<(), DaemonError> {
    let (reply, written) = match req {
        Some(q) => (Some(q.reply), Some(q.written)),
        None => (None, None),
    };
    let (exe, config) = match check(r, exe).await {
        Ok(Checked { exe, lines, config }) => {
            tracing::info!(binary = %exe.display(), "hitless restart: {}", lines.join("; "));
            answer(reply, written, true, lines).await;
            (exe, config)
        }
        Err(lines) => {
            tracing::error!(
                "hitless restart refused, nothing stopped: {}",
                lines.join("; ")
            );
            answer(reply, written, false, lines).await;
            return Ok(());
        }
    };
    let record = hand_over(r, config).await;
    let path = handoff::path_for(control);
    Err(DaemonError::Restart(handoff::exec(&exe, &record, &path)))
}

/// A restart [`check`] let through.
struct Checked {
    exe: std::path::PathBuf,
    /// What the report says.
    lines: Vec<String>,
    /// The config read, for the new process (`None`: it reads its source).
    config: Option<handoff::HandedConfig>,
}

/// Everything that can refuse a restart: the binary's path and that it
/// runs, and a source that loads and plans (the new process starts with
/// it: handed over when it can be, else read again).
async fn check(r: &Reloader, exe: Option<&Path>) -> Result<Checked, Vec<String>> {
    let exe = exe
        .map(Path::to_owned)
        .ok_or_else(|| vec!["this binary's path is unknown (/proc/self/exe)".to_owned()])?;
    let src = r.source.clone();
    let load = move || src.load().map(|l| (handoff::HandedConfig::of(&l), l));
    let (config, loaded) = match tokio::task::spawn_blocking(load).await {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => return Err(e.lines()),
        Err(e) => return Err(vec![format!("reading the config failed: {e}")]),
    };
    if let Err(e) = health::plan::check(&loaded.config) {
        return Err(vec![e.to_string()]);
    }
    let bin = exe.clone();
    match tokio::task::spawn_blocking(move || handoff::preflight(&bin, PREFLIGHT_BOUND)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(vec![e.to_string()]),
        Err(e) => return Err(vec![format!("checking the binary failed: {e}")]),
    }
    let mut lines = vec![format!(
        "handing over to {} (pid {})",
        exe.display(),
        std::process::id()
    )];
    if !super::reload::changes(&r.running_vrrp, &r.current, &loaded.config).is_empty() {
        lines.push(format!(
            "{} differs from the running config: the new process starts with it",
            loaded.describe
        ));
    }
    Ok(Checked { exe, lines, config })
}

/// Sends the report; once accepted, waits (bounded) until the client has
/// it, since the exec closes the connection.
async fn answer(
    reply: Option<oneshot::Sender<RestartReport>>,
    written: Option<oneshot::Receiver<()>>,
    accepted: bool,
    lines: Vec<String>,
) {
    let Some(reply) = reply else { return };
    if reply.send(RestartReport { accepted, lines }).is_err() || !accepted {
        return;
    }
    if let Some(w) = written {
        let _ = tokio::time::timeout(HANDOVER_STEP, w).await;
    }
}

/// The IPVS task's table (the task passes no more after it), health
/// states and notify scripts first (while VRRP still runs), then the
/// instance tasks: each master's last advert re-arms the backups' timers
/// at the record's time.
async fn hand_over(r: &Reloader, config: Option<handoff::HandedConfig>) -> Record {
    let table = match r.ipvs.as_ref() {
        Some(side) => ipvs_table(&side.commands).await,
        None => None,
    };
    let snapshot = match r.ipvs.as_ref().and_then(|s| s.health.as_ref()) {
        Some(h) => tokio::time::timeout(HANDOVER_STEP, h.snapshot())
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let states: Vec<health::KnownState> = snapshot
        .map(|s| {
            s.servers
                .into_iter()
                .map(|x| (x.service, x.real.0, x.real.1, x.up))
                .collect()
        })
        .unwrap_or_default();
    // Encoded now, while the masters still advertise.
    let health = handoff::Health::encode(&states).unwrap_or_else(|e| {
        tracing::error!(error = %e, "real server states not handed over");
        handoff::Health::default()
    });
    if !r.vrrp.notifier.settle(HANDOVER_STEP).await {
        tracing::warn!("notify scripts still running after {HANDOVER_STEP:?}; handing over anyway");
    }
    // Taken before the last adverts go out: the window it opens is never
    // longer than the backups' timers.
    let at_ns = handoff::monotonic_ns();
    let states = stop_tasks(r).await;
    let masters = states
        .into_iter()
        .filter(|h| h.state == State::Master)
        .filter_map(|h| {
            let inst = (r.running_vrrp.vrrp_instances.iter()).find(|i| i.name == h.name)?;
            Some(Master::of(inst, h.advert?))
        })
        .collect();
    Record {
        format: handoff::FORMAT,
        at_ns,
        masters,
        health,
        build: crate::build_id::own().map(|b| handoff::Bytes(b.as_bytes().to_vec())),
        config,
        table: handoff::Bytes(table.unwrap_or_default()),
    }
}

/// The IPVS task's last table, encoded (see `ipvs::machine`), after which
/// the task changes the kernel no more: what the new process plans its
/// first pass against must still be the kernel's. `None`: the task had
/// none it could vouch for, or did not answer in [`HANDOVER_STEP`].
async fn ipvs_table(commands: &tokio::sync::mpsc::Sender<ipvs_task::Command>) -> Option<Vec<u8>> {
    let (done, rx) = oneshot::channel();
    let ask = commands.send(ipvs_task::Command::HandOver { done });
    let answer = async {
        ask.await.ok()?;
        rx.await.ok().flatten()
    };
    tokio::time::timeout(HANDOVER_STEP, answer)
        .await
        .ok()
        .flatten()
}

/// Every instance task's members, states and masters' adverts, each task
/// gone after.
async fn stop_tasks(r: &Reloader) -> Vec<HandedOver> {
    let instances = r.vrrp.supervisor.instances().await;
    // The instance tasks end as told: nothing for the supervisor to do.
    r.vrrp.supervisor.deregister_all();
    let txs = instances.into_iter().map(|g| g.tx).collect();
    hand_over_blocking(txs, std::time::Instant::now() + SHUTDOWN_BOUND)
}

/// Tells each instance task to hand over and collects their answers
/// without ever yielding to the main runtime: once the first master has
/// sent its last advert, the exec (and the new image's advert bridge)
/// must follow at once, not after whatever else the runtime runs (100,000
/// health results held it 3 s in a debug build). Blocks at most until
/// `deadline`; the VRRP thread answers meanwhile.
fn hand_over_blocking(
    txs: Vec<tokio::sync::mpsc::Sender<GroupInput>>,
    deadline: std::time::Instant,
) -> Vec<HandedOver> {
    use tokio::sync::mpsc::error::TrySendError;
    use tokio::sync::oneshot::error::TryRecvError;
    let pause = || std::thread::sleep(Duration::from_micros(200));
    let mut acks = Vec::new();
    for tx in txs {
        let (ack, rx) = oneshot::channel();
        let mut input = GroupInput::Handoff(ack);
        loop {
            match tx.try_send(input) {
                Ok(()) => {
                    acks.push(rx);
                    break;
                }
                Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                    input = back;
                    pause();
                }
                Err(_) => break,
            }
        }
    }
    let mut states = Vec::new();
    for mut rx in acks {
        loop {
            match rx.try_recv() {
                Ok(s) => states.extend(s),
                Err(TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                    pause();
                    continue;
                }
                Err(_) => {
                    tracing::error!("an instance task did not hand over in {SHUTDOWN_BOUND:?}")
                }
            }
            break;
        }
    }
    states
}
