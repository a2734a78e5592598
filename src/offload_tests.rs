use super::with;

#[tokio::test(flavor = "current_thread")]
async fn the_state_comes_back_changed_with_the_result() {
    let here = std::thread::current().id();
    let (v, (len, there)) = with(vec![1, 2], |v| {
        v.push(3);
        (v.len(), std::thread::current().id())
    })
    .await;
    assert_eq!((v, len), (vec![1, 2, 3], 3));
    assert_ne!(there, here, "the step ran on another thread");
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_step_panics_in_the_caller() {
    let task = tokio::spawn(with(0u8, |_| -> () { panic!("in the step") }));
    let err = task.await.expect_err("the caller's task panics");
    assert!(err.is_panic());
}
