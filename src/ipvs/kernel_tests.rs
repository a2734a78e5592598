//! Unit tests of `kernel.rs`.

use super::*;
use crate::ipvs::wire::{FwdMethod, IPPROTO_TCP};

fn svc() -> Service {
    Service {
        id: ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
        },
        scheduler: "wrr".into(),
        pe_name: None,
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        stats: None,
    }
}

fn dest(w: u32) -> Dest {
    Dest {
        id: DestId {
            addr: "10.0.0.2".parse().unwrap(),
            port: 80,
        },
        fwd: FwdMethod::Route,
        weight: w,
        u_thresh: 0,
        l_thresh: 0,
        tunnel: None,
        conns: None,
        stats: None,
    }
}

#[test]
fn fake_answers_like_the_kernel() {
    let mut k = FakeKernel::default();
    let id = svc().id;
    let nd = Op::NewDest {
        service: id,
        dest: dest(1),
    };
    assert_eq!(k.apply(&nd).unwrap_err().errno, ESRCH);
    k.apply(&Op::NewService(svc())).unwrap();
    assert_eq!(k.apply(&Op::NewService(svc())).unwrap_err().errno, EEXIST);
    k.apply(&nd).unwrap();
    assert_eq!(k.apply(&nd).unwrap_err().errno, EEXIST);
    let del = Op::DelDest {
        service: id,
        dest: dest(1).id,
    };
    k.apply(&del).unwrap();
    assert_eq!(k.apply(&del).unwrap_err().errno, ENOENT);
    let bad = Service {
        scheduler: "nope".into(),
        ..svc()
    };
    assert_eq!(k.apply(&Op::SetService(bad)).unwrap_err().errno, ENOENT);
    let t = dump(&mut k).unwrap();
    assert_eq!(t.services[&id].service.flags, SVC_F_HASHED);
    assert_eq!(k.log.len(), 3);
}

#[test]
fn apply_all_goes_on_after_a_failure() {
    let mut k = FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    };
    let other = Service {
        id: ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: "10.0.0.1".parse().unwrap(),
            port: 443,
        },
        scheduler: "rr".into(),
        ..svc()
    };
    let ops = [Op::NewService(svc()), Op::NewService(other.clone())];
    let failed = apply_all(&mut k, &ops);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].1.errno, ENOENT);
    assert!(k.table.services.contains_key(&other.id));
}
