use super::*;

#[test]
fn boot_status_says_whether_the_watchdog_reset_the_box() {
    let b = BootStatus::from_flags(flags::CARDRESET);
    assert!(b.reset_by_watchdog());
    assert_eq!(b.to_string(), "last reset by the watchdog");
    let b = BootStatus::default();
    assert!(!b.reset_by_watchdog());
    assert_eq!(b.to_string(), "last reset not by the watchdog");
}

#[test]
fn boot_status_names_other_causes() {
    let b = BootStatus::from_flags(flags::CARDRESET | flags::OVERHEAT | flags::POWERUNDER);
    assert_eq!(
        b.to_string(),
        "last reset by the watchdog (overheat, power under voltage)"
    );
    // Capability bits are no cause.
    let b = BootStatus::from_flags(flags::MAGICCLOSE | flags::SETTIMEOUT);
    assert_eq!(b.causes().count(), 0);
    assert_eq!(b.flags(), 0x0180);
}

#[test]
fn errors_name_the_device_and_the_ioctl() {
    let e = Error::Ioctl {
        device: "/dev/watchdog0".into(),
        ioctl: Ioctl::SetTimeout,
        source: nix::errno::Errno::EINVAL,
    };
    assert_eq!(
        e.to_string(),
        "watchdog /dev/watchdog0: WDIOC_SETTIMEOUT failed: EINVAL: Invalid argument"
    );
}
