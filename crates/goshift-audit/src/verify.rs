//! Verifying a whole log: every line canonical, every hash right, the chain unbroken.

use std::fmt;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use goshift_fs::fs;
use goshift_fs::fs::os::unix::fs::OpenOptionsExt as _;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::log::Head;
use crate::record::{GENESIS, Record, Text};

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
            Self::Incomplete => f.write_str(
                "the last line is incomplete (no newline at the end): a write was cut short by a crash or a full disk, not an edit; the next change cuts it off and records the repair, or run `goshift audit repair`",
            ),
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
///
/// The file is read in blocks of whole lines; worker threads check each block's records
/// (canonical form, hash, and the chain inside the block), and the blocks are then stitched
/// in order (the chain across block boundaries), so the first bad line reported is the same
/// as a line-by-line pass would report.
pub fn verify(path: &Path, anchor: Option<&Head>) -> Result<Summary, VerifyError> {
    verify_in_blocks(path, anchor, 4 << 20)
}

fn verify_in_blocks(
    path: &Path,
    anchor: Option<&Head>,
    block_size: usize,
) -> Result<Summary, VerifyError> {
    let io_error = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return finish(path, 0, None, anchor, None);
        }
        Err(e) => return Err(io_error(goshift_fs::refuse_link(e, path))),
    };
    let results = check_blocks(&mut file, block_size, anchor.map(|a| a.seq)).map_err(io_error)?;
    let (records, prev, anchored) = stitch(path, results)?;
    let head = (records > 0).then_some(Head {
        seq: records,
        hash: prev,
    });
    finish(path, records, head, anchor, anchored)
}

/// Checks the blocks of `file` on worker threads, and returns their results in file order.
fn check_blocks(
    file: &mut fs::File,
    block_size: usize,
    anchor_seq: Option<u64>,
) -> io::Result<Vec<BlockResult>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4);
    let (job_sender, job_receiver) = mpsc::sync_channel::<(usize, Vec<u8>)>(workers * 2);
    let job_receiver = Mutex::new(job_receiver);
    let job_receiver = &job_receiver;
    std::thread::scope(move |scope| -> io::Result<Vec<BlockResult>> {
        let (result_sender, result_receiver) = mpsc::channel::<(usize, BlockResult)>();
        for _ in 0..workers {
            let result_sender = result_sender.clone();
            scope.spawn(move || {
                loop {
                    // A poisoned lock means another worker panicked; stop taking jobs.
                    let job = match job_receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => break,
                    };
                    let Ok((index, block)) = job else { break };
                    if result_sender
                        .send((index, check_block(&block, anchor_seq)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(result_sender);
        let read = read_blocks(file, block_size, |index, block| {
            // The workers only stop early if one of them panicked; the scope reports that.
            let _ = job_sender.send((index, block));
        });
        drop(job_sender);
        let mut results: Vec<(usize, BlockResult)> = result_receiver.iter().collect();
        read?;
        results.sort_by_key(|(index, _)| *index);
        Ok(results.into_iter().map(|(_, result)| result).collect())
    })
}

/// Checks the chain across the blocks' boundaries, in order, and returns the number of
/// records, the last record's hash, and the hash of the record at the anchor's position.
fn stitch(
    path: &Path,
    results: Vec<BlockResult>,
) -> Result<(u64, String, Option<String>), VerifyError> {
    let mut records: u64 = 0;
    let mut prev = GENESIS.to_owned();
    let mut anchored = None;
    for block in results {
        let bad = |line, problem| VerifyError::BadLine {
            path: path.to_owned(),
            line,
            problem,
        };
        if let Some((seq, first_prev)) = block.first {
            if seq != records + 1 {
                return Err(bad(
                    records + 1,
                    Problem::Sequence {
                        expected: records + 1,
                        found: seq,
                    },
                ));
            }
            if first_prev != prev {
                return Err(bad(
                    records + 1,
                    Problem::Chain {
                        expected: prev,
                        found: first_prev,
                    },
                ));
            }
        }
        if let Some((line, problem)) = block.error {
            return Err(bad(records + line, problem));
        }
        records += block.lines;
        if let Some(hash) = block.last_hash {
            prev = hash;
        }
        if block.anchored.is_some() {
            anchored = block.anchored;
        }
    }
    Ok((records, prev, anchored))
}

/// Reads `file` in blocks of whole lines (about `block_size` bytes each), in order; a last
/// line without a newline comes as a block of its own.
fn read_blocks(
    file: &mut fs::File,
    block_size: usize,
    mut send: impl FnMut(usize, Vec<u8>),
) -> io::Result<()> {
    let mut index = 0;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut block = std::mem::take(&mut carry);
        let start = block.len();
        block.resize(start + block_size, 0);
        let mut filled = start;
        while filled < block.len() {
            match file.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        block.truncate(filled);
        let at_end = filled < start + block_size;
        match block.iter().rposition(|&b| b == b'\n') {
            Some(last) if !at_end || last + 1 < block.len() => {
                carry = block.split_off(last + 1);
                send(index, block);
                index += 1;
            }
            _ if block.is_empty() => {}
            _ if at_end => {
                send(index, block);
                index += 1;
            }
            // No newline in a whole block: one very long line; keep reading it.
            _ => {
                carry = block;
                continue;
            }
        }
        if at_end {
            if !carry.is_empty() {
                send(index, std::mem::take(&mut carry));
            }
            return Ok(());
        }
    }
}

/// What a worker found in one block.
#[derive(Debug, Default)]
struct BlockResult {
    /// Lines checked and found good.
    lines: u64,
    /// The first record's `seq` and `prev`, checked when stitching.
    first: Option<(u64, String)>,
    /// The last good record's hash.
    last_hash: Option<String>,
    /// The first bad line (1-based, within the block) and its problem.
    error: Option<(u64, Problem)>,
    /// The hash of the record whose `seq` is the anchor's.
    anchored: Option<String>,
}

fn check_block(block: &[u8], anchor_seq: Option<u64>) -> BlockResult {
    let mut result = BlockResult::default();
    let mut canonical = Vec::with_capacity(512);
    let mut previous: Option<(u64, String)> = None;
    let mut rest = block;
    while !rest.is_empty() {
        let local = result.lines + 1;
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            result.error = Some((local, Problem::Incomplete));
            return result;
        };
        let (text, after) = (&rest[..end], &rest[end + 1..]);
        rest = after;
        let record: Record<Text<'_>> = match serde_json::from_slice(text) {
            Ok(record) => record,
            Err(e) => {
                result.error = Some((local, Problem::Malformed(e.to_string())));
                return result;
            }
        };
        match &previous {
            None => result.first = Some((record.seq, record.prev.as_ref().to_owned())),
            Some((seq, hash)) => {
                let problem = if record.seq != seq + 1 {
                    Some(Problem::Sequence {
                        expected: seq + 1,
                        found: record.seq,
                    })
                } else if record.prev.as_ref() != hash.as_str() {
                    Some(Problem::Chain {
                        expected: hash.clone(),
                        found: record.prev.as_ref().to_owned(),
                    })
                } else {
                    None
                };
                if let Some(problem) = problem {
                    result.error = Some((local, problem));
                    return result;
                }
            }
        }
        canonical.clear();
        let hash_member = record.write_canonical(true, &mut canonical);
        let mut hasher = Sha256::new();
        hasher.update(&canonical[..hash_member.start]);
        hasher.update(&canonical[hash_member.end..]);
        let digest = hasher.finalize();
        if !hex_equals(&digest, record.hash.as_ref()) {
            result.error = Some((
                local,
                Problem::Hash {
                    computed: format!("{digest:x}"),
                    found: record.hash.0.into_owned(),
                },
            ));
            return result;
        }
        if canonical != text {
            result.error = Some((local, Problem::NotCanonical));
            return result;
        }
        if anchor_seq == Some(record.seq) {
            result.anchored = Some(record.hash.as_ref().to_owned());
        }
        result.lines = local;
        previous = Some((record.seq, record.hash.0.into_owned()));
    }
    result.last_hash = previous.map(|(_, hash)| hash);
    result
}

/// Returns true if and only if `text` is the lowercase hex of `bytes`.
fn hex_equals(bytes: &[u8], text: &str) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    text.len() == bytes.len() * 2
        && bytes
            .iter()
            .zip(text.as_bytes().chunks_exact(2))
            .all(|(byte, pair)| {
                pair[0] == DIGITS[usize::from(byte >> 4)]
                    && pair[1] == DIGITS[usize::from(byte & 0xf)]
            })
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
    use crate::{Actor, AuditLog, Entry, Outcome, Record};

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
        // A torn tail is what a crash or a full disk leaves: the next append cuts it off and
        // records the cut before its own record.
        let record = log
            .append(Entry::new(actor(), "use", "x", Outcome::Success))
            .unwrap();
        assert_eq!(record.seq, 6);
        let lines = lines(&log);
        assert_eq!(lines.len(), 6);
        let repair: Record = serde_json::from_str(&lines[4]).unwrap();
        assert_eq!(repair.action, "audit.repair");
        assert_eq!(repair.details["torn_tail"]["line"], 5);
        assert_eq!(
            repair.details["torn_tail"]["bytes"],
            (bytes.len() - 40 - {
                let kept = &bytes[..bytes.len() - 40];
                kept.iter().rposition(|&b| b == b'\n').unwrap() + 1
            }) as u64
        );
        assert_eq!(verify(log.path(), None).unwrap().records, 6);
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

    #[test]
    fn block_boundaries_report_the_same_first_bad_line() {
        type Tamper = Box<dyn Fn(&mut Vec<String>)>;
        let (_dir, log) = log_with(12);
        let original = lines(&log);
        let tampers: Vec<(&str, Tamper)> = vec![
            ("none", Box::new(|_| {})),
            ("swap", Box::new(|l| l.swap(6, 7))),
            (
                "delete",
                Box::new(|l| {
                    l.remove(5);
                }),
            ),
            (
                "edit",
                Box::new(|l| l[8] = l[8].replace("reason 9", "reason X")),
            ),
            ("garbage", Box::new(|l| l.push("}".to_owned()))),
        ];
        for (name, tamper) in &tampers {
            let mut edited = original.clone();
            tamper(&mut edited);
            write_lines(&log, &edited);
            let whole = format!("{:?}", verify_in_blocks(log.path(), None, 1 << 20));
            for block_size in [1, 7, 100, 300, 301, 302, 450, 999, 2000] {
                let blocks = format!("{:?}", verify_in_blocks(log.path(), None, block_size));
                assert_eq!(blocks, whole, "{name} with blocks of {block_size}");
            }
        }
        write_lines(&log, &original);
        let bytes = fs::read(log.path()).unwrap();
        fs::write(log.path(), &bytes[..bytes.len() - 10]).unwrap();
        for block_size in [1, 100, 1 << 20] {
            match verify_in_blocks(log.path(), None, block_size) {
                Err(VerifyError::BadLine {
                    line: 12,
                    problem: Problem::Incomplete,
                    ..
                }) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    const CHILD_LOG: &str = "GOSHIFT_AUDIT_TEST_CHILD_LOG";

    /// Run by `concurrent_processes_keep_the_chain` in child processes.
    #[test]
    #[ignore = "runs only as a child of concurrent_processes_keep_the_chain"]
    fn child_appender() {
        let path = std::env::var_os(CHILD_LOG).expect("run by the parent test only");
        // flock is not fair: on a loaded machine one of sixteen appenders can wait a long
        // time for its turn, which is not what this test is about.
        let log = AuditLog::open(path).with_lock_timeout(std::time::Duration::from_mins(10));
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
