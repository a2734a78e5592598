//! Host names written in a config, resolved when the config is read.
//!
//! Owns: [`Resolver`] (the box's own files and DNS, or a fixed table for
//! tests), the `/etc/hosts` reader, the DNS exchange over UDP and
//! [`ResolveError`]. Must not: go through the C library's resolver (NSS
//! does not work in a static glibc binary, and the image has no NSS
//! modules), wait without a bound, or run on the daemon's runtime thread
//! outside a config load (it blocks for at most its stated bound).
//!
//! keepalived resolves `smtp_server`, `unicast_peer` and `connect_ip` names
//! when it reads its config; vigil does the same at import, check, commit
//! and reload, and what it keeps (on flash, in the running config) is the
//! address: a stored config never changes because DNS did.
//!
//! Order, as glibc's resolver without NSS modules would do it:
//! 1. `/etc/hosts`: every address of the name or an alias, in file order.
//! 2. DNS, to each `nameserver` of `/etc/resolv.conf` in turn (127.0.0.1
//!    and ::1 when it names none, as glibc does): the name as written
//!    first when it ends with `.` or has at least `ndots` dots, then with
//!    each search domain, then as written. For each candidate an A query,
//!    then an AAAA query; the first candidate with an address wins, a
//!    server's NXDOMAIN moves on to the next candidate. Each query waits
//!    `timeout` seconds (resolv.conf's, at most 5) for `attempts` rounds
//!    (at most 3) over the servers (at most 3, as glibc reads).
//!
//! Someone waiting at a prompt (`vigil config check`/`import`, the
//! console: [`Resolver::interactive`]) gets a total deadline per name
//! instead ([`INTERACTIVE_DEADLINE`], shared evenly by the servers, one
//! attempt each): offline, a name fails in that time, with an error that
//! says no server answered (which says nothing of the name), not that it
//! does not exist.
//!
//! Addresses are returned IPv4 first, as getaddrinfo sorts them by
//! default on a box without IPv6 preference rules; the caller takes the
//! first (keepalived does) or the first of the family it needs.
//!
//! An answer is taken only from the server asked (a connected socket),
//! with the query's random id, the RESPONSE flag and the same question.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, RCODE, TYPE};
use thiserror::Error;

/// Each query waits at most this long per server.
const TIMEOUT_MAX: u32 = 5;
/// At most this many rounds over the servers.
const ATTEMPTS_MAX: u32 = 3;
/// glibc reads at most three name servers.
const SERVERS_MAX: usize = 3;
/// The whole wait for one name when someone waits at a prompt.
pub const INTERACTIVE_DEADLINE: Duration = Duration::from_secs(2);
/// The longest DNS name (RFC 1035 2.3.4, without the final dot).
const NAME_MAX: usize = 253;

/// Why a name gave no address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveError {
    #[error("cannot read {path}: {kind}")]
    Read { path: PathBuf, kind: io::ErrorKind },
    /// Every candidate was NXDOMAIN or had no A/AAAA record.
    #[error("not in {hosts}, and DNS server {server} knows no address for it")]
    NoSuchName { hosts: PathBuf, server: IpAddr },
    /// No server answered (or none could be reached): the name may well
    /// exist.
    #[error(
        "not in {hosts}, and the resolver did not answer: no DNS server replied ({servers}; {}), so whether the name exists is unknown (write its address, or check the box's DNS)",
        waited(*.timeout, *.attempts, *.deadline_ms)
    )]
    NoAnswer {
        hosts: PathBuf,
        servers: String,
        timeout: u32,
        attempts: u32,
        /// The total deadline per name, when there was one.
        deadline_ms: Option<u64>,
    },
    /// No query could even be sent (no route, no network).
    #[error("not in {hosts}, and the resolver did not answer: no DNS server could be reached ({servers}: {reason}), so whether the name exists is unknown (write its address, or check the box's network and DNS)")]
    Unreachable {
        hosts: PathBuf,
        servers: String,
        reason: io::ErrorKind,
    },
    #[error("not in {hosts}, and DNS server {server} answered {rcode}")]
    Failed {
        hosts: PathBuf,
        server: IpAddr,
        rcode: String,
    },
    /// [`Resolver::Table`] lacks it.
    #[error("not in the resolver's table")]
    NotInTable,
    /// A name a DNS message cannot carry.
    #[error("not a valid host name")]
    BadName,
}

fn waited(timeout: u32, attempts: u32, deadline_ms: Option<u64>) -> String {
    match deadline_ms {
        Some(ms) => format!(
            "gave up after {:.1} s, one attempt each",
            ms as f64 / 1000.0
        ),
        None => format!("{timeout} s x {attempts} attempts"),
    }
}

/// Where names are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolver {
    /// The box's `/etc/hosts` and `/etc/resolv.conf`.
    System(System),
    /// Only these names (tests; a config that must not reach DNS).
    Table(BTreeMap<String, Vec<IpAddr>>),
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::System(System::default())
    }
}

impl Resolver {
    /// The box's files and DNS for someone waiting at a prompt: a total
    /// deadline per name ([`INTERACTIVE_DEADLINE`]), one attempt per
    /// server.
    pub fn interactive() -> Self {
        Resolver::System(System {
            deadline: Some(INTERACTIVE_DEADLINE),
            ..System::default()
        })
    }

    /// The addresses of `name`, IPv4 first; never empty on success.
    pub fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if !is_host_name(name) {
            return Err(ResolveError::BadName);
        }
        match self {
            Resolver::System(s) => s.resolve(name),
            Resolver::Table(t) => match t.get(&name.to_ascii_lowercase()) {
                Some(a) if !a.is_empty() => Ok(a.clone()),
                _ => Err(ResolveError::NotInTable),
            },
        }
    }
}

/// The system's files, the DNS port (53; another in tests), and an
/// optional total deadline per name (then one attempt per server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    pub port: u16,
    pub deadline: Option<Duration>,
}

impl Default for System {
    fn default() -> Self {
        System {
            hosts: PathBuf::from("/etc/hosts"),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            port: 53,
            deadline: None,
        }
    }
}

/// Letters, digits, `-` and `.` in labels of 1 to 63, at most 253 in
/// all (an optional final dot aside), and not an address literal.
pub fn is_host_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= NAME_MAX
        && s.parse::<IpAddr>().is_err()
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
        })
        // An all-numeric last label is an address gone wrong, not a name.
        && !s.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

impl System {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let hosts = read_file(&self.hosts, true)?;
        let found = hosts_lookup(&String::from_utf8_lossy(&hosts), name);
        if !found.is_empty() {
            return Ok(ipv4_first(found));
        }
        let conf = read_file(&self.resolv_conf, true)?;
        // A line resolv-conf cannot parse is skipped, as glibc skips it.
        let (conf, _) = resolv_conf::Config::parse_with_errors(&conf);
        let servers: Vec<SocketAddr> = (conf.get_nameservers_or_local().into_iter())
            .take(SERVERS_MAX)
            .map(|ip| SocketAddr::new(ip.into(), self.port))
            .collect();
        let search: Vec<String> = conf.get_last_search_or_domain().cloned().collect();
        let mut dns = Dns {
            servers,
            timeout: Duration::from_secs(u64::from(conf.timeout.clamp(1, TIMEOUT_MAX))),
            attempts: conf.attempts.clamp(1, ATTEMPTS_MAX),
            deadline: self.deadline,
        };
        if let Some(all) = self.deadline {
            // The deadline shared evenly: a silent first server leaves the
            // others their turn.
            let each = all / u32::try_from(dns.servers.len().max(1)).unwrap_or(1);
            dns.timeout = dns.timeout.min(each);
            dns.attempts = 1;
        }
        dns.resolve(&candidates(name, conf.ndots, &search))
            .map_err(|e| e.into_error(&self.hosts, &dns))
    }
}

/// A file's bytes; a missing file reads as empty when `missing_ok`.
fn read_file(path: &Path, missing_ok: bool) -> Result<Vec<u8>, ResolveError> {
    let mut out = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(1 << 20).read_to_end(&mut out));
    match read {
        Ok(_) => Ok(out),
        Err(e) if missing_ok && e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ResolveError::Read {
            path: path.to_owned(),
            kind: e.kind(),
        }),
    }
}

/// Every address `/etc/hosts` gives `name` (case-insensitive, aliases
/// too), in file order.
pub fn hosts_lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_ascii_whitespace();
            let addr = words.next()?.parse::<IpAddr>().ok()?;
            words.any(|w| w.eq_ignore_ascii_case(name)).then_some(addr)
        })
        .collect()
}

/// The names to ask DNS, in order (see the header).
pub fn candidates(name: &str, ndots: u32, search: &[String]) -> Vec<String> {
    if let Some(absolute) = name.strip_suffix('.') {
        return vec![absolute.to_owned()];
    }
    let dots = name.matches('.').count() as u32;
    let searched = search
        .iter()
        .map(|d| format!("{name}.{}", d.trim_end_matches('.')));
    if dots >= ndots {
        std::iter::once(name.to_owned()).chain(searched).collect()
    } else {
        searched.chain(std::iter::once(name.to_owned())).collect()
    }
}

fn ipv4_first(mut a: Vec<IpAddr>) -> Vec<IpAddr> {
    a.sort_by_key(|a| a.is_ipv6());
    a.dedup();
    a
}

/// The DNS side of [`System`].
struct Dns {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    attempts: u32,
    /// The whole wait for one name, if bounded.
    deadline: Option<Duration>,
}

/// How a DNS lookup ended without an address.
enum DnsError {
    NoSuchName(IpAddr),
    NoAnswer,
    /// Nothing could be sent to any server.
    Unreachable(io::ErrorKind),
    Failed(IpAddr, RCODE),
    BadName,
}

impl DnsError {
    fn into_error(self, hosts: &Path, dns: &Dns) -> ResolveError {
        let hosts = hosts.to_owned();
        let servers = (dns.servers.iter())
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            DnsError::NoSuchName(server) => ResolveError::NoSuchName { hosts, server },
            DnsError::Failed(server, rcode) => ResolveError::Failed {
                hosts,
                server,
                rcode: format!("{rcode:?}"),
            },
            DnsError::BadName => ResolveError::BadName,
            DnsError::Unreachable(reason) => ResolveError::Unreachable {
                hosts,
                servers,
                reason,
            },
            DnsError::NoAnswer => ResolveError::NoAnswer {
                hosts,
                servers,
                timeout: dns.timeout.as_secs() as u32,
                attempts: dns.attempts,
                deadline_ms: dns.deadline.map(|d| d.as_millis() as u64),
            },
        }
    }
}

/// What one server said of one question.
enum Reply {
    Addrs(Vec<IpAddr>),
    NoSuchName,
    /// The name exists without a record of that type.
    NoData,
    Failed(RCODE),
}

impl Dns {
    fn resolve(&self, candidates: &[String]) -> Result<Vec<IpAddr>, DnsError> {
        let until = self.deadline.map(|d| Instant::now() + d);
        let mut last = DnsError::NoAnswer;
        for name in candidates {
            match self.lookup(name, until) {
                Ok(a) => return Ok(ipv4_first(a)),
                // The next candidate may exist; keep the most telling error.
                Err(e @ (DnsError::NoSuchName(_) | DnsError::Failed(..))) => last = e,
                // Silence or no route: kept unless something said more.
                Err(e @ (DnsError::NoAnswer | DnsError::Unreachable(_))) => {
                    if matches!(last, DnsError::NoAnswer) {
                        last = e;
                    }
                }
                Err(DnsError::BadName) => return Err(DnsError::BadName),
            }
        }
        Err(last)
    }

    /// A, then AAAA, of one candidate.
    fn lookup(&self, name: &str, until: Option<Instant>) -> Result<Vec<IpAddr>, DnsError> {
        let mut addrs = Vec::new();
        let mut empty_from = None;
        for qtype in [TYPE::A, TYPE::AAAA] {
            match self.ask_any(name, qtype, until)? {
                (_, Reply::Addrs(a)) => addrs.extend(a),
                (server, Reply::NoSuchName) => return Err(DnsError::NoSuchName(server)),
                (server, Reply::NoData) => empty_from = Some(server),
                (server, Reply::Failed(rcode)) => return Err(DnsError::Failed(server, rcode)),
            }
        }
        match (addrs.is_empty(), empty_from) {
            (false, _) => Ok(addrs),
            (true, Some(server)) => Err(DnsError::NoSuchName(server)),
            (true, None) => Err(DnsError::NoAnswer),
        }
    }

    /// The first server's answer to one question, over the attempts,
    /// until the deadline if there is one.
    fn ask_any(
        &self,
        name: &str,
        qtype: TYPE,
        until: Option<Instant>,
    ) -> Result<(IpAddr, Reply), DnsError> {
        // Set when a query went out and timed out, and when one could not
        // be sent: only the second alone makes the servers unreachable.
        let (mut waited, mut unreachable) = (false, None);
        for _ in 0..self.attempts {
            for &server in &self.servers {
                let wait = match until {
                    Some(u) => self
                        .timeout
                        .min(u.saturating_duration_since(Instant::now())),
                    None => self.timeout,
                };
                if wait.is_zero() {
                    return Err(DnsError::NoAnswer);
                }
                match ask(server, name, qtype, wait) {
                    Ok(Some(r)) => return Ok((server.ip(), r)),
                    Ok(None) => waited = true,
                    Err(AskError::BadName) => return Err(DnsError::BadName),
                    Err(AskError::Io(kind)) => unreachable = Some(kind),
                }
            }
        }
        match unreachable.filter(|_| !waited) {
            Some(kind) => Err(DnsError::Unreachable(kind)),
            None => Err(DnsError::NoAnswer),
        }
    }
}

enum AskError {
    BadName,
    /// The socket failed (no route, refused): as no answer.
    Io(io::ErrorKind),
}

/// One question to one server: its answer, or `None` when none came in
/// `timeout`.
fn ask(
    server: SocketAddr,
    name: &str,
    qtype: TYPE,
    timeout: Duration,
) -> Result<Option<Reply>, AskError> {
    let id = random_id();
    let mut q = Packet::new_query(id);
    q.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).map_err(|_| AskError::BadName)?;
    q.questions.push(Question::new(
        qname.clone(),
        qtype.into(),
        CLASS::IN.into(),
        false,
    ));
    let bytes = q.build_bytes_vec().map_err(|_| AskError::BadName)?;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).map_err(|e| AskError::Io(e.kind()))?;
    sock.connect(server).map_err(|e| AskError::Io(e.kind()))?;
    sock.send(&bytes).map_err(|e| AskError::Io(e.kind()))?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left))
            .map_err(|e| AskError::Io(e.kind()))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(AskError::Io(e.kind())),
        };
        if let Some(r) = reply(&buf[..n], id, &qname, qtype) {
            return Ok(Some(r));
        }
    }
}

/// `bytes` as the answer to query `id` for (`qname`, `qtype`); `None`
/// for anything else (a stray or forged datagram is ignored).
fn reply(bytes: &[u8], id: u16, qname: &Name, qtype: TYPE) -> Option<Reply> {
    let p = Packet::parse(bytes).ok()?;
    let same_question = p.questions.len() == 1
        && p.questions[0]
            .qname
            .to_string()
            .eq_ignore_ascii_case(&qname.to_string())
        && p.questions[0].qtype == qtype.into();
    if p.id() != id || !p.has_flags(PacketFlag::RESPONSE) || !same_question {
        return None;
    }
    Some(match p.rcode() {
        RCODE::NoError => {
            let addrs: Vec<IpAddr> = (p.answers.iter())
                .filter_map(|rr| match &rr.rdata {
                    RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
                    RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(a.address))),
                    _ => None,
                })
                .collect();
            if addrs.is_empty() {
                Reply::NoData
            } else {
                Reply::Addrs(addrs)
            }
        }
        RCODE::NameError => Reply::NoSuchName,
        rcode => Reply::Failed(rcode),
    })
}

/// A query id from the kernel's random source; the clock's nanoseconds
/// if that cannot be read.
fn random_id() -> u16 {
    let mut b = [0u8; 2];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u16::from_ne_bytes(b),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u16),
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
