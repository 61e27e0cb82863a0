//! `goshift rollback [--to N]`.

use goshift_store::Action;

use super::switch::{Switch, switch};
use super::{ToolchainSettings, clean, store_error};
use crate::cli::toolchain::RollbackArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Switches the default back to the previous one, or to the version switch N set.
pub(crate) fn rollback(
    args: &RollbackArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let RollbackArgs {
        to,
        force,
        ref change,
    } = *args;
    let reason = change.reason.clone();
    let store = &toolchain.store;
    let lock = toolchain.lock(settings)?;
    clean(settings, toolchain, &lock)?;
    let from = store.default_version().map_err(|e| store_error(e, None))?;
    let target = store
        .rollback_target(to)
        .map_err(|e| store_error(e, None))?;
    // About to change the default: `from` → `target`.
    let done = |was: &str| format!("Rolled back the default: {was} -> go{target}");
    switch(
        Switch {
            verb: "rollback",
            action: Action::Rollback,
            from,
            target: target.clone(),
            force,
            reason,
            details: serde_json::json!({ "to_switch": to }),
            done: &done,
        },
        settings,
        toolchain,
        lock,
    )
}
