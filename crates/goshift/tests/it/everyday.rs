//! The commands a Go developer runs every day: `each`, `pin`, `unpin`, aliases, help,
//! `--version`, completions.

use std::process::Output;

use goshift_testkit::TestContext;

/// A store with fake go1.21.13, go1.22.10 and go1.23.4, go1.22.10 the default, proxies
/// linked.
pub(crate) fn store() -> TestContext {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    for version in ["1.21.13", "1.22.10", "1.23.4"] {
        context.fake_toolchain(version);
    }
    context.set_default_toolchain("1.22.10");
    context.link_proxies(&["1.21.13", "1.22.10", "1.23.4"]);
    context
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn each_json_keeps_the_commands_output_out_of_the_json() {
    let context = store();
    let output = context.run([
        "--json",
        "each",
        "--installed",
        "--",
        "sh",
        "-c",
        "go version; echo to-stderr >&2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(&output)));
    let versions: Vec<&str> = json
        .as_array()
        .expect("an array of runs")
        .iter()
        .map(|run| run["version"].as_str().expect("a version"))
        .collect();
    assert_eq!(versions, ["1.21.13", "1.22.10", "1.23.4"]);
    let err = stderr(&output);
    for version in ["1.21.13", "1.22.10", "1.23.4"] {
        assert!(err.contains(&format!("fake go{version} version")), "{err}");
    }
    assert_eq!(
        err.lines().filter(|l| *l == "to-stderr").count(),
        3,
        "{err}"
    );
    // Without `--json`, the command's output stays on stdout, above the table.
    let output = context.run(["each", "1.21", "--", "go", "version"]);
    assert!(
        stdout(&output).starts_with("fake go1.21.13 version"),
        "{}",
        stdout(&output)
    );
}
