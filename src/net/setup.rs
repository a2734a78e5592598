//! rtnetlink requests of the appliance's own set-up: the main table's
//! routes, a link's MTU and up state, and the box's own addresses.
//!
//! Owns: the message shapes of those requests (routes carry the protocol
//! number the caller gives, so a dump tells whose a route is).
//! Must not: decide what to change (`appliance::plan` does), or touch
//! routes outside the main table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType,
};
use rtnetlink::{LinkUnspec, RouteMessageBuilder};

use super::{bounded, req_err, Net, NetError, On};
use crate::config::model::IfAddr;

const ESRCH: i32 = 3;

/// One unicast route of the main table, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteEntry {
    /// `0.0.0.0/0` or `::/0` for a default route.
    pub dest: IfAddr,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub protocol: u8,
}

impl RouteEntry {
    fn from_msg(m: &RouteMessage) -> Option<Self> {
        let main = u32::from(RouteHeader::RT_TABLE_MAIN);
        let mut table = u32::from(m.header.table);
        let (mut dest, mut via, mut oif) = (None, None, None);
        for a in &m.attributes {
            match a {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(d) => dest = ip_of(d),
                RouteAttribute::Gateway(g) => via = ip_of(g),
                RouteAttribute::Oif(i) => oif = Some(*i),
                _ => {}
            }
        }
        if table != main || m.header.kind != RouteType::Unicast {
            return None;
        }
        let any = match m.header.address_family {
            netlink_packet_route::AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            netlink_packet_route::AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => return None,
        };
        Some(RouteEntry {
            dest: IfAddr {
                addr: dest.unwrap_or(any),
                prefix: m.header.destination_prefix_length,
            },
            via,
            oif,
            protocol: u8::from(m.header.protocol),
        })
    }
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// A route the builder refuses (family mismatch, prefix too long): the
/// config's validation makes this unreachable, yet it is no panic.
fn bad<E: std::fmt::Display>(e: E) -> NetError {
    NetError::Request {
        op: "route message",
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
    }
}

/// A main-table unicast route message to `dest` through link `oif`.
fn route_msg(
    dest: IfAddr,
    via: Option<IpAddr>,
    oif: Option<u32>,
    protocol: u8,
) -> Result<RouteMessage, NetError> {
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(dest.addr, dest.prefix)
        .map_err(bad)?
        .protocol(RouteProtocol::from(protocol));
    if let Some(g) = via {
        b = b.gateway(g).map_err(bad)?;
    }
    if let Some(i) = oif {
        b = b.output_interface(i);
    }
    Ok(b.build())
}

impl Net {
    /// Every unicast route of the main table, both families.
    pub async fn routes(&self) -> Result<Vec<RouteEntry>, NetError> {
        let mut out = Vec::new();
        let dumps = [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ];
        for m in dumps {
            let msgs: Vec<RouteMessage> = self
                .dump("route dump", On::All, || {
                    self.handle.route().get(m.clone()).execute()
                })
                .await?;
            out.extend(msgs.iter().filter_map(RouteEntry::from_msg));
        }
        Ok(out)
    }

    /// Adds `dest via gateway dev oif proto protocol`, replacing a route
    /// with the same key (destination, and for IPv4 tos and metric).
    pub async fn put_route(
        &self,
        dest: IfAddr,
        via: IpAddr,
        oif: u32,
        protocol: u8,
    ) -> Result<(), NetError> {
        let msg = route_msg(dest, Some(via), Some(oif), protocol)?;
        let call = self.handle.route().add(msg).replace().execute();
        bounded("route add", On::Index(oif), async {
            call.await.map_err(req_err("route add"))
        })
        .await
    }

    /// Deletes a route as dumped; `Ok(false)` if it was gone already.
    pub async fn del_route(&self, r: &RouteEntry) -> Result<bool, NetError> {
        let msg = route_msg(r.dest, r.via, r.oif, r.protocol)?;
        let on = r.oif.map_or(On::All, On::Index);
        let call = self.handle.route().del(msg).execute();
        match bounded("route delete", on, async { Ok(call.await) }).await? {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code().abs() == ESRCH => Ok(false),
            Err(e) => Err(req_err("route delete")(e)),
        }
    }

    pub async fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), NetError> {
        let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
        let call = self.handle.link().set(msg).execute();
        bounded("link set mtu", On::Index(index), async {
            call.await.map_err(req_err("link set mtu"))
        })
        .await
    }

    pub async fn set_up(&self, index: u32) -> Result<(), NetError> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        let call = self.handle.link().set(msg).execute();
        bounded("link set up", On::Index(index), async {
            call.await.map_err(req_err("link set up"))
        })
        .await
    }

    /// Adds one of the box's own addresses (replace semantics; IPv6 goes
    /// through duplicate address detection, unlike a VIP).
    pub async fn add_address(&self, index: u32, a: IfAddr) -> Result<(), NetError> {
        let mut req = self.handle.address().add(index, a.addr, a.prefix).replace();
        *req.message_mut() = Self::addr_msg(index, a.addr, a.prefix);
        let call = req.execute();
        bounded("address add", On::Index(index), async {
            call.await.map_err(req_err("address add"))
        })
        .await
    }

    /// Removes one of the box's own addresses; `Ok(false)` if it was not
    /// there.
    pub async fn del_address(&self, index: u32, a: IfAddr) -> Result<bool, NetError> {
        let msg = Self::addr_msg(index, a.addr, a.prefix);
        self.del_addr_msg(msg).await
    }
}
