//! The shared harness of the integration tests, compiled once into the
//! `it` binary: generated valid configs (`arb_config`), network namespaces
//! with capture and injection (`netns`), and the VRRP speakers started in
//! them (`peers`). `smtp_sink.py` (a python SMTP sink for the mail tests)
//! lives beside these files.

pub mod arb_config;
pub mod netns;
pub mod peers;
