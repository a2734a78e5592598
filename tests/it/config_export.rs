//! Export over generated valid configs: total, deterministic, and laid out
//! as the parser expects (four spaces per open block, balanced braces).
//! Also checks the generator against the validity rules it promises, so
//! the round-trip test built on it starts from valid input.

use crate::support::arb_config;

use arb_config::arb_config;
use proptest::prelude::*;
use std::collections::BTreeSet;
use vigil::config::export::export;
use vigil::config::model::*;
use vigil::config::Config;

/// Checks indentation against the brace depth; returns the message of the
/// first offending line.
fn check_layout(text: &str) -> Result<(), String> {
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, l)| l) != Some("# vigil canonical config") {
        return Err("missing header".into());
    }
    let mut depth = 0usize;
    for (n, line) in lines {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if body.is_empty() {
            if !line.is_empty() || depth != 0 {
                return Err(format!("line {}: blank line inside a block", n + 1));
            }
            continue;
        }
        if body == "}" {
            depth = depth
                .checked_sub(1)
                .ok_or(format!("line {}: unbalanced }}", n + 1))?;
        }
        if indent != 4 * depth || body.starts_with(char::is_whitespace) || body.ends_with(' ') {
            return Err(format!("line {}: bad indentation {line:?}", n + 1));
        }
        if body.ends_with(" {") || body == "{" {
            depth += 1;
        }
    }
    if depth != 0 {
        return Err(format!("{depth} block(s) left open"));
    }
    if !text.ends_with('\n') {
        return Err("no final newline".into());
    }
    Ok(())
}

/// The generator's promises, checked independently of the validator.
fn check_valid(c: &Config) -> Result<(), String> {
    let mut names = BTreeSet::new();
    let mut vrids = BTreeSet::new();
    for i in &c.vrrp_instances {
        let v2 = i.effective_version(&c.global) == VrrpVersion::V2;
        let v6 = i.is_ipv6();
        let ok = names.insert(&i.name)
            && vrids.insert((&i.interface, i.virtual_router_id))
            && (i.priority < 255 || i.state == InitialState::Master)
            && (!i.nopreempt || i.state == InitialState::Backup)
            && !i.virtual_ipaddress.is_empty()
            && (i
                .virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded))
            .all(|v| v.addr.is_ipv6() == v6 && !(v2 && v6))
            && i.unicast_src_ip.is_none_or(|a| a.is_ipv6() == v6)
            && if v2 {
                i.advert_int.0 % 1000 == 0 && (1..=255).contains(&(i.advert_int.0 / 1000))
            } else {
                i.authentication.is_none()
                    && i.advert_int.0 % 10 == 0
                    && (10..=40950).contains(&i.advert_int.0)
            };
        if !ok {
            return Err(format!("instance {:?}", i.name));
        }
    }
    let mut grouped = BTreeSet::new();
    for g in &c.vrrp_sync_groups {
        if !g
            .group
            .iter()
            .all(|m| names.contains(m) && grouped.insert(m))
        {
            return Err(format!("sync group {:?}", g.name));
        }
    }
    if let Some(s) = &c.global.lvs_sync_daemon {
        if !names.contains(&s.vrrp_instance) {
            return Err("lvs_sync_daemon".into());
        }
    }
    let mut keys = BTreeSet::new();
    for vs in &c.virtual_servers {
        let v6 = vs.key.is_ipv6();
        let mut reals = BTreeSet::new();
        let sum: u64 = vs.real_servers.iter().map(|r| u64::from(r.weight)).sum();
        let ok = keys.insert(vs.key)
            && vs.quorum >= 1
            && (vs.real_servers.is_empty() || u64::from(vs.quorum) <= sum)
            && vs.hysteresis < vs.quorum
            && vs
                .persistence_granularity
                .is_none_or(|p| p <= if v6 { 128 } else { 32 })
            && vs.real_servers.iter().all(|r| {
                reals.insert((r.addr, r.port))
                    && r.addr.is_ipv6() == v6
                    && r.weight <= WEIGHT_MAX
                    && (r.port.is_some()
                        || r.checkers
                            .iter()
                            .all(|c| !c.kind.connects() || c.connect_port.is_some()))
            });
        if !ok {
            return Err(format!("virtual_server {}", vs.key));
        }
    }
    if let Some(a) = &c.appliance {
        for i in &c.vrrp_instances {
            for v in i
                .virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded)
            {
                let ifname = v.dev.as_ref().unwrap_or(&i.interface);
                let label_ok = v
                    .label
                    .as_ref()
                    .is_none_or(|l| l.as_str().starts_with(ifname.as_str()));
                let covered = a
                    .interfaces
                    .iter()
                    .filter(|ai| ai.name == *ifname)
                    .all(|ai| ai.addresses.iter().any(|ad| ad.contains(&v.addr)));
                if !label_ok || !covered {
                    return Err(format!("vip {} of {:?}", v.addr, i.name));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn export_is_total_deterministic_and_well_laid_out(c in arb_config()) {
        let text = export(&c);
        prop_assert_eq!(&text, &export(&c.clone()));
        if let Err(e) = check_layout(&text) {
            prop_assert!(false, "{}\n{}", e, text);
        }
    }

    #[test]
    fn generated_configs_are_valid(c in arb_config()) {
        if let Err(e) = check_valid(&c) {
            prop_assert!(false, "{}: {:#?}", e, c);
        }
    }
}

#[test]
fn layout_checker_catches_bad_layout() {
    let h = "# vigil canonical config\n";
    assert!(check_layout(&format!("{h}\na {{\n    b\n}}\n")).is_ok());
    assert!(check_layout(&format!("{h}a {{\n  b\n}}\n")).is_err());
    assert!(check_layout(&format!("{h}a {{\n    b\n")).is_err());
    assert!(check_layout(&format!("{h}}}\n")).is_err());
    assert!(check_layout(&format!("{h}a {{\n\n}}\n")).is_err());
}
