//! A cross-process advisory lock with a timeout that names its holder.

use std::io::{self, Read, Seek};
use std::os::unix::fs::FileExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A lock file such as `$GOSHIFT_HOME/lock`. The lock is an OS advisory lock (`flock`),
/// released by the kernel when the holder exits, however it exits: a `kill -9` leaves no
/// stale lock behind. The file holds the holder's pid for error messages.
#[derive(Debug, Clone)]
pub struct LockFile {
    path: PathBuf,
    /// The directory it is opened in, by name, when it lives in one of goshift's.
    parent: Option<crate::Dir>,
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
        Self {
            path: path.into(),
            parent: None,
        }
    }

    /// The lock file `name` in `dir`, opened relative to the directory's handle.
    pub fn beneath(dir: &crate::Dir, name: impl AsRef<std::ffi::OsStr>) -> Self {
        Self {
            path: dir.join(name),
            parent: Some(dir.clone()),
        }
    }

    /// Opens the file (never through a link), creating it when `create` says so.
    fn open(&self, write: bool) -> io::Result<std::fs::File> {
        use nix::fcntl::OFlag;
        let Some(parent) = &self.parent else {
            return std::fs::OpenOptions::new()
                .read(true)
                .write(write)
                .create(write)
                .truncate(false)
                // A link planted where the lock belongs is refused, never followed (the
                // holder writes its pid into the file it opens).
                .custom_flags(libc::O_NOFOLLOW)
                .open(&self.path);
        };
        let flags = OFlag::O_NOFOLLOW
            | OFlag::O_CLOEXEC
            | if write {
                OFlag::O_RDWR | OFlag::O_CREAT
            } else {
                OFlag::O_RDONLY
            };
        let name = self.path.file_name().unwrap_or_default();
        nix::fcntl::openat(
            parent.as_fd(),
            name,
            flags,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .map(std::fs::File::from)
        .map_err(io::Error::from)
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
        let file = self
            .open(true)
            .map_err(|e| io_error(no_follow_error(&self.path, &e)))?;
        let mut file = fs_err::File::from_parts(file, &self.path);
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
        // Record ourselves as the holder with one write of a fixed width at the start, never
        // truncating first: a waiter reading at any moment finds a whole pid.
        let pid = format!("{:>10}\n", std::process::id());
        file.file()
            .write_all_at(pid.as_bytes(), 0)
            .map_err(io_error)?;
        file.set_len(pid.len() as u64).map_err(io_error)?;
        Ok(LockGuard { file })
    }

    /// Returns the pid written by the current or last holder, if any.
    pub fn last_holder(&self) -> Option<u32> {
        let mut text = String::new();
        self.open(false).ok()?.read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    }

    /// Returns true if and only if some process holds the lock right now.
    pub fn is_held(&self) -> io::Result<bool> {
        let file = match self.open(false) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(no_follow_error(&self.path, &e)),
        };
        match file.try_lock_shared() {
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

/// Names the link in the error of an open that met a symbolic link (`ELOOP`); any other
/// error gets the path.
fn no_follow_error(path: &Path, error: &io::Error) -> io::Error {
    if error.raw_os_error() == Some(libc::ELOOP) {
        return crate::link_refused(path);
    }
    io::Error::new(
        error.kind(),
        format!("failed to open `{}`: {error}", path.display()),
    )
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
    fn a_link_where_the_lock_belongs_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let precious = dir.path().join("precious");
        fs_err::write(&precious, "keep me").unwrap();
        let path = dir.path().join("lock");
        std::os::unix::fs::symlink(&precious, &path).unwrap();
        let error = LockFile::new(&path)
            .acquire(Duration::from_millis(50), |_| {})
            .unwrap_err();
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert!(
            cause
                .as_deref()
                .is_some_and(|c| c.contains("is a symbolic link, where goshift keeps a file")),
            "{error}: {cause:?}"
        );
        assert_eq!(fs_err::read_to_string(&precious).unwrap(), "keep me");
    }

    #[test]
    fn a_waiter_always_finds_the_holder_s_pid() {
        let dir = tempfile::tempdir().unwrap();
        let lock = LockFile::new(dir.path().join("lock"));
        lock.acquire(Duration::ZERO, |_| {}).unwrap().release();
        let done = std::sync::atomic::AtomicBool::new(false);
        let holders = std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..2_000 {
                    lock.acquire(Duration::from_secs(10), |_| {})
                        .unwrap()
                        .release();
                }
                done.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let mut holders = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                match lock.acquire(Duration::ZERO, |_| {}) {
                    Err(LockError::Timeout { holder, .. }) => holders.push(holder),
                    Ok(guard) => guard.release(),
                    Err(error) => panic!("{error}"),
                }
            }
            holders
        });
        // The file is never truncated before the pid is written: a waiter reading at any
        // moment finds a whole pid, never an empty or half-written file.
        let expected = format!("pid {}", std::process::id());
        assert!(holders.iter().all(|h| *h == expected), "{holders:?}");
    }

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
