//! Commits through the running daemon (`vigil commit | confirm | rollback
//! | history` over the control socket) on a `vigil run --store FILE` in a
//! namespace: a commit is written to the history and applied live (the
//! VIP moves); a config with errors writes nothing and says where; a
//! candidate made on an older commit is refused; `rollback N` brings
//! commit N's config back exactly; a commit confirmed rolls itself back
//! at its deadline unless confirmed, and `vigil status` says so.
//!
//! The daemon runs with the hidden `--confirm-unit-secs 1`: a `commit
//! confirmed` minute lasts one second here.
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use netns::{serial, Lab, Proc};
use peers::{first_state, vigil_bin, Daemon, Kind};

pub(crate) fn conf(priority: u8, vip: &str) -> String {
    format!(
        "vrrp_instance VI_C {{
    interface eth0
    virtual_router_id 12
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {vip}/24
    }}
}}
"
    )
}

pub(crate) const VIP_A: &str = "192.168.1.200";
pub(crate) const VIP_B: &str = "192.168.1.201";

pub(crate) fn vigil(args: &[&str]) -> Output {
    Command::new(vigil_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vigil")
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A daemon on `lab.nodes[0]` running the store `store`, seeded with
/// `first` as commit 1.
pub(crate) struct Boxed {
    pub(crate) d: Daemon,
    pub(crate) store: PathBuf,
    dir: PathBuf,
}

impl Boxed {
    pub(crate) fn start(lab: &Lab, first: &str) -> Boxed {
        let b = Boxed::start_blank(lab, Some(first));
        b.d.wait_status("MASTER", Duration::from_secs(5), |v| {
            first_state(v) == "MASTER"
        });
        b
    }

    /// `first` imported as commit 1 first, or a blank store (the factory
    /// default runs).
    pub(crate) fn start_blank(lab: &Lab, first: Option<&str>) -> Boxed {
        let store = lab.path("flash.img");
        let seed = lab.path("first.conf");
        std::fs::write(&seed, first.unwrap_or("")).expect("write conf");
        if first.is_some() {
            let out = vigil(&[
                "config",
                "import",
                p(&seed),
                "--store",
                p(&store),
                "--create",
            ]);
            assert!(out.status.success(), "{}", text(&out));
        } else {
            std::fs::write(&store, vec![0_u8; 1 << 20]).expect("blank store");
        }
        let control = lab.path("commit.sock");
        let proc: Proc = lab.nodes[0].ns.spawn(
            "vigil (commit) on node1",
            &[
                p(&vigil_bin()),
                "run",
                "--store",
                p(&store),
                "--control",
                p(&control),
                "--log-to",
                "stderr",
                "--confirm-unit-secs",
                "1",
            ],
            &lab.path("commit.log"),
        );
        let d = Daemon {
            kind: Kind::Vigil,
            node: 0,
            proc,
            control,
            conf: seed,
            started: Instant::now(),
        };
        d.wait_ready(Duration::from_secs(10));
        Boxed {
            d,
            store,
            dir: lab.dir.clone(),
        }
    }

    /// `vigil ARGS --control SOCK`.
    fn ask(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--control", p(&self.d.control)]);
        vigil(&all)
    }

    /// `vigil commit FILE EXTRA..` with `config` written to a file.
    fn commit(&self, name: &str, config: &str, extra: &[&str]) -> Output {
        let file = self.dir.join(name);
        std::fs::write(&file, config).expect("write candidate");
        let mut args = vec!["commit", p(&file)];
        args.extend(extra);
        self.ask(&args)
    }

    pub(crate) fn history(&self) -> String {
        let out = self.ask(&["history"]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The newest commit's config (or commit `seq`'s), exported.
    pub(crate) fn export(&self, seq: Option<u64>) -> String {
        let n = seq.map(|s| s.to_string());
        let mut args = vec!["config", "export", "--store", p(&self.store)];
        if let Some(n) = &n {
            args.extend(["--commit", n]);
        }
        let out = vigil(&args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn status_text(&self) -> String {
        text(&self.ask(&["status"]))
    }

    pub(crate) fn wait_vip(&self, lab: &Lab, vip: &str, within: Duration) {
        let vip: IpAddr = vip.parse().unwrap();
        let t0 = Instant::now();
        while !lab.nodes[0].ns.addrs("eth0").contains(&vip) {
            assert!(
                t0.elapsed() < within,
                "{vip} not held within {within:?}\n{}",
                self.d.proc.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_status_text(&self, what: &str, within: Duration) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.status_text();
            if s.contains(what) {
                return s;
            }
            assert!(
                t0.elapsed() < within,
                "{what:?} not in status within {within:?}: {s}\n{}",
                self.d.proc.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The history line of commit `seq` (columns: mark, seq, ...).
fn history_line(history: &str, seq: u64) -> Option<String> {
    history
        .lines()
        .find(|l| l.get(1..).and_then(|r| r.split_whitespace().next()) == Some(&seq.to_string()))
        .map(str::to_owned)
}

#[test]
fn commit_applies_a_bad_or_stale_commit_writes_nothing_and_rollback_restores_a_commit_exactly() {
    let _g = serial();
    let lab = Lab::new(1);
    let b = Boxed::start(&lab, &conf(100, VIP_A));
    b.wait_vip(&lab, VIP_A, Duration::from_secs(5));

    // A commit: written as seq 2, applied live (the VIP moves).
    let out = b.commit("b.conf", &conf(100, VIP_B), &["--comment", "move the VIP"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("committed seq 2"), "{}", text(&out));
    b.wait_vip(&lab, VIP_B, Duration::from_secs(5));
    let h = b.history();
    let line = history_line(&h, 2).unwrap_or_else(|| panic!("no seq 2: {h}"));
    assert!(line.starts_with('*'), "seq 2 boots: {h}");
    assert!(line.contains("console"), "{line}");
    assert!(line.contains("\"move the VIP\""), "{line}");
    assert!(b.status_text().contains("flash.img seq 2"));

    // Errors: exit 1, located, nothing written, nothing applied.
    let bad = conf(100, VIP_A).replace("priority 100", "priority 300");
    for extra in [&[][..], &["--check"][..]] {
        let out = b.commit("bad.conf", &bad, extra);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("candidate:4:"), "{}", text(&out));
        assert!(text(&out).contains("nothing committed"), "{}", text(&out));
    }
    assert!(
        history_line(&b.history(), 3).is_none(),
        "a bad commit was written"
    );
    let out = b.commit("ok.conf", &conf(90, VIP_B), &["--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        history_line(&b.history(), 3).is_none(),
        "a check was written"
    );

    // A candidate made on commit 1 while 2 runs: refused, nothing written.
    let out = b.commit("c.conf", &conf(90, VIP_A), &["--base", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "the running config changed since your candidate was made (seq 1, now 2): reload it"
        ),
        "{}",
        text(&out)
    );
    assert!(
        history_line(&b.history(), 3).is_none(),
        "a stale commit was written"
    );
    let out = b.commit("c.conf", &conf(100, VIP_B), &["--base", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("committed seq 3"), "{}", text(&out));

    // Rollback 1: a new commit (4) with commit 1's config, exactly; applied.
    let out = b.ask(&["rollback", "1", "--comment", "back"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("committed seq 4"), "{}", text(&out));
    assert_eq!(b.export(None), b.export(Some(1)));
    b.wait_vip(&lab, VIP_A, Duration::from_secs(5));
    let h = b.history();
    let line = history_line(&h, 4).unwrap_or_else(|| panic!("no seq 4: {h}"));
    assert!(line.contains("rollback of 1"), "{line}");
    // The import and the daemon's commits are checked by the one build,
    // and their stamps say so (the rollback carries commit 1's): a start
    // or reload of that binary reads them without checking them again.
    let own = vigil::build_id::of_file(&vigil_bin());
    assert!(own.is_some(), "vigil has a build id");
    let store = vigil::store::History::open(&b.store, vigil::store::Geometry::default(), false);
    let store = store.expect("the daemon holds the store only while it writes");
    for seq in 1..=4 {
        assert_eq!(
            store.get_checked(seq).expect("written").1,
            own,
            "commit {seq}"
        );
    }
    drop(store);
    // No such commit: bad input.
    let out = b.ask(&["rollback", "99"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Nothing waits for a confirm.
    let out = b.ask(&["confirm"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn commit_confirmed_rolls_back_at_its_deadline_unless_confirmed() {
    let _g = serial();
    let lab = Lab::new(1);
    let b = Boxed::start(&lab, &conf(100, VIP_A));

    // Not confirmed: after 3 "minutes" (seconds here) commit 1's config
    // runs again, as a new commit that says why.
    let out = b.commit("b.conf", &conf(100, VIP_B), &["--confirm", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("CONFIRMED COMMIT"), "{}", text(&out));
    b.wait_vip(&lab, VIP_B, Duration::from_secs(5));
    let s = b.status_text();
    assert!(
        s.contains("COMMIT CONFIRMED pending: seq 2 rolls back at"),
        "{s}"
    );
    assert!(history_line(&b.history(), 2)
        .unwrap()
        .contains("UNCONFIRMED"));
    let s = b.wait_status_text(
        "last automatic rollback: commit 2 not confirmed in time",
        Duration::from_secs(10),
    );
    assert!(s.contains("(now seq 3)"), "{s}");
    assert!(!s.contains("COMMIT CONFIRMED pending"), "{s}");
    b.wait_vip(&lab, VIP_A, Duration::from_secs(5));
    let h = b.history();
    let line = history_line(&h, 3).unwrap_or_else(|| panic!("no seq 3: {h}"));
    assert!(line.contains("confirmed-rollback of 2"), "{line}");
    assert_eq!(b.export(None), b.export(Some(1)));

    // Confirmed in time: it stays, past its deadline.
    let out = b.commit("b.conf", &conf(100, VIP_B), &["--confirm", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("committed seq 4"), "{}", text(&out));
    let out = b.ask(&["confirm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("committed seq 5"), "{}", text(&out));
    assert!(!b.status_text().contains("COMMIT CONFIRMED pending"));
    std::thread::sleep(Duration::from_secs(4));
    let h = b.history();
    assert!(history_line(&h, 5).unwrap().contains("confirm of 4"), "{h}");
    assert!(
        history_line(&h, 6).is_none(),
        "rolled back after a confirm: {h}"
    );
    assert_eq!(b.export(None), b.export(Some(4)));
    b.wait_vip(&lab, VIP_B, Duration::from_secs(1));
}

#[test]
fn a_daemon_running_a_config_file_refuses_commits_clearly() {
    let _g = serial();
    let lab = Lab::new(1);
    let d = peers::start_vigil_with(&lab, 0, &conf(100, VIP_A), "commit-file");
    let out = vigil(&["commit", p(&d.conf), "--control", p(&d.control)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--store"), "{}", text(&out));
}

#[test]
fn a_hitless_restart_inside_the_window_keeps_the_deadline_and_an_import_disarms_it() {
    let _g = serial();
    let lab = Lab::new(1);
    let b = Boxed::start(&lab, &conf(100, VIP_A));

    let out = b.commit("b.conf", &conf(100, VIP_B), &["--confirm", "6"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = b.status_text();
    let pending = before
        .lines()
        .find(|l| l.starts_with("COMMIT CONFIRMED pending"))
        .unwrap_or_else(|| panic!("{before}"))
        .to_owned();
    // The new process reads the same deadline from the store.
    let out = b.ask(&["restart"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = b.status_text();
    assert!(after.contains(&pending), "{pending:?} lost: {after}");
    let s = b.wait_status_text(
        "last automatic rollback: commit 2 not confirmed in time",
        Duration::from_secs(12),
    );
    assert!(s.contains("(now seq 3)"), "{s}");
    b.wait_vip(&lab, VIP_A, Duration::from_secs(5));

    // A commit written behind the daemon's back (config import) and
    // reloaded: the pending one is gone, the timer with it.
    let out = b.commit("c.conf", &conf(100, VIP_B), &["--confirm", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file = b.dir.join("d.conf");
    std::fs::write(&file, conf(90, VIP_B)).unwrap();
    let out = vigil(&["config", "import", p(&file), "--store", p(&b.store)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = b.ask(&["reload"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!b.status_text().contains("COMMIT CONFIRMED pending"));
    std::thread::sleep(Duration::from_secs(4));
    let h = b.history();
    assert!(
        history_line(&h, 6).is_none(),
        "rolled back after an import: {h}"
    );
}
