//! Every integration test of vigil in one test binary, so the shared
//! harness in `support/` is compiled once per run instead of once per file.
//!
//! One module per area (the former `tests/<name>.rs` files); run one area
//! with a filter: `cargo test --test it config_` or `cargo test --test it
//! netns_interop::`. The namespace tests need root (see `support::netns`).
//! The benchmark is `#[ignore]`d and run by `make bench`
//! (`cargo test --test it netns_bench:: -- --ignored`).

mod support;

mod appliance_netns;
mod bgp_bird;
mod bgp_daemon;
mod cli;
mod config_errors;
mod config_export;
mod config_include;
mod config_limit;
mod config_names;
mod config_pair;
mod config_roundtrip;
mod config_seed;
mod daemon_commit;
mod daemon_console;
mod daemon_control_access;
mod daemon_journal;
mod daemon_late;
mod daemon_memory;
mod daemon_metrics;
mod daemon_misc;
mod daemon_netns;
mod daemon_no_vip;
mod daemon_notify;
mod daemon_reload;
mod daemon_restart;
mod daemon_shared_link;
mod daemon_supervisor;
mod daemon_systemd;
mod fuzz_bodies;
mod health_checks;
mod health_misc;
mod health_runner;
mod ipvs_reconcile;
mod ipvs_wire;
mod netns_advgap;
mod netns_arp;
mod netns_auth;
mod netns_bench;
mod netns_flood;
mod netns_hostile;
mod netns_interop;
mod netns_load;
mod netns_local_faults;
mod netns_no_accept;
mod netns_track;
mod netns_track_file;
mod netns_track_process;
mod netns_vmac;
mod netns_vroutes;
mod notify_mail;
mod notify_scripts;
mod store_bitflip;
mod store_boot_fallback;
mod store_file;
mod store_history;
mod store_power_loss;
mod vrrp_groups;
mod vrrp_hostile;
mod vrrp_machine;
mod vrrp_scenarios;
