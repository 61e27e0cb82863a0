//! The go.dev release index: parsing, validation and resolving a request to one archive.
//!
//! The schema is the one served by `https://go.dev/dl/?mode=json&include=all`: a list of
//! releases, each with `version`, `stable` and `files`. Every entry is validated on parse
//! (version grammar, hash shape, file name), so later code never meets a malformed value.

use std::fmt;

use goshift_version::{GoVersion, VersionRequest};
use serde::Deserialize;

use crate::Platform;

/// A validated release index, releases sorted newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    releases: Vec<Release>,
}

/// One Go release and the files published for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The release's version.
    pub version: GoVersion,
    /// Whether go.dev marks it stable (not a beta or release candidate).
    pub stable: bool,
    /// Archives, installers and the source tarball.
    pub files: Vec<ReleaseFile>,
}

/// One downloadable file of a release, exactly as the index describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// File name on the download server (`go1.22.10.linux-amd64.tar.gz`).
    pub filename: String,
    /// `GOOS`, empty for the source tarball.
    pub os: String,
    /// Architecture as in the file name, empty for the source tarball.
    pub arch: String,
    /// The version string as written in the index (`go1.22.10`).
    pub version: String,
    /// Lowercase hex SHA-256 of the file; empty for very old releases that only published
    /// SHA-1 (those cannot be verified and need the caller's own hash).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// `archive`, `installer` or `source`.
    pub kind: String,
}

/// Why an index could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The document is not JSON of the expected shape.
    #[error(
        "the release index is not valid JSON of the go.dev schema at line {line}, column {column}: {message}"
    )]
    Malformed {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },
    /// A release's version string is not a Go version.
    #[error("the release index lists `{version}`, which is not a Go version")]
    BadVersion {
        /// The version as written in the index.
        version: String,
        /// The parse failure.
        #[source]
        source: goshift_version::ParseVersionError,
    },
    /// The same file is listed twice with different hashes.
    #[error(
        "the release index lists `{filename}` twice, with sha256 {first} and {second}: it cannot be trusted to say which is right; fix the index"
    )]
    Conflict {
        /// The file listed twice.
        filename: String,
        /// One hash.
        first: String,
        /// The other.
        second: String,
    },
    /// A file entry has an invalid field.
    #[error(
        "the release index entry `{filename}` of release `{version}` has an invalid {field}: `{value}` ({reason})"
    )]
    BadFile {
        /// The release the entry belongs to, as written.
        version: String,
        /// The entry's file name, as written.
        filename: String,
        /// The offending field (`sha256`, `filename`, …).
        field: &'static str,
        /// The offending value.
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },
}

/// Why a request could not be resolved to an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No release in the index matches the request.
    #[error("no Go release matches `{request}`{}", suggestion_text(.suggestions))]
    UnknownVersion {
        /// What was asked for.
        request: VersionRequest,
        /// Existing versions closest to the request: same line first, then neighbours.
        suggestions: Vec<GoVersion>,
    },
    /// The release exists but has no archive for the platform.
    #[error("Go {version} has no archive for {platform}{}", platforms_text(.available))]
    NoArchive {
        /// The resolved release.
        version: GoVersion,
        /// The platform asked for.
        platform: Platform,
        /// Platforms that do have an archive for this release.
        available: Vec<String>,
    },
}

/// The index as it is on the wire.
#[derive(Deserialize)]
struct RawRelease {
    version: String,
    #[serde(default)]
    stable: bool,
    #[serde(default)]
    files: Vec<RawFile>,
}

#[derive(Deserialize)]
struct RawFile {
    filename: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    arch: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    kind: String,
}

impl Index {
    /// Parses and validates an index document.
    pub fn parse(bytes: &[u8]) -> Result<Self, IndexError> {
        let raw: Vec<RawRelease> =
            serde_json::from_slice(bytes).map_err(|error| IndexError::Malformed {
                line: error.line(),
                column: error.column(),
                message: strip_position(&error.to_string()),
            })?;
        let mut releases = raw
            .into_iter()
            .map(Release::from_raw)
            .collect::<Result<Vec<_>, _>>()?;
        // go.dev already sorts newest first; a hand-made index may not.
        releases.sort_by(|a, b| b.version.cmp(&a.version));
        // A file listed twice with different hashes leaves no way to know which is right.
        let mut seen: std::collections::HashMap<&str, (&str, &GoVersion)> =
            std::collections::HashMap::new();
        for release in &releases {
            for file in &release.files {
                if let Some((sha256, _)) =
                    seen.insert(&file.filename, (&file.sha256, &release.version))
                    && sha256 != file.sha256
                {
                    return Err(IndexError::Conflict {
                        filename: file.filename.clone(),
                        first: sha256.to_owned(),
                        second: file.sha256.clone(),
                    });
                }
            }
        }
        Ok(Self { releases })
    }

    /// Builds an index from releases (sorted newest first here).
    pub fn from_releases(mut releases: Vec<Release>) -> Self {
        releases.sort_by(|a, b| b.version.cmp(&a.version));
        Self { releases }
    }

    /// All releases, newest first.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// Resolves a request to one release and its archive for `platform`.
    ///
    /// An exact request selects that release even when it is unstable. A line or `latest`
    /// selects the newest stable release, or the newest of any kind when
    /// `include_unstable` is true. `.tar.gz` archives are preferred over `.zip`.
    #[expect(
        clippy::result_large_err,
        reason = "resolving happens once per command; the error carries the versions to suggest"
    )]
    pub fn resolve(
        &self,
        request: &VersionRequest,
        platform: &Platform,
        include_unstable: bool,
    ) -> Result<(&Release, &ReleaseFile), ResolveError> {
        let release = self
            .releases
            .iter()
            .filter(|release| match request {
                VersionRequest::Exact(version) => &release.version == version,
                VersionRequest::Latest => release.stable || include_unstable,
                VersionRequest::Line { major, minor } => {
                    (release.stable || include_unstable)
                        && release.version.major() == *major
                        && release.version.minor() == *minor
                }
            })
            .max_by(|a, b| a.version.cmp(&b.version))
            .ok_or_else(|| ResolveError::UnknownVersion {
                request: request.clone(),
                suggestions: self.suggestions(request, include_unstable),
            })?;
        let file = release
            .archive_for(platform)
            .ok_or_else(|| ResolveError::NoArchive {
                version: release.version.clone(),
                platform: platform.clone(),
                available: release.archive_platforms(),
            })?;
        Ok((release, file))
    }

    /// Versions near an unmatched request: the newest ones on the same line, then the
    /// nearest older and newer releases (for a line request, the newest patch of each
    /// neighbouring line), newest first.
    fn suggestions(&self, request: &VersionRequest, include_unstable: bool) -> Vec<GoVersion> {
        const LIMIT: usize = 4;
        let want_unstable =
            include_unstable || matches!(request, VersionRequest::Exact(v) if !v.is_stable());
        let mut candidates: Vec<&GoVersion> = self
            .releases
            .iter()
            .filter(|release| release.stable || want_unstable)
            .map(|release| &release.version)
            .collect();
        let (line, pivot) = match request {
            VersionRequest::Latest => {
                return candidates.into_iter().take(LIMIT).cloned().collect();
            }
            VersionRequest::Line { major, minor } => {
                // One suggestion per line: its newest release (candidates are newest first).
                candidates.dedup_by(|later, earlier| later.same_line(earlier));
                ((*major, *minor), None)
            }
            VersionRequest::Exact(version) => ((version.major(), version.minor()), Some(version)),
        };
        let mut picked: Vec<&GoVersion> = candidates
            .iter()
            .copied()
            .filter(|v| (v.major(), v.minor()) == line)
            .take(LIMIT - 1)
            .collect();
        let is_below = |v: &GoVersion| match pivot {
            Some(pivot) => v < pivot,
            None => (v.major(), v.minor()) < line,
        };
        // Nearest first on both sides: below in descending order, above in ascending order.
        let mut below = candidates.iter().copied().filter(|v| is_below(v));
        let mut above = candidates.iter().rev().copied().filter(|v| !is_below(v));
        while picked.len() < LIMIT {
            let mut progressed = false;
            if let Some(next) = below.find(|v| !picked.contains(v)) {
                picked.push(next);
                progressed = true;
            }
            if picked.len() < LIMIT
                && let Some(next) = above.find(|v| !picked.contains(v))
            {
                picked.push(next);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        let mut suggestions: Vec<GoVersion> = picked.into_iter().cloned().collect();
        suggestions.sort_by(|a, b| b.cmp(a));
        suggestions
    }
}

impl Release {
    /// The archive (`kind == "archive"`) for `platform`, preferring `.tar.gz`.
    pub fn archive_for(&self, platform: &Platform) -> Option<&ReleaseFile> {
        let mut matching = self.files.iter().filter(|file| {
            file.kind == "archive" && file.os == platform.os && file.arch == platform.arch
        });
        let first = matching.next()?;
        if first.filename.ends_with(".tar.gz") {
            return Some(first);
        }
        Some(
            matching
                .find(|file| file.filename.ends_with(".tar.gz"))
                .unwrap_or(first),
        )
    }

    /// `os/arch` of every archive of this release.
    pub fn archive_platforms(&self) -> Vec<String> {
        let mut platforms: Vec<String> = self
            .files
            .iter()
            .filter(|file| file.kind == "archive")
            .map(|file| format!("{}/{}", file.os, file.arch))
            .collect();
        platforms.sort();
        platforms.dedup();
        platforms
    }

    fn from_raw(raw: RawRelease) -> Result<Self, IndexError> {
        let version = GoVersion::parse(&raw.version).map_err(|source| IndexError::BadVersion {
            version: raw.version.clone(),
            source,
        })?;
        let files = raw
            .files
            .into_iter()
            .map(|file| ReleaseFile::from_raw(&raw.version, file))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            version,
            stable: raw.stable,
            files,
        })
    }
}

impl ReleaseFile {
    fn from_raw(release: &str, raw: RawFile) -> Result<Self, IndexError> {
        let bad = |field, value: &str, reason| IndexError::BadFile {
            version: release.to_owned(),
            filename: raw.filename.clone(),
            field,
            value: value.to_owned(),
            reason,
        };
        if !is_safe_filename(&raw.filename) {
            return Err(bad(
                "filename",
                &raw.filename,
                "a plain file name of letters, digits, `.`, `-`, `_` and `+`",
            ));
        }
        let hash_ok = raw.sha256.is_empty()
            || (raw.sha256.len() == 64 && raw.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        if !hash_ok {
            return Err(bad("sha256", &raw.sha256, "64 hexadecimal digits"));
        }
        Ok(Self {
            sha256: raw.sha256.to_ascii_lowercase(),
            filename: raw.filename,
            os: raw.os,
            arch: raw.arch,
            version: raw.version,
            size: raw.size,
            kind: raw.kind,
        })
    }
}

/// True if `name` can be appended to a base URL or directory without escaping it.
fn is_safe_filename(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
}

/// `serde_json` appends " at line L column C"; the error already carries both.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn suggestion_text(suggestions: &[GoVersion]) -> String {
    if suggestions.is_empty() {
        return String::from(" (the index lists no releases)");
    }
    let list: Vec<String> = suggestions.iter().map(ToString::to_string).collect();
    format!("; nearest available: {}", list.join(", "))
}

fn platforms_text(available: &[String]) -> String {
    if available.is_empty() {
        return String::new();
    }
    format!("; archives exist for: {}", available.join(", "))
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "go{}", self.version)
    }
}

#[cfg(test)]
mod tests;
