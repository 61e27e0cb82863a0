//! `goshift pin VERSION`: writes `.go-version` in the working directory.

use goshift_version::{GoVersion, VersionRequest};

use crate::cli::PinArgs;
use crate::commands::project::select_installed;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Pins an installed version (a line or `latest` picks the newest installed match); an
/// exact version that is not installed needs `--allow-missing`.
pub(crate) fn pin(args: PinArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let PinArgs {
        request: version,
        allow_missing,
    } = args;
    let store = StoreView::new(&settings.dirs.home);
    let chosen = match VersionRequest::parse(&version) {
        Ok(VersionRequest::Exact(exact)) if allow_missing && !store.is_installed(&exact) => {
            settings.printer.warn(format!(
                "{} is not installed; `go` here fails until you run `goshift install {exact}`",
                exact.toolchain_name()
            ));
            exact
        }
        _ => select_installed(&store, &version)?,
    };
    let path = settings.cwd.join(".go-version");
    let previous = goshift_fs::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.trim().parse::<GoVersion>().ok());
    goshift_fs::write_atomic(&path, format!("{chosen}\n").as_bytes())?;
    if settings.printer.json() {
        settings.printer.json_value(&serde_json::json!({
            "path": path,
            "version": chosen,
            "previous": previous,
        }))?;
    } else {
        settings.printer.status(match previous {
            Some(previous) if previous != chosen => format!(
                "Pinned {} in ./.go-version (was {})",
                chosen.toolchain_name(),
                previous.toolchain_name()
            ),
            _ => format!("Pinned {} in ./.go-version", chosen.toolchain_name()),
        });
    }
    Ok(ExitStatus::Success)
}
