//! Per-project toolchains: the `go` proxy with fake toolchains, and the commands around it.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use goshift_testkit::TestContext;

fn context() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_goshift"))
}

/// A store with fake go1.21.13, go1.22.10 and go1.23.4, go1.22.10 the default, proxies
/// linked.
pub(crate) fn store() -> TestContext {
    let context = context();
    for version in ["1.21.13", "1.22.10", "1.23.4"] {
        context.fake_toolchain(version);
    }
    context.set_default_toolchain("1.22.10");
    context.link_proxies(&["1.21.13", "1.22.10", "1.23.4"]);
    context
}

pub(crate) fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("test setup")).expect("test setup");
    std::fs::write(path, text).expect("test setup");
}

/// `go ARGS…` through the proxy, in `dir`.
pub(crate) fn go(context: &TestContext, dir: &Path, args: &[&str]) -> Command {
    let mut command = context.sandboxed(context.home().join("bin/go"));
    command.args(args).current_dir(dir);
    command
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn proxy_resolves_per_directory() {
    let context = store();
    let work = context.work();
    write(&work.join("pinned/.go-version"), "1.21.13\n");
    write(
        &work.join("module/go.mod"),
        "module example.com/m\n\ngo 1.23\n",
    );
    std::fs::create_dir_all(work.join("plain")).expect("test setup");

    let output = go(&context, &work.join("pinned"), &["version"])
        .output()
        .expect("test setup");
    assert!(output.status.success(), "{}", stderr(&output));
    let home = context.home().display().to_string();
    assert_eq!(
        stdout(&output).split(" pid=").next().expect("test setup"),
        format!("fake go1.21.13 version | GOTOOLCHAIN=local GOROOT={home}/toolchains/go1.21.13")
    );
    // `go 1.23` needs go1.23.0, which is missing; the newest installed match runs.
    let output = go(&context, &work.join("module"), &["build", "./..."])
        .output()
        .expect("test setup");
    assert!(
        stdout(&output).starts_with("fake go1.23.4 build ./... |"),
        "{}",
        stdout(&output)
    );
    let output = go(&context, &work.join("plain"), &["env"])
        .output()
        .expect("test setup");
    assert!(
        stdout(&output).starts_with("fake go1.22.10 env |"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn proxy_honours_environment_overrides() {
    let context = store();
    let work = context.work();
    write(&work.join(".go-version"), "1.21.13\n");
    let run = |var: &str, value: &str| {
        let output = go(&context, &work, &["version"])
            .env(var, value)
            .output()
            .expect("test setup");
        stdout(&output)
    };
    assert!(run("GOSHIFT_GO_VERSION", "1.23.4").starts_with("fake go1.23.4 "));
    assert!(run("GOTOOLCHAIN", "go1.22.10").starts_with("fake go1.22.10 "));
    assert!(run("GOTOOLCHAIN", "local").starts_with("fake go1.22.10 "));
    assert!(run("GOTOOLCHAIN", "auto").starts_with("fake go1.21.13 "));
    // A stale GOROOT in the environment is replaced by the chosen toolchain's.
    let line = run("GOROOT", "/usr/lib/go-1.19");
    assert!(line.contains("/toolchains/go1.21.13 pid="), "{line}");
}

#[test]
fn versioned_proxy_names_and_gofmt() {
    let context = store();
    write(&context.work().join(".go-version"), "1.21.13\n");
    let output = context
        .sandboxed(context.home().join("bin/go1.23.4"))
        .arg("version")
        .output()
        .expect("test setup");
    assert!(
        stdout(&output).starts_with("fake go1.23.4 version |"),
        "{}",
        stdout(&output)
    );
    let output = context
        .sandboxed(context.home().join("bin/gofmt"))
        .arg("-l")
        .output()
        .expect("test setup");
    assert!(
        stdout(&output).starts_with("fake gofmt1.21.13 -l |"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn proxy_is_an_exec_not_a_child() {
    let context = store();
    // Same pid: the process became the real tool.
    let child = go(&context, &context.work(), &["version"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("test setup");
    let pid = child.id();
    let output = child.wait_with_output().expect("test setup");
    assert!(
        stdout(&output).trim_end().ends_with(&format!("pid={pid}")),
        "{}",
        stdout(&output)
    );
    // Exit status and stdin are the tool's.
    let output = go(&context, &context.work(), &["test"])
        .env("FAKE_GO_EXIT", "7")
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(7));
    let mut child = go(&context, &context.work(), &["cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("test setup");
    child
        .stdin
        .take()
        .expect("test setup")
        .write_all(b"from stdin\n")
        .expect("test setup");
    let output = child.wait_with_output().expect("test setup");
    assert!(
        stdout(&output).starts_with("from stdin\nfake go1.22.10 cat"),
        "{}",
        stdout(&output)
    );
}

/// A malformed go.mod is Go's to report (see `project_go_rules`); a malformed `.go-version`
/// is goshift's own file, and nothing runs.
#[test]
fn malformed_go_version_file_runs_nothing() {
    let context = store();
    let work = context.work();
    write(&work.join("sub/.go-version"), "1.22.x\n");
    let output = go(&context, &work.join("sub"), &["version"])
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(
        context.filter(&stderr(&output)).starts_with(
            "error: `[ROOT]/cwd/sub/.go-version` line 1: `1.22.x` is not a Go version"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_toolchain_names_the_install_command() {
    let context = store();
    let work = context.work();
    write(&work.join(".go-version"), "1.20.14\n");
    let output = go(&context, &work, &["version"])
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    assert!(
        message.contains("error: go1.20.14 is not installed (pinned in ./.go-version)"),
        "{message}"
    );
    assert!(
        message.contains("hint: run `goshift install 1.20.14`"),
        "{message}"
    );
    write(&work.join(".go-version"), "# none\n");
    std::fs::remove_file(work.join(".go-version")).expect("test setup");
    write(&work.join("go.mod"), "module m\ngo 1.25\n");
    let output = go(&context, &work, &["version"])
        .output()
        .expect("test setup");
    assert!(
        stderr(&output).contains("hint: run `goshift install 1.25`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn auto_install_runs_install_first_and_stops_when_it_fails() {
    let context = store();
    let work = context.work();
    write(&work.join(".go-version"), "1.20.14\n");
    let output = context.run(["config", "set", "auto_install", "true"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = go(&context, &work, &["version"])
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stdout(&output),
        "",
        "the install's output goes to stderr, nothing ran"
    );
    assert!(
        stderr(&output).contains("`goshift install 1.20.14` failed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn current_and_which_explain_the_choice() {
    let context = store();
    let work = context.work();
    write(
        &work.join("go.mod"),
        "module m\ngo 1.21.0\ntoolchain go1.23.4\n",
    );
    let output = context.run(["current"]);
    assert_eq!(stdout(&output), "go1.23.4 (toolchain line in ./go.mod)\n");
    let output = context.run(["which"]);
    assert_eq!(
        context.filter(&stdout(&output)),
        "[ROOT]/home/toolchains/go1.23.4/bin/go\n"
    );
    let output = context.run(["--json", "current"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("test setup");
    assert_eq!(json["version"], "1.23.4");
    assert_eq!(json["source"]["kind"], "go_mod");
    assert_eq!(json["source"]["directive"], "toolchain");
    write(&work.join(".go-version"), "1.19.13\n");
    let output = context.run(["current"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "go1.19.13 (pinned in ./.go-version)\n");
    assert!(stderr(&output).contains("goshift install 1.19.13"));
    let output = context.run(["which", "gofmt"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn pin_writes_go_version() {
    let context = store();
    let pinned = || std::fs::read_to_string(context.work().join(".go-version")).unwrap();
    let output = context.run(["pin", "1.21"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(pinned(), "1.21.13\n");
    assert!(stderr(&output).contains("Pinned go1.21.13 in ./.go-version"));
    let output = context.run(["pin", "latest"]);
    assert!(output.status.success());
    assert_eq!(pinned(), "1.23.4\n");
    assert!(stderr(&output).contains("(was go1.21.13)"));

    // Versions that are not installed are checked against the release index.
    let index = context.root().join("index.json");
    std::fs::write(
        &index,
        r#"[{"version": "go1.24.0", "stable": true, "files": [{"filename": "go1.24.0.linux-amd64.tar.gz", "os": "linux", "arch": "amd64", "version": "go1.24.0", "sha256": "736ce492a19d756a92719a6121226087ccd91b652ed5caec40ad6dbfb2252092", "size": 1, "kind": "archive"}]}]"#,
    )
    .unwrap();
    let pin = |version: &str| {
        context
            .command()
            .args(["pin", version])
            .env("GOSHIFT_INDEX_URL", format!("file://{}", index.display()))
            .env("GOSHIFT_PLATFORM", "linux/amd64")
            .output()
            .unwrap()
    };
    let output = pin("1.24.0");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(pinned(), "1.24.0\n");
    assert!(
        stderr(&output).contains("go1.24.0 is not installed"),
        "{}",
        stderr(&output)
    );
    let output = pin("1.24.99");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no installed Go toolchain matches `1.24.99`"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("the release index does not have it"),
        "{}",
        stderr(&output)
    );
    assert_eq!(pinned(), "1.24.0\n", "a refused pin changes nothing");
    let output = context.run(["pin", "1.25.1", "--allow-missing"]);
    assert!(output.status.success());
    assert_eq!(pinned(), "1.25.1\n");
    let output = context.run(["pin", "one.two"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn exec_and_each_run_under_chosen_toolchains() {
    let context = store();
    let output = context.run(["exec", "1.21", "--", "go", "version"]);
    assert!(
        stdout(&output).starts_with("fake go1.21.13 version | GOTOOLCHAIN=local"),
        "{}",
        stderr(&output)
    );
    let output = context.run(["exec", "1.23.4", "--", "sh", "-c", "command -v go; exit 3"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        context.filter(&stdout(&output)),
        "[ROOT]/home/toolchains/go1.23.4/bin/go\n"
    );
    let output = context.run(["exec", "1.99", "--", "go", "version"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("hint: run `goshift install 1.99`"));

    let output = context
        .command()
        .args([
            "each",
            "--installed",
            "--",
            "sh",
            "-c",
            "go version; [ \"$GOROOT\" != \"${GOROOT%1.22.10}\" ] && exit 4; exit 0",
        ])
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(1), "one run failed");
    let text = stdout(&output);
    let table: Vec<&str> = text.lines().filter(|l| !l.starts_with("fake")).collect();
    assert_eq!(
        table[0].split_whitespace().collect::<Vec<_>>(),
        ["VERSION", "EXIT", "TIME"]
    );
    let rows: Vec<(String, String)> = table[1..]
        .iter()
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("1.21.13".to_owned(), "0".to_owned()),
            ("1.22.10".to_owned(), "4".to_owned()),
            ("1.23.4".to_owned(), "0".to_owned())
        ]
    );
    let output = context.run(["--json", "each", "1.21", "1.23", "--", "true"]);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("test setup");
    assert_eq!(json[1]["version"], "1.23.4");
    assert_eq!(json[1]["exit_code"], 0);
}

#[test]
fn config_get_set_list_and_errors() {
    let context = context();
    let output = context.run(["config", "get", "mirror"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        context
            .run(["config", "set", "mirror", "https://mirror.example/go/"])
            .status
            .success()
    );
    assert!(
        context
            .run(["config", "set", "environment", "prod"])
            .status
            .success()
    );
    let output = context.run(["config", "get", "mirror"]);
    assert_eq!(stdout(&output), "https://mirror.example/go/\n");
    let output = context.run(["config", "list"]);
    assert_eq!(
        stdout(&output),
        "mirror = https://mirror.example/go/\nenvironment = prod\n"
    );
    let output = context.run(["config", "set", "auto_install", "maybe"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`auto_install` is `true` or `false`, not `maybe`"));
    assert!(
        context
            .run(["config", "unset", "environment"])
            .status
            .success()
    );
    let output = context.run(["config", "list"]);
    assert_eq!(stdout(&output), "mirror = https://mirror.example/go/\n");
    // A broken file is an error naming it and the line, for every command but doctor.
    let file = context.root().join("config/goshift/config.toml");
    std::fs::write(&file, "mirror = \"https://m/\"\nauto_instal = true\n").expect("test setup");
    let output = context.run(["config", "list"]);
    assert_eq!(output.status.code(), Some(2));
    let message = context.filter(&stderr(&output));
    assert!(
        message.contains("invalid config file `[ROOT]/config/goshift/config.toml`"),
        "{message}"
    );
    assert!(message.contains("line 2"), "{message}");
    let output = context.run(["--json", "doctor"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("test setup");
    let config = json["findings"]
        .as_array()
        .expect("test setup")
        .iter()
        .find(|f| f["check"] == "config")
        .expect("test setup");
    assert_eq!(config["severity"], "error");
    assert_eq!(config["class"], "configuration");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn doctor_names_path_problems_with_fixes() {
    let context = store();
    let decoy = context.root().join("decoy");
    write(&decoy.join("go"), "#!/bin/sh\necho decoy\n");
    std::fs::set_permissions(
        decoy.join("go"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("test setup");
    let path = std::env::join_paths([decoy.clone(), context.home().join("bin"), "/usr/bin".into()])
        .expect("test setup");
    let output = context
        .command()
        .args(["--json", "doctor"])
        .env("PATH", &path)
        .env("GOTOOLCHAIN", "go1.21.13")
        .env("GOROOT", "/usr/lib/go-1.19")
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("test setup");
    let findings = json["findings"].as_array().expect("test setup");
    let find = |check: &str| {
        findings
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no {check} finding in {json}"))
    };
    let path_finding = find("path");
    assert_eq!(path_finding["severity"], "error");
    assert!(
        path_finding["message"]
            .as_str()
            .expect("test setup")
            .contains("decoy/go")
    );
    assert!(
        path_finding["fix"]
            .as_str()
            .expect("test setup")
            .contains("goshift init")
    );
    assert_eq!(find("gotoolchain")["severity"], "warning");
    assert_eq!(find("goroot")["severity"], "warning");
    assert_eq!(find("store")["severity"], "ok");
    for finding in findings {
        assert!(finding["class"].is_string() && finding["severity"].is_string());
        if finding["severity"] == "error" || finding["severity"] == "warning" {
            assert!(finding["fix"].is_string(), "{finding}");
        }
    }
    // With the proxies first and nothing stale, the PATH check passes.
    let output = context
        .command()
        .arg("doctor")
        .env("PATH", context.path_with_proxies())
        .output()
        .expect("test setup");
    assert!(
        stdout(&output).contains("ok       environment    path:"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn doctor_finds_a_broken_store() {
    let context = store();
    std::fs::remove_file(context.home().join("toolchains/go1.21.13/bin/go")).expect("test setup");
    std::fs::write(
        context.home().join("toolchains/go1.23.4/VERSION"),
        "go1.23.3\n",
    )
    .expect("test setup");
    let output = context
        .command()
        .arg("doctor")
        .env("PATH", context.path_with_proxies())
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(1));
    let text = context.filter(&stdout(&output));
    assert!(
        text.contains("go1.21.13 has no executable `bin/go`"),
        "{text}"
    );
    assert!(text.contains("says `go1.23.3`, not go1.23.4"), "{text}");
}

#[test]
fn mod_prints_what_go_mod_declares() {
    let context = context();
    write(
        &context.work().join("go.mod"),
        "module example.com/m\n\ngo 1.22.0\n\ntoolchain go1.22.10\n\nrequire (\n\tgolang.org/x/text v0.14.0 // indirect\n\texample.com/old v4.1.2+incompatible\n)\n\nreplace example.com/old => ./old\n\nretract v0.9.0 // broken build\n",
    );
    let output = context.run(["mod"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "module     example.com/m\ngo         1.22.0\ntoolchain  go1.22.10\nrequire    golang.org/x/text v0.14.0 (indirect)\nrequire    example.com/old v4.1.2+incompatible\nreplace    example.com/old => ./old\nretract    v0.9.0 (broken build)\n"
    );
    let output = context.run(["--json", "mod", "go.mod"]);
    let json = crate::json_schema::follows_schema("mod", &output.stdout);
    assert_eq!(json["Module"]["Path"], "example.com/m");
    assert_eq!(json["Require"][0]["Indirect"], true);
    assert_eq!(json["Retract"][0]["Rationale"], "broken build");
    write(
        &context.work().join("w/go.work"),
        "go 1.22\nuse ./a\nfrobnicate\n",
    );
    let output = context.run(["mod", "w/go.work"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`w/go.work` line 3: unknown directive `frobnicate`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn init_and_completions_print_scripts() {
    let context = context();
    for shell in ["bash", "zsh", "fish"] {
        let output = context.run(["init", shell]);
        assert!(output.status.success());
        let text = context.filter(&stdout(&output));
        assert!(text.contains("[ROOT]/home/bin"), "{text}");
        assert!(text.contains(&format!("completions {shell}")), "{text}");
        let output = context.run(["completions", shell]);
        assert!(output.status.success());
        assert!(stdout(&output).contains("goshift"));
    }
    let output = context.run(["init", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn doctor_reports_a_policy_that_does_not_parse() {
    let context = store();
    std::fs::write(
        context.home().join("policy.toml"),
        "support_window = \"two\"\n",
    )
    .unwrap();
    let output = context.run(["--json", "doctor"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let policy = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "policy")
        .unwrap();
    assert_eq!(policy["severity"], "error");
    assert!(
        policy["message"].as_str().unwrap().contains("policy.toml"),
        "{policy}"
    );
    assert!(
        policy["fix"]
            .as_str()
            .unwrap()
            .contains("goshift policy check")
    );
}

#[test]
fn doctor_finds_gotoolchain_stored_by_go_env_w() {
    let context = store();
    write(
        &context.root().join("config/go/env"),
        "GOTOOLCHAIN=go1.21.0+auto\nGOPRIVATE=example.com\n",
    );
    let output = context
        .command()
        .args(["--json", "doctor"])
        .env("PATH", context.path_with_proxies())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "gotoolchain")
        .unwrap();
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["class"], "configuration");
    assert_eq!(finding["fix"], "go env -u GOTOOLCHAIN");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("GOTOOLCHAIN=go1.21.0+auto")
    );
}

#[test]
fn a_toolchain_that_leads_back_to_the_proxy_is_stopped() {
    let context = store();
    let go = context.home().join("toolchains/go1.22.10/bin/go");
    std::fs::remove_file(&go).unwrap();
    std::os::unix::fs::symlink(context.home().join("bin/go"), &go).unwrap();
    let output = go_in_work(&context).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("leads back to goshift"),
        "{}",
        stderr(&output)
    );
}

fn go_in_work(context: &TestContext) -> Command {
    go(context, &context.work(), &["version"])
}
