use super::*;
use crate::control::{CommitSource, CommitStatus, Line, PendingCommit};

const BOX: &str = "\
appliance {
    hostname lb1
    interface eth0 {
        address 192.168.1.2/24
    }
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.1.200
    }
}
";

/// A daemon with a store, as far as the console can tell: commits are
/// checked by the import, the base by the newest seq.
#[derive(Default)]
struct Fake {
    running: String,
    seq: u64,
    history: Vec<(u64, String, String)>,
    pending: Option<u64>,
    asked: Vec<Request>,
    down: bool,
}

impl Fake {
    fn with(text: &str) -> Self {
        Fake {
            running: text.to_owned(),
            seq: 1,
            history: vec![(1, text.to_owned(), String::new())],
            ..Fake::default()
        }
    }

    fn write(&mut self, text: String, comment: Option<String>) -> CommitReport {
        self.seq += 1;
        self.running = text.clone();
        self.history
            .push((self.seq, text, comment.unwrap_or_default()));
        CommitReport {
            seq: Some(self.seq),
            ..CommitReport::default()
        }
    }
}

impl Backend for Fake {
    fn query(&mut self, req: &Request) -> Result<Response, FrameError> {
        if self.down {
            return Err(FrameError::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )));
        }
        self.asked.push(req.clone());
        Ok(match req {
            Request::Running => Response::Config(ConfigText {
                text: self.running.clone(),
                seq: Some(self.seq),
                source: format!("STORE seq {}", self.seq),
            }),
            Request::ConfigOf { seq } => match self.history.iter().find(|h| h.0 == *seq) {
                Some(h) => Response::Config(ConfigText {
                    text: h.1.clone(),
                    seq: Some(*seq),
                    source: format!("commit {seq}"),
                }),
                None => Response::Error(format!("no commit {seq}")),
            },
            Request::Status => Response::Status(Box::new(Status {
                commit: CommitStatus {
                    pending: self.pending.map(|seq| PendingCommit { seq, deadline: 0 }),
                    last_rollback: None,
                },
                ..Status::default()
            })),
            Request::History => Response::History(
                self.history
                    .iter()
                    .rev()
                    .map(|(seq, text, comment)| HistoryEntry {
                        seq: *seq,
                        time: 0,
                        deadline: None,
                        source: CommitSource::Console,
                        user: "t".into(),
                        comment: comment.clone(),
                        len: text.len() as u32,
                        boots: *seq == self.seq,
                    })
                    .collect(),
            ),
            Request::CommitCheck { config_text } => Response::Committed(
                judge(config_text)
                    .unwrap_or(CommitReport::refused(CommitOutcome::Valid, Vec::new())),
            ),
            Request::Commit(ask) => {
                if let Some(r) = judge(&ask.config_text) {
                    return Ok(Response::Committed(r));
                }
                if ask.base_seq != Some(self.seq) {
                    let base = ask.base_seq.unwrap_or(0);
                    let r = CommitReport::refused(
                        CommitOutcome::Stale {
                            base,
                            newest: self.seq,
                        },
                        Vec::new(),
                    );
                    return Ok(Response::Committed(r));
                }
                self.pending = ask.confirm.map(|_| self.seq + 1);
                Response::Committed(self.write(ask.config_text.clone(), ask.comment.clone()))
            }
            Request::Confirm => {
                self.pending = None;
                let text = self.running.clone();
                Response::Committed(self.write(text, None))
            }
            Request::Rollback { seq, comment } => {
                let text = self
                    .history
                    .iter()
                    .find(|h| h.0 == *seq)
                    .map(|h| h.1.clone());
                Response::Committed(self.write(text.unwrap_or_default(), comment.clone()))
            }
            Request::Drain { on } => Response::Drained {
                on: *on,
                drain: "prepend 2".into(),
            },
            other => Response::Error(format!("not in the fake: {other:?}")),
        })
    }

    fn journal(&mut self, lines: usize) -> Vec<String> {
        (0..lines).map(|i| format!("log line {i}")).collect()
    }

    fn doctor(&mut self) -> Vec<String> {
        vec!["real server 192.168.1.102: answers at L2, does not answer ARP for the VIP".into()]
    }

    fn system(&mut self) -> System {
        System {
            hostname: "lb1".into(),
            uptime_s: 3725,
            kernel: "6.1.0".into(),
            os: "vigil appliance".into(),
        }
    }
}

/// `None`: the config would commit; else the refusal, every error.
fn judge(text: &str) -> Option<CommitReport> {
    config::import_str("candidate", text, false).err().map(|r| {
        CommitReport::refused(
            CommitOutcome::Invalid,
            r.lines().into_iter().map(Line::Refused).collect(),
        )
    })
}

fn shell() -> Shell<Fake> {
    Shell::new(Fake::with(BOX), "console@ttyS0".into())
}

/// Runs each line; everything printed.
fn type_lines(sh: &mut Shell<Fake>, lines: &[&str]) -> String {
    let mut out = String::new();
    for l in lines {
        sh.execute(l, &mut out);
    }
    out
}

#[test]
fn operational_commands() {
    let mut sh = shell();
    assert_eq!(sh.prompt(), "lb1> ");
    let out = type_lines(&mut sh, &["show config"]);
    assert_eq!(out, BOX);
    let out = type_lines(&mut sh, &["show system commit"]);
    assert!(out.contains("seq"), "{out}");
    let out = type_lines(&mut sh, &["show log 3"]);
    assert_eq!(out, "log line 0\nlog line 1\nlog line 2\n");
    let out = type_lines(&mut sh, &["show log 0"]);
    assert!(
        out.contains("expected a number of lines from 1 to 10000"),
        "{out}"
    );
    let out = type_lines(&mut sh, &["show dr"]);
    assert_eq!(
        out,
        "real server 192.168.1.102: answers at L2, does not answer ARP for the VIP\n"
    );
    let out = type_lines(&mut sh, &["show system"]);
    assert!(out.contains("uptime: 1h 02m"), "{out}");
    assert!(out.contains("flash: 1 commits kept"), "{out}");
    let out = type_lines(&mut sh, &["show bgp"]);
    assert_eq!(out, "no bgp block: this box announces nothing\n");
    let out = type_lines(&mut sh, &["drain", "undrain"]);
    assert_eq!(
        out,
        "drained (drain prepend 2); established flows go on\n\
         undrained: announced again where the services have quorum\n"
    );
    let asked = &sh.backend().asked;
    assert_eq!(
        asked[asked.len() - 2..],
        [Request::Drain { on: true }, Request::Drain { on: false }]
    );
    let mut out = String::new();
    assert_eq!(sh.execute("start shell", &mut out), Next::Shell);
    assert_eq!(sh.execute("exit", &mut out), Next::Exit);
    assert_eq!(out, "");
}

#[test]
fn an_unknown_command_says_where_and_what_was_expected() {
    let mut sh = shell();
    let out = type_lines(&mut sh, &["show vrp"]);
    assert_eq!(
        out,
        "error: `show vrp`: unknown word `vrp` at word 2: expected one of vrrp, ipvs, health, dr, config, bgp, log, system\n"
    );
    let out = type_lines(&mut sh, &["set x 1"]);
    assert!(
        out.contains("unknown word `set` at word 1: expected one of show, configure"),
        "{out}"
    );
    let out = type_lines(&mut sh, &["show"]);
    assert!(out.contains("`show` is incomplete"), "{out}");
    let out = type_lines(&mut sh, &[r#"show "vrrp"#]);
    assert!(out.contains("unterminated quote"), "{out}");
}

#[test]
fn set_compare_commit_and_the_candidate_starts_again() {
    let mut sh = shell();
    let out = type_lines(
        &mut sh,
        &["configure", "set vrrp_instance VI_1 priority 150"],
    );
    assert!(!out.contains("error"), "{out}");
    assert_eq!(sh.prompt(), "lb1# ");
    let diff = type_lines(&mut sh, &["show | compare"]);
    assert!(diff.contains("-    priority 100"), "{diff}");
    assert!(diff.contains("+    priority 150"), "{diff}");
    let out = type_lines(&mut sh, &[r#"commit comment "raise priority""#]);
    assert!(!out.contains("error"), "{out}");
    let Some(Request::Commit(ask)) = sh
        .backend()
        .asked
        .iter()
        .rev()
        .find(|r| matches!(r, Request::Commit(_)))
        .cloned()
    else {
        panic!("no commit asked");
    };
    assert_eq!(ask.base_seq, Some(1));
    assert_eq!(ask.comment.as_deref(), Some("raise priority"));
    assert_eq!(ask.user.as_deref(), Some("console@ttyS0"));
    assert_eq!(ask.confirm, None);
    assert!(sh.backend().running.contains("priority 150"));
    // The next candidate is the new running config.
    assert_eq!(type_lines(&mut sh, &["show | compare"]), "");
    let mut out = String::new();
    sh.execute("exit", &mut out);
    assert_eq!(out, "");
    assert_eq!(sh.prompt(), "lb1> ");
}

#[test]
fn a_bad_set_changes_nothing() {
    let mut sh = shell();
    for bad in [
        "set vrrp_instance VI_1 priority 300",
        "set vrrp_instance VI_1 no_such_keyword 1",
    ] {
        let out = type_lines(&mut sh, &["configure", bad]);
        assert!(out.contains("error"), "{bad}: {out}");
        assert_eq!(type_lines(&mut sh, &["show | compare"]), "", "{bad}");
    }
}

#[test]
fn a_vip_outside_every_subnet_is_refused_at_once() {
    let mut sh = shell();
    let out = type_lines(
        &mut sh,
        &[
            "configure",
            "set vrrp_instance VI_1 virtual_ipaddress 10.9.9.9",
        ],
    );
    assert!(
        out.contains("10.9.9.9 is not inside any subnet of eth0"),
        "{out}"
    );
    assert_eq!(type_lines(&mut sh, &["show | compare"]), "");
}

#[test]
fn a_commit_with_errors_writes_nothing_and_prints_every_error() {
    let mut sh = shell();
    // A new instance being built: what it still lacks is for the commit
    // to say.
    let out = type_lines(
        &mut sh,
        &["configure", "set vrrp_instance VI_2 priority 50"],
    );
    assert!(!out.contains("error"), "{out}");
    let out = type_lines(&mut sh, &["commit"]);
    assert!(out.contains("interface"), "{out}");
    assert!(out.contains("virtual_router_id"), "{out}");
    assert_eq!(sh.backend().seq, 1);
    // Still in configuration mode with the change kept.
    assert_eq!(sh.prompt(), "lb1# ");
    assert!(type_lines(&mut sh, &["show | compare"]).contains("+vrrp_instance VI_2"));
}

#[test]
fn a_stale_candidate_is_refused_and_kept() {
    let mut sh = shell();
    type_lines(
        &mut sh,
        &["configure", "set vrrp_instance VI_1 priority 120"],
    );
    // Another operator commits meanwhile.
    let other = BOX.replace("priority 100", "priority 90");
    sh.backend().write(other, None);
    let out = type_lines(&mut sh, &["commit"]);
    assert!(out.contains("your candidate is kept"), "{out}");
    assert_eq!(sh.backend().seq, 2);
    assert!(sh.backend().running.contains("priority 90"));
}

#[test]
fn exit_refuses_to_drop_changes_unless_discarded() {
    let mut sh = shell();
    let out = type_lines(
        &mut sh,
        &["configure", "set vrrp_instance VI_1 priority 120", "exit"],
    );
    assert!(out.contains("uncommitted changes"), "{out}");
    assert_eq!(sh.prompt(), "lb1# ");
    let out = type_lines(&mut sh, &["exit discard"]);
    assert!(out.contains("candidate dropped"), "{out}");
    assert_eq!(sh.prompt(), "lb1> ");
    assert!(sh.backend().running.contains("priority 100"));
}

#[test]
fn commit_confirmed_then_a_plain_commit_confirms_it() {
    let mut sh = shell();
    type_lines(
        &mut sh,
        &[
            "configure",
            "set vrrp_instance VI_1 priority 120",
            "commit confirmed 5",
        ],
    );
    assert_eq!(sh.backend().pending, Some(2));
    assert_eq!(asked_window(&mut sh), Window::from_secs(300).ok());
    let out = type_lines(&mut sh, &["commit"]);
    assert!(!out.contains("error"), "{out}");
    assert_eq!(
        sh.backend()
            .asked
            .iter()
            .filter(|r| **r == Request::Confirm)
            .count(),
        1
    );
    assert_eq!(sh.backend().pending, None);
    for (bad, says) in [
        ("commit confirmed", "commit confirmed: expected a window"),
        (
            "commit confirmed 0",
            "commit confirmed 0: 0 s is not from 10s to 24h",
        ),
        (
            "commit confirmed 9s",
            "commit confirmed 9s: 9 s is not from 10s to 24h",
        ),
        (
            "commit confirmed 1441",
            "commit confirmed 1441: 86460 s is not from 10s",
        ),
        (
            "commit confirmed 25h",
            "commit confirmed 25h: 90000 s is not from 10s",
        ),
        (
            "commit confirmed 5x",
            "commit confirmed 5x: `5x` is not a time",
        ),
        (
            "commit confirmed -5",
            "commit confirmed -5: `-5` is not a time",
        ),
    ] {
        let asked = sh.backend().asked.len();
        let out = type_lines(&mut sh, &[bad]);
        assert!(out.contains(says), "{bad}: {out}");
        assert_eq!(sh.backend().asked.len(), asked, "{bad}: asked the daemon");
    }
    // Seconds, for a window shorter than a minute.
    type_lines(&mut sh, &["commit confirmed 45s"]);
    assert_eq!(asked_window(&mut sh), Window::from_secs(45).ok());
    let out = type_lines(&mut sh, &["commit check now"]);
    assert!(out.contains("expected nothing after it"), "{out}");
}

#[test]
fn rollback_loads_a_commit_and_commits_it_as_a_rollback() {
    let mut sh = shell();
    type_lines(
        &mut sh,
        &["configure", "set vrrp_instance VI_1 priority 120", "commit"],
    );
    let out = type_lines(&mut sh, &["rollback 1"]);
    assert!(out.contains("commit 1 loaded"), "{out}");
    assert!(type_lines(&mut sh, &["show | compare"]).contains("+    priority 100"));
    type_lines(&mut sh, &["commit"]);
    assert!(sh.backend().asked.contains(&Request::Rollback {
        seq: 1,
        comment: None
    }));
    assert_eq!(sh.backend().running, BOX);
    // Someone commits between the rollback and its commit: refused.
    type_lines(&mut sh, &["rollback 2"]);
    let other = BOX.replace("priority 100", "priority 90");
    sh.backend().write(other, None);
    let out = type_lines(&mut sh, &["commit"]);
    assert!(out.contains("your candidate is kept"), "{out}");
    assert!(sh.backend().running.contains("priority 90"));
    let out = type_lines(&mut sh, &["rollback 99", "rollback x"]);
    assert!(out.contains("no commit 99"), "{out}");
    assert!(out.contains("expected a commit's seq"), "{out}");
}

#[test]
fn load_keepalived_replaces_the_candidate_only_when_it_reads() {
    let mut sh = shell();
    let mut out = String::new();
    sh.execute("configure", &mut out);
    assert_eq!(sh.execute("load keepalived", &mut out), Next::Paste);
    let mut out = String::new();
    sh.pasted("vrrp_instance VI_1 {\n    priority 999\n", &mut out);
    assert!(out.contains("the candidate is unchanged"), "{out}");
    assert!(out.contains("candidate:"), "errors are located: {out}");
    assert_eq!(type_lines(&mut sh, &["show | compare"]), "");
    let mut out = String::new();
    sh.pasted(&BOX.replace("priority 100", "priority 110"), &mut out);
    assert!(out.contains("candidate replaced"), "{out}");
    assert!(type_lines(&mut sh, &["show | compare"]).contains("+    priority 110"));
}

#[test]
fn run_reaches_operational_commands_from_configuration_mode() {
    let mut sh = shell();
    let out = type_lines(&mut sh, &["configure", "run show log 1", "show log 1"]);
    assert_eq!(out.matches("log line 0").count(), 2, "{out}");
    let out = type_lines(&mut sh, &["run start shell", "run exit"]);
    assert_eq!(
        out.matches("leave configuration mode first").count(),
        2,
        "{out}"
    );
    assert_eq!(sh.prompt(), "lb1# ");
}

#[test]
fn a_daemon_that_does_not_answer_is_said_plainly() {
    let mut sh = shell();
    sh.backend().down = true;
    let out = type_lines(&mut sh, &["show vrrp", "configure"]);
    assert_eq!(
        out.matches("the daemon is not reachable").count(),
        2,
        "{out}"
    );
    assert_eq!(sh.prompt(), "lb1> ");
}

#[test]
fn completion_and_help_follow_the_grammar() {
    let mut sh = shell();
    assert_eq!(sh.complete("sh").candidates, ["show"]);
    assert_eq!(sh.complete("show sys").candidates, ["system"]);
    assert_eq!(sh.complete("show sys").start, 5);
    assert!(sh.complete("show x").candidates.is_empty());
    let help = sh.help("show ");
    assert!(
        help.iter()
            .any(|l| l.contains("vrrp") && l.contains("VRRP instances")),
        "{help:?}"
    );
    assert_eq!(sh.help("show vrrp "), ["  <Enter>"]);
    type_lines(&mut sh, &["configure"]);
    assert_eq!(sh.complete("comm").candidates, ["commit"]);
    assert_eq!(sh.complete("commit conf").candidates, ["confirmed"]);
    assert_eq!(sh.complete("show | c").candidates, ["compare"]);
    assert_eq!(sh.complete("run show v").candidates, ["vrrp"]);
    // set/delete paths come from the candidate: keywords and names.
    assert!(sh
        .complete("set vrrp_i")
        .candidates
        .contains(&"vrrp_instance".to_owned()));
    assert_eq!(sh.complete("set vrrp_instance ").candidates, ["VI_1"]);
    assert!(!sh.help("set vrrp_instance VI_1 ").is_empty());
    // Inside quotes nothing completes.
    assert!(sh.complete(r#"commit comment "a"#).candidates.is_empty());
}

#[test]
fn the_end_of_input_drops_the_candidate_and_says_so() {
    let mut sh = shell();
    type_lines(
        &mut sh,
        &["configure", "set vrrp_instance VI_1 priority 120"],
    );
    let mut out = String::new();
    sh.hang_up(&mut out);
    assert_eq!(out, "uncommitted changes discarded\n");
    assert!(sh.backend().running.contains("priority 100"));
}

/// The window of the newest commit asked of the daemon.
fn asked_window(sh: &mut Shell<Fake>) -> Option<Window> {
    sh.backend().asked.iter().rev().find_map(|r| match r {
        Request::Commit(ask) => Some(ask.confirm),
        _ => None,
    })?
}
