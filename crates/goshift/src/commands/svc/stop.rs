//! `goshift svc stop`.

use goshift_supervisor::Request;

use crate::cli::ControlArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Asks the supervisor to drain and stop every service and exit.
pub(crate) fn stop(args: ControlArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let ControlArgs { control } = args;
    let client = super::client(control, settings);
    super::ask(&client, &Request::Stop, |_| {})?;
    settings
        .printer
        .status("the supervisor is draining and stopping");
    Ok(ExitStatus::Success)
}
