//! Integration tests: the real `goshift` binary in a sandbox.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly on broken fixtures"
)]

mod basics;
mod completion;
mod everyday;
mod fleet;
mod governance;
mod governance_enforce;
mod governance_gate;
mod governance_snapshot;
mod hints;
mod impact;
mod inspect;
mod integrity;
mod integrity_links;
mod integrity_plants;
mod integrity_svc;
mod json_schema;
mod project;
mod project_go_rules;
mod project_shell;
mod pty;
mod service;
mod service_crash;
mod service_incidents;
mod service_reload;
mod shell_hook;
mod toolchain;
mod toolchain_crash;
mod toolchain_errors;

/// Every record of the audit log under `home`, in order (none when there is no log yet).
fn audit_records(home: &std::path::Path) -> Vec<serde_json::Value> {
    let contents = std::fs::read_to_string(home.join("audit.log")).unwrap_or_default();
    contents
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON record"))
        .collect()
}

/// The audit records that are not intents, after checking that each intent has exactly one
/// outcome after it (`details.intent` naming it) and that no outcome names a missing intent.
fn audit_outcomes(home: &std::path::Path) -> Vec<serde_json::Value> {
    let records = audit_records(home);
    let mut open = std::collections::BTreeSet::new();
    let mut outcomes = Vec::new();
    for record in records {
        let seq = record["seq"].as_u64().unwrap();
        if record["outcome"] == "intent" {
            open.insert(seq);
            continue;
        }
        if let Some(intent) = record["details"]["intent"].as_u64() {
            assert!(open.remove(&intent), "{record} ends no open intent");
        }
        outcomes.push(record);
    }
    assert!(open.is_empty(), "intents without an outcome: {open:?}");
    outcomes
}

/// The `(action, outcome)` of each audit record.
fn audit_actions(records: &[serde_json::Value]) -> Vec<(&str, &str)> {
    records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect()
}
