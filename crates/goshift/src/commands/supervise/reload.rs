//! `goshift supervise --reload [FILE]`: asks the running supervisor to hand over to a new
//! process of the goshift binary, then asks that process how the reload ended.

use std::path::PathBuf;

use anyhow::Context;
use goshift_supervisor::{Config, ReloadReport, Reply, Request};

use crate::error::WithHint;
use crate::exit::ExitStatus;
use crate::printer::Style;
use crate::settings::GlobalSettings;

/// The reload's request, then its report: 0 when every service was kept or upgraded, 1 when
/// an upgrade rolled back, an error when the reload was refused (nothing changed then).
pub(super) fn reload(
    file: Option<PathBuf>,
    control: Option<PathBuf>,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let config = file.map(|f| settings.cwd.join(f));
    if let Some(path) = &config {
        // Checked here as well, for the error to name the file before anything is asked.
        Config::load(path)
            .with_context(|| format!("`{}` cannot be reloaded", path.display()))
            .hint("fix the service file; the running supervisor was not touched")?;
    }
    let client = crate::commands::svc::client(control, settings);
    let mut refusal = None;
    client
        .request(&Request::Reload { config }, |reply| {
            if let Reply::Error { message } = reply {
                refusal = Some(message);
            }
        })
        .context("could not ask the supervisor to reload")
        .hint("is `goshift supervise` running? `--control` names its socket")?;
    if let Some(message) = refusal {
        return Err(anyhow::anyhow!(message)).context("the supervisor refused the reload");
    }
    // The connection closed with the exec; the control socket was handed over, so the new
    // process answers on it.
    let mut answer = None;
    client
        .request(&Request::Reloaded, |reply| answer = Some(reply))
        .context("the supervisor did not come back after its re-exec")
        .hint("see its log (stderr, `journalctl -u goshift`): the new process could not adopt what was handed over")?;
    match answer {
        Some(Reply::Reloaded { report }) => print(&report, settings),
        Some(Reply::Error { message }) => {
            Err(anyhow::anyhow!(message)).context("the supervisor answered, but not about a reload")
        }
        _ => anyhow::bail!("the supervisor closed the connection before reporting the reload"),
    }
}

fn print(report: &ReloadReport, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let printer = &settings.printer;
    let status = if report.failures.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    if printer.json() {
        printer.json_value(report)?;
        return Ok(status);
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let kept: Vec<String> = report
        .kept
        .iter()
        .map(|k| format!("{} (pid {})", k.service, k.pid))
        .collect();
    printer.data(format!(
        "{} supervisor pid {}: `{}` now runs (was `{}`), service file `{}`",
        printer.paint(Style::Green, "reloaded"),
        report.pid,
        report.program_path.display(),
        report.previous_program_path.display(),
        report.config_path.display()
    ));
    printer.data(format!("  kept:     {}", list(&kept)));
    printer.data(format!("  upgraded: {}", list(&report.upgraded)));
    printer.data(format!("  started:  {}", list(&report.started)));
    printer.data(format!("  stopped:  {}", list(&report.stopped)));
    for failure in &report.failures {
        printer.warn(format!("reload: {failure}"));
    }
    Ok(status)
}
