//! Finding project files and checking them against the policy.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use goshift_fs::fs;
use goshift_policy::gate::{
    Finding, GateReport, INVALID_MODFILE, Level, Project, Root, UNRESOLVED,
};
use goshift_policy::{Decision, EvalContext, Rule, Verdict};
use goshift_project::{FileKind, ModFile, Request, Source, Toolchains};
use goshift_version::GoVersion;

use crate::governance::{self, LoadedPolicy};
use crate::settings::GlobalSettings;

/// Directories the walk never enters (besides hidden ones and `_*`).
const SKIPPED: [&str; 3] = ["vendor", "testdata", "node_modules"];

/// Scans every root and builds the report.
pub(super) fn scan(
    settings: &GlobalSettings,
    loaded: &LoadedPolicy,
    environment: Option<&str>,
    roots: &[(Root, PathBuf)],
) -> GateReport {
    let mut files = Vec::new();
    for (index, (_, root)) in roots.iter().enumerate() {
        let mut found = Vec::new();
        walk(root, &mut found);
        found.sort();
        files.extend(found.into_iter().map(|path| (index, path)));
    }

    let mut reader = CachedReader::default();
    let parsed: Vec<(
        usize,
        PathBuf,
        FileKind,
        Result<ModFile, goshift_project::ModFileError>,
    )> = files
        .into_iter()
        .map(|(root, path)| {
            let kind = if path.file_name().is_some_and(|n| n == "go.work") {
                FileKind::GoWork
            } else {
                FileKind::GoMod
            };
            let parsed = match reader.read(&path) {
                Ok(Some(text)) => goshift_project::parse(kind, &path, &text),
                Ok(None) | Err(_) => Err(goshift_project::ModFileError {
                    path: path.clone(),
                    line: 1,
                    reason: "the file cannot be read".to_owned(),
                }),
            };
            (root, path, kind, parsed)
        })
        .collect();

    let store = StoreView::new(settings);
    // The newest release known: installed toolchains, the policy's defaults, and every
    // toolchain named in a scanned file (it exists, or Go could not switch to it).
    let named = parsed
        .iter()
        .filter_map(|(_, _, _, file)| file.as_ref().ok()?.toolchain.as_ref()?.version()?.ok());
    let newest = governance::newest_known(settings, &loaded.policy, None)
        .into_iter()
        .chain(named)
        .filter(GoVersion::is_stable)
        .max();
    let context = EvalContext {
        environment,
        newest: newest.as_ref(),
        today: Some(governance::today()),
    };

    let mut checker = Checker {
        policy: &loaded.policy,
        context,
        reader,
        store,
    };
    let mut projects = Vec::new();
    let mut findings = Vec::new();
    for (root, path, kind, file) in parsed {
        let relative = relative(&roots[root].1, &path);
        let (project, found) = checker.check(root, &relative, &path, kind, file);
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

/// Checks one project file at a time, with what all of them share.
struct Checker<'a> {
    policy: &'a goshift_policy::Policy,
    context: EvalContext<'a>,
    reader: CachedReader,
    store: StoreView,
}

impl Checker<'_> {
    /// The project line and the findings of one file.
    #[expect(
        clippy::too_many_lines,
        reason = "one checklist per file: parse, go line, toolchain line, resolution"
    )]
    fn check(
        &mut self,
        root: usize,
        relative: &str,
        path: &Path,
        kind: FileKind,
        file: Result<ModFile, goshift_project::ModFileError>,
    ) -> (Option<Project>, Vec<Finding>) {
        let finding = |rule: &str, level, message: String, line, advisories| Finding {
            rule: rule.to_owned(),
            level,
            message,
            root,
            file: relative.to_owned(),
            line,
            advisories,
        };
        let file = match file {
            Ok(file) => file,
            Err(error) => {
                let finding = finding(
                    INVALID_MODFILE,
                    Level::Error,
                    format!("cannot parse {}: {}", kind.file_name(), error.reason),
                    error.line,
                    Vec::new(),
                );
                return (None, vec![finding]);
            }
        };
        let mut local = Vec::new();

        if let Some(go) = &file.go {
            let decision = self.policy.evaluate(&go.version, &self.context);
            for reason in decision.with_verdict(Verdict::Deny) {
                let level = match reason.rule {
                    Rule::SupportWindow => Level::Error,
                    Rule::Blocked if !go.version.is_lang() => Level::Warning,
                    _ => continue,
                };
                local.push(finding(
                    reason.rule.id(),
                    level,
                    format!("`go {}` line: {}", go.version, reason.message),
                    go.line,
                    reason.advisories.clone(),
                ));
            }
        }

        let toolchain_version = file
            .toolchain
            .as_ref()
            .and_then(|t| Some((t.line, t.version()?.ok()?)));
        if let Some((line, version)) = &toolchain_version {
            let decision = self.policy.evaluate(version, &self.context);
            local.extend(
                decision_findings(
                    &decision,
                    &format!("`toolchain {}`", version.toolchain_name()),
                )
                .into_iter()
                .map(|(rule, level, message, advisories)| {
                    finding(rule, level, message, *line, advisories)
                }),
            );
        }

        let directory = path.parent().unwrap_or(Path::new("/"));
        let request = Request {
            go_version: None,
            gotoolchain: None,
            gotoolchain_file: None,
            gowork: None,
            selection: goshift_project::Selection::NewestInstalled,
            start: directory,
        };
        let reader = &mut self.reader;
        let mut read = |p: &Path| reader.read(p);
        let (resolved, resolved_by) = match goshift_project::resolve(
            &request,
            &mut read,
            &mut self.store,
        ) {
            Ok(resolution) => {
                let line = match &resolution.source {
                    Source::GoMod(requirement) | Source::GoWork(requirement)
                        if requirement.path == path =>
                    {
                        requirement.line.unwrap_or(1)
                    }
                    _ => 1,
                };
                let same_as_toolchain_line = toolchain_version
                    .as_ref()
                    .is_some_and(|(_, v)| *v == resolution.version);
                if !same_as_toolchain_line {
                    let decision = self.policy.evaluate(&resolution.version, &self.context);
                    let subject = format!(
                        "resolves to {} ({})",
                        resolution.version.toolchain_name(),
                        source_text(&resolution.source)
                    );
                    local.extend(decision_findings(&decision, &subject).into_iter().map(
                        |(rule, level, message, advisories)| {
                            finding(rule, level, message, line, advisories)
                        },
                    ));
                }
                (
                    Some(resolution.version.to_string()),
                    Some(source_text(&resolution.source)),
                )
            }
            Err(error) => {
                // The error names absolute paths; the finding already names the file.
                let message = match error.install_request() {
                    Some(install) => format!(
                        "no installed toolchain satisfies this project on this machine (`goshift install {install}`)"
                    ),
                    None => format!("no toolchain can be chosen on this machine: {error}"),
                };
                let line = file.go.as_ref().map_or(1, |g| g.line);
                local.push(finding(UNRESOLVED, Level::Note, message, line, Vec::new()));
                (None, None)
            }
        };
        let project = Project {
            root,
            file: relative.to_owned(),
            kind: kind.file_name().to_owned(),
            module: file.module.as_ref().map(|m| m.path.clone()),
            go: file.go.as_ref().map(|g| g.version.to_string()),
            toolchain: file.toolchain.as_ref().map(|t| t.name.clone()),
            resolved,
            resolved_by,
        };
        local.sort_by_key(|f| f.line);
        (Some(project), local)
    }
}

/// The findings of one decision: one per verdict level, naming every reason at that level.
/// Only the rules about versions count here (`blocked`, `allowed`, `support-window`); the
/// others are about changing a machine, not about a project.
fn decision_findings(
    decision: &Decision,
    subject: &str,
) -> Vec<(&'static str, Level, String, Vec<String>)> {
    let mut out = Vec::new();
    for (verdict, level) in [
        (Verdict::Deny, Level::Error),
        (Verdict::Warn, Level::Warning),
    ] {
        let reasons: Vec<_> = decision
            .with_verdict(verdict)
            .filter(|r| matches!(r.rule, Rule::Blocked | Rule::Allowed | Rule::SupportWindow))
            .collect();
        let Some(first) = reasons.first() else {
            continue;
        };
        let messages: Vec<&str> = reasons.iter().map(|r| r.message.as_str()).collect();
        let advisories = reasons.iter().flat_map(|r| r.advisories.clone()).collect();
        out.push((
            first.rule.id(),
            level,
            format!("{subject}: {}", messages.join("; ")),
            advisories,
        ));
    }
    out
}

fn source_text(source: &Source) -> String {
    match source {
        Source::Env { var } => var.to_string(),
        Source::GoToolchain { value, .. } => format!("GOTOOLCHAIN={value}"),
        Source::GoVersionFile { line, .. } => format!(".go-version line {line}"),
        Source::ToolVersions { line, .. } => format!(".tool-versions line {line}"),
        Source::GoWork(requirement) => format!("go.work {} line", directive(requirement)),
        Source::GoMod(requirement) => format!("go.mod {} line", directive(requirement)),
        Source::Default => "default".to_owned(),
        Source::ProxyName { name } => format!("invoked as {name}"),
    }
}

fn directive(requirement: &goshift_project::Requirement) -> &'static str {
    match requirement.directive {
        goshift_project::Directive::Go => "go",
        goshift_project::Directive::Toolchain => "toolchain",
    }
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
