//! Finding and reading project files, and checking them with the policy's gate
//! ([`goshift_policy::gate::Checker`]).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use goshift_fs::fs;
use goshift_policy::EvalContext;
use goshift_policy::gate::{self, Checker, GateReport, ProjectFile, Root};
use goshift_project::{FileKind, ModFile, ModFileError, Toolchains};
use goshift_version::GoVersion;

use crate::governance::{self, LoadedPolicy};
use crate::settings::GlobalSettings;

/// Directories the walk never enters (besides hidden ones and `_*`).
const SKIPPED: [&str; 3] = ["vendor", "testdata", "node_modules"];

/// A project file found under a root, read and parsed.
struct Parsed {
    root: usize,
    path: PathBuf,
    kind: FileKind,
    file: Result<ModFile, ModFileError>,
}

/// Scans every root and builds the report.
pub(super) fn scan(
    settings: &GlobalSettings,
    loaded: &LoadedPolicy,
    environment: Option<&str>,
    roots: &[(Root, PathBuf)],
) -> GateReport {
    let mut reader = CachedReader::default();
    let parsed = find_and_parse(roots, &mut reader);
    let mut store = StoreView::new(settings);
    let newest = gate::newest(
        governance::newest_known(settings, &loaded.policy, None),
        parsed.iter().filter_map(|p| p.file.as_ref().ok()),
    );
    let checker = Checker {
        policy: &loaded.policy,
        context: EvalContext {
            environment,
            newest: newest.as_ref(),
            today: Some(governance::today()),
        },
    };
    let mut projects = Vec::new();
    let mut findings = Vec::new();
    for Parsed {
        root,
        path,
        kind,
        file,
    } in parsed
    {
        let relative = relative(&roots[root].1, &path);
        let project_file = ProjectFile {
            root,
            file: &relative,
            path: &path,
            kind,
            parsed: file,
        };
        let mut read = |p: &Path| reader.read(p);
        let (project, found) = checker.check(project_file, &mut read, &mut store);
        projects.extend(project);
        findings.extend(found);
    }
    GateReport {
        policy: loaded.path.display().to_string(),
        environment: environment.map(ToOwned::to_owned),
        roots: roots.iter().map(|(root, _)| root.clone()).collect(),
        projects,
        findings,
    }
}

/// Every go.mod and go.work below the roots, in path order per root, parsed.
fn find_and_parse(roots: &[(Root, PathBuf)], reader: &mut CachedReader) -> Vec<Parsed> {
    let mut files = Vec::new();
    for (index, (_, root)) in roots.iter().enumerate() {
        let mut found = Vec::new();
        walk(root, &mut found);
        found.sort();
        files.extend(found.into_iter().map(|path| (index, path)));
    }
    files
        .into_iter()
        .map(|(root, path)| {
            let kind = if path.file_name().is_some_and(|n| n == "go.work") {
                FileKind::GoWork
            } else {
                FileKind::GoMod
            };
            let file = match reader.read(&path) {
                Ok(Some(text)) => goshift_project::parse(kind, &path, &text),
                Ok(None) | Err(_) => Err(ModFileError {
                    path: path.clone(),
                    line: 1,
                    reason: "the file cannot be read".to_owned(),
                }),
            };
            Parsed {
                root,
                path,
                kind,
                file,
            }
        })
        .collect()
}

fn relative(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Collects go.mod and go.work files below `dir`, not following symlinks.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if !(name.starts_with('.') || name.starts_with('_') || SKIPPED.contains(&name)) {
                walk(&entry.path(), found);
            }
        } else if file_type.is_file() && (name == "go.mod" || name == "go.work") {
            found.push(entry.path());
        }
    }
}

/// Reads files once: the resolution of many directories walks up through the same parents.
#[derive(Debug, Default)]
struct CachedReader {
    cache: HashMap<PathBuf, Option<String>>,
}

impl CachedReader {
    fn read(&mut self, path: &Path) -> io::Result<Option<String>> {
        if let Some(text) = self.cache.get(path) {
            return Ok(text.clone());
        }
        let text = match fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        self.cache.insert(path.to_owned(), text.clone());
        Ok(text)
    }
}

/// The store as resolution sees it: installed toolchains and the default, read once.
#[derive(Debug)]
struct StoreView {
    installed: Vec<GoVersion>,
    default: Option<GoVersion>,
}

impl StoreView {
    fn new(settings: &GlobalSettings) -> Self {
        let installed = fs::read_dir(settings.dirs.in_home("toolchains"))
            .into_iter()
            .flatten()
            .filter_map(|entry| GoVersion::parse(entry.ok()?.file_name().to_str()?).ok())
            .collect();
        let default = fs::read_link(settings.dirs.in_home("default"))
            .ok()
            .and_then(|target| GoVersion::parse(target.file_name()?.to_str()?).ok());
        Self { installed, default }
    }
}

impl Toolchains for StoreView {
    fn default_version(&mut self) -> Option<GoVersion> {
        self.default.clone()
    }

    fn installed(&mut self) -> Vec<GoVersion> {
        self.installed.clone()
    }
}
