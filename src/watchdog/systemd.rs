//! The service manager's side: `Type=notify` messages and the service
//! watchdog (`WatchdogSec=`).
//!
//! Owns: reading `WATCHDOG_USEC` / `WATCHDOG_PID` ([`parse_watchdog`],
//! pure), the messages vigil sends (READY=1, STATUS=, WATCHDOG=1,
//! STOPPING=1), and [`Service`], systemd's watchdog as a [`Device`].
//! Must not: decide when to send them (the daemon says when it is ready;
//! [`super::task::run`] pets).
//!
//! Sending is the `sd-notify` crate's (a datagram to `NOTIFY_SOCKET`; a
//! no-op without it, so a drop-in run by hand or by a test sends nothing).
//! It reads the variable at each call and supports path sockets only
//! (systemd's is `/run/systemd/notify`), not abstract ones.

use std::time::Duration;

use sd_notify::NotifyState;

use super::{Device, Error, Follows};

/// Why `WATCHDOG_USEC` / `WATCHDOG_PID` do not enable a watchdog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("WATCHDOG_USEC={0:?} is not a positive number of microseconds")]
    Usec(String),
    #[error("WATCHDOG_PID={0:?} is not a process id")]
    Pid(String),
}

/// The service watchdog's timeout from systemd's environment, for the
/// process `me`: `None` when there is none or it is another process's
/// (`WATCHDOG_PID` names a different process, as after a fork).
pub fn parse_watchdog(
    usec: Option<&str>,
    pid: Option<&str>,
    me: u32,
) -> Result<Option<Duration>, EnvError> {
    let Some(usec) = usec else { return Ok(None) };
    if let Some(pid) = pid {
        let p: u32 = pid
            .trim()
            .parse()
            .map_err(|_| EnvError::Pid(pid.to_owned()))?;
        if p != me {
            return Ok(None);
        }
    }
    match usec.trim().parse::<u64>() {
        Ok(us) if us > 0 => Ok(Some(Duration::from_micros(us))),
        _ => Err(EnvError::Usec(usec.to_owned())),
    }
}

/// [`parse_watchdog`] of this process's environment.
pub fn watchdog_from_env() -> Result<Option<Service>, EnvError> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    let t = parse_watchdog(usec.as_deref(), pid.as_deref(), std::process::id())?;
    Ok(t.map(|timeout| Service { timeout }))
}

/// systemd's watchdog of this service: WATCHDOG=1 pets it; it cannot be
/// disarmed (a stopping service says STOPPING=1, and systemd stops
/// watching it then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub timeout: Duration,
}

impl Device for Service {
    fn name(&self) -> String {
        "systemd".to_owned()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn follows(&self) -> Follows {
        Follows::Runtime
    }

    fn keepalive(&mut self) -> Result<(), Error> {
        send(&[NotifyState::Watchdog])
    }

    fn disarm(self: Box<Self>) -> Result<(), Error> {
        Ok(())
    }
}

/// READY=1 with the status line: VRRP and the IPVS table are up.
pub fn ready(status: &str) -> Result<(), Error> {
    let status = one_line(status);
    send(&[NotifyState::Ready, NotifyState::Status(&status)])
}

/// STATUS=: one line of state for `systemctl status`.
pub fn status(line: &str) -> Result<(), Error> {
    send(&[NotifyState::Status(&one_line(line))])
}

/// RELOADING=1 (with MONOTONIC_USEC, which systemd wants with it): a
/// reload has begun; [`ready`] ends it.
pub fn reloading() -> Result<(), Error> {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(source) => Err(Error::Notify { source }),
    }
}

/// STOPPING=1: a deliberate stop has begun.
pub fn stopping() -> Result<(), Error> {
    send(&[NotifyState::Stopping])
}

/// A status is one line: a newline would start another assignment.
pub fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn send(states: &[NotifyState<'_>]) -> Result<(), Error> {
    sd_notify::notify(states).map_err(|source| Error::Notify { source })
}

#[cfg(test)]
#[path = "systemd_tests.rs"]
mod tests;
