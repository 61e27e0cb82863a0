//! Integration tests: the real `goshift` binary in a sandbox.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly on broken fixtures"
)]

mod basics;
mod governance;
mod governance_enforce;
mod governance_gate;
mod governance_snapshot;
mod inspect;
mod project;
mod project_shell;
mod service;
mod service_incidents;
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
