//! What keepalived 2.2.7 reads that vigil does not: per block, the
//! keywords of keepalived.conf(5) vigil lacks, and the ones keepalived
//! accepts that change nothing here (obsolete).
//!
//! Each keyword here is registered by keepalived 2.2.7's own parsers
//! (`install_keyword` in vrrp_parser.c, global_parser.c, check_*.c,
//! track_file.c) in that block.
//!
//! Owns: these tables, so that a real keepalived keyword is reported as
//! "keepalived's 'X' is not supported by vigil" rather than as an unknown
//! word with a wrong "did you mean". Must not: hold keywords vigil reads
//! (those are in the section tables of each block); a keyword vigil
//! learns moves from here to its block's table.

use super::Obsolete;

/// Top-level blocks and statements.
pub(super) const TOP: &[&str] = &[
    "static_ipaddress",
    "garp_group",
    "bfd_instance",
    "linkbeat_interfaces",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
    "interface_up_down_delays",
    "track_group",
    "SSL",
];

pub(super) const GLOBAL: &[&str] = &[
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "smtp_helo_name",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "checker_log_all_failures",
    "no_email_faults",
    "lvs_flush",
    "lvs_flush_on_stop",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_down_timer_adverts",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "nftables_priority",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "vrrp_ipsets",
    "vrrp_notify_priority_changes",
    "min_auto_priority_delay",
    "vrrp_priority",
    "checker_priority",
    "bfd_priority",
    "vrrp_no_swap",
    "checker_no_swap",
    "bfd_no_swap",
    "vrrp_cpu_affinity",
    "checker_cpu_affinity",
    "bfd_cpu_affinity",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "bfd_rt_priority",
    "vrrp_rlimit_rttime",
    "checker_rlimit_rttime",
    "bfd_rlimit_rttime",
    "snmp_socket",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "enable_dbus",
    "dbus_service_name",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "fifo_write_vrrp_states_on_reload",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "rs_init_notifies",
    "no_checker_emails",
    "umask",
    "vrrp_startup_delay",
    "log_unknown_vrids",
    "vmac_addr_prefix",
    "random_seed",
    "reload_check_config",
    "include_check",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "data_use_instance",
    "tmp_config_directory",
    "config_save_dir",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
    "bfd_rlimit_rtime",
    "checker_rlimit_rtime",
    "vrrp_rlimit_rtime",
    "disable_local_igmp",
    "lvs_flush_onstop",
    "lvs_process_name",
];

/// Read by keepalived 2.2.7, of no effect in vigil.
pub(super) const GLOBAL_OBSOLETE: &[Obsolete] = &[
    Obsolete {
        keyword: "vrrp_vmac_garp_intvl",
        what: VMAC_GARP_INTVL,
    },
    Obsolete {
        keyword: "vrrp_skip_check_adv_addr",
        what: "outside strict mode vigil never drops an advert over its address list (a mismatch is only counted), and in strict mode it checks every advert, so there is no check to skip; ignored",
    },
    Obsolete {
        keyword: "default_interface",
        what: "keepalived 2.2.7 uses it only as the device of static_ipaddress addresses without 'dev' (measured: an instance without 'interface' is refused there all the same, and a route without 'dev' goes where the kernel puts it); vigil has no static_ipaddress, so it changes nothing; ignored",
    },
    Obsolete {
        keyword: "vrrp_check_unicast_src",
        what: CHECK_UNICAST_SRC,
    },
    Obsolete {
        keyword: "dynamic_interfaces",
        what: "vigil always waits for an instance's interface that does not exist yet and starts the instance when it appears, which is what this asks of keepalived (a sync group's member, though, starts only with vigil's next restart); ignored",
    },
    Obsolete {
        keyword: "vrrp_iptables",
        what: "vigil's no_accept filter is always its own nftables tables (ip vigil, ip6 vigil), never iptables chains (keepalived 2.2.7 uses nftables too: \"iptables not supported\"); ignored",
    },
    Obsolete {
        keyword: "nftables",
        what: "vigil's no_accept filter is always its own nftables tables (ip vigil, ip6 vigil, priority -1), whatever the table is called here; ignored",
    },
    Obsolete {
        keyword: "max_auto_priority",
        what: "it bounds the realtime scheduling priority keepalived gives itself; vigil does not raise its own, so it is ignored",
    },
];

pub(super) const SYNC_GROUP: &[&str] = &[
    "track_interface",
    "track_bfd",
    "notify_deleted",
    "notify_priority_changes",
    "global_tracking",
    "sync_group_tracking_weight",
];

/// `vrrp_script`: vigil reads every keyword keepalived 2.2.7 has there.
pub(super) const SCRIPT: &[&str] = &[];

/// `track_file`: likewise.
pub(super) const TRACK_FILE: &[&str] = &[];

/// `vrrp_track_process`: likewise.
pub(super) const TRACK_PROCESS: &[&str] = &[];

pub(super) const INSTANCE: &[&str] = &[
    "track_bfd",
    "vrf",
    "use_vmac_addr",
    "use_ipvlan",
    "native_ipv6",
    "mcast_dst_ip",
    "track_src_ip",
    "unicast_fault_no_peer",
    "old_unicast_checksum",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "garp_extra_if",
    "down_timer_adverts",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "promote_secondaries",
    "debug",
    "notify_master_rx_lower_pri",
    "notify_deleted",
    "notify_priority_changes",
    "kernel_rx_buf_size",
    "linkbeat_use_polling",
];

pub(super) const INSTANCE_OBSOLETE: &[Obsolete] = &[
    Obsolete {
        keyword: "skip_check_adv_addr",
        what: "outside strict mode vigil never drops an advert over its address list (a mismatch is only counted), and in strict mode it checks every advert, so there is no check to skip; ignored",
    },
    Obsolete {
        keyword: "vmac_garp_intvl",
        what: VMAC_GARP_INTVL,
    },
    Obsolete {
        keyword: "check_unicast_src",
        what: CHECK_UNICAST_SRC,
    },
];

/// keepalived 2.2.7 reads `vmac_garp_intvl` as `garp_extra_if` (and the
/// global form as `vrrp_garp_extra_if`): a gratuitous ARP / NA every N
/// seconds for the VIPs on vmacs of interfaces other than the instance's
/// (made by `use_vmac_addr`). On the instance's own vmac, and on the
/// plain interfaces of `dev` VIPs, it sends none (measured: `use_vmac`,
/// with and without `vmac_xmit_base`, a VIP `dev e0`, interval 2 s: only
/// the garp_master_delay repeats in 14 s).
const VMAC_GARP_INTVL: &str = "keepalived sends these gratuitous ARPs only on the vmacs use_vmac_addr makes on other interfaces, which vigil does not make; it sends none for the instance's own vmac, so it is ignored";

/// `vrrp_check_unicast_src` (global), `check_unicast_src` (instance):
/// `vrrp::filter` drops such adverts whatever the config says.
const CHECK_UNICAST_SRC: &str = "vigil always drops an advert whose source is none of the instance's unicast_peer addresses (counted as unknown_unicast_peer), which is what this turns on in keepalived; ignored";

pub(super) const SERVICE: &[&str] = &[
    "hashed",
    "weight",
    "persistence_engine",
    "sorry_server_lvs_method",
    "snmp_name",
    "smtp_alert",
];

pub(super) const SERVICE_OBSOLETE: &[Obsolete] = &[
    Obsolete {
        keyword: "nat_mask",
        what: "keepalived 2.2.7 ignores it (as a word it no longer knows), and so does vigil",
    },
    Obsolete {
        keyword: "nb_get_retry",
        what: "keepalived 2.2.7 knows it only inside HTTP_GET and SSL_GET (as 'retry') and ignores it in a virtual_server, and so does vigil: the checkers keep their retry (write 'retry N' to set it for them all)",
    },
];

/// keepalived 2.2.7 reads `nb_get_retry` only in HTTP_GET and SSL_GET
/// (measured: "Unknown keyword" in virtual_server, real_server, TCP_CHECK
/// and MISC_CHECK).
pub(super) const REAL_OBSOLETE: &[Obsolete] = &[Obsolete {
    keyword: "nb_get_retry",
    what: "keepalived 2.2.7 knows it only inside HTTP_GET and SSL_GET (as 'retry') and ignores it in a real_server, and so does vigil: the checkers keep their retry (write 'retry N' to set it for them all)",
}];

pub(super) const TCP_CHECK_OBSOLETE: &[Obsolete] = &[Obsolete {
    keyword: "nb_get_retry",
    what: "keepalived 2.2.7 knows it only inside HTTP_GET and SSL_GET and ignores it in TCP_CHECK, and so does vigil: the retry is this checker's 'retry', else one written in its real_server or virtual_server, else 1",
}];

pub(super) const MISC_CHECK_OBSOLETE: &[Obsolete] = &[Obsolete {
    keyword: "nb_get_retry",
    what: "keepalived 2.2.7 knows it only inside HTTP_GET and SSL_GET and ignores it in MISC_CHECK, and so does vigil: the retry is this checker's 'retry', else one written in its real_server or virtual_server, else 0",
}];

pub(super) const REAL: &[&str] = &[
    "smtp_alert",
    "alpha",
    "snmp_name",
    "SMTP_CHECK",
    "DNS_CHECK",
    "BFD_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "FILE_CHECK",
];

/// Options of every checker.
pub(super) const CHECK: &[&str] = &["bind_if", "bind_port", "log_all_failures", "fwmark"];

/// Options of HTTP_GET and SSL_GET beyond [`CHECK`].
pub(super) const HTTP_CHECK: &[&str] = &[
    "bind_if",
    "bind_port",
    "log_all_failures",
    "fwmark",
    "fast_recovery",
];

pub(super) const URL: &[&str] = &[
    "regex",
    "regex_no_match",
    "regex_options",
    "regex_stack",
    "regex_min_offset",
    "regex_max_offset",
];
