//! `goshift pin [VERSION]`: writes `.go-version` (or go.mod's `toolchain` line with
//! `--go-mod`), or shows the pin and where it comes from. A `.tool-versions` here with a Go
//! line decides before `.go-version` (as asdf and mise read it), so `pin` sets that line
//! instead, keeping the other tools.
//!
//! The version is checked first against the installed toolchains, then against the release
//! index (`GOSHIFT_INDEX_URL`, the config file's `index_url`, or go.dev), so a typo never
//! becomes a pin. `--allow-missing` pins an exact version without asking the index. A pin
//! below the `go` line of the module (or workspace) is refused: the build would fail.

mod files;

use std::path::PathBuf;

use anyhow::Context as _;
use goshift_project::show_path;
use goshift_project::tool_versions::{self, TOOL_VERSIONS};
use goshift_version::{GoVersion, VersionRequest};

pub(crate) use files::{ModuleFile, module_file, nearest_pin};

use crate::cli::PinArgs;
use crate::commands::project::select_installed;
use crate::error::{WithHint as _, hinted};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Pins an installed version (a line or `latest` picks the newest installed match), or a
/// release the index knows of (with a warning that it is not installed yet).
pub(crate) fn pin(args: PinArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let PinArgs {
        request,
        allow_missing,
        go_mod,
    } = args;
    let Some(text) = request else {
        return show(settings);
    };
    let chosen = choose(settings, &text, allow_missing)?;
    let module = module_file(settings)?;
    if let Some(module) = &module {
        let minimum = module.minimum();
        if chosen < minimum {
            return Err(hinted(
                format!(
                    "cannot pin {}: {} needs Go {minimum} or newer (its `go` line), so the build would fail",
                    chosen.toolchain_name(),
                    show_path(&module.path, &settings.cwd)
                ),
                format!(
                    "pin a version that meets it, such as `goshift pin {}`, or lower the `go` line first if the module supports older Go (`go mod edit -go={chosen}`)",
                    minimum.lang()
                ),
            ));
        }
    }
    if go_mod {
        let Some(module) = module else {
            return Err(hinted(
                "there is no go.mod or go.work here or above to write a `toolchain` line into",
                "run `goshift pin VERSION` without `--go-mod` to write `.go-version`",
            ));
        };
        return pin_toolchain_line(settings, &module, &chosen);
    }
    let (path, previous) = write_pin(settings, &chosen)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "path": path,
            "version": chosen,
            "previous": previous,
        }))?;
    } else {
        printer.status(match previous {
            Some(previous) if previous != chosen => format!(
                "Pinned {} in ./{name} (was {})",
                chosen.toolchain_name(),
                previous.toolchain_name()
            ),
            _ => format!("Pinned {} in ./{name}", chosen.toolchain_name()),
        });
    }
    if let Some(toolchain) = module.as_ref().and_then(ModuleFile::toolchain)
        && toolchain != chosen
    {
        printer.warn(overrides_message(
            settings,
            &name,
            &chosen,
            module.as_ref(),
            &toolchain,
        ));
    }
    Ok(ExitStatus::Success)
}

/// Writes the pin of the working directory: the Go line of its `.tool-versions` when it has
/// one (which would otherwise override `.go-version`), else `.go-version`. Returns the file and
/// the version it pinned before.
fn write_pin(
    settings: &GlobalSettings,
    chosen: &GoVersion,
) -> anyhow::Result<(PathBuf, Option<GoVersion>)> {
    let tool_versions = settings.cwd.join(TOOL_VERSIONS);
    if let Ok(text) = goshift_fs::fs::read_to_string(&tool_versions)
        && tool_versions::pins_go(&text)
    {
        let previous = tool_versions::parse_tool_versions(&tool_versions, &text)
            .ok()
            .flatten()
            .and_then(|pin| pin.versions.into_iter().next());
        let updated = tool_versions::with_go_version(&text, chosen);
        goshift_fs::write_atomic(&tool_versions, updated.as_bytes())?;
        return Ok((tool_versions, previous));
    }
    let path = settings.cwd.join(".go-version");
    let previous = goshift_fs::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.trim().parse::<GoVersion>().ok());
    goshift_fs::write_atomic(&path, format!("{chosen}\n").as_bytes())?;
    Ok((path, previous))
}

/// The warning for a pin file (`.go-version`, `.tool-versions`) that disagrees with the
/// module's `toolchain` line.
pub(crate) fn overrides_message(
    settings: &GlobalSettings,
    pin_name: &str,
    pinned: &GoVersion,
    module: Option<&ModuleFile>,
    toolchain: &GoVersion,
) -> String {
    let file = module.map_or_else(
        || "go.mod".to_owned(),
        |m| show_path(&m.path, &settings.cwd),
    );
    format!(
        "`{pin_name}` ({}) overrides the `toolchain {}` line of {file}, which Renovate and Dependabot update; run `goshift unpin` to follow {file}, or `goshift pin --go-mod VERSION` to change that line",
        pinned.toolchain_name(),
        toolchain.toolchain_name()
    )
}

/// Writes `toolchain go<chosen>` into the module's file.
fn pin_toolchain_line(
    settings: &GlobalSettings,
    module: &ModuleFile,
    chosen: &GoVersion,
) -> anyhow::Result<ExitStatus> {
    let previous = module.toolchain();
    let text = module.with_toolchain(chosen);
    goshift_fs::write_atomic(&module.path, text.as_bytes())?;
    let shown = show_path(&module.path, &settings.cwd);
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "path": module.path,
            "version": chosen,
            "previous": previous,
        }))?;
    } else {
        printer.status(match previous {
            Some(previous) if previous != *chosen => format!(
                "Set `toolchain {}` in {shown} (was {})",
                chosen.toolchain_name(),
                previous.toolchain_name()
            ),
            _ => format!("Set `toolchain {}` in {shown}", chosen.toolchain_name()),
        });
    }
    if let Some(pin) = nearest_pin(settings)?
        && pin.version != *chosen
    {
        printer.warn(format!(
            "{} still pins {} and overrides this line; run `goshift unpin` there",
            show_path(&pin.path, &settings.cwd),
            pin.version.toolchain_name()
        ));
    }
    Ok(ExitStatus::Success)
}

/// `goshift pin` without a version: the pin and its file, or what `go` follows instead.
fn show(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let pin = nearest_pin(settings)?;
    let module = module_file(settings)?;
    let printer = &settings.printer;
    let found = match (&pin, &module) {
        (Some(pin), _) => Some((
            pin.version.clone(),
            pin.path.clone(),
            if pin.is_tool_versions() {
                "tool_versions"
            } else {
                "go_version_file"
            },
        )),
        (None, Some(module)) => module
            .toolchain()
            .map(|version| (version, module.path.clone(), "toolchain_line")),
        (None, None) => None,
    };
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "version": found.as_ref().map(|f| &f.0),
            "path": found.as_ref().map(|f| &f.1),
            "kind": found.as_ref().map(|f| f.2),
        }))?;
    } else if let Some((version, path, kind)) = &found {
        let shown = show_path(path, &settings.cwd);
        printer.data(if *kind == "toolchain_line" {
            format!("{} (toolchain line in {shown})", version.toolchain_name())
        } else {
            format!("{} (pinned in {shown})", version.toolchain_name())
        });
    } else {
        printer.status(match &module {
            Some(module) => format!(
                "Nothing is pinned here: `go` follows the `go {}` line of {} (see `goshift current`)",
                module.minimum(),
                show_path(&module.path, &settings.cwd)
            ),
            None => "Nothing is pinned here: `go` runs the default toolchain (see `goshift current`)"
                .to_owned(),
        });
    }
    if let (Some(pin), Some(module)) = (&pin, &module)
        && let Some(toolchain) = module.toolchain()
        && toolchain != pin.version
    {
        printer.warn(overrides_message(
            settings,
            pin.name(),
            &pin.version,
            Some(module),
            &toolchain,
        ));
    }
    Ok(ExitStatus::Success)
}

/// The version `text` names: installed, else from the index (or as given with
/// `--allow-missing`), with a warning when it is not installed.
fn choose(settings: &GlobalSettings, text: &str, allow_missing: bool) -> anyhow::Result<GoVersion> {
    let store = StoreView::new(&settings.dirs.home);
    let request = VersionRequest::parse(text)
        .with_context(|| format!("`{text}` is not a version request"))?;
    match select_installed(&store, text) {
        Ok(installed) => Ok(installed),
        Err(not_installed) => {
            let known = match &request {
                VersionRequest::Exact(exact) if allow_missing => exact.clone(),
                _ => from_index(settings, &request)
                    .map_err(|error| error.context(not_installed.to_string()))?,
            };
            settings.printer.warn(format!(
                "{} is not installed; `go` here fails until you run `goshift install {known}`",
                known.toolchain_name()
            ));
            Ok(known)
        }
    }
}

/// The release `request` names in the index, for this machine's platform.
fn from_index(settings: &GlobalSettings, request: &VersionRequest) -> anyhow::Result<GoVersion> {
    // The same index, platform, proxy and limits as `install`.
    let toolchain = crate::commands::toolchain::ToolchainSettings::resolve(settings)?;
    let (sources, platform) = (&toolchain.sources, &toolchain.platform);
    let progress = crate::commands::toolchain::progress::Progress::new(settings.printer);
    let wait = progress.wait(&format!(
        "Reading the release index from {}",
        sources.index_url
    ));
    let index = toolchain.client.fetch_index(sources);
    drop(wait);
    drop(progress);
    let index = index
        .context("failed to check the version against the release index")
        .hint(format!(
            "{}, or pin an exact version without checking with `--allow-missing`",
            crate::commands::toolchain::index_hint(&sources.index_url)
        ))?;
    let (release, _) = index
        .resolve(request, platform, false)
        .context("the release index does not have it")?;
    Ok(release.version.clone())
}
