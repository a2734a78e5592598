use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc;

use super::Outbox;

#[test]
fn a_full_queue_holds_items_in_order_until_room_appears() {
    let (tx, mut rx) = mpsc::channel(2);
    let mut out = Outbox::new(tx);
    for i in 0..5 {
        out.push(i);
    }
    assert_eq!(out.held(), 3);
    assert_eq!(rx.try_recv().ok(), Some(0));
    assert!(out.room().now_or_never().is_some(), "room for one");
    out.flush();
    assert_eq!(out.held(), 2);
    let mut got = vec![rx.try_recv().unwrap()];
    got.push(rx.try_recv().unwrap());
    out.flush();
    while let Ok(i) = rx.try_recv() {
        got.push(i);
    }
    assert_eq!(got, vec![1, 2, 3, 4]);
    assert_eq!(out.held(), 0);
}

#[test]
fn room_is_never_ready_with_nothing_held() {
    let (tx, _rx) = mpsc::channel::<u8>(2);
    let out = Outbox::new(tx);
    assert!(out.room().now_or_never().is_none());
}

#[test]
fn room_waits_while_the_queue_is_full() {
    let (tx, _rx) = mpsc::channel(1);
    let mut out = Outbox::new(tx);
    out.push(1);
    out.push(2);
    assert!(out.room().now_or_never().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn a_closed_queue_drops_what_is_held() {
    let (tx, rx) = mpsc::channel(1);
    let mut out = Outbox::new(tx);
    out.push(1);
    out.push(2);
    drop(rx);
    // Closed: room is "ready" (the reserve fails at once), flush drops.
    tokio::time::timeout(Duration::from_secs(1), out.room())
        .await
        .expect("a closed queue does not hold the runner");
    out.flush();
    assert_eq!(out.held(), 0);
    out.push(3);
    assert_eq!(out.held(), 0);
}

#[test]
fn an_outbox_emptied_after_a_burst_gives_its_room_back() {
    let (tx, mut rx) = mpsc::channel(4);
    let mut out = Outbox::new(tx);
    for i in 0..10_000 {
        out.push(i);
    }
    assert!(out.held.capacity() >= 9_996);
    let mut got = 0;
    while out.held() > 0 {
        while rx.try_recv().is_ok() {
            got += 1;
        }
        out.flush();
    }
    while rx.try_recv().is_ok() {
        got += 1;
    }
    assert_eq!(got, 10_000);
    assert!(
        out.held.capacity() <= super::KEPT,
        "{}",
        out.held.capacity()
    );
}
