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
fn an_armed_device_and_systemd_are_both_petted_and_the_boot_status_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (hw, path) = hardware(&dir, flags::CARDRESET);
    let service = Service { timeout: 3 * S };
    let f = found(Some(Ok(Opened::Armed(hw))), Ok(Some(service)));
    let names: Vec<String> = f.devices.iter().map(|d| d.name()).collect();
    assert_eq!(names, [path.display().to_string(), "systemd".to_owned()]);
    assert_eq!(f.systemd, Some(3 * S));
    assert!(f.boot().unwrap().reset_by_watchdog());
    assert!(matches!(
        &f.hardware,
        HardwareState::Armed { identity, timeout, .. } if identity == "i6300ESB timer" && *timeout == 10 * S
    ));
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

#[test]
fn no_device_and_no_systemd_leaves_nothing_to_pet() {
    let absent = Opened::Absent {
        device: "/dev/watchdog".into(),
    };
    let f = found(Some(Ok(absent)), Ok(None));
    assert!(f.devices.is_empty());
    assert!(f.boot().is_none());
    assert!(
        matches!(&f.hardware, HardwareState::Absent { device } if device.to_str() == Some("/dev/watchdog"))
    );
}

#[test]
fn a_device_that_fails_is_kept_as_the_error_and_systemd_still_petted() {
    let e = Error::Open {
        device: "/dev/watchdog".into(),
        source: io::Error::from_raw_os_error(16),
    };
    let f = found(Some(Err(e)), Ok(Some(Service { timeout: 3 * S })));
    assert_eq!(f.devices.len(), 1);
    assert!(matches!(
        &f.hardware,
        HardwareState::Failed(Error::Open { .. })
    ));
}

#[test]
fn a_malformed_systemd_environment_pets_no_systemd_watchdog() {
    let f = found(None, Err(EnvError::Usec("x".into())));
    assert!(f.devices.is_empty());
    assert_eq!(f.systemd, None);
    assert!(matches!(f.hardware, HardwareState::Unused));
}

#[test]
fn a_drop_in_host_pets_only_systemd() {
    let f = found(None, Ok(Some(Service { timeout: 3 * S })));
    assert_eq!(f.devices.len(), 1);
    assert!(matches!(f.hardware, HardwareState::Unused));
}
