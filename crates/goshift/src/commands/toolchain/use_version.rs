//! `goshift use VERSION`.

use goshift_store::Action;
use goshift_version::GoVersion;

use super::{
    ToolchainSettings, clean, installed_version, name_or_none, refresh_links, store_error,
};
use crate::cli::toolchain::{ChangeArgs, UseArgs};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Makes an installed version the default.
pub(crate) fn use_version(
    args: UseArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let UseArgs {
        requested,
        force,
        change: ChangeArgs { reason },
    } = args;
    let store = &toolchain.store;
    let lock = toolchain.lock(settings)?;
    clean(settings, toolchain, &lock)?;
    let version = installed_version(store, &requested)?;
    let from = store.default_version().map_err(|e| store_error(e, None))?;
    // About to change the default: `from` → `version`.
    let mut change = Change::new("use", version.toolchain_name())
        .version(version.clone())
        .states(
            from.as_ref().map(GoVersion::toolchain_name),
            Some(version.toolchain_name()),
        )
        .overrides(force, reason);
    governance::authorize(settings, &mut change)?;
    let switch = governance::audited(
        settings,
        &change,
        || {
            store
                .set_default(&lock, &version, Action::Use)
                .map_err(|e| store_error(e, None))
        },
        |switch| serde_json::json!({ "history_seq": switch.seq }),
    )?;
    refresh_links(toolchain, &lock)?;
    drop(lock);
    // Changed: the default is `version`.
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&switch)?;
    } else if switch.seq.is_none() {
        printer.status(format!("go{version} is already the default"));
    } else {
        printer.status(format!(
            "Default is now go{version} (was {})",
            name_or_none(from.as_ref())
        ));
    }
    Ok(ExitStatus::Success)
}
