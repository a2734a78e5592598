//! A store whose newest commit cannot be used (it does not decode, or it
//! decodes to a config a text import refuses) boots the newest older
//! commit that can, and says which and why; a store with no usable commit
//! at all is the factory default's case, never an exit the service would
//! restart into forever.

use vigil::config::{envelope, import_str};
use vigil::daemon::{ConfigSource, LoadError};
use vigil::store::{Geometry, History, Meta, Source};

const GOOD: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.1.200/24
    }
}
";

fn store(name: &str) -> (tempfile::TempDir, std::path::PathBuf, History) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let h = History::open(&path, Geometry::default(), true).unwrap();
    (dir, path, h)
}

fn commit(h: &mut History, payload: &[u8]) -> u64 {
    let meta = Meta {
        time: 1_700_000_000,
        ..Meta::default()
    };
    h.commit(payload, Source::Import, &meta).unwrap().seq
}

fn boot(path: &std::path::Path) -> Result<vigil::daemon::Loaded, LoadError> {
    ConfigSource::Store {
        path: path.to_owned(),
        slot_size: Geometry::default().slot_size,
    }
    .load_at_boot(1_700_000_100)
}

#[test]
fn an_undecodable_newest_commit_boots_the_one_before_and_says_so() {
    let (_d, path, mut h) = store("undecodable");
    let good = import_str("g.conf", GOOD, false).unwrap().config;
    let first = commit(&mut h, &envelope::encode(&good).unwrap());
    // A payload from a newer vigil: a format this one does not know.
    let bad = commit(&mut h, &[0, 0xEE, 1, 2, 3]);
    drop(h);
    let l = boot(&path).unwrap();
    assert_eq!(l.config, good);
    assert_eq!(l.seq, Some(first));
    let said = l.rolled_back.unwrap();
    assert!(
        said.starts_with(&format!("commit {bad} cannot be used (")),
        "{said}"
    );
    assert!(said.contains(&format!("booted commit {first}")), "{said}");
    assert!(l.describe.contains("FALLBACK"), "{}", l.describe);
}

#[test]
fn a_newest_commit_that_does_not_validate_boots_the_one_before() {
    let (_d, path, mut h) = store("invalid");
    let good = import_str("g.conf", GOOD, false).unwrap().config;
    let first = commit(&mut h, &envelope::encode(&good).unwrap());
    // Decodes, but two instances share a name: an import refuses that.
    let mut twin = good.clone();
    twin.vrrp_instances.push(twin.vrrp_instances[0].clone());
    let bad = commit(&mut h, &envelope::encode(&twin).unwrap());
    drop(h);
    let l = boot(&path).unwrap();
    assert_eq!((l.config, l.seq), (good, Some(first)));
    let said = l.rolled_back.unwrap();
    assert!(
        said.contains(&format!(
            "commit {bad} holds a config that does not validate"
        )),
        "{said}"
    );
}

#[test]
fn no_usable_commit_is_no_valid_commit_not_an_exit() {
    let (_d, path, mut h) = store("none");
    let bad = commit(&mut h, &[0, 0xEE]);
    drop(h);
    match boot(&path) {
        Err(LoadError::NoValidCommit { why, .. }) => {
            assert!(
                why.starts_with(&format!("no commit can be used: the newest, commit {bad}")),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A commit stamped by the build reading it is not checked again (the
/// stamp says this build checked those exact bytes); a stamp of any other
/// build is no reason to skip the check. Shown with a config a check
/// refuses, which no real writer stamps.
#[test]
fn only_this_builds_stamp_skips_the_check() {
    let own = vigil::build_id::own().expect("the test binary has a build id");
    let other = vigil::store::BuildId::new(&[0xAB; 20]).unwrap();
    let good = import_str("g.conf", GOOD, false).unwrap().config;
    let mut twin = good.clone();
    twin.vrrp_instances.push(twin.vrrp_instances[0].clone());
    let meta = Meta::default();
    for (by, skipped) in [(Some(&other), false), (None, false), (Some(own), true)] {
        let (_d, path, mut h) = store("stamped");
        h.commit(&envelope::encode(&good).unwrap(), Source::Import, &meta)
            .unwrap();
        let twin_bytes = envelope::encode(&twin).unwrap();
        let bad = h.commit_with(&twin_bytes, Source::Import, &meta, None, by);
        let bad = bad.unwrap().seq;
        drop(h);
        let l = boot(&path).unwrap();
        assert_eq!(l.checked_when_written, skipped, "{by:?}");
        if skipped {
            assert_eq!(
                (l.config, l.seq, l.rolled_back),
                (twin.clone(), Some(bad), None)
            );
        } else {
            assert_eq!((l.config, l.seq), (good.clone(), Some(1)), "{by:?}");
        }
    }
}

/// `daemon::source::vouch`: this build, for the payload of the config
/// its import accepted; nobody for a payload of another config.
#[test]
fn this_build_vouches_only_for_the_payload_of_its_config() {
    let good = import_str("g.conf", GOOD, false).unwrap().config;
    let payload = envelope::encode(&good).unwrap();
    let own = vigil::build_id::own();
    assert!(own.is_some());
    assert_eq!(vigil::daemon::source::vouch(&good, &payload), own);
    let mut other = good.clone();
    other.vrrp_instances[0].priority = 99;
    assert_eq!(vigil::daemon::source::vouch(&other, &payload), None);
    assert_eq!(vigil::daemon::source::vouch(&good, &[0, 0xEE]), None);
}
