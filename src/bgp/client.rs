//! The edge to BIRD's control socket.
//!
//! Owns: one connection per exchange (connect, BIRD's welcome, a command,
//! its reply), each step bounded by [`CALL_BOUND`], and BIRD's process id
//! as the socket's peer (`SO_PEERCRED`), so that a BIRD that accepts but
//! never answers can be named and one restarted between two exchanges is
//! told from the one before. Must not: decide anything, or hold a
//! connection between exchanges (a BIRD restarted by systemd is a new
//! socket).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::reply::{Decoder, Reply, ReplyError};

/// How long connecting, the welcome and each reply may take.
pub const CALL_BOUND: Duration = Duration::from_secs(5);

/// What went wrong talking to BIRD.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("BIRD's control socket {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("BIRD (pid {pid:?}) did not answer '{command}' within {CALL_BOUND:?}")]
    Stalled { command: String, pid: Option<i32> },
    #[error("BIRD's control socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("BIRD closed its control socket during '{0}'")]
    Closed(String),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error("BIRD's welcome was code {0}, not 0001")]
    Welcome(u16),
}

/// A command and its reply, on a fresh connection.
pub async fn exchange(socket: &Path, command: &str) -> Result<Reply, ClientError> {
    exchange_with_pid(socket, command).await.map(|(r, _)| r)
}

/// [`exchange`], and the pid of the BIRD that answered (`None` where the
/// kernel does not say): a new pid is a BIRD that was restarted.
pub async fn exchange_with_pid(
    socket: &Path,
    command: &str,
) -> Result<(Reply, Option<i32>), ClientError> {
    let connect = tokio::time::timeout(CALL_BOUND, UnixStream::connect(socket));
    let mut s = match connect.await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => {
            let path = socket.to_owned();
            return Err(ClientError::Connect { path, source });
        }
        Err(_) => return Err(stalled("connect", None)),
    };
    let pid = s.peer_cred().ok().and_then(|c| c.pid());
    let mut dec = Decoder::default();
    let welcome = read_reply(&mut s, &mut dec, "welcome", pid).await?;
    if welcome.code != 1 {
        return Err(ClientError::Welcome(welcome.code));
    }
    let line = format!("{command}\n");
    tokio::time::timeout(CALL_BOUND, s.write_all(line.as_bytes()))
        .await
        .map_err(|_| stalled(command, pid))??;
    let reply = read_reply(&mut s, &mut dec, command, pid).await?;
    Ok((reply, pid))
}

async fn read_reply(
    s: &mut UnixStream,
    dec: &mut Decoder,
    command: &str,
    pid: Option<i32>,
) -> Result<Reply, ClientError> {
    let deadline = tokio::time::Instant::now() + CALL_BOUND;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(r) = dec.feed(&[])? {
            return Ok(r);
        }
        let n = tokio::time::timeout_at(deadline, s.read(&mut buf))
            .await
            .map_err(|_| stalled(command, pid))??;
        if n == 0 {
            return Err(ClientError::Closed(command.to_owned()));
        }
        if let Some(r) = dec.feed(&buf[..n])? {
            return Ok(r);
        }
    }
}

fn stalled(command: &str, pid: Option<i32>) -> ClientError {
    ClientError::Stalled {
        command: command.to_owned(),
        pid,
    }
}

/// `configure "<file>"`: BIRD reads `file` and applies the difference.
/// An error reply (a config BIRD refuses) is returned as a reply.
pub async fn configure(socket: &Path, file: &Path) -> Result<Reply, ClientError> {
    exchange(socket, &format!("configure \"{}\"", file.display())).await
}
