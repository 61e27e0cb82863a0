//! Which toolchain runs in a directory, and why.
//!
//! The rules, first match wins:
//! 1. `GOSHIFT_GO_VERSION` (exact).
//! 2. `GOTOOLCHAIN`: `goX.Y.Z` forces that version; `local` means the default; `goX.Y.Z+auto`
//!    (or `+path`) replaces the default in the steps below, so go.mod lines may raise it;
//!    `auto` and `path` change nothing.
//! 3. The nearest pin walking up: a `.tool-versions` with a `golang` or `go` line, or a
//!    `.go-version`; in one directory `.tool-versions` first, as asdf and mise read them.
//! 4. The nearest `go.work`, else the nearest `go.mod`: the `toolchain` line (unless
//!    `default`) and the `go` line are minimums, as Go 1.21+ treats them. The default (or the
//!    `GOTOOLCHAIN` floor) runs when it satisfies them; otherwise the toolchain Go itself would
//!    switch to, when installed; otherwise the newest installed version that satisfies them.
//! 5. The default.
//!
//! Nothing here touches the file system: files come through a `read` closure and installed
//! versions through a [`Toolchains`] implementation, which the `go` proxy keeps lazy (the
//! `default` link is read only when a rule needs it, the store listed only when the default
//! falls short).

use std::fmt;
use std::path::{Path, PathBuf};

use goshift_version::{GoVersion, ParseVersionError};
use serde::Serialize;

use crate::discover::{self, FoundFile, GoWorkSetting, ReadError};
use crate::go_version_file::{GoVersionFileError, parse_go_version_file};
use crate::gotoolchain::{GoToolchain, GoToolchainError};
use crate::modfile::{self, FileKind, ModFileError};
use crate::tool_versions::{TOOL_VERSIONS, ToolVersionsError, parse_tool_versions};

/// The variable that forces a version; named in [`Source::Env`].
pub const GOSHIFT_GO_VERSION: &str = "GOSHIFT_GO_VERSION";

/// The environment a resolution starts from.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GOSHIFT_GO_VERSION`, if set.
    pub go_version: Option<&'a str>,
    /// `GOTOOLCHAIN`, if set: the process environment's value, else the one in Go's env
    /// file (`go env -w`), as Go reads it.
    pub gotoolchain: Option<&'a str>,
    /// The env file `gotoolchain` came from, when it came from one.
    pub gotoolchain_file: Option<&'a Path>,
    /// `GOWORK`, if set (the environment's value, else the env file's).
    pub gowork: Option<&'a str>,
    /// What runs when a go.mod or go.work asks for a release that is not installed.
    pub selection: Selection,
    /// The directory to resolve for (absolute).
    pub start: &'a Path,
}

/// Which toolchain satisfies a go.mod or go.work minimum when the default does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The release Go itself would switch to when it is installed, else the newest installed
    /// release that satisfies the minimum (`go 1.22` may run go1.22.10).
    #[default]
    NewestInstalled,
    /// Exactly the release Go would switch to (`go 1.22` runs go1.22.0), nothing else.
    Exact,
}

/// What the store holds, asked for lazily.
pub trait Toolchains {
    /// The default toolchain's version, if one is set.
    fn default_version(&mut self) -> Option<GoVersion>;
    /// Every installed version.
    fn installed(&mut self) -> Vec<GoVersion>;
}

/// A resolved toolchain version and the reason it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The version to run.
    pub version: GoVersion,
    /// Why.
    pub source: Source,
}

/// Where a resolution came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// An environment variable (`GOSHIFT_GO_VERSION`).
    Env {
        /// The variable.
        var: &'static str,
    },
    /// `GOTOOLCHAIN` (a forced version, `local`, or a floor that no project file raised).
    GoToolchain {
        /// Its value.
        value: String,
        /// Go's env file it was read from (`go env -w`), when not from the environment.
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<PathBuf>,
    },
    /// A `.go-version` file.
    GoVersionFile {
        /// The file.
        path: PathBuf,
        /// The line holding the version.
        line: usize,
    },
    /// The Go line of a `.tool-versions` (asdf, mise).
    ToolVersions {
        /// The file.
        path: PathBuf,
        /// The line holding the versions.
        line: usize,
    },
    /// A go.work's `go` or `toolchain` line.
    GoWork(Requirement),
    /// A go.mod's `go` or `toolchain` line.
    GoMod(Requirement),
    /// The default toolchain.
    Default,
    /// The name the proxy was invoked as (`go1.22.10`).
    ProxyName {
        /// The name.
        name: String,
    },
}

/// A minimum from a go.mod or go.work and how it was met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The file.
    pub path: PathBuf,
    /// The line of the directive (`None` when the `go` line is missing and implied).
    pub line: Option<usize>,
    /// Which directive set the minimum.
    pub directive: Directive,
    /// The minimum version.
    pub minimum: GoVersion,
    /// How it was met.
    pub met_by: MetBy,
    /// The release Go itself would run for it (`1.22.0` for `go 1.22`).
    pub go_would_run: GoVersion,
    /// Why the file does not parse, when it does not: its `go` and `toolchain` lines were
    /// then read as Go reads them to pick a toolchain, and the toolchain reports the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed: Option<String>,
}

/// A go.mod or go.work directive that sets a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Directive {
    /// `go 1.22`
    Go,
    /// `toolchain go1.22.10`
    Toolchain,
}

/// How a minimum was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetBy {
    /// The default toolchain is new enough.
    Default,
    /// The `GOTOOLCHAIN=goX+auto` floor is new enough.
    GoToolchainFloor,
    /// The toolchain Go itself would switch to is installed.
    ExactInstalled,
    /// The newest installed toolchain that is new enough.
    NewestInstalled,
    /// `toolchain default`: the default (or the `GOTOOLCHAIN` minimum) runs, whatever the
    /// `go` line says, as in Go.
    ToolchainDefault,
}

/// Why no toolchain could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A project file exists but cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// `GOSHIFT_GO_VERSION` is not a version.
    #[error("invalid {var}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Why.
        #[source]
        source: ParseVersionError,
    },
    /// `GOTOOLCHAIN` cannot be read.
    #[error(transparent)]
    GoToolchain(#[from] GoToolchainError),
    /// A toolchain named by a language version (`go1.22`), which Go cannot run.
    #[error(
        "invalid toolchain: {name} is a language version but not a toolchain version ({name}.x), asked for by {asked_by}"
    )]
    LanguageVersion {
        /// The name (`go1.22`).
        name: String,
        /// Who named it.
        asked_by: Box<Source>,
    },
    /// A `toolchain` line Go cannot use.
    #[error("invalid toolchain `{name}` in `{}`", .path.display())]
    InvalidToolchainLine {
        /// The name as written.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// A relative `GOWORK`, which Go refuses.
    #[error("invalid GOWORK `{value}`: not an absolute path")]
    RelativeGoWork {
        /// The value.
        value: String,
    },
    /// A malformed `.go-version`.
    #[error(transparent)]
    GoVersionFile(#[from] GoVersionFileError),
    /// A `.tool-versions` Go line that names no release.
    #[error(transparent)]
    ToolVersions(#[from] ToolVersionsError),
    /// A malformed go.mod or go.work.
    #[error(transparent)]
    ModFile(#[from] ModFileError),
    /// Nothing selects a version and no default is set.
    #[error("no default Go toolchain is set")]
    NoDefault,
    /// A go.mod or go.work needs a newer Go than any installed.
    #[error(
        "{} line in `{}` requires go >= {}, and no installed toolchain satisfies it",
        directive_text(.requirement.directive, &.requirement.minimum),
        .requirement.path.display(),
        .requirement.minimum
    )]
    Unsatisfied {
        /// The minimum and where it is written.
        requirement: Box<Requirement>,
        /// What to install: the toolchain Go itself would switch to, or its line.
        install: String,
    },
    /// A language version (`1.22`) was pinned and no release of that line is installed.
    #[error("no go{line}.x toolchain is installed ({asked_by} asks for the {line} line)")]
    LineNotInstalled {
        /// The line.
        line: GoVersion,
        /// Who asked for it.
        asked_by: Box<Source>,
    },
}

impl ResolveError {
    /// The version argument of the `goshift install` that fixes this error, if one does.
    pub fn install_request(&self) -> Option<String> {
        match self {
            Self::Unsatisfied { install, .. } => Some(install.clone()),
            Self::LineNotInstalled { line, .. } => Some(line.to_string()),
            _ => None,
        }
    }
}

/// Resolves the toolchain for `request.start`.
pub fn resolve<R, T>(
    request: &Request<'_>,
    read: &mut R,
    store: &mut T,
) -> Result<Resolution, ResolveError>
where
    R: FnMut(&Path) -> std::io::Result<Option<String>>,
    T: Toolchains,
{
    if let Some(text) = request.go_version.filter(|v| !v.is_empty()) {
        let version = GoVersion::parse(text).map_err(|source| ResolveError::InvalidEnv {
            var: GOSHIFT_GO_VERSION,
            source,
        })?;
        return exact_or_line(
            version,
            Source::Env {
                var: GOSHIFT_GO_VERSION,
            },
            store,
        );
    }
    let gotoolchain_value = request.gotoolchain.unwrap_or_default();
    let gotoolchain = GoToolchain::parse(gotoolchain_value)?;
    let from_gotoolchain = || Source::GoToolchain {
        value: gotoolchain_value.to_owned(),
        file: request.gotoolchain_file.map(Path::to_owned),
    };
    let floor = match gotoolchain {
        GoToolchain::Force(version) => {
            return runnable(Resolution {
                version,
                source: from_gotoolchain(),
            });
        }
        GoToolchain::Local => {
            let version = store.default_version().ok_or(ResolveError::NoDefault)?;
            return Ok(Resolution {
                version,
                source: from_gotoolchain(),
            });
        }
        GoToolchain::Floor(version) => Some(version),
        GoToolchain::Auto => None,
    };
    let files = discover::discover(request.start, &gowork_setting(request)?, read)?;
    if let Some(found) = files.go_version
        && let Some(resolution) = pinned(found, store)?
    {
        return Ok(resolution);
    }
    let base = floor.map(|version| (version, MetBy::GoToolchainFloor));
    let project = match (files.go_work, files.go_mod) {
        (Some(work), _) => Some((FileKind::GoWork, work)),
        (None, Some(module)) => Some((FileKind::GoMod, module)),
        (None, None) => None,
    };
    if let Some((kind, found)) = project {
        let resolution = from_project_file(kind, &found, base, request.selection, store)?;
        return runnable(resolution);
    }
    if let Some((version, _)) = base {
        return runnable(Resolution {
            version,
            source: from_gotoolchain(),
        });
    }
    let version = store.default_version().ok_or(ResolveError::NoDefault)?;
    Ok(Resolution {
        version,
        source: Source::Default,
    })
}

/// How `GOWORK` asks for a workspace file. Go refuses a relative one before it looks at
/// any file.
fn gowork_setting(request: &Request<'_>) -> Result<GoWorkSetting, ResolveError> {
    match request.gowork {
        Some(value) if !matches!(value, "" | "auto" | "off") && !Path::new(value).is_absolute() => {
            Err(ResolveError::RelativeGoWork {
                value: value.to_owned(),
            })
        }
        value => Ok(GoWorkSetting::from_value(value, request.start)),
    }
}

/// The toolchain a `.tool-versions` or `.go-version` pins, or `None` for a `.tool-versions`
/// without a Go line.
fn pinned<T: Toolchains>(
    found: FoundFile,
    store: &mut T,
) -> Result<Option<Resolution>, ResolveError> {
    if found.path.file_name() == Some(TOOL_VERSIONS.as_ref()) {
        // The walk returns a `.tool-versions` only when it pins Go.
        let Some(pin) = parse_tool_versions(&found.path, &found.text)? else {
            return Ok(None);
        };
        let source = Source::ToolVersions {
            path: found.path,
            line: pin.line,
        };
        let version = preferred(pin.versions, store);
        return exact_or_line(version, source, store).map(Some);
    }
    let pin = parse_go_version_file(&found.path, &found.text)?;
    let source = Source::GoVersionFile {
        path: found.path,
        line: pin.line,
    };
    exact_or_line(pin.version, source, store).map(Some)
}

/// Refuses what Go cannot run: a toolchain named by a language version (`go1.22`, from 1.21
/// on, when the first release is `go1.22.0`).
fn runnable(resolution: Resolution) -> Result<Resolution, ResolveError> {
    let version = &resolution.version;
    if version.is_lang() && *version >= first_lang_of_releases() {
        return Err(ResolveError::LanguageVersion {
            name: version.toolchain_name(),
            asked_by: Box::new(resolution.source),
        });
    }
    Ok(resolution)
}

/// The release Go runs for a `go` line: `1.22.0` for `go 1.22` (golang/go#62278), the
/// version itself otherwise.
fn first_release(go: &GoVersion) -> GoVersion {
    if go.is_lang() && *go >= first_lang_of_releases() {
        GoVersion::parse(&format!("{go}.0")).unwrap_or_else(|_| go.clone())
    } else {
        go.clone()
    }
}

/// `1.21`: from this language version on, `1.N` names a language, not a release.
fn first_lang_of_releases() -> GoVersion {
    GoVersion::parse("1.21").unwrap_or_else(|_| unreachable!("`1.21` is a version"))
}

/// An exact pin, or the newest installed release of a pinned language version.
fn exact_or_line<T: Toolchains>(
    version: GoVersion,
    source: Source,
    store: &mut T,
) -> Result<Resolution, ResolveError> {
    if !version.is_lang() {
        return Ok(Resolution { version, source });
    }
    let newest = store
        .installed()
        .into_iter()
        .filter(|v| v.is_stable() && v.same_line(&version))
        .max();
    match newest {
        Some(newest) => Ok(Resolution {
            version: newest,
            source,
        }),
        None => Err(ResolveError::LineNotInstalled {
            line: version,
            asked_by: Box::new(source),
        }),
    }
}

/// The first of a `.tool-versions` line's versions that is installed (a language version: a
/// release of its line), else the first: the others are fallbacks, as in asdf.
fn preferred<T: Toolchains>(mut versions: Vec<GoVersion>, store: &mut T) -> GoVersion {
    if versions.len() > 1 {
        let installed = store.installed();
        let present = |wanted: &GoVersion| {
            installed
                .iter()
                .any(|v| v == wanted || (wanted.is_lang() && v.is_stable() && v.same_line(wanted)))
        };
        if let Some(at) = versions.iter().position(present) {
            return versions.swap_remove(at);
        }
    }
    versions.swap_remove(0)
}

/// The `go` and `toolchain` lines of a project file, and whether it parses.
struct Lines {
    go: Option<(GoVersion, Option<usize>)>,
    toolchain: Option<(String, usize)>,
    malformed: Option<String>,
}

/// Reads the `go` and `toolchain` lines. A file that does not parse is read as Go reads it to
/// pick a toolchain: the first line starting with `go` or `toolchain` and a blank, up to a
/// `//` comment; a `go` value that is not a version is ignored. The chosen toolchain then
/// reports the file's error itself.
fn project_lines(kind: FileKind, found: &FoundFile) -> Lines {
    match modfile::parse(kind, &found.path, &found.text) {
        Ok(file) => Lines {
            go: Some((file.go_version(kind), file.go.as_ref().map(|g| g.line))),
            toolchain: file.toolchain.map(|t| (t.name, t.line)),
            malformed: None,
        },
        Err(error) => Lines {
            go: lookup(&found.text, "go")
                .and_then(|(value, line)| Some((GoVersion::parse(value).ok()?, Some(line))))
                .filter(|(version, _)| version.suffix().is_none()),
            toolchain: lookup(&found.text, "toolchain")
                .map(|(value, line)| (value.to_owned(), line)),
            malformed: Some(error.to_string()),
        },
    }
}

/// Go's `gover.GoModLookup`: the value of the first line `KEY VALUE`, and its line number.
fn lookup<'a>(text: &'a str, key: &str) -> Option<(&'a str, usize)> {
    text.split('\n').enumerate().find_map(|(index, line)| {
        let rest = line.trim().strip_prefix(key)?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let value = rest.split_once("//").map_or(rest, |(value, _)| value);
        Some((value.trim(), index + 1))
    })
}

/// Go's reading of a `toolchain` name: `go` + a version, an optional suffix after `-`, a
/// blank or a tab, and no path separator; Go refuses anything else.
fn toolchain_version(name: &str) -> Option<GoVersion> {
    if name.contains(['/', '\\']) || !(name.starts_with("go") || name.contains("-go")) {
        return None;
    }
    let base = name.strip_prefix("go")?;
    let base = base.split(['-', ' ', '\t']).next().unwrap_or(base);
    GoVersion::parse(base).ok()
}

/// The requirement shown when the default (or the GOTOOLCHAIN minimum) satisfies the file:
/// the higher of its two lines.
fn unraised(found: &FoundFile, lines: Lines, version: &GoVersion, met_by: MetBy) -> Requirement {
    let toolchain = lines
        .toolchain
        .as_ref()
        .and_then(|(name, line)| Some((toolchain_version(name)?, *line)));
    let (minimum, directive, line) = match (&lines.go, toolchain) {
        (go, Some((toolchain, line))) if go.as_ref().is_none_or(|(go, _)| toolchain >= *go) => {
            (toolchain, Directive::Toolchain, Some(line))
        }
        (Some((go, line)), _) => (go.clone(), Directive::Go, *line),
        (None, _) => (version.clone(), Directive::Go, None),
    };
    Requirement {
        path: found.path.clone(),
        line,
        directive,
        minimum,
        met_by,
        go_would_run: version.clone(),
        malformed: lines.malformed,
    }
}

fn from_project_file<T: Toolchains>(
    kind: FileKind,
    found: &FoundFile,
    base: Option<(GoVersion, MetBy)>,
    selection: Selection,
    store: &mut T,
) -> Result<Resolution, ResolveError> {
    let lines = project_lines(kind, found);
    let wrap = |requirement| match kind {
        FileKind::GoWork => Source::GoWork(requirement),
        FileKind::GoMod => Source::GoMod(requirement),
    };
    let base = base.or_else(|| store.default_version().map(|v| (v, MetBy::Default)));
    // Go's selection (cmd/go/internal/toolchain): `toolchain default` keeps the default or
    // the GOTOOLCHAIN minimum; otherwise `Wanted::of` says what the lines raise it to.
    if let Some((name, line)) = &lines.toolchain
        && name == "default"
    {
        let (version, _) = base.ok_or(ResolveError::NoDefault)?;
        let go = lines
            .go
            .as_ref()
            .map_or_else(|| version.clone(), |(go, _)| go.clone());
        return Ok(Resolution {
            version: version.clone(),
            source: wrap(Requirement {
                path: found.path.clone(),
                line: Some(*line),
                directive: Directive::Toolchain,
                minimum: go,
                met_by: MetBy::ToolchainDefault,
                go_would_run: version,
                malformed: lines.malformed,
            }),
        });
    }
    let Some(wanted) = Wanted::of(found, &lines, base.as_ref().map(|(version, _)| version))? else {
        // Nothing raises the default (or the GOTOOLCHAIN minimum): it runs.
        let (version, met_by) = base.ok_or(ResolveError::NoDefault)?;
        return Ok(Resolution {
            source: wrap(unraised(found, lines, &version, met_by)),
            version,
        });
    };
    match wanted.select(selection, store) {
        Ok((version, met_by)) => Ok(Resolution {
            version,
            source: wrap(wanted.requirement(found, &lines, met_by)),
        }),
        Err(install) => Err(ResolveError::Unsatisfied {
            requirement: Box::new(wanted.requirement(found, &lines, MetBy::Default)),
            install,
        }),
    }
}

/// The version a project's lines raise the default (or the GOTOOLCHAIN minimum) to.
struct Wanted {
    minimum: GoVersion,
    /// What Go would run.
    exact: GoVersion,
    directive: Directive,
    line: Option<usize>,
}

impl Wanted {
    /// Go's selection (cmd/go/internal/toolchain): a toolchain line newer than `base`
    /// switches to it, and a go line newer still switches to that release (`go 1.22` means
    /// go1.22.0, golang/go#62278); `None` when neither is newer.
    fn of(
        found: &FoundFile,
        lines: &Lines,
        base: Option<&GoVersion>,
    ) -> Result<Option<Self>, ResolveError> {
        let mut wanted: Option<Self> = None;
        if let Some((name, line)) = &lines.toolchain {
            let version =
                toolchain_version(name).ok_or_else(|| ResolveError::InvalidToolchainLine {
                    name: name.clone(),
                    path: found.path.clone(),
                })?;
            if base.is_none_or(|minimum| version > *minimum) {
                wanted = Some(Self {
                    minimum: version.clone(),
                    exact: version,
                    directive: Directive::Toolchain,
                    line: Some(*line),
                });
            }
        }
        if let Some((go, line)) = &lines.go {
            let minimum = wanted.as_ref().map(|wanted| &wanted.minimum).or(base);
            if minimum.is_none_or(|minimum| go > minimum) {
                wanted = Some(Self {
                    minimum: go.clone(),
                    exact: first_release(go),
                    directive: Directive::Go,
                    line: *line,
                });
            }
        }
        Ok(wanted)
    }

    fn requirement(&self, found: &FoundFile, lines: &Lines, met_by: MetBy) -> Requirement {
        Requirement {
            path: found.path.clone(),
            line: self.line,
            directive: self.directive,
            minimum: self.minimum.clone(),
            met_by,
            go_would_run: self.exact.clone(),
            malformed: lines.malformed.clone(),
        }
    }

    /// The installed version that runs and how it meets the requirement, or the version
    /// argument of the `goshift install` that would.
    fn select<T: Toolchains>(
        &self,
        selection: Selection,
        store: &mut T,
    ) -> Result<(GoVersion, MetBy), String> {
        let installed = store.installed();
        if installed.contains(&self.exact)
            || (self.directive == Directive::Toolchain && self.exact.is_lang())
        {
            // A language version as a toolchain is refused by `runnable`, as Go refuses it.
            return Ok((self.exact.clone(), MetBy::ExactInstalled));
        }
        if selection == Selection::NewestInstalled
            && let Some(newest) = installed
                .into_iter()
                .filter(|v| v.is_stable() && *v >= self.minimum)
                .max()
        {
            return Ok((newest, MetBy::NewestInstalled));
        }
        // A `go` line is a minimum: its line's newest release meets it and exists in the
        // index (`go 1.22.0` may not), so that is what to install unless Go's exact choice
        // is asked for.
        if selection == Selection::NewestInstalled
            && self.directive == Directive::Go
            && !self.minimum.is_prerelease()
        {
            Err(self.minimum.lang().to_string())
        } else {
            Err(self.exact.to_string())
        }
    }
}

fn directive_text(directive: Directive, minimum: &GoVersion) -> String {
    match directive {
        Directive::Go => format!("the `go {minimum}`"),
        Directive::Toolchain => format!("the `toolchain go{minimum}`"),
    }
}

impl Source {
    /// A short description, with paths shown relative to `base` when they are below it:
    /// `toolchain line in ./go.mod`, `pinned in ./.go-version`, `GOTOOLCHAIN=go1.22.10`.
    pub fn describe(&self, base: &Path) -> String {
        match self {
            Self::Env { var } => format!("set by {var}"),
            Self::GoToolchain { value, file: None } => format!("set by GOTOOLCHAIN={value}"),
            Self::GoToolchain {
                value,
                file: Some(file),
            } => format!("set by GOTOOLCHAIN={value} in {}", show_path(file, base)),
            Self::GoVersionFile { path, .. } | Self::ToolVersions { path, .. } => {
                format!("pinned in {}", show_path(path, base))
            }
            Self::GoWork(requirement) | Self::GoMod(requirement) => {
                let file = show_path(&requirement.path, base);
                let mut text = match (requirement.directive, requirement.met_by) {
                    (Directive::Toolchain, MetBy::ToolchainDefault) => {
                        format!("toolchain default in {file}: no switching")
                    }
                    (_, MetBy::NewestInstalled) => format!(
                        "{} minimum in {file}; Go would run go{}, running the newest installed match",
                        directive_short(requirement.directive, &requirement.minimum),
                        requirement.go_would_run
                    ),
                    (Directive::Go, met_by) => {
                        format!(
                            "go {} line in {file}{}",
                            requirement.minimum,
                            met_by_text(met_by)
                        )
                    }
                    (Directive::Toolchain, met_by) => {
                        format!("toolchain line in {file}{}", met_by_text(met_by))
                    }
                };
                if let Some(reason) = &requirement.malformed {
                    text.push_str("; the file does not parse: ");
                    text.push_str(reason);
                }
                text
            }
            Self::Default => "default".to_owned(),
            Self::ProxyName { name } => format!("invoked as {name}"),
        }
    }
}

fn directive_short(directive: Directive, minimum: &GoVersion) -> String {
    match directive {
        Directive::Go => format!("go {minimum}"),
        Directive::Toolchain => format!("toolchain go{minimum}"),
    }
}

fn met_by_text(met_by: MetBy) -> &'static str {
    match met_by {
        MetBy::Default => ", met by the default",
        MetBy::GoToolchainFloor => ", met by GOTOOLCHAIN",
        MetBy::ExactInstalled | MetBy::NewestInstalled | MetBy::ToolchainDefault => "",
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Path::new("")))
    }
}

/// `./go.mod` for a path below `base`, the path itself otherwise.
pub fn show_path(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(relative) if !base.as_os_str().is_empty() => {
            format!("./{}", relative.display())
        }
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests;
