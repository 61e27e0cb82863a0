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

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change, as the operating system knows them. `S` is the string type: owned
/// (`String`) everywhere but in verification, which borrows from the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "S: Deserialize<'de>"))]
pub struct Actor<S = String> {
    /// The real user id.
    pub uid: u32,
    /// The user name for `uid` from the user database (`uid:N` when it has none).
    pub user: S,
    /// The host name.
    pub host: S,
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

/// One record of the log, as stored. `S` is the string type: owned (`String`) everywhere
/// but in verification, which borrows from the line.
///
/// A field is declared here and in [`COLUMNS`] with its value in [`Record::columns`]; the
/// canonical form and the CSV export are both written from those, and a test fails when the
/// three disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "S: Deserialize<'de>"))]
pub struct Record<S = String> {
    /// Position in the log, from 1.
    pub seq: u64,
    /// RFC 3339 UTC time with microseconds (`2024-03-01T12:00:00.000000Z`).
    pub time: S,
    /// Who.
    pub actor: Actor<S>,
    /// What kind of change.
    pub action: S,
    /// What was changed.
    pub subject: S,
    /// The state before.
    pub from: Option<S>,
    /// The state after.
    pub to: Option<S>,
    /// The reason given.
    pub reason: Option<S>,
    /// How it ended.
    pub outcome: Outcome,
    /// Details (a JSON object).
    pub details: Value,
    /// The previous record's `hash` ([`GENESIS`] for the first).
    pub prev: S,
    /// SHA-256 of the canonical form without `hash`.
    pub hash: S,
}

/// Every field of a record, in the order of the CSV export; a nested field is named
/// `parent.child`. The canonical form orders them by name ([`CANONICAL_ORDER`]).
pub(crate) const COLUMNS: [&str; 14] = [
    "seq",
    "time",
    "actor.uid",
    "actor.user",
    "actor.host",
    "action",
    "subject",
    "from",
    "to",
    "reason",
    "outcome",
    "details",
    "prev",
    "hash",
];

/// Where `hash` stands in [`COLUMNS`]: the canonical form is hashed without it.
const HASH: usize = 13;

/// [`COLUMNS`]' indexes sorted by name bytes: the canonical key order, at compile time.
const CANONICAL_ORDER: [usize; COLUMNS.len()] = sorted_indexes(&COLUMNS);

const fn sorted_indexes<const N: usize>(names: &[&str; N]) -> [usize; N] {
    let mut order = [0; N];
    let mut i = 0;
    while i < N {
        order[i] = i;
        i += 1;
    }
    // Insertion sort: fourteen names, once, while compiling.
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && less(names[order[j]].as_bytes(), names[order[j - 1]].as_bytes()) {
            let swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
            j -= 1;
        }
        i += 1;
    }
    order
}

const fn less(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// A string of a line being verified: borrowed from the line unless JSON escapes made a copy
/// necessary (most strings have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// One field's value, as the canonical form and the CSV export write it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Column<'a> {
    Number(u64),
    Text(&'a str),
    Optional(Option<&'a str>),
    Details(&'a Value),
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
}

impl<S: AsRef<str>> Record<S> {
    /// The hash this record should have: SHA-256 of its canonical form without `hash`.
    pub fn compute_hash(&self) -> String {
        let mut bytes = Vec::with_capacity(256);
        let _ = self.write_canonical(false, &mut bytes);
        format!("{:x}", Sha256::digest(&bytes))
    }

    /// The record's line in the log (canonical form with `hash`, no newline).
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(320);
        let _ = self.write_canonical(true, &mut bytes);
        // The canonical writer only emits UTF-8 (JSON text of UTF-8 strings).
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// The value of each of [`COLUMNS`], in its order.
    pub(crate) fn columns(&self) -> [Column<'_>; COLUMNS.len()] {
        fn text<S: AsRef<str>>(s: &S) -> Column<'_> {
            Column::Text(s.as_ref())
        }
        fn optional<S: AsRef<str>>(s: Option<&S>) -> Column<'_> {
            Column::Optional(s.map(AsRef::as_ref))
        }
        [
            Column::Number(self.seq),
            text(&self.time),
            Column::Number(u64::from(self.actor.uid)),
            text(&self.actor.user),
            text(&self.actor.host),
            text(&self.action),
            text(&self.subject),
            optional(self.from.as_ref()),
            optional(self.to.as_ref()),
            optional(self.reason.as_ref()),
            Column::Text(self.outcome.as_str()),
            Column::Details(&self.details),
            text(&self.prev),
            text(&self.hash),
        ]
    }

    /// Writes the canonical form, with `hash` when asked, and returns the byte range of the
    /// `,"hash":"…"` member in `out` (empty without `hash`).
    pub(crate) fn write_canonical(
        &self,
        with_hash: bool,
        out: &mut Vec<u8>,
    ) -> std::ops::Range<usize> {
        let columns = self.columns();
        let mut hash_member = 0..0;
        // The nested object being written (`actor`), if any.
        let mut parent: Option<&str> = None;
        out.push(b'{');
        for (position, &index) in CANONICAL_ORDER.iter().enumerate() {
            if index == HASH && !with_hash {
                hash_member = out.len()..out.len();
                continue;
            }
            let start = out.len();
            let (group, key) = match COLUMNS[index].split_once('.') {
                Some((group, key)) => (Some(group), key),
                None => (None, COLUMNS[index]),
            };
            if parent.is_some() && parent != group {
                out.push(b'}');
            }
            if position > 0 {
                out.push(b',');
            }
            if let Some(group) = group.filter(|&group| parent != Some(group)) {
                name(group, out);
                out.extend_from_slice(b":{");
                // The nested object's first member follows without a comma.
            }
            parent = group;
            name(key, out);
            out.push(b':');
            write_canonical_column(columns[index], out);
            if index == HASH {
                hash_member = start..out.len();
            }
        }
        if parent.is_some() {
            out.push(b'}');
        }
        out.push(b'}');
        hash_member
    }
}

/// Writes a field name: plain ASCII, so quoting is all it needs.
fn name(name: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

fn write_canonical_column(column: Column<'_>, out: &mut Vec<u8>) {
    match column {
        Column::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Column::Text(text) => string(text, out),
        Column::Optional(text) => optional(text, out),
        Column::Details(value) => canonical_value(value, out),
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

    /// A record whose every field holds a value no other field holds.
    fn distinct_record() -> Record {
        let mut entry = Entry::new(actor(), "use", "go1.22.10", Outcome::Refused);
        entry.from = Some("go1.21.13".to_owned());
        entry.to = Some("go1.22.10".to_owned());
        entry.reason = Some("CVE-2024-1".to_owned());
        entry.details = serde_json::json!({ "b": [1.5, null], "a": "x" });
        Record::chain(entry, 42, GENESIS)
    }

    /// Adding a field to `Record` or `Actor` without adding it to `COLUMNS` and
    /// `Record::columns` (or the other way round) fails here: the canonical form, the CSV
    /// export and the hash are written from those two.
    #[test]
    fn every_field_is_a_column_in_order() {
        let record = distinct_record();
        let serialised = serde_json::to_value(&record).unwrap();
        let mut keys = Vec::new();
        for (key, value) in serialised.as_object().unwrap() {
            match value {
                Value::Object(nested) if key != "details" => {
                    keys.extend(nested.keys().map(|inner| format!("{key}.{inner}")));
                }
                _ => keys.push(key.clone()),
            }
        }
        let mut columns: Vec<String> = COLUMNS.iter().map(|&c| c.to_owned()).collect();
        columns.sort();
        keys.sort();
        assert_eq!(keys, columns, "Record's fields and COLUMNS differ");
        for (name, column) in COLUMNS.iter().zip(record.columns()) {
            let pointer = format!("/{}", name.replace('.', "/"));
            let expected = &serialised.pointer(&pointer).unwrap();
            let actual = match column {
                Column::Number(number) => Value::from(number),
                Column::Text(text) => Value::from(text),
                Column::Optional(text) => text.map_or(Value::Null, Value::from),
                Column::Details(value) => value.clone(),
            };
            assert_eq!(
                &&actual, expected,
                "column {name} holds another field's value"
            );
        }
    }

    /// The canonical form is serde's own JSON of the record with every object's keys sorted:
    /// written by hand for speed, checked against serde here.
    #[test]
    fn canonical_form_is_sorted_serde_json() {
        let record = distinct_record();
        // serde_json's `Value` keeps object keys sorted (no `preserve_order`).
        let sorted = serde_json::to_string(&serde_json::to_value(&record).unwrap()).unwrap();
        assert_eq!(record.to_line(), sorted);
        let mut without_hash = serde_json::to_value(&record).unwrap();
        without_hash.as_object_mut().unwrap().remove("hash");
        let mut canonical = Vec::new();
        let hash_member = record.write_canonical(false, &mut canonical);
        assert!(hash_member.is_empty());
        assert_eq!(
            String::from_utf8(canonical).unwrap(),
            serde_json::to_string(&without_hash).unwrap()
        );
    }

    #[test]
    fn canonical_order_sorts_the_names() {
        let names: Vec<&str> = CANONICAL_ORDER.iter().map(|&i| COLUMNS[i]).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(COLUMNS[HASH], "hash");
    }

    #[test]
    fn non_object_details_are_wrapped() {
        let mut entry = Entry::new(actor(), "a", "s", Outcome::Failure);
        entry.details = Value::String("smoke test failed".to_owned());
        let record = Record::chain(entry, 7, GENESIS);
        assert_eq!(record.details["value"], "smoke test failed");
    }
}
