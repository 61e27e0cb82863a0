//! A cross-process advisory lock with a timeout that names its holder.

use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A lock file such as `$GOSHIFT_HOME/lock`. The lock is an OS advisory lock (`flock`),
/// released by the kernel when the holder exits, however it exits: a `kill -9` leaves no
/// stale lock behind. The file holds the holder's pid for error messages.
#[derive(Debug, Clone)]
pub struct LockFile {
    path: PathBuf,
}

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct LockGuard {
    file: fs_err::File,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held the lock for the whole timeout.
    #[error(
        "timed out after {waited:?} waiting for the lock `{path}`, held by {holder}; wait for it to finish, or raise GOSHIFT_LOCK_TIMEOUT"
    )]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
        /// Who holds it (`pid 1234`, or `an unknown process`).
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("failed to lock `{path}`")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl LockFile {
    /// A lock at `path`; the file is created on first use.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock exclusively, waiting up to `timeout`. `on_wait` is called once, with
    /// the holder's description, when the lock is busy, so the caller can say it waits.
    pub fn acquire(
        &self,
        timeout: Duration,
        mut on_wait: impl FnMut(&str),
    ) -> Result<LockGuard, LockError> {
        let io_error = |source| LockError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(io_error)?;
        let start = Instant::now();
        let mut announced = false;
        let mut pause = Duration::from_millis(5);
        loop {
            match file.file().try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !announced {
                        on_wait(&holder(&mut file));
                        announced = true;
                    }
                    let waited = start.elapsed();
                    if waited >= timeout {
                        return Err(LockError::Timeout {
                            path: self.path.clone(),
                            waited,
                            holder: holder(&mut file),
                        });
                    }
                    std::thread::sleep(pause.min(timeout.saturating_sub(waited)));
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io_error(e)),
            }
        }
        // Record ourselves as the holder; only the holder writes, so this cannot race.
        let pid = std::process::id().to_string();
        file.set_len(0).map_err(io_error)?;
        file.rewind().map_err(io_error)?;
        file.write_all(pid.as_bytes()).map_err(io_error)?;
        Ok(LockGuard { file })
    }

    /// Returns the pid written by the current or last holder, if any.
    pub fn last_holder(&self) -> Option<u32> {
        let text = fs_err::read_to_string(&self.path).ok()?;
        text.trim().parse().ok()
    }

    /// Returns true if and only if some process holds the lock right now.
    pub fn is_held(&self) -> io::Result<bool> {
        let file = match fs_err::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match file.file().try_lock_shared() {
            Ok(()) => Ok(false),
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl LockGuard {
    /// Releases the lock now (dropping the guard does the same).
    pub fn release(self) {}
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.file().unlock();
    }
}

fn holder(file: &mut fs_err::File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    match text.trim().parse::<u32>() {
        Ok(pid) => format!("pid {pid}"),
        Err(_) => "an unknown process".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_times_out_naming_holder() {
        let dir = tempfile::tempdir().unwrap();
        let lock = LockFile::new(dir.path().join("lock"));
        let guard = lock.acquire(Duration::from_secs(1), |_| {}).unwrap();
        assert!(lock.is_held().unwrap());
        let mut waited_on = None;
        let error = lock
            .acquire(Duration::from_millis(50), |h| {
                waited_on = Some(h.to_owned());
            })
            .unwrap_err();
        let expected = format!("pid {}", std::process::id());
        assert_eq!(waited_on.as_deref(), Some(expected.as_str()));
        assert!(error.to_string().contains(&expected), "{error}");
        drop(guard);
        assert!(!lock.is_held().unwrap());
        lock.acquire(Duration::from_millis(50), |_| {}).unwrap();
        assert_eq!(lock.last_holder(), Some(std::process::id()));
    }
}
