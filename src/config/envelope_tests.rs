//! Unit tests of `envelope.rs`.

use super::*;

fn plain(c: &Config) -> Vec<u8> {
    let mut out = vec![PLAIN];
    out.extend(postcard::to_allocvec(&Stored::V1(c.clone())).unwrap());
    out
}

#[test]
fn plain_payloads_decode_and_are_tagged_v1() {
    let c = Config::default();
    let bytes = plain(&c);
    assert_eq!(bytes[1], 0, "variant index 0 is V1");
    assert_eq!(decode(&bytes).unwrap(), c);
    assert_eq!(decode(&encode(&c).unwrap()).unwrap(), c);
}

#[test]
fn encode_picks_the_smaller_packing() {
    let c = Config::default();
    let bytes = encode(&c).unwrap();
    assert!(bytes.len() <= plain(&c).len());
}

#[test]
fn a_repetitive_config_is_deflated_and_round_trips() {
    let mut c = Config::default();
    c.global.notification_email = vec!["ops@example.com".to_owned(); 16];
    let bytes = encode(&c).unwrap();
    assert_eq!(bytes[0], DEFLATE);
    assert_eq!(decode(&bytes).unwrap(), c);
}

#[test]
fn garbage_trailing_bytes_and_unknown_packing_are_refused() {
    assert!(matches!(decode(&[]), Err(EnvelopeError::Empty)));
    assert!(matches!(
        decode(&[PLAIN, 7, 1, 2]),
        Err(EnvelopeError::Decode(_))
    ));
    assert!(matches!(decode(&[9, 0]), Err(EnvelopeError::Packing(9))));
    assert!(matches!(
        decode(&[DEFLATE, 1, 2, 3]),
        Err(EnvelopeError::Inflate(_))
    ));
    let mut bytes = plain(&Config::default());
    bytes.push(0);
    assert!(matches!(decode(&bytes), Err(EnvelopeError::Trailing(1))));
}

#[test]
fn an_inflation_bomb_is_refused() {
    let zeros = vec![0u8; INFLATED_MAX + 1];
    let mut bomb = vec![DEFLATE];
    bomb.extend(miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9));
    assert!(bomb.len() < 64 * 1024, "fits a slot: {}", bomb.len());
    assert!(matches!(decode(&bomb), Err(EnvelopeError::TooLarge)));
}

fn tracked() -> Config {
    use crate::config::model::{Script, TrackScript, VrrpScript};
    let mut c: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    c.vrrp_scripts = vec![VrrpScript::new(
        "chk".into(),
        Script {
            argv: vec!["/bin/true".into()],
        },
    )];
    c.vrrp_instances[0].track_script = vec![TrackScript {
        name: "chk".into(),
        weight: Some(-20),
        reverse: None,
    }];
    c
}

const SEED_LIKE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";

/// The `Stored` variant index of an encoded payload.
fn variant(bytes: &[u8]) -> u8 {
    if bytes[0] == DEFLATE {
        miniz_oxide::inflate::decompress_to_vec_zlib(&bytes[1..]).unwrap()[0]
    } else {
        bytes[1]
    }
}

#[test]
fn a_config_without_scripts_is_still_written_as_v1() {
    let c: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 0, "variant index 0 is V1");
    assert_eq!(decode(&bytes).unwrap(), c);
}

#[test]
fn scripts_travel_in_v2_and_come_back() {
    let c = tracked();
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 1, "variant index 1 is V2");
    assert_eq!(decode(&bytes).unwrap(), c);
}

#[test]
fn a_v1_payload_decodes_with_nothing_tracked() {
    // The V1 bytes of a tracked config are those of the same config
    // without its scripts: the model's serde shape is V1's.
    let c = tracked();
    let v1 = plain(&c);
    let back = decode(&v1).unwrap();
    assert!(back.vrrp_scripts.is_empty());
    assert!(back.vrrp_instances[0].track_script.is_empty());
    assert_eq!(back.vrrp_instances[0].name, "VI_1");
}

#[test]
fn a_v2_side_table_that_does_not_fit_is_refused() {
    let c = tracked();
    let mut side = SideV2::of(&c);
    side.instances.push(Vec::new());
    let mut bytes = vec![PLAIN];
    bytes.extend(postcard::to_allocvec(&Stored::V2(c, side)).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideTable { instances: 2, .. })
    ));
}

fn with_reset_script() -> Config {
    let mut c: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    let a = c.appliance.get_or_insert_with(Default::default);
    a.watchdog.notify_reset = Some(crate::config::model::Script {
        argv: vec!["/usr/local/bin/reset-alert".into(), "now".into()],
    });
    c
}

#[test]
fn the_watchdog_reset_script_travels_in_v2_and_v1_bytes_ignore_it() {
    let c = with_reset_script();
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 1, "variant index 1 is V2");
    assert_eq!(decode(&bytes).unwrap(), c);
    // What an older vigil wrote (V1) decodes, with no reset script.
    let back = decode(&plain(&c)).unwrap();
    assert_eq!(back.appliance.unwrap().watchdog.notify_reset, None);
}

#[test]
fn a_reset_script_without_an_appliance_block_is_refused() {
    let c = with_reset_script();
    let side = SideV2::of(&c);
    let mut bare = c.clone();
    bare.appliance = None;
    let mut bytes = vec![PLAIN];
    bytes.extend(postcard::to_allocvec(&Stored::V2(bare, side)).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideWithoutAppliance)
    ));
}

/// A V1 payload an older vigil wrote (fixtures/envelope/) decodes with
/// today's to the same model as its source text imported today: the V1
/// shape has not moved.
fn old_payload_matches(bin: &[u8], conf: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(conf);
    let now = crate::config::import_file(&path, false)
        .unwrap_or_else(|r| panic!("{conf}: {:?}", r.lines()))
        .config;
    assert_eq!(decode(bin).expect("an old V1 payload decodes"), now);
}

#[test]
fn payloads_written_by_the_v1_only_vigil_still_decode() {
    old_payload_matches(
        include_bytes!("../../fixtures/envelope/v1-box.bin"),
        "fixtures/envelope/v1-box.conf",
    );
    // The lab's every-IPVS-feature config (its fixture must not change
    // without regenerating this payload with that older vigil).
    old_payload_matches(
        include_bytes!("../../fixtures/envelope/v1-all-features.bin"),
        "fixtures/ipvs/all-features.conf",
    );
}

#[test]
fn misc_check_is_the_last_checker_variant_and_travels_in_v1() {
    use crate::config::model::{CheckKind, MiscCheck, Script};
    // postcard writes the variant index first: MISC_CHECK's is after every
    // older kind's, so a V1 payload written before it never holds it.
    let misc = CheckKind::Misc(Box::new(MiscCheck {
        path: Script {
            argv: vec!["/bin/true".into()],
        },
        timeout: None,
        dynamic: true,
        user: None,
    }));
    assert_eq!(postcard::to_allocvec(&misc).unwrap()[0], 4);
    let text = format!(
        "{SEED_LIKE}virtual_server 10.0.0.1 80 {{\n protocol TCP\n real_server 10.0.0.2 80 {{\n  MISC_CHECK {{\n   misc_path \"/bin/true x\"\n   misc_dynamic\n  }}\n }}\n}}\n"
    );
    let c: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 0, "nothing of V2: still V1");
    assert_eq!(decode(&bytes).unwrap(), c);
}

const GROUPED: &str = "virtual_server_group G {\n 10.0.0.1-3 80\n}\nvirtual_server group G {\n protocol TCP\n real_server 10.0.1.1 80 {\n }\n}\n";

#[test]
fn groups_travel_in_v3_and_v2_payloads_are_unchanged() {
    let c: Config = crate::config::import_str("t", GROUPED, false)
        .expect("parses")
        .config;
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 2, "variant index 2 is V3");
    assert_eq!(decode(&bytes).unwrap(), c);
    // Scripts and groups together: both side tables come back.
    let mut both = tracked();
    both.virtual_server_groups = c.virtual_server_groups.clone();
    both.virtual_servers = c.virtual_servers.clone();
    assert_eq!(decode(&encode(&both).unwrap()).unwrap(), both);
    // Scripts alone are still V2, in V2's shape.
    assert_eq!(variant(&encode(&tracked()).unwrap()), 1);
}

#[test]
fn a_v3_side_table_that_does_not_fit_is_refused() {
    let c: Config = crate::config::import_str("t", GROUPED, false)
        .expect("parses")
        .config;
    let mut side3 = SideV3::of(&c);
    side3.services.push(None);
    let mut bytes = vec![PLAIN];
    let side = SideV2::of(&c);
    bytes.extend(postcard::to_allocvec(&Stored::V3(c, side, Box::new(side3))).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideServices { services: 2 })
    ));
}

#[test]
fn metrics_travel_in_v3_with_v2_left_as_shipped() {
    use crate::config::model::Metrics;
    let mut c = tracked();
    c.global.metrics = Some(Metrics {
        listen: "192.168.1.100:9100".parse().unwrap(),
    });
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 2, "variant index 2 is V3");
    assert_eq!(decode(&bytes).unwrap(), c);
    // Without scripts, metrics alone still need V3.
    let mut plain_cfg: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    plain_cfg.global.metrics = c.global.metrics;
    let bytes = encode(&plain_cfg).unwrap();
    assert_eq!(variant(&bytes), 2);
    assert_eq!(decode(&bytes).unwrap(), plain_cfg);
    // The V2 bytes of the same config (an older vigil's) drop the metrics.
    let mut v2 = vec![PLAIN];
    v2.extend(postcard::to_allocvec(&Stored::V2(c.clone(), SideV2::of(&c))).unwrap());
    assert_eq!(decode(&v2).unwrap().global.metrics, None);
}

#[test]
fn payloads_written_by_the_v3_vigil_still_decode() {
    // Scripts, a track_file, a group and metrics: V2's and V3's tables,
    // as the vigil of commit 205cfb4 wrote them (before V4).
    let bin = include_bytes!("../../fixtures/envelope/v3-box.bin");
    assert_eq!(variant(bin), 2, "variant index 2 is V3");
    old_payload_matches(bin, "fixtures/envelope/v3-box.conf");
}

fn with_service_flags() -> Config {
    let text = format!(
        "{SEED_LIKE}virtual_server 10.0.0.1 53 {{\n lvs_sched sh\n sh-port\n ops\n protocol UDP\n real_server 10.0.0.2 53\n}}\n"
    );
    crate::config::import_str("t", &text, false)
        .expect("parses")
        .config
}

#[test]
fn service_flags_travel_in_v4_and_a_config_without_them_stays_v3() {
    let c = with_service_flags();
    assert!(c.virtual_servers[0].flags.ops);
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 3, "variant index 3 is V4");
    assert_eq!(decode(&bytes).unwrap(), c);
    // Without the flags: nothing of V2..V4, still V1.
    let mut plain_cfg = c.clone();
    plain_cfg.virtual_servers[0].flags = Default::default();
    assert_eq!(variant(&encode(&plain_cfg).unwrap()), 0);
    // A V3 config (the old fixture's) is still written as V3, byte for byte.
    let v3_bin = include_bytes!("../../fixtures/envelope/v3-box.bin");
    let v3 = decode(v3_bin).unwrap();
    assert_eq!(encode(&v3).unwrap(), v3_bin.to_vec());
    // Flags with V2 and V3 content: every table comes back.
    let mut all = v3.clone();
    all.virtual_servers[0].flags = c.virtual_servers[0].flags;
    let bytes = encode(&all).unwrap();
    assert_eq!(variant(&bytes), 3);
    assert_eq!(decode(&bytes).unwrap(), all);
    // The V3 bytes of the same config (an older vigil's) drop the flags.
    let mut old = vec![PLAIN];
    let (s2, s3) = (SideV2::of(&all), SideV3::of(&all));
    old.extend(postcard::to_allocvec(&Stored::V3(all, s2, Box::new(s3))).unwrap());
    assert!(decode(&old).unwrap().virtual_servers[0].flags.is_empty());
}

#[test]
fn a_v4_side_table_that_does_not_fit_is_refused() {
    let c = with_service_flags();
    let mut side4 = SideV4::of(&c);
    side4.service_flags.push(Default::default());
    let (s2, s3) = (SideV2::of(&c), SideV3::of(&c));
    let mut bytes = vec![PLAIN];
    bytes.extend(postcard::to_allocvec(&Stored::V4(c, s2, Box::new(s3), Box::new(side4))).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideV4 {
            what: "virtual servers",
            side: 2,
            config: 1
        })
    ));
}

#[test]
fn http_options_and_real_server_hosts_travel_in_v4() {
    use crate::config::model::{CheckKind, HttpProtocol};
    let text = format!(
        "{SEED_LIKE}virtual_server 10.0.0.1 443 {{\n protocol TCP\n real_server 10.0.0.2 443 {{\n  TCP_CHECK {{\n  }}\n  SSL_GET {{\n   url {{\n    path /\n   }}\n  }}\n }}\n}}\n"
    );
    let base: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    assert_eq!(variant(&encode(&base).unwrap()), 0, "nothing new: V1");
    let edits: [fn(&mut Config); 4] = [
        |c| c.virtual_servers[0].real_servers[0].virtualhost = Some(Box::new("rs.example".into())),
        |c| http_mut(c).protocol = HttpProtocol::V11,
        |c| http_mut(c).sni_name = Some("sni.example".into()),
        |c| http_mut(c).urls[0].virtualhost = Some("u.example".into()),
    ];
    for edit in edits {
        let mut c = base.clone();
        edit(&mut c);
        let bytes = encode(&c).unwrap();
        assert_eq!(variant(&bytes), 3, "variant index 3 is V4");
        assert_eq!(decode(&bytes).unwrap(), c);
    }
    fn http_mut(c: &mut Config) -> &mut crate::config::model::HttpCheck {
        match &mut c.virtual_servers[0].real_servers[0].checkers[1].kind {
            CheckKind::Ssl(h) => h,
            _ => unreachable!(),
        }
    }
    // A table whose urls do not fit its checker is refused.
    let mut c = base.clone();
    http_mut(&mut c).enable_sni = true;
    let mut side4 = SideV4::of(&c);
    side4.http[0].url_hosts.push(None);
    let (s2, s3) = (SideV2::of(&c), SideV3::of(&c));
    let mut bytes = vec![PLAIN];
    bytes.extend(postcard::to_allocvec(&Stored::V4(c, s2, Box::new(s3), Box::new(side4))).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideV4 {
            what: "urls of an HTTP checker",
            side: 2,
            config: 1
        })
    ));
}

#[test]
fn instance_and_vip_options_travel_in_v4() {
    use crate::config::model::AddrScope;
    let base: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    let edits: [fn(&mut Config); 4] = [
        |c| c.vrrp_instances[0].unicast_ttl = Some(64),
        |c| c.vrrp_instances[0].dont_track_primary = true,
        |c| c.vrrp_instances[0].virtual_ipaddress[0].scope = Some(AddrScope::Link),
        |c| {
            let v = &mut c.vrrp_instances[0].virtual_ipaddress[0];
            (v.brd, v.no_track) = (Some("10.0.0.255".parse().unwrap()), true);
        },
    ];
    for edit in edits {
        let mut c = base.clone();
        edit(&mut c);
        let bytes = encode(&c).unwrap();
        assert_eq!(variant(&bytes), 3, "variant index 3 is V4");
        assert_eq!(decode(&bytes).unwrap(), c);
    }
    // The table's VIPs must fit the instance's.
    let mut c = base.clone();
    c.vrrp_instances[0].dont_track_primary = true;
    let mut side4 = SideV4::of(&c);
    side4.instances[0].excluded.push(Default::default());
    let (s2, s3) = (SideV2::of(&c), SideV3::of(&c));
    let mut bytes = vec![PLAIN];
    bytes.extend(postcard::to_allocvec(&Stored::V4(c, s2, Box::new(s3), Box::new(side4))).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideV4 {
            what: "virtual addresses of an instance",
            side: 1,
            config: 0
        })
    ));
}

#[test]
fn use_vmac_travels_in_v5_and_older_payloads_still_decode() {
    use crate::config::model::Vmac;
    let base: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    let mut c = base.clone();
    c.vrrp_instances[0].use_vmac = Some(Vmac {
        name: Some(crate::config::bounds::IfName::new("vm1").unwrap()),
        xmit_base: true,
    });
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 4, "variant index 4 is V5");
    assert_eq!(decode(&bytes).unwrap(), c);
    // Without it, the oldest version that holds the config is written.
    assert!(variant(&encode(&base).unwrap()) < 4);
    // The table must fit the config's instances.
    let mut side5 = SideV5::of(&c);
    side5.instances.push(Default::default());
    let (s2, s3, s4) = (SideV2::of(&c), SideV3::of(&c), SideV4::of(&c));
    let stored = Stored::V5(c, s2, Box::new(s3), Box::new(s4), Box::new(side5));
    let mut bytes = vec![PLAIN];
    bytes.extend(postcard::to_allocvec(&stored).unwrap());
    assert!(matches!(
        decode(&bytes),
        Err(EnvelopeError::SideV5 { side: 2, config: 1 })
    ));
}

#[test]
fn payloads_written_by_the_v4_vigil_still_decode() {
    // VIP and instance options, service flags and a script: the tables up
    // to V4, as the vigil of commit 70cae2d wrote them (before V5).
    let bin = include_bytes!("../../fixtures/envelope/v4-box.bin");
    old_payload_again(bin, 3, "fixtures/envelope/v4-box.conf");
}

/// An older vigil's payload of variant index `index` decodes to its
/// source text imported now, and encodes to the same bytes again.
fn old_payload_again(bin: &[u8], index: u8, conf: &str) {
    assert_eq!(variant(bin), index, "{conf}: the variant index");
    old_payload_matches(bin, conf);
    assert_eq!(encode(&decode(bin).unwrap()).unwrap(), bin.to_vec());
}

fn with_routes() -> Config {
    let text = format!("{SEED_LIKE}static_routes {{\n 10.20.0.0/16 via 10.0.0.1\n}}\n");
    let mut c: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    let i = &mut c.vrrp_instances[0];
    let dest = crate::config::model::IfAddr {
        addr: "192.168.109.0".parse().unwrap(),
        prefix: 24,
    };
    i.virtual_routes.push(crate::config::model::IpRoute {
        table: Some(100),
        ..crate::config::model::IpRoute::to(dest)
    });
    i.virtual_rules
        .push(crate::config::model::IpRule::lookup(100, false));
    c
}

#[test]
fn routes_and_rules_travel_in_v5_and_older_payloads_stay_as_they_were() {
    let c = with_routes();
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 4, "variant index 4 is V5");
    assert_eq!(decode(&bytes).unwrap(), c);
    // Only the static routes: still V5.
    let mut only_static = c.clone();
    only_static.vrrp_instances[0].virtual_routes.clear();
    only_static.vrrp_instances[0].virtual_rules.clear();
    assert_eq!(variant(&encode(&only_static).unwrap()), 4);
    // Nothing of V5: the V4 fixture's config is written as it was.
    let v4_bin = include_bytes!("../../fixtures/envelope/v4-box.bin");
    let mut v4 = decode(v4_bin).unwrap();
    assert_eq!(encode(&v4).unwrap(), v4_bin.to_vec());
    // V4 content with routes: every table comes back.
    v4.vrrp_instances[0].virtual_routes = c.vrrp_instances[0].virtual_routes.clone();
    let bytes = encode(&v4).unwrap();
    assert_eq!(variant(&bytes), 4);
    assert_eq!(decode(&bytes).unwrap(), v4);
    // A V5 table that does not fit its config is refused.
    let mut side5 = SideV5::of(&c);
    side5.instances.push(Default::default());
    let (s2, s3, s4) = (SideV2::of(&c), SideV3::of(&c), SideV4::of(&c));
    let mut bad = vec![PLAIN];
    let stored = Stored::V5(c, s2, Box::new(s3), Box::new(s4), Box::new(side5));
    bad.extend(postcard::to_allocvec(&stored).unwrap());
    assert!(matches!(
        decode(&bad),
        Err(EnvelopeError::SideV5 { side: 2, config: 1 })
    ));
}

/// The postcard inside a payload, inflated if need be.
fn postcard_of(bytes: &[u8]) -> Vec<u8> {
    match bytes.split_first() {
        Some((&DEFLATE, body)) => miniz_oxide::inflate::decompress_to_vec_zlib(body).unwrap(),
        Some((&PLAIN, body)) => body.to_vec(),
        other => panic!("not a payload: {other:?}"),
    }
}

#[test]
fn a_config_is_written_without_a_copy_in_the_bytes_of_the_owned_form() {
    // One config per format version: what `encode` writes from borrowed
    // parts is, byte for byte, the owned `Stored` it decodes to.
    let configs = [
        Config::default(),
        tracked(),
        with_service_flags(),
        with_routes(),
    ];
    let mut variants = Vec::new();
    for c in configs {
        let written = postcard_of(&encode(&c).unwrap());
        let stored: Stored = postcard::from_bytes(&written).unwrap();
        assert_eq!(postcard::to_allocvec(&stored).unwrap(), written);
        variants.push(written[0]);
    }
    assert_eq!(variants, [0, 1, 3, 4], "V1, V2, V4 and V5 covered");
}

#[test]
fn strict_mode_travels_in_v6_and_a_config_without_it_stays_older() {
    let base: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    let mut c = base.clone();
    c.vrrp_instances[0].strict = true;
    c.vrrp_instances[0].accept = false;
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 5, "variant index 5 is V6");
    assert_eq!(decode(&bytes).unwrap(), c);
    // no_accept alone is V1's own field.
    let mut no_accept = base;
    no_accept.vrrp_instances[0].accept = false;
    let bytes = encode(&no_accept).unwrap();
    assert_eq!(variant(&bytes), 0);
    assert_eq!(decode(&bytes).unwrap(), no_accept);
}

#[test]
fn vmac_prefix_travels_in_v7_and_a_v5_payload_written_before_it_still_decodes() {
    // A V5 payload as the vigil of commit f0623b5 wrote it: the same
    // config, and the same bytes again.
    let bin = include_bytes!("../../fixtures/envelope/v5-box.bin");
    old_payload_again(bin, 4, "fixtures/envelope/v5-box.conf");
    // With a prefix: V7, every older table back as it was.
    let text = format!("global_defs {{\n vmac_prefix vm\n}}\n{SEED_LIKE}");
    let mut c: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    c.vrrp_instances[0].use_vmac = Some(crate::config::model::Vmac::default());
    c.vrrp_instances[0].strict = true;
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 6, "variant index 6 is V7");
    let back = decode(&bytes).unwrap();
    assert_eq!(back, c);
    assert_eq!(
        back.global.vmac_prefix.as_ref().map(|p| p.as_str()),
        Some("vm")
    );
    // The bytes written from borrowed parts are those of the owned form.
    let written = postcard_of(&bytes);
    let stored: Stored = postcard::from_bytes(&written).unwrap();
    assert_eq!(postcard::to_allocvec(&stored).unwrap(), written);
    // A V6 table that does not fit is still refused inside V7.
    let Stored::V7((c7, s2, s3, s4, s5, mut s6), s7) = stored else {
        panic!("not V7")
    };
    s6.strict.push(false);
    let mut bad = vec![PLAIN];
    let v7 = Stored::V7((c7, s2, s3, s4, s5, s6), s7);
    bad.extend(postcard::to_allocvec(&v7).unwrap());
    assert!(matches!(
        decode(&bad),
        Err(EnvelopeError::SideV6 { side: 2, config: 1 })
    ));
}

#[test]
fn dr_path_check_travels_in_v8_with_or_without_a_vmac_prefix() {
    let text = format!(
        "{SEED_LIKE}virtual_server 192.168.1.200 80 {{\n lvs_method DR\n protocol TCP\n real_server 192.168.1.102 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n"
    );
    let base: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    assert_eq!(base.virtual_servers.len(), 1);
    for prefix in [None, Some("vm")] {
        let mut c = base.clone();
        c.global.vmac_prefix =
            prefix.map(|p| crate::config::bounds::IfName::new(p).expect("a name"));
        c.virtual_servers[0].dr_path_check = Some(false);
        let bytes = encode(&c).unwrap();
        assert_eq!(variant(&bytes), 7, "variant index 7 is V8");
        assert_eq!(decode(&bytes).unwrap(), c);
        // A V8 table that does not fit is refused.
        let stored: Stored = postcard::from_bytes(&postcard_of(&bytes)).unwrap();
        let Stored::V8(parts, s7, mut s8) = stored else {
            panic!("not V8")
        };
        s8.dr_path_check.push(None);
        let mut bad = vec![PLAIN];
        bad.extend(postcard::to_allocvec(&Stored::V8(parts, s7, s8)).unwrap());
        let n = c.virtual_servers.len();
        assert!(
            matches!(decode(&bad), Err(EnvelopeError::SideV8 { side, config }) if side == n + 1 && config == n),
            "{:?}",
            decode(&bad)
        );
    }
    // Unset everywhere: nothing of V8 is written.
    assert_ne!(variant(&encode(&base).unwrap()), 7);
}

#[test]
fn notify_arp_theft_travels_in_v9_with_or_without_the_tables_before_it() {
    let base: Config = crate::config::import_str("t", SEED_LIKE, false)
        .expect("parses")
        .config;
    let theft = Some(crate::config::model::Script {
        argv: vec!["/etc/vigil/theft.sh".into()],
    });
    let mut c = base.clone();
    c.vrrp_instances[0].notify_arp_theft = theft.clone();
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 8, "variant index 8 is V9");
    assert_eq!(decode(&bytes).unwrap(), c);
    // Virtual servers without dr_path_check: V8's table says so for each.
    let text = format!(
        "{SEED_LIKE}virtual_server 192.168.1.200 80 {{\n lvs_method DR\n protocol TCP\n real_server 192.168.1.102 80 {{\n }}\n}}\n"
    );
    let mut with_vs: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    with_vs.vrrp_instances[0].notify_arp_theft = theft.clone();
    let bytes = encode(&with_vs).unwrap();
    assert_eq!(variant(&bytes), 8);
    assert_eq!(decode(&bytes).unwrap(), with_vs);
    assert_eq!(variant(&encode(&base).unwrap()), 0, "none: V1 still");
    // With V7's prefix and V8's dr_path_check too, all come back.
    let text = format!(
        "global_defs {{\n vmac_prefix vm\n}}\n{SEED_LIKE}virtual_server 192.168.1.200 80 {{\n lvs_method DR\n protocol TCP\n real_server 192.168.1.102 80 {{\n }}\n}}\n"
    );
    let mut c: Config = crate::config::import_str("t", &text, false)
        .expect("parses")
        .config;
    c.vrrp_instances[0].notify_arp_theft = theft;
    c.virtual_servers[0].dr_path_check = Some(false);
    let bytes = encode(&c).unwrap();
    assert_eq!(variant(&bytes), 8);
    assert_eq!(decode(&bytes).unwrap(), c);
    // The bytes written from borrowed parts are those of the owned form,
    // and a V9 table that does not fit is refused.
    let written = postcard_of(&bytes);
    let stored: Stored = postcard::from_bytes(&written).unwrap();
    assert_eq!(postcard::to_allocvec(&stored).unwrap(), written);
    let Stored::V9(parts, s7, s8, mut s9) = stored else {
        panic!("not V9")
    };
    s9.notify_arp_theft.push(None);
    let mut bad = vec![PLAIN];
    bad.extend(postcard::to_allocvec(&Stored::V9(parts, s7, s8, s9)).unwrap());
    assert!(matches!(
        decode(&bad),
        Err(EnvelopeError::SideV9 { side: 2, config: 1 })
    ));
}
