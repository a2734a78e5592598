//! Strict mode (`global_defs { vrrp_strict }`, an instance's
//! `strict_mode [BOOL]`), settled once the whole file is read: the global
//! may come after the instances.
//!
//! Owns: what strict mode does to an instance's settings when read, as
//! keepalived 2.2.7 does it (measured with `keepalived -t` and a running
//! keepalived): refused outright, an instance without a VIP and an IPv6
//! instance whose first VIP is not link-local; dropped or changed with a
//! warning, `authentication`, `preempt_delay`, `state MASTER` below
//! priority 255 (starts as BACKUP), `accept` on VRRPv2 and
//! `vmac_xmit_base`; and the accept mode's default, which in strict mode
//! is "accept only as the address owner" (`no_accept` otherwise, enforced
//! by `net::no_accept`'s filter). Must not: change an instance outside
//! strict mode.
//!
//! Unicast peers: keepalived's manual says strict mode forbids them, but
//! keepalived 2.2.7 runs a strict instance with unicast peers all the
//! same; vigil runs it too (a pair can be migrated one box at a time),
//! with a warning.

use super::Reader;
use crate::config::bounds::Millis;
use crate::config::error::{ErrorKind, WarningKind};
use crate::config::model::{Config, GlobalDefs, InitialState, VrrpInstance, VrrpVersion};
use crate::config::validate::{At, Places};
use std::net::IpAddr;

impl Reader<'_> {
    /// Each instance's strict mode (its own `strict_mode`, else the global
    /// `vrrp_strict`), and what it does to the instance.
    pub(super) fn strict_modes(&mut self, c: &mut Config, at: &Places) {
        let global = (at.global.as_ref()).is_some_and(|g| g.kw.contains_key("vrrp_strict"));
        let (g, instances) = (&c.global, &mut c.vrrp_instances);
        for (i, a) in instances.iter_mut().zip(&at.instances) {
            if !a.kw.contains_key("strict_mode") {
                i.strict = global;
            }
            if i.strict {
                self.strict(i, a, g);
            }
        }
    }

    fn strict(&mut self, i: &mut VrrpInstance, a: &At, g: &GlobalDefs) {
        let instance = i.name.clone();
        let warn = |d: &mut crate::config::error::Diagnostics, kw: &str, what| {
            let instance = instance.clone();
            d.warn(a.of(kw), WarningKind::Strict { instance, what });
        };
        match i.virtual_ipaddress.first().map(|v| v.addr) {
            None => self.d.error(
                &a.start,
                ErrorKind::Strict {
                    instance: i.name.clone(),
                    what: "an instance needs at least one virtual_ipaddress",
                },
            ),
            Some(IpAddr::V6(first)) if !first.is_unicast_link_local() => self.d.error(
                a.item("virtual_ipaddress", 0),
                ErrorKind::Strict {
                    instance: i.name.clone(),
                    what: "the first IPv6 virtual address must be link-local (fe80::/10)",
                },
            ),
            Some(_) => {}
        }
        if i.state == InitialState::Master && i.priority != 255 {
            i.state = InitialState::Backup;
            let what = "'state MASTER' is for the address owner (priority 255): starts as BACKUP, as keepalived does";
            warn(self.d, "state", what);
        }
        if i.authentication.take().is_some() {
            let what =
                "authentication is not allowed: ignored, as keepalived does (adverts carry none)";
            warn(self.d, "authentication", what);
        }
        if i.preempt_delay != Millis(0) {
            i.preempt_delay = Millis(0);
            let what = "preempt_delay is not allowed: reset to 0, as keepalived does";
            warn(self.d, "preempt_delay", what);
        }
        if let Some(v) = i.use_vmac.as_mut().filter(|v| v.xmit_base) {
            v.xmit_base = false;
            let what = "vmac_xmit_base is not allowed: cleared, as keepalived does (adverts go out on the vmac)";
            warn(self.d, "vmac_xmit_base", what);
        }
        let v2 = i.effective_version(g) == VrrpVersion::V2;
        match (a.kw.get("accept"), a.kw.get("no_accept")) {
            (None, None) => i.accept = i.priority == 255,
            _ if i.accept && v2 => {
                i.accept = false;
                let what = "'accept' is not allowed with VRRPv2 (RFC 3768 has no accept mode): cleared, as keepalived does; the VIPs take balanced traffic only";
                warn(self.d, "accept", what);
            }
            _ => {}
        }
        if !i.unicast_peer.is_empty() {
            let what = "the RFCs have no unicast peers; keepalived 2.2.7 runs them in strict mode all the same, and so does vigil";
            warn(self.d, "unicast_peer", what);
        }
    }
}

#[cfg(test)]
#[path = "strict_tests.rs"]
mod tests;
