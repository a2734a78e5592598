//! Unit tests of `mod.rs`.

use super::*;

#[test]
fn notifier_can_cross_threads_and_tasks() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<Notifier>();
}

#[test]
fn state_spelling() {
    let all = [State::Master, State::Backup, State::Fault, State::Stop];
    let s: Vec<_> = all.iter().map(|s| s.as_str()).collect();
    assert_eq!(s, ["MASTER", "BACKUP", "FAULT", "STOP"]);
}
