//! libFuzzer entry for `arp`; the body, and the properties it checks,
//! are in `fuzz/bodies/arp.rs`, shared with the stable test that runs
//! it over the seeds and mutations of them (`tests/it/fuzz_bodies.rs`).
#![no_main]

#[path = "../bodies/arp.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
