//! `goshift fleet status`: the board.

use super::{connect, fleet_error};
use crate::exit::ExitStatus;
use crate::printer::Style;
use crate::settings::GlobalSettings;

/// Prints the board (only the environment of `--env` when given); exits 1 when a host
/// drifts from the desired state or its agent is gone.
pub(crate) fn status(
    etcd: crate::cli::EtcdArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let fleet = connect(etcd, settings)?;
    let mut board = fleet.board().map_err(fleet_error)?;
    if let Some(environment) = &settings.environment {
        board.hosts.retain(|h| &h.status.environment == environment);
        board.environments.retain(|name, _| name == environment);
    }
    let unwell =
        board.hosts.iter().any(|h| !h.alive || !h.drift.is_empty()) || !board.invalid.is_empty();
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&json_vocabulary(serde_json::to_value(&board)?))?;
    } else {
        for (name, environment) in &board.environments {
            let toolchain = environment.toolchain.as_ref().map_or_else(
                || "no desired toolchain".to_owned(),
                |t| {
                    format!(
                        "desired go{} (by {} at {}: {})",
                        t.version, t.stamp.changed_by, t.stamp.changed_at, t.stamp.reason
                    )
                },
            );
            printer.data(format!("environment {name}: {toolchain}"));
            for rollout in &environment.rollouts {
                let r = &rollout.rollout;
                printer.data(format!(
                    "  rollout {} of {}: {}{} ({} of {} slots held)",
                    r.id,
                    r.service,
                    r.state.as_str(),
                    r.state_reason
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default(),
                    rollout.slots.len(),
                    r.max_parallel
                ));
                for (host, progress) in &rollout.hosts {
                    printer.data(format!(
                        "    {host}: {}{}",
                        format!("{:?}", progress.state).to_lowercase(),
                        progress
                            .detail
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    ));
                }
                for pending in &rollout.pending {
                    printer.data(format!("    waiting for {pending}"));
                }
            }
        }
        for host in &board.hosts {
            print_host(host, *printer);
        }
        for invalid in &board.invalid {
            printer.warn(format!("invalid value in etcd: {invalid}"));
        }
    }
    Ok(if unwell {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// One host's lines on the board.
fn print_host(host: &goshift_fleet::HostBoard, printer: crate::printer::Printer) {
    let s = &host.status;
    let alive = if host.alive {
        printer.paint(Style::Green, "alive")
    } else {
        printer.paint(Style::Red, "gone")
    };
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    printer.data(format!(
        "{} [{}] {alive} env={} default={}{}",
        s.host,
        labels.join(","),
        s.environment,
        s.default_toolchain.as_deref().unwrap_or("none"),
        s.audit
            .as_ref()
            .map(|a| format!(" audit={}:{}", a.seq, &a.hash[..a.hash.len().min(12)]))
            .unwrap_or_default()
    ));
    for service in &s.services {
        printer.data(format!(
            "  {} release={} go={} {} {}",
            service.name,
            service.release.as_deref().unwrap_or("-"),
            service.go_version.as_deref().unwrap_or("-"),
            service.phase,
            if service.healthy {
                "healthy"
            } else {
                "unhealthy"
            }
        ));
    }
    if let Some(change) = &s.last_change {
        printer.data(format!(
            "  last change: {} {} at {}{}",
            change.what,
            change.result,
            change.at,
            change
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    for drift in &host.drift {
        printer.data(format!(
            "  {} {drift}",
            printer.paint(Style::Yellow, "drift:")
        ));
    }
}

/// The board in the JSON vocabulary of every command (`docs/json/README.md`), while etcd keeps
/// the records as agents of every version write them: Go versions without the `go` prefix, and
/// a host's rollout state `since` as RFC 3339 rather than seconds since the epoch.
fn json_vocabulary(mut board: serde_json::Value) -> serde_json::Value {
    use crate::printer::strip_go_prefix as strip;
    use serde_json::Value;
    fn array(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
        value.and_then(Value::as_array_mut).into_iter().flatten()
    }
    for host in array(board.get_mut("hosts")) {
        strip(host.get_mut("default_toolchain"));
        array(host.get_mut("toolchains")).for_each(|t| strip(Some(t)));
        for service in array(host.get_mut("services")) {
            strip(service.get_mut("go_version"));
        }
    }
    let environments = board.get_mut("environments").and_then(Value::as_object_mut);
    for environment in environments.into_iter().flat_map(|map| map.values_mut()) {
        for rollout in array(environment.get_mut("rollouts")) {
            let hosts = rollout.get_mut("hosts").and_then(Value::as_object_mut);
            for progress in hosts.into_iter().flat_map(|map| map.values_mut()) {
                if let Some(since) = progress.get_mut("since")
                    && let Some(seconds) = since.as_u64()
                {
                    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
                    *since = humantime::format_rfc3339_seconds(time).to_string().into();
                }
            }
        }
    }
    board
}
