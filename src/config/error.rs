//! Diagnostics for configuration text: errors and warnings that point at a
//! place (`file:line:col`) and say what is wrong and what was expected.
//!
//! Owns: the location type, the error and warning kinds, and the collector
//! that the lexer, parser and validators push into. Must not: print, exit,
//! or decide policy beyond `--lenient` (the CLI decides what to do).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A place in a configuration file. Lines and columns are 1-based; the
/// column counts characters (Unicode scalar values), not bytes, so a caret
/// under a line of Chinese comments still lands on the right token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: &Arc<str>, line: u32, col: u32) -> Self {
        Loc {
            file: Arc::clone(file),
            line,
            col,
        }
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
    #[error("vrrp_instance {instance}: priority 255 means the address owner, which must start as MASTER, not BACKUP")]
    OwnerNotMaster { instance: String },
    #[error(
        "vrrp_instance {instance}: nopreempt needs 'state BACKUP' (a MASTER start always preempts)"
    )]
    NopreemptWithMaster { instance: String },
    #[error("vrrp_instance {instance}: virtual_router_id {vrid} on {interface} is already used by vrrp_instance {other}")]
    VridInUse {
        instance: String,
        vrid: u8,
        interface: String,
        other: String,
    },
    #[error("vrrp_instance {instance}: VRRPv2 carries whole seconds 1..255, advert_int {advert} is not one (use 'version 3' for sub-second adverts)")]
    V2Interval { instance: String, advert: String },
    #[error("vrrp_instance {instance}: VRRPv2 is IPv4 only; {addr} needs 'version 3'")]
    V2Ipv6 { instance: String, addr: String },
    #[error("vrrp_instance {instance}: VRRPv3 has no authentication (RFC 5798 section 9); remove the authentication block or use 'version 2'")]
    V3Auth { instance: String },
    #[error("vrrp_instance {instance}: advert_int {advert} is outside VRRPv3's 0.01..40.95 s in steps of 0.01 s")]
    V3Interval { instance: String, advert: String },
    #[error("vrrp_instance {instance}: {addr} is IPv{got} but the instance's first virtual address is IPv{want}; an instance carries one family")]
    MixedFamily {
        instance: String,
        addr: String,
        got: u8,
        want: u8,
    },
    #[error("vrrp_instance {instance}: virtual_ipaddress is empty; an instance needs at least one address")]
    NoVip { instance: String },
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
    #[error("virtual_server {service} is given twice")]
    DuplicateService { service: String },
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
    #[error("virtual_server {service}: real_server {real} has no port; only fwmark services may omit it")]
    RealServerPort { service: String, real: String },
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
}

/// One error or warning with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic<K> {
    pub loc: Loc,
    pub kind: K,
}

impl<K: fmt::Display> fmt::Display for Diagnostic<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.kind)
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
    #[error("include {pattern}: the pattern matched no file")]
    IncludeEmpty { pattern: String },
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

/// Collects everything found in one pass, so that one run reports every
/// problem rather than the first.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<Error>,
    pub warnings: Vec<Warning>,
    /// Turn unknown keywords into warnings (`--lenient`).
    pub lenient: bool,
}

impl Diagnostics {
    pub fn new(lenient: bool) -> Self {
        Diagnostics {
            lenient,
            ..Default::default()
        }
    }

    pub fn error(&mut self, loc: &Loc, kind: ErrorKind) {
        self.errors.push(Diagnostic {
            loc: loc.clone(),
            kind,
        });
    }

    pub fn warn(&mut self, loc: &Loc, kind: WarningKind) {
        self.warnings.push(Diagnostic {
            loc: loc.clone(),
            kind,
        });
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

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
