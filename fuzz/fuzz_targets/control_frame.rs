//! libFuzzer entry for `control_frame`; the body, and the properties it checks,
//! are in `fuzz/bodies/control_frame.rs`, shared with the stable test that runs
//! it over the seeds and mutations of them (`tests/it/fuzz_bodies.rs`).
#![no_main]

#[path = "../bodies/control_frame.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
