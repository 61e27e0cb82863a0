//! `goshift snapshot restore FILE [--dry-run]`.

use std::path::Path;

use goshift_fs::fs;
use goshift_store::Action;
use goshift_version::GoVersion;
use serde_json::json;

use super::{Snapshot, decode};
use crate::commands::toolchain::{ToolchainSettings, install, refresh_links};
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Verifies the snapshot, reinstalls missing toolchains (archive cache first, else the
/// mirror; both verified against the snapshot's hashes), restores the default and the
/// history, and prints `go install` lines for missing tools.
pub(crate) fn restore(
    settings: &GlobalSettings,
    file: &Path,
    dry_run: bool,
    force: bool,
    reason: Option<&String>,
) -> anyhow::Result<ExitStatus> {
    let snapshot = decode(&settings.cwd.join(file))?;
    let toolchain = ToolchainSettings::resolve(settings)?;
    let store = &toolchain.store;
    let missing = missing_toolchains(store, &snapshot)?;
    let default = snapshot
        .default
        .as_deref()
        .map(GoVersion::parse)
        .transpose()?;
    let tools = missing_tools(settings, &snapshot);

    announce(settings, store, &missing, dry_run)?;
    if let Some(default) = &default {
        settings.printer.status(format!(
            "{} the default to go{default} and the history ({} entries)",
            if dry_run { "Would set" } else { "Setting" },
            history_entries(&snapshot)
        ));
    }
    if dry_run {
        print_tools(settings, &tools);
        return Ok(ExitStatus::Success);
    }

    let mut change = Change::new("snapshot.restore", file.display().to_string())
        .states(
            store.default_version()?.map(|v| v.toolchain_name()),
            default.as_ref().map(GoVersion::toolchain_name),
        )
        .overrides(force, reason.cloned());
    governance::authorize(settings, &mut change)?;

    reinstall(settings, &toolchain, file, &missing, reason)?;
    let installed: Vec<String> = missing.iter().map(|(v, _)| v.toolchain_name()).collect();
    apply(
        settings,
        &toolchain,
        &change,
        &snapshot,
        default.as_ref(),
        &installed,
    )?;
    warn_if_policy_differs(settings, &snapshot);
    settings.printer.status(format!(
        "Restored: {} toolchain{} installed, default {}",
        installed.len(),
        if installed.len() == 1 { "" } else { "s" },
        default
            .as_ref()
            .map_or("none".to_owned(), GoVersion::toolchain_name)
    ));
    print_tools(settings, &tools);
    Ok(ExitStatus::Success)
}

/// The snapshot's toolchains that are not installed, with their archives' hashes.
fn missing_toolchains(
    store: &goshift_store::Store,
    snapshot: &Snapshot,
) -> anyhow::Result<Vec<(GoVersion, Option<String>)>> {
    let mut missing = Vec::new();
    for entry in &snapshot.toolchains {
        let version = GoVersion::parse(&entry.version)?;
        if !store.is_installed(&version) {
            missing.push((version, entry.archive_sha256.clone()));
        }
    }
    Ok(missing)
}

/// How many switches the snapshot's history records.
fn history_entries(snapshot: &Snapshot) -> usize {
    snapshot
        .history
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Sets the default and writes the history, as one audited change.
fn apply(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    change: &Change,
    snapshot: &Snapshot,
    default: Option<&GoVersion>,
    installed: &[String],
) -> anyhow::Result<()> {
    let store = &toolchain.store;
    governance::audited(
        settings,
        change,
        || {
            let lock = toolchain.lock(settings)?;
            if let Some(default) = default {
                store.set_default(&lock, default, Action::Use)?;
            }
            goshift_fs::write_atomic(&store.history_path(), snapshot.history.as_bytes())?;
            refresh_links(toolchain, &lock)?;
            Ok(())
        },
        |()| {
            json!({
                "installed": installed,
                "default": default.map(GoVersion::toolchain_name),
                "history_entries": history_entries(snapshot),
                "snapshot_created": snapshot.created,
                "snapshot_host": snapshot.host,
            })
        },
    )
}

/// Warns when the policy in force is not the snapshot's (it is never restored).
fn warn_if_policy_differs(settings: &GlobalSettings, snapshot: &Snapshot) {
    let Some(policy) = &snapshot.policy else {
        return;
    };
    let current = governance::policy_path(settings).and_then(|path| fs::read_to_string(path).ok());
    if current.as_deref() != Some(policy.text.as_str()) {
        settings.printer.warn(format!(
            "the policy in force differs from the snapshot's (`{}`); it was left as it is",
            policy.path
        ));
    }
}

/// Says where each missing toolchain will come from; refuses when one cannot come back.
fn announce(
    settings: &GlobalSettings,
    store: &goshift_store::Store,
    missing: &[(GoVersion, Option<String>)],
    dry_run: bool,
) -> anyhow::Result<()> {
    for (version, sha256) in missing {
        let cached = sha256.as_ref().and_then(|hash| store.cached_archive(hash));
        let from = match (&cached, sha256) {
            (Some(_), _) => "the archive cache".to_owned(),
            (None, Some(_)) => "the mirror".to_owned(),
            (None, None) => {
                return Err(hinted(
                    format!(
                        "go{version} was imported, not installed from an archive, and is missing"
                    ),
                    "import it again with `goshift import DIR`, then restore; nothing was changed",
                ));
            }
        };
        settings.printer.status(format!(
            "{}go{version} from {from}",
            if dry_run {
                "Would install "
            } else {
                "Installing "
            }
        ));
    }
    Ok(())
}

/// Installs the missing toolchains through `goshift install`'s own path (policy, audit,
/// verification and smoke test included): from the archive cache when the archive is there,
/// else from the mirror, always checked against the snapshot's SHA-256.
fn reinstall(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    file: &Path,
    missing: &[(GoVersion, Option<String>)],
    reason: Option<&String>,
) -> anyhow::Result<()> {
    let store = &toolchain.store;
    for (version, sha256) in missing {
        let cached = sha256.as_ref().and_then(|hash| store.cached_archive(hash));
        let request = install::Request {
            versions: vec![version.to_string()],
            archive: cached,
            sha256: sha256.clone(),
            smoke_test: true,
            replace: goshift_store::Replace::Never,
            force: false,
            allow_unverified: false,
            reason: reason
                .cloned()
                .or_else(|| Some(format!("restore {}", file.display()))),
        };
        let status = install::install_request(request, settings, toolchain)?;
        if status != ExitStatus::Success {
            return Err(hinted(
                format!("failed to reinstall go{version}"),
                "the toolchains installed so far stay; fix the cause and restore again",
            ));
        }
    }

    Ok(())
}

/// Tools of the snapshot that are not in `$GOPATH/bin` with the same hash now.
fn missing_tools<'a>(settings: &GlobalSettings, snapshot: &'a Snapshot) -> Vec<&'a super::Tool> {
    let gopath = snapshot
        .go_env
        .as_ref()
        .and_then(|env| env.get("GOPATH")?.as_str())
        .and_then(|paths| paths.split(':').next().map(std::path::PathBuf::from))
        .or_else(|| {
            settings
                .env
                .var(goshift_fs::EnvVars::GOPATH)
                .map(Into::into)
        });
    snapshot
        .tools
        .iter()
        .filter(|tool| {
            let Some(gopath) = &gopath else { return true };
            fs::read(gopath.join("bin").join(&tool.name)).map_or(true, |bytes| {
                format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes)) != tool.sha256
            })
        })
        .collect()
}

/// Prints the `go install` line of each missing tool (data on stdout).
fn print_tools(settings: &GlobalSettings, tools: &[&super::Tool]) {
    for tool in tools {
        match tool.install_line() {
            Some(line) => settings.printer.data(line),
            None => settings.printer.warn(format!(
                "`{}` from $GOPATH/bin is missing and has no build info; reinstall it by hand",
                tool.name
            )),
        }
    }
}
