//! `goshift home`.

use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints goshift's home directory.
pub(crate) fn home(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let home = settings.dirs.home.display().to_string();
    if settings.printer.json() {
        settings
            .printer
            .json_value(&serde_json::json!({ "path": home }))?;
    } else {
        settings.printer.data(home);
    }
    Ok(ExitStatus::Success)
}
