//! Policy enforcement and auditing of the store's commands, through the CLI.

use crate::toolchain::StoreTest;
use crate::{audit_actions, audit_outcomes, audit_records};

const POLICY: &str = r#"require_reason = ["prod"]

[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102"]

[[blocked]]
versions = "1.20.7"
reason = "miscompiles"
overridable = false

[environments.prod]
allowed = ["1.21.13", "1.22"]
"#;

fn store_test() -> StoreTest {
    let test = StoreTest::new(&["1.20.7", "1.21.1", "1.21.13", "1.22.10"]);
    std::fs::write(test.home().join("policy.toml"), POLICY).expect("write the policy");
    test
}

/// The audit log's records as JSON values.
#[test]
fn install_refuses_a_blocked_version_and_records_the_refusal() {
    let test = store_test();
    let run = test.run(&["install", "1.21.1"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(
            "error: the policy `[ROOT]/home/policy.toml` refuses `install go1.21.1`\n  - 1.21.1 is blocked by `>=1.21.0, <1.21.3`: HTTP/2 rapid reset (GO-2023-2102)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "hint: if it must be done anyway, run it again with `--force --reason \"…\"`"
        ),
        "{}",
        run.stderr
    );
    assert!(!test.home().join("toolchains/go1.21.1").exists());
    let records = audit_records(&test.home());
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["action"], "install");
    assert_eq!(records[0]["subject"], "go1.21.1");
    assert_eq!(records[0]["outcome"], "refused");
    assert_eq!(records[0]["details"]["policy"]["verdict"], "deny");

    // `--force` alone is not enough; with a reason the override is done and recorded.
    let run = test.run(&["install", "1.21.1", "--force"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = test.run(&[
        "install",
        "1.21.1",
        "--force",
        "--reason",
        "reproduce INC-42",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr
            .contains("warning: overriding the policy for `install go1.21.1`")
    );
    let records = audit_outcomes(&test.home());
    let last = records.iter().rfind(|r| r["action"] == "install").unwrap();
    assert_eq!(last["outcome"], "success");
    assert_eq!(last["reason"], "reproduce INC-42");
    assert_eq!(last["to"], "go1.21.1");
    assert_eq!(last["details"]["policy"]["overridden"], true);
    assert_eq!(last["details"]["smoke_test"], "passed", "{last}");
    assert_eq!(last["details"]["verification"], "index", "{last}");
    assert_eq!(test.run(&["audit", "verify"]).code, Some(0));
}

#[test]
fn a_final_block_cannot_be_overridden() {
    let test = store_test();
    let run = test.run(&["install", "1.20.7", "--force", "--reason", "please"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("hint: the policy does not allow overriding this"),
        "{}",
        run.stderr
    );
}

#[test]
fn prod_needs_reasons_and_allowed_versions() {
    let test = store_test();
    test.ok(&["install", "1.21.13", "1.22.10"]);
    let run = test.run(&["--env", "prod", "use", "1.22.10"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("refuses `use go1.22.10` in environment `prod`: changes here need a reason"),
        "{}",
        run.stderr
    );
    let run = test.run(&["--env", "prod", "use", "1.22.10", "--reason", "CHG-7"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = test.run(&["--env", "prod", "rollback", "--reason", "CHG-8 regression"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let records = audit_outcomes(&test.home());
    assert_eq!(
        audit_actions(&records),
        [
            ("install", "success"),
            ("install", "success"),
            // The first version installed became the default.
            ("use", "success"),
            ("use", "refused"),
            ("use", "success"),
            ("rollback", "success"),
        ]
    );
    assert_eq!(records[2]["from"], serde_json::Value::Null);
    assert_eq!(records[2]["to"], "go1.21.13");
    assert_eq!(records[4]["from"], "go1.21.13");
    assert_eq!(records[4]["to"], "go1.22.10");
    assert_eq!(records[5]["from"], "go1.22.10");
    assert_eq!(records[5]["to"], "go1.21.13");
    assert_eq!(records[5]["reason"], "CHG-8 regression");
    // The actor comes from the OS, not from the environment.
    let output = test
        .command()
        .env("USER", "mallory")
        .env("LOGNAME", "mallory")
        .args(["audit", "log", "--json"])
        .output()
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_ne!(log[0]["actor"]["user"], "mallory");
}

#[test]
fn a_freeze_needs_force_and_reason_for_every_change() {
    let test = store_test();
    test.ok(&["install", "1.21.13", "1.22.10"]);
    std::fs::write(test.home().join("policy.toml"), "freeze = true\n").unwrap();
    let run = test.run(&["use", "1.22.10", "--reason", "CHG-9"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("a change freeze is in force"),
        "{}",
        run.stderr
    );
    let run = test.run(&["uninstall", "1.21.13", "--reason", "cleanup"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = test.run(&["use", "1.22.10", "--force", "--reason", "CHG-9 approved"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(test.home().join("toolchains/go1.21.13").exists());
}

#[test]
fn exec_refuses_a_denied_toolchain() {
    let test = store_test();
    test.ok(&["install", "1.21.13", "1.22.10"]);
    let run = test.run(&["--env", "prod", "exec", "1.21.13", "--", "go", "version"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    std::fs::write(
        test.home().join("policy.toml"),
        "[[blocked]]\nversions = \"1.21\"\nreason = \"end of life\"\n",
    )
    .unwrap();
    let run = test.run(&["exec", "1.21.13", "--", "go", "version"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("refuses to run go1.21.13\n  - 1.21.13 is blocked by `1.21`: end of life"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_invalid_policy_fails_closed() {
    let test = store_test();
    std::fs::write(
        test.home().join("policy.toml"),
        "[[blocked]]\nversions = 1\n",
    )
    .unwrap();
    let run = test.run(&["install", "1.22.10"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("policy.toml:2:12: invalid type"),
        "{}",
        run.stderr
    );
    assert!(!test.home().join("toolchains/go1.22.10").exists());
}
