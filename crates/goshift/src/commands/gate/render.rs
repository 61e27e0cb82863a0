//! The gate's text report.

use std::fmt::Write as _;

use goshift_policy::gate::{GateReport, Level};

use crate::printer::Style;
use crate::settings::GlobalSettings;

/// One line per project file, then its findings indented below it.
pub(super) fn text(settings: &GlobalSettings, report: &GateReport) {
    let printer = &settings.printer;
    let location = |root: usize, file: &str| {
        let display = &report.roots[root].display;
        if display == "." {
            file.to_owned()
        } else {
            format!("{}/{file}", display.trim_end_matches('/'))
        }
    };
    let mut shown = vec![false; report.findings.len()];
    for project in &report.projects {
        let mut line = location(project.root, &project.file);
        line.push(':');
        if let Some(go) = &project.go {
            let _ = write!(line, " go {go}");
        }
        if let Some(toolchain) = &project.toolchain {
            let _ = write!(line, ", toolchain {toolchain}");
        }
        match (&project.resolved, &project.resolved_by) {
            (Some(version), Some(by)) => {
                let _ = write!(line, ", resolves to go{version} ({by})");
            }
            _ => line.push_str(", unresolved"),
        }
        printer.data(line);
        for (index, finding) in report.findings.iter().enumerate() {
            if finding.root == project.root && finding.file == project.file {
                shown[index] = true;
                printer.data(finding_line(settings, report, finding));
            }
        }
    }
    // Files that could not be parsed have findings but no project line.
    for (index, finding) in report.findings.iter().enumerate() {
        if !shown[index] {
            printer.data(finding_line(settings, report, finding));
        }
    }
}

fn finding_line(
    settings: &GlobalSettings,
    report: &GateReport,
    finding: &goshift_policy::gate::Finding,
) -> String {
    let style = match finding.level {
        Level::Error => Style::Red,
        Level::Warning => Style::Yellow,
        Level::Note => Style::Dim,
    };
    let display = &report.roots[finding.root].display;
    let file = if display == "." {
        finding.file.clone()
    } else {
        format!("{}/{}", display.trim_end_matches('/'), finding.file)
    };
    format!(
        "  {} [{}] {file}:{}: {}",
        settings.printer.paint(style, finding.level.as_str()),
        finding.rule,
        finding.line,
        finding.message
    )
}
