use super::*;

/// `_IOC(dir, type, nr, size)` of asm-generic/ioctl.h, written out again
/// here so the test does not trust nix's encoding either.
fn ioc(dir: u32, ty: u8, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (u32::from(ty) << 8) | nr
}
const IOC_READ: u32 = 2;
const IOC_WRITE: u32 = 1;

#[test]
fn request_numbers_match_linux_watchdog_h() {
    // sizeof(struct watchdog_info): two __u32 and 32 bytes of identity.
    assert_eq!(size_of::<WatchdogInfo>(), 40);
    let int = size_of::<CInt>();
    // (ours, the header's encoding, the value a C program printed from
    // the host's <linux/watchdog.h>)
    let cases = [
        (
            "GETSUPPORT",
            WDIOC_GETSUPPORT,
            ioc(IOC_READ, b'W', 0, 40),
            0x8028_5700,
        ),
        (
            "GETBOOTSTATUS",
            WDIOC_GETBOOTSTATUS,
            ioc(IOC_READ, b'W', 2, int),
            0x8004_5702,
        ),
        (
            "KEEPALIVE",
            WDIOC_KEEPALIVE,
            ioc(IOC_READ, b'W', 5, int),
            0x8004_5705,
        ),
        (
            "SETTIMEOUT",
            WDIOC_SETTIMEOUT,
            ioc(IOC_READ | IOC_WRITE, b'W', 6, int),
            0xc004_5706,
        ),
        (
            "GETTIMEOUT",
            WDIOC_GETTIMEOUT,
            ioc(IOC_READ, b'W', 7, int),
            0x8004_5707,
        ),
    ];
    for (name, ours, encoded, printed) in cases {
        // The bits, whatever the width of the request type on this libc.
        assert_eq!(ours as u32, encoded, "WDIOC_{name}");
        assert_eq!(ours as u32, printed, "WDIOC_{name}");
    }
}

#[test]
fn identity_stops_at_the_first_nul() {
    let mut raw = [0u8; 32];
    raw[..14].copy_from_slice(b"i6300ESB timer");
    assert_eq!(identity(&raw), "i6300ESB timer");
    assert_eq!(identity(&[b'x'; 32]), "x".repeat(32));
}

fn cfg(device: &str) -> WatchdogConfig {
    WatchdogConfig {
        device: device.to_owned(),
        timeout: 10,
        notify_reset: None,
    }
}

#[test]
fn a_missing_device_is_absent_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watchdog");
    let opened = Hardware::open(&cfg(path.to_str().unwrap())).unwrap();
    assert!(matches!(opened, Opened::Absent { device } if device == path));
}

#[test]
fn a_file_that_is_no_watchdog_fails_at_getsupport_and_gets_the_magic_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-watchdog");
    std::fs::write(&path, b"").unwrap();
    let err = Hardware::open(&cfg(path.to_str().unwrap())).unwrap_err();
    match &err {
        Error::Ioctl {
            device,
            ioctl,
            source,
        } => {
            assert_eq!(device, &path);
            assert_eq!(*ioctl, Ioctl::GetSupport);
            assert_eq!(*source, Errno::ENOTTY);
        }
        other => panic!("expected an ioctl error, got {other:?}"),
    }
    // Disarmed before the error returned: the 'V' is in the file.
    assert_eq!(std::fs::read(&path).unwrap(), b"V");
}

#[test]
fn a_device_that_cannot_be_opened_is_an_open_error_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = Hardware::open(&cfg(dir.path().to_str().unwrap())).unwrap_err();
    assert!(matches!(&err, Error::Open { device, .. } if device == dir.path()));
    assert!(
        err.to_string().starts_with("cannot open watchdog /"),
        "{err}"
    );
}

#[test]
fn a_driver_without_magic_close_disarms_on_any_close() {
    let info = |options| Info {
        identity: String::new(),
        firmware_version: 0,
        options,
        timeout: Duration::from_secs(10),
        timeout_set: true,
        boot: BootStatus::default(),
    };
    assert!(info(flags::SETTIMEOUT).closes_unarmed());
    assert!(!info(flags::SETTIMEOUT | flags::MAGICCLOSE).closes_unarmed());
}
