//! `goshift audit verify [--anchor SEQ:HASH]`.

use goshift_audit::{AuditLog, Head, Summary, VerifyError};
use serde_json::json;

use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Verifies the whole chain; exit 1 naming the first bad line.
pub(crate) fn verify(
    settings: &GlobalSettings,
    anchor: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    let anchor = anchor.map(parse_anchor).transpose()?;
    let log = governance::audit_log(settings);
    match goshift_audit::verify(log.path(), anchor.as_ref()) {
        Ok(summary) => intact(settings, &log, &summary),
        Err(VerifyError::BadLine {
            path,
            line,
            problem,
        }) => {
            if settings.printer.json() {
                settings.printer.json_value(&json!({
                    "valid": false,
                    "line": line,
                    "problem": problem.to_string(),
                }))?;
            } else {
                settings
                    .printer
                    .data(format!("{}:{line}: {problem}", path.display()));
            }
            Ok(ExitStatus::Failure)
        }
        Err(error) => Err(error.into()),
    }
}

/// Reports an intact chain, and the intents without an outcome; exit 1 when one of them
/// belongs to a process that ended.
fn intact(
    settings: &GlobalSettings,
    log: &AuditLog,
    summary: &Summary,
) -> anyhow::Result<ExitStatus> {
    let open = log.open_intents()?;
    let unreconciled = open.iter().filter(|o| !o.running).count();
    if settings.printer.json() {
        let intents: Vec<_> = open
            .iter()
            .map(|o| {
                json!({
                    "seq": o.record.seq,
                    "action": o.record.action,
                    "subject": o.record.subject,
                    "running": o.running,
                })
            })
            .collect();
        settings.printer.json_value(&json!({
            "valid": true,
            "records": summary.records,
            "head": summary.head,
            "open_intents": intents,
        }))?;
    } else {
        let head = summary
            .head
            .as_ref()
            .map_or_else(String::new, |h| format!(", head {} {}", h.seq, h.hash));
        settings.printer.data(format!(
            "audit log `{}` is intact: {} records{head}",
            log.path().display(),
            summary.records
        ));
        for intent in &open {
            settings.printer.data(format!(
                "{}: `{} {}` has no outcome: {}",
                intent.record.seq,
                intent.record.action,
                intent.record.subject,
                if intent.running {
                    "still running"
                } else if intent.record.action.starts_with("fleet.") {
                    "unreconciled (its process ended); the next `goshift fleet` change records what etcd shows"
                } else {
                    "unreconciled (its process ended); `goshift audit repair` records what the store shows"
                }
            ));
        }
    }
    Ok(if unreconciled > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn parse_anchor(text: &str) -> anyhow::Result<Head> {
    let parsed = text.split_once(':').and_then(|(seq, hash)| {
        let seq = seq.trim().parse::<u64>().ok().filter(|&s| s > 0)?;
        let hash = hash.trim();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Head {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    });
    parsed.ok_or_else(|| {
        hinted(
            format!("`{text}` is not an anchor"),
            "write it as SEQ:HASH, as `goshift audit head` prints it (e.g. `42:3f…`, 64 hex digits)",
        )
    })
}
