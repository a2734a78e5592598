//! vigil's side of BIRD against BIRD 2 itself: every config `bgp::bird`
//! writes parses (`bird -p`), and a box's BIRD, driven only through
//! `bgp::client`, announces to a router's BIRD in another namespace what
//! `bgp::announce` decides: the route appears, gets the drain's prepends
//! and goes, while the session stays up. Needs root and `bird`
//! (scripts/install-deps installs bird2).

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use vigil::bgp::announce::Announce;
use vigil::bgp::reply::{protocols, Reply};
use vigil::bgp::{bird, client};
use vigil::config::model::{Bgp, BgpNeighbor};

use crate::support::netns::{require_program, run, serial, spawn_bird, Netns};

const HINT: &str = "BIRD 2 is a test dependency: scripts/install-deps installs bird2";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn box_bgp(neighbor: &str) -> Bgp {
    let mut b = Bgp::new(65010, "10.98.0.1".parse().unwrap());
    let mut n = BgpNeighbor::new(neighbor.parse().unwrap(), 65000);
    n.hold_time = Some(9);
    n.password = Some("two words".into());
    b.neighbors.push(n);
    b.communities = vec![(65010, 100)];
    b
}

fn announce(routes: &[&str], prepend: u8) -> Announce {
    Announce {
        routes: routes
            .iter()
            .map(|r| r.parse::<IpAddr>().unwrap())
            .collect(),
        prepend,
    }
}

#[test]
fn bird_parses_every_config_vigil_writes() {
    require_program("bird", HINT);
    let dir = tempfile::tempdir().unwrap();
    let mut b = box_bgp("10.98.0.254");
    let mut v6 = BgpNeighbor::new("fd98::fe".parse().unwrap(), 4_200_000_000);
    v6.bfd = true;
    v6.multihop = Some(3);
    v6.source_address = Some("fd98::1".parse().unwrap());
    b.neighbors.push(v6);
    b.communities.push((0, 65535));
    let cases = [
        announce(&[], 0),
        announce(&["192.0.2.1", "192.0.2.2", "2001:db8::1"], 0),
        announce(&["192.0.2.1"], 8),
    ];
    for (n, a) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bird-{n}.conf"));
        std::fs::write(&path, bird::render(&b, a)).unwrap();
        let out = Command::new("bird")
            .arg("-p")
            .arg("-c")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bird -p refused case {n}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            bird::render(&b, a)
        );
    }
    // And BIRD's own check fails on a config it cannot take (the test can
    // tell a refusal from an acceptance).
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "router id 10.0.0.1;\nprotocol nonsense {}\n").unwrap();
    let out = Command::new("bird")
        .arg("-p")
        .arg("-c")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Asks `socket` until `f` holds of the reply to `command`.
fn wait_for(socket: &Path, command: &str, what: &str, f: impl Fn(&Reply) -> bool) -> Reply {
    let rt = runtime();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = rt.block_on(client::exchange(socket, command)) {
            if f(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "{what}: last reply {r:#?}");
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no reply from {socket:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(r: &Reply) -> String {
    r.lines
        .iter()
        .map(|l| format!("{} {}\n", l.code, l.text))
        .collect()
}

/// The line BIRD opens the session's protocol with: its state and since
/// when, which a session restart would change.
fn session_line(socket: &Path) -> String {
    let r = wait_for(socket, "show protocols", "the box's protocols", |r| {
        !r.is_error()
    });
    let line = r
        .lines
        .iter()
        .find(|l| l.text.starts_with("vigil_10_98_0_254"));
    line.map(|l| l.text.clone()).unwrap_or_default()
}

#[test]
fn a_box_announces_drains_and_withdraws_without_a_session_restart() {
    require_program("bird", HINT);
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (bx, router) = (Netns::new(), Netns::new());
    run(Command::new("ip").args([
        "link",
        "add",
        "bgpa",
        "netns",
        bx.name(),
        "type",
        "veth",
        "peer",
        "name",
        "bgpr",
        "netns",
        router.name(),
    ]));
    bx.exec(&["ip", "addr", "add", "10.98.0.1/24", "dev", "bgpa"]);
    bx.exec(&["ip", "link", "set", "bgpa", "up"]);
    router.exec(&["ip", "addr", "add", "10.98.0.254/24", "dev", "bgpr"]);
    router.exec(&["ip", "link", "set", "bgpr", "up"]);
    let router_conf = dir.path().join("router.conf");
    std::fs::write(
        &router_conf,
        "router id 10.98.0.254;\nprotocol device {}\nprotocol bgp box1 {\n local 10.98.0.254 as 65000;\n neighbor 10.98.0.1 as 65010;\n password \"two words\";\n ipv4 { import all; export none; };\n}\n",
    )
    .unwrap();
    let (_r, router_ctl) = spawn_bird(&router, dir.path(), "router", &router_conf);
    let b = box_bgp("10.98.0.254");
    let box_conf = dir.path().join("box.conf");
    std::fs::write(&box_conf, bird::render(&b, &announce(&["192.0.2.1"], 0))).unwrap();
    let (_b, box_ctl) = spawn_bird(&bx, dir.path(), "box", &box_conf);

    let r = wait_for(&box_ctl, "show protocols all", "the session up", |r| {
        protocols(r)
            .iter()
            .any(|p| p.bgp_state.as_deref() == Some("Established"))
    });
    let p = protocols(&r);
    let session = p
        .iter()
        .find(|p| p.name == "vigil_10_98_0_254")
        .expect("the neighbor's protocol");
    assert_eq!(
        (session.proto.as_str(), session.state.as_str()),
        ("BGP", "up")
    );
    let route = "show route 192.0.2.1/32 all";
    let r = wait_for(&router_ctl, route, "the route at the router", |r| {
        text(r).contains("BGP.as_path: 65010\n")
    });
    assert!(
        text(&r).contains("BGP.community: (65010,100)"),
        "{}",
        text(&r)
    );
    let up_since = session_line(&box_ctl);

    let rt = runtime();
    let apply = |a: &Announce| {
        std::fs::write(&box_conf, bird::render(&b, a)).unwrap();
        let r = rt.block_on(client::configure(&box_ctl, &box_conf)).unwrap();
        assert!(!r.is_error(), "{}", text(&r));
    };
    // Drained by prepend: the same route, a longer path.
    apply(&announce(&["192.0.2.1", "192.0.2.2"], 2));
    wait_for(&router_ctl, route, "the prepends", |r| {
        text(r).contains("BGP.as_path: 65010 65010 65010\n")
    });
    wait_for(
        &router_ctl,
        "show route 192.0.2.2/32",
        "a second route",
        |r| text(r).contains("192.0.2.2/32"),
    );
    // Withdrawn: the router has neither.
    apply(&announce(&[], 0));
    wait_for(&router_ctl, "show route", "both withdrawn", |r| {
        !text(r).contains("192.0.2.")
    });
    assert_eq!(session_line(&box_ctl), up_since, "the session restarted");

    // A config BIRD refuses comes back as an error reply, and BIRD keeps
    // running the one before.
    std::fs::write(&box_conf, "protocol nonsense {}\n").unwrap();
    let r = rt.block_on(client::configure(&box_ctl, &box_conf)).unwrap();
    assert!(r.is_error(), "{}", text(&r));
    assert!(r.last_text().contains("box.conf"), "{}", text(&r));
    assert_eq!(session_line(&box_ctl), up_since);
}

#[test]
fn a_bird_that_accepts_and_never_answers_is_named_stalled_with_its_pid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mute.ctl");
    let rt = runtime();
    let r = rt.block_on(async {
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let hold = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        });
        let r = client::exchange(&path, "show status").await;
        hold.abort();
        r
    });
    match r {
        Err(client::ClientError::Stalled { command, pid }) => {
            assert_eq!(command, "welcome");
            assert_eq!(pid, Some(std::process::id() as i32));
        }
        other => panic!("{other:?}"),
    }
    let gone = rt.block_on(client::exchange(
        &dir.path().join("none.ctl"),
        "show status",
    ));
    assert!(
        matches!(gone, Err(client::ClientError::Connect { .. })),
        "{gone:?}"
    );
}
