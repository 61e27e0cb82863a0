//! `goshift gate`: text, JSON and SARIF reports and exit codes.

use std::path::Path;

use goshift_testkit::TestContext;

const POLICY: &str = r#"support_window = 2

[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102", "CVE-2023-39325"]

[environments.prod]
allowed = ["1.21.13", "1.22.10"]
default = "1.21.13"
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create directories");
    std::fs::write(path, text).expect("write a file");
}

/// A repository with a clean module, a blocked toolchain, an old `go` line, a broken go.mod,
/// and a vendored go.mod the gate must skip.
fn context() -> TestContext {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    write(&context.home().join("policy.toml"), POLICY);
    let repo = context.work().join("repo");
    write(
        &repo.join("lib/go.mod"),
        "module example.com/lib\n\ngo 1.22.0\n",
    );
    write(
        &repo.join("svc/go.mod"),
        "module example.com/svc\n\ngo 1.21.0\n\ntoolchain go1.21.1\n",
    );
    write(
        &repo.join("old/go.mod"),
        "module example.com/old\n\ngo 1.19\n",
    );
    write(&repo.join("vendor/x/go.mod"), "module x\n\ngo 1.10\n");
    write(&repo.join(".hidden/go.mod"), "module h\n\ngo 1.10\n");
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

#[test]
fn gate_text_report() {
    let context = context();
    let (code, stdout, stderr) = run(&context, &["gate", "repo"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stdout,
        "repo/lib/go.mod: go 1.22.0, unresolved\n  \
         note [unresolved] repo/lib/go.mod:3: no installed toolchain satisfies this project on this machine (`goshift install 1.22`)\n\
         repo/old/go.mod: go 1.19, unresolved\n  \
         error [support-window] repo/old/go.mod:3: `go 1.19` line: 1.19 is outside the support window: only the newest 2 Go lines (go1.20 and later, newest release 1.21.13) are allowed\n  \
         note [unresolved] repo/old/go.mod:3: no installed toolchain satisfies this project on this machine (`goshift install 1.19`)\n\
         repo/svc/go.mod: go 1.21.0, toolchain go1.21.1, unresolved\n  \
         warning [blocked] repo/svc/go.mod:3: `go 1.21.0` line: 1.21.0 is blocked by `>=1.21.0, <1.21.3`: HTTP/2 rapid reset (GO-2023-2102, CVE-2023-39325)\n  \
         note [unresolved] repo/svc/go.mod:3: no installed toolchain satisfies this project on this machine (`goshift install 1.21.1`)\n  \
         error [blocked] repo/svc/go.mod:5: `toolchain go1.21.1`: 1.21.1 is blocked by `>=1.21.0, <1.21.3`: HTTP/2 rapid reset (GO-2023-2102, CVE-2023-39325)\n"
    );
    assert_eq!(
        stderr,
        "gate: 3 project files, 2 violations, 1 warning (policy `[ROOT]/home/policy.toml`)\n"
    );
}

#[test]
fn gate_resolves_with_installed_toolchains_and_checks_the_environment() {
    let context = context();
    // An installed toolchain and a default, as the store lays them out.
    std::fs::create_dir_all(context.home().join("toolchains/go1.22.3")).unwrap();
    std::fs::create_dir_all(context.home().join("toolchains/go1.21.13")).unwrap();
    std::os::unix::fs::symlink("toolchains/go1.21.13", context.home().join("default")).unwrap();
    let (code, stdout, _) = run(&context, &["gate", "--env", "prod", "repo/lib"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stdout,
        "repo/lib/go.mod: go 1.22.0, resolves to go1.22.3 (go.mod go line)\n  \
         error [allowed] repo/lib/go.mod:3: resolves to go1.22.3 (go.mod go line): 1.22.3 is not allowed in `prod` (allowed: 1.21.13, 1.22.10)\n"
    );
    // Without the environment, go1.22.3 is fine.
    let (code, stdout, _) = run(&context, &["gate", "repo/lib"]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn gate_json_and_sarif() {
    let context = context();
    let (code, stdout, _) = run(&context, &["gate", "--format", "json", "repo"]);
    assert_eq!(code, Some(1));
    let report = crate::json_schema::follows_schema("gate", stdout.as_bytes());
    // `--json` is `--format json`.
    let (code, global, _) = run(&context, &["--json", "gate", "repo"]);
    assert_eq!(code, Some(1));
    assert_eq!(global, stdout);
    assert_eq!(report["projects"].as_array().unwrap().len(), 3);
    assert_eq!(report["projects"][2]["module"], "example.com/svc");
    assert_eq!(report["projects"][2]["toolchain"], "go1.21.1");

    let (code, stdout, _) = run(&context, &["gate", "--format", "sarif", "repo"]);
    assert_eq!(code, Some(1));
    let sarif: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["originalUriBaseIds"]["ROOT0"]["uri"],
        "file://[ROOT]/cwd/repo/"
    );
    let results = run["results"].as_array().unwrap();
    let blocked = results
        .iter()
        .find(|r| r["ruleId"] == "blocked" && r["level"] == "error")
        .unwrap();
    let location = &blocked["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "svc/go.mod");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "ROOT0");
    assert_eq!(location["region"]["startLine"], 5);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let index = usize::try_from(blocked["ruleIndex"].as_u64().unwrap()).unwrap();
    assert_eq!(rules[index]["id"], "blocked");
}

#[test]
fn gate_exit_codes() {
    let context = context();
    write(
        &context.work().join("clean/go.mod"),
        "module c\n\ngo 1.22.0\n",
    );
    let (code, _, _) = run(&context, &["gate", "clean"]);
    assert_eq!(code, Some(0));
    write(
        &context.work().join("broken/go.mod"),
        "module b\n\ngo 1.22 extra\n",
    );
    let (code, stdout, _) = run(&context, &["gate", "broken"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("error [invalid-modfile] broken/go.mod:3: cannot parse go.mod:"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&context, &["gate", "missing"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot scan `missing`"), "{stderr}");
    std::fs::remove_file(context.home().join("policy.toml")).unwrap();
    let (code, _, stderr) = run(&context, &["gate", "clean"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("the gate needs a policy"), "{stderr}");
    let (code, _, _) = run(&context, &["gate", "--format", "xml", "clean"]);
    assert_eq!(code, Some(2));
}

#[test]
fn gate_reports_go_binaries_the_policy_blocks() {
    use goshift_testkit::gobinary::{Container, GoBinary};
    const MODINFO: &str = "path\texample.com/app\n\
        mod\texample.com/app\tv1.0.0\t\n\
        build\tGOARCH=amd64\n\
        build\tGOOS=linux\n";
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    write(&context.home().join("policy.toml"), POLICY);
    let bins = context.work().join("bins");
    std::fs::create_dir_all(&bins).unwrap();
    for (name, version) in [("app", "go1.21.2"), ("fine", "go1.21.13")] {
        let bytes = GoBinary::new(Container::Elf, version, MODINFO).build();
        std::fs::write(bins.join(name), bytes).unwrap();
    }
    std::fs::write(bins.join("notes.txt"), "not a binary").unwrap();

    let (code, stdout, stderr) = run(&context, &["gate", "bins"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stdout,
        "  error [go-binary] bins/app:1: Go binary built with go1.21.2: 1.21.2 is blocked by `>=1.21.0, <1.21.3`: HTTP/2 rapid reset (GO-2023-2102, CVE-2023-39325)\n"
    );

    let (code, stdout, _) = run(&context, &["gate", "--format", "json", "bins"]);
    assert_eq!(code, Some(1));
    let report = crate::json_schema::follows_schema("gate", stdout.as_bytes());
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{stdout}");
    assert_eq!(findings[0]["rule"], "go-binary");
    assert_eq!(findings[0]["path"], "app");
    assert_eq!(findings[0]["level"], "error");
}
