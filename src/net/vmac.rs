//! keepalived's `use_vmac` links: a macvlan on an instance's interface
//! whose MAC is the VRRP virtual MAC (RFC 5798 section 7.3).
//!
//! Owns: creating a vmac link ([`Net::ensure_vmac`]: kept as it is when a
//! link of that name already is our macvlan on that parent with that MAC,
//! so a hitless restart keeps it and the VIPs on it; a macvlan of that
//! name that differs is replaced; any other link of that name is an
//! error, never deleted), the kernel settings a vmac needs
//! ([`VMAC_SYSCTLS`], [`PARENT_SYSCTLS`]; the parent's given back by
//! [`restore_parent`] from the [`Ledger`]), bringing it up, giving an
//! IPv6 vmac the parent's link-local, and deleting one ([`Net::remove_vmac`],
//! only a macvlan carrying a VRRP virtual MAC).
//! Must not: decide when a vmac exists (the daemon does: at start and
//! reload for the instances that ask, removed when an instance goes away
//! or stops asking, kept across a hitless restart), or touch VIPs.
//!
//! Why each setting (as keepalived sets them; written to `/proc/sys` of
//! the daemon's network namespace, a write of a few bytes):
//! - on the vmac, `arp_ignore=1`: it answers ARP only for its own
//!   addresses (the VIPs), never for the parent's, so the parent's
//!   addresses keep the parent's MAC; `accept_local=1` and `rp_filter=0`:
//!   the vmac has no address of the parent's subnet, and adverts and
//!   replies whose source is a local address must still be received on
//!   it; `promote_secondaries=1`: removing one VIP keeps the others.
//! - on the parent, `arp_ignore=1` and `arp_filter=1`: the VIPs are on the
//!   vmac, and the parent must not answer ARP for them with its own MAC
//!   (Linux answers for any local address by default), which would defeat
//!   the virtual MAC. The values found before the first vmac on a parent
//!   are recorded in the [`Ledger`] before they change, and written back
//!   when the last vmac on it goes ([`restore_parent`]); keepalived 2.2.7
//!   leaves them set (measured: its SIGTERM removes the vmac, not the
//!   parent's 1 and 1).
//! - `rp_filter`: a strict or loose `all` would drop what the vmac
//!   receives all the same (the kernel takes the greater of `all` and the
//!   interface's), so while there is an IPv4 vmac `all`'s value moves onto
//!   every interface but `lo` and the vmacs (and `default`), and `all` is
//!   0 ([`relax_rp_filter`], keepalived's way); the last IPv4 vmac to go
//!   writes back what the ledger recorded.
//! - IPv6: `addr_gen_mode=1` on the vmac before it goes up (no link-local
//!   of its own, RFC 5798 section 7.4), then the parent's link-local is
//!   added to it (NODAD), the source of its adverts.
//!
//! The vmac is up from creation on, in every state, as keepalived keeps
//! it; it follows its parent's carrier (macvlan), and the instance reads
//! its parent's link state for FAULT.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::LinkMacVlan;
use thiserror::Error;

use super::vmac_ledger::{Ledger, LedgerError, RP_FILTER};
use super::{bounded, req_err, Link, Net, NetError, On};
use crate::config::model::Vip;

/// Settings of the vmac itself (IPv4), as `(name, value)` under
/// `net/ipv4/conf/<vmac>/`.
pub const VMAC_SYSCTLS: &[(&str, &str)] = &[
    ("arp_ignore", "1"),
    ("accept_local", "1"),
    ("rp_filter", "0"),
    ("promote_secondaries", "1"),
];

/// Settings of the vmac's parent (IPv4), under `net/ipv4/conf/<parent>/`.
pub const PARENT_SYSCTLS: &[(&str, &str)] = &[("arp_ignore", "1"), ("arp_filter", "1")];

/// Why a vmac could not be made.
#[derive(Debug, Error)]
pub enum VmacError {
    #[error("vmac {name}: a link of that name exists and is not a macvlan vigil made")]
    NameTaken { name: String },
    #[error("vmac {name}: {source}")]
    Net {
        name: String,
        #[source]
        source: NetError,
    },
    #[error("vmac {name}: cannot set sysctl {key} to {value}")]
    Sysctl {
        name: String,
        key: String,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("vmac {name}: the parent's values before it are not remembered")]
    Ledger {
        name: String,
        #[source]
        source: LedgerError,
    },
}

/// What a vmac should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacSpec {
    pub name: String,
    pub parent: u32,
    pub parent_name: String,
    pub mac: [u8; 6],
    pub ipv6: bool,
}

/// Is `l` a vmac vigil (or keepalived) would have made: a macvlan with a
/// VRRP virtual MAC.
pub fn is_vmac(l: &Link) -> bool {
    l.macvlan
        && l.mac
            .is_some_and(|m| m[..4] == [0, 0, 0x5e, 0] && (m[4] == 1 || m[4] == 2))
}

fn sysctl_path(family: &str, on: &str, key: &str) -> String {
    format!("/proc/sys/net/{family}/conf/{on}/{key}")
}

fn sysctl(name: &str, family: &str, on: &str, key: &str, value: &str) -> Result<(), VmacError> {
    let path = sysctl_path(family, on, key);
    std::fs::write(&path, value).map_err(|source| VmacError::Sysctl {
        name: name.to_owned(),
        key: format!("net.{family}.conf.{on}.{key}"),
        value: value.to_owned(),
        source,
    })
}

/// The parent's [`PARENT_SYSCTLS`] as they are now; `None` when one does
/// not read (then nothing is recorded, and nothing restored).
fn parent_values(parent: &str) -> Option<Vec<(String, String)>> {
    (PARENT_SYSCTLS.iter())
        .map(|(k, _)| {
            let v = std::fs::read_to_string(sysctl_path("ipv4", parent, k)).ok()?;
            Some(((*k).to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// Writes `values` back on `parent` (the vmac `name` was the last on it),
/// every one tried; the first failure is the error. [`RP_FILTER`]'s are
/// each interface's `rp_filter` (`all` last); one gone since is skipped.
fn write_back(name: &str, parent: &str, values: &[(String, String)]) -> Result<(), VmacError> {
    let mut first = Ok(());
    for (k, v) in values {
        let r = match parent {
            RP_FILTER if k != "all" && !Path::new(&sysctl_path("ipv4", k, "")).exists() => Ok(()),
            RP_FILTER => sysctl(name, "ipv4", k, "rp_filter", v),
            _ => sysctl(name, "ipv4", parent, k, v),
        };
        if first.is_ok() {
            first = r;
        }
    }
    if first.is_ok() {
        tracing::info!(vmac = %name, parent = %parent, ?values, "parent's settings restored");
    }
    first
}

/// The vmac `name` is gone (or never was): when it was the last on its
/// parent, the parent gets back the values the [`Ledger`] recorded
/// before the first vmac there; returns that parent.
pub fn restore_parent(ledger: &Ledger, name: &str) -> Result<Option<String>, VmacError> {
    let back = (ledger.update(|e| e.release(name))).map_err(|source| VmacError::Ledger {
        name: name.to_owned(),
        source,
    })?;
    let mut first = Ok(None);
    for (parent, values) in back {
        let r = write_back(name, &parent, &values);
        first = match (first, r) {
            (Ok(_), Err(e)) => Err(e),
            (Ok(None), Ok(())) if parent != RP_FILTER => Ok(Some(parent)),
            (kept, _) => kept,
        };
    }
    first
}

/// `rp_filter` as keepalived 2.2.7 sets it for an IPv4 vmac (its man page,
/// and measured): a strict or loose `all` (which the kernel takes over
/// any lower value of an interface) would drop the adverts the vmac
/// receives (their source is reached by the parent, not by it), so while
/// there are IPv4 vmacs every interface but `lo` and the vmacs gets the
/// greater of its own value and `all`'s, `default` too, and `all` is 0.
/// The values before are in the ledger's [`RP_FILTER`] entry, which every
/// IPv4 vmac holds; the last one to go writes them back.
fn relax_rp_filter(s: &VmacSpec, ledger: &Ledger) -> Result<(), VmacError> {
    let read = |on: &str| {
        let v = std::fs::read_to_string(sysctl_path("ipv4", on, "rp_filter")).ok()?;
        v.trim().parse::<u8>().ok()
    };
    let all = read("all").unwrap_or(0);
    let held = ledger.update(|e| {
        let held = e.holds(RP_FILTER);
        if held {
            e.record(RP_FILTER, &s.name, None);
        }
        held
    });
    let ledger_err = |source| VmacError::Ledger {
        name: s.name.clone(),
        source,
    };
    if held.map_err(ledger_err)? || all == 0 {
        return Ok(());
    }
    let mut found = vec![("all".to_owned(), all.to_string())];
    let mut raise = Vec::new();
    let names =
        std::fs::read_dir("/proc/sys/net/ipv4/conf").map_err(|source| VmacError::Sysctl {
            name: s.name.clone(),
            key: "net.ipv4.conf".into(),
            value: "(the interfaces' rp_filter)".into(),
            source,
        })?;
    for on in names
        .flatten()
        .filter_map(|d| d.file_name().into_string().ok())
    {
        let skip = ["all", "lo", s.name.as_str()].contains(&on.as_str());
        match read(&on) {
            Some(v) if v < all && !skip => {
                found.push((on.clone(), v.to_string()));
                raise.push(on);
            }
            _ => {}
        }
    }
    if let Err(source) = ledger.update(|e| e.record(RP_FILTER, &s.name, Some(found))) {
        let e = ledger_err(source);
        tracing::error!(error = %e, "rp_filter will stay relaxed when the vmac goes");
    }
    let all_value = all.to_string();
    for on in &raise {
        sysctl(&s.name, "ipv4", on, "rp_filter", &all_value)?;
    }
    sysctl(&s.name, "ipv4", "all", "rp_filter", "0")?;
    tracing::info!(vmac = %s.name, all, raised = ?raise, "rp_filter: all 0, the interfaces at least its value before");
    Ok(())
}

/// Records `s`'s parent values (the first vmac there), then sets
/// [`PARENT_SYSCTLS`] on it. A ledger that cannot be written is logged:
/// the vmac still needs the settings, only they will stay at the stop.
fn set_parent(s: &VmacSpec, ledger: &Ledger) -> Result<(), VmacError> {
    let found = parent_values(&s.parent_name);
    match ledger.update(|e| e.record(&s.parent_name, &s.name, found)) {
        Ok(moved) => {
            for (parent, values) in moved {
                if let Err(e) = write_back(&s.name, &parent, &values) {
                    tracing::error!(error = %e, "restoring the vmac's former parent");
                }
            }
        }
        Err(source) => {
            let e = VmacError::Ledger {
                name: s.name.clone(),
                source,
            };
            tracing::error!(error = %e, "the parent's settings will stay when the vmac goes");
        }
    }
    for (k, v) in PARENT_SYSCTLS {
        sysctl(&s.name, "ipv4", &s.parent_name, k, v)?;
    }
    Ok(())
}

impl Net {
    /// Makes the vmac `s` exist, set and up; returns its link. The
    /// parent's values before the first vmac on it go to `ledger`.
    pub async fn ensure_vmac(&self, s: &VmacSpec, ledger: &Ledger) -> Result<Link, VmacError> {
        let net_err = |source| VmacError::Net {
            name: s.name.clone(),
            source,
        };
        match self.link_by_name(&s.name).await {
            Ok(l) if l.macvlan && l.parent == Some(s.parent) && l.mac == Some(s.mac) => {
                if l.admin_up {
                    return Ok(l);
                }
            }
            Ok(l) if is_vmac(&l) => {
                tracing::warn!(vmac = %s.name, "vmac differs from the config; made again");
                self.del_link(l.index).await.map_err(net_err)?;
                self.add_vmac(s).await.map_err(net_err)?;
            }
            Ok(_) => {
                return Err(VmacError::NameTaken {
                    name: s.name.clone(),
                })
            }
            Err(NetError::NoSuchLink { .. }) => self.add_vmac(s).await.map_err(net_err)?,
            Err(e) => return Err(net_err(e)),
        }
        let l = self.link_by_name(&s.name).await.map_err(net_err)?;
        if s.ipv6 {
            sysctl(&s.name, "ipv6", &s.name, "addr_gen_mode", "1")?;
        } else {
            for (k, v) in VMAC_SYSCTLS {
                sysctl(&s.name, "ipv4", &s.name, k, v)?;
            }
            relax_rp_filter(s, ledger)?;
            set_parent(s, ledger)?;
        }
        self.set_up(l.index).await.map_err(net_err)?;
        if s.ipv6 {
            self.copy_link_local(s.parent, l.index)
                .await
                .map_err(net_err)?;
        }
        self.link_by_name(&s.name).await.map_err(net_err)
    }

    async fn add_vmac(&self, s: &VmacSpec) -> Result<(), NetError> {
        let msg = LinkMacVlan::new(&s.name, s.parent, MacVlanMode::Private)
            .address(s.mac.to_vec())
            .build();
        let call = self.handle.link().add(msg).execute();
        bounded("link add", On::Name(s.name.clone()), async {
            call.await.map_err(req_err("link add"))
        })
        .await?;
        tracing::info!(vmac = %s.name, parent = %s.parent_name, "vmac created");
        Ok(())
    }

    async fn del_link(&self, index: u32) -> Result<(), NetError> {
        let call = self.handle.link().del(index).execute();
        bounded("link delete", On::Index(index), async {
            call.await.map_err(req_err("link delete"))
        })
        .await
    }

    /// The parent's link-local on the vmac: the source of IPv6 adverts
    /// sent from it.
    async fn copy_link_local(&self, parent: u32, vmac: u32) -> Result<(), NetError> {
        let Some(ll) = self.any_link_local_v6(parent).await? else {
            return Ok(());
        };
        self.add_vip(vmac, &Vip::new(IpAddr::V6(ll), 64)).await
    }

    async fn any_link_local_v6(&self, index: u32) -> Result<Option<Ipv6Addr>, NetError> {
        let addrs = self.addresses(Some(index)).await?;
        Ok(addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v) if a.link_scope && v.segments()[0] == 0xfe80 => Some(v),
            _ => None,
        }))
    }

    /// Deletes the vmac `name` if it is one; `Ok(false)` when there is
    /// none (or the link of that name is not a vmac: left alone).
    pub async fn remove_vmac(&self, name: &str) -> Result<bool, NetError> {
        match self.link_by_name(name).await {
            Ok(l) if is_vmac(&l) => {
                self.del_link(l.index).await?;
                tracing::info!(vmac = %name, "vmac removed");
                Ok(true)
            }
            Ok(_) | Err(NetError::NoSuchLink { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The macvlan facts of a link message: its parent (IFLA_LINK) and
/// whether its kind is macvlan.
pub(super) fn macvlan_of(m: &LinkMessage) -> (Option<u32>, bool) {
    let mut parent = None;
    let mut macvlan = false;
    for a in &m.attributes {
        match a {
            LinkAttribute::Link(p) => parent = Some(*p),
            LinkAttribute::LinkInfo(info) => {
                macvlan |= info
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan)));
            }
            _ => {}
        }
    }
    (parent, macvlan)
}
