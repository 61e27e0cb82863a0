//! `goshift unpin`: removes the working directory's `.go-version`, or the Go line of its
//! `.tool-versions` (the file goes too when nothing else is left in it).

use goshift_project::show_path;
use goshift_project::tool_versions;

use super::pin::nearest_pin;
use super::resolve_here;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Removes the pin of the working directory and says what `go` runs now. A pin further up is named, not
/// removed: it may be shared by several projects.
pub(crate) fn unpin(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let Some(pin) = nearest_pin(settings)? else {
        return Err(hinted(
            "nothing is pinned here: there is no `.go-version`, nor a `.tool-versions` with a Go line, in this directory or above",
            "see what `go` runs here with `goshift current`",
        ));
    };
    let shown = show_path(&pin.path, &settings.cwd);
    if pin.path.parent() != Some(settings.cwd.as_path()) {
        let dir = pin.path.parent().unwrap_or(&pin.path);
        return Err(hinted(
            format!(
                "the pin here comes from {shown} in a parent directory, which may pin other projects too"
            ),
            format!("run `goshift unpin` in `{}` to remove it", dir.display()),
        ));
    }
    let removed = if pin.is_tool_versions() {
        let text = goshift_fs::fs::read_to_string(&pin.path)?;
        if let Some(rest) = tool_versions::without_go_line(&text) {
            goshift_fs::write_atomic(&pin.path, rest.as_bytes())?;
            format!("removed its line from {shown}")
        } else {
            goshift_fs::fs::remove_file(&pin.path)?;
            format!("removed {shown}")
        }
    } else {
        goshift_fs::fs::remove_file(&pin.path)?;
        format!("removed {shown}")
    };
    let printer = &settings.printer;
    let now = resolve_here(settings).ok();
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "path": pin.path,
            "previous": pin.version,
            "version": now.as_ref().map(|r| &r.version),
        }))?;
    } else {
        printer.status(format!(
            "Unpinned {} ({removed})",
            pin.version.toolchain_name()
        ));
        if let Some(now) = now {
            printer.status(format!(
                "`go` here now runs {} ({})",
                now.version.toolchain_name(),
                now.source.describe(&settings.cwd)
            ));
        }
    }
    Ok(ExitStatus::Success)
}
