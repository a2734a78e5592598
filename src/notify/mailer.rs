//! The mail edge: one TCP connection per mail, driven by `smtp::Dialogue`,
//! and the sender task that retries with backoff.
//!
//! Owns: the socket, the per-reply timeout, the retry loop and the mail
//! counters. Must not: be awaited by the VRRP side; it only ever reads its
//! own queue. One mail is in flight at a time; later ones wait in the
//! bounded queue behind it (oldest dropped and counted on overflow).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::queue::Queue;
use super::smtp::{Delivery, Dialogue, SmtpError, Stage, Step, MAX_REPLY_LINE};
use super::Counters;
use crate::backoff::Backoff;

/// One formatted mail waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub from: String,
    pub to: Vec<String>,
    pub text: String,
    /// For the log: "VRRP Instance VI_1 MASTER".
    pub what: String,
}

/// Sends one mail to `server`. `timeout` bounds the connect and every
/// reply (and every write).
pub async fn deliver(
    server: SocketAddr,
    timeout: Duration,
    from: &str,
    to: &[String],
    text: &str,
) -> Result<Delivery, SmtpError> {
    let timeout_ms = timeout.as_millis() as u64;
    let stream = tokio::time::timeout(timeout, TcpStream::connect(server))
        .await
        .map_err(|_| SmtpError::Timeout {
            stage: Stage::Connect,
            timeout_ms,
        })?
        .map_err(SmtpError::Connect)?;
    let helo = match stream.local_addr() {
        Ok(SocketAddr::V4(a)) => format!("[{}]", a.ip()),
        Ok(SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
        Err(_) => "localhost".to_string(),
    };
    let mut dlg = Dialogue::new(&helo, from, to, text)?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::with_capacity(128);
    let result = loop {
        line.clear();
        let stage = dlg.stage();
        let limit = MAX_REPLY_LINE as u64;
        let mut limited = (&mut r).take(limit);
        let read = tokio::time::timeout(timeout, limited.read_until(b'\n', &mut line)).await;
        let step = match read {
            Err(_) if stage == Stage::Quit => dlg.on_eof().map(Step::Done),
            Err(_) => Err(SmtpError::Timeout { stage, timeout_ms }),
            Ok(Err(source)) => Err(SmtpError::Io { stage, source }),
            Ok(Ok(0)) => dlg.on_eof().map(Step::Done),
            Ok(Ok(_)) if !line.ends_with(b"\n") => Err(SmtpError::Malformed {
                stage,
                line: String::from_utf8_lossy(&line).into_owned(),
            }),
            Ok(Ok(_)) => dlg.on_line(&line),
        };
        match step {
            Ok(Step::Read) => {}
            Ok(Step::Send(bytes)) => {
                let stage = dlg.stage();
                match tokio::time::timeout(timeout, w.write_all(&bytes)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(source)) => break Err(SmtpError::Io { stage, source }),
                    Err(_) => break Err(SmtpError::Timeout { stage, timeout_ms }),
                }
            }
            Ok(Step::Done(d)) => break Ok(d),
            Err(e) => {
                // Be polite when the server is still talking; never wait long.
                if !matches!(e, SmtpError::Io { .. } | SmtpError::Closed { .. }) {
                    let _ = tokio::time::timeout(
                        Duration::from_millis(100).min(timeout),
                        w.write_all(b"QUIT\r\n"),
                    )
                    .await;
                }
                break Err(e);
            }
        }
    };
    let _ = w.shutdown().await;
    result
}

/// The sender task: takes mails from `queue` one at a time until it closes.
pub(crate) async fn run(
    queue: Arc<Queue<Outgoing>>,
    server: SocketAddr,
    timeout: Duration,
    backoff: Backoff,
    counters: Arc<Counters>,
) {
    while let Some(mail) = queue.pop().await {
        let mut retries = backoff;
        retries.reset();
        loop {
            match deliver(server, timeout, &mail.from, &mail.to, &mail.text).await {
                Ok(d) => {
                    counters.mails_sent.fetch_add(1, Ordering::Relaxed);
                    for r in &d.refused {
                        counters.mail_rcpts_refused.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            mail = %mail.what, rcpt = %r.rcpt, code = r.code, reply = %r.text,
                            "mail server refused a recipient"
                        );
                    }
                    tracing::info!(mail = %mail.what, %server, recipients = d.accepted.len(), "mail sent");
                    break;
                }
                Err(e) => {
                    let wait = retries.retry();
                    let failures = retries.failures();
                    counters.mail_failures.fetch_add(1, Ordering::Relaxed);
                    if matches!(e, SmtpError::Timeout { .. }) {
                        counters.mail_timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    let cause = error_chain(&e);
                    if !e.is_transient() {
                        counters.mails_rejected.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(mail = %mail.what, %server, error = %cause, "mail refused; dropped");
                        break;
                    }
                    match wait {
                        Some(wait) => {
                            tracing::warn!(
                                mail = %mail.what, %server, attempt = failures,
                                retry_in_ms = wait.as_millis() as u64, error = %cause,
                                "mail not sent; will retry"
                            );
                            tokio::time::sleep(wait).await;
                        }
                        None => {
                            counters.mails_given_up.fetch_add(1, Ordering::Relaxed);
                            tracing::error!(
                                mail = %mail.what, %server, attempts = failures, error = %cause,
                                "mail not sent; giving up"
                            );
                            break;
                        }
                    }
                }
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    crate::logfields::Chain(e).to_string()
}
