//! VRRP units and timer arithmetic.
//!
//! Owns: the unit newtypes (`Vrid`, `Priority`, `Centiseconds`, `AdverInt`,
//! `Version`) and the integer maths for Skew_Time and Master_Down_Interval.
//! Must not: read a clock, allocate, or know about sockets or config text.
//!
//! RFC 3768 section 6.1 (v2 timers: Skew_Time = (256 - Priority) / 256 s,
//! Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time) and RFC
//! 5798 section 6.1 (v3: Skew_Time = ((256 - Priority) * Master_Adver_Interval)
//! / 256 centiseconds, Master_Down_Interval = 3 * Master_Adver_Interval +
//! Skew_Time).
//!
//! Rounding: both formulas are evaluated in integer nanoseconds and the
//! single division by 256 is floored, so the result is exact or less than
//! 1 ns short (the remainder is at most 255/256 ns). Example: v2, advert 1 s,
//! priority 99: Skew_Time = 157 * 10^9 / 256 ns = 613.28125 ms exactly,
//! Master_Down_Interval = 3.61328125 s (keepalived measured 3.614 s).
//! keepalived itself truncates the v3 skew to whole centiseconds (v3, 50 ms,
//! priority 99: it waits 180 ms; we wait 180.664 ms, the RFC value).

use std::fmt;
use std::time::Duration;

/// Virtual Router Identifier, 1..=255 (RFC 5798 section 5.2.3; 0 is invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(u8);

impl Vrid {
    /// `None` for 0, which no VRRP router may use.
    pub const fn new(v: u8) -> Option<Self> {
        if v == 0 {
            None
        } else {
            Some(Self(v))
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// VRRP priority (RFC 5798 section 5.2.4). 0: the master is resigning;
/// 255: the router owns the virtual addresses; 1..=254: backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// Sent by a master that stops (RFC 5798 section 6.4.3).
    pub const RESIGN: Priority = Priority(0);
    /// The address owner.
    pub const OWNER: Priority = Priority(255);
    /// Highest priority a non-owner may have.
    pub const MAX_BACKUP: Priority = Priority(254);
    /// Lowest priority a running non-owner may have.
    pub const MIN_BACKUP: Priority = Priority(1);

    pub const fn get(self) -> u8 {
        self.0
    }

    pub const fn is_owner(self) -> bool {
        self.0 == 255
    }

    pub const fn is_resign(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A duration in centiseconds (1/100 s), the unit of VRRPv3 timers. VRRPv2
/// whole seconds are carried as `secs * 100` so the machine has one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Centiseconds(pub u16);

impl Centiseconds {
    pub const fn from_secs(secs: u8) -> Self {
        Self(secs as u16 * 100)
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }

    /// Whole seconds if this is a multiple of 100 cs within the v2 field.
    pub const fn as_v2_secs(self) -> Option<u8> {
        if self.0 % 100 == 0 && self.0 / 100 >= 1 && self.0 / 100 <= 255 {
            Some((self.0 / 100) as u8)
        } else {
            None
        }
    }
}

impl fmt::Display for Centiseconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}cs", self.0)
    }
}

/// The 12-bit VRRPv3 Max Adver Int, 1..=4095 centiseconds (RFC 5798
/// section 5.2.7). Zero is refused: a backup would learn a zero interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AdverInt(u16);

impl AdverInt {
    pub const MAX: u16 = 0x0fff;

    pub const fn new(cs: u16) -> Option<Self> {
        if cs == 0 || cs > Self::MAX {
            None
        } else {
            Some(Self(cs))
        }
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    pub const fn centiseconds(self) -> Centiseconds {
        Centiseconds(self.0)
    }
}

/// Protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, whole-second interval, optional simple password.
    V2,
    /// RFC 5798: IPv4 or IPv6, centisecond interval, no authentication.
    V3,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

const NANOS_PER_CS: u64 = 10_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Skew_Time for `priority` (RFC 3768 / RFC 5798 section 6.1), floored to
/// the nanosecond. v2 ignores the interval: its skew is always
/// (256 - Priority) / 256 seconds. Priority 0 is treated like 256 - 0, which
/// no router uses for itself.
pub fn skew_time(
    version: Version,
    priority: Priority,
    master_adver_interval: Centiseconds,
) -> Duration {
    let weight = 256 - u64::from(priority.0);
    let nanos = match version {
        Version::V2 => weight * NANOS_PER_SEC / 256,
        Version::V3 => weight * u64::from(master_adver_interval.0) * NANOS_PER_CS / 256,
    };
    Duration::from_nanos(nanos)
}

/// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(
    version: Version,
    priority: Priority,
    master_adver_interval: Centiseconds,
) -> Duration {
    master_adver_interval.as_duration() * 3 + skew_time(version, priority, master_adver_interval)
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
