//! libFuzzer entry for `store_stamp`; the body, and the properties it checks,
//! are in `fuzz/bodies/store_stamp.rs`, shared with the stable test that runs
//! it over the seeds and mutations of them (`tests/it/fuzz_bodies.rs`).
#![no_main]

#[path = "../bodies/store_stamp.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
