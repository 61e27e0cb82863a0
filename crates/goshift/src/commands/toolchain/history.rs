//! `goshift history`.

use super::{ToolchainSettings, name_or_none};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints the numbered switches of the default, oldest first.
pub(crate) fn history(
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let printer = &settings.printer;
    let entries = toolchain.store.history()?;
    if printer.json() {
        printer.json_value(&entries)?;
    } else if entries.is_empty() {
        printer.status("No switches yet");
    } else {
        for entry in entries {
            printer.data(format!(
                "{:>3}  {}  {:<9}  {} -> {}",
                entry.seq,
                entry.time,
                entry.action.name(),
                name_or_none(entry.from.as_ref()),
                name_or_none(entry.to.as_ref()),
            ));
        }
    }
    Ok(ExitStatus::Success)
}
