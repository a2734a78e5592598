//! Services and destinations: identity, full entries, counters.
//!
//! Part of the codec in [`super`] (its header holds the byte-order rules).

use super::*;

/// What identifies a service in the kernel: `(af, protocol, addr, port)`
/// or `(af, fwmark)`. The protocol is the IP protocol number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ServiceId {
    Addr {
        protocol: u16,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        af: Af,
        mark: u32,
    },
}

impl ServiceId {
    pub fn af(&self) -> Af {
        match self {
            ServiceId::Addr { addr, .. } => Af::of(addr),
            ServiceId::Fwmark { af, .. } => *af,
        }
    }

    /// The identifying attributes (enough for DEL_SERVICE and the service
    /// part of dest commands).
    pub fn encode(&self) -> Vec<Attr> {
        let mut v = vec![Attr::u16(svc_attr::AF, self.af().raw())];
        match self {
            ServiceId::Addr {
                protocol,
                addr,
                port,
            } => {
                v.push(Attr::u16(svc_attr::PROTOCOL, *protocol));
                v.push(inet_addr(svc_attr::ADDR, addr));
                v.push(Attr::be16(svc_attr::PORT, *port));
            }
            ServiceId::Fwmark { mark, .. } => v.push(Attr::u32(svc_attr::FWMARK, *mark)),
        }
        v
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceId::Addr {
                protocol,
                addr,
                port,
            } => {
                let p = match *protocol {
                    IPPROTO_TCP => "TCP".to_owned(),
                    IPPROTO_UDP => "UDP".to_owned(),
                    IPPROTO_SCTP => "SCTP".to_owned(),
                    n => format!("proto {n}"),
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{p} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{p} [{a}]:{port}"),
                }
            }
            ServiceId::Fwmark { af, mark } => match af {
                Af::V4 => write!(f, "FWM {mark}"),
                Af::V6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

/// Traffic counters (STATS64, or STATS widened). The kernel's rate
/// estimates (CPS, IN/OUTPPS, IN/OUTBPS) are not kept: nothing shows
/// them, and in a dump of 100,000 destinations they were 4 MB held for
/// every table (40 of each destination's some 190 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

impl Stats {
    fn encode64(&self) -> Vec<Attr> {
        use stats_attr::*;
        vec![
            Attr::u64(CONNS, self.conns),
            Attr::u64(INPKTS, self.inpkts),
            Attr::u64(OUTPKTS, self.outpkts),
            Attr::u64(INBYTES, self.inbytes),
            Attr::u64(OUTBYTES, self.outbytes),
        ]
    }

    /// Absent counters read as 0; the rates, PAD and unknown ones are
    /// skipped.
    fn decode(buf: &[u8]) -> Result<Stats, DecodeError> {
        let mut s = Stats::default();
        for a in attrs(buf, AttrSet::Stats) {
            let (kind, p) = a?;
            let id = AttrId::new(AttrSet::Stats, kind);
            let field = match kind {
                stats_attr::CONNS => &mut s.conns,
                stats_attr::INPKTS => &mut s.inpkts,
                stats_attr::OUTPKTS => &mut s.outpkts,
                stats_attr::INBYTES => &mut s.inbytes,
                stats_attr::OUTBYTES => &mut s.outbytes,
                _ => continue,
            };
            *field = get_counter(id, p)?;
        }
        Ok(s)
    }

    /// The counters of STATS64 when the message has it, else of STATS
    /// (an older kernel): only the one kept is decoded, not both,
    /// some 10 attributes fewer per destination of a dump.
    fn either(stats64: Option<&[u8]>, stats: Option<&[u8]>) -> Result<Option<Stats>, DecodeError> {
        stats64.or(stats).map(Stats::decode).transpose()
    }
}

/// A virtual service as the kernel holds it.
///
/// `flags` are IP_VS_SVC_F_*; `timeout` is the persistence timeout in
/// seconds; `netmask` is, for IPv4, the persistence mask as a number
/// (`0xffff_ff00` for /24, sent big-endian) and for IPv6 the prefix length.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub scheduler: String,
    pub pe_name: Option<String>,
    pub flags: u32,
    pub timeout: u32,
    pub netmask: u32,
    /// Only in dumps.
    pub stats: Option<Stats>,
}

impl Service {
    /// The netmask value for a persistence granularity of `prefix` bits.
    pub fn netmask_for(af: Af, prefix: u8) -> u32 {
        match af {
            Af::V4 => u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0),
            Af::V6 => u32::from(prefix.min(128)),
        }
    }

    /// Every attribute of a full entry, as NEW/SET_SERVICE need them.
    /// FLAGS goes with an all-ones mask: the kernel takes the flags as
    /// given (and keeps its own HASHED bit).
    pub fn encode(&self) -> Vec<Attr> {
        let mut v = self.id.encode();
        v.push(Attr::string(svc_attr::SCHED_NAME, &self.scheduler));
        if let Some(pe) = &self.pe_name {
            v.push(Attr::string(svc_attr::PE_NAME, pe));
        }
        let mut flags = Vec::with_capacity(8);
        flags.extend_from_slice(&self.flags.to_ne_bytes());
        flags.extend_from_slice(&u32::MAX.to_ne_bytes());
        v.push(Attr::new(svc_attr::FLAGS, flags));
        v.push(Attr::u32(svc_attr::TIMEOUT, self.timeout));
        v.push(match self.id.af() {
            Af::V4 => Attr::new(svc_attr::NETMASK, self.netmask.to_be_bytes()),
            Af::V6 => Attr::u32(svc_attr::NETMASK, self.netmask),
        });
        if let Some(s) = &self.stats {
            v.push(Attr::nest(svc_attr::STATS64, &s.encode64()));
        }
        v
    }

    /// Decode the attributes nested in IPVS_CMD_ATTR_SERVICE of a dump.
    pub fn decode(buf: &[u8]) -> Result<Service, DecodeError> {
        use svc_attr::*;
        let id = |k| AttrId::new(AttrSet::Service, k);
        let mut af = None;
        let (mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, None);
        let (mut sched, mut pe, mut flags, mut timeout, mut netmask) =
            (None, None, None, None, None);
        let (mut stats, mut stats64) = (None, None);
        for a in attrs(buf, AttrSet::Service) {
            let (kind, p) = a?;
            match kind {
                AF => af = Some(get_family(id(kind), p)?),
                PROTOCOL => protocol = Some(get_u16(id(kind), p)?),
                ADDR => addr = Some(p),
                PORT => port = Some(get_be16(id(kind), p)?),
                FWMARK => fwmark = Some(get_u32(id(kind), p)?),
                SCHED_NAME => sched = Some(get_string(id(kind), p)?),
                PE_NAME => pe = Some(get_string(id(kind), p)?),
                FLAGS => {
                    let b: [u8; 8] = fixed(id(kind), p)?;
                    let f = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                    let m = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
                    flags = Some(f & m);
                }
                TIMEOUT => timeout = Some(get_u32(id(kind), p)?),
                NETMASK => netmask = Some(fixed::<4>(id(kind), p)?),
                STATS => stats = Some(p),
                STATS64 => stats64 = Some(p),
                _ => {}
            }
        }
        let missing = |k| DecodeError::Missing { attr: id(k) };
        let af = af.ok_or(missing(AF))?;
        let sid = match fwmark {
            Some(mark) => ServiceId::Fwmark { af, mark },
            None => ServiceId::Addr {
                protocol: protocol.ok_or(missing(PROTOCOL))?,
                addr: get_inet_addr(id(ADDR), addr.ok_or(missing(ADDR))?, af)?,
                port: port.ok_or(missing(PORT))?,
            },
        };
        let netmask = netmask.ok_or(missing(NETMASK))?;
        Ok(Service {
            id: sid,
            scheduler: sched.ok_or(missing(SCHED_NAME))?,
            pe_name: pe,
            flags: flags.ok_or(missing(FLAGS))?,
            timeout: timeout.ok_or(missing(TIMEOUT))?,
            netmask: match af {
                Af::V4 => u32::from_be_bytes(netmask),
                Af::V6 => u32::from_ne_bytes(netmask),
            },
            stats: Stats::either(stats64, stats)?,
        })
    }
}

/// Forwarding method (IP_VS_CONN_F_* within the FWD mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FwdMethod {
    /// NAT.
    Masq,
    Local,
    Tunnel,
    /// Direct routing (DR).
    Route,
    Bypass,
}

impl FwdMethod {
    pub fn raw(self) -> u32 {
        match self {
            FwdMethod::Masq => 0,
            FwdMethod::Local => 1,
            FwdMethod::Tunnel => 2,
            FwdMethod::Route => 3,
            FwdMethod::Bypass => 4,
        }
    }
    pub fn from_raw(v: u32) -> Option<FwdMethod> {
        Some(match v & CONN_F_FWD_MASK {
            0 => FwdMethod::Masq,
            1 => FwdMethod::Local,
            2 => FwdMethod::Tunnel,
            3 => FwdMethod::Route,
            4 => FwdMethod::Bypass,
            _ => return None,
        })
    }
}

/// Tunnel parameters of a TUN destination (kernel 5.2+; dumps carry them
/// for every destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Tunnel {
    /// IP_VS_CONN_F_TUNNEL_TYPE_{IPIP,GUE,GRE} = 0, 1, 2.
    pub kind: u8,
    /// Big-endian on the wire.
    pub port: u16,
    pub flags: u16,
}

/// Connection counts of a destination (dumps only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnCounts {
    pub active: u32,
    pub inactive: u32,
    pub persistent: u32,
}

impl ConnCounts {
    pub fn total(&self) -> u64 {
        u64::from(self.active) + u64::from(self.inactive) + u64::from(self.persistent)
    }
}

/// What identifies a destination within its service.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DestId {
    pub addr: IpAddr,
    pub port: u16,
}

impl DestId {
    /// ADDR, PORT and ADDR_FAMILY: what DEL_DEST needs.
    pub fn encode(&self) -> Vec<Attr> {
        vec![
            inet_addr(dest_attr::ADDR, &self.addr),
            Attr::be16(dest_attr::PORT, self.port),
            Attr::u16(dest_attr::ADDR_FAMILY, Af::of(&self.addr).raw()),
        ]
    }
}

impl fmt::Display for DestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dest {
    pub id: DestId,
    pub fwd: FwdMethod,
    pub weight: u32,
    pub u_thresh: u32,
    pub l_thresh: u32,
    pub tunnel: Option<Tunnel>,
    /// Only in dumps.
    pub conns: Option<ConnCounts>,
    /// Only in dumps.
    pub stats: Option<Stats>,
}

impl Dest {
    /// Every attribute of a full entry, as NEW/SET_DEST need them. The
    /// address family is always sent (as keepalived does).
    pub fn encode(&self) -> Vec<Attr> {
        use dest_attr::*;
        let mut v = vec![
            inet_addr(ADDR, &self.id.addr),
            Attr::be16(PORT, self.id.port),
            Attr::u32(FWD_METHOD, self.fwd.raw()),
            Attr::u32(WEIGHT, self.weight),
            Attr::u32(U_THRESH, self.u_thresh),
            Attr::u32(L_THRESH, self.l_thresh),
            Attr::u16(ADDR_FAMILY, Af::of(&self.id.addr).raw()),
        ];
        if let Some(t) = &self.tunnel {
            v.push(Attr::u8(TUN_TYPE, t.kind));
            v.push(Attr::be16(TUN_PORT, t.port));
            v.push(Attr::u16(TUN_FLAGS, t.flags));
        }
        if let Some(c) = &self.conns {
            v.push(Attr::u32(ACTIVE_CONNS, c.active));
            v.push(Attr::u32(INACT_CONNS, c.inactive));
            v.push(Attr::u32(PERSIST_CONNS, c.persistent));
        }
        if let Some(s) = &self.stats {
            v.push(Attr::nest(STATS64, &s.encode64()));
        }
        v
    }

    /// Decode the attributes nested in IPVS_CMD_ATTR_DEST of a dump. The
    /// address is read in ADDR_FAMILY when present, else in `service_af`.
    pub fn decode(buf: &[u8], service_af: Af) -> Result<Dest, DecodeError> {
        use dest_attr::*;
        let id = |k| AttrId::new(AttrSet::Dest, k);
        let (mut addr, mut port, mut family, mut fwd) = (None, None, None, None);
        let (mut weight, mut u_thresh, mut l_thresh) = (None, None, None);
        let (mut tun_type, mut tun_port, mut tun_flags) = (None, None, None);
        let (mut active, mut inact, mut persist) = (None, None, None);
        let (mut stats, mut stats64) = (None, None);
        for a in attrs(buf, AttrSet::Dest) {
            let (kind, p) = a?;
            match kind {
                ADDR => addr = Some(p),
                PORT => port = Some(get_be16(id(kind), p)?),
                ADDR_FAMILY => family = Some(get_family(id(kind), p)?),
                FWD_METHOD => {
                    let value = get_u32(id(kind), p)?;
                    fwd = Some(FwdMethod::from_raw(value).ok_or(DecodeError::BadFwdMethod {
                        attr: id(kind),
                        value,
                    })?);
                }
                WEIGHT => weight = Some(get_u32(id(kind), p)?),
                U_THRESH => u_thresh = Some(get_u32(id(kind), p)?),
                L_THRESH => l_thresh = Some(get_u32(id(kind), p)?),
                ACTIVE_CONNS => active = Some(get_u32(id(kind), p)?),
                INACT_CONNS => inact = Some(get_u32(id(kind), p)?),
                PERSIST_CONNS => persist = Some(get_u32(id(kind), p)?),
                TUN_TYPE => tun_type = Some(get_u8(id(kind), p)?),
                TUN_PORT => tun_port = Some(get_be16(id(kind), p)?),
                TUN_FLAGS => tun_flags = Some(get_u16(id(kind), p)?),
                STATS => stats = Some(p),
                STATS64 => stats64 = Some(p),
                _ => {}
            }
        }
        let missing = |k| DecodeError::Missing { attr: id(k) };
        let af = family.unwrap_or(service_af);
        let tunnel =
            (tun_type.is_some() || tun_port.is_some() || tun_flags.is_some()).then(|| Tunnel {
                kind: tun_type.unwrap_or(0),
                port: tun_port.unwrap_or(0),
                flags: tun_flags.unwrap_or(0),
            });
        let conns =
            (active.is_some() || inact.is_some() || persist.is_some()).then(|| ConnCounts {
                active: active.unwrap_or(0),
                inactive: inact.unwrap_or(0),
                persistent: persist.unwrap_or(0),
            });
        Ok(Dest {
            id: DestId {
                addr: get_inet_addr(id(ADDR), addr.ok_or(missing(ADDR))?, af)?,
                port: port.ok_or(missing(PORT))?,
            },
            fwd: fwd.ok_or(missing(FWD_METHOD))?,
            weight: weight.ok_or(missing(WEIGHT))?,
            u_thresh: u_thresh.ok_or(missing(U_THRESH))?,
            l_thresh: l_thresh.ok_or(missing(L_THRESH))?,
            tunnel,
            conns,
            stats: Stats::either(stats64, stats)?,
        })
    }
}
