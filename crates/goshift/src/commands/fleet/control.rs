//! `goshift fleet pause|resume|abort SERVICE --env E --reason R`.

use goshift_fleet::model::RolloutState;

use super::{connect, fleet_error, record, stamp, target_environment};
use crate::cli::RolloutControlArgs;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Which change.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Pause,
    Resume,
    Abort,
}

/// Pauses, resumes or aborts the rollout of SERVICE.
pub(crate) fn control(
    args: RolloutControlArgs,
    etcd: crate::cli::EtcdArgs,
    verb: Verb,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let RolloutControlArgs { service, reason } = args;
    let environment = target_environment(settings)?;
    let stamp = stamp(&reason)?;
    let (action, wanted) = match verb {
        Verb::Pause => ("fleet.pause", RolloutState::Paused),
        Verb::Resume => ("fleet.resume", RolloutState::Running),
        Verb::Abort => ("fleet.abort", RolloutState::Aborted),
    };
    let fleet = connect(etcd, settings)?;
    let mut change =
        Change::new(action, format!("{service}@{environment}")).overrides(false, Some(reason));
    governance::authorize(settings, &mut change)?;
    let rollout = fleet
        .change_rollout(&environment, &service, wanted, stamp)
        .map_err(fleet_error)?;
    change.to = Some(rollout.state.as_str().to_owned());
    record(
        settings,
        &fleet,
        &change,
        &serde_json::json!({ "rollout": rollout.id }),
    )?;
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&rollout)?;
    } else {
        printer.status(format!(
            "Rollout {} of `{service}` in `{environment}` is now {}",
            rollout.id,
            rollout.state.as_str()
        ));
    }
    Ok(ExitStatus::Success)
}
