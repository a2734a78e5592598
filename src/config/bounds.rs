//! Bounded value types and the limits of the configuration.
//!
//! Owns: every numeric and size bound a config must respect, and the small
//! newtypes whose constructors enforce them. Must not: know about text
//! syntax or locations (the parser turns a `BoundError` into a located one).
//!
//! Where a protocol fixes the bound (interface names, the VRRPv2 PASS key)
//! the storage is `heapless`, so an over-long value cannot even be held.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Linux IFNAMSIZ is 16 including the terminating NUL.
pub const IFNAME_MAX: usize = 15;
/// RFC 3768 section 5.3.11: the simple text password is 8 octets.
pub const PASS_KEY_MAX: usize = 8;
/// Addresses in one VRRP advert. 64 IPv6 addresses make a 1,072-byte
/// packet, inside IPv6's 1,280-byte minimum MTU, so any link carries it.
pub const VIPS_MAX: usize = 64;
pub const VIPS_EXCLUDED_MAX: usize = 256;
/// Lines of one `virtual_routes` / `virtual_rules` block, and of the
/// global `static_routes` / `static_rules`: each is a netlink call on a
/// state change, on the VRRP thread (a bounded one: 256 calls are a few
/// milliseconds on a healthy kernel).
pub const ROUTES_MAX: usize = 256;
pub const INSTANCES_MAX: usize = 255;
pub const SYNC_GROUPS_MAX: usize = 64;
pub const UNICAST_PEERS_MAX: usize = 16;
pub const TRACK_INTERFACES_MAX: usize = 16;
pub const VIRTUAL_SERVERS_MAX: usize = 1024;
pub const REAL_SERVERS_MAX: usize = 1024;
/// The largest table the appliance holds: destinations (a real server
/// once per IPVS service it serves, `virtual_server group` expanded) in
/// the whole config. The one limit of a config's size: the text bounds
/// (`syntax::MAX_TOTAL_BYTES`, 256 bytes per destination at this bound)
/// and the rest follow from it. Why this number is in the README (Bounds):
/// what a reload, a restart, the status and the checks were measured to
/// hold on a 1 GB box.
pub const DESTINATIONS_MAX: usize = 100_000;
/// The fwmarks vigil keeps for its DR-path services (`ipvs::dr_path`): a
/// `fwmark` virtual server may not use them. More than
/// [`DESTINATIONS_MAX`], so every real server finds one.
pub const DR_PATH_MARK_FIRST: u32 = 0x7660_0000;
pub const DR_PATH_MARK_COUNT: u32 = 1 << 20;

/// Whether `mark` is one of the DR-path marks.
pub fn is_dr_path_mark(mark: u32) -> bool {
    mark.wrapping_sub(DR_PATH_MARK_FIRST) < DR_PATH_MARK_COUNT
}
pub const CHECKERS_MAX: usize = 4;
pub const URLS_MAX: usize = 16;
pub const EMAILS_MAX: usize = 16;
pub const APPLIANCE_INTERFACES_MAX: usize = 2;
pub const ADDRESSES_PER_INTERFACE_MAX: usize = 8;
pub const ROUTES_PER_INTERFACE_MAX: usize = 16;
/// Names of instances, groups, hostnames, router ids, labels of text.
pub const NAME_MAX: usize = 64;
/// Script command lines, URL paths, e-mail addresses.
pub const TEXT_MAX: usize = 1024;

// Ranges of values, shared by the parser and the tests that generate
// configs, so the two cannot drift apart.

/// The longest any timer in a config may be.
pub const DAY: Millis = Millis::secs(86_400);
/// Gratuitous ARPs / NAs per burst.
pub const GARP_REPEAT_MAX: u32 = 100;
/// Gap between gratuitous ARPs inside a burst.
pub const GARP_INTERVAL_MAX: Millis = Millis::secs(1);
/// `lvs_timeouts`: IPVS keeps them as seconds in an int; a month is plenty.
pub const LVS_TIMEOUT_MAX: u32 = 31 * 86_400;
pub const SMTP_TIMEOUT_MAX: Millis = Millis::secs(3600);
/// VRRPv3 allows 10 ms..40.95 s, VRRPv2 1..255 s (validate checks which).
pub const ADVERT_MIN: Millis = Millis(10);
pub const ADVERT_MAX: Millis = Millis::secs(255);
pub const PREEMPT_DELAY_MAX: Millis = Millis::secs(1000);
pub const DELAY_LOOP_MIN: Millis = Millis(100);
pub const CONNECT_TIMEOUT_MAX: Millis = Millis::secs(3600);
pub const RETRY_MAX: u32 = 1000;
/// IPVS stores the persistence timeout in jiffies in an unsigned int.
pub const PERSISTENCE_TIMEOUT_MAX: u32 = u32::MAX / 1000;
pub const MTU_MIN: u32 = 576;
pub const MTU_MAX: u32 = 9216;
/// i6300esb counts up to about 2046 s; a minute-scale bound keeps a typo
/// from disabling recovery for hours.
pub const WATCHDOG_TIMEOUT_MAX: u32 = 600;
pub const TRACK_WEIGHT_MAX: i32 = 254;
pub const VIRTUALHOST_MAX: usize = 256;

/// Why a value does not fit its type; the parser adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundError {
    TooLong { max: usize },
    Empty,
    BadChar { ch: char },
}

impl fmt::Display for BoundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundError::TooLong { max } => write!(f, "at most {max} bytes"),
            BoundError::Empty => f.write_str("a non-empty value"),
            BoundError::BadChar { ch } => write!(f, "no {ch:?} in it"),
        }
    }
}

/// A Linux interface name: 1..=15 bytes, no '/', ':' allowed only for
/// labels, no whitespace.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IfName(heapless::String<IFNAME_MAX>);

impl IfName {
    pub fn new(s: &str) -> Result<Self, BoundError> {
        if s.is_empty() {
            return Err(BoundError::Empty);
        }
        if let Some(ch) = s
            .chars()
            .find(|c| c.is_whitespace() || *c == '/' || c.is_control())
        {
            return Err(BoundError::BadChar { ch });
        }
        heapless::String::try_from(s)
            .map(IfName)
            .map_err(|_| BoundError::TooLong { max: IFNAME_MAX })
    }

    /// The key keepalived makes of `s`: its first 8 bytes. Also returns
    /// whether anything was cut. A cut inside a multi-byte character is
    /// refused (the key is text), as too long.
    pub fn first_bytes(s: &str) -> Result<(Self, bool), BoundError> {
        if s.len() <= PASS_KEY_MAX {
            return Self::new(s).map(|k| (k, false));
        }
        match s.get(..PASS_KEY_MAX) {
            Some(head) => Self::new(head).map(|k| (k, true)),
            None => Err(BoundError::TooLong { max: PASS_KEY_MAX }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The VRRPv2 simple text password (auth type 1): 1..=8 bytes, sent
/// zero-padded. [`PassKey::new`] refuses a longer one;
/// [`PassKey::first_bytes`] keeps its first 8 bytes, as keepalived does
/// (the config reader warns), so both ends of a mixed pair send and expect
/// the same 8 octets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassKey(heapless::String<PASS_KEY_MAX>);

impl PassKey {
    pub fn new(s: &str) -> Result<Self, BoundError> {
        if s.is_empty() {
            return Err(BoundError::Empty);
        }
        heapless::String::try_from(s)
            .map(PassKey)
            .map_err(|_| BoundError::TooLong { max: PASS_KEY_MAX })
    }

    /// The key keepalived makes of `s`: its first 8 bytes. Also returns
    /// whether anything was cut. A cut inside a multi-byte character is
    /// refused (the key is text), as too long.
    pub fn first_bytes(s: &str) -> Result<(Self, bool), BoundError> {
        if s.len() <= PASS_KEY_MAX {
            return Self::new(s).map(|k| (k, false));
        }
        match s.get(..PASS_KEY_MAX) {
            Some(head) => Self::new(head).map(|k| (k, true)),
            None => Err(BoundError::TooLong { max: PASS_KEY_MAX }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 8 octets as they go on the wire.
    pub fn octets(&self) -> [u8; PASS_KEY_MAX] {
        let mut out = [0u8; PASS_KEY_MAX];
        out[..self.0.len()].copy_from_slice(self.0.as_bytes());
        out
    }
}

impl fmt::Debug for PassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are not secrets on the wire, but keep them out of logs.
        f.write_str("PassKey(..)")
    }
}

/// Bounded free text (names, paths, addresses of mail): checked length, no
/// control characters; stored as a `String` since the bound is ours, not a
/// protocol's.
pub fn check_text(s: &str, max: usize) -> Result<(), BoundError> {
    if s.is_empty() {
        return Err(BoundError::Empty);
    }
    if s.len() > max {
        return Err(BoundError::TooLong { max });
    }
    if let Some(ch) = s.chars().find(|c| c.is_control()) {
        return Err(BoundError::BadChar { ch });
    }
    Ok(())
}

/// A duration with millisecond resolution, written in configs as decimal
/// seconds (`1`, `0.05`, `3.5`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Millis(pub u32);

impl Millis {
    pub const fn secs(s: u32) -> Self {
        Millis(s * 1000)
    }

    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.0))
    }

    /// Parse decimal seconds with at most three fractional digits. More
    /// digits are refused rather than rounded.
    pub fn parse_secs(s: &str) -> Option<Self> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if frac.len() > 3 || s.ends_with('.') {
            return None;
        }
        let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut ms = 0u32;
        for (i, b) in frac.bytes().enumerate() {
            ms += u32::from(b - b'0') * [100, 10, 1][i];
        }
        int.checked_mul(1000)?.checked_add(ms).map(Millis)
    }
}

impl fmt::Display for Millis {
    /// Shortest decimal seconds that parse back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, ms) = (self.0 / 1000, self.0 % 1000);
        if ms == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{ms:03}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl fmt::Debug for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}s")
    }
}

#[cfg(test)]
#[path = "bounds_tests.rs"]
mod tests;

/// `bgp` block: neighbours, communities, AS prepends when draining, and
/// the TCP MD5 key's length (RFC 2385 keys are at most 80 bytes).
pub const BGP_NEIGHBORS_MAX: usize = 16;
pub const BGP_COMMUNITIES_MAX: usize = 16;
pub const BGP_PREPEND_MAX: u32 = 8;
pub const BGP_PASSWORD_MAX: usize = 80;
/// BFD's interval: 10 ms to 10 s.
pub const BFD_INTERVAL_MIN: Millis = Millis(10);
pub const BFD_INTERVAL_MAX: Millis = Millis::secs(10);
