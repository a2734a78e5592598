//! A short human summary of a config, for `vigil config show` and the
//! console: one line per instance, service and real server.
//!
//! Owns: wording and layout of the summary. Must not: be parsed back (the
//! exporter writes the machine form).

use super::model::{
    CheckKind, Checker, Config, InitialState, RealServer, VirtualServer, VrrpInstance,
};
use std::fmt::Write;

pub fn summary(c: &Config) -> String {
    let mut out = String::new();
    let g = &c.global;
    if let Some(a) = &c.appliance {
        let host = a.hostname.as_deref().unwrap_or("(no hostname)");
        let _ = writeln!(out, "appliance {host}: ip_forward {}", on_off(a.ip_forward));
        for i in &a.interfaces {
            let addrs: Vec<String> = i
                .addresses
                .iter()
                .map(|x| format!("{}/{}", x.addr, x.prefix))
                .collect();
            let _ = writeln!(out, "  {}: {}", i.name, or_none(&addrs.join(" ")));
        }
        let _ = writeln!(
            out,
            "  watchdog {} timeout {} s{}; console password {}",
            a.watchdog.device,
            a.watchdog.timeout,
            if a.watchdog.notify_reset.is_some() {
                ", notify_reset set"
            } else {
                ""
            },
            if a.console_password_hash.is_some() {
                "set"
            } else {
                "NOT SET"
            }
        );
    }
    let _ = writeln!(
        out,
        "router_id {}; mail to {} via {}",
        g.router_id.as_deref().unwrap_or("(none)"),
        or_none(&g.notification_email.join(", ")),
        g.smtp_server
            .map(|s| format!("{}:{}", s.addr, s.port))
            .unwrap_or_else(|| "(no smtp_server)".into())
    );
    for i in &c.vrrp_instances {
        instance_line(&mut out, c, i);
    }
    for s in &c.vrrp_sync_groups {
        let _ = writeln!(out, "vrrp_sync_group {}: {}", s.name, s.group.join(" "));
    }
    for v in &c.virtual_servers {
        service_lines(&mut out, c, v);
    }
    if c.vrrp_instances.is_empty() && c.virtual_servers.is_empty() {
        let _ = writeln!(
            out,
            "no vrrp_instance and no virtual_server: this box serves nothing"
        );
    }
    out
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "(none)"
    } else {
        s
    }
}

fn instance_line(out: &mut String, c: &Config, i: &VrrpInstance) {
    let state = match i.state {
        InitialState::Master => "MASTER",
        InitialState::Backup => "BACKUP",
    };
    let vips: Vec<String> = i
        .virtual_ipaddress
        .iter()
        .map(|v| format!("{}/{}", v.addr, v.prefix))
        .collect();
    let _ = writeln!(
        out,
        "vrrp_instance {}: {state} on {}, VRID {}, priority {}, VRRPv{} advert {} s, auth {}{}, VIP {}",
        i.name,
        i.interface,
        i.virtual_router_id,
        i.priority,
        i.effective_version(&c.global).number(),
        i.advert_int,
        if i.authentication.is_some() { "PASS" } else { "none" },
        if i.nopreempt { ", nopreempt" } else { "" },
        if vips.is_empty() { "(none)".to_owned() } else { vips.join(" ") }
    );
}

fn service_lines(out: &mut String, c: &Config, v: &VirtualServer) {
    let name = match &v.group {
        Some(g) => format!("group {g} ({} services)", c.keys_of(v).len()),
        None => v.key.to_string(),
    };
    let persistence = match (v.persistence_timeout, v.persistence_granularity) {
        (Some(t), Some(g)) => format!(", persistence {t} s per /{g}"),
        (Some(t), None) => format!(", persistence {t} s"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "virtual_server {} {} {} {}{persistence}: {} real server{}",
        name,
        v.protocol,
        v.scheduler,
        v.method,
        v.real_servers.len(),
        if v.real_servers.len() == 1 { "" } else { "s" }
    );
    for r in &v.real_servers {
        real_line(out, c, v, r);
    }
}

fn real_line(out: &mut String, c: &Config, v: &VirtualServer, r: &RealServer) {
    let port = r.port.map(|p| format!(" {p}")).unwrap_or_default();
    let checks: Vec<String> = (r.checkers.iter())
        .map(|k| {
            let by_vip = crate::ipvs::dr_path::goes_by_vip(c, v, r, k);
            check_text(v, k) + if by_vip { ", by the VIP (DR path)" } else { "" }
        })
        .collect();
    let _ = writeln!(
        out,
        "  real_server {}{port} weight {}: {}",
        r.addr,
        r.weight,
        if checks.is_empty() {
            "no check".to_owned()
        } else {
            checks.join("; ")
        }
    );
}

fn check_text(v: &VirtualServer, c: &Checker) -> String {
    let what = match &c.kind {
        CheckKind::Tcp => String::new(),
        CheckKind::Http(h) | CheckKind::Ssl(h) => {
            let paths: Vec<&str> = h.urls.iter().map(|u| u.path.as_str()).collect();
            format!(" {}", paths.join(","))
        }
        CheckKind::Ws(w) => format!(" {}", w.path),
        CheckKind::Misc(m) => format!(
            " {}{}",
            m.path.argv.join(" "),
            if m.dynamic { " (dynamic weight)" } else { "" }
        ),
    };
    format!(
        "{}{what} every {} s, timeout {} s, {} retr{}",
        c.kind.keyword(),
        c.delay_loop.unwrap_or(v.delay_loop),
        match &c.kind {
            CheckKind::Misc(m) => m.timeout.unwrap_or(v.delay_loop),
            _ => c.connect_timeout,
        },
        c.retry,
        if c.retry == 1 { "y" } else { "ies" }
    )
}
