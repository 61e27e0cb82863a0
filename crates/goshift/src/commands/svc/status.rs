//! `goshift svc status`.

use goshift_supervisor::{Reply, Request};

use crate::cli::ControlArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints every service's status (a table, or JSON with `--json`).
pub(crate) fn status(args: ControlArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let ControlArgs { control } = args;
    let client = super::client(control, settings);
    let replies = super::ask(&client, &Request::Status, |_| {})?;
    let Some(services) = replies.into_iter().find_map(|r| match r {
        Reply::Status { services } => Some(services),
        _ => None,
    }) else {
        anyhow::bail!("the supervisor sent no status");
    };
    let printer = &settings.printer;
    if printer.json() {
        let mut value = serde_json::to_value(&services)?;
        // A Go version is `1.22.10` in every JSON output; the build information says `go1.22.10`.
        for service in value.as_array_mut().into_iter().flatten() {
            crate::printer::strip_go_prefix(service.get_mut("go_version"));
        }
        printer.json_value(&value)?;
        return Ok(ExitStatus::Success);
    }
    for s in &services {
        let phase = format!("{:?}", s.phase).to_lowercase();
        let readiness = format!("{:?}", s.readiness).to_lowercase();
        printer.data(format!(
            "{} ({phase} since {}, {readiness})",
            s.name, s.since
        ));
        printer.data(format!(
            "  release      {}",
            s.release.as_deref().unwrap_or("-")
        ));
        printer.data(format!(
            "  go version   {}",
            s.go_version.as_deref().unwrap_or("unknown")
        ));
        printer.data(format!(
            "  pid          {}",
            s.pid.map_or("-".into(), |p| p.to_string())
        ));
        if let Some(admin) = &s.admin {
            printer.data(format!("  admin        {admin}"));
        }
        if let Some(text) = &s.status_text {
            printer.data(format!("  status       {text}"));
        }
        let connections: Vec<String> = s
            .connections
            .iter()
            .map(|(pid, n)| format!("{n} (pid {pid})"))
            .collect();
        printer.data(format!(
            "  connections  {}",
            if connections.is_empty() {
                "-".into()
            } else {
                connections.join(", ")
            }
        ));
        printer.data(format!("  restarts     {}", s.restarts));
        if let Some(upgrade) = &s.upgrading {
            printer.data(format!("  upgrading    {upgrade}"));
        }
        if let Some(last) = &s.last_upgrade {
            let result = format!("{:?}", last.result).to_lowercase();
            let reason = last
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            printer.data(format!(
                "  last upgrade {} {result} → {} at {}{reason}",
                last.upgrade_id, last.to, last.finished
            ));
        }
    }
    Ok(ExitStatus::Success)
}
