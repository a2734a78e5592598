//! One instance's `virtual_routes` and `virtual_rules` in the kernel.
//!
//! Owns: [`Routes`], the lines an instance installs while MASTER, in
//! keepalived's order (after its VIPs: routes, then rules; on leaving
//! MASTER the reverse: rules, then routes, then the VIPs), the difference
//! a commit makes on a MASTER, and the count of netlink calls that failed.
//! A failure is logged with the instance and the line, counted, and
//! otherwise ignored: VRRP goes on. After a call that timed out, the rest
//! of that change is skipped (each call is bounded; a batch must not be
//! bounded only by its length). The global static lines use it too
//! (`daemon::static_routes`). vigil follows no route's deletion (as it
//! follows no VIP's): a line the kernel dropped returns at the next
//! install.
//! Must not: decide when (the machine's AddVips / RemoveVips actions do,
//! through `vrrp::member`), or await anything but bounded netlink calls.

use crate::config::model::{IpRoute, IpRule, VrrpInstance};
use crate::net::{Net, NetError};

/// Whom a call is made for, for its log lines, and the link a route's
/// `dev` may name without a lookup.
pub(crate) struct Who<'a> {
    /// The instance; `None`: the global `static_routes` / `static_rules`.
    pub(crate) instance: Option<&'a str>,
    /// The instance's interface and its index.
    pub(crate) link: Option<(&'a str, u32)>,
}

/// An instance's routes and rules (or the global static ones), and how
/// many calls for them failed.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    routes: Vec<IpRoute>,
    rules: Vec<IpRule>,
    pub(crate) errors: u64,
}

impl Routes {
    pub(crate) fn of(inst: &VrrpInstance) -> Self {
        Self::new(inst.virtual_routes.clone(), inst.virtual_rules.clone())
    }

    pub(crate) fn new(routes: Vec<IpRoute>, rules: Vec<IpRule>) -> Self {
        Routes {
            routes,
            rules,
            errors: 0,
        }
    }

    /// On becoming MASTER, after the VIPs and the first advert
    /// (`vrrp::instance`): routes, then rules.
    pub(crate) async fn install(&mut self, net: &Net, who: &Who<'_>) {
        let (routes, rules) = (self.routes.clone(), self.rules.clone());
        self.add(net, who, &routes, &rules).await;
    }

    /// On leaving MASTER (or at a stop), before the VIPs: rules, then
    /// routes.
    pub(crate) async fn remove(&mut self, net: &Net, who: &Who<'_>) {
        let (routes, rules) = (self.routes.clone(), self.rules.clone());
        self.del(net, who, &routes, &rules).await;
    }

    /// A commit's lines: when installed (`live`: a MASTER's, the static
    /// ones), the ones it dropped go and the ones it added come; a line in
    /// both is not touched. Answers how many went and came.
    pub(crate) async fn replace(
        &mut self,
        new: Routes,
        live: bool,
        net: &Net,
        who: &Who<'_>,
    ) -> (usize, usize) {
        let Routes { routes, rules, .. } = new;
        let mut counts = (0, 0);
        if live {
            let gone_routes: Vec<IpRoute> = (self.routes.iter())
                .filter(|r| !routes.contains(r))
                .cloned()
                .collect();
            let gone_rules: Vec<IpRule> = (self.rules.iter())
                .filter(|r| !rules.contains(r))
                .cloned()
                .collect();
            let new_routes: Vec<IpRoute> = (routes.iter())
                .filter(|r| !self.routes.contains(r))
                .cloned()
                .collect();
            let new_rules: Vec<IpRule> = (rules.iter())
                .filter(|r| !self.rules.contains(r))
                .cloned()
                .collect();
            self.del(net, who, &gone_routes, &gone_rules).await;
            self.add(net, who, &new_routes, &new_rules).await;
            counts = (
                gone_routes.len() + gone_rules.len(),
                new_routes.len() + new_rules.len(),
            );
        }
        (self.routes, self.rules) = (routes, rules);
        counts
    }

    async fn add(&mut self, net: &Net, who: &Who<'_>, routes: &[IpRoute], rules: &[IpRule]) {
        for r in routes {
            let res = match oif(net, who, r).await {
                Ok(i) => net.add_iproute(r, i).await,
                Err(e) => Err(e),
            };
            if !self.check(res, who, "cannot add route", &r.to_string()) {
                return;
            }
        }
        for r in rules {
            let res = net.add_iprule(r).await;
            if !self.check(res, who, "cannot add rule", &r.to_string()) {
                return;
            }
        }
    }

    async fn del(&mut self, net: &Net, who: &Who<'_>, routes: &[IpRoute], rules: &[IpRule]) {
        for r in rules.iter().rev() {
            let res = net.del_iprule(r).await;
            if !self.check(res, who, "cannot remove rule", &r.to_string()) {
                return;
            }
        }
        for r in routes.iter().rev() {
            let res = match oif(net, who, r).await {
                Ok(i) => net.del_iproute(r, i).await,
                // Its link is gone, and the kernel took its routes along.
                Err(NetError::NoSuchLink { .. }) => Ok(()),
                Err(e) => Err(e),
            };
            if !self.check(res, who, "cannot remove route", &r.to_string()) {
                return;
            }
        }
    }

    /// Logs and counts a failure (`what`: the line's fixed message, `line`
    /// the route or rule). `false` after a timeout: a kernel that did not
    /// answer one call in [`CALL_BOUND`](crate::net::CALL_BOUND) is not
    /// asked the rest of the batch, which would keep the instance task
    /// from its adverts for as many bounds again.
    fn check(
        &mut self,
        res: Result<(), NetError>,
        who: &Who<'_>,
        what: &'static str,
        line: &str,
    ) -> bool {
        let Err(e) = res else {
            return true;
        };
        self.errors += 1;
        tracing::error!(
            instance = who.instance,
            route = %line,
            error = %e,
            "{what}"
        );
        if matches!(e, NetError::Timeout { .. }) {
            tracing::error!(
                instance = who.instance,
                "the kernel did not answer: the other routes and rules of this change are skipped"
            );
            return false;
        }
        true
    }
}

/// The link a route goes out of: its `dev` (the instance's own interface
/// without a lookup), or none said (the kernel finds it by the gateway).
async fn oif(net: &Net, who: &Who<'_>, r: &IpRoute) -> Result<Option<u32>, NetError> {
    match &r.dev {
        None => Ok(None),
        Some(d) => match who.link {
            Some((name, index)) if name == d.as_str() => Ok(Some(index)),
            _ => net.link_by_name(d.as_str()).await.map(|l| Some(l.index)),
        },
    }
}
