//! A reload's VRRP side: the running instance tasks reconfigured in place,
//! added instances started, removed ones stopped, and the notification
//! settings handed to the notifier.
//!
//! Owns: what of `running_vrrp` a reload updates, and the change per
//! instance it reports ([`Change`]). Must not: restart a task to apply a change (what
//! cannot change in place is pending, see [`super::pending`]), make a kept
//! master resign, or wait on a task longer than its bound.

use tokio::sync::oneshot;

use super::{Reloader, APPLY_BOUND};
use crate::config::model::{Config, GlobalDefs, VrrpInstance};
use crate::control::{Change, NotApplied};
use crate::daemon::groups::{
    ensure_vmacs, late_start, member_links, plan_groups, remove_stale_vips, remove_vmacs, reroute,
    vmac_names,
};
use crate::daemon::shutdown::SHUTDOWN_BOUND;
use crate::daemon::supervisor::RunningGroup;
use crate::net;
use crate::vrrp::instance::{self, GroupInput};

impl Reloader {
    /// The VRRP and notification settings, in place: each running task
    /// whose members and sync group are still configured as one gets the
    /// new settings; what it applies becomes part of `running_vrrp`.
    /// Returns a change per instance applied (or not).
    pub(super) async fn apply_vrrp(&mut self, new: &Config) -> Vec<Change> {
        let mut lines = Vec::new();
        if !same_notifier_settings(&self.running_vrrp.global, &new.global) {
            self.vrrp.notifier.reconfigure(&new.global);
            let (g, n) = (&mut self.running_vrrp.global, &new.global);
            g.router_id.clone_from(&n.router_id);
            g.notification_email.clone_from(&n.notification_email);
            g.notification_email_from
                .clone_from(&n.notification_email_from);
            g.smtp_server.clone_from(&n.smtp_server);
            g.smtp_connect_timeout = n.smtp_connect_timeout;
            g.smtp_alert = n.smtp_alert;
            g.script_user.clone_from(&n.script_user);
            g.enable_script_security = n.enable_script_security;
            lines.push(Change::Notifier);
        }
        let links = match self.vrrp.net.links().await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "reload: cannot read links; vrrp settings not applied");
                return lines;
            }
        };
        let vmacs_before = vmac_names(&self.running_vrrp.vrrp_instances);
        let (net, ledger) = (&self.vrrp.net, &self.vrrp.ledger);
        let links = ensure_vmacs(net, ledger, &new.vrrp_instances, |_| true, links).await;
        lines.extend(self.stop_removed(new).await);
        // The scripts to run follow the blocks and who tracks them (a
        // script an instance starts tracking starts running).
        let restarted = self.scripts.reload(new, &self.vrrp.supervisor);
        // A `track_file` block is one more tracked thing: its weight
        // reaches the instances as a script's does.
        let scripts_changed = self.running_vrrp.vrrp_scripts != new.vrrp_scripts
            || self.running_vrrp.track_files != new.track_files
            || self.running_vrrp.track_processes != new.track_processes;
        if scripts_changed || restarted {
            self.running_vrrp.vrrp_scripts.clone_from(&new.vrrp_scripts);
            self.running_vrrp.track_files.clone_from(&new.track_files);
            (self.running_vrrp.track_processes).clone_from(&new.track_processes);
            lines.push(Change::VrrpScripts { restarted });
        }
        let globals_changed =
            super::vrrp_globals(&self.running_vrrp.global) != super::vrrp_globals(&new.global);
        let mut all_applied = true;
        for g in self.vrrp.supervisor.instances().await {
            match self
                .reconfigure_group(&g, new, &links, globals_changed || scripts_changed)
                .await
            {
                Some((done, ok)) => {
                    all_applied &= ok;
                    lines.extend(done);
                }
                None => all_applied = false,
            }
        }
        if globals_changed && all_applied {
            let g = &mut self.running_vrrp.global;
            g.vrrp_version = new.global.vrrp_version;
            g.vrrp_mcast_group4 = new.global.vrrp_mcast_group4;
            g.vrrp_mcast_group6 = new.global.vrrp_mcast_group6;
            g.garp = new.global.garp;
        }
        lines.extend(self.start_added(new, &links).await);
        // A vmac no running instance uses any more goes (its VIPs moved
        // to the parent in place, or went with a stopped instance).
        let kept = vmac_names(&self.running_vrrp.vrrp_instances);
        let gone: Vec<String> = vmacs_before
            .into_iter()
            .filter(|n| !kept.contains(n))
            .collect();
        remove_vmacs(&self.vrrp.net, &self.vrrp.ledger, &gone).await;
        lines
    }

    /// Running tasks all of whose instances the new config removed (a
    /// lone instance, or a whole sync group) stop as on shutdown: a master
    /// resigns and removes its VIPs. Bounded; returns a change per instance.
    async fn stop_removed(&mut self, new: &Config) -> Vec<Change> {
        let kept = |n: &String| new.vrrp_instances.iter().any(|i| &i.name == n);
        let in_new_group = |n: &String| new.vrrp_sync_groups.iter().any(|g| g.group.contains(n));
        let mut lines = Vec::new();
        for g in self.vrrp.supervisor.instances().await {
            if g.members.iter().any(kept) || g.members.iter().any(in_new_group) {
                continue;
            }
            // Its end is expected: not the supervisor's to act on.
            self.vrrp.supervisor.deregister(g.id);
            let (tx, rx) = oneshot::channel();
            let stopped = g.tx.send(GroupInput::Shutdown(tx)).await.is_ok()
                && tokio::time::timeout(SHUTDOWN_BOUND, rx).await.is_ok();
            if !stopped {
                tracing::error!(instances = ?g.members, "reload: an instance task did not stop in {SHUTDOWN_BOUND:?}");
            }
            self.vrrp.published.send_modify(|c| {
                c.instances
                    .retain(|s| !g.members.contains(&s.borrow().status.name))
            });
            let r = &mut self.running_vrrp;
            r.vrrp_instances.retain(|i| !g.members.contains(&i.name));
            r.vrrp_sync_groups
                .retain(|s| !s.group.iter().any(|m| g.members.contains(m)));
            lines.extend(
                g.members
                    .iter()
                    .map(|n| Change::InstanceStopped { name: n.clone() }),
            );
        }
        lines
    }

    /// Instances the new config adds that can start on their own: lone
    /// ones, and sync groups all of whose members are new. One that joins
    /// a running sync group waits for a restart (pending).
    async fn start_added(&mut self, new: &Config, links: &[net::Link]) -> Vec<Change> {
        let known = |n: &str| self.running_vrrp.vrrp_instances.iter().any(|i| i.name == n);
        let group_of = |n: &str| {
            new.vrrp_sync_groups
                .iter()
                .find(|g| g.group.iter().any(|m| m == n))
        };
        let startable: Vec<String> = new
            .vrrp_instances
            .iter()
            .map(|i| i.name.clone())
            .filter(|n| !known(n))
            .filter(|n| group_of(n).is_none_or(|g| g.group.iter().all(|m| !known(m))))
            .collect();
        if startable.is_empty() {
            return Vec::new();
        }
        let planned = plan_groups(new, |n| startable.iter().any(|s| s == n), links);
        remove_stale_vips(&self.vrrp.net, &planned.groups).await;
        self.vrrp.start(planned.groups, &new.global);
        self.vrrp
            .published
            .send_modify(|c| c.instances.extend(planned.statuses));
        if !planned.late.is_empty() {
            tokio::spawn(late_start(
                planned.late,
                new.global.clone(),
                self.vrrp.clone(),
            ));
        }
        let r = &mut self.running_vrrp;
        for n in &startable {
            if let Some(i) = new.vrrp_instances.iter().find(|i| &i.name == n) {
                r.vrrp_instances.push(i.clone());
            }
            if let Some(g) = group_of(n) {
                if !r.vrrp_sync_groups.iter().any(|x| x.name == g.name) {
                    r.vrrp_sync_groups.push(g.clone());
                }
            }
        }
        startable
            .into_iter()
            .map(|name| Change::InstanceStarted { name })
            .collect()
    }

    /// One running task: `None` when the new config does not keep it as
    /// one (an instance removed, its sync group changed: pending), else
    /// the changes it applied (or not) and whether all of it did.
    async fn reconfigure_group(
        &mut self,
        g: &RunningGroup,
        new: &Config,
        links: &[net::Link],
        globals_changed: bool,
    ) -> Option<(Vec<Change>, bool)> {
        let first = g.members.first()?;
        let insts: Vec<&VrrpInstance> = g
            .members
            .iter()
            .map(|n| new.vrrp_instances.iter().find(|i| &i.name == n))
            .collect::<Option<_>>()?;
        let sync_of = |c: &Config| {
            c.vrrp_sync_groups
                .iter()
                .find(|s| s.group.contains(first))
                .cloned()
        };
        let (old_group, new_group) = (sync_of(&self.running_vrrp), sync_of(new));
        let members = |s: &Option<crate::config::model::SyncGroup>| {
            s.as_ref().map(|s| (s.name.clone(), s.group.clone()))
        };
        if members(&old_group) != members(&new_group)
            || new_group.as_ref().is_some_and(|s| s.group != g.members)
        {
            return None;
        }
        let same = insts
            .iter()
            .all(|i| self.running_vrrp.vrrp_instances.iter().any(|r| r == *i));
        if same && old_group == new_group && !globals_changed {
            return Some((Vec::new(), true));
        }
        let mut resolved = Vec::new();
        for i in &insts {
            let scripts = crate::daemon::groups::script_tracks(new, i);
            let Some(l) = member_links(i, scripts, links) else {
                let why = NotApplied::NoInterface {
                    interface: i.interface.to_string(),
                };
                return Some((vec![not_applied(i, why)], false));
            };
            resolved.push(((*i).clone(), l));
        }
        let members = resolved.clone();
        let (tx, rx) = oneshot::channel();
        let r = instance::Reconfig {
            members,
            group: new_group.as_ref().map(|s| {
                (
                    s.name.clone(),
                    s.notify.clone(),
                    s.smtp_alert.or(new.global.smtp_alert).unwrap_or(false),
                )
            }),
            global: new.global.clone(),
            done: tx,
        };
        g.tx.send(GroupInput::Reconfigure(Box::new(r))).await.ok()?;
        let results = tokio::time::timeout(APPLY_BOUND, rx).await.ok()?.ok()?;
        let mut lines = Vec::new();
        let mut ok = true;
        for (j, (inst, r)) in insts.iter().zip(results).enumerate() {
            match r {
                Ok(()) => {
                    if let Some(slot) = self
                        .running_vrrp
                        .vrrp_instances
                        .iter_mut()
                        .find(|x| x.name == inst.name)
                    {
                        if slot.use_vmac != inst.use_vmac {
                            if let Some((_, l)) = resolved.get(j) {
                                reroute(&self.vrrp, &g.tx, j, inst, l, &new.global);
                            }
                        }
                        if *slot != **inst {
                            lines.push(Change::InstanceApplied {
                                name: inst.name.clone(),
                            });
                        }
                        *slot = (*inst).clone();
                    }
                }
                Err(e) => {
                    ok = false;
                    lines.push(not_applied(inst, NotApplied::Refused(e.to_string())));
                }
            }
        }
        if ok {
            if let (Some(new_g), Some(slot)) = (
                new_group,
                self.running_vrrp
                    .vrrp_sync_groups
                    .iter_mut()
                    .find(|s| old_group.as_ref().is_some_and(|o| o.name == s.name)),
            ) {
                if *slot != new_g {
                    lines.push(Change::SyncGroupApplied {
                        name: new_g.name.clone(),
                    });
                }
                *slot = new_g;
            }
        }
        Some((lines, ok))
    }
}

fn not_applied(i: &VrrpInstance, why: NotApplied) -> Change {
    Change::InstanceNotApplied {
        name: i.name.clone(),
        why,
    }
}

/// Whether two `global_defs` set up notifications (scripts and mail) alike.
fn same_notifier_settings(a: &GlobalDefs, b: &GlobalDefs) -> bool {
    a.router_id == b.router_id
        && a.notification_email == b.notification_email
        && a.notification_email_from == b.notification_email_from
        && a.smtp_server == b.smtp_server
        && a.smtp_connect_timeout == b.smtp_connect_timeout
        && a.smtp_alert == b.smtp_alert
        && a.script_user == b.script_user
        && a.enable_script_security == b.enable_script_security
}
