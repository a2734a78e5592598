//! BIRD's config, written from the `bgp` block and what is announced.
//!
//! Owns: the text (BIRD 2 syntax) and the names vigil gives BIRD's
//! protocols, which [`super::reply`]'s readers look for. Must not: write
//! the file or talk to BIRD ([`super::client`] does).
//!
//! The layout: a device protocol (BGP needs it to see the interfaces),
//! BFD when a neighbour asks for it, one static protocol per family
//! holding each announced address as a blackhole route (the route exists
//! only to be exported: with no kernel protocol, BIRD never installs it),
//! one export filter (the communities; the prepends of a drain) and one
//! BGP protocol per neighbour, importing nothing. A change of what is
//! announced changes only the static protocols or the filter, so BIRD's
//! `configure` keeps every session up and sends only the difference.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::announce::Announce;
use crate::config::model::{Bgp, BgpNeighbor};

/// The static protocols holding the announced routes.
pub const STATIC_V4: &str = "vigil_v4";
pub const STATIC_V6: &str = "vigil_v6";
const FILTER: &str = "vigil_out";
/// Seconds between attempts to connect to a neighbour.
const CONNECT_RETRY_S: u32 = 5;
/// Seconds before a session that failed starts again: the first wait, and
/// the most it grows to while failures repeat (BIRD doubles it).
const ERROR_WAIT_S: &str = "5, 60";

/// The BGP protocol BIRD runs for `n`: `vigil_` and its address with
/// every `.` and `:` made `_` (unique, since each neighbour's address is).
pub fn protocol_name(n: &BgpNeighbor) -> String {
    let addr = n.address.to_string().replace(['.', ':'], "_");
    format!("vigil_{addr}")
}

/// The whole file.
pub fn render(b: &Bgp, a: &Announce) -> String {
    let mut out = String::with_capacity(2048);
    // Writing to a String cannot fail.
    let _ = write_all(&mut out, b, a);
    out
}

fn write_all(o: &mut String, b: &Bgp, a: &Announce) -> std::fmt::Result {
    writeln!(
        o,
        "# Written by vigil from the bgp block of its config, and again"
    )?;
    writeln!(
        o,
        "# whenever what it announces changes: edit vigil's config, not this."
    )?;
    writeln!(o, "router id {};", b.router_id)?;
    writeln!(o, "protocol device vigil_device {{\n}}")?;
    if b.neighbors.iter().any(|n| n.bfd) {
        bfd(o, b)?;
    }
    for (name, channel, v4) in [(STATIC_V4, "ipv4", true), (STATIC_V6, "ipv6", false)] {
        writeln!(o, "protocol static {name} {{\n    {channel};")?;
        for r in a.routes.iter().filter(|r| r.is_ipv4() == v4) {
            writeln!(o, "    route {r}/{} blackhole;", if v4 { 32 } else { 128 })?;
        }
        writeln!(o, "}}")?;
    }
    filter(o, b, a)?;
    for n in &b.neighbors {
        neighbor(o, b, n)?;
    }
    Ok(())
}

fn bfd(o: &mut String, b: &Bgp) -> std::fmt::Result {
    let (ms, mult) = (b.bfd_interval.0, b.bfd_multiplier);
    writeln!(o, "protocol bfd vigil_bfd {{")?;
    writeln!(
        o,
        "    interface \"*\" {{\n        interval {ms} ms;\n        multiplier {mult};\n    }};"
    )?;
    writeln!(
        o,
        "    multihop {{\n        interval {ms} ms;\n        multiplier {mult};\n    }};"
    )?;
    writeln!(o, "}}")
}

/// Only the static protocols' routes leave, with the communities and
/// the drain's prepends.
fn filter(o: &mut String, b: &Bgp, a: &Announce) -> std::fmt::Result {
    writeln!(o, "filter {FILTER} {{")?;
    writeln!(
        o,
        "    if proto != \"{STATIC_V4}\" && proto != \"{STATIC_V6}\" then reject;"
    )?;
    for (asn, value) in &b.communities {
        writeln!(o, "    bgp_community.add(({asn},{value}));")?;
    }
    for _ in 0..a.prepend {
        writeln!(o, "    bgp_path.prepend({});", b.local_as)?;
    }
    writeln!(o, "    accept;\n}}")
}

fn neighbor(o: &mut String, b: &Bgp, n: &BgpNeighbor) -> std::fmt::Result {
    writeln!(o, "protocol bgp {} {{", protocol_name(n))?;
    writeln!(o, "    description \"vigil neighbor {}\";", n.address)?;
    // BIRD waits 120 s to connect again after a failed attempt and 60 s
    // (up to 300) after a session error: a box whose link came back would
    // stay out of the router's paths for minutes.
    writeln!(o, "    connect retry time {CONNECT_RETRY_S};")?;
    writeln!(o, "    error wait time {ERROR_WAIT_S};")?;
    match n.source_address {
        Some(s) => writeln!(o, "    local {s} as {};", b.local_as)?,
        None => writeln!(o, "    local as {};", b.local_as)?,
    }
    writeln!(o, "    neighbor {} as {};", n.address, n.remote_as)?;
    if let Some(p) = &n.password {
        // The parser admits no '"' and no '\' in a password.
        writeln!(o, "    password \"{p}\";")?;
    }
    if n.bfd {
        writeln!(o, "    bfd on;")?;
    }
    if let Some(ttl) = n.multihop {
        writeln!(o, "    multihop {ttl};")?;
    }
    if let Some(h) = n.hold_time {
        writeln!(o, "    hold time {h};")?;
    }
    let channel = match n.address {
        IpAddr::V4(_) => "ipv4",
        IpAddr::V6(_) => "ipv6",
    };
    writeln!(
        o,
        "    {channel} {{\n        import none;\n        export filter {FILTER};\n    }};"
    )?;
    writeln!(o, "}}")
}

#[cfg(test)]
#[path = "bird_tests.rs"]
mod tests;
