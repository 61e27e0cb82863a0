//! The upgrade impact report: what changes for a project when its Go version changes.
//!
//! The caller gathers the facts (both toolchains' GODEBUG tables, the project's files and
//! directives, `go list` and `go vet`/`go test` output, advisories, the policy's decision)
//! and this module turns them into sections and a [`Verdict`] on four axes, every reason
//! naming the finding it comes from. Nothing here runs a process or reads a file.

mod godebug_diff;
mod language;
mod runs;
mod verdict;

use goshift_version::GoVersion;
use serde::Serialize;

pub use godebug_diff::{Behaviour, GodebugChange, GodebugSection, GodebugSide, compare};
pub use language::{
    Dependency, DependencyBlocker, LanguageChange, LineEdit, LoopCapture, changes_between,
    dependency_blockers, line_edits, loop_captures, parse_module_list,
};
pub use runs::{
    Benchmark, FAILURE_LINES, FailingTest, RunsSection, SideRuns, Step, StepOutcome, benchmarks,
    failing_tests, vet_findings,
};
pub use verdict::{Axis, AxisVerdict, Outcome, Reason, Verdict, verdict};

/// The language and toolchain part of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LanguageSection {
    /// The language version now (the `go` line in force).
    pub from: String,
    /// The language version after the move.
    pub to: String,
    /// Language changes between them.
    pub changes: Vec<LanguageChange>,
    /// Loops whose variables closures capture; `None` when `go vet` could not look.
    pub loop_captures: Option<Vec<LoopCapture>>,
    /// Dependencies that need a newer Go than the target; `None` when unknown.
    pub blockers: Option<Vec<DependencyBlocker>>,
    /// The `go`/`toolchain` line edits to make.
    pub edits: Vec<LineEdit>,
}

/// An advisory in the security part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advisory {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// CVE and GHSA identifiers.
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// `stdlib` or `toolchain`.
    pub module: String,
    /// The affected packages (none for the toolchain or the whole library).
    pub packages: Vec<String>,
    /// Whether the project imports an affected package (always true for the toolchain and
    /// for advisories without packages).
    pub imported: bool,
    /// The first release that fixes it, if any.
    pub fixed: Option<String>,
}

/// The security part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecuritySection {
    /// When the database last changed; `None` when no database is synced.
    pub database_modified: Option<String>,
    /// Advisories that affect the current version and not the target.
    pub fixed: Vec<Advisory>,
    /// Advisories that still affect the target version.
    pub open: Vec<Advisory>,
}

/// What the policy says about the target in this environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicySection {
    /// The policy file, `None` when there is none.
    pub file: Option<String>,
    /// The machine's environment.
    pub environment: Option<String>,
    /// `allow`, `warn` or `deny`.
    pub verdict: Option<String>,
    /// Every rule that spoke.
    pub reasons: Vec<PolicyReason>,
}

/// One rule of the policy that applied to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyReason {
    /// The rule (`blocked`, `allowed`, `support-window`, `freeze`, …).
    pub rule: String,
    /// `warn` or `deny`.
    pub verdict: String,
    /// What it said.
    pub message: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImpactReport {
    /// The project directory as given.
    pub project: String,
    /// The version now.
    pub from: GoVersion,
    /// The target version.
    pub to: GoVersion,
    /// GODEBUG defaults; `None` when a table could not be read (with the reason in
    /// `notes`).
    pub godebug: Option<GodebugSection>,
    /// Language and toolchain.
    pub language: LanguageSection,
    /// Security.
    pub security: SecuritySection,
    /// Build, vet and test under both versions; `None` when not run.
    pub runs: Option<RunsSection>,
    /// Policy.
    pub policy: PolicySection,
    /// What could not be looked at, and why.
    pub notes: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
}

#[cfg(test)]
mod tests;
