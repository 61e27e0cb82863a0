//! `goshift mod [FILE]`: what a go.mod or go.work declares.
//!
//! `--json` prints the field names of `go mod edit -json` (`Module`, `Go`, `Require`, …),
//! without empty fields, so the output can be compared with Go's own.

use anyhow::Context;
use goshift_fs::fs;
use goshift_project::{FileKind, ModFile};

use crate::cli::ModArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Parses and prints a go.mod or go.work.
pub(crate) fn show(args: ModArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let ModArgs { file } = args;
    let mut path = settings.cwd.join(&file);
    if path.is_dir() {
        path.push("go.mod");
    }
    let kind = if path.extension().is_some_and(|e| e == "work") {
        FileKind::GoWork
    } else {
        FileKind::GoMod
    };
    let text = fs::read_to_string(&path)?;
    let shown = if file.is_absolute() {
        path.clone()
    } else {
        file.clone()
    };
    let parsed = goshift_project::parse(kind, &shown, &text)
        .with_context(|| format!("failed to parse `{}`", shown.display()))?;
    if settings.printer.json() {
        settings.printer.json_value(&parsed.go_json(kind))?;
    } else {
        for line in human(&parsed, kind) {
            settings.printer.data(line);
        }
    }
    Ok(ExitStatus::Success)
}

fn human(file: &ModFile, kind: FileKind) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(module) = &file.module {
        lines.push(format!("module     {}", module.path));
        if let Some(message) = &module.deprecated {
            lines.push(format!("deprecated {message}"));
        }
    }
    match &file.go {
        Some(go) => lines.push(format!("go         {}", go.version)),
        None => lines.push(format!(
            "go         {} (implied: no go line)",
            file.go_version(kind)
        )),
    }
    if let Some(toolchain) = &file.toolchain {
        lines.push(format!("toolchain  {}", toolchain.name));
    }
    for godebug in &file.godebug {
        lines.push(format!("godebug    {}={}", godebug.key, godebug.value));
    }
    for used in &file.r#use {
        lines.push(format!("use        {}", used.disk_path));
    }
    for require in &file.require {
        let indirect = if require.indirect { " (indirect)" } else { "" };
        lines.push(format!(
            "require    {} {}{indirect}",
            require.path, require.version
        ));
    }
    for exclude in &file.exclude {
        lines.push(format!("exclude    {} {}", exclude.path, exclude.version));
    }
    for replace in &file.replace {
        let side = |path: &str, version: Option<&String>| match version {
            Some(version) => format!("{path} {version}"),
            None => path.to_owned(),
        };
        lines.push(format!(
            "replace    {} => {}",
            side(&replace.old.path, replace.old.version.as_ref()),
            side(&replace.new.path, replace.new.version.as_ref())
        ));
    }
    for retract in &file.retract {
        let range = if retract.low == retract.high {
            retract.low.clone()
        } else {
            format!("[{}, {}]", retract.low, retract.high)
        };
        let why = if retract.rationale.is_empty() {
            String::new()
        } else {
            format!(" ({})", retract.rationale.replace('\n', " "))
        };
        lines.push(format!("retract    {range}{why}"));
    }
    for tool in &file.tool {
        lines.push(format!("tool       {}", tool.path));
    }
    for ignore in &file.ignore {
        lines.push(format!("ignore     {}", ignore.path));
    }
    lines
}
