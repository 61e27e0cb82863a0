//! `goshift verify [VERSION]`.

use goshift_store::{Difference, VerifyReport};

use super::{ToolchainSettings, installed_version};
use crate::cli::toolchain::VerifyArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Re-hashes installed toolchains; exits 1 when any file differs from its manifest.
pub(crate) fn verify(
    args: VerifyArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let VerifyArgs { requested } = args;
    let store = &toolchain.store;
    let foreign = if requested.is_none() {
        store.foreign_toolchains()?
    } else {
        Vec::new()
    };
    let versions = match requested {
        Some(text) => vec![installed_version(store, &text)?],
        None => store.installed_versions()?,
    };
    let printer = &settings.printer;
    let mut reports = Vec::new();
    for version in &versions {
        let report = store.verify(version)?;
        if !printer.json() {
            print_report(settings, &report);
        }
        reports.push(report);
    }
    if printer.json() {
        printer.json_value(&reports)?;
    } else if versions.is_empty() {
        printer.status("No toolchains installed; nothing to verify");
    }
    for path in &foreign {
        let line = format!(
            "{}: not installed by goshift (no manifest of this user, or another owner); it is never run",
            path.display()
        );
        if printer.json() {
            printer.warn(format!("{line}: remove it with `rm -r {}`", path.display()));
        } else {
            printer.data(line);
        }
    }
    if foreign.is_empty() && reports.iter().all(VerifyReport::is_clean) {
        Ok(ExitStatus::Success)
    } else {
        Ok(ExitStatus::Failure)
    }
}

fn print_report(settings: &GlobalSettings, report: &VerifyReport) {
    let printer = &settings.printer;
    let name = report.version.toolchain_name();
    if report.is_clean() {
        printer.data(format!("{name}: ok ({} entries)", report.checked));
        return;
    }
    let count = report.differences.len();
    let noun = if count == 1 {
        "difference"
    } else {
        "differences"
    };
    printer.data(format!("{name}: {count} {noun}"));
    for difference in &report.differences {
        let line = match difference {
            Difference::Added { path } => format!("added    {path}"),
            Difference::Missing { path } => format!("missing  {path}"),
            Difference::Changed {
                path,
                expected,
                actual,
            } => format!("changed  {path} (expected {expected}, found {actual})"),
            Difference::ModeChanged {
                path,
                expected,
                actual,
            } => format!("mode     {path} (expected {expected:04o}, found {actual:04o})"),
            Difference::TypeChanged {
                path,
                expected,
                actual,
            } => format!("type     {path} (expected a {expected}, found a {actual})"),
        };
        printer.data(format!("  {line}"));
    }
}
