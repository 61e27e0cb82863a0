//! `goshift import DIR`: copy an existing GOROOT into the store.

use anyhow::Context;
use goshift_store::{
    Action, Manifest, Phase, Replace, SmokeOutcome, SmokeTest, Source, Staging, Verification,
};
use goshift_version::GoVersion;

use super::{ToolchainSettings, clean, refresh_links};
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
    let store = &toolchain.store;
    let printer = &settings.printer;
    if !dir.join("bin").join("go").is_file() {
        return Err(hinted(
            format!("`{}` is not a GOROOT: it has no `bin/go`", dir.display()),
            "point at the directory `go env GOROOT` prints, e.g. /usr/lib/go-1.19",
        ));
    }
    let source_dir = goshift_fs::fs::canonicalize(&dir)?;
    let version = goshift_dist::read_version_file(&source_dir)
        .context("cannot tell which Go version this is")
        .hint("a GOROOT has a `VERSION` file whose first line is like `go1.22.10`")?;
    let name = version.toolchain_name();
    let change = authorize_import(settings, &version, &source_dir, force, reason)?;
    let staging = {
        let lock = toolchain.lock(settings)?;
        clean(settings, toolchain, &lock)?;
        if !reinstall && store.is_installed(&version) {
            // `--force` used to replace too; say what does now (for one release).
            let hint = if force {
                "`--force` no longer replaces an installed version: pass `--reinstall` to replace it with this copy"
            } else {
                "pass `--reinstall` to replace it with this copy"
            };
            return Err(hinted(format!("{name} is already installed"), hint));
        }
        store.stage(&lock, &name)?
    };
    printer.status(format!("Copying {name} from {}", source_dir.display()));
    goshift_fs::fs::create_dir(staging.tree())?;
    let entries = goshift_dist::copy_tree(&source_dir, &staging.tree())
        .with_context(|| format!("failed to copy `{}`", source_dir.display()))?;
    store.reached(Phase::Unpacked);
    let smoke_test = smoke_test(settings, toolchain, &staging, &version, no_smoke_test)?;
    store.reached(Phase::SmokeTested);
    let manifest = Manifest {
        version: version.clone(),
        source: Source::Import {
            path: source_dir.clone(),
        },
        verification: Verification::Imported,
        archive_sha256: None,
        archive_size: None,
        installed_at: Manifest::now(),
        smoke_test,
        entries,
    };
    let lock = toolchain.lock(settings)?;
    // About to publish the imported `version`.
    let replace = if reinstall {
        Replace::Allowed
    } else {
        Replace::Never
    };
    let publish = || {
        store
            .publish(&lock, &staging, &manifest, replace)
            .map_err(anyhow::Error::from)
    };
    let details = |_: &_| serde_json::json!({ "smoke_test": manifest.smoke_test });
    let dir = governance::audited(settings, &change, publish, details)?;
    let became_default = if store.default_version()?.is_none() {
        super::first_default(settings, toolchain, &lock, &version, Action::Import)?;
        true
    } else {
        false
    };
    refresh_links(toolchain, &lock)?;
    drop(lock);
    drop(staging);
    // Changed: `version` is installed.
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
    Ok(ExitStatus::Success)
}

/// Runs the smoke test on the copied tree, unless skipped.
fn smoke_test(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    staging: &Staging,
    version: &GoVersion,
    skip: bool,
) -> anyhow::Result<SmokeOutcome> {
    let printer = &settings.printer;
    let name = version.toolchain_name();
    if skip {
        printer.status("Skipping the smoke test (--no-smoke-test)");
        return Ok(SmokeOutcome::Skipped);
    }
    printer.status(format!("Smoke-testing {name}"));
    SmokeTest {
        goroot: &staging.tree(),
        expected: version,
        scratch: &staging.scratch(),
        path: toolchain.smoke_path.clone(),
        timeout: toolchain.smoke_timeout,
    }
    .run()
    .map_err(anyhow::Error::from)
    .context(format!(
        "{name} failed its smoke test, so it was not imported"
    ))
    .hint("`--no-smoke-test` skips the check if you must")?;
    Ok(SmokeOutcome::Passed)
}

/// Asks the policy whether `version` may be imported from `source_dir`.
fn authorize_import(
    settings: &GlobalSettings,
    version: &GoVersion,
    source_dir: &std::path::Path,
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
