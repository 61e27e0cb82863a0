//! `goshift fleet pause|resume|abort SERVICE --env E --reason R`.

use goshift_fleet::model::RolloutState;

use super::{connect, stamp, target_environment, write_ahead};
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
    change.to = Some(wanted.as_str().to_owned());
    let (rollout, _) = write_ahead(
        settings,
        &fleet,
        &change,
        serde_json::json!({ "environment": environment, "service": service }),
        |copy| fleet.change_rollout(&environment, &service, wanted, stamp, Some(copy)),
        |(_, written)| *written,
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
