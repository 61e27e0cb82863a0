//! Governance through the CLI: policy check/show/explain, audit log/verify/head/export.

use std::path::Path;
use std::process::Output;

use goshift_audit::{Actor, AuditLog, Entry, Outcome};
use goshift_testkit::TestContext;

const POLICY: &str = r#"support_window = 2
require_reason = ["prod"]

[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102", "CVE-2023-39325"]

[environments.prod]
allowed = ["1.21.13", "1.22.10"]
default = "1.21.13"
since = "2024-03-01"
status = "verified"
notes = "all vendored modules build"

[environments.ci]
default = "1.22.10"
status = "observing"
"#;

fn context() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_goshift"))
}

fn with_policy(text: &str) -> TestContext {
    let context = context();
    std::fs::write(context.home().join("policy.toml"), text).expect("write the policy");
    context
}

fn stdout(context: &TestContext, output: &Output) -> String {
    context.filter(&String::from_utf8_lossy(&output.stdout))
}

fn stderr(context: &TestContext, output: &Output) -> String {
    context.filter(&String::from_utf8_lossy(&output.stderr))
}

#[test]
fn policy_check_accepts_a_valid_policy() {
    let context = with_policy(POLICY);
    let output = context.run(["policy", "check"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        stderr(&context, &output)
    );
    assert_eq!(
        stderr(&context, &output),
        "`[ROOT]/home/policy.toml` is a valid policy: 1 blocked range, 2 environments\n"
    );
}

#[test]
fn policy_check_lists_every_problem_with_line_and_column() {
    let context = context();
    std::fs::write(
        context.work().join("bad.toml"),
        "support_window = 0\n[environments.prod]\nallowed = [\"1.22\"]\ndefault = \"1.21.13\"\nsince = \"2024-02-30\"\n",
    )
    .unwrap();
    let output = context.run(["policy", "check", "bad.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&context, &output),
        "bad.toml:1:18: `support_window` must be a whole number of Go lines, 1 or more, not 0\n\
         bad.toml:4:11: `default = \"1.21.13\"` is not in this environment's `allowed` list: add it there or pick an allowed version\n\
         bad.toml:5:9: `since = \"2024-02-30\"` is not a date: write it as YYYY-MM-DD\n"
    );
    assert_eq!(
        stderr(&context, &output),
        "`bad.toml` is not a valid policy: 3 problems\n"
    );
}

#[test]
fn policy_check_reports_syntax_errors_as_json() {
    let context = context();
    std::fs::write(context.work().join("bad.toml"), "[[blocked]\nreason = 1\n").unwrap();
    let output = context.run(["--json", "policy", "check", "bad.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["line"], 1);
    assert_eq!(report["errors"][0]["column"], 11);
}

#[test]
fn policy_check_without_a_policy_is_a_usage_error() {
    let context = context();
    let output = context.run(["policy", "check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&context, &output).contains("error: no policy file found"));
    let output = context.run(["policy", "check", "missing.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&context, &output)
            .contains("failed to read the policy file `[ROOT]/cwd/missing.toml`")
    );
}

#[test]
fn commands_refuse_an_invalid_policy_in_force() {
    let context = with_policy("freeze = \"yes\"\n");
    let output = context.run(["policy", "show"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&context, &output);
    assert!(
        stderr.contains(
            "[ROOT]/home/policy.toml:1:10: invalid type: string \"yes\", expected `true` or `false`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: fix the policy"), "{stderr}");
}

#[test]
fn policy_show_prints_the_status_board() {
    let context = with_policy(POLICY);
    let output = context.run(["policy", "show"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&context, &output),
        "ENVIRONMENT  VERSION  SINCE       STATUS     NOTES\n\
         ci           1.22.10  -           observing\n\
         prod         1.21.13  2024-03-01  verified   all vendored modules build\n"
    );
    let output = context.run(["--json", "policy", "show"]);
    let board = crate::json_schema::follows_schema("policy-show", &output.stdout);
    assert_eq!(board[1]["environment"], "prod");
    assert_eq!(board[1]["since"], "2024-03-01");
}

#[test]
fn policy_explain_lists_every_rule() {
    let context = with_policy(POLICY);
    let output = context.run(["policy", "explain", "1.21.1", "--env", "prod"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        stderr(&context, &output)
    );
    assert_eq!(
        stdout(&context, &output),
        "go1.21.1: deny in environment `prod` (policy `[ROOT]/home/policy.toml`)\n  \
         deny  blocked ([ROOT]/home/policy.toml:4): 1.21.1 is blocked by `>=1.21.0, <1.21.3`: HTTP/2 rapid reset (GO-2023-2102, CVE-2023-39325)\n  \
         allow support-window: 1.21.1 is within the newest 2 Go lines (go1.21 and later, newest release 1.22.10)\n  \
         deny  allowed ([ROOT]/home/policy.toml:9): 1.21.1 is not allowed in `prod` (allowed: 1.21.13, 1.22.10)\n  \
         allow require-reason: changes in `prod` need `--reason`\n  \
         a change to this version needs `--force --reason \"…\"`\n"
    );
    // The environment can also come from GOSHIFT_ENV or the config file.
    let output = context
        .command()
        .env("GOSHIFT_ENV", "ci")
        .args(["--json", "policy", "explain", "go1.19.13"])
        .output()
        .unwrap();
    let decision: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decision["environment"], "ci");
    assert_eq!(decision["verdict"], "deny");
    assert_eq!(decision["reasons"][0]["rule"], "support-window");
    std::fs::create_dir_all(context.root().join("config/goshift")).unwrap();
    std::fs::write(
        context.root().join("config/goshift/config.toml"),
        "environment = \"staging\"\n",
    )
    .unwrap();
    let output = context.run(["--json", "policy", "explain", "1.22.10"]);
    let decision: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decision["environment"], "staging");
    assert_eq!(decision["verdict"], "warn");
    assert_eq!(decision["reasons"][1]["rule"], "unknown-environment");
}

#[test]
fn policy_explain_rejects_a_bad_version() {
    let context = with_policy(POLICY);
    let output = context.run(["policy", "explain", "1.x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&context, &output).contains("`1.x` is not a Go version"));
}

/// Writes `n` records into the sandbox's audit log, as mutating commands do.
fn audit_log_with(context: &TestContext, n: u64) -> AuditLog {
    let log = AuditLog::open(context.home().join("audit.log"));
    for i in 1..=n {
        let actor = Actor {
            uid: 1000,
            user: "ana".to_owned(),
            host: "build-1".to_owned(),
        };
        let action = if i % 2 == 0 { "use" } else { "install" };
        let mut entry = Entry::new(actor, action, format!("go1.22.{i}"), Outcome::Success);
        entry.reason = Some(format!("ticket {i}, \"urgent\""));
        log.append(entry).expect("append a record");
    }
    log
}

fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let text = std::fs::read_to_string(path).expect("read the log");
    let mut lines: Vec<String> = text.lines().map(ToOwned::to_owned).collect();
    edit(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").expect("write the log");
}

#[test]
fn audit_verify_head_and_tampering() {
    let context = context();
    let log = audit_log_with(&context, 6);
    let head = log.head().unwrap().unwrap();

    let output = context.run(["audit", "verify"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&context, &output),
        format!(
            "audit log `[ROOT]/home/audit.log` is intact: 6 records, head 6 {}\n",
            head.hash
        )
    );
    let output = context.run(["audit", "head"]);
    assert_eq!(stdout(&context, &output), format!("6 {}\n", head.hash));
    let anchor = format!("6:{}", head.hash);
    assert_eq!(
        context
            .run(["audit", "verify", "--anchor", &anchor])
            .status
            .code(),
        Some(0)
    );

    rewrite(log.path(), |lines| {
        lines[3] = lines[3].replace("ticket 4", "ticket 5");
    });
    let output = context.run(["audit", "verify"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&context, &output);
    assert!(
        text.starts_with("[ROOT]/home/audit.log:4: `hash` is "),
        "{text}"
    );

    // Cut the log back to a consistent prefix: only the anchor notices.
    rewrite(log.path(), |lines| lines.truncate(3));
    assert_eq!(context.run(["audit", "verify"]).status.code(), Some(0));
    let output = context.run(["--json", "audit", "verify", "--anchor", &anchor]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["line"], 4);

    let output = context.run(["audit", "verify", "--anchor", "six"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&context, &output).contains("`six` is not an anchor"));
}

#[test]
fn audit_log_filters_and_exports() {
    let context = context();
    audit_log_with(&context, 4);
    let output = context.run(["audit", "log", "--action", "use"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&context, &output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("    2 "), "{text}");
    assert!(
        lines[0].ends_with(" ana@build-1 use go1.22.2 success reason=\"ticket 2, \\\"urgent\\\"\""),
        "{text}"
    );

    let output = context.run(["--json", "audit", "log", "--since", "1h"]);
    let records = crate::json_schema::follows_schema("audit-log", &output.stdout);
    assert_eq!(records.as_array().unwrap().len(), 4);
    let output = context.run(["--json", "audit", "log", "--since", "2999-01-01"]);
    let records: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(records.as_array().unwrap().len(), 0);
    let output = context.run(["audit", "log", "--since", "soon"]);
    assert_eq!(output.status.code(), Some(2));

    let output = context.run(["audit", "export", "--format", "jsonl"]);
    assert_eq!(
        output.stdout,
        std::fs::read(context.home().join("audit.log")).unwrap()
    );
    let output = context.run(["audit", "export", "--format", "csv"]);
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "seq,time,uid,user,host,action,subject,from,to,reason,outcome,details,prev,hash"
    );
    assert_eq!(lines.len(), 5);
    assert!(
        lines[1].contains(
            ",1000,ana,build-1,install,go1.22.1,,,\"ticket 1, \"\"urgent\"\"\",success,{},0000"
        ),
        "{}",
        lines[1]
    );
}
