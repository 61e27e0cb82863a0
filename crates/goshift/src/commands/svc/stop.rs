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
    // The intent is recorded before the request is sent: the supervisor records each
    // service's stop as soon as it is done, and the log must read request first, stops after.
    let intent = governance::begin(settings, &change)?;
    if let Err(error) = super::ask(&client, &Request::Stop, |_| {}) {
        let details = serde_json::json!({ "error": format!("{error:#}") });
        governance::finish(settings, intent, &change, Outcome::Failure, details)?;
        return Err(error);
    }
    governance::finish(
        settings,
        intent,
        &change,
        Outcome::Success,
        serde_json::Value::Null,
    )?;
    settings
        .printer
        .status("the supervisor is draining and stopping");
    Ok(ExitStatus::Success)
}
