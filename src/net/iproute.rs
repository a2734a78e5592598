//! rtnetlink requests for keepalived's route and rule lines
//! (`virtual_routes`, `virtual_rules`, `static_routes`, `static_rules`).
//!
//! Owns: the message of each [`IpRoute`] and [`IpRule`] (as `ip route add`
//! and `ip rule add` build them: a unicast route without a gateway is of
//! link scope, a rule's table above 255 rides in its attribute), installing
//! (already there is fine: EEXIST) and removing (already gone is fine:
//! ESRCH, ENOENT), every call bounded by [`CALL_BOUND`](super::CALL_BOUND).
//! Routes and rules carry protocol [`PROTO`] (keepalived's number), so
//! `ip route show proto keepalived` lists what an instance installed and
//! `appliance::plan`, which owns protocol 86, never sees them.
//! Must not: decide when (the instance task does, on its state changes;
//! `daemon::static_routes` at start and reload), or touch a route or rule
//! it was not asked about.

use std::net::IpAddr;

use netlink_packet_route::route::{RouteMessage, RouteProtocol, RouteScope, RouteType};
use netlink_packet_route::rule::{RuleAction as NlAction, RuleAttribute, RuleMessage};
use netlink_packet_route::AddressFamily;
use rtnetlink::RouteMessageBuilder;

use super::{address_scope_route, bounded, req_err, Net, NetError, On};
use crate::config::model::{IpRoute, IpRule, RouteKind, RuleAction};

/// The routing protocol number of what vigil installs here: keepalived's
/// (`/etc/iproute2/rt_protos`: 18 keepalived).
pub const PROTO: u8 = 18;

const ESRCH: i32 = 3;
const ENOENT: i32 = 2;
const EEXIST: i32 = 17;

fn kind(k: RouteKind) -> RouteType {
    match k {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Throw => RouteType::Throw,
    }
}

fn invalid<E: std::fmt::Display>(e: E) -> NetError {
    NetError::Request {
        op: "route message",
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
    }
}

/// The message of `r` through link `oif` (its `dev`, resolved).
/// `for_delete`: the scope is left open (any scope matches), as `ip route
/// del` does.
pub fn route_message(
    r: &IpRoute,
    oif: Option<u32>,
    for_delete: bool,
) -> Result<RouteMessage, NetError> {
    let scope = match (r.scope, r.kind, r.via) {
        _ if for_delete => RouteScope::NoWhere,
        (Some(s), _, _) => address_scope_route(s),
        (None, RouteKind::Unicast, None) => RouteScope::Link,
        (None, _, _) => RouteScope::Universe,
    };
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(r.dest.addr, r.dest.prefix)
        .map_err(invalid)?
        .table_id(r.table_id())
        .protocol(RouteProtocol::from(PROTO))
        .kind(kind(r.kind))
        .scope(scope);
    if let Some(g) = r.via {
        b = b.gateway(g).map_err(invalid)?;
    }
    if let Some(s) = r.src {
        b = b.pref_source(s).map_err(invalid)?;
    }
    if let Some(i) = oif {
        b = b.output_interface(i);
    }
    if let Some(m) = r.metric {
        b = b.priority(m);
    }
    if r.onlink {
        b = b.onlink();
    }
    Ok(b.build())
}

/// The message of `r`.
pub fn rule_message(r: &IpRule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = if r.ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let a = &mut m.attributes;
    if let Some(f) = r.from {
        m.header.src_len = f.prefix;
        a.push(RuleAttribute::Source(f.addr));
    }
    if let Some(t) = r.to {
        m.header.dst_len = t.prefix;
        a.push(RuleAttribute::Destination(t.addr));
    }
    if let Some(i) = &r.iif {
        a.push(RuleAttribute::Iifname(i.as_str().to_owned()));
    }
    if let Some(o) = &r.oif {
        a.push(RuleAttribute::Oifname(o.as_str().to_owned()));
    }
    if let Some(f) = r.fwmark {
        a.push(RuleAttribute::FwMark(f.mark));
        if let Some(k) = f.mask {
            a.push(RuleAttribute::FwMask(k));
        }
    }
    if let Some(p) = r.priority {
        a.push(RuleAttribute::Priority(p));
    }
    a.push(RuleAttribute::Protocol(RouteProtocol::from(PROTO)));
    m.header.action = match r.action {
        RuleAction::Table(t) => {
            m.header.table = u8::try_from(t).unwrap_or(0);
            m.attributes.push(RuleAttribute::Table(t));
            NlAction::ToTable
        }
        RuleAction::Blackhole => NlAction::Blackhole,
        RuleAction::Unreachable => NlAction::Unreachable,
        RuleAction::Prohibit => NlAction::Prohibit,
    };
    m
}

/// `Ok` when the kernel said nothing or one of `fine`.
fn tolerate(
    res: Result<(), rtnetlink::Error>,
    op: &'static str,
    fine: &[i32],
) -> Result<(), NetError> {
    match res {
        Ok(()) => Ok(()),
        Err(rtnetlink::Error::NetlinkError(m)) if fine.contains(&m.raw_code().abs()) => Ok(()),
        Err(e) => Err(req_err(op)(e)),
    }
}

impl Net {
    /// Installs `r` through link `oif`; a route already there is fine.
    pub async fn add_iproute(&self, r: &IpRoute, oif: Option<u32>) -> Result<(), NetError> {
        let call = self
            .handle
            .route()
            .add(route_message(r, oif, false)?)
            .execute();
        let on = oif.map_or(On::All, On::Index);
        let res = bounded("route add", on, async { Ok(call.await) }).await?;
        tolerate(res, "route add", &[EEXIST])
    }

    /// Removes `r`; a route already gone is fine.
    pub async fn del_iproute(&self, r: &IpRoute, oif: Option<u32>) -> Result<(), NetError> {
        let call = self
            .handle
            .route()
            .del(route_message(r, oif, true)?)
            .execute();
        let on = oif.map_or(On::All, On::Index);
        let res = bounded("route delete", on, async { Ok(call.await) }).await?;
        tolerate(res, "route delete", &[ESRCH, ENOENT])
    }

    /// Installs `r`; a rule already there is fine.
    pub async fn add_iprule(&self, r: &IpRule) -> Result<(), NetError> {
        let mut req = self.handle.rule().add();
        *req.message_mut() = rule_message(r);
        let call = req.execute();
        let res = bounded("rule add", On::All, async { Ok(call.await) }).await?;
        tolerate(res, "rule add", &[EEXIST])
    }

    /// Removes `r`; a rule already gone is fine.
    pub async fn del_iprule(&self, r: &IpRule) -> Result<(), NetError> {
        let call = self.handle.rule().del(rule_message(r)).execute();
        let res = bounded("rule delete", On::All, async { Ok(call.await) }).await?;
        tolerate(res, "rule delete", &[ENOENT, ESRCH])
    }
}

#[cfg(test)]
#[path = "iproute_tests.rs"]
mod tests;
