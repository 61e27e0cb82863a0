//! Verifying a whole log: every line canonical, every hash right, the chain unbroken.

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use goshift_fs::fs;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::log::Head;
use crate::record::{GENESIS, Record, hex};

/// What a successful verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// How many records the log holds.
    pub records: u64,
    /// The last record, if any.
    pub head: Option<Head>,
}

/// Why a log does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A line is wrong; nothing before it is.
    #[error("audit log `{}` line {line}: {problem}", path.display())]
    BadLine {
        /// The log.
        path: PathBuf,
        /// The first bad line, 1-based.
        line: u64,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The log could not be read.
    #[error("failed to read the audit log `{}`", path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The line has no newline: the file was cut in the middle of a record.
    Incomplete,
    /// The line is not a record (not JSON, missing or extra fields).
    Malformed(String),
    /// The line is a record, but not written in the canonical form (edited by hand).
    NotCanonical,
    /// `seq` is not the next number (a record was deleted, moved or inserted).
    Sequence {
        /// The number this line should have.
        expected: u64,
        /// The number it has.
        found: u64,
    },
    /// `prev` is not the previous record's hash.
    Chain {
        /// The previous record's hash.
        expected: String,
        /// The `prev` found.
        found: String,
    },
    /// `hash` does not match the content (a field was edited).
    Hash {
        /// The hash of the content.
        computed: String,
        /// The hash written.
        found: String,
    },
    /// The log ends before an anchored record (records were cut off the end).
    Truncated {
        /// The anchor.
        anchor: Head,
        /// How many records the log holds.
        records: u64,
    },
    /// The anchored record has another hash (the log was rewritten).
    AnchorMismatch {
        /// The anchor.
        anchor: Head,
        /// The hash the log has at that position.
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Incomplete => {
                f.write_str("incomplete record (no newline at the end): the log was truncated")
            }
            Self::Malformed(message) => write!(f, "not an audit record: {message}"),
            Self::NotCanonical => {
                f.write_str("the record is not in canonical form: the line was edited")
            }
            Self::Sequence { expected, found } => write!(
                f,
                "expected seq {expected}, found {found}: a record was deleted, moved or inserted"
            ),
            Self::Chain { expected, found } => write!(
                f,
                "`prev` is {found} but the previous record's hash is {expected}: the chain is broken"
            ),
            Self::Hash { computed, found } => write!(
                f,
                "`hash` is {found} but the content hashes to {computed}: the record was edited"
            ),
            Self::Truncated { anchor, records } => write!(
                f,
                "the log ends after {records} records, before the anchored record {} ({}): records were removed from the end",
                anchor.seq, anchor.hash
            ),
            Self::AnchorMismatch { anchor, found } => write!(
                f,
                "record {} has hash {found}, not the anchored {}: the log was rewritten",
                anchor.seq, anchor.hash
            ),
        }
    }
}

/// Verifies the log at `path` from the first line to the last, stopping at the first bad
/// line. A missing file is an empty log. With `anchor` (a [`Head`] noted earlier, from
/// `goshift audit head`), the record at that position must exist and have that hash, which
/// also catches records cut off the end.
pub fn verify(path: &Path, anchor: Option<&Head>) -> Result<Summary, VerifyError> {
    let io_error = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return finish(path, 0, None, anchor, None);
        }
        Err(e) => return Err(io_error(e)),
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(512);
    let mut canonical = Vec::with_capacity(512);
    let mut prev = GENESIS.to_owned();
    let mut records: u64 = 0;
    let mut anchored: Option<String> = None;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io_error)? == 0 {
            break;
        }
        let number = records + 1;
        let bad = |problem| VerifyError::BadLine {
            path: path.to_owned(),
            line: number,
            problem,
        };
        let Some(text) = line.strip_suffix(b"\n") else {
            return Err(bad(Problem::Incomplete));
        };
        let record: Record =
            serde_json::from_slice(text).map_err(|e| bad(Problem::Malformed(e.to_string())))?;
        if record.seq != number {
            return Err(bad(Problem::Sequence {
                expected: number,
                found: record.seq,
            }));
        }
        if record.prev != prev {
            return Err(bad(Problem::Chain {
                expected: prev,
                found: record.prev,
            }));
        }
        canonical.clear();
        let hash_member = record.write_canonical(Some(&record.hash), &mut canonical);
        let mut hasher = Sha256::new();
        hasher.update(&canonical[..hash_member.start]);
        hasher.update(&canonical[hash_member.end..]);
        let computed = hex(&hasher.finalize());
        if computed != record.hash {
            return Err(bad(Problem::Hash {
                computed,
                found: record.hash,
            }));
        }
        if canonical != text {
            return Err(bad(Problem::NotCanonical));
        }
        if anchor.is_some_and(|a| a.seq == number) {
            anchored = Some(record.hash.clone());
        }
        records = number;
        prev = record.hash;
    }
    let head = (records > 0).then_some(Head {
        seq: records,
        hash: prev,
    });
    finish(path, records, head, anchor, anchored)
}

fn finish(
    path: &Path,
    records: u64,
    head: Option<Head>,
    anchor: Option<&Head>,
    anchored: Option<String>,
) -> Result<Summary, VerifyError> {
    if let Some(anchor) = anchor {
        let problem = match anchored {
            None => Some(Problem::Truncated {
                anchor: anchor.clone(),
                records,
            }),
            Some(found) if found != anchor.hash => Some(Problem::AnchorMismatch {
                anchor: anchor.clone(),
                found,
            }),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(VerifyError::BadLine {
                path: path.to_owned(),
                line: anchor.seq.min(records + 1),
                problem,
            });
        }
    }
    Ok(Summary { records, head })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, AuditLog, Entry, Outcome};

    fn actor() -> Actor {
        Actor {
            uid: 1000,
            user: "ana".to_owned(),
            host: "build-1".to_owned(),
        }
    }

    /// A log of `n` records in a temporary directory.
    fn log_with(n: u64) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path().join("audit.log"));
        for i in 1..=n {
            let mut entry = Entry::new(actor(), "use", format!("go1.22.{i}"), Outcome::Success);
            entry.reason = Some(format!("reason {i}"));
            entry.details = serde_json::json!({ "smoke": { "ok": true, "step": i } });
            let record = log.append(entry).unwrap();
            assert_eq!(record.seq, i);
        }
        (dir, log)
    }

    fn lines(log: &AuditLog) -> Vec<String> {
        fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .map(ToOwned::to_owned)
            .collect()
    }

    fn write_lines(log: &AuditLog, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(log.path(), text).unwrap();
    }

    fn bad_line(log: &AuditLog) -> (u64, Problem) {
        match verify(log.path(), None) {
            Err(VerifyError::BadLine { line, problem, .. }) => (line, problem),
            other => panic!("expected a bad line, got {other:?}"),
        }
    }

    #[test]
    fn a_fresh_log_verifies() {
        let (_dir, log) = log_with(5);
        let summary = verify(log.path(), None).unwrap();
        assert_eq!(summary.records, 5);
        assert_eq!(summary.head, log.head().unwrap());
        assert_eq!(summary.head.unwrap().seq, 5);
    }

    #[test]
    fn a_missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path().join("audit.log"));
        assert_eq!(log.head().unwrap(), None);
        let summary = verify(log.path(), None).unwrap();
        assert_eq!((summary.records, summary.head), (0, None));
    }

    #[test]
    fn edited_field_is_reported_at_its_line() {
        let (_dir, log) = log_with(5);
        let mut lines = lines(&log);
        lines[2] = lines[2].replace("\"user\":\"ana\"", "\"user\":\"eve\"");
        write_lines(&log, &lines);
        let (line, problem) = bad_line(&log);
        assert_eq!(line, 3);
        assert!(matches!(problem, Problem::Hash { .. }), "{problem}");
    }

    #[test]
    fn edited_field_with_recomputed_hash_breaks_the_next_link() {
        let (_dir, log) = log_with(5);
        let mut lines = lines(&log);
        let mut record: Record = serde_json::from_str(&lines[1]).unwrap();
        record.reason = Some("nothing to see".to_owned());
        record.hash = record.compute_hash();
        lines[1] = record.to_line();
        write_lines(&log, &lines);
        let (line, problem) = bad_line(&log);
        assert_eq!(line, 3);
        assert!(matches!(problem, Problem::Chain { .. }), "{problem}");
    }

    #[test]
    fn deleted_line_is_reported() {
        let (_dir, log) = log_with(5);
        let mut lines = lines(&log);
        lines.remove(3);
        write_lines(&log, &lines);
        assert_eq!(
            bad_line(&log),
            (
                4,
                Problem::Sequence {
                    expected: 4,
                    found: 5
                }
            )
        );
    }

    #[test]
    fn swapped_lines_are_reported() {
        let (_dir, log) = log_with(5);
        let mut lines = lines(&log);
        lines.swap(1, 2);
        write_lines(&log, &lines);
        assert_eq!(
            bad_line(&log),
            (
                2,
                Problem::Sequence {
                    expected: 2,
                    found: 3
                }
            )
        );
    }

    #[test]
    fn truncation_mid_line_is_reported() {
        let (_dir, log) = log_with(5);
        let bytes = fs::read(log.path()).unwrap();
        fs::write(log.path(), &bytes[..bytes.len() - 40]).unwrap();
        assert_eq!(bad_line(&log), (5, Problem::Incomplete));
        // Nothing can be chained to a damaged tail.
        let error = log
            .append(Entry::new(actor(), "use", "x", Outcome::Success))
            .unwrap_err();
        assert!(
            matches!(error, crate::AuditError::DamagedTail { line: 5, .. }),
            "{error}"
        );
    }

    #[test]
    fn appended_garbage_is_reported() {
        let (_dir, log) = log_with(3);
        let mut lines = lines(&log);
        lines.push("{\"seq\": 4, \"oops\": true}".to_owned());
        write_lines(&log, &lines);
        let (line, problem) = bad_line(&log);
        assert_eq!(line, 4);
        assert!(matches!(problem, Problem::Malformed(_)), "{problem}");
        lines.pop();
        lines.push("garbage".to_owned());
        write_lines(&log, &lines);
        assert!(matches!(bad_line(&log), (4, Problem::Malformed(_))));
    }

    #[test]
    fn reformatted_line_is_not_canonical() {
        let (_dir, log) = log_with(2);
        let mut lines = lines(&log);
        lines[0] = lines[0].replacen("\"seq\":1", "\"seq\": 1", 1);
        write_lines(&log, &lines);
        assert_eq!(bad_line(&log), (1, Problem::NotCanonical));
    }

    #[test]
    fn anchor_catches_truncation_at_a_line_boundary() {
        let (_dir, log) = log_with(5);
        let head = log.head().unwrap().unwrap();
        verify(log.path(), Some(&head)).unwrap();
        let mut lines = lines(&log);
        lines.truncate(3);
        write_lines(&log, &lines);
        // Without the anchor the shorter log is consistent; with it, it is not.
        assert_eq!(verify(log.path(), None).unwrap().records, 3);
        match verify(log.path(), Some(&head)) {
            Err(VerifyError::BadLine {
                line: 4,
                problem: Problem::Truncated { records: 3, .. },
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    const CHILD_LOG: &str = "GOSHIFT_AUDIT_TEST_CHILD_LOG";

    /// Run by `concurrent_processes_keep_the_chain` in child processes.
    #[test]
    #[ignore = "runs only as a child of concurrent_processes_keep_the_chain"]
    fn child_appender() {
        let path = std::env::var_os(CHILD_LOG).expect("run by the parent test only");
        let log = AuditLog::open(path);
        let pid = std::process::id();
        for i in 0..500 {
            let entry = Entry::new(actor(), "test", format!("{pid}-{i}"), Outcome::Success);
            log.append(entry).unwrap();
        }
    }

    #[test]
    fn concurrent_processes_keep_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..16)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "verify::tests::child_appender",
                        "--ignored",
                        "--test-threads=1",
                    ])
                    .env(CHILD_LOG, &path)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let summary = verify(&path, None).unwrap();
        assert_eq!(summary.records, 8_000);
        // Every append landed exactly once.
        let log = AuditLog::open(&path);
        let mut subjects: Vec<String> =
            log.records().unwrap().map(|r| r.unwrap().subject).collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 8_000);
    }
}
