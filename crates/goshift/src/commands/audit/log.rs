//! `goshift audit log [--since T] [--action A]`.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use goshift_audit::Record;

use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Prints the records, oldest first, optionally filtered.
pub(crate) fn log(
    settings: &GlobalSettings,
    since: Option<&str>,
    action: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    // Record times are RFC 3339 UTC with microseconds, so they compare as strings.
    let since = since
        .map(|text| parse_since(text, SystemTime::now()))
        .transpose()?
        .map(|time| humantime::format_rfc3339_micros(time).to_string());
    let keep = |record: &Record| {
        since.as_deref().is_none_or(|s| record.time.as_str() >= s)
            && action.is_none_or(|a| record.action == a)
    };
    let log = governance::audit_log(settings);
    let mut selected = Vec::new();
    for record in log.records()? {
        let record = record?;
        if !keep(&record) {
            continue;
        }
        if settings.printer.json() {
            selected.push(record);
        } else {
            settings.printer.data(line(&record));
        }
    }
    if settings.printer.json() {
        settings.printer.json_value(&selected)?;
    }
    Ok(ExitStatus::Success)
}

fn line(record: &Record) -> String {
    let mut text = format!(
        "{:>5} {} {}@{} {} {} {}",
        record.seq,
        record.time,
        record.actor.user,
        record.actor.host,
        record.action,
        record.subject,
        record.outcome
    );
    match (&record.from, &record.to) {
        (Some(from), Some(to)) => {
            let _ = write!(text, " {from} -> {to}");
        }
        (None, Some(to)) => {
            let _ = write!(text, " -> {to}");
        }
        (Some(from), None) => {
            let _ = write!(text, " {from} ->");
        }
        (None, None) => {}
    }
    if let Some(reason) = &record.reason {
        let _ = write!(text, " reason={reason:?}");
    }
    text
}

/// `2024-03-01T12:00:00Z`, `2024-03-01` (midnight UTC) or an age such as `2h` or `7days`.
fn parse_since(text: &str, now: SystemTime) -> anyhow::Result<SystemTime> {
    let text = text.trim();
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    if let Ok(time) = humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")) {
        return Ok(time);
    }
    if let Ok(age) = humantime::parse_duration(text) {
        return Ok(now
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH + Duration::ZERO));
    }
    Err(hinted(
        format!("`{text}` is not a time"),
        "use RFC 3339 (`2024-03-01T12:00:00Z`), a date (`2024-03-01`) or an age (`2h`, `7days`)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = humantime::parse_rfc3339("2024-03-02T00:00:00Z").unwrap();
        let day = humantime::parse_rfc3339("2024-03-01T00:00:00Z").unwrap();
        assert_eq!(parse_since("2024-03-01", now).unwrap(), day);
        assert_eq!(parse_since("2024-03-01T00:00:00Z", now).unwrap(), day);
        assert_eq!(parse_since("1day", now).unwrap(), day);
        assert!(parse_since("yesterday", now).is_err());
    }
}
