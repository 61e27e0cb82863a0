//! Exporting records as JSON lines or CSV.

use std::io::{self, Write};

use crate::Record;

/// Columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 14] = [
    "seq", "time", "uid", "user", "host", "action", "subject", "from", "to", "reason", "outcome",
    "details", "prev", "hash",
];

/// Writes the CSV header line.
pub fn write_csv_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", CSV_COLUMNS.join(","))
}

/// Writes one record as a CSV line (RFC 4180 quoting; `details` as canonical JSON; absent
/// values as empty fields).
pub fn write_csv_record(record: &Record, out: &mut impl Write) -> io::Result<()> {
    let mut details = Vec::new();
    // `details` is always written compact and sorted, as in the log.
    crate::record::canonical_details(&record.details, &mut details);
    let details = String::from_utf8_lossy(&details);
    let fields: [&str; 14] = [
        &record.seq.to_string(),
        &record.time,
        &record.actor.uid.to_string(),
        &record.actor.user,
        &record.actor.host,
        &record.action,
        &record.subject,
        record.from.as_deref().unwrap_or(""),
        record.to.as_deref().unwrap_or(""),
        record.reason.as_deref().unwrap_or(""),
        record.outcome.as_str(),
        &details,
        &record.prev,
        &record.hash,
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_csv_field(field, out)?;
    }
    out.write_all(b"\r\n")
}

/// Writes one record as a JSON line, exactly as stored in the log.
pub fn write_jsonl_record(record: &Record, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", record.to_line())
}

fn write_csv_field(field: &str, out: &mut impl Write) -> io::Result<()> {
    if field.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", field.replace('"', "\"\""))
    } else {
        out.write_all(field.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, Entry, GENESIS, Outcome};

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let actor = Actor {
            uid: 0,
            user: "root".to_owned(),
            host: "h".to_owned(),
        };
        let mut entry = Entry::new(actor, "use", "go1.22.10", Outcome::Success);
        entry.reason = Some("fix \"CVE\", now".to_owned());
        entry.details = serde_json::json!({"b": 1, "a": 2});
        let record = Record::chain(entry, 1, GENESIS);
        let mut out = Vec::new();
        write_csv_record(&record, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                ",use,go1.22.10,,,\"fix \"\"CVE\"\", now\",success,\"{\"\"a\"\":2,\"\"b\"\":1}\","
            ),
            "{text}"
        );
        assert!(text.ends_with(&format!("{}\r\n", record.hash)));
    }
}
