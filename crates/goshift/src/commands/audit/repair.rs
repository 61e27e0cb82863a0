//! `goshift audit repair`.

use anyhow::Context as _;
use goshift_audit::Actor;

use crate::commands::toolchain::{ToolchainSettings, clean};
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Cuts a torn last line off the audit log (recording the cut), then repairs the history and
/// reconciles interrupted toolchain changes under the store lock, as every store command
/// does before it changes anything. A damaged line before the last is not repaired: that is
/// not what an interrupted write leaves, and `goshift audit verify` names it.
pub(crate) fn repair(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let log = governance::audit_log(settings);
    let printer = &settings.printer;
    let torn = log
        .repair(Actor::from_os())
        .context("failed to repair the audit log")?;
    match &torn {
        Some(torn) => printer.status(format!(
            "Cut an incomplete last line off the audit log (line {}, {} bytes, sha256 {}); the repair is recorded",
            torn.line, torn.bytes, torn.sha256
        )),
        None => printer.status("The audit log ends with a complete record"),
    }
    let toolchain = ToolchainSettings::resolve(settings)?;
    let lock = toolchain.lock(settings)?;
    clean(settings, &toolchain, &lock)?;
    drop(lock);
    let open = log.open_intents().context("failed to read the audit log")?;
    for intent in &open {
        printer.warn(format!(
            "audit record {} (`{} {}`) has no outcome yet: {}",
            intent.record.seq,
            intent.record.action,
            intent.record.subject,
            if intent.running {
                "its process is still running"
            } else if intent.record.action.starts_with("fleet.") {
                "the next `goshift fleet` change (`set`, `rollout`, `pause`, `resume`, `abort`) records what etcd shows"
            } else {
                "`goshift svc status` shows the service's state; its next `goshift svc upgrade` records it"
            }
        ));
    }
    Ok(ExitStatus::Success)
}
