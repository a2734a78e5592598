//! rtnetlink edge: links, addresses and their events.
//!
//! Owns: [`Net`] (a request connection: link lookups by name and index,
//! the primary IPv4 address and IPv6 link-local of an interface, the IPv4
//! neighbour table (`vigil doctor`), adding
//! virtual addresses with replace semantics and removing them), every
//! request bounded by [`CALL_BOUND`] (a timeout is an error naming the
//! call and the interface), and [`events`] (the subscription to link and
//! address events: see that module).
//! [`arp`] is the Ethernet + ARP frame codec (gratuitous ARP, the ARP
//! watch, `vigil doctor`'s probe), [`arp_socket`] its AF_PACKET socket.
//! [`iproute`] installs and removes keepalived's route and rule lines.
//! [`no_accept`] says what the `no_accept` packet filter holds and
//! [`nft`] puts it in the kernel (nf_tables over netlink).
//! [`setup`] adds the requests of the appliance's own set-up (main-table
//! routes, MTU, link up, the box's addresses) for `appliance::edge`.
//! Must not: decide anything about VRRP (it reports, the instance tasks
//! decide) or about the box's set-up (`appliance::plan` does), flush
//! addresses it was not asked to remove, or block the runtime (every
//! call is async over the netlink socket, and none waits longer than
//! [`CALL_BOUND`]), or start a dump while another runs on the same socket
//! (the kernel refuses it with EBUSY: [`Net`] takes dumps one at a time).
//!
//! Semantics: a link is "up" when it is administratively up AND has
//! carrier (IFF_UP and IFF_LOWER_UP), as keepalived reads it: a pulled
//! cable is a fault. IPv6 VIPs are added with IFA_F_NODAD so they are
//! usable at once; a second add of the same address is not an error
//! (NLM_F_REPLACE).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{Stream, TryStreamExt};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::AddressFamily;
use rtnetlink::Handle;
use thiserror::Error;

use crate::config::model::{AddrScope, Vip};

pub mod arp;
pub mod arp_socket;
pub mod events;
pub mod iproute;
pub mod nft;
pub mod no_accept;
pub mod setup;
pub mod vmac;
pub mod vmac_ledger;

pub use events::{events, Monitor, NetEvent};

/// How long one rtnetlink request may take before it is an error. Below
/// the instance task's 2 s liveness deadline on purpose: an instance task
/// awaits these calls, and a bound above its deadline would never fire
/// there (the supervisor would abort the task first, taking its VIPs
/// away); at 1.5 s the task gets an error it can report and goes on. A
/// healthy kernel answers in microseconds.
pub const CALL_BOUND: Duration = Duration::from_millis(1500);

/// The pause before a dump the kernel refused as busy is sent again (see
/// [`Net::dump`]), within the dump's [`CALL_BOUND`].
const BUSY_PAUSE: Duration = Duration::from_millis(10);

/// Errors of the netlink edge, with what was being done.
#[derive(Debug, Error)]
pub enum NetError {
    #[error("cannot open a netlink socket")]
    Socket(#[source] io::Error),
    #[error("no interface named {name}")]
    NoSuchLink { name: String },
    #[error("netlink {op} failed")]
    Request {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("netlink {op} on {on} timed out after {} ms", after.as_millis())]
    Timeout {
        op: &'static str,
        on: On,
        after: Duration,
    },
}

/// What a request was about, for its timeout's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum On {
    /// Every link (a dump).
    All,
    /// One interface by index.
    Index(u32),
    /// One interface by name.
    Name(String),
}

impl fmt::Display for On {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            On::All => f.write_str("every interface"),
            On::Index(i) => write!(f, "interface index {i}"),
            On::Name(n) => write!(f, "interface {n}"),
        }
    }
}

/// Runs one request with [`CALL_BOUND`]; past it, [`NetError::Timeout`].
async fn bounded<T>(
    op: &'static str,
    on: On,
    call: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    bounded_by(CALL_BOUND, op, on, call).await
}

/// [`bounded`] with the bound given (tests shorten it).
async fn bounded_by<T>(
    after: Duration,
    op: &'static str,
    on: On,
    call: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(after, call)
        .await
        .unwrap_or(Err(NetError::Timeout { op, on, after }))
}

fn req_err(op: &'static str) -> impl FnOnce(rtnetlink::Error) -> NetError {
    move |e| NetError::Request {
        op,
        source: match e {
            rtnetlink::Error::NetlinkError(m) => m.to_io(),
            other => io::Error::other(other.to_string()),
        },
    }
}

/// errno of a failed request, if the kernel sent one.
pub fn errno(e: &NetError) -> Option<i32> {
    match e {
        NetError::Request { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

/// What we know of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub admin_up: bool,
    pub lower_up: bool,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    /// IFLA_LINK: the parent of a macvlan (or VLAN).
    pub parent: Option<u32>,
    /// Its kind is macvlan (a `use_vmac` link is one).
    pub macvlan: bool,
}

/// One IPv4 neighbour-table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub index: u32,
    pub addr: Ipv4Addr,
    pub mac: Option<[u8; 6]>,
    /// REACHABLE or STALE: the neighbour answered at L2 lately.
    pub seen: bool,
}

impl Neighbour {
    fn from_msg(m: &NeighbourMessage) -> Option<Self> {
        let mut addr = None;
        let mut mac = None;
        for a in &m.attributes {
            match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => addr = Some(*v),
                NeighbourAttribute::LinkLayerAddress(b) => {
                    mac = <[u8; 6]>::try_from(b.as_slice()).ok()
                }
                _ => {}
            }
        }
        Some(Neighbour {
            index: m.header.ifindex,
            addr: addr?,
            mac,
            seen: matches!(
                m.header.state,
                NeighbourState::Reachable | NeighbourState::Stale
            ),
        })
    }
}

impl Link {
    /// Usable for VRRP: administratively up and with carrier.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.lower_up
    }

    fn from_msg(m: &LinkMessage) -> Self {
        let mut name = String::new();
        let mut mac = None;
        let mut mtu = None;
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = n.clone(),
                LinkAttribute::Mtu(m) => mtu = Some(*m),
                LinkAttribute::Address(b) => mac = <[u8; 6]>::try_from(b.as_slice()).ok(),
                _ => {}
            }
        }
        let f = m.header.flags;
        let (parent, macvlan) = vmac::macvlan_of(m);
        Link {
            index: m.header.index,
            name,
            admin_up: f.contains(LinkFlags::Up),
            lower_up: f.contains(LinkFlags::LowerUp) || f.contains(LinkFlags::Running),
            mac,
            mtu,
            parent,
            macvlan,
        }
    }
}

/// One address on one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    pub secondary: bool,
    pub tentative: bool,
    pub link_scope: bool,
    pub label: Option<String>,
}

impl Addr {
    fn from_msg(m: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = AddressFlags::from_bits_truncate(u32::from(m.header.flags.bits()));
        for a in &m.attributes {
            match a {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags |= *f,
                _ => {}
            }
        }
        Some(Addr {
            index: m.header.index,
            addr: local.or(address)?,
            prefix: m.header.prefix_len,
            secondary: flags.contains(AddressFlags::Secondary),
            tentative: flags.contains(AddressFlags::Tentative),
            link_scope: m.header.scope == AddressScope::Link,
            label,
        })
    }
}

/// A request connection to rtnetlink. Cheap to clone (the clones share
/// the socket).
#[derive(Clone)]
pub struct Net {
    handle: Handle,
    /// Held for the whole of every dump on this connection: the kernel
    /// runs one dump at a time per netlink socket and refuses a second
    /// with EBUSY, and the instance tasks, the IPVS side and the box's
    /// set-up all dump at start-up through clones of one `Net`.
    dumps: Arc<tokio::sync::Mutex<()>>,
}

impl Net {
    /// Opens the socket and spawns its connection task on the current
    /// runtime.
    pub fn connect() -> Result<Net, NetError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetError::Socket)?;
        tokio::spawn(conn);
        Ok(Net {
            handle,
            dumps: Arc::default(),
        })
    }

    /// Runs the dump `start` sends, one at a time on this connection, and
    /// collects its messages. A dump the kernel still refuses as busy (one
    /// whose caller gave up at its bound may still be running on the
    /// socket) is sent again after [`BUSY_PAUSE`]. The wait for the lock,
    /// the retries and the dump together are bounded by [`CALL_BOUND`].
    async fn dump<T, S>(
        &self,
        op: &'static str,
        on: On,
        start: impl Fn() -> S,
    ) -> Result<Vec<T>, NetError>
    where
        S: Stream<Item = Result<T, rtnetlink::Error>>,
    {
        bounded(op, on, async {
            let _one = self.dumps.lock().await;
            loop {
                match start().try_collect().await.map_err(req_err(op)) {
                    Err(e) if errno(&e) == Some(nix::errno::Errno::EBUSY as i32) => {
                        tokio::time::sleep(BUSY_PAUSE).await;
                    }
                    done => return done,
                }
            }
        })
        .await
    }

    pub async fn links(&self) -> Result<Vec<Link>, NetError> {
        let msgs: Vec<LinkMessage> = self
            .dump("link dump", On::All, || self.handle.link().get().execute())
            .await?;
        Ok(msgs.iter().map(Link::from_msg).collect())
    }

    pub async fn link_by_name(&self, name: &str) -> Result<Link, NetError> {
        let get = self.handle.link().get().match_name(name.to_owned());
        let call = get.execute().try_collect::<Vec<LinkMessage>>();
        let res = bounded("link get", On::Name(name.to_owned()), async {
            Ok(call.await)
        })
        .await?;
        match res {
            Ok(v) if !v.is_empty() => Ok(Link::from_msg(&v[0])),
            Ok(_) => Err(NetError::NoSuchLink {
                name: name.to_owned(),
            }),
            Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code().abs() == libc_enodev() => {
                Err(NetError::NoSuchLink {
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(req_err("link get")(e)),
        }
    }

    /// Every address, or those of one link.
    pub async fn addresses(&self, index: Option<u32>) -> Result<Vec<Addr>, NetError> {
        let on = index.map_or(On::All, On::Index);
        let msgs: Vec<AddressMessage> = self
            .dump("address dump", on, || {
                let req = self.handle.address().get();
                match index {
                    Some(i) => req.set_link_index_filter(i).execute(),
                    None => req.execute(),
                }
            })
            .await?;
        Ok(msgs.iter().filter_map(Addr::from_msg).collect())
    }

    /// The interface's primary IPv4 address: its first non-secondary one
    /// that is not in `exclude` (our own VIPs).
    pub async fn primary_v4(
        &self,
        index: u32,
        exclude: &[IpAddr],
    ) -> Result<Option<Ipv4Addr>, NetError> {
        let addrs = self.addresses(Some(index)).await?;
        Ok(addrs
            .iter()
            .filter(|a| !a.secondary && !exclude.contains(&a.addr))
            .find_map(|a| match a.addr {
                IpAddr::V4(v) => Some(v),
                IpAddr::V6(_) => None,
            }))
    }

    /// The kernel's IPv4 neighbour table (`ip -4 neigh`), every entry.
    pub async fn neighbours_v4(&self) -> Result<Vec<Neighbour>, NetError> {
        let msgs: Vec<NeighbourMessage> = self
            .dump("neighbour dump", On::All, || {
                let req = self.handle.neighbours().get();
                req.set_address_family(AddressFamily::Inet).execute()
            })
            .await?;
        Ok(msgs.iter().filter_map(Neighbour::from_msg).collect())
    }

    /// The interface's IPv6 link-local address, once DAD has finished.
    pub async fn link_local_v6(&self, index: u32) -> Result<Option<Ipv6Addr>, NetError> {
        let addrs = self.addresses(Some(index)).await?;
        Ok(addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v) if a.link_scope && !a.tentative && v.segments()[0] == 0xfe80 => Some(v),
            _ => None,
        }))
    }

    /// An address message: IPv4 with its broadcast address (below /31).
    fn addr_msg(index: u32, addr: IpAddr, prefix: u8) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.prefix_len = prefix;
        m.attributes.push(AddressAttribute::Local(addr));
        match addr {
            IpAddr::V4(v4) => {
                m.header.family = AddressFamily::Inet;
                m.attributes.push(AddressAttribute::Address(addr));
                if prefix < 31 {
                    let brd = u32::from(v4) | (u32::MAX >> u32::from(prefix));
                    m.attributes
                        .push(AddressAttribute::Broadcast(Ipv4Addr::from(brd)));
                }
            }
            IpAddr::V6(_) => m.header.family = AddressFamily::Inet6,
        }
        m
    }

    /// A VIP's message: its label and `brd` (IPv4), its `scope`, and
    /// NODAD (IPv6).
    fn vip_msg(index: u32, vip: &Vip) -> AddressMessage {
        let mut m = Self::addr_msg(index, vip.addr, vip.prefix);
        if let Some(s) = vip.scope {
            m.header.scope = address_scope(s);
        }
        match vip.addr {
            IpAddr::V4(_) => {
                if let Some(l) = &vip.label {
                    m.attributes
                        .push(AddressAttribute::Label(l.as_str().to_owned()));
                }
                if let Some(b) = vip.brd {
                    m.attributes
                        .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
                    m.attributes.push(AddressAttribute::Broadcast(b));
                }
            }
            IpAddr::V6(_) => {
                m.header.flags = AddressHeaderFlags::Nodad;
                m.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        m
    }

    /// Adds a VIP on link `index` (replace semantics: idempotent).
    pub async fn add_vip(&self, index: u32, vip: &Vip) -> Result<(), NetError> {
        let mut req = self
            .handle
            .address()
            .add(index, vip.addr, vip.prefix)
            .replace();
        *req.message_mut() = Self::vip_msg(index, vip);
        let call = req.execute();
        bounded("address add", On::Index(index), async {
            call.await.map_err(req_err("address add"))
        })
        .await
    }

    /// Removes a VIP from link `index`; `Ok(false)` if it was not there.
    pub async fn del_vip(&self, index: u32, vip: &Vip) -> Result<bool, NetError> {
        self.del_addr_msg(Self::vip_msg(index, vip)).await
    }

    async fn del_addr_msg(&self, msg: AddressMessage) -> Result<bool, NetError> {
        let on = On::Index(msg.header.index);
        let call = self.handle.address().del(msg).execute();
        match bounded("address delete", on, async { Ok(call.await) }).await? {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(m))
                if m.raw_code().abs() == EADDRNOTAVAIL || m.raw_code().abs() == libc_enodev() =>
            {
                Ok(false)
            }
            Err(e) => Err(req_err("address delete")(e)),
        }
    }
}

/// The kernel's scope of a config `scope`.
fn address_scope(s: AddrScope) -> AddressScope {
    match s {
        AddrScope::Global => AddressScope::Universe,
        AddrScope::Site => AddressScope::Site,
        AddrScope::Link => AddressScope::Link,
        AddrScope::Host => AddressScope::Host,
        AddrScope::Nowhere => AddressScope::Nowhere,
    }
}

/// The kernel's route scope of a config `scope`.
fn address_scope_route(s: AddrScope) -> netlink_packet_route::route::RouteScope {
    use netlink_packet_route::route::RouteScope;
    match s {
        AddrScope::Global => RouteScope::Universe,
        AddrScope::Site => RouteScope::Site,
        AddrScope::Link => RouteScope::Link,
        AddrScope::Host => RouteScope::Host,
        AddrScope::Nowhere => RouteScope::NoWhere,
    }
}

const EADDRNOTAVAIL: i32 = 99;

const fn libc_enodev() -> i32 {
    19
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
