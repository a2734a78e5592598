use std::time::Duration;

use super::*;
use crate::config::model::Script;
use crate::watchdog::{flags, BootStatus};

#[test]
fn only_the_box_or_a_drop_in_asked_with_a_block_opens_the_hardware() {
    assert!(opens_hardware(Mode::Box, false));
    assert!(opens_hardware(Mode::Box, true));
    assert!(opens_hardware(Mode::Asked, true));
    assert!(!opens_hardware(Mode::Asked, false));
    assert!(!opens_hardware(Mode::Off, true));
}

#[test]
fn a_reset_runs_notify_reset_and_mails() {
    let armed = Armed {
        device: "/dev/watchdog".into(),
        identity: "i6300ESB timer".into(),
        timeout: Duration::from_secs(20),
        timeout_set: true,
        closes_unarmed: false,
        boot: BootStatus::from_flags(flags::CARDRESET),
    };
    let script = Script {
        argv: vec!["/usr/libexec/reset-alert".into()],
    };
    let ev = reset_event(&armed, Some(script.clone()));
    assert_eq!(ev.kind, notify::EventKind::Watchdog);
    assert_eq!(ev.state, notify::State::Reset);
    assert_eq!(ev.name, "/dev/watchdog");
    assert_eq!(ev.scripts.notify, Some(script));
    assert!(ev.smtp_alert);
    assert_eq!(
        notify::script::commands(&ev),
        vec![vec![
            "/usr/libexec/reset-alert".to_owned(),
            "WATCHDOG".into(),
            "/dev/watchdog".into(),
            "RESET".into()
        ]]
    );
}
