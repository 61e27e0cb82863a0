//! Per-project toolchain commands, and what they share: resolving the current directory and
//! picking an installed version for a request.

mod completions;
mod config;
mod current;
mod doctor;
mod each;
pub(crate) mod exec;
mod init;
mod manpages;
mod modfile;
pub(crate) mod pin;
mod unpin;
mod which;

use anyhow::Context as _;
use goshift_fs::EnvVars;
use goshift_project::{Directive, Request, Resolution, ResolveError, Selection, resolve};
use goshift_version::{GoVersion, VersionRequest};

use crate::cli::ProjectCommand;
use crate::config::ToolchainSelection;
use crate::error::{WithHint, hinted};
use crate::exit::ExitStatus;
use crate::goenv::GoEnv;
use crate::proxy::{read_project_file, resolve_hint};
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Runs a per-project command.
pub(crate) fn run(
    command: ProjectCommand,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    match command {
        ProjectCommand::Which(args) => which::which(args, settings),
        ProjectCommand::Current => current::current(settings),
        ProjectCommand::Pin(args) => pin::pin(args, settings),
        ProjectCommand::Unpin => unpin::unpin(settings),
        ProjectCommand::Init(args) => init::init(&args, settings),
        ProjectCommand::Completions(args) => completions::completions(&args, settings),
        ProjectCommand::Manpages(args) => manpages::manpages(&args, settings),
        ProjectCommand::Complete(args) => Ok(completions::complete(&args, settings)),
        ProjectCommand::Exec(args) => exec::exec(args, settings),
        ProjectCommand::Each(args) => each::each(args, settings),
        ProjectCommand::Doctor => doctor::doctor(settings),
        ProjectCommand::Config(command) => config::config(command, settings),
        ProjectCommand::Mod(args) => modfile::show(args, settings),
    }
}

/// Resolves the toolchain of the working directory, exactly as the `go` proxy does:
/// `GOTOOLCHAIN` and `GOWORK` from the environment, else from Go's env file, and the config
/// file's `toolchain_selection`.
pub(crate) fn resolve_here(settings: &GlobalSettings) -> Result<Resolution, ResolveError> {
    resolve_in(settings, &settings.cwd)
}

/// [`resolve_here`] for the directory `start` instead of the working directory.
pub(crate) fn resolve_in(
    settings: &GlobalSettings,
    start: &std::path::Path,
) -> Result<Resolution, ResolveError> {
    let env = &settings.env;
    let mut go_env = GoEnv::new(|name| env.var(name));
    let go_version = env.var(EnvVars::GOSHIFT_GO_VERSION);
    let gotoolchain = go_env.get(EnvVars::GOTOOLCHAIN);
    let gowork = go_env.get(EnvVars::GOWORK);
    let request = Request {
        go_version: go_version.as_deref(),
        gotoolchain: gotoolchain.as_ref().map(|s| s.value.as_str()),
        gotoolchain_file: gotoolchain.as_ref().and_then(|s| s.file.as_deref()),
        gowork: gowork.as_ref().map(|s| s.value.as_str()),
        selection: settings
            .config
            .toolchain_selection
            .map_or(Selection::NewestInstalled, ToolchainSelection::selection),
        start,
    };
    resolve(
        &request,
        &mut read_project_file,
        &mut StoreView::new(&settings.dirs.home),
    )
}

/// What to install so that `error` goes away, and the hint that says so: for a go.mod or
/// go.work `go` line, its line (`1.22` for `go 1.22.0`), which `goshift install` resolves to
/// the newest release the index has, a version that exists and meets the minimum. A
/// `toolchain` line, a pin or a prerelease minimum names one exact version instead.
pub(crate) fn install_request(error: &ResolveError) -> Option<(String, String)> {
    let request = error.install_request()?;
    if let ResolveError::Unsatisfied { requirement, .. } = error
        && requirement.directive == Directive::Go
        && request != requirement.minimum.to_string()
    {
        let hint = format!(
            "run `goshift install {request}` (the newest {request} release, which meets `go {}`)",
            requirement.minimum
        );
        return Some((request, hint));
    }
    let hint = format!("run `goshift install {request}`");
    Some((request, hint))
}

/// [`resolve_here`] with the install hint attached to its error.
pub(crate) fn resolve_here_hinted(settings: &GlobalSettings) -> anyhow::Result<Resolution> {
    match resolve_here(settings) {
        Ok(resolution) => Ok(resolution),
        Err(error) => match install_request(&error) {
            Some((_, hint)) => Err(error).hint(hint),
            None if matches!(error, ResolveError::NoDefault) => Err(error)
                .hint("install a toolchain with `goshift install latest`, which also makes it the default"),
            None => match resolve_hint(&error, &StoreView::new(&settings.dirs.home)) {
                Some(hint) => Err(error).hint(hint),
                None => Err(error.into()),
            },
        },
    }
}

/// The installed version that `text` (exact, line or `latest`) asks for.
pub(crate) fn select_installed(store: &StoreView<'_>, text: &str) -> anyhow::Result<GoVersion> {
    let request = VersionRequest::parse(text)
        .with_context(|| format!("`{text}` is not a version request"))?;
    let installed = store.installed_sorted();
    match request.select(&installed) {
        Some(version) => Ok(version.clone()),
        None => Err(hinted(
            format!("no installed Go toolchain matches `{text}`"),
            format!(
                "run `goshift install {text}`{}",
                if installed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (installed: {})",
                        installed
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        )),
    }
}
