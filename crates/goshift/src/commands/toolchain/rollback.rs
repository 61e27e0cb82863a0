//! `goshift rollback [--to N]`.

use goshift_store::Action;

use super::{ToolchainSettings, clean, name_or_none, refresh_links, store_error};
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
        force: _,
        change: _,
    } = *args;
    let store = &toolchain.store;
    let lock = toolchain.lock(settings)?;
    clean(settings, toolchain, &lock)?;
    let from = store.default_version().map_err(|e| store_error(e, None))?;
    let target = store
        .rollback_target(to)
        .map_err(|e| store_error(e, None))?;
    // About to change the default: `from` → `target`.
    let switch = store
        .set_default(&lock, &target, Action::Rollback)
        .map_err(|e| store_error(e, None))?;
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
