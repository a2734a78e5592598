//! Flash devices: the [`Flash`] trait, [`FileFlash`] (a block device or a
//! plain file) and [`MemFlash`] (in memory, for tests and fuzzing).
//!
//! Owns: positioned reads and writes, sync, and the device size.
//!
//! Must not: know about slots, headers or payloads, retry, or cache. Errors
//! are plain `std::io::Error`; the store adds path, operation and slot.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// A byte-addressed device the store writes its slots to.
// `is_empty` would mean nothing: a device is never empty, only too small.
#[allow(clippy::len_without_is_empty)]
pub trait Flash {
    /// Fills `buf` from `offset`; a short device is `UnexpectedEof`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset` (one positioned write as far as the
    /// caller is concerned; the device may still tear it on power loss).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
    /// Forgets cached copies of `len` bytes at `offset`, so the next read
    /// of them comes from the device itself (the read-back after a write
    /// must see the medium, not the page cache). A device without a cache
    /// has nothing to forget.
    fn drop_cached(&self, _offset: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// Size of the device in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Name used in error messages.
    fn path(&self) -> &Path;
}

/// A file or block device opened read-write, locked (see [`LOCK_WAIT`]).
#[derive(Debug)]
pub struct FileFlash {
    file: Flock<File>,
    path: PathBuf,
}

/// How long opening a store waits for another holder of its lock (a
/// commit takes well under a second) before it says the store is busy.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// `file` with an exclusive `flock`, waited for up to [`LOCK_WAIT`].
fn locked(mut file: File, path: &Path) -> io::Result<Flock<File>> {
    let until = Instant::now() + LOCK_WAIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => return Ok(l),
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < until => {
                file = f;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err((_, Errno::EWOULDBLOCK)) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{} is busy: another vigil has held it for {} s (a commit in progress?)",
                        path.display(),
                        LOCK_WAIT.as_secs()
                    ),
                ))
            }
            Err((_, e)) => return Err(e.into()),
        }
    }
}

impl FileFlash {
    /// Opens an existing file or block device read-write, and locks it.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(FileFlash {
            file: locked(file, path)?,
            path: path.to_path_buf(),
        })
    }

    /// Creates a new plain file of `len` zero bytes, failing with
    /// `AlreadyExists` if anything is at `path`. The file and its directory
    /// entry are synced before returning.
    pub fn create_new(path: &Path, len: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        file.set_len(len)?;
        file.sync_all()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(FileFlash {
            file: locked(file, path)?,
            path: path.to_path_buf(),
        })
    }
}

impl Flash for FileFlash {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// `posix_fadvise(DONTNEED)`: the range's pages are clean after
    /// `sync`, so the kernel drops them (a block device's and a file's
    /// page cache alike).
    fn drop_cached(&self, offset: u64, len: u64) -> io::Result<()> {
        use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
        let (off, len) = (offset as i64, len as i64);
        posix_fadvise(
            &*self.file,
            off,
            len,
            PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        )
        .map_err(io::Error::from)
    }

    /// Seeks to the end: block devices report a zero size in metadata.
    fn len(&self) -> io::Result<u64> {
        (&*self.file).seek(SeekFrom::End(0))
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// An in-memory device: a byte vector that never tears on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemFlash {
    bytes: Vec<u8>,
}

impl MemFlash {
    /// `len` zero bytes.
    pub fn new(len: usize) -> Self {
        MemFlash {
            bytes: vec![0; len],
        }
    }

    /// A device holding exactly `bytes` (an image).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        MemFlash { bytes }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn range(&self, offset: u64, len: usize) -> io::Result<std::ops::Range<usize>> {
        usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(len)?))
            .filter(|r| r.end <= self.bytes.len())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{len} bytes at offset {offset} outside a {}-byte device",
                        self.bytes.len()
                    ),
                )
            })
    }
}

impl Flash for MemFlash {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let range = self.range(offset, buf.len())?;
        buf.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let range = self.range(offset, data.len())?;
        self.bytes[range].copy_from_slice(data);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn path(&self) -> &Path {
        Path::new("<memory>")
    }
}

#[cfg(test)]
#[path = "flash_tests.rs"]
mod tests;
