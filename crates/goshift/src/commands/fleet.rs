//! `goshift fleet …`: the operators' view and changes of the fleet kept in etcd.
//!
//! Every change is checked against the policy for the target environment (`--env`), written
//! with a transaction that compares the revision it was based on, recorded in the
//! operator's audit log, and mirrored under the fleet's prefix.

mod control;
mod history;
mod rollout;
mod set_toolchain;
mod status;

use anyhow::Context as _;
use goshift_audit::{Actor, Outcome};
use goshift_fleet::model::Stamp;
use goshift_fleet::{Etcd, EtcdOptions, Fleet, FleetError, Keys, check_name, now_rfc3339};
use goshift_fs::fs;

use crate::cli::{EtcdArgs, FleetArgs, FleetSetCommand, FleetVerb};
use crate::config::FleetConfig;
use crate::error::{WithHint as _, hinted};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Runs a `fleet` verb.
pub(crate) fn run(args: FleetArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let FleetArgs { etcd, verb } = args;
    match verb {
        FleetVerb::Status => status::status(etcd, settings),
        FleetVerb::Set(FleetSetCommand::Toolchain(args)) => {
            set_toolchain::set_toolchain(args, etcd, settings)
        }
        FleetVerb::Rollout(args) => rollout::rollout(args, etcd, settings),
        FleetVerb::Pause(args) => control::control(args, etcd, control::Verb::Pause, settings),
        FleetVerb::Resume(args) => control::control(args, etcd, control::Verb::Resume, settings),
        FleetVerb::Abort(args) => control::control(args, etcd, control::Verb::Abort, settings),
        FleetVerb::History(args) => history::history(args, etcd, settings),
    }
}

/// Connects to etcd from the flags, else the config file's `[fleet]` table. Contacts
/// nothing yet.
pub(crate) fn connect(args: EtcdArgs, settings: &GlobalSettings) -> anyhow::Result<Fleet> {
    let EtcdArgs {
        endpoints,
        prefix,
        ca,
        cert,
        key,
        user,
        password_file,
    } = args;
    let config = settings.config.fleet.clone().unwrap_or_default();
    let FleetConfig {
        etcd: config_endpoints,
        prefix: config_prefix,
        ca: config_ca,
        cert: config_cert,
        key: config_key,
        user: config_user,
        password_file: config_password_file,
        ..
    } = config;
    let endpoints = if endpoints.is_empty() {
        config_endpoints
    } else {
        endpoints
    };
    if endpoints.is_empty() {
        return Err(hinted(
            "no etcd endpoint is configured",
            "pass `--etcd http://HOST:2379`, or set `etcd = [\"…\"]` in the `[fleet]` table of the config file",
        ));
    }
    let read = |path: &std::path::Path, what: &str| {
        fs::read(settings.cwd.join(path)).with_context(|| format!("failed to read the {what}"))
    };
    let ca = ca
        .or(config_ca)
        .map(|p| read(&p, "etcd CA file"))
        .transpose()?;
    let client_cert = match (cert.or(config_cert), key.or(config_key)) {
        (Some(cert), Some(key)) => Some((
            read(&cert, "etcd client certificate")?,
            read(&key, "etcd client key")?,
        )),
        (None, None) => None,
        _ => {
            return Err(hinted(
                "an etcd client certificate needs its key, and a key its certificate",
                "give both `cert` and `key` (or `--etcd-cert` and `--etcd-key`)",
            ));
        }
    };
    let user = match (user.or(config_user), password_file.or(config_password_file)) {
        (Some(user), Some(file)) => {
            let text = String::from_utf8(read(&file, "etcd password file")?)
                .context("the etcd password file is not UTF-8")?;
            let password = text.lines().next().unwrap_or_default().to_owned();
            Some((user, password))
        }
        (None, None) => None,
        _ => {
            return Err(hinted(
                "an etcd user needs a password file, and a password file a user",
                "give both `user` and `password_file` (or `--etcd-user` and `--etcd-password-file`)",
            ));
        }
    };
    let etcd = Etcd::new(EtcdOptions {
        endpoints,
        ca_file: ca,
        client_cert,
        user,
    })
    .map_err(anyhow::Error::from)
    .hint("etcd endpoints look like `http://127.0.0.1:2379` or `https://etcd-1:2379`")?;
    let prefix = prefix
        .or(config_prefix)
        .unwrap_or_else(|| goshift_fleet::DEFAULT_PREFIX.to_owned());
    let keys = Keys::new(&prefix)?;
    Ok(Fleet::new(etcd, keys))
}

/// The environment a fleet change is for: `--env` (or `GOSHIFT_ENV`, the config file).
pub(crate) fn target_environment(settings: &GlobalSettings) -> anyhow::Result<String> {
    let Some(environment) = governance::environment(settings) else {
        return Err(hinted(
            "no environment was given",
            "name the environment with `--env NAME`",
        ));
    };
    check_name("an environment", &environment)?;
    Ok(environment)
}

/// Who is changing the fleet: `user@host` from the operating system.
pub(crate) fn stamp(reason: &str) -> anyhow::Result<Stamp> {
    if reason.trim().is_empty() {
        return Err(hinted(
            "`--reason` is empty",
            "say why in `--reason \"…\"`; it is kept in etcd and the audit log",
        ));
    }
    let actor = Actor::from_os();
    Ok(Stamp {
        changed_by: format!("{}@{}", actor.user, actor.host),
        changed_at: now_rfc3339(),
        reason: reason.to_owned(),
    })
}

/// Turns a fleet error into one with a fix.
pub(crate) fn fleet_error(error: FleetError) -> anyhow::Error {
    let hint = match &error {
        FleetError::Conflict { .. } => {
            "read the new value with `goshift fleet status`, then run your change again if it still makes sense"
        }
        FleetError::Etcd(_) => {
            "check that etcd runs and that `--etcd` (or `[fleet] etcd` in the config file) names its client URLs"
        }
        FleetError::BadValue { .. } => {
            "a value in etcd was written by hand or by another version; set it again with `goshift fleet`"
        }
        FleetError::NoRollout { .. } => "start one with `goshift fleet rollout SERVICE ARTIFACT …`",
        FleetError::RolloutState { .. } => "`goshift fleet status` shows where each rollout stands",
        FleetError::BadName { .. } => "names may hold letters, digits, `.`, `_` and `-`",
    };
    match Err::<(), _>(error).hint(hint) {
        Err(error) => error,
        Ok(()) => anyhow::anyhow!("internal error: a hint swallowed the error"),
    }
}

/// Records a fleet change in the operator's audit log and mirrors it under the prefix. A
/// mirror that cannot be written is a warning: the local record is the one that counts.
pub(crate) fn record(
    settings: &GlobalSettings,
    fleet: &Fleet,
    change: &Change,
    details: &serde_json::Value,
) -> anyhow::Result<()> {
    governance::record(settings, change, Outcome::Success, details.clone())?;
    let head = governance::audit_log(settings).head().ok().flatten();
    let actor = Actor::from_os();
    let mirror = serde_json::json!({
        "action": change.action,
        "subject": change.subject,
        "from": change.from,
        "to": change.to,
        "reason": change.reason,
        "actor": format!("{}@{}", actor.user, actor.host),
        "at": now_rfc3339(),
        "details": details,
        "audit_head": head,
    });
    let id = format!(
        "{}-{}-{}",
        now_rfc3339(),
        actor.host,
        head.as_ref().map_or(0, |h| h.seq)
    );
    if let Err(error) = fleet.mirror_audit(&id, mirror.to_string().as_bytes()) {
        settings.printer.warn(format!(
            "the change is made and in the local audit log, but its copy in etcd failed: {error}"
        ));
    }
    Ok(())
}
