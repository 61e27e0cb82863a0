//! The verdict: go, go with changes or blocked, on the four axes users weigh.

use std::fmt;

use serde::Serialize;

use super::{GodebugSection, LanguageSection, PolicySection, RunsSection, SecuritySection, Step};

/// The outcome on one axis, or overall. Ordered: `Go < GoWithChanges < Blocked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing stands in the way.
    Go,
    /// Possible once the named changes are made.
    GoWithChanges,
    /// Something outside the project's own code stands in the way.
    Blocked,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Go => "go",
            Self::GoWithChanges => "go with changes",
            Self::Blocked => "blocked",
        })
    }
}

/// The axes of the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// Does the project build, test and behave the same.
    Compatibility,
    /// Known vulnerabilities before and after.
    Security,
    /// Do the dependencies allow the target.
    Ecosystem,
    /// Does the policy allow the target here and now.
    SupportWindow,
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Compatibility => "compatibility",
            Self::Security => "security",
            Self::Ecosystem => "ecosystem",
            Self::SupportWindow => "support window",
        })
    }
}

/// One reason, pointing at its finding in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// What this reason alone decides.
    pub outcome: Outcome,
    /// A sentence for people.
    pub message: String,
    /// The finding it refers to: `godebug.httpmuxgo121`, `runs.test.TestX`,
    /// `security.GO-2024-2687`, `ecosystem.example.com/m`, `policy.support-window`, …
    pub finding: String,
}

/// The verdict on one axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AxisVerdict {
    /// The axis.
    pub axis: Axis,
    /// The strictest outcome of its reasons (`go` without any).
    pub outcome: Outcome,
    /// Every reason.
    pub reasons: Vec<Reason>,
}

/// The verdict on all axes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The strictest outcome of all axes.
    pub outcome: Outcome,
    /// Compatibility, security, ecosystem, support window, in that order.
    pub axes: Vec<AxisVerdict>,
}

impl Verdict {
    /// The reasons that make the outcome worse than `go`, in axis order.
    pub fn blockers(&self) -> impl Iterator<Item = (Axis, &Reason)> {
        self.axes.iter().flat_map(|a| {
            a.reasons
                .iter()
                .filter(|r| r.outcome == Outcome::Blocked)
                .map(move |r| (a.axis, r))
        })
    }
}

fn reason(outcome: Outcome, message: String, finding: impl Into<String>) -> Reason {
    Reason {
        outcome,
        message,
        finding: finding.into(),
    }
}

/// Weighs the sections into a verdict. `to` is the target toolchain's name, for messages.
pub fn verdict(
    to: &str,
    godebug: Option<&GodebugSection>,
    language: &LanguageSection,
    security: &SecuritySection,
    runs: Option<&RunsSection>,
    policy: &PolicySection,
) -> Verdict {
    let axes = vec![
        axis(
            Axis::Compatibility,
            compatibility(to, godebug, language, runs),
        ),
        axis(Axis::Security, security_reasons(to, security)),
        axis(Axis::Ecosystem, ecosystem(to, language)),
        axis(Axis::SupportWindow, support_window(to, policy)),
    ];
    Verdict {
        outcome: axes.iter().map(|a| a.outcome).max().unwrap_or(Outcome::Go),
        axes,
    }
}

fn axis(axis: Axis, reasons: Vec<Reason>) -> AxisVerdict {
    AxisVerdict {
        axis,
        outcome: reasons
            .iter()
            .map(|r| r.outcome)
            .max()
            .unwrap_or(Outcome::Go),
        reasons,
    }
}

fn compatibility(
    to: &str,
    godebug: Option<&GodebugSection>,
    language: &LanguageSection,
    runs: Option<&RunsSection>,
) -> Vec<Reason> {
    let mut out = Vec::new();
    if let Some(runs) = runs {
        out.extend(run_reasons(to, runs));
    }
    if let Some(godebug) = godebug {
        out.extend(godebug_reasons(to, godebug));
    }
    let loopvar = language.changes.iter().any(|c| c.id == "loopvar");
    if loopvar {
        for capture in language.loop_captures.iter().flatten() {
            out.push(reason(
                Outcome::GoWithChanges,
                format!(
                    "{}:{} captures loop variable `{}`, which becomes per-iteration at 1.22",
                    capture.file, capture.line, capture.variable
                ),
                format!("language.loop-capture.{}:{}", capture.file, capture.line),
            ));
        }
    }
    out
}

/// What building, testing and vetting with both toolchains showed.
fn run_reasons(to: &str, runs: &RunsSection) -> Vec<Reason> {
    let mut out = Vec::new();
    if runs.build_broken() {
        out.push(reason(
            Outcome::Blocked,
            format!("`go build ./...` passes now and fails with {to}"),
            "runs.build",
        ));
    }
    for test in &runs.new_failing_tests {
        out.push(reason(
            Outcome::GoWithChanges,
            format!(
                "test {}{} fails with {to} and passes now",
                test.name,
                test.package
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
            format!("runs.test.{}", test.name),
        ));
    }
    // Tests that do not compile fail the step without a `--- FAIL` line.
    if runs.new_failing_tests.is_empty() && !runs.build_broken() && runs.broken(Step::Test) {
        out.push(reason(
            Outcome::GoWithChanges,
            format!("`go test ./...` passes now and fails with {to}"),
            "runs.test",
        ));
    }
    for finding in &runs.new_vet_findings {
        out.push(reason(
            Outcome::GoWithChanges,
            format!("new `go vet` finding with {to}: {finding}"),
            "runs.vet",
        ));
    }
    out
}

/// GODEBUG settings the target does not know, and behaviour changes the project imports.
fn godebug_reasons(to: &str, godebug: &GodebugSection) -> Vec<Reason> {
    let mut out = Vec::new();
    for unknown in &godebug.unknown_to_new {
        out.push(reason(
            Outcome::Blocked,
            format!(
                "{} sets GODEBUG `{}`, which {to} does not know: the build fails",
                unknown.at, unknown.key
            ),
            format!("godebug.{}", unknown.key),
        ));
    }
    for change in godebug.changes.iter().filter(|c| c.imported != Some(false)) {
        let message = if change.removed {
            format!(
                "GODEBUG `{}` ({}) is gone in {to}: its old behaviour cannot be kept",
                change.name, change.package
            )
        } else {
            format!(
                "GODEBUG `{}` changes the behaviour of {}{}",
                change.name,
                change.package,
                change
                    .keep
                    .as_deref()
                    .map(|k| format!("; `{k}` keeps the old one"))
                    .unwrap_or_default()
            )
        };
        out.push(reason(
            Outcome::GoWithChanges,
            message,
            format!("godebug.{}", change.name),
        ));
    }
    out
}

fn security_reasons(to: &str, security: &SecuritySection) -> Vec<Reason> {
    let mut out = Vec::new();
    if security.database_modified.is_none() {
        out.push(reason(
            Outcome::GoWithChanges,
            "not checked: no vulnerability database is synced (`goshift vuln sync`)".to_owned(),
            "security",
        ));
        return out;
    }
    for advisory in security.open.iter().filter(|a| a.imported) {
        let fix = advisory.fixed.as_deref().map_or_else(
            || "no fixed release yet".to_owned(),
            |f| format!("fixed in {f}: move there instead"),
        );
        out.push(reason(
            Outcome::GoWithChanges,
            format!(
                "{to} is still affected by {} ({}): {fix}",
                advisory.id, advisory.module
            ),
            format!("security.{}", advisory.id),
        ));
    }
    for advisory in security.fixed.iter().filter(|a| a.imported) {
        out.push(reason(
            Outcome::Go,
            format!("{to} fixes {} ({})", advisory.id, advisory.summary),
            format!("security.{}", advisory.id),
        ));
    }
    out
}

fn ecosystem(to: &str, language: &LanguageSection) -> Vec<Reason> {
    match &language.blockers {
        None => vec![reason(
            Outcome::GoWithChanges,
            "not checked: the dependencies' go lines could not be listed".to_owned(),
            "language.blockers",
        )],
        Some(blockers) => blockers
            .iter()
            .map(|b| {
                reason(
                    Outcome::Blocked,
                    format!(
                        "{}@{} needs go {}, newer than {to}",
                        b.module, b.version, b.go
                    ),
                    format!("ecosystem.{}", b.module),
                )
            })
            .collect(),
    }
}

fn support_window(to: &str, policy: &PolicySection) -> Vec<Reason> {
    if policy.file.is_none() {
        return vec![reason(
            Outcome::Go,
            format!("no policy: nothing restricts {to}"),
            "policy",
        )];
    }
    policy
        .reasons
        .iter()
        .filter_map(|r| {
            let outcome = match r.verdict.as_str() {
                "deny" => Outcome::Blocked,
                "warn" => Outcome::GoWithChanges,
                _ => return None,
            };
            Some(reason(
                outcome,
                r.message.clone(),
                format!("policy.{}", r.rule),
            ))
        })
        .collect()
}
