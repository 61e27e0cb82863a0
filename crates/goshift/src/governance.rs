//! Policy enforcement and auditing for every mutating command.
//!
//! A command that changes the machine describes the change as a [`Change`], calls
//! [`authorize`] before doing anything (which refuses what the policy denies, with every
//! reason and the fix), and [`record`] after, with the outcome and details such as a smoke
//! test's result. Refusals are recorded too. The policy is found at `--policy` /
//! `GOSHIFT_POLICY`, else `$GOSHIFT_HOME/policy.toml`, else `/etc/goshift/policy.toml`; the
//! environment comes from `--env` / `GOSHIFT_ENV`, else `environment` in the config file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use goshift_audit::{Actor, AuditLog, Entry, Intent, Outcome, Record};
use goshift_fs::EnvVars;
use goshift_fs::fs;
use goshift_policy::{Date, Decision, EvalContext, Permission, Person, Policy, Verdict};
use goshift_store::Phase;
use goshift_version::GoVersion;
use serde_json::{Value, json};

use crate::error::{WithHint as _, hinted, with_hint};
use crate::settings::GlobalSettings;

/// The system-wide policy file, read when neither `--policy` nor `$GOSHIFT_HOME/policy.toml`
/// is there.
pub(crate) const SYSTEM_POLICY: &str = "/etc/goshift/policy.toml";

/// The largest policy file goshift reads.
const MAX_POLICY_BYTES: u64 = 1 << 20;

/// A policy file that was found, read and validated.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPolicy {
    /// The policy.
    pub(crate) policy: Policy,
    /// Where it came from.
    pub(crate) path: PathBuf,
}

/// A change to the machine, as the policy and the audit log see it.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// The audit action: `install`, `use`, `rollback`, `uninstall`, `prune`, `import`,
    /// `exec`, `auto-install`, `snapshot.restore`, …
    pub(crate) action: String,
    /// What is changed: usually a toolchain name such as `go1.22.10`.
    pub(crate) subject: String,
    /// The Go version the policy evaluates; `None` for changes that install or select no
    /// version (only `freeze` and `require_reason` apply then).
    pub(crate) version: Option<GoVersion>,
    /// The state before, if any.
    pub(crate) from: Option<String>,
    /// The state after, if any.
    pub(crate) to: Option<String>,
    /// `--force` was given.
    pub(crate) force: bool,
    /// `--reason` was given.
    pub(crate) reason: Option<String>,
    /// What the policy decided, filled in by [`authorize`] and kept in the audit record.
    policy: Option<Value>,
}

impl Change {
    /// A change with no version, no from/to, no force and no reason.
    pub(crate) fn new(action: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            subject: subject.into(),
            version: None,
            from: None,
            to: None,
            force: false,
            reason: None,
            policy: None,
        }
    }

    /// Sets the version the policy evaluates.
    #[must_use]
    pub(crate) fn version(mut self, version: GoVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// Sets the state before and after.
    #[must_use]
    pub(crate) fn states(mut self, from: Option<String>, to: Option<String>) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    /// Sets `--force` and `--reason`.
    #[must_use]
    pub(crate) fn overrides(mut self, force: bool, reason: Option<String>) -> Self {
        self.force = force;
        self.reason = reason.filter(|r| !r.trim().is_empty());
        self
    }
}

/// The policy file in force: `--policy`/`GOSHIFT_POLICY` (which must exist), else the first
/// of `$GOSHIFT_HOME/policy.toml` and `/etc/goshift/policy.toml` that exists.
pub(crate) fn policy_path(settings: &GlobalSettings) -> Option<PathBuf> {
    if let Some(path) = &settings.policy {
        return Some(settings.cwd.join(path));
    }
    [
        settings.dirs.in_home("policy.toml"),
        PathBuf::from(SYSTEM_POLICY),
    ]
    .into_iter()
    .find(|path| path.exists())
}

/// Reads and validates a policy file.
pub(crate) fn read_policy(path: &Path) -> anyhow::Result<Policy> {
    let text = goshift_fs::read_text_limited(path, MAX_POLICY_BYTES)
        .with_context(|| format!("failed to read the policy file `{}`", path.display()))?;
    Ok(Policy::parse(&text, &path.display().to_string())?)
}

/// Loads the policy in force, if there is one.
pub(crate) fn load_policy(settings: &GlobalSettings) -> anyhow::Result<Option<LoadedPolicy>> {
    let Some(path) = policy_path(settings) else {
        return Ok(None);
    };
    let policy = read_policy(&path).hint(format!(
        "fix the policy (`goshift policy check {}` lists every problem), or point `--policy` at another file",
        path.display()
    ))?;
    Ok(Some(LoadedPolicy { policy, path }))
}

/// The machine's environment: `--env`, else `GOSHIFT_ENV`, else `environment` in the config
/// file (resolved into the settings).
pub(crate) fn environment(settings: &GlobalSettings) -> Option<String> {
    settings.environment.clone()
}

/// Today's date in UTC.
pub(crate) fn today() -> Date {
    Date::from_system_time(SystemTime::now())
}

/// The newest Go release goshift knows of: the newest of the installed toolchains, the
/// versions the policy itself names as environment defaults, and `candidate`.
pub(crate) fn newest_known(
    settings: &GlobalSettings,
    policy: &Policy,
    candidate: Option<&GoVersion>,
) -> Option<GoVersion> {
    let installed = fs::read_dir(settings.dirs.in_home("toolchains"))
        .into_iter()
        .flatten()
        .filter_map(|entry| GoVersion::parse(entry.ok()?.file_name().to_str()?).ok());
    let named = policy
        .environments
        .values()
        .filter_map(|e| e.default.clone());
    installed
        .chain(named)
        .chain(candidate.cloned())
        .filter(GoVersion::is_stable)
        .max()
}

/// Evaluates a version against a policy in the machine's context.
pub(crate) fn decide(
    settings: &GlobalSettings,
    policy: &Policy,
    version: &GoVersion,
    environment: Option<&str>,
) -> Decision {
    let newest = newest_known(settings, policy, Some(version));
    policy.evaluate(
        version,
        &EvalContext {
            environment,
            newest: newest.as_ref(),
            today: Some(today()),
        },
    )
}

/// Refuses to run a toolchain (`goshift exec`) that the policy denies in this environment:
/// the version rules (`blocked`, `allowed`, `support_window`) apply, but not `freeze` or
/// `require_reason`, since running changes nothing. A refusal is recorded.
pub(crate) fn authorize_run(
    settings: &GlobalSettings,
    action: &str,
    version: &GoVersion,
) -> anyhow::Result<()> {
    let Some(loaded) = load_policy(settings)? else {
        return Ok(());
    };
    let environment = environment(settings);
    let decision = decide(settings, &loaded.policy, version, environment.as_deref());
    let denials: Vec<&goshift_policy::Reason> = decision
        .with_verdict(Verdict::Deny)
        .filter(|r| r.rule != goshift_policy::Rule::Freeze)
        .collect();
    for reason in decision.with_verdict(Verdict::Warn) {
        settings.printer.warn(&reason.message);
    }
    if denials.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "the policy `{}` refuses to run {}{}",
        loaded.path.display(),
        version.toolchain_name(),
        environment
            .as_deref()
            .map(|e| format!(" in environment `{e}`"))
            .unwrap_or_default()
    );
    for reason in &denials {
        let _ = write!(message, "\n  - {}", reason.message);
    }
    let mut change = Change::new(action, version.toolchain_name()).version(version.clone());
    change.policy = Some(json!({
        "file": loaded.path.display().to_string(),
        "environment": environment,
        "verdict": decision.verdict,
        "reasons": decision.reasons,
    }));
    if let Err(error) = record(settings, &change, Outcome::Refused, Value::Null) {
        settings.printer.warn(format!(
            "failed to record the refusal in the audit log: {error:#}"
        ));
    }
    Err(hinted(
        message,
        "pick a version the policy allows (`goshift policy explain VERSION` says why), or change the policy",
    ))
}

/// Refuses `change` when the policy in force denies it, printing warnings for what it only
/// warns about. A refusal is recorded in the audit log before the error is returned.
pub(crate) fn authorize(settings: &GlobalSettings, change: &mut Change) -> anyhow::Result<()> {
    let Some(loaded) = load_policy(settings)? else {
        return Ok(());
    };
    let environment = environment(settings);
    let permitted_by = permission(settings, &loaded, change, environment.as_deref())?;
    let decision = change
        .version
        .as_ref()
        .map(|version| decide(settings, &loaded.policy, version, environment.as_deref()));
    let frozen = loaded.policy.freeze;
    let needs_reason = frozen
        || environment
            .as_deref()
            .is_some_and(|e| loaded.policy.require_reason.iter().any(|n| n == e));
    let denials: Vec<&goshift_policy::Reason> = decision
        .iter()
        .flat_map(|d| d.with_verdict(Verdict::Deny))
        .collect();
    let mut problems: Vec<String> = denials.iter().map(|r| r.message.clone()).collect();
    if frozen && decision.is_none() {
        problems
            .push("a change freeze is in force: changes need `--force` and `--reason`".to_owned());
    }
    let overridable = denials.iter().all(|r| r.overridable);
    let has_reason = change.reason.is_some();
    let refused = if problems.is_empty() {
        needs_reason && !has_reason
    } else {
        !(overridable && change.force && has_reason)
    };
    let where_ = environment
        .as_deref()
        .map(|e| format!(" in environment `{e}`"))
        .unwrap_or_default();
    change.policy = Some(json!({
        "file": loaded.path.display().to_string(),
        "environment": environment,
        "verdict": decision.as_ref().map_or(Verdict::Allow, |d| d.verdict),
        "reasons": decision.as_ref().map(|d| &d.reasons),
        "overridden": !refused && !problems.is_empty(),
        "permitted_by": permitted_by,
    }));
    if !refused {
        for reason in decision.iter().flat_map(|d| d.with_verdict(Verdict::Warn)) {
            settings.printer.warn(&reason.message);
        }
        if !problems.is_empty() {
            settings.printer.warn(format!(
                "overriding the policy for `{} {}`{where_} (recorded in the audit log): {}",
                change.action,
                change.subject,
                problems.join("; ")
            ));
        }
        return Ok(());
    }
    Err(refusal(
        settings,
        change,
        &loaded.path,
        &where_,
        &problems,
        overridable,
    ))
}

/// The error refusing `change`, after the refusal is recorded in the audit log: `problems`
/// are the policy's denials (none: a reason is missing).
fn refusal(
    settings: &GlobalSettings,
    change: &Change,
    policy_path: &Path,
    where_: &str,
    problems: &[String],
    overridable: bool,
) -> anyhow::Error {
    let mut message = format!(
        "the policy `{}` refuses `{} {}`{where_}",
        policy_path.display(),
        change.action,
        change.subject
    );
    let hint = if problems.is_empty() {
        message.push_str(": changes here need a reason");
        "run it again with `--reason \"…\"` saying why (it is kept in the audit log)".to_owned()
    } else {
        for problem in problems {
            let _ = write!(message, "\n  - {problem}");
        }
        if overridable {
            "if it must be done anyway, run it again with `--force --reason \"…\"` (the override is kept in the audit log)".to_owned()
        } else {
            "the policy does not allow overriding this; pick another version or change the policy"
                .to_owned()
        }
    };
    if let Err(error) = record(settings, change, Outcome::Refused, Value::Null) {
        settings.printer.warn(format!(
            "failed to record the refusal in the audit log: {error:#}"
        ));
    }
    hinted(message, hint)
}

/// Refuses `change` when the policy names who may change `environment` (`may_change`) and
/// the acting user, as the operating system knows them, is not among them, nor in one of the
/// groups named; `--force` does not override this. Returns the entry that let them in, if
/// the environment names anyone. A refusal is recorded in the audit log.
fn permission(
    settings: &GlobalSettings,
    loaded: &LoadedPolicy,
    change: &mut Change,
    environment: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let Some(environment) = environment else {
        return Ok(None);
    };
    let actor = Actor::from_os();
    let groups = goshift_audit::groups_from_os();
    let person = Person {
        user: &actor.user,
        groups: &groups,
    };
    let changers = match loaded.policy.may_change(environment, person) {
        Permission::Anyone => return Ok(None),
        Permission::Named(entry) => return Ok(Some(entry)),
        Permission::Refused(changers) => changers,
    };
    change.policy = Some(json!({
        "file": loaded.path.display().to_string(),
        "environment": environment,
        "may_change": changers,
        "groups": groups,
    }));
    if let Err(error) = record(settings, change, Outcome::Refused, Value::Null) {
        settings.printer.warn(format!(
            "failed to record the refusal in the audit log: {error:#}"
        ));
    }
    Err(hinted(
        format!(
            "`{}` may not change environment `{environment}`: the policy `{}` lets only {changers} change it (refused `{} {}`)",
            actor.user,
            loaded.path.display(),
            change.action,
            change.subject
        ),
        format!(
            "ask one of them to make the change, or add your user or one of your groups to `may_change` in `[environments.{environment}]` of the policy"
        ),
    ))
}

/// The audit entry of `change` with its outcome and details (a JSON object, or `Value::Null`
/// for none). The policy decision taken by [`authorize`] is added under `policy`.
fn entry_of(change: &Change, outcome: Outcome, details: Value) -> Entry {
    let mut details = match details {
        Value::Null => serde_json::Map::new(),
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("value".to_owned(), other);
            map
        }
    };
    if let Some(policy) = &change.policy {
        details.insert("policy".to_owned(), policy.clone());
    }
    let mut entry = Entry::new(
        Actor::from_os(),
        change.action.clone(),
        change.subject.clone(),
        outcome,
    );
    entry.from.clone_from(&change.from);
    entry.to.clone_from(&change.to);
    entry.reason.clone_from(&change.reason);
    entry.details = Value::Object(details);
    entry
}

/// Appends the audit record of `change` with its outcome and details (a JSON object, or
/// `Value::Null` for none): for what changes nothing (a refusal), or what another record
/// already announced.
pub(crate) fn record(
    settings: &GlobalSettings,
    change: &Change,
    outcome: Outcome,
    details: Value,
) -> anyhow::Result<()> {
    audit_log(settings)
        .append(entry_of(change, outcome, details))
        .context("failed to append to the audit log")
        .hint(
            "check that the file system has free space and `goshift audit verify` passes, then run the command again",
        )?;
    Ok(())
}

/// Records the intent of `change` before anything changes. A change whose intent cannot be
/// recorded must not be made: the error says nothing changed.
pub(crate) fn begin(settings: &GlobalSettings, change: &Change) -> anyhow::Result<Intent> {
    begin_with(settings, change, Value::Null)
}

/// [`begin`] with details (a JSON object) in the intent: what reconciling it needs to know.
pub(crate) fn begin_with(
    settings: &GlobalSettings,
    change: &Change,
    details: Value,
) -> anyhow::Result<Intent> {
    let intent = match audit_log(settings).begin(entry_of(change, Outcome::Intent, details)) {
        Ok(intent) => intent,
        Err(error) => {
            // A link planted for the log is refused with its own fix; the generic one
            // would mislead.
            let refused = refusal_in(&error);
            let error = anyhow::Error::from(error).context(format!(
                "failed to record `{} {}` in the audit log, so nothing was changed",
                change.action, change.subject
            ));
            return Err(if refused {
                error
            } else {
                with_hint(
                    error,
                    "make sure the file system has free space and `goshift audit verify` passes (`goshift audit repair` fixes an interrupted write), then run the command again",
                )
            });
        }
    };
    pause_for_tests(settings, Phase::IntentRecorded);
    Ok(intent)
}

/// Whether a link refused inside the home is among the causes of `error`.
fn refusal_in(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(goshift_fs::is_refusal)
        {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Records how the change announced by `intent` ended.
pub(crate) fn finish(
    settings: &GlobalSettings,
    intent: Intent,
    change: &Change,
    outcome: Outcome,
    details: Value,
) -> anyhow::Result<()> {
    finish_with_record(settings, intent, change, outcome, details).map(drop)
}

/// [`finish`], returning the outcome's record.
pub(crate) fn finish_with_record(
    settings: &GlobalSettings,
    intent: Intent,
    change: &Change,
    outcome: Outcome,
    details: Value,
) -> anyhow::Result<Record> {
    let seq = intent.record().seq;
    let record = intent
        .finish(&audit_log(settings), entry_of(change, outcome, details))
        .with_context(|| format!("failed to record the outcome of audit record {seq}"))
        .hint(
            "the change itself was made; the next goshift command that changes something records it as found (`goshift audit verify` lists it until then)",
        )?;
    pause_for_tests(settings, Phase::OutcomeRecorded);
    Ok(record)
}

/// Stops the process at `phase` when `GOSHIFT_TEST_PAUSE` names it, so that tests can kill
/// it at an exact point of a change.
pub(crate) fn pause_for_tests(settings: &GlobalSettings, phase: Phase) {
    pause_at(settings, phase.name());
}

/// [`pause_for_tests`] at a point that is not a store phase (`fleet-written`).
pub(crate) fn pause_at(settings: &GlobalSettings, point: &str) {
    if settings.env.var(EnvVars::GOSHIFT_TEST_PAUSE).as_deref() == Some(point) {
        settings.printer.stderr_raw(&format!("paused at {point}\n"));
        // Wait to be killed: this hook exists so tests can stop a process at an exact point.
        loop {
            std::thread::park();
        }
    }
}

/// What [`reconcile`] found of an interrupted change: its outcome and what is in effect.
pub(crate) struct Found {
    /// `success` (the change is in effect), `failure` (nothing changed) or `interrupted`
    /// (part of it is).
    pub(crate) outcome: Outcome,
    /// What was found, kept under `details.found`.
    pub(crate) found: Value,
}

/// Records the outcome of every intent whose process died before recording it, for the
/// actions `probe` knows (it returns `None` for the others), as `probe` finds the state now.
/// Returns the records written. Run it holding the lock that guards that state.
pub(crate) fn reconcile(
    settings: &GlobalSettings,
    probe: impl Fn(&Record) -> Option<Found>,
) -> anyhow::Result<Vec<Record>> {
    let log = audit_log(settings);
    let failed = "failed to reconcile the audit log with the state";
    let hint = "check the file system, then `goshift audit verify`";
    let mut closed = Vec::new();
    if !log.may_have_open_intents().context(failed).hint(hint)? {
        return Ok(closed);
    }
    let open_intents = log.open_intents().context(failed).hint(hint)?;
    log.clean_intent_locks(&open_intents)
        .context(failed)
        .hint(hint)?;
    for open in open_intents {
        if open.running {
            continue;
        }
        let intent = open.record;
        let Some(found) = probe(&intent) else {
            continue;
        };
        let mut entry = Entry::new(
            Actor::from_os(),
            intent.action.clone(),
            intent.subject.clone(),
            found.outcome,
        );
        entry.from.clone_from(&intent.from);
        entry.to.clone_from(&intent.to);
        entry.reason.clone_from(&intent.reason);
        entry.details = json!({
            "reconciled": true,
            "interrupted_by": "the process ended before recording the outcome",
            "found": found.found,
        });
        closed.push(log.close(&intent, entry).context(failed).hint(hint)?);
    }
    Ok(closed)
}

/// The machine's audit log.
pub(crate) fn audit_log(settings: &GlobalSettings) -> AuditLog {
    AuditLog::open(settings.dirs.in_home("audit.log")).with_lock_timeout(settings.lock_timeout)
}

/// Records the intent of `change`, runs `mutation` (the change itself) and records its
/// outcome: `success` with `details(&value)`, or `failure` with the error, which is then
/// returned. Nothing runs when the intent cannot be recorded.
pub(crate) fn audited<T>(
    settings: &GlobalSettings,
    change: &Change,
    mutation: impl FnOnce() -> anyhow::Result<T>,
    details: impl FnOnce(&T) -> Value,
) -> anyhow::Result<T> {
    let intent = begin(settings, change)?;
    match mutation() {
        Ok(value) => {
            finish(settings, intent, change, Outcome::Success, details(&value))?;
            Ok(value)
        }
        Err(error) => {
            let details = json!({ "error": format!("{error:#}") });
            if let Err(audit) = finish(settings, intent, change, Outcome::Failure, details) {
                settings.printer.warn(format!(
                    "failed to record the failure in the audit log: {audit:#}"
                ));
            }
            Err(error)
        }
    }
}
