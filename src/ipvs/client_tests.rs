//! Unit tests of `client.rs`.

use super::*;
use crate::ipvs::wire::{Af, IPPROTO_TCP};

fn svc() -> Service {
    Service {
        id: ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: "192.168.1.200".parse().unwrap(),
            port: 80,
        },
        scheduler: "twos".into(),
        pe_name: None,
        flags: 0,
        timeout: 0,
        netmask: Service::netmask_for(Af::V4, 32),
        stats: None,
    }
}

#[test]
fn enoent_on_new_service_names_the_scheduler_module() {
    let op = Op::NewService(svc());
    let e = refused(&op.request(), &Target::from(&op), ENOENT);
    assert!(matches!(&e, Error::SchedulerMissing { scheduler, .. } if scheduler == "twos"));
    assert_eq!(
        e.to_string(),
        "NEW_SERVICE TCP 192.168.1.200:80: scheduler twos unavailable: \
             kernel module ip_vs_twos is missing"
    );
    assert_eq!(e.errno(), Some(ENOENT));
}

#[test]
fn other_errnos_keep_their_context() {
    let op = Op::DelDest {
        service: svc().id,
        dest: DestId {
            addr: "192.168.1.102".parse().unwrap(),
            port: 80,
        },
    };
    let e = refused(&op.request(), &Target::from(&op), ENOENT);
    assert_eq!(e.errno(), Some(ENOENT));
    let s = e.to_string();
    assert!(
        s.starts_with("DEL_DEST TCP 192.168.1.200:80 -> 192.168.1.102:80: "),
        "{s}"
    );
    let e = refused(
        &Request::new_service(&svc()),
        &Target::Service(svc().id),
        17,
    );
    assert!(matches!(e, Error::Refused { errno: 17, .. }));
}

#[test]
fn module_not_loaded_says_so() {
    assert!(Error::ModuleNotLoaded
        .to_string()
        .contains("ip_vs kernel module"));
}
