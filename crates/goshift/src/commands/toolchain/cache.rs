//! `goshift cache dir|size|clean`: the verified archives kept for offline reinstalls and
//! snapshot restores, which nothing else ever removes. They live in the cache directory
//! (`$GOSHIFT_CACHE_DIR`, `$XDG_CACHE_HOME/goshift`, `~/.cache/goshift`); those an older
//! version left under `$GOSHIFT_HOME/cache/archives` count too until they move.

use goshift_fs::fs;

use super::progress::mib;
use super::{ToolchainSettings, clean};
use crate::cli::toolchain::CacheCommand;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Runs a cache command.
pub(crate) fn cache(
    command: &CacheCommand,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let store = &toolchain.store;
    let dir = store.archive_cache_dir();
    let dirs: Vec<std::path::PathBuf> = std::iter::once(dir.clone())
        .chain(store.legacy_archive_cache_dir())
        .collect();
    let printer = &settings.printer;
    match command {
        CacheCommand::Dir => {
            if printer.json() {
                printer.json_value(&serde_json::json!({ "path": dir }))?;
            } else {
                printer.data(dir.display().to_string());
            }
        }
        CacheCommand::Size => {
            let archives = archives(&dirs)?;
            let bytes: u64 = archives.iter().map(|(_, size)| size).sum();
            if printer.json() {
                printer.json_value(&serde_json::json!({
                    "path": dir,
                    "archives": archives.len(),
                    "bytes": bytes,
                }))?;
            } else {
                printer.data(format!(
                    "{} archive{}, {}",
                    archives.len(),
                    if archives.len() == 1 { "" } else { "s" },
                    mib(bytes)
                ));
            }
        }
        CacheCommand::Clean => {
            // Installs write into the cache under the store lock.
            let lock = toolchain.lock(settings)?;
            clean(settings, toolchain, &lock)?;
            let archives = archives(&dirs)?;
            let bytes: u64 = archives.iter().map(|(_, size)| size).sum();
            for (path, _) in &archives {
                fs::remove_file(path)?;
            }
            drop(lock);
            if printer.json() {
                printer.json_value(&serde_json::json!({
                    "path": dir,
                    "removed": archives.len(),
                    "bytes": bytes,
                }))?;
            } else {
                printer.status(format!(
                    "Removed {} cached archive{} ({}) from {}",
                    archives.len(),
                    if archives.len() == 1 { "" } else { "s" },
                    mib(bytes),
                    dir.display()
                ));
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// Every regular file in the cache directories with its size; none from a directory that
/// does not exist (yet, or any more).
fn archives(dirs: &[std::path::PathBuf]) -> anyhow::Result<Vec<(std::path::PathBuf, u64)>> {
    let mut found = Vec::new();
    for dir in dirs {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error.into()),
        };
        for entry in entries {
            let entry = entry?;
            let metadata = entry.metadata()?;
            if metadata.is_file() {
                found.push((entry.path(), metadata.len()));
            }
        }
    }
    found.sort();
    Ok(found)
}
