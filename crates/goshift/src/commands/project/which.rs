//! `goshift which [TOOL]`: the tool the `go` proxy would run here.

use crate::cli::WhichArgs;
use crate::commands::project::resolve_here_hinted;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Prints the path of `TOOL` in the toolchain resolved for the working directory.
pub(crate) fn which(args: WhichArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let WhichArgs { tool } = args;
    if tool.is_empty() || tool.contains('/') || tool.starts_with('.') {
        anyhow::bail!("`{tool}` is not a tool name; give a file name such as `go` or `gofmt`");
    }
    let resolution = resolve_here_hinted(settings)?;
    let store = StoreView::new(&settings.dirs.home);
    if !store.is_installed(&resolution.version) {
        return Err(hinted(
            format!(
                "{} is not installed ({})",
                resolution.version.toolchain_name(),
                resolution.source.describe(&settings.cwd)
            ),
            format!("run `goshift install {}`", resolution.version),
        ));
    }
    let path = store.root(&resolution.version).join("bin").join(&tool);
    if !path.is_file() {
        return Err(hinted(
            format!(
                "{} has no `{tool}` in `{}`",
                resolution.version.toolchain_name(),
                path.parent().unwrap_or(&path).display()
            ),
            "the tools of a toolchain are `go` and `gofmt`; others live under `go tool`",
        ));
    }
    if settings.printer.json() {
        settings.printer.json_value(&serde_json::json!({
            "path": path,
            "version": resolution.version,
            "source": resolution.source,
        }))?;
    } else {
        settings.printer.data(path.display().to_string());
    }
    Ok(ExitStatus::Success)
}
