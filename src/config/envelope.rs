//! The versioned envelope a config travels in: on flash and over the
//! control socket.
//!
//! Owns: the top-level enum whose variant index is the format version, the
//! postcard encoding around it, and the optional deflate layer. Must not:
//! change a variant that has shipped. postcard is not self-describing, so a
//! new field in the model means a new variant here and a conversion from
//! the old one.
//!
//! Layout: one byte saying how the rest is packed, then the rest.
//!
//! | first byte | rest                                        |
//! |------------|---------------------------------------------|
//! | 0          | postcard of [`Stored`]                      |
//! | 1          | zlib (RFC 1950) of the postcard of [`Stored`] |
//!
//! `encode` picks whichever is smaller. Inflating is bounded
//! ([`INFLATED_MAX`]), so a hostile payload cannot exhaust memory.
//!
//! Versions: V1 is the model as first shipped. V2 adds `vrrp_script` and
//! `track_script` as a side table after the V1-shaped config (the model
//! skips those fields in serde, see [`super::model`]), so one model type
//! decodes both. A config that uses nothing of V2 is still written as V1,
//! so a vigil that knows only V1 can read it back after a downgrade.
//! V3 adds `virtual_server_group`, the `group` of each virtual server,
//! `track_file`, `vrrp_track_process` and `global_defs { metrics }`
//! ([`SideV3`], after V2's table, which is unchanged: V2 payloads written
//! before it keep decoding). V4 adds the options real-world keepalived
//! configs use beyond those ([`SideV4`]: the scheduler flags and `ops` of
//! each virtual server; the real servers' `virtualhost`; HTTP_GET's and
//! SSL_GET's `http_protocol`, `enable_sni`, `sni_name` and url
//! `virtualhost`; each instance's `unicast_ttl` and `dont_track_primary`
//! and its VIPs' `brd`, `scope` and `no_track`), after V3's table,
//! unchanged. V5 adds each instance's `use_vmac` and `vmac_xmit_base`,
//! its `virtual_routes` and `virtual_rules`, and the global
//! `static_routes` and `static_rules`
//! ([`SideV5`]), after V4's table, unchanged. V6 adds each instance's
//! strict mode ([`SideV6`]), after V5's table, unchanged. V7 adds the
//! global `vmac_prefix` ([`SideV7`]; the vmac names it gives are in V5's
//! `use_vmac` already), after V6's table, unchanged. V8 adds each virtual
//! server's `dr_path_check` ([`SideV8`]), after V7's table, unchanged (an
//! empty one when the config has no `vmac_prefix`). V9 adds each
//! instance's `notify_arp_theft` ([`SideV9`]), after V8's table,
//! unchanged (the tables before it saying "none" when the config has none
//! of theirs). V10 adds the `bgp` block and each virtual server's
//! `anycast` address ([`SideV10`]), after V9's table, unchanged.
//! A config is written in the oldest version that holds all of it.

use super::bounds::IfName;
use super::model::{
    AddrScope, Bgp, CheckKind, Config, HttpCheck, HttpProtocol, IpRoute, IpRule, Metrics,
    RealServer, Script, ServiceFlags, TrackFile, TrackProcess, TrackScript, Vip,
    VirtualServerGroup, Vmac, VrrpInstance, VrrpScript,
};
use miniz_oxide::inflate::DecompressError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// Every config format vigil has written. Append, never reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    V1(Config),
    /// `Config`'s V1 shape, then what V2 added.
    V2(Config, SideV2),
    /// V2, then what V3 added.
    /// (Boxed only to keep the enum small: serde and postcard see through
    /// a box, so the bytes are the same.)
    V3(Config, SideV2, Box<SideV3>),
    /// V3, then what V4 added.
    V4(Config, SideV2, Box<SideV3>, Box<SideV4>),
    /// V4, then what V5 added.
    V5(Config, SideV2, Box<SideV3>, Box<SideV4>, Box<SideV5>),
    /// V5, then what V6 added. (Its parts as one tuple: postcard writes a
    /// tuple as its elements one after the other, as it writes a tuple
    /// variant's fields, so the bytes are those of the parts side by side,
    /// as V6 was first written.)
    V6(UpToV6),
    /// V6, then what V7 added.
    V7(UpToV6, Box<SideV7>),
    /// V7, then what V8 added.
    V8(UpToV6, Box<SideV7>, Box<SideV8>),
    /// V8, then what V9 added.
    V9(UpToV6, Box<SideV7>, Box<SideV8>, Box<SideV9>),
    /// V9, then what V10 added.
    V10(UpToV6, Box<SideV7>, Box<SideV8>, Box<SideV9>, Box<SideV10>),
}

/// V6's parts, in its order.
type UpToV6 = (
    Config,
    SideV2,
    Box<SideV3>,
    Box<SideV4>,
    Box<SideV5>,
    Box<SideV6>,
);

/// [`Stored`] as it is written: the same variants in the same order, of
/// borrowed parts (serde and postcard see through a reference as through a
/// box, so the bytes are the same), so that writing a config does not copy
/// it first: at a hundred thousand real servers that copy was the peak of
/// a commit.
#[derive(Serialize)]
enum StoredRef<'c> {
    V1(&'c Config),
    V2(&'c Config, &'c SideV2),
    V3(&'c Config, &'c SideV2, &'c SideV3),
    V4(&'c Config, &'c SideV2, &'c SideV3, &'c SideV4),
    V5(&'c Config, &'c SideV2, &'c SideV3, &'c SideV4, &'c SideV5),
    V6(RefsToV6<'c>),
    V7(RefsToV6<'c>, &'c SideV7),
    V8(RefsToV6<'c>, &'c SideV7, &'c SideV8),
    V9(RefsToV6<'c>, &'c SideV7, &'c SideV8, &'c SideV9),
    V10(
        RefsToV6<'c>,
        &'c SideV7,
        &'c SideV8,
        &'c SideV9,
        &'c SideV10,
    ),
}

/// [`UpToV6`] borrowed.
type RefsToV6<'c> = (
    &'c Config,
    &'c SideV2,
    &'c SideV3,
    &'c SideV4,
    &'c SideV5,
    &'c SideV6,
);

/// What envelope V10 adds: the `bgp` block and each virtual server's
/// `anycast` address (by position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV10 {
    pub bgp: Option<Bgp>,
    pub anycast: Vec<Option<IpAddr>>,
}

impl SideV10 {
    /// `None`: nothing of V10 in `c`.
    fn of(c: &Config) -> Option<Self> {
        let anycast: Vec<Option<IpAddr>> = c.virtual_servers.iter().map(|v| v.anycast).collect();
        let used = c.bgp.is_some() || anycast.iter().any(Option::is_some);
        used.then(|| SideV10 {
            bgp: c.bgp.clone(),
            anycast,
        })
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.anycast.len() != c.virtual_servers.len() {
            return Err(EnvelopeError::SideV10 {
                side: self.anycast.len(),
                config: c.virtual_servers.len(),
            });
        }
        for (vs, a) in c.virtual_servers.iter_mut().zip(self.anycast) {
            vs.anycast = a;
        }
        c.bgp = self.bgp;
        Ok(c)
    }
}

/// What envelope V9 adds: each instance's `notify_arp_theft` script (by
/// position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV9 {
    pub notify_arp_theft: Vec<Option<Script>>,
}

impl SideV9 {
    /// `None`: nothing of V9 in `c`.
    fn of(c: &Config) -> Option<Self> {
        let scripts: Vec<Option<Script>> = (c.vrrp_instances.iter())
            .map(|i| i.notify_arp_theft.clone())
            .collect();
        scripts.iter().any(Option::is_some).then_some(SideV9 {
            notify_arp_theft: scripts,
        })
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.notify_arp_theft.len() != c.vrrp_instances.len() {
            return Err(EnvelopeError::SideV9 {
                side: self.notify_arp_theft.len(),
                config: c.vrrp_instances.len(),
            });
        }
        for (i, s) in c.vrrp_instances.iter_mut().zip(self.notify_arp_theft) {
            i.notify_arp_theft = s;
        }
        Ok(c)
    }
}

/// What envelope V8 adds: each virtual server's `dr_path_check` (by
/// position; `None`: not written, the default applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV8 {
    pub dr_path_check: Vec<Option<bool>>,
}

impl SideV8 {
    /// `None`: nothing of V8 in `c`.
    fn of(c: &Config) -> Option<Self> {
        let all: Vec<Option<bool>> = c.virtual_servers.iter().map(|v| v.dr_path_check).collect();
        all.iter()
            .any(Option::is_some)
            .then_some(SideV8 { dr_path_check: all })
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.dr_path_check.len() != c.virtual_servers.len() {
            return Err(EnvelopeError::SideV8 {
                side: self.dr_path_check.len(),
                config: c.virtual_servers.len(),
            });
        }
        for (vs, on) in c.virtual_servers.iter_mut().zip(self.dr_path_check) {
            vs.dr_path_check = on;
        }
        Ok(c)
    }
}

/// What envelope V7 adds: the global `vmac_prefix`. The vmac names it
/// gives are each instance's V5 `use_vmac` name already; the prefix is
/// kept so that export writes the config as it was written, and a VRID
/// changed later renames the vmac as keepalived would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV7 {
    pub vmac_prefix: Option<IfName>,
}

impl SideV7 {
    /// `None`: nothing of V7 in `c`.
    fn of(c: &Config) -> Option<Self> {
        let vmac_prefix = Some(c.global.vmac_prefix.clone()?);
        Some(SideV7 { vmac_prefix })
    }

    fn attach(self, mut c: Config) -> Config {
        c.global.vmac_prefix = self.vmac_prefix;
        c
    }
}

/// What envelope V6 adds: whether each instance runs in strict mode (by
/// position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV6 {
    pub strict: Vec<bool>,
}

impl SideV6 {
    fn of(c: &Config) -> Self {
        SideV6 {
            strict: c.vrrp_instances.iter().map(|i| i.strict).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        !self.strict.iter().any(|s| *s)
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.strict.len() != c.vrrp_instances.len() {
            return Err(EnvelopeError::SideV6 {
                side: self.strict.len(),
                config: c.vrrp_instances.len(),
            });
        }
        for (i, strict) in c.vrrp_instances.iter_mut().zip(self.strict) {
            i.strict = strict;
        }
        Ok(c)
    }
}

/// What envelope V5 adds: each instance's `use_vmac`, `virtual_routes`
/// and `virtual_rules` (by position), the global `static_routes` and
/// `static_rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV5 {
    pub instances: Vec<InstanceV5>,
    pub static_routes: Vec<IpRoute>,
    pub static_rules: Vec<IpRule>,
}

/// V5's part of one VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InstanceV5 {
    pub vmac: Option<Vmac>,
    pub routes: Vec<IpRoute>,
    pub rules: Vec<IpRule>,
}

impl SideV5 {
    fn of(c: &Config) -> Self {
        let instances = c.vrrp_instances.iter().map(|i| InstanceV5 {
            vmac: i.use_vmac.clone(),
            routes: i.virtual_routes.clone(),
            rules: i.virtual_rules.clone(),
        });
        SideV5 {
            instances: instances.collect(),
            static_routes: c.static_routes.clone(),
            static_rules: c.static_rules.clone(),
        }
    }

    fn is_empty(&self) -> bool {
        self.static_routes.is_empty()
            && self.static_rules.is_empty()
            && (self.instances.iter())
                .all(|i| i.vmac.is_none() && i.routes.is_empty() && i.rules.is_empty())
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.instances.len() != c.vrrp_instances.len() {
            return Err(EnvelopeError::SideV5 {
                side: self.instances.len(),
                config: c.vrrp_instances.len(),
            });
        }
        for (i, side) in c.vrrp_instances.iter_mut().zip(self.instances) {
            i.use_vmac = side.vmac;
            (i.virtual_routes, i.virtual_rules) = (side.routes, side.rules);
        }
        (c.static_routes, c.static_rules) = (self.static_routes, self.static_rules);
        Ok(c)
    }
}

/// What envelope V4 adds, by position: each virtual server's scheduler
/// flags and `ops`; each real server's `virtualhost` (every real server of
/// every virtual server, in order); each HTTP_GET/SSL_GET checker's
/// `http_protocol`, SNI and urls' `virtualhost` (every such checker, in
/// order); each instance's own options and its VIPs'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV4 {
    pub service_flags: Vec<ServiceFlags>,
    pub real_hosts: Vec<Option<String>>,
    pub http: Vec<HttpV4>,
    pub instances: Vec<InstanceV4>,
}

/// V4's part of one VRRP instance: its own options, then those of each of
/// its `virtual_ipaddress` and `virtual_ipaddress_excluded` lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InstanceV4 {
    pub unicast_ttl: Option<u8>,
    pub dont_track_primary: bool,
    pub vips: Vec<VipV4>,
    pub excluded: Vec<VipV4>,
}

/// V4's part of one virtual address line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct VipV4 {
    pub brd: Option<Ipv4Addr>,
    pub scope: Option<AddrScope>,
    pub no_track: bool,
}

impl VipV4 {
    fn of(v: &Vip) -> Self {
        VipV4 {
            brd: v.brd,
            scope: v.scope,
            no_track: v.no_track,
        }
    }

    fn put(self, v: &mut Vip) {
        (v.brd, v.scope, v.no_track) = (self.brd, self.scope, self.no_track);
    }
}

impl InstanceV4 {
    fn of(i: &VrrpInstance) -> Self {
        InstanceV4 {
            unicast_ttl: i.unicast_ttl,
            dont_track_primary: i.dont_track_primary,
            vips: i.virtual_ipaddress.iter().map(VipV4::of).collect(),
            excluded: i.virtual_ipaddress_excluded.iter().map(VipV4::of).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        let plain = VipV4::default();
        self.unicast_ttl.is_none()
            && !self.dont_track_primary
            && self.vips.iter().chain(&self.excluded).all(|v| *v == plain)
    }

    fn attach(self, i: &mut VrrpInstance) -> Result<(), EnvelopeError> {
        let lists = [
            (self.vips, &mut i.virtual_ipaddress),
            (self.excluded, &mut i.virtual_ipaddress_excluded),
        ];
        for (side, vips) in lists {
            if side.len() != vips.len() {
                return Err(EnvelopeError::SideV4 {
                    what: "virtual addresses of an instance",
                    side: side.len(),
                    config: vips.len(),
                });
            }
            for (s, v) in side.into_iter().zip(vips.iter_mut()) {
                s.put(v);
            }
        }
        i.unicast_ttl = self.unicast_ttl;
        i.dont_track_primary = self.dont_track_primary;
        Ok(())
    }
}

/// V4's part of one HTTP_GET or SSL_GET checker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HttpV4 {
    pub protocol: HttpProtocol,
    pub enable_sni: bool,
    pub sni_name: Option<String>,
    pub url_hosts: Vec<Option<String>>,
}

impl HttpV4 {
    fn of(h: &HttpCheck) -> Self {
        HttpV4 {
            protocol: h.protocol,
            enable_sni: h.enable_sni,
            sni_name: h.sni_name.clone(),
            url_hosts: h.urls.iter().map(|u| u.virtualhost.clone()).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.protocol == HttpProtocol::default()
            && !self.enable_sni
            && self.sni_name.is_none()
            && self.url_hosts.iter().all(Option::is_none)
    }
}

/// Every real server, in order.
fn reals_mut(c: &mut Config) -> impl Iterator<Item = &mut RealServer> {
    c.virtual_servers
        .iter_mut()
        .flat_map(|v| v.real_servers.iter_mut())
}

/// Every HTTP_GET and SSL_GET checker, in order.
fn http_checks_mut(c: &mut Config) -> impl Iterator<Item = &mut HttpCheck> {
    reals_mut(c)
        .flat_map(|r| r.checkers.iter_mut())
        .filter_map(|k| match &mut k.kind {
            CheckKind::Http(h) | CheckKind::Ssl(h) => Some(&mut **h),
            _ => None,
        })
}

impl SideV4 {
    fn of(c: &Config) -> Self {
        let reals = || c.virtual_servers.iter().flat_map(|v| &v.real_servers);
        let http = reals()
            .flat_map(|r| &r.checkers)
            .filter_map(|k| match &k.kind {
                CheckKind::Http(h) | CheckKind::Ssl(h) => Some(HttpV4::of(h)),
                _ => None,
            });
        SideV4 {
            service_flags: c.virtual_servers.iter().map(|v| v.flags).collect(),
            real_hosts: reals().map(|r| r.virtualhost.as_deref().cloned()).collect(),
            http: http.collect(),
            instances: c.vrrp_instances.iter().map(InstanceV4::of).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.service_flags.iter().all(ServiceFlags::is_empty)
            && self.real_hosts.iter().all(Option::is_none)
            && self.http.iter().all(HttpV4::is_empty)
            && self.instances.iter().all(InstanceV4::is_empty)
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        let misfit = |what, side, config| Err(EnvelopeError::SideV4 { what, side, config });
        if self.service_flags.len() != c.virtual_servers.len() {
            return misfit(
                "virtual servers",
                self.service_flags.len(),
                c.virtual_servers.len(),
            );
        }
        let reals = reals_mut(&mut c).count();
        if self.real_hosts.len() != reals {
            return misfit("real servers", self.real_hosts.len(), reals);
        }
        let checks = http_checks_mut(&mut c).count();
        if self.http.len() != checks {
            return misfit("HTTP checkers", self.http.len(), checks);
        }
        if self.instances.len() != c.vrrp_instances.len() {
            return misfit("instances", self.instances.len(), c.vrrp_instances.len());
        }
        for (i, side) in c.vrrp_instances.iter_mut().zip(self.instances) {
            side.attach(i)?;
        }
        for (v, f) in c.virtual_servers.iter_mut().zip(self.service_flags) {
            v.flags = f;
        }
        for (r, h) in reals_mut(&mut c).zip(self.real_hosts) {
            r.virtualhost = h.map(Box::new);
        }
        for (h, side) in http_checks_mut(&mut c).zip(self.http) {
            if side.url_hosts.len() != h.urls.len() {
                return misfit(
                    "urls of an HTTP checker",
                    side.url_hosts.len(),
                    h.urls.len(),
                );
            }
            for (u, host) in h.urls.iter_mut().zip(side.url_hosts) {
                u.virtualhost = host;
            }
            h.protocol = side.protocol;
            h.enable_sni = side.enable_sni;
            h.sni_name = side.sni_name;
        }
        Ok(c)
    }
}

/// What envelope V3 adds: the `virtual_server_group` blocks and each
/// virtual server's `group` by position; the `track_file` blocks and each
/// instance's and sync group's `track_file` list by position; the
/// `vrrp_track_process` blocks and the lists that name them; the metrics
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV3 {
    pub groups: Vec<VirtualServerGroup>,
    pub services: Vec<Option<String>>,
    pub files: Vec<TrackFile>,
    pub instance_files: Vec<Vec<TrackScript>>,
    pub sync_group_files: Vec<Vec<TrackScript>>,
    pub processes: Vec<TrackProcess>,
    pub instance_processes: Vec<Vec<TrackScript>>,
    pub sync_group_processes: Vec<Vec<TrackScript>>,
    pub metrics: Option<Metrics>,
}

impl SideV3 {
    fn of(c: &Config) -> Self {
        SideV3 {
            groups: c.virtual_server_groups.clone(),
            services: c.virtual_servers.iter().map(|v| v.group.clone()).collect(),
            files: c.track_files.clone(),
            instance_files: c
                .vrrp_instances
                .iter()
                .map(|i| i.track_file.clone())
                .collect(),
            sync_group_files: (c.vrrp_sync_groups.iter())
                .map(|g| g.track_file.clone())
                .collect(),
            processes: c.track_processes.clone(),
            instance_processes: (c.vrrp_instances.iter())
                .map(|i| i.track_process.clone())
                .collect(),
            sync_group_processes: (c.vrrp_sync_groups.iter())
                .map(|g| g.track_process.clone())
                .collect(),
            metrics: c.global.metrics,
        }
    }

    fn is_empty(&self) -> bool {
        self.groups.is_empty()
            && self.services.iter().all(Option::is_none)
            && self.files.is_empty()
            && self.instance_files.iter().all(Vec::is_empty)
            && self.sync_group_files.iter().all(Vec::is_empty)
            && self.processes.is_empty()
            && self.instance_processes.iter().all(Vec::is_empty)
            && self.sync_group_processes.iter().all(Vec::is_empty)
            && self.metrics.is_none()
    }

    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.services.len() != c.virtual_servers.len()
            || self.instance_files.len() != c.vrrp_instances.len()
            || self.sync_group_files.len() != c.vrrp_sync_groups.len()
            || self.instance_processes.len() != c.vrrp_instances.len()
            || self.sync_group_processes.len() != c.vrrp_sync_groups.len()
        {
            return Err(EnvelopeError::SideServices {
                services: self.services.len(),
            });
        }
        for (v, g) in c.virtual_servers.iter_mut().zip(self.services) {
            v.group = g;
        }
        for (i, f) in c.vrrp_instances.iter_mut().zip(self.instance_files) {
            i.track_file = f;
        }
        for (g, f) in c.vrrp_sync_groups.iter_mut().zip(self.sync_group_files) {
            g.track_file = f;
        }
        for (i, p) in c.vrrp_instances.iter_mut().zip(self.instance_processes) {
            i.track_process = p;
        }
        for (g, p) in c.vrrp_sync_groups.iter_mut().zip(self.sync_group_processes) {
            g.track_process = p;
        }
        c.track_processes = self.processes;
        c.virtual_server_groups = self.groups;
        c.track_files = self.files;
        c.global.metrics = self.metrics;
        Ok(c)
    }
}

/// What envelope V2 adds to V1 (the model fields newer than V1, which the
/// model marks `#[serde(skip)]`): the scripts, each instance's and sync
/// group's `track_script` list by position, and the watchdog's
/// `notify_reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideV2 {
    pub scripts: Vec<VrrpScript>,
    pub instances: Vec<Vec<TrackScript>>,
    pub sync_groups: Vec<Vec<TrackScript>>,
    pub watchdog_notify_reset: Option<Script>,
}

impl SideV2 {
    fn of(c: &Config) -> Self {
        SideV2 {
            scripts: c.vrrp_scripts.clone(),
            instances: c
                .vrrp_instances
                .iter()
                .map(|i| i.track_script.clone())
                .collect(),
            sync_groups: c
                .vrrp_sync_groups
                .iter()
                .map(|g| g.track_script.clone())
                .collect(),
            watchdog_notify_reset: c
                .appliance
                .as_ref()
                .and_then(|a| a.watchdog.notify_reset.clone()),
        }
    }

    fn is_empty(&self) -> bool {
        self.scripts.is_empty()
            && self.instances.iter().all(Vec::is_empty)
            && self.sync_groups.iter().all(Vec::is_empty)
            && self.watchdog_notify_reset.is_none()
    }

    /// Puts the side table back into `c`; its lists must match `c`'s.
    fn attach(self, mut c: Config) -> Result<Config, EnvelopeError> {
        if self.instances.len() != c.vrrp_instances.len()
            || self.sync_groups.len() != c.vrrp_sync_groups.len()
        {
            return Err(EnvelopeError::SideTable {
                instances: self.instances.len(),
                sync_groups: self.sync_groups.len(),
            });
        }
        for (i, t) in c.vrrp_instances.iter_mut().zip(self.instances) {
            i.track_script = t;
        }
        for (g, t) in c.vrrp_sync_groups.iter_mut().zip(self.sync_groups) {
            g.track_script = t;
        }
        c.vrrp_scripts = self.scripts;
        match (c.appliance.as_mut(), self.watchdog_notify_reset) {
            (Some(a), reset) => a.watchdog.notify_reset = reset,
            (None, None) => {}
            (None, Some(_)) => return Err(EnvelopeError::SideWithoutAppliance),
        }
        Ok(c)
    }
}

const PLAIN: u8 = 0;
const DEFLATE: u8 = 1;

/// The largest postcard a payload may inflate to. A config at every bound
/// of `bounds` is far below this.
pub const INFLATED_MAX: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("config payload is empty")]
    Empty,
    #[error("config payload packing {0} is unknown (0 plain, 1 deflate)")]
    Packing(u8),
    #[error("config payload does not inflate: {0:?}")]
    Inflate(miniz_oxide::inflate::TINFLStatus),
    #[error("config payload inflates beyond {INFLATED_MAX} bytes")]
    TooLarge,
    #[error("config payload does not decode as any known format version: {0}")]
    Decode(#[source] postcard::Error),
    #[error("config payload has {0} trailing bytes after the config")]
    Trailing(usize),
    #[error("config payload's V2 table has {instances} instances and {sync_groups} sync groups, not those of its config")]
    SideTable {
        instances: usize,
        sync_groups: usize,
    },
    #[error("config payload's V3 table has {services} virtual servers (or its instances and sync groups differ), not those of its config")]
    SideServices { services: usize },
    #[error("config payload's V4 table has {side} {what}, its config {config}")]
    SideV4 {
        what: &'static str,
        side: usize,
        config: usize,
    },
    #[error("config payload's V5 table has {side} instances, its config {config}")]
    SideV5 { side: usize, config: usize },
    #[error("config payload's V6 table has {side} instances, its config {config}")]
    SideV6 { side: usize, config: usize },
    #[error("config payload's V8 table has {side} virtual servers, its config {config}")]
    SideV8 { side: usize, config: usize },
    #[error("config payload's V9 table has {side} instances, its config {config}")]
    SideV9 { side: usize, config: usize },
    #[error("config payload's V10 table has {side} virtual servers, its config {config}")]
    SideV10 { side: usize, config: usize },
    /// V2's side table has a watchdog `notify_reset` but the config has no
    /// `appliance` block to put it in.
    #[error("config payload's side table names a watchdog script, but the config has no appliance block")]
    SideWithoutAppliance,
    #[error("config does not encode: {0}")]
    Encode(#[source] postcard::Error),
}

pub fn encode(config: &Config) -> Result<Vec<u8>, EnvelopeError> {
    let plain = stored_bytes(config)?;
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&plain, 9);
    Ok(if packed.len() < plain.len() {
        tagged(DEFLATE, &packed)
    } else {
        tagged(PLAIN, &plain)
    })
}

/// [`encode`] without the packing: what [`decode`] reads with no inflate,
/// for bytes that never reach flash (a hitless restart's handoff, where
/// the time to decode counts and the size does not).
pub fn encode_plain(config: &Config) -> Result<Vec<u8>, EnvelopeError> {
    Ok(tagged(PLAIN, &stored_bytes(config)?))
}

fn tagged(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(tag);
    out.extend_from_slice(body);
    out
}

/// The config and its side tables, in the newest version that holds
/// them (postcard, not packed).
fn stored_bytes(config: &Config) -> Result<Vec<u8>, EnvelopeError> {
    let (side, side3, side4) = (SideV2::of(config), SideV3::of(config), SideV4::of(config));
    let (side5, side6, side7) = (SideV5::of(config), SideV6::of(config), SideV7::of(config));
    let (side8, side9, side10) = (SideV8::of(config), SideV9::of(config), SideV10::of(config));
    let side7_or_empty = side7.clone().unwrap_or_default();
    // V8's table says "not written" for each virtual server (its length
    // is checked against theirs).
    let side8_or_empty = side8.clone().unwrap_or_else(|| SideV8 {
        dr_path_check: vec![None; config.virtual_servers.len()],
    });
    // V9's says "no script" for each instance.
    let side9_or_empty = side9.clone().unwrap_or_else(|| SideV9 {
        notify_arp_theft: vec![None; config.vrrp_instances.len()],
    });
    let (c, s2, s3, s4, s5, s6) = (config, &side, &side3, &side4, &side5, &side6);
    let empty = [
        side.is_empty(),
        s3.is_empty(),
        s4.is_empty(),
        s5.is_empty(),
        s6.is_empty(),
    ];
    let stored = match (empty, &side7, &side8) {
        _ if side10.is_some() => {
            let s10 = side10.as_ref().expect("checked in the guard");
            StoredRef::V10(
                (c, s2, s3, s4, s5, s6),
                &side7_or_empty,
                &side8_or_empty,
                &side9_or_empty,
                s10,
            )
        }
        _ if side9.is_some() => {
            let s9 = side9.as_ref().expect("checked in the guard");
            StoredRef::V9(
                (c, s2, s3, s4, s5, s6),
                &side7_or_empty,
                &side8_or_empty,
                s9,
            )
        }
        (_, _, Some(s8)) => StoredRef::V8((c, s2, s3, s4, s5, s6), &side7_or_empty, s8),
        (_, Some(s7), None) => StoredRef::V7((c, s2, s3, s4, s5, s6), s7),
        ([true, true, true, true, true], None, None) => StoredRef::V1(c),
        ([false, true, true, true, true], None, None) => StoredRef::V2(c, s2),
        ([_, false, true, true, true], None, None) => StoredRef::V3(c, s2, s3),
        ([_, _, false, true, true], None, None) => StoredRef::V4(c, s2, s3, s4),
        ([_, _, _, false, true], None, None) => StoredRef::V5(c, s2, s3, s4, s5),
        ([_, _, _, _, false], None, None) => StoredRef::V6((c, s2, s3, s4, s5, s6)),
    };
    postcard::to_allocvec(&stored).map_err(EnvelopeError::Encode)
}

/// Decode any known version and bring it to the current model.
pub fn decode(bytes: &[u8]) -> Result<Config, EnvelopeError> {
    let (&tag, body) = bytes.split_first().ok_or(EnvelopeError::Empty)?;
    let inflated;
    let plain = match tag {
        PLAIN => body,
        DEFLATE => {
            inflated = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(body, INFLATED_MAX)
                .map_err(inflate_error)?;
            &inflated[..]
        }
        other => return Err(EnvelopeError::Packing(other)),
    };
    let (stored, rest) =
        postcard::take_from_bytes::<Stored>(plain).map_err(EnvelopeError::Decode)?;
    if !rest.is_empty() {
        return Err(EnvelopeError::Trailing(rest.len()));
    }
    match stored {
        Stored::V1(c) => Ok(c),
        Stored::V2(c, side) => side.attach(c),
        Stored::V3(c, side, side3) => side3.attach(side.attach(c)?),
        Stored::V4(c, side, side3, side4) => side4.attach(side3.attach(side.attach(c)?)?),
        Stored::V5(c, side, side3, side4, side5) => {
            side5.attach(side4.attach(side3.attach(side.attach(c)?)?)?)
        }
        Stored::V6((c, side, side3, side4, side5, side6)) => {
            side6.attach(side5.attach(side4.attach(side3.attach(side.attach(c)?)?)?)?)
        }
        Stored::V7((c, side, side3, side4, side5, side6), side7) => {
            let c = side5.attach(side4.attach(side3.attach(side.attach(c)?)?)?)?;
            Ok(side7.attach(side6.attach(c)?))
        }
        Stored::V8((c, side, side3, side4, side5, side6), side7, side8) => {
            let c = side5.attach(side4.attach(side3.attach(side.attach(c)?)?)?)?;
            side8.attach(side7.attach(side6.attach(c)?))
        }
        Stored::V9((c, side, side3, side4, side5, side6), side7, side8, side9) => {
            let c = side5.attach(side4.attach(side3.attach(side.attach(c)?)?)?)?;
            side9.attach(side8.attach(side7.attach(side6.attach(c)?))?)
        }
        Stored::V10((c, side, side3, side4, side5, side6), side7, side8, side9, side10) => {
            let c = side5.attach(side4.attach(side3.attach(side.attach(c)?)?)?)?;
            side10.attach(side9.attach(side8.attach(side7.attach(side6.attach(c)?))?)?)
        }
    }
}

fn inflate_error(e: DecompressError) -> EnvelopeError {
    match e.status {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => EnvelopeError::TooLarge,
        status => EnvelopeError::Inflate(status),
    }
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
