//! The log file: appending under a cross-process lock, reading the head, iterating records.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use goshift_fs::fs::os::unix::fs::OpenOptionsExt as _;
use goshift_fs::{LockError, LockFile, fs};
use serde::{Deserialize, Serialize};

use crate::record::{Entry, GENESIS, Record};

/// The audit log at a path, usually `$GOSHIFT_HOME/audit.log`.
///
/// Appends take an exclusive lock on a sibling file (`audit.log.lock`), read the last
/// record's `seq` and `hash`, write the new line with one `write` on a file opened for
/// appending, and `fsync` it before releasing the lock, so any number of processes can append
/// at once and the chain stays valid.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    lock: LockFile,
    lock_timeout: Duration,
}

/// The last record of a log: its position and hash, for anchoring elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The last record's `seq`.
    pub seq: u64,
    /// The last record's `hash`.
    pub hash: String,
}

/// A torn last line that was cut off the log: bytes a crash or a full disk left without their
/// newline. It is never a record (every record is written with its newline in one `write`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornTail {
    /// Its line number.
    pub line: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// Their SHA-256, kept in the repair record.
    pub sha256: String,
}

impl TornTail {
    fn entry(&self, actor: crate::Actor, path: &Path) -> Entry {
        let mut entry = Entry::new(
            actor,
            "audit.repair",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            crate::Outcome::Success,
        );
        entry.details = serde_json::json!({
            "torn_tail": { "line": self.line, "bytes": self.bytes, "sha256": self.sha256 },
        });
        entry
    }
}

/// Why the log could not be read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading or writing the log failed.
    #[error("failed to access the audit log `{}`", path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The log's lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The last line is not a valid record, so nothing can be chained to it.
    #[error(
        "the audit log `{}` is damaged at line {line}: {problem}; run `goshift audit verify` and restore the log from a backup",
        path.display()
    )]
    DamagedTail {
        /// The log.
        path: PathBuf,
        /// The last line's number.
        line: u64,
        /// What is wrong.
        problem: String,
    },
}

impl AuditLog {
    /// The log at `path`. Nothing is read or created until the first use.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock_name = path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock = LockFile::new(path.with_file_name(lock_name));
        Self {
            path,
            lock,
            lock_timeout: Duration::from_mins(1),
        }
    }

    /// Sets how long [`append`](Self::append) waits for the lock (default 60 s).
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record for `entry`, chained to the current last record, and returns it.
    /// The record is on disk (fsynced) when this returns.
    ///
    /// A torn last line (what a crash or a full disk leaves: bytes without their newline) is
    /// cut off first and an `audit.repair` record saying so is appended before `entry`. A
    /// write that fails or is cut short is truncated back to where it started, so a failed
    /// append leaves the log as it was.
    pub fn append(&self, entry: Entry) -> Result<Record, AuditError> {
        let _guard = self.lock()?;
        if let Some(repair) = self.cut_torn_tail()? {
            self.append_locked(repair.entry(entry.actor.clone(), &self.path))?;
        }
        self.append_locked(entry)
    }

    /// Cuts off a torn last line, if there is one, and records the repair. Returns what was
    /// cut, or `None` when the log ends with a complete line.
    pub fn repair(&self, actor: crate::Actor) -> Result<Option<TornTail>, AuditError> {
        let _guard = self.lock()?;
        let Some(repair) = self.cut_torn_tail()? else {
            return Ok(None);
        };
        self.append_locked(repair.entry(actor, &self.path))?;
        Ok(Some(repair))
    }

    fn lock(&self) -> Result<goshift_fs::LockGuard, AuditError> {
        if let Some(parent) = self.path.parent() {
            fs::create_dir_all(parent).map_err(|source| self.io(source))?;
        }
        Ok(self.lock.acquire(self.lock_timeout, |_| {})?)
    }

    /// With the lock held: chains `entry` to the last record and appends it.
    fn append_locked(&self, entry: Entry) -> Result<Record, AuditError> {
        let (seq, prev) = match self.head()? {
            Some(head) => (head.seq + 1, head.hash),
            None => (1, GENESIS.to_owned()),
        };
        let record = Record::chain(entry, seq, &prev);
        let mut line = record.to_line();
        line.push('\n');
        let created = !self.path.exists();
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)
            .map_err(|source| self.io(source))?;
        let start = file.metadata().map_err(|source| self.io(source))?.len();
        if let Err(source) = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
        {
            // Whatever part of the line reached the file goes again: the log stays as it was.
            let _ = file.set_len(start).and_then(|()| file.sync_data());
            return Err(self.io(source));
        }
        if created && let Some(parent) = self.path.parent() {
            goshift_fs::fsync_dir(parent).map_err(|source| self.io(source))?;
        }
        Ok(record)
    }

    /// With the lock held: truncates the log after its last newline when bytes follow it.
    fn cut_torn_tail(&self) -> Result<Option<TornTail>, AuditError> {
        let Some((file, length, last)) = self.tail(true)? else {
            return Ok(None);
        };
        if last.ends_with(b"\n") {
            return Ok(None);
        }
        let keep = length - last.len() as u64;
        file.set_len(keep)
            .and_then(|()| file.sync_data())
            .map_err(|source| self.io(source))?;
        let line = {
            let bytes = fs::read(&self.path).map_err(|source| self.io(source))?;
            bytes.split(|&b| b == b'\n').count() as u64
        };
        Ok(Some(TornTail {
            line,
            bytes: last.len() as u64,
            sha256: format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&last)),
        }))
    }

    /// The last record's `seq` and `hash`, or `None` for an empty or missing log. Reads only
    /// the end of the file; the last record's own hash is checked.
    pub fn head(&self) -> Result<Option<Head>, AuditError> {
        let Some((_, _, last)) = self.tail(false)? else {
            return Ok(None);
        };
        let damaged = |problem: String| AuditError::DamagedTail {
            path: self.path.clone(),
            line: 0,
            problem,
        };
        let Some(line) = last.strip_suffix(b"\n") else {
            return Err(self.with_line_number(damaged(
                "the last line is incomplete (no newline at the end)".to_owned(),
            )));
        };
        let record: Record = serde_json::from_slice(line).map_err(|e| {
            self.with_line_number(damaged(format!("the last line is not a record: {e}")))
        })?;
        if record.compute_hash() != record.hash {
            return Err(self.with_line_number(damaged(
                "the last record's hash does not match its content".to_owned(),
            )));
        }
        Ok(Some(Head {
            seq: record.seq,
            hash: record.hash,
        }))
    }

    /// Streams every record in file order. A line that is not a record ends the iteration
    /// with an error naming the line; [`crate::verify`] also checks the chain.
    pub fn records(&self) -> Result<Records, AuditError> {
        let file = match fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)
        {
            Ok(file) => Some(BufReader::with_capacity(1 << 20, file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(self.io(source)),
        };
        Ok(Records {
            path: self.path.clone(),
            reader: file,
            line: 0,
            buffer: Vec::new(),
        })
    }

    /// The open log (writable when asked), its length and its last line; `None` for a
    /// missing or empty log.
    fn tail(&self, writable: bool) -> Result<Option<(fs::File, u64, Vec<u8>)>, AuditError> {
        let mut file = match fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io(source)),
        };
        let length = file.metadata().map_err(|source| self.io(source))?.len();
        if length == 0 {
            return Ok(None);
        }
        let last = self.last_line(&mut file, length)?;
        Ok(Some((file, length, last)))
    }

    /// The bytes of the last line (with its newline, if it has one).
    fn last_line(&self, file: &mut fs::File, length: u64) -> Result<Vec<u8>, AuditError> {
        let mut window: u64 = 64 * 1024;
        loop {
            let start = length.saturating_sub(window);
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(start))
                .and_then(|_| file.read_to_end(&mut bytes))
                .map_err(|source| self.io(source))?;
            // Skip the final newline when looking for the start of the last line.
            let search = bytes.len().saturating_sub(1);
            if let Some(newline) = bytes[..search].iter().rposition(|&b| b == b'\n') {
                return Ok(bytes.split_off(newline + 1));
            }
            if start == 0 {
                return Ok(bytes);
            }
            window *= 4;
        }
    }

    /// Fills in the line number of a damaged tail (counting lines only on this error path).
    fn with_line_number(&self, error: AuditError) -> AuditError {
        match error {
            AuditError::DamagedTail { path, problem, .. } => {
                let line = fs::read(&self.path).map_or(0, |bytes| {
                    let newlines = bytes.split(|&b| b == b'\n').count() as u64 - 1;
                    if bytes.ends_with(b"\n") {
                        newlines
                    } else {
                        newlines + 1
                    }
                });
                AuditError::DamagedTail {
                    path,
                    line,
                    problem,
                }
            }
            other => other,
        }
    }

    pub(crate) fn io_error(&self, source: io::Error) -> AuditError {
        self.io(source)
    }

    fn io(&self, source: io::Error) -> AuditError {
        // Only the log's own opens use `O_NOFOLLOW`: a loop there is a planted link.
        let source = goshift_fs::refuse_link(source, &self.path);
        AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// An iterator over a log's records; see [`AuditLog::records`].
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    reader: Option<BufReader<fs::File>>,
    line: u64,
    buffer: Vec<u8>,
}

/// A line of the log that could not be read as a record.
#[derive(Debug, thiserror::Error)]
#[error("failed to read line {line} of the audit log `{}`: {problem}", path.display())]
pub struct ReadError {
    /// The log.
    pub path: PathBuf,
    /// The 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub problem: String,
}

impl Iterator for Records {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        self.buffer.clear();
        self.line += 1;
        let error = |problem: String, line| ReadError {
            path: self.path.clone(),
            line,
            problem,
        };
        match reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => {
                self.reader = None;
                None
            }
            Ok(_) => {
                let result = match self.buffer.strip_suffix(b"\n") {
                    None => Err(error("incomplete line (no newline)".to_owned(), self.line)),
                    Some(line) => serde_json::from_slice(line)
                        .map_err(|e| error(format!("not a record: {e}"), self.line)),
                };
                if result.is_err() {
                    self.reader = None;
                }
                Some(result)
            }
            Err(e) => {
                self.reader = None;
                Some(Err(error(e.to_string(), self.line)))
            }
        }
    }
}
