//! `goshift use VERSION`.

use goshift_store::Action;

use super::switch::{Switch, switch};
use super::{ToolchainSettings, clean, installed_version};
use crate::cli::toolchain::{ChangeArgs, UseArgs};
use crate::exit::ExitStatus;
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
    let from = store.default_version()?;
    // About to change the default: `from` → `version`.
    let done = |was: &str| format!("Default is now go{version} (was {was})");
    switch(
        Switch {
            verb: "use",
            action: Action::Use,
            from,
            target: version.clone(),
            force,
            reason,
            details: serde_json::json!({}),
            done: &done,
        },
        settings,
        toolchain,
        lock,
    )
}
