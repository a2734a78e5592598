//! The global `static_routes` and `static_rules`: the box's, whatever
//! the VRRP states.
//!
//! Owns: [`Statics`], the lines installed now. They are installed at
//! start (after the appliance set-up, before VRRP: a line already there,
//! from a run before a hitless restart, is fine), changed by the
//! difference on a reload, and removed at a deliberate stop, after every
//! instance has resigned (as keepalived 2.2.7 does at SIGTERM, measured);
//! the exec of a hitless restart keeps them. A failed call is logged and
//! counted (`vrrp::routes`), and nothing else waits on it.
//! Must not: touch a route or rule the config does not name.

use crate::config::model::Config;
use crate::control::Change;
use crate::net::Net;
use crate::vrrp::routes::{Routes, Who};

const WHO: Who<'static> = Who {
    instance: None,
    link: None,
};

pub(super) struct Statics {
    net: Net,
    lines: Routes,
}

fn lines_of(c: &Config) -> Routes {
    Routes::new(c.static_routes.clone(), c.static_rules.clone())
}

impl Statics {
    /// Installs `config`'s lines.
    pub(super) async fn start(net: Net, config: &Config) -> Self {
        let mut lines = lines_of(config);
        lines.install(&net, &WHO).await;
        Statics { net, lines }
    }

    /// Whether `old` and `new` differ in their lines.
    pub(super) fn changed(old: &Config, new: &Config) -> bool {
        old.static_routes != new.static_routes || old.static_rules != new.static_rules
    }

    /// Takes `new`'s lines: the ones it dropped go, the ones it added come.
    pub(super) async fn reload(&mut self, new: &Config) -> Change {
        let before = self.lines.errors;
        let (removed, added) = (self.lines.replace(lines_of(new), true, &self.net, &WHO)).await;
        Change::StaticRoutes {
            added,
            removed,
            failed: self.lines.errors - before,
        }
    }

    /// At a deliberate stop: rules, then routes.
    pub(super) async fn stop(&mut self) {
        self.lines.remove(&self.net, &WHO).await;
    }
}
