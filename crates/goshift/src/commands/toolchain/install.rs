//! `goshift install VERSION...`: resolve, download, verify, smoke-test, publish.
//!
//! Each version runs in its own thread: the slow part (download, extraction, smoke test)
//! happens in a private staging area without the store lock, so `goshift use` is never
//! blocked by a download; the lock is taken only to create the staging area and to publish.

mod plan;

use std::path::PathBuf;

use goshift_audit::Outcome as AuditOutcome;
use goshift_store::{Action, Installation, Plan, Replace, SmokeOutcome, Source};
use goshift_version::GoVersion;

use super::pipeline::{CommandCaller, Operation, pipeline_error};
use super::progress::Progress;
use super::{ToolchainSettings, clean, parse_request};
use crate::cli::toolchain::{ChangeArgs, InstallArgs};
use crate::error::{hinted, with_hint};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;
use plan::{LocalArchive, Options};

/// What to install, as plain data: the command's arguments, or what another command needs
/// installed (`snapshot restore`).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The versions as typed (`1.22.10`, `1.22`, `latest`).
    pub(crate) versions: Vec<String>,
    /// A local archive of the one version.
    pub(crate) archive: Option<PathBuf>,
    /// The archive's trusted SHA-256.
    pub(crate) sha256: Option<String>,
    /// Whether to smoke-test each toolchain.
    pub(crate) smoke_test: bool,
    /// Whether to replace an installed version (`--reinstall`).
    pub(crate) replace: Replace,
    /// Whether to override a policy refusal.
    pub(crate) force: bool,
    /// Whether a local archive without a trusted hash is accepted.
    pub(crate) allow_unverified: bool,
    /// Why, for the audit log.
    pub(crate) reason: Option<String>,
}

/// What happened to one version.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    version: GoVersion,
    /// Its GOROOT (`path` in the JSON vocabulary of `docs/json/`).
    #[serde(rename = "path")]
    dir: PathBuf,
    status: OutcomeStatus,
    /// Whether it is the default now.
    #[serde(rename = "default")]
    became_default: bool,
    source: Option<Source>,
    archive_sha256: Option<String>,
    smoke_test: Option<SmokeOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeStatus {
    Installed,
    AlreadyInstalled,
}

/// Every version's outcome, and the errors of those that failed.
struct Report {
    outcomes: Vec<Outcome>,
    errors: Vec<anyhow::Error>,
}

/// `goshift install`: installs the requested versions; the first becomes the default when
/// there is none.
pub(crate) fn install(
    args: InstallArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let InstallArgs {
        versions,
        archive,
        sha256,
        no_smoke_test,
        reinstall,
        force,
        allow_unverified,
        change: ChangeArgs { reason },
    } = args;
    let request = Request {
        versions,
        archive,
        sha256,
        smoke_test: !no_smoke_test,
        replace: if reinstall {
            Replace::Allowed
        } else {
            Replace::Never
        },
        force,
        allow_unverified,
        reason,
    };
    install_request(request, settings, toolchain)
}

/// Installs what `request` names and reports it as `goshift install` does.
pub(crate) fn install_request(
    request: Request,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let report = run(request, settings, toolchain)?;
    render(settings, report)
}

/// Plans every version, asks the policy about each, installs them in parallel, records the
/// failures and sets the first default.
fn run(
    request: Request,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<Report> {
    let Request {
        versions,
        archive,
        sha256,
        smoke_test,
        replace,
        force,
        allow_unverified,
        reason,
    } = request;
    let sha256 = sha256.as_deref().map(plan::parse_sha256).transpose()?;
    let requests = versions
        .iter()
        .map(|text| parse_request(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    {
        let lock = toolchain.lock(settings)?;
        clean(settings, toolchain, &lock)?;
    }
    let progress = Progress::new(settings.printer);
    let options = Options {
        smoke_test,
        replace,
    };
    let plans = match archive {
        Some(path) => {
            let local = LocalArchive {
                path: &path,
                sha256,
                allow_unverified,
            };
            vec![plan::archive(
                &requests, local, options, toolchain, &progress,
            )?]
        }
        None => plan::downloads(&requests, sha256.as_ref(), options, toolchain, &progress)?,
    };
    if force && replace == Replace::Never {
        refuse_force_as_reinstall(&plans, toolchain)?;
    }
    if !smoke_test {
        progress.status("Skipping the smoke test (--no-smoke-test)");
    }
    // About to install every version: the policy sees each before any is installed.
    let changes = authorize_jobs(settings, &plans, force, reason.as_ref())?;
    let results = install_all(&plans, &changes, settings, toolchain, &progress);
    drop(progress);
    // Changed: record the failures that changed nothing, and report each outcome.
    record_failures(settings, &changes, &results)?;
    let mut report = Report {
        outcomes: Vec::new(),
        errors: Vec::new(),
    };
    for result in results {
        match result {
            Ok(outcome) => report.outcomes.push(outcome),
            Err(failed) => report.errors.push(failed.error),
        }
    }
    set_first_default(settings, toolchain, &mut report.outcomes)?;
    Ok(report)
}

/// Prints the outcomes (`--json`) and the errors; the exit status says whether all went well.
fn render(settings: &GlobalSettings, report: Report) -> anyhow::Result<ExitStatus> {
    let Report {
        outcomes,
        mut errors,
    } = report;
    let printer = &settings.printer;
    if printer.json() && errors.is_empty() {
        printer.json_value(&outcomes)?;
    }
    match errors.len() {
        0 => Ok(ExitStatus::Success),
        1 if outcomes.is_empty() => Err(errors.remove(0)),
        _ => {
            for error in &errors {
                crate::error::report(error);
            }
            Ok(ExitStatus::Error)
        }
    }
}

/// Installs every version, each in its own thread.
fn install_all(
    plans: &[Plan],
    changes: &[Change],
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> Vec<Result<Outcome, JobError>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = plans
            .iter()
            .zip(changes)
            .map(|(plan, change)| {
                scope.spawn(move || {
                    install_one(plan, change, settings, toolchain, progress).map_err(|failed| {
                        JobError {
                            error: out_of_space_hint(failed.error, toolchain)
                                .context(format!("failed to install go{}", plan.version)),
                            recorded: failed.recorded,
                        }
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(JobError {
                        error: anyhow::anyhow!("an install thread panicked"),
                        recorded: false,
                    })
                })
            })
            .collect()
    })
}

/// `install --force` used to reinstall too; for one release, a version it would have
/// reinstalled is an error naming `--reinstall` rather than a silent no-op.
fn refuse_force_as_reinstall(plans: &[Plan], toolchain: &ToolchainSettings) -> anyhow::Result<()> {
    match plans
        .iter()
        .find(|plan| toolchain.store.is_installed(&plan.version))
    {
        Some(plan) => Err(hinted(
            format!(
                "go{} is already installed, and `--force` no longer reinstalls",
                plan.version
            ),
            format!(
                "reinstall with `goshift install {} --reinstall` (`--force` only overrides a policy refusal now)",
                plan.version
            ),
        )),
        None => Ok(()),
    }
}

/// Asks the policy about every version before any is installed.
fn authorize_jobs(
    settings: &GlobalSettings,
    plans: &[Plan],
    force: bool,
    reason: Option<&String>,
) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::with_capacity(plans.len());
    for plan in plans {
        let mut change = Change::new("install", plan.version.toolchain_name())
            .version(plan.version.clone())
            .states(None, Some(plan.version.toolchain_name()))
            .overrides(force, reason.cloned());
        governance::authorize(settings, &mut change)?;
        changes.push(change);
    }
    Ok(changes)
}

/// A job that failed, and whether its failure is in the audit log already (a failure at
/// publishing ends the intent recorded before it).
struct JobError {
    error: anyhow::Error,
    recorded: bool,
}

impl From<anyhow::Error> for JobError {
    fn from(error: anyhow::Error) -> Self {
        Self {
            error,
            recorded: false,
        }
    }
}

/// Appends one audit record per job that failed before it changed anything (downloading,
/// unpacking, the smoke test). A publish is recorded around itself ([`CommandCaller`]).
fn record_failures(
    settings: &GlobalSettings,
    changes: &[Change],
    results: &[Result<Outcome, JobError>],
) -> anyhow::Result<()> {
    for (change, result) in changes.iter().zip(results) {
        if let Err(failed) = result
            && !failed.recorded
        {
            governance::record(
                settings,
                change,
                AuditOutcome::Failure,
                serde_json::json!({ "error": format!("{:#}", failed.error) }),
            )?;
        }
    }
    Ok(())
}

/// Installs one version through the store's pipeline.
fn install_one(
    plan: &Plan,
    change: &Change,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> Result<Outcome, JobError> {
    let version = &plan.version;
    let mut caller = CommandCaller::new(
        settings,
        toolchain,
        change,
        progress,
        Operation::Install,
        version,
    );
    let result = toolchain.store.install(plan, &mut caller);
    let recorded = caller.recorded;
    drop(caller);
    let published = match result {
        Ok(Installation::Published(published)) => published,
        Ok(Installation::AlreadyInstalled) => {
            progress.status(&format!(
                "go{version} is already installed (reinstall with `--reinstall`)"
            ));
            return Ok(Outcome {
                version: version.clone(),
                dir: toolchain.store.toolchain_dir(version),
                status: OutcomeStatus::AlreadyInstalled,
                became_default: false,
                source: None,
                archive_sha256: None,
                smoke_test: None,
            });
        }
        Err(error) => {
            return Err(JobError {
                error: pipeline_error(error, Operation::Install, toolchain, version),
                recorded,
            });
        }
    };
    progress.status(&format!(
        "Installed {} in {}",
        version.toolchain_name(),
        published.dir.display()
    ));
    Ok(Outcome {
        version: version.clone(),
        dir: published.dir,
        status: OutcomeStatus::Installed,
        became_default: false,
        source: Some(published.source),
        archive_sha256: published.archive_sha256,
        smoke_test: Some(published.smoke_test),
    })
}

/// Makes the first version installed, in the order asked, the default when there is none.
fn set_first_default(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    outcomes: &mut [Outcome],
) -> anyhow::Result<()> {
    let Some(first) = outcomes
        .iter_mut()
        .find(|o| o.status == OutcomeStatus::Installed)
    else {
        return Ok(());
    };
    if !super::default_if_none(settings, toolchain, &first.version, Action::Install)? {
        return Ok(());
    }
    first.became_default = true;
    settings.printer.status(format!(
        "Default is now go{} (there was none)",
        first.version
    ));
    Ok(())
}

/// Adds a hint when an error comes from a full disk or a file size limit.
fn out_of_space_hint(error: anyhow::Error, toolchain: &ToolchainSettings) -> anyhow::Error {
    let full = error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge
            )
        })
    });
    if full {
        with_hint(
            error,
            format!(
                "the disk is full or a file size limit was hit: free space under `{}` and run the command again",
                toolchain.store.home().display()
            ),
        )
    } else {
        error
    }
}
