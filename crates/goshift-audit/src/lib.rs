//! goshift's audit log: a tamper-evident, hash-chained, append-only record of every change.
//!
//! The log is a file of JSON lines, one [`Record`] each: `seq` (from 1), `time`, `actor`
//! (`uid`, `user`, `host`, from the OS), `action`, `subject`, `from`, `to`, `reason`,
//! `outcome`, `details`, `prev` (the previous record's hash; 64 zeros for the first) and
//! `hash` (SHA-256 of the record's canonical serialisation without `hash`; the canonical form
//! is defined in [`record`](Record) docs: keys sorted, no whitespace). Editing, deleting,
//! reordering or truncating lines breaks the chain, and [`verify`] names the first bad line;
//! anchoring the [`Head`] elsewhere also catches records cut off the end.
//!
//! ```no_run
//! use goshift_audit::{Actor, AuditLog, Entry, Outcome};
//!
//! let log = AuditLog::open("/var/lib/goshift/audit.log");
//! let mut entry = Entry::new(Actor::from_os(), "use", "go1.22.10", Outcome::Success);
//! entry.from = Some("go1.21.13".to_owned());
//! let record = log.append(entry)?;
//! assert_eq!(log.head()?.map(|h| h.seq), Some(record.seq));
//! # Ok::<(), goshift_audit::AuditError>(())
//! ```
#![warn(missing_docs)]

mod actor;

pub use actor::groups_from_os;
mod export;
mod intent;
mod log;
mod record;
mod verify;

pub use export::{write_csv_header, write_csv_record, write_jsonl_record};
pub use intent::{INTENT_KEY, Intent, OpenIntent};
pub use log::{AuditError, AuditLog, Head, ReadError, Records, TornTail};
pub use record::{Actor, Entry, GENESIS, Outcome, Record};
pub use verify::{Problem, Summary, VerifyError, verify};
