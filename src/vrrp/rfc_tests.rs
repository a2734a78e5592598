//! The rules of RFC 3768 (VRRPv2) and RFC 5798 (VRRPv3) that a router
//! follows when an advert arrives (section 7.1) and in each state (6.4.1
//! Initialize, 6.4.2 Backup, 6.4.3 Master), one table row each, run
//! through the whole receive path: bytes as a raw socket returns them ->
//! `packet::decode_*_any_ttl` -> `filter::classify` -> `machine::Machine`.
//!
//! A row names its rule ("5798 7.1", "3768 6.4.2", or "vigil" for a
//! choice of ours), the router (version, priority, address, state), what
//! happens (an advert with its fields, or an event), and the outcome: the
//! drop reason, or the state, the timer that runs (by its RFC name) and
//! the actions, in order. Where vigil departs from the RFC the rule says
//! so and why; keepalived's measured behaviour is in /work/shared/NOTES.md
//! and the module docs of `machine` and `filter`.
//!
//! Rules with no row here: the advert's own fields and TTL on send (the
//! codec's tests), and what a master does with traffic to the VIPs: a
//! MASTER takes the VIPs (`AddVips`) and a BACKUP holds none (`RemoveVips`
//! on leaving MASTER), which the rows check; Accept_Mode off (`no_accept`,
//! strict mode's default below priority 255) is vigil's nftables filter,
//! the same in every state (`net::no_accept`, its namespace and lab
//! tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::filter::{classify, DropReason, FilterConfig};
use super::machine::{Action, Input, InstanceConfig, Machine, Reason, State};
use super::packet::{
    decode_ipv4_any_ttl, decode_ipv6_any_ttl, Addrs, Auth, Family, Packet, Repr, V2Repr, V3Repr,
};
use super::types::{
    master_down_interval, skew_time, AdverInt, Centiseconds, Priority, Version, Vrid,
};

const KEY: &[u8] = b"secret";
const VRID: u8 = 51;
/// Our VIPs, by last octet (10.0.0.x, fd00::x).
const VIPS: &[u8] = &[100, 101];

/// Where the router stands when the row's event comes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    Initialize,
    Backup,
    Master,
}

/// The router under test.
#[derive(Debug, Clone, Copy)]
struct Me {
    version: Version,
    v6: bool,
    priority: u8,
    /// Last octet of our primary address.
    addr: u8,
    start: Start,
    preempt: bool,
    /// keepalived `state MASTER` (a hint for a non-owner).
    hint_master: bool,
    /// Unicast to one peer (the default advert's source) with `unicast_ttl`.
    unicast_ttl: bool,
    interval_cs: u16,
    /// Strict mode (`vrrp_strict`).
    strict: bool,
}

const V2: Me = Me {
    version: Version::V2,
    v6: false,
    priority: 100,
    addr: 2,
    start: Start::Backup,
    preempt: true,
    hint_master: false,
    unicast_ttl: false,
    interval_cs: 100,
    strict: false,
};
const V3: Me = Me {
    version: Version::V3,
    ..V2
};
const OWNER: Me = Me {
    priority: 255,
    start: Start::Master,
    ..V3
};

/// How a test mangles the bytes after a well-formed emit.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mangle {
    None,
    /// Raw version nibble.
    Version(u8),
    Type(u8),
    /// Address count, without the addresses to match.
    Count(u8),
    /// v2 authentication type.
    AuthType(u8),
    Vrid0,
    IntervalZero,
    /// Checksum left wrong.
    Checksum,
    /// The datagram (IPv4) or message (IPv6) cut to this many bytes.
    Cut(usize),
}

/// A received advert.
#[derive(Debug, Clone, Copy)]
struct Adv {
    version: Version,
    v6: bool,
    vrid: u8,
    priority: u8,
    /// Last octet of the sender's address.
    src: u8,
    interval_cs: u16,
    ttl: u8,
    vips: &'static [u8],
    key: Option<&'static [u8]>,
    mangle: Mangle,
}

/// A peer at .9 (above our .2) speaking our language at priority 100.
const PEER2: Adv = Adv {
    version: Version::V2,
    v6: false,
    vrid: VRID,
    priority: 100,
    src: 9,
    interval_cs: 100,
    ttl: 255,
    vips: VIPS,
    key: Some(KEY),
    mangle: Mangle::None,
};
const PEER3: Adv = Adv {
    version: Version::V3,
    key: None,
    ..PEER2
};

#[derive(Debug, Clone, Copy)]
enum Ev {
    Advert(Adv),
    Startup,
    /// The running timer fires (the machine's next wakeup).
    TimerFires,
    Shutdown,
    /// A config the parser must refuse, with a word of its message.
    Config(&'static str, &'static str),
}

/// The timer running after the event, by its RFC name, for the router's
/// priority and the Master_Adver_Interval it then holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wait {
    /// Nothing runs (Initialize).
    None,
    /// Master_Down_Timer = Master_Down_Interval from the event.
    MasterDown,
    /// Master_Down_Timer = Skew_Time from the event.
    Skew,
    /// The running timer as it was before the event (not reset).
    Kept,
    /// Adver_Timer = Advertisement_Interval from the event.
    Adver,
}

#[derive(Debug, Clone, PartialEq)]
enum Want {
    Drop(DropReason),
    Then {
        state: State,
        wait: Wait,
        actions: Vec<Action>,
        /// Master_Adver_Interval afterwards, in centiseconds.
        mai_cs: u16,
        /// Taken, but counted as an address list mismatch.
        list_mismatch: bool,
    },
    Refused,
}

struct Row {
    rule: &'static str,
    me: Me,
    ev: Ev,
    want: Want,
}

fn then(state: State, wait: Wait, actions: Vec<Action>, mai_cs: u16) -> Want {
    Want::Then {
        state,
        wait,
        actions,
        mai_cs,
        list_mismatch: false,
    }
}

fn change(from: State, to: State, reason: Reason) -> Action {
    Action::StateChange { from, to, reason }
}

fn advert(p: u8) -> Action {
    Action::SendAdvert {
        priority: Priority(p),
    }
}

const GARP: Action = Action::SendGratuitous { repeat: 5 };
const B: State = State::Backup;
const M: State = State::Master;
const I: State = State::Initialize;

/// Every rule, in the order of the RFC sections.
fn rows() -> Vec<Row> {
    use DropReason as D;
    let adv = |me: Me, a: Adv| Row {
        rule: "",
        me,
        ev: Ev::Advert(a),
        want: Want::Refused,
    };
    let row = |rule, r: Row, want| Row { rule, want, ..r };
    let drop = |rule, me, a, d| row(rule, adv(me, a), Want::Drop(d));
    let master = Me {
        start: Start::Master,
        ..V2
    };
    let master3 = Me {
        start: Start::Master,
        ..V3
    };
    vec![
        // ---- section 7.1: what a receiver checks before anything else ----
        drop("3768 7.1 TTL must be 255", V2, Adv { ttl: 64, ..PEER2 }, D::TtlNot255),
        drop("5798 7.1 IPv4 TTL must be 255", V3, Adv { ttl: 1, ..PEER3 }, D::TtlNot255),
        drop(
            "5798 7.1 IPv6 hop limit must be 255",
            Me { v6: true, ..V3 },
            Adv { ttl: 64, v6: true, ..PEER3 },
            D::TtlNot255,
        ),
        row(
            "vigil (keepalived): unicast_ttl takes a unicast peer's advert of any TTL",
            adv(Me { unicast_ttl: true, ..V3 }, Adv { ttl: 62, priority: 200, ..PEER3 }),
            then(B, Wait::MasterDown, vec![], 100),
        ),
        drop("5798 7.1 version must be 3", V3, PEER2, D::VersionMismatch),
        drop("3768 7.1 version must be 2", V2, PEER3, D::VersionMismatch),
        drop(
            "7.1 version neither 2 nor 3",
            V3,
            Adv { mangle: Mangle::Version(1), ..PEER3 },
            D::BadVersion,
        ),
        drop(
            "3768/5798 5.2.2 unknown type dropped",
            V3,
            Adv { mangle: Mangle::Type(2), ..PEER3 },
            D::BadType,
        ),
        drop(
            "7.1 complete packet: the count claims more addresses than it holds",
            V2,
            Adv { mangle: Mangle::Count(3), ..PEER2 },
            D::AddressCountMismatch,
        ),
        drop(
            "7.1 complete packet: an IPv4 datagram cut short",
            V2,
            Adv { mangle: Mangle::Cut(30), ..PEER2 },
            D::TotalLengthMismatch,
        ),
        drop(
            "7.1 complete packet: an IPv6 message cut short",
            Me { v6: true, ..V3 },
            Adv { v6: true, mangle: Mangle::Cut(6), ..PEER3 },
            D::Truncated,
        ),
        drop(
            "3768 7.1 checksum",
            V2,
            Adv { mangle: Mangle::Checksum, ..PEER2 },
            D::Checksum,
        ),
        drop(
            "5798 7.1 checksum (with the pseudo-header)",
            V3,
            Adv { mangle: Mangle::Checksum, ..PEER3 },
            D::Checksum,
        ),
        drop(
            "7.1 VRID configured on the interface",
            V3,
            Adv { vrid: 52, ..PEER3 },
            D::UnknownVrid,
        ),
        drop(
            "7.1 VRID 0 is no virtual router",
            V3,
            Adv { mangle: Mangle::Vrid0, ..PEER3 },
            D::ZeroVrid,
        ),
        drop(
            "7.1 and not the address owner: an owner takes no advert",
            OWNER,
            Adv { priority: 254, ..PEER3 },
            D::AddressOwner,
        ),
        drop(
            "7.1 owner: a resigning peer's priority 0 changes nothing",
            OWNER,
            Adv { priority: 0, ..PEER3 },
            D::AddressOwner,
        ),
        drop(
            "7.1 owner: a second owner (255) with a greater address does not move it",
            OWNER,
            Adv { priority: 255, ..PEER3 },
            D::AddressOwner,
        ),
        drop(
            "7.1 owner, v2 the same",
            Me { version: Version::V2, ..OWNER },
            Adv { priority: 255, ..PEER2 },
            D::AddressOwner,
        ),
        drop(
            "3768 7.1 auth type must match ours (none vs simple)",
            V2,
            Adv { key: None, ..PEER2 },
            D::AuthMismatch,
        ),
        drop(
            "3768 7.1 auth: the key must match",
            V2,
            Adv { key: Some(b"other"), ..PEER2 },
            D::AuthMismatch,
        ),
        drop(
            "3768 5.3.6 unknown auth type (2, IP AH) dropped",
            V2,
            Adv { mangle: Mangle::AuthType(2), ..PEER2 },
            D::AuthTypeUnsupported,
        ),
        drop(
            "3768 7.1 v2 advert interval must equal ours",
            V2,
            Adv { interval_cs: 200, ..PEER2 },
            D::IntervalMismatch,
        ),
        drop(
            "vigil: interval 0 is no interval",
            V3,
            Adv { mangle: Mangle::IntervalZero, ..PEER3 },
            D::BadAdvertInterval,
        ),
        row(
            "5798 7.1 v3 has no interval check: another interval is taken",
            adv(V3, Adv { interval_cs: 300, ..PEER3 }),
            then(B, Wait::MasterDown, vec![], 300),
        ),
        row(
            "7.1 address list differs, sender not the owner: the RFC drops it; vigil \
             counts and takes it (boxes reloaded one at a time differ for a while, and \
             dropping the master's adverts then makes a second master)",
            adv(V3, Adv { vips: &[100], ..PEER3 }),
            Want::Then {
                state: B,
                wait: Wait::MasterDown,
                actions: vec![],
                mai_cs: 100,
                list_mismatch: true,
            },
        ),
        row(
            "7.1 address list differs, in strict mode (vrrp_strict): dropped, as the RFC \
             allows and keepalived does there",
            adv(Me { strict: true, ..V3 }, Adv { vips: &[100], ..PEER3 }),
            Want::Drop(DropReason::StrictAddressList),
        ),
        row(
            "7.1 address list differs, sender is the owner: processing goes on",
            adv(master3, Adv { vips: &[100, 102], priority: 255, ..PEER3 }),
            Want::Then {
                state: B,
                wait: Wait::MasterDown,
                actions: vec![change(M, B, Reason::HigherPriorityAdvert), Action::RemoveVips],
                mai_cs: 100,
                list_mismatch: true,
            },
        ),
        drop(
            "vigil: our own advert looped back",
            V3,
            Adv { src: 2, ..PEER3 },
            D::OwnPacket,
        ),
        drop(
            "vigil (keepalived): a unicast instance takes its peers only",
            Me { unicast_ttl: true, ..V3 },
            Adv { src: 7, ..PEER3 },
            D::UnknownUnicastPeer,
        ),
        drop(
            "vigil: an IPv6 advert for an IPv4 instance",
            V3,
            Adv { v6: true, ..PEER3 },
            D::FamilyMismatch,
        ),
        // ---- 6.4.1 Initialize ----
        Row {
            rule: "6.4.1 the owner starts MASTER at once: advert, gratuitous ARP, Adver_Timer",
            me: Me { start: Start::Initialize, ..OWNER },
            ev: Ev::Startup,
            want: then(
                M,
                Wait::Adver,
                vec![change(I, M, Reason::Startup), Action::AddVips, advert(255), GARP],
                100,
            ),
        },
        Row {
            rule: "6.4.1 a non-owner starts BACKUP: Master_Adver_Interval = ours, \
                   Master_Down_Timer = Master_Down_Interval",
            me: Me { start: Start::Initialize, ..V3 },
            ev: Ev::Startup,
            want: then(B, Wait::MasterDown, vec![change(I, B, Reason::Startup)], 100),
        },
        Row {
            rule: "vigil (keepalived, measured): `state MASTER` on a non-owner still starts BACKUP",
            me: Me { start: Start::Initialize, hint_master: true, ..V2 },
            ev: Ev::Startup,
            want: then(B, Wait::MasterDown, vec![change(I, B, Reason::Startup)], 100),
        },
        row(
            "6.4.1 Initialize takes no advert",
            adv(Me { start: Start::Initialize, ..V3 }, PEER3),
            then(I, Wait::None, vec![], 100),
        ),
        Row {
            rule: "6.4.1 (vigil: config) the owner must start MASTER, not BACKUP",
            me: V2,
            ev: Ev::Config("state BACKUP\n    priority 255", "address owner"),
            want: Want::Refused,
        },
        // ---- 6.4.2 Backup ----
        Row {
            rule: "6.4.2 Master_Down_Timer fires: advert, gratuitous ARP, Adver_Timer, MASTER",
            me: V2,
            ev: Ev::TimerFires,
            want: then(
                M,
                Wait::Adver,
                vec![change(B, M, Reason::MasterDown), Action::AddVips, advert(100), GARP],
                100,
            ),
        },
        row(
            "3768 6.4.2 priority 0: Master_Down_Timer = Skew_Time",
            adv(V2, Adv { priority: 0, ..PEER2 }),
            then(B, Wait::Skew, vec![], 100),
        ),
        row(
            "5798 6.4.2 priority 0: Master_Down_Timer = Skew_Time (of Master_Adver_Interval)",
            adv(V3, Adv { priority: 0, interval_cs: 50, ..PEER3 }),
            then(B, Wait::Skew, vec![], 100),
        ),
        row(
            "6.4.2 greater priority: Master_Down_Timer reset",
            adv(V2, Adv { priority: 200, ..PEER2 }),
            then(B, Wait::MasterDown, vec![], 100),
        ),
        row(
            "6.4.2 equal priority: Master_Down_Timer reset",
            adv(V2, PEER2),
            then(B, Wait::MasterDown, vec![], 100),
        ),
        row(
            "5798 6.4.2 v3: Master_Adver_Interval learnt from the advert, the timer from it",
            adv(V3, Adv { priority: 200, interval_cs: 50, ..PEER3 }),
            then(B, Wait::MasterDown, vec![], 50),
        ),
        row(
            "6.4.2 lower priority, preempting: discarded, the timer runs on",
            adv(V3, Adv { priority: 50, interval_cs: 50, ..PEER3 }),
            then(B, Wait::Kept, vec![], 100),
        ),
        row(
            "6.4.2 lower priority, Preempt_Mode false: Master_Down_Timer reset (and learnt)",
            adv(Me { preempt: false, ..V3 }, Adv { priority: 50, interval_cs: 50, ..PEER3 }),
            then(B, Wait::MasterDown, vec![], 50),
        ),
        row(
            "vigil (keepalived): `state MASTER` preempts a lower master after Skew_Time",
            adv(Me { hint_master: true, ..V2 }, Adv { priority: 50, ..PEER2 }),
            then(B, Wait::Skew, vec![], 100),
        ),
        Row {
            rule: "6.4.2 Shutdown: Master_Down_Timer cancelled, Initialize",
            me: V3,
            ev: Ev::Shutdown,
            want: then(I, Wait::None, vec![change(B, I, Reason::Shutdown)], 100),
        },
        // ---- 6.4.3 Master ----
        Row {
            rule: "6.4.3 Adver_Timer fires: advert, Adver_Timer reset",
            me: master,
            ev: Ev::TimerFires,
            want: then(M, Wait::Adver, vec![advert(100)], 100),
        },
        row(
            "6.4.3 priority 0: advert at once, Adver_Timer reset",
            adv(master, Adv { priority: 0, ..PEER2 }),
            then(M, Wait::Adver, vec![advert(100)], 100),
        ),
        row(
            "6.4.3 greater priority: BACKUP, VIPs given up, Master_Down_Timer = Master_Down_Interval",
            adv(master, Adv { priority: 101, src: 1, ..PEER2 }),
            then(
                B,
                Wait::MasterDown,
                vec![change(M, B, Reason::HigherPriorityAdvert), Action::RemoveVips],
                100,
            ),
        ),
        row(
            "5798 6.4.3 greater priority: BACKUP with the sender's interval learnt",
            adv(master3, Adv { priority: 101, interval_cs: 30, ..PEER3 }),
            then(
                B,
                Wait::MasterDown,
                vec![change(M, B, Reason::HigherPriorityAdvert), Action::RemoveVips],
                30,
            ),
        ),
        row(
            "6.4.3 equal priority, greater primary address: BACKUP",
            adv(master, PEER2),
            then(
                B,
                Wait::MasterDown,
                vec![change(M, B, Reason::HigherPriorityAdvert), Action::RemoveVips],
                100,
            ),
        ),
        row(
            "6.4.3 equal priority, lower primary address: the RFC discards it; vigil \
             (keepalived) stays MASTER and answers with an advert and gratuitous ARP so \
             the other steps down now",
            adv(master, Adv { src: 1, ..PEER2 }),
            then(M, Wait::Kept, vec![advert(100), GARP], 100),
        ),
        row(
            "6.4.3 lower priority: as above (a split brain healing)",
            adv(master3, Adv { priority: 50, ..PEER3 }),
            then(M, Wait::Kept, vec![advert(100), GARP], 100),
        ),
        Row {
            rule: "6.4.3 Shutdown: Adver_Timer cancelled, priority 0 advert, Initialize",
            me: master3,
            ev: Ev::Shutdown,
            want: then(
                I,
                Wait::None,
                vec![change(M, I, Reason::Shutdown), advert(0), Action::RemoveVips],
                100,
            ),
        },
        Row {
            rule: "6.4.3 the owner's Adver_Timer fires: advert at 255",
            me: OWNER,
            ev: Ev::TimerFires,
            want: then(M, Wait::Adver, vec![advert(255)], 100),
        },
    ]
}

fn ip(me_v6: bool, last: u8) -> IpAddr {
    if me_v6 {
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(last)))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }
}

fn vip(v6: bool, last: u8) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(last)))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }
}

fn machine_config(me: &Me) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        me.version,
        Vrid::new(VRID).expect("nonzero"),
        Priority(me.priority),
        Centiseconds(me.interval_cs),
        ip(me.v6, me.addr),
    );
    c.preempt = me.preempt;
    if me.hint_master {
        c.initial_state = super::machine::InitialState::Master;
    }
    c
}

/// What `from_config` would publish for this router.
fn filter_config(me: &Me) -> FilterConfig {
    let peer = ip(me.v6, PEER2.src);
    FilterConfig {
        vrid: Vrid::new(VRID).expect("nonzero"),
        version: me.version,
        family: if me.v6 { Family::V6 } else { Family::V4 },
        auth: match me.version {
            Version::V2 => Auth::simple(KEY).expect("short"),
            Version::V3 => Auth::None,
        },
        advert_interval: Centiseconds(me.interval_cs),
        own_addrs: vec![ip(me.v6, me.addr)],
        unicast_peers: if me.unicast_ttl { vec![peer] } else { vec![] },
        vips: VIPS.iter().map(|v| vip(me.v6, *v)).collect(),
        any_ttl: me.unicast_ttl,
        owner: me.priority == 255,
        strict: me.strict,
    }
}

fn repr(a: &Adv) -> Repr {
    let vrid = Vrid::new(a.vrid).expect("nonzero");
    let priority = Priority(a.priority);
    match a.version {
        Version::V2 => Repr::V2(V2Repr {
            vrid,
            priority,
            adver_int_secs: std::num::NonZeroU8::new((a.interval_cs / 100) as u8)
                .expect("whole seconds"),
            auth: a
                .key
                .map_or(Auth::None, |k| Auth::simple(k).expect("short")),
            addrs: a.vips.iter().map(|v| Ipv4Addr::new(10, 0, 0, *v)).collect(),
        }),
        Version::V3 => Repr::V3(V3Repr {
            vrid,
            priority,
            max_adver_int: AdverInt::new(a.interval_cs).expect("in range"),
            addrs: if a.v6 {
                Addrs::V6(
                    (a.vips.iter())
                        .map(|v| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(*v)))
                        .collect(),
                )
            } else {
                Addrs::V4(a.vips.iter().map(|v| Ipv4Addr::new(10, 0, 0, *v)).collect())
            },
        }),
    }
}

/// The advert's VRRP message, mangled as the row says.
fn message(a: &Adv, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let r = repr(a);
    let mut buf = vec![0; r.buffer_len()];
    r.emit(&mut buf, src, dst).expect("emits");
    if let Mangle::Version(v) = a.mangle {
        buf[0] = (v << 4) | (buf[0] & 0x0f);
    }
    let family = if a.v6 { Family::V6 } else { Family::V4 };
    let mut p = Packet::new_unchecked(&mut buf[..], family);
    match a.mangle {
        Mangle::None | Mangle::Version(_) | Mangle::Checksum | Mangle::Cut(_) => {}
        Mangle::Type(t) => p.set_version_type(a.version, t),
        Mangle::Count(n) => p.set_count(n),
        Mangle::AuthType(t) => p.set_auth_type(t),
        Mangle::Vrid0 => p.set_vrid(0),
        Mangle::IntervalZero => p.set_max_adver_int(0),
    }
    if a.mangle == Mangle::Checksum {
        let sum = p.checksum();
        p.set_checksum(sum ^ 0x0101);
    } else {
        p.fill_checksum(src, dst);
    }
    buf
}

/// What the receive socket hands to `classify`.
fn receive(a: &Adv) -> Result<super::packet::Received, super::packet::DecodeError> {
    let src = ip(a.v6, a.src);
    if a.v6 {
        let dst: Ipv6Addr = "ff02::12".parse().expect("literal");
        let mut msg = message(a, src, IpAddr::V6(dst));
        if let Mangle::Cut(n) = a.mangle {
            msg.truncate(n);
        }
        let IpAddr::V6(src) = src else { unreachable!() };
        return decode_ipv6_any_ttl(src, dst, a.ttl, &msg);
    }
    let dst = Ipv4Addr::new(224, 0, 0, 18);
    let msg = message(a, src, IpAddr::V4(dst));
    let mut raw = vec![0; 20];
    raw[0] = 0x45;
    raw[2..4].copy_from_slice(&((20 + msg.len()) as u16).to_be_bytes());
    raw[8] = a.ttl;
    raw[9] = 112;
    let IpAddr::V4(s) = src else { unreachable!() };
    raw[12..16].copy_from_slice(&s.octets());
    raw[16..20].copy_from_slice(&dst.octets());
    raw.extend_from_slice(&msg);
    if let Mangle::Cut(n) = a.mangle {
        raw.truncate(n);
    }
    decode_ipv4_any_ttl(&raw)
}

/// A machine in the row's starting state, its actions drained; the
/// instant it got there.
fn reach(me: &Me, t0: Instant) -> (Machine, Instant) {
    let mut m = Machine::new(machine_config(me)).expect("valid config");
    let mut now = t0;
    if me.start != Start::Initialize {
        m.handle(Input::Startup, now);
    }
    if me.start == Start::Master && m.state() == State::Backup {
        now = m.poll_timeout().expect("master down timer");
        m.handle(Input::Timeout, now);
    }
    while m.poll_action().is_some() {}
    let want = match me.start {
        Start::Initialize => State::Initialize,
        Start::Backup => State::Backup,
        Start::Master => State::Master,
    };
    assert_eq!(m.state(), want, "setup");
    (m, now)
}

fn config_text(lines: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    {lines}\n    \
         virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n}}\n"
    )
}

/// Runs one row; `Err` says what differs.
fn run(row: &Row) -> Result<(), String> {
    if let Ev::Config(lines, word) = row.ev {
        let text = config_text(lines);
        return match crate::config::import_str("t.conf", &text, false) {
            Ok(_) => Err("config accepted".into()),
            Err(r) if r.lines().iter().any(|l| l.contains(word)) => Ok(()),
            Err(r) => Err(format!("refused for another reason: {:?}", r.lines())),
        };
    }
    let t0 = Instant::now();
    let (mut m, ready) = reach(&row.me, t0);
    // The event comes a while after the state was reached, so that a timer
    // reset is told apart from one left running.
    let mut now = ready + Duration::from_millis(250);
    let before = m.poll_timeout();
    let mut list_mismatch = false;
    match row.ev {
        Ev::Advert(a) => {
            let cfg = filter_config(&row.me);
            match classify(&receive(&a), [(cfg.vrid, Some(&cfg))]) {
                Err(reason) => {
                    let got = Want::Drop(reason);
                    if m.poll_action().is_some() {
                        return Err("a dropped advert made actions".into());
                    }
                    return (got == row.want).then_some(()).ok_or(format!("{got:?}"));
                }
                Ok(d) => {
                    list_mismatch = d.accepted.address_list_mismatch;
                    m.handle(Input::Advert(d.accepted.advert), now);
                }
            }
        }
        Ev::Startup => m.handle(Input::Startup, now),
        Ev::TimerFires => {
            now = m.poll_timeout().ok_or("no timer runs")?;
            m.handle(Input::Timeout, now);
        }
        Ev::Shutdown => m.handle(Input::Shutdown, now),
        Ev::Config(..) => unreachable!(),
    }
    let actions: Vec<Action> = std::iter::from_fn(|| m.poll_action()).collect();
    let Want::Then { wait, .. } = &row.want else {
        return Err(format!("taken: {:?}, {actions:?}", m.state()));
    };
    let cfg = m.config();
    let mai = m.master_adver_interval();
    let at = |d: Duration| Some(now + d);
    let expect = match wait {
        Wait::None => None,
        Wait::MasterDown => at(master_down_interval(cfg.version, cfg.priority, mai)),
        Wait::Skew => at(skew_time(cfg.version, cfg.priority, mai)),
        Wait::Kept => before,
        Wait::Adver => at(cfg.advert_interval.as_duration()),
    };
    if m.poll_timeout() != expect {
        return Err(format!(
            "timer at {:?}, want {:?} ({wait:?})",
            m.poll_timeout().map(|t| t - now),
            expect.map(|t| t - now)
        ));
    }
    let got = Want::Then {
        state: m.state(),
        wait: *wait,
        actions,
        mai_cs: mai.get(),
        list_mismatch,
    };
    (got == row.want).then_some(()).ok_or(format!("{got:?}"))
}

/// Every rule of RFC 3768 / RFC 5798 sections 7.1 and 6.4.1-6.4.3 that a
/// router acts on, as a row: see the module docs.
#[test]
fn every_receive_and_state_rule_of_the_rfcs() {
    let rows = rows();
    let failed: Vec<String> = rows
        .iter()
        .filter_map(|r| run(r).err().map(|e| format!("{}\n    got {e}", r.rule)))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} rules differ:\n{}",
        failed.len(),
        rows.len(),
        failed.join("\n")
    );
    // Every drop reason a peer's advert can earn at the filter has a rule.
    let dropped: Vec<DropReason> = (rows.iter())
        .filter_map(|r| match r.want {
            Want::Drop(d) => Some(d),
            _ => None,
        })
        .collect();
    for d in [
        DropReason::TtlNot255,
        DropReason::VersionMismatch,
        DropReason::UnknownVrid,
        DropReason::AddressOwner,
        DropReason::AuthMismatch,
        DropReason::IntervalMismatch,
        DropReason::Checksum,
        DropReason::StrictAddressList,
    ] {
        assert!(dropped.contains(&d), "no rule drops with {d:?}");
    }
}
