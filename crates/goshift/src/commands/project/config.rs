//! `goshift config get|set|unset|list`.

use anyhow::Context;
use goshift_fs::fs;

use crate::cli::ConfigCommand;
use crate::config::{Config, ConfigKey};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Reads or changes the config file. Changes are written atomically.
pub(crate) fn config(
    command: ConfigCommand,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let path = settings.dirs.config_file();
    let printer = &settings.printer;
    match command {
        ConfigCommand::Get { key } => {
            let value = settings.config.get(key);
            if printer.json() {
                printer.json_value(&serde_json::json!({ key.name(): value }))?;
            } else if let Some(value) = &value {
                printer.data(value);
            }
            Ok(if value.is_some() {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            })
        }
        ConfigCommand::Set { key, value } => change(settings, key, Some(&value)),
        ConfigCommand::Unset { key } => change(settings, key, None),
        ConfigCommand::List => {
            if printer.json() {
                printer.json_value(&serde_json::json!({
                    "path": path,
                    "settings": settings.config,
                }))?;
            } else {
                printer.status(format!("# {}", path.display()));
                for key in ConfigKey::ALL {
                    if let Some(value) = settings.config.get(key) {
                        printer.data(format!("{key} = {value}"));
                    }
                }
            }
            Ok(ExitStatus::Success)
        }
    }
}

fn change(
    settings: &GlobalSettings,
    key: ConfigKey,
    value: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    let path = settings.dirs.config_file();
    let mut config: Config = settings.config.clone();
    config.set(key, value)?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    goshift_fs::write_atomic(&path, config.to_toml()?.as_bytes())
        .with_context(|| format!("failed to write the config file `{}`", path.display()))?;
    settings.printer.status(match value {
        Some(value) => format!("Set {key} = {value} in {}", path.display()),
        None => format!("Removed {key} from {}", path.display()),
    });
    Ok(ExitStatus::Success)
}
