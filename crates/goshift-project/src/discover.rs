//! The directory walk: the nearest pin (`.tool-versions` with a Go line, or `.go-version`),
//! `go.work` and `go.mod` above a directory.

use std::io;
use std::path::{Path, PathBuf};

use crate::tool_versions::{TOOL_VERSIONS, pins_go};

/// How `GOWORK` affects the search for go.work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoWorkSetting {
    /// Unset or empty: walk up for go.work.
    Search,
    /// `off`: ignore workspaces.
    Off,
    /// A path: use that file.
    File(PathBuf),
}

impl GoWorkSetting {
    /// Reads a `GOWORK` value; a relative path (which Go refuses, and [`crate::resolve`]
    /// refuses before it gets here) is taken relative to `start`.
    pub fn from_value(value: Option<&str>, start: &Path) -> Self {
        match value {
            None | Some("" | "auto") => Self::Search,
            Some("off") => Self::Off,
            Some(path) => Self::File(start.join(path)),
        }
    }
}

/// A file found by the walk, with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub text: String,
}

/// The project files that decide the toolchain of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFiles {
    /// The nearest pin: a `.tool-versions` that pins Go (see [`crate::tool_versions`]) or a
    /// `.go-version`, the former first in one directory as asdf and mise read them. When one is
    /// found, the walk stops there.
    pub go_version: Option<FoundFile>,
    /// The nearest `go.work` below the pin (or the one `GOWORK` names).
    pub go_work: Option<FoundFile>,
    /// The nearest `go.mod` below the pin.
    pub go_mod: Option<FoundFile>,
}

/// Walks from `start` up to the root, reading files through `read` (which returns `Ok(None)`
/// for a file that does not exist). The walk stops at the first pin, which takes precedence
/// over everything above and below it.
pub fn discover<R>(
    start: &Path,
    gowork: &GoWorkSetting,
    read: &mut R,
) -> Result<ProjectFiles, ReadError>
where
    R: FnMut(&Path) -> io::Result<Option<String>>,
{
    let mut found = ProjectFiles::default();
    let mut path = PathBuf::with_capacity(start.as_os_str().len() + 16);
    for dir in start.ancestors() {
        path.clear();
        path.push(dir);
        path.push(TOOL_VERSIONS);
        if let Some(text) = read(&path).map_err(|source| ReadError::new(&path, source))?
            && pins_go(&text)
        {
            found.go_version = Some(FoundFile { path, text });
            return Ok(found);
        }
        path.set_file_name(".go-version");
        if let Some(text) = read(&path).map_err(|source| ReadError::new(&path, source))? {
            found.go_version = Some(FoundFile { path, text });
            return Ok(found);
        }
        if found.go_work.is_none() && *gowork == GoWorkSetting::Search {
            path.set_file_name("go.work");
            if let Some(text) = read(&path).map_err(|source| ReadError::new(&path, source))? {
                found.go_work = Some(FoundFile {
                    path: path.clone(),
                    text,
                });
            }
        }
        if found.go_mod.is_none() {
            path.set_file_name("go.mod");
            if let Some(text) = read(&path).map_err(|source| ReadError::new(&path, source))? {
                found.go_mod = Some(FoundFile {
                    path: path.clone(),
                    text,
                });
            }
        }
    }
    // A GOWORK naming a file that does not exist yet (`go work init` creates it) is ignored
    // while choosing a toolchain, as in Go.
    if let GoWorkSetting::File(file) = gowork
        && let Some(text) = read(file).map_err(|source| ReadError::new(file, source))?
    {
        found.go_work = Some(FoundFile {
            path: file.clone(),
            text,
        });
    }
    Ok(found)
}

/// A project file that exists but cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("failed to read `{}`", path.display())]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

impl ReadError {
    fn new(path: &Path, source: io::Error) -> Self {
        Self {
            path: path.to_owned(),
            source,
        }
    }
}
