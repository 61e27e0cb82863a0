use std::collections::BTreeSet;

use goshift_version::GoVersion;

use super::*;
use crate::godebug::{GodebugOverride, GodebugTable};
use crate::parse_go_mod;

fn version(text: &str) -> GoVersion {
    GoVersion::parse(text).unwrap()
}

/// A Go 1.21-like table and a Go 1.22-like one: 1.22 adds `httpmuxgo121` (changed at 22)
/// and drops `oldsetting`.
fn tables() -> (GodebugTable, GodebugTable) {
    let old = GodebugTable::parse(
        "var All = []Info{\n\
         \t{Name: \"oldsetting\", Package: \"net\", Changed: 21, Old: \"1\"},\n\
         \t{Name: \"panicnil\", Package: \"runtime\", Changed: 21, Old: \"1\"},\n\
         \t{Name: \"x509sha1\", Package: \"crypto/x509\"},\n\
         }\n",
    )
    .unwrap();
    let new = GodebugTable::parse(
        "var All = []Info{\n\
         \t{Name: \"httpmuxgo121\", Package: \"net/http\", Changed: 22, Old: \"1\"},\n\
         \t{Name: \"panicnil\", Package: \"runtime\", Changed: 21, Old: \"1\"},\n\
         \t{Name: \"tlsrsakex\", Package: \"crypto/tls\", Changed: 22, Old: \"1\"},\n\
         \t{Name: \"x509sha1\", Package: \"crypto/x509\"},\n\
         }\n",
    )
    .unwrap();
    (old, new)
}

fn imports(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// One side of a GODEBUG comparison: the toolchain, its table and the `go` line in force.
type Side<'a> = (&'a str, &'a GodebugTable, &'a str);

/// [`compare`] of two sides, with `directives` and, when given, the packages imported.
fn godebug(
    from: Side<'_>,
    to: Side<'_>,
    directives: &[GodebugOverride],
    imported: Option<&[&str]>,
) -> GodebugSection {
    let (from_toolchain, from_table, from_language) = (version(from.0), from.1, version(from.2));
    let (to_toolchain, to_table, to_language) = (version(to.0), to.1, version(to.2));
    compare(
        GodebugSide {
            toolchain: &from_toolchain,
            table: from_table,
            language: &from_language,
        },
        GodebugSide {
            toolchain: &to_toolchain,
            table: to_table,
            language: &to_language,
        },
        directives,
        imported.map(imports).as_ref(),
    )
}

/// A `//go:debug KEY=1` directive on line `line` of `main.go`.
fn directive(key: &str, line: usize) -> GodebugOverride {
    GodebugOverride {
        key: key.to_owned(),
        value: "1".to_owned(),
        at: format!("main.go line {line}"),
        from_modfile: false,
    }
}

#[test]
fn godebug_changes_of_imported_packages_come_first_with_the_line_that_keeps_them() {
    let (old, new) = tables();
    let section = godebug(
        ("1.21.13", &old, "1.21"),
        ("1.22.10", &new, "1.22"),
        &[],
        Some(&["net/http", "fmt"]),
    );
    assert_eq!(section.from_default, "");
    assert_eq!(section.to_default, "");
    assert_eq!(
        section.to_default_same_go_line,
        "httpmuxgo121=1,tlsrsakex=1"
    );
    let names: Vec<&str> = section.changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["httpmuxgo121", "tlsrsakex"]);
    let mux = &section.changes[0];
    assert_eq!(mux.imported, Some(true));
    assert_eq!(mux.from, Behaviour::Predates("1".to_owned()));
    assert_eq!(mux.to, Behaviour::Default);
    assert_eq!(mux.keep.as_deref(), Some("//go:debug httpmuxgo121=1"));
    assert_eq!(section.changes[1].imported, Some(false));
}

#[test]
fn raising_the_go_line_on_the_same_toolchain_shows_the_table_defaults() {
    let (_, new) = tables();
    let section = godebug(
        ("1.22.10", &new, "1.21"),
        ("1.22.10", &new, "1.22"),
        &[],
        None,
    );
    assert_eq!(section.from_default, "httpmuxgo121=1,tlsrsakex=1");
    assert_eq!(section.to_default, "");
    assert!(section.changes.iter().all(|c| c.imported.is_none()));
    assert_eq!(section.changes.len(), 2);
}

#[test]
fn a_directive_keeps_the_old_behaviour_and_one_unknown_to_the_new_table_blocks() {
    let (old, new) = tables();
    let section = godebug(
        ("1.21.13", &old, "1.21"),
        ("1.22.10", &new, "1.22"),
        &[directive("httpmuxgo121", 1), directive("oldsetting", 2)],
        Some(&["net/http", "net"]),
    );
    assert_eq!(section.to_default, "httpmuxgo121=1,oldsetting=1");
    assert!(
        section.changes.iter().all(|c| c.name != "httpmuxgo121"),
        "kept by the directive: {:?}",
        section.changes
    );
    let unknown: Vec<&str> = section
        .unknown_to_new
        .iter()
        .map(|o| o.key.as_str())
        .collect();
    assert_eq!(unknown, ["oldsetting"]);
}

#[test]
fn from_go_1_23_the_keep_line_is_a_godebug_line() {
    let (old, new) = tables();
    let section = godebug(
        ("1.21.13", &old, "1.21"),
        ("1.23.4", &new, "1.23"),
        &[],
        None,
    );
    let mux = section
        .changes
        .iter()
        .find(|c| c.name == "httpmuxgo121")
        .unwrap();
    assert_eq!(mux.keep.as_deref(), Some("godebug httpmuxgo121=1"));
}

#[test]
fn language_changes_between_go_lines() {
    let ids = |from: &str, to: &str| -> Vec<&'static str> {
        changes_between(&version(from), &version(to))
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(ids("1.21", "1.22"), ["loopvar"]);
    assert_eq!(ids("1.20", "1.23"), ["panicnil", "loopvar", "rangefunc"]);
    assert!(ids("1.22", "1.22").is_empty());
    assert!(ids("1.23", "1.22").is_empty());
}

#[test]
fn reads_loop_captures_and_vet_findings() {
    let output = "# example.com/m\n\
                  vet: ./worker.go:14:4: loop variable job captured by func literal\n\
                  ./worker.go:30:12: fmt.Sprintf format %d has arg s of wrong type string\n\
                  not a finding\n";
    let captures = loop_captures(output);
    assert_eq!(
        captures,
        [LoopCapture {
            file: "./worker.go".to_owned(),
            line: 14,
            variable: "job".to_owned()
        }]
    );
    assert_eq!(
        vet_findings(output),
        [
            "./worker.go:14: loop variable job captured by func literal",
            "./worker.go:30: fmt.Sprintf format %d has arg s of wrong type string"
        ]
    );
}

#[test]
fn reads_failing_tests_with_their_first_lines_and_package() {
    let output = "=== RUN   TestSnapshot\n\
                  --- FAIL: TestSnapshot (0.00s)\n\
                  \x20   worker_test.go:12: got [a b c], want [c c c]\n\
                  \x20   worker_test.go:13: second\n\
                  === RUN   TestOther\n\
                  --- PASS: TestOther (0.00s)\n\
                  FAIL\n\
                  FAIL\texample.com/m\t0.004s\n\
                  ok  \texample.com/m/other\t0.002s\n";
    let failing = failing_tests(output);
    assert_eq!(
        failing,
        [FailingTest {
            package: Some("example.com/m".to_owned()),
            name: "TestSnapshot".to_owned(),
            output: vec![
                "worker_test.go:12: got [a b c], want [c c c]".to_owned(),
                "worker_test.go:13: second".to_owned()
            ],
        }]
    );
}

#[test]
fn reads_benchmark_results() {
    let output = "goos: linux\n\
                  BenchmarkNotify-8   \t  120000\t      9876 ns/op\t     512 B/op\t       7 allocs/op\n\
                  BenchmarkPlain      \t 1000000\t        12.5 ns/op\n\
                  BenchmarkNotify-8 is not a result\n\
                  PASS\n";
    let results = benchmarks(output);
    assert_eq!(
        results,
        [
            Benchmark {
                name: "BenchmarkNotify".to_owned(),
                ns_per_op: 9876.0,
                bytes_per_op: Some(512.0),
                allocs_per_op: Some(7.0),
            },
            Benchmark {
                name: "BenchmarkPlain".to_owned(),
                ns_per_op: 12.5,
                bytes_per_op: None,
                allocs_per_op: None,
            }
        ]
    );
}

#[test]
fn dependencies_that_need_a_newer_go_are_blockers() {
    let listed = parse_module_list(
        "example.com/m  \n\
         example.com/old v1.0.0 1.18\n\
         example.com/new v2.1.0 1.23.0\n\
         example.com/none v0.1.0\n",
    );
    assert_eq!(
        listed.len(),
        3,
        "the main module has no version: {listed:?}"
    );
    let blockers = dependency_blockers(&listed, &version("1.22.10"));
    assert_eq!(
        blockers,
        [DependencyBlocker {
            module: "example.com/new".to_owned(),
            version: "v2.1.0".to_owned(),
            go: "1.23.0".to_owned()
        }]
    );
}

#[test]
fn line_edits_raise_the_go_and_toolchain_lines() {
    let file = parse_go_mod(
        std::path::Path::new("go.mod"),
        "module m\n\ngo 1.21\n\ntoolchain go1.21.13\n",
    )
    .unwrap();
    let edits = line_edits("go.mod", &file, &version("1.22.10"));
    let shown: Vec<(Option<usize>, Option<&str>, &str)> = edits
        .iter()
        .map(|e| (e.line, e.before.as_deref(), e.after.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (Some(3), Some("go 1.21"), "go 1.22.0"),
            (Some(5), Some("toolchain go1.21.13"), "toolchain go1.22.10")
        ]
    );
    let current = parse_go_mod(std::path::Path::new("go.mod"), "module m\ngo 1.22.3\n").unwrap();
    assert!(line_edits("go.mod", &current, &version("1.22.10")).is_empty());
}

fn run_side(version: &str, build: bool, failing: &[&str]) -> SideRuns {
    let mut side = run_steps(version, build, failing.is_empty());
    side.failing_tests = failing
        .iter()
        .map(|name| FailingTest {
            package: None,
            name: (*name).to_owned(),
            output: Vec::new(),
        })
        .collect();
    side
}

fn run_steps(version: &str, build: bool, test: bool) -> SideRuns {
    let outcome = |step, passed| StepOutcome {
        step,
        passed,
        exit_code: Some(i32::from(!passed)),
        seconds: 0.0,
    };
    SideRuns {
        version: version.to_owned(),
        steps: vec![outcome(Step::Build, build), outcome(Step::Test, test)],
        binary_size: None,
        vet_findings: Vec::new(),
        failing_tests: Vec::new(),
        benchmarks: Vec::new(),
    }
}

fn synced() -> SecuritySection {
    SecuritySection {
        database_modified: Some("2024-01-01T00:00:00Z".to_owned()),
        ..SecuritySection::default()
    }
}

fn clean_language() -> LanguageSection {
    LanguageSection {
        blockers: Some(Vec::new()),
        ..LanguageSection::default()
    }
}

fn advisory(id: &str, imported: bool) -> Advisory {
    Advisory {
        id: id.to_owned(),
        aliases: Vec::new(),
        summary: "summary".to_owned(),
        module: "stdlib".to_owned(),
        packages: vec!["net/http".to_owned()],
        imported,
        fixed: Some("go1.22.11".to_owned()),
    }
}

fn policy(reasons: &[(&str, &str)]) -> PolicySection {
    PolicySection {
        file: Some("policy.toml".to_owned()),
        environment: None,
        verdict: None,
        reasons: reasons
            .iter()
            .map(|(rule, verdict)| PolicyReason {
                rule: (*rule).to_owned(),
                verdict: (*verdict).to_owned(),
                message: format!("{rule} says {verdict}"),
            })
            .collect(),
    }
}

/// One row: what the sections hold, and the outcome expected on each axis.
struct Row {
    name: &'static str,
    language: LanguageSection,
    security: SecuritySection,
    runs: Option<RunsSection>,
    policy: PolicySection,
    expected: [Outcome; 4],
    findings: &'static [&'static str],
}

#[test]
fn verdict_table() {
    for row in compatibility_rows().into_iter().chain(other_axes_rows()) {
        check_verdict(&row);
    }
}

/// Rows where the compatibility axis speaks.
fn compatibility_rows() -> Vec<Row> {
    use Outcome::{Blocked, Go, GoWithChanges};
    let loopvar = LanguageSection {
        changes: changes_between(&version("1.21"), &version("1.22")),
        loop_captures: Some(vec![LoopCapture {
            file: "./w.go".to_owned(),
            line: 3,
            variable: "x".to_owned(),
        }]),
        ..clean_language()
    };
    vec![
        Row {
            name: "nothing to say",
            language: clean_language(),
            security: synced(),
            runs: Some(RunsSection::new(
                run_side("1.21.13", true, &[]),
                run_side("1.22.10", true, &[]),
            )),
            policy: policy(&[]),
            expected: [Go, Go, Go, Go],
            findings: &[],
        },
        Row {
            name: "a loop capture and a new failing test",
            language: loopvar,
            security: synced(),
            runs: Some(RunsSection::new(
                run_side("1.21.13", true, &["TestOld"]),
                run_side("1.22.10", true, &["TestOld", "TestSnapshot"]),
            )),
            policy: policy(&[]),
            expected: [GoWithChanges, Go, Go, Go],
            findings: &["runs.test.TestSnapshot", "language.loop-capture../w.go:3"],
        },
        Row {
            name: "the build breaks",
            language: clean_language(),
            security: synced(),
            runs: Some(RunsSection::new(
                run_side("1.21.13", true, &[]),
                run_side("1.22.10", false, &[]),
            )),
            policy: policy(&[]),
            expected: [Blocked, Go, Go, Go],
            findings: &["runs.build"],
        },
        Row {
            name: "tests that no longer compile",
            language: clean_language(),
            security: synced(),
            runs: Some(RunsSection::new(
                run_steps("1.21.13", true, true),
                run_steps("1.22.10", true, false),
            )),
            policy: policy(&[]),
            expected: [GoWithChanges, Go, Go, Go],
            findings: &["runs.test"],
        },
        Row {
            name: "a build broken before is not the upgrade's fault",
            language: clean_language(),
            security: synced(),
            runs: Some(RunsSection::new(
                run_side("1.21.13", false, &[]),
                run_side("1.22.10", false, &[]),
            )),
            policy: policy(&[]),
            expected: [Go, Go, Go, Go],
            findings: &[],
        },
    ]
}

/// Rows for the security, ecosystem and support-window axes.
fn other_axes_rows() -> Vec<Row> {
    use Outcome::{Blocked, Go, GoWithChanges};
    vec![
        Row {
            name: "open and fixed advisories",
            language: clean_language(),
            security: SecuritySection {
                open: vec![
                    advisory("GO-2025-0002", true),
                    advisory("GO-2025-0003", false),
                ],
                fixed: vec![advisory("GO-2025-0001", true)],
                ..synced()
            },
            runs: None,
            policy: policy(&[]),
            expected: [Go, GoWithChanges, Go, Go],
            findings: &["security.GO-2025-0002", "security.GO-2025-0001"],
        },
        Row {
            name: "no database",
            language: clean_language(),
            security: SecuritySection::default(),
            runs: None,
            policy: policy(&[]),
            expected: [Go, GoWithChanges, Go, Go],
            findings: &["security"],
        },
        Row {
            name: "a dependency needs a newer Go",
            language: LanguageSection {
                blockers: Some(vec![DependencyBlocker {
                    module: "example.com/new".to_owned(),
                    version: "v1.0.0".to_owned(),
                    go: "1.23".to_owned(),
                }]),
                ..LanguageSection::default()
            },
            security: synced(),
            runs: None,
            policy: policy(&[]),
            expected: [Go, Go, Blocked, Go],
            findings: &["ecosystem.example.com/new"],
        },
        Row {
            name: "the policy denies and warns",
            language: clean_language(),
            security: synced(),
            runs: None,
            policy: policy(&[("support-window", "deny"), ("rollout", "warn")]),
            expected: [Go, Go, Go, Blocked],
            findings: &["policy.support-window", "policy.rollout"],
        },
        Row {
            name: "no policy",
            language: clean_language(),
            security: synced(),
            runs: None,
            policy: PolicySection::default(),
            expected: [Go, Go, Go, Go],
            findings: &["policy"],
        },
    ]
}

fn check_verdict(row: &Row) {
    let verdict = verdict(
        "go1.22.10",
        None,
        &row.language,
        &row.security,
        row.runs.as_ref(),
        &row.policy,
    );
    let outcomes: Vec<Outcome> = verdict.axes.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, row.expected, "{}: {verdict:#?}", row.name);
    assert_eq!(
        verdict.outcome,
        row.expected.iter().copied().max().unwrap(),
        "{}",
        row.name
    );
    let findings: Vec<&str> = verdict
        .axes
        .iter()
        .flat_map(|a| a.reasons.iter().map(|r| r.finding.as_str()))
        .collect();
    assert_eq!(findings, row.findings, "{}", row.name);
}

#[test]
fn godebug_findings_weigh_on_compatibility() {
    let (old, new) = tables();
    let section = godebug(
        ("1.21.13", &old, "1.21"),
        ("1.22.10", &new, "1.22"),
        &[directive("oldsetting", 2)],
        Some(&["net/http"]),
    );
    let verdict = verdict(
        "go1.22.10",
        Some(&section),
        &clean_language(),
        &synced(),
        None,
        &PolicySection::default(),
    );
    let compatibility = &verdict.axes[0];
    assert_eq!(compatibility.outcome, Outcome::Blocked);
    let findings: Vec<(&str, Outcome)> = compatibility
        .reasons
        .iter()
        .map(|r| (r.finding.as_str(), r.outcome))
        .collect();
    assert_eq!(
        findings,
        [
            ("godebug.oldsetting", Outcome::Blocked),
            ("godebug.httpmuxgo121", Outcome::GoWithChanges)
        ]
    );
    assert_eq!(verdict.blockers().count(), 1);
}
