//! The shape of every keyword for path walking, completion and `?`.
//!
//! Owns: which keywords open a block and how many words name it, which
//! hold a list of entries, the fixed choices of a value and a few words of
//! help for each keyword. The keywords themselves come from the parser's
//! section tables (`config::parse::tables`), so a keyword the parser
//! learns is walkable at once (as a plain value until this file says
//! more). Must not: check values (the parser does, on the whole text).

use crate::config::model::{Method, Protocol, Scheduler};
use crate::config::parse::tables::*;
use crate::config::parse::Section;

/// How the words after a block keyword name one block among its siblings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// No name: the first block of that keyword (`global_defs`, `TCP_CHECK`).
    Single,
    /// One name (`vrrp_instance VI_1`, `interface eth0`).
    One,
    /// `IP [PORT]`, `fwmark N` or `group NAME` (a virtual server).
    Service,
    /// `IP [PORT]` (a real server).
    Real,
    /// A `url` block, named by the `path` inside it.
    ByPath,
}

/// What follows a keyword in a path.
#[derive(Clone, Copy)]
pub enum Shape {
    /// `kw VALUE...` on one line.
    Leaf,
    /// `kw { ENTRY... }`: one entry per line, known by its first word.
    List,
    /// `kw NAME... { ... }` with its own keyword table.
    Block(&'static Section, Naming),
}

/// The table of the top level.
pub fn top() -> &'static Section {
    &TOP
}

/// The shape of keyword `kw` (canonical) inside `section`.
pub fn shape(section: &Section, kw: &str) -> Shape {
    use Naming::*;
    use Shape::*;
    match (section.name, kw) {
        ("the top level", "global_defs") => Block(&GLOBAL, Single),
        ("the top level", "appliance") => Block(&APPLIANCE, Single),
        ("the top level", "bgp") => Block(&BGP, Single),
        ("bgp", "neighbor") => Block(&NEIGHBOR, One),
        ("the top level", "vrrp_script") => Block(&SCRIPT, One),
        ("the top level", "track_file") => Block(&TRACK_FILE, One),
        ("the top level", "vrrp_track_process") => Block(&TRACK_PROCESS, One),
        ("the top level", "vrrp_sync_group") => Block(&SYNC_GROUP, One),
        ("the top level", "vrrp_instance") => Block(&INSTANCE, One),
        ("the top level", "virtual_server") => Block(&SERVICE, Service),
        ("vrrp_instance", "authentication") => Block(&AUTH, Single),
        ("virtual_server", "real_server") => Block(&REAL, Real),
        ("real_server", "TCP_CHECK") => Block(&TCP_CHECK, Single),
        ("real_server", "HTTP_GET" | "SSL_GET") => Block(&HTTP_CHECK, Single),
        ("real_server", "WS_CHECK") => Block(&WS_CHECK, Single),
        ("real_server", "MISC_CHECK") => Block(&MISC_CHECK, Single),
        ("HTTP_GET/SSL_GET", "url") => Block(&URL, ByPath),
        ("appliance", "interface") => Block(&INTERFACE, One),
        ("appliance", "ipvs") => Block(&IPVS, Single),
        ("appliance", "watchdog") => Block(&WATCHDOG, Single),
        ("appliance", "console") => Block(&CONSOLE, Single),
        ("global_defs", "metrics") => Block(&METRICS, Single),
        (
            "vrrp_instance",
            "virtual_ipaddress"
            | "virtual_ipaddress_excluded"
            | "unicast_peer"
            | "track_interface"
            | "track_script"
            | "track_file"
            | "track_process",
        )
        | ("vrrp_sync_group", "group" | "track_script" | "track_file" | "track_process")
        | ("global_defs", "notification_email") => List,
        _ => Leaf,
    }
}

/// What a word of `section` resolves to.
pub enum Word {
    /// A keyword vigil reads, under its canonical name.
    Known(&'static str),
    /// keepalived's word vigil does not read.
    Keepalived,
    /// Accepted by keepalived, dropped by vigil, with why.
    Obsolete(&'static str),
    Unknown,
}

/// Resolve `word` in `section`, aliases to their canonical keyword.
pub fn resolve(section: &'static Section, word: &str) -> Word {
    if let Some(kw) = keywords(section).find(|k| *k == word) {
        return Word::Known(kw);
    }
    if let Some(a) = section.aliases.iter().find(|a| a.alias == word) {
        return Word::Known(a.canonical);
    }
    if let Some(o) = section.obsolete.iter().find(|o| o.keyword == word) {
        return Word::Obsolete(o.what);
    }
    if section.keepalived.contains(&word) {
        return Word::Keepalived;
    }
    Word::Unknown
}

/// The canonical keywords of `section`, in table order.
pub fn keywords(section: &'static Section) -> impl Iterator<Item = &'static str> {
    section.keywords.iter().chain(section.shared).copied()
}

/// Whether `kw` may be given more than once in `section`.
pub fn repeatable(section: &Section, kw: &str) -> bool {
    section.repeatable.contains(&kw)
}

const BOOLS: &[&str] = &["on", "off"];

/// The fixed choices of a value, where there are any.
pub fn choices(section: &Section, kw: &str) -> Vec<&'static str> {
    match (section.name, kw) {
        ("vrrp_instance", "state") => vec!["MASTER", "BACKUP"],
        ("vrrp_instance", "version") | ("global_defs", "vrrp_version") => vec!["2", "3"],
        ("authentication", "auth_type") => vec!["PASS"],
        (_, "lvs_sched") => Scheduler::ALL.iter().map(|s| s.keyword()).collect(),
        (_, "lvs_method") => Method::ALL.iter().map(|s| s.keyword()).collect(),
        ("virtual_server", "protocol") => Protocol::ALL.iter().map(|s| s.keyword()).collect(),
        ("virtual_server", "ip_family") => vec!["inet", "inet6"],
        ("appliance interface", "route") => vec!["default"],
        ("appliance", "ip_forward") => BOOLS.to_vec(),
        ("bgp neighbor", "bfd") => BOOLS.to_vec(),
        ("bgp", "drain") => vec!["withdraw", "prepend"],
        ("appliance ipvs", kw) if kw != "conn_reuse_mode" => BOOLS.to_vec(),
        _ => Vec::new(),
    }
}

/// What names from the config a value or entry of `kw` may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    /// The appliance's interfaces.
    Interfaces,
    /// The `vrrp_script` names.
    Scripts,
    /// The `vrrp_instance` names.
    Instances,
}

/// Which names of the config complete a value of `kw` in `section`.
pub fn names(section: &Section, kw: &str) -> Option<Names> {
    match (section.name, kw) {
        ("vrrp_instance", "interface" | "track_interface" | "lvs_sync_daemon_interface")
        | ("global_defs", "lvs_sync_daemon") => Some(Names::Interfaces),
        (_, "track_script") => Some(Names::Scripts),
        ("vrrp_sync_group", "group") => Some(Names::Instances),
        _ => None,
    }
}

/// What the name words of a block are, for `?`.
pub fn naming_help(naming: Naming) -> &'static str {
    match naming {
        Naming::Single => "",
        Naming::One => "<name>",
        Naming::Service => "<IP> [<port>] | fwmark <N>",
        Naming::Real => "<IP> [<port>]",
        Naming::ByPath => "<path> (the url's path, e.g. /health)",
    }
}

/// A few words on keyword `kw` of `section`: its value and meaning.
pub fn help(section: &Section, kw: &str) -> &'static str {
    let specific = HELP
        .iter()
        .find(|(s, k, _)| *s == section.name && *k == kw)
        .or_else(|| HELP.iter().find(|(s, k, _)| s.is_empty() && *k == kw));
    match (specific, shape(section, kw)) {
        (Some((_, _, h)), _) => h,
        (None, Shape::Block(..)) => "{ ... } block",
        (None, Shape::List) => "{ ... } list, one entry per line",
        (None, Shape::Leaf) => "<value>",
    }
}

/// (section, keyword, help); an empty section applies to every section
/// that has the keyword and no entry of its own.
const HELP: &[(&str, &str, &str)] = &[
    (
        "the top level",
        "global_defs",
        "{ } router id, mail, VRRP defaults",
    ),
    (
        "the top level",
        "appliance",
        "{ } this box: hostname, NICs, routes, sysctls",
    ),
    (
        "the top level",
        "bgp",
        "{ } announce anycast VIPs over BGP through BIRD",
    ),
    ("bgp", "local_as", "<AS> this box's AS number"),
    ("bgp", "router_id", "<IPv4> this box's BGP router id"),
    (
        "bgp",
        "neighbor",
        "<IP> { remote_as <AS> ... } a BGP peer (the upstream router)",
    ),
    (
        "bgp",
        "community",
        "<ASN>:<value> added to every announced route",
    ),
    (
        "bgp",
        "drain",
        "withdraw | prepend <N> what 'vigil drain' does to the routes",
    ),
    (
        "bgp",
        "bfd_interval",
        "<seconds> BFD interval (default 0.1)",
    ),
    (
        "bgp",
        "bfd_multiplier",
        "<N> BFD packets missed before down (3)",
    ),
    ("bgp", "bird_socket", "<path> BIRD's control socket"),
    (
        "bgp",
        "bird_config",
        "<path> where vigil writes BIRD's config",
    ),
    ("bgp neighbor", "remote_as", "<AS> the neighbor's AS number"),
    ("bgp neighbor", "password", "<text> TCP MD5 key"),
    (
        "bgp neighbor",
        "bfd",
        "[on|off] BFD for sub-second failure detection",
    ),
    (
        "bgp neighbor",
        "source_address",
        "<IP> this box's address for the session",
    ),
    ("bgp neighbor", "multihop", "<TTL> eBGP multihop"),
    (
        "bgp neighbor",
        "hold_time",
        "<seconds> BGP hold time, 3..65535",
    ),
    (
        "virtual_server",
        "anycast",
        "[<IP>] announce the VIP over BGP while the service has quorum",
    ),
    (
        "the top level",
        "vrrp_script",
        "<name> { } a script VRRP instances track",
    ),
    (
        "the top level",
        "vrrp_sync_group",
        "<name> { } instances that fail over together",
    ),
    (
        "the top level",
        "vrrp_instance",
        "<name> { } a VRRP virtual router",
    ),
    (
        "the top level",
        "virtual_server",
        "<IP> [<port>] | fwmark <N> { } an IPVS service",
    ),
    (
        "global_defs",
        "router_id",
        "<name> this box's name in mail and logs",
    ),
    (
        "global_defs",
        "notification_email",
        "{ <address> } who gets alert mail",
    ),
    (
        "global_defs",
        "notification_email_from",
        "<address> sender of alert mail",
    ),
    ("global_defs", "smtp_server", "<IP> [<port>] mail relay"),
    (
        "global_defs",
        "smtp_connect_timeout",
        "<seconds> mail relay timeout",
    ),
    ("global_defs", "vrrp_version", "2|3 default VRRP version"),
    (
        "global_defs",
        "lvs_sync_daemon",
        "<interface> <instance> [id N ...] connection sync",
    ),
    ("", "smtp_alert", "[on|off] send mail on state changes"),
    (
        "global_defs",
        "metrics",
        "{ listen <IP>:<port> } Prometheus /metrics endpoint",
    ),
    (
        "global_defs metrics",
        "listen",
        "<IP>:<port> a management address ([IPv6]:port)",
    ),
    ("appliance", "hostname", "<name> the box's host name"),
    (
        "appliance",
        "interface",
        "<ifname> { } a NIC: addresses, MTU, routes",
    ),
    (
        "appliance",
        "ip_forward",
        "on|off IPv4 forwarding (NAT needs on)",
    ),
    ("appliance", "ipvs", "{ } net.ipv4.vs sysctls"),
    (
        "appliance",
        "watchdog",
        "{ } hardware watchdog device and timeout",
    ),
    ("appliance", "console", "{ password_hash } console login"),
    (
        "appliance interface",
        "address",
        "<IP>/<prefix> an address of this NIC",
    ),
    ("appliance interface", "mtu", "<68-65535> link MTU"),
    (
        "appliance interface",
        "route",
        "default|<net>/<prefix> via <gateway>",
    ),
    (
        "appliance interface",
        "arp_ignore",
        "0|1|2|3|8 net.ipv4.conf.IF.arp_ignore",
    ),
    (
        "appliance interface",
        "arp_announce",
        "0|1|2 net.ipv4.conf.IF.arp_announce",
    ),
    ("appliance watchdog", "device", "</dev/...> watchdog device"),
    (
        "appliance watchdog",
        "timeout",
        "<seconds> hardware timeout",
    ),
    (
        "appliance console",
        "password_hash",
        "<$6$...> SHA-crypt hash (mkpasswd -m sha-512)",
    ),
    ("vrrp_instance", "state", "MASTER|BACKUP initial state"),
    ("vrrp_instance", "interface", "<ifname> where adverts go"),
    (
        "vrrp_instance",
        "virtual_router_id",
        "<1-255> VRRP router id (same on both boxes)",
    ),
    (
        "vrrp_instance",
        "priority",
        "<1-255> VRRP priority (higher wins, 255 owner)",
    ),
    (
        "vrrp_instance",
        "advert_int",
        "<seconds> advert interval (e.g. 1, 0.5 with v3)",
    ),
    ("vrrp_instance", "version", "2|3 VRRP version"),
    (
        "vrrp_instance",
        "authentication",
        "{ auth_type PASS; auth_pass <pw> } VRRPv2 password",
    ),
    (
        "vrrp_instance",
        "virtual_ipaddress",
        "<IP>/<prefix> [dev IF] [label L] a VIP",
    ),
    (
        "vrrp_instance",
        "virtual_ipaddress_excluded",
        "<IP>/<prefix> [dev IF] a VIP not in adverts",
    ),
    (
        "vrrp_instance",
        "unicast_src_ip",
        "<IP> source of unicast adverts",
    ),
    (
        "vrrp_instance",
        "unicast_peer",
        "<IP> a peer for unicast adverts",
    ),
    (
        "vrrp_instance",
        "nopreempt",
        "do not take over from a lower-priority master",
    ),
    (
        "vrrp_instance",
        "preempt_delay",
        "<seconds> wait before preempting",
    ),
    (
        "vrrp_instance",
        "track_interface",
        "<ifname> [weight N] fault or weight on link down",
    ),
    (
        "",
        "track_script",
        "<script> [weight N [reverse]] a vrrp_script to follow",
    ),
    ("vrrp_sync_group", "group", "<instance> a member instance"),
    ("authentication", "auth_type", "PASS (simple password)"),
    ("authentication", "auth_pass", "<password> 1..8 bytes"),
    ("vrrp_script", "script", "<path> [args] the program to run"),
    ("vrrp_script", "interval", "<seconds> between runs"),
    (
        "vrrp_script",
        "timeout",
        "<seconds> before a run counts as failed",
    ),
    (
        "vrrp_script",
        "weight",
        "<-254..254> [reverse] priority change",
    ),
    ("vrrp_script", "rise", "<N> successes before up"),
    ("vrrp_script", "fall", "<N> failures before down"),
    (
        "virtual_server",
        "delay_loop",
        "<seconds> between health checks",
    ),
    (
        "virtual_server",
        "lvs_sched",
        "rr|wrr|lc|wlc|... IPVS scheduler",
    ),
    (
        "virtual_server",
        "lvs_method",
        "NAT|DR|TUN forwarding method",
    ),
    ("virtual_server", "protocol", "TCP|UDP|SCTP"),
    (
        "virtual_server",
        "persistence_timeout",
        "<seconds> client stickiness",
    ),
    (
        "virtual_server",
        "persistence_granularity",
        "<netmask> stickiness per client net",
    ),
    (
        "virtual_server",
        "quorum",
        "<N> total weight needed for the service",
    ),
    (
        "virtual_server",
        "sorry_server",
        "<IP> [<port>] used when every real server is down",
    ),
    (
        "virtual_server",
        "real_server",
        "<IP> [<port>] { } a backend",
    ),
    ("real_server", "weight", "<0-65535> IPVS weight"),
    ("real_server", "TCP_CHECK", "{ } connect check"),
    ("real_server", "HTTP_GET", "{ url { path ... } } HTTP check"),
    ("real_server", "SSL_GET", "{ url { path ... } } HTTPS check"),
    ("real_server", "WS_CHECK", "{ path ... } WebSocket check"),
    (
        "real_server",
        "MISC_CHECK",
        "{ misc_path ... } program check",
    ),
    ("", "connect_timeout", "<seconds> connect and check timeout"),
    ("", "connect_port", "<1-65535> port to check"),
    ("", "connect_ip", "<IP> address to check"),
    ("", "retry", "<N> failures before down"),
    ("", "delay_before_retry", "<seconds> between retries"),
    ("", "delay_loop", "<seconds> between checks"),
    ("HTTP_GET/SSL_GET", "url", "<path> { } a URL to fetch"),
    ("url", "path", "</path> the URL path"),
    (
        "url",
        "status_code",
        "<code>|<low-high> ... expected status",
    ),
    ("url", "digest", "<32 hex> MD5 of the body"),
];
