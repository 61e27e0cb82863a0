//! `goshift svc incident ID`.

use goshift_supervisor::incident::{self, IncidentError};

use crate::cli::SvcIncidentArgs;
use crate::error::WithHint;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints one incident's `report.md`, or its `report.json` with `--json`.
pub(crate) fn incident(
    args: SvcIncidentArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SvcIncidentArgs { id } = args;
    let found = match incident::read(&settings.dirs.home, &id) {
        Ok(found) => found,
        Err(error @ (IncidentError::NotFound { .. } | IncidentError::BadName { .. })) => {
            return Err(error).hint("`goshift svc incidents` lists the recorded incidents");
        }
        Err(error) => return Err(error.into()),
    };
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&found.report)?;
    } else {
        printer.data(incident::markdown(&found)?.trim_end());
    }
    Ok(ExitStatus::Success)
}
