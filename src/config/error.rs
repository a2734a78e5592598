//! Diagnostics for configuration text: errors and warnings that point at a
//! place (`file:line:col`) and say what is wrong and what was expected.
//!
//! Owns: the location type, the error and warning kinds, and the collector
//! that the lexer, parser and validators push into. Must not: print, exit,
//! or decide policy beyond `--lenient` (the CLI decides what to do).

use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// A place in a configuration file. Lines and columns are 1-based; the
/// column counts characters (Unicode scalar values), not bytes, so a caret
/// under a line of Chinese comments still lands on the right token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub file: FileName,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: FileName, line: u32, col: u32) -> Self {
        Loc { file, line, col }
    }
}

/// A config file's name as a place shows it, interned: a [`Loc`] is `Copy`
/// and twelve bytes, and a token costs no reference count (a config of
/// 10,000 real servers has some 200,000 tokens; counting them was a tenth
/// of a read). Each distinct name is kept for the life of the process: a
/// box reads a handful of files, and the same names again at every reload.
/// Compares and orders as the name does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileName(u32);

/// Every name interned, at its number.
static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

impl FileName {
    pub fn intern(name: &str) -> Self {
        let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
        let at = match names.iter().position(|n| *n == name) {
            Some(at) => at,
            None => {
                names.push(Box::leak(Box::from(name)));
                names.len() - 1
            }
        };
        FileName(u32::try_from(at).unwrap_or(u32::MAX))
    }

    pub fn as_str(self) -> &'static str {
        let names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
        usize::try_from(self.0)
            .ok()
            .and_then(|i| names.get(i).copied())
            .unwrap_or("?")
    }
}

impl Deref for FileName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for FileName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialOrd for FileName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FileName {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.0 == other.0 {
            return Ordering::Equal;
        }
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What is wrong with a configuration. Messages are lowercase, say what was
/// found and what was expected; the location is printed in front by
/// [`Diagnostic`].
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ErrorKind {
    #[error("cannot resolve '{name}' ({keyword}): {reason}")]
    NameNotResolved {
        keyword: String,
        name: String,
        reason: crate::resolve::ResolveError,
    },
    // --- reading and lexing ------------------------------------------------
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("unterminated quoted string: expected a closing '\"' before the end of the line")]
    UnterminatedQuote,
    #[error("unexpected '}}': no block is open here")]
    UnexpectedClose,
    #[error("block opened with '{{' at {opened_at} is never closed: expected '}}'")]
    UnclosedBlock { opened_at: Loc },
    #[error("'{{' must follow a keyword on the same line")]
    BlockWithoutKeyword,
    #[error("include nested deeper than {max} levels")]
    IncludeTooDeep { max: usize },
    #[error("include of {path} would include itself (cycle)")]
    IncludeCycle { path: PathBuf },
    #[error("include {pattern}: no such file")]
    IncludeMissing { pattern: String },
    #[error("include {pattern}: bad pattern: {reason}")]
    IncludeBadPattern { pattern: String, reason: String },
    #[error(
        "line {line} is not valid UTF-8 text: expected a UTF-8 file (convert it, e.g. with iconv)"
    )]
    NotUtf8 { line: u32 },
    #[error("word longer than {max} bytes: expected at most {max} bytes per word")]
    TokenTooLong { max: usize },
    #[error(
        "{path} is larger than {max} bytes: expected a configuration file of at most {max} bytes"
    )]
    FileTooLarge { path: PathBuf, max: u64 },
    #[error("the configuration with its includes is larger than {max} bytes: expected at most {max} bytes in all")]
    ConfigTooLarge { max: u64 },
    #[error("parameter '${name}' is not defined here: expected a line '${name}=VALUE' before it (keepalived would leave the text as written)")]
    UndefinedParameter { name: String },
    #[error("parameter '${name}' has several lines: it may only be named at the end of a line")]
    MultilineParameterInLine { name: String },
    #[error("parameter '${name}' does not end: a line may have at most {max_substitutions} substitutions and {max_chars} characters after them")]
    ParameterLoop {
        name: String,
        max_chars: usize,
        max_substitutions: usize,
    },
    #[error("blocks nested deeper than {max} levels: expected at most {max} nested '{{'")]
    NestedTooDeep { max: usize },

    // --- keywords and values -----------------------------------------------
    #[error("unknown keyword '{keyword}' in {context}{}", hint(.suggestion))]
    UnknownKeyword {
        keyword: String,
        context: &'static str,
        suggestion: Option<&'static str>,
    },
    #[error("'{keyword}' is not supported by vigil: {why}")]
    Unsupported { keyword: String, why: &'static str },
    /// A setting strict mode (`vrrp_strict`, `strict_mode`) cannot run
    /// with, which keepalived refuses too.
    #[error("vrrp_instance {instance}: {what} in strict mode (vrrp_strict / strict_mode), as keepalived refuses it")]
    Strict {
        instance: String,
        what: &'static str,
    },
    /// A keyword keepalived reads in this block and vigil does not (yet).
    #[error("keepalived's '{keyword}' is not supported by vigil (in {context})")]
    NotInVigil {
        keyword: String,
        context: &'static str,
    },
    /// An option of a keepalived line vigil reads (a route, a rule) that
    /// vigil does not install.
    #[error("keepalived's '{option}' option of {of} is not supported by vigil")]
    NotInVigilOption { option: String, of: String },
    #[error("'{keyword}' needs {expected}")]
    MissingArgument {
        keyword: String,
        expected: &'static str,
    },
    #[error("'{keyword}': unexpected '{extra}', expected {expected}")]
    UnexpectedArgument {
        keyword: String,
        extra: String,
        expected: &'static str,
    },
    #[error("'{keyword}': invalid value '{value}', expected {expected}")]
    InvalidValue {
        keyword: String,
        value: String,
        expected: String,
    },
    #[error("'{keyword}' needs a block '{{ ... }}'")]
    MissingBlock { keyword: String },
    #[error("'{keyword}' takes no block")]
    UnexpectedBlock { keyword: String },
    #[error("'{keyword}' is missing from {block}")]
    MissingRequired {
        block: String,
        keyword: &'static str,
    },
    #[error("{what} is given twice (first at {first})")]
    Duplicate { what: String, first: Loc },
    /// A statement given twice in one block with other words.
    #[error("'{keyword}' is given twice with another value (first at {first}: '{was}'; here: '{now}'): keepalived 2.2.7 runs the last one ('{now}') without a word; keep the one meant and remove the other")]
    RepeatOther {
        keyword: String,
        first: Loc,
        was: String,
        now: String,
    },
    #[error("too many {what}: at most {max}")]
    TooMany { what: &'static str, max: usize },

    // --- meaning (cross-field validators) ----------------------------------
    #[error("{0}")]
    Invalid(Invalid),
}

fn hint(s: &Option<&'static str>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

/// Cross-field problems found after parsing, each its own variant so that
/// tests and tools can match on them.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum Invalid {
    #[error("{block}: track_file {file} names no track_file block")]
    UnknownTrackFile { block: String, file: String },
    #[error("{block}: track_process {process} names no vrrp_track_process")]
    UnknownTrackProcess { block: String, process: String },
    /// vigil keeps scripts, files and processes in one table of tracked
    /// things.
    #[error("{name} is already the name of a vrrp_script, track_file or vrrp_track_process: vigil needs the names apart")]
    TrackFileName { name: String },
    #[error("vrrp_instance {instance}: priority 255 means the address owner, which must start as MASTER, not BACKUP")]
    OwnerNotMaster { instance: String },
    #[error("vrrp_instance {instance}: virtual_router_id {vrid} on {interface} is already used by vrrp_instance {other}")]
    VridInUse {
        instance: String,
        vrid: u8,
        interface: String,
        other: String,
    },
    #[error("vrrp_instance {instance}: use_vmac link {name} is also the {what} of vrrp_instance {other}; give it another name ('use_vmac NAME')")]
    VmacName {
        instance: String,
        name: String,
        other: String,
        what: &'static str,
    },
    #[error("vrrp_instance {instance}: VRRPv2 carries whole seconds 1..255, advert_int {advert} is not one (use 'version 3' for sub-second adverts)")]
    V2Interval { instance: String, advert: String },
    /// Only a written `version 2` before the addresses: keepalived 2.2.7
    /// then sends VRRPv2 over IPv6 (measured), which vigil does not.
    #[error("vrrp_instance {instance}: VRRPv2 is IPv4 only; {addr} needs VRRPv3: write 'version 3' or no version (keepalived 2.2.7 sends VRRPv2 over IPv6 when 'version 2' comes before the addresses, which no RFC defines and vigil does not speak; its peers must run VRRPv3 too)")]
    V2Ipv6 { instance: String, addr: String },
    #[error("vrrp_instance {instance}: VRRPv3 has no authentication (RFC 5798 section 9); remove the authentication block or use 'version 2'")]
    V3Auth { instance: String },
    #[error("vrrp_instance {instance}: advert_int {advert} is outside VRRPv3's 0.01..40.95 s in steps of 0.01 s")]
    V3Interval { instance: String, advert: String },
    #[error(
        "vrrp_instance {instance}: {addr} is not inside any subnet of {interface} ({subnets})"
    )]
    VipOutsideSubnet {
        instance: String,
        addr: String,
        interface: String,
        subnets: String,
    },
    #[error("vrrp_instance {instance}: label '{label}' must start with the device name '{dev}' (kernel rule)")]
    LabelNotDevice {
        instance: String,
        label: String,
        dev: String,
    },
    #[error("vrrp_instance {instance}: unicast_src_ip {addr} is not the family of the instance's addresses")]
    UnicastFamily { instance: String, addr: String },
    #[error("vrrp_sync_group {group}: no vrrp_instance named {member}")]
    UnknownSyncMember { group: String, member: String },
    #[error(
        "vrrp_sync_group {group}: vrrp_instance {member} is already in vrrp_sync_group {other}"
    )]
    SyncMemberTwice {
        group: String,
        member: String,
        other: String,
    },
    #[error("lvs_sync_daemon: no vrrp_instance named {instance}")]
    SyncDaemonInstance { instance: String },
    #[error("virtual_server {service}: real_server {real} is given twice")]
    DuplicateRealServer { service: String, real: String },
    #[error("virtual_server {service}: real_server {real} is the same kernel destination as real_server {other}: lvs_method {method} forwards to the service's port, whatever the real server's")]
    SameDestination {
        service: String,
        real: String,
        other: String,
        method: &'static str,
    },
    #[error("virtual_server {service} is given twice (first at {first})")]
    DuplicateService { service: String, first: Loc },
    /// A fwmark in the range of vigil's DR-path services.
    #[error("virtual_server fwmark {mark}: marks {first}..={last} are vigil's own (the DR-path checks' services): use another mark")]
    ReservedFwmark { mark: u32, first: u32, last: u32 },
    /// `virtual_server group G` names no group, or an empty one.
    #[error("virtual_server group {group}: {}", if *known { "the virtual_server_group has no member" } else { "no virtual_server_group of that name" })]
    ServiceGroup { group: String, known: bool },
    #[error("the virtual servers make {services} IPVS services (groups expanded): at most {max} (VIRTUAL_SERVERS_MAX)")]
    TooManyServices { services: usize, max: usize },
    #[error("virtual_server {service}: its real servers bring the config to {destinations} destinations (a real server once per IPVS service it serves, groups expanded): at most {max} (DESTINATIONS_MAX)")]
    TooManyDestinations {
        service: String,
        destinations: usize,
        max: usize,
    },
    #[error("virtual_server {service}: {what} {addr} is not the family of the service")]
    ServiceFamily {
        service: String,
        what: &'static str,
        addr: String,
    },
    #[error("virtual_server {service}: persistence_granularity /{prefix} is longer than an IPv{family} address")]
    Granularity {
        service: String,
        prefix: u8,
        family: u8,
    },
    /// keepalived 2.2.7 takes such a config and its TCP_CHECK connects to
    /// port 0 (measured in the lab, DR, NAT and TUN alike, while its log
    /// names the service's port): the server is out for good.
    #[error("virtual_server {service}: real_server {real} has no port, so its {checker} has nothing to connect to: set connect_port (keepalived 2.2.7 takes this and connects to port 0, whatever lvs_method, though its log names the service's port: the server fails its first check and never comes back)")]
    CheckerPort {
        service: String,
        real: String,
        checker: &'static str,
    },
    #[error("virtual_server {service}: real_server {real}: lthreshold {lower} needs an uthreshold of at least {lower} (the kernel refuses lower > upper; 0 means no upper limit)")]
    Thresholds {
        service: String,
        real: String,
        lower: u32,
        upper: u32,
    },
    #[error("virtual_server {service}: quorum {quorum} is larger than the total weight {total} of its real servers; the service could never be up")]
    QuorumUnreachable {
        service: String,
        quorum: u32,
        total: u64,
    },
    #[error("virtual_server {service}: hysteresis {hysteresis} must be less than quorum {quorum}")]
    Hysteresis {
        service: String,
        hysteresis: u32,
        quorum: u32,
    },
    #[error("appliance: interface {interface} is given twice")]
    DuplicateInterface { interface: String },
    #[error("appliance: route via {gateway} on {interface} is not reachable from any address of {interface}")]
    GatewayUnreachable { interface: String, gateway: String },
    /// `metrics listen` on an address no appliance interface has: the
    /// endpoint binds the box's management address only.
    #[error("global_defs: metrics listen {address} is no address of an appliance interface")]
    MetricsAddress { address: String },
    #[error("bgp: sync_daemon and global_defs' lvs_sync_daemon both ask for the kernel's sync daemons: the kernel runs one master and one backup; keep one")]
    SyncDaemonTwice,
    #[error("bgp: neighbor {address} is given twice")]
    DuplicateNeighbor { address: String },
    #[error(
        "bgp: neighbor {address}: source_address {source_address} is not of the neighbor's family"
    )]
    NeighborSourceFamily {
        address: String,
        source_address: String,
    },
    #[error("virtual_server {service}: anycast needs a bgp block to announce {address}")]
    AnycastWithoutBgp { service: String, address: String },
    #[error("virtual_server {service}: anycast {address}: a {family} address needs a bgp neighbor of that family to be announced to")]
    AnycastNoNeighbor {
        service: String,
        address: String,
        family: &'static str,
    },
    #[error("virtual_server {service}: anycast {address} is also a virtual_ipaddress of vrrp_instance {instance}: an address is held by VRRP or announced by BGP, not both")]
    AnycastIsVrrpVip {
        service: String,
        address: String,
        instance: String,
    },
    #[error("virtual_server {service}: anycast {address} is not the service's own address {own}")]
    AnycastNotOwn {
        service: String,
        address: String,
        own: String,
    },
    #[error("virtual_server {service}: anycast needs the ADDRESS to announce (a fwmark service or a group has none of its own)")]
    AnycastNeedsAddress { service: String },
}

/// One error or warning with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic<K> {
    pub loc: Loc,
    pub kind: K,
}

/// How bad a kind of diagnostic is: the word printed after the location.
pub trait Severity {
    const LABEL: &'static str;
}

impl Severity for ErrorKind {
    const LABEL: &'static str = "error";
}

impl Severity for WarningKind {
    const LABEL: &'static str = "warning";
}

/// `file:line:col: error: what` or `file:line:col: warning: what`.
impl<K: fmt::Display + Severity> fmt::Display for Diagnostic<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.loc, K::LABEL, self.kind)
    }
}

/// Things that import but deserve a word.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum WarningKind {
    /// A spelling keepalived does not know at all (the seed's own), read as
    /// the keyword it obviously means.
    #[error("'{alias}' is not a keepalived keyword; read as '{canonical}'{}", paren(.note))]
    ForeignAlias {
        alias: String,
        canonical: &'static str,
        note: Option<&'static str>,
    },
    /// An older keepalived name for a keyword that has a current one.
    #[error("'{alias}' is keepalived's deprecated name for '{canonical}'")]
    DeprecatedAlias {
        alias: String,
        canonical: &'static str,
    },
    /// `--lenient` turned an unknown keyword into this warning; the setting
    /// is NOT applied.
    #[error("unknown keyword '{keyword}' in {context} ignored (--lenient): this setting is lost")]
    IgnoredKeyword {
        keyword: String,
        context: &'static str,
    },
    /// `--lenient` turned a keepalived keyword vigil lacks into this
    /// warning; the setting is NOT applied.
    #[error("keepalived's '{keyword}' is not supported by vigil (in {context}); ignored (--lenient): this setting is lost")]
    IgnoredKeepalived {
        keyword: String,
        context: &'static str,
    },
    /// `--lenient` kept a parameter name that is not defined as written.
    #[error("parameter '${name}' is not defined here; left as written (--lenient)")]
    UndefinedParameter { name: String },
    /// keepalived reads only the first 8 bytes of a longer `auth_pass`;
    /// vigil does the same, so a mixed pair agrees on the key.
    #[error("'auth_pass' has {len} bytes: only the first {max} are used, as keepalived does (VRRP carries {max})")]
    PassTruncated { len: usize, max: usize },
    /// A keyword keepalived still accepts that has no effect in vigil, or
    /// an old spelling read as its current form; `what` says which.
    #[error("'{keyword}' is obsolete: {what}")]
    Obsolete { keyword: String, what: String },
    /// A virtual address of the other family than the instance's first:
    /// keepalived leaves it out, and so does vigil.
    #[error("vrrp_instance {instance}: {addr} is IPv{got} but the instance's first virtual address is IPv{want}: left out, as keepalived does (list it in virtual_ipaddress_excluded to have it added)")]
    OtherFamilyVip {
        instance: String,
        addr: String,
        got: u8,
        want: u8,
    },
    #[error("vrrp_instance {instance}: nopreempt does not work with 'state MASTER': cleared, as keepalived does (this instance preempts)")]
    NopreemptCleared { instance: String },
    /// A setting strict mode forbids, dropped or changed as keepalived
    /// 2.2.7 does.
    #[error("vrrp_instance {instance}: strict mode (vrrp_strict / strict_mode): {what}")]
    Strict {
        instance: String,
        what: &'static str,
    },
    #[error("'{program}' is looked up in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) each time it runs, as keepalived does; write its full path")]
    PathSearch { program: String },
    #[error("real_server {real} has {count} MISC_CHECKs with misc_dynamic: the weight is whichever ran last (keepalived warns that this causes problems)")]
    SeveralDynamicMisc { real: String, count: usize },
    #[error("vrrp_script {script} is not tracked by any vrrp_instance or vrrp_sync_group: it never runs")]
    ScriptUnused { script: String },
    #[error("{block}: the weight of {kind} {script} is cleared ({why}), as keepalived does: {effect} puts the instance in FAULT")]
    TrackWeightCleared {
        block: String,
        /// `track_script` or `track_file`.
        kind: &'static str,
        script: String,
        why: &'static str,
        /// "a failing script" or "a non-zero value".
        effect: &'static str,
    },
    /// keepalived keeps the first script of a notify keyword given twice.
    #[error("'{keyword}' is given twice (first at {first}): the first is used, as keepalived does, and this one is ignored")]
    RepeatIgnored { keyword: String, first: Loc },
    /// A statement given twice in one block with the same words.
    #[error("'{keyword}' is given twice (first at {first}) with the same value: the setting is the same whichever counts (keepalived 2.2.7 uses the last); this one changes nothing")]
    RepeatSame { keyword: String, first: Loc },
    /// `sh-port` and the like under a service whose scheduler is not theirs.
    #[error("'{keyword}' is a flag of the {owner} scheduler and this service's is {scheduler}: ignored, as keepalived does")]
    SchedFlagIgnored {
        keyword: &'static str,
        owner: &'static str,
        scheduler: &'static str,
    },
    /// A value keepalived does not take as written and still runs with:
    /// vigil reads it the same way; `what` says how.
    #[error("'{keyword}': {what}, as keepalived does")]
    AsKeepalived { keyword: &'static str, what: String },
    /// An instance without addresses: keepalived runs it (people move an
    /// address with notify scripts, e.g. on a cloud), and so does vigil.
    #[error("vrrp_instance {instance}: {}: the instance runs VRRP and its notify scripts but adds no address, as keepalived does", if *empty { "virtual_ipaddress is empty" } else { "no virtual_ipaddress" })]
    NoVip { instance: String, empty: bool },
    /// A `track_script` entry naming no `vrrp_script`.
    #[error("{block}: track_script {script} names no vrrp_script: ignored, as keepalived does")]
    UnknownTrackScript { block: String, script: String },
    #[error("include {pattern}: the pattern matched no file")]
    IncludeEmpty { pattern: String },
    /// An anycast service whose scheduler may pick another real server
    /// for one flow on another box: a flow ECMP moves between boxes (one
    /// dies, joins or drains) then breaks unless synced.
    #[error("virtual_server {service}: anycast with lvs_sched {scheduler}: the boxes announcing it may each send one flow to a different real server; mh (Maglev hashing) picks the same one on every box with the same real servers and weights")]
    AnycastScheduler {
        service: String,
        scheduler: &'static str,
    },
    #[error("{0}")]
    Note(String),
}

fn paren(n: &Option<&'static str>) -> String {
    match n {
        Some(n) => format!(" ({n})"),
        None => String::new(),
    }
}

pub type Error = Diagnostic<ErrorKind>;
pub type Warning = Diagnostic<WarningKind>;

/// The files of one read, in the order they were first read (the main file,
/// then each include where it appears), so that diagnostics print in file
/// and line order rather than in the order the passes found them.
#[derive(Debug, Default, Clone)]
pub struct FileOrder(Vec<FileName>);

impl FileOrder {
    /// Record that `file` is being read (again is fine).
    pub fn note(&mut self, file: FileName) {
        if !self.0.contains(&file) {
            self.0.push(file);
        }
    }

    /// The sort key of a place: file rank, line, column. A file never
    /// noted sorts after all the others.
    pub fn key(&self, loc: &Loc) -> (usize, u32, u32) {
        let rank = self.0.iter().position(|f| *f == loc.file);
        (rank.unwrap_or(usize::MAX), loc.line, loc.col)
    }

    /// Errors and warnings merged into printed lines, in file and line
    /// order (at one place, the error first). Each list must be sorted.
    pub fn lines(&self, errors: &[Error], warnings: &[Warning]) -> Vec<String> {
        let (mut e, mut w) = (errors.iter().peekable(), warnings.iter().peekable());
        let mut out = Vec::with_capacity(errors.len() + warnings.len());
        loop {
            let line = match (e.peek(), w.peek()) {
                (Some(x), Some(y)) if self.key(&y.loc) < self.key(&x.loc) => {
                    w.next().map(ToString::to_string)
                }
                (Some(_), _) => e.next().map(ToString::to_string),
                (None, Some(_)) => w.next().map(ToString::to_string),
                (None, None) => break,
            };
            out.extend(line);
        }
        out
    }
}

/// Collects everything found in one pass, so that one run reports every
/// problem rather than the first.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<Error>,
    pub warnings: Vec<Warning>,
    /// Turn unknown keywords into warnings (`--lenient`).
    pub lenient: bool,
    /// The files read so far, for [`Diagnostics::sort`].
    pub files: FileOrder,
}

impl Diagnostics {
    pub fn new(lenient: bool) -> Self {
        Diagnostics {
            lenient,
            ..Default::default()
        }
    }

    pub fn error(&mut self, loc: &Loc, kind: ErrorKind) {
        self.errors.push(Diagnostic { loc: *loc, kind });
    }

    pub fn warn(&mut self, loc: &Loc, kind: WarningKind) {
        self.warnings.push(Diagnostic { loc: *loc, kind });
    }

    /// An unknown keyword: an error, or with `--lenient` a warning that says
    /// the setting is lost.
    pub fn unknown(
        &mut self,
        loc: &Loc,
        keyword: &str,
        context: &'static str,
        suggestion: Option<&'static str>,
    ) {
        if self.lenient {
            self.warn(
                loc,
                WarningKind::IgnoredKeyword {
                    keyword: keyword.to_owned(),
                    context,
                },
            );
        } else {
            self.error(
                loc,
                ErrorKind::UnknownKeyword {
                    keyword: keyword.to_owned(),
                    context,
                    suggestion,
                },
            );
        }
    }

    /// A keyword keepalived reads in `context` and vigil does not: an
    /// error, or with `--lenient` a warning that says the setting is lost.
    pub fn not_in_vigil(&mut self, loc: &Loc, keyword: &str, context: &'static str) {
        let keyword = keyword.to_owned();
        if self.lenient {
            self.warn(loc, WarningKind::IgnoredKeepalived { keyword, context });
        } else {
            self.error(loc, ErrorKind::NotInVigil { keyword, context });
        }
    }

    /// Put errors and warnings in file and line order (stable: two at one
    /// place keep the order they were found in).
    pub fn sort(&mut self) {
        let files = &self.files;
        self.errors.sort_by_key(|e| files.key(&e.loc));
        self.warnings.sort_by_key(|w| files.key(&w.loc));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
