//! `goshift svc …`: the supervisor's control client.

mod incident;
mod incidents;
mod logs;
mod rollback;
mod status;
mod stop;
mod upgrade;

use std::path::PathBuf;

use goshift_audit::Outcome as AuditOutcome;
use goshift_fs::EnvVars;
use goshift_supervisor::{
    BuildFacts, Client, ControlError, Outcome, PhaseEvent, Reply, Request, UpgradeResult,
};

use crate::error::{WithHint, hinted};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::printer::Style;
use crate::settings::GlobalSettings;

pub(crate) use incident::incident;
pub(crate) use incidents::incidents;
pub(crate) use logs::logs;
pub(crate) use rollback::rollback;
pub(crate) use status::status;
pub(crate) use stop::stop;
pub(crate) use upgrade::upgrade;

/// The control socket from `--control`, `GOSHIFT_SUPERVISOR_SOCKET` or the default.
pub(super) fn client(control: Option<PathBuf>, settings: &GlobalSettings) -> Client {
    let path = control
        .or_else(|| {
            settings
                .env
                .var(EnvVars::GOSHIFT_SUPERVISOR_SOCKET)
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| settings.dirs.home.join("run").join("supervisor.sock"));
    Client::new(settings.cwd.join(path))
}

/// Sends `request`, collecting the replies.
fn ask(
    client: &Client,
    request: &Request,
    mut each: impl FnMut(&Reply),
) -> anyhow::Result<Vec<Reply>> {
    let mut replies = Vec::new();
    let result = client.request(request, |reply| {
        each(&reply);
        replies.push(reply);
    });
    match result {
        Ok(()) => {}
        Err(ControlError::NotRunning { path, source })
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            let owner = {
                use std::os::unix::fs::MetadataExt as _;
                goshift_fs::fs::metadata(&path)
                    .map(|m| format!(" (owned by uid {}, mode {:o})", m.uid(), m.mode() & 0o7777))
                    .unwrap_or_default()
            };
            return Err(hinted(
                format!(
                    "the control socket `{}` refused the connection: permission denied{owner}",
                    path.display()
                ),
                "the supervisor answers only the user it runs as: run this command as that user (or root)",
            ));
        }
        Err(error @ ControlError::NotRunning { .. }) => {
            return Err(error).hint(
                "start it with `goshift supervise --config FILE`, or pass `--control SOCKET`",
            );
        }
        Err(error) => return Err(error.into()),
    }
    if let Some(Reply::Error { message }) =
        replies.iter().find(|r| matches!(r, Reply::Error { .. }))
    {
        return Err(hinted(
            format!("the supervisor refused: {message}"),
            "`goshift svc status` shows what it is doing",
        ));
    }
    Ok(replies)
}

/// Build information for a release's provenance and the policy check, from the binary's
/// embedded Go build info. A binary without one (a script, a non-Go program) has no Go facts;
/// it is still checked as a program before it runs.
pub(crate) fn build_facts(binary: &std::path::Path) -> BuildFacts {
    match goshift_binary::read_build_info(binary) {
        Ok(info) => BuildFacts {
            go_version: info
                .go_version
                .split_whitespace()
                .next()
                .map(ToOwned::to_owned),
            main_module: info.main_module().map(|module| module.path.clone()),
            revision: info.setting("vcs.revision").map(ToOwned::to_owned),
        },
        Err(_) => BuildFacts::default(),
    }
}

/// Streams the phases of an upgrade or rollback, records it in the audit log, and reports its
/// outcome: 0 upgraded or unchanged, 1 rolled back.
fn run_upgrade(
    client: &Client,
    request: &Request,
    change: &mut Change,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    reconcile_interrupted(settings)?;
    let intent = governance::begin(settings, change)?;
    let mut requested = false;
    let replies = match ask(client, request, |reply| {
        if let Reply::Phase { event } = reply {
            if !requested {
                requested = true;
                governance::pause_for_tests(settings, goshift_store::Phase::Requested);
            }
            print_phase(settings, event);
        }
    }) {
        Ok(replies) => replies,
        Err(error) => {
            let details = serde_json::json!({ "error": format!("{error:#}") });
            governance::finish(settings, intent, change, AuditOutcome::Failure, details)?;
            return Err(error);
        }
    };
    let Some(outcome) = replies.into_iter().find_map(|r| match r {
        Reply::Outcome { outcome } => Some(outcome),
        _ => None,
    }) else {
        let details = serde_json::json!({ "error": "no outcome from the supervisor" });
        governance::finish(settings, intent, change, AuditOutcome::Failure, details)?;
        anyhow::bail!("the supervisor closed the connection before the outcome (is it stopping?)");
    };
    change.from.clone_from(&outcome.from);
    change.to = Some(outcome.to.clone());
    let audit_outcome = match outcome.result {
        UpgradeResult::Upgraded | UpgradeResult::Unchanged => AuditOutcome::Success,
        UpgradeResult::RolledBack => AuditOutcome::Failure,
    };
    governance::finish(
        settings,
        intent,
        change,
        audit_outcome,
        serde_json::to_value(&outcome)?,
    )?;
    report(&outcome, settings)
}

/// Records the outcome of an upgrade or rollback whose process ended before it could, as
/// the release found current, and warns about each.
fn reconcile_interrupted(settings: &GlobalSettings) -> anyhow::Result<()> {
    let home = settings.dirs.home.clone();
    let closed = governance::reconcile(settings, |intent| {
        if !matches!(intent.action.as_str(), "svc.upgrade" | "svc.rollback") {
            return None;
        }
        let current =
            goshift_fs::fs::read_link(home.join("services").join(&intent.subject).join("current"))
                .ok()
                .and_then(|target| Some(target.file_name()?.to_string_lossy().into_owned()));
        Some(governance::Found {
            outcome: AuditOutcome::Interrupted,
            found: serde_json::json!({ "current_release": current }),
        })
    })?;
    for record in &closed {
        settings.printer.warn(format!(
            "`{} {}` ended before its outcome was recorded; audit record {} records the release found current",
            record.action, record.subject, record.seq
        ));
    }
    Ok(())
}

fn print_phase(settings: &GlobalSettings, event: &PhaseEvent) {
    let pids = match (event.old_pid, event.new_pid) {
        (Some(old), Some(new)) => format!(" (old pid {old}, new pid {new})"),
        (None, Some(new)) => format!(" (pid {new})"),
        _ => String::new(),
    };
    let detail = event
        .detail
        .as_ref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    settings.printer.status(format!(
        "{:>12} {}{pids}{detail}",
        format!("{:?}", event.phase).to_lowercase(),
        event.service
    ));
}

/// `value` with every floating-point number written as a string. A hash-chained record must
/// read back exactly as it was written, and JSON parsers do not all round-trip every `f64`
/// to the last bit; integers and strings do.
pub(crate) fn audit_details(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(audit_details).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, audit_details(v)))
                .collect(),
        ),
        other => other,
    }
}

fn report(outcome: &Outcome, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(outcome)?;
    }
    let from = outcome.from.as_deref().unwrap_or("nothing");
    Ok(match outcome.result {
        UpgradeResult::Upgraded => {
            if !printer.json() {
                printer.data(format!(
                    "{} {} from {from} to {} in {:.2}s",
                    printer.paint(Style::Green, "upgraded"),
                    outcome.service,
                    outcome.to,
                    outcome.duration_seconds
                ));
            }
            ExitStatus::Success
        }
        UpgradeResult::Unchanged => {
            if !printer.json() {
                printer.data(format!(
                    "{} already runs {}; nothing to do",
                    outcome.service, outcome.to
                ));
            }
            ExitStatus::Success
        }
        UpgradeResult::RolledBack => {
            if !printer.json() {
                printer.data(format!(
                    "{} {} to {from}: {}",
                    printer.paint(Style::Red, "rolled back"),
                    outcome.service,
                    outcome.reason.as_deref().unwrap_or("no reason given")
                ));
            }
            ExitStatus::Failure
        }
    })
}
