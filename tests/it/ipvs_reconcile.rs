//! Reconcile against the in-memory kernel: the seed config end to end
//! (config -> desired -> ops -> exact NEW_SERVICE bytes), and a property
//! test over random desired / actual tables: applying the plan yields the
//! desired table on owned services, leaves foreign ones untouched, wastes
//! no op, and a second diff is empty.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use proptest::prelude::*;
use vigil::config::import_file;
use vigil::ipvs::desired::{self, Desired, Health, HealthMap, QuorumStates, RealId};
use vigil::ipvs::kernel::{apply_all, dump, Entry, FakeKernel, Kernel, Op, Table};
use vigil::ipvs::reconcile::{dest_matches, diff, service_matches};
use vigil::ipvs::wire::{
    Af, Dest, DestId, FwdMethod, Request, Service, ServiceId, IPPROTO_TCP, IPPROTO_UDP,
    SVC_F_PERSISTENT,
};

fn seed() -> vigil::config::Config {
    let path = format!("{}/fixtures/seed/master.conf", env!("CARGO_MANIFEST_DIR"));
    import_file(path.as_ref(), false)
        .unwrap_or_else(|r| panic!("{:?}", r.errors))
        .config
}

fn cmds(ops: &[Op]) -> Vec<&'static str> {
    ops.iter().map(|o| o.cmd().name()).collect()
}

#[test]
fn seed_config_programs_one_service_two_dests_then_adopts() {
    let c = seed();
    let none = BTreeSet::new();
    let no_drain = BTreeSet::new();
    let d = desired::build(&c, &HealthMap::new(), &no_drain, &QuorumStates::new());
    let mut k = FakeKernel::default();
    let plan = diff(&d, &dump(&mut k).unwrap(), &none);
    assert_eq!(cmds(&plan.ops), ["NEW_SERVICE", "NEW_DEST", "NEW_DEST"]);
    // The exact bytes: TCP 192.168.1.200:80 wrr, PERSISTENT, 3600 s, /32.
    #[cfg(target_endian = "little")]
    {
        let Op::NewService(s) = &plan.ops[0] else {
            panic!("{:?}", plan.ops[0])
        };
        let bytes: Vec<u8> = "01 01 00 00 54 00 01 80
            06 00 01 00 02 00 00 00  06 00 02 00 06 00 00 00
            14 00 03 00 c0 a8 01 c8 00 00 00 00 00 00 00 00 00 00 00 00
            06 00 04 00 00 50 00 00  08 00 06 00 77 72 72 00
            0c 00 07 00 01 00 00 00 ff ff ff ff
            08 00 08 00 10 0e 00 00  08 00 09 00 ff ff ff ff"
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        assert_eq!(Request::new_service(s).emit(), bytes);
    }
    assert!(apply_all(&mut k, &plan.ops).is_empty());
    // Restart: a fresh desired table against the kernel's dump.
    let d2 = desired::build(&c, &HealthMap::new(), &no_drain, &d.quorum);
    assert!(diff(&d2, &dump(&mut k).unwrap(), &none).is_empty());

    // rs1 fails: one DEL_DEST; it recovers: one NEW_DEST.
    let vs = &c.virtual_servers[0];
    let rs1 = desired::real_id(vs, &vs.real_servers[0]);
    let down = HealthMap::from([(rs1, Health::Down)]);
    let d3 = desired::build(&c, &down, &no_drain, &d2.quorum);
    let plan = diff(&d3, &dump(&mut k).unwrap(), &none);
    assert_eq!(cmds(&plan.ops), ["DEL_DEST"]);
    assert!(apply_all(&mut k, &plan.ops).is_empty());
    let d4 = desired::build(&c, &HealthMap::new(), &no_drain, &d3.quorum);
    let plan = diff(&d4, &dump(&mut k).unwrap(), &none);
    assert_eq!(cmds(&plan.ops), ["NEW_DEST"]);
}

#[test]
fn seed_commit_removing_rs2_drains_it() {
    let old = seed();
    let mut new = old.clone();
    new.virtual_servers[0].real_servers.truncate(1);
    let none = BTreeSet::new();
    let d = desired::build(
        &old,
        &HealthMap::new(),
        &BTreeSet::new(),
        &QuorumStates::new(),
    );
    let mut k = FakeKernel::default();
    assert!(apply_all(&mut k, &diff(&d, &Table::default(), &none).ops).is_empty());

    let draining = desired::removed_reals(&old, &new);
    let retired: BTreeSet<_> = desired::owned(&old)
        .difference(&desired::owned(&new))
        .copied()
        .collect();
    let d = desired::build(&new, &HealthMap::new(), &draining, &d.quorum);
    let plan = diff(&d, &dump(&mut k).unwrap(), &retired);
    assert_eq!(cmds(&plan.ops), ["SET_DEST"]);
    let Op::SetDest { dest, .. } = &plan.ops[0] else {
        unreachable!()
    };
    assert_eq!((dest.weight, dest.fwd), (0, FwdMethod::Route));
    assert!(apply_all(&mut k, &plan.ops).is_empty());
    assert!(diff(&d, &dump(&mut k).unwrap(), &retired).is_empty());
}

// ---------------------------------------------------------------------------
// Property test

/// A small pool of service identities, so desired and actual overlap.
fn pool_ids() -> Vec<ServiceId> {
    let v4: IpAddr = "10.0.0.1".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    vec![
        ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: v4,
            port: 80,
        },
        ServiceId::Addr {
            protocol: IPPROTO_UDP,
            addr: v4,
            port: 80,
        },
        ServiceId::Addr {
            protocol: IPPROTO_TCP,
            addr: v6,
            port: 443,
        },
        ServiceId::Fwmark {
            af: Af::V4,
            mark: 1,
        },
        ServiceId::Fwmark {
            af: Af::V6,
            mark: 1,
        },
        ServiceId::Fwmark {
            af: Af::V4,
            mark: 2,
        },
    ]
}

fn dest_addr(af: Af, n: u8) -> IpAddr {
    match af {
        Af::V4 => IpAddr::from([10, 0, 1, n]),
        Af::V6 => IpAddr::from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, n]),
    }
}

fn arb_service(id: ServiceId) -> impl Strategy<Value = Service> {
    (
        prop::sample::select(vec!["rr", "wrr", "lc", "sh"]),
        any::<bool>(),
        prop::sample::select(vec![300u32, 3600]),
        prop::sample::select(vec![32u8, 24]),
    )
        .prop_map(move |(sched, persistent, timeout, prefix)| Service {
            id,
            scheduler: sched.to_owned(),
            pe_name: None,
            flags: if persistent { SVC_F_PERSISTENT } else { 0 },
            timeout: if persistent { timeout } else { 0 },
            netmask: Service::netmask_for(id.af(), if persistent { prefix } else { 128 }),
            stats: None,
        })
}

fn arb_dest(af: Af) -> impl Strategy<Value = Dest> {
    (
        0u8..6,
        prop::sample::select(vec![0u16, 80]),
        prop::sample::select(vec![FwdMethod::Route, FwdMethod::Masq, FwdMethod::Tunnel]),
        0u32..4,
        prop::sample::select(vec![(0u32, 0u32), (100, 10)]),
    )
        .prop_map(move |(n, port, fwd, weight, (u, l))| Dest {
            id: DestId {
                addr: dest_addr(af, n),
                port,
            },
            fwd,
            weight,
            u_thresh: u,
            l_thresh: l,
            tunnel: None,
            conns: None,
            stats: None,
        })
}

fn arb_entry(id: ServiceId) -> impl Strategy<Value = Entry> {
    (
        arb_service(id),
        prop::collection::vec(arb_dest(id.af()), 0..5),
    )
        .prop_map(|(s, ds)| {
            let mut e = Entry::new(s);
            for d in ds {
                e.dests.insert(d.id, d);
            }
            e
        })
}

fn arb_table() -> impl Strategy<Value = Table> {
    let ids = pool_ids();
    prop::collection::vec(prop::option::of(any::<bool>()), ids.len())
        .prop_flat_map(move |pick| {
            let chosen: Vec<ServiceId> = ids
                .iter()
                .zip(pick)
                .filter(|(_, p)| p.is_some())
                .map(|(id, _)| *id)
                .collect();
            chosen.into_iter().map(arb_entry).collect::<Vec<_>>()
        })
        .prop_map(|entries| Table {
            services: entries.into_iter().map(|e| (e.service.id, e)).collect(),
        })
}

/// desired, actual, retired (a subset of actual - desired), draining (a
/// subset of actual dests that desired lacks).
fn arb_case() -> impl Strategy<Value = (Desired, Table, BTreeSet<ServiceId>)> {
    (arb_table(), arb_table(), any::<u64>()).prop_map(|(want, actual, bits)| {
        let mut bit = 0;
        let mut coin = || {
            bit = (bit + 1) % 64;
            bits >> bit & 1 == 1
        };
        let mut retired = BTreeSet::new();
        let mut draining = BTreeSet::new();
        for (id, e) in &actual.services {
            let wanted = want.services.get(id);
            if wanted.is_none() && coin() {
                retired.insert(*id);
            }
            for d in e.dests.keys() {
                let in_want = wanted.is_some_and(|w| w.dests.contains_key(d));
                if !in_want && coin() {
                    draining.insert(RealId {
                        service: *id,
                        dest: *d,
                    });
                }
            }
        }
        let desired = Desired {
            table: want,
            draining,
            ..Desired::default()
        };
        (desired, actual, retired)
    })
}

/// Owned services hold exactly what desired says (plus draining dests at
/// weight 0); foreign ones are as they were; retired ones are gone unless
/// draining.
fn check_result(d: &Desired, before: &Table, after: &Table, retired: &BTreeSet<ServiceId>) {
    let draining_of = |id: &ServiceId, have: Option<&Entry>| -> BTreeSet<DestId> {
        have.map(|e| {
            e.dests
                .keys()
                .filter(|k| {
                    d.draining.contains(&RealId {
                        service: *id,
                        dest: **k,
                    })
                })
                .copied()
                .collect()
        })
        .unwrap_or_default()
    };
    for (id, want) in &d.table.services {
        let got = after.services.get(id).expect("desired service present");
        assert!(service_matches(&want.service, &got.service), "{id}");
        let drains: BTreeSet<_> = draining_of(id, before.services.get(id))
            .into_iter()
            .filter(|k| !want.dests.contains_key(k))
            .collect();
        let keys: BTreeSet<_> = got.dests.keys().copied().collect();
        let wanted: BTreeSet<_> = want.dests.keys().copied().chain(drains.clone()).collect();
        assert_eq!(keys, wanted, "{id}");
        for (k, w) in &want.dests {
            assert!(dest_matches(w, &got.dests[k]), "{id} {k}");
        }
        for k in &drains {
            assert_eq!(got.dests[k].weight, 0);
        }
    }
    for (id, have) in &before.services {
        if d.table.services.contains_key(id) {
            continue;
        }
        if !retired.contains(id) {
            assert_eq!(after.services.get(id), Some(have), "foreign {id} touched");
            continue;
        }
        let drains = draining_of(id, Some(have));
        match after.services.get(id) {
            None => assert!(drains.is_empty(), "retired {id} deleted while draining"),
            Some(got) => {
                assert!(!drains.is_empty());
                assert_eq!(got.dests.keys().copied().collect::<BTreeSet<_>>(), drains);
                assert!(got.dests.values().all(|x| x.weight == 0));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn applying_the_plan_converges((d, actual, retired) in arb_case()) {
        let mut k = FakeKernel::with(&actual);
        let before = dump(&mut k).unwrap();
        let plan = diff(&d, &before, &retired);

        // Foreign: exactly the unowned services of the kernel.
        let foreign: Vec<ServiceId> = before
            .services
            .keys()
            .filter(|id| !d.table.services.contains_key(id) && !retired.contains(id))
            .copied()
            .collect();
        prop_assert_eq!(&plan.foreign, &foreign);

        // Fewest: one op per object, no delete of a wanted service, no add
        // of an existing one, and every op changes the kernel's dump.
        let mut targets = BTreeMap::new();
        for op in &plan.ops {
            let t = (*op.service(), op.dest().copied());
            prop_assert!(targets.insert(t, op.cmd()).is_none(), "two ops on {:?}", t);
            match op {
                Op::DelService(id) => prop_assert!(!d.table.services.contains_key(id)),
                Op::NewService(s) => prop_assert!(!before.services.contains_key(&s.id)),
                _ => {}
            }
        }
        for op in &plan.ops {
            let was = dump(&mut k).unwrap();
            k.apply(op).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_ne!(was, dump(&mut k).unwrap(), "op changed nothing: {}", op);
        }

        let after = dump(&mut k).unwrap();
        check_result(&d, &before, &after, &retired);
        let again = diff(&d, &after, &retired);
        prop_assert!(again.ops.is_empty(), "second diff: {:?}", again.ops);
    }
}
