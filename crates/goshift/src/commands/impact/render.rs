//! The impact report for people (text) and for pull-request comments (Markdown).

use std::fmt::Write as _;

use goshift_project::impact::{
    Behaviour, GodebugChange, ImpactReport, RunsSection, SideRuns, Step,
};

use crate::settings::GlobalSettings;

/// Prints the text report.
pub(super) fn text(settings: &GlobalSettings, report: &ImpactReport) {
    settings
        .printer
        .data(render(report, Flavour::Text).trim_end());
}

/// Prints the Markdown report.
pub(super) fn markdown(settings: &GlobalSettings, report: &ImpactReport) {
    settings
        .printer
        .data(render(report, Flavour::Markdown).trim_end());
}

/// Text or Markdown: they differ in headings and tables only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Text,
    Markdown,
}

struct Out {
    flavour: Flavour,
    text: String,
}

impl Out {
    fn heading(&mut self, title: &str) {
        match self.flavour {
            Flavour::Text => {
                let _ = writeln!(self.text, "\n{title}");
            }
            Flavour::Markdown => {
                let _ = writeln!(self.text, "\n### {title}\n");
            }
        }
    }

    fn line(&mut self, depth: usize, line: &str) {
        let indent = match self.flavour {
            Flavour::Text => "  ".repeat(depth + 1),
            Flavour::Markdown => "  ".repeat(depth),
        };
        let _ = writeln!(self.text, "{indent}- {line}");
    }

    fn block(&mut self, lines: &[String]) {
        match self.flavour {
            Flavour::Text => {
                for line in lines {
                    let _ = writeln!(self.text, "        {line}");
                }
            }
            Flavour::Markdown => {
                let _ = writeln!(self.text, "\n  ```");
                for line in lines {
                    let _ = writeln!(self.text, "  {line}");
                }
                let _ = writeln!(self.text, "  ```\n");
            }
        }
    }

    fn table(&mut self, rows: &[Vec<String>]) {
        let columns = rows.first().map_or(0, Vec::len);
        match self.flavour {
            Flavour::Text => {
                let widths: Vec<usize> = (0..columns)
                    .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
                    .collect();
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .zip(&widths)
                        .map(|(cell, width)| format!("{cell:<width$}"))
                        .collect();
                    let _ = writeln!(self.text, "  {}", cells.join("  ").trim_end());
                }
            }
            Flavour::Markdown => {
                for (index, row) in rows.iter().enumerate() {
                    let _ = writeln!(self.text, "| {} |", row.join(" | "));
                    if index == 0 {
                        let _ = writeln!(self.text, "|{}", " --- |".repeat(columns));
                    }
                }
            }
        }
    }
}

/// The whole report as text.
pub(super) fn render(report: &ImpactReport, flavour: Flavour) -> String {
    let mut out = Out {
        flavour,
        text: String::new(),
    };
    let title = format!(
        "Upgrade impact for `{}`: {} → {}",
        report.project,
        report.from.toolchain_name(),
        report.to.toolchain_name()
    );
    match flavour {
        Flavour::Text => {
            let _ = writeln!(out.text, "{title}");
        }
        Flavour::Markdown => {
            let _ = writeln!(out.text, "## {title}");
        }
    }
    verdict(&mut out, report);
    godebug(&mut out, report);
    language(&mut out, report);
    security(&mut out, report);
    if let Some(runs) = &report.runs {
        runs_section(&mut out, runs);
    }
    policy(&mut out, report);
    if !report.notes.is_empty() {
        out.heading("Not checked");
        for note in &report.notes {
            out.line(0, note);
        }
    }
    out.text
}

fn verdict(out: &mut Out, report: &ImpactReport) {
    out.heading(&format!("Verdict: {}", report.verdict.outcome));
    for axis in &report.verdict.axes {
        out.line(0, &format!("{}: {}", axis.axis, axis.outcome));
        for reason in &axis.reasons {
            out.line(
                1,
                &format!(
                    "{} ({}; see {})",
                    reason.message, reason.outcome, reason.finding
                ),
            );
        }
    }
}

fn behaviour(value: &Behaviour) -> String {
    match value {
        Behaviour::Default => "the new default".to_owned(),
        Behaviour::Set(value) => format!("`{value}`"),
        Behaviour::Predates(value) => format!("`{value}` (the toolchain predates the change)"),
    }
}

fn change_line(change: &GodebugChange) -> String {
    let since = if change.changed > 0 {
        format!(", default changed in Go 1.{}", change.changed)
    } else {
        String::new()
    };
    let mut line = format!(
        "`{}` ({}{since}): {} now, {} after",
        change.name,
        change.package,
        behaviour(&change.from),
        behaviour(&change.to)
    );
    if change.removed {
        line.push_str("; the new toolchain no longer has this setting");
    }
    if let Some(keep) = &change.keep {
        let _ = write!(line, "; keep the old behaviour with `{keep}`");
    }
    line
}

fn godebug(out: &mut Out, report: &ImpactReport) {
    out.heading("GODEBUG defaults");
    let Some(section) = &report.godebug else {
        out.line(0, "not compared (see below)");
        return;
    };
    let shown = |s: &str| {
        if s.is_empty() {
            "(none)".to_owned()
        } else {
            format!("`{s}`")
        }
    };
    out.line(
        0,
        &format!(
            "default GODEBUG now: {}; after: {}; with {} and the `go` line unchanged: {}",
            shown(&section.from_default),
            shown(&section.to_default),
            report.to.toolchain_name(),
            shown(&section.to_default_same_go_line)
        ),
    );
    for unknown in &section.unknown_to_new {
        out.line(
            0,
            &format!(
                "{} sets `{}`, which {} does not know: remove it before the switch",
                unknown.at,
                unknown.key,
                report.to.toolchain_name()
            ),
        );
    }
    let (used, rest): (Vec<_>, Vec<_>) = section
        .changes
        .iter()
        .partition(|c| c.imported != Some(false));
    if used.is_empty() && rest.is_empty() {
        out.line(0, "no setting differs for this module");
    }
    if !used.is_empty() {
        let label = if used.iter().all(|c| c.imported == Some(true)) {
            "in packages this project imports:"
        } else {
            "settings that differ (imports unknown):"
        };
        out.line(0, label);
        for change in used {
            out.line(1, &change_line(change));
        }
    }
    if !rest.is_empty() {
        out.line(0, "in packages this project does not import:");
        for change in rest {
            out.line(1, &change_line(change));
        }
    }
}

fn language(out: &mut Out, report: &ImpactReport) {
    let section = &report.language;
    out.heading("Language and toolchain");
    out.line(0, &format!("`go` line: {} → {}", section.from, section.to));
    for change in &section.changes {
        out.line(
            0,
            &format!(
                "Go {} ({}): {}",
                change.version, change.id, change.description
            ),
        );
        if change.id == "loopvar" {
            match &section.loop_captures {
                None => out.line(1, "loops that capture a loop variable: not checked"),
                Some(captures) if captures.is_empty() => {
                    out.line(1, "no loop in this project captures a loop variable");
                }
                Some(captures) => {
                    for capture in captures {
                        out.line(
                            1,
                            &format!(
                                "{}:{} captures loop variable `{}`",
                                capture.file, capture.line, capture.variable
                            ),
                        );
                    }
                }
            }
        }
    }
    match &section.blockers {
        None => out.line(0, "dependencies: not checked"),
        Some(blockers) if blockers.is_empty() => out.line(
            0,
            &format!(
                "no dependency needs a Go newer than {}",
                report.to.toolchain_name()
            ),
        ),
        Some(blockers) => {
            out.line(0, "blockers, needing a newer Go:");
            for blocker in blockers {
                out.line(
                    1,
                    &format!(
                        "{} {}: `go {}`",
                        blocker.module, blocker.version, blocker.go
                    ),
                );
            }
        }
    }
    for edit in &section.edits {
        let place = edit
            .line
            .map_or_else(|| edit.file.clone(), |l| format!("{} line {l}", edit.file));
        let change = match &edit.before {
            Some(before) => format!("`{before}` → `{}`", edit.after),
            None => format!("add `{}`", edit.after),
        };
        out.line(0, &format!("edit {place}: {change}"));
    }
}

fn security(out: &mut Out, report: &ImpactReport) {
    let section = &report.security;
    out.heading("Security");
    let Some(modified) = &section.database_modified else {
        out.line(
            0,
            "not checked: no vulnerability database (`goshift vuln sync`)",
        );
        return;
    };
    out.line(0, &format!("vulnerability database modified {modified}"));
    for (title, list) in [
        (
            format!(
                "fixed by moving to {} ({}):",
                report.to.toolchain_name(),
                section.fixed.len()
            ),
            &section.fixed,
        ),
        (
            format!(
                "still open in {} ({}):",
                report.to.toolchain_name(),
                section.open.len()
            ),
            &section.open,
        ),
    ] {
        out.line(0, &title);
        for advisory in list {
            let packages = if advisory.packages.is_empty() {
                advisory.module.clone()
            } else {
                advisory.packages.join(", ")
            };
            let used = if advisory.imported {
                ""
            } else {
                ", not imported"
            };
            let fixed = advisory
                .fixed
                .as_deref()
                .map(|f| format!(", fixed in {f}"))
                .unwrap_or_default();
            out.line(
                1,
                &format!(
                    "{} ({packages}{used}{fixed}): {}",
                    advisory.id, advisory.summary
                ),
            );
        }
    }
}

fn step_cell(side: &SideRuns, step: Step) -> String {
    side.step(step).map_or_else(
        || "-".to_owned(),
        |s| {
            format!(
                "{} ({:.1}s)",
                if s.passed { "pass" } else { "FAIL" },
                s.seconds
            )
        },
    )
}

fn runs_section(out: &mut Out, runs: &RunsSection) {
    out.heading("Build, vet and tests");
    let mut rows = vec![vec![
        "step".to_owned(),
        runs.from.version.clone(),
        format!("{} (`go` line raised)", runs.to.version),
    ]];
    for step in [Step::Build, Step::Vet, Step::Test, Step::Bench] {
        if step == Step::Bench && runs.from.step(step).is_none() {
            continue;
        }
        let label = if step == Step::Bench {
            "go test -bench . ./...".to_owned()
        } else {
            format!("go {} ./...", step.name())
        };
        rows.push(vec![
            label,
            step_cell(&runs.from, step),
            step_cell(&runs.to, step),
        ]);
    }
    let size = |side: &SideRuns| {
        side.binary_size
            .map_or_else(|| "-".to_owned(), |b| format!("{b} bytes"))
    };
    rows.push(vec![
        "binaries".to_owned(),
        size(&runs.from),
        size(&runs.to),
    ]);
    out.table(&rows);
    benchmarks_table(out, runs);
    if !runs.new_failing_tests.is_empty() {
        out.line(0, &format!("tests failing only with {}:", runs.to.version));
        for test in &runs.new_failing_tests {
            let package = test
                .package
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            out.line(1, &format!("{}{package}", test.name));
            if !test.output.is_empty() {
                out.block(&test.output);
            }
        }
    }
    if !runs.new_vet_findings.is_empty() {
        out.line(
            0,
            &format!("`go vet` findings only with {}:", runs.to.version),
        );
        for finding in &runs.new_vet_findings {
            out.line(1, finding);
        }
    }
}

/// Benchmarks of either side, by name; a ratio only where both sides ran it. Timings are
/// shown, never judged.
fn benchmarks_table(out: &mut Out, runs: &RunsSection) {
    let mut names: Vec<&str> = runs
        .from
        .benchmarks
        .iter()
        .chain(&runs.to.benchmarks)
        .map(|b| b.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return;
    }
    let mut rows = vec![vec![
        "benchmark".to_owned(),
        format!("{} ns/op", runs.from.version),
        format!("{} ns/op", runs.to.version),
        "after/before".to_owned(),
    ]];
    for name in names {
        let find = |side: &SideRuns| {
            side.benchmarks
                .iter()
                .find(|b| b.name == name)
                .map(|b| b.ns_per_op)
        };
        let (before, after) = (find(&runs.from), find(&runs.to));
        let cell = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v}"));
        let ratio = match (before, after) {
            (Some(b), Some(a)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".to_owned(),
        };
        rows.push(vec![name.to_owned(), cell(before), cell(after), ratio]);
    }
    out.line(
        0,
        "benchmarks (one run each; repeat with `go test -count` before drawing conclusions):",
    );
    out.table(&rows);
}

fn policy(out: &mut Out, report: &ImpactReport) {
    let section = &report.policy;
    out.heading("Policy");
    let Some(file) = &section.file else {
        out.line(0, "no policy file: nothing restricts the target");
        return;
    };
    out.line(
        0,
        &format!(
            "`{file}`{}: {} for {}",
            section
                .environment
                .as_deref()
                .map(|e| format!(" (environment `{e}`)"))
                .unwrap_or_default(),
            section.verdict.as_deref().unwrap_or("allow"),
            report.to.toolchain_name()
        ),
    );
    for reason in &section.reasons {
        out.line(
            1,
            &format!("{} ({}): {}", reason.rule, reason.verdict, reason.message),
        );
    }
}
