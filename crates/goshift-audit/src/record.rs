//! Audit records and their canonical serialisation.
//!
//! The canonical form of a record is one JSON object on one line with:
//! - every key present (absent optional values are `null`), no other key;
//! - keys sorted by their UTF-8 bytes, at every level (also inside `details`);
//! - no whitespace outside strings;
//! - strings escaped as `serde_json` does (only `"`, `\` and control characters, `\u00XX`
//!   for controls without a short escape), numbers as `serde_json` prints them.
//!
//! `hash` is the lowercase hex SHA-256 of the canonical form of the record without the `hash`
//! key; the file holds the canonical form with it. So a record's line is exactly what
//! [`Record::to_line`] produces, and [`crate::verify`] can check both the bytes and the hash.

use std::fmt;
use std::io::Write as _;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change, as the operating system knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The real user id.
    pub uid: u32,
    /// The user name for `uid` from the user database (`uid:N` when it has none).
    pub user: String,
    /// The host name.
    pub host: String,
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was tried and failed; nothing changed.
    Failure,
    /// The policy refused it.
    Refused,
    /// It is about to be tried: written before anything changes. A later record with
    /// `details.intent` set to this record's `seq` tells how it ended.
    Intent,
    /// It was started and did not finish (the process died); `details.found` says what was
    /// found in effect when the intent was reconciled.
    Interrupted,
}

impl Outcome {
    /// `success`, `failure` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
            Self::Intent => "intent",
            Self::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller appends: a record before the log numbers and chains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When (default: now).
    pub time: SystemTime,
    /// Who.
    pub actor: Actor,
    /// What kind of change: `install`, `use`, `rollback`, `svc.upgrade`, …
    pub action: String,
    /// What was changed: `go1.22.10`, a service name, …
    pub subject: String,
    /// The state before (`go1.21.13`), if any.
    pub from: Option<String>,
    /// The state after, if any.
    pub to: Option<String>,
    /// The reason given with `--reason`, if any.
    pub reason: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Anything else worth keeping: a smoke test's result, a policy override, hashes. A JSON
    /// object (anything else is stored under the key `value`).
    pub details: Value,
}

impl Entry {
    /// An entry made now, with no from/to/reason and empty details.
    pub fn new(
        actor: Actor,
        action: impl Into<String>,
        subject: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        Self {
            time: SystemTime::now(),
            actor,
            action: action.into(),
            subject: subject.into(),
            from: None,
            to: None,
            reason: None,
            outcome,
            details: Value::Object(serde_json::Map::new()),
        }
    }
}

/// One record of the log, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Position in the log, from 1.
    pub seq: u64,
    /// RFC 3339 UTC time with microseconds (`2024-03-01T12:00:00.000000Z`).
    pub time: String,
    /// Who.
    pub actor: Actor,
    /// What kind of change.
    pub action: String,
    /// What was changed.
    pub subject: String,
    /// The state before.
    pub from: Option<String>,
    /// The state after.
    pub to: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Details (a JSON object).
    pub details: Value,
    /// The previous record's `hash` ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 of the canonical form without `hash`.
    pub hash: String,
}

impl Record {
    /// Numbers and chains an entry after the record whose hash is `prev`.
    pub fn chain(entry: Entry, seq: u64, prev: &str) -> Self {
        let details = match entry.details {
            Value::Object(map) => Value::Object(map),
            Value::Null => Value::Object(serde_json::Map::new()),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("value".to_owned(), other);
                Value::Object(map)
            }
        };
        let mut record = Self {
            seq,
            time: humantime::format_rfc3339_micros(entry.time).to_string(),
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            from: entry.from,
            to: entry.to,
            reason: entry.reason,
            outcome: entry.outcome,
            details,
            prev: prev.to_owned(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }

    /// The hash this record should have: SHA-256 of its canonical form without `hash`.
    pub fn compute_hash(&self) -> String {
        let mut bytes = Vec::with_capacity(256);
        let _ = self.write_canonical(None, &mut bytes);
        format!("{:x}", Sha256::digest(&bytes))
    }

    /// The record's line in the log (canonical form with `hash`, no newline).
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(320);
        let _ = self.write_canonical(Some(&self.hash), &mut bytes);
        // The canonical writer only emits UTF-8 (JSON text of UTF-8 strings).
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// Writes the canonical form, with `hash` when given, and returns the byte range of the
    /// `,"hash":"…"` member in `out` (empty without `hash`).
    pub(crate) fn write_canonical(
        &self,
        hash: Option<&str>,
        out: &mut Vec<u8>,
    ) -> std::ops::Range<usize> {
        Fields {
            action: &self.action,
            host: &self.actor.host,
            uid: self.actor.uid,
            user: &self.actor.user,
            details: &self.details,
            from: self.from.as_deref(),
            outcome: self.outcome,
            prev: &self.prev,
            reason: self.reason.as_deref(),
            seq: self.seq,
            subject: &self.subject,
            time: &self.time,
            to: self.to.as_deref(),
        }
        .write_canonical(hash, out)
    }
}

/// A record's fields, borrowed, in canonical key order.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    pub(crate) action: &'a str,
    pub(crate) host: &'a str,
    pub(crate) uid: u32,
    pub(crate) user: &'a str,
    pub(crate) details: &'a Value,
    pub(crate) from: Option<&'a str>,
    pub(crate) outcome: Outcome,
    pub(crate) prev: &'a str,
    pub(crate) reason: Option<&'a str>,
    pub(crate) seq: u64,
    pub(crate) subject: &'a str,
    pub(crate) time: &'a str,
    pub(crate) to: Option<&'a str>,
}

impl Fields<'_> {
    /// Writes the canonical form, with `hash` when given, and returns the byte range of the
    /// `,"hash":"…"` member in `out` (empty without `hash`).
    pub(crate) fn write_canonical(
        &self,
        hash: Option<&str>,
        out: &mut Vec<u8>,
    ) -> std::ops::Range<usize> {
        out.extend_from_slice(b"{\"action\":");
        string(self.action, out);
        out.extend_from_slice(b",\"actor\":{\"host\":");
        string(self.host, out);
        out.extend_from_slice(b",\"uid\":");
        let _ = write!(out, "{}", self.uid);
        out.extend_from_slice(b",\"user\":");
        string(self.user, out);
        out.extend_from_slice(b"},\"details\":");
        canonical_value(self.details, out);
        out.extend_from_slice(b",\"from\":");
        optional(self.from, out);
        let hash_start = out.len();
        if let Some(hash) = hash {
            out.extend_from_slice(b",\"hash\":");
            string(hash, out);
        }
        let hash_member = hash_start..out.len();
        out.extend_from_slice(b",\"outcome\":\"");
        out.extend_from_slice(self.outcome.as_str().as_bytes());
        out.extend_from_slice(b"\",\"prev\":");
        string(self.prev, out);
        out.extend_from_slice(b",\"reason\":");
        optional(self.reason, out);
        out.extend_from_slice(b",\"seq\":");
        let _ = write!(out, "{}", self.seq);
        out.extend_from_slice(b",\"subject\":");
        string(self.subject, out);
        out.extend_from_slice(b",\"time\":");
        string(self.time, out);
        out.extend_from_slice(b",\"to\":");
        optional(self.to, out);
        out.push(b'}');
        hash_member
    }
}

fn string(text: &str, out: &mut Vec<u8>) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn optional(text: Option<&str>, out: &mut Vec<u8>) {
    match text {
        Some(text) => string(text, out),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes a JSON value with object keys sorted at every level and no whitespace.
fn canonical_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(key, out);
                out.push(b':');
                canonical_value(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_value(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Writes `details` as canonical JSON (sorted keys, no whitespace).
pub(crate) fn canonical_details(value: &Value, out: &mut Vec<u8>) {
    canonical_value(value, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    pub(crate) fn actor() -> Actor {
        Actor {
            uid: 1000,
            user: "ana".to_owned(),
            host: "build-1".to_owned(),
        }
    }

    #[test]
    fn floats_in_details_survive_a_round_trip() {
        // Durations measured in seconds: parsing them back must give the same shortest form,
        // or the next append would find the chain broken.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let seconds = f64::from(u32::try_from(state >> 40).unwrap()) / 1e7 + 1e-9;
            let mut entry = Entry::new(actor(), "svc.upgrade", "api", Outcome::Success);
            entry.details = serde_json::json!({ "seconds": seconds, "third": seconds / 3.0 });
            let record = Record::chain(entry, 1, GENESIS);
            let line = record.to_line();
            let parsed: Record = serde_json::from_str(&line).unwrap();
            assert_eq!(parsed.to_line(), line, "{seconds}");
        }
    }

    #[test]
    fn canonical_line_is_sorted_and_compact() {
        let mut entry = Entry::new(actor(), "use", "go1.22.10", Outcome::Success);
        entry.time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        entry.from = Some("go1.21.13".to_owned());
        entry.details = serde_json::json!({ "z": 1, "a": { "y": [true, null], "b": "q\"" } });
        let record = Record::chain(entry, 1, GENESIS);
        let line = record.to_line();
        assert_eq!(
            line,
            format!(
                r#"{{"action":"use","actor":{{"host":"build-1","uid":1000,"user":"ana"}},"details":{{"a":{{"b":"q\"","y":[true,null]}},"z":1}},"from":"go1.21.13","hash":"{}","outcome":"success","prev":"{GENESIS}","reason":null,"seq":1,"subject":"go1.22.10","time":"2023-11-14T22:13:20.000000Z","to":null}}"#,
                record.hash
            )
        );
        // The line parses back to the same record, and the hash covers everything but itself.
        let parsed: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, record);
        let without_hash = line.replace(&format!(",\"hash\":\"{}\"", record.hash), "");
        assert_eq!(
            format!("{:x}", Sha256::digest(without_hash.as_bytes())),
            record.hash
        );
    }

    #[test]
    fn non_object_details_are_wrapped() {
        let mut entry = Entry::new(actor(), "a", "s", Outcome::Failure);
        entry.details = Value::String("smoke test failed".to_owned());
        let record = Record::chain(entry, 7, GENESIS);
        assert_eq!(record.details["value"], "smoke test failed");
    }
}
