use super::*;

fn up(weight: Option<u32>) -> Verdict {
    Verdict {
        outcome: Ok(()),
        weight,
    }
}

fn down(f: Failure) -> Verdict {
    Verdict {
        outcome: Err(f),
        weight: None,
    }
}

#[test]
fn without_misc_dynamic_only_exit_0_is_up() {
    assert_eq!(judge(Some(0), None, false), up(None));
    for code in [1, 2, 3, 100, 255] {
        assert_eq!(
            judge(Some(code), None, false),
            down(Failure::Exit { code: code as u8 }),
            "exit {code}"
        );
    }
}

#[test]
fn misc_dynamic_exit_1_is_down_and_2_to_255_set_weight_status_minus_2() {
    assert_eq!(judge(Some(0), None, true), up(None), "0 keeps the weight");
    assert_eq!(judge(Some(1), None, true), down(Failure::Exit { code: 1 }));
    assert_eq!(judge(Some(2), None, true), up(Some(0)));
    assert_eq!(judge(Some(3), None, true), up(Some(1)));
    assert_eq!(judge(Some(102), None, true), up(Some(100)));
    assert_eq!(judge(Some(255), None, true), up(Some(253)));
}

#[test]
fn a_signal_or_no_run_is_down() {
    assert_eq!(
        judge(None, Some(9), true),
        down(Failure::Signal { signal: 9 })
    );
    assert_eq!(judge(None, None, false), down(Failure::NotRun));
}

fn spec(argv: &[&str], dynamic: bool) -> MiscSpec {
    MiscSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        dynamic,
        run_as: Ok(None),
        security: false,
    }
}

#[tokio::test]
async fn runs_the_program_with_exactly_its_argv() {
    let v = run(
        &spec(&["/bin/sh", "-c", "exit 7"], true),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(v, up(Some(5)));
    let v = run(
        &spec(&["/bin/sh", "-c", "exit 7"], false),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(v, down(Failure::Exit { code: 7 }));
    // No argument is appended: $# is 0.
    let v = run(
        &spec(&["/bin/sh", "-c", "exit $(( $# + 10 ))"], true),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(v, up(Some(8)));
}

#[tokio::test]
async fn past_misc_timeout_it_is_killed_and_down() {
    let t0 = std::time::Instant::now();
    let v = run(
        &spec(&["/bin/sleep", "30"], false),
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(v, down(Failure::ScriptTimeout));
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn a_missing_program_is_down() {
    let v = run(
        &spec(&["/nonexistent/check"], false),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(v, down(Failure::NotRun));
}
