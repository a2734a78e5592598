//! libFuzzer entry for `envelope_decode`; the body, and the properties it checks,
//! are in `fuzz/bodies/envelope_decode.rs`, shared with the stable test that runs
//! it over the seeds and mutations of them (`tests/it/fuzz_bodies.rs`).
#![no_main]

#[path = "../bodies/envelope_decode.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
