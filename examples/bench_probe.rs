//! `bench_probe`: the in-VM half of the IPVS benchmarks of `make bench`
//! (driven by `lab/vlab/bench.py`; copied into the lab VM as a static
//! binary). Owns two measures, kept here so that vigil, keepalived and
//! ipvsadm-restore are timed by exactly the same code:
//!
//! - `cold N M -- CMD ARGS..` (cold programming): t0 is read from the
//!   monotonic clock immediately before CMD is spawned (fork + exec);
//!   from then on, every [`POLL`] the kernel's IPVS table is counted with
//!   the sockopt interface (IP_VS_SO_GET_INFO + IP_VS_SO_GET_SERVICES: the
//!   service entries carry `num_dests`; one syscall, no dump of 10,000
//!   destinations, so the probe costs the measured process almost nothing).
//!   t1 is the first poll that sees at least N services and M destinations
//!   in total. Prints one JSON line {"ms", "polls", "pid", "services",
//!   "dests", "t0_unix_us" (the wall clock at t0, to line up CMD's own
//!   log timestamps)} and exits, leaving CMD running in its own process group
//!   (the driver stops it by that group's id, CMD's PID).
//!   `--stdin FILE` feeds CMD's stdin from FILE (ipvsadm-restore).
//! - `spawn -- CMD ARGS..`: start CMD in its own process group and print
//!   {"pid", "mono_us"}: its PID and CLOCK_MONOTONIC (the journal's
//!   monotonic clock) read just before the spawn, in microseconds.
//! - `peak -- CMD ARGS..`: run CMD to its end and print {"ms", "maxrss_kb",
//!   "code"}: its time, its peak resident set (the waited-for child's
//!   `ru_maxrss`, what GNU time's `%M` reports on the host), and its exit
//!   status (-1 for a signal). The config bench's baseline (`keepalived -t`)
//!   in the VM, where GNU time is not installed.
//! - `now`: CLOCK_MONOTONIC in microseconds, to select journal entries.
//! - `count`: the table's current service and destination totals, as JSON.
//! - `dump [N]`: read the whole table N times (default 1) as vigil's IPVS
//!   task does (`ipvs::kernel::dump` over generic netlink) and print
//!   {"dests", "ms", "user_ms", "sys_ms"}, each time a median: the wall
//!   time, and the process's CPU in user space (decoding, building the
//!   table) and in the kernel (filling the dump, the system calls); and
//!   "first": [ms, user_ms, sys_ms] of the first read alone (a fresh
//!   process's, as in a restart: code run for the first time). Splits
//!   a restart's adoption dump into vigil's part and the kernel's.
//!
//! Must not: change the IPVS table, or wait for CMD (a daemon never exits)
//! but in `peak`.
//! Linux only; needs CAP_NET_ADMIN and the ip_vs module loaded.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// How often the table is counted while waiting.
const POLL: Duration = Duration::from_millis(5);

// <linux/ip_vs.h>: the sockopt ABI (checked against the header with gcc:
// sizeof(ip_vs_getinfo) 12, sizeof(ip_vs_service_entry) 104 with
// num_dests at offset 44, ip_vs_get_services' entry table at offset 8).
const IP_VS_SO_GET_INFO: libc::c_int = 64 + 1024 + 64 + 1;
const IP_VS_SO_GET_SERVICES: libc::c_int = 64 + 1024 + 64 + 2;
const INFO_LEN: usize = 12;
const ENTRY_LEN: usize = 104;
const ENTRY_NUM_DESTS: usize = 44;
const SERVICES_HEADER: usize = 8;

/// A raw socket to ask IPVS through getsockopt.
struct Ipvs {
    fd: libc::c_int,
}

impl Ipvs {
    fn open() -> Result<Ipvs, String> {
        // SAFETY: plain socket(2); the fd is owned by the returned value.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
        if fd < 0 {
            return Err(format!(
                "raw socket: {} (needs CAP_NET_ADMIN)",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Ipvs { fd })
    }

    fn get(&self, opt: libc::c_int, buf: &mut [u8]) -> Result<(), String> {
        let mut len = buf.len() as libc::socklen_t;
        // SAFETY: buf is valid for len bytes; the kernel writes at most len.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::IPPROTO_IP,
                opt,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(format!(
                "getsockopt {opt}: {} (is ip_vs loaded?)",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// (services, destinations) in the kernel's table now.
    fn count(&self) -> Result<(u32, u64), String> {
        let mut info = [0u8; INFO_LEN];
        self.get(IP_VS_SO_GET_INFO, &mut info)?;
        let n = u32_at(&info, 8);
        if n == 0 {
            return Ok((0, 0));
        }
        let mut buf = vec![0u8; SERVICES_HEADER + ENTRY_LEN * n as usize];
        buf[..4].copy_from_slice(&n.to_ne_bytes());
        self.get(IP_VS_SO_GET_SERVICES, &mut buf)?;
        // Services removed between the two calls leave zeroed entries.
        let got = u32_at(&buf, 0).min(n) as usize;
        let dests = (0..got)
            .map(|i| {
                u64::from(u32_at(
                    &buf,
                    SERVICES_HEADER + i * ENTRY_LEN + ENTRY_NUM_DESTS,
                ))
            })
            .sum();
        Ok((got as u32, dests))
    }
}

impl Drop for Ipvs {
    fn drop(&mut self) {
        // SAFETY: fd is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(w)
}

const USAGE: &str = "usage: bench_probe count | now | dump [N]\n       \
    bench_probe spawn -- CMD [ARGS..]\n       \
    bench_probe peak -- CMD [ARGS..]\n       \
    bench_probe cold SERVICES DESTS [--timeout-s S] [--stdin FILE] -- CMD [ARGS..]";

/// CLOCK_MONOTONIC in microseconds (what journald stamps entries with).
fn mono_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// CMD in its own process group (pgid = its pid: the driver stops it and
/// its children with one `kill -- -PID`), stdin from `stdin` or nothing.
fn command(cmd: &[String], stdin: Option<&str>) -> Result<Command, String> {
    let prog = cmd.first().ok_or(USAGE)?;
    let input = match stdin {
        Some(p) => Stdio::from(File::open(p).map_err(|e| format!("{p}: {e}"))?),
        None => Stdio::null(),
    };
    let mut c = Command::new(prog);
    c.args(&cmd[1..])
        .process_group(0)
        .stdin(input)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Ok(c)
}

fn spawn(args: &[String]) -> Result<String, String> {
    if args.first().map(String::as_str) != Some("--") {
        return Err(USAGE.to_owned());
    }
    let mut c = command(&args[1..], None)?;
    let t = mono_us();
    let child = c.spawn().map_err(|e| format!("{}: {e}", args[1]))?;
    Ok(format!("{{\"pid\": {}, \"mono_us\": {t}}}", child.id()))
}

fn peak(args: &[String]) -> Result<String, String> {
    if args.first().map(String::as_str) != Some("--") {
        return Err(USAGE.to_owned());
    }
    let mut c = command(&args[1..], None)?;
    let t0 = Instant::now();
    let status = c.status().map_err(|e| format!("{}: {e}", args[1]))?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    // RUSAGE_CHILDREN: CMD is the one child this probe has waited for.
    let ru = rusage(libc::RUSAGE_CHILDREN)?;
    Ok(format!(
        "{{\"ms\": {ms:.1}, \"maxrss_kb\": {}, \"code\": {}}}",
        ru.ru_maxrss,
        status.code().unwrap_or(-1)
    ))
}

fn cold(args: &[String]) -> Result<String, String> {
    let sep = args.iter().position(|a| a == "--").ok_or(USAGE)?;
    let (opts, cmd) = (&args[..sep], &args[sep + 1..]);
    let num = |s: Option<&String>, what: &str| -> Result<u64, String> {
        s.ok_or(USAGE)?.parse().map_err(|e| format!("{what}: {e}"))
    };
    let want_svc = num(opts.first(), "SERVICES")?;
    let want_dests = num(opts.get(1), "DESTS")?;
    let mut timeout = Duration::from_secs(120);
    let mut stdin = None;
    let mut rest = opts.iter().skip(2);
    while let Some(o) = rest.next() {
        match o.as_str() {
            "--timeout-s" => timeout = Duration::from_secs(num(rest.next(), "--timeout-s")?),
            "--stdin" => stdin = Some(rest.next().ok_or(USAGE)?.clone()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let ipvs = Ipvs::open()?;
    let start = ipvs.count()?;
    if start.0 != 0 {
        return Err(format!(
            "the table is not empty ({} services, {} dests): flush it first",
            start.0, start.1
        ));
    }
    let mut c = command(cmd, stdin.as_deref())?;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let t0 = Instant::now();
    let child = c.spawn().map_err(|e| format!("{}: {e}", cmd[0]))?;
    let mut polls = 0u64;
    loop {
        let (svc, dests) = ipvs.count()?;
        polls += 1;
        if u64::from(svc) >= want_svc && dests >= want_dests {
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            return Ok(format!(
                "{{\"ms\": {ms:.1}, \"polls\": {polls}, \"pid\": {}, \"services\": {svc}, \"dests\": {dests}, \"t0_unix_us\": {wall}}}",
                child.id()
            ));
        }
        if t0.elapsed() > timeout {
            return Err(format!(
                "timeout after {} s: {svc} services, {dests} dests (pid {})",
                timeout.as_secs(),
                child.id()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// `getrusage(who)`.
fn rusage(who: libc::c_int) -> Result<libc::rusage, String> {
    // SAFETY: all zeroes is a valid rusage (integers and timevals).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only fills the struct it is given.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()));
    }
    Ok(ru)
}

/// This process's CPU so far: (user, system), in milliseconds.
fn cpu_ms() -> Result<(f64, f64), String> {
    let ru = rusage(libc::RUSAGE_SELF)?;
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    Ok((ms(ru.ru_utime), ms(ru.ru_stime)))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn dump(args: &[String]) -> Result<String, String> {
    let runs: usize = match args.first() {
        Some(n) => n.parse().map_err(|e| format!("N: {e}"))?,
        None => 1,
    };
    let mut client = vigil::ipvs::client::Client::connect().map_err(|e| e.to_string())?;
    let (mut wall, mut user, mut sys) = (Vec::new(), Vec::new(), Vec::new());
    let mut dests = 0;
    for _ in 0..runs.max(1) {
        let (u0, s0) = cpu_ms()?;
        let t0 = Instant::now();
        let table = vigil::ipvs::kernel::dump(&mut client).map_err(|e| e.to_string())?;
        wall.push(t0.elapsed().as_secs_f64() * 1000.0);
        let (u1, s1) = cpu_ms()?;
        user.push(u1 - u0);
        sys.push(s1 - s0);
        dests = table.dest_count();
    }
    let first = format!("[{:.1}, {:.1}, {:.1}]", wall[0], user[0], sys[0]);
    Ok(format!(
        "{{\"dests\": {dests}, \"first\": {first}, \"ms\": {:.1}, \"user_ms\": {:.1}, \"sys_ms\": {:.1}}}",
        median(wall),
        median(user),
        median(sys)
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("count") => Ipvs::open()
            .and_then(|i| i.count())
            .map(|(s, d)| format!("{{\"services\": {s}, \"dests\": {d}}}")),
        Some("cold") => cold(&args[1..]),
        Some("spawn") => spawn(&args[1..]),
        Some("peak") => peak(&args[1..]),
        Some("now") => Ok(format!("{{\"mono_us\": {}}}", mono_us())),
        Some("dump") => dump(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match r {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_probe: {e}");
            ExitCode::FAILURE
        }
    }
}
