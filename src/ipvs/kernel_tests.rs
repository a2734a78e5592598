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

/// `dest(w)` at 10.0.0.`last`.
fn dest_at(last: u8, w: u32) -> Dest {
    Dest {
        id: DestId {
            addr: std::net::IpAddr::from([10, 0, 0, last]),
            port: 80,
        },
        ..dest(w)
    }
}

/// A kernel of one service scheduled by `scheduler` with destinations
/// 10.0.0.`last` for each of `lasts`, added in that order, at weight 1.
fn kernel_with(scheduler: &str, lasts: &[u8]) -> FakeKernel {
    let mut k = FakeKernel::default();
    let s = Service {
        scheduler: scheduler.into(),
        ..svc()
    };
    k.apply(&Op::NewService(s.clone())).unwrap();
    for &last in lasts {
        let dest = dest_at(last, 1);
        k.apply(&Op::NewDest {
            service: s.id,
            dest,
        })
        .unwrap();
    }
    k
}

/// A dump over the last table is the dump a fresh table gets, whatever
/// changed: weights and counters only (read in place), a destination
/// added or gone, the list's order (`mh`), the scheduler.
#[test]
fn a_dump_over_the_last_table_is_a_fresh_dump() {
    let id = svc().id;
    let set_weight = |k: &mut FakeKernel, last, w| {
        let dest = dest_at(last, w);
        k.apply(&Op::SetDest { service: id, dest }).unwrap();
    };
    type Change = fn(&mut FakeKernel);
    let cases: [(&str, &str, Change); 6] = [
        ("wlc", "the same destinations", |_| {}),
        ("wlc", "a weight", |k| {
            let dest = dest_at(3, 9);
            k.apply(&Op::SetDest {
                service: svc().id,
                dest,
            })
            .unwrap();
        }),
        ("wlc", "one more", |k| {
            let dest = dest_at(9, 1);
            k.apply(&Op::NewDest {
                service: svc().id,
                dest,
            })
            .unwrap();
        }),
        ("wlc", "one fewer", |k| {
            let dest = dest_at(2, 1).id;
            k.apply(&Op::DelDest {
                service: svc().id,
                dest,
            })
            .unwrap();
        }),
        ("mh", "an mh list, one gone and one back at the head", |k| {
            let dest = dest_at(2, 1);
            let op = Op::DelDest {
                service: svc().id,
                dest: dest.id,
            };
            k.apply(&op).unwrap();
            k.apply(&Op::NewDest {
                service: svc().id,
                dest,
            })
            .unwrap();
        }),
        ("mh", "the scheduler", |k| {
            let s = Service {
                scheduler: "wlc".into(),
                ..svc()
            };
            k.apply(&Op::SetService(s)).unwrap();
        }),
    ];
    for (scheduler, what, change) in cases {
        let mut k = kernel_with(scheduler, &[2, 3, 4]);
        let mut last = dump(&mut k).unwrap();
        change(&mut k);
        set_weight(&mut k, 4, 5);
        dump_into(&mut k, &mut last).unwrap();
        assert_eq!(last, dump(&mut k).unwrap(), "{scheduler}: {what}");
    }
}

/// A refresh that finds the same destinations writes them in place: the
/// B-tree's nodes and the scheduler's name are the ones already held (a
/// refresh that built them anew every 2 s scattered the table over the
/// heap and undid a trim within seconds).
#[test]
fn a_refresh_of_the_same_destinations_allocates_nothing_that_lasts() {
    let mut k = kernel_with("wlc", &[2, 3, 4]);
    let mut last = dump(&mut k).unwrap();
    let id = svc().id;
    let held = |t: &Table| {
        let e = &t.services[&id];
        let first = e.dests.values().next().unwrap() as *const Dest;
        (first, e.service.scheduler.as_ptr())
    };
    let before = held(&last);
    let dest = dest_at(2, 7);
    k.apply(&Op::SetDest { service: id, dest }).unwrap();
    dump_into(&mut k, &mut last).unwrap();
    assert_eq!(held(&last), before);
    assert_eq!(last.services[&id].dests[&dest_at(2, 7).id].weight, 7);
}

/// A kernel that lists its first destination of each service twice (a
/// dump across a change, in principle).
struct Twice(FakeKernel);

impl Kernel for Twice {
    type Error = FakeError;
    fn services(&mut self) -> Result<Vec<Service>, FakeError> {
        self.0.services()
    }
    fn dests(&mut self, service: &ServiceId) -> Result<Vec<Dest>, FakeError> {
        let mut list = self.0.dests(service)?;
        if let Some(first) = list.first() {
            let again = Dest {
                weight: 42,
                ..first.clone()
            };
            list.push(again);
        }
        Ok(list)
    }
    fn apply(&mut self, op: &Op) -> Result<(), FakeError> {
        self.0.apply(op)
    }
}

#[test]
fn a_destination_listed_twice_reads_the_same_over_the_last_table() {
    // As many entries as the last table held (one of them twice), and
    // more: never taken for the same destinations.
    let cases: [(&str, &[u8], &[u8]); 4] = [
        ("wlc", &[2, 3, 4], &[2, 3]),
        ("mh", &[2, 3, 4], &[2, 3]),
        ("wlc", &[2, 3], &[2, 3, 4]),
        ("mh", &[2, 3], &[2, 3, 4]),
    ];
    for (scheduler, was, now) in cases {
        let mut last = dump(&mut kernel_with(scheduler, was)).unwrap();
        let mut k = Twice(kernel_with(scheduler, now));
        dump_into(&mut k, &mut last).unwrap();
        let fresh = dump(&mut k).unwrap();
        assert_eq!(last, fresh, "{scheduler}: {was:?} then {now:?}");
        let e = &fresh.services[&svc().id];
        assert!(e.order.is_empty(), "{scheduler}: no order to trust");
        assert!(
            e.dests.values().any(|d| d.weight == 42),
            "the last listed wins"
        );
    }
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
