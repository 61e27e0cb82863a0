//! `goshift vuln check FILE|DIR...`: exit 1 when a binary is affected.
//!
//! Findings are matched at symbol level by default: an advisory that names packages or
//! functions is reported only when they are in the binary's function table (its pclntab,
//! present also in stripped binaries), as govulncheck's binary mode does; `--module-level`
//! reports every advisory whose module and version are in the binary. Each finding says its
//! level.

use std::path::PathBuf;

use anyhow::Context as _;
use goshift_binary::scan::ScanItem;
use goshift_binary::vuln::{Database, Finding};

use crate::cli::VulnCheckArgs;
use crate::commands::inspect::{database_dir, finding_line, open_database};
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::printer::{strip_go_prefix, without_go_prefix};
use crate::settings::GlobalSettings;

/// Checks binaries against the synced database.
pub(crate) fn check(settings: &GlobalSettings, args: VulnCheckArgs) -> anyhow::Result<ExitStatus> {
    let VulnCheckArgs {
        paths,
        module_level,
    } = args;
    let Some(database) = open_database(settings)? else {
        return Err(hinted(
            format!(
                "no vulnerability database in `{}`",
                database_dir(settings).display()
            ),
            "run `goshift vuln sync` (or `goshift vuln sync --from DIR` without network)",
        ));
    };
    for path in &paths {
        if !path.exists() {
            return Err(hinted(
                format!("`{}` does not exist", path.display()),
                "pass Go binaries or directories that exist",
            ));
        }
    }
    let threads = goshift_binary::scan::default_workers();
    let (items, _) = goshift_binary::scan::scan(&paths, threads);
    let (reports, failures) = check_items(settings, &database, &items, module_level)?;
    // A file named explicitly that is not a Go binary is an error, not silence.
    for path in paths.iter().filter(|p| p.is_file()) {
        if !items.iter().any(|item| item.path() == path.as_path()) {
            return Err(hinted(
                format!("`{}` is not a Go binary", path.display()),
                "pass a Go executable or a directory to search",
            ));
        }
    }
    let total = reports.iter().map(|report| report.findings.len()).sum();
    print_reports(settings, &database, &reports, total)?;
    Ok(if total > 0 || failures > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// One binary's findings.
struct Report {
    path: PathBuf,
    go_version: String,
    findings: Vec<Finding>,
}

/// Checks each binary found; a file that could not be read is warned about and counted.
fn check_items(
    settings: &GlobalSettings,
    database: &Database,
    items: &[ScanItem],
    module_level: bool,
) -> anyhow::Result<(Vec<Report>, usize)> {
    let mut reports = Vec::new();
    let mut failures = 0;
    for item in items {
        match item {
            ScanItem::Binary { path, info } => {
                // Symbol level where the binary's function table can be read; module level
                // otherwise, or when asked for.
                let symbols = if module_level {
                    None
                } else {
                    goshift_binary::symbols::read_symbols(path)
                        .with_context(|| format!("failed to read `{}`", path.display()))?
                };
                if symbols.is_none() && !module_level {
                    settings.printer.warn(format!(
                        "{}: no function table found; findings are at module level",
                        path.display()
                    ));
                }
                let findings = database
                    .check_symbols(info, symbols.as_ref())
                    .with_context(|| format!("failed to check `{}`", path.display()))?;
                reports.push(Report {
                    path: path.clone(),
                    go_version: info.go_version.clone(),
                    findings,
                });
            }
            ScanItem::Failed { path, error } => {
                failures += 1;
                settings
                    .printer
                    .warn(format!("{}: {error}", path.display()));
            }
        }
    }
    Ok((reports, failures))
}

fn print_reports(
    settings: &GlobalSettings,
    database: &Database,
    reports: &[Report],
    total: usize,
) -> anyhow::Result<()> {
    let printer = &settings.printer;
    if printer.json() {
        let binaries = json_binaries(reports);
        printer.json_value(&serde_json::json!({
            "database_modified": database.modified(),
            "binaries": binaries,
            "vulnerabilities": total,
        }))?;
        return Ok(());
    }
    for report in reports {
        if report.findings.is_empty() {
            continue;
        }
        printer.data(format!("{} ({})", report.path.display(), report.go_version));
        for finding in &report.findings {
            printer.data(format!("  {}", finding_line(finding)));
            if !finding.summary.is_empty() {
                printer.data(format!("    {}", finding.summary));
            }
        }
    }
    let affected = reports.iter().filter(|r| !r.findings.is_empty()).count();
    printer.status(format!(
        "{total} known vulnerabilities in {affected} of {} Go binaries (database modified {})",
        reports.len(),
        database.modified()
    ));
    Ok(())
}

/// Each binary with its findings, as `vuln check --json` prints them.
fn json_binaries(reports: &[Report]) -> Vec<serde_json::Value> {
    reports
        .iter()
        .map(
            |Report {
                 path,
                 go_version,
                 findings,
             }| {
                let findings: Vec<_> = findings.iter().map(json_finding).collect();
                serde_json::json!({
                    "path": path,
                    "version": without_go_prefix(go_version),
                    "findings": findings,
                })
            },
        )
        .collect()
}

/// A finding as JSON: Go's own versions (module `stdlib` or `toolchain`) without the `go`
/// prefix; module versions as modules spell them (`v0.17.0`).
pub(crate) fn json_finding(finding: &Finding) -> serde_json::Value {
    let mut value = serde_json::json!(finding);
    if matches!(finding.module.as_str(), "stdlib" | "toolchain") {
        strip_go_prefix(value.get_mut("version"));
        strip_go_prefix(value.get_mut("fixed"));
    }
    value
}
