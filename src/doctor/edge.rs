//! `vigil doctor`'s edge: asks the LAN and fills [`Facts`].
//!
//! Owns: finding the interface of each target (the VRRP instance's, or
//! the one whose subnet holds the VIP), one ARP socket per interface,
//! sending who-has requests for every VIP and real server (from the
//! interface's primary address, or 0.0.0.0 as an RFC 5227 probe), and
//! collecting for [`LISTEN`] the replies: MACs answering for a VIP (this
//! box's own and VRRP virtual MACs left out) and each real server's MAC
//! (its answer, else a REACHABLE or STALE neighbour-table entry).
//! Must not: judge anything (`doctor::report` does) or change any state;
//! it blocks the calling thread (the CLI's) for about [`LISTEN`].

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::{Facts, Finding, RealFacts, Target, VipFacts};
use crate::config::model::Config;
use crate::control::Status;
use crate::net::arp::{self, Frame, Mac};
use crate::net::{arp_socket, Addr, Link, Net, NetError};

/// How long the replies are waited for.
pub const LISTEN: Duration = Duration::from_secs(1);
/// Requests sent for each address (a lost frame is not a missing host).
const TRIES: usize = 2;

/// Why the facts could not be gathered.
#[derive(Debug, Error)]
pub enum EdgeError {
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("reading links and addresses: {0}")]
    Net(#[from] NetError),
    #[error("arp socket on {interface}: {source}")]
    Socket {
        interface: String,
        #[source]
        source: io::Error,
    },
}

/// The whole doctor on `config`, with the running daemon's `status` when
/// there is one (a BACKUP's master, the DR-path checks' results): its
/// findings, or `None` when the config has nothing to check at L2.
pub fn examine(
    config: &Config,
    status: Option<&Status>,
) -> Result<Option<Vec<Finding>>, EdgeError> {
    let mut targets = super::targets(config);
    if let Some(s) = status {
        let running: Vec<(String, String, String)> = (s.instances.iter())
            .map(|i| (i.name.clone(), i.state.clone(), i.master.clone()))
            .collect();
        super::with_masters(&mut targets, &running);
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let mut facts = gather(&targets, LISTEN)?;
    if let Some(ipvs) = status.and_then(|s| s.ipvs.as_ref()) {
        super::with_dr_paths(&mut facts, config, ipvs);
    }
    Ok(Some(super::report(&facts)))
}

/// What `vigil doctor` says when a config has no DR or TUN real server.
pub const NOTHING: &str = "no virtual server with DR or TUN real servers: nothing to check at L2";

/// Gathers the facts of `targets`, waiting `listen` for answers.
pub fn gather(targets: &[Target], listen: Duration) -> Result<Facts, EdgeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EdgeError::Runtime)?;
    let (links, addrs, neighbours) = rt.block_on(async {
        let net = Net::connect()?;
        let (links, addrs) = (net.links().await?, net.addresses(None).await?);
        Ok::<_, NetError>((links, addrs, net.neighbours_v4().await?))
    })?;
    // Every MAC of this box, and the VRRP virtual MACs (IPv4 range).
    let own = |m: &Mac| m[..5] == [0, 0, 0x5e, 0, 1] || links.iter().any(|l| l.mac == Some(*m));
    let vips: Vec<IpAddr> = targets.iter().map(|t| IpAddr::V4(t.vip)).collect();

    // Which interface each target is asked on.
    let on: Vec<Option<&Link>> = (targets.iter())
        .map(|t| match &t.interface {
            Some(name) => links.iter().find(|l| &l.name == name),
            None => subnet_link(&links, &addrs, t.vip),
        })
        .collect();

    // Per interface: its socket, and every address asked there.
    let mut asked: BTreeMap<u32, Vec<Ipv4Addr>> = BTreeMap::new();
    for (t, l) in targets.iter().zip(&on) {
        if let Some(l) = l {
            let list = asked.entry(l.index).or_default();
            list.extend(std::iter::once(t.vip).chain(t.real_servers.iter().copied()));
            list.extend(t.master);
        }
    }
    let mut answers: Vec<(u32, Frame)> = Vec::new();
    let mut sockets = Vec::new();
    for (index, targets_here) in &asked {
        let Some(link) = links.iter().find(|l| l.index == *index) else {
            continue;
        };
        let sock = arp_socket::open(*index, true).map_err(|source| EdgeError::Socket {
            interface: link.name.clone(),
            source,
        })?;
        let sender = addrs
            .iter()
            .filter(|a| a.index == *index && !a.secondary && !vips.contains(&a.addr))
            .find_map(|a| match a.addr {
                IpAddr::V4(v) => Some(v),
                IpAddr::V6(_) => None,
            })
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mac = link.mac.unwrap_or_default();
        for _ in 0..TRIES {
            for a in targets_here {
                let sent = arp_socket::send(&sock, &Frame::request(mac, sender, *a));
                sent.map_err(|source| EdgeError::Socket {
                    interface: link.name.clone(),
                    source,
                })?;
            }
        }
        sockets.push((*index, link.name.clone(), sock));
    }
    let deadline = Instant::now() + listen;
    let mut buf = vec![0u8; arp_socket::RX_FRAME];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let mut fds: Vec<nix::poll::PollFd<'_>> = (sockets.iter())
            .map(|(_, _, s)| nix::poll::PollFd::new(s.as_fd(), nix::poll::PollFlags::POLLIN))
            .collect();
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(EdgeError::Socket {
                    interface: "poll".into(),
                    source: e.into(),
                })
            }
        }
        for (index, name, s) in &sockets {
            while let Some(n) =
                arp_socket::try_recv(s, &mut buf).map_err(|source| EdgeError::Socket {
                    interface: name.clone(),
                    source,
                })?
            {
                if let Ok(f) = arp::decode(buf.get(..n).unwrap_or_default()) {
                    if f.arp.op == arp::Operation::Reply && !own(&f.arp.sender_mac) {
                        answers.push((*index, f));
                    }
                }
            }
        }
    }

    let answered = |index: u32, ip: Ipv4Addr| -> Vec<Mac> {
        let mut macs: Vec<Mac> = (answers.iter())
            .filter(|(i, f)| *i == index && f.arp.sender_ip == ip)
            .map(|(_, f)| f.arp.sender_mac)
            .collect();
        macs.sort_unstable();
        macs.dedup();
        macs
    };
    let vips = targets
        .iter()
        .zip(&on)
        .map(|(t, l)| VipFacts {
            vip: t.vip,
            interface: l.map(|l| l.name.clone()),
            answers: l.map(|l| answered(l.index, t.vip)).unwrap_or_default(),
            master_mac: l
                .zip(t.master)
                .and_then(|(l, m)| answered(l.index, m).first().copied()),
            real_servers: (t.real_servers.iter())
                .map(|r| RealFacts {
                    addr: *r,
                    mac: l.and_then(|l| {
                        // Its ARP answer, else a REACHABLE / STALE entry
                        // of the neighbour table (the health checks').
                        answered(l.index, *r).first().copied().or_else(|| {
                            (neighbours.iter())
                                .find(|n| n.index == l.index && n.addr == *r && n.seen)
                                .and_then(|n| n.mac)
                        })
                    }),
                    dr_path: None,
                })
                .collect(),
        })
        .collect();
    Ok(Facts { vips })
}

/// The link with an address whose subnet holds `vip` (the VIP itself as
/// an address, and host routes, do not count).
fn subnet_link<'a>(links: &'a [Link], addrs: &[Addr], vip: Ipv4Addr) -> Option<&'a Link> {
    let holds = |a: &Addr| match a.addr {
        IpAddr::V4(net) if a.prefix > 0 && a.prefix < 32 && net != vip => {
            let mask = u32::MAX << (32 - u32::from(a.prefix));
            u32::from(net) & mask == u32::from(vip) & mask
        }
        _ => false,
    };
    let a = addrs.iter().find(|a| holds(a))?;
    links.iter().find(|l| l.index == a.index)
}
