//! `goshift pin VERSION`: writes `.go-version` in the working directory.
//!
//! The version is checked first against the installed toolchains, then against the release
//! index (`GOSHIFT_INDEX_URL`, the config file's `index_url`, or go.dev), so a typo never
//! becomes a pin. `--allow-missing` pins an exact version without asking the index.

use anyhow::Context as _;
use goshift_dist::{Client, Platform, Sources};
use goshift_fs::EnvVars;
use goshift_version::{GoVersion, VersionRequest};

use crate::cli::PinArgs;
use crate::commands::project::select_installed;
use crate::error::WithHint as _;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Pins an installed version (a line or `latest` picks the newest installed match), or a
/// release the index knows of (with a warning that it is not installed yet).
pub(crate) fn pin(args: PinArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let PinArgs {
        request: text,
        allow_missing,
    } = args;
    let store = StoreView::new(&settings.dirs.home);
    let request = VersionRequest::parse(&text)
        .with_context(|| format!("`{text}` is not a version request"))?;
    let chosen = match select_installed(&store, &text) {
        Ok(installed) => installed,
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
            known
        }
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

/// The release `request` names in the index, for this machine's platform.
fn from_index(settings: &GlobalSettings, request: &VersionRequest) -> anyhow::Result<GoVersion> {
    let env = &settings.env;
    let sources = Sources {
        index_url: env
            .var(EnvVars::GOSHIFT_INDEX_URL)
            .or_else(|| settings.config.index_url.clone())
            .unwrap_or_else(|| Sources::DEFAULT_INDEX_URL.to_owned()),
        mirror: None,
        allow_insecure_http: env.var(EnvVars::GOSHIFT_ALLOW_HTTP).as_deref() == Some("1"),
    };
    let platform = match env.var(EnvVars::GOSHIFT_PLATFORM) {
        Some(text) => Platform::parse(&text)?,
        None => Platform::host(),
    };
    let index = Client::new()
        .fetch_index(&sources)
        .context("failed to check the version against the release index")
        .hint("pin an exact version without checking with `--allow-missing`")?;
    let (release, _) = index
        .resolve(request, &platform, false)
        .context("the release index does not have it")?;
    Ok(release.version.clone())
}
