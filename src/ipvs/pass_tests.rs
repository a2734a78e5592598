use super::*;
use crate::ipvs::desired::{self, HealthMap, QuorumStates};
use crate::ipvs::kernel::FakeKernel;
use crate::ipvs::wire::Cmd;

fn seed() -> crate::config::model::Config {
    let path = format!("{}/fixtures/seed/master.conf", env!("CARGO_MANIFEST_DIR"));
    crate::config::import_file(std::path::Path::new(&path), false)
        .expect("seed imports")
        .config
}

fn request() -> PassRequest {
    let desired = desired::build(
        &seed(),
        &HealthMap::new(),
        &BTreeSet::new(),
        &QuorumStates::new(),
    );
    PassRequest {
        desired,
        retired: BTreeSet::new(),
        adopt: None,
        last: None,
        scope: None,
        trust_last: false,
    }
}

/// A refused op is the op and the kernel's errno, shown as "op: reason".
#[test]
fn a_refused_op_carries_the_op_and_the_errno() {
    let mut k = FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    };
    let rep = pass(&mut k, &mut request()).expect("the fake dumps");
    assert_eq!(rep.planned, 3);
    // The service is refused; its two destinations then find no service.
    assert_eq!(rep.failed.len(), 3, "{}", rep.failed);
    let first = &rep.failed[0];
    assert_eq!(first.op.cmd(), Cmd::NewService);
    assert_eq!(first.errno, Some(2), "ENOENT");
    assert!(
        first
            .to_string()
            .starts_with("NEW_SERVICE TCP 192.168.1.200:80"),
        "{first}"
    );
    assert_eq!(rep.failed.to_string(), rep.failed.join("; "));
    assert_eq!(
        rep.failed.join("; ").matches("; ").count(),
        2,
        "one line per refusal"
    );
}

#[test]
fn a_missing_module_reads_as_before() {
    let u = Unavailable::from_client(crate::ipvs::client::Error::ModuleNotLoaded);
    assert!(matches!(u, Unavailable::ModuleMissing));
    assert_eq!(u.to_string(), "ip_vs module not loaded");
    let other = Unavailable::from_client(crate::ipvs::client::Error::NoReply {
        cmd: Cmd::GetService,
    });
    assert!(matches!(other, Unavailable::Kernel(_)));
    assert_eq!(other.to_string(), "GET_SERVICE: no reply");
}

/// A fake kernel that counts its service dumps and can change its table
/// behind the pass's back (between the pass's dump and its apply).
struct Counting {
    inner: FakeKernel,
    dumps: usize,
    /// Removed from the table at the first apply: another program's
    /// change between the dump and the ops.
    vanish: Option<ServiceId>,
    /// The service dump of this number (1 the first) fails.
    fail_dump: Option<usize>,
}

impl Kernel for Counting {
    type Error = crate::ipvs::kernel::FakeError;
    fn services(&mut self) -> Result<Vec<crate::ipvs::wire::Service>, Self::Error> {
        self.dumps += 1;
        if self.fail_dump == Some(self.dumps) {
            return Err(crate::ipvs::kernel::FakeError {
                op: "GET_SERVICE".into(),
                errno: 105,
            });
        }
        self.inner.services()
    }
    fn dests(&mut self, service: &ServiceId) -> Result<Vec<crate::ipvs::wire::Dest>, Self::Error> {
        self.inner.dests(service)
    }
    fn apply(&mut self, op: &Op) -> Result<(), Self::Error> {
        if let Some(id) = self.vanish.take() {
            self.inner.table.services.remove(&id);
        }
        self.inner.apply(op)
    }
}

fn counting(inner: FakeKernel) -> Counting {
    Counting {
        inner,
        dumps: 0,
        vanish: None,
        fail_dump: None,
    }
}

/// Every op taken: the table after is the first dump with the ops
/// applied, the same as a second dump would read, without reading it.
#[test]
fn a_pass_whose_ops_are_all_taken_reads_the_table_once() {
    let mut k = counting(FakeKernel::default());
    let rep = pass(&mut k, &mut request()).expect("the fake dumps");
    assert_eq!(rep.planned, 3);
    assert!(rep.failed.is_empty(), "{}", rep.failed);
    assert_eq!(k.dumps, 1);
    assert_eq!(rep.table, k.inner.table);
    // The next pass finds nothing to do, from the table it reads.
    let again = pass(&mut k, &mut request()).expect("the fake dumps");
    assert_eq!(again.planned, 0);
    assert_eq!(again.table, rep.table);
}

/// A refused op: the kernel's table is read again, not guessed.
#[test]
fn a_refused_op_makes_the_pass_read_the_table_again() {
    let mut k = counting(FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    });
    let rep = pass(&mut k, &mut request()).expect("the fake dumps");
    assert_eq!(rep.failed.len(), 3, "{}", rep.failed);
    assert_eq!(k.dumps, 2);
    assert_eq!(rep.table, k.inner.table);
    assert!(rep.table.services.is_empty());
}

/// The table changed between the dump and the ops (another program
/// deleted a service vigil updates): an op that does not fit the dump
/// makes the pass read the table again.
#[test]
fn a_table_changed_under_the_pass_is_read_again() {
    let mut k = counting(FakeKernel::default());
    pass(&mut k, &mut request()).expect("the fake dumps");
    // A weight changed in the config: one SET_DEST, on a service that
    // another program removes before the op reaches the kernel.
    let mut req = request();
    let (id, entry) = req
        .desired
        .table
        .services
        .iter_mut()
        .next()
        .expect("the seed has a service");
    let dest = entry.dests.values_mut().next().expect("and a real server");
    dest.weight += 1;
    k.vanish = Some(*id);
    k.dumps = 0;
    let rep = pass(&mut k, &mut req).expect("the fake dumps");
    assert_eq!(rep.planned, 1);
    assert_eq!(rep.failed.len(), 1, "ESRCH: {}", rep.failed);
    assert_eq!(k.dumps, 2);
    assert_eq!(rep.table, k.inner.table);
}

/// A pass lent the machine's last table reads the kernel over it: what
/// it reports is the kernel's table, whatever the lent one held.
#[test]
fn a_pass_dumps_over_the_lent_table() {
    let mut k = counting(FakeKernel::default());
    let first = pass(&mut k, &mut request()).expect("the fake dumps");
    // A stale table: a service the kernel no longer has, and the kernel's
    // one with no destinations.
    let mut stale = first.table.clone();
    let (id, mut e) = stale.services.pop_first().expect("the seed's service");
    e.dests.clear();
    let gone = match id {
        ServiceId::Addr { protocol, addr, .. } => ServiceId::Addr {
            protocol,
            addr,
            port: 9,
        },
        other => panic!("{other:?}"),
    };
    stale.services.insert(id, e.clone());
    stale.services.insert(gone, e);
    let mut req = PassRequest {
        last: Some(stale),
        ..request()
    };
    let rep = pass(&mut k, &mut req).expect("the fake dumps");
    assert_eq!(rep.planned, 0);
    assert_eq!(rep.table, k.inner.table);
    assert_eq!(rep.table, first.table);
    assert!(req.last.is_none(), "the lent table is the report's");
}

/// A failed dump gives the lent table back (the services read before the
/// failure new: `kernel::dump_into`), and no table when none was lent.
#[test]
fn a_failed_pass_gives_the_lent_table_back() {
    let mut k = counting(FakeKernel::default());
    let last = pass(&mut k, &mut request()).expect("the fake dumps").table;
    k.fail_dump = Some(k.dumps + 1);
    let mut req = PassRequest {
        last: Some(last.clone()),
        ..request()
    };
    assert_eq!(pass(&mut k, &mut req).unwrap_err().errno, 105);
    assert_eq!(req.last.as_ref(), Some(&last));
    k.fail_dump = Some(k.dumps + 1);
    let mut req = request();
    assert!(pass(&mut k, &mut req).is_err());
    assert!(req.last.is_none(), "none lent, none made up");
}

/// The second dump (after a refused op) fails: the table back is the
/// first dump's, read over the lent one.
#[test]
fn a_failed_second_dump_gives_the_first_back() {
    let mut k = counting(FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    });
    k.fail_dump = Some(2);
    let mut req = PassRequest {
        last: Some(request().desired.table),
        ..request()
    };
    assert!(pass(&mut k, &mut req).is_err());
    assert_eq!(k.dumps, 2);
    assert_eq!(req.last, Some(Table::default()), "the kernel had nothing");
}

/// A scoped pass reads and diffs the services it names, inside the lent
/// table: the rest of it is kept unread; a failed read gives the whole
/// lent table back.
#[test]
fn a_scoped_pass_reads_its_services_inside_the_lent_table() {
    use crate::ipvs::kernel::{dump, Entry};
    let mut k = counting(FakeKernel::default());
    let first = pass(&mut k, &mut request()).expect("the fake dumps").table;
    let id = *first.services.keys().next().expect("the seed's service");
    let other = ServiceId::Fwmark {
        af: crate::ipvs::wire::Af::V4,
        mark: 5,
    };
    let mut lent = first.clone();
    let service = crate::ipvs::wire::Service {
        id: other,
        ..first.services[&id].service.clone()
    };
    lent.services.insert(other, Entry::new(service));
    // The kernel lost the scoped service: the pass adds it back.
    k.inner.table.services.remove(&id);
    let scoped = |lent: &Table| PassRequest {
        last: Some(lent.clone()),
        scope: Some(BTreeSet::from([id])),
        ..request()
    };
    let mut req = scoped(&lent);
    let rep = pass(&mut k, &mut req).expect("the fake dumps");
    assert_eq!(rep.planned, 3, "the service and its two destinations");
    assert!(rep.table.services.contains_key(&other), "kept unread");
    assert_eq!(
        rep.table.services[&id],
        dump(&mut k.inner).unwrap().services[&id]
    );
    assert!(rep.foreign.is_empty() && req.last.is_none());

    k.fail_dump = Some(k.dumps + 1);
    let mut req = scoped(&lent);
    assert!(pass(&mut k, &mut req).is_err());
    assert_eq!(req.last.as_ref(), Some(&lent), "all of it back");
}

/// A pass that trusts the lent table (a hitless restart's) plans against
/// it without reading the kernel, and reads the kernel only when an op is
/// refused; without a lent table it reads as any pass.
#[test]
fn a_trusting_pass_plans_against_the_lent_table_without_a_read() {
    let mut k = counting(FakeKernel::default());
    let handed = pass(&mut k, &mut request()).expect("the fake dumps").table;
    let dumps = k.dumps;
    // The kernel lost a service the handed table still has: the trusting
    // pass does not see it (the read after it does).
    let id = *handed.services.keys().next().expect("the seed's service");
    k.inner.table.services.remove(&id);
    let trusting = |last: Option<Table>| PassRequest {
        last,
        trust_last: true,
        ..request()
    };
    let mut req = trusting(Some(handed.clone()));
    let rep = pass(&mut k, &mut req).expect("nothing to read");
    assert_eq!((rep.planned, k.dumps), (0, dumps), "no read, nothing to do");
    assert_eq!(rep.table, handed);
    assert_eq!(rep.phases.dump, Duration::ZERO);
    // A handed table that lacks a destination: the op goes out and, taken,
    // is carried into the table without a read.
    let mut less = handed.clone();
    let dest = *less.services[&id]
        .dests
        .keys()
        .next()
        .expect("a destination");
    less.services.get_mut(&id).unwrap().dests.remove(&dest);
    k.inner.table = handed.clone();
    k.inner
        .table
        .services
        .get_mut(&id)
        .unwrap()
        .dests
        .remove(&dest);
    let rep = pass(&mut k, &mut trusting(Some(less))).expect("taken");
    assert_eq!((rep.planned, rep.failed.len(), k.dumps), (1, 0, dumps));
    assert!(rep.table.services[&id].dests.contains_key(&dest));
    // A refused op (the handed table was wrong: the kernel already has
    // the destination): the kernel is read after.
    let mut less = handed.clone();
    less.services.get_mut(&id).unwrap().dests.remove(&dest);
    let rep = pass(&mut k, &mut trusting(Some(less))).expect("read after");
    assert_eq!((rep.planned, rep.failed.len()), (1, 1));
    assert_eq!(k.dumps, dumps + 1, "one read, after the refusal");
    assert_eq!(rep.table, k.inner.table);
    // Nothing lent: a plain whole pass.
    pass(&mut k, &mut trusting(None)).expect("the fake dumps");
    assert_eq!(k.dumps, dumps + 2);
}
