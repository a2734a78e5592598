//! nf_tables over netlink: the few objects vigil's packet filter needs,
//! encoded as one atomic batch, and the socket that sends it.
//!
//! Owns: [`Table`] (a table of one family with its sets, their elements
//! and base chains of rules made of [`Expr`]s), the bytes of an nf_tables
//! batch ([`transaction`]: each table as a whole, put in place of
//! whatever table of that name was there, or removed, at once), and
//! [`apply`], which sends a batch and matches every message's ack.
//! Must not: decide what the filter holds (that is
//! [`super::no_accept`]) or touch any table but the one it names.
//!
//! Why by hand: the one pure-Rust nftables crate (rustables) calls itself
//! rough and trial-and-error, and the JSON one runs the `nft` program; the
//! handful of messages here is small, and `nft list ruleset` reads back
//! what they made (the namespace test does).
//!
//! Wire facts (linux/netfilter/nf_tables.h): every number in an nf_tables
//! attribute is big-endian, except what a register holds as the packet
//! has it (the mark is host order); a batch is framed by
//! `NFNL_MSG_BATCH_BEGIN` / `_END` whose `res_id` is the nftables
//! subsystem; the kernel either commits every message of a batch or none,
//! and answers each message that asked for an ack with 0 or -errno, also
//! when the batch failed. A set made in the same batch is referred to by
//! name plus the id given in its NEWSET. A register of 32 bits
//! (`NFT_REG32_00` + n) takes one field of a concatenated key; a field
//! shorter than 4 bytes is zero-padded, so a key's element is laid out
//! the same way.

use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{self as sock, sockopt, MsgFlags, NetlinkAddr};
use nix::sys::time::TimeVal;
use thiserror::Error;

use crate::ipvs::netlink::{self, Reply};
use crate::ipvs::wire::{emit_attrs, Attr};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;

const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;

const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_LIST_SET_ID: u16 = 4;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_LOOKUP_SET_ID: u16 = 4;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;

const NFT_REG_VERDICT: u32 = 0;
const NFT_CMP_EQ: u32 = 0;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;

/// How many elements one NEWSETELEM carries: an attribute's length is 16
/// bits, and an element of the widest key here (IPv6 . proto . port, 24
/// bytes) takes 36 bytes with its headers.
const ELEMENTS_PER_MESSAGE: usize = 1024;
/// Buffers asked for (as root, beyond the sysctl default): a batch goes
/// out in one send, and its acks come back in one burst.
const SNDBUF: usize = 16 << 20;
const RCVBUF: usize = 4 << 20;
const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// A table's address family (the `nfgenmsg` family byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Ip,
    Ip6,
}

impl Family {
    /// `NFPROTO_IPV4` / `NFPROTO_IPV6`.
    fn raw(self) -> u8 {
        match self {
            Family::Ip => 2,
            Family::Ip6 => 10,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        })
    }
}

/// Where a payload load starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Network = 1,
    Transport = 2,
}

/// What a meta load reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    Mark = 3,
    L4Proto = 16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
}

/// The 32-bit register `n` (`NFT_REG32_00` + n); a lookup's key starts in
/// one and runs on into the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg(pub u8);

impl Reg {
    fn raw(self) -> u32 {
        8 + u32::from(self.0)
    }
}

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Payload {
        base: Base,
        offset: u32,
        len: u32,
        dreg: Reg,
    },
    Meta {
        key: MetaKey,
        dreg: Reg,
    },
    /// Equal to `data`, else the rule ends here.
    CmpEq {
        sreg: Reg,
        data: Vec<u8>,
    },
    /// In the set named so, else the rule ends here.
    Lookup {
        set: &'static str,
        sreg: Reg,
    },
    Verdict(Verdict),
}

/// A set of keys (no map, no intervals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub name: &'static str,
    /// nft's data type number (concatenations packed 6 bits a field):
    /// only what `nft list` prints with; the kernel keeps it as given.
    pub key_type: u32,
    /// Bytes of a key, each field padded to 4.
    pub key_len: u32,
    pub elements: Vec<Vec<u8>>,
}

/// A base chain of policy accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: &'static str,
    /// `NF_INET_LOCAL_IN` (1) or `NF_INET_LOCAL_OUT` (3), ...
    pub hook: u32,
    pub priority: i32,
    pub rules: Vec<Vec<Expr>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub family: Family,
    pub name: &'static str,
    pub sets: Vec<Set>,
    pub chains: Vec<Chain>,
}

/// The bytes of one batch and what each message of it does (for errors).
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    /// Per message of the batch (begin and end excluded), in order.
    what: Vec<String>,
}

impl Batch {
    fn new() -> Self {
        let mut b = Batch::default();
        b.frame(NFNL_MSG_BATCH_BEGIN, 0, 0, NFNL_SUBSYS_NFTABLES, &[]);
        b
    }

    /// Message `i` of `what` goes with sequence number `i + 1`; begin is
    /// 0 and end the one after the last message.
    fn frame(&mut self, kind: u16, flags: u16, family: u8, res_id: u16, attrs: &[Attr]) {
        let mut payload = vec![family, 0];
        payload.extend_from_slice(&res_id.to_be_bytes());
        payload.extend_from_slice(&emit_attrs(attrs));
        let seq = self.what.len() as u32;
        netlink::frame(&mut self.bytes, kind, flags, seq, &payload);
    }

    fn push(&mut self, family: Family, msg: u16, flags: u16, attrs: &[Attr], what: String) {
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | msg;
        self.what.push(what);
        self.frame(kind, flags | netlink::NLM_F_ACK, family.raw(), 0, attrs);
    }

    fn finish(mut self) -> Self {
        self.what.push(String::new());
        self.frame(NFNL_MSG_BATCH_END, 0, 0, NFNL_SUBSYS_NFTABLES, &[]);
        self.what.pop();
        self
    }

    /// Messages in the batch, begin and end excluded.
    pub fn messages(&self) -> usize {
        self.what.len()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn be32(kind: u16, v: u32) -> Attr {
    Attr::new(kind, v.to_be_bytes())
}

fn data_value(kind: u16, bytes: &[u8]) -> Attr {
    Attr::nest(kind, &[Attr::new(NFTA_DATA_VALUE, bytes)])
}

/// Makes sure the table exists, then deletes it: a delete of a table that
/// is not there would fail the batch.
fn clear(b: &mut Batch, family: Family, name: &str) {
    let named = [Attr::string(NFTA_TABLE_NAME, name)];
    b.push(
        family,
        NFT_MSG_NEWTABLE,
        NLM_F_CREATE,
        &named,
        format!("table {family} {name}"),
    );
    b.push(
        family,
        NFT_MSG_DELTABLE,
        0,
        &named,
        format!("delete table {family} {name}"),
    );
}

/// One transaction that leaves each named table exactly as described
/// (`Some`), whatever a table of its name held before (vigil's own, from
/// an earlier run), or gone (`None`).
pub fn transaction(tables: &[(Family, &str, Option<&Table>)]) -> Batch {
    let mut b = Batch::new();
    for (family, name, table) in tables {
        clear(&mut b, *family, name);
        if let Some(t) = table {
            put(&mut b, t);
        }
    }
    b.finish()
}

/// The messages that make `table` (absent before them).
fn put(b: &mut Batch, table: &Table) {
    let (family, name) = (table.family, table.name);
    let named = [Attr::string(NFTA_TABLE_NAME, name)];
    b.push(
        family,
        NFT_MSG_NEWTABLE,
        NLM_F_CREATE,
        &named,
        format!("table {family} {name}"),
    );
    for (i, set) in table.sets.iter().enumerate() {
        let id = i as u32 + 1;
        let attrs = [
            Attr::string(NFTA_SET_TABLE, name),
            Attr::string(NFTA_SET_NAME, set.name),
            be32(NFTA_SET_FLAGS, 0),
            be32(NFTA_SET_KEY_TYPE, set.key_type),
            be32(NFTA_SET_KEY_LEN, set.key_len),
            be32(NFTA_SET_ID, id),
        ];
        b.push(
            family,
            NFT_MSG_NEWSET,
            NLM_F_CREATE,
            &attrs,
            format!("set {}", set.name),
        );
        for chunk in set.elements.chunks(ELEMENTS_PER_MESSAGE) {
            let elements: Vec<Attr> = (chunk.iter())
                .map(|key| Attr::nest(NFTA_LIST_ELEM, &[data_value(NFTA_SET_ELEM_KEY, key)]))
                .collect();
            let attrs = [
                Attr::string(NFTA_SET_ELEM_LIST_TABLE, name),
                Attr::string(NFTA_SET_ELEM_LIST_SET, set.name),
                Attr::nest(NFTA_SET_ELEM_LIST_ELEMENTS, &elements),
                be32(NFTA_SET_ELEM_LIST_SET_ID, id),
            ];
            let what = format!("{} elements of set {}", chunk.len(), set.name);
            b.push(family, NFT_MSG_NEWSETELEM, NLM_F_CREATE, &attrs, what);
        }
    }
    for chain in &table.chains {
        let hook = [
            be32(NFTA_HOOK_HOOKNUM, chain.hook),
            be32(NFTA_HOOK_PRIORITY, chain.priority as u32),
        ];
        let attrs = [
            Attr::string(NFTA_CHAIN_TABLE, name),
            Attr::string(NFTA_CHAIN_NAME, chain.name),
            Attr::nest(NFTA_CHAIN_HOOK, &hook),
            be32(NFTA_CHAIN_POLICY, NF_ACCEPT),
            Attr::string(NFTA_CHAIN_TYPE, "filter"),
        ];
        b.push(
            family,
            NFT_MSG_NEWCHAIN,
            NLM_F_CREATE,
            &attrs,
            format!("chain {}", chain.name),
        );
        for (n, rule) in chain.rules.iter().enumerate() {
            let exprs: Vec<Attr> = rule.iter().map(|e| expr(e, &table.sets)).collect();
            let attrs = [
                Attr::string(NFTA_RULE_TABLE, name),
                Attr::string(NFTA_RULE_CHAIN, chain.name),
                Attr::nest(NFTA_RULE_EXPRESSIONS, &exprs),
            ];
            let what = format!("rule {} of chain {}", n + 1, chain.name);
            b.push(
                family,
                NFT_MSG_NEWRULE,
                NLM_F_CREATE | NLM_F_APPEND,
                &attrs,
                what,
            );
        }
    }
}

fn expr(e: &Expr, sets: &[Set]) -> Attr {
    let (name, data) = match e {
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => (
            "payload",
            vec![
                be32(NFTA_PAYLOAD_DREG, dreg.raw()),
                be32(NFTA_PAYLOAD_BASE, *base as u32),
                be32(NFTA_PAYLOAD_OFFSET, *offset),
                be32(NFTA_PAYLOAD_LEN, *len),
            ],
        ),
        Expr::Meta { key, dreg } => (
            "meta",
            vec![
                be32(NFTA_META_DREG, dreg.raw()),
                be32(NFTA_META_KEY, *key as u32),
            ],
        ),
        Expr::CmpEq { sreg, data } => (
            "cmp",
            vec![
                be32(NFTA_CMP_SREG, sreg.raw()),
                be32(NFTA_CMP_OP, NFT_CMP_EQ),
                data_value(NFTA_CMP_DATA, data),
            ],
        ),
        Expr::Lookup { set, sreg } => {
            let mut attrs = vec![
                Attr::string(NFTA_LOOKUP_SET, set),
                be32(NFTA_LOOKUP_SREG, sreg.raw()),
            ];
            if let Some(i) = sets.iter().position(|s| s.name == *set) {
                attrs.push(be32(NFTA_LOOKUP_SET_ID, i as u32 + 1));
            }
            ("lookup", attrs)
        }
        Expr::Verdict(v) => {
            let code = match v {
                Verdict::Accept => NF_ACCEPT,
                Verdict::Drop => NF_DROP,
            };
            let verdict = Attr::nest(NFTA_DATA_VERDICT, &[be32(NFTA_VERDICT_CODE, code)]);
            (
                "immediate",
                vec![
                    be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT),
                    Attr::nest(NFTA_IMMEDIATE_DATA, &[verdict]),
                ],
            )
        }
    };
    Attr::nest(
        NFTA_LIST_ELEM,
        &[
            Attr::string(NFTA_EXPR_NAME, name),
            Attr::nest(NFTA_EXPR_DATA, &data),
        ],
    )
}

/// Why a batch did not take.
#[derive(Debug, Error)]
pub enum NftError {
    #[error("nftables netlink {what}: {errno}")]
    Socket {
        what: &'static str,
        #[source]
        errno: nix::errno::Errno,
    },
    /// The kernel refused a message: the whole batch was rolled back.
    #[error("the kernel refused {what}: {errno} (nothing of the batch was applied)")]
    Refused {
        what: String,
        errno: nix::errno::Errno,
    },
    #[error("nftables netlink: {0}")]
    Frame(String),
    #[error(
        "nftables netlink: no answer for {missing} of {sent} messages within {RECV_TIMEOUT:?}"
    )]
    NoAnswer { missing: usize, sent: usize },
}

fn socket_err(what: &'static str) -> impl Fn(nix::errno::Errno) -> NftError {
    move |errno| NftError::Socket { what, errno }
}

/// A netlink socket of the netfilter family, bound, with a receive
/// timeout (an answer that never comes is an error, not a hang).
fn open() -> Result<OwnedFd, NftError> {
    let fd = sock::socket(
        sock::AddressFamily::Netlink,
        sock::SockType::Raw,
        sock::SockFlag::SOCK_CLOEXEC,
        sock::SockProtocol::NetlinkNetFilter,
    )
    .map_err(socket_err("socket"))?;
    sock::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(socket_err("bind"))?;
    let timeout = TimeVal::new(RECV_TIMEOUT.as_secs() as _, 0);
    sock::setsockopt(&fd, sockopt::ReceiveTimeout, &timeout).map_err(socket_err("SO_RCVTIMEO"))?;
    Ok(fd)
}

/// The requests of [`any_table`]: a GETTABLE of each table, message `i`
/// with sequence number `i + 1`. A read: no transaction, nothing to
/// commit.
fn get_tables(tables: &[(Family, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (family, name)) in tables.iter().enumerate() {
        let mut payload = vec![family.raw(), 0, 0, 0];
        payload.extend_from_slice(&emit_attrs(&[Attr::string(NFTA_TABLE_NAME, name)]));
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
        netlink::frame(&mut out, kind, netlink::NLM_F_ACK, i as u32 + 1, &payload);
    }
    out
}

/// What the answers to [`get_tables`]`(tables)` say so far: `found` set
/// when a table was described, `answered[i]` once request `i` has its
/// ack or its refusal. A table that is not there is `ENOENT`; any other
/// refusal is the error, naming the table.
fn read_tables(
    buf: &[u8],
    tables: &[(Family, &str)],
    answered: &mut [bool],
    found: &mut bool,
) -> Result<(), NftError> {
    let msgs = netlink::parse(buf).map_err(|e| NftError::Frame(e.to_string()))?;
    for m in msgs {
        let Some(i) = (m.seq as usize)
            .checked_sub(1)
            .filter(|i| *i < tables.len())
        else {
            continue;
        };
        match m.reply {
            Reply::Data(_) => *found = true,
            Reply::Ack => answered[i] = true,
            Reply::Error(errno) if errno == nix::errno::Errno::ENOENT as i32 => answered[i] = true,
            Reply::Error(errno) => {
                let (family, name) = tables[i];
                return Err(NftError::Refused {
                    what: format!("a read of table {family} {name}"),
                    errno: nix::errno::Errno::from_raw(errno),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// One `recv` of answers; `None` when none came within the timeout.
fn recv_some(fd: &OwnedFd, buf: &mut [u8]) -> Result<Option<usize>, NftError> {
    match sock::recv(fd.as_raw_fd(), buf, MsgFlags::empty()) {
        Ok(n) => Ok(Some(n)),
        Err(nix::errno::Errno::EAGAIN) => Ok(None),
        Err(errno) => Err(NftError::Socket {
            what: "recv",
            errno,
        }),
    }
}

fn unanswered(answered: &[bool]) -> usize {
    answered.iter().filter(|a| !**a).count()
}

/// Whether any of `tables` is in the kernel: a read, far cheaper than a
/// transaction (which commits even when it only removes what is not
/// there). Blocking: the kernel answers a GET while it is sent.
pub fn any_table(tables: &[(Family, &str)]) -> Result<bool, NftError> {
    let fd = open()?;
    sock::send(fd.as_raw_fd(), &get_tables(tables), MsgFlags::empty())
        .map_err(socket_err("send"))?;
    let mut answered = vec![false; tables.len()];
    let mut found = false;
    let mut buf = vec![0u8; 1 << 14];
    while answered.iter().any(|a| !a) {
        let Some(n) = recv_some(&fd, &mut buf)? else {
            return Err(NftError::NoAnswer {
                missing: unanswered(&answered),
                sent: tables.len(),
            });
        };
        read_tables(&buf[..n], tables, &mut answered, &mut found)?;
    }
    Ok(found)
}

/// Sends `batch` on a fresh socket and waits for every message's answer.
/// Blocking (a few milliseconds); the first refusal is the error.
pub fn apply(batch: &Batch) -> Result<(), NftError> {
    let fd = open()?;
    if sock::setsockopt(&fd, sockopt::SndBufForce, &SNDBUF).is_err() {
        let _ = sock::setsockopt(&fd, sockopt::SndBuf, &SNDBUF);
    }
    if sock::setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
        let _ = sock::setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
    }
    sock::send(fd.as_raw_fd(), &batch.bytes, MsgFlags::empty()).map_err(socket_err("send"))?;
    let sent = batch.what.len();
    let mut answered = vec![false; sent];
    let mut first_refusal = None;
    let mut buf = vec![0u8; 1 << 16];
    while answered.iter().any(|a| !a) {
        let Some(n) = recv_some(&fd, &mut buf)? else {
            // A refused batch may leave later messages unanswered: the
            // refusal is what counts.
            return Err(first_refusal.unwrap_or(NftError::NoAnswer {
                missing: unanswered(&answered),
                sent,
            }));
        };
        let msgs = netlink::parse(&buf[..n]).map_err(|e| NftError::Frame(e.to_string()))?;
        for m in msgs {
            let Some(i) = (m.seq as usize).checked_sub(1).filter(|i| *i < sent) else {
                continue;
            };
            match m.reply {
                Reply::Ack => answered[i] = true,
                Reply::Error(errno) => {
                    answered[i] = true;
                    first_refusal.get_or_insert(NftError::Refused {
                        what: batch.what[i].clone(),
                        errno: nix::errno::Errno::from_raw(errno),
                    });
                }
                _ => {}
            }
        }
    }
    first_refusal.map_or(Ok(()), Err)
}

#[cfg(test)]
#[path = "nft_tests.rs"]
mod tests;
