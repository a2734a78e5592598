//! libFuzzer entry for `bird_reply`; the body, and the properties it
//! checks, are in `fuzz/bodies/bird_reply.rs`, shared with the stable test
//! that runs it over the seeds and mutations of them
//! (`tests/it/fuzz_bodies.rs`).
#![no_main]

#[path = "../bodies/bird_reply.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
