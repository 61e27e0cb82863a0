//! `goshift list [--remote [--all]]`.

use super::{ToolchainSettings, with_hint};
use crate::cli::toolchain::ListArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Lists installed toolchains (newest first), or the index's releases.
pub(crate) fn list(
    args: &ListArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let ListArgs { remote, all } = *args;
    if remote {
        return list_remote(all, settings, toolchain);
    }
    let printer = &settings.printer;
    let mut installed = toolchain.store.installed()?;
    installed.reverse();
    if printer.json() {
        let rows: Vec<Listed> = installed
            .iter()
            .map(|t| Listed {
                version: t.version.to_string(),
                path: Some(t.dir.clone()),
                default: t.is_default,
                installed: true,
                stable: t.version.is_stable(),
                archive: None,
            })
            .collect();
        printer.json_value(&rows)?;
    } else if installed.is_empty() {
        printer.status("No toolchains installed; install one with `goshift install latest`");
    } else {
        for toolchain in installed {
            let marker = if toolchain.is_default {
                "  (default)"
            } else {
                ""
            };
            printer.data(format!("{}{marker}", toolchain.version.toolchain_name()));
        }
    }
    Ok(ExitStatus::Success)
}

/// One row of `list --json` and `list --remote --json`: the same shape for both
/// (`docs/json/v1/list.schema.json`).
#[derive(Debug, serde::Serialize)]
struct Listed {
    version: String,
    /// The GOROOT when installed.
    path: Option<std::path::PathBuf>,
    /// Whether it is the default.
    default: bool,
    installed: bool,
    stable: bool,
    /// The archive for this platform in the index (`None` without `--remote`).
    archive: Option<String>,
}

fn list_remote(
    all: bool,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let printer = &settings.printer;
    let progress = super::progress::Progress::new(*printer);
    let wait = progress.wait(&format!(
        "Reading the release index from {}",
        toolchain.sources.index_url
    ));
    let index = toolchain
        .client
        .fetch_index(&toolchain.sources)
        .map_err(|e| with_hint(e.into(), super::index_hint(&toolchain.sources.index_url)));
    drop(wait);
    drop(progress);
    let index = index?;
    let store = &toolchain.store;
    let installed = store.installed_versions()?;
    let default = store.default_version()?;
    let mut releases: Vec<Listed> = index
        .releases()
        .iter()
        .filter(|release| all || release.stable)
        .map(|release| Listed {
            version: release.version.to_string(),
            path: installed
                .contains(&release.version)
                .then(|| store.toolchain_dir(&release.version)),
            default: default.as_ref() == Some(&release.version),
            stable: release.stable,
            installed: installed.contains(&release.version),
            archive: release
                .archive_for(&toolchain.platform)
                .map(|file| file.filename.clone()),
        })
        .collect();
    releases.sort_by(|a, b| {
        let parse = |text: &str| goshift_version::GoVersion::parse(text).ok();
        parse(&b.version).cmp(&parse(&a.version))
    });
    if printer.json() {
        printer.json_value(&releases)?;
        return Ok(ExitStatus::Success);
    }
    for release in releases {
        let mut notes = Vec::new();
        if release.installed {
            notes.push("installed".to_owned());
        }
        if !release.stable {
            notes.push("unstable".to_owned());
        }
        if release.archive.is_none() {
            notes.push(format!("no archive for {}", toolchain.platform));
        }
        let name = format!("go{}", release.version);
        if notes.is_empty() {
            printer.data(name);
        } else {
            printer.data(format!("{name:<14}{}", notes.join(", ")));
        }
    }
    Ok(ExitStatus::Success)
}
