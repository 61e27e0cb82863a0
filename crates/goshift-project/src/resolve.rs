//! Which toolchain runs in a directory, and why.
//!
//! The rules, first match wins:
//! 1. `GOSHIFT_GO_VERSION` (exact).
//! 2. `GOTOOLCHAIN`: `goX.Y.Z` forces that version; `local` means the default; `goX.Y.Z+auto`
//!    (or `+path`) replaces the default in the steps below, so go.mod lines may raise it;
//!    `auto` and `path` change nothing.
//! 3. The nearest `.go-version` walking up.
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

/// The variable that forces a version; named in [`Source::Env`].
pub const GOSHIFT_GO_VERSION: &str = "GOSHIFT_GO_VERSION";

/// The environment a resolution starts from.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GOSHIFT_GO_VERSION`, if set.
    pub go_version: Option<&'a str>,
    /// `GOTOOLCHAIN`, if set.
    pub gotoolchain: Option<&'a str>,
    /// `GOWORK`, if set.
    pub gowork: Option<&'a str>,
    /// The directory to resolve for (absolute).
    pub start: &'a Path,
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
    },
    /// A `.go-version` file.
    GoVersionFile {
        /// The file.
        path: PathBuf,
        /// The line holding the version.
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
    /// A malformed `.go-version`.
    #[error(transparent)]
    GoVersionFile(#[from] GoVersionFileError),
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
    };
    let floor = match gotoolchain {
        GoToolchain::Force(version) => {
            return Ok(Resolution {
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
    let gowork = GoWorkSetting::from_value(request.gowork, request.start);
    let files = discover::discover(request.start, &gowork, read)?;
    if let Some(found) = files.go_version {
        let pin = parse_go_version_file(&found.path, &found.text)?;
        let source = Source::GoVersionFile {
            path: found.path,
            line: pin.line,
        };
        return exact_or_line(pin.version, source, store);
    }
    let base = floor.map(|version| (version, MetBy::GoToolchainFloor));
    let project = match (files.go_work, files.go_mod) {
        (Some(work), _) => Some((FileKind::GoWork, work)),
        (None, Some(module)) => Some((FileKind::GoMod, module)),
        (None, None) => None,
    };
    if let Some((kind, found)) = project {
        return from_project_file(kind, &found, base, store);
    }
    if let Some((version, _)) = base {
        return Ok(Resolution {
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

fn from_project_file<T: Toolchains>(
    kind: FileKind,
    found: &FoundFile,
    base: Option<(GoVersion, MetBy)>,
    store: &mut T,
) -> Result<Resolution, ResolveError> {
    let file = modfile::parse(kind, &found.path, &found.text)?;
    let go = file.go_version(kind);
    let go_line = file.go.as_ref().map(|g| g.line);
    let toolchain = match &file.toolchain {
        Some(line) => match line.version() {
            None => None,
            Some(Ok(version)) => Some((version, line.line)),
            Some(Err(error)) => {
                return Err(ModFileError {
                    path: found.path.clone(),
                    line: line.line,
                    reason: error.to_string(),
                }
                .into());
            }
        },
        None => None,
    };
    // Go: a `toolchain` line newer than the default switches to it; a `go` line newer still
    // switches to that release (`go 1.22` means `go1.22.0`, golang/go#62278).
    let (minimum, directive, line, wanted) = match toolchain {
        Some((version, line)) if version >= go => {
            (version.clone(), Directive::Toolchain, Some(line), version)
        }
        _ => {
            let wanted = if go.is_lang()
                && go >= GoVersion::parse("1.21").unwrap_or_else(|_| unreachable!())
            {
                GoVersion::parse(&format!("{go}.0")).unwrap_or_else(|_| go.clone())
            } else {
                go.clone()
            };
            (go, Directive::Go, go_line, wanted)
        }
    };
    let requirement = |met_by| Requirement {
        path: found.path.clone(),
        line,
        directive,
        minimum: minimum.clone(),
        met_by,
    };
    let wrap = |requirement| match kind {
        FileKind::GoWork => Source::GoWork(requirement),
        FileKind::GoMod => Source::GoMod(requirement),
    };
    let base = match base {
        Some(base) => Some(base),
        None => store.default_version().map(|v| (v, MetBy::Default)),
    };
    if let Some((version, met_by)) = base
        && version >= minimum
    {
        return Ok(Resolution {
            version,
            source: wrap(requirement(met_by)),
        });
    }
    let installed = store.installed();
    if installed.contains(&wanted) {
        return Ok(Resolution {
            version: wanted,
            source: wrap(requirement(MetBy::ExactInstalled)),
        });
    }
    if let Some(newest) = installed
        .into_iter()
        .filter(|v| v.is_stable() && *v >= minimum)
        .max()
    {
        return Ok(Resolution {
            version: newest,
            source: wrap(requirement(MetBy::NewestInstalled)),
        });
    }
    let install = if directive == Directive::Go && minimum.is_lang() {
        minimum.to_string()
    } else {
        wanted.to_string()
    };
    Err(ResolveError::Unsatisfied {
        requirement: Box::new(requirement(MetBy::Default)),
        install,
    })
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
            Self::GoToolchain { value } => format!("set by GOTOOLCHAIN={value}"),
            Self::GoVersionFile { path, .. } => format!("pinned in {}", show_path(path, base)),
            Self::GoWork(requirement) | Self::GoMod(requirement) => {
                let what = match requirement.directive {
                    Directive::Go => format!("go {} line", requirement.minimum),
                    Directive::Toolchain => "toolchain line".to_owned(),
                };
                let how = match requirement.met_by {
                    MetBy::Default => ", met by the default",
                    MetBy::GoToolchainFloor => ", met by GOTOOLCHAIN",
                    MetBy::ExactInstalled => "",
                    MetBy::NewestInstalled => ", newest installed match",
                };
                format!("{what} in {}{how}", show_path(&requirement.path, base))
            }
            Self::Default => "default".to_owned(),
            Self::ProxyName { name } => format!("invoked as {name}"),
        }
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
