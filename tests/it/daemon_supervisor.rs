//! The supervisor's policy, in network namespaces: each kind of task is
//! made to end, panic or stall through the fault hook (`vigil fault`,
//! compiled only with the `fault-hooks` feature) and the written policy
//! is seen to happen: the task is restarted (`vigil status` shows it
//! running again with one restart and a fresh check-in), a stalled task
//! is shown as stalled first, a MASTER whose instance task died loses its
//! VIP at once while the peer (a second vigil) takes over, then comes
//! back, and a task past its restart budget ends the daemon non-zero.
//! The host has no ip_vs: the IPVS and sync tasks run their loops (their
//! netlink calls fail and retry), which is all the supervisor watches.
//!
//! Needs root and iproute2 (scripts/install-deps), and
//! `--features fault-hooks` (`make unit` passes it).

/// Without the feature there is no fault hook and nothing here can run:
/// fail, so a plain `cargo test` cannot pass by skipping.
#[cfg(not(feature = "fault-hooks"))]
#[test]
fn fault_hooks_are_compiled_in() {
    panic!("run with --features fault-hooks (make unit does)");
}

#[cfg(feature = "fault-hooks")]
mod with_hooks {
    use std::net::IpAddr;
    use std::path::Path;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use crate::support::netns::{serial, Lab};
    use crate::support::peers::{
        self, first_state, start_vigil_with, vigil_bin, Daemon, Instance, Kind,
    };

    const VIP: &str = "192.168.1.200";
    /// On the LAN, but no host answers ARP for it: a check there times out.
    const DEAD_REAL: &str = "192.168.1.240";

    /// VI_1 (MASTER at priority 150 against a peer at 100) tracking a
    /// script, a virtual server with a health check, and the sync daemon
    /// following VI_1: every kind of task runs.
    fn conf() -> String {
        format!(
            "global_defs {{
    router_id lb1
    lvs_sync_daemon eth0 VI_1
}}

vrrp_script chk_true {{
    script /bin/true
}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 3
    virtual_ipaddress {{
        {VIP}/24
    }}
    track_script {{
        chk_true
    }}
}}

virtual_server {VIP} 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server {DEAD_REAL} 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
"
        )
    }

    fn vip() -> IpAddr {
        VIP.parse().unwrap()
    }

    /// `vigil status --json`, or `None` while the control socket does not
    /// answer (the control server restarting).
    fn try_status(d: &Daemon) -> Option<serde_json::Value> {
        let out = Command::new(vigil_bin())
            .args(["status", "--json", "--control"])
            .arg(&d.control)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The supervised task `name` in a status.
    fn task<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
        v["tasks"]
            .as_array()?
            .iter()
            .find(|t| t["name"].as_str() == Some(name))
    }

    fn state(v: &serde_json::Value, name: &str) -> String {
        task(v, name)
            .and_then(|t| t["state"].as_str())
            .unwrap_or("")
            .to_owned()
    }

    fn restarts(v: &serde_json::Value, name: &str) -> u64 {
        task(v, name)
            .and_then(|t| t["restarts"].as_u64())
            .unwrap_or(0)
    }

    /// Arms a fault in the task `name` (`panic`, `stall` or `end`).
    fn fault(d: &Daemon, name: &str, what: &str) {
        let out = Command::new(vigil_bin())
            .args(["fault", "--control"])
            .arg(&d.control)
            .args([name, what])
            .output()
            .expect("run vigil fault");
        assert!(
            out.status.success(),
            "vigil fault {name} {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Polls the status until `ok` holds; every state of `name` seen on
    /// the way.
    fn wait_for(
        d: &Daemon,
        name: &str,
        what: &str,
        within: Duration,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<String> {
        let t0 = Instant::now();
        let mut seen: Vec<String> = Vec::new();
        loop {
            if let Some(v) = try_status(d) {
                let s = state(&v, name);
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
                if ok(&v) {
                    return seen;
                }
            }
            assert!(
                t0.elapsed() < within,
                "{what} not seen within {within:?}; states of {name}: {seen:?}; last: {:?}\n{}",
                try_status(d).as_ref().and_then(|v| task(v, name).cloned()),
                d.proc.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Running again after one restart, and checking in: its last
    /// check-in younger than its deadline.
    fn restarted_once(v: &serde_json::Value, name: &str) -> bool {
        let Some(t) = task(v, name) else {
            return false;
        };
        let age = t["check_in_age_ms"].as_u64().unwrap_or(u64::MAX);
        let deadline = t["deadline_ms"].as_u64().unwrap_or(0);
        t["state"] == "running" && t["restarts"] == 1 && age < deadline
    }

    /// The daemon on node 0, every task of it listed as running.
    fn start(lab: &Lab, tag: &str) -> Daemon {
        let d = start_vigil_with(lab, 0, &conf(), tag);
        let every = [
            "instance VI_1",
            "receive eth0 v4",
            "link dispatcher",
            "netlink monitor",
            "ipvs",
            "ipvs sync",
            "health",
            "control",
            "track scripts",
            "main",
        ];
        wait_for(
            &d,
            "control",
            "every task running",
            Duration::from_secs(10),
            |v| every.iter().all(|n| state(v, n) == "running"),
        );
        d
    }

    /// Makes `name` stop with `what` and waits for its restart.
    fn restarts_after(name: &str, what: &str) {
        let _g = serial();
        let lab = Lab::new(1);
        let d = start(&lab, name.replace(' ', "-").as_str());
        fault(&d, name, what);
        wait_for(&d, name, "restarted once", Duration::from_secs(15), |v| {
            restarted_once(v, name)
        });
        let v = try_status(&d).expect("status");
        let last = task(&v, name)
            .and_then(|t| t["last_stop"].as_str())
            .unwrap_or("");
        let word = match what {
            "panic" => "panicked",
            "stall" => "stalled",
            _ => "ended",
        };
        assert!(last.starts_with(word), "last stop of {name}: {last:?}");
    }

    #[test]
    fn link_dispatcher_that_ends_is_restarted() {
        restarts_after("link dispatcher", "end");
    }

    #[test]
    fn netlink_monitor_that_panics_is_restarted() {
        restarts_after("netlink monitor", "panic");
    }

    #[test]
    fn ipvs_task_that_panics_is_restarted() {
        restarts_after("ipvs", "panic");
    }

    #[test]
    fn sync_task_that_ends_is_restarted() {
        restarts_after("ipvs sync", "end");
    }

    #[test]
    fn control_server_that_panics_is_restarted() {
        restarts_after("control", "panic");
    }

    /// The tracked-script task is restarted, and its script keeps its
    /// state across it (no FAULT, no INIT in between).
    #[test]
    fn track_task_that_panics_is_restarted_with_its_states() {
        let _g = serial();
        let lab = Lab::new(1);
        let d = start(&lab, "track");
        let ok = |v: &serde_json::Value| v["scripts"][0]["state"] == "OK";
        wait_for(
            &d,
            "track scripts",
            "script OK",
            Duration::from_secs(10),
            ok,
        );
        fault(&d, "track scripts", "panic");
        wait_for(
            &d,
            "track scripts",
            "restarted once",
            Duration::from_secs(15),
            |v| restarted_once(v, "track scripts"),
        );
        let v = try_status(&d).expect("status");
        assert!(ok(&v), "state after the restart: {}", v["scripts"]);
        assert_ne!(first_state(&v), "FAULT", "{v}");
    }

    /// A stall is found by the deadline (10 s for the runner): shown as
    /// stalled, aborted, then started again.
    #[test]
    fn health_runner_that_stalls_is_shown_stalled_then_restarted() {
        let _g = serial();
        let lab = Lab::new(1);
        let d = start(&lab, "health");
        fault(&d, "health", "stall");
        let seen = wait_for(
            &d,
            "health",
            "restarted once",
            Duration::from_secs(25),
            |v| restarted_once(v, "health"),
        );
        assert!(
            seen.iter().any(|s| s == "stalled"),
            "health never shown stalled: {seen:?}"
        );
        let text = Command::new(vigil_bin())
            .args(["status", "--control"])
            .arg(&d.control)
            .output()
            .expect("vigil status");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("task health: running, checked in ")),
            "{text}"
        );
    }

    /// The netlink monitor's event socket breaks (`vigil fault ...
    /// disconnect`, taken at its next check-in) under a MASTER: the
    /// monitor subscribes again by itself (no restart spent, the link
    /// state read again) and a link that goes down afterwards still takes
    /// the instance to FAULT and its VIP away. Before, a closed socket
    /// ended the monitor and cost a restart of the budget.
    #[test]
    fn a_broken_link_event_socket_is_subscribed_again_and_a_dead_link_still_faults() {
        let _g = serial();
        let lab = Lab::new(1);
        let d = start(&lab, "nl-break");
        lab.wait_sole_holder(0, vip(), Duration::from_secs(8));
        fault(&d, "netlink monitor", "disconnect");
        let t0 = Instant::now();
        let log = || std::fs::read_to_string(d.proc.log()).unwrap_or_default();
        while !log().contains("links and addresses read again") {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the monitor never subscribed again:\n{}",
                d.proc.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        lab.nodes[0].link_down();
        wait_for(
            &d,
            "netlink monitor",
            "FAULT with the link down",
            Duration::from_secs(5),
            |v| first_state(v) == "FAULT",
        );
        assert!(!lab.nodes[0].holds(vip()), "the VIP stayed on a dead link");
        let v = try_status(&d).expect("status");
        assert_eq!(restarts(&v, "netlink monitor"), 0, "reconnected in place");
        assert_eq!(state(&v, "netlink monitor"), "running");
        assert!(
            log().contains("subscribing again"),
            "{}",
            d.proc.log_tail(30)
        );
    }

    /// The MASTER case: the instance task of a MASTER dies (`what`); its
    /// VIP leaves the interface within `bound` of the fault, the peer
    /// takes over, and the restarted instance (priority 150) takes the
    /// VIP back.
    fn master_instance_dies(what: &str, bound: Duration) {
        let _g = serial();
        let lab = Lab::new(2);
        let d = start(&lab, &format!("master-{what}"));
        lab.wait_sole_holder(0, vip(), Duration::from_secs(8));
        let peer = peers::start(
            &lab,
            1,
            Kind::Vigil,
            &Instance::new(peers::Proto::V3v4, 100, 1000),
            "peer",
        );
        peer.wait_ready(Duration::from_secs(10));
        peer.wait_status("peer BACKUP", Duration::from_secs(8), |v| {
            first_state(v) == "BACKUP"
        });
        let t0 = Instant::now();
        fault(&d, "instance VI_1", what);
        // Sample the VIP every 5 ms: node 0 must let it go within the
        // bound, and node 1 hold it at some point after.
        let mut gone = None;
        let mut peer_took = None;
        let mut stalled_seen = false;
        while t0.elapsed() < Duration::from_secs(15) && peer_took.is_none() {
            let h = lab.holders(vip());
            if gone.is_none() && !h.contains(&0) {
                gone = Some(t0.elapsed());
            }
            if gone.is_some() && h == [1] {
                peer_took = Some(t0.elapsed());
            }
            if what == "stall" && !stalled_seen {
                stalled_seen =
                    try_status(&d).is_some_and(|v| state(&v, "instance VI_1") == "stalled");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let gone = gone.expect("node 0 kept the VIP");
        assert!(
            gone <= bound,
            "node 0 kept the VIP {gone:?} after its instance task's {what} (bound {bound:?})"
        );
        assert!(peer_took.is_some(), "the peer never took the VIP over");
        eprintln!("instance task {what}: VIP gone from node 0 after {gone:?}, peer MASTER after {peer_took:?}");
        if what == "stall" {
            assert!(stalled_seen, "the instance task never shown stalled");
        }
        // It comes back: restarted once, MASTER again, the VIP on node 0.
        wait_for(
            &d,
            "instance VI_1",
            "instance restarted, MASTER",
            Duration::from_secs(15),
            |v| restarted_once(v, "instance VI_1") && first_state(v) == "MASTER",
        );
        lab.wait_sole_holder(0, vip(), Duration::from_secs(5));
        assert!(Path::new(&d.control).exists());
    }

    #[test]
    fn master_instance_that_panics_drops_its_vip_at_once_and_comes_back() {
        // The panic comes at the next check-in (at most a quarter of the
        // 2 s deadline away) and the VIP goes on its report.
        master_instance_dies("panic", Duration::from_millis(1500));
    }

    #[test]
    fn master_instance_that_stalls_drops_its_vip_before_the_peer_takes_over() {
        // Found late after 2 s without a check-in (the last one up to
        // 0.5 s before the fault took), then the VIP goes: well before
        // the peer's master-down interval (3.6 s) ends.
        master_instance_dies("stall", Duration::from_millis(3000));
    }

    /// The fourth stop within five minutes spends the budget: the daemon
    /// shuts down (its MASTER resigns) and exits non-zero, naming the task.
    #[test]
    fn a_task_past_its_budget_ends_the_daemon_non_zero() {
        let _g = serial();
        let lab = Lab::new(1);
        let mut d = start(&lab, "budget");
        lab.wait_sole_holder(0, vip(), Duration::from_secs(8));
        for n in 1..=3u64 {
            fault(&d, "link dispatcher", "end");
            wait_for(
                &d,
                "link dispatcher",
                "restarted",
                Duration::from_secs(15),
                |v| restarts(v, "link dispatcher") == n && state(v, "link dispatcher") == "running",
            );
        }
        fault(&d, "link dispatcher", "end");
        let code = d.proc.wait_exit(Duration::from_secs(15));
        assert!(
            matches!(code, Some(c) if c != 0),
            "exit code {code:?}\n{}",
            d.proc.log_tail(30)
        );
        let log = std::fs::read_to_string(d.proc.log()).unwrap_or_default();
        assert!(
            log.contains("task link dispatcher ended, and its restart budget is spent"),
            "{}",
            d.proc.log_tail(30)
        );
        assert!(lab.holders(vip()).is_empty(), "the VIP outlived the daemon");
    }
}
