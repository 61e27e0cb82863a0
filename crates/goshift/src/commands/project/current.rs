//! `goshift current`: the Go version of the working directory and where it came from.

use crate::commands::project::resolve_here_hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Prints e.g. `go1.22.10 (toolchain line in ./go.mod)`. Exits 1 when that version is not
/// installed, so scripts can tell.
pub(crate) fn current(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let resolution = resolve_here_hinted(settings)?;
    let installed = StoreView::new(&settings.dirs.home).is_installed(&resolution.version);
    let description = resolution.source.describe(&settings.cwd);
    if settings.printer.json() {
        settings.printer.json_value(&serde_json::json!({
            "version": resolution.version,
            "source": resolution.source,
            "description": description,
            "installed": installed,
        }))?;
    } else {
        settings.printer.data(format!(
            "{} ({description})",
            resolution.version.toolchain_name()
        ));
    }
    if installed {
        Ok(ExitStatus::Success)
    } else {
        settings.printer.warn(format!(
            "{} is not installed; run `goshift install {}`",
            resolution.version.toolchain_name(),
            resolution.version
        ));
        Ok(ExitStatus::Failure)
    }
}
