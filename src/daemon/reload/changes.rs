//! What a config commit changes, compared section by section, and which
//! part of it the running daemon applies live.
//!
//! Owns: the pure comparison of the running config with a new one, as
//! typed changes ([`Change`]) and settings pending a restart ([`Pending`]).
//! Must not: apply anything (the daemon does, through the IPVS task and the
//! health runner), read a clock, or word its findings (`control::render`
//! does).
//!
//! Applied live by the IPVS side: `virtual_server` blocks (services, real
//! servers, checkers; a removed real server drains, see `ipvs::task`),
//! `script_user` / `enable_script_security` when there are MISC_CHECKs
//! (the health checks are replaced),
//! `lvs_timeouts`, and the appliance's IPVS sysctls. Applied live by
//! `daemon::bgp`: the `bgp` block and each virtual server's `anycast`
//! (BIRD's config written again; a session whose neighbour changed
//! restarts, the others stay up). Applied live by
//! `daemon::static_routes`: `static_routes` and `static_rules` (the
//! difference). Applied live by the
//! appliance set-up (`appliance::Live`): the block's hostname, interfaces
//! and `ip_forward` ([`Changes::setup`]). Applied in place by
//! each running VRRP task (`vrrp::instance::Reconfig`): the settings of
//! its instances and sync group (`notify_arp_theft` too; `use_vmac` and `vmac_xmit_base` too: the
//! vmac is made first, the member moves its VIPs, adverts and gratuitous
//! ARP / NA to the new link, the daemon reroutes its receive side, and a
//! vmac no instance uses any more is deleted), and the VRRP and
//! notification parts of `global_defs`; instances added alone or as a new sync group start, and
//! instances removed alone or as a whole sync group stop (the daemon's
//! `Reloader`); `vrrp_script` blocks (the tracked-script task starts
//! again with them, see `daemon::scripts`). Pending a restart (listed by [`pending`], and shown by
//! `vigil status`): a running sync group's membership,
//! what an instance cannot change in place (interface, VRID, version,
//! family, source or multicast address), `lvs_sync_daemon`, and the
//! appliance's `watchdog` (the device is opened, its timeout set and its
//! boot status read once at start; closing it to apply a new device or
//! timeout would need the magic close, a gap, or both) and `console`
//! (nothing in the daemon holds it). A reload never makes a
//! master resign: what
//! cannot change in place keeps running as it was.

use std::collections::BTreeMap;

use crate::config::model::{Config, GlobalDefs, RealServer, VirtualServer};
use crate::control::{Change, Diff, Pending};
use crate::ipvs::desired;
use crate::ipvs::wire::{DestId, ServiceId};

/// A commit, compared with the running config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// What the live part changes.
    pub live: Vec<Change>,
    /// Sections that differ from what is running and wait for a restart.
    pub pending: Vec<Pending>,
    /// The appliance's set-up part differs (applied by `appliance::Live`).
    pub setup: bool,
    /// `global_defs { metrics }` differs (the endpoint binds again).
    pub metrics: bool,
    /// `static_routes` / `static_rules` differ (`daemon::static_routes`).
    pub statics: bool,
    /// The `no_accept` filter differs (`daemon::no_accept`).
    pub no_accept: bool,
    /// The `bgp` block or the anycast services differ (`daemon::bgp`).
    pub bgp: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
            && self.pending.is_empty()
            && !self.setup
            && !self.metrics
            && !self.statics
            && !self.no_accept
            && !self.bgp
    }
}

/// `running_vrrp`: the config the VRRP side started with (what pending is
/// measured against); `old`: the config the IPVS side runs now.
pub fn changes(running_vrrp: &Config, old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    ipvs_lines(old, new, &mut c.live);
    if old.global.lvs_timeouts != new.global.lvs_timeouts {
        c.live.push(Change::LvsTimeouts);
    }
    if misc_scripts_changed(old, new) {
        c.live.push(Change::MiscCheckScripts);
    }
    let sysctls = |c: &Config| c.appliance.as_ref().map(|a| a.ipvs);
    if sysctls(old) != sysctls(new) {
        c.live.push(Change::ApplianceIpvs);
    }
    let password = |c: &Config| crate::console::login::hash_of(c).map(str::to_owned);
    if password(old) != password(new) {
        c.live.push(Change::ConsolePassword);
    }
    c.pending = pending(running_vrrp, new);
    c.setup = crate::appliance::live::setup_changed(old, new);
    c.metrics = old.global.metrics != new.global.metrics;
    c.bgp = old.bgp != new.bgp
        || crate::bgp::announce::targets(old) != crate::bgp::announce::targets(new);
    c.statics = super::super::static_routes::Statics::changed(old, new);
    c.no_accept = super::super::no_accept::NoAccept::changed(old, new);
    c
}

/// Whether MISC_CHECKs must run under other script settings: the health
/// checks plan `script_user` and `enable_script_security` into them.
fn misc_scripts_changed(old: &Config, new: &Config) -> bool {
    let settings = |c: &Config| {
        (
            c.global.script_user.clone(),
            c.global.enable_script_security,
        )
    };
    let has_misc = new.virtual_servers.iter().any(|vs| {
        vs.real_servers.iter().any(|rs| {
            rs.checkers
                .iter()
                .any(|ch| matches!(ch.kind, crate::config::model::CheckKind::Misc(_)))
        })
    });
    has_misc && settings(old) != settings(new)
}

/// Sections of `new` that differ from what the VRRP side runs.
pub fn pending(running: &Config, new: &Config) -> Vec<Pending> {
    let instance = |name: &str, diff| Pending::Instance {
        name: name.to_owned(),
        diff,
    };
    let group = |name: &str, diff| Pending::SyncGroup {
        name: name.to_owned(),
        diff,
    };
    let mut out = Vec::new();
    for i in &new.vrrp_instances {
        match running.vrrp_instances.iter().find(|r| r.name == i.name) {
            None => out.push(instance(&i.name, Diff::Added)),
            Some(r) if r != i => out.push(instance(&i.name, Diff::Changed)),
            Some(_) => {}
        }
    }
    for r in &running.vrrp_instances {
        if !new.vrrp_instances.iter().any(|i| i.name == r.name) {
            out.push(instance(&r.name, Diff::Removed));
        }
    }
    for g in &new.vrrp_sync_groups {
        match running.vrrp_sync_groups.iter().find(|r| r.name == g.name) {
            None => out.push(group(&g.name, Diff::Added)),
            Some(r) if r != g => out.push(group(&g.name, Diff::Changed)),
            Some(_) => {}
        }
    }
    for r in &running.vrrp_sync_groups {
        if !new.vrrp_sync_groups.iter().any(|g| g.name == r.name) {
            out.push(group(&r.name, Diff::Removed));
        }
    }
    if vrrp_globals(&running.global) != vrrp_globals(&new.global) {
        out.push(Pending::VrrpGlobals);
    }
    if running.vrrp_scripts != new.vrrp_scripts
        || running.track_files != new.track_files
        || running.track_processes != new.track_processes
    {
        out.push(Pending::VrrpScripts);
    }
    let anycast_sync = |c: &Config| c.bgp.as_ref().and_then(|b| b.sync_daemon.clone());
    if running.global.lvs_sync_daemon != new.global.lvs_sync_daemon
        || anycast_sync(running) != anycast_sync(new)
    {
        out.push(Pending::LvsSyncDaemon);
    }
    // No block means the defaults (a new block with them changes nothing).
    // The console password is live: the console reads it at each login.
    let rest = |c: &Config| c.appliance.clone().unwrap_or_default().watchdog;
    if rest(running) != rest(new) {
        out.push(Pending::Appliance);
    }
    out
}

/// `global_defs` without what the IPVS side and the metrics endpoint apply
/// live.
pub fn vrrp_globals(g: &GlobalDefs) -> GlobalDefs {
    GlobalDefs {
        lvs_timeouts: Default::default(),
        lvs_sync_daemon: None,
        metrics: None,
        ..g.clone()
    }
}

fn ipvs_lines(old: &Config, new: &Config, out: &mut Vec<Change>) {
    // Groups expanded: a change of a group's members is a change of
    // services. Borrowed when there are no groups (no copy of either
    // config: 64 MB at the bound).
    let (old, new) = (old.services(), new.services());
    if old == new {
        return;
    }
    // Keyed by kernel identity: a 100 x 100 config compares in a few ms.
    let (was, now) = (services_by_id(&old), services_by_id(&new));
    for vs in new.iter() {
        let id = desired::service_id(vs);
        match was.get(&id) {
            None => out.push(Change::ServiceAdded {
                service: id.to_string(),
                real_servers: vs.real_servers.len(),
            }),
            Some(w) if *w != vs => service_lines(&id, w, vs, out),
            Some(_) => {}
        }
    }
    for vs in old.iter() {
        let id = desired::service_id(vs);
        if !now.contains_key(&id) {
            out.push(Change::ServiceRemoved {
                service: id.to_string(),
            });
        }
    }
}

fn service_lines(id: &ServiceId, old: &VirtualServer, new: &VirtualServer, out: &mut Vec<Change>) {
    let service = id.to_string();
    let real = |k: &DestId| (service.clone(), k.to_string());
    let same_settings = VirtualServer {
        real_servers: Vec::new(),
        ..old.clone()
    } == VirtualServer {
        real_servers: Vec::new(),
        ..new.clone()
    };
    if !same_settings {
        out.push(Change::ServiceSettings {
            service: service.clone(),
        });
    }
    let (was, now) = (reals_by_dest(old), reals_by_dest(new));
    for rs in &new.real_servers {
        let k = desired::dest_id(new, rs);
        match was.get(&k) {
            None => {
                let (service, real) = real(&k);
                out.push(Change::RealServerAdded { service, real })
            }
            Some(w) if *w != rs => {
                let (service, real) = real(&k);
                out.push(Change::RealServerChanged { service, real })
            }
            Some(_) => {}
        }
    }
    for rs in &old.real_servers {
        let k = desired::dest_id(old, rs);
        if !now.contains_key(&k) {
            let (service, real) = real(&k);
            out.push(Change::RealServerRemoved { service, real });
        }
    }
}

fn services_by_id(services: &[VirtualServer]) -> BTreeMap<ServiceId, &VirtualServer> {
    services
        .iter()
        .map(|vs| (desired::service_id(vs), vs))
        .collect()
}

fn reals_by_dest(vs: &VirtualServer) -> BTreeMap<DestId, &RealServer> {
    vs.real_servers
        .iter()
        .map(|rs| (desired::dest_id(vs, rs), rs))
        .collect()
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
