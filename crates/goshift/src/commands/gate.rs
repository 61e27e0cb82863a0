//! `goshift gate [--env E] [--format text|json|sarif] [PATH...]`: the CI gate.
//!
//! Scans each PATH for go.mod and go.work files (skipping hidden directories, `_*`,
//! `vendor`, `testdata` and `node_modules`, as the go command does for packages), checks
//! their `go` and `toolchain` lines and the toolchain each project directory resolves to
//! against the policy, and the Go binaries below them (Go version and known vulnerabilities,
//! classified by the policy), looks ahead to each module's next allowed Go version for
//! blockers, and reports. Exit 0 clean, 1 violations, 2 usage or configuration errors.

mod binaries;
mod render;
mod scan;
mod upgrade;

use anyhow::Context as _;
use goshift_policy::gate::Root;

use crate::cli::{GateArgs, GateFormat};
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Runs the gate.
pub(crate) fn gate(settings: &GlobalSettings, args: GateArgs) -> anyhow::Result<ExitStatus> {
    let GateArgs { format, paths } = args;
    // `--json` is `--format json`, as for `impact`; SARIF is JSON already.
    let format = if settings.printer.json() && format == GateFormat::Text {
        GateFormat::Json
    } else {
        format
    };
    let loaded = governance::load_policy(settings)?.ok_or_else(|| {
        hinted(
            format!(
                "the gate needs a policy, and none was found (looked for `--policy`, GOSHIFT_POLICY, `{}` and `{}`)",
                settings.dirs.in_home("policy.toml").display(),
                governance::SYSTEM_POLICY
            ),
            "pass `--policy FILE`, or commit a policy file and point GOSHIFT_POLICY at it",
        )
    })?;
    let environment = governance::environment(settings);
    let roots = roots(settings, paths)?;
    let mut report = scan::scan(settings, &loaded, environment.as_deref(), &roots);
    binaries::check(settings, &roots, &mut report)?;
    upgrade::check(
        settings,
        &loaded,
        environment.as_deref(),
        &roots,
        &mut report,
    )?;
    match format {
        GateFormat::Text => render::text(settings, &report),
        GateFormat::Json => settings.printer.json_value(&report)?,
        GateFormat::Sarif => settings
            .printer
            .json_value(&report.to_sarif("goshift", env!("CARGO_PKG_VERSION")))?,
    }
    settings.printer.status(format!(
        "gate: {} project file{}, {} violation{}, {} warning{} (policy `{}`{})",
        report.projects.len(),
        plural(report.projects.len()),
        report.violations(),
        plural(report.violations()),
        report.count(goshift_policy::gate::Level::Warning),
        plural(report.count(goshift_policy::gate::Level::Warning)),
        loaded.path.display(),
        environment
            .as_deref()
            .map(|e| format!(", environment `{e}`"))
            .unwrap_or_default()
    ));
    Ok(if report.violations() > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The directories to scan, as given and canonical; each must be a directory.
fn roots(
    settings: &GlobalSettings,
    paths: Vec<std::path::PathBuf>,
) -> anyhow::Result<Vec<(Root, std::path::PathBuf)>> {
    let paths = if paths.is_empty() {
        vec![std::path::PathBuf::from(".")]
    } else {
        paths
    };
    let mut roots = Vec::new();
    for path in &paths {
        let absolute = settings.cwd.join(path);
        let metadata = goshift_fs::fs::metadata(&absolute)
            .with_context(|| format!("cannot scan `{}`", path.display()))?;
        if !metadata.is_dir() {
            return Err(hinted(
                format!("`{}` is not a directory", path.display()),
                "pass directories that contain go.mod or go.work files",
            ));
        }
        let absolute = absolute
            .canonicalize()
            .with_context(|| format!("cannot scan `{}`", path.display()))?;
        roots.push((
            Root {
                display: path.display().to_string(),
                uri: file_uri(&absolute),
            },
            absolute,
        ));
    }
    Ok(roots)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `file:///abs/path/` with bytes outside the URI path alphabet percent-encoded.
fn file_uri(path: &std::path::Path) -> String {
    use std::fmt::Write as _;
    use std::os::unix::ffi::OsStrExt as _;
    let mut uri = String::from("file://");
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}
