//! Unit tests of `mail.rs`.

use super::*;
use std::time::Duration;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn rfc2822_dates() {
    assert_eq!(rfc2822(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
    // `date -u -d @951782400` : leap day of a century leap year.
    assert_eq!(rfc2822(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 +0000");
    assert_eq!(
        rfc2822(at(1_700_000_000)),
        "Tue, 14 Nov 2023 22:13:20 +0000"
    );
    assert_eq!(
        rfc2822(at(4_102_444_799)),
        "Thu, 31 Dec 2099 23:59:59 +0000"
    );
    assert_eq!(
        rfc2822(UNIX_EPOCH - Duration::from_secs(5)),
        "Thu, 01 Jan 1970 00:00:00 +0000"
    );
}

fn fields<'a>(to: &'a [String], name: &'a str, kind: EventKind) -> MailFields<'a> {
    MailFields {
        router_id: "lb1",
        from: "vigil@lb1",
        to,
        kind,
        name,
        state: State::Master,
        priority: 100,
        at: at(1_700_000_000),
    }
}

#[test]
fn mail_headers_and_crlf() {
    let to = vec!["ops@example.com".to_string(), "noc@example.com".to_string()];
    let m = format_mail(&fields(&to, "VI_1", EventKind::Instance));
    let (head, body) = m.split_once("\r\n\r\n").expect("blank line after headers");
    assert!(head.starts_with("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nFrom: vigil@lb1\r\n"));
    assert!(head.contains("\r\nTo: ops@example.com,\r\n noc@example.com\r\n"));
    assert!(head.contains("\r\nSubject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n"));
    assert!(body.contains("priority: 100\r\n"));
    assert!(m.ends_with("\r\n"));
    // No bare LF anywhere.
    assert!(!m.replace("\r\n", "").contains('\n'));
    let g = format_mail(&fields(&to, "VG_1", EventKind::Group));
    assert!(g.contains("Subject: [lb1] VRRP Group VG_1 - Entering MASTER state\r\n"));
    assert!(!g.contains("priority"));
}

#[test]
fn names_cannot_inject_headers() {
    let to = vec!["ops@example.com".to_string()];
    let m = format_mail(&fields(&to, "VI_1\r\nBcc: evil@x", EventKind::Instance));
    assert!(!m.contains("\r\nBcc:"));
    assert!(m.contains("VI_1??Bcc: evil@x - Entering"));
}

#[test]
fn a_watchdog_reset_mail_names_the_router_and_the_reset() {
    let to = ["ops@example.com".to_owned()];
    let m = format_mail(&MailFields {
        router_id: "lb-1",
        from: "vigil@lb-1",
        to: &to,
        kind: EventKind::Watchdog,
        name: "/dev/watchdog",
        state: State::Reset,
        priority: 0,
        at: at(0),
    });
    assert!(
        m.contains("Subject: [lb-1] Watchdog /dev/watchdog - Last reset by the watchdog\r\n"),
        "{m}"
    );
    assert!(m.contains("=> Watchdog /dev/watchdog reset the box"), "{m}");
    assert!(m.contains("state:    RESET\r\n"), "{m}");
    assert!(!m.contains("priority:"), "{m}");
}

#[test]
fn an_arp_theft_mail_names_instance_vip_and_mac() {
    let to = ["ops@example.com".to_owned()];
    let m = format_mail(&MailFields {
        router_id: "lb-1",
        from: "vigil@lb-1",
        to: &to,
        kind: EventKind::ArpTheft,
        name: "VI_1 192.168.1.200 52:54:00:00:00:67",
        state: State::Master,
        priority: 0,
        at: at(0),
    });
    assert!(
        m.contains(
            "Subject: [lb-1] ARP theft VI_1 192.168.1.200 52:54:00:00:00:67 - VIP claimed by another MAC\r\n"
        ),
        "{m}"
    );
    assert!(
        m.contains("claimed the VIP at L2; vigil re-asserted it <="),
        "{m}"
    );
    assert!(!m.contains("priority:"), "{m}");
}
