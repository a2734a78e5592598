//! `vrrp_sync_group` and `vrrp_instance` blocks.
//!
//! Owns: reading VRRP settings, including the seed's spellings
//! (`advert_interval`, `authentication { type PASS  password 1111 }`) and
//! keepalived's VIP options (`dev`, `label`, `brd`, `scope`, `no_track`),
//! `virtual_routes` and `virtual_rules` (their lines: `parse::iproute`),
//! and what keepalived clears after reading an instance (see `settle`).
//! Must not: check relations to other instances or to the version in
//! `global_defs` (validate does, once the whole file is read).

use super::{keepalived, Alias, AliasKind, LegacySyncd, Reader, Section};
use crate::config::bounds::{
    Millis, PassKey, ADVERT_MAX, ADVERT_MIN, NAME_MAX, PASS_KEY_MAX, PREEMPT_DELAY_MAX,
    TRACK_INTERFACES_MAX, TRACK_WEIGHT_MAX, UNICAST_PEERS_MAX, VIPS_EXCLUDED_MAX, VIPS_MAX,
};
use crate::config::error::{ErrorKind, Loc, WarningKind};
use crate::config::model::{
    AddrScope, Config, GarpOverride, InitialState, Notify, SyncGroup, TrackInterface, Vip, Vmac,
    VrrpInstance, VrrpVersion, DEFAULT_PRIORITY,
};
use crate::config::syntax::{Node, Token};
use crate::config::validate::{At, Places};
use std::collections::HashMap;

const NOTIFY_KEYWORDS: [&str; 5] = [
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
];

/// The name messages use for a block whose own name is bad (already an
/// error), while its contents are still read.
const UNNAMED: &str = "(unnamed)";

pub(crate) const SYNC_GROUP: Section = Section {
    name: "vrrp_sync_group",
    keywords: &[
        "group",
        "smtp_alert",
        "track_script",
        "track_file",
        "track_process",
    ],
    shared: &NOTIFY_KEYWORDS,
    repeatable: &[],
    keepalived: keepalived::SYNC_GROUP,
    obsolete: &[],
    first_wins: &NOTIFY_KEYWORDS,
    aliases: &[],
};

pub(crate) const INSTANCE: Section = Section {
    name: "vrrp_instance",
    keywords: &[
        "state",
        "interface",
        "virtual_router_id",
        "priority",
        "advert_int",
        "version",
        "authentication",
        "virtual_ipaddress",
        "virtual_ipaddress_excluded",
        "unicast_src_ip",
        "unicast_peer",
        "nopreempt",
        "preempt",
        "preempt_delay",
        "accept",
        "no_accept",
        "strict_mode",
        "track_interface",
        "track_script",
        "track_file",
        "track_process",
        "smtp_alert",
        "garp_master_delay",
        "garp_master_repeat",
        "garp_master_refresh",
        "garp_master_refresh_repeat",
        "garp_interval",
        "gna_interval",
        "lvs_sync_daemon_interface",
        "unicast_ttl",
        "dont_track_primary",
        "use_vmac",
        "vmac_xmit_base",
        "virtual_routes",
        "virtual_rules",
        "notify_arp_theft",
    ],
    shared: &NOTIFY_KEYWORDS,
    repeatable: &[],
    keepalived: keepalived::INSTANCE,
    obsolete: keepalived::INSTANCE_OBSOLETE,
    first_wins: &NOTIFY_KEYWORDS,
    aliases: &[
        Alias {
            alias: "advert_interval",
            canonical: "advert_int",
            kind: AliasKind::Foreign(Some("the interval between adverts, in seconds")),
        },
        Alias {
            alias: "mcast_src_ip",
            canonical: "unicast_src_ip",
            kind: AliasKind::Deprecated,
        },
    ],
};

pub(crate) const AUTH: Section = Section {
    name: "authentication",
    keywords: &["auth_type", "auth_pass"],
    shared: &[],
    repeatable: &[],
    keepalived: &[],
    obsolete: &[],
    first_wins: &[],
    aliases: &[
        Alias {
            alias: "type",
            canonical: "auth_type",
            kind: AliasKind::Foreign(None),
        },
        Alias {
            alias: "password",
            canonical: "auth_pass",
            kind: AliasKind::Foreign(None),
        },
    ],
};

impl Reader<'_> {
    pub fn sync_group(&mut self, node: &Node) -> Option<(SyncGroup, At)> {
        // A bad name still has its block read, so its errors show too.
        let name = self.one_name(node);
        let nodes = self.named_block(node)?;
        let mut g = SyncGroup {
            name: name.clone().unwrap_or_else(|| UNNAMED.into()),
            group: Vec::new(),
            notify: Notify::default(),
            smtp_alert: None,
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
        };
        let mut members = Vec::new();
        let mut tracked = Vec::new();
        let mut files = Vec::new();
        let mut processes = Vec::new();
        let seen = self.walk(nodes, &SYNC_GROUP, |r, kw, n| match kw {
            "group" => {
                let (names, locs) = r.name_list(n).unwrap_or_default();
                g.group = names;
                members = locs;
            }
            "smtp_alert" => g.smtp_alert = r.flag(n),
            "track_script" => {
                let (list, locs) = r.track_scripts(n).unwrap_or_default();
                g.track_script = list;
                tracked = locs;
            }
            "track_file" => {
                let (list, locs) = r.track_files(n).unwrap_or_default();
                g.track_file = list;
                files = locs;
            }
            "track_process" => {
                let (list, locs) = r.track_processes(n).unwrap_or_default();
                g.track_process = list;
                processes = locs;
            }
            _ => r.notify_setting(n, kw, &mut g.notify),
        });
        if !seen.contains_key("group") {
            self.missing(node, format!("vrrp_sync_group {}", g.name), "group");
        }
        name.as_ref()?;
        let mut at = At::new(node.keyword.loc, seen);
        at.items.insert("group", members);
        at.items.insert("track_script", tracked);
        at.items.insert("track_file", files);
        at.items.insert("track_process", processes);
        Some((g, at))
    }

    /// `notify*` keywords shared by instances and sync groups.
    fn notify_setting(&mut self, n: &Node, kw: &str, notify: &mut Notify) {
        let s = self.script(n);
        match kw {
            "notify" => notify.notify = s,
            "notify_master" => notify.master = s,
            "notify_backup" => notify.backup = s,
            "notify_fault" => notify.fault = s,
            "notify_stop" => notify.stop = s,
            _ => unreachable!("section tables list only these notify keywords"),
        }
    }

    /// The name after a block keyword (`vrrp_instance VI_1 {`).
    pub(super) fn one_name(&mut self, node: &Node) -> Option<String> {
        let Some(t) = node.args.first() else {
            self.d.error(
                &node.keyword.loc,
                ErrorKind::MissingArgument {
                    keyword: node.keyword.text.to_string(),
                    expected: "a name",
                },
            );
            return None;
        };
        if let Some(extra) = node.args.get(1) {
            self.d.error(
                &extra.loc,
                ErrorKind::UnexpectedArgument {
                    keyword: node.keyword.text.to_string(),
                    extra: extra.text.to_string(),
                    expected: "a name and '{'",
                },
            );
            return None;
        }
        self.name_tok(t, &node.keyword.text)
    }

    pub(super) fn name_tok(&mut self, t: &Token, kw: &str) -> Option<String> {
        let ok = !t.text.is_empty()
            && t.text.len() <= NAME_MAX
            && t.text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:@".contains(c));
        if ok {
            Some(t.text.to_string())
        } else {
            self.bad(
                t,
                kw,
                format!("a name of 1..{NAME_MAX} letters, digits and _-.:@"),
            );
            None
        }
    }

    /// A block listing one name per line (`group { VI_1 VI_2 }`).
    fn name_list(&mut self, n: &Node) -> Option<(Vec<String>, Vec<Loc>)> {
        let nodes = self.block(n)?;
        let (mut out, mut locs) = (Vec::new(), Vec::new());
        let kw = n.keyword.text.as_str();
        for item in nodes {
            if item.block.is_some() {
                self.bad(&item.keyword, kw, "a name, not a block");
                continue;
            }
            // Names may share a line: `group { VI_1 VI_2 }`.
            for t in std::iter::once(&item.keyword).chain(&item.args) {
                if let Some(name) = self.name_tok(t, kw) {
                    out.push(name);
                    locs.push(t.loc);
                }
            }
        }
        Some((out, locs))
    }

    pub fn vrrp_instance(&mut self, node: &Node) -> Option<(VrrpInstance, At)> {
        // A bad name still has its block read, so its errors show too.
        let name = self.one_name(node);
        let nodes = self.named_block(node)?;
        let mut i = VrrpInstance {
            name: name.clone().unwrap_or_else(|| UNNAMED.into()),
            state: InitialState::Backup,
            // Placeholder until `interface` is read; missing is an error.
            interface: crate::config::bounds::IfName::new("-").ok()?,
            virtual_router_id: 0,
            priority: DEFAULT_PRIORITY,
            advert_int: Millis::secs(1),
            version: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            nopreempt: false,
            preempt_delay: Millis(0),
            accept: true,
            track_interface: Vec::new(),
            notify: Notify::default(),
            smtp_alert: None,
            garp: GarpOverride::default(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            unicast_ttl: None,
            dont_track_primary: false,
            use_vmac: None,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            strict: false,
            notify_arp_theft: None,
        };
        let errors_before = self.d.errors.len();
        let mut items: Vec<(&'static str, Vec<Loc>)> = Vec::new();
        let mut syncd = None;
        let (mut vmac, mut xmit_base) = (None, false);
        let seen = self.walk(nodes, &INSTANCE, |r, kw, n| match kw {
            "state" => {
                if let Some(s) = r.initial_state(n) {
                    i.state = s;
                }
            }
            "interface" => {
                if let Some(name) = r.ifname(n) {
                    i.interface = name;
                }
            }
            "virtual_router_id" => {
                if let Some(v) = r.int_in::<u8>(n, 1, 255) {
                    i.virtual_router_id = v;
                }
            }
            "priority" => {
                if let Some(p) = r.int_in::<u8>(n, 1, 255) {
                    i.priority = p;
                }
            }
            "advert_int" => {
                if let Some(a) = r.millis(n, ADVERT_MIN, ADVERT_MAX) {
                    i.advert_int = a;
                }
            }
            "version" => {
                let v = r.vrrp_version(n);
                let ipv6 = i.virtual_ipaddress.first().is_some_and(|x| x.addr.is_ipv6());
                if v == Some(VrrpVersion::V2) && ipv6 {
                    // keepalived 2.2.7: "vrrp_version 2 conflicts with
                    // configured or deduced version ...; ignoring."
                    let what = "'version 2' after IPv6 addresses is ignored: the instance runs VRRPv3 (write 'version 3' or nothing)".into();
                    r.as_keepalived(&n.args[0], "version", what);
                } else {
                    i.version = v;
                }
            }
            "authentication" => i.authentication = r.authentication(n),
            "virtual_ipaddress" => {
                let (vips, locs) = r.vips(n, VIPS_MAX).unwrap_or_default();
                i.virtual_ipaddress = vips;
                items.push((kw, locs));
            }
            "virtual_ipaddress_excluded" => {
                let (vips, locs) = r.vips(n, VIPS_EXCLUDED_MAX).unwrap_or_default();
                i.virtual_ipaddress_excluded = vips;
                items.push((kw, locs));
            }
            "unicast_src_ip" => {
                let t = r.one(n, "an IP address");
                i.unicast_src_ip = t.and_then(|t| r.unicast_addr(t, "unicast_src_ip"));
            }
            "unicast_peer" => i.unicast_peer = r.unicast_peers(n).unwrap_or_default(),
            // keepalived 2.2.7 reads no argument of either: the later of
            // the two in an instance decides.
            "nopreempt" => {
                if let Some(nopreempt) = r.preempt_word(n, true) {
                    i.nopreempt = nopreempt;
                }
            }
            // The default; accepted so that configs saying it still load.
            "preempt" => {
                if let Some(nopreempt) = r.preempt_word(n, false) {
                    i.nopreempt = nopreempt;
                }
            }
            "preempt_delay" => {
                if let Some(d) = r.millis(n, Millis(0), PREEMPT_DELAY_MAX) {
                    i.preempt_delay = d;
                }
            }
            "accept" => i.accept = r.flag(n).unwrap_or(true),
            "no_accept" => i.accept = !r.flag(n).unwrap_or(true),
            // Settled once `vrrp_strict` is known (`parse::strict`).
            "strict_mode" => i.strict = r.flag(n).unwrap_or(true),
            "track_interface" => {
                i.track_interface = r.track_interfaces(n).unwrap_or_default();
            }
            "track_script" => {
                let (list, locs) = r.track_scripts(n).unwrap_or_default();
                i.track_script = list;
                items.push((kw, locs));
            }
            "track_file" => {
                let (list, locs) = r.track_files(n).unwrap_or_default();
                i.track_file = list;
                items.push((kw, locs));
            }
            "track_process" => {
                let (list, locs) = r.track_processes(n).unwrap_or_default();
                i.track_process = list;
                items.push((kw, locs));
            }
            "smtp_alert" => i.smtp_alert = r.flag(n),
            "unicast_ttl" => i.unicast_ttl = r.int_in::<u8>(n, 0, 255),
            "dont_track_primary" => i.dont_track_primary = r.flag(n).unwrap_or(false),
            "use_vmac" => {
                if let Some(name) = r.vmac_name(n) {
                    vmac = Some(name);
                }
            }
            "vmac_xmit_base" => xmit_base = r.args(n, 0, "nothing").is_some(),
            "virtual_routes" => {
                let (list, locs) = r.ip_routes(n).unwrap_or_default();
                i.virtual_routes = list;
                items.push((kw, locs));
            }
            "virtual_rules" => {
                let (list, locs) = r.ip_rules(n).unwrap_or_default();
                i.virtual_rules = list;
                items.push((kw, locs));
            }
            "lvs_sync_daemon_interface" => {
                syncd = r.ifname(n).map(|name| (n.keyword.loc, name));
            }
            k if NOTIFY_KEYWORDS.contains(&k) => r.notify_setting(n, k, &mut i.notify),
            "notify_arp_theft" => i.notify_arp_theft = r.script(n),
            garp => r.garp_setting(n, garp, &mut i.garp),
        });
        i.use_vmac = vmac.map(|name| Vmac { name, xmit_base });
        self.settle(&mut i, &seen, &mut items);
        let block = format!("vrrp_instance {}", i.name);
        for required in ["interface", "virtual_router_id"] {
            if !seen.contains_key(required) {
                self.missing(node, block.clone(), required);
            }
        }
        // An instance with errors inside is not handed on: validators would
        // only repeat its problems in other words.
        if self.d.errors.len() != errors_before || name.is_none() {
            return None;
        }
        if i.virtual_ipaddress.is_empty() {
            let w = WarningKind::NoVip {
                instance: i.name.clone(),
                empty: seen.contains_key("virtual_ipaddress"),
            };
            self.d.warn(
                seen.get("virtual_ipaddress").unwrap_or(&node.keyword.loc),
                w,
            );
        }
        if let Some((loc, interface)) = syncd {
            self.legacy_syncd.push(LegacySyncd {
                loc,
                interface,
                instance: i.name.clone(),
            });
        }
        let mut at = At::new(node.keyword.loc, seen);
        at.items.extend(items);
        Some((i, at))
    }

    /// What keepalived changes in an instance after reading it, done the
    /// same way with a warning each: `nopreempt` is cleared when the
    /// instance starts as MASTER, and virtual addresses of the other
    /// family than the first are left out.
    fn settle(
        &mut self,
        i: &mut VrrpInstance,
        seen: &HashMap<&'static str, Loc>,
        items: &mut [(&'static str, Vec<Loc>)],
    ) {
        if let (Some(_), true) = (i.unicast_ttl, i.unicast_peer.is_empty()) {
            i.unicast_ttl = None;
            if let Some(at) = seen.get("unicast_ttl") {
                let note = format!(
                    "vrrp_instance {}: 'unicast_ttl' without 'unicast_peer' is cleared, as \
                     keepalived does: multicast adverts always carry TTL 255",
                    i.name
                );
                self.d.warn(at, WarningKind::Note(note));
            }
        }
        // keepalived 2.2.7: "unicast with use_vmac requires
        // vmac_xmit_base - setting" (measured with its dump).
        if let (Some(v), false) = (i.use_vmac.as_mut(), i.unicast_peer.is_empty()) {
            if !v.xmit_base {
                v.xmit_base = true;
                if let Some(at) = seen.get("use_vmac") {
                    let note = format!(
                        "vrrp_instance {}: unicast adverts with 'use_vmac' go from the parent \
                         interface: 'vmac_xmit_base' is set, as keepalived does",
                        i.name
                    );
                    self.d.warn(at, WarningKind::Note(note));
                }
            }
        }
        if let (None, Some(at)) = (&i.use_vmac, seen.get("vmac_xmit_base")) {
            let note = format!(
                "vrrp_instance {}: 'vmac_xmit_base' without 'use_vmac' is ignored, as keepalived does",
                i.name
            );
            self.d.warn(at, WarningKind::Note(note));
        }
        if i.nopreempt && i.state == InitialState::Master {
            i.nopreempt = false;
            if let Some(at) = seen.get("nopreempt") {
                let w = WarningKind::NopreemptCleared {
                    instance: i.name.clone(),
                };
                self.d.warn(at, w);
            }
        }
        let Some(want) = i.virtual_ipaddress.first().map(|v| v.addr.is_ipv4()) else {
            return;
        };
        let Some((_, locs)) = items.iter_mut().find(|(k, _)| *k == "virtual_ipaddress") else {
            return;
        };
        let family = |ipv4: bool| if ipv4 { 4 } else { 6 };
        let mut k = 0;
        while k < i.virtual_ipaddress.len() {
            let addr = i.virtual_ipaddress[k].addr;
            if addr.is_ipv4() == want {
                k += 1;
                continue;
            }
            i.virtual_ipaddress.remove(k);
            let loc = locs.remove(k);
            let w = WarningKind::OtherFamilyVip {
                instance: i.name.clone(),
                addr: addr.to_string(),
                got: family(addr.is_ipv4()),
                want: family(want),
            };
            self.d.warn(&loc, w);
        }
    }

    /// An IPv6 instance that names no version runs VRRPv3 whatever
    /// `global_defs { vrrp_version }` says (VRRPv2 is IPv4 only; keepalived
    /// 2.2.7 does the same, its manual: "IPv6 instances will use version
    /// 3"). Under VRRPv2 the version is written into the instance, so
    /// export says `version 3`. And a VRRPv3 instance's `authentication`
    /// is ignored, as keepalived 2.2.7 ignores it ("VRRP version 3 does not
    /// support authentication. Ignoring.", measured with `version 3`, the
    /// global and the IPv6 default alike). Settled once the whole file is
    /// read, as the global may come last.
    pub(super) fn versions(&mut self, c: &mut Config, at: &Places) {
        let g = &c.global;
        for (i, a) in c.vrrp_instances.iter_mut().zip(&at.instances) {
            if i.version.is_none() && i.is_ipv6() && g.vrrp_version == VrrpVersion::V2 {
                i.version = Some(VrrpVersion::V3);
                let note = format!(
                    "vrrp_instance {}: an IPv6 instance runs VRRPv3 (VRRPv2 is IPv4 only) when it names no version, as keepalived does, whatever vrrp_version says: read as 'version 3'",
                    i.name
                );
                self.d.warn(&a.start, WarningKind::Note(note));
            }
            if i.effective_version(g) == VrrpVersion::V3 && i.authentication.take().is_some() {
                let what = format!(
                    "vrrp_instance {}: VRRPv3 has no authentication (RFC 5798 section 9): ignored, adverts carry none",
                    i.name
                );
                self.d.warn(
                    a.of("authentication"),
                    WarningKind::AsKeepalived {
                        keyword: "authentication",
                        what,
                    },
                );
            }
        }
    }

    /// keepalived reads the first word only, and starts any word but
    /// MASTER and BACKUP (upper case) as BACKUP; vigil too, with a warning.
    fn initial_state(&mut self, n: &Node) -> Option<InitialState> {
        let args = self.args_between(n, 1, usize::MAX, "MASTER or BACKUP")?;
        let (t, rest) = args.split_first()?;
        let state = match t.text.as_str() {
            "MASTER" => InitialState::Master,
            "BACKUP" => InitialState::Backup,
            other => {
                let what = format!(
                    "unknown state '{other}' (MASTER or BACKUP, upper case): the instance starts as BACKUP"
                );
                self.as_keepalived(t, "state", what);
                InitialState::Backup
            }
        };
        if let Some(extra) = rest.first() {
            let words: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
            let what = format!("'{}' after '{}' is ignored", words.join(" "), t.text);
            self.as_keepalived(extra, "state", what);
        }
        Some(state)
    }

    /// `nopreempt` / `preempt` (`nopreempt` true for the first): as
    /// keepalived 2.2.7 reads them, measured with its config dump: any
    /// words after either are ignored (`nopreempt off` does not preempt,
    /// `preempt off` does), with a warning at the first word saying what
    /// the instance does. `None` for a block after the keyword (an error).
    fn preempt_word(&mut self, n: &Node, nopreempt: bool) -> Option<bool> {
        let args = self.args_between(n, 0, usize::MAX, "nothing")?;
        if let Some(first) = args.first() {
            let words: Vec<&str> = args.iter().map(|t| t.text.as_str()).collect();
            let (kw, what) = if nopreempt {
                (
                    "nopreempt",
                    "the instance does not preempt (to preempt, leave 'nopreempt' out)",
                )
            } else {
                (
                    "preempt",
                    "the instance preempts (to stop it, write 'nopreempt')",
                )
            };
            let what = format!("'{}' is ignored: {what}", words.join(" "));
            self.as_keepalived(first, kw, what);
        }
        Some(nopreempt)
    }

    fn authentication(&mut self, n: &Node) -> Option<PassKey> {
        let nodes = self.block(n)?;
        let (mut pass_type, mut key) = (None, None);
        let seen = self.walk(nodes, &AUTH, |r, kw, n| match kw {
            "auth_type" => {
                let Some(t) = r.one(n, "PASS") else { return };
                match t.text.as_str() {
                    "PASS" => pass_type = Some(t.loc),
                    "AH" => r.d.error(
                        &t.loc,
                        ErrorKind::Unsupported {
                            keyword: "auth_type AH".into(),
                            why: "IPsec AH authentication was removed from VRRP (RFC 3768 and 5798); use PASS or none",
                        },
                    ),
                    _ => r.bad(t, kw, "PASS"),
                }
            }
            "auth_pass" => {
                let Some(t) = r.one(n, "a password of 1..8 bytes") else { return };
                match PassKey::first_bytes(&t.text) {
                    Ok((k, cut)) => {
                        if cut {
                            let w = WarningKind::PassTruncated {
                                len: t.text.len(),
                                max: PASS_KEY_MAX,
                            };
                            r.d.warn(&t.loc, w);
                        }
                        key = Some(k);
                    }
                    Err(e) => r.bad(
                        t,
                        kw,
                        format!("a password of {e} (VRRP carries 8 bytes; a longer one must not cut a character at byte 8)"),
                    ),
                }
            }
            _ => unreachable!("AUTH lists only auth_type and auth_pass"),
        });
        for required in ["auth_type", "auth_pass"] {
            if !seen.contains_key(required) {
                self.missing(n, "authentication".into(), required);
            }
        }
        pass_type.and(key)
    }

    fn vips(&mut self, n: &Node, max: usize) -> Option<(Vec<Vip>, Vec<Loc>)> {
        let nodes = self.block(n)?;
        let kw = n.keyword.text.as_str();
        let (mut out, mut locs): (Vec<Vip>, Vec<Loc>) = (Vec::new(), Vec::new());
        for item in nodes {
            if item.block.is_some() {
                self.bad(&item.keyword, kw, "an address line, not a block");
                continue;
            }
            let Some(vip) = self.vip(item, kw) else {
                continue;
            };
            if out.iter().any(|v| v.addr == vip.addr) {
                self.bad(&item.keyword, kw, "each address once");
                continue;
            }
            if self.room(
                &out,
                max,
                &item.keyword,
                "virtual addresses in one instance",
            ) {
                out.push(vip);
                locs.push(item.keyword.loc);
            }
        }
        Some((out, locs))
    }

    /// `ADDR[/PREFIX] [dev IF] [label LABEL] [brd ADDR] [scope SCOPE]
    /// [no_track]`, options in any order.
    fn vip(&mut self, item: &Node, kw: &str) -> Option<Vip> {
        const OPTIONS: &str =
            "'dev IFNAME', 'label LABEL', 'brd ADDR', 'scope SCOPE' or 'no_track' after the address";
        let (addr, prefix) = self.tok_prefixed(&item.keyword, kw)?;
        let mut vip = Vip::new(addr, prefix);
        let mut args = item.args.iter();
        while let Some(name) = args.next() {
            let takes_value = matches!(name.text.as_str(), "dev" | "label" | "brd" | "scope");
            let value = match (takes_value, takes_value.then(|| args.next()).flatten()) {
                (true, None) => {
                    self.bad(name, kw, format!("a value after '{}'", name.text));
                    return None;
                }
                (_, v) => v,
            };
            match (name.text.as_str(), value) {
                ("no_track", _) => vip.no_track = true,
                ("dev", Some(v)) => vip.dev = Some(self.tok_ifname(v, kw)?),
                ("label", Some(v)) => vip.label = Some(self.tok_ifname(v, kw)?),
                ("brd", Some(v)) => vip.brd = Some(self.vip_brd(v, &addr)?),
                ("scope", Some(v)) => {
                    let s = AddrScope::from_keyword(&v.text);
                    if s.is_none() {
                        self.bad(v, "scope", AddrScope::expected());
                    }
                    vip.scope = Some(s?);
                }
                _ => {
                    self.bad(name, kw, OPTIONS);
                    return None;
                }
            }
        }
        Some(vip)
    }

    /// `brd ADDR` of a VIP: an IPv4 address, for an IPv4 VIP.
    fn vip_brd(&mut self, t: &Token, vip: &std::net::IpAddr) -> Option<std::net::Ipv4Addr> {
        match (t.text.parse::<std::net::Ipv4Addr>(), vip) {
            (Ok(b), std::net::IpAddr::V4(_)) => Some(b),
            (Ok(_), std::net::IpAddr::V6(_)) => {
                self.bad(
                    t,
                    "brd",
                    "nothing: an IPv6 address has no broadcast address",
                );
                None
            }
            (Err(_), _) => {
                self.bad(t, "brd", "an IPv4 address");
                None
            }
        }
    }

    fn unicast_peers(&mut self, n: &Node) -> Option<Vec<std::net::IpAddr>> {
        let nodes = self.block(n)?;
        let mut out = Vec::new();
        for item in nodes {
            if let Some(extra) = item.args.first() {
                self.bad(extra, "unicast_peer", "one address per line");
                continue;
            }
            let Some(a) = self.unicast_addr(&item.keyword, "unicast_peer") else {
                continue;
            };
            if out.contains(&a) {
                self.bad(&item.keyword, "unicast_peer", "each peer once");
            } else if self.room(&out, UNICAST_PEERS_MAX, &item.keyword, "unicast peers") {
                out.push(a);
            }
        }
        Some(out)
    }

    /// An address of `unicast_src_ip` (no names) or `unicast_peer` (a host
    /// name too). keepalived 2.2.7 reads such an address up to a '/' and
    /// ignores the rest (measured: `192.168.0.91/24`, `/99` and `/x` all
    /// run as 192.168.0.91, the peers' too); vigil too, with a warning.
    fn unicast_addr(&mut self, t: &Token, kw: &'static str) -> Option<std::net::IpAddr> {
        if let Some((a, rest)) = t.text.split_once('/') {
            if let Ok(addr) = a.parse::<std::net::IpAddr>() {
                let what = format!("'/{rest}' is ignored: the address is {addr}");
                self.as_keepalived(t, kw, what);
                return Some(addr);
            }
        }
        match kw {
            "unicast_peer" => self.tok_host(t, kw),
            _ => self.tok_ip(t, kw),
        }
    }

    /// `IFNAME [weight N]` per line.
    fn track_interfaces(&mut self, n: &Node) -> Option<Vec<TrackInterface>> {
        let nodes = self.block(n)?;
        let kw = "track_interface";
        let mut out: Vec<TrackInterface> = Vec::new();
        for item in nodes {
            let Some(name) = self.tok_ifname(&item.keyword, kw) else {
                continue;
            };
            let weight = match item.args.as_slice() {
                [] => None,
                [w, v] if w.text == "weight" => {
                    match self.tok_i32(v, kw, -TRACK_WEIGHT_MAX, TRACK_WEIGHT_MAX) {
                        Some(v) => Some(v as i16),
                        None => continue,
                    }
                }
                [first, ..] => {
                    self.bad(first, kw, "'weight N' (-254..254) or nothing");
                    continue;
                }
            };
            if out.iter().any(|t| t.name == name) {
                self.bad(&item.keyword, kw, "each interface once");
            } else if self.room(
                &out,
                TRACK_INTERFACES_MAX,
                &item.keyword,
                "tracked interfaces",
            ) {
                out.push(TrackInterface { name, weight });
            }
        }
        Some(out)
    }
}

#[cfg(test)]
#[path = "vrrp_tests.rs"]
mod tests;
