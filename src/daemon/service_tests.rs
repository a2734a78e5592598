use super::*;
use crate::control::{
    InstanceStatus, IpvsDestStatus, IpvsServiceStatus, IpvsStatus, WatchdogState, WatchdogStatus,
};

/// The counts of `s`'s IPVS status, as the IPVS task keeps them.
fn counts(s: &Status) -> Option<IpvsSummary> {
    s.ipvs.as_ref().map(IpvsSummary::of)
}

fn inst(name: &str, state: &str) -> InstanceStatus {
    InstanceStatus {
        name: name.into(),
        state: state.into(),
        ..Default::default()
    }
}

fn dest(health: &str) -> IpvsDestStatus {
    IpvsDestStatus {
        health: health.to_owned().into(),
        ..Default::default()
    }
}

fn status() -> Status {
    Status {
        instances: vec![inst("VI_1", "MASTER"), inst("VI_2", "BACKUP")],
        ipvs: Some(IpvsStatus {
            services: vec![IpvsServiceStatus {
                service: "TCP 10.0.0.100:80".into(),
                dests: vec![dest("up"), dest("down")],
                ..Default::default()
            }],
            ..Default::default()
        }),
        watchdog: WatchdogStatus {
            state: WatchdogState::Petting,
            device: "/dev/watchdog".into(),
            identity: Some("i6300ESB timer".into()),
            timeout_s: Some(20),
            systemd_ms: Some(5000),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn the_line_names_instances_ipvs_and_the_watchdog() {
    assert_eq!(
        line(&status(), counts(&status()).as_ref()),
        "VI_1 MASTER, VI_2 BACKUP; ipvs 1 service 1/2 up; \
         watchdog /dev/watchdog (i6300ESB timer) 20s: petting; systemd WatchdogSec 5s"
    );
}

#[test]
fn the_line_of_a_drop_in_without_ipvs_or_hardware() {
    let s = Status {
        instances: vec![inst("VI_1", "BACKUP")],
        ..Default::default()
    };
    assert_eq!(
        line(&s, counts(&s).as_ref()),
        "VI_1 BACKUP; watchdog: not the appliance, hardware watchdog unused"
    );
}

#[test]
fn a_withheld_watchdog_and_a_reset_say_so() {
    let mut s = status();
    s.watchdog.state = WatchdogState::Withheld;
    s.watchdog.late = vec!["health (late by 1s)".into()];
    s.watchdog.boot = Some("last reset by the watchdog".into());
    s.watchdog.systemd_ms = None;
    assert!(line(&s, counts(&s).as_ref()).ends_with(
        "20s: WITHHELD, the box resets (late: health (late by 1s)); last reset by the watchdog"
    ));
}

#[test]
fn ready_waits_for_the_instances_and_the_first_ipvs_pass_within_a_bound() {
    let t0 = Instant::now();
    let (tx, rx) = watch::channel(false);
    let mut svc = Service::new(t0, Some(rx));
    let mut s = status();
    s.instances[1].state = "INIT".into();
    assert!(!svc.tick(&s, counts(&s).as_ref(), t0));
    assert!(!svc.ready);
    s.instances[1].state = "BACKUP".into();
    assert!(!svc.tick(&s, counts(&s).as_ref(), t0 + TICK));
    assert!(!svc.ready, "the first pass has not come");
    tx.send_replace(true);
    assert!(
        svc.tick(&s, counts(&s).as_ref(), t0 + 2 * TICK),
        "ready now"
    );
    assert!(svc.ready);
    assert_eq!(svc.last, line(&s, counts(&s).as_ref()));
    assert!(
        !svc.tick(&s, counts(&s).as_ref(), t0 + 3 * TICK),
        "said once"
    );

    // An instance that never leaves INIT: ready at the bound anyway.
    let mut svc = Service::new(t0, None);
    s.instances[0].state = "INIT".into();
    svc.tick(&s, counts(&s).as_ref(), t0 + READY_BOUND - TICK);
    assert!(!svc.ready);
    svc.tick(&s, counts(&s).as_ref(), t0 + READY_BOUND);
    assert!(svc.ready);
}
