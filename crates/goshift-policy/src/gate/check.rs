//! The gate's checks of one project file against the policy, as named steps: the parse, the
//! `go` line, the `toolchain` line, and the toolchain the file's directory resolves to on
//! this machine. The caller reads the files and knows the installed toolchains; nothing here
//! touches the file system itself.

use std::path::Path;

use goshift_project::{
    Directive, FileKind, ModFile, ModFileError, Request, Requirement, Resolution, ResolveError,
    Selection, Source, Toolchains,
};
use goshift_version::GoVersion;

use super::{Finding, INVALID_MODFILE, Level, Project, UNRESOLVED};
use crate::{Decision, EvalContext, Policy, Rule, Verdict};

/// A go.mod or go.work found under a scanned root, parsed.
#[derive(Debug)]
pub struct ProjectFile<'a> {
    /// Index into the report's roots.
    pub root: usize,
    /// The file, relative to its root, with `/` separators.
    pub file: &'a str,
    /// The file's absolute path.
    pub path: &'a Path,
    /// go.mod or go.work.
    pub kind: FileKind,
    /// The file, or why it does not parse.
    pub parsed: Result<ModFile, ModFileError>,
}

/// The newest release known: the newest of `known` (installed toolchains, the policy's
/// defaults) and of every toolchain the scanned files name (it exists, or Go could not
/// switch to it). Only stable releases count.
pub fn newest<'a>(
    known: impl IntoIterator<Item = GoVersion>,
    files: impl IntoIterator<Item = &'a ModFile>,
) -> Option<GoVersion> {
    let named = files
        .into_iter()
        .filter_map(|file| file.toolchain.as_ref()?.version()?.ok());
    known
        .into_iter()
        .chain(named)
        .filter(GoVersion::is_stable)
        .max()
}

/// Checks project files against a policy in one context.
#[derive(Debug, Clone, Copy)]
pub struct Checker<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The environment, the newest release and today.
    pub context: EvalContext<'a>,
}

/// Builds the findings of one file: every one names the file's root and path.
struct Located<'a> {
    root: usize,
    file: &'a str,
}

impl Located<'_> {
    fn finding(
        &self,
        rule: &str,
        level: Level,
        message: String,
        line: usize,
        advisories: Vec<String>,
    ) -> Finding {
        Finding {
            rule: rule.to_owned(),
            level,
            message,
            root: self.root,
            file: self.file.to_owned(),
            line,
            advisories,
        }
    }
}

impl Checker<'_> {
    /// The project line and the findings (in line order) of one file. `read` reads a file
    /// (`None` when it does not exist) and `toolchains` knows the installed ones: the
    /// resolution walks up from the file's directory as the `go` proxy would, ignoring the
    /// environment.
    pub fn check<R, T>(
        &self,
        file: ProjectFile<'_>,
        read: &mut R,
        toolchains: &mut T,
    ) -> (Option<Project>, Vec<Finding>)
    where
        R: FnMut(&Path) -> std::io::Result<Option<String>>,
        T: Toolchains,
    {
        let at = Located {
            root: file.root,
            file: file.file,
        };
        let parsed = match file.parsed {
            Ok(parsed) => parsed,
            Err(error) => return (None, vec![parse_failure(&at, file.kind, &error)]),
        };
        let mut findings = self.go_line(&at, &parsed);
        let toolchain = toolchain_line(&parsed);
        if let Some((line, version)) = &toolchain {
            let subject = format!("`toolchain {}`", version.toolchain_name());
            findings.extend(self.version_findings(&at, version, &subject, *line));
        }
        let directory = file.path.parent().unwrap_or(Path::new("/"));
        let resolution = resolve(directory, read, toolchains);
        let resolved = match &resolution {
            Ok(resolution) => {
                let same = toolchain.as_ref().map(|(_, version)| version);
                findings.extend(self.resolution(&at, file.path, resolution, same));
                Some(resolution)
            }
            Err(error) => {
                findings.push(unresolved(&at, &parsed, error));
                None
            }
        };
        let project = project_line(&at, file.kind, &parsed, resolved);
        findings.sort_by_key(|f| f.line);
        (Some(project), findings)
    }

    /// The `go` line: a version past the support window is an error; a blocked release (not
    /// a language version) a warning.
    fn go_line(&self, at: &Located<'_>, parsed: &ModFile) -> Vec<Finding> {
        let Some(go) = &parsed.go else {
            return Vec::new();
        };
        let decision = self.policy.evaluate(&go.version, &self.context);
        decision
            .with_verdict(Verdict::Deny)
            .filter_map(|reason| {
                let level = match reason.rule {
                    Rule::SupportWindow => Level::Error,
                    Rule::Blocked if !go.version.is_lang() => Level::Warning,
                    _ => return None,
                };
                let message = format!("`go {}` line: {}", go.version, reason.message);
                Some(at.finding(
                    reason.rule.id(),
                    level,
                    message,
                    go.line,
                    reason.advisories.clone(),
                ))
            })
            .collect()
    }

    /// The resolved toolchain, unless the `toolchain` line named it (checked already).
    fn resolution(
        &self,
        at: &Located<'_>,
        path: &Path,
        resolution: &Resolution,
        toolchain_line: Option<&GoVersion>,
    ) -> Vec<Finding> {
        if toolchain_line == Some(&resolution.version) {
            return Vec::new();
        }
        let line = match &resolution.source {
            Source::GoMod(requirement) | Source::GoWork(requirement)
                if requirement.path == path =>
            {
                requirement.line.unwrap_or(1)
            }
            _ => 1,
        };
        let subject = format!(
            "resolves to {} ({})",
            resolution.version.toolchain_name(),
            source_text(&resolution.source)
        );
        self.version_findings(at, &resolution.version, &subject, line)
    }

    /// The findings of `version` about `subject`, at `line`.
    fn version_findings(
        &self,
        at: &Located<'_>,
        version: &GoVersion,
        subject: &str,
        line: usize,
    ) -> Vec<Finding> {
        let decision = self.policy.evaluate(version, &self.context);
        decision_findings(&decision, subject)
            .into_iter()
            .map(|(rule, level, message, advisories)| {
                at.finding(rule, level, message, line, advisories)
            })
            .collect()
    }
}

/// The finding of a file that does not parse.
fn parse_failure(at: &Located<'_>, kind: FileKind, error: &ModFileError) -> Finding {
    at.finding(
        INVALID_MODFILE,
        Level::Error,
        format!("cannot parse {}: {}", kind.file_name(), error.reason),
        error.line,
        Vec::new(),
    )
}

/// The `toolchain` line's line number and version, when it names a release.
fn toolchain_line(parsed: &ModFile) -> Option<(usize, GoVersion)> {
    parsed
        .toolchain
        .as_ref()
        .and_then(|t| Some((t.line, t.version()?.ok()?)))
}

/// Resolves `directory` as the `go` proxy would, without the environment.
fn resolve<R, T>(
    directory: &Path,
    read: &mut R,
    toolchains: &mut T,
) -> Result<Resolution, ResolveError>
where
    R: FnMut(&Path) -> std::io::Result<Option<String>>,
    T: Toolchains,
{
    let request = Request {
        go_version: None,
        gotoolchain: None,
        gotoolchain_file: None,
        gowork: None,
        selection: Selection::NewestInstalled,
        start: directory,
    };
    goshift_project::resolve(&request, read, toolchains)
}

/// The note of a directory no toolchain can be chosen for.
fn unresolved(at: &Located<'_>, parsed: &ModFile, error: &ResolveError) -> Finding {
    // The error names absolute paths; the finding already names the file.
    let message = match error.install_request() {
        Some(install) => format!(
            "no installed toolchain satisfies this project on this machine (`goshift install {install}`)"
        ),
        None => format!("no toolchain can be chosen on this machine: {error}"),
    };
    let line = parsed.go.as_ref().map_or(1, |g| g.line);
    at.finding(UNRESOLVED, Level::Note, message, line, Vec::new())
}

/// The project line of a file.
fn project_line(
    at: &Located<'_>,
    kind: FileKind,
    parsed: &ModFile,
    resolved: Option<&Resolution>,
) -> Project {
    Project {
        root: at.root,
        file: at.file.to_owned(),
        kind: kind.file_name().to_owned(),
        module: parsed.module.as_ref().map(|m| m.path.clone()),
        go: parsed.go.as_ref().map(|g| g.version.to_string()),
        toolchain: parsed.toolchain.as_ref().map(|t| t.name.clone()),
        resolved: resolved.map(|r| r.version.to_string()),
        resolved_by: resolved.map(|r| source_text(&r.source)),
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

/// Why a directory resolved as it did, in a few words.
fn source_text(source: &Source) -> String {
    match source {
        Source::Env { var } => (*var).to_owned(),
        Source::GoToolchain { value, .. } => format!("GOTOOLCHAIN={value}"),
        Source::GoVersionFile { line, .. } => format!(".go-version line {line}"),
        Source::ToolVersions { line, .. } => format!(".tool-versions line {line}"),
        Source::GoWork(requirement) => format!("go.work {} line", directive(requirement)),
        Source::GoMod(requirement) => format!("go.mod {} line", directive(requirement)),
        Source::Default => "default".to_owned(),
        Source::ProxyName { name } => format!("invoked as {name}"),
    }
}

fn directive(requirement: &Requirement) -> &'static str {
    match requirement.directive {
        Directive::Go => "go",
        Directive::Toolchain => "toolchain",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    const POLICY: &str = "support_window = 1\n[[blocked]]\nversions = \">=1.21.0, <1.21.3\"\nreason = \"HTTP/2 rapid reset\"\n";

    fn v(text: &str) -> GoVersion {
        GoVersion::parse(text).unwrap()
    }

    /// What the test's machine has installed.
    struct Installed {
        default: Option<GoVersion>,
        versions: Vec<GoVersion>,
    }

    impl Toolchains for Installed {
        fn default_version(&mut self) -> Option<GoVersion> {
            self.default.clone()
        }
        fn installed(&mut self) -> Vec<GoVersion> {
            self.versions.clone()
        }
    }

    fn installed(default: Option<&str>, versions: &[&str]) -> Installed {
        Installed {
            default: default.map(v),
            versions: versions.iter().copied().map(v).collect(),
        }
    }

    /// Checks `text` as `/src/app/go.mod` against [`POLICY`] with 1.22.10 the newest release.
    fn check(text: &str, installed: &mut Installed) -> (Option<Project>, Vec<Finding>) {
        let path = PathBuf::from("/src/app/go.mod");
        let files = HashMap::from([(path.clone(), text.to_owned())]);
        let policy = Policy::parse(POLICY, "policy.toml").unwrap();
        let newest = v("1.22.10");
        let checker = Checker {
            policy: &policy,
            context: EvalContext {
                newest: Some(&newest),
                ..EvalContext::default()
            },
        };
        let file = ProjectFile {
            root: 0,
            file: "app/go.mod",
            path: &path,
            kind: FileKind::GoMod,
            parsed: goshift_project::parse(FileKind::GoMod, &path, text),
        };
        let mut read = |p: &Path| Ok(files.get(p).cloned());
        checker.check(file, &mut read, installed)
    }

    fn summary(findings: &[Finding]) -> Vec<(&str, Level, usize)> {
        findings
            .iter()
            .map(|f| (f.rule.as_str(), f.level, f.line))
            .collect()
    }

    #[test]
    fn the_go_line_the_toolchain_line_and_the_resolution_are_each_checked() {
        let mut installed = installed(Some("1.22.10"), &["1.21.1", "1.22.10"]);
        let text = "module example.com/app\n\ngo 1.21.2\n\ntoolchain go1.21.1\n";
        let (project, findings) = check(text, &mut installed);
        assert_eq!(
            summary(&findings),
            [
                ("blocked", Level::Warning, 3),
                ("support-window", Level::Error, 3),
                ("blocked", Level::Error, 5),
            ],
            "{findings:#?}"
        );
        assert!(findings[2].message.starts_with("`toolchain go1.21.1`: "));
        let project = project.unwrap();
        assert_eq!(project.module.as_deref(), Some("example.com/app"));
        assert_eq!(project.go.as_deref(), Some("1.21.2"));
        assert_eq!(project.toolchain.as_deref(), Some("go1.21.1"));
        // Nothing installed is exactly 1.21.2: the newest installed that satisfies the `go`
        // line runs, and it is allowed.
        assert_eq!(project.resolved.as_deref(), Some("1.22.10"));
        assert_eq!(project.resolved_by.as_deref(), Some("go.mod go line"));
    }

    #[test]
    fn a_resolution_to_a_denied_version_is_found_at_the_line_that_chose_it() {
        let mut installed = installed(Some("1.20.1"), &["1.20.1", "1.21.13"]);
        let text = "module example.com/app\n\ngo 1.21.13\n";
        let (project, findings) = check(text, &mut installed);
        assert_eq!(
            summary(&findings),
            [
                ("support-window", Level::Error, 3),
                ("support-window", Level::Error, 3)
            ],
            "{findings:#?}"
        );
        assert!(findings[0].message.starts_with("`go 1.21.13` line: "));
        assert!(
            findings[1]
                .message
                .starts_with("resolves to go1.21.13 (go.mod go line): "),
            "{}",
            findings[0].message
        );
        assert_eq!(project.unwrap().resolved.as_deref(), Some("1.21.13"));
    }

    #[test]
    fn a_file_that_does_not_parse_is_one_error_and_no_project() {
        let mut installed = installed(None, &[]);
        let (project, findings) = check("module\n\ngo one\n", &mut installed);
        assert!(project.is_none());
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule, INVALID_MODFILE);
        assert_eq!(findings[0].level, Level::Error);
        assert!(findings[0].message.starts_with("cannot parse go.mod: "));
    }

    #[test]
    fn a_directory_nothing_installed_satisfies_is_a_note_naming_the_install() {
        let mut installed = installed(None, &[]);
        let (project, findings) = check("module m\n\ngo 1.22.3\n", &mut installed);
        assert_eq!(summary(&findings), [(UNRESOLVED, Level::Note, 3)]);
        assert!(
            findings[0].message.contains("(`goshift install 1.22`)"),
            "{}",
            findings[0].message
        );
        assert_eq!(project.unwrap().resolved, None);
    }

    #[test]
    fn the_newest_release_counts_toolchain_lines_but_not_prereleases() {
        let path = Path::new("/m/go.mod");
        let named =
            goshift_project::parse_go_mod(path, "module m\ngo 1.22\ntoolchain go1.23.1\n").unwrap();
        let rc = goshift_project::parse_go_mod(path, "module m\ngo 1.22\ntoolchain go1.24rc1\n")
            .unwrap();
        assert_eq!(newest([v("1.22.10")], [&named, &rc]), Some(v("1.23.1")));
        assert_eq!(newest([v("1.22.10")], []), Some(v("1.22.10")));
        assert_eq!(newest([], [&rc]), None);
    }
}
