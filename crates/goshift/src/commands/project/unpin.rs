//! `goshift unpin`: removes the working directory's `.go-version`.

use goshift_project::show_path;

use super::pin::nearest_pin;
use super::resolve_here;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Removes `./.go-version` and says what `go` runs now. A pin further up is named, not
/// removed: it may be shared by several projects.
pub(crate) fn unpin(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let Some(pin) = nearest_pin(settings)? else {
        return Err(hinted(
            "nothing is pinned here: there is no `.go-version` in this directory or above",
            "see what `go` runs here with `goshift current`",
        ));
    };
    let shown = show_path(&pin.path, &settings.cwd);
    if pin.path != settings.cwd.join(".go-version") {
        let dir = pin.path.parent().unwrap_or(&pin.path);
        return Err(hinted(
            format!(
                "the pin here comes from {shown} in a parent directory, which may pin other projects too"
            ),
            format!("run `goshift unpin` in `{}` to remove it", dir.display()),
        ));
    }
    goshift_fs::fs::remove_file(&pin.path)?;
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
            "Unpinned {} (removed {shown})",
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
