//! The shared harness of the integration tests, compiled once into the
//! `it` binary: generated valid configs (`arb_config`), network namespaces
//! with capture and injection (`netns`), the VRRP speakers started in them
//! (`peers`), a seeded generator (`rng`), the fuzz bodies'
//! seed-and-mutation runner (`mutate`), and the virtual LAN the VRRP scenario, group and
//! hostile-packet tests run on in virtual time (`vlan`). `smtp_sink.py` (a
//! python SMTP sink for the mail tests) lives beside these files.

pub mod arb_config;
pub mod journal;
pub mod mutate;
pub mod netns;
pub mod peers;
pub mod rng;
pub mod vlan;
