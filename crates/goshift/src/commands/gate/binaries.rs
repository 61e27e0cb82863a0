//! The gate's look at Go binaries under the scanned roots: each one is classified by the
//! policy (blocked Go version, known vulnerabilities when a database is synced, support
//! window), and what is not `ok` becomes a finding on the binary's path.

use std::path::PathBuf;

use anyhow::Context as _;
use goshift_binary::scan::ScanItem;
use goshift_policy::gate::{BINARY, Finding, GateReport, Level, Root};

use crate::commands::inspect::{Classifier, Status, open_database};
use crate::settings::GlobalSettings;

/// Adds a finding for every Go binary below `roots` that the policy blocks or warns about.
pub(super) fn check(
    settings: &GlobalSettings,
    roots: &[(Root, PathBuf)],
    report: &mut GateReport,
) -> anyhow::Result<()> {
    let Some(classifier) = Classifier::load(settings)? else {
        return Ok(());
    };
    let database = open_database(settings)?;
    let threads = goshift_binary::scan::default_workers();
    for (index, (_, root)) in roots.iter().enumerate() {
        let (items, _) = goshift_binary::scan::scan(std::slice::from_ref(root), threads);
        for item in items {
            let ScanItem::Binary { path, info } = item else {
                continue;
            };
            let findings = match &database {
                Some(database) => Some(
                    database
                        .check(&info)
                        .with_context(|| format!("failed to check `{}`", path.display()))?,
                ),
                None => None,
            };
            let classification = classifier.classify(&info, findings.as_deref());
            let level = match classification.status {
                Status::Ok => continue,
                Status::Warn => Level::Warning,
                Status::Block => Level::Error,
            };
            let advisories = findings
                .iter()
                .flatten()
                .map(|finding| finding.id.clone())
                .collect();
            let file = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            report.findings.push(Finding {
                rule: BINARY.to_owned(),
                level,
                message: format!(
                    "Go binary built with {}: {}",
                    info.go_version,
                    classification.reasons.join("; ")
                ),
                root: index,
                file,
                line: 1,
                advisories,
            });
        }
    }
    Ok(())
}
