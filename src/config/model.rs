//! The typed configuration model every other part of vigil reads.
//!
//! Owns: the shape of a configuration and its defaults. A model value holds
//! exactly what the text said, with defaults filled in at parse time, so
//! `import(export(c)) == c`. Fields that keepalived inherits from
//! `global_defs` (VRRP version, gratuitous ARP timing) stay `Option` here
//! and are resolved by the `effective_*` methods, so export writes what the
//! operator wrote. Must not: parse text, touch the system, or hold
//! locations (those live only in diagnostics).
//!
//! The model is serialised with postcard inside the versioned envelope in
//! [`super::envelope`]; changing a field's type or order changes the format and
//! needs a new envelope version. The serde shape of these types is frozen
//! at envelope V1: a field added since is `#[serde(skip)]` here and travels
//! in its version's side table (`envelope::SideV2` for `vrrp_script`
//! and `track_script`, `envelope::SideV3` for `metrics`, `envelope::SideV4`
//! for the scheduler flags and the checker, VIP and instance options of
//! keepalived's real-world configs), so V1 payloads
//! keep decoding with no copy of the old model. Nothing but the envelope
//! may serialise a `Config`.

use super::bounds::{IfName, Millis, PassKey, IFNAME_MAX};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Config {
    pub global: GlobalDefs,
    /// vigil's own block: the box itself. `None` for a plain keepalived
    /// config used as a drop-in.
    pub appliance: Option<Appliance>,
    pub vrrp_sync_groups: Vec<SyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub virtual_servers: Vec<VirtualServer>,
    /// `vrrp_script` blocks, in file order (envelope V2 side table).
    #[serde(skip)]
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `virtual_server_group` blocks, in file order (envelope V3 side
    /// table).
    #[serde(skip)]
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `track_file` blocks, in file order (envelope V3 side table).
    #[serde(skip)]
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks, in file order (envelope V3 side
    /// table).
    #[serde(skip)]
    pub track_processes: Vec<TrackProcess>,
    /// `static_routes`: installed at start whatever the VRRP states
    /// (envelope V5 side table, as `static_rules`).
    #[serde(skip)]
    pub static_routes: Vec<IpRoute>,
    #[serde(skip)]
    pub static_rules: Vec<IpRule>,
    /// vigil's own `bgp` block: the VIPs of `anycast` virtual servers
    /// announced through BIRD (envelope V10 side table).
    #[serde(skip)]
    pub bgp: Option<Bgp>,
}

impl Config {
    /// What a box boots with when its flash holds no valid config: the
    /// serial console only, no address, no VIP, no service.
    pub fn factory_default() -> Self {
        Config::default()
    }

    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|i| i.name == name)
    }

    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    /// What `inst` tracks, with keepalived's effective weights: its own
    /// `track_script` lines, then its sync group's; a line without weight
    /// takes the script's. The weight is cleared (a failure means FAULT)
    /// for a sync-group member (keepalived: a group must not have members
    /// of different priorities) and for the address owner (its priority
    /// never moves); [`Cleared`] says which. Names that are no script are
    /// left out (validate refuses them).
    pub fn tracked_scripts<'a>(&'a self, inst: &'a VrrpInstance) -> Vec<Tracked<'a>> {
        let lines = |i: &'a VrrpInstance, g: Option<&'a SyncGroup>| {
            i.track_script
                .iter()
                .chain(g.into_iter().flat_map(|g| &g.track_script))
        };
        self.tracked(inst, lines, |name| {
            self.vrrp_script(name).map(|s| (s, s.weight, s.reverse))
        })
    }

    /// keepalived's effective weights of what `inst` and its sync group
    /// track (`lines`), each looked up by name with its own weight and
    /// reverse (see [`effective`]).
    fn tracked<'a, T: 'a, L: Iterator<Item = &'a TrackScript>>(
        &'a self,
        inst: &'a VrrpInstance,
        lines: impl Fn(&'a VrrpInstance, Option<&'a SyncGroup>) -> L,
        lookup: impl Fn(&str) -> Option<(&'a T, i16, bool)>,
    ) -> Vec<Tracked<'a, T>> {
        let group = self.sync_group_of(&inst.name);
        effective(lines(inst, group), group.is_some(), inst.priority, lookup)
    }

    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|p| p.name == name)
    }

    /// What `inst` tracks of `vrrp_track_process`es, by the rules of
    /// [`Config::tracked_scripts`].
    pub fn tracked_processes<'a>(
        &'a self,
        inst: &'a VrrpInstance,
    ) -> Vec<Tracked<'a, TrackProcess>> {
        let lines = |i: &'a VrrpInstance, g: Option<&'a SyncGroup>| {
            i.track_process
                .iter()
                .chain(g.into_iter().flat_map(|g| &g.track_process))
        };
        self.tracked(inst, lines, |name| {
            self.track_process(name).map(|p| (p, p.weight, p.reverse))
        })
    }

    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|f| f.name == name)
    }

    /// What `inst` tracks of `track_file`s, by the rules of
    /// [`Config::tracked_scripts`] (a line without weight takes the
    /// file's; cleared for a sync group's member and for the owner).
    pub fn tracked_files<'a>(&'a self, inst: &'a VrrpInstance) -> Vec<Tracked<'a, TrackFile>> {
        let lines = |i: &'a VrrpInstance, g: Option<&'a SyncGroup>| {
            i.track_file
                .iter()
                .chain(g.into_iter().flat_map(|g| &g.track_file))
        };
        self.tracked(inst, lines, |name| {
            self.track_file(name).map(|f| (f, f.weight, f.reverse))
        })
    }

    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }

    /// The kernel services `vs` stands for: its own key, or one per member
    /// of its `virtual_server_group` (none when the group is unknown:
    /// validate refuses that). A fwmark member takes the virtual server's
    /// `ip_family`, as a fwmark `virtual_server` does.
    pub fn keys_of(&self, vs: &VirtualServer) -> Vec<ServiceKey> {
        let Some(name) = &vs.group else {
            return vec![vs.key];
        };
        self.virtual_server_group(name)
            .map(|g| g.keys(vs.key.is_ipv6()).collect())
            .unwrap_or_default()
    }

    /// The destinations `vs` makes: its real servers once per IPVS
    /// service it stands for (a group's members).
    pub fn destinations_of(&self, vs: &VirtualServer) -> usize {
        let services = if vs.group.is_some() {
            self.keys_of(vs).len()
        } else {
            1
        };
        services * vs.real_servers.len()
    }

    /// The destinations of the whole config (what
    /// [`DESTINATIONS_MAX`](super::bounds::DESTINATIONS_MAX) bounds).
    pub fn destinations(&self) -> usize {
        (self.virtual_servers.iter())
            .map(|vs| self.destinations_of(vs))
            .sum()
    }

    /// Every IPVS service, as the IPVS side and the reload's comparison
    /// see them: a plain virtual server as written, a group's once per
    /// member (its `key` set to the member, its `group` kept). Borrowed
    /// when the config has no group.
    pub fn services(&self) -> std::borrow::Cow<'_, [VirtualServer]> {
        if self.virtual_servers.iter().all(|vs| vs.group.is_none()) {
            return std::borrow::Cow::Borrowed(&self.virtual_servers);
        }
        let mut out = Vec::new();
        for vs in &self.virtual_servers {
            for key in self.keys_of(vs) {
                out.push(VirtualServer { key, ..vs.clone() });
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// This config with every group expanded into plain services (see
    /// [`Config::services`]): what the IPVS side works from.
    pub fn with_services_expanded(&self) -> Config {
        match self.services() {
            std::borrow::Cow::Borrowed(_) => self.clone(),
            std::borrow::Cow::Owned(v) => Config {
                virtual_servers: v,
                ..self.clone()
            },
        }
    }

    /// The sync group `instance` belongs to, if any.
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroup> {
        self.vrrp_sync_groups
            .iter()
            .find(|g| g.group.iter().any(|m| m == instance))
    }
}

/// keepalived's effective weights of tracking `lines` (instance's, then
/// its sync group's; a name seen again is skipped, an unknown one left
/// out): `lookup` gives the tracked thing with its own weight and
/// reverse.
fn effective<'a, 'l, T: 'a>(
    lines: impl Iterator<Item = &'l TrackScript>,
    in_group: bool,
    priority: u8,
    lookup: impl Fn(&str) -> Option<(&'a T, i16, bool)>,
) -> Vec<Tracked<'a, T>> {
    let mut out: Vec<Tracked<'a, T>> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for t in lines {
        let Some((thing, own_weight, own_reverse)) = lookup(&t.name) else {
            continue;
        };
        if seen.contains(&t.name.as_str()) {
            continue;
        }
        seen.push(&t.name);
        let weight = t.weight.unwrap_or(own_weight);
        let cleared = match (weight, in_group, priority) {
            (0, _, _) => None,
            (_, true, _) => Some(Cleared::SyncGroup),
            (_, false, 255) => Some(Cleared::Owner),
            _ => None,
        };
        out.push(Tracked {
            script: thing,
            weight: if cleared.is_some() { 0 } else { weight },
            reverse: t.reverse.unwrap_or(own_reverse),
            cleared,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// global_defs

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_connect_timeout: Millis,
    /// Send mail on every state change (keepalived: `smtp_alert`).
    pub smtp_alert: Option<bool>,
    pub vrrp_version: VrrpVersion,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub garp: Garp,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_timeouts: LvsTimeouts,
    pub script_user: Option<ScriptUser>,
    pub enable_script_security: bool,
    /// vigil's `metrics { listen ADDR:PORT }`: where the Prometheus
    /// endpoint listens; `None` (the default): no endpoint (envelope V3
    /// side table).
    #[serde(skip)]
    pub metrics: Option<Metrics>,
    /// keepalived's `vmac_prefix`: the name of a vmac without one is
    /// `<prefix>.<VRID>` ([`vmac_default_name`]); `None`: `vrrp`. The
    /// parser gives each such instance its name then, so the instances
    /// hold the names they use; export leaves out a name that equals the
    /// default (envelope V6 side table).
    #[serde(skip)]
    pub vmac_prefix: Option<IfName>,
}

/// `global_defs { metrics { ... } }`: the Prometheus text endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// The one address and port it binds (never a wildcard).
    pub listen: std::net::SocketAddr,
}

pub const DEFAULT_MCAST4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const DEFAULT_MCAST6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Millis::secs(30),
            smtp_alert: None,
            vrrp_version: VrrpVersion::V2,
            vrrp_mcast_group4: DEFAULT_MCAST4,
            vrrp_mcast_group6: DEFAULT_MCAST6,
            garp: Garp::default(),
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            script_user: None,
            enable_script_security: false,
            metrics: None,
            vmac_prefix: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    pub addr: IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VrrpVersion {
    V2,
    V3,
}

impl VrrpVersion {
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// Gratuitous ARP / unsolicited NA timing (keepalived's `*garp*` keywords).
/// In `global_defs` every field has its default; in an instance `None`
/// means "as global_defs says".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Garp {
    /// Delay of the second burst after becoming MASTER (0 = no second burst).
    pub master_delay: Millis,
    /// Packets per burst.
    pub master_repeat: u32,
    /// Period of refresh bursts while MASTER (0 = off).
    pub master_refresh: Millis,
    pub master_refresh_repeat: u32,
    /// Gap between gratuitous ARPs inside a burst.
    pub interval: Millis,
    /// Gap between unsolicited NAs inside a burst.
    pub gna_interval: Millis,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            master_delay: Millis::secs(5),
            master_repeat: 5,
            master_refresh: Millis(0),
            master_refresh_repeat: 1,
            interval: Millis(0),
            gna_interval: Millis(0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GarpOverride {
    pub master_delay: Option<Millis>,
    pub master_repeat: Option<u32>,
    pub master_refresh: Option<Millis>,
    pub master_refresh_repeat: Option<u32>,
    pub interval: Option<Millis>,
    pub gna_interval: Option<Millis>,
}

impl GarpOverride {
    pub fn over(&self, g: &Garp) -> Garp {
        Garp {
            master_delay: self.master_delay.unwrap_or(g.master_delay),
            master_repeat: self.master_repeat.unwrap_or(g.master_repeat),
            master_refresh: self.master_refresh.unwrap_or(g.master_refresh),
            master_refresh_repeat: self
                .master_refresh_repeat
                .unwrap_or(g.master_refresh_repeat),
            interval: self.interval.unwrap_or(g.interval),
            gna_interval: self.gna_interval.unwrap_or(g.gna_interval),
        }
    }
}

/// `lvs_sync_daemon <INTERFACE> <VRRP_INSTANCE> [id N] [maxlen N] [port N]
/// [ttl N] [group IP]`: IPVS connection sync, master on the VRRP MASTER.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsSyncDaemon {
    pub interface: IfName,
    pub vrrp_instance: String,
    pub id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

/// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`; `None` leaves the kernel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LvsTimeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

// ---------------------------------------------------------------------------
// VRRP

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroup {
    pub name: String,
    pub group: Vec<String>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    /// Scripts every member tracks (envelope V2 side table).
    #[serde(skip)]
    pub track_script: Vec<TrackScript>,
    /// `track_file` lines every member tracks (envelope V3 side table).
    #[serde(skip)]
    pub track_file: Vec<TrackScript>,
    /// `track_process` lines every member tracks (envelope V3 side table).
    #[serde(skip)]
    pub track_process: Vec<TrackScript>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpInstance {
    pub name: String,
    pub state: InitialState,
    pub interface: IfName,
    pub virtual_router_id: u8,
    pub priority: u8,
    pub advert_int: Millis,
    /// `None`: `global_defs.vrrp_version`.
    pub version: Option<VrrpVersion>,
    pub authentication: Option<PassKey>,
    pub virtual_ipaddress: Vec<Vip>,
    pub virtual_ipaddress_excluded: Vec<Vip>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<IpAddr>,
    pub nopreempt: bool,
    pub preempt_delay: Millis,
    /// Accept packets to the VIPs when not the address owner (RFC 5798
    /// Accept_Mode). keepalived's default outside strict mode is on.
    pub accept: bool,
    pub track_interface: Vec<TrackInterface>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub garp: GarpOverride,
    /// (envelope V2 side table)
    #[serde(skip)]
    pub track_script: Vec<TrackScript>,
    /// `track_file` lines, with `track_script`'s shape (envelope V3 side
    /// table).
    #[serde(skip)]
    pub track_file: Vec<TrackScript>,
    /// `track_process` lines (envelope V3 side table).
    #[serde(skip)]
    pub track_process: Vec<TrackScript>,
    /// `unicast_ttl`: the TTL / hop limit of the adverts sent to unicast
    /// peers, and then received ones need not carry 255 (keepalived checks
    /// no TTL in unicast mode). `None`: 255 both ways. Envelope V4 side
    /// table.
    #[serde(skip)]
    pub unicast_ttl: Option<u8>,
    /// `dont_track_primary`: the instance's own interface going down does
    /// not put it in FAULT (envelope V4 side table).
    #[serde(skip)]
    pub dont_track_primary: bool,
    /// `use_vmac [NAME]` (with `vmac_xmit_base`): the VIPs live on a
    /// macvlan of `interface` carrying the VRRP virtual MAC (envelope V5
    /// side table).
    #[serde(skip)]
    pub use_vmac: Option<Vmac>,
    /// `virtual_routes`: installed while MASTER, after the VIPs (envelope
    /// V5 side table, as `virtual_rules`).
    #[serde(skip)]
    pub virtual_routes: Vec<IpRoute>,
    /// `virtual_rules`: installed while MASTER, after the routes.
    #[serde(skip)]
    pub virtual_rules: Vec<IpRule>,
    /// `strict_mode` (or `global_defs { vrrp_strict }`), as resolved when
    /// read: the settings strict mode forbids are already gone, and what
    /// is left for the running instance is dropping an advert whose
    /// address list differs from ours (envelope V6 side table).
    #[serde(skip)]
    pub strict: bool,
    /// `notify_arp_theft SCRIPT` (vigil's own): run, with the instance,
    /// the VIP and the MAC appended, when another MAC claims one of its
    /// VIPs while MASTER (`vrrp::arpwatch`; envelope V8 side table).
    #[serde(skip)]
    pub notify_arp_theft: Option<Script>,
}

/// keepalived's `use_vmac`: a macvlan link on the instance's interface
/// whose MAC is the VRRP virtual MAC (RFC 5798 section 7.3), holding the
/// VIPs, so the address's MAC moves with mastership instead of each
/// box's own MAC being announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Vmac {
    /// `use_vmac NAME`; `None`: keepalived's default `vrrp.<VRID>`.
    pub name: Option<IfName>,
    /// `vmac_xmit_base`: adverts are sent and received on the parent
    /// interface (its own MAC); only the VIPs and their gratuitous ARP /
    /// NA use the vmac.
    pub xmit_base: bool,
}

/// keepalived's name of a vmac given none: `<prefix>.<VRID>` (prefix
/// `vrrp` by default), the prefix cut so that the name fits an interface
/// name's 15 bytes (keepalived 2.2.7, measured: prefix `abcdefghijkl`,
/// VRID 251, names `abcdefghijk.251`).
pub fn vmac_default_name(prefix: Option<&IfName>, vrid: u8) -> Option<IfName> {
    let prefix = prefix.map_or("vrrp", IfName::as_str);
    let suffix = format!(".{vrid}");
    let mut keep = prefix.len().min(IFNAME_MAX - suffix.len());
    while !prefix.is_char_boundary(keep) {
        keep -= 1;
    }
    // A valid prefix cut at a character, and a dot and digits: a name.
    IfName::new(&format!("{}{suffix}", &prefix[..keep])).ok()
}

/// The VRRP virtual MAC of a VRID: 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6 (RFC 5798 section 7.3).
pub fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

impl VrrpInstance {
    /// The version the instance runs: its own `version`, else VRRPv3 for
    /// an IPv6 instance (VRRPv2 is IPv4 only; keepalived 2.2.7 does the
    /// same), else `global_defs { vrrp_version }`. The parser writes the
    /// IPv6 case into `version` (`parse::vrrp`), so a config read from a
    /// file never leaves it to this rule; one built in code may.
    pub fn effective_version(&self, g: &GlobalDefs) -> VrrpVersion {
        match self.version {
            Some(v) => v,
            None if self.is_ipv6() => VrrpVersion::V3,
            None => g.vrrp_version,
        }
    }

    /// The vmac link's name, when the instance has `use_vmac`: the name
    /// given (or set by `vmac_prefix`), else `vrrp.<VRID>` as keepalived
    /// names it.
    pub fn vmac_name(&self) -> Option<IfName> {
        let v = self.use_vmac.as_ref()?;
        (v.name.clone()).or_else(|| vmac_default_name(None, self.virtual_router_id))
    }

    /// The link a VIP goes on: its `dev`, else the vmac (`use_vmac`), else
    /// the instance's interface.
    pub fn vip_link(&self, v: &Vip) -> IfName {
        (v.dev.clone())
            .or_else(|| self.vmac_name())
            .unwrap_or_else(|| self.interface.clone())
    }

    /// The vmac's MAC address, when the instance has `use_vmac`.
    pub fn vmac_mac(&self) -> Option<[u8; 6]> {
        self.use_vmac
            .as_ref()
            .map(|_| virtual_mac(self.virtual_router_id, self.is_ipv6()))
    }

    pub fn effective_garp(&self, g: &GlobalDefs) -> Garp {
        self.garp.over(&g.garp)
    }

    /// The family the instance runs in: that of its first virtual address;
    /// without one (keepalived runs such an instance), that of
    /// `unicast_src_ip` or the first `unicast_peer`, else IPv4.
    pub fn is_ipv6(&self) -> bool {
        let first = self.virtual_ipaddress.first().map(|v| v.addr);
        (first.or(self.unicast_src_ip))
            .or(self.unicast_peer.first().copied())
            .is_some_and(|a| a.is_ipv6())
    }
}

pub const DEFAULT_PRIORITY: u8 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: u8,
    pub dev: Option<IfName>,
    pub label: Option<IfName>,
    /// `brd ADDR` (IPv4): the broadcast address; `None`: the prefix's
    /// (below /31). Envelope V4 side table, as the two below.
    #[serde(skip)]
    pub brd: Option<Ipv4Addr>,
    /// `scope SCOPE`; `None`: global.
    #[serde(skip)]
    pub scope: Option<AddrScope>,
    /// `no_track`: the address being deleted behind vigil's back does not
    /// move the instance (vigil follows no VIP's deletion: see the README).
    #[serde(skip)]
    pub no_track: bool,
}

impl Vip {
    /// An address with nothing else said.
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        Vip {
            addr,
            prefix,
            dev: None,
            label: None,
            brd: None,
            scope: None,
            no_track: false,
        }
    }
}

impl Vip {
    pub fn host_prefix(addr: &IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInterface {
    pub name: IfName,
    /// `None`: the instance goes FAULT while the link is down. `Some(w)`:
    /// the priority moves by `w` instead (-254..=254).
    pub weight: Option<i16>,
}

/// `vrrp_script NAME { .. }`: a command run every `interval`, whose exit
/// status (0: success) moves the instances tracking it, through `rise` /
/// `fall` consecutive results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpScript {
    pub name: String,
    /// argv; the program is an absolute path or a bare name looked up in
    /// the standard PATH when it runs (keepalived searches PATH too).
    pub script: Script,
    /// Whole seconds, 1.. (default 1).
    pub interval: Millis,
    /// Whole seconds; `None`: the interval.
    pub timeout: Option<Millis>,
    /// -253..=253 (default 0: a failure is a FAULT).
    pub weight: i16,
    pub reverse: bool,
    /// Consecutive successes to turn OK, failures to turn FAIL (default 1).
    pub rise: u32,
    pub fall: u32,
    /// Run as this user (default `global_defs.script_user`).
    pub user: Option<ScriptUser>,
    /// Start as failed rather than unknown.
    pub init_fail: bool,
}

pub const SCRIPT_WEIGHT_MAX: i16 = 253;

impl VrrpScript {
    /// keepalived's defaults around `script`.
    pub fn new(name: String, script: Script) -> Self {
        VrrpScript {
            name,
            script,
            interval: Millis::secs(1),
            timeout: None,
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        }
    }

    pub fn effective_timeout(&self) -> Millis {
        self.timeout.unwrap_or(self.interval)
    }
}

/// A script (or a `track_file`) as one instance tracks it (see
/// [`Config::tracked_scripts`], [`Config::tracked_files`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked<'a, T = VrrpScript> {
    pub script: &'a T,
    /// Scripts -253..=253, files -254..=254; 0: a failure (or, reversed, a
    /// success; for a file a non-zero value, reversed zero) is a FAULT.
    pub weight: i16,
    pub reverse: bool,
    /// Why a weight the config gave was set to 0.
    pub cleared: Option<Cleared>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleared {
    SyncGroup,
    Owner,
}

impl Cleared {
    pub fn why(self) -> &'static str {
        match self {
            Cleared::SyncGroup => "a sync group's members must not differ in priority",
            Cleared::Owner => "the address owner's priority never changes",
        }
    }
}

/// `track_file NAME { file PATH weight W [reverse] init_file [V] [overwrite] }`:
/// a file holding a number (keepalived's maintenance switch). With weight
/// 0 a non-zero number (reversed: zero) puts the trackers in FAULT;
/// otherwise number x weight (negated when reversed) is added to their
/// priority, and -254 or below is a FAULT. `vrrp_track_file` is the old
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    pub name: String,
    /// Absolute path.
    pub file: String,
    /// -254..=254, default 1.
    pub weight: i16,
    pub reverse: bool,
    /// `init_file`: write `value` at start when the file is missing (or
    /// always, with `overwrite`).
    pub init: Option<InitFile>,
}

pub const FILE_WEIGHT_MAX: i16 = 254;

/// `vrrp_track_process NAME { process NAME [PARAM..] .. }`: OK while the
/// number of matching processes is within `quorum..=quorum_max`; tracked
/// as a script is (weight 0: FAULT while not OK; `reverse` as a script's).
/// The match: without parameters, `param_match` or `full_command`, the
/// process name (`/proc/PID/comm`); otherwise the command line's words
/// (`/proc/PID/cmdline`) against `process` by `param_match`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcess {
    pub name: String,
    /// The name (or program), then the parameters.
    pub process: Vec<String>,
    /// `None`: no `param_match` (exact when there are parameters).
    pub param_match: Option<ParamMatch>,
    /// -254..=254, default 0.
    pub weight: i16,
    pub reverse: bool,
    /// Default 1.
    pub quorum: u32,
    /// `None`: unlimited.
    pub quorum_max: Option<u32>,
    /// Quorum gained must hold this long before it counts.
    pub fork_delay: Option<Millis>,
    /// Quorum lost must hold this long before it counts.
    pub terminate_delay: Option<Millis>,
    pub full_command: bool,
}

/// `param_match`: bare is exact (the parameters, and no more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamMatch {
    Exact,
    /// The first parameters match exactly, more may follow.
    Partial,
    /// As partial, and the last one given may be a prefix of the
    /// process's.
    Initial,
}

impl TrackProcess {
    /// keepalived's defaults around `process`.
    pub fn new(name: String, process: Vec<String>) -> Self {
        TrackProcess {
            name,
            process,
            param_match: None,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: None,
            terminate_delay: None,
            full_command: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitFile {
    /// -254..=254 (keepalived's sensible range), default 0.
    pub value: i16,
    pub overwrite: bool,
}

/// One line of `track_script { NAME [weight W [reverse|noreverse]] }`;
/// `None` takes the script's own setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackScript {
    pub name: String,
    pub weight: Option<i16>,
    pub reverse: Option<bool>,
}

/// Commands run on state changes, as argv (absolute path first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Notify {
    pub notify: Option<Script>,
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub argv: Vec<String>,
}

// ---------------------------------------------------------------------------
// IPVS

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceKey {
    Addr { addr: IpAddr, port: u16 },
    Fwmark { mark: u32, ipv6: bool },
}

impl ServiceKey {
    pub fn is_ipv6(&self) -> bool {
        match self {
            ServiceKey::Addr { addr, .. } => addr.is_ipv6(),
            ServiceKey::Fwmark { ipv6, .. } => *ipv6,
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { addr, port } => write!(f, "{addr} {port}"),
            ServiceKey::Fwmark { mark, .. } => write!(f, "fwmark {mark}"),
        }
    }
}

macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $kw:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($var),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn keyword(self) -> &'static str {
                match self { $($name::$var => $kw),+ }
            }
            /// Case-insensitive (keepalived reads `protocol` so; the
            /// kernel's scheduler names). The parser takes `lvs_method`
            /// and `lvs_sched` only as written, as keepalived 2.2.7 does.
            pub fn from_keyword(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.keyword().eq_ignore_ascii_case(s))
            }
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.keyword()).collect();
                format!("one of {}", names.join(" "))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.keyword())
            }
        }
    };
}

keyword_enum!(
    /// The kernel's IPVS schedulers (each is its own module, ip_vs_<name>).
    Scheduler {
        Rr = "rr", Wrr = "wrr", Lc = "lc", Wlc = "wlc", Lblc = "lblc", Lblcr = "lblcr",
        Dh = "dh", Sh = "sh", Sed = "sed", Nq = "nq", Fo = "fo", Ovf = "ovf", Mh = "mh",
        Twos = "twos",
    }
);

keyword_enum!(
    /// An address's scope (`ip address add ... scope`), keepalived's names.
    AddrScope {
        Global = "global", Site = "site", Link = "link", Host = "host", Nowhere = "nowhere",
    }
);

// Declared after `keyword_enum!`, which it uses.
#[path = "iproute.rs"]
mod iproute;
pub use iproute::{FwMark, IpRoute, IpRule, RouteKind, RuleAction, TABLE_MAIN, TABLE_NAMES};

keyword_enum!(
    /// Forwarding method (`lvs_method`).
    Method { Nat = "NAT", Dr = "DR", Tun = "TUN" }
);

keyword_enum!(
    Protocol { Tcp = "TCP", Udp = "UDP", Sctp = "SCTP" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub key: ServiceKey,
    pub delay_loop: Millis,
    pub scheduler: Scheduler,
    pub method: Method,
    pub protocol: Protocol,
    /// Seconds; `None`: no persistence.
    pub persistence_timeout: Option<u32>,
    /// Prefix length of the client address that makes one persistence
    /// entry; `None`: the kernel's default (one address).
    pub persistence_granularity: Option<u8>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub sorry_server: Option<SorryServer>,
    pub sorry_server_inhibit: bool,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub virtualhost: Option<String>,
    pub real_servers: Vec<RealServer>,
    /// `virtual_server group NAME`: the services are the group's members
    /// (see [`Config::keys_of`]) and `key` is only a placeholder (fwmark
    /// 0, of the `ip_family` given). Envelope V3 side table.
    #[serde(skip)]
    pub group: Option<String>,
    /// The scheduler flags and `ops` (envelope V4 side table).
    #[serde(skip)]
    pub flags: ServiceFlags,
    /// `dr_path_check on|off`: whether checks of its DR and TUN real
    /// servers go through the VIP (`ipvs::dr_path`); `None`: on with an
    /// `appliance` block (envelope V8 side table).
    #[serde(skip)]
    pub dr_path_check: Option<bool>,
    /// `anycast [ADDRESS]`: the address announced over BGP while this
    /// service has quorum (the service's own for an address-keyed one);
    /// `None`: not announced (envelope V10 side table).
    #[serde(skip)]
    pub anycast: Option<IpAddr>,
}

/// The IPVS service flags keepalived sets by keyword (ipvsadm's `-b` and
/// `-o`): the three a scheduler gives its own meaning (`flag-1`..`flag-3`;
/// `sh` and `mh` call the first `sh-fallback`/`mh-fallback` and the second
/// `sh-port`/`mh-port`) and one-packet scheduling (`ops`, UDP only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceFlags {
    /// `flag-1`, `flag-2`, `flag-3` (IP_VS_SVC_F_SCHED1..3).
    pub sched: [bool; 3],
    /// `ops` (IP_VS_SVC_F_ONEPACKET).
    pub ops: bool,
}

impl ServiceFlags {
    pub fn is_empty(&self) -> bool {
        *self == ServiceFlags::default()
    }

    /// The keepalived keyword of scheduler flag `n` (0..3) under `s`:
    /// the scheduler's own name where it has one.
    pub fn keyword(s: Scheduler, n: usize) -> &'static str {
        const NAMES: [&str; 3] = ["flag-1", "flag-2", "flag-3"];
        match (s, n) {
            (Scheduler::Sh, 0) => "sh-fallback",
            (Scheduler::Sh, 1) => "sh-port",
            (Scheduler::Mh, 0) => "mh-fallback",
            (Scheduler::Mh, 1) => "mh-port",
            _ => NAMES[n.min(2)],
        }
    }

    /// The flag a keyword names, and the scheduler it belongs to when it
    /// is one scheduler's own (`sh-port` is `sh`'s flag 2).
    pub fn of_keyword(kw: &str) -> Option<(usize, Option<Scheduler>)> {
        Some(match kw {
            "flag-1" => (0, None),
            "flag-2" => (1, None),
            "flag-3" => (2, None),
            "sh-fallback" => (0, Some(Scheduler::Sh)),
            "sh-port" => (1, Some(Scheduler::Sh)),
            "mh-fallback" => (0, Some(Scheduler::Mh)),
            "mh-port" => (1, Some(Scheduler::Mh)),
            _ => return None,
        })
    }
}

pub const DEFAULT_DELAY_LOOP: Millis = Millis::secs(60);

impl VirtualServer {
    /// A service with keepalived's defaults and no real server; the parser
    /// starts from this, and export leaves out what still equals it.
    pub fn new(key: ServiceKey) -> Self {
        VirtualServer {
            key,
            delay_loop: DEFAULT_DELAY_LOOP,
            scheduler: Scheduler::Wlc,
            method: Method::Nat,
            protocol: Protocol::Tcp,
            persistence_timeout: None,
            persistence_granularity: None,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            inhibit_on_failure: false,
            alpha: false,
            omega: false,
            ha_suspend: false,
            virtualhost: None,
            real_servers: Vec::new(),
            group: None,
            flags: ServiceFlags::default(),
            dr_path_check: None,
            anycast: None,
        }
    }

    /// How errors and logs name it: its key, or `group NAME`.
    pub fn label(&self) -> String {
        match &self.group {
            Some(g) => format!("group {g}"),
            None => self.key.to_string(),
        }
    }

    /// The placeholder key of a `virtual_server group` (never a service:
    /// fwmark 0 is no mark).
    pub fn group_placeholder(ipv6: bool) -> ServiceKey {
        ServiceKey::Fwmark { mark: 0, ipv6 }
    }
}

/// `virtual_server_group NAME { .. }`: services that share one
/// `virtual_server`'s settings and real servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub members: Vec<GroupMember>,
}

/// One line of a `virtual_server_group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupMember {
    /// `IP [PORT]` or `IP-LAST [PORT]`: the addresses from `first` to
    /// `first` with its last byte (IPv4) or last 16-bit group (IPv6) set
    /// to `last`, inclusive; `last` is `None` for a single address. No
    /// port, or 0: every port.
    Addr {
        first: IpAddr,
        last: Option<u16>,
        port: u16,
    },
    /// `fwmark N`.
    Fwmark(u32),
}

impl GroupMember {
    /// How many services this line stands for.
    pub fn len(&self) -> usize {
        match *self {
            GroupMember::Addr {
                first,
                last: Some(l),
                ..
            } => usize::from(l).saturating_sub(usize::from(range_tail(&first))) + 1,
            _ => 1,
        }
    }

    /// Never empty (a range ends at or after its start: the parser checks).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Its services; a fwmark takes the family `ipv6`.
    pub fn keys(self, ipv6: bool) -> impl Iterator<Item = ServiceKey> {
        let n = self.len();
        (0..n).map(move |i| match self {
            GroupMember::Fwmark(mark) => ServiceKey::Fwmark { mark, ipv6 },
            GroupMember::Addr { first, port, .. } => ServiceKey::Addr {
                addr: range_nth(&first, i),
                port,
            },
        })
    }
}

/// The part of an address a range runs over: the last byte of an IPv4
/// address, the last 16-bit group of an IPv6 one.
pub fn range_tail(a: &IpAddr) -> u16 {
    match a {
        IpAddr::V4(a) => u16::from(a.octets()[3]),
        IpAddr::V6(a) => a.segments()[7],
    }
}

/// `first` with its range part advanced by `i` (within bounds: see
/// [`GroupMember::len`]).
fn range_nth(first: &IpAddr, i: usize) -> IpAddr {
    let step = u16::try_from(i).unwrap_or(u16::MAX);
    match first {
        IpAddr::V4(a) => {
            let mut o = a.octets();
            o[3] = o[3].saturating_add(u8::try_from(step).unwrap_or(u8::MAX));
            IpAddr::V4(Ipv4Addr::from(o))
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            s[7] = s[7].saturating_add(step);
            IpAddr::V6(Ipv6Addr::from(s))
        }
    }
}

impl VirtualServerGroup {
    /// Every service of the group, in line order.
    pub fn keys(&self, ipv6: bool) -> impl Iterator<Item = ServiceKey> + '_ {
        self.members.iter().flat_map(move |m| m.keys(ipv6))
    }

    pub fn len(&self) -> usize {
        self.members.iter().map(GroupMember::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    pub addr: IpAddr,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServer {
    pub addr: IpAddr,
    /// `None` only for fwmark services (the port comes from the packet).
    pub port: Option<u16>,
    pub weight: u32,
    /// `None`: as the virtual server says.
    pub inhibit_on_failure: Option<bool>,
    pub method: Option<Method>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    /// Boxed, as `virtualhost` is: few servers set them, and a config at
    /// the bounds holds 100,000 servers (boxed, a server is 96 bytes, not
    /// 144). serde writes a box as what it holds: the stored form is the
    /// same.
    pub notify_up: Option<Box<Script>>,
    pub notify_down: Option<Box<Script>>,
    pub checkers: Vec<Checker>,
    /// `virtualhost` of the real server: the `Host` of its HTTP checks
    /// that set none, before the virtual server's (envelope V4 side
    /// table).
    #[serde(skip)]
    pub virtualhost: Option<Box<String>>,
}

// What a config at the bounds holds 100,000 of: a field that grows it
// should be boxed, as the scripts are.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<RealServer>() <= 96);

pub const WEIGHT_MAX: u32 = 65535;

impl RealServer {
    /// Weight 1, nothing overridden, no checker.
    pub fn new(addr: IpAddr, port: Option<u16>) -> Self {
        RealServer {
            addr,
            port,
            weight: 1,
            inhibit_on_failure: None,
            method: None,
            uthreshold: None,
            lthreshold: None,
            notify_up: None,
            notify_down: None,
            checkers: Vec::new(),
            virtualhost: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checker {
    pub kind: CheckKind,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub connect_timeout: Millis,
    pub retry: u32,
    pub delay_before_retry: Millis,
    /// `None`: the virtual server's `delay_loop`.
    pub delay_loop: Option<Millis>,
    pub warmup: Option<Millis>,
}

pub const DEFAULT_CONNECT_TIMEOUT: Millis = Millis::secs(5);

impl Checker {
    /// A checker of `kind` with keepalived's defaults for that kind.
    pub fn new(kind: CheckKind) -> Self {
        Checker {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: kind.default_retry(),
            delay_before_retry: kind.default_delay_before_retry(),
            delay_loop: None,
            warmup: None,
            kind,
        }
    }
}

impl CheckKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Ssl(_) => "SSL_GET",
            CheckKind::Ws(_) => "WS_CHECK",
            CheckKind::Misc(_) => "MISC_CHECK",
        }
    }

    /// keepalived's default `delay_before_retry`: 1 s for TCP_CHECK and
    /// MISC_CHECK, 3 s for the HTTP-based checks (WS_CHECK follows those).
    pub fn default_delay_before_retry(&self) -> Millis {
        match self {
            CheckKind::Tcp | CheckKind::Misc(_) => Millis::secs(1),
            _ => Millis::secs(3),
        }
    }

    /// keepalived's default retry count: 1 for TCP_CHECK, 0 for
    /// MISC_CHECK (its checker sets that default itself), 3 otherwise.
    pub fn default_retry(&self) -> u32 {
        match self {
            CheckKind::Tcp => 1,
            CheckKind::Misc(_) => 0,
            _ => 3,
        }
    }

    /// Whether the check connects somewhere (MISC_CHECK runs a program:
    /// no address, port or connect_timeout of its own).
    pub fn connects(&self) -> bool {
        !matches!(self, CheckKind::Misc(_))
    }
}

/// A checker's kind and what it asks. All but TCP_CHECK's are boxed: a
/// table at the bounds holds 100,000 checkers, nearly all TCP_CHECK, and
/// an unboxed kind would size each for the largest (168 bytes a checker
/// instead of 88). A box is serialized as what it holds: the envelope's
/// bytes are the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckKind {
    Tcp,
    Http(Box<HttpCheck>),
    Ssl(Box<HttpCheck>),
    Ws(Box<WsCheck>),
    /// Added after envelope V1: postcard writes a variant's index, so a
    /// variant added LAST leaves every older payload decodable (it never
    /// holds the new index). Keep new variants at the end.
    Misc(Box<MiscCheck>),
}

/// `MISC_CHECK`: a program the box runs; its exit status is the verdict
/// (see `health::misc` for the rule and `misc_dynamic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiscCheck {
    /// `misc_path`: argv, an absolute path or a bare name looked up in the
    /// standard PATH when it runs (as `vrrp_script`'s `script`).
    pub path: Script,
    /// `misc_timeout`, whole seconds; `None`: the virtual server's
    /// `delay_loop` (keepalived's default).
    pub timeout: Option<Millis>,
    /// `misc_dynamic`: exit codes 2..=255 set the real server's weight.
    pub dynamic: bool,
    /// `user USER [GROUP]`; `None`: `global_defs.script_user`.
    pub user: Option<ScriptUser>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HttpCheck {
    pub urls: Vec<Url>,
    pub virtualhost: Option<String>,
    /// `http_protocol` (envelope V4 side table).
    #[serde(skip)]
    pub protocol: HttpProtocol,
    /// `enable_sni` (SSL_GET): send SNI, the first of `sni_name`, the
    /// url's, the checker's and the virtual server's `virtualhost` (not
    /// the real server's: keepalived's order). `sni_name` sets it too.
    /// Envelope V4 side table.
    #[serde(skip)]
    pub enable_sni: bool,
    /// `sni_name` (envelope V4 side table).
    #[serde(skip)]
    pub sni_name: Option<String>,
}

/// `http_protocol`: the request's version, and whether it asks the server
/// to close (keepalived's three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HttpProtocol {
    /// `1.0` (the default): `HTTP/1.0`, no `Connection` field.
    #[default]
    V10,
    /// `1.0C`: `HTTP/1.0` with `Connection: close`.
    V10Close,
    /// `1.1`: `HTTP/1.1` with `Connection: close`.
    V11,
}

impl HttpProtocol {
    pub fn keyword(self) -> &'static str {
        match self {
            HttpProtocol::V10 => "1.0",
            HttpProtocol::V10Close => "1.0C",
            HttpProtocol::V11 => "1.1",
        }
    }

    /// As keepalived reads it (`1.0c` too).
    pub fn from_keyword(s: &str) -> Option<Self> {
        match s {
            "1.0" => Some(HttpProtocol::V10),
            "1.0C" | "1.0c" => Some(HttpProtocol::V10Close),
            "1.1" => Some(HttpProtocol::V11),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    pub path: String,
    /// Inclusive ranges of acceptable status codes; empty: 200..=299.
    pub status_code: Vec<(u16, u16)>,
    /// MD5 of the body, as keepalived's `digest` (genhash).
    pub digest: Option<[u8; 16]>,
    /// `virtualhost` of this url: its `Host` (and SNI), before the
    /// checker's (envelope V4 side table).
    #[serde(skip)]
    pub virtualhost: Option<String>,
}

/// vigil's own check: an HTTP/1.1 upgrade to WebSocket that must answer
/// 101 with the right Sec-WebSocket-Accept, then a clean close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsCheck {
    pub path: String,
    pub virtualhost: Option<String>,
    pub origin: Option<String>,
    pub subprotocol: Option<String>,
}

// ---------------------------------------------------------------------------
// appliance

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appliance {
    pub hostname: Option<String>,
    pub interfaces: Vec<ApplianceInterface>,
    pub ip_forward: bool,
    pub ipvs: IpvsSysctls,
    pub watchdog: Watchdog,
    /// SHA-crypt hash (`$6$...` or `$5$...`) of the console password;
    /// `None`: the console asks for none (said loudly at boot).
    pub console_password_hash: Option<String>,
}

impl Default for Appliance {
    fn default() -> Self {
        Appliance {
            hostname: None,
            interfaces: Vec::new(),
            ip_forward: true,
            ipvs: IpvsSysctls::default(),
            watchdog: Watchdog::default(),
            console_password_hash: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplianceInterface {
    pub name: IfName,
    pub addresses: Vec<IfAddr>,
    pub mtu: Option<u32>,
    pub routes: Vec<Route>,
    /// net.ipv4.conf.<if>.arp_ignore / arp_announce; `None`: kernel's.
    pub arp_ignore: Option<u8>,
    pub arp_announce: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfAddr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IfAddr {
    /// Whether `other` lies in this address's subnet.
    pub fn contains(&self, other: &IpAddr) -> bool {
        prefix_contains(&self.addr, self.prefix, other)
    }
}

/// Whether `b` is inside `a/prefix` (false across families).
pub fn prefix_contains(a: &IpAddr, prefix: u8, b: &IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(*a) & m == u32::from(*b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(*a) & m == u128::from(*b) & m
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination prefix; `default` is 0.0.0.0/0 or ::/0.
    pub dest: IfAddr,
    pub via: IpAddr,
}

/// IPVS sysctls that decide what happens to long-lived connections. The
/// defaults favour WebSocket: see each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsSysctls {
    /// Drop connection entries whose real server was removed, so clients
    /// get a reset and reconnect instead of hanging (kernel default 0).
    pub expire_nodest_conn: bool,
    /// Expire persistence templates pointing at a quiesced (weight 0)
    /// server, so new connections of a client go elsewhere (default 0).
    pub expire_quiescent_template: bool,
    /// 0..=2; kernel default 1.
    pub conn_reuse_mode: u8,
    /// Let the backup create entries from mid-stream packets after a
    /// failover, so established connections survive it (default 0).
    pub sloppy_tcp: bool,
}

impl Default for IpvsSysctls {
    fn default() -> Self {
        IpvsSysctls {
            expire_nodest_conn: true,
            expire_quiescent_template: true,
            conn_reuse_mode: 1,
            sloppy_tcp: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watchdog {
    pub device: String,
    /// Seconds until the hardware resets an unpetted box. The default, 20,
    /// leaves systemd's `WatchdogSec=5s` room to kill and restart a hung
    /// vigil before the hardware fires (see overlay/'s vigil.service).
    pub timeout: u32,
    /// `notify_reset`: run at start when the hardware says the last reset
    /// was its own (with `WATCHDOG <device> RESET` appended); the mail to
    /// `notification_email` goes whenever `smtp_server` is set. Newer than
    /// envelope V1: stored in V2's side table (`config::envelope`).
    #[serde(skip)]
    pub notify_reset: Option<Script>,
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog {
            device: "/dev/watchdog".to_owned(),
            timeout: 20,
            notify_reset: None,
        }
    }
}

// ---------------------------------------------------------------------------
// bgp

/// `bgp { ... }`: vigil's own block. The box announces the address of each
/// `anycast` virtual server to its BGP neighbours through BIRD while the
/// service has quorum; vigil writes BIRD's config and never speaks BGP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bgp {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<BgpNeighbor>,
    /// `community ASN:VALUE` lines, added to every announced route.
    pub communities: Vec<(u16, u16)>,
    pub drain: BgpDrain,
    /// BFD's transmit and receive interval for `bfd on` neighbours.
    pub bfd_interval: Millis,
    pub bfd_multiplier: u8,
    /// BIRD's control socket.
    pub bird_socket: String,
    /// The file vigil writes BIRD's config to (BIRD's unit reads it).
    pub bird_config: String,
    /// `sync_daemon INTERFACE [id N] ...`: the kernel's master and backup
    /// connection sync daemons both run, always, so every box learns every
    /// other box's flows. Its `vrrp_instance` is empty: no instance leads.
    pub sync_daemon: Option<LvsSyncDaemon>,
}

impl Bgp {
    pub const DEFAULT_SOCKET: &'static str = "/run/bird/bird.ctl";
    pub const DEFAULT_CONFIG: &'static str = "/run/vigil/bird.conf";
    pub const DEFAULT_BFD_INTERVAL: Millis = Millis(100);
    pub const DEFAULT_BFD_MULTIPLIER: u8 = 3;

    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Self {
        Bgp {
            local_as,
            router_id,
            neighbors: Vec::new(),
            communities: Vec::new(),
            drain: BgpDrain::Withdraw,
            bfd_interval: Self::DEFAULT_BFD_INTERVAL,
            bfd_multiplier: Self::DEFAULT_BFD_MULTIPLIER,
            bird_socket: Self::DEFAULT_SOCKET.to_owned(),
            bird_config: Self::DEFAULT_CONFIG.to_owned(),
            sync_daemon: None,
        }
    }
}

/// One `neighbor ADDRESS { ... }` of the `bgp` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpNeighbor {
    pub address: IpAddr,
    pub remote_as: u32,
    /// TCP MD5 (RFC 2385) key.
    pub password: Option<String>,
    pub bfd: bool,
    pub source_address: Option<IpAddr>,
    /// eBGP multihop TTL; `None`: directly connected.
    pub multihop: Option<u8>,
    /// Seconds; `None`: BIRD's (240).
    pub hold_time: Option<u16>,
}

impl BgpNeighbor {
    pub fn new(address: IpAddr, remote_as: u32) -> Self {
        BgpNeighbor {
            address,
            remote_as,
            password: None,
            bfd: false,
            source_address: None,
            multihop: None,
            hold_time: None,
        }
    }
}

/// What draining the box does to its announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BgpDrain {
    /// Withdraw every route.
    Withdraw,
    /// Keep announcing with the local AS prepended this many times more:
    /// an ECMP router drops the longer paths from its set, so new flows go
    /// to the other boxes, and this one is still a path if they all fail.
    Prepend(u8),
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
