//! The appliance's edge: reads the kernel's state, runs the planner's ops.
//!
//! Owns: [`apply`] (read → `plan` → run each op, collecting typed errors),
//! [`Host`] (where sysctls and /etc/hostname live, so tests use a temporary
//! directory) and [`Report`].
//! Must not: decide what to change (`plan` does), stop at the first
//! failure (a missing NIC or kernel feature fails that item only), or
//! touch the IPVS sysctls (`ipvs::sysctl`).
//!
//! Hostname: the kernel's is set with sethostname(2) (this process's UTS
//! namespace); `/etc/hostname` is rewritten only when it says something
//! else and is writable. On the box the root is read-only, which is
//! normal: the flash config sets the name again at every boot, so a
//! read-only or missing `/etc` is noted at debug level, not an error.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::plan::{self, Actual, AddrState, Desired, LinkState, Op, Refusal, RouteState};
use crate::config::model::{IfAddr, Route};
use crate::logfields;
use crate::net::setup::RouteEntry;
use crate::net::{Net, NetError};

/// Where the host keeps what the edge writes besides netlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `/proc/sys` on a real host.
    pub proc_sys: PathBuf,
    /// `/etc/hostname`; `None`: never written.
    pub hostname_file: Option<PathBuf>,
}

impl Host {
    /// The running system's paths.
    pub fn system() -> Self {
        Host {
            proc_sys: PathBuf::from("/proc/sys"),
            hostname_file: Some(PathBuf::from("/etc/hostname")),
        }
    }
}

/// One item of the block that did not apply, named.
#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("appliance: no interface {interface}: its addresses, routes and sysctls wait")]
    NoSuchInterface { interface: String },
    #[error(
        "appliance: route {route} on {interface} would replace a route the kernel made: left alone"
    )]
    KernelRoute { interface: String, route: String },
    #[error("appliance: cannot read the kernel's {what}")]
    Read {
        what: &'static str,
        #[source]
        source: NetError,
    },
    #[error("appliance: cannot {verb} address {addr} on {interface}")]
    Address {
        verb: &'static str,
        interface: String,
        addr: String,
        #[source]
        source: NetError,
    },
    #[error("appliance: cannot {verb} route {route}")]
    Route {
        verb: &'static str,
        route: String,
        #[source]
        source: NetError,
    },
    #[error("appliance: cannot set mtu {mtu} on {interface}")]
    Mtu {
        interface: String,
        mtu: u32,
        #[source]
        source: NetError,
    },
    #[error("appliance: cannot bring {interface} up")]
    LinkUp {
        interface: String,
        #[source]
        source: NetError,
    },
    #[error("appliance: cannot set sysctl {key} to {value}")]
    Sysctl {
        key: String,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("appliance: cannot set the hostname to {name}")]
    Hostname {
        name: String,
        #[source]
        source: nix::Error,
    },
    #[error("appliance: cannot write {}", path.display())]
    HostnameFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ApplyError {
    /// The interface it is about, if one (the `interface` log field).
    pub fn interface(&self) -> Option<&str> {
        match self {
            ApplyError::NoSuchInterface { interface }
            | ApplyError::KernelRoute { interface, .. }
            | ApplyError::Address { interface, .. }
            | ApplyError::Mtu { interface, .. }
            | ApplyError::LinkUp { interface, .. } => Some(interface),
            ApplyError::Read { .. }
            | ApplyError::Route { .. }
            | ApplyError::Sysctl { .. }
            | ApplyError::Hostname { .. }
            | ApplyError::HostnameFile { .. } => None,
        }
    }
}

impl From<Refusal> for ApplyError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoSuchInterface { interface } => ApplyError::NoSuchInterface { interface },
            Refusal::KernelRoute { interface, route } => ApplyError::KernelRoute {
                interface,
                route: route_text(&route),
            },
        }
    }
}

/// What one apply did.
#[derive(Debug, Default)]
pub struct Report {
    /// Ops that succeeded, in the order run.
    pub done: Vec<Op>,
    pub errors: Vec<ApplyError>,
}

impl Report {
    /// Every op done, at info; every failure, at error with its cause.
    pub fn log(&self) {
        for op in &self.done {
            tracing::info!(
                interface = op.interface().map(tracing::field::display),
                change = %describe(op),
                "appliance: applied"
            );
        }
        for e in &self.errors {
            tracing::error!(
                interface = e.interface().map(tracing::field::display),
                error = %logfields::Chain(e),
                "appliance: not applied"
            );
        }
    }
}

/// Reads the kernel's state, plans, and runs every op; a failed op is
/// reported and the rest still run.
pub async fn apply(net: &Net, host: &Host, desired: &Desired<'_>) -> Report {
    let mut report = Report::default();
    let actual = match read(net, host, desired).await {
        Ok(a) => a,
        Err(e) => {
            report.errors.push(e);
            return report;
        }
    };
    let plan = plan::plan(desired, &actual);
    report
        .errors
        .extend(plan.refused.into_iter().map(ApplyError::from));
    for op in plan.ops {
        match run(net, host, &op).await {
            Ok(()) => report.done.push(op),
            Err(e) => report.errors.push(e),
        }
    }
    report
}

/// The kernel's state as the planner needs it.
pub async fn read(net: &Net, host: &Host, desired: &Desired<'_>) -> Result<Actual, ApplyError> {
    let read_err = |what| move |source| ApplyError::Read { what, source };
    let links = net.links().await.map_err(read_err("links"))?;
    let addresses = net.addresses(None).await.map_err(read_err("addresses"))?;
    let routes = net.routes().await.map_err(read_err("routes"))?;
    let sysctls = plan::sysctls(desired.block)
        .into_iter()
        .filter_map(|(key, _)| {
            let v = std::fs::read_to_string(host.proc_sys.join(&key)).ok()?;
            Some((key, v.trim().to_owned()))
        })
        .collect();
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok());
    Ok(Actual {
        hostname,
        links: links
            .into_iter()
            .map(|l| LinkState {
                index: l.index,
                name: l.name,
                mtu: l.mtu,
                admin_up: l.admin_up,
            })
            .collect(),
        addresses: addresses
            .into_iter()
            .map(|a| AddrState {
                index: a.index,
                addr: IfAddr {
                    addr: a.addr,
                    prefix: a.prefix,
                },
            })
            .collect(),
        routes: routes
            .into_iter()
            .map(|r| RouteState {
                dest: r.dest,
                via: r.via,
                oif: r.oif,
                protocol: r.protocol,
            })
            .collect(),
        sysctls,
    })
}

async fn run(net: &Net, host: &Host, op: &Op) -> Result<(), ApplyError> {
    match op {
        Op::WriteSysctl { key, value } => write_sysctl(&host.proc_sys, key, value),
        Op::SetMtu {
            interface,
            index,
            mtu,
        } => net
            .set_mtu(*index, *mtu)
            .await
            .map_err(|source| ApplyError::Mtu {
                interface: interface.clone(),
                mtu: *mtu,
                source,
            }),
        Op::LinkUp { interface, index } => {
            net.set_up(*index)
                .await
                .map_err(|source| ApplyError::LinkUp {
                    interface: interface.clone(),
                    source,
                })
        }
        Op::AddAddress {
            interface,
            index,
            addr,
        } => net
            .add_address(*index, *addr)
            .await
            .map_err(addr_err("add", interface, addr)),
        Op::RemoveAddress {
            interface,
            index,
            addr,
        } => net
            .del_address(*index, *addr)
            .await
            .map(drop)
            .map_err(addr_err("remove", interface, addr)),
        Op::AddRoute {
            interface,
            index,
            route,
        }
        | Op::ChangeRoute {
            interface,
            index,
            route,
            ..
        } => net
            .put_route(route.dest, route.via, *index, super::RTPROT_VIGIL)
            .await
            .map_err(|source| ApplyError::Route {
                verb: "add",
                route: format!("{} dev {interface}", route_text(route)),
                source,
            }),
        Op::RemoveRoute { route } => {
            let entry = RouteEntry {
                dest: route.dest,
                via: route.via,
                oif: route.oif,
                protocol: route.protocol,
            };
            net.del_route(&entry)
                .await
                .map(drop)
                .map_err(|source| ApplyError::Route {
                    verb: "remove",
                    route: state_text(route),
                    source,
                })
        }
        Op::SetHostname { name } => set_hostname(host.hostname_file.as_deref(), name),
    }
}

fn addr_err<'a>(
    verb: &'static str,
    interface: &'a str,
    addr: &'a IfAddr,
) -> impl FnOnce(NetError) -> ApplyError + 'a {
    move |source| ApplyError::Address {
        verb,
        interface: interface.to_owned(),
        addr: cidr(addr),
        source,
    }
}

fn write_sysctl(proc_sys: &Path, key: &str, value: &str) -> Result<(), ApplyError> {
    std::fs::write(proc_sys.join(key), format!("{value}\n")).map_err(|source| ApplyError::Sysctl {
        key: key.to_owned(),
        value: value.to_owned(),
        source,
    })
}

fn set_hostname(file: Option<&Path>, name: &str) -> Result<(), ApplyError> {
    nix::unistd::sethostname(name).map_err(|source| ApplyError::Hostname {
        name: name.to_owned(),
        source,
    })?;
    match file {
        Some(path) => persist_hostname(path, name),
        None => Ok(()),
    }
}

/// Rewrites `/etc/hostname` when it says something else; a read-only
/// root is no error (see the module header).
fn persist_hostname(path: &Path, name: &str) -> Result<(), ApplyError> {
    if std::fs::read_to_string(path).is_ok_and(|s| s.trim() == name) {
        return Ok(());
    }
    match std::fs::write(path, format!("{name}\n")) {
        Ok(()) => Ok(()),
        Err(e) if read_only(&e) => {
            tracing::debug!(path = %path.display(), "hostname not persisted: read-only");
            Ok(())
        }
        Err(source) => Err(ApplyError::HostnameFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// A root that cannot be written (the box's), as opposed to a failure.
fn read_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied
    )
}

fn cidr(a: &IfAddr) -> String {
    format!("{}/{}", a.addr, a.prefix)
}

fn route_text(r: &Route) -> String {
    format!("{} via {}", cidr(&r.dest), r.via)
}

fn state_text(r: &RouteState) -> String {
    let mut s = cidr(&r.dest);
    if let Some(v) = r.via {
        s += &format!(" via {v}");
    }
    if let Some(i) = r.oif {
        s += &format!(" oif {i}");
    }
    s
}

/// One op in words, for the log.
pub fn describe(op: &Op) -> String {
    match op {
        Op::WriteSysctl { key, value } => format!("sysctl {key} = {value}"),
        Op::SetMtu { interface, mtu, .. } => format!("{interface}: mtu {mtu}"),
        Op::LinkUp { interface, .. } => format!("{interface}: up"),
        Op::AddAddress {
            interface, addr, ..
        } => format!("{interface}: address {} added", cidr(addr)),
        Op::RemoveAddress {
            interface, addr, ..
        } => format!("{interface}: address {} removed", cidr(addr)),
        Op::AddRoute {
            interface, route, ..
        } => format!("{interface}: route {} added", route_text(route)),
        Op::ChangeRoute {
            interface,
            route,
            was,
            ..
        } => format!(
            "{interface}: route {} (was {})",
            route_text(route),
            state_text(was)
        ),
        Op::RemoveRoute { route } => format!("route {} removed", state_text(route)),
        Op::SetHostname { name } => format!("hostname {name}"),
    }
}

#[cfg(test)]
#[path = "edge_tests.rs"]
mod tests;
