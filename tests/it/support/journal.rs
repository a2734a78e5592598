//! A stand-in for journald's socket: a unix datagram socket the test binds,
//! and a decoder of journald's native protocol, so a test sees exactly the
//! entries vigil sends (no journald needed on the host).
//!
//! Owns: its temporary directory and socket, and the thread draining it
//! (a blocked sender would stall the daemon's logging). Must not: touch
//! the host's `/run/systemd/journal`; a daemon reaches this socket only
//! through a bind mount in its own mount namespace (see `daemon_journal`).
//!
//! The protocol (systemd's JOURNAL_NATIVE_PROTOCOL): one datagram per
//! entry, fields either `KEY=value\n` or `KEY\n<u64 le length><bytes>\n`;
//! an entry too big for a datagram comes as an empty datagram carrying a
//! sealed memfd (SCM_RIGHTS) holding the same bytes.

use std::fs::File;
use std::io::{IoSliceMut, Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// One journal entry: its fields in the order sent (a key may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry(pub Vec<(String, Vec<u8>)>);

impl Entry {
    /// The first value of `key`, as text.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// How many times `key` appears.
    pub fn count(&self, key: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == key).count()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

/// Why a datagram is not a valid entry.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A field name with no `=` nor newline after it.
    Unterminated,
    /// A binary field's length runs past the datagram, or no newline
    /// follows its bytes.
    BadLength,
    /// A field name is empty.
    EmptyName,
}

/// Decodes one native-protocol datagram.
pub fn decode(mut b: &[u8]) -> Result<Entry, DecodeError> {
    let mut fields = Vec::new();
    while !b.is_empty() {
        let end = b
            .iter()
            .position(|&c| c == b'=' || c == b'\n')
            .ok_or(DecodeError::Unterminated)?;
        if end == 0 {
            return Err(DecodeError::EmptyName);
        }
        let name = String::from_utf8_lossy(&b[..end]).into_owned();
        if b[end] == b'=' {
            let rest = &b[end + 1..];
            let nl = rest
                .iter()
                .position(|&c| c == b'\n')
                .ok_or(DecodeError::Unterminated)?;
            fields.push((name, rest[..nl].to_vec()));
            b = &rest[nl + 1..];
        } else {
            let rest = &b[end + 1..];
            let len: [u8; 8] = rest
                .get(..8)
                .and_then(|s| s.try_into().ok())
                .ok_or(DecodeError::BadLength)?;
            let len =
                usize::try_from(u64::from_le_bytes(len)).map_err(|_| DecodeError::BadLength)?;
            let value = rest.get(8..8 + len).ok_or(DecodeError::BadLength)?;
            if rest.get(8 + len) != Some(&b'\n') {
                return Err(DecodeError::BadLength);
            }
            fields.push((name, value.to_vec()));
            b = &rest[8 + len + 1..];
        }
    }
    Ok(Entry(fields))
}

/// A bound socket in a temporary directory, drained by a thread.
pub struct Sink {
    dir: tempfile::TempDir,
    entries: Receiver<Result<Entry, DecodeError>>,
    stop: Arc<AtomicBool>,
    drain: Option<JoinHandle<()>>,
}

impl Sink {
    /// Binds `<tempdir>/socket`: bind-mount the directory over
    /// `/run/systemd/journal` and a sender reaches it.
    pub fn bind() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vigil-journal-")
            .tempdir()
            .expect("temporary directory");
        let sock = UnixDatagram::bind(dir.path().join("socket")).expect("bind the journal socket");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let (tx, entries) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let drain = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match receive(&sock) {
                    // tracing-journald's probe at start: an empty datagram.
                    Some(bytes) if bytes.is_empty() => {}
                    Some(bytes) if tx.send(decode(&bytes)).is_err() => return,
                    Some(_) | None => {}
                }
            }
        });
        Sink {
            dir,
            entries,
            stop,
            drain: Some(drain),
        }
    }

    /// The directory holding `socket`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Entries received until `pred` holds for one (returned with every
    /// entry seen so far), or `within` passes (`Err` with all seen).
    pub fn wait_for(
        &self,
        within: Duration,
        mut pred: impl FnMut(&Entry) -> bool,
    ) -> Result<(Entry, Vec<Entry>), Vec<Entry>> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.entries.recv_timeout(left) {
                Ok(Ok(e)) => {
                    if pred(&e) {
                        return Ok((e, seen));
                    }
                    seen.push(e);
                }
                Ok(Err(e)) => panic!("a datagram that is not a journal entry: {e:?}"),
                Err(_) => return Err(seen),
            }
        }
    }

    /// Every entry that arrives within `within`.
    pub fn collect(&self, within: Duration) -> Vec<Entry> {
        self.wait_for(within, |_| false).unwrap_err()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.drain.take() {
            let _ = t.join();
        }
    }
}

/// One datagram's bytes, read from the memfd it carries if it carries one;
/// `None` on a timeout.
fn receive(sock: &UnixDatagram) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (len, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .ok()?;
        let fds: Vec<RawFd> = msg
            .cmsgs()
            .into_iter()
            .flatten()
            .filter_map(|c| match c {
                ControlMessageOwned::ScmRights(fds) => Some(fds),
                _ => None,
            })
            .flatten()
            .collect();
        (msg.bytes, fds)
    };
    let mut bytes = buf[..len].to_vec();
    for fd in fds {
        // SAFETY: the kernel just gave us this descriptor; we own it.
        let mut f = unsafe { File::from_raw_fd(fd) };
        bytes.clear();
        f.seek(SeekFrom::Start(0)).expect("seek the memfd");
        f.read_to_end(&mut bytes).expect("read the memfd");
    }
    Some(bytes)
}

#[test]
fn decodes_both_field_forms() {
    let mut d = b"PRIORITY=5\nMESSAGE\n".to_vec();
    d.extend_from_slice(&5u64.to_le_bytes());
    d.extend_from_slice(b"a\nb=c\n");
    d.extend_from_slice(b"INSTANCE=VI_1\n");
    let e = decode(&d).expect("decodes");
    assert_eq!(e.get("PRIORITY"), Some("5"));
    assert_eq!(e.get("MESSAGE"), Some("a\nb=c"));
    assert_eq!(e.get("INSTANCE"), Some("VI_1"));
    assert_eq!(
        e.keys().collect::<Vec<_>>(),
        ["PRIORITY", "MESSAGE", "INSTANCE"]
    );
}

#[test]
fn refuses_broken_datagrams() {
    assert_eq!(decode(b"PRIORITY"), Err(DecodeError::Unterminated));
    assert_eq!(decode(b"=5\n"), Err(DecodeError::EmptyName));
    let mut d = b"MESSAGE\n".to_vec();
    d.extend_from_slice(&9u64.to_le_bytes());
    d.extend_from_slice(b"short\n");
    assert_eq!(decode(&d), Err(DecodeError::BadLength));
}
