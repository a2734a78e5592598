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

/// `svc()` on another port.
fn svc_on(port: u16) -> Service {
    Service {
        id: ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: "10.0.0.1".parse().unwrap(),
            port,
        },
        ..svc()
    }
}

/// A kernel of services on ports 1..=n, each with one destination of
/// weight `w`.
fn kernel_of(n: u16, w: u32) -> FakeKernel {
    let mut k = FakeKernel::default();
    for port in 1..=n {
        let s = svc_on(port);
        k.apply(&Op::NewService(s.clone())).unwrap();
        let dest = dest(w);
        k.apply(&Op::NewDest {
            service: s.id,
            dest,
        })
        .unwrap();
    }
    k
}

#[test]
fn dump_into_replaces_the_last_table_service_by_service() {
    // The last table had services 1..=4 at weight 1; the kernel now has
    // 2..=5 at weight 7 (1 gone, 5 new, the rest changed).
    let mut last = dump(&mut kernel_of(4, 1)).unwrap();
    let mut k = kernel_of(5, 7);
    k.apply(&Op::DelService(svc_on(1).id)).unwrap();
    dump_into(&mut k, &mut last).unwrap();
    assert_eq!(last, dump(&mut k).unwrap());
    assert!(!last.services.contains_key(&svc_on(1).id));
}

/// A kernel whose destination dumps fail from the `fail_at`-th on.
struct FailingDests {
    inner: FakeKernel,
    fail_at: usize,
    calls: usize,
}

impl Kernel for FailingDests {
    type Error = FakeError;
    fn services(&mut self) -> Result<Vec<Service>, FakeError> {
        self.inner.services()
    }
    fn dests(&mut self, service: &ServiceId) -> Result<Vec<Dest>, FakeError> {
        self.calls += 1;
        if self.calls >= self.fail_at {
            return Err(FakeError {
                op: "dump".into(),
                errno: EINVAL,
            });
        }
        self.inner.dests(service)
    }
    fn apply(&mut self, op: &Op) -> Result<(), FakeError> {
        self.inner.apply(op)
    }
}

#[test]
fn a_dump_failing_midway_keeps_the_services_it_did_not_read() {
    let mut last = dump(&mut kernel_of(4, 1)).unwrap();
    let before = last.clone();
    let mut k = FailingDests {
        inner: kernel_of(3, 7),
        fail_at: 3,
        calls: 0,
    };
    let err = dump_into(&mut k, &mut last).unwrap_err();
    assert_eq!(err.errno, EINVAL);
    let weight = |t: &Table, port| {
        let e = &t.services[&svc_on(port).id];
        e.dests.values().next().map(|d| d.weight)
    };
    // Services 1 and 2 were read (weight 7); 3 failed, and 3 and 4 (gone
    // from the kernel, but never known to be) are as they were.
    assert_eq!(last.services.len(), 4);
    assert_eq!((weight(&last, 1), weight(&last, 2)), (Some(7), Some(7)));
    assert_eq!(last.services[&svc_on(3).id], before.services[&svc_on(3).id]);
    assert_eq!(last.services[&svc_on(4).id], before.services[&svc_on(4).id]);
}

#[test]
fn a_services_dump_reads_the_named_services_again_and_no_other() {
    let mut k = FakeKernel::default();
    let port = |port| ServiceId::Addr {
        protocol: IPPROTO_TCP,
        addr: "10.0.0.1".parse().unwrap(),
        port,
    };
    let (a, b, c) = (svc().id, port(443), port(8080));
    for id in [a, b] {
        k.apply(&Op::NewService(Service { id, ..svc() })).unwrap();
        k.apply(&Op::NewDest {
            service: id,
            dest: dest(1),
        })
        .unwrap();
    }
    let mut t = dump(&mut k).unwrap();
    for id in [a, b] {
        k.apply(&Op::SetDest {
            service: id,
            dest: dest(0),
        })
        .unwrap();
    }
    // c: new in the kernel since `t` was read.
    k.apply(&Op::NewService(Service { id: c, ..svc() }))
        .unwrap();
    let unknown = ServiceId::Fwmark {
        af: crate::ipvs::wire::Af::V4,
        mark: 7,
    };
    dump_services_into(&mut k, &mut t, &BTreeSet::from([a, c, unknown])).unwrap();
    assert_eq!(t.services[&a].dests[&dest(0).id].weight, 0, "read again");
    assert_eq!(t.services[&b].dests[&dest(0).id].weight, 1, "as it was");
    assert!(
        t.services.contains_key(&c),
        "a named service found is added"
    );
    assert!(!t.services.contains_key(&unknown));
    let now = dump(&mut k).unwrap();
    assert_eq!(t.services[&a], now.services[&a]);
    assert_eq!(t.services[&c], now.services[&c]);

    // A named service the kernel lost leaves the table.
    k.apply(&Op::DelService(a)).unwrap();
    dump_services_into(&mut k, &mut t, &BTreeSet::from([a])).unwrap();
    assert!(!t.services.contains_key(&a));
    assert!(t.services.contains_key(&b));
}
