//! `goshift fleet set toolchain VERSION --env E --reason R`.

use goshift_fleet::model::DesiredToolchain;
use goshift_version::{GoVersion, VersionRequest};

use super::{connect, fleet_error, stamp, target_environment, write_ahead};
use crate::cli::SetToolchainArgs;
use crate::commands::toolchain::ToolchainSettings;
use crate::error::{WithHint as _, hinted};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Makes VERSION the desired default toolchain of the environment, if the policy allows it
/// there and the release index knows it.
pub(crate) fn set_toolchain(
    args: SetToolchainArgs,
    etcd: crate::cli::EtcdArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SetToolchainArgs {
        requested,
        reason,
        revision,
    } = args;
    let environment = target_environment(settings)?;
    let version = GoVersion::parse(requested.trim().trim_start_matches("go"))
        .map_err(anyhow::Error::from)
        .hint("the fleet wants an exact version such as `1.22.10`")?;
    let stamp = stamp(&reason)?;
    // An unknown version would fail on every host: refuse it here.
    let toolchain = ToolchainSettings::resolve(settings)?;
    let index = toolchain
        .client
        .fetch_index(&toolchain.sources)
        .map_err(anyhow::Error::from)
        .map_err(|e| e.context("failed to read the release index to check the version"))?;
    if let Err(error) = index.resolve(
        &VersionRequest::Exact(version.clone()),
        &toolchain.platform,
        true,
    ) {
        return Err(hinted(
            format!(
                "go{version} cannot be installed from the release index `{}`: {error}",
                toolchain.sources.index_url
            ),
            "`goshift list --remote --all` lists the versions the index has",
        ));
    }
    let fleet = connect(etcd, settings)?;
    let read = fleet.desired_toolchain(&environment).map_err(fleet_error)?;
    let from = read.value.as_ref().map(|d| format!("go{}", d.version));
    let mut change = Change::new("fleet.set-toolchain", &environment)
        .version(version.clone())
        .states(from.clone(), Some(version.toolchain_name()))
        .overrides(false, Some(reason));
    governance::authorize(settings, &mut change)?;
    let desired = DesiredToolchain {
        version: version.to_string(),
        stamp,
    };
    let based_on = revision.unwrap_or(read.revision);
    let written = write_ahead(
        settings,
        &fleet,
        &change,
        serde_json::json!({ "environment": environment, "based_on_revision": based_on }),
        |copy| fleet.set_toolchain(&environment, &desired, based_on, Some(copy)),
        |written| *written,
    )?;
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "environment": environment,
            "toolchain": desired,
            "revision": written,
        }))?;
    } else {
        printer.status(format!(
            "Desired toolchain of `{environment}` is now go{version} (was {}); agents converge on it",
            from.as_deref().unwrap_or("none")
        ));
    }
    Ok(ExitStatus::Success)
}
