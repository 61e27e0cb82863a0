//! `goshift fleet history SERVICE --env E`.

use super::{connect, fleet_error, target_environment};
use crate::cli::RolloutHistoryArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Lists every rollout of SERVICE, oldest first.
pub(crate) fn history(
    args: RolloutHistoryArgs,
    etcd: crate::cli::EtcdArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let RolloutHistoryArgs { service } = args;
    let environment = target_environment(settings)?;
    let fleet = connect(etcd, settings)?;
    let rollouts = fleet.history(&environment, &service).map_err(fleet_error)?;
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&rollouts)?;
        return Ok(ExitStatus::Success);
    }
    for rollout in &rollouts {
        printer.data(format!(
            "{} {:<9} {} sha256 {} by {} at {}{}",
            rollout.id,
            rollout.state.as_str(),
            rollout.artifact,
            rollout.sha256,
            rollout.started.changed_by,
            rollout.started.changed_at,
            rollout
                .state_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    Ok(ExitStatus::Success)
}
