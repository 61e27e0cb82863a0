//! `goshift use VERSION`.

use goshift_store::Action;

use super::switch::{Switch, switch};
use super::{ToolchainSettings, clean, installed_version};
use crate::cli::toolchain::{ChangeArgs, UseArgs};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// A switch of the default, from the command line or from the fleet agent.
#[derive(Debug)]
pub(crate) struct Request {
    /// The installed version as typed (`1.22.10`, or a line such as `1.22`).
    pub(crate) requested: String,
    /// Whether to override a policy refusal.
    pub(crate) force: bool,
    /// Why, for the audit log and the history.
    pub(crate) reason: Option<String>,
}

impl From<UseArgs> for Request {
    fn from(args: UseArgs) -> Self {
        let UseArgs {
            requested,
            force,
            change: ChangeArgs { reason },
        } = args;
        Self {
            requested,
            force,
            reason,
        }
    }
}

/// Makes an installed version the default.
pub(crate) fn use_version(
    request: Request,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let Request {
        requested,
        force,
        reason,
    } = request;
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
