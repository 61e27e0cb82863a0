//! Facts the impact report needs from the machine: GODEBUG tables of toolchains (installed or
//! in the archive cache), the project's `//go:debug` directives, and `go list` answers.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use goshift_fs::fs;
use goshift_project::{GodebugOverride, GodebugTable, parse_go_file_header};
use goshift_version::GoVersion;

use crate::commands::project::exec::toolchain_command;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Where a toolchain keeps its GODEBUG table.
const TABLE_PATH: &str = "src/internal/godebugs/table.go";

/// Where a GODEBUG table was read from.
#[derive(Debug, Clone)]
pub(crate) enum TableSource {
    /// The installed toolchain.
    Installed,
    /// A cached archive, read without installing.
    Archive(PathBuf),
}

/// Reads the GODEBUG table of `version`: from the installed toolchain, else from a verified
/// archive in the cache. `Ok(None)` when neither has it.
pub(crate) fn godebug_table(
    settings: &GlobalSettings,
    version: &GoVersion,
) -> anyhow::Result<Option<(GodebugTable, TableSource)>> {
    let store = StoreView::new(&settings.dirs.home);
    if store.is_installed(version) {
        let path = store.root(version).join(TABLE_PATH);
        return match fs::read_to_string(&path) {
            Ok(text) => Ok(Some((parse_table(&text, &path)?, TableSource::Installed))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        };
    }
    // The cache directory, then where older versions kept archives.
    let mut paths: Vec<PathBuf> = Vec::new();
    for archives in [
        settings.dirs.cache.join("archives"),
        settings.dirs.home.join("cache").join("archives"),
    ] {
        let Ok(entries) = fs::read_dir(&archives) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        found.sort();
        paths.extend(found);
    }
    for path in paths {
        if let Some(text) = table_from_archive(&path, version)? {
            let table = parse_table(&text, &path.join(TABLE_PATH))?;
            return Ok(Some((table, TableSource::Archive(path))));
        }
    }
    Ok(None)
}

fn parse_table(text: &str, path: &Path) -> anyhow::Result<GodebugTable> {
    GodebugTable::parse(text).with_context(|| {
        format!(
            "failed to read the GODEBUG table `{}`; the toolchain's tree is not what goshift expects",
            path.display()
        )
    })
}

/// The table of a `.tar.gz` whose `go/VERSION` names `version`; `None` for another version
/// or a file that is not such an archive. Only the entries up to the table are read.
fn table_from_archive(path: &Path, version: &GoVersion) -> anyhow::Result<Option<String>> {
    let file = fs::File::open(path)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let Ok(entries) = archive.entries() else {
        return Ok(None);
    };
    let mut matches_version = None;
    let mut table = None;
    for entry in entries {
        let Ok(mut entry) = entry else {
            return Ok(None);
        };
        let name = entry.path().map(|p| p.to_string_lossy().into_owned());
        let Ok(name) = name else { continue };
        if name == "go/VERSION" {
            let mut text = String::new();
            if entry.read_to_string(&mut text).is_err() {
                return Ok(None);
            }
            let first = text.lines().next().unwrap_or_default();
            let same = GoVersion::parse(first).is_ok_and(|v| v == *version);
            if !same {
                return Ok(None);
            }
            matches_version = Some(true);
        } else if name == format!("go/{TABLE_PATH}") {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .with_context(|| format!("failed to read `{}`", path.display()))?;
            table = Some(text);
        }
        if matches_version.is_some() && table.is_some() {
            return Ok(table);
        }
    }
    Ok(None)
}

/// The `//go:debug` directives of the module's main packages: every non-test `.go` file below
/// `module_dir` whose package is `main`, skipping what the go command skips (hidden and `_`
/// directories, `testdata`, `vendor`, nested modules). Also returns the malformed directives
/// as `file:line`.
pub(crate) fn directives(module_dir: &Path) -> (Vec<GodebugOverride>, Vec<String>) {
    let mut files = Vec::new();
    walk_go_files(module_dir, &mut files);
    files.sort();
    let mut overrides = Vec::new();
    let mut malformed = Vec::new();
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let header = parse_go_file_header(&text);
        if header.package.as_deref() != Some("main") {
            continue;
        }
        let shown = path
            .strip_prefix(module_dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        overrides.extend(header.directives.into_iter().map(|d| GodebugOverride {
            key: d.key,
            value: d.value,
            at: format!("{shown} line {}", d.line),
            from_modfile: false,
        }));
        malformed.extend(
            header
                .malformed
                .iter()
                .map(|line| format!("{shown}:{line}")),
        );
    }
    (overrides, malformed)
}

fn walk_go_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            let skipped = name.starts_with(['.', '_']) || name == "testdata" || name == "vendor";
            if !skipped && !is_nested(&path) {
                walk_go_files(&path, out);
            }
        } else if kind.is_file()
            && Path::new(name).extension().is_some_and(|e| e == "go")
            && !name.ends_with("_test.go")
            && !name.starts_with(['.', '_'])
        {
            out.push(path);
        }
    }
}

/// A directory with its own go.mod is another module.
fn is_nested(dir: &Path) -> bool {
    dir.join("go.mod").is_file()
}

/// What a `go` command did.
pub(super) struct GoRun {
    /// Its exit code, `None` when a signal ended it.
    pub(super) code: Option<i32>,
    /// Its stdout.
    pub(super) stdout: String,
    /// Its stderr.
    pub(super) stderr: String,
}

impl GoRun {
    /// Exit code 0.
    pub(super) fn passed(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `go ARGS…` of the toolchain at `root` in `dir` and returns what it did.
pub(super) fn go_output(
    settings: &GlobalSettings,
    root: &Path,
    dir: &Path,
    args: &[String],
) -> anyhow::Result<GoRun> {
    let command: Vec<std::ffi::OsString> = std::iter::once("go".into())
        .chain(args.iter().map(Into::into))
        .collect();
    let mut child: Command = toolchain_command(root, &command, settings)?;
    child.current_dir(dir).stdin(std::process::Stdio::null());
    // A cold build takes minutes: say what runs, and for how long.
    let progress = crate::commands::toolchain::progress::Progress::new(settings.printer);
    let version = root
        .file_name()
        .map_or_else(String::new, |name| format!(" ({})", name.to_string_lossy()));
    let wait = progress.wait(&format!("Running `go {}`{version}", args.join(" ")));
    let output = child.output();
    drop(wait);
    drop(progress);
    let output = output
        .with_context(|| format!("failed to run `{}`", root.join("bin").join("go").display()))?;
    Ok(GoRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// The packages the project imports, standard library included (`go list -deps`).
pub(super) fn imports(
    settings: &GlobalSettings,
    root: &Path,
    dir: &Path,
) -> Result<BTreeSet<String>, String> {
    let args = ["list", "-e", "-deps", "-f", "{{.ImportPath}}", "./..."].map(ToOwned::to_owned);
    match go_output(settings, root, dir, &args) {
        Ok(run) if run.passed() => Ok(run
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(ToOwned::to_owned)
            .collect()),
        Ok(run) => Err(first_line(&run.stderr)),
        Err(error) => Err(format!("{error:#}")),
    }
}

/// The first non-empty line of a command's error output.
pub(super) fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_owned()
}
