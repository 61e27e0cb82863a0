//! Write-ahead records: an intent appended before a change, its outcome after.
//!
//! [`AuditLog::begin`] appends a record with outcome [`Outcome::Intent`] before anything
//! changes; [`Intent::finish`] appends the outcome, whose `details.intent` is the intent's
//! `seq`. A process killed in between leaves an open intent. Each intent names a lock file in
//! `<log>.intents/`, held by its process for as long as the change runs, so another process
//! can tell an intent whose change is still running from one whose process died:
//! [`AuditLog::open_intents`] lists them, and [`AuditLog::close`] records how a dead one
//! ended, as the caller found the state. The directory and its lock files are reached
//! through the handle of the log's directory and never through a link.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use goshift_fs::{Dir, LockFile, LockGuard};
use serde_json::Value;

use crate::log::{AuditError, AuditLog};
use crate::record::{Entry, Outcome, Record};

/// The `details` key of an outcome naming its intent's `seq`.
pub const INTENT_KEY: &str = "intent";
/// The `details` key of an intent naming its lock file.
const LOCK_KEY: &str = "intent_lock";

/// A change recorded as intended and not yet finished. Dropping it without
/// [`finish`](Self::finish) leaves the intent open, as a crash would.
#[derive(Debug)]
pub struct Intent {
    record: Record,
    /// The intents' directory and the name of this intent's lock file in it.
    lock: (Dir, String),
    guard: Option<LockGuard>,
}

/// An intent without an outcome, found by [`AuditLog::open_intents`].
#[derive(Debug, Clone)]
pub struct OpenIntent {
    /// The intent's record.
    pub record: Record,
    /// Whether its process still runs the change (its lock is held).
    pub running: bool,
}

impl AuditLog {
    /// The directory of the intents' lock files: `<log>.intents/`.
    pub fn intents_dir(&self) -> PathBuf {
        let mut name = self.path().file_name().unwrap_or_default().to_os_string();
        name.push(".intents");
        self.path().with_file_name(name)
    }

    /// The [`intents_dir`](Self::intents_dir), created when missing, opened through the handle
    /// of the log's directory: a link in its place is refused by name.
    fn intents_created(&self) -> Result<Dir, AuditError> {
        self.intents_with(|home, name| home.private_dir(name))
    }

    /// The [`intents_dir`](Self::intents_dir) as [`intents_created`](Self::intents_created)
    /// opens it, or `None` when it is missing.
    fn intents_found(&self) -> Result<Option<Dir>, AuditError> {
        if goshift_fs::fs::symlink_metadata(self.intents_dir()).is_err() {
            return Ok(None);
        }
        self.intents_with(|home, name| home.open_dir(name))
            .map(Some)
    }

    fn intents_with(
        &self,
        open: impl FnOnce(&Dir, &OsStr) -> std::io::Result<Dir>,
    ) -> Result<Dir, AuditError> {
        let path = self.intents_dir();
        let parent = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().unwrap_or_default();
        Dir::open_home(parent)
            .and_then(|home| open(&home, name))
            .map_err(|source| self.io_error(source))
    }

    /// Records that the change `entry` describes is about to be made (its outcome is set to
    /// [`Outcome::Intent`]). Nothing may change before this returns: a change whose intent
    /// cannot be recorded must not be made.
    pub fn begin(&self, mut entry: Entry) -> Result<Intent, AuditError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = self.intents_created()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "{}.{nanos}.{}.lock",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let guard = LockFile::beneath(&dir, &name).acquire(Duration::ZERO, |_| {})?;
        entry.outcome = Outcome::Intent;
        let mut details = match entry.details {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        details.insert(LOCK_KEY.to_owned(), Value::String(name.clone()));
        entry.details = Value::Object(details);
        match self.append(entry) {
            Ok(record) => Ok(Intent {
                record,
                lock: (dir, name),
                guard: Some(guard),
            }),
            Err(error) => {
                let _ = dir.remove_file(&name);
                Err(error)
            }
        }
    }

    /// Whether [`open_intents`](Self::open_intents) may find any. Every intent names a lock
    /// file in [`intents_dir`](Self::intents_dir), created before the intent is appended and
    /// removed only after its outcome is, so an empty (or missing) directory means no intent
    /// is open and the log need not be read: it grows with every change, and reading all of
    /// it before each change made every change slower than the one before.
    pub fn may_have_open_intents(&self) -> Result<bool, AuditError> {
        match self.intents_found()? {
            Some(dir) => Ok(!dir
                .names()
                .map_err(|source| self.io_error(source))?
                .is_empty()),
            None => Ok(false),
        }
    }

    /// Every intent without an outcome, oldest first, each saying whether its process still
    /// runs. A log that cannot be read to its end yields the intents found up to there.
    pub fn open_intents(&self) -> Result<Vec<OpenIntent>, AuditError> {
        let mut open: BTreeMap<u64, Record> = BTreeMap::new();
        for record in self.records()? {
            let Ok(record) = record else { break };
            if record.outcome == Outcome::Intent {
                open.insert(record.seq, record);
            } else if let Some(seq) = record.details.get(INTENT_KEY).and_then(Value::as_u64) {
                open.remove(&seq);
            }
        }
        let dir = self.intents_found()?;
        open.into_values()
            .map(|record| {
                let running = match (lock_name(&record), &dir) {
                    (Some(name), Some(dir)) => LockFile::beneath(dir, name)
                        .is_held()
                        .map_err(|source| self.io_error(source))?,
                    _ => false,
                };
                Ok(OpenIntent { record, running })
            })
            .collect()
    }

    /// Removes lock files in [`intents_dir`](Self::intents_dir) that no process holds and no
    /// open intent names: what a process killed before it appended its intent left behind.
    /// Returns how many were removed.
    pub fn clean_intent_locks(&self, open: &[OpenIntent]) -> Result<usize, AuditError> {
        let Some(dir) = self.intents_found()? else {
            return Ok(0);
        };
        let entries = dir.names().map_err(|source| self.io_error(source))?;
        let named: Vec<&str> = open.iter().filter_map(|o| lock_name(&o.record)).collect();
        let mut removed = 0;
        for name in entries {
            let Some(name) = name.to_str() else { continue };
            if named.contains(&name) || Path::new(name).extension().is_none_or(|e| e != "lock") {
                continue;
            }
            // A process creates its lock file an instant before it locks it: leave the files
            // of live processes alone.
            let owner = name
                .split('.')
                .next()
                .and_then(|pid| pid.parse::<i32>().ok());
            if owner.is_none_or(goshift_fs::process_exists) {
                continue;
            }
            if LockFile::beneath(&dir, name)
                .is_held()
                .map_err(|source| self.io_error(source))?
            {
                continue;
            }
            match dir.remove_file(name) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(self.io_error(source)),
            }
        }
        Ok(removed)
    }

    /// Records the outcome of an open intent whose process died, as `entry` describes what
    /// was found (`details.intent` is set to the intent's `seq`), and removes its lock file.
    pub fn close(&self, intent: &Record, entry: Entry) -> Result<Record, AuditError> {
        let record = self.append(outcome_of(intent, entry))?;
        if let (Some(name), Ok(Some(dir))) = (lock_name(intent), self.intents_found()) {
            let _ = dir.remove_file(name);
        }
        Ok(record)
    }
}

impl Intent {
    /// The intent's record.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// Records the change's outcome (`details.intent` is set to the intent's `seq`) and ends
    /// the intent. On error the intent stays open, to be reconciled later.
    pub fn finish(mut self, log: &AuditLog, entry: Entry) -> Result<Record, AuditError> {
        let record = log.append(outcome_of(&self.record, entry))?;
        let (dir, name) = &self.lock;
        let _ = dir.remove_file(name);
        self.guard.take();
        Ok(record)
    }
}

fn outcome_of(intent: &Record, mut entry: Entry) -> Entry {
    let mut details = match entry.details {
        Value::Object(map) => map,
        Value::Null => serde_json::Map::new(),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("value".to_owned(), other);
            map
        }
    };
    details.insert(INTENT_KEY.to_owned(), Value::from(intent.seq));
    entry.details = Value::Object(details);
    entry
}

fn lock_name(record: &Record) -> Option<&str> {
    record
        .details
        .get(LOCK_KEY)
        .and_then(Value::as_str)
        .filter(|name| !name.contains('/') && !name.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Actor;

    fn entry() -> Entry {
        Entry::new(Actor::from_os(), "use", "go1.22.10", Outcome::Success)
    }

    #[test]
    fn open_intents_are_looked_for_only_while_a_lock_file_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path().join("audit.log"));
        assert!(!log.may_have_open_intents().unwrap(), "no log yet");
        let intent = log.begin(entry()).unwrap();
        assert!(log.may_have_open_intents().unwrap());
        intent.finish(&log, entry()).unwrap();
        assert!(!log.may_have_open_intents().unwrap());
        assert!(log.open_intents().unwrap().is_empty());
        // A process that dies between intent and outcome leaves its lock file, so the intent
        // is still found.
        let dead = log.begin(entry()).unwrap();
        let seq = dead.record().seq;
        drop(dead);
        assert!(log.may_have_open_intents().unwrap());
        let open = log.open_intents().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].record.seq, seq);
    }

    #[test]
    fn a_link_in_place_of_the_intents_directory_is_refused_and_nothing_goes_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path().join("audit.log"));
        std::os::unix::fs::symlink(outside.path(), log.intents_dir()).unwrap();
        let error = log.begin(entry()).unwrap_err();
        // The log's error names the log; its cause names the link and the fix.
        let error = std::error::Error::source(&error).unwrap().to_string();
        assert!(
            error.contains("audit.log.intents") && error.contains("link"),
            "{error}"
        );
        // Nor do the readers look behind it.
        assert!(log.may_have_open_intents().is_err());
        std::fs::write(outside.path().join("1.2.3.lock"), "").unwrap();
        assert!(log.clean_intent_locks(&[]).is_err());
        let behind: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(behind, ["1.2.3.lock"], "only what the test put there");
        assert!(!log.path().exists(), "no intent was appended");
    }
}
