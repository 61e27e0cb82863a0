//! `goshift prune --keep N`.

use goshift_version::GoVersion;

use super::{ToolchainSettings, clean, refresh_links};
use crate::cli::toolchain::PruneArgs;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Removes all but the newest N versions, never the default.
pub(crate) fn prune(
    args: &PruneArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let PruneArgs {
        keep,
        force,
        ref change,
    } = *args;
    let reason = change.reason.clone();
    let store = &toolchain.store;
    let lock = toolchain.lock(settings)?;
    clean(settings, toolchain, &lock)?;
    let doomed = store.prune_candidates(keep)?;
    // About to remove every version in `doomed`.
    let names: Vec<String> = doomed.iter().map(GoVersion::toolchain_name).collect();
    let mut change = Change::new("prune", names.join(", ")).overrides(force, reason);
    if !doomed.is_empty() {
        governance::authorize(settings, &mut change)?;
        governance::audited(
            settings,
            &change,
            || {
                for version in &doomed {
                    store.uninstall(&lock, version, false)?;
                }
                Ok(())
            },
            |()| serde_json::json!({ "keep": keep, "removed": names }),
        )?;
    }
    refresh_links(toolchain, &lock)?;
    drop(lock);
    // Changed: `doomed` are gone.
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&serde_json::json!({ "removed": doomed }))?;
    } else if doomed.is_empty() {
        printer.status("Nothing to prune");
    } else {
        let names: Vec<String> = doomed.iter().map(GoVersion::toolchain_name).collect();
        printer.status(format!("Removed {}", names.join(", ")));
    }
    Ok(ExitStatus::Success)
}
