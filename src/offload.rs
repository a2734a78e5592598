//! Steps that grow with the config, run on tokio's blocking pool.
//!
//! Owns: [`with`], which moves a task's state (the IPVS machine, the
//! health runner) to a blocking thread, runs one step on it and hands it
//! back. The daemon's runtimes are current-thread: a step of a second on
//! them (a plan, a status, a snapshot of 100,000 servers) holds every
//! other task of that runtime, including the supervisor's check-ins and so
//! the watchdog's pets. The task awaits the step, as it would have waited
//! for it inline. Must not: be used for steps that need the runtime (they
//! would block a pool thread), or keep the state: it always comes back.

/// `f` on `state`, on the blocking pool; returns the state and `f`'s
/// result. A panic in `f` resumes in the caller (its task ends like any
/// panicking task, and the supervisor restarts it).
pub async fn with<T, R>(mut state: T, f: impl FnOnce(&mut T) -> R + Send + 'static) -> (T, R)
where
    T: Send + 'static,
    R: Send + 'static,
{
    let step = move || {
        let r = f(&mut state);
        (state, r)
    };
    match tokio::task::spawn_blocking(step).await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: only when the runtime shuts down, which drops the
        // calling task too.
        Err(_) => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "offload_tests.rs"]
mod tests;
