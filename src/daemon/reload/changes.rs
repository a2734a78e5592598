//! What a config commit changes, compared section by section, and which
//! part of it the running daemon applies live.
//!
//! Owns: the pure comparison of the running config with a new one and the
//! lines `vigil reload` prints. Must not: apply anything (the daemon does,
//! through the IPVS task and the health runner) or read a clock.
//!
//! Applied live by the IPVS side: `virtual_server` blocks (services, real
//! servers, checkers; a removed real server drains, see `ipvs::task`),
//! `lvs_timeouts`, and the appliance's IPVS sysctls. Applied in place by
//! each running VRRP task (`vrrp::instance::Reconfig`): the settings of
//! its instances and sync group, and the VRRP and notification parts of
//! `global_defs`; instances added alone or as a new sync group start, and
//! instances removed alone or as a whole sync group stop (the daemon's
//! `Reloader`). Pending a restart (listed by [`pending`], and shown by
//! `vigil status`): a running sync group's membership,
//! what an instance cannot change in place (interface, VRID, version,
//! family, source or multicast address), `lvs_sync_daemon`, and the rest
//! of the `appliance` block. A reload never makes a master resign: what
//! cannot change in place keeps running as it was.

use std::collections::BTreeMap;

use crate::config::model::{Config, GlobalDefs, RealServer, VirtualServer};
use crate::ipvs::desired;
use crate::ipvs::wire::{DestId, ServiceId};

/// A commit, compared with the running config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// What the live part changes, one line each.
    pub live: Vec<String>,
    /// Sections that differ from what is running and wait for a restart.
    pub pending: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.pending.is_empty()
    }
}

/// `running_vrrp`: the config the VRRP side started with (what pending is
/// measured against); `old`: the config the IPVS side runs now.
pub fn changes(running_vrrp: &Config, old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    ipvs_lines(old, new, &mut c.live);
    if old.global.lvs_timeouts != new.global.lvs_timeouts {
        c.live.push("lvs_timeouts changed".into());
    }
    let sysctls = |c: &Config| c.appliance.as_ref().map(|a| a.ipvs);
    if sysctls(old) != sysctls(new) {
        c.live.push("appliance ipvs settings changed".into());
    }
    pending(running_vrrp, new, &mut c.pending);
    c
}

/// Sections of `new` that differ from what the VRRP side runs.
pub fn pending(running: &Config, new: &Config, out: &mut Vec<String>) {
    let names =
        |c: &Config| -> Vec<String> { c.vrrp_instances.iter().map(|i| i.name.clone()).collect() };
    for i in &new.vrrp_instances {
        match running.vrrp_instances.iter().find(|r| r.name == i.name) {
            None => out.push(format!("vrrp_instance {} added", i.name)),
            Some(r) if r != i => out.push(format!("vrrp_instance {} changed", i.name)),
            Some(_) => {}
        }
    }
    let kept = names(new);
    for n in names(running).iter().filter(|n| !kept.contains(n)) {
        out.push(format!("vrrp_instance {n} removed"));
    }
    for g in &new.vrrp_sync_groups {
        match running.vrrp_sync_groups.iter().find(|r| r.name == g.name) {
            None => out.push(format!("vrrp_sync_group {} added", g.name)),
            Some(r) if r != g => out.push(format!("vrrp_sync_group {} changed", g.name)),
            Some(_) => {}
        }
    }
    for r in &running.vrrp_sync_groups {
        if !new.vrrp_sync_groups.iter().any(|g| g.name == r.name) {
            out.push(format!("vrrp_sync_group {} removed", r.name));
        }
    }
    if vrrp_globals(&running.global) != vrrp_globals(&new.global) {
        out.push("global_defs (VRRP, notification or script settings) changed".into());
    }
    if running.global.lvs_sync_daemon != new.global.lvs_sync_daemon {
        out.push("lvs_sync_daemon changed".into());
    }
    let rest = |c: &Config| {
        c.appliance.as_ref().map(|a| {
            let mut a = a.clone();
            a.ipvs = Default::default();
            a
        })
    };
    if rest(running) != rest(new) {
        out.push("appliance block (other than ipvs) changed".into());
    }
}

/// `global_defs` without what the IPVS side applies live.
pub fn vrrp_globals(g: &GlobalDefs) -> GlobalDefs {
    GlobalDefs {
        lvs_timeouts: Default::default(),
        lvs_sync_daemon: None,
        ..g.clone()
    }
}

fn ipvs_lines(old: &Config, new: &Config, out: &mut Vec<String>) {
    if old.virtual_servers == new.virtual_servers {
        return;
    }
    // Keyed by kernel identity: a 100 x 100 config compares in a few ms.
    let (was, now) = (services_by_id(old), services_by_id(new));
    for vs in &new.virtual_servers {
        let id = desired::service_id(vs);
        match was.get(&id) {
            None => out.push(format!(
                "virtual server {id} added with {} real server{}",
                vs.real_servers.len(),
                plural(vs.real_servers.len())
            )),
            Some(w) if *w != vs => service_lines(&id, w, vs, out),
            Some(_) => {}
        }
    }
    for vs in &old.virtual_servers {
        let id = desired::service_id(vs);
        if !now.contains_key(&id) {
            out.push(format!(
                "virtual server {id} removed: its real servers drain, then it is deleted"
            ));
        }
    }
}

fn service_lines(id: &ServiceId, old: &VirtualServer, new: &VirtualServer, out: &mut Vec<String>) {
    let same_settings = VirtualServer {
        real_servers: Vec::new(),
        ..old.clone()
    } == VirtualServer {
        real_servers: Vec::new(),
        ..new.clone()
    };
    if !same_settings {
        out.push(format!("virtual server {id}: settings changed"));
    }
    let (was, now) = (reals_by_dest(old), reals_by_dest(new));
    for rs in &new.real_servers {
        let k = desired::dest_id(new, rs);
        match was.get(&k) {
            None => out.push(format!("virtual server {id}: real server {k} added")),
            Some(w) if *w != rs => {
                out.push(format!("virtual server {id}: real server {k} changed"))
            }
            Some(_) => {}
        }
    }
    for rs in &old.real_servers {
        let k = desired::dest_id(old, rs);
        if !now.contains_key(&k) {
            out.push(format!(
                "virtual server {id}: real server {k} removed: draining (weight 0) until its connections end"
            ));
        }
    }
}

fn services_by_id(c: &Config) -> BTreeMap<ServiceId, &VirtualServer> {
    c.virtual_servers
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Config {
        let path = format!("{}/fixtures/seed/master.conf", env!("CARGO_MANIFEST_DIR"));
        crate::config::import_file(std::path::Path::new(&path), false)
            .expect("seed imports")
            .config
    }

    #[test]
    fn the_same_config_changes_nothing() {
        let c = seed();
        assert!(changes(&c, &c, &c).is_empty());
    }

    #[test]
    fn real_servers_added_removed_and_changed_are_live() {
        let old = seed();
        let mut new = old.clone();
        let vs = &mut new.virtual_servers[0];
        let mut rs3 = vs.real_servers[0].clone();
        rs3.addr = "192.168.1.104".parse().unwrap();
        vs.real_servers.remove(1);
        vs.real_servers[0].weight += 1;
        vs.real_servers.push(rs3);
        let c = changes(&old, &old, &new);
        assert!(c.pending.is_empty(), "{:?}", c.pending);
        assert_eq!(
            c.live,
            [
                "virtual server TCP 192.168.1.200:80: real server 192.168.1.102:80 changed",
                "virtual server TCP 192.168.1.200:80: real server 192.168.1.104:80 added",
                "virtual server TCP 192.168.1.200:80: real server 192.168.1.103:80 removed: draining (weight 0) until its connections end",
            ]
        );
    }

    #[test]
    fn a_service_removed_and_one_added() {
        let old = seed();
        let mut new = old.clone();
        new.virtual_servers[0].key = crate::config::model::ServiceKey::Addr {
            addr: "192.168.1.201".parse().unwrap(),
            port: 80,
        };
        let c = changes(&old, &old, &new);
        assert_eq!(
            c.live,
            [
                "virtual server TCP 192.168.1.201:80 added with 2 real servers",
                "virtual server TCP 192.168.1.200:80 removed: its real servers drain, then it is deleted",
            ]
        );
    }

    #[test]
    fn vrrp_changes_are_pending_against_what_vrrp_runs() {
        let running = seed();
        let mut new = running.clone();
        new.vrrp_instances[0].priority = 150;
        new.global.lvs_timeouts.tcp = Some(7200);
        let c = changes(&running, &running, &new);
        assert_eq!(c.live, ["lvs_timeouts changed"]);
        assert_eq!(c.pending, ["vrrp_instance VI_1 changed"]);
        // Committing the running VRRP settings back clears the pending list.
        let back = changes(&running, &new, &running);
        assert!(back.pending.is_empty());
        assert_eq!(back.live, ["lvs_timeouts changed"]);
    }
}
