//! Rendering of `vigil status`: a human table and JSON.
//!
//! Owns: wording, layout and the JSON shape of the status. The JSON is
//! written by hand (serde_json is not a dependency; the shape is small and
//! flat): strings are escaped per RFC 8259, numbers are integers.
//! Must not: talk to the daemon.

use std::fmt::Write;

use super::{InstanceStatus, Status};

fn secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Human-readable status, one block per instance.
pub fn text(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "vigil: config {}, up {}", s.source, secs(s.uptime_ms));
    if s.instances.is_empty() {
        let _ = writeln!(out, "no vrrp instance");
    }
    for i in &s.instances {
        let _ = writeln!(
            out,
            "{} {} on {} vrid {} v{} ipv{}: priority {} (effective {}), master {}, advert {}, {} in state",
            i.name,
            i.state,
            i.interface,
            i.vrid,
            i.version,
            i.family,
            i.priority,
            i.effective_priority,
            if i.master.is_empty() { "unknown" } else { &i.master },
            secs(u64::from(i.advert_interval_ms)),
            secs(i.in_state_ms),
        );
        if let Some(e) = &i.error {
            let _ = writeln!(out, "  error: {e}");
        }
        if !i.drops.is_empty() {
            let d: Vec<String> = i.drops.iter().map(|(n, c)| format!("{n} {c}")).collect();
            let _ = writeln!(out, "  dropped: {}", d.join(", "));
        }
    }
    for r in &s.receivers {
        if r.unknown_vrid + r.queue_full + r.restarts > 0 {
            let _ = writeln!(
                out,
                "receiver {} ipv{}: unknown_vrid {}, queue_full {}, restarts {}",
                r.interface, r.family, r.unknown_vrid, r.queue_full, r.restarts
            );
        }
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn instance_json(i: &InstanceStatus) -> String {
    let drops: Vec<String> = i
        .drops
        .iter()
        .map(|(n, c)| format!("{}:{c}", json_str(n)))
        .collect();
    format!(
        "{{\"name\":{},\"state\":{},\"interface\":{},\"vrid\":{},\"version\":{},\"family\":{},\
         \"priority\":{},\"effective_priority\":{},\"master\":{},\"advert_interval_ms\":{},\
         \"in_state_ms\":{},\"drops\":{{{}}},\"error\":{}}}",
        json_str(&i.name),
        json_str(&i.state),
        json_str(&i.interface),
        i.vrid,
        i.version,
        i.family,
        i.priority,
        i.effective_priority,
        json_str(&i.master),
        i.advert_interval_ms,
        i.in_state_ms,
        drops.join(","),
        i.error.as_deref().map_or("null".to_owned(), json_str),
    )
}

/// The status as one line of JSON.
pub fn json(s: &Status) -> String {
    let inst: Vec<String> = s.instances.iter().map(instance_json).collect();
    let recv: Vec<String> = s
        .receivers
        .iter()
        .map(|r| {
            format!(
                "{{\"interface\":{},\"family\":{},\"unknown_vrid\":{},\"queue_full\":{},\"restarts\":{}}}",
                json_str(&r.interface),
                r.family,
                r.unknown_vrid,
                r.queue_full,
                r.restarts
            )
        })
        .collect();
    format!(
        "{{\"source\":{},\"uptime_ms\":{},\"instances\":[{}],\"receivers\":[{}]}}",
        json_str(&s.source),
        s.uptime_ms,
        inst.join(","),
        recv.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::super::ReceiverStatus;
    use super::*;

    fn sample() -> Status {
        Status {
            source: "/etc/keepalived/keepalived.conf".into(),
            uptime_ms: 12_345,
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                state: "BACKUP".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 2,
                family: 4,
                priority: 99,
                effective_priority: 99,
                master: "10.9.0.1".into(),
                advert_interval_ms: 1000,
                in_state_ms: 1500,
                drops: vec![("auth_mismatch".into(), 2), ("ttl_not_255".into(), 1)],
                error: None,
            }],
            receivers: vec![ReceiverStatus {
                interface: "eth0".into(),
                family: 4,
                unknown_vrid: 4,
                queue_full: 0,
                restarts: 0,
            }],
        }
    }

    #[test]
    fn text_layout() {
        assert_eq!(
            text(&sample()),
            "vigil: config /etc/keepalived/keepalived.conf, up 12.345s\n\
             VI_1 BACKUP on eth0 vrid 51 v2 ipv4: priority 99 (effective 99), master 10.9.0.1, advert 1s, 1.500s in state\n\
             \x20 dropped: auth_mismatch 2, ttl_not_255 1\n\
             receiver eth0 ipv4: unknown_vrid 4, queue_full 0, restarts 0\n"
        );
    }

    #[test]
    fn text_without_instances() {
        let s = Status {
            source: "factory default".into(),
            ..Default::default()
        };
        assert!(text(&s).contains("no vrrp instance"));
    }

    #[test]
    fn json_shape() {
        assert_eq!(
            json(&sample()),
            "{\"source\":\"/etc/keepalived/keepalived.conf\",\"uptime_ms\":12345,\"instances\":[\
             {\"name\":\"VI_1\",\"state\":\"BACKUP\",\"interface\":\"eth0\",\"vrid\":51,\"version\":2,\
             \"family\":4,\"priority\":99,\"effective_priority\":99,\"master\":\"10.9.0.1\",\
             \"advert_interval_ms\":1000,\"in_state_ms\":1500,\"drops\":{\"auth_mismatch\":2,\
             \"ttl_not_255\":1},\"error\":null}],\"receivers\":[{\"interface\":\"eth0\",\"family\":4,\
             \"unknown_vrid\":4,\"queue_full\":0,\"restarts\":0}]}"
        );
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
