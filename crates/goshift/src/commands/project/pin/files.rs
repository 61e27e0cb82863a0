//! The files a pin lives in: the nearest `.go-version` or `.tool-versions` with a Go line, and
//! the go.work or go.mod whose `go` line a pin must meet and whose `toolchain` line `--go-mod`
//! writes.

use std::path::{Path, PathBuf};

use goshift_fs::EnvVars;
use goshift_project::tool_versions::{TOOL_VERSIONS, parse_tool_versions};
use goshift_project::{FileKind, GoWorkSetting, ModFile, discover, parse, parse_go_version_file};
use goshift_version::GoVersion;

use crate::proxy::read_project_file;
use crate::settings::GlobalSettings;

/// The `.go-version` or `.tool-versions` that pins the working directory.
#[derive(Debug)]
pub(crate) struct PinFile {
    /// Where it is.
    pub(crate) path: PathBuf,
    /// What it pins (a `.tool-versions` line's first version).
    pub(crate) version: GoVersion,
}

impl PinFile {
    /// Whether it is a `.tool-versions`.
    pub(crate) fn is_tool_versions(&self) -> bool {
        is_tool_versions(&self.path)
    }

    /// Its file name, for messages.
    pub(crate) fn name(&self) -> &'static str {
        if self.is_tool_versions() {
            TOOL_VERSIONS
        } else {
            ".go-version"
        }
    }
}

fn is_tool_versions(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == TOOL_VERSIONS)
}

fn is_pin_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == ".go-version" || name == TOOL_VERSIONS)
}

/// The go.work (in workspace mode) or go.mod that governs the working directory.
#[derive(Debug)]
pub(crate) struct ModuleFile {
    /// Where it is.
    pub(crate) path: PathBuf,
    /// Which kind it is.
    pub(crate) kind: FileKind,
    /// Its text as read.
    pub(crate) text: String,
    /// Its directives.
    pub(crate) parsed: ModFile,
}

impl ModuleFile {
    /// The minimum Go version its `go` line (or its absence) sets.
    pub(crate) fn minimum(&self) -> GoVersion {
        self.parsed.go_version(self.kind)
    }

    /// The version of its `toolchain` line, if it has one that names a version.
    pub(crate) fn toolchain(&self) -> Option<GoVersion> {
        self.parsed.toolchain.as_ref()?.version()?.ok()
    }

    /// Its text with the `toolchain` line set to `version`: the existing line replaced, or a
    /// new one after the `go` line (at the end when there is none), as `go mod edit` does.
    pub(crate) fn with_toolchain(&self, version: &GoVersion) -> String {
        let directive = format!("toolchain {}", version.toolchain_name());
        let mut lines: Vec<String> = self
            .text
            .split_inclusive('\n')
            .map(ToOwned::to_owned)
            .collect();
        let newline = if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        if let Some(line) = self.parsed.toolchain.as_ref().map(|t| t.line)
            && let Some(old) = lines.get_mut(line - 1)
        {
            *old = format!("{directive}{newline}");
        } else if let Some(line) = self.parsed.go.as_ref().map(|g| g.line)
            && line <= lines.len()
        {
            if !lines[line - 1].ends_with('\n') {
                lines[line - 1].push_str(newline);
            }
            lines.insert(line, format!("{directive}{newline}"));
        } else {
            if lines.last().is_some_and(|l| !l.ends_with('\n')) {
                lines.push(newline.to_owned());
            }
            lines.push(format!("{directive}{newline}"));
        }
        lines.concat()
    }
}

/// The nearest pin from the working directory up, if any: a `.tool-versions` with a Go line
/// or a `.go-version`, read as the `go` proxy reads them.
pub(crate) fn nearest_pin(settings: &GlobalSettings) -> anyhow::Result<Option<PinFile>> {
    let files = discover(&settings.cwd, &GoWorkSetting::Off, &mut |path| {
        if is_pin_file(path) {
            read_project_file(path)
        } else {
            Ok(None)
        }
    })?;
    let Some(found) = files.go_version else {
        return Ok(None);
    };
    let version = if is_tool_versions(&found.path) {
        let pin = parse_tool_versions(&found.path, &found.text)?;
        match pin.and_then(|pin| pin.versions.into_iter().next()) {
            Some(version) => version,
            None => return Ok(None),
        }
    } else {
        parse_go_version_file(&found.path, &found.text)?.version
    };
    Ok(Some(PinFile {
        path: found.path,
        version,
    }))
}

/// The go.work (honouring `GOWORK`) or else the go.mod above the working directory, ignoring
/// pins on the way.
pub(crate) fn module_file(settings: &GlobalSettings) -> anyhow::Result<Option<ModuleFile>> {
    let gowork =
        GoWorkSetting::from_value(settings.env.var(EnvVars::GOWORK).as_deref(), &settings.cwd);
    let files = discover(&settings.cwd, &gowork, &mut |path| {
        if is_pin_file(path) {
            Ok(None)
        } else {
            read_project_file(path)
        }
    })?;
    let (kind, found) = match (files.go_work, files.go_mod) {
        (Some(work), _) => (FileKind::GoWork, work),
        (None, Some(module)) => (FileKind::GoMod, module),
        (None, None) => return Ok(None),
    };
    let parsed = parse(kind, &found.path, &found.text)?;
    Ok(Some(ModuleFile {
        path: found.path,
        kind,
        text: found.text,
        parsed,
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn module(text: &str) -> ModuleFile {
        let path = Path::new("/m/go.mod");
        ModuleFile {
            path: path.to_owned(),
            kind: FileKind::GoMod,
            text: text.to_owned(),
            parsed: parse(FileKind::GoMod, path, text).unwrap(),
        }
    }

    #[test]
    fn sets_the_toolchain_line() {
        let version = GoVersion::parse("1.22.10").unwrap();
        assert_eq!(
            module("module m\n\ngo 1.22.0\n\nrequire x.y/z v1.0.0\n").with_toolchain(&version),
            "module m\n\ngo 1.22.0\ntoolchain go1.22.10\n\nrequire x.y/z v1.0.0\n"
        );
        assert_eq!(
            module("module m\ngo 1.22.0\ntoolchain go1.22.3 // old\n").with_toolchain(&version),
            "module m\ngo 1.22.0\ntoolchain go1.22.10\n"
        );
        assert_eq!(
            module("module m\r\ngo 1.22.0").with_toolchain(&version),
            "module m\r\ngo 1.22.0\r\ntoolchain go1.22.10\r\n"
        );
        assert_eq!(
            module("module m").with_toolchain(&version),
            "module m\ntoolchain go1.22.10\n"
        );
    }
}
