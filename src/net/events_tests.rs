//! Unit tests of `events.rs`: what a resync tells, and which events are
//! news.

use super::*;

fn link(index: u32, name: &str, up: bool) -> Link {
    Link {
        index,
        name: name.to_owned(),
        admin_up: true,
        lower_up: up,
        mac: None,
        mtu: None,
        parent: None,
        macvlan: false,
    }
}

fn addr(index: u32, a: &str) -> Addr {
    Addr {
        index,
        addr: a.parse().unwrap(),
        prefix: 24,
        secondary: false,
        tentative: false,
        link_scope: false,
        label: None,
    }
}

fn state(index: u32, name: &str, up: bool) -> NetEvent {
    NetEvent::LinkState {
        index,
        name: name.to_owned(),
        up,
    }
}

#[test]
fn a_first_resync_tells_every_link_and_address() {
    let now = Told::of(
        &[link(1, "lo", true), link(2, "eth0", true)],
        vec![addr(2, "10.0.0.1")],
    );
    assert_eq!(
        Told::default().diff(&now),
        [
            state(1, "lo", true),
            state(2, "eth0", true),
            NetEvent::AddressAdded(addr(2, "10.0.0.1")),
        ]
    );
}

#[test]
fn a_resync_tells_only_what_changed_while_the_socket_was_down() {
    let before = Told::of(
        &[
            link(1, "lo", true),
            link(2, "eth0", true),
            link(3, "eth1", true),
        ],
        vec![addr(2, "10.0.0.1"), addr(3, "10.0.1.1")],
    );
    let now = Told::of(
        &[
            link(1, "lo", true),
            link(2, "eth0", false),
            link(4, "eth2", true),
        ],
        vec![addr(2, "10.0.0.1"), addr(4, "10.0.2.1")],
    );
    assert_eq!(
        before.diff(&now),
        [
            NetEvent::AddressRemoved(addr(3, "10.0.1.1")),
            NetEvent::LinkGone { index: 3 },
            state(2, "eth0", false),
            state(4, "eth2", true),
            NetEvent::AddressAdded(addr(4, "10.0.2.1")),
        ]
    );
    assert!(now.diff(&now).is_empty(), "nothing changed, nothing told");
}

#[test]
fn recording_the_diff_reaches_the_new_state() {
    let before = Told::of(&[link(2, "eth0", true)], vec![addr(2, "10.0.0.1")]);
    let now = Told::of(&[link(2, "eth1", true)], vec![addr(2, "10.0.0.2")]);
    let mut told = before.clone();
    for ev in before.diff(&now) {
        told.record(&ev);
    }
    assert_eq!(told, now);
}

#[test]
fn only_news_is_sent_again() {
    let mut told = Told::of(&[link(2, "eth0", true)], vec![addr(2, "10.0.0.1")]);
    // The kernel repeats NEWLINK for an MTU or a statistics change.
    assert!(!told.is_news(&state(2, "eth0", true)));
    assert!(told.is_news(&state(2, "eth0", false)));
    assert!(told.is_news(&state(2, "wan", true)), "a rename is told");
    assert!(told.is_news(&state(5, "eth5", false)), "a new link is told");
    assert!(!told.is_news(&NetEvent::AddressAdded(addr(2, "10.0.0.1"))));
    assert!(!told.is_news(&NetEvent::AddressRemoved(addr(2, "10.0.0.9"))));
    assert!(!told.is_news(&NetEvent::LinkGone { index: 7 }));
    told.record(&NetEvent::LinkGone { index: 2 });
    assert!(told.is_news(&state(2, "eth0", true)));
}

/// A full channel drops nothing for good: the event is not counted as
/// told, so the resync's diff carries it once the receiver catches up.
#[test]
fn an_event_that_finds_the_queue_full_comes_with_the_resync() {
    let (tx, mut rx) = mpsc::channel(1);
    let mut told = Told::of(&[link(2, "eth0", true), link(3, "eth1", true)], vec![]);
    let kernel = told.clone();
    assert_eq!(
        deliver(&tx, &mut told, state(2, "eth0", false)),
        Delivery::Sent
    );
    assert_eq!(
        deliver(&tx, &mut told, state(2, "eth0", false)),
        Delivery::Old
    );
    assert_eq!(
        deliver(&tx, &mut told, state(3, "eth1", false)),
        Delivery::Full
    );
    // The receiver catches up; the resync reads the kernel.
    assert_eq!(rx.try_recv().unwrap(), state(2, "eth0", false));
    let mut now = kernel;
    now.record(&state(2, "eth0", false));
    now.record(&state(3, "eth1", false));
    assert_eq!(told.diff(&now), [state(3, "eth1", false)]);
    drop(rx);
    assert_eq!(
        deliver(&tx, &mut told, state(3, "eth1", false)),
        Delivery::Gone
    );
}
