//! `goshift fleet rollout SERVICE ARTIFACT --sha256 H --env E …`.

use goshift_fleet::model::{Rollout, RolloutState};
use goshift_fleet::{check_name, now_unix};

use super::{connect, fleet_error, stamp, target_environment, write_ahead};
use crate::cli::RolloutArgs;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::{GlobalSettings, parse_duration};

/// Starts a rollout of ARTIFACT to every host of the environment that runs SERVICE.
pub(crate) fn rollout(
    args: RolloutArgs,
    etcd: crate::cli::EtcdArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let RolloutArgs {
        service,
        artifact,
        sha256,
        max_parallel,
        canary,
        min_healthy,
        auto_revert,
        reason,
    } = args;
    let environment = target_environment(settings)?;
    check_name("a service", &service)?;
    check_artifact(&artifact)?;
    let sha256 = sha256.trim().to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(hinted(
            format!("`{sha256}` is not a SHA-256: expected 64 hexadecimal digits"),
            "compute it with `sha256sum BINARY`",
        ));
    }
    if max_parallel == 0 {
        return Err(hinted(
            "`--max-parallel 0` would never upgrade a host",
            "give at least 1",
        ));
    }
    let min_healthy = parse_duration(&min_healthy).map_err(|reason| {
        hinted(
            format!("invalid `--min-healthy`: {reason}"),
            "e.g. `30s` or `2m`",
        )
    })?;
    let started = stamp(&reason)?;
    let fleet = connect(etcd, settings)?;
    let previous = fleet.rollout(&environment, &service).map_err(fleet_error)?;
    let user: String = started
        .changed_by
        .chars()
        .take_while(|c| *c != '@')
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let rollout = Rollout {
        // The key's revision makes the id unique: two rollouts started within one second
        // (the first refused at once) had the same id, and the hosts' progress in the first
        // was taken for the second's, which then never moved.
        id: format!("r{}-{}-{user}", now_unix(), previous.revision),
        service: service.clone(),
        environment: environment.clone(),
        artifact: artifact.clone(),
        sha256: sha256.clone(),
        max_parallel,
        canary,
        min_healthy_seconds: min_healthy.as_secs(),
        auto_revert,
        state: RolloutState::Running,
        state_reason: None,
        started,
        changed: None,
    };
    let mut change = Change::new("fleet.rollout", format!("{service}@{environment}"))
        .states(
            previous.value.as_ref().map(|r| r.artifact.clone()),
            Some(artifact),
        )
        .overrides(false, Some(reason));
    governance::authorize(settings, &mut change)?;
    write_ahead(
        settings,
        &fleet,
        &change,
        serde_json::json!({
            "rollout": rollout.id,
            "sha256": sha256,
            "max_parallel": max_parallel,
            "canary": canary,
            "min_healthy_seconds": rollout.min_healthy_seconds,
            "auto_revert": auto_revert,
            "based_on_revision": previous.revision,
        }),
        |copy| fleet.start_rollout(&rollout, &previous, Some(copy)),
        |written| *written,
    )?;
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&rollout)?;
    } else {
        printer.data(&rollout.id);
        printer.status(format!(
            "Rollout {} of `{service}` started in `{environment}`: {canary} canary host(s), then {max_parallel} at a time; `goshift fleet status --env {environment}` follows it",
            rollout.id
        ));
    }
    Ok(ExitStatus::Success)
}

/// Accepts `https://…`, `file:///…`, and `http://` to a loopback host.
fn check_artifact(url: &str) -> anyhow::Result<()> {
    let loopback = url.strip_prefix("http://").is_some_and(|rest| {
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        host == "localhost" || host.starts_with("127.") || rest.starts_with("[::1]")
    });
    let ok = loopback
        || url.strip_prefix("https://").is_some_and(|r| !r.is_empty())
        || url.strip_prefix("file:///").is_some_and(|r| !r.is_empty());
    if ok {
        Ok(())
    } else {
        Err(hinted(
            format!("`{url}` is not an artifact URL the hosts will fetch"),
            "use `https://…` or `file:///absolute/path` (plain `http://` only to a loopback host)",
        ))
    }
}
