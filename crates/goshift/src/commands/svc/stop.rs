//! `goshift svc stop`.

use goshift_audit::Outcome;
use goshift_supervisor::Request;

use crate::cli::ControlArgs;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Asks the supervisor to drain and stop every service and exit.
pub(crate) fn stop(args: ControlArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let ControlArgs { control } = args;
    let client = super::client(control, settings);
    let mut change = Change::new("svc.stop", "supervisor");
    governance::authorize(settings, &mut change)?;
    super::ask(&client, &Request::Stop, |_| {})?;
    // Recorded as accepted; the supervisor records each service's stop when it is done.
    governance::record(settings, &change, Outcome::Success, serde_json::Value::Null)?;
    settings
        .printer
        .status("the supervisor is draining and stopping");
    Ok(ExitStatus::Success)
}
