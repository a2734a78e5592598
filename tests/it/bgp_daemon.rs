//! The daemon's BGP side against BIRD, in namespaces on the host: vigil
//! writes BIRD's config before BIRD starts, tells BIRD when it comes, the
//! session to a router's BIRD comes up and shows in `vigil status`, `vigil
//! drain` / `undrain` change the file and the status, a BIRD killed is
//! reported and a BIRD started again is told again, a reload rewrites the
//! config, and a stop says every route is withdrawn.
//!
//! The host has no IPVS, so every anycast address is withheld here (no
//! service is in a kernel table); announcing with a real table is the
//! lab's (`lab/tests/test_anycast.py`) and BIRD's side of it
//! `bgp_bird.rs`. Needs root and `bird` (scripts/install-deps).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::netns::{require_program, serial, spawn_bird, Lab, Proc};
use crate::support::peers::{start_vigil_with, vigil_bin};

const WITHIN: Duration = Duration::from_secs(20);

fn conf(lab: &Lab, extra: &str) -> String {
    format!(
        "bgp {{
    local_as 65010
    router_id 192.168.1.1
    neighbor 192.168.1.251 {{
        remote_as 65000
        hold_time 6
    }}
    drain prepend 2
    bird_socket {socket}
    bird_config {config}
{extra}}}
virtual_server 192.0.2.10 80 {{
    lvs_sched mh
    protocol TCP
    anycast
    real_server 192.168.1.251 80 {{
    }}
}}
",
        socket = lab.path("bird.ctl").display(),
        config = lab.path("bird.conf").display(),
    )
}

fn start_bird(lab: &Lab) -> Proc {
    spawn_bird(&lab.nodes[0].ns, &lab.dir, "bird", &lab.path("bird.conf")).0
}

fn start_router(lab: &Lab) -> Proc {
    let conf = lab.path("router.conf");
    std::fs::write(
        &conf,
        "router id 192.168.1.251;\nprotocol device {}\nprotocol bgp box1 {\n local 192.168.1.251 as 65000;\n neighbor 192.168.1.1 as 65010;\n hold time 6;\n ipv4 { import all; export none; };\n}\n",
    )
    .unwrap();
    let client = lab.client.as_ref().expect("a client node");
    spawn_bird(&client.ns, &lab.dir, "router", &conf).0
}

fn bgp(v: &serde_json::Value) -> &serde_json::Value {
    &v["bgp"]
}

fn session(v: &serde_json::Value) -> &str {
    bgp(v)["neighbors"][0]["session"].as_str().unwrap_or("")
}

fn vigil(args: &[&str], control: &Path) -> (bool, String) {
    let out = Command::new(vigil_bin())
        .args(args)
        .arg("--control")
        .arg(control)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_daemon_drives_bird_through_drain_a_dead_bird_a_reload_and_a_stop() {
    require_program("bird", "scripts/install-deps installs bird2");
    let _g = serial();
    let lab = Lab::with_client(1);
    let _router = start_router(&lab);
    let mut d = start_vigil_with(&lab, 0, &conf(&lab, ""), "bgp");
    // BIRD's file is there before BIRD: vigil writes it with nothing
    // announced when none exists.
    d.wait_status("BIRD's config written", WITHIN, |_| {
        lab.path("bird.conf").exists()
    });
    let text = std::fs::read_to_string(lab.path("bird.conf")).unwrap();
    assert!(
        text.contains("protocol bgp vigil_192_168_1_251 {"),
        "{text}"
    );
    assert!(!text.contains("route 192.0.2.10/32"), "{text}");
    let mut bird = start_bird(&lab);
    d.wait_status("the session up", WITHIN, |v| session(v) == "Established");
    let v = d.status_json();
    assert_eq!(bgp(&v)["bird_error"], serde_json::Value::Null, "{v}");
    // No IPVS on the host: the service is in no kernel table.
    assert_eq!(bgp(&v)["announced"], serde_json::json!([]), "{v}");
    assert_eq!(
        bgp(&v)["withheld"],
        serde_json::json!(["192.0.2.10"]),
        "{v}"
    );
    assert_eq!(bgp(&v)["drain"], "prepend 2");
    // The address is the box's, withheld or not: IPVS takes what is local.
    let vip: std::net::IpAddr = "192.0.2.10".parse().unwrap();
    assert!(
        lab.nodes[0].ns.addrs("lo").contains(&vip),
        "{:?}",
        lab.nodes[0].ns.addrs("lo")
    );
    assert_eq!(bgp(&v)["bird_pid"], bird.pid(), "{v}");
    let (ok, out) = vigil(&["status"], &d.control);
    assert!(
        ok && out.contains(&format!(
            "bgp: BIRD answering (pid {}); not drained (drain prepend 2)",
            bird.pid()
        )),
        "{out}"
    );
    assert!(
        out.contains("neighbor 192.168.1.251 AS 65000: Established, 0 routes exported"),
        "{out}"
    );

    // Drain: the filter prepends; kept in the file beside the socket.
    let (ok, out) = vigil(&["drain"], &d.control);
    assert!(ok, "{out}");
    assert!(
        out.contains("announced with the AS path longer (prepend 2)"),
        "{out}"
    );
    d.wait_status("drained", WITHIN, |v| bgp(v)["drained"] == true);
    let prepends = |n: usize| {
        let t = std::fs::read_to_string(lab.path("bird.conf")).unwrap();
        t.matches("bgp_path.prepend(65010);").count() == n
    };
    d.wait_status("the prepends written", WITHIN, |_| prepends(2));
    assert!(lab.path("bgp.drained").exists());
    let (ok, out) = vigil(&["undrain"], &d.control);
    assert!(ok, "{out}");
    d.wait_status("undrained", WITHIN, |v| {
        bgp(v)["drained"] == false && prepends(0)
    });

    // BIRD dies: said so; BIRD back: told again, the session back.
    bird.kill();
    d.wait_status("BIRD reported down", WITHIN, |v| {
        !bgp(v)["bird_error"].is_null()
    });
    let (_, out) = vigil(&["status"], &d.control);
    assert!(out.contains("bgp: BIRD NOT ANSWERING for"), "{out}");
    let bird = start_bird(&lab);
    d.wait_status("BIRD back", WITHIN, |v| {
        bgp(v)["bird_error"].is_null() && session(v) == "Established"
    });
    assert_eq!(bgp(&d.status_json())["bird_restarts"], 1);
    // BIRD killed and started again between two reads (systemd is that
    // quick): it answers as before, with another pid, and is counted.
    drop(bird);
    let bird = start_bird(&lab);
    d.wait_status("the restart between reads seen", WITHIN, |v| {
        bgp(v)["bird_restarts"] == 2 && bgp(v)["bird_pid"] == bird.pid()
    });
    assert!(
        d.proc.log_tail(40).contains("bgp: BIRD restarted"),
        "{}",
        d.proc.log_tail(40)
    );
    d.wait_status("the session back", WITHIN, |v| session(v) == "Established");

    // A reload of the block: the file follows, the session stays.
    d.reload_with(&conf(&lab, "    community 65010:7\n"));
    d.wait_status("the community written", WITHIN, |_| {
        std::fs::read_to_string(lab.path("bird.conf"))
            .unwrap()
            .contains("bgp_community.add((65010,7));")
    });
    d.wait_status("the session still up", WITHIN, |v| {
        session(v) == "Established"
    });

    // A deliberate stop withdraws.
    d.stop();
    assert!(
        d.proc
            .log_tail(40)
            .contains("every route withdrawn for the stop"),
        "{}",
        d.proc.log_tail(40)
    );
    assert!(
        !d.proc.log_tail(40).contains("task=bgp how=ended"),
        "the withdrawing task was taken for a failure: {}",
        d.proc.log_tail(40)
    );
    let text = std::fs::read_to_string(lab.path("bird.conf")).unwrap();
    assert!(!text.contains("route 192.0.2.10/32"), "{text}");
}

#[test]
fn drain_without_a_bgp_block_is_refused() {
    let _g = serial();
    let lab = Lab::new(1);
    let conf =
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 192.168.1.9 80 {\n }\n}\n";
    let d = start_vigil_with(&lab, 0, conf, "plain");
    let (ok, out) = vigil(&["drain"], &d.control);
    assert!(!ok, "{out}");
    assert!(out.contains("no bgp block"), "{out}");
    assert!(d.status_json().get("bgp").is_none());
}
