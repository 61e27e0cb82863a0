//! `go build`, `go vet` and `go test` under both versions: outcomes and what differs.

use serde::Serialize;

use super::language::split_location;

/// A step of the side-by-side run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// `go build ./...`
    Build,
    /// `go vet ./...`
    Vet,
    /// `go test ./...`
    Test,
    /// `go test -run ^$ -bench . -benchmem ./...` (on request)
    Bench,
}

impl Step {
    /// The command's words after `go`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::Vet => "vet",
            Self::Test | Self::Bench => "test",
        }
    }
}

/// The outcome of one step under one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutcome {
    /// The step.
    pub step: Step,
    /// Exit status 0.
    pub passed: bool,
    /// The exit code, `None` when killed by a signal or not started.
    pub exit_code: Option<i32>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A failing test and the first lines of its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingTest {
    /// The package, when the output names it.
    pub package: Option<String>,
    /// The test (`TestSnapshot`, `TestSnapshot/sub`).
    pub name: String,
    /// Its first lines of output.
    pub output: Vec<String>,
}

/// Everything one version did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideRuns {
    /// The toolchain.
    pub version: String,
    /// Each step that ran.
    pub steps: Vec<StepOutcome>,
    /// The total size of the built binaries in bytes, when main packages were built.
    pub binary_size: Option<u64>,
    /// `go vet` findings, as `file:line: message`.
    pub vet_findings: Vec<String>,
    /// Failing tests.
    pub failing_tests: Vec<FailingTest>,
    /// Benchmark results, when benchmarks were run.
    pub benchmarks: Vec<Benchmark>,
}

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmark {
    /// The benchmark, without the `-GOMAXPROCS` suffix (`BenchmarkParse`).
    pub name: String,
    /// Nanoseconds per operation.
    pub ns_per_op: f64,
    /// Bytes allocated per operation, with `-benchmem`.
    pub bytes_per_op: Option<f64>,
    /// Allocations per operation, with `-benchmem`.
    pub allocs_per_op: Option<f64>,
}

/// Reads `go test -bench` result lines: `BenchmarkX-8   1000   1234 ns/op   56 B/op   2
/// allocs/op`.
pub fn benchmarks(output: &str) -> Vec<Benchmark> {
    let mut out = Vec::new();
    for line in output.lines() {
        let mut fields = line.split_whitespace();
        let Some(name) = fields.next().filter(|n| n.starts_with("Benchmark")) else {
            continue;
        };
        let rest: Vec<&str> = fields.collect();
        if rest.first().is_none_or(|n| n.parse::<u64>().is_err()) {
            continue;
        }
        let metric = |unit: &str| {
            rest.windows(2)
                .find(|pair| pair[1] == unit)
                .and_then(|pair| pair[0].parse::<f64>().ok())
        };
        let Some(ns_per_op) = metric("ns/op") else {
            continue;
        };
        let name = match name.rsplit_once('-') {
            Some((base, procs)) if procs.chars().all(|c| c.is_ascii_digit()) => base,
            _ => name,
        };
        out.push(Benchmark {
            name: name.to_owned(),
            ns_per_op,
            bytes_per_op: metric("B/op"),
            allocs_per_op: metric("allocs/op"),
        });
    }
    out
}

impl SideRuns {
    /// The outcome of `step`, if it ran.
    pub fn step(&self, step: Step) -> Option<&StepOutcome> {
        self.steps.iter().find(|s| s.step == step)
    }
}

/// The side-by-side runs and what is new under the target version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunsSection {
    /// Under the current version.
    pub from: SideRuns,
    /// Under the target version, with the `go` line raised.
    pub to: SideRuns,
    /// Vet findings only the target version reports.
    pub new_vet_findings: Vec<String>,
    /// Tests that fail only under the target version.
    pub new_failing_tests: Vec<FailingTest>,
}

impl RunsSection {
    /// Pairs both sides and computes what is new.
    pub fn new(from: SideRuns, to: SideRuns) -> Self {
        let new_vet_findings = to
            .vet_findings
            .iter()
            .filter(|f| !from.vet_findings.contains(f))
            .cloned()
            .collect();
        let new_failing_tests = to
            .failing_tests
            .iter()
            .filter(|t| {
                !from
                    .failing_tests
                    .iter()
                    .any(|f| f.name == t.name && f.package == t.package)
            })
            .cloned()
            .collect();
        Self {
            from,
            to,
            new_vet_findings,
            new_failing_tests,
        }
    }

    /// True when the build passes before and fails after.
    pub fn build_broken(&self) -> bool {
        self.broken(Step::Build)
    }

    /// True when `step` passes before and fails after.
    pub fn broken(&self, step: Step) -> bool {
        self.from.step(step).is_some_and(|s| s.passed)
            && self.to.step(step).is_some_and(|s| !s.passed)
    }
}

/// How many lines of a failing test's output the report keeps.
pub const FAILURE_LINES: usize = 5;

/// Reads the failing tests out of `go test` output: each `--- FAIL: Name (…)` with the
/// indented lines that follow it, and the package from the `FAIL\tpkg\t…` line after them.
pub fn failing_tests(output: &str) -> Vec<FailingTest> {
    let mut tests: Vec<FailingTest> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut current: Option<usize> = None;
    for line in output.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("--- FAIL: ") {
            let name = rest.split(" (").next().unwrap_or(rest).trim().to_owned();
            tests.push(FailingTest {
                package: None,
                name,
                output: Vec::new(),
            });
            current = Some(tests.len() - 1);
            open.push(tests.len() - 1);
            continue;
        }
        if let Some(rest) = line.strip_prefix("FAIL\t") {
            let package = rest.split('\t').next().unwrap_or(rest).trim().to_owned();
            for index in open.drain(..) {
                tests[index].package = Some(package.clone());
            }
            current = None;
            continue;
        }
        if line.starts_with("--- ")
            || line.starts_with("=== ")
            || line == "FAIL"
            || line.starts_with("ok  \t")
        {
            current = None;
            continue;
        }
        if let Some(index) = current
            && line.starts_with([' ', '\t'])
            && tests[index].output.len() < FAILURE_LINES
        {
            tests[index].output.push(trimmed.to_owned());
        }
    }
    tests
}

/// Reads `go vet` findings (`file.go:12:5: message`) as `file.go:12: message`, without the
/// column, so the same finding matches across versions.
pub fn vet_findings(output: &str) -> Vec<String> {
    let mut out: Vec<String> = output
        .lines()
        .filter_map(|line| {
            let ((file, number), message) = split_location(line)?;
            Some(format!("{file}:{number}: {message}"))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
