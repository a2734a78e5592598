//! Unit tests of `connects.rs`, on loopback.

use super::*;
use std::net::{Ipv4Addr, TcpListener};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The results, waiting at most 5 s for `n` of them.
async fn results(c: &mut Connects, n: usize) -> Vec<Done> {
    let mut out = Vec::new();
    while out.len() < n {
        tokio::time::timeout(Duration::from_secs(5), c.ready())
            .await
            .expect("a result within 5 s");
        out.extend(c.take());
    }
    out
}

/// A listener on loopback, its address, and an empty set.
fn listening() -> (TcpListener, SocketAddr, Connects) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let to = l.local_addr().expect("addr");
    (l, to, Connects::new().expect("epoll"))
}

fn closed_port() -> SocketAddr {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    l.local_addr().expect("addr")
}

#[test]
fn a_listener_answers_and_a_closed_port_refuses() {
    rt().block_on(async {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let (open, closed) = (l.local_addr().expect("addr"), closed_port());
        let mut c = Connects::new().expect("epoll");
        let t = Duration::from_secs(2);
        c.start(CheckId(1), open, None, t, Instant::now());
        c.start(CheckId(2), closed, None, t, Instant::now());
        let mut r = results(&mut c, 2).await;
        r.sort_by_key(|(id, _, _)| *id);
        assert_eq!((r[0].0, r[0].1), (CheckId(1), Ok(())));
        assert_eq!((r[1].0, r[1].1), (CheckId(2), Err(Failure::Refused)));
        assert_eq!(c.live(), 0);
        // Answered: no deadline is left to wake for.
        assert_eq!(c.next_deadline(), None);
        // The check was made (and closed: a RST, nothing to read).
        let (s, _) = l.accept().expect("accepted");
        drop(s);
    });
}

#[test]
fn a_connect_unanswered_by_its_deadline_times_out_and_its_answer_is_dropped() {
    rt().block_on(async {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let mut c = Connects::new().expect("epoll");
        let t0 = Instant::now();
        let (short, long) = (Duration::from_millis(100), Duration::from_secs(3));
        c.start(CheckId(1), l.local_addr().expect("addr"), None, long, t0);
        c.start(CheckId(2), l.local_addr().expect("addr"), None, short, t0);
        assert_eq!(c.next_deadline(), Some(t0 + short));
        // Before its deadline nothing expires; at it, the check fails,
        // whatever answer waits in the set.
        c.expire(t0 + short - Duration::from_millis(1));
        assert!(!c.has_done());
        c.expire(t0 + short);
        let r: Vec<Done> = c.take().collect();
        let timeout = Err(Failure::Timeout {
            stage: Stage::Connect,
        });
        assert_eq!(r, vec![(CheckId(2), timeout, short)]);
        assert_eq!(c.live(), 1);
        assert_eq!(c.next_deadline(), Some(t0 + long));
        // The other one's answer still comes, once.
        let r = results(&mut c, 1).await;
        assert_eq!((r[0].0, r[0].1), (CheckId(1), Ok(())));
        assert_eq!(c.next_deadline(), None);
    });
}

#[test]
fn slots_are_reused_and_a_stale_deadline_of_an_earlier_use_does_nothing() {
    rt().block_on(async {
        let (_l, to, mut c) = listening();
        let t0 = Instant::now();
        let t = Duration::from_millis(50);
        c.start(CheckId(1), to, None, t, t0);
        results(&mut c, 1).await;
        // The same slot, a later deadline: the first use's deadline is
        // stale and times nothing out.
        let t1 = t0 + Duration::from_millis(30);
        c.start(CheckId(2), to, None, t, t1);
        assert_eq!(c.table.slots.len(), 1);
        c.expire(t0 + t);
        assert!(!c.has_done());
        assert_eq!(c.next_deadline(), Some(t1 + t));
        c.clear();
        assert_eq!((c.live(), c.next_deadline()), (0, None));
    });
}

#[test]
fn a_bind_to_an_address_not_on_the_box_is_a_bind_failure_at_once() {
    rt().block_on(async {
        let mut c = Connects::new().expect("epoll");
        let from = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        c.start(
            CheckId(3),
            closed_port(),
            from,
            Duration::from_secs(1),
            Instant::now(),
        );
        let r = results(&mut c, 1).await;
        assert!(
            matches!(r[0], (CheckId(3), Err(Failure::Bind(_)), _)),
            "{r:?}"
        );
        assert_eq!(c.live(), 0);
    });
}

#[test]
fn a_bound_connect_leaves_from_that_address() {
    rt().block_on(async {
        let l = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind");
        let to = SocketAddr::new(
            Ipv4Addr::LOCALHOST.into(),
            l.local_addr().expect("addr").port(),
        );
        let mut c = Connects::new().expect("epoll");
        let from = Ipv4Addr::new(127, 0, 0, 2);
        c.start(
            CheckId(4),
            to,
            Some(from.into()),
            Duration::from_secs(2),
            Instant::now(),
        );
        let r = results(&mut c, 1).await;
        assert_eq!(r[0].1, Ok(()));
        let (_, peer) = l.accept().expect("accepted");
        assert_eq!(peer.ip(), IpAddr::V4(from));
    });
}

/// The next connection `l` accepts, and whether its peer reset it (read
/// within 2 s).
fn accept_reset(l: &TcpListener) -> (SocketAddr, bool) {
    use std::io::Read;
    let (mut s, peer) = l.accept().expect("accepted");
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let reset =
        matches!(s.read(&mut [0u8; 16]), Err(e) if e.kind() == io::ErrorKind::ConnectionReset);
    (peer, reset)
}

#[test]
fn a_finished_checks_socket_is_kept_and_the_next_check_is_a_new_connection() {
    rt().block_on(async {
        let (l, open, mut c) = listening();
        let t = Duration::from_secs(2);
        c.start(CheckId(1), open, None, t, Instant::now());
        assert_eq!(results(&mut c, 1).await[0].1, Ok(()));
        assert_eq!(c.idle(), 1);
        // The kept socket refused, then answered: each check its own
        // outcome, no error of an earlier use carried over.
        c.start(CheckId(2), closed_port(), None, t, Instant::now());
        assert_eq!(c.idle(), 0);
        assert_eq!(results(&mut c, 1).await[0].1, Err(Failure::Refused));
        c.start(CheckId(3), open, None, t, Instant::now());
        let r = results(&mut c, 1).await;
        assert_eq!((r[0].0, r[0].1), (CheckId(3), Ok(())));
        assert_eq!((c.idle(), c.live()), (1, 0));
        // Two connections from two local ports, each ended with a RST.
        let (first, reset1) = accept_reset(&l);
        let (second, reset2) = accept_reset(&l);
        assert_ne!(first.port(), second.port());
        assert!(reset1 && reset2, "a check's connection ends with a RST");
        // A new plan starts without them.
        c.clear();
        assert_eq!(c.idle(), 0);
    });
}

#[test]
fn a_timed_out_checks_socket_is_kept_and_its_stale_event_is_no_result() {
    rt().block_on(async {
        let (_l, to, mut c) = listening();
        let t0 = Instant::now();
        let t = Duration::from_millis(100);
        // Timed out whatever the kernel answered meanwhile: the socket,
        // armed for that use, is dissolved and kept.
        c.start(CheckId(1), to, None, t, t0);
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.expire(t0 + t);
        let r: Vec<Done> = c.take().collect();
        assert!(
            matches!(r[..], [(CheckId(1), Err(Failure::Timeout { .. }), _)]),
            "{r:?}"
        );
        assert_eq!((c.idle(), c.live()), (1, 0));
        // Its next check answers once, with its own result only.
        c.start(CheckId(2), to, None, Duration::from_secs(2), Instant::now());
        assert_eq!(c.idle(), 0);
        let r = results(&mut c, 1).await;
        assert_eq!((r[0].0, r[0].1), (CheckId(2), Ok(())));
        assert_eq!((c.idle(), c.live(), c.has_done()), (1, 0, false));
    });
}

#[test]
fn a_bound_socket_is_kept_for_checks_from_its_source_only() {
    rt().block_on(async {
        let l = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind");
        let to = SocketAddr::new(
            Ipv4Addr::LOCALHOST.into(),
            l.local_addr().expect("addr").port(),
        );
        let mut c = Connects::new().expect("epoll");
        let from: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
        let t = Duration::from_secs(2);
        for (id, source) in [(1, Some(from)), (2, None), (3, Some(from))] {
            c.start(CheckId(id), to, source, t, Instant::now());
            assert_eq!(results(&mut c, 1).await[0].1, Ok(()));
            let (peer, _) = accept_reset(&l);
            assert_eq!(peer.ip(), source.unwrap_or(Ipv4Addr::LOCALHOST.into()));
        }
        assert_eq!(c.idle(), 2);
    });
}

/// A new socket toward the discard port on loopback (never connected).
fn spare(to: &str) -> Option<Socket> {
    open(to.parse().expect("addr"), None).ok()
}

#[test]
fn at_most_max_sockets_are_kept_per_family_and_source() {
    let now = Instant::now();
    let mut idle = Idle::new(3);
    let key = (false, None);
    for _ in 0..4 {
        idle.put(key, spare("127.0.0.1:9").expect("socket"), now);
    }
    assert_eq!(idle.len(), 3);
    if let Some(s) = spare("[::1]:9") {
        idle.put((true, None), s, now);
        assert_eq!(idle.len(), 4);
    }
    assert!(idle
        .take((false, Some(Ipv4Addr::LOCALHOST.into())))
        .is_none());
    assert!(idle.take(key).is_some());
    assert_eq!(idle_max(u64::MAX), IDLE_MAX);
    assert_eq!(idle_max(1024), IDLE_MAX);
    assert_eq!(idle_max(512), 128);
    assert_eq!(idle_max(40), 10);
}

#[test]
fn out_of_descriptors_every_kept_socket_goes_and_none_is_kept_for_a_while() {
    let now = Instant::now();
    let mut idle = Idle::new(IDLE_MAX);
    let key = (false, None);
    idle.put(key, spare("127.0.0.1:9").expect("socket"), now);
    idle.short_of_fds(now);
    assert_eq!(idle.len(), 0);
    let later = now + SHORT_OF_FDS_FOR - Duration::from_millis(1);
    idle.put(key, spare("127.0.0.1:9").expect("socket"), later);
    assert_eq!(idle.len(), 0);
    idle.put(
        key,
        spare("127.0.0.1:9").expect("socket"),
        now + SHORT_OF_FDS_FOR,
    );
    assert_eq!(idle.len(), 1);
}
