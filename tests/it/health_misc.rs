//! MISC_CHECK end to end: the health runner runs real programs (a shell
//! script testing for a file, one exiting with a code read from a file),
//! in real (short) time; its events drive the IPVS machine against the
//! in-memory kernel, where a `misc_dynamic` weight lands in place.
//!
//! Must not: wait without a bound (every wait is a `timeout`), or write
//! outside its own temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vigil::config::import_str;
use vigil::health::{channel, Failure, HealthEvent, Runner, RunnerConfig};
use vigil::ipvs::kernel::{FakeKernel, Op};
use vigil::ipvs::machine::{Machine, COALESCE};
use vigil::ipvs::pass::{pass, Unavailable};

/// A check every 0.2 s; an event comes within a few.
const WITHIN: Duration = Duration::from_secs(5);

/// `#!/bin/sh`: exit with the number in `code`, 1 when it is missing.
const BY_FILE: &str = "#!/bin/sh\n[ -e \"$1\" ] || exit 1\nexit \"$(cat \"$1\")\"\n";

fn script(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join("check.sh");
    std::fs::write(&p, BY_FILE).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn config(misc: &str) -> vigil::config::Config {
    let text = format!(
        "virtual_server 10.9.0.1 80 {{
            delay_loop 0.2
            lvs_sched rr
            lvs_method DR
            protocol TCP
            real_server 10.9.0.2 80 {{
                weight 5
                MISC_CHECK {{
                    {misc}
                    misc_timeout 2
                    warmup 0
                }}
            }}
        }}\n"
    );
    import_str("test.conf", &text, false)
        .unwrap_or_else(|r| panic!("{:?}", r.lines()))
        .config
}

async fn next_event(rx: &mut mpsc::Receiver<HealthEvent>) -> HealthEvent {
    tokio::time::timeout(WITHIN, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within {WITHIN:?}"))
        .expect("runner alive")
}

#[tokio::test]
async fn a_misc_check_testing_for_a_file_takes_the_server_down_and_up() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("up");
    // keepalived's plain MISC_CHECK: `test -e FILE`, exit 0 up, 1 down.
    let c = config(&format!(
        "misc_path \"/usr/bin/test -e {}\"",
        flag.display()
    ));
    let runner = Runner::new(&c, RunnerConfig::default()).unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(runner.run(tx, requests));

    // No file: the first failure is fatal (MISC_CHECK's retry is 0).
    let ev = next_event(&mut rx).await;
    assert!(!ev.up && ev.state_changed, "{ev:?}");
    assert_eq!(ev.cause, Err(Failure::Exit { code: 1 }));
    assert_eq!(ev.keyword, "MISC_CHECK");
    assert_eq!(ev.weight, None);

    std::fs::write(&flag, b"").unwrap();
    let ev = next_event(&mut rx).await;
    assert!(ev.up && ev.state_changed, "{ev:?}");
    assert_eq!(ev.cause, Ok(()));

    std::fs::remove_file(&flag).unwrap();
    assert!(!next_event(&mut rx).await.up);
    let snap = handle.snapshot().await.unwrap();
    assert_eq!(snap.tallies[0].keyword, "MISC_CHECK");
    let real = (snap.servers[0].real.0, snap.servers[0].real.1);
    assert_eq!(real, ("10.9.0.2".parse().unwrap(), Some(80)));
    assert!(!snap.servers[0].up);

    drop(handle);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("runner stops")
        .unwrap();
}

#[tokio::test]
async fn a_misc_check_past_misc_timeout_is_killed_and_down() {
    let c = config("misc_path \"/bin/sleep 30\"");
    let runner = Runner::new(&c, RunnerConfig::default()).unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    let _task = tokio::spawn(runner.run(tx, requests));
    let t0 = Instant::now();
    let ev = next_event(&mut rx).await;
    assert!(!ev.up);
    assert_eq!(ev.cause, Err(Failure::ScriptTimeout));
    // misc_timeout 2 s, not the 30 s the program wanted.
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    drop(handle);
}

/// Runs the pass the machine wants at `now`; its ops.
fn step(m: &mut Machine, k: &mut FakeKernel, now: Instant) -> Vec<Op> {
    let Some(mut req) = m.poll_pass(now) else {
        return Vec::new();
    };
    let before = k.log.len();
    let r = pass(k, &mut req).map_err(Unavailable::kernel);
    m.handle_pass(r, now);
    k.log[before..].to_vec()
}

/// The kernel weight of the one real server, if it is in the table.
fn kernel_weight(k: &FakeKernel) -> Option<u32> {
    let e = k.table.services.values().next()?;
    e.dests.values().next().map(|d| d.weight)
}

#[tokio::test]
async fn misc_dynamic_sets_the_weight_in_the_table_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    let prog = script(dir.path());
    let c = config(&format!(
        "misc_path \"{} {}\"\n misc_dynamic",
        prog.display(),
        code.display()
    ));
    std::fs::write(&code, b"0").unwrap();
    let runner = Runner::new(&c, RunnerConfig::default()).unwrap();
    let (handle, requests) = channel();
    let (tx, mut rx) = mpsc::channel(16);
    let _task = tokio::spawn(runner.run(tx, requests));

    let mut k = FakeKernel::default();
    let t0 = Instant::now();
    let mut m = Machine::new(Arc::new(c), None, t0);
    step(&mut m, &mut k, t0);
    assert_eq!(kernel_weight(&k), Some(5), "the configured weight");

    // Exit 12: up, weight 10, only the weight changed.
    std::fs::write(&code, b"12").unwrap();
    let ev = next_event(&mut rx).await;
    assert!(ev.up && !ev.state_changed, "{ev:?}");
    assert_eq!(ev.weight, Some(10));
    m.handle_health(&ev, t0);
    let ops = step(&mut m, &mut k, t0 + COALESCE);
    assert!(
        matches!(ops.as_slice(), [Op::SetDest { dest, .. }] if dest.weight == 10),
        "edited in place, nothing deleted: {ops:?}"
    );
    assert_eq!(handle.snapshot().await.unwrap().servers[0].weight, Some(10));

    // Exit 1: down, out of the table.
    std::fs::write(&code, b"1").unwrap();
    let ev = next_event(&mut rx).await;
    assert!(!ev.up && ev.state_changed, "{ev:?}");
    m.handle_health(&ev, t0);
    step(&mut m, &mut k, t0 + COALESCE * 2);
    assert_eq!(kernel_weight(&k), None);

    // Exit 0: up again, keeping the weight it had (10), as keepalived.
    std::fs::write(&code, b"0").unwrap();
    let ev = next_event(&mut rx).await;
    assert!(ev.up && ev.state_changed, "{ev:?}");
    assert_eq!(ev.weight, Some(10));
    m.handle_health(&ev, t0);
    step(&mut m, &mut k, t0 + COALESCE * 3);
    assert_eq!(kernel_weight(&k), Some(10));

    // Exit 2: weight 0 (up, takes no new connections).
    std::fs::write(&code, b"2").unwrap();
    let ev = next_event(&mut rx).await;
    assert_eq!((ev.up, ev.weight), (true, Some(0)));
    m.handle_health(&ev, t0);
    step(&mut m, &mut k, t0 + COALESCE * 4);
    assert_eq!(kernel_weight(&k), Some(0));
    drop(handle);
}
