//! `goshift fleet …`: the operators' view and changes of the fleet kept in etcd.
//!
//! Every change is checked against the policy for the target environment (`--env`), written
//! ahead in the operator's audit log, made with a transaction that compares the revision it
//! was based on and writes the intent's copy under the fleet's prefix, and its outcome
//! recorded after.

mod control;
mod history;
mod rollout;
mod set_toolchain;
mod status;

use std::cell::RefCell;
use std::path::PathBuf;

use anyhow::Context as _;
use goshift_audit::{Actor, Outcome, Record};
use goshift_fleet::model::Stamp;
use goshift_fleet::{
    AuditCopy, Etcd, EtcdOptions, Fleet, FleetError, Keys, check_name, now_rfc3339,
};
use goshift_fs::{LockFile, fs};

use crate::cli::{EtcdArgs, FleetArgs, FleetSetCommand, FleetVerb};
use crate::config::FleetConfig;
use crate::error::{WithHint as _, hinted};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// The point of a fleet change where `GOSHIFT_TEST_PAUSE` may stop it: after the transaction,
/// before the outcome is recorded.
pub(crate) const FLEET_WRITTEN: &str = "fleet-written";

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
    let (ca, client_cert, user) = credentials(
        settings,
        (ca.or(config_ca), cert.or(config_cert), key.or(config_key)),
        (user.or(config_user), password_file.or(config_password_file)),
    )?;
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

/// etcd's CA, client certificate and key, user and password, read from the files named by
/// the flags or the config file.
type Credentials = (
    Option<Vec<u8>>,
    Option<(Vec<u8>, Vec<u8>)>,
    Option<(String, String)>,
);

/// Reads the files of `(ca, cert, key)` and `(user, password_file)`; a certificate without
/// its key, or a user without a password file, is an error.
fn credentials(
    settings: &GlobalSettings,
    (ca, cert, key): (Option<PathBuf>, Option<PathBuf>, Option<PathBuf>),
    (user, password_file): (Option<String>, Option<PathBuf>),
) -> anyhow::Result<Credentials> {
    let read = |path: &std::path::Path, what: &str| {
        fs::read(settings.cwd.join(path)).with_context(|| format!("failed to read the {what}"))
    };
    let ca = ca.map(|p| read(&p, "etcd CA file")).transpose()?;
    let client_cert = match (cert, key) {
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
    let user = match (user, password_file) {
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
    Ok((ca, client_cert, user))
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

/// Makes a fleet change written ahead in the operator's audit log: reconciles what an
/// interrupted fleet command left open, records the intent (with the etcd cluster and prefix
/// it is for), makes the change with `write`, whose transaction also writes the intent's copy
/// under `audit/` (so the change is in etcd exactly when its copy is), and records the
/// outcome, which then joins the copy. `details` (a JSON object) go into both records; the
/// outcome adds `etcd_revision`, the revision `revision_of` reads off the result. Nothing is
/// written to etcd when the intent cannot be recorded.
pub(crate) fn write_ahead<T>(
    settings: &GlobalSettings,
    fleet: &Fleet,
    change: &Change,
    details: serde_json::Value,
    write: impl FnOnce(&AuditCopy) -> Result<T, FleetError>,
    revision_of: impl FnOnce(&T) -> i64,
) -> anyhow::Result<T> {
    reconcile(settings, fleet)?;
    let mut intent_details = match details {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let outcome_details = intent_details.clone();
    intent_details.insert(
        "etcd".to_owned(),
        serde_json::json!({
            "endpoints": fleet.etcd().endpoints(),
            "prefix": fleet.keys().prefix(),
        }),
    );
    let intent =
        governance::begin_with(settings, change, serde_json::Value::Object(intent_details))?;
    let copy = AuditCopy {
        id: copy_id(intent.record()),
        value: serde_json::json!({ "intent": intent.record(), "outcome": null })
            .to_string()
            .into_bytes(),
    };
    let intent_record = intent.record().clone();
    let written = match write(&copy) {
        Ok(written) => written,
        Err(error) => {
            let error = fleet_error(error);
            let failure = serde_json::json!({ "error": format!("{error:#}") });
            if let Err(audit) =
                governance::finish(settings, intent, change, Outcome::Failure, failure)
            {
                settings.printer.warn(format!(
                    "failed to record the failure in the audit log: {audit:#}"
                ));
            }
            return Err(error);
        }
    };
    // After the transaction, before the outcome: where the tests kill a command.
    governance::pause_at(settings, FLEET_WRITTEN);
    let mut success = outcome_details;
    success.insert(
        "etcd_revision".to_owned(),
        serde_json::Value::from(revision_of(&written)),
    );
    let outcome = governance::finish_with_record(
        settings,
        intent,
        change,
        Outcome::Success,
        serde_json::Value::Object(success),
    )?;
    let copy = AuditCopy {
        id: copy.id,
        value: serde_json::json!({ "intent": intent_record, "outcome": outcome })
            .to_string()
            .into_bytes(),
    };
    if let Err(error) = fleet.mirror_audit(&copy) {
        settings.printer.warn(format!(
            "the change is made and in the local audit log and its intent in etcd, but its outcome's copy in etcd failed: {error}"
        ));
    }
    Ok(written)
}

/// The id of an audit record's copy under `audit/`: its time, host, `seq` and the start of
/// its hash, so copies from many operators' logs never collide.
fn copy_id(record: &Record) -> String {
    let host: String = record
        .actor
        .host
        .chars()
        .map(|c| if c == '/' { '_' } else { c })
        .collect();
    let hash = record.hash.get(..12).unwrap_or(&record.hash);
    format!("{}-{host}-{}-{hash}", record.time, record.seq)
}

/// An intent's copy found in etcd: the intent's seq, the copy's id and its value.
type FoundCopy = (u64, String, Vec<u8>);

/// How an open `fleet.*` intent of this cluster and prefix ended, as etcd shows it: its
/// copy under `audit/` exists exactly when its change was made. `None` for other intents,
/// and while etcd does not answer (the intent stays open for the next command).
fn found_in_etcd(fleet: &Fleet, intent: &Record) -> Option<(governance::Found, Option<FoundCopy>)> {
    if !intent.action.starts_with("fleet.") {
        return None;
    }
    let endpoints = fleet.etcd().endpoints();
    let etcd = &intent.details["etcd"];
    let same_cluster = etcd["endpoints"]
        .as_array()
        .is_some_and(|list| list.iter().any(|e| endpoints.iter().any(|o| e == o)));
    if etcd["prefix"] != fleet.keys().prefix() || !same_cluster {
        return None;
    }
    let id = copy_id(intent);
    let key = fleet.keys().audit(&id);
    let found = fleet.audit_copy(&id).ok()?;
    let in_etcd = found.is_some();
    let outcome = if in_etcd {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let record = governance::Found {
        outcome,
        found: serde_json::json!({
            "in_etcd": in_etcd,
            "key": key,
            "etcd_revision": found.as_ref().map(|(_, revision)| revision),
        }),
    };
    Some((record, found.map(|(value, _)| (intent.seq, id, value))))
}

/// Adds a reconciled outcome to the intent's copy in etcd; a failure is a warning.
fn add_outcome_to_copy(
    settings: &GlobalSettings,
    fleet: &Fleet,
    record: &Record,
    id: &str,
    value: &[u8],
) {
    let mut copy: serde_json::Value =
        serde_json::from_slice(value).unwrap_or(serde_json::Value::Null);
    if !copy.is_object() {
        return;
    }
    copy["outcome"] = serde_json::json!(record);
    let copy = AuditCopy {
        id: id.to_owned(),
        value: copy.to_string().into_bytes(),
    };
    if let Err(error) = fleet.mirror_audit(&copy) {
        settings.printer.warn(format!(
            "failed to add the reconciled outcome to its copy in etcd: {error}"
        ));
    }
}

/// Records how every fleet change of this cluster and prefix whose process died before
/// recording its outcome ended, as etcd shows it: `success` when the copy of its intent is
/// under `audit/` (its transaction committed), `failure` otherwise. Changes for another
/// cluster or prefix are left for a command that talks to it. Serialised by `fleet.lock` in
/// the home, so two commands never close the same intent twice.
fn reconcile(settings: &GlobalSettings, fleet: &Fleet) -> anyhow::Result<()> {
    let log = governance::audit_log(settings);
    if !log.path().exists() {
        return Ok(());
    }
    let lock = LockFile::new(settings.dirs.in_home("fleet.lock"));
    let _guard = lock
        .acquire(settings.lock_timeout, |holder| {
            settings.printer.status(format!(
                "Waiting for another fleet command ({holder}) to finish reconciling"
            ));
        })
        .context("failed to take the lock of the fleet changes in the audit log")?;
    let copies = RefCell::new(Vec::new());
    let closed = governance::reconcile(settings, |intent| {
        let (found, copy) = found_in_etcd(fleet, intent)?;
        if let Some(copy) = copy {
            copies.borrow_mut().push(copy);
        }
        Some(found)
    })?;
    for record in &closed {
        settings.printer.warn(format!(
            "`{} {}` ended before its outcome was recorded; audit record {} records it as etcd shows it ({})",
            record.action,
            record.subject,
            record.seq,
            if record.outcome == Outcome::Success {
                "made"
            } else {
                "not made"
            }
        ));
        let intent_seq = record.details["intent"].as_u64();
        let copies = copies.borrow();
        if let Some((_, id, value)) = copies.iter().find(|(seq, _, _)| Some(*seq) == intent_seq) {
            add_outcome_to_copy(settings, fleet, record, id, value);
        }
    }
    Ok(())
}
