//! `goshift uninstall VERSION [--remove-default] [--force --reason TEXT]`.

use super::{ToolchainSettings, clean, installed_version, refresh_links};
use crate::cli::toolchain::{ChangeArgs, UninstallArgs};
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Removes an installed version; the default only with `--remove-default`.
pub(crate) fn uninstall(
    args: UninstallArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let UninstallArgs {
        requested,
        remove_default,
        force,
        change: ChangeArgs { reason },
    } = args;
    let store = &toolchain.store;
    let lock = toolchain.lock(settings)?;
    clean(settings, toolchain, &lock)?;
    let version = installed_version(store, &requested)?;
    if force && !remove_default && store.default_version().ok().flatten().as_ref() == Some(&version)
    {
        // `--force` used to remove the default too; say what does now (for one release).
        return Err(hinted(
            format!("go{version} is the default, and `--force` no longer removes the default"),
            format!(
                "switch to another version first (`goshift use VERSION`), or pass `--remove-default` to remove go{version} and leave no default (`--force` only overrides a policy refusal now)"
            ),
        ));
    }
    // Its archive stays in the cache for a later reinstall; say so afterwards.
    let cached = store
        .manifest(&version)
        .ok()
        .and_then(|manifest| manifest.archive_sha256)
        .and_then(|sha256| store.cached_archive(&sha256))
        .and_then(|path| Some((goshift_fs::fs::metadata(&path).ok()?.len(), path)));
    // About to remove `version`. Removing a version installs or selects none, so only the
    // freeze and required reasons apply.
    let mut change = Change::new("uninstall", version.toolchain_name())
        .states(Some(version.toolchain_name()), None)
        .overrides(force, reason);
    governance::authorize(settings, &mut change)?;
    let switch = governance::audited(
        settings,
        &change,
        || {
            store
                .uninstall(&lock, &version, remove_default)
                .map_err(anyhow::Error::from)
        },
        |switch| serde_json::json!({ "default_removed": switch.is_some() }),
    )?;
    refresh_links(toolchain, &lock)?;
    drop(lock);
    // Changed: `version` is gone (and the default with it, when `switch` is set).
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "uninstalled": version,
            "default_removed": switch.is_some(),
            "cached_archive_path": cached.as_ref().map(|(_, path)| path),
        }))?;
    } else {
        printer.status(format!("Uninstalled go{version}"));
        if let Some((bytes, _)) = &cached {
            printer.status(format!(
                "Kept its verified archive in the cache ({}) for a reinstall without download; `goshift cache clean` removes cached archives",
                super::progress::mib(*bytes)
            ));
        }
        if switch.is_some() {
            printer.warn(format!(
                "go{version} was the default; there is no default now (set one with `goshift use VERSION`)"
            ));
        }
    }
    Ok(ExitStatus::Success)
}
