//! `goshift inspect FILE...`, and what the inspection commands share: the vulnerability
//! database location and how a binary is described.

mod classify;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use goshift_binary::vuln::{Database, Finding, MatchLevel, VulnError};
use goshift_binary::{BuildInfo, Module};

pub(crate) use classify::{Classification, Classifier, Status};

use crate::cli::InspectArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints the build information of each file.
pub(crate) fn inspect(settings: &GlobalSettings, args: InspectArgs) -> anyhow::Result<ExitStatus> {
    let InspectArgs {
        files,
        go_version_m,
    } = args;
    let printer = &settings.printer;
    let database = open_database(settings)?;
    let classifier = Classifier::load(settings)?;
    let mut failed = false;
    let mut documents = Vec::new();
    for file in &files {
        let info = match goshift_binary::read_build_info(file) {
            Ok(info) => info,
            Err(error) => {
                failed = true;
                printer.warn(error_chain(&error));
                continue;
            }
        };
        if go_version_m {
            // `go version -m` names the file as given; print it without a trailing newline
            // of our own so the bytes match.
            let text = info.go_version_m(&file.to_string_lossy());
            printer.data(text.strip_suffix('\n').unwrap_or(&text));
            continue;
        }
        let findings = match &database {
            Some(database) => Some(
                database
                    .check(&info)
                    .context("failed to check vulnerabilities")?,
            ),
            None => None,
        };
        let classification = classifier
            .as_ref()
            .map(|c| c.classify(&info, findings.as_deref()));
        if printer.json() {
            documents.push(serde_json::json!({
                "path": file,
                "version": crate::printer::without_go_prefix(&info.go_version),
                "build_info": info,
                "vulnerabilities": findings.as_ref().map(|found| {
                    found.iter().map(super::vuln::check::json_finding).collect::<Vec<_>>()
                }),
                "policy": classification,
            }));
        } else {
            printer.data(describe(
                file,
                &info,
                findings.as_deref(),
                classification.as_ref(),
            ));
        }
    }
    if printer.json() {
        printer.json_value(&documents)?;
    }
    if database.is_none() && !go_version_m && !printer.json() {
        printer.status("Vulnerabilities not checked: no database synced (run `goshift vuln sync`)");
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// An error and its causes on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The human description of one binary.
fn describe(
    file: &Path,
    info: &BuildInfo,
    findings: Option<&[Finding]>,
    classification: Option<&Classification>,
) -> String {
    let mut out = format!("{}\n", file.display());
    let mut row = |label: &str, value: &str| {
        let _ = writeln!(out, "  {label:<14}{value}");
    };
    row("Go version", &info.go_version);
    row("Format", &info.format.to_string());
    if !info.modinfo.path.is_empty() {
        row("Package", &info.modinfo.path);
    }
    if let Some(main) = info.main_module() {
        row("Main module", &module_text(main));
    }
    if let (Some(goos), Some(goarch)) = (info.setting("GOOS"), info.setting("GOARCH")) {
        row("Platform", &format!("{goos}/{goarch}"));
    }
    if let Some(cgo) = info.setting("CGO_ENABLED") {
        row("CGO", if cgo == "1" { "enabled" } else { "disabled" });
    }
    if let Some(vcs) = vcs_text(info) {
        row("VCS", &vcs);
    }
    if let Some(id) = &info.build_id {
        row("Build ID", id);
    }
    if !info.modinfo.settings.is_empty() {
        let _ = writeln!(out, "  Build settings");
        for setting in &info.modinfo.settings {
            let _ = writeln!(out, "    {}={}", setting.key, setting.value);
        }
    }
    let _ = writeln!(out, "  Dependencies  {}", info.modinfo.deps.len());
    for dep in &info.modinfo.deps {
        let _ = writeln!(out, "    {}", module_text(dep));
    }
    match findings {
        None => {}
        Some([]) => {
            let _ = writeln!(out, "  Vulnerabilities  none known");
        }
        Some(findings) => {
            let _ = writeln!(out, "  Vulnerabilities  {}", findings.len());
            for finding in findings {
                let _ = writeln!(out, "    {}", finding_line(finding));
            }
        }
    }
    if let Some(classification) = classification {
        let _ = writeln!(out, "  Policy        {}", classification.status.as_str());
        for reason in &classification.reasons {
            let _ = writeln!(out, "    {reason}");
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// `path version`, `path version => replacement version`.
pub(crate) fn module_text(module: &Module) -> String {
    let mut text = format!("{} {}", module.path, module.version);
    if let Some(replacement) = &module.replace {
        let _ = write!(text, " => {} {}", replacement.path, replacement.version);
    }
    text.trim_end().to_owned()
}

/// `git 1a2b3c4d… (modified)`, if the binary records VCS information.
pub(crate) fn vcs_text(info: &BuildInfo) -> Option<String> {
    let revision = info.setting("vcs.revision")?;
    let mut text = format!("{} {revision}", info.setting("vcs").unwrap_or("vcs"));
    if info.vcs_modified() {
        text.push_str(" (modified)");
    }
    Some(text)
}

/// One line per finding: ID, aliases, what is affected and the fix.
pub(crate) fn finding_line(finding: &Finding) -> String {
    let mut text = finding.id.clone();
    if !finding.aliases.is_empty() {
        let _ = write!(text, " ({})", finding.aliases.join(", "));
    }
    let _ = write!(text, ": {} {}", finding.module, finding.version);
    match &finding.fixed {
        Some(fixed) => {
            let _ = write!(text, ", fixed in {fixed}");
        }
        None => text.push_str(", no fix"),
    }
    if !finding.packages.is_empty() {
        let _ = write!(text, " [{}]", finding.packages.join(", "));
    }
    match finding.level {
        MatchLevel::Symbol => {
            let _ = write!(text, " (symbol level: {})", finding.symbols.join(", "));
        }
        MatchLevel::Module => text.push_str(" (module level)"),
    }
    text
}

/// Where `goshift vuln sync` keeps the database.
pub(crate) fn database_dir(settings: &GlobalSettings) -> PathBuf {
    settings.dirs.home.join("cache").join("vulndb")
}

/// The synced database, or `None` if none has been synced.
pub(crate) fn open_database(settings: &GlobalSettings) -> anyhow::Result<Option<Database>> {
    match Database::open(&database_dir(settings)) {
        Ok(database) => Ok(Some(database)),
        Err(VulnError::Missing { .. }) => Ok(None),
        Err(error) => Err(error).context("failed to open the vulnerability database"),
    }
}
