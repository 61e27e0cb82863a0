//! `goshift fleet rollout SERVICE ARTIFACT --sha256 H --env E …`.

use std::time::Duration;

use goshift_fleet::model::{Rollout, RolloutState, Stamp};
use goshift_fleet::{Fleet, Read, check_name, now_unix};

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
    let (request, reason) = Request::checked(args, settings)?;
    let started = stamp(&reason)?;
    let fleet = connect(etcd, settings)?;
    let previous = fleet
        .rollout(&request.environment, &request.service)
        .map_err(fleet_error)?;
    let rollout = request.rollout(&fleet, &previous, started)?;
    let mut change = Change::new(
        "fleet.rollout",
        format!("{}@{}", rollout.service, rollout.environment),
    )
    .states(
        previous.value.as_ref().map(|r| r.artifact.clone()),
        Some(rollout.artifact.clone()),
    )
    .overrides(false, Some(reason));
    governance::authorize(settings, &mut change)?;
    write_ahead(
        settings,
        &fleet,
        &change,
        serde_json::json!({
            "rollout": rollout.id,
            "sha256": rollout.sha256,
            "max_parallel": rollout.max_parallel,
            "canary": rollout.canary,
            "min_healthy_seconds": rollout.min_healthy_seconds,
            "auto_revert": rollout.auto_revert,
            "targets": rollout.targets,
            "based_on_revision": previous.revision,
        }),
        |copy| fleet.start_rollout(&rollout, &previous, Some(copy)),
        |written| *written,
    )?;
    print(settings, &rollout)?;
    Ok(ExitStatus::Success)
}

/// A rollout as asked for, checked.
struct Request {
    environment: String,
    service: String,
    artifact: String,
    sha256: String,
    max_parallel: u32,
    canary: u32,
    min_healthy: Duration,
    auto_revert: bool,
}

impl Request {
    /// Checks the arguments; returns the request and the reason.
    fn checked(args: RolloutArgs, settings: &GlobalSettings) -> anyhow::Result<(Self, String)> {
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
        let request = Self {
            environment,
            service,
            artifact,
            sha256,
            max_parallel,
            canary,
            min_healthy,
            auto_revert,
        };
        Ok((request, reason))
    }

    /// The rollout to write: it targets the live hosts of the environment that run the
    /// service now (and any that come up while it runs).
    fn rollout(
        self,
        fleet: &Fleet,
        previous: &Read<Rollout>,
        started: Stamp,
    ) -> anyhow::Result<Rollout> {
        let user: String = started
            .changed_by
            .chars()
            .take_while(|c| *c != '@')
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let mut rollout = Rollout {
            // The key's revision makes the id unique: two rollouts started within one second
            // (the first refused at once) had the same id, and the hosts' progress in the
            // first was taken for the second's, which then never moved.
            id: format!("r{}-{}-{user}", now_unix(), previous.revision),
            service: self.service,
            environment: self.environment,
            artifact: self.artifact,
            sha256: self.sha256,
            max_parallel: self.max_parallel,
            canary: self.canary,
            min_healthy_seconds: self.min_healthy.as_secs(),
            auto_revert: self.auto_revert,
            state: RolloutState::Running,
            state_reason: None,
            started,
            changed: None,
            targets: Vec::new(),
        };
        rollout.targets = fleet
            .rollout_targets(&rollout)
            .map_err(fleet_error)?
            .into_keys()
            .collect();
        Ok(rollout)
    }
}

/// Prints the started rollout: its id (or the whole rollout with `--json`).
fn print(settings: &GlobalSettings, rollout: &Rollout) -> anyhow::Result<()> {
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(rollout)?;
    } else {
        printer.data(&rollout.id);
        printer.status(format!(
            "Rollout {} of `{}` started in `{}` on {} host(s): {} canary host(s), then {} at a time; `goshift fleet status --env {}` follows it",
            rollout.id,
            rollout.service,
            rollout.environment,
            rollout.targets.len(),
            rollout.canary,
            rollout.max_parallel,
            rollout.environment
        ));
    }
    Ok(())
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
