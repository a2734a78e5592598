use super::*;
use crate::ipvs::wire::{Af, Service, IPPROTO_TCP};

fn persistent(netmask: u32) -> Service {
    Service {
        id: ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
        },
        scheduler: "wrr".into(),
        pe_name: None,
        flags: SVC_F_PERSISTENT,
        timeout: 300,
        netmask,
        stats: None,
    }
}

#[test]
fn the_mask_is_shown_only_when_persistent_and_wider_than_a_host() {
    assert_eq!(mask(&persistent(u32::MAX)), None, "one client address");
    let v4 = persistent(Service::netmask_for(Af::V4, 24));
    assert_eq!(mask(&v4).as_deref(), Some("255.255.255.0"));
    let not_persistent = Service { flags: 0, ..v4 };
    assert_eq!(mask(&not_persistent), None);
}

#[test]
fn methods_read_as_ipvsadm_prints_them() {
    assert_eq!(method_name(FwdMethod::Masq), "Masq");
    assert_eq!(method_name(FwdMethod::Route), "Route");
    assert_eq!(method_name(FwdMethod::Tunnel), "Tunnel");
}

/// Before the first pass: every configured server, none in the table.
#[test]
fn before_any_pass_the_config_is_shown_as_wanted() {
    let machine = Machine::new(
        std::sync::Arc::new(crate::ipvs::machine::tests::seed()),
        None,
        std::time::Instant::now(),
    );
    let st = view(&machine, None);
    assert_eq!(st.services.len(), 1);
    assert!(!st.services[0].in_table);
    let dests: Vec<(&str, Option<u32>)> = st.services[0]
        .dests
        .iter()
        .map(|d| (d.health.as_str(), d.weight))
        .collect();
    assert_eq!(dests, [("up", None), ("up", None)]);
    assert_eq!(st.error, None);
    assert_eq!(st, machine.status(None));
}

#[test]
fn flags_are_named_as_their_scheduler_names_them() {
    use super::flag_names;
    use crate::ipvs::wire::{Af, Service, ServiceId, SVC_F_HASHED, SVC_F_ONEPACKET};
    use crate::ipvs::wire::{SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3};
    let svc = |sched: &str, flags| Service {
        id: ServiceId::Fwmark {
            af: Af::V4,
            mark: 1,
        },
        scheduler: sched.into(),
        pe_name: None,
        flags,
        timeout: 0,
        netmask: Service::netmask_for(Af::V4, 32),
        stats: None,
    };
    let all = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3 | SVC_F_ONEPACKET;
    let kernel = SVC_F_HASHED | SVC_F_PERSISTENT;
    assert_eq!(
        flag_names(&svc("sh", all | kernel)),
        ["sh-fallback", "sh-port", "flag-3", "ops"]
    );
    assert_eq!(flag_names(&svc("mh", SVC_F_SCHED2)), ["mh-port"]);
    assert_eq!(flag_names(&svc("rr", SVC_F_SCHED1)), ["flag-1"]);
    assert!(flag_names(&svc("wlc", kernel)).is_empty());
}
