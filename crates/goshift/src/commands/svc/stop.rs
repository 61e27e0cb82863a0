//! `goshift svc stop`.

use goshift_audit::Outcome;
use goshift_supervisor::{Client, Request};

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
    reconcile_stops(&client, settings)?;
    // The intent is recorded before the request is sent: the supervisor records each
    // service's stop as soon as it is done, and the log must read request first, stops after.
    let intent = governance::begin(settings, &change)?;
    if let Err(error) = super::ask(&client, &Request::Stop, |_| {}) {
        let details = serde_json::json!({ "error": format!("{error:#}") });
        governance::finish(settings, intent, &change, Outcome::Failure, details)?;
        return Err(error);
    }
    governance::pause_for_tests(settings, goshift_store::Phase::Requested);
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

/// Records the outcome of a `svc stop` whose process died before recording it: the stop took
/// effect when the supervisor no longer answers, and did not when it does.
fn reconcile_stops(client: &Client, settings: &GlobalSettings) -> anyhow::Result<()> {
    let answering = std::cell::OnceCell::new();
    let closed = governance::reconcile(settings, |intent| {
        if intent.action != "svc.stop" {
            return None;
        }
        let answering = *answering.get_or_init(|| client.request(&Request::Status, |_| {}).is_ok());
        Some(governance::Found {
            outcome: if answering {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            found: serde_json::json!({
                "supervisor": if answering { "answering" } else { "not answering" },
            }),
        })
    })?;
    for record in &closed {
        settings.printer.warn(format!(
            "`svc stop` ended before its outcome was recorded; audit record {} records whether the supervisor still answers",
            record.seq
        ));
    }
    Ok(())
}
