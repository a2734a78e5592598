//! Unit tests of `access.rs`: the rights of a peer, the socket file's mode,
//! the single-instance lock.

use super::*;
use std::os::unix::fs::MetadataExt;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vigil-access-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn root_and_the_daemons_own_user_may_do_all_others_only_read() {
    assert_eq!(access_of(0, 0), Access::Full);
    assert_eq!(access_of(0, 1000), Access::Full);
    assert_eq!(access_of(1000, 1000), Access::Full);
    assert_eq!(access_of(1001, 0), Access::ReadOnly);
    let reader = access_of(65534, 0);
    for req in [
        Request::Status,
        Request::History,
        Request::Running,
        Request::ConfigOf { seq: 3 },
    ] {
        assert_eq!(allowed(&req, reader, 65534), Ok(()), "{req:?}");
    }
    for req in [Request::Reload, Request::Restart, Request::Confirm] {
        let e = allowed(&req, reader, 65534).unwrap_err();
        assert!(e.starts_with("permission denied: uid 65534"), "{e}");
        assert_eq!(allowed(&req, Access::Full, 0), Ok(()));
    }
}

#[test]
fn the_socket_file_is_0600_or_0660_for_the_group_whatever_the_umask() {
    let d = tmp("mode");
    let p = d.join("s");
    std::fs::write(&p, "").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
    restrict(&p, None).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    let gid = Gid::effective().as_raw();
    restrict(&p, Some(gid)).unwrap();
    let md = std::fs::metadata(&p).unwrap();
    assert_eq!((md.mode() & 0o777, md.gid()), (0o660, gid));
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_second_lock_on_the_same_socket_is_refused_naming_the_holder() {
    let d = tmp("lock");
    let sock = d.join("control.sock");
    let held = lock(&sock).unwrap();
    assert_eq!(
        std::fs::read_to_string(lock_path(&sock)).unwrap().trim(),
        std::process::id().to_string()
    );
    let e = lock(&sock).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "another vigil (pid {}) already serves {}: stop it first, or give this one another --control",
            std::process::id(),
            sock.display()
        )
    );
    // Released with its holder: taken again at once.
    drop(held);
    let again = lock(&sock).unwrap();
    drop(again);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn groups_by_name_or_number() {
    let group = "root:x:0:\nvigil-read:x:991:alice,bob\n# comment\nbroken\n";
    assert_eq!(group_id("vigil-read", group), Some(991));
    assert_eq!(group_id("root", group), Some(0));
    assert_eq!(group_id("4242", group), Some(4242));
    assert_eq!(group_id("nosuch", group), None);
}
