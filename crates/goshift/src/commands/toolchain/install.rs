//! `goshift install VERSION...`: resolve, download, verify, smoke-test, publish.
//!
//! Each version runs in its own thread: the slow part (download, extraction, smoke test)
//! happens in a private staging area without the store lock, so `goshift use` is never
//! blocked by a download; the lock is taken only to create the staging area and to publish.

use std::path::{Path, PathBuf};

use anyhow::Context;
use goshift_dist::{Expected, Index, unpack};
use goshift_fs::EnvVars;
use goshift_store::{
    Action, Manifest, Phase, Replace, SmokeOutcome, SmokeTest, Source, Staging, Verification,
};
use goshift_version::{GoVersion, VersionRequest};

use super::progress::Progress;
use super::{ToolchainSettings, clean, home_error, parse_request, refresh_links};
use crate::cli::toolchain::{ChangeArgs, InstallArgs};
use crate::error::{WithHint, hinted, with_hint};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;
use goshift_audit::Outcome as AuditOutcome;

/// One version to install.
#[derive(Debug)]
struct Job {
    version: GoVersion,
    origin: Origin,
    expected: Expected,
    verification: Verification,
}

/// Where a job's archive comes from.
#[derive(Debug)]
enum Origin {
    Download { url: String },
    Archive { path: PathBuf },
}

/// What happened to one job.
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

/// The options every job shares.
#[derive(Debug, Clone, Copy)]
struct Options {
    smoke_test: bool,
    reinstall: bool,
}

/// Installs the requested versions; the first becomes the default when there is none.
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
    let sha256 = sha256.as_deref().map(parse_sha256).transpose()?;
    let requests = versions
        .iter()
        .map(|text| parse_request(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    {
        let lock = toolchain.lock(settings)?;
        clean(settings, toolchain, &lock)?;
    }
    let progress = Progress::new(settings.printer);
    let jobs = match archive {
        Some(path) => vec![plan_archive(
            &requests,
            &path,
            sha256,
            allow_unverified,
            toolchain,
            &progress,
        )?],
        None => plan_downloads(&requests, sha256.as_ref(), toolchain, &progress)?,
    };
    if force && !reinstall {
        refuse_force_as_reinstall(&jobs, toolchain)?;
    }
    let options = Options {
        smoke_test: !no_smoke_test,
        reinstall,
    };
    if no_smoke_test {
        progress.status("Skipping the smoke test (--no-smoke-test)");
    }
    // About to install every job's version: the policy sees each before any is installed.
    let changes = authorize_jobs(settings, &jobs, force, reason.as_ref())?;
    let results: Vec<Result<Outcome, JobError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .zip(&changes)
            .map(|(job, change)| {
                let progress = &progress;
                scope.spawn(move || {
                    install_one(job, change, options, settings, toolchain, progress).map_err(
                        |failed| JobError {
                            error: out_of_space_hint(failed.error, toolchain)
                                .context(format!("failed to install go{}", job.version)),
                            recorded: failed.recorded,
                        },
                    )
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
    });
    drop(progress);
    // Changed: record the failures that changed nothing, and report each outcome.
    record_failures(settings, &changes, &results)?;
    let results: Vec<anyhow::Result<Outcome>> = results
        .into_iter()
        .map(|result| result.map_err(|failed| failed.error))
        .collect();
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => errors.push(error),
        }
    }
    set_first_default(settings, toolchain, &mut outcomes)?;
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

/// Asks the policy about every job before any is installed.
/// `install --force` used to reinstall too; for one release, a version it would have
/// reinstalled is an error naming `--reinstall` rather than a silent no-op.
fn refuse_force_as_reinstall(jobs: &[Job], toolchain: &ToolchainSettings) -> anyhow::Result<()> {
    match jobs
        .iter()
        .find(|job| toolchain.store.is_installed(&job.version))
    {
        Some(job) => Err(hinted(
            format!(
                "go{} is already installed, and `--force` no longer reinstalls",
                job.version
            ),
            format!(
                "reinstall with `goshift install {} --reinstall` (`--force` only overrides a policy refusal now)",
                job.version
            ),
        )),
        None => Ok(()),
    }
}

fn authorize_jobs(
    settings: &GlobalSettings,
    jobs: &[Job],
    force: bool,
    reason: Option<&String>,
) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut change = Change::new("install", job.version.toolchain_name())
            .version(job.version.clone())
            .states(None, Some(job.version.toolchain_name()))
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
/// unpacking, the smoke test). Installs are recorded by [`install_one`] around the publish.
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

/// Resolves every request against the index.
fn plan_downloads(
    requests: &[VersionRequest],
    sha256: Option<&String>,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> anyhow::Result<Vec<Job>> {
    if sha256.is_some() && requests.len() != 1 {
        return Err(hinted(
            "`--sha256` names one archive, but several versions were given",
            "install the versions one at a time",
        ));
    }
    let index = {
        let _wait = progress.wait(&format!(
            "Reading the release index from {}",
            toolchain.sources.index_url
        ));
        fetch_index(toolchain)?
    };
    let mut jobs: Vec<Job> = Vec::new();
    for request in requests {
        let include_unstable = matches!(request, VersionRequest::Exact(_));
        let (release, file) = index
            .resolve(request, &toolchain.platform, include_unstable)
            .map_err(anyhow::Error::from)
            .hint("`goshift list --remote --all` lists every release of the index")?;
        if !matches!(request, VersionRequest::Exact(_)) {
            progress.status(&format!("Resolved `{request}` to go{}", release.version));
        }
        if file.sha256.is_empty() || file.size == 0 {
            let missing = if file.sha256.is_empty() {
                "sha256"
            } else {
                "size"
            };
            return Err(hinted(
                format!(
                    "the index lists no {missing} for `{}`, so its bytes cannot be verified",
                    file.filename
                ),
                "fix the index, or install the archive with `--archive FILE --sha256 HEX` using a hash published elsewhere",
            ));
        }
        if let Some(given) = sha256
            && given != &file.sha256
        {
            return Err(hinted(
                format!(
                    "the index lists sha256 {} for `{}`, but `--sha256` says {given}",
                    file.sha256, file.filename
                ),
                "check where the hash came from; the index is the trusted source",
            ));
        }
        if jobs.iter().any(|job| job.version == release.version) {
            continue;
        }
        let url = toolchain.sources.archive_url(file)?;
        jobs.push(Job {
            version: release.version.clone(),
            origin: Origin::Download { url },
            expected: Expected {
                sha256: Some(file.sha256.clone()),
                size: Some(file.size),
                version: Some(release.version.clone()),
            },
            verification: Verification::Index,
        });
    }
    Ok(jobs)
}

/// Plans the install of a local archive: one exact version, its hash from `--sha256`, else
/// from the index, else nothing with `--allow-unverified`.
fn plan_archive(
    requests: &[VersionRequest],
    path: &Path,
    sha256: Option<String>,
    allow_unverified: bool,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> anyhow::Result<Job> {
    let [VersionRequest::Exact(version)] = requests else {
        return Err(hinted(
            "`--archive` installs one exact version",
            "name the archive's version, e.g. `goshift install 1.22.10 --archive go1.22.10.linux-amd64.tar.gz`",
        ));
    };
    if !path.is_file() {
        return Err(hinted(
            format!("the archive `{}` does not exist", path.display()),
            "check the path given to `--archive`",
        ));
    }
    let path = goshift_fs::fs::canonicalize(path)?;
    let (sha256, verification) = match sha256 {
        Some(sha256) => (Some(sha256), Verification::Sha256Flag),
        None => match index_hash(version, toolchain) {
            Ok(sha256) => (Some(sha256), Verification::Index),
            Err(error) if allow_unverified => {
                progress.warn(&format!(
                    "installing `{}` WITHOUT checking its SHA-256 ({error:#}); anyone who could change this file controls this toolchain",
                    path.display()
                ));
                (None, Verification::Unverified)
            }
            Err(error) => {
                return Err(with_hint(
                    error.context(format!(
                        "cannot verify the archive `{}`: no trusted SHA-256",
                        path.display()
                    )),
                    "pass the hash published on go.dev/dl with `--sha256 HEX`, or accept the risk with `--allow-unverified`",
                ));
            }
        },
    };
    Ok(Job {
        version: version.clone(),
        origin: Origin::Archive { path },
        expected: Expected {
            sha256,
            size: None,
            version: Some(version.clone()),
        },
        verification,
    })
}

/// The index's hash of `version`'s archive for the platform.
fn index_hash(version: &GoVersion, toolchain: &ToolchainSettings) -> anyhow::Result<String> {
    let index = fetch_index(toolchain)?;
    let (_, file) = index.resolve(
        &VersionRequest::Exact(version.clone()),
        &toolchain.platform,
        true,
    )?;
    Ok(file.sha256.clone())
}

fn fetch_index(toolchain: &ToolchainSettings) -> anyhow::Result<Index> {
    toolchain
        .client
        .fetch_index(&toolchain.sources)
        .context("failed to read the release index")
        .hint(super::index_hint(&toolchain.sources.index_url))
}

/// Installs one version: stage, unpack, smoke-test, publish.
fn install_one(
    job: &Job,
    change: &Change,
    options: Options,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> Result<Outcome, JobError> {
    let store = &toolchain.store;
    let version = &job.version;
    let name = version.toolchain_name();
    let staging = {
        let lock = toolchain.lock(settings)?;
        if !options.reinstall && store.is_installed(version) {
            return Ok(already_installed(job, toolchain, progress));
        }
        store
            .stage(&lock, &name)
            .map_err(|e| home_error(e, &store.home().display().to_string()))?
    };
    let tree = staging.tree();
    goshift_fs::fs::create_dir(&tree).map_err(anyhow::Error::from)?;

    let (source, unpacked) = fetch_and_unpack(job, toolchain, &staging, progress)?;
    store.reached(Phase::Unpacked);

    let smoke_test = smoke_test(job, options, toolchain, &staging, progress)?;
    store.reached(Phase::SmokeTested);

    let manifest = Manifest {
        version: version.clone(),
        source: source.clone(),
        verification: job.verification.clone(),
        archive_sha256: Some(unpacked.archive_sha256.clone()),
        archive_size: Some(unpacked.archive_size),
        installed_at: Manifest::now(),
        smoke_test: smoke_test.clone(),
        entries: unpacked.entries,
    };
    let lock = toolchain.lock(settings)?;
    if !options.reinstall && store.is_installed(version) {
        // Another process published it while this one downloaded.
        return Ok(already_installed(job, toolchain, progress));
    }
    let replace = if options.reinstall {
        Replace::Allowed
    } else {
        Replace::Never
    };
    // About to publish: the intent goes first, the outcome after.
    let intent = governance::begin(settings, change)?;
    let published = store
        .publish(&lock, &staging, &manifest, replace)
        .map_err(anyhow::Error::from);
    let dir = match published {
        Ok(dir) => {
            let details = serde_json::json!({
                "source": source,
                "archive_sha256": unpacked.archive_sha256,
                "verification": job.verification,
                "smoke_test": smoke_test,
            });
            governance::finish(settings, intent, change, AuditOutcome::Success, details)?;
            dir
        }
        Err(error) => {
            let details = serde_json::json!({ "error": format!("{error:#}") });
            if let Err(audit) =
                governance::finish(settings, intent, change, AuditOutcome::Failure, details)
            {
                settings.printer.warn(format!(
                    "failed to record the failure in the audit log: {audit:#}"
                ));
            }
            return Err(JobError {
                error,
                recorded: true,
            });
        }
    };
    keep_in_cache(toolchain, &staging, &unpacked.archive_sha256);
    refresh_links(toolchain, &lock)?;
    drop(lock);
    drop(staging);
    progress.status(&format!("Installed {name} in {}", dir.display()));
    Ok(Outcome {
        version: version.clone(),
        dir,
        status: OutcomeStatus::Installed,
        became_default: false,
        source: Some(source),
        archive_sha256: Some(unpacked.archive_sha256),
        smoke_test: Some(smoke_test),
    })
}

/// Makes the first version installed, in the order asked, the default when there is none.
fn set_first_default(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    outcomes: &mut [Outcome],
) -> anyhow::Result<()> {
    let store = &toolchain.store;
    let Some(first) = outcomes
        .iter_mut()
        .find(|o| o.status == OutcomeStatus::Installed)
    else {
        return Ok(());
    };
    let lock = toolchain.lock(settings)?;
    if store.default_version()?.is_some() {
        return Ok(());
    }
    super::first_default(settings, toolchain, &lock, &first.version, Action::Install)?;
    refresh_links(toolchain, &lock)?;
    drop(lock);
    first.became_default = true;
    settings.printer.status(format!(
        "Default is now go{} (there was none)",
        first.version
    ));
    Ok(())
}

fn already_installed(job: &Job, toolchain: &ToolchainSettings, progress: &Progress) -> Outcome {
    progress.status(&format!(
        "go{} is already installed (reinstall with `--reinstall`)",
        job.version
    ));
    Outcome {
        version: job.version.clone(),
        dir: toolchain.store.toolchain_dir(&job.version),
        status: OutcomeStatus::AlreadyInstalled,
        became_default: false,
        source: None,
        archive_sha256: None,
        smoke_test: None,
    }
}

/// Streams the archive (from the cache, a local file or the network) through verification
/// into the staging tree.
fn fetch_and_unpack(
    job: &Job,
    toolchain: &ToolchainSettings,
    staging: &Staging,
    progress: &Progress,
) -> anyhow::Result<(Source, goshift_dist::Unpacked)> {
    let name = job.version.toolchain_name();
    let cached = job
        .expected
        .sha256
        .as_ref()
        .and_then(|sha| toolchain.store.cached_archive(sha));
    // Room for the tree (and the archive's copy) is checked before a byte is fetched.
    let copied = cached.is_none()
        && (matches!(job.origin, Origin::Download { .. }) || job.expected.sha256.is_some());
    goshift_dist::check_space(&job.expected, toolchain.store.home(), copied)?;
    // A copy of a verified download lands in the staging area, and moves into the cache
    // on publish: concurrent installs never write the same file.
    let cache_copy = staging.dir().join("archive");
    let (source, reader, length, cache): (Source, Box<dyn std::io::Read + Send>, _, _) = match (
        &job.origin,
        cached,
    ) {
        (_, Some(path)) => {
            progress.status(&format!("Using the cached archive of {name}"));
            let file = goshift_fs::fs::File::open(&path)?;
            let length = file.metadata().ok().map(|m| m.len());
            (Source::Cache { path }, Box::new(file), length, None)
        }
        (Origin::Archive { path }, None) => {
            let file = goshift_fs::fs::File::open(path)?;
            let length = file.metadata().ok().map(|m| m.len());
            let cache = job.expected.sha256.as_ref().map(|_| cache_copy.as_path());
            (
                Source::Archive { path: path.clone() },
                Box::new(file),
                length,
                cache,
            )
        }
        (Origin::Download { url }, None) => {
            progress.status(&format!("Downloading {name} from {url}"));
            let download = toolchain
                    .client
                    .open(url, toolchain.sources.allow_insecure_http)
                    .map_err(|error| match error {
                        goshift_dist::DistError::Transport { .. } => with_hint(
                            error.into(),
                            format!(
                                "archives come from `{}` when it is set, else from the index's host; set it to a reachable mirror",
                                EnvVars::GOSHIFT_MIRROR
                            ),
                        ),
                        other => other.into(),
                    })?;
            let length = download.content_length().or(job.expected.size);
            (
                Source::Download { url: url.clone() },
                Box::new(download),
                length,
                Some(cache_copy.as_path()),
            )
        }
    };
    let bar = progress.start(&name, length);
    let result = unpack(reader, &job.expected, &staging.tree(), cache, &mut |done| {
        progress.update(bar, done);
    });
    progress.finish(bar);
    let unpacked = result?;
    Ok((source, unpacked))
}

/// Runs the smoke test unless skipped or the toolchain is for another platform.
fn smoke_test(
    job: &Job,
    options: Options,
    toolchain: &ToolchainSettings,
    staging: &Staging,
    progress: &Progress,
) -> anyhow::Result<SmokeOutcome> {
    let name = job.version.toolchain_name();
    if !options.smoke_test {
        return Ok(SmokeOutcome::Skipped);
    }
    if toolchain.platform != goshift_dist::Platform::host() {
        progress.status(&format!(
            "Skipping the smoke test of {name}: it is built for {}, not this machine",
            toolchain.platform
        ));
        return Ok(SmokeOutcome::Skipped);
    }
    progress.status(&format!("Smoke-testing {name}"));
    let _wait = progress.wait(&format!("Smoke-testing {name}"));
    SmokeTest {
        goroot: &staging.tree(),
        expected: &job.version,
        scratch: &staging.scratch(),
        path: toolchain.smoke_path.clone(),
        timeout: toolchain.smoke_timeout,
    }
    .run()
    .map_err(anyhow::Error::from)
    .context(format!("{name} failed its smoke test, so it was not installed"))
    .hint("a toolchain that cannot build hello-world is broken; `--no-smoke-test` skips the check if you must")?;
    Ok(SmokeOutcome::Passed)
}

/// Moves the verified archive copy into the archive cache as `<sha256>` (best effort: the
/// cache only saves a later download; it may be on another file system than the staging area).
fn keep_in_cache(toolchain: &ToolchainSettings, staging: &Staging, sha256: &str) {
    let copy = staging.dir().join("archive");
    if copy.is_file() {
        let target: &Path = &toolchain.store.archive_cache_dir().join(sha256);
        let _ = goshift_fs::move_file(&copy, target);
    }
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

/// Checks a `--sha256` value: 64 hex digits, returned in lowercase.
fn parse_sha256(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(text.to_ascii_lowercase());
    }
    Err(hinted(
        format!("`{text}` is not a SHA-256: expected 64 hexadecimal digits"),
        "copy the checksum from go.dev/dl or the release index",
    ))
}
