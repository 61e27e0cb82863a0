//! `svc rollback` and `svc stop` killed at each of their phase boundaries: the audit log
//! always accounts for what the supervisor serves, and the next command reconciles the
//! interrupted change as it finds it.

use goshift_testkit::TestContext;
use goshift_testkit::service::service_variant;

use crate::service::{Running, start};
use crate::service_crash::{assert_interrupted, current};
use crate::toolchain_crash::kill_command_at;
use crate::{audit_outcomes, audit_records};

/// The intents in the log, and whether `audit verify` reports one unreconciled (exit 1).
fn assert_open(context: &TestContext, open: bool, what: &str) {
    let verify = context.run(["audit", "verify"]);
    assert_eq!(
        verify.status.code(),
        Some(i32::from(open)),
        "{what}: {verify:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout).contains("unreconciled"),
        open,
        "{what}: {verify:?}"
    );
}

/// The records reconciled by a later command.
fn reconciled(context: &TestContext) -> Vec<serde_json::Value> {
    audit_outcomes(&context.home())
        .into_iter()
        .filter(|r| r["details"]["reconciled"] == true)
        .collect()
}

/// A supervisor that is killed when the test ends, failed or not (a leaked one would hold
/// the test's output open).
struct Supervised(Running);

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn supervise(context: &TestContext) -> Supervised {
    Supervised(start(context, "2s"))
}

#[test]
fn a_kill_at_any_phase_of_svc_rollback_is_accounted_for() {
    for phase in ["intent-recorded", "requested", "outcome-recorded"] {
        let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
        let mut supervised = supervise(&context);
        let running = &mut supervised.0;
        let v2 = service_variant(&context.work(), "v2", None);
        let v2 = v2.to_str().unwrap();
        let upgrade = context.run(["svc", "upgrade", "api", v2]);
        assert_eq!(upgrade.status.code(), Some(0), "{phase}: {upgrade:?}");
        running.until("upgraded");
        let home = context.home();
        let upgraded = current(&home, "api");
        let mut command = context.command();
        command.args(["svc", "rollback", "api"]);
        kill_command_at(command, phase);
        if phase == "requested" {
            // The supervisor carries the rollback out without its client.
            running.until("upgraded");
            assert_ne!(current(&home, "api"), upgraded, "{phase}");
        }
        let rollback_intents = audit_records(&home)
            .iter()
            .filter(|r| r["outcome"] == "intent" && r["action"] == "svc.rollback")
            .count();
        assert_eq!(rollback_intents, 1, "{phase}");
        let open = phase != "outcome-recorded";
        assert_open(&context, open, phase);
        // The next change records the dead one as found, then does its own.
        let found = current(&home, "api");
        let again = context.run(["svc", "upgrade", "api", v2]);
        assert_eq!(again.status.code(), Some(0), "{phase}: {again:?}");
        let reconciled = reconciled(&context);
        assert_interrupted(&reconciled, "svc.rollback", open, found.as_deref(), phase);
        let records = audit_outcomes(&home);
        let last = records.last().unwrap();
        assert_eq!(last["action"], "svc.upgrade", "{phase}");
        assert_eq!(
            last["to"].as_str(),
            current(&home, "api").as_deref(),
            "{phase}: {last:#}"
        );
        assert_open(&context, false, phase);
    }
}

#[test]
fn a_kill_at_any_phase_of_svc_stop_is_accounted_for() {
    for phase in ["intent-recorded", "requested", "outcome-recorded"] {
        let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
        let mut supervised = supervise(&context);
        let running = &mut supervised.0;
        let mut command = context.command();
        command.args(["svc", "stop"]);
        kill_command_at(command, phase);
        let stopped = phase != "intent-recorded";
        if stopped {
            running.until("stopped");
            running.child.wait().unwrap();
        }
        assert_open(&context, phase != "outcome-recorded", phase);
        // The next stop records the dead one as found: the supervisor stopped or not.
        let again = context.run(["svc", "stop"]);
        assert_eq!(
            again.status.code(),
            Some(if stopped { 2 } else { 0 }),
            "{phase}: {again:?}"
        );
        let reconciled = reconciled(&context);
        if phase == "outcome-recorded" {
            assert!(reconciled.is_empty(), "{phase}: {reconciled:#?}");
        } else {
            assert_eq!(reconciled.len(), 1, "{phase}: {reconciled:#?}");
            assert_eq!(reconciled[0]["action"], "svc.stop");
            let expected = if stopped { "success" } else { "failure" };
            assert_eq!(reconciled[0]["outcome"], expected, "{phase}");
            assert_eq!(
                reconciled[0]["details"]["found"]["supervisor"],
                if stopped {
                    "not answering"
                } else {
                    "answering"
                },
                "{phase}"
            );
        }
        assert_open(&context, false, phase);
        if !stopped {
            running.until("stopped");
        }
        let _ = running.child.wait();
    }
}

#[test]
fn another_user_reaching_the_control_socket_is_told_it_was_refused_and_why() {
    let Some(uid) = crate::integrity_plants::other_uid() else {
        return;
    };
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    let _running = supervise(&context);
    let mut command = context.command();
    command.args(["svc", "status"]);
    {
        use std::os::unix::process::CommandExt as _;
        command.uid(uid).gid(uid);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused the connection: permission denied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the supervisor answers only the user it runs as"),
        "{stderr}"
    );
    assert!(!stderr.contains("no supervisor is listening"), "{stderr}");
}

#[test]
fn a_link_planted_for_the_services_tree_is_refused_and_nothing_is_written_through_it() {
    for name in ["services", "services/api", "services/api/releases"] {
        let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
        let _running = supervise(&context);
        let home = context.home();
        let outside = context.work().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::rename(home.join(name), context.work().join("moved")).unwrap();
        std::os::unix::fs::symlink(&outside, home.join(name)).unwrap();
        let v2 = service_variant(&context.work(), "v2", None);
        let upgrade = context.run(["svc", "upgrade", "api", v2.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&upgrade.stderr);
        assert_eq!(upgrade.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("/home/{name}` is a symbolic link")),
            "{name}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "{name}: something was written through the link"
        );
    }
}
