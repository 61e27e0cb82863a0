//! `goshift import DIR`: copy an existing GOROOT into the store.

use std::path::{Path, PathBuf};

use anyhow::Context;
use goshift_store::{Action, Installation, Origin, Plan, Replace, SmokeSettings, Verification};
use goshift_version::GoVersion;

use super::pipeline::{CommandCaller, Operation, pipeline_error};
use super::progress::Progress;
use super::{ToolchainSettings, clean};
use crate::cli::toolchain::{ChangeArgs, ImportArgs};
use crate::error::{WithHint, hinted};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Copies a GOROOT (version from its `VERSION` file), smoke-tests and publishes it.
pub(crate) fn import(
    args: ImportArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let ImportArgs {
        dir,
        no_smoke_test,
        reinstall,
        force,
        change: ChangeArgs { reason },
    } = args;
    let (source_dir, version) = read_goroot(&dir)?;
    let change = authorize_import(settings, &version, &source_dir, force, reason)?;
    {
        let lock = toolchain.lock(settings)?;
        clean(settings, toolchain, &lock)?;
        if !reinstall && toolchain.store.is_installed(&version) {
            return Err(already_installed(&version, force));
        }
    }
    let plan = Plan {
        version: version.clone(),
        origin: Origin::Tree {
            dir: source_dir.clone(),
        },
        expected: goshift_dist::Expected::default(),
        verification: Verification::Imported,
        smoke_test: (!no_smoke_test).then(|| SmokeSettings {
            path: toolchain.smoke_path.clone(),
            timeout: toolchain.smoke_timeout,
        }),
        platform: goshift_dist::Platform::host(),
        replace: if reinstall {
            Replace::Allowed
        } else {
            Replace::Never
        },
        goshift_exe: toolchain.goshift_exe.clone(),
    };
    let progress = Progress::new(settings.printer);
    let mut caller = CommandCaller::new(
        settings,
        toolchain,
        &change,
        &progress,
        Operation::Import,
        &version,
    );
    let installed = toolchain.store.install(&plan, &mut caller);
    drop(caller);
    drop(progress);
    let dir = match installed {
        Ok(Installation::Published(published)) => published.dir,
        Ok(Installation::AlreadyInstalled) => return Err(already_installed(&version, force)),
        Err(error) => {
            return Err(pipeline_error(
                error,
                Operation::Import,
                toolchain,
                &version,
            ));
        }
    };
    let became_default = super::default_if_none(settings, toolchain, &version, Action::Import)?;
    // Changed: `version` is installed.
    render(settings, &version, &dir, &source_dir, became_default)?;
    Ok(ExitStatus::Success)
}

/// The canonical GOROOT at `dir` and its version, from its `VERSION` file.
fn read_goroot(dir: &Path) -> anyhow::Result<(PathBuf, GoVersion)> {
    if !dir.join("bin").join("go").is_file() {
        return Err(hinted(
            format!("`{}` is not a GOROOT: it has no `bin/go`", dir.display()),
            "point at the directory `go env GOROOT` prints, e.g. /usr/lib/go-1.19",
        ));
    }
    let source_dir = goshift_fs::fs::canonicalize(dir)?;
    let version = goshift_dist::read_version_file(&source_dir)
        .context("cannot tell which Go version this is")
        .hint("a GOROOT has a `VERSION` file whose first line is like `go1.22.10`")?;
    Ok((source_dir, version))
}

/// The error for a version that is installed already.
fn already_installed(version: &GoVersion, force: bool) -> anyhow::Error {
    // `--force` used to replace too; say what does now (for one release).
    let hint = if force {
        "`--force` no longer replaces an installed version: pass `--reinstall` to replace it with this copy"
    } else {
        "pass `--reinstall` to replace it with this copy"
    };
    hinted(
        format!("{} is already installed", version.toolchain_name()),
        hint,
    )
}

/// Prints what was imported: a JSON object with `--json`, else status lines.
fn render(
    settings: &GlobalSettings,
    version: &GoVersion,
    dir: &Path,
    source_dir: &Path,
    became_default: bool,
) -> anyhow::Result<()> {
    let printer = &settings.printer;
    let name = version.toolchain_name();
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "version": version,
            "path": dir,
            "source_path": source_dir,
            "default": became_default,
        }))?;
    } else {
        printer.status(format!("Imported {name} into {}", dir.display()));
        if became_default {
            printer.status(format!("Default is now {name} (there was none)"));
        }
    }
    Ok(())
}

/// Asks the policy whether `version` may be imported from `source_dir`.
fn authorize_import(
    settings: &GlobalSettings,
    version: &GoVersion,
    source_dir: &Path,
    force: bool,
    reason: Option<String>,
) -> anyhow::Result<Change> {
    let mut change = Change::new("import", version.toolchain_name())
        .version(version.clone())
        .states(
            Some(source_dir.display().to_string()),
            Some(version.toolchain_name()),
        )
        .overrides(force, reason);
    governance::authorize(settings, &mut change)?;
    Ok(change)
}
