//! The toolchain store's commands, and the settings they share.
//!
//! [`ToolchainSettings`] is resolved once from the environment and the config file (its
//! `[toolchain]` table, then its top-level `index_url` and `mirror`; the environment wins):
//! where releases come from, the platform, the store, and the goshift executable the `bin/`
//! links point at.

mod cache;
mod env;
mod history;
mod import;
pub(super) mod install;
mod list;
mod pipeline;
pub(super) mod progress;
mod prune;
mod rollback;
mod switch;
mod uninstall;
pub(super) mod use_version;
mod verify;

use std::ffi::OsString;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use goshift_dist::{Client, DownloadLimits, Platform, Sources};
use goshift_fs::EnvVars;
use goshift_store::{Phase, Store, StoreError, StoreLock};
use goshift_version::{GoVersion, VersionRequest};

use crate::cli::toolchain::ToolchainCommand;
use crate::error::{Hint, WithHint, hinted, with_hint};
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// How long each step of the smoke test may take (a cold `go build` compiles the runtime).
const SMOKE_TIMEOUT: Duration = Duration::from_mins(5);

/// Runs a toolchain command.
pub(crate) fn run(
    command: ToolchainCommand,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    if let ToolchainCommand::Home = command {
        return super::home::home(settings);
    }
    let toolchain = ToolchainSettings::resolve(settings)?;
    match command {
        ToolchainCommand::List(args) => list::list(&args, settings, &toolchain),
        ToolchainCommand::Install(args) => install::install(args, settings, &toolchain),
        ToolchainCommand::Use(args) => use_version::use_version(args.into(), settings, &toolchain),
        ToolchainCommand::History => history::history(settings, &toolchain),
        ToolchainCommand::Rollback(args) => rollback::rollback(&args, settings, &toolchain),
        ToolchainCommand::Uninstall(args) => uninstall::uninstall(args, settings, &toolchain),
        ToolchainCommand::Prune(args) => prune::prune(&args, settings, &toolchain),
        ToolchainCommand::Import(args) => import::import(args, settings, &toolchain),
        ToolchainCommand::Verify(args) => verify::verify(args, settings, &toolchain),
        ToolchainCommand::Cache(command) => cache::cache(&command, settings, &toolchain),
        ToolchainCommand::Env(args) => env::env(&args, settings, &toolchain),
        ToolchainCommand::Home => super::home::home(settings),
    }
}

/// What the toolchain commands need beyond the global settings.
#[derive(Debug, Clone)]
pub(crate) struct ToolchainSettings {
    /// The store under `GOSHIFT_HOME`.
    pub(crate) store: Store,
    /// Where the index and archives come from.
    pub(crate) sources: Sources,
    /// The HTTP client (through `HTTPS_PROXY` for remote hosts when set).
    pub(crate) client: Client,
    /// The platform whose archives are installed.
    pub(crate) platform: Platform,
    /// The goshift executable, for the `bin/` links.
    pub(crate) goshift_exe: PathBuf,
    /// `PATH` for the smoke test's Go commands.
    pub(crate) smoke_path: OsString,
    /// The smoke test's limit per step.
    pub(crate) smoke_timeout: Duration,
}

/// Whether plain `http://` is allowed: `GOSHIFT_ALLOW_HTTP`, else the config file's value.
fn allow_http(settings: &GlobalSettings, configured: Option<bool>) -> anyhow::Result<bool> {
    match settings.env.var(EnvVars::GOSHIFT_ALLOW_HTTP).as_deref() {
        None => Ok(configured.unwrap_or(false)),
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no") => Ok(false),
        Some(other) => Err(hinted(
            format!(
                "{} is `{other}`, not a boolean",
                EnvVars::GOSHIFT_ALLOW_HTTP
            ),
            format!(
                "set {}=1 to allow plain http, or unset it",
                EnvVars::GOSHIFT_ALLOW_HTTP
            ),
        )),
    }
}

impl ToolchainSettings {
    /// Resolves the settings from the environment, then the config file.
    pub(crate) fn resolve(settings: &GlobalSettings) -> anyhow::Result<Self> {
        let config = settings.config.toolchain.clone().unwrap_or_default();
        let env = &settings.env;
        let index_url = env
            .var(EnvVars::GOSHIFT_INDEX_URL)
            .or(config.index_url)
            .or_else(|| settings.config.index_url.clone())
            .unwrap_or_else(|| Sources::DEFAULT_INDEX_URL.to_owned());
        let mirror = env
            .var(EnvVars::GOSHIFT_MIRROR)
            .or(config.mirror)
            .or_else(|| settings.config.mirror.clone());
        let allow_insecure_http = allow_http(settings, config.allow_http)?;
        let platform = match env.var(EnvVars::GOSHIFT_PLATFORM).or(config.platform) {
            Some(text) => Platform::parse(&text)
                .with_context(|| format!("invalid {}", EnvVars::GOSHIFT_PLATFORM))?,
            None => Platform::host(),
        };
        let store = store(settings)?;
        let client = match env.var(EnvVars::HTTPS_PROXY) {
            Some(proxy) => Client::with_proxy(&proxy)
                .with_context(|| format!("invalid {}", EnvVars::HTTPS_PROXY))?,
            None => Client::new(),
        }
        .with_limits(download_limits(settings)?);
        let goshift_exe =
            std::env::current_exe().context("failed to find the goshift executable")?;
        let printer = settings.printer;
        if printer.verbose {
            printer.debug(format!("release index: {index_url}"));
            printer.debug(format!(
                "archives from: {}",
                mirror.as_deref().unwrap_or("the index's host")
            ));
            printer.debug(format!("platform: {platform}"));
            if let Some(proxy) = env.var(EnvVars::HTTPS_PROXY) {
                printer.debug(format!("https proxy: {proxy}"));
            }
        }
        Ok(Self {
            store,
            sources: Sources {
                index_url,
                mirror,
                allow_insecure_http,
            },
            client,
            platform,
            goshift_exe,
            smoke_path: env.var_os(EnvVars::PATH).unwrap_or_default(),
            smoke_timeout: SMOKE_TIMEOUT,
        })
    }

    /// Takes the store lock, saying so when another process holds it. Threads of this
    /// process queue on a mutex first, so the message only ever names another process.
    pub(crate) fn lock(&self, settings: &GlobalSettings) -> anyhow::Result<HeldLock> {
        static IN_PROCESS: Mutex<()> = Mutex::new(());
        let local = IN_PROCESS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let printer = settings.printer;
        let home = self.store.home().display().to_string();
        let store = self
            .store
            .lock(settings.lock_timeout, |holder| {
                printer.status(format!("Waiting for the store lock (held by {holder})"));
            })
            .map_err(|error| home_error(error, &home))?;
        Ok(HeldLock {
            store,
            _local: local,
        })
    }
}

/// The store under the home, keeping archives in the cache directory; with an observer that
/// stops the process at the phase `GOSHIFT_TEST_PAUSE` names, for the crash tests.
fn store(settings: &GlobalSettings) -> anyhow::Result<Store> {
    let store =
        Store::new(&settings.dirs.home).with_archive_cache(settings.dirs.cache.join("archives"));
    let Some(name) = settings
        .env
        .var(EnvVars::GOSHIFT_TEST_PAUSE)
        .filter(|name| name != crate::commands::fleet::FLEET_WRITTEN)
    else {
        return Ok(store);
    };
    let phase = Phase::from_name(&name).ok_or_else(|| {
        anyhow::anyhow!("{} names no phase: `{name}`", EnvVars::GOSHIFT_TEST_PAUSE)
    })?;
    let settings = settings.clone();
    Ok(store.with_observer(move |reached| {
        if reached == phase {
            governance::pause_for_tests(&settings, phase);
        }
    }))
}

/// The store lock, held by this thread.
#[derive(Debug)]
pub(crate) struct HeldLock {
    store: StoreLock,
    _local: MutexGuard<'static, ()>,
}

impl Deref for HeldLock {
    type Target = StoreLock;

    fn deref(&self) -> &StoreLock {
        &self.store
    }
}

/// `GOSHIFT_DOWNLOAD_TIMEOUT`, `GOSHIFT_INDEX_TIMEOUT` and `GOSHIFT_DOWNLOAD_MIN_RATE`, over
/// the defaults.
fn download_limits(settings: &GlobalSettings) -> anyhow::Result<DownloadLimits> {
    let mut limits = DownloadLimits::default();
    if let Some(deadline) = duration_var(settings, EnvVars::GOSHIFT_DOWNLOAD_TIMEOUT, "30m", "1h")?
    {
        limits.deadline = deadline;
    }
    if let Some(deadline) = duration_var(settings, EnvVars::GOSHIFT_INDEX_TIMEOUT, "30s", "60s")? {
        limits.index_deadline = deadline;
    }
    if let Some(text) = settings.env.var(EnvVars::GOSHIFT_DOWNLOAD_MIN_RATE) {
        limits.min_rate = text.trim().parse().map_err(|_| {
            hinted(
                format!(
                    "{} is `{}`, not a number of bytes per second",
                    EnvVars::GOSHIFT_DOWNLOAD_MIN_RATE,
                    shorten(&text)
                ),
                format!(
                    "set it like `{}=4096`, or `0` for no minimum",
                    EnvVars::GOSHIFT_DOWNLOAD_MIN_RATE
                ),
            )
        })?;
    }
    Ok(limits)
}

/// A positive duration from the variable `var`, if set; the error shows `example` and says
/// that unsetting it gives `default`.
fn duration_var(
    settings: &GlobalSettings,
    var: &str,
    example: &str,
    default: &str,
) -> anyhow::Result<Option<Duration>> {
    let Some(text) = settings.env.var(var) else {
        return Ok(None);
    };
    crate::settings::parse_duration(&text)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| {
            hinted(
                format!("{var} is `{}`, not a duration", shorten(&text)),
                format!("set it like `{var}={example}`, or unset it for {default}"),
            )
        })
}

/// `text` for a message: at most 64 characters, the rest elided (`…`).
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_owned(),
    }
}

/// Parses a version request, with a hint on failure.
pub(crate) fn parse_request(text: &str) -> anyhow::Result<VersionRequest> {
    const LONGEST: usize = 64;
    if text.len() > LONGEST {
        return Err(hinted(
            format!("`{}` is not a Go version", shorten(text)),
            "versions look like `1.22.10`, `1.22` (newest patch) or `latest`",
        ));
    }
    VersionRequest::parse(text)
        .map_err(anyhow::Error::from)
        .hint("versions look like `1.22.10`, `1.22` (newest patch) or `latest`")
}

/// The installed version a request names: exact, or the newest installed on a line.
pub(crate) fn installed_version(store: &Store, text: &str) -> anyhow::Result<GoVersion> {
    let request = parse_request(text)?;
    let installed = store.installed_versions()?;
    if let Some(version) = request.select(&installed) {
        return Ok(version.clone());
    }
    let list = if installed.is_empty() {
        "nothing is installed".to_owned()
    } else {
        let names: Vec<String> = installed.iter().rev().map(|v| format!("go{v}")).collect();
        format!("installed: {}", names.join(", "))
    };
    let text = shorten(text);
    Err(hinted(
        format!("no installed toolchain matches `{text}` ({list})"),
        format!("install it first with `goshift install {text}`"),
    ))
}

impl Hint for StoreError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NotInstalled { version, .. } => {
                Some(format!("install it with `goshift install {version}`"))
            }
            Self::IsDefault { version } => Some(format!(
                "switch to another version first (`goshift use VERSION`), or pass `--remove-default` to remove go{version} and leave no default"
            )),
            Self::BadHistory { .. } => Some(HISTORY_HINT.to_owned()),
            Self::NoPrevious => Some(
                "`goshift history` lists the switches; `goshift use VERSION` sets one".to_owned(),
            ),
            Self::NoSuchSwitch { .. } | Self::ClearedSwitch { .. } => {
                Some("`goshift history` lists the switches and their numbers".to_owned())
            }
            _ => None,
        }
    }
}

/// A store error where writing into `home` failed: the fix is a writable home with space.
pub(crate) fn home_error(error: StoreError, home: &str) -> anyhow::Error {
    let refused = match &error {
        StoreError::Io { source, .. }
        | StoreError::Lock(goshift_fs::LockError::Io { source, .. }) => {
            goshift_fs::is_refusal(source)
        }
        _ => false,
    };
    if refused {
        // The refusal names the entry and its fix; a generic one would mislead.
        return error.into();
    }
    match error {
        StoreError::Io { .. } | StoreError::Lock(goshift_fs::LockError::Io { .. }) => with_hint(
            error.into(),
            format!(
                "make sure `{home}` is writable and has free space, or set GOSHIFT_HOME to another directory"
            ),
        ),
        other => other.into(),
    }
}

/// The fix for a release index that cannot be read: the one variable that moves it.
/// `GOSHIFT_MIRROR` moves only the archive downloads, so naming it here would not help.
pub(crate) fn index_hint(index_url: &str) -> String {
    format!(
        "the release index is read from `{index_url}`; set `{}` to a reachable copy of it (`https://…`, `file://…` or a loopback `http://…`); `{}` moves only the archive downloads",
        EnvVars::GOSHIFT_INDEX_URL,
        EnvVars::GOSHIFT_MIRROR
    )
}

/// Cleans what dead processes left, telling the user what was removed; repairs the history;
/// and records the outcome of every toolchain change whose process died before recording it,
/// as found now. Runs under the store lock before any mutation.
pub(crate) fn clean(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    lock: &StoreLock,
) -> anyhow::Result<()> {
    let store = &toolchain.store;
    let removed = store.clean(lock)?;
    if !removed.is_empty() {
        settings.printer.status(format!(
            "Cleaned up {} leftover(s) of interrupted operations",
            removed.len()
        ));
    }
    let recovery = store.recover(lock)?;
    if recovery.torn_bytes > 0 {
        settings.printer.warn(format!(
            "the history ended in an incomplete line ({} bytes, left by an interrupted write); it was cut off",
            recovery.torn_bytes
        ));
    }
    if let Some(entry) = &recovery.added {
        settings.printer.warn(format!(
            "the default was switched to {} without a history entry (an interrupted switch); entry {} now records it",
            name_or_none(entry.to.as_ref()),
            entry.seq
        ));
    }
    if !recovery.is_empty() {
        let mut change = governance::Change::new("history.repair", "history");
        change = change.states(
            recovery
                .added
                .as_ref()
                .and_then(|e| e.from.as_ref())
                .map(GoVersion::toolchain_name),
            recovery
                .added
                .as_ref()
                .and_then(|e| e.to.as_ref())
                .map(GoVersion::toolchain_name),
        );
        governance::record(
            settings,
            &change,
            goshift_audit::Outcome::Success,
            serde_json::json!({
                "torn_bytes": recovery.torn_bytes,
                "added_seq": recovery.added.as_ref().map(|e| e.seq),
            }),
        )?;
    }
    let closed = governance::reconcile(settings, |intent| probe(store, intent))?;
    for record in &closed {
        settings.printer.warn(format!(
            "`{} {}` was interrupted before its outcome was recorded; audit record {} records it as found: {}",
            record.action, record.subject, record.seq, record.outcome
        ));
    }
    Ok(())
}

/// The fix for a history that cannot be read.
pub(crate) const HISTORY_HINT: &str = "the history file is damaged before its last line: restore it from a backup (`goshift snapshot restore FILE`), or move it aside to start a new one (the default stays)";

/// What the store shows of an interrupted toolchain change; `None` for changes that are not
/// the store's.
fn probe(store: &Store, intent: &goshift_audit::Record) -> Option<governance::Found> {
    use goshift_audit::Outcome;
    let version_of = |name: &str| {
        name.strip_prefix("go")
            .and_then(|v| GoVersion::parse(v).ok())
    };
    let installed = |name: &str| {
        version_of(name)
            .is_some_and(|v| store.is_installed(&v) && store.manifest_path(&v).is_file())
    };
    let default = store.default_version().ok().flatten();
    let default_name = default.as_ref().map(GoVersion::toolchain_name);
    let all: Vec<String> = store
        .installed_versions()
        .unwrap_or_default()
        .iter()
        .map(GoVersion::toolchain_name)
        .collect();
    let either = |done: bool| {
        if done {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    };
    let outcome = match intent.action.as_str() {
        "install" | "import" => either(installed(&intent.subject)),
        "use" | "rollback" => either(default_name == intent.to),
        "uninstall" => either(!installed(&intent.subject)),
        "prune" => {
            let names: Vec<&str> = intent
                .subject
                .split(", ")
                .filter(|n| !n.is_empty())
                .collect();
            let left = names.iter().filter(|n| installed(n)).count();
            if left == 0 {
                Outcome::Success
            } else if left == names.len() {
                Outcome::Failure
            } else {
                Outcome::Interrupted
            }
        }
        "snapshot.restore" => Outcome::Interrupted,
        _ => return None,
    };
    Some(governance::Found {
        outcome,
        found: serde_json::json!({ "default": default_name, "installed": all }),
    })
}

/// Makes `version` the default of a store that has none (the first install or import), as
/// its own audited change.
pub(crate) fn first_default(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    lock: &StoreLock,
    version: &GoVersion,
    action: goshift_store::Action,
) -> anyhow::Result<()> {
    let change = governance::Change::new("use", version.toolchain_name())
        .version(version.clone())
        .states(None, Some(version.toolchain_name()));
    governance::audited(
        settings,
        &change,
        || {
            toolchain
                .store
                .set_default(lock, version, action)
                .map_err(anyhow::Error::from)
        },
        |made| serde_json::json!({ "history_seq": made.seq, "first": action.name() }),
    )?;
    Ok(())
}

/// Makes `version` the default of a store that has none (after the first install or
/// import) and refreshes the `bin/` links; returns whether it did.
pub(crate) fn default_if_none(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    version: &GoVersion,
    action: goshift_store::Action,
) -> anyhow::Result<bool> {
    let lock = toolchain.lock(settings)?;
    if toolchain.store.default_version()?.is_some() {
        return Ok(false);
    }
    first_default(settings, toolchain, &lock, version, action)?;
    refresh_links(toolchain, &lock)?;
    Ok(true)
}

/// Makes the `bin/` links match the installed versions.
pub(crate) fn refresh_links(toolchain: &ToolchainSettings, lock: &StoreLock) -> anyhow::Result<()> {
    toolchain
        .store
        .refresh_links(lock, &toolchain.goshift_exe)
        .map_err(anyhow::Error::from)
}

/// `go1.22.10`, or `none`.
pub(crate) fn name_or_none(version: Option<&GoVersion>) -> String {
    version.map_or_else(|| "none".to_owned(), GoVersion::toolchain_name)
}
