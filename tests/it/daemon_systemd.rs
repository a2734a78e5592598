//! vigil under a fake systemd: the test binds the `NOTIFY_SOCKET` (a unix
//! datagram socket) and sets `WATCHDOG_USEC` / `WATCHDOG_PID` in the
//! daemon's environment, as systemd does for `Type=notify` with
//! `WatchdogSec=`. It checks: READY=1 comes once the instance has left
//! INIT and the IPVS task has made its first pass, with a STATUS line
//! that says so; STATUS= follows a state change; WATCHDOG=1 comes every
//! third of the timeout, and keeps coming while a task is stalled (the
//! runtime is alive: that is the hardware watchdog's business, not
//! systemd's) and across the exec of a hitless restart; SIGTERM brings
//! STOPPING=1 and a clean exit. `vigil status
//! --json` carries the watchdogs (no hardware on this host: "unused").
//!
//! Needs root and iproute2, and `--features fault-hooks` for the stall.

#[cfg(not(feature = "fault-hooks"))]
#[test]
fn fault_hooks_are_compiled_in() {
    panic!("run with --features fault-hooks (make unit does)");
}

#[cfg(feature = "fault-hooks")]
mod with_hooks {
    use std::os::unix::net::UnixDatagram;
    use std::path::Path;
    use std::process::Command;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use crate::support::netns::{serial, Lab, Proc};
    use crate::support::peers::vigil_bin;

    const VIP: &str = "192.168.1.200";
    /// systemd's WatchdogSec as the test sets it: pets every 500 ms.
    const WATCHDOG: Duration = Duration::from_millis(1500);

    fn conf() -> String {
        format!(
            "global_defs {{
    router_id lb1
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
}}

virtual_server {VIP} 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.240 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
"
        )
    }

    /// Every datagram, with when it came.
    type Heard = Arc<Mutex<Vec<(Instant, String)>>>;

    /// Binds the notify socket and collects what arrives on a thread.
    fn listen(path: &Path) -> Heard {
        let sock = UnixDatagram::bind(path).expect("bind the notify socket");
        let heard: Heard = Arc::default();
        let h = heard.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                h.lock().unwrap().push((Instant::now(), msg));
            }
        });
        heard
    }

    /// The messages holding `what`, with when they came.
    fn with(heard: &Heard, what: &str) -> Vec<(Instant, String)> {
        heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, m)| m.lines().any(|l| l.starts_with(what)))
            .cloned()
            .collect()
    }

    fn wait_for_msg(heard: &Heard, what: &str, within: Duration, log: &Proc) -> (Instant, String) {
        let t0 = Instant::now();
        loop {
            if let Some(m) = with(heard, what).into_iter().next() {
                return m;
            }
            assert!(
                t0.elapsed() < within,
                "no {what} within {within:?}; heard {:?}\n{}",
                heard.lock().unwrap(),
                log.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The longest gap between WATCHDOG=1 pings in [from, to].
    fn longest_gap(heard: &Heard, from: Instant, to: Instant) -> (usize, Duration) {
        let pings: Vec<Instant> = with(heard, "WATCHDOG=1")
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| *t >= from && *t <= to)
            .collect();
        let mut gap = pings.first().map_or(to - from, |f| *f - from);
        for w in pings.windows(2) {
            gap = gap.max(w[1] - w[0]);
        }
        if let Some(l) = pings.last() {
            gap = gap.max(to - *l);
        }
        (pings.len(), gap)
    }

    fn status_json(control: &Path) -> serde_json::Value {
        let out = Command::new(vigil_bin())
            .args(["status", "--json", "--control"])
            .arg(control)
            .output()
            .expect("vigil status");
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    #[test]
    fn ready_status_watchdog_pings_through_a_stall_and_stopping() {
        let _g = serial();
        let lab = Lab::new(1);
        let notify = lab.path("notify.sock");
        let heard = listen(&notify);
        let conf_path = lab.path("systemd.conf");
        std::fs::write(&conf_path, conf()).unwrap();
        let control = lab.path("systemd.sock");
        let bin = vigil_bin();
        // WATCHDOG_PID is the daemon's own PID: `ip netns exec` and `sh`
        // exec into vigil, so `$$` is it.
        let script = format!(
            "export NOTIFY_SOCKET={} WATCHDOG_USEC={} WATCHDOG_PID=$$; exec \"$0\" \"$@\"",
            notify.display(),
            WATCHDOG.as_micros()
        );
        let mut proc = lab.nodes[0].ns.spawn(
            "vigil under a fake systemd",
            &[
                "sh",
                "-c",
                &script,
                bin.to_str().unwrap(),
                "run",
                "--config",
                conf_path.to_str().unwrap(),
                "--control",
                control.to_str().unwrap(),
                "--log-to",
                "stderr",
            ],
            &lab.path("systemd.log"),
        );
        let t0 = Instant::now();

        // READY=1 with a status line naming the instance out of INIT and
        // the IPVS table after its first pass.
        let (ready_at, ready) = wait_for_msg(&heard, "READY=1", Duration::from_secs(15), &proc);
        eprintln!("READY=1 after {:?}: {ready:?}", ready_at - t0);
        let line = ready
            .lines()
            .find_map(|l| l.strip_prefix("STATUS="))
            .expect("READY=1 comes with STATUS=");
        assert!(
            line.starts_with("VI_1 BACKUP; ipvs 1 service")
                || line.starts_with("VI_1 MASTER; ipvs 1 service"),
            "{line}"
        );
        assert!(
            line.ends_with(
                "watchdog: not the appliance, hardware watchdog unused; systemd WatchdogSec 1.500s"
            ),
            "{line}"
        );

        // Alone at priority 150: MASTER after the master-down interval,
        // and a STATUS= says so.
        wait_for_msg(&heard, "STATUS=VI_1 MASTER", Duration::from_secs(10), &proc);

        let v = status_json(&control);
        assert_eq!(v["watchdog"]["state"], "unused", "{v}");
        assert_eq!(v["watchdog"]["systemd_ms"], 1500, "{v}");

        // Pings every 500 ms.
        let from = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        let (n, gap) = longest_gap(&heard, from, Instant::now());
        eprintln!("{n} pings in 3 s, longest gap {gap:?}");
        assert!((4..=8).contains(&n), "{n} pings in 3 s");
        assert!(gap < Duration::from_millis(1000), "gap {gap:?}");

        // A stalled task (the health runner: found after its 10 s
        // deadline, aborted, restarted): the runtime answers throughout,
        // so systemd's pings go on.
        let out = Command::new(vigil_bin())
            .args(["fault", "--control"])
            .arg(&control)
            .args(["health", "stall"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from = Instant::now();
        let seen_stalled = crate::support::netns::wait_for(
            Duration::from_secs(20),
            Duration::from_millis(100),
            || {
                let v = status_json(&control);
                v["tasks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["name"] == "health" && t["restarts"] == 1)
            },
        );
        assert!(
            seen_stalled,
            "health never restarted\n{}",
            proc.log_tail(30)
        );
        let (n, gap) = longest_gap(&heard, from, Instant::now());
        eprintln!("through the stall: {n} pings, longest gap {gap:?}");
        assert!(
            gap < Duration::from_millis(1000),
            "gap {gap:?} through the stall"
        );
        // The watchdog task heard of the stall at its next query (the
        // supervisor remembers it), though the task was restarted already.
        let told = crate::support::netns::wait_for(
            Duration::from_secs(3),
            Duration::from_millis(50),
            || {
                std::fs::read_to_string(proc.log())
                    .unwrap_or_default()
                    .contains("no hardware watchdog: the supervisor's restart is the remedy")
            },
        );
        assert!(told, "{}", proc.log_tail(30));

        // A hitless restart (SIGUSR2: an exec in place, same PID): the
        // pings go on across the exec, and the new image says READY=1.
        let from = Instant::now();
        let readies = with(&heard, "READY=1").len();
        proc.signal(libc::SIGUSR2);
        let again = crate::support::netns::wait_for(
            Duration::from_secs(20),
            Duration::from_millis(50),
            || with(&heard, "READY=1").len() > readies,
        );
        assert!(
            again,
            "no READY=1 after the hitless restart\n{}",
            proc.log_tail(30)
        );
        std::thread::sleep(Duration::from_secs(1));
        let (n, gap) = longest_gap(&heard, from, Instant::now());
        eprintln!("across the hitless restart: {n} pings, longest gap {gap:?}");
        assert!(gap < WATCHDOG, "gap {gap:?} across the exec");

        // SIGTERM: STOPPING=1, then a clean exit.
        proc.signal(libc::SIGTERM);
        wait_for_msg(&heard, "STOPPING=1", Duration::from_secs(5), &proc);
        let code = proc.wait_exit(Duration::from_secs(10));
        assert_eq!(code, Some(0), "{}", proc.log_tail(30));
    }
}
