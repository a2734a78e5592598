use std::fs::File;
use std::io;

use super::*;
use crate::watchdog::device::Info;
use crate::watchdog::{flags, Ioctl};

const S: Duration = Duration::from_secs(1);

#[test]
fn only_the_appliance_opens_a_hardware_watchdog() {
    let mut a = Appliance::default();
    a.watchdog.timeout = 30;
    assert_eq!(wanted(Some(&a), true).map(|w| w.timeout), Some(30));
    // The factory default (no appliance block) still has one.
    assert_eq!(wanted(None, true), Some(WatchdogConfig::default()));
    // A drop-in host: never, even with the block.
    assert_eq!(wanted(Some(&a), false), None);
    assert_eq!(wanted(None, false), None);
}

/// A hardware watchdog on a plain file: its disarm writes the 'V' there.
fn hardware(dir: &tempfile::TempDir, boot: u32) -> (Hardware, PathBuf) {
    let path = dir.path().join("watchdog");
    let file = File::create(&path).unwrap();
    let info = Info {
        identity: "i6300ESB timer".into(),
        firmware_version: 0,
        options: flags::SETTIMEOUT | flags::MAGICCLOSE,
        timeout: 10 * S,
        timeout_set: true,
        boot: BootStatus::from_flags(boot),
    };
    (Hardware::from_parts(file, path.clone(), info), path)
}

#[test]
fn a_missing_device_is_absent_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("watchdog");
    let cfg = WatchdogConfig {
        device: device.to_str().unwrap().to_owned(),
        timeout: 20,
        notify_reset: None,
    };
    let a = attempt(&cfg);
    assert!(matches!(&a, Attempt::Absent { device: d } if *d == device));
    assert!(matches!(said(&a), HardwareState::Absent { device: d } if d == device));
}

#[test]
fn a_file_that_is_no_watchdog_is_a_failure_kept_for_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("watchdog");
    std::fs::write(&device, b"").unwrap();
    let cfg = WatchdogConfig {
        device: device.to_str().unwrap().to_owned(),
        timeout: 20,
        notify_reset: None,
    };
    let state = said(&attempt(&cfg));
    let HardwareState::Failed(e) = state else {
        panic!("expected a failure, got {state:?}");
    };
    assert!(matches!(
        *e,
        Error::Ioctl {
            ioctl: Ioctl::GetSupport,
            ..
        }
    ));
}

#[test]
fn an_open_error_keeps_its_text_in_the_status() {
    let e = Error::Open {
        device: "/dev/watchdog".into(),
        source: io::Error::from_raw_os_error(16),
    };
    let text = e.to_string();
    let HardwareState::Failed(kept) = said(&Attempt::Failed(e)) else {
        panic!("expected a failure");
    };
    assert_eq!(kept.to_string(), text);
}

#[test]
fn an_armed_device_is_petting_with_its_boot_status() {
    let armed = Armed {
        device: "/dev/watchdog".into(),
        identity: "i6300ESB timer".into(),
        timeout: 20 * S,
        timeout_set: true,
        closes_unarmed: false,
        boot: BootStatus::from_flags(flags::CARDRESET),
    };
    let dir = tempfile::tempdir().unwrap();
    let (hw, _) = hardware(&dir, flags::CARDRESET);
    let state = said(&Attempt::Armed(Box::new(hw), armed.clone()));
    let status = Status {
        hardware: state,
        systemd: Some(5 * S),
    };
    assert!(status.boot().unwrap().reset_by_watchdog());
    assert!(matches!(
        &status.hardware,
        HardwareState::Armed { armed: a, pets: Pets::Petting } if *a == armed
    ));
}

#[test]
fn before_the_first_attempt_the_device_is_being_opened_or_unused() {
    let cfg = WatchdogConfig::default();
    assert!(matches!(
        Status::new(Some(&cfg), None).hardware,
        HardwareState::Opening { device } if device.to_str() == Some("/dev/watchdog")
    ));
    assert!(matches!(
        Status::new(None, None).hardware,
        HardwareState::Unused
    ));
    assert!(Status::new(None, None).boot().is_none());
}

#[test]
fn a_malformed_systemd_environment_pets_no_systemd_watchdog() {
    assert_eq!(service_from(Err(EnvError::Usec("x".into()))), None);
    let s = Service { timeout: 3 * S };
    assert_eq!(service_from(Ok(Some(s))), Some(s));
    assert_eq!(service_from(Ok(None)), None);
}

#[test]
fn the_hardware_device_disarms_with_the_magic_character() {
    let dir = tempfile::tempdir().unwrap();
    let (hw, path) = hardware(&dir, 0);
    let mut hw: Box<dyn Device> = Box::new(hw);
    // A plain file is no watchdog: the pet names the ioctl that failed.
    let e = hw.keepalive().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Ioctl {
                ioctl: Ioctl::Keepalive,
                ..
            }
        ),
        "{e}"
    );
    hw.disarm().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"V");
}

#[test]
fn a_dropped_hardware_device_closes_without_the_magic_character() {
    let dir = tempfile::tempdir().unwrap();
    let (hw, path) = hardware(&dir, 0);
    drop(hw);
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}
