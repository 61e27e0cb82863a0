//! `goshift snapshot create [-o FILE]`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::Context as _;
use goshift_audit::Actor;
use goshift_fs::{EnvVars, fs};
use goshift_store::Store;
use sha2::{Digest as _, Sha256};

use super::{Snapshot, SnapshotPolicy, SnapshotToolchain, Tool, encode};
use crate::error::WithHint as _;
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Writes a snapshot to `output` (default `goshift-<host>-<time>.snapshot` in the current
/// directory) atomically.
pub(crate) fn create(
    settings: &GlobalSettings,
    output: Option<&Path>,
) -> anyhow::Result<ExitStatus> {
    let store = Store::new(&settings.dirs.home);
    // Read in this order: what fails first is what the error names.
    let toolchains = toolchains(&store)?;
    let default = store.default_version()?;
    let history = store.history_text()?;
    let policy = policy(settings)?;
    let audit_head = governance::audit_log(settings).head()?;
    let go = default
        .as_ref()
        .map(|v| store.toolchain_dir(v).join("bin").join("go"));
    let go_env = go.as_deref().and_then(|go| go_env(go, settings));
    let actor = Actor::from_os();
    let now = SystemTime::now();
    let snapshot = Snapshot {
        created: humantime::format_rfc3339_seconds(now).to_string(),
        host: actor.host.clone(),
        toolchains,
        default: default.as_ref().map(ToString::to_string),
        history,
        policy,
        audit_head,
        tools: tools(settings, go.as_deref(), go_env.as_ref())?,
        go_env,
    };
    let bytes = encode(&snapshot)?;
    let output = if let Some(path) = output {
        settings.cwd.join(path)
    } else {
        let stamp = humantime::format_rfc3339_seconds(now)
            .to_string()
            .replace(':', "");
        settings
            .cwd
            .join(format!("goshift-{}-{stamp}.snapshot", actor.host))
    };
    goshift_fs::write_output(&output, &bytes, 0o600)
        .with_context(|| format!("failed to write the snapshot `{}`", output.display()))
        .hint("name a regular file or a new path with `-o`")?;
    render(settings, &output, &snapshot)?;
    Ok(ExitStatus::Success)
}

/// Every installed toolchain, with its archive's hash and source from its manifest.
fn toolchains(store: &Store) -> anyhow::Result<Vec<SnapshotToolchain>> {
    let mut toolchains = Vec::new();
    for version in store.installed_versions()? {
        let manifest = store
            .manifest(&version)
            .with_context(|| format!("failed to read the manifest of go{version}"))?;
        toolchains.push(SnapshotToolchain {
            version: version.to_string(),
            archive_sha256: manifest.archive_sha256.clone(),
            source: serde_json::to_value(&manifest.source)?,
        });
    }
    Ok(toolchains)
}

/// The policy file in force, if any, with its text.
fn policy(settings: &GlobalSettings) -> anyhow::Result<Option<SnapshotPolicy>> {
    let Some(path) = governance::policy_path(settings) else {
        return Ok(None);
    };
    Ok(Some(SnapshotPolicy {
        text: fs::read_to_string(&path)?,
        path: path.display().to_string(),
    }))
}

/// The programs in `$GOPATH/bin` (the default toolchain's `GOPATH`, else the
/// environment's, else `~/go`).
fn tools(
    settings: &GlobalSettings,
    go: Option<&Path>,
    go_env: Option<&serde_json::Value>,
) -> anyhow::Result<Vec<Tool>> {
    let gopath = go_env
        .and_then(|env| env.get("GOPATH")?.as_str())
        .and_then(|paths| paths.split(':').next().map(PathBuf::from))
        .or_else(|| settings.env.var(EnvVars::GOPATH).map(PathBuf::from))
        .or_else(|| {
            settings
                .env
                .var(EnvVars::HOME)
                .map(|h| Path::new(&h).join("go"))
        });
    match &gopath {
        Some(gopath) => inventory(&gopath.join("bin"), go, settings),
        None => Ok(Vec::new()),
    }
}

/// Prints where the snapshot went and what it holds (a JSON object with `--json`).
fn render(settings: &GlobalSettings, output: &Path, snapshot: &Snapshot) -> anyhow::Result<()> {
    if settings.printer.json() {
        settings.printer.json_value(&serde_json::json!({
            "path": output.display().to_string(),
            "toolchains": snapshot.toolchains.len(),
            "default_version": snapshot.default,
            "tools": snapshot.tools.len(),
        }))?;
        return Ok(());
    }
    settings.printer.data(output.display().to_string());
    settings.printer.status(format!(
        "Snapshot written: {} toolchain{}, default {}, {} tool{} in $GOPATH/bin",
        snapshot.toolchains.len(),
        plural(snapshot.toolchains.len()),
        snapshot
            .default
            .as_deref()
            .map_or("none".to_owned(), |v| format!("go{v}")),
        snapshot.tools.len(),
        plural(snapshot.tools.len()),
    ));
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `go env -json` of a toolchain, or `None` when it cannot run.
fn go_env(go: &Path, settings: &GlobalSettings) -> Option<serde_json::Value> {
    let output = go_command(go, settings)
        .args(["env", "-json"])
        .output()
        .ok()?;
    if !output.status.success() {
        settings.printer.warn(format!(
            "`{} env -json` failed; the snapshot has no `go env`",
            go.display()
        ));
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// Every regular file in `dir`, with its hash and, for Go programs, the main package and
/// module version from `go version -m`.
fn inventory(
    dir: &Path,
    go: Option<&Path>,
    settings: &GlobalSettings,
) -> anyhow::Result<Vec<Tool>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut tools = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let bytes = fs::read(&path)?;
        let (main_path, version) = go
            .and_then(|go| build_info(go, &path, settings))
            .unwrap_or((None, None));
        tools.push(Tool {
            name: entry.file_name().to_string_lossy().into_owned(),
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            path: main_path,
            version,
        });
    }
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tools)
}

/// The `path` and the main module's version from `go version -m FILE`.
fn build_info(
    go: &Path,
    file: &Path,
    settings: &GlobalSettings,
) -> Option<(Option<String>, Option<String>)> {
    let output = go_command(go, settings)
        .args(["version", "-m"])
        .arg(file)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut path = None;
    let mut version = None;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["path", value, ..] => path = Some((*value).to_owned()),
            ["mod", _, value, ..] => version = Some((*value).to_owned()),
            _ => {}
        }
    }
    Some((path, version))
}

fn go_command(go: &Path, settings: &GlobalSettings) -> Command {
    let mut command = Command::new(go);
    command
        .env(EnvVars::GOTOOLCHAIN, "local")
        .env_remove(EnvVars::GOROOT)
        .current_dir(&settings.dirs.home);
    command
}
