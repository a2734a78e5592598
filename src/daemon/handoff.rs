//! A hitless restart (`vigil restart`, or SIGUSR2): the running daemon
//! stops without resigning and execs its binary again in the same process
//! (same PID, so systemd sees nothing). This record tells the new image
//! which instances were MASTER, with each one's advert as last sent and
//! where it went, and which real servers were UP or DOWN. The new image's
//! advert bridge ([`super::bridge`]) sends those adverts on before any
//! config is read; each instance then resumes MASTER (VIPs and the IPVS
//! table untouched, the backups' Master_Down_Timer never fires) and no
//! server moves in or out of the table. Established connections never
//! notice, with or without the connection sync daemon.
//!
//! Owns: the record (postcard, in a file beside the control socket;
//! [`FORMAT`] 3; the previous release's format 2 is read too, so that an
//! upgrade from it is hitless; a record of another format is a plain
//! start), how it
//! reaches the new image (the `VIGIL_HANDOFF` variable of the exec'd
//! image only, so an ordinary start never reads a stale one), the
//! freshness rule ([`fresh`], [`Record::resumes`]: counted from the
//! bridge's last advert) and the exec (with `daemon::teardown`'s holder of
//! the old image's memory, made just before it). Must not: decide VRRP
//! (the machine's `Input::Resume` does), send adverts (the bridge does), or
//! resume anything the new image cannot check against its own config
//! (instances are matched by name, interface, VRID and family; servers by
//! service and address).
//!
//! Two parts of the record save the new image the slow half of a start,
//! and only a new image of the same build uses them ([`Record::build`]):
//! the config the old image's check read, in the store's encoding (decoding
//! it is a fraction of parsing the text again), and the IPVS task's last
//! table, which the first pass plans against instead of reading the kernel
//! (the pass after reads it: see `ipvs::machine`). A restart into another
//! build (an upgrade) reads its config and the kernel as any start does.

use std::ffi::{CString, OsString};
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::model::VrrpInstance;
use crate::vrrp::packet::{Family, Packet, Repr};

/// The environment variable naming the record, set for the exec'd image
/// only.
pub const ENV: &str = "VIGIL_HANDOFF";
/// Format of [`Record`]; a record of another format (but [`FORMAT_2`])
/// is ignored (a plain start: correct, only not hitless).
pub const FORMAT: u8 = 3;
/// The previous release's format: the head of [`Record`] (format,
/// `at_ns`, masters), then the health states' bytes to the end; no build,
/// config or table.
const FORMAT_2: u8 = 2;

#[derive(Deserialize)]
struct Head2 {
    format: u8,
    at_ns: u64,
    masters: Vec<Master>,
}

/// Largest record read back (10,000 real servers take about 300 KiB of
/// states, their config and table some 2 MiB more).
const MAX_RECORD: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub format: u8,
    /// CLOCK_MONOTONIC at the handoff, in ns (the same clock across exec).
    pub at_ns: u64,
    /// The instances that were MASTER and sent their last advert at
    /// `at_ns`, each with what the new image's [`super::bridge`] needs to
    /// go on sending it.
    pub masters: Vec<Master>,
    /// Every checked real server's state: the old image encodes it before
    /// its last adverts, the new one decodes it after its bridge started.
    pub health: Health,
    /// The old image's build id (`crate::build_id`): `config` and `table`
    /// are for a new image of this build only. `None`: no build id.
    pub build: Option<Bytes>,
    /// The config the new image starts with, when the old image could hand
    /// it over.
    pub config: Option<HandedConfig>,
    /// The IPVS task's last table (postcard of `ipvs::kernel::Table`, this
    /// build's layout); empty when it had none to hand over.
    pub table: Bytes,
}

/// Bytes carried as one run (postcard: a length, then the bytes as they
/// are), not as a sequence of numbers: the record's big parts are copied
/// out when it is read and decoded later, by whoever needs them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(Visit)
    }
}

/// The config the old image's check read from its source (what the new
/// image would read), and what the new image says of it at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandedConfig {
    /// Where it came from ("/etc/keepalived/keepalived.conf", "STORE seq 4").
    pub describe: String,
    pub seq: Option<u64>,
    /// The import's warnings, printed again by the new image.
    pub warnings: Vec<String>,
    /// `config::envelope`, not packed.
    pub payload: Bytes,
}

impl HandedConfig {
    /// `loaded` in the store's encoding, when this build vouches for it as
    /// a commit's ([`super::source::vouch`]: it decodes back to exactly
    /// itself, and this build has an id for the new image to match). Else
    /// the new image reads the source: a config the encoding does not
    /// carry whole must not be what a restart runs. Blocking: a config at
    /// the bounds takes a noticeable fraction of a second.
    pub fn of(loaded: &super::Loaded) -> Option<Self> {
        let payload = crate::config::envelope::encode_plain(&loaded.config)
            .map_err(|e| tracing::warn!(error = %e, "hitless restart: the config cannot be handed over; the new process reads it"))
            .ok()?;
        if super::source::vouch(&loaded.config, &payload).is_none() {
            tracing::warn!("hitless restart: the config does not come back whole from its encoding (or this build has no id); the new process reads it");
            return None;
        }
        Some(HandedConfig {
            describe: loaded.describe.clone(),
            seq: loaded.seq,
            warnings: loaded.warnings.clone(),
            payload: Bytes(payload),
        })
    }
}

/// Real servers' states, as postcard bytes: 100,000 of them take a debug
/// build some 60 ms to encode and 140 ms to decode, which must fall
/// neither between the old image's last advert and the exec nor before
/// the new image's bridge starts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Health(Bytes);

impl Health {
    pub fn encode(states: &[crate::health::KnownState]) -> Result<Self, postcard::Error> {
        postcard::to_allocvec(states).map(|b| Health(Bytes(b)))
    }

    /// The states; none (logged) if they do not decode.
    pub fn decode(&self) -> Vec<crate::health::KnownState> {
        if self.0 .0.is_empty() {
            return Vec::new();
        }
        postcard::from_bytes(&self.0 .0).unwrap_or_else(|e| {
            tracing::error!(error = %e, "handoff record: real server states unreadable; each starts as at any start");
            Vec::new()
        })
    }
}

/// A handed-over MASTER: what identifies it on the wire, by its config
/// name, and its advert as it was last sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Master {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub ipv6: bool,
    pub advert: Advert,
}

/// One master's advert, exactly as its instance task sent it, and where:
/// enough for the bridge to send it on unchanged, with nothing from the
/// config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advert {
    pub ifindex: u32,
    /// The advert's source address.
    pub src: IpAddr,
    /// The multicast group, or the unicast peers.
    pub dsts: Vec<IpAddr>,
    /// TTL / hop limit of adverts to unicast peers.
    pub ttl: u8,
    pub interval_ms: u32,
    /// The VRRP message (no IP header) emitted for `src` and the first of
    /// `dsts` (the v3 checksum covers both); [`Advert::repr`] decodes it.
    pub vrrp: Vec<u8>,
}

impl Advert {
    /// The advert, checked again by the codec (`None`: bytes that do not
    /// decode, or no destination).
    pub fn repr(&self) -> Option<Repr> {
        let dst = *self.dsts.first()?;
        let packet = Packet::new_checked(self.vrrp.as_slice(), Family::of(self.src)).ok()?;
        Repr::parse(&packet, self.src, dst).ok()
    }
}

impl Master {
    pub fn of(inst: &VrrpInstance, advert: Advert) -> Self {
        Master {
            name: inst.name.clone(),
            interface: inst.interface.as_str().to_owned(),
            vrid: inst.virtual_router_id,
            ipv6: inst.is_ipv6(),
            advert,
        }
    }

    /// Whether `inst` is this master under the same identity.
    pub fn is(&self, inst: &VrrpInstance) -> bool {
        self.name == inst.name
            && self.interface == inst.interface.as_str()
            && self.vrid == inst.virtual_router_id
            && self.ipv6 == inst.is_ipv6()
    }
}

/// The freshness rule: less than three advert intervals since the last
/// advert went out (`last_ns`, CLOCK_MONOTONIC). A backup's
/// Master_Down_Interval is three intervals plus its skew, so within that
/// no backup has taken over (unless adverts were lost, which the usual
/// arbitration settles).
pub fn fresh(last_ns: u64, now_ns: u64, interval_ms: u32) -> bool {
    let window = 3 * u64::from(interval_ms) * 1_000_000;
    now_ns.saturating_sub(last_ns) < window
}

impl Record {
    /// The handed-over master `inst` is, under the same identity.
    pub fn master(&self, inst: &VrrpInstance) -> Option<&Master> {
        self.masters.iter().find(|m| m.is(inst))
    }

    /// Whether `inst` resumes MASTER `now_ns` (CLOCK_MONOTONIC): it was
    /// MASTER with the same identity, and its last advert (`last_ns`: the
    /// bridge's last, or `at_ns` if the bridge sent none) is [`fresh`] by
    /// the shorter of its old and new intervals (a v3 backup times out by
    /// the interval it hears, a v2 one by its own). Later, it starts as
    /// any instance does.
    pub fn resumes(&self, inst: &VrrpInstance, last_ns: u64, now_ns: u64) -> bool {
        self.master(inst).is_some_and(|m| {
            let interval = m.advert.interval_ms.min(inst.advert_int.0);
            fresh(last_ns, now_ns, interval)
        })
    }

    /// Whether the record was written by the build `own` (this process's:
    /// `crate::build_id::own`): only then are its config and table read.
    pub fn same_build(&self, own: Option<&crate::store::BuildId>) -> bool {
        matches!((&self.build, own), (Some(b), Some(o)) if b.0 == o.as_bytes())
    }

    /// The handed-over config, for a new image of the same build (`own`).
    /// `None` (the new image reads its source): none handed over, another
    /// build, or bytes that do not decode (logged).
    pub fn config(&self, own: Option<&crate::store::BuildId>) -> Option<super::Loaded> {
        let h = self.config.as_ref().filter(|_| self.same_build(own))?;
        match crate::config::envelope::decode(&h.payload.0) {
            Ok(config) => Some(super::Loaded {
                config,
                describe: h.describe.clone(),
                seq: h.seq,
                warnings: h.warnings.clone(),
                checked_when_written: true,
                rolled_back: None,
            }),
            Err(e) => {
                tracing::error!(error = %e, "handoff record: the config does not decode; reading it from its source");
                None
            }
        }
    }

    /// The IPVS task's last table, for a new image of the same build
    /// (`own`). `None`: none handed over, another build, or bytes that do
    /// not decode (logged): the first pass reads the kernel.
    pub fn table(&self, own: Option<&crate::store::BuildId>) -> Option<crate::ipvs::kernel::Table> {
        if self.table.0.is_empty() || !self.same_build(own) {
            return None;
        }
        postcard::from_bytes(&self.table.0)
            .map_err(|e| tracing::error!(error = %e, "handoff record: the IPVS table does not decode; the first pass reads the kernel"))
            .ok()
    }

    /// The record's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }

    /// `None` for bytes of another format or that do not decode (the
    /// health states, config and table are decoded later, by their users).
    /// A record of format 2 comes back with its masters and health states.
    pub fn decode(bytes: &[u8]) -> Option<Record> {
        // The format first: a record of another format need not decode
        // as this one.
        let (format, _): (u8, &[u8]) = postcard::take_from_bytes(bytes).ok()?;
        match format {
            FORMAT => postcard::from_bytes(bytes).ok(),
            FORMAT_2 => {
                let (h, health): (Head2, &[u8]) = postcard::take_from_bytes(bytes).ok()?;
                Some(Record {
                    format: h.format,
                    at_ns: h.at_ns,
                    masters: h.masters,
                    health: Health(Bytes(health.to_vec())),
                    build: None,
                    config: None,
                    table: Bytes::default(),
                })
            }
            _ => None,
        }
    }
}

/// CLOCK_MONOTONIC in ns.
pub fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0)
        })
        .unwrap_or(0)
}

/// Where the record of the daemon controlled at `control` goes.
pub fn path_for(control: &Path) -> PathBuf {
    control.with_extension("handoff")
}

/// The record handed to this image, if any: reads and deletes the file
/// [`ENV`] names and removes the variable (so notify scripts do not
/// inherit it). Call before any thread starts. A missing, unreadable or
/// foreign record is logged and ignored: this is then a plain start.
pub fn take() -> Option<Record> {
    let path = PathBuf::from(std::env::var_os(ENV)?);
    std::env::remove_var(ENV);
    let bytes = read_bounded(&path);
    let _ = std::fs::remove_file(&path);
    match bytes.as_deref().map(Record::decode) {
        Ok(Some(r)) => Some(r),
        Ok(None) => {
            tracing::error!(path = %path.display(), "handoff record of another format; a plain start");
            None
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "handoff record unreadable; a plain start");
            None
        }
    }
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_RECORD)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Why a restart was refused before anything stopped, or why the exec
/// failed after.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot write the handoff record {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the handoff record: {0}")]
    Encode(#[from] postcard::Error),
    #[error("{path} cannot be executed: {reason}")]
    Binary { path: PathBuf, reason: String },
    #[error("exec {path}: {source}")]
    Exec { path: PathBuf, source: nix::Error },
}

/// Checks that `exe` runs at all (`exe --version` exits 0 within
/// `bound`): a restart into a binary that cannot start would leave the box
/// without its daemon until systemd's next try. Blocking: call from
/// `spawn_blocking`.
pub fn preflight(exe: &Path, bound: Duration) -> Result<(), ExecError> {
    let fail = |reason: String| ExecError::Binary {
        path: exe.to_owned(),
        reason,
    };
    let mut child = std::process::Command::new(exe)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let t0 = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => return Err(fail(format!("`--version` exited with {s}"))),
            Ok(None) if t0.elapsed() < bound => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("`--version` did not finish in {bound:?}")));
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}

/// Writes `record` to `path` and execs `exe` with this process's
/// arguments and environment plus [`ENV`]. Returns only on failure (the
/// record is then removed).
pub fn exec(exe: &Path, record: &Record, path: &Path) -> ExecError {
    let bytes = match record.encode() {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    if let Err(source) = write_private(path, &bytes) {
        return ExecError::Write {
            path: path.to_owned(),
            source,
        };
    }
    // The handover's time in CLOCK_MONOTONIC (the journal's own clock):
    // `make bench` times the restart from it.
    tracing::info!(
        "hitless restart: exec {} (handed over at monotonic {} us)",
        exe.display(),
        record.at_ns / 1000
    );
    let holder = super::teardown::hold();
    let err = exec_with(exe, path, holder);
    let _ = std::fs::remove_file(path);
    err
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

fn exec_with(exe: &Path, record: &Path, holder: Option<nix::unistd::Pid>) -> ExecError {
    let binary = |reason: &str| ExecError::Binary {
        path: exe.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(prog) = cstring(exe.as_os_str().to_owned()) else {
        return binary("a NUL byte in its path");
    };
    let Some(args) = std::env::args_os().map(cstring).collect::<Option<Vec<_>>>() else {
        return binary("a NUL byte in an argument");
    };
    let mut env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != ENV && k != super::teardown::ENV)
        .filter_map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstring(kv)
        })
        .collect();
    let mut kv = OsString::from(format!("{ENV}="));
    kv.push(record.as_os_str());
    match cstring(kv) {
        Some(c) => env.push(c),
        None => return binary("a NUL byte in the record's path"),
    }
    if let Some(c) =
        holder.and_then(|pid| cstring(format!("{}={pid}", super::teardown::ENV).into()))
    {
        env.push(c);
    }
    match nix::unistd::execve(&prog, &args, &env) {
        Ok(never) => match never {},
        Err(source) => ExecError::Exec {
            path: exe.to_owned(),
            source,
        },
    }
}

fn cstring(s: OsString) -> Option<CString> {
    CString::new(s.as_bytes()).ok()
}

#[cfg(test)]
#[path = "handoff_tests.rs"]
mod tests;
