//! `goshift each [VERSION… | --installed] -- COMMAND…`: one run per toolchain and a table.
//!
//! With `--json`, the command's own stdout goes to stderr, so stdout stays one JSON document.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

use goshift_version::GoVersion;
use serde::Serialize;

use crate::cli::EachArgs;
use crate::commands::project::exec::toolchain_command;
use crate::commands::project::select_installed;
use crate::exit::ExitStatus;
use crate::printer::Style;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// The outcome of one run.
#[derive(Debug, Serialize)]
struct Run {
    version: String,
    exit_code: Option<i32>,
    signal: Option<i32>,
    seconds: f64,
}

/// Runs the command under each version in turn; exits 1 when any run failed.
pub(crate) fn each(args: EachArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let EachArgs {
        versions,
        installed,
        command,
    } = args;
    let store = StoreView::new(&settings.dirs.home);
    let mut chosen = if installed {
        let mut all = store.installed_sorted();
        all.reverse();
        all
    } else {
        versions
            .iter()
            .map(|text| select_installed(&store, text))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    if chosen.is_empty() {
        return Err(crate::error::hinted(
            "no Go toolchain is installed",
            "run `goshift install latest`",
        ));
    }
    chosen.dedup();
    let display = command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut runs = Vec::with_capacity(chosen.len());
    for version in &chosen {
        runs.push(run_one(settings, &store, version, &command, &display)?);
    }
    let failed = runs.iter().any(|r| r.exit_code != Some(0));
    if settings.printer.json() {
        settings.printer.json_value(&runs)?;
    } else {
        print_table(settings, &runs);
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Runs `command` with `version`'s toolchain first on the `PATH`, and times it.
fn run_one(
    settings: &GlobalSettings,
    store: &StoreView<'_>,
    version: &GoVersion,
    command: &[OsString],
    display: &str,
) -> anyhow::Result<Run> {
    settings.printer.status(settings.printer.paint(
        Style::Bold,
        &format!("==> {}: {display}", version.toolchain_name()),
    ));
    let mut child = toolchain_command(&store.root(version), command, settings)?;
    if settings.printer.json() {
        // stdout carries one JSON document; what the command prints goes to stderr.
        child.stdout(settings.printer.stderr_for_child());
    }
    let started = Instant::now();
    let outcome = child.status();
    let seconds = started.elapsed().as_secs_f64();
    let (exit_code, signal) = match outcome {
        Ok(status) => (status.code(), status.signal()),
        Err(error) => {
            settings.printer.warn(format!(
                "failed to start `{display}` with {}: {error}",
                version.toolchain_name()
            ));
            (Some(127), None)
        }
    };
    Ok(Run {
        version: version.to_string(),
        exit_code,
        signal,
        seconds,
    })
}

fn print_table(settings: &GlobalSettings, runs: &[Run]) {
    let width = runs
        .iter()
        .map(|r| r.version.len())
        .max()
        .unwrap_or(7)
        .max(7);
    settings.printer.data(format!(
        "{:<width$}  {:>6}  {:>9}",
        "VERSION", "EXIT", "TIME"
    ));
    for run in runs {
        let exit = match (run.exit_code, run.signal) {
            (Some(code), _) => code.to_string(),
            (None, Some(signal)) => format!("sig{signal}"),
            (None, None) => "?".to_owned(),
        };
        settings.printer.data(format!(
            "{:<width$}  {exit:>6}  {:>8.2}s",
            run.version, run.seconds
        ));
    }
}
