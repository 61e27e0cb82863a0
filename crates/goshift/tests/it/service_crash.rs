//! `svc upgrade` killed at each of its phase boundaries: the audit log always accounts for
//! the service's current release.

use std::path::Path;

use goshift_testkit::TestContext;
use goshift_testkit::service::service_variant;

use crate::service::start;
use crate::toolchain_crash::kill_command_at;
use crate::{audit_outcomes, audit_records};

/// The release `services/<name>/current` points at.
pub(crate) fn current(home: &Path, name: &str) -> Option<String> {
    let target = std::fs::read_link(home.join("services").join(name).join("current")).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

#[test]
fn a_kill_at_any_phase_of_svc_upgrade_is_accounted_for() {
    for phase in ["staged", "intent-recorded", "requested", "outcome-recorded"] {
        let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
        let mut running = start(&context, "2s");
        let v2 = service_variant(&context.work(), "v2", None);
        let v2 = v2.to_str().unwrap();
        let mut command = context.command();
        command.args(["svc", "upgrade", "api", v2]);
        kill_command_at(command, phase);
        if phase == "requested" {
            // The supervisor carries the upgrade out without its client.
            running.until("upgraded");
        }
        let home = context.home();
        let intents = audit_records(&home)
            .iter()
            .filter(|r| r["outcome"] == "intent")
            .count();
        let open = matches!(phase, "intent-recorded" | "requested");
        let verify = context.run(["audit", "verify"]);
        assert_eq!(
            verify.status.code(),
            Some(i32::from(open)),
            "{phase}: {verify:?}"
        );
        if open {
            assert!(
                String::from_utf8_lossy(&verify.stdout).contains("unreconciled"),
                "{phase}: {verify:?}"
            );
        }
        assert_eq!(intents, usize::from(phase != "staged"), "{phase}");
        // The next upgrade records the dead one as found, then does its own.
        let found = current(&home, "api");
        let again = context.run(["svc", "upgrade", "api", v2]);
        assert_eq!(again.status.code(), Some(0), "{phase}: {again:?}");
        let records = audit_outcomes(&home);
        let reconciled: Vec<_> = records
            .iter()
            .filter(|r| r["details"]["reconciled"] == true)
            .cloned()
            .collect();
        assert_interrupted(&reconciled, "svc.upgrade", open, found.as_deref(), phase);
        // The last outcome names the release now current.
        let last = records.last().unwrap();
        assert_eq!(last["action"], "svc.upgrade", "{phase}");
        assert_eq!(
            last["to"].as_str(),
            current(&home, "api").as_deref(),
            "{phase}: {last:#}"
        );
        let verify = context.run(["audit", "verify"]);
        assert_eq!(verify.status.code(), Some(0), "{phase}: {verify:?}");
        running.child.kill().unwrap();
        running.child.wait().unwrap();
    }
}

/// With an intent left `open` by the kill at `phase`: exactly one reconciled record, of
/// `action`, `interrupted`, naming the release `found` in effect. Without one: none.
pub(crate) fn assert_interrupted(
    reconciled: &[serde_json::Value],
    action: &str,
    open: bool,
    found: Option<&str>,
    phase: &str,
) {
    if open {
        assert_eq!(reconciled.len(), 1, "{phase}: {reconciled:#?}");
        assert_eq!(reconciled[0]["action"], action);
        assert_eq!(reconciled[0]["outcome"], "interrupted");
        assert_eq!(
            reconciled[0]["details"]["found"]["current_release"].as_str(),
            found,
            "{phase}: the record does not name the release in effect"
        );
    } else {
        assert!(reconciled.is_empty(), "{phase}: {reconciled:#?}");
    }
}
