//! Exporting records as JSON lines or CSV.

use std::io::{self, Write};

use crate::Record;
use crate::record::{COLUMNS, Column};

/// Writes the CSV header line: the record's fields in order, `actor`'s by their own names
/// (`uid`, `user`, `host`).
pub fn write_csv_header(out: &mut impl Write) -> io::Result<()> {
    let names: Vec<&str> = COLUMNS
        .iter()
        .map(|name| name.rsplit_once('.').map_or(*name, |(_, key)| key))
        .collect();
    writeln!(out, "{}", names.join(","))
}

/// Writes one record as a CSV line (RFC 4180 quoting; `details` as canonical JSON; absent
/// values as empty fields).
pub fn write_csv_record(record: &Record, out: &mut impl Write) -> io::Result<()> {
    for (i, column) in record.columns().into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        match column {
            Column::Number(number) => write!(out, "{number}")?,
            Column::Text(text) => write_csv_field(text, out)?,
            Column::Optional(text) => write_csv_field(text.unwrap_or(""), out)?,
            Column::Details(value) => {
                // `details` is always written compact and sorted, as in the log.
                let mut details = Vec::new();
                crate::record::canonical_details(value, &mut details);
                write_csv_field(&String::from_utf8_lossy(&details), out)?;
            }
        }
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

    #[test]
    fn csv_header_names_every_column() {
        let mut out = Vec::new();
        write_csv_header(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "seq,time,uid,user,host,action,subject,from,to,reason,outcome,details,prev,hash\n"
        );
    }
}
