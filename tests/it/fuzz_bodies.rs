//! Every fuzz target's body (`fuzz/bodies/*.rs`, the same file the
//! cargo-fuzz target includes) run on stable over its seed corpus and a
//! bounded run of deterministic mutations of it (`support::mutate`), so a
//! decoder that panics near its seeds fails `make test` even where no
//! nightly toolchain or cargo-fuzz exists.
//!
//! The bodies are `#[path]`-included rather than exported from the
//! library behind a feature: they are test properties, not part of the
//! shipped crate, and they compile against vigil's public API exactly as
//! the fuzz crate compiles them.
//!
//! Each test prints `fuzz <target>: <seeds> seeds + <n> mutations in <t>`
//! (`cargo test --test it fuzz_bodies -- --nocapture` shows them).

use crate::support::mutate::{self, Budget};

#[path = "../../fuzz/bodies/arp.rs"]
mod arp;
#[path = "../../fuzz/bodies/bird_reply.rs"]
mod bird_reply;
#[path = "../../fuzz/bodies/config_parse.rs"]
mod config_parse;
#[path = "../../fuzz/bodies/console_edit.rs"]
mod console_edit;
#[path = "../../fuzz/bodies/console_line.rs"]
mod console_line;
#[path = "../../fuzz/bodies/control_frame.rs"]
mod control_frame;
#[path = "../../fuzz/bodies/envelope_decode.rs"]
mod envelope_decode;
#[path = "../../fuzz/bodies/health_http_parse.rs"]
mod health_http_parse;
#[path = "../../fuzz/bodies/ipvs_decode.rs"]
mod ipvs_decode;
#[path = "../../fuzz/bodies/smtp_reply.rs"]
mod smtp_reply;
#[path = "../../fuzz/bodies/store_decode.rs"]
mod store_decode;
#[path = "../../fuzz/bodies/store_history.rs"]
mod store_history;
#[path = "../../fuzz/bodies/store_stamp.rs"]
mod store_stamp;
#[path = "../../fuzz/bodies/vrrp_decode.rs"]
mod vrrp_decode;
#[path = "../../fuzz/bodies/vrrp_filter.rs"]
mod vrrp_filter;

/// Seeds in `dirs` (with extension `ext` if given), then mutations.
fn fuzz(target: &str, dirs: &[&str], ext: Option<&str>, body: fn(&[u8])) {
    let seeds = mutate::seed_files(dirs, ext);
    let r = mutate::run(target, &seeds, Budget::TEST, body);
    println!(
        "fuzz {target}: {} seeds + {} mutations in {:.2?}",
        r.seeds, r.mutations, r.elapsed
    );
}

#[test]
fn fuzz_config_parse() {
    let dirs = ["fuzz/seeds/config_parse", "fixtures"];
    fuzz("config_parse", &dirs, Some("conf"), config_parse::run);
}

#[test]
fn fuzz_console_edit() {
    fuzz(
        "console_edit",
        &["fuzz/seeds/console_edit"],
        None,
        console_edit::run,
    );
}

#[test]
fn fuzz_console_line() {
    fuzz(
        "console_line",
        &["fuzz/seeds/console_line"],
        None,
        console_line::run,
    );
}

#[test]
fn fuzz_control_frame() {
    fuzz(
        "control_frame",
        &["fuzz/seeds/control_frame"],
        None,
        control_frame::run,
    );
}

#[test]
fn fuzz_envelope_decode() {
    // The seeds, and the envelope fixtures of every format version.
    let dirs = ["fuzz/seeds/envelope_decode", "fixtures/envelope"];
    fuzz("envelope_decode", &dirs, None, envelope_decode::run);
}

#[test]
fn fuzz_health_http_parse() {
    let dirs = ["fuzz/seeds/health_http_parse"];
    fuzz("health_http_parse", &dirs, None, health_http_parse::run);
}

#[test]
fn fuzz_ipvs_decode() {
    fuzz(
        "ipvs_decode",
        &["fuzz/seeds/ipvs_decode"],
        None,
        ipvs_decode::run,
    );
}

#[test]
fn fuzz_bird_reply() {
    fuzz(
        "bird_reply",
        &["fuzz/seeds/bird_reply"],
        None,
        bird_reply::run,
    );
}

#[test]
fn fuzz_smtp_reply() {
    fuzz(
        "smtp_reply",
        &["fuzz/seeds/smtp_reply"],
        None,
        smtp_reply::run,
    );
}

#[test]
fn fuzz_store_decode() {
    fuzz(
        "store_decode",
        &["fuzz/seeds/store_decode"],
        None,
        store_decode::run,
    );
}

#[test]
fn fuzz_store_history() {
    // Store images of both layouts: the two-slot seeds read as a history
    // device too.
    let dirs = ["fuzz/seeds/store_history", "fuzz/seeds/store_decode"];
    fuzz("store_history", &dirs, None, store_history::run);
}

#[test]
fn fuzz_store_stamp() {
    fuzz(
        "store_stamp",
        &["fuzz/seeds/store_stamp"],
        None,
        store_stamp::run,
    );
}

#[test]
fn fuzz_arp() {
    fuzz("arp", &["fuzz/seeds/arp"], None, arp::run);
}

#[test]
fn fuzz_vrrp_decode() {
    fuzz(
        "vrrp_decode",
        &["fuzz/seeds/vrrp_decode"],
        None,
        vrrp_decode::run,
    );
}

#[test]
fn fuzz_vrrp_filter() {
    // The decoder's seeds are raw adverts too.
    let dirs = ["fuzz/seeds/vrrp_filter", "fuzz/seeds/vrrp_decode"];
    fuzz("vrrp_filter", &dirs, None, vrrp_filter::run);
}

/// The harness itself: a body that panics near its seed fails the test.
#[test]
#[should_panic(expected = "fuzz body selftest panicked on mutation")]
fn a_panicking_body_fails() {
    let seeds = mutate::seed_files(&["fuzz/seeds/vrrp_decode"], None);
    mutate::run("selftest", &seeds, Budget::TEST, |d| assert!(d.len() >= 8));
}

/// Rewrites `fuzz/seeds/control_frame/` (the header carries
/// `PROTOCOL_VERSION`: after a bump the old seeds stop at the header).
/// `cargo test --features fault-hooks --test it write_control_frame_seeds -- --ignored`
#[test]
#[ignore = "writes fuzz/seeds/control_frame: run by hand after a PROTOCOL_VERSION bump"]
fn write_control_frame_seeds() {
    use vigil::control::{encode_frame, CommitAsk, ConfigText, Request, Response};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/control_frame");
    let w = |name: &str, frame| std::fs::write(dir.join(name), frame).expect("write seed");
    let frame = |r: &Request| encode_frame(r).expect("encodes");
    let answer = |r: &Response| encode_frame(r).expect("encodes");
    w("req-status", frame(&Request::Status));
    w(
        "req-commit",
        frame(&Request::Commit(CommitAsk {
            config_text: "vrrp_instance VI_1 {\n    interface eth0\n}\n".into(),
            comment: Some("fuzz seed".into()),
            user: Some("root".into()),
            confirm: vigil::daemon::confirm::Window::from_secs(300).ok(),
            base_seq: Some(7),
        })),
    );
    let rollback = Request::Rollback {
        seq: 3,
        comment: None,
    };
    w("req-rollback", frame(&rollback));
    w("req-config-of", frame(&Request::ConfigOf { seq: u64::MAX }));
    w(
        "resp-status-default",
        answer(&Response::Status(Box::default())),
    );
    w("resp-error", answer(&Response::Error("no store".into())));
    let config = ConfigText {
        text: "global_defs {\n}\n".into(),
        seq: Some(2),
        source: "store commit 2".into(),
    };
    w("resp-config", answer(&Response::Config(config)));
    w("resp-history-empty", answer(&Response::History(vec![])));
}
