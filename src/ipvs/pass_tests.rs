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
    }
}

/// A refused op is the op and the kernel's errno, shown as "op: reason".
#[test]
fn a_refused_op_carries_the_op_and_the_errno() {
    let mut k = FakeKernel {
        missing_schedulers: vec!["wrr".into()],
        ..FakeKernel::default()
    };
    let rep = pass(&mut k, &request()).expect("the fake dumps");
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
