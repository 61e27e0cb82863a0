//! `goshift rollback [--to N]`.

use goshift_store::Action;
use goshift_version::GoVersion;

use super::{ToolchainSettings, clean, name_or_none, refresh_links, store_error};
use crate::cli::toolchain::RollbackArgs;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
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
    let mut change = Change::new("rollback", target.toolchain_name())
        .version(target.clone())
        .states(
            from.as_ref().map(GoVersion::toolchain_name),
            Some(target.toolchain_name()),
        )
        .overrides(force, reason);
    governance::authorize(settings, &mut change)?;
    let switch = governance::audited(
        settings,
        &change,
        || {
            store
                .set_default(&lock, &target, Action::Rollback)
                .map_err(|e| store_error(e, None))
        },
        |switch| serde_json::json!({ "history_seq": switch.seq, "to_switch": to }),
    )?;
    refresh_links(toolchain, &lock)?;
    drop(lock);
    // Changed: the default is `target`.
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&switch)?;
    } else if switch.seq.is_none() {
        printer.status(format!("go{target} is already the default"));
    } else {
        printer.status(format!(
            "Rolled back the default: {} -> go{target}",
            name_or_none(from.as_ref())
        ));
    }
    Ok(ExitStatus::Success)
}
