//! `goshift doctor`: what stands between this machine and a working, goshift-managed Go.
//!
//! Every finding has a class (environment, configuration, store), a severity and, when
//! something is wrong, the fix. Exit 1 when any finding is an error.

mod checks;
mod pins;
mod shell;
mod system;

use serde::Serialize;

use crate::exit::ExitStatus;
use crate::printer::Style;
use crate::settings::GlobalSettings;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Class {
    /// The process environment and the machine.
    Environment,
    /// goshift's and Go's configuration files.
    Configuration,
    /// The toolchain store.
    Store,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    /// Checked, fine.
    Ok,
    /// Worth knowing.
    Info,
    /// Likely to surprise someone.
    Warning,
    /// Broken.
    Error,
}

/// One result of one check.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Finding {
    /// What it is about.
    pub(crate) class: Class,
    /// How bad it is.
    pub(crate) severity: Severity,
    /// The check's short name.
    pub(crate) check: &'static str,
    /// What was found.
    pub(crate) message: String,
    /// How to fix it, when something is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

impl Finding {
    pub(crate) fn ok(class: Class, check: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            severity: Severity::Ok,
            check,
            message: message.into(),
            fix: None,
        }
    }

    pub(crate) fn info(class: Class, check: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Info,
            ..Self::ok(class, check, message)
        }
    }

    pub(crate) fn problem(
        severity: Severity,
        class: Class,
        check: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            class,
            severity,
            check,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Runs every check and prints the findings.
pub(crate) fn doctor(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let findings = checks::run_all(settings);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "findings": findings,
            "errors": errors,
            "warnings": warnings,
        }))?;
    } else {
        for finding in &findings {
            let (label, style) = match finding.severity {
                Severity::Ok => ("ok", Style::Green),
                Severity::Info => ("info", Style::Dim),
                Severity::Warning => ("warning", Style::Yellow),
                Severity::Error => ("error", Style::Red),
            };
            let class = match finding.class {
                Class::Environment => "environment",
                Class::Configuration => "configuration",
                Class::Store => "store",
            };
            printer.data(format!(
                "{}  {class:<13}  {}: {}",
                printer.paint(style, &format!("{label:<7}")),
                finding.check,
                finding.message
            ));
            if let Some(fix) = &finding.fix {
                printer.data(format!("{:7}  {:13}  fix: {fix}", "", ""));
            }
        }
        printer.status(format!(
            "{errors} error{}, {warnings} warning{}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
    }
    Ok(if errors > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
