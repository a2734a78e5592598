//! The command line: argv to a subcommand, results to exit codes.
//!
//! Owns: argument parsing, printing diagnostics and results, and the exit
//! code contract (0 fine, 1 bad input, 2 usage, 3 I/O). Must not: hold any
//! logic a daemon or test would also need; that lives in the library.

use crate::config::{self, envelope, Config, Imported};
use crate::store::{listing, Geometry, History, Meta, StoreError};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_BAD_INPUT: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_IO: i32 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "vigil",
    version,
    about = "Firmware daemon of an LVS load-balancer appliance: VRRP, IPVS, health checks, watchdog, flash config",
    after_help = "Exit codes: 0 fine, 1 bad input, 2 usage, 3 I/O."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check, import, export and show configurations (keepalived.conf syntax).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the daemon: VRRP instances of a keepalived.conf (a drop-in on
    /// any Linux box) or of the flash store (the appliance). Runs until
    /// SIGTERM/SIGINT, when every MASTER resigns and removes its VIPs.
    /// SIGHUP reloads the config, as `vigil reload` does.
    Run(RunArgs),
    /// Make the running daemon read its config source again (the file, or
    /// the store after `vigil config import`) and apply what changed:
    /// virtual servers live (a removed real server drains); the rest is
    /// listed as pending a restart. Prints what changed. Exit 1 if the new
    /// config has errors (nothing applied), 3 if the daemon is not
    /// reachable or could not apply it.
    Reload {
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Restart the running daemon without a trace on the network: it execs
    /// its binary again in place (same PID; an upgraded binary if it was
    /// replaced), and the new process resumes MASTER at once, keeping VIPs,
    /// the IPVS table and every real server's health state. Backups never
    /// take over, connections never notice. Refused, with nothing stopped,
    /// when the config source has errors or the binary does not run (exit
    /// 1). Exit 3 if the daemon is not reachable or does not come back.
    /// (`systemctl restart vigil` is a stop and a start: the peer takes
    /// over.)
    Restart {
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Drain this box of new flows (the `bgp` block's anycast VIPs): the
    /// routes are withdrawn, or announced with the AS prepended (`drain
    /// prepend N`), so the router sends new flows to the other boxes;
    /// established ones go on. Kept across restarts of vigil, not across
    /// a reboot. Exit 3 if the daemon is not reachable or has no `bgp`
    /// block.
    Drain {
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Take new flows again after `vigil drain`.
    Undrain {
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Show the running daemon's VRRP instances (state, priorities, current
    /// master, drop counters). Exit 3 if the daemon is not reachable.
    Status {
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
        control: PathBuf,
        /// One line of JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Commit a config to the running daemon's flash store and apply it
    /// live (the daemon must run with --store): it is checked exactly as
    /// `vigil config check` does (errors as file:line:col, nothing written
    /// if any), written as a new commit of the history, and applied as
    /// `vigil reload` does; prints what changed. With --confirm, it rolls
    /// back by itself after the window unless `vigil confirm` comes first.
    /// Exit 1 for a config with errors, 3 if the daemon is not reachable
    /// or could not write or apply it.
    Commit {
        /// The config file; `-` reads standard input.
        file: PathBuf,
        /// Only check it (with the daemon's own checks); write nothing.
        #[arg(long, conflicts_with_all = ["comment", "confirm"])]
        check: bool,
        /// A comment kept with the commit (at most 256 bytes).
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// Commit confirmed: roll back to the previous config after this
        /// window unless confirmed: minutes (5), or a number with s, m or
        /// h (90s, 10m, 2h), from 10s to 24h. A reset inside the window
        /// also boots the previous config.
        #[arg(long, value_name = "WINDOW")]
        confirm: Option<crate::daemon::confirm::Window>,
        /// Refuse the commit unless the store's newest commit is still
        /// this seq (the one the file was made from; 0: none).
        #[arg(long, value_name = "SEQ")]
        base: Option<u64>,
        #[command(flatten)]
        control: ControlPath,
    },
    /// Confirm the pending commit confirmed (it stays, as a new commit).
    /// Exit 1 if no commit waits for a confirm.
    Confirm {
        #[command(flatten)]
        control: ControlPath,
    },
    /// Commit the config of commit N again (a new commit, "rollback of
    /// N") and apply it. See `vigil history` for the numbers.
    Rollback {
        /// The seq of the commit whose config comes back.
        seq: u64,
        /// A comment kept with the commit.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        #[command(flatten)]
        control: ControlPath,
    },
    /// The running daemon's commit history, newest first (`*`: the
    /// commit a reset would boot).
    History {
        #[command(flatten)]
        control: ControlPath,
    },
    /// Find the L2 mistakes of DR and TUN real servers: for each IPv4 VIP
    /// of a virtual server with DR or TUN real servers, ask ARP for it on
    /// the interface of the VRRP instance holding it (or whose subnet
    /// holds it) and for each real server, listen a second, and say in
    /// one line each what is wrong and the fix (a real server answering
    /// ARP for the VIP, one not on the LAN) or that a real server is fine.
    /// Exit 0: nothing to fix, 1: findings, 3: I/O (run it as root).
    Doctor {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        geometry: SlotSize,
        /// The running daemon's control socket, if any: on a BACKUP, the
        /// VRRP master's MAC answering for the VIP is no finding.
        #[command(flatten)]
        control: ControlPath,
    },
    /// The box's command line: show its state (`show vrrp`, `show ipvs`,
    /// `show system commit`, ...) and configure it (`configure`, then
    /// `set`/`delete` on a candidate, `show | compare`, `commit`, `commit
    /// confirmed`, `rollback`). Runs on the serial console with --login
    /// (the shipped serial-getty drop-in); `?` lists what can come next.
    Console {
        /// Ask for the console password of the running config first (a
        /// factory-fresh box asks to choose one).
        #[arg(long)]
        login: bool,
        #[command(flatten)]
        control: ControlPath,
    },
    /// Test builds only (feature `fault-hooks`): make a supervised task
    /// (a name `vigil status` lists) panic, stall or end at its next
    /// check-in, to see the supervisor's policy happen, or break its
    /// socket (`disconnect`: the netlink monitor).
    #[cfg(feature = "fault-hooks")]
    #[command(hide = true)]
    Fault {
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
        control: PathBuf,
        /// The task's name, e.g. "instance VI_1".
        task: String,
        #[arg(value_parser = ["panic", "stall", "end", "disconnect"])]
        fault: String,
    },
}

#[derive(Args, Debug)]
struct ControlPath {
    /// The daemon's control socket.
    #[arg(long = "control", value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
    path: PathBuf,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    source: RunSource,
    /// Slot size of a two-slot (format 1) store, in bytes: where its slots
    /// are, to read it until its first commit in the history format.
    #[arg(long, value_name = "BYTES", default_value_t = Geometry::default().slot_size)]
    slot_size: u32,
    /// Control socket to listen on (its directory is created; a stale
    /// socket file is replaced).
    #[arg(long, value_name = "PATH", default_value = crate::control::DEFAULT_PATH)]
    control: PathBuf,
    /// A group (name in /etc/group, or number) whose members may connect
    /// to the control socket to read (status, history, config); only root
    /// may change anything. Default: root only (mode 0600).
    #[arg(long, value_name = "GROUP")]
    control_group: Option<String>,
    /// Least severe log level written.
    #[arg(long, value_name = "LEVEL", default_value = "info",
          value_parser = ["error", "warn", "info", "debug", "trace"])]
    log_level: String,
    /// Where logs go: journald if /run/systemd/journal/socket exists, else
    /// stderr (auto), or forced.
    #[arg(long, value_name = "WHERE", default_value = "auto",
          value_parser = ["auto", "stderr", "journald"])]
    log_to: String,
    /// With --config: turn unknown keywords into warnings (their settings
    /// are LOST).
    #[arg(long)]
    lenient: bool,
    /// With --config: the box the file is read for (`@ID` lines; see
    /// `vigil config check --config-id`). Default: this host's name up to
    /// its first dot.
    #[arg(long, value_name = "ID")]
    config_id: Option<String>,
    /// With --config: apply the file's `appliance` block to this host
    /// (hostname, addresses, MTU, routes, ip_forward, ARP sysctls) before
    /// VRRP starts and on every reload. Without it a drop-in leaves the
    /// host's network alone; with --store (the box) it always applies.
    #[arg(long)]
    apply_appliance: bool,
    /// Seconds a real server removed by a reload keeps its connections
    /// (at weight 0, no new ones) before it is deleted, unless they end
    /// sooner.
    #[arg(long, value_name = "SECONDS",
          default_value_t = crate::ipvs::machine::DRAIN_TIMEOUT.as_secs())]
    drain_timeout: u64,
    /// Seconds a `commit confirmed` minute lasts (tests make it short).
    #[arg(long, value_name = "SECONDS", hide = true,
          default_value_t = crate::daemon::CONFIRM_MINUTE.as_secs())]
    confirm_unit_secs: u64,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct RunSource {
    /// Run a keepalived.conf (errors: exit 1 before anything is touched).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run the newest valid config of this store (the box: its partition
    /// labelled `config` when no PATH is given); no valid config, or no
    /// such partition: the factory default (no instance), said loudly.
    #[arg(long, value_name = "PATH", num_args = 0..=1,
          default_missing_value = crate::store::DEFAULT_PATH)]
    store: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Check a keepalived.conf: print every error and warning as
    /// `file:line:col: error: ...` / `warning: ...`, in file and line
    /// order. Exit 0 if it would import.
    Check {
        /// The config file (includes are followed); `-` reads standard input.
        file: PathBuf,
        #[command(flatten)]
        opts: ImportOpts,
    },
    /// Check a config and commit it to the flash store's history (a new
    /// record, synced and read back; the oldest records are recycled).
    /// Nothing is written if it has an error.
    Import {
        /// The config file (includes are followed); `-` reads standard input.
        file: PathBuf,
        #[command(flatten)]
        opts: ImportOpts,
        #[command(flatten)]
        store: StoreOpts,
        /// A comment kept with the commit (at most 256 bytes).
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
    /// Print the stored config (the newest commit, or commit N), or a config
    /// file's, as canonical keepalived.conf text.
    Export {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        geometry: SlotSize,
        /// Export this commit of the history (see `vigil config show`).
        #[arg(long, value_name = "N", conflicts_with = "file")]
        commit: Option<u64>,
    },
    /// Print the store's commit history (which commit boots, unconfirmed
    /// ones and their deadline) and a human summary of the newest commit's
    /// config (or a config file's).
    Show {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        geometry: SlotSize,
    },
}

#[derive(Args, Debug)]
struct ImportOpts {
    /// Turn unknown keywords into warnings. The settings they carry are
    /// LOST; use only to migrate a config vigil does not fully understand.
    #[arg(long)]
    lenient: bool,
    /// The box this config is read for: `@ID` lines are kept for it and
    /// `@^ID` lines dropped (keepalived's -i). Default: this host's name up
    /// to its first dot.
    #[arg(long, value_name = "ID")]
    config_id: Option<String>,
}

impl ImportOpts {
    fn options(&self) -> config::ImportOptions {
        config::ImportOptions {
            lenient: self.lenient,
            config_id: config_id(self.config_id.as_deref()),
            // Someone waits at the prompt: a name fails fast offline.
            resolver: crate::resolve::Resolver::interactive(),
        }
    }
}

/// `--config-id`, else this host's.
fn config_id(given: Option<&str>) -> config::ConfigId {
    given.map_or_else(config::ConfigId::of_host, config::ConfigId::new)
}

#[derive(Args, Debug)]
struct StoreOpts {
    /// The config store: a block device (the `config` partition) or a
    /// file. A path that does not exist is refused unless --create.
    #[arg(long, value_name = "PATH")]
    store: PathBuf,
    /// Make a store file (1 MiB) at --store if nothing is there (a lab
    /// or test store; a box's store is its `config` partition).
    #[arg(long)]
    create: bool,
    /// Slot size of a two-slot (format 1) store, in bytes (a multiple of
    /// 512): where its slots are, to carry its config into the history.
    #[arg(long, value_name = "BYTES", default_value_t = Geometry::default().slot_size)]
    slot_size: u32,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct Source {
    /// Read the config from this store (block device or file).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
    /// Read the config from this keepalived.conf instead (`-`: standard
    /// input).
    #[arg(long, value_name = "FILE", alias = "config")]
    file: Option<PathBuf>,
}

/// The store's slot size, beside the choice of source (not one of its
/// alternatives): a store made with `--slot-size` is read with the same.
#[derive(Args, Debug)]
struct SlotSize {
    /// Slot size of a two-slot (format 1) store, in bytes (as given to
    /// `config import`); the history's geometry comes from the device size.
    #[arg(long, value_name = "BYTES", conflicts_with = "file",
          default_value_t = Geometry::default().slot_size)]
    slot_size: u32,
}

/// Run with the process's argv; returns the exit code.
pub fn main() -> i32 {
    run_as(std::env::args_os(), true)
}

pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_as(args, false)
}

/// `process`: this is the process's own command line (not a test calling
/// in), so its signal dispositions are this command's to set.
fn run_as<I, T>(args: I, process: bool) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    if process && !matches!(cli.command, Command::Run(_)) {
        // A command that prints ends quietly when its reader goes away
        // (`vigil status | head`), as a Unix tool does, instead of
        // panicking on the write: Rust ignores SIGPIPE by default. The
        // daemon keeps ignoring it: a peer closing a socket must not end it.
        // SAFETY: no other thread exists yet, and SIG_DFL installs no
        // handler that could run.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            )
        };
    }
    match cli.command {
        Command::Config(c) => config_command(c),
        Command::Run(r) => run_command(r),
        Command::Status { control, json } => status_command(&control, json),
        Command::Reload { control } => reload_command(&control),
        Command::Drain { control } => drain_command(&control, true),
        Command::Undrain { control } => drain_command(&control, false),
        Command::Restart { control } => restart_command(&control),
        Command::Commit {
            file,
            check,
            comment,
            confirm,
            base,
            control,
        } => {
            let text = match read_candidate(&file) {
                Ok(t) => t,
                Err(code) => return code,
            };
            let req = if check {
                crate::control::Request::CommitCheck { config_text: text }
            } else {
                crate::control::Request::Commit(crate::control::CommitAsk {
                    config_text: text,
                    comment,
                    user: commit_user(),
                    confirm,
                    base_seq: base,
                })
            };
            commit_command(&control.path, &req)
        }
        Command::Confirm { control } => {
            commit_command(&control.path, &crate::control::Request::Confirm)
        }
        Command::Rollback {
            seq,
            comment,
            control,
        } => commit_command(
            &control.path,
            &crate::control::Request::Rollback { seq, comment },
        ),
        Command::History { control } => history_command(&control.path),
        Command::Doctor {
            source,
            geometry,
            control,
        } => doctor_command(&source, &geometry, &control.path),
        Command::Console { login, control } => crate::console::run(&crate::console::Options {
            control: control.path,
            login,
        }),
        #[cfg(feature = "fault-hooks")]
        Command::Fault {
            control,
            task,
            fault,
        } => fault_command(&control, task, &fault),
    }
}

/// The config to start with. A store that is a device node the kernel or
/// udev has not made yet (early in boot) is waited for, at most
/// [`STORE_WAIT`]; one that never appears is [`LoadError::NoStore`], which
/// the caller turns into the factory default.
fn load_at_start(
    source: &crate::daemon::ConfigSource,
    restarted: bool,
) -> Result<crate::daemon::Loaded, crate::daemon::LoadError> {
    use crate::daemon::{ConfigSource, LoadError};
    if let ConfigSource::Store { path, .. } = source {
        if !wait_for(path, STORE_WAIT) {
            return Err(LoadError::NoStore { path: path.clone() });
        }
    }
    // A hitless restart (exec in place) is not a boot: the running config
    // goes on, unconfirmed or not.
    if restarted {
        source.load()
    } else {
        source.load_at_boot(unix_now())
    }
}

/// How long `vigil run --store` waits for a store under `/dev` to appear.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether `path` exists, polling for at most `limit` when it is under
/// `/dev` (a device node or udev's symlink to it, which may come late);
/// any other path is looked at once.
fn wait_for(path: &std::path::Path, limit: std::time::Duration) -> bool {
    let t0 = std::time::Instant::now();
    loop {
        if path.exists() {
            return true;
        }
        if !path.starts_with("/dev") || t0.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn run_command(r: RunArgs) -> i32 {
    use crate::daemon::{self, ConfigSource, LoadError, LogTo};
    let source = if let Some(file) = &r.source.config {
        ConfigSource::File {
            path: file.clone(),
            options: config::ImportOptions {
                lenient: r.lenient,
                config_id: config_id(r.config_id.as_deref()),
                resolver: Default::default(),
            },
        }
    } else if let Some(path) = &r.source.store {
        ConfigSource::Store {
            path: path.clone(),
            slot_size: r.slot_size,
        }
    } else {
        return EXIT_USAGE;
    };
    crate::startup::begin();
    // Before the first big allocation (the parse): one arena (see `mem`).
    crate::mem::init();
    let level = r.log_level.parse().unwrap_or(tracing::Level::INFO);
    let to = match r.log_to.as_str() {
        "stderr" => LogTo::Stderr,
        "journald" => LogTo::Journald,
        _ => LogTo::Auto,
    };
    daemon::init_logging(level, to);
    // A hitless restart's masters keep advertising (the advert bridge)
    // before anything else: reading a big config takes seconds, more than
    // the backups wait.
    let restarted = std::env::var_os(daemon::handoff::ENV).is_some();
    let handover = daemon::take_handover();
    if let Some(h) = &handover {
        let ago = daemon::handoff::monotonic_ns().saturating_sub(h.record.at_ns);
        crate::startup::from_earlier(
            "exec (from the handover)",
            std::time::Duration::from_nanos(ago),
        );
    }
    // Config first: a bad one exits 1 before anything touches the system
    // (and a restart's bridge ends with the process).
    let t0 = std::time::Instant::now();
    // A restart into the same build starts with the config the previous
    // process's check read (decoding it is a fraction of a parse).
    let handed = (handover.as_ref()).and_then(|h| h.record.config(crate::build_id::own()));
    let loaded = match handed {
        Some(l) => {
            tracing::info!(
                "hitless restart: the config read by the previous process's check ({}) is handed over, not read again",
                l.describe
            );
            Ok(l)
        }
        None => load_at_start(&source, restarted),
    };
    let (config, origin, rolled_back) = match loaded {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("{w}");
            }
            if let Some(n) = &l.rolled_back {
                eprintln!("vigil: WARNING: {n}");
            }
            if l.checked_when_written {
                tracing::debug!(
                    "{}: checked by this build when it was written, not checked again",
                    l.describe
                );
            }
            let origin = daemon::Origin {
                describe: l.describe,
                seq: l.seq,
            };
            (l.config, origin, l.rolled_back)
        }
        // The appliance boots without a config: the console stays usable.
        Err(e @ (LoadError::NoValidCommit { .. } | LoadError::NoStore { .. })) => {
            let msg = format!("FACTORY DEFAULT: {e}; running with NO VRRP instance, NO VIP");
            eprintln!("vigil: WARNING: {msg}");
            let origin = daemon::Origin {
                describe: msg,
                seq: None,
            };
            (Config::factory_default(), origin, None)
        }
        Err(e) => {
            for line in e.lines() {
                eprintln!("vigil: {line}");
            }
            return if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_IO
            };
        }
    };
    crate::startup::step("config read");
    tracing::debug!(
        "config read from {} in {:.1} ms",
        origin.describe,
        t0.elapsed().as_secs_f64() * 1000.0
    );
    if origin.seq.is_none() && origin.describe.starts_with("FACTORY DEFAULT") {
        tracing::error!("{}", origin.describe);
    }
    if let Some(n) = rolled_back {
        tracing::warn!("{n}");
    }
    let control_group = match &r.control_group {
        None => None,
        Some(g) => {
            let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
            match crate::control::access::group_id(g, &groups) {
                Some(gid) => Some(gid),
                None => {
                    eprintln!("vigil: --control-group {g}: no such group in /etc/group");
                    return EXIT_BAD_INPUT;
                }
            }
        }
    };
    let opts = daemon::Options {
        source,
        control: r.control.clone(),
        control_group,
        drain_timeout: std::time::Duration::from_secs(r.drain_timeout),
        confirm_unit: std::time::Duration::from_secs(r.confirm_unit_secs.max(1)),
        appliance: if r.source.store.is_some() {
            crate::appliance::Mode::Box
        } else if r.apply_appliance {
            crate::appliance::Mode::Asked
        } else {
            crate::appliance::Mode::Off
        },
    };
    match daemon::run(config, origin, opts, handover) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            tracing::error!("vigil: {e}");
            eprintln!("vigil: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            EXIT_IO
        }
    }
}

fn reload_command(control: &Path) -> i32 {
    use crate::control::{query, ReloadOutcome, Request, Response, RELOAD_BOUND};
    let bound = RELOAD_BOUND + std::time::Duration::from_secs(5);
    let answer = saying_still_working("reload", || query(control, &Request::Reload, bound));
    match answer {
        Ok(Response::Reloaded(r)) => {
            let code = match r.outcome {
                ReloadOutcome::Applied | ReloadOutcome::Unchanged => EXIT_OK,
                ReloadOutcome::Invalid => EXIT_BAD_INPUT,
                ReloadOutcome::Failed => EXIT_IO,
            };
            let out = finish_output(|| {
                for line in &r.lines {
                    println!("{line}");
                }
            });
            if code == EXIT_OK {
                out
            } else {
                eprintln!("vigil: reload not applied; the daemon runs its previous config");
                code
            }
        }
        other => daemon_answer_error(control, other),
    }
}

fn drain_command(control: &Path, on: bool) -> i32 {
    use crate::control::{query, Request, Response};
    let bound = std::time::Duration::from_secs(10);
    match query(control, &Request::Drain { on }, bound) {
        Ok(Response::Drained { on: true, drain }) => {
            finish_output(|| {
                let what = if drain == "withdraw" {
                    "the anycast routes are withdrawn".to_owned()
                } else {
                    format!("the anycast routes are announced with the AS path longer ({drain})")
                };
                println!("drained: {what}; established flows go on. `vigil undrain` takes new flows again.");
            })
        }
        Ok(Response::Drained { on: false, .. }) => finish_output(|| {
            println!("undrained: the anycast routes are announced again where their services have quorum.");
        }),
        other => daemon_answer_error(control, other),
    }
}

/// Runs `ask` (a request the daemon may take long to answer) and, past
/// [`crate::daemon::reload::QUIET`], says on stderr that `what` is still
/// working, again every [`STILL_EVERY`], instead of waiting silently.
fn saying_still_working<T: Send>(what: &str, ask: impl FnOnce() -> T + Send) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let asking = s.spawn(move || {
            let answer = ask();
            let _ = tx.send(());
            answer
        });
        let asked = std::time::Instant::now();
        let mut wait = crate::daemon::reload::QUIET;
        loop {
            match rx.recv_timeout(wait) {
                // Answered, or the asking thread panicked: join passes it on.
                Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return asking
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!(
                        "vigil: {what} still working ({} s; its progress is in the journal)",
                        asked.elapsed().as_secs()
                    );
                    wait = STILL_EVERY;
                }
            }
        }
    })
}

/// How often a long request says it is still working, after the first.
const STILL_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

fn restart_command(control: &Path) -> i32 {
    use crate::control::{query, Request, Response, RELOAD_BOUND};
    let asked = std::time::Instant::now();
    let bound = RELOAD_BOUND + std::time::Duration::from_secs(5);
    match query(control, &Request::Restart, bound) {
        Ok(Response::Restarting(r)) => {
            for line in &r.lines {
                println!("{line}");
            }
            if !r.accepted {
                eprintln!("vigil: restart refused; the daemon runs on as it was");
                return EXIT_BAD_INPUT;
            }
            match wait_restarted(control, asked) {
                Some(resumed) => finish_output(|| println!("{resumed}")),
                None => {
                    eprintln!(
                        "vigil: the daemon did not answer on {} within {RESTART_BOUND:?} of the handover; see the journal",
                        control.display()
                    );
                    EXIT_IO
                }
            }
        }
        other => daemon_answer_error(control, other),
    }
}

/// How long `vigil restart` waits for the new process to answer.
const RESTART_BOUND: std::time::Duration = std::time::Duration::from_secs(30);

/// Polls the control socket until a process started after `asked` answers;
/// its `resumed` line.
fn wait_restarted(control: &Path, asked: std::time::Instant) -> Option<String> {
    use crate::control::{query, Request, Response};
    let step = std::time::Duration::from_millis(20);
    while asked.elapsed() < RESTART_BOUND {
        if let Ok(Response::Status(s)) = query(control, &Request::Status, step * 50) {
            let age = std::time::Duration::from_millis(s.uptime_ms);
            if age < asked.elapsed() {
                return Some(
                    s.resumed
                        .unwrap_or_else(|| "restarted (nothing resumed)".into()),
                );
            }
        }
        std::thread::sleep(step);
    }
    None
}

/// Exit code and message for a control answer that is not the one asked.
fn daemon_answer_error(
    control: &Path,
    r: Result<crate::control::Response, crate::control::FrameError>,
) -> i32 {
    match r {
        Ok(crate::control::Response::Error(e)) => eprintln!("vigil: daemon answered: {e}"),
        Ok(other) => eprintln!("vigil: unexpected answer from the daemon: {other:?}"),
        Err(e) => {
            eprintln!("vigil: daemon not reachable at {}: {e}", control.display());
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
        }
    }
    EXIT_IO
}

/// A candidate's text from a file or standard input (`-`), at most
/// the size a config file may have; `Err` is the exit code.
fn read_candidate(file: &Path) -> Result<String, i32> {
    use std::io::Read;
    // What one control frame carries, short of a config file's own bound.
    let limit = config::syntax::MAX_FILE_BYTES.min(crate::control::MAX_REQUEST as u64 - 4096);
    let mut bytes = Vec::new();
    let read = if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
    };
    let shown = shown_name(file);
    if let Err(e) = read {
        eprintln!("vigil: cannot read {shown}: {e}");
        return Err(EXIT_IO);
    }
    if bytes.len() as u64 > limit {
        eprintln!("vigil: {shown}: larger than {limit} bytes");
        return Err(EXIT_BAD_INPUT);
    }
    String::from_utf8(bytes).map_err(|_| {
        eprintln!("vigil: {shown}: not UTF-8 text");
        EXIT_BAD_INPUT
    })
}

/// Who commits: the login name, when it fits the store's bound.
fn commit_user() -> Option<String> {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .ok()?;
    (!user.is_empty() && user.len() <= crate::store::record::MAX_USER).then_some(user)
}

/// Sends a commit-family request; prints the report (errors and
/// warnings on stderr, what was applied on stdout).
fn commit_command(control: &Path, req: &crate::control::Request) -> i32 {
    use crate::control::{query, render, Response, RELOAD_BOUND};
    let bound = RELOAD_BOUND + std::time::Duration::from_secs(5);
    match query(control, req, bound) {
        Ok(Response::Committed(r)) => {
            let (out, err) = render::commit_report(&r);
            for line in &err {
                eprintln!("{line}");
            }
            let code = commit_exit(&r);
            let printed = finish_output(|| {
                for line in &out {
                    println!("{line}");
                }
            });
            if code == EXIT_OK {
                printed
            } else {
                code
            }
        }
        other => daemon_answer_error(control, other),
    }
}

/// A commit report's exit code: 1 for what the user can fix (errors, a
/// stale base, nothing to confirm), 3 for a store or apply failure.
fn commit_exit(r: &crate::control::CommitReport) -> i32 {
    use crate::control::{CommitOutcome as C, ReloadOutcome as R};
    match r.outcome {
        C::Committed => match r.reload.as_ref().map(|l| l.outcome) {
            None | Some(R::Applied | R::Unchanged) => EXIT_OK,
            Some(R::Invalid) => EXIT_BAD_INPUT,
            Some(R::Failed) => EXIT_IO,
        },
        C::Valid => EXIT_OK,
        C::Invalid | C::Stale { .. } | C::NothingPending => EXIT_BAD_INPUT,
        C::Failed => EXIT_IO,
    }
}

fn history_command(control: &Path) -> i32 {
    use crate::control::{query, Request, Response};
    match query(
        control,
        &Request::History,
        std::time::Duration::from_secs(10),
    ) {
        Ok(Response::History(list)) => finish_output(|| {
            if list.is_empty() {
                println!("no commit in the history (the factory default runs)");
                return;
            }
            println!("{}", listing::HEADING);
            for e in &list {
                println!("{}", listing::head_line(&e.head(), e.boots));
            }
        }),
        other => daemon_answer_error(control, other),
    }
}

#[cfg(feature = "fault-hooks")]
fn fault_command(control: &Path, task: String, fault: &str) -> i32 {
    use crate::control::{query, Request, Response};
    use crate::daemon::supervisor::Fault;
    let fault = match fault {
        "panic" => Fault::Panic,
        "stall" => Fault::Stall,
        "disconnect" => Fault::Disconnect,
        _ => Fault::End,
    };
    let req = Request::Fault { task, fault };
    match query(control, &req, std::time::Duration::from_secs(5)) {
        Ok(Response::FaultArmed) => EXIT_OK,
        other => daemon_answer_error(control, other),
    }
}

fn status_command(control: &Path, json: bool) -> i32 {
    use crate::control::{query, render, Request, Response};
    match query(control, &Request::Status, std::time::Duration::from_secs(5)) {
        Ok(Response::Status(s)) => finish_output(|| {
            if json {
                println!("{}", render::json(&s));
            } else {
                print!("{}", render::text(&s));
            }
        }),
        other => daemon_answer_error(control, other),
    }
}

fn config_command(c: ConfigCommand) -> i32 {
    match c {
        ConfigCommand::Check { file, opts } => match import(&file, &opts) {
            Ok(imp) => {
                let c = &imp.config;
                eprintln!(
                    "{}: ok ({} vrrp_instance, {} virtual_server, {} warning{})",
                    shown_name(&file),
                    c.vrrp_instances.len(),
                    c.virtual_servers.len(),
                    imp.warnings.len(),
                    if imp.warnings.len() == 1 { "" } else { "s" }
                );
                EXIT_OK
            }
            Err(code) => code,
        },
        ConfigCommand::Import {
            file,
            opts,
            store,
            comment,
        } => {
            // Before the config is read: a mistyped device is the first
            // thing to hear about, and nothing is made by accident.
            if !store.store.exists() && !store.create {
                eprintln!(
                    "vigil: {} does not exist: no such device (give --create to make a store file there)",
                    store.store.display()
                );
                return EXIT_IO;
            }
            let imp = match import(&file, &opts) {
                Ok(imp) => imp,
                Err(code) => return code,
            };
            // A lenient import is not the check a stored config is held
            // to as it is read (that one is strict): no stamp for it.
            let strict = !opts.lenient;
            commit(&imp.config, &store, comment.unwrap_or_default(), strict)
        }
        ConfigCommand::Export {
            source,
            geometry,
            commit,
        } => with_config(&source, &geometry, commit, |c, _| {
            print!("{}", config::export::export(c));
        }),
        ConfigCommand::Show { source, geometry } => {
            with_config(&source, &geometry, None, |c, lines| {
                for l in lines {
                    println!("{l}");
                }
                print!("{}", config::summary::summary(c));
            })
        }
    }
}

/// Import a file (`-`: standard input), printing warnings and errors in
/// file and line order; `Err` is the exit code.
fn import(file: &Path, opts: &ImportOpts) -> Result<Imported, i32> {
    let from_stdin = file == Path::new("-");
    let opts = opts.options();
    let result = if from_stdin {
        config::import_stdin(&opts)
    } else {
        config::import_file_with(file, &opts)
    };
    let shown = shown_name(file);
    match result {
        Ok(imp) => {
            for w in &imp.warnings {
                eprintln!("{w}");
            }
            Ok(imp)
        }
        Err(r) => {
            for line in r.lines() {
                eprintln!("{line}");
            }
            if let Some(e) = &r.unreadable {
                eprintln!("vigil: cannot read {shown}: {e}");
                return Err(EXIT_IO);
            }
            let n = r.errors.len();
            eprintln!(
                "{shown}: {n} error{}; nothing applied",
                if n == 1 { "" } else { "s" }
            );
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// How a config path prints: `-` is standard input.
fn shown_name(file: &Path) -> String {
    if file == Path::new("-") {
        config::STDIN_NAME.to_owned()
    } else {
        file.display().to_string()
    }
}

/// Writes `c` as a new commit; `strict`: the strict import accepted it,
/// and the commit may carry this build's stamp (`daemon::source::vouch`).
fn commit(c: &Config, opts: &StoreOpts, comment: String, strict: bool) -> i32 {
    let bytes = match envelope::encode(c) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("vigil: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let geometry = Geometry {
        slot_size: opts.slot_size,
    };
    let meta = Meta {
        time: unix_now(),
        user: String::new(),
        comment,
    };
    let missing = !opts.store.exists();
    let checked_by = strict
        .then(|| crate::daemon::source::vouch(c, &bytes))
        .flatten();
    let result = History::open(&opts.store, geometry, missing).and_then(|mut h| {
        h.commit_with(
            &bytes,
            crate::store::Source::Import,
            &meta,
            None,
            checked_by,
        )
    });
    if missing && result.is_ok() {
        eprintln!(
            "{}: created a store file of {} bytes",
            opts.store.display(),
            crate::store::Ring::DEFAULT_DEVICE_LEN
        );
    }
    match result {
        Ok(done) => {
            let store = opts.store.display();
            if let Some(seq) = done.migrated {
                eprintln!("{store}: carried the two-slot store's seq {seq} into the history");
            }
            eprintln!(
                "{store}: committed seq {} to record {} ({} bytes)",
                done.seq, done.record, done.len
            );
            EXIT_OK
        }
        Err(e) => store_error(&e),
    }
}

/// Seconds since the epoch; 0 (shown as unknown) if the clock is before it.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn store_error(e: &StoreError) -> i32 {
    eprintln!("vigil: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        eprintln!("  caused by: {s}");
        source = s.source();
    }
    match e {
        StoreError::TooLarge { .. }
        | StoreError::RecordTooLarge { .. }
        | StoreError::CommentTooLong { .. }
        | StoreError::UserTooLong { .. }
        | StoreError::NoSuchCommit { .. }
        | StoreError::BadGeometry { .. } => EXIT_BAD_INPUT,
        _ => EXIT_IO,
    }
}

/// Load a config from a file or the store (the newest commit, or commit
/// `seq`) and hand it to `f` with the store's history lines.
fn with_config(
    src: &Source,
    slots: &SlotSize,
    seq: Option<u64>,
    f: impl FnOnce(&Config, &[String]),
) -> i32 {
    match read_config(src, slots, seq) {
        Ok((config, lines)) => finish_output(|| f(&config, &lines)),
        Err(code) => code,
    }
}

/// The config of a file, or of the store's newest commit (or commit
/// `seq`) with the store's lines; `Err`: the exit code, said on stderr.
fn read_config(
    src: &Source,
    slots: &SlotSize,
    seq: Option<u64>,
) -> Result<(Config, Vec<String>), i32> {
    if let Some(file) = &src.file {
        let opts = ImportOpts {
            lenient: false,
            config_id: None,
        };
        return import(file, &opts).map(|imp| (imp.config, Vec::new()));
    }
    let Some(path) = &src.store else {
        return Err(EXIT_USAGE);
    };
    let geometry = Geometry {
        slot_size: slots.slot_size,
    };
    let read = History::open(path, geometry, false).and_then(|h| {
        let payload = match seq {
            Some(seq) => Some((seq, h.get(seq)?)),
            None => h.newest()?.map(|(e, p)| (e.seq(), p)),
        };
        Ok((store_lines(&h)?, payload))
    });
    let (lines, payload) = match read {
        Ok(r) => r,
        Err(e) => return Err(store_error(&e)),
    };
    let config = match payload {
        Some((seq, p)) => match envelope::decode(&p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("vigil: {}: commit {seq}: {e}", path.display());
                return Err(EXIT_BAD_INPUT);
            }
        },
        None => {
            eprintln!(
                "vigil: WARNING: {}: no valid commit in the store; this is the FACTORY DEFAULT (console only, no VIP, no service)",
                path.display()
            );
            Config::factory_default()
        }
    };
    Ok((config, lines))
}

/// `vigil doctor`: the config's DR/TUN VIPs and real servers asked on
/// the LAN, one finding a line. 0: nothing to fix, 1: findings, 3: I/O.
fn doctor_command(src: &Source, slots: &SlotSize, control: &Path) -> i32 {
    let config = match read_config(src, slots, None) {
        Ok((c, _)) => c,
        Err(code) => return code,
    };
    // The daemon's view, when one runs (who is master where this box is
    // BACKUP, the DR-path checks' results); none running, or another
    // box's config: no such facts.
    let bound = std::time::Duration::from_secs(2);
    let status = match crate::control::query(control, &crate::control::Request::Status, bound) {
        Ok(crate::control::Response::Status(s)) => Some(s),
        _ => None,
    };
    let findings = match crate::doctor::edge::examine(&config, status.as_deref()) {
        Ok(Some(f)) => f,
        Ok(None) => {
            println!("{}", crate::doctor::edge::NOTHING);
            return finish_output(|| {});
        }
        Err(e) => {
            eprintln!("vigil: doctor: {e}");
            return EXIT_IO;
        }
    };
    let code = finish_output(|| {
        for f in &findings {
            println!("{f}");
        }
    });
    if code == EXIT_OK && findings.iter().any(crate::doctor::Finding::needs_fixing) {
        EXIT_BAD_INPUT
    } else {
        code
    }
}

fn finish_output(f: impl FnOnce()) -> i32 {
    f();
    match std::io::stdout().flush() {
        Ok(()) => EXIT_OK,
        Err(_) => EXIT_IO,
    }
}

/// The store's geometry, which commit boots, and the history, newest first.
fn store_lines<F: crate::store::Flash>(h: &History<F>) -> Result<Vec<String>, StoreError> {
    let list = h.history()?;
    let running = h.running()?;
    let ring = h.ring();
    let mut out = vec![format!(
        "store: {} records of {} bytes (a config of at most {} bytes, in up to {} records)",
        ring.records,
        ring.record_size,
        ring.max_payload(),
        ring.max_span()
    )];
    let boots = running.as_ref().map(|r| r.entry.seq());
    out.push(match (&running, list.first()) {
        (_, None) => "store: FACTORY DEFAULT, no commit in the history".to_owned(),
        (None, Some(n)) => format!(
            "store: newest seq {} is unconfirmed with nothing confirmed before it: boots the FACTORY DEFAULT",
            n.seq()
        ),
        (Some(r), Some(n)) if r.rolled_back_from.is_some() => format!(
            "store: newest seq {} is UNCONFIRMED; a reset before it is confirmed boots seq {}",
            n.seq(),
            r.entry.seq()
        ),
        (Some(r), Some(_)) => format!("store: boots seq {}", r.entry.seq()),
    });
    if list
        .iter()
        .any(|e| matches!(e.location, crate::store::Location::Slot(_)))
    {
        out.push(
            "store: a two-slot (format 1) store: carried into the history on the next commit"
                .to_owned(),
        );
    }
    if !list.is_empty() {
        out.push(listing::HEADING.to_owned());
    }
    out.extend(
        list.iter()
            .map(|e| listing::line(e, Some(e.seq()) == boots)),
    );
    Ok(out)
}
