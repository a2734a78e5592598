//! The sync daemon, timeouts, info, and whole requests / replies.
//!
//! Part of the codec in [`super`] (its header holds the byte-order rules).

use super::*;

/// IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }
}

/// The connection sync daemon (at most one master and one backup run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: DaemonState,
    /// The sync interface (at most 15 bytes).
    pub ifname: String,
    pub sync_id: u32,
    pub maxlen: Option<u16>,
    /// IPv4 goes in MCAST_GROUP, IPv6 in MCAST_GROUP6.
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    pub fn encode(&self) -> Vec<Attr> {
        use daemon_attr::*;
        let mut v = vec![
            Attr::u32(STATE, self.state.raw()),
            Attr::string(MCAST_IFN, &self.ifname),
            Attr::u32(SYNC_ID, self.sync_id),
        ];
        if let Some(m) = self.maxlen {
            v.push(Attr::u16(SYNC_MAXLEN, m));
        }
        match self.group {
            Some(IpAddr::V4(g)) => v.push(Attr::new(MCAST_GROUP, g.octets())),
            Some(IpAddr::V6(g)) => v.push(Attr::new(MCAST_GROUP6, g.octets())),
            None => {}
        }
        if let Some(p) = self.port {
            v.push(Attr::u16(MCAST_PORT, p));
        }
        if let Some(t) = self.ttl {
            v.push(Attr::u8(MCAST_TTL, t));
        }
        v
    }

    /// Decode the attributes nested in IPVS_CMD_ATTR_DAEMON. As in the
    /// kernel, an IPv4 group wins over an IPv6 one.
    pub fn decode(buf: &[u8]) -> Result<SyncDaemon, DecodeError> {
        use daemon_attr::*;
        let id = |k| AttrId::new(AttrSet::Daemon, k);
        let (mut state, mut ifname, mut sync_id, mut maxlen) = (None, None, None, None);
        let (mut g4, mut g6, mut port, mut ttl) = (None, None, None, None);
        for a in attrs(buf, AttrSet::Daemon) {
            let (kind, p) = a?;
            match kind {
                STATE => {
                    let value = get_u32(id(kind), p)?;
                    state = Some(match value {
                        1 => DaemonState::Master,
                        2 => DaemonState::Backup,
                        _ => {
                            return Err(DecodeError::BadDaemonState {
                                attr: id(kind),
                                value,
                            })
                        }
                    });
                }
                MCAST_IFN => ifname = Some(get_string(id(kind), p)?),
                SYNC_ID => sync_id = Some(get_u32(id(kind), p)?),
                SYNC_MAXLEN => maxlen = Some(get_u16(id(kind), p)?),
                MCAST_GROUP => g4 = Some(Ipv4Addr::from(fixed::<4>(id(kind), p)?)),
                MCAST_GROUP6 => g6 = Some(Ipv6Addr::from(fixed::<16>(id(kind), p)?)),
                MCAST_PORT => port = Some(get_u16(id(kind), p)?),
                MCAST_TTL => ttl = Some(get_u8(id(kind), p)?),
                _ => {}
            }
        }
        let missing = |k| DecodeError::Missing { attr: id(k) };
        Ok(SyncDaemon {
            state: state.ok_or(missing(STATE))?,
            ifname: ifname.ok_or(missing(MCAST_IFN))?,
            sync_id: sync_id.ok_or(missing(SYNC_ID))?,
            maxlen,
            group: g4.map(IpAddr::V4).or(g6.map(IpAddr::V6)),
            port,
            ttl,
        })
    }
}

/// Connection timeouts in seconds (`ipvsadm --set`); `None` (or 0) leaves
/// the kernel's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub tcp: Option<u32>,
    pub tcp_fin: Option<u32>,
    pub udp: Option<u32>,
}

impl Timeouts {
    /// Top-level attributes of SET_CONFIG.
    pub fn encode(&self) -> Vec<Attr> {
        use cmd_attr::*;
        [
            (TIMEOUT_TCP, self.tcp),
            (TIMEOUT_TCP_FIN, self.tcp_fin),
            (TIMEOUT_UDP, self.udp),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| Attr::u32(k, v)))
        .collect()
    }

    /// From the top-level attributes of a GET_CONFIG reply.
    pub fn decode(buf: &[u8]) -> Result<Timeouts, DecodeError> {
        let mut t = Timeouts::default();
        for a in attrs(buf, AttrSet::Cmd) {
            let (kind, p) = a?;
            let id = AttrId::new(AttrSet::Cmd, kind);
            match kind {
                cmd_attr::TIMEOUT_TCP => t.tcp = Some(get_u32(id, p)?),
                cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = Some(get_u32(id, p)?),
                cmd_attr::TIMEOUT_UDP => t.udp = Some(get_u32(id, p)?),
                _ => {}
            }
        }
        Ok(t)
    }
}

/// The GET_INFO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `0x010201` is 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }

    pub fn encode(&self) -> Vec<Attr> {
        vec![
            Attr::u32(info_attr::VERSION, self.version),
            Attr::u32(info_attr::CONN_TAB_SIZE, self.conn_tab_size),
        ]
    }

    pub fn decode(buf: &[u8]) -> Result<Info, DecodeError> {
        let id = |k| AttrId::new(AttrSet::Info, k);
        let (mut version, mut size) = (None, None);
        for a in attrs(buf, AttrSet::Info) {
            let (kind, p) = a?;
            match kind {
                info_attr::VERSION => version = Some(get_u32(id(kind), p)?),
                info_attr::CONN_TAB_SIZE => size = Some(get_u32(id(kind), p)?),
                _ => {}
            }
        }
        let missing = |k| DecodeError::Missing { attr: id(k) };
        Ok(Info {
            version: version.ok_or(missing(info_attr::VERSION))?,
            conn_tab_size: size.ok_or(missing(info_attr::CONN_TAB_SIZE))?,
        })
    }
}

// ---------------------------------------------------------------------------
// Whole messages

/// One IPVS request: the genl command and its top-level attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub cmd: Cmd,
    /// Sent with NLM_F_DUMP (the GET_* listings).
    pub dump: bool,
    pub attrs: Vec<Attr>,
}

impl Request {
    fn new(cmd: Cmd, attrs: Vec<Attr>) -> Self {
        Request {
            cmd,
            dump: false,
            attrs,
        }
    }

    pub fn new_service(s: &Service) -> Self {
        Self::with_service(Cmd::NewService, s)
    }
    pub fn set_service(s: &Service) -> Self {
        Self::with_service(Cmd::SetService, s)
    }
    fn with_service(cmd: Cmd, s: &Service) -> Self {
        let mut s = s.clone();
        s.stats = None;
        Self::new(cmd, vec![Attr::nest(cmd_attr::SERVICE, &s.encode())])
    }
    pub fn del_service(id: &ServiceId) -> Self {
        Self::new(
            Cmd::DelService,
            vec![Attr::nest(cmd_attr::SERVICE, &id.encode())],
        )
    }
    pub fn get_services() -> Self {
        Request {
            cmd: Cmd::GetService,
            dump: true,
            attrs: Vec::new(),
        }
    }
    pub fn new_dest(svc: &ServiceId, d: &Dest) -> Self {
        Self::with_dest(Cmd::NewDest, svc, d)
    }
    pub fn set_dest(svc: &ServiceId, d: &Dest) -> Self {
        Self::with_dest(Cmd::SetDest, svc, d)
    }
    fn with_dest(cmd: Cmd, svc: &ServiceId, d: &Dest) -> Self {
        let mut d = d.clone();
        d.conns = None;
        d.stats = None;
        Self::new(
            cmd,
            vec![
                Attr::nest(cmd_attr::SERVICE, &svc.encode()),
                Attr::nest(cmd_attr::DEST, &d.encode()),
            ],
        )
    }
    pub fn del_dest(svc: &ServiceId, d: &DestId) -> Self {
        Self::new(
            Cmd::DelDest,
            vec![
                Attr::nest(cmd_attr::SERVICE, &svc.encode()),
                Attr::nest(cmd_attr::DEST, &d.encode()),
            ],
        )
    }
    pub fn get_dests(svc: &ServiceId) -> Self {
        Request {
            cmd: Cmd::GetDest,
            dump: true,
            attrs: vec![Attr::nest(cmd_attr::SERVICE, &svc.encode())],
        }
    }
    pub fn set_timeouts(t: &Timeouts) -> Self {
        Self::new(Cmd::SetConfig, t.encode())
    }
    pub fn get_timeouts() -> Self {
        Self::new(Cmd::GetConfig, Vec::new())
    }
    pub fn new_daemon(d: &SyncDaemon) -> Self {
        Self::new(
            Cmd::NewDaemon,
            vec![Attr::nest(cmd_attr::DAEMON, &d.encode())],
        )
    }
    /// DEL_DAEMON needs only the state.
    pub fn del_daemon(state: DaemonState) -> Self {
        let inner = [Attr::u32(daemon_attr::STATE, state.raw())];
        Self::new(Cmd::DelDaemon, vec![Attr::nest(cmd_attr::DAEMON, &inner)])
    }
    pub fn get_daemons() -> Self {
        Request {
            cmd: Cmd::GetDaemon,
            dump: true,
            attrs: Vec::new(),
        }
    }
    pub fn get_info() -> Self {
        Self::new(Cmd::GetInfo, Vec::new())
    }

    /// The genl payload: header (cmd, version 1, reserved) and attributes.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![self.cmd as u8, GENL_VERSION, 0, 0];
        out.extend_from_slice(&emit_attrs(&self.attrs));
        out
    }
}

/// A reply message's genl payload split into its command and the bytes of
/// its top-level attributes.
pub fn split_genl(buf: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    if buf.len() < GENL_HDRLEN {
        return Err(DecodeError::ShortHeader { len: buf.len() });
    }
    Ok((buf[0], &buf[GENL_HDRLEN..]))
}

/// The payload of top-level attribute `kind` (the last one, as the kernel
/// would take it), checking the framing of the whole set.
pub fn top_attr(attrs_buf: &[u8], kind: u16) -> Result<Option<&[u8]>, DecodeError> {
    let mut found = None;
    for a in attrs(attrs_buf, AttrSet::Cmd) {
        let (k, p) = a?;
        if k == kind {
            found = Some(p);
        }
    }
    Ok(found)
}

/// A service dump message (genl payload) -> the service.
pub fn decode_service_msg(buf: &[u8]) -> Result<Service, DecodeError> {
    let (_, a) = split_genl(buf)?;
    let s = top_attr(a, cmd_attr::SERVICE)?.ok_or(DecodeError::Missing {
        attr: AttrId::new(AttrSet::Cmd, cmd_attr::SERVICE),
    })?;
    Service::decode(s)
}

/// A destination dump message (genl payload) -> the destination.
pub fn decode_dest_msg(buf: &[u8], service_af: Af) -> Result<Dest, DecodeError> {
    let (_, a) = split_genl(buf)?;
    let d = top_attr(a, cmd_attr::DEST)?.ok_or(DecodeError::Missing {
        attr: AttrId::new(AttrSet::Cmd, cmd_attr::DEST),
    })?;
    Dest::decode(d, service_af)
}

/// A sync daemon dump message (genl payload) -> the daemon.
pub fn decode_daemon_msg(buf: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let (_, a) = split_genl(buf)?;
    let d = top_attr(a, cmd_attr::DAEMON)?.ok_or(DecodeError::Missing {
        attr: AttrId::new(AttrSet::Cmd, cmd_attr::DAEMON),
    })?;
    SyncDaemon::decode(d)
}
