//! `goshift impact`: the report with fabricated toolchains (small GODEBUG tables and a `go`
//! script that answers `list`, `build`, `vet` and `test`), and its exit codes.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use goshift_testkit::TestContext;
use goshift_testkit::archive::TarBuilder;

const TABLE_121: &str = "package godebugs\n\nvar All = []Info{\n\
\t{Name: \"oldsetting\", Package: \"net\", Changed: 21, Old: \"1\"},\n\
\t{Name: \"panicnil\", Package: \"runtime\", Changed: 21, Old: \"1\"},\n\
\t{Name: \"x509sha1\", Package: \"crypto/x509\"},\n\
}\n";

const TABLE_122: &str = "package godebugs\n\nvar All = []Info{\n\
\t{Name: \"httpmuxgo121\", Package: \"net/http\", Changed: 22, Old: \"1\"},\n\
\t{Name: \"panicnil\", Package: \"runtime\", Changed: 21, Old: \"1\"},\n\
\t{Name: \"tlsrsakex\", Package: \"crypto/tls\", Changed: 22, Old: \"1\"},\n\
\t{Name: \"x509sha1\", Package: \"crypto/x509\"},\n\
}\n";

/// A `go` that lists `fmt`, `net/http` and the module, reports a loop capture from `go vet`
/// while the `go` line is below 1.22, and fails `TestWatch` once a `-modfile` raised to
/// `go 1.22.0` is passed.
const FAKE_GO: &str = r#"#!/bin/sh
modfile=
for arg in "$@"; do
    case $arg in -modfile=*) modfile=${arg#-modfile=} ;; esac
done
raised=0
if [ -n "$modfile" ] && grep -qx 'go 1.22.0' "$modfile"; then raised=1; fi
case $1 in
list)
    if [ "$2" = -m ]; then
        printf 'example.com/m\nexample.com/dep v1.0.0 %s\n' "${FAKE_DEP_GO:-1.20}"
    else
        printf 'fmt\nnet/http\nexample.com/m\n'
    fi
    ;;
build) ;;
vet)
    if [ "$raised" = 0 ]; then
        echo '# example.com/m' >&2
        echo './watch.go:12:3: loop variable generation captured by func literal' >&2
        exit 1
    fi
    ;;
test)
    case " $* " in *" -bench "*)
        printf 'BenchmarkNotify-8\t1000\t%s ns/op\t64 B/op\t2 allocs/op\nPASS\n' $((1000 + raised * 1000))
        exit 0 ;;
    esac
    if [ "$raised" = 1 ]; then
        echo '--- FAIL: TestWatch (0.00s)'
        echo '    watch_test.go:9: watchers saw [g1 g2 g3], want [g3 g3 g3]'
        echo 'FAIL'
        printf 'FAIL\texample.com/m\t0.01s\n'
        exit 1
    fi
    printf 'ok  \texample.com/m\t0.01s\n'
    ;;
esac
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create directories");
    std::fs::write(path, text).expect("write a file");
}

/// Installs a fabricated toolchain with the given table and the scripted `go`.
fn toolchain(context: &TestContext, version: &str, table: &str) {
    let root = context.fake_toolchain(version);
    write(&root.join("src/internal/godebugs/table.go"), table);
    let go = root.join("bin/go");
    write(&go, FAKE_GO);
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Go 1.21.13 and 1.22.10 installed, and a module at go 1.21 with a main package that sets
/// `panicnil=1`.
fn context() -> TestContext {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    toolchain(&context, "1.21.13", TABLE_121);
    toolchain(&context, "1.22.10", TABLE_122);
    let project = context.work().join("m");
    write(&project.join("go.mod"), "module example.com/m\n\ngo 1.21\n");
    write(
        &project.join("watch.go"),
        "package watch\n\nfunc Watch() {}\n",
    );
    write(
        &project.join("cmd/server/main.go"),
        "// Command server.\n//go:debug panicnil=1\npackage main\n\nfunc main() {}\n",
    );
    // Not a main package: its directive does not count.
    write(
        &project.join("lib/lib.go"),
        "//go:debug x509sha1=1\npackage lib\n",
    );
    context
}

fn run(context: &TestContext, args: &[&str]) -> (Option<i32>, String, String) {
    let output = context.run(args);
    (
        output.status.code(),
        context.filter(&String::from_utf8_lossy(&output.stdout)),
        context.filter(&String::from_utf8_lossy(&output.stderr)),
    )
}

fn json(context: &TestContext, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let (code, stdout, stderr) = run(context, args);
    let value: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    crate::json_schema::follows_schema("impact", stdout.as_bytes());
    (code, value)
}

#[test]
fn text_report_names_the_godebug_change_the_loop_and_the_failing_test() {
    let context = context();
    let (code, stdout, stderr) = run(
        &context,
        &["impact", "--from", "1.21.13", "--to", "1.22.10", "m"],
    );
    assert_eq!(code, Some(0), "go with changes exits 0: {stdout}{stderr}");
    for expected in [
        "Upgrade impact for `m`: go1.21.13 → go1.22.10",
        "Verdict: go with changes",
        "`httpmuxgo121` (net/http, default changed in Go 1.22): `1` (the toolchain predates the change) now, the new default after; keep the old behaviour with `//go:debug httpmuxgo121=1`",
        "in packages this project does not import:",
        "./watch.go:12 captures loop variable `generation`",
        "edit go.mod line 3: `go 1.21` → `go 1.22.0`",
        "TestWatch (example.com/m)",
        "watch_test.go:9: watchers saw [g1 g2 g3], want [g3 g3 g3]",
        "test TestWatch (example.com/m) fails with go1.22.10 and passes now (go with changes; see runs.test.TestWatch)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
    // Imported packages first: net/http before crypto/tls.
    let mux = stdout.find("`httpmuxgo121` (net/http").unwrap();
    let tls = stdout.find("`tlsrsakex` (crypto/tls").unwrap();
    assert!(mux < tls, "{stdout}");
    assert!(
        stderr.contains("impact: go1.21.13 → go1.22.10: go with changes"),
        "{stderr}"
    );
    assert!(
        !context
            .home()
            .join("cache/impact")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some()),
        "the scratch directory is removed"
    );
}

#[test]
fn json_report_has_the_default_godebug_of_each_side_and_the_verdict() {
    let context = context();
    let (code, report) = json(
        &context,
        &[
            "--json", "impact", "--from", "1.21.13", "--to", "1.22.10", "m",
        ],
    );
    assert_eq!(code, Some(0));
    let godebug = &report["godebug"];
    assert_eq!(godebug["from_default"], "panicnil=1");
    assert_eq!(godebug["to_default"], "panicnil=1");
    assert_eq!(
        godebug["to_default_same_go_line"],
        "httpmuxgo121=1,panicnil=1,tlsrsakex=1"
    );
    assert_eq!(report["verdict"]["outcome"], "go_with_changes");
    let axes: Vec<(&str, &str)> = report["verdict"]["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["axis"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        axes,
        [
            ("compatibility", "go_with_changes"),
            ("security", "go_with_changes"),
            ("ecosystem", "go"),
            ("support_window", "go")
        ]
    );
    assert_eq!(report["runs"]["from"]["steps"][0]["passed"], true);
    assert_eq!(report["runs"]["to"]["steps"][2]["passed"], false);
    assert_eq!(report["language"]["changes"][0]["id"], "loopvar");
}

#[test]
fn markdown_report_for_a_pull_request() {
    let context = context();
    let (code, stdout, _) = run(
        &context,
        &[
            "impact", "--from", "1.21.13", "--to", "1.22.10", "--format", "markdown", "m",
        ],
    );
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("## Upgrade impact for `m`"), "{stdout}");
    assert!(stdout.contains("### GODEBUG defaults"), "{stdout}");
    assert!(stdout.contains("| step | go1.21.13 |"), "{stdout}");
    assert!(stdout.contains("  ```\n  watch_test.go:9:"), "{stdout}");
}

#[test]
fn benchmarks_run_on_request_and_are_shown_side_by_side() {
    let context = context();
    let (code, stdout, stderr) = run(
        &context,
        &[
            "impact", "--from", "1.21.13", "--to", "1.22.10", "--bench", "m",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("go test -run ^$ -bench . -benchmem ./..."),
        "{stderr}"
    );
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("BenchmarkNotify"))
        .unwrap_or_else(|| panic!("no benchmark row: {stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["BenchmarkNotify", "1000", "2000", "2.00"],
        "{stdout}"
    );
    let (_, without, _) = run(
        &context,
        &["impact", "--from", "1.21.13", "--to", "1.22.10", "m"],
    );
    assert!(without.contains("Build, vet and tests"), "{without}");
    assert!(
        !without.contains("Benchmark"),
        "no benchmarks without --bench: {without}"
    );
}

#[test]
fn a_dependency_that_needs_a_newer_go_blocks() {
    let context = context();
    let output = context
        .command()
        .env("FAKE_DEP_GO", "1.23.0")
        .args([
            "impact", "--from", "1.21.13", "--to", "1.22.10", "--no-run", "m",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Verdict: blocked"), "{stdout}");
    assert!(
        stdout.contains("example.com/dep@v1.0.0 needs go 1.23.0, newer than go1.22.10 (blocked; see ecosystem.example.com/dep)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Build, vet and tests"),
        "--no-run: {stdout}"
    );
}

#[test]
fn a_directive_the_new_toolchain_does_not_know_blocks() {
    let context = context();
    write(
        &context.work().join("m/cmd/server/main.go"),
        "//go:debug oldsetting=1\npackage main\n\nfunc main() {}\n",
    );
    let (code, stdout, _) = run(
        &context,
        &[
            "impact", "--from", "1.21.13", "--to", "1.22.10", "--no-run", "m",
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("cmd/server/main.go line 1 sets GODEBUG `oldsetting`, which go1.22.10 does not know: the build fails (blocked; see godebug.oldsetting)"),
        "{stdout}"
    );
}

#[test]
fn the_table_of_a_toolchain_that_is_not_installed_comes_from_the_archive_cache() {
    let context = context();
    std::fs::remove_dir_all(context.home().join("toolchains/go1.22.10")).unwrap();
    let archive = TarBuilder::new()
        .file(
            "go/VERSION",
            0o644,
            b"go1.22.10\ntime 2024-12-03T00:00:00Z\n",
        )
        .file(
            "go/src/internal/godebugs/table.go",
            0o644,
            TABLE_122.as_bytes(),
        )
        .tar_gz();
    let other = TarBuilder::new()
        .file("go/VERSION", 0o644, b"go1.20.14\n")
        .file("go/src/internal/godebugs/table.go", 0o644, b"garbage")
        .tar_gz();
    write(&context.home().join("cache/archives/aaaa"), "");
    std::fs::write(context.home().join("cache/archives/aaaa"), other).unwrap();
    std::fs::write(context.home().join("cache/archives/bbbb"), archive).unwrap();
    let (code, report) = json(
        &context,
        &[
            "--json", "impact", "--from", "1.21.13", "--to", "1.22.10", "m",
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        report["godebug"]["to_default_same_go_line"],
        "httpmuxgo121=1,panicnil=1,tlsrsakex=1"
    );
    assert!(report["runs"].is_null());
    let notes = report["notes"].to_string();
    assert!(
        notes.contains(
            "build, vet and tests not run: both go1.21.13 and go1.22.10 must be installed"
        ),
        "{notes}"
    );
}

#[test]
fn security_lists_advisories_fixed_between_the_versions() {
    let context = context();
    toolchain(&context, "1.21.1", TABLE_121);
    goshift_testkit::vulndb::write(&context.root().join("db"), true);
    let sync = context.run(["vuln", "sync", "--from", "../db"]);
    assert!(sync.status.success());
    let (_, report) = json(
        &context,
        &[
            "--json", "impact", "--from", "1.21.1", "--to", "1.22.10", "--no-run", "m",
        ],
    );
    let security = &report["security"];
    assert_eq!(
        security["database_modified"],
        goshift_testkit::vulndb::MODIFIED
    );
    let fixed: Vec<(&str, bool)> = security["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["imported"].as_bool().unwrap()))
        .collect();
    assert!(
        fixed.contains(&("GO-2023-2102", true)),
        "net/http is imported: {fixed:?}"
    );
    assert!(
        fixed.iter().all(|(id, _)| *id != "GO-2023-2045"),
        "fixed in go1.21.1 itself: {fixed:?}"
    );
    assert!(
        fixed.iter().any(|(_, imported)| !imported),
        "advisories of packages not imported are listed too: {fixed:?}"
    );
    let first_unimported = fixed.iter().position(|(_, imported)| !imported).unwrap();
    assert!(
        fixed[..first_unimported]
            .iter()
            .all(|(_, imported)| *imported)
    );
    assert_eq!(report["verdict"]["axes"][1]["axis"], "security");
}

#[test]
fn a_target_the_policy_denies_is_blocked() {
    let context = context();
    write(
        &context.home().join("policy.toml"),
        "[[blocked]]\nversions = \">=1.22.0, <1.22.11\"\nreason = \"known regression\"\n",
    );
    let (code, stdout, _) = run(
        &context,
        &[
            "impact", "--from", "1.21.13", "--to", "1.22.10", "--no-run", "m",
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("support window: blocked"), "{stdout}");
    assert!(stdout.contains("see policy.blocked"), "{stdout}");
}

#[test]
fn bad_input_is_an_error_with_a_hint() {
    let context = context();
    std::fs::create_dir_all(context.work().join("empty")).unwrap();
    let (code, _, stderr) = run(&context, &["impact", "--to", "1.22.10", "empty"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("error: no go.mod in `empty` or above"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: run `goshift impact` in a Go module"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&context, &["impact", "--to", "banana", "m"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot choose the `--to` version"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&context, &["impact", "--to", "1.22.10", "nowhere"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`nowhere` is not a directory"), "{stderr}");
    write(&context.work().join("bad/go.mod"), "module m\ngo banana\n");
    let (code, _, stderr) = run(&context, &["impact", "--to", "1.22.10", "bad"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("go.mod` line 2"), "{stderr}");
}

/// A module at go 1.21 that requires `example.com/dep`, whose go.mod in the module cache
/// has `go_line`.
fn gate_context(go_line: &str) -> TestContext {
    let context = context();
    write(&context.home().join("policy.toml"), "support_window = 3\n");
    write(
        &context.work().join("m/go.mod"),
        "module example.com/m\n\ngo 1.21\n\nrequire example.com/Dep v1.0.0\n",
    );
    write(
        &context
            .root()
            .join("modcache/cache/download/example.com/!dep/@v/v1.0.0.mod"),
        &format!("module example.com/Dep\n\ngo {go_line}\n"),
    );
    context
}

fn gate(context: &TestContext) -> (Option<i32>, serde_json::Value) {
    let output = context
        .command()
        .env("GOMODCACHE", context.root().join("modcache"))
        .args(["gate", "--format", "json", "m"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&output.stderr)));
    crate::json_schema::follows_schema("gate", &output.stdout);
    (output.status.code(), value)
}

#[test]
fn gate_fails_a_module_whose_next_allowed_version_has_blockers() {
    let context = gate_context("1.23.0");
    let (code, report) = gate(&context);
    assert_eq!(code, Some(1), "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    let blocked: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["rule"] == "upgrade-blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "{report:#}");
    assert_eq!(blocked[0]["path"], "go.mod");
    assert_eq!(blocked[0]["line"], 3);
    assert_eq!(blocked[0]["level"], "error");
    let message = blocked[0]["message"].as_str().unwrap();
    assert!(
        message.contains("the next Go version the policy allows, go1.22.10, is blocked for this module: example.com/Dep@v1.0.0 needs go 1.23.0"),
        "{message}"
    );
    assert!(
        message.contains("`goshift impact --to 1.22.10`"),
        "{message}"
    );
}

#[test]
fn gate_passes_when_the_next_allowed_version_has_no_blockers() {
    let context = gate_context("1.20");
    let (code, report) = gate(&context);
    assert_eq!(code, Some(0), "{report:#}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "upgrade-blocked"),
        "{report:#}"
    );
}

#[test]
fn gate_names_a_directive_the_next_toolchain_does_not_know() {
    let context = gate_context("1.20");
    write(
        &context.work().join("m/cmd/server/main.go"),
        "//go:debug oldsetting=1\npackage main\n\nfunc main() {}\n",
    );
    let (code, report) = gate(&context);
    assert_eq!(code, Some(1), "{report:#}");
    let text = report["findings"].to_string();
    assert!(
        text.contains(
            "cmd/server/main.go line 1 sets GODEBUG `oldsetting`, which go1.22.10 does not know"
        ),
        "{text}"
    );
}
